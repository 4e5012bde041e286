// grad(loss, ...) needs a scalar loss: the per-sample column squared_error(o, y) must be reduced
// (sum, mean) first. (vjp is the tool for a non-scalar expression.)
// expect: gateaux::grad(loss, wrt(...)) requires a scalar (1×1) loss
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 2>;
    constexpr auto W = param<"W", 4, 2>;
#ifdef GATEAUX_SHOULD_FAIL
    const auto loss = squared_error(x * W, y);
#else
    const auto loss = sum(squared_error(x * W, y));
#endif
    const auto g = grad(loss, wrt(W));
    return decltype(compile(loss, g))::node_count > 0 ? 0 : 1;
}
