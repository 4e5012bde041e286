#pragma once
// The pseudo-inverse of a layer input from its shared factorisation node (qr.hpp: QR for B < n,
// hᵀ = Q₁R, h⁺ = Q₁R⁻ᵀ; LU for B = n, hᵀ = P·L·U, h⁺ = h⁻¹):
//   pinv_left(h, Z)   = h⁺·Z   (n×m from B×m)    the last step of every block Newton step
//   pinv_left_t(h, V) = h⁺ᵀ·V  (B×m from n×m)    a parameter-shaped direction into per-sample rows
// They are the inverse rule of the weight's matmul: from G = hᵀ·δ, δ = h⁺ᵀ·G when rank h = B.
// Fold: h⁺ᵀ·(hᵀ·δ) = δ, so the B-operator of a gradient needs no h⁺ᵀ at all.
#include <algorithm>
#include <vector>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../numeric/lapack.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "augment.hpp"
#include "qr.hpp"

namespace gateaux {

// Declared here for the folds below; ops/matmul.hpp and ops/col_sum.hpp define them (and
// matmul.hpp includes this header for its inverse rule).
template <bool TA, bool TB>
struct matmul_op;
struct col_sum_op;

namespace detail {
// Unpack the B×(n+1) node: factors with leading dimension n+1, and the scalars (QR) or the pivots (LU).
inline void unpack_tau(const tensor& qr, std::vector<double>& tau) {
    const std::size_t b = qr.shape(0), ld = qr.shape(1);
    tau.resize(b);
    for (std::size_t r = 0; r < b; ++r) tau[r] = qr.data()[r * ld + ld - 1];
}
inline lapack::index* unpack_pivots(const tensor& lu) {
    const std::size_t b = lu.shape(0), ld = lu.shape(1);
    lapack::index* piv = lapack::scratch<lapack::index, 1>(b);
    for (std::size_t r = 0; r < b; ++r) piv[r] = lapack::index(lu.data()[r * ld + ld - 1]);
    return piv;
}
}  // namespace detail

struct left_pinv_op {
    static constexpr shape shape_of(shape qr, shape z) { return {qr.cols - 1, z.cols}; }
    // Δᵀ = [Zᵀ R⁻¹, 0]·Q₁ᵀ (QR), or Δᵀ = Zᵀ·h⁻ᵀ = Zᵀ·M⁻¹ with M = hᵀ (LU), computed on the
    // row-major Δ (n×m), i.e. the column-major Δᵀ (m×n).
    static void value(tensor& out, const tensor& qr, const tensor& z) {
        const auto b = lapack::index(qr.shape(0)), n = lapack::index(qr.shape(1) - 1), m = lapack::index(z.shape(1));
        if (b == n) {
            std::copy(z.begin(), z.end(), out.begin());
            lapack::lu_solve_right('N', qr.data(), n, n + 1, detail::unpack_pivots(qr), out.data(), m);
            return;
        }
        thread_local std::vector<double> tau;  // per-thread, only grows: no allocation per run
        detail::unpack_tau(qr, tau);
        out.fill(0.0);
        std::copy(z.begin(), z.end(), out.begin());  // column-major m×B block Zᵀ
        lapack::solve_r_right(false, qr.data(), n + 1, b, out.data(), m);
        lapack::apply_q_right('T', qr.data(), n, n + 1, b, tau.data(), out.data(), m);
    }
    static printed print(const printed& qr, const printed& z) {
        return {qr.text + "⁺·" + z.at(prec::postfix), prec::multiplicative};
    }
};

struct left_pinv_t_op {
    static constexpr shape shape_of(shape qr, shape v) { return {qr.rows, v.cols}; }
    // (h⁺ᵀV)ᵀ = Vᵀ·Q₁·R⁻ᵀ (QR), or Vᵀ·h⁻¹ = Vᵀ·M⁻ᵀ (LU), on the column-major Vᵀ (m×n).
    static void value(tensor& out, const tensor& qr, const tensor& v) {
        const auto b = lapack::index(qr.shape(0)), n = lapack::index(qr.shape(1) - 1), m = lapack::index(v.shape(1));
        if (b == n) {
            std::copy(v.begin(), v.end(), out.begin());
            lapack::lu_solve_right('T', qr.data(), n, n + 1, detail::unpack_pivots(qr), out.data(), m);
            return;
        }
        thread_local std::vector<double> tau, c;  // per-thread, only grow: no allocation per run
        detail::unpack_tau(qr, tau);
        c.assign(v.begin(), v.end());
        lapack::apply_q_right('N', qr.data(), n, n + 1, b, tau.data(), c.data(), m);
        lapack::solve_r_right(true, qr.data(), n + 1, b, c.data(), m);
        std::copy_n(c.data(), std::size_t(m * b), out.begin());
    }
    static printed print(const printed& qr, const printed& v) {
        return {qr.text + "⁺ᵀ·" + v.at(prec::postfix), prec::multiplicative};
    }
};

template <fixed_string Name, expression H, expression Z>
constexpr auto pinv_left(H h, Z) {
    static_assert(H::rows == Z::rows, "gateaux::pinv_left(h, z) requires rows(z) == rows(h)");
    if constexpr (is_zero<Z>)
        return zero<H::cols, Z::cols>{};
    else
        return node<left_pinv_op, decltype(qr<Name>(h)), Z>{};
}
template <fixed_string Name, expression H, expression V>
constexpr auto pinv_left_t(H h, V) {
    static_assert(H::cols == V::rows, "gateaux::pinv_left_t(h, v) requires rows(v) == cols(h)");
    if constexpr (is_zero<V>)
        return zero<H::rows, V::cols>{};
    else
        return node<left_pinv_t_op, decltype(qr<Name>(h)), V>{};
}
// h⁺ᵀ·(hᵀ·δ) = δ when rank h = B (checked where h⁺ is formed), and the same for the augmented
// input: [h 1]⁺ᵀ·[hᵀ·δ; 1ᵀ·δ] = δ (the joint gradient of a weight and its bias).
template <fixed_string Name, expression H, expression D>
constexpr D pinv_left_t(H, node<matmul_op<true, false>, H, D>) {
    return D{};
}
template <fixed_string Name, expression H, expression D>
constexpr D pinv_left_t(node<append_ones_op, H>, node<stack_rows_op, node<matmul_op<true, false>, H, D>, node<col_sum_op, D>>) {
    return D{};
}

}  // namespace gateaux
