// A product whose inner dimensions differ: x is batch×64, W is 32×10.
// expect: gateaux::matmul(a, b) requires cols(a) == rows(b)
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 64>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto W = param<"W", 32, 10>;
#else
    constexpr auto W = param<"W", 64, 10>;
#endif
    auto out = x * W;
    (void)out;
}
