// An L2 penalty on an input (and on a product) instead of on parameters.
// expect: gateaux::l2<lambda>(params...) takes parameters only
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W1 = param<"W1", 4, 4>;
#ifdef GATEAUX_SHOULD_FAIL
    auto penalty = l2<1e-3>(W1, x * W1);
#else
    auto penalty = l2<1e-3>(W1);
#endif
    (void)x;
    (void)penalty;
}
