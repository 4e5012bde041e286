// Two different leaves named "x" (4 wide and 5 wide) in one program: binding by name would be ambiguous.
// expect: two different leaves share a name
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto x5 = input<"x", 5>;
#else
    constexpr auto x5 = input<"x5", 5>;
#endif
    auto prog = compile(sum(x), sum(x5));
    (void)prog;
}
