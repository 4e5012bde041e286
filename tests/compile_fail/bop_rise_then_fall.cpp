// The B-operator of W1 where the widths above it rise then fall (8→16→4): no one-sided inverse
// exists (docs/theory.md, "What is rejected"). With 8→16→16 they do not fall, and it compiles.
// expect: rise then fall
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr dim n3 = 4;
#else
    constexpr dim n3 = 16;
#endif
    constexpr auto x = input<"x", 8>;
    constexpr auto y = target<"y", n3>;
    constexpr auto W1 = param<"W1", 8, 8>;
    constexpr auto W2 = param<"W2", 8, 16>;
    constexpr auto W3 = param<"W3", 16, n3>;
    constexpr auto out = leaky_relu<0.5>(leaky_relu<0.5>(leaky_relu<0.5>(x * W1) * W2) * W3);
    auto step = newton_step(sum(squared_error(out, y)), wrt(W1));
    (void)step;
}
