#pragma once
// Scalar scale C = c·A, c fixed at compile time: scale<0.5>(a). -a is scale<-1.0>(a).
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

template <double C>
struct scale_op {
    static constexpr double factor = C;
    static constexpr shape shape_of(shape a) { return a; }
    static void value(tensor& out, const tensor& a) { xt::noalias(out) = C * a; }
    static printed print(const printed& a) {
        if constexpr (C == -1.0) return {"−" + a.at(prec::postfix), prec::multiplicative};
        return {number_string(C) + "·" + a.at(prec::postfix), prec::multiplicative};
    }
};

template <double C, expression A>
constexpr auto scale(A) {
    return node<scale_op<C>, A>{};
}

template <expression A>
constexpr auto operator-(A a) {
    return scale<-1.0>(a);
}

}  // namespace gateaux
