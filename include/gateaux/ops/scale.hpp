#pragma once
// Scalar scale C = c·A, c fixed at compile time: scale<0.5>(a); -a is scale<-1.0>(a).
//   tangent: c·dA     adjoint: c·g
// Folds: c·0 = 0, 1·a = a, c·(d·a) = (cd)·a.
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

template <double C>
struct scale_op;

template <double C, expression A>
constexpr auto scale(A a) {
    if constexpr (is_zero<A> || C == 1.0)
        return a;
    else
        return node<scale_op<C>, A>{};
}
template <double C, double D, expression X>
constexpr auto scale(node<scale_op<D>, X>) {
    return scale<C * D>(X{});
}

template <double C>
struct scale_op {
    static constexpr double factor = C;
    static constexpr shape shape_of(shape a) { return a; }
    static void value(tensor& out, const tensor& a) { xt::noalias(out) = C * a; }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A, DA da) {
        return scale<C>(da);
    }
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A) {
        return scale<C>(g);
    }
    static printed print(const printed& a) {
        if constexpr (C == -1.0) return {"−" + a.at(prec::postfix), prec::multiplicative};
        if constexpr (C < 0.0) return {"−" + number_string(-C) + "·" + a.at(prec::postfix), prec::multiplicative};
        return {number_string(C) + "·" + a.at(prec::postfix), prec::multiplicative};
    }
};

template <expression A>
constexpr auto operator-(A a) {
    return scale<-1.0>(a);
}

}  // namespace gateaux
