#pragma once
// Matrix product C = A·B, with transposed operands read in place by BLAS (matmul_op<TA, TB>
// computes op(A)·op(B); transposes written by the user or produced by adjoint rules fold in).
//   shape:   A m×k, B k×n -> C m×n
//   value:   BLAS dgemm through xtensor-blas, into the node's buffer (no allocation)
#include <xtensor-blas/xblas.hpp>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "transpose.hpp"

namespace gateaux {

template <bool TA = false, bool TB = false>
struct matmul_op {
    static constexpr shape shape_of(shape a, shape b) {
        return {TA ? a.cols : a.rows, TB ? b.rows : b.cols};
    }
    static void value(tensor& out, const tensor& a, const tensor& b) {
        xt::blas::gemm(a, b, out, TA, TB);
    }
    static printed print(const printed& a, const printed& b) {
        std::string l = TA ? a.at(prec::postfix) + "ᵀ" : a.at(prec::multiplicative);
        std::string r = TB ? b.at(prec::postfix) + "ᵀ" : b.at(prec::postfix);
        return {l + "·" + r, prec::multiplicative};
    }
};

namespace detail {
// Peel a transpose node off an operand: (Xᵀ)·B is matmul_op<true, false>(X, B).
template <class E>
struct peel_transpose {
    using type = E;
    static constexpr bool transposed = false;
};
template <class X>
struct peel_transpose<node<transpose_op, X>> {
    using type = X;
    static constexpr bool transposed = true;
};
}  // namespace detail

template <expression A, expression B>
constexpr auto matmul(A, B) {
    static_assert(inner_dims_agree<shape_v<A>, shape_v<B>>,
                  "gateaux::matmul(a, b) requires cols(a) == rows(b) [shapes are {rows, cols}; -1 = batch]");
    using PA = detail::peel_transpose<A>;
    using PB = detail::peel_transpose<B>;
    return node<matmul_op<PA::transposed, PB::transposed>, typename PA::type, typename PB::type>{};
}

// a * b is the matrix product, and only between gateaux expressions: plain xtensor operands
// never match (for them * stays element-wise).
template <expression A, expression B>
constexpr auto operator*(A a, B b) {
    return matmul(a, b);
}

}  // namespace gateaux
