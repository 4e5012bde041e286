// Binding a parameter that the program's outputs do not use.
// expect: this leaf is not used by the program's outputs
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 3>;
    constexpr auto V = param<"V", 4, 3>;
    auto prog = compile(x * W);
    const tensor w = xt::zeros<double>({4, 3});
#ifdef GATEAUX_SHOULD_FAIL
    prog.bind(V, w);
#else
    prog.bind(W, w);
#endif
    (void)V;
}
