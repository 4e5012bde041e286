#pragma once
// Bias add C = A + 1·b: the 1×n row b is added to every row of A (row broadcast).
//   shape:   A m×n, b 1×n -> C m×n
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct bias_add_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a + b; }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::additive) + " + " + b.at(prec::multiplicative), prec::additive};
    }
};

template <expression A, expression B>
constexpr auto bias_add(A, B) {
    static_assert(bias_fits<shape_v<A>, shape_v<B>>,
                  "gateaux::bias_add(a, b) requires b to be a 1×n row with n == cols(a) [shapes are {rows, cols}; -1 = batch]");
    return node<bias_add_op, A, B>{};
}

}  // namespace gateaux
