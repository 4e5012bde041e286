#pragma once
// Element-wise (Hadamard) product C = A ⊙ B of equal shapes. (`*` is the matrix product.)
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct hadamard_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a * b; }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::multiplicative) + "⊙" + b.at(prec::postfix), prec::multiplicative};
    }
};

template <expression A, expression B>
constexpr auto hadamard(A, B) {
    static_assert(shapes_agree<shape_v<A>, shape_v<B>>,
                  "gateaux::hadamard(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    return node<hadamard_op, A, B>{};
}

}  // namespace gateaux
