// The B-operator of a weight used in two layers (tied weights): the parameter reaches the loss
// along two paths, so there is no single layer whose block the B-operator could invert. With a
// second weight of its own for the last layer it compiles (biases included).
// expect: reaches the loss along two paths
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 5>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 5, 5>;
    constexpr auto b1 = bias<"b1", 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto W2 = W1;
#else
    constexpr auto W2 = param<"W2", 5, 5>;
#endif
    constexpr auto out = leaky_relu<0.5>(x * W1 + b1) * W2;
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1, b1));
    (void)step;
}
