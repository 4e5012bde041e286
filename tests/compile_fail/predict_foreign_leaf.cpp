// predict evaluates a network on new inputs: an output that reads a target (or any leaf other than
// the input and the parameters of wrt(...)) cannot be evaluated, and the leaf is named ("y").
// expect: out may use only the input x and parameters of wrt(...)
// max-bytes: 2048
#include <gateaux/nn/predict.hpp>
#include <gateaux/ops/matmul.hpp>
#include <gateaux/ops/sub.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    [[maybe_unused]] constexpr auto y = target<"y", 2>;
    constexpr auto W = param<"W", 4, 2>;
    const tensor X = xt::zeros<double>({3, 4});
    const param_set theta({tensor(xt::zeros<double>({4, 2}))});
#ifdef GATEAUX_SHOULD_FAIL
    const tensor out = predict(x * W - y, wrt(W), theta, x, X);
#else
    const tensor out = predict(x * W, wrt(W), theta, x, X);
#endif
    return out.shape(0) == 3 ? 0 : 1;
}
