#pragma once
// Right division by a square weight through its shared LU node: X = Z·W⁻¹ (or Z·W⁻ᵀ when
// Transposed). This is matmul's inverse rule: from C = A·W, A = C·W⁻¹. Folds
// (Z·Wᵀ)·W⁻ᵀ = Z, so that the B-operator of a gradient collapses to one downward chain (docs/theory.md).
#include <vector>

#include "../core/check.hpp"
#include "../numeric/lapack.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "lu.hpp"

namespace gateaux {

// Declared for the fold below; ops/matmul.hpp defines it (and includes this header for its
// inverse rule).
template <bool TA, bool TB>
struct matmul_op;

template <bool Transposed>
struct right_solve_op {
    static constexpr shape shape_of(shape z, shape) { return z; }
    // X·W = Z with the LU of M = Wᵀ: X = Z·M⁻ᵀ (X = Z·M⁻¹ when Transposed). Z is copied
    // transposed into a column-major B×n buffer so that both triangular solves are right-sided
    // (twice as fast as getrs's left-sided ones at n = 64 with OpenBLAS 0.3.21), then back.
    static void value(tensor& out, const tensor& z, const tensor& lu) {
        const auto n = lapack::index(lu.shape(1)), rows = lapack::index(z.shape(0));
        lapack::index* piv = lapack::scratch<lapack::index, 1>(static_cast<std::size_t>(n));
        for (lapack::index i = 0; i < n; ++i) piv[i] = lapack::index(lu(std::size_t(n), std::size_t(i)));
        double* c = lapack::scratch<double, 5>(static_cast<std::size_t>(rows * n));
        lapack::transpose(z.data(), rows, n, c);
        lapack::lu_solve_right(Transposed ? 'N' : 'T', lu.data(), n, n, piv, c, rows);
        lapack::transpose(c, n, rows, out.data());
    }
    static printed print(const printed& z, const printed& lu) {
        return {z.at(prec::multiplicative) + "·" + lu.text + (Transposed ? "⁻ᵀ" : "⁻¹"), prec::multiplicative};
    }
};

// Z·W⁻¹ and Z·W⁻ᵀ for a square parameter W; Name says which weight a failure is about.
template <fixed_string Name, expression Z, expression W>
constexpr auto solve_right(Z, W w) {
    static_assert(W::rows == W::cols && Z::cols == W::rows, "gateaux::solve_right(z, w) requires a square w with cols(z) == rows(w)");
    if constexpr (is_zero<Z>)
        return Z{};
    else
        return node<right_solve_op<false>, Z, decltype(lu<Name>(w))>{};
}
template <fixed_string Name, expression Z, expression W>
constexpr auto solve_right_transposed(Z, W w) {
    static_assert(W::rows == W::cols && Z::cols == W::cols,
                  "gateaux::solve_right_transposed(z, w) requires a square w with cols(z) == cols(w)");
    if constexpr (is_zero<Z>)
        return Z{};
    else
        return node<right_solve_op<true>, Z, decltype(lu<Name>(w))>{};
}
// (X·Wᵀ)·W⁻ᵀ = X.
template <fixed_string Name, expression X, expression W>
constexpr X solve_right_transposed(node<matmul_op<false, true>, X, W>, W) {
    return X{};
}

}  // namespace gateaux
