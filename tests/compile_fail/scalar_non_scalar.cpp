// scalar() of a batch×3 output.
// expect: gateaux::program::scalar(expr) requires a 1×1 expression
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 3>;
    const auto out = x * W;
    const auto loss = sum(out);
    auto prog = compile(loss, out);
#ifdef GATEAUX_SHOULD_FAIL
    double v = prog.scalar(out);
#else
    double v = prog.scalar(loss);
#endif
    (void)v;
}
