#pragma once
// Element-wise (Hadamard) product C = A ⊙ B of equal shapes. (`*` is the matrix product.)
//   tangent: dA⊙B + A⊙dB        adjoint: g⊙B, g⊙A
// Folds: 0⊙x = 0, 1⊙x = x, (c·1)⊙x = c·x.
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "add.hpp"
#include "scale.hpp"

namespace gateaux {

struct hadamard_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a * b; }
    template <class Self, class A, class B, class DA, class DB>
    static constexpr auto tangent(Self, A a, B b, DA da, DB db);
    template <std::size_t I, class Self, class G, class A, class B>
    static constexpr auto adjoint(Self, G g, A a, B b);
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::multiplicative) + "⊙" + b.at(prec::postfix), prec::multiplicative};
    }
};

template <expression A, expression B>
constexpr auto hadamard(A a, B b) {
    static_assert(shapes_agree<A::shape_value, B::shape_value>,
                  "gateaux::hadamard(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<A::shape_value, B::shape_value>)
        return invalid{};
    else if constexpr (is_zero<A> || is_zero<B>)
        return zero_like<A>{};
    else if constexpr (is_ones<A>)
        return b;
    else if constexpr (is_ones<B>)
        return a;
    else
        return node<hadamard_op, A, B>{};
}
// (c·1)⊙x = c·x.
template <double S, dim R, dim C, expression B>
constexpr auto hadamard(node<scale_op<S>, ones<R, C>>, B b) {
    static_assert(shapes_agree<shape{R, C}, B::shape_value>,
                  "gateaux::hadamard(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<shape{R, C}, B::shape_value>)
        return invalid{};
    else
        return scale<S>(b);
}

template <class Self, class A, class B, class DA, class DB>
constexpr auto hadamard_op::tangent(Self, A a, B b, DA da, DB db) {
    return add(hadamard(da, b), hadamard(a, db));
}
template <std::size_t I, class Self, class G, class A, class B>
constexpr auto hadamard_op::adjoint(Self, G g, A a, B b) {
    if constexpr (I == 0)
        return hadamard(g, b);
    else
        return hadamard(g, a);
}

}  // namespace gateaux
