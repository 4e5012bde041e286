// The B-operator with respect to a parameter that is not one of the network's layer weights (Z
// does not occur in the network at all). Each block is a layer's: H_l⁺ needs the layer's input.
// expect: must be one of the network's layer weights
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
    constexpr auto W2 = param<"W2", 5, 5>;
    constexpr auto out = leaky_relu<0.5>(x * W1) * W2;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto Z = param<"Z", 5, 5>;
    auto d = bop(sum(squared_error(out, y)), wrt(W1, Z));
#else
    auto d = bop(sum(squared_error(out, y)), wrt(W1, W2));
#endif
    (void)d;
}
