// predict gives one output row per input row: a loss (1×1) is not a network's output.
// expect: out must have one row per input row (a network's output, not a loss)
// max-bytes: 2048
#include <gateaux/nn/predict.hpp>
#include <gateaux/ops/matmul.hpp>
#include <gateaux/ops/sum.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 2>;
    const tensor X = xt::zeros<double>({3, 4});
    const param_set theta({tensor(xt::zeros<double>({4, 2}))});
#ifdef GATEAUX_SHOULD_FAIL
    const tensor out = predict(sum(x * W), wrt(W), theta, x, X);
#else
    const tensor out = predict(x * W, wrt(W), theta, x, X);
#endif
    return out.shape(0) == 3 ? 0 : 1;
}
