// Binding a temporary tensor: the program keeps a pointer to bound data, so it would dangle.
// expect: the program keeps a pointer to bound data, so a temporary would dangle
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 3>;
    auto prog = compile(x * W);
#ifdef GATEAUX_SHOULD_FAIL
    prog.bind(W, tensor(xt::zeros<double>({4, 3})));
#else
    const tensor w = xt::zeros<double>({4, 3});
    prog.bind(W, w);
#endif
}
