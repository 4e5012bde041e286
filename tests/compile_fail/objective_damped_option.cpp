// make_objective takes the B-operator options that need nothing at run time
// (accept_newton_solution, output_per_unit); output_damped needs its λ bound per call, which an
// objective has no place for, so it is refused with the way out named.
// expect: the options are accept_newton_solution and output_per_unit
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 3>;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto loss = mse(x * W1, y);
#ifdef GATEAUX_SHOULD_FAIL
    auto f = make_objective(loss, wrt(W1), output_damped);
#else
    auto f = make_objective(loss, wrt(W1), output_per_unit);
#endif
    return f.has_block_inverse() ? 0 : 1;
}
