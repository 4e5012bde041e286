// wrt() with nothing to differentiate in is refused where it is written.
// expect: gateaux::wrt(...) needs at least one parameter
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 2>;
    constexpr auto W = param<"W", 4, 2>;
    const auto loss = sum(squared_error(x * W, y));
#ifdef GATEAUX_SHOULD_FAIL
    const auto g = grad(loss, wrt());
#else
    const auto g = grad(loss, wrt(W));
#endif
    return decltype(compile(loss, g))::node_count > 0 ? 0 : 1;
}
