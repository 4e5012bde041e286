#pragma once
// Bias add C = A + 1·b: the 1×n row b is added to every row of A (row broadcast).
//   tangent: dA + 1·db        adjoint: gA = g, gb = column sums of g
//   curvature in A: unchanged (a shift)
//   inverse in b: b enters every row once, so its block is Σ_b T_b (symbolic/bop.hpp); with the
//   weight below it, [W; b] is one weight of the input [h 1] (solve/augment.hpp)
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "col_sum.hpp"
#include "row_broadcast.hpp"

namespace gateaux {

struct bias_add_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a + b; }
    template <class Self, class A, class B, class DA, class DB>
    static constexpr auto tangent(Self, A, B, DA da, DB db);
    template <std::size_t I, class Self, class G, class A, class B>
    static constexpr auto adjoint(Self, G g, A, B) {
        if constexpr (I == 0)
            return g;
        else
            return col_sum(g);
    }
    template <std::size_t I>
    static constexpr bool curvature_through = I == 0;
    template <std::size_t I>
    static constexpr bool shift_in = I == 1;
    template <std::size_t I, class Self, class C, class Gamma, class A, class B>
    static constexpr C curvature(Self, C c, Gamma, A, B) {
        return c;
    }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::additive) + " + " + b.at(prec::multiplicative), prec::additive};
    }
};

template <expression A, expression B>
constexpr auto bias_add(A a, B b) {
    static_assert(bias_fits<A::shape_value, B::shape_value>,
                  "gateaux::bias_add(a, b) requires b to be a 1×n row with n == cols(a) [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!bias_fits<A::shape_value, B::shape_value>)
        return invalid{};
    else if constexpr (is_zero<B>)
        return a;
    else if constexpr (is_zero<A>)
        return row_broadcast<A::rows>(b);
    else
        return node<bias_add_op, A, B>{};
}

template <class Self, class A, class B, class DA, class DB>
constexpr auto bias_add_op::tangent(Self, A, B, DA da, DB db) {
    return bias_add(da, db);
}

}  // namespace gateaux
