// Reading prog[e] for an expression that is not part of the program.
// expect: expr is not an output (or a subexpression of one) of this program
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 3>;
    auto prog = compile(sum(x * W));
#ifdef GATEAUX_SHOULD_FAIL
    const tensor& v = prog[tanh(x * W)];
#else
    const tensor& v = prog[x * W];
#endif
    (void)v;
}
