// The B-operator of a weight the loss penalises (weight decay l2<c>): the penalty damps the block
// to H + c·I, which the functional inverse has no form for; the way out is block_solve. Without
// the penalty it compiles.
// expect: use block_solve
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 6>;
    constexpr auto y = target<"y", 5>;
    constexpr auto W1 = param<"W1", 6, 5>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto loss = sum(squared_error(x * W1, y)) + l2<0.01>(W1);
#else
    constexpr auto loss = sum(squared_error(x * W1, y));
#endif
    auto step = newton_step(loss, wrt(W1));
    (void)step;
}
