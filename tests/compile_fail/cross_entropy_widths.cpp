// A cross-entropy between 10 logits and a 9-wide target.
// expect: gateaux::cross_entropy(logits, target) requires equal shapes
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 10>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto y = target<"y", 9>;
#else
    constexpr auto y = target<"y", 10>;
#endif
    auto loss = mean(cross_entropy(x * W, y));
    (void)loss;
}
