#pragma once
// Sum C = A + B of equal shapes.   tangent: dA + dB   adjoint: g, g
// curvature in either operand, the other held fixed: unchanged (a shift)
// `a + b` with b a 1×n row and a not a row is a bias add (bias.hpp), as in x·W + b.
// Zeros fold: a + 0 = a.
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "bias.hpp"

namespace gateaux {

struct add_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a + b; }
    template <class Self, class A, class B, class DA, class DB>
    static constexpr auto tangent(Self, A, B, DA da, DB db);
    template <std::size_t I, class Self, class G, class A, class B>
    static constexpr G adjoint(Self, G g, A, B) {
        return g;
    }
    template <std::size_t I>
    static constexpr bool curvature_through = true;
    template <std::size_t I, class Self, class C, class Gamma, class A, class B>
    static constexpr C curvature(Self, C c, Gamma, A, B) {
        return c;
    }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::additive) + " + " + b.at(prec::multiplicative), prec::additive};
    }
};

template <expression A, expression B>
constexpr auto add(A a, B b) {
    static_assert(shapes_agree<A::shape_value, B::shape_value>,
                  "gateaux::add(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<A::shape_value, B::shape_value>)
        return invalid{};
    else if constexpr (is_zero<A>)
        return b;
    else if constexpr (is_zero<B>)
        return a;
    else
        return node<add_op, A, B>{};
}

template <class Self, class A, class B, class DA, class DB>
constexpr auto add_op::tangent(Self, A, B, DA da, DB db) {
    return add(da, db);
}

// a + b: a bias add when one side is a 1×n row and the other is not (on either side: x·W + b or
// b + x·W), else an add of equal shapes. Checked here, one level nearer the user's line; after a
// failed check the result is invalid and bias_add/add are not instantiated.
template <expression A, expression B>
constexpr auto operator+(A a, B b) {
    if constexpr (is_invalid(A::shape_value) || is_invalid(B::shape_value)) {
        return invalid{};
    } else if constexpr (B::rows == 1 && A::rows != 1) {
        static_assert(bias_fits<A::shape_value, B::shape_value>,
                      "gateaux::bias_add(a, b) requires b to be a 1×n row with n == cols(a) [shapes are {rows, cols}; -1 = batch]");
        if constexpr (!bias_fits<A::shape_value, B::shape_value>)
            return invalid{};
        else
            return bias_add(a, b);
    } else if constexpr (A::rows == 1 && B::rows != 1) {
        static_assert(bias_fits<B::shape_value, A::shape_value>,
                      "gateaux::bias_add(a, b) requires b to be a 1×n row with n == cols(a) [shapes are {rows, cols}; -1 = batch]");
        if constexpr (!bias_fits<B::shape_value, A::shape_value>)
            return invalid{};
        else
            return bias_add(b, a);
    } else {
        static_assert(shapes_agree<A::shape_value, B::shape_value>,
                      "gateaux::add(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
        if constexpr (!shapes_agree<A::shape_value, B::shape_value>)
            return invalid{};
        else
            return add(a, b);
    }
}

}  // namespace gateaux
