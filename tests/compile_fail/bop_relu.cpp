// The B-operator through a relu hidden layer: a′ = 0 on half the line, so no inverse exists.
// With a leaky ReLU (a′ ≥ slope > 0) it compiles.
// expect: a relu
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
    constexpr auto W2 = param<"W2", 5, 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto out = relu(x * W1) * W2;
#else
    constexpr auto out = leaky_relu<0.5>(x * W1) * W2;
#endif
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1, W2));
    (void)step;
}
