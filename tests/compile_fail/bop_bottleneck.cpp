// The B-operator of W1 where the widths above it narrow into a bottleneck (8→4→8): no one-sided
// inverse exists (docs/theory.md, "What is rejected"). W2, above the bottleneck, only widens (4→8):
// its block is exact (master formula), and asking for it alone compiles.
// expect: narrow into a bottleneck
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 8>;
    constexpr auto y = target<"y", 8>;
    constexpr auto W1 = param<"W1", 8, 8>;
    constexpr auto W2 = param<"W2", 8, 4>;
    constexpr auto W3 = param<"W3", 4, 8>;
    constexpr auto out = leaky_relu<0.5>(leaky_relu<0.5>(leaky_relu<0.5>(x * W1) * W2) * W3);
#ifdef GATEAUX_SHOULD_FAIL
    auto d = bop(sum(squared_error(out, y)), wrt(W1));
#else
    auto d = bop(sum(squared_error(out, y)), wrt(W2));
#endif
    (void)d;
}
