#pragma once
// Difference C = A − B of equal shapes.   tangent: dA − dB   adjoint: g, −g
// curvature in either operand, the other held fixed: unchanged ((−I)·T·(−I) = T)
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "scale.hpp"

namespace gateaux {

struct sub_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a - b; }
    template <class Self, class A, class B, class DA, class DB>
    static constexpr auto tangent(Self, A, B, DA da, DB db);
    template <std::size_t I, class Self, class G, class A, class B>
    static constexpr auto adjoint(Self, G g, A, B) {
        if constexpr (I == 0)
            return g;
        else
            return scale<-1.0>(g);
    }
    template <std::size_t I>
    static constexpr bool curvature_through = true;
    template <std::size_t I, class Self, class C, class Gamma, class A, class B>
    static constexpr C curvature(Self, C c, Gamma, A, B) {
        return c;
    }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::additive) + " − " + b.at(prec::multiplicative), prec::additive};
    }
};

template <expression A, expression B>
constexpr auto sub(A a, B b) {
    static_assert(shapes_agree<A::shape_value, B::shape_value>,
                  "gateaux::sub(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<A::shape_value, B::shape_value>)
        return invalid{};
    else if constexpr (is_zero<B>)
        return a;
    else if constexpr (is_zero<A>)
        return scale<-1.0>(b);
    else
        return node<sub_op, A, B>{};
}

template <class Self, class A, class B, class DA, class DB>
constexpr auto sub_op::tangent(Self, A, B, DA da, DB db) {
    return sub(da, db);
}

template <expression A, expression B>
constexpr auto operator-(A a, B b) {
    return sub(a, b);
}

}  // namespace gateaux
