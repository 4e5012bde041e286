// theta[0] on parameters by name: positions are not part of the named interface.
// expect: takes a parameter leaf, as in theta[W1], not a position
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto W2 = param<"W2", 3, 2>;
    auto theta = zeros(wrt(W1, W2));
#ifdef GATEAUX_SHOULD_FAIL
    theta[0](0, 0) = 1.0;
#else
    theta[W1](0, 0) = 1.0;
#endif
}
