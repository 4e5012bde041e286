#pragma once
// Difference C = A − B of equal shapes.
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct sub_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a - b; }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::additive) + " − " + b.at(prec::multiplicative), prec::additive};
    }
};

template <expression A, expression B>
constexpr auto sub(A, B) {
    static_assert(shapes_agree<shape_v<A>, shape_v<B>>,
                  "gateaux::sub(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    return node<sub_op, A, B>{};
}

template <expression A, expression B>
constexpr auto operator-(A a, B b) {
    return sub(a, b);
}

}  // namespace gateaux
