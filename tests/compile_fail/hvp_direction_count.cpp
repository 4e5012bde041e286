// along(...) gives one direction per parameter in wrt(...), in the same order.
// expect: along(...) needs one direction per parameter in wrt(...)
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 2>;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto W2 = param<"W2", 3, 2>;
    constexpr auto D1 = input<"D1", 3, 4>;
    [[maybe_unused]] constexpr auto D2 = input<"D2", 2, 3>;
    const auto loss = sum(squared_error(tanh(x * W1) * W2, y));
#ifdef GATEAUX_SHOULD_FAIL
    const auto hv = hvp(loss, wrt(W1, W2), along(D1));
#else
    const auto hv = hvp(loss, wrt(W1, W2), along(D1, D2));
#endif
    return decltype(compile(loss, hv))::node_count > 0 ? 0 : 1;
}
