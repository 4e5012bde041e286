// A caller-supplied direction along(D) must have its parameter's shape; the message names the
// parameter and both shapes.
// expect: must have its parameter's shape
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 2>;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto W2 = param<"W2", 3, 2>;
    const auto loss = sum(squared_error(tanh(x * W1) * W2, y));
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto D = param<"D", 3, 4>;  // W1 is 4×3
#else
    constexpr auto D = param<"D", 4, 3>;
#endif
    const auto hv = hvp(loss, wrt(W1), along(D));
    return decltype(compile(loss, hv))::node_count > 0 ? 0 : 1;
}
