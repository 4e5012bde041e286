// The block solve of a weight used twice: its block is not a layer block (the parameter reaches
// the loss along two paths). With a weight of its own for each layer it compiles.
// expect: reaches the loss along two paths
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 5>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 5, 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto W2 = W1;
#else
    constexpr auto W2 = param<"W2", 5, 5>;
#endif
    auto d = block_solve(sum(squared_error(tanh(x * W1) * W2, y)), wrt(W1), damped);
    (void)d;
}
