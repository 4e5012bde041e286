// The B-operator of a network with a bias: the bias add has no inverse rule yet, so the network
// is not a chain of layers a(h·W). Without the bias it compiles.
// expect: biases and other ops have no inverse rule yet
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
    constexpr auto W2 = param<"W2", 5, 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto b1 = bias<"b1", 5>;
    constexpr auto out = leaky_relu<0.5>(x * W1 + b1) * W2;
#else
    constexpr auto out = leaky_relu<0.5>(x * W1) * W2;
#endif
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1, W2));
    (void)step;
}
