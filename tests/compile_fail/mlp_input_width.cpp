// mlp<32, ...> applied to a 64-wide input.
// expect: gateaux::mlp<n0, ...>(x, ...) requires n0 == cols(x)
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 64>;
#ifdef GATEAUX_SHOULD_FAIL
    auto out = mlp<32, 16, 10>(x, act::tanh);
#else
    auto out = mlp<64, 16, 10>(x, act::tanh);
#endif
    (void)out;
}
