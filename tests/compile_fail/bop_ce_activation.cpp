// The B-operator of a cross-entropy taken of a sigmoid output: the softmax curvature rule needs
// the logits themselves (MATH.md: cross-entropy with identity output only).
// expect: must take the last layer's logits
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto out = sigmoid(x * W1);
#else
    constexpr auto out = x * W1;
#endif
    auto step = newton_step(sum(cross_entropy(out, y)), wrt(W1));
    (void)step;
}
