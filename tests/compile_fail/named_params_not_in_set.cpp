// theta[W3] where W3 is not among the set's parameters: a compile error naming the leaf.
// expect: this leaf is not one of the set's parameters
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto b1 = bias<"b1", 3>;
    constexpr auto W2 = param<"W2", 3, 2>;
    constexpr auto W3 = param<"W3", 3, 2>;
    auto theta = zeros(wrt(W1, b1, W2));
#ifdef GATEAUX_SHOULD_FAIL
    theta[W3](0, 0) = 1.0;
#else
    theta[W2](0, 0) = 1.0;
    (void)W3;
#endif
}
