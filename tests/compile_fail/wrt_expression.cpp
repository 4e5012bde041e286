// wrt(...) takes parameters, not expressions built from them (here the layer output x·W).
// expect: gateaux::wrt(...) takes parameters
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 2>;
    constexpr auto W = param<"W", 4, 2>;
    const auto loss = sum(squared_error(x * W, y));
#ifdef GATEAUX_SHOULD_FAIL
    const auto g = grad(loss, wrt(x * W));
#else
    const auto g = grad(loss, wrt(W));
#endif
    return decltype(compile(loss, g))::node_count > 0 ? 0 : 1;
}
