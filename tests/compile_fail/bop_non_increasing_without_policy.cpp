// The B-operator of W1 where the widths above it only narrow (8→6→4): the chain solves
// H_1·Δ = G_1 but not with the minimum norm, so it is refused unless the caller passes
// accept_newton_solution (the message names the option).
// expect: pass accept_newton_solution
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 8>;
    constexpr auto y = target<"y", 4>;
    constexpr auto W1 = param<"W1", 8, 8>;
    constexpr auto W2 = param<"W2", 8, 6>;
    constexpr auto W3 = param<"W3", 6, 4>;
    constexpr auto out = leaky_relu<0.5>(leaky_relu<0.5>(leaky_relu<0.5>(x * W1) * W2) * W3);
#ifdef GATEAUX_SHOULD_FAIL
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1));
#else
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1), accept_newton_solution);
#endif
    (void)step;
}
