#pragma once
// Transpose Aᵀ. (Aᵀ)ᵀ folds back to A; a transpose feeding a matrix product is read in place
// by BLAS (see matmul.hpp), so it is rarely evaluated on its own.
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct transpose_op {
    static constexpr shape shape_of(shape a) { return {a.cols, a.rows}; }
    static void value(tensor& out, const tensor& a) { xt::noalias(out) = xt::transpose(a); }
    static printed print(const printed& a) { return {a.at(prec::postfix) + "ᵀ", prec::postfix}; }
};

template <expression A>
constexpr auto transpose(A) {
    return node<transpose_op, A>{};
}
template <expression X>
constexpr auto transpose(node<transpose_op, X>) {
    return X{};
}

}  // namespace gateaux
