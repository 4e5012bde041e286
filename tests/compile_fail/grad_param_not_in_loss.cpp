// Asking for the gradient in a parameter the loss does not contain is a mistake (a typo, or
// the wrong loss), not a zero gradient.
// expect: a parameter does not occur in the loss
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 2>;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto W2 = param<"W2", 3, 2>;
    [[maybe_unused]] constexpr auto W3 = param<"W3", 3, 2>;
    const auto loss = sum(squared_error(tanh(x * W1) * W2, y));
#ifdef GATEAUX_SHOULD_FAIL
    const auto g = grad(loss, wrt(W1, W3));
#else
    const auto g = grad(loss, wrt(W1, W2));
#endif
    return decltype(compile(loss, g))::node_count > 0 ? 0 : 1;
}
