// The B-operator of a cross-entropy taken of a leaky-ReLU output: its curvature, singular along
// the ones vector, passes through a piecewise-linear activation, so the chain gives a Newton
// solution that is not the minimum-norm one, and that must be asked for. With the option it
// compiles. (A smooth output activation takes the master formula, exact.)
// expect: pass accept_newton_solution
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
    constexpr auto b1 = bias<"b1", 5>;
    constexpr auto out = leaky_relu<0.5>(x * W1 + b1);
#ifdef GATEAUX_SHOULD_FAIL
    auto step = newton_step(sum(cross_entropy(out, y)), wrt(W1, b1));
#else
    auto step = newton_step(sum(cross_entropy(out, y)), wrt(W1, b1), accept_newton_solution);
#endif
    (void)step;
}
