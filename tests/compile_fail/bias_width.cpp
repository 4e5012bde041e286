// x·W is batch×10, the bias row is 1×9.
// expect: gateaux::bias_add(a, b) requires
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 10>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto b = bias<"b", 9>;
#else
    constexpr auto b = bias<"b", 10>;
#endif
    auto net = x * W + b;
    (void)net;
}
