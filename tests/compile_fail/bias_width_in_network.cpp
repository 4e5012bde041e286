// A bias of the wrong width in the first of two layers, with the loss, its gradient and a program
// built on top: the one message is the bias add's; the invalid layer output passes through the
// rest without a second error.
// expect: gateaux::bias_add(a, b) requires
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 3>;
    constexpr auto W1 = param<"W1", 4, 8>;
    constexpr auto W2 = param<"W2", 8, 3>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto b1 = bias<"b1", 7>;
#else
    constexpr auto b1 = bias<"b1", 8>;
#endif
    const auto loss = sum(squared_error(tanh(x * W1 + b1) * W2, y));
    const auto g = grad(loss, wrt(W1, b1, W2));
    auto prog = compile(loss, g);
    return decltype(prog)::node_count > 0 ? 0 : 1;
}
