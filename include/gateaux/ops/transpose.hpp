#pragma once
// Transpose Aᵀ.   tangent: dAᵀ   adjoint: gᵀ
// (Aᵀ)ᵀ folds back to A, and a transpose feeding a matrix product is read in place by BLAS
// (matmul.hpp), so a transpose is rarely evaluated on its own.
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct transpose_op {
    static constexpr shape shape_of(shape a) { return {a.cols, a.rows}; }
    static void value(tensor& out, const tensor& a) { xt::noalias(out) = xt::transpose(a); }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A, DA da);
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A);
    static printed print(const printed& a) { return {a.at(prec::postfix) + "ᵀ", prec::postfix}; }
};

template <expression A>
constexpr auto transpose(A) {
    if constexpr (is_zero<A>)
        return zero<A::cols, A::rows>{};
    else if constexpr (is_ones<A>)
        return ones<A::cols, A::rows>{};
    else
        return node<transpose_op, A>{};
}
template <expression X>
constexpr auto transpose(node<transpose_op, X>) {
    return X{};
}

template <class Self, class A, class DA>
constexpr auto transpose_op::tangent(Self, A, DA da) {
    return transpose(da);
}
template <std::size_t I, class Self, class G, class A>
constexpr auto transpose_op::adjoint(Self, G g, A) {
    return transpose(g);
}

}  // namespace gateaux
