#pragma once
// Sum C = A + B of equal shapes. `a + b` with b a 1×n row and a not a row is a bias add
// (bias.hpp), as in x·W + b.
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "bias.hpp"

namespace gateaux {

struct add_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) { xt::noalias(out) = a + b; }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::additive) + " + " + b.at(prec::multiplicative), prec::additive};
    }
};

template <expression A, expression B>
constexpr auto add(A, B) {
    static_assert(shapes_agree<shape_v<A>, shape_v<B>>,
                  "gateaux::add(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    return node<add_op, A, B>{};
}

template <expression A, expression B>
constexpr auto operator+(A a, B b) {
    if constexpr (B::rows == 1 && A::rows != 1)
        return bias_add(a, b);
    else
        return add(a, b);
}

}  // namespace gateaux
