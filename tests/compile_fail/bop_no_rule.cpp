// The B-operator through an op that states no curvature rule (a scale c·x, not written for the
// B-operator): the generic pass cannot pull the per-sample curvature back through it. Without
// the scale it compiles.
// expect: has no curvature rule
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
    constexpr auto W2 = param<"W2", 5, 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto out = scale<2.0>(leaky_relu<0.5>(x * W1)) * W2;
#else
    constexpr auto out = leaky_relu<0.5>(x * W1) * W2;
#endif
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1, W2));
    (void)step;
}
