#pragma once
// Row-by-row solves with a stack of per-sample curvature blocks (curvature.hpp): row b of the
// result is z_b·T_b⁻¹. Each T_b is factorised by LAPACK's symmetric-indefinite LDLᵀ
// (Bunch–Kaufman): with smooth activations T_b is often indefinite, which is fine. A block whose
// reciprocal condition estimate is below inverse_tolerance() is refused with a rank_error that
// names the layer, the sample and the block's inertia (positive/negative/zero pivots).
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../numeric/lapack.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"
#include "damping.hpp"

namespace gateaux {

template <fixed_string Name>
struct curvature_solve_op {
    static constexpr shape shape_of(shape, shape z) { return z; }
    static void value(tensor& out, const tensor& t, const tensor& z) {
        const auto n = lapack::index(z.shape(1));
        // Per-thread buffers that only grow: no allocation per run after the first.
        thread_local std::vector<double> block, work;
        thread_local std::vector<lapack::index> piv, iwork;
        block.resize(static_cast<std::size_t>(n * n));
        piv.resize(static_cast<std::size_t>(n));
        for (std::size_t b = 0; b < z.shape(0); ++b) {
            std::copy_n(t.data() + b * std::size_t(n * n), std::size_t(n * n), block.data());
            lapack::inertia in;
            const double rcond = lapack::ldl_factor(block.data(), n, piv.data(), in, work, iwork);
            if (!(rcond >= inverse_tolerance()))
                throw rank_error("curvature block T_b of sample " + std::to_string(b) + " at " + std::string(Name.view()),
                                 "singular or ill-conditioned: condition ≈ " + number_string(1.0 / rcond) + " exceeds 1/tolerance = " +
                                     number_string(1.0 / inverse_tolerance()) + " (inertia: " + std::to_string(in.positive) +
                                     " positive, " + std::to_string(in.negative) + " negative, " + std::to_string(in.zero) +
                                     " zero pivots)",
                                 rcond == 0.0 ? INFINITY : 1.0 / rcond);
            // T_b symmetric: z_b·T_b⁻¹ = (T_b⁻¹·z_bᵀ)ᵀ, one right-hand side.
            double* row = out.data() + b * std::size_t(n);
            std::copy_n(z.data() + b * std::size_t(n), std::size_t(n), row);
            lapack::ldl_solve(block.data(), n, piv.data(), row, 1);
        }
    }
    static printed print(const printed& t, const printed& z) {
        return {z.at(prec::multiplicative) + "·" + t.at(prec::postfix) + "⁻¹", prec::multiplicative};
    }
};

namespace numeric {
// v·(Σ_b T_b + λI)⁻¹ for the rows of v (1×n each); with λ = 0 the minimum-norm v·(Σ_b T_b)⁺ (see
// curvature_sum_solve_op below). t stacks the T_b ((B·n)×n); `block` names it in messages ("bias
// 'b2'"). out must not be v.
inline void solve_sum_block(tensor& out, const tensor& t, const tensor& v, double lambda, std::string_view block) {
    const std::size_t n = v.shape(1), samples = t.shape(0) / n;
    thread_local tensor sum;
    if (sum.shape(0) != n || sum.shape(1) != n) sum.resize({n, n});
    sum.fill(0.0);
    for (std::size_t b = 0; b < samples; ++b)
        for (std::size_t k = 0; k < n * n; ++k) sum.data()[k] += t.data()[b * n * n + k];
    if (lambda != 0.0) {  // a penalty c·½‖b‖² may be negative: (H_b + D) is then indefinite, still solved
        for (std::size_t i = 0; i < n; ++i) sum(i, i) += lambda;
        thread_local std::vector<double> work;
        thread_local std::vector<lapack::index> piv, iwork;
        piv.resize(n);
        lapack::inertia in;
        const double rcond = lapack::ldl_factor(sum.data(), lapack::index(n), piv.data(), in, work, iwork);
        if (!(rcond >= inverse_tolerance()))
            throw rank_error("the damped block of " + std::string(block) + " (Σ_b T_b + λI)",
                             "singular or ill-conditioned: condition ≈ " + number_string(1.0 / rcond) + " exceeds 1/tolerance = " +
                                 number_string(1.0 / inverse_tolerance()),
                             rcond == 0.0 ? INFINITY : 1.0 / rcond);
        std::copy(v.begin(), v.end(), out.begin());
        lapack::ldl_solve(sum.data(), lapack::index(n), piv.data(), out.data(), lapack::index(v.shape(0)));
        return;
    }
    const auto [eig, q] = xt::linalg::eigh(sum);
    double big = 0.0;
    for (double e : eig) big = std::max(big, std::abs(e));
    out.fill(0.0);
    for (std::size_t k = 0; k < n; ++k) {
        if (!(std::abs(eig(k)) > inverse_tolerance() * big)) continue;
        for (std::size_t r = 0; r < v.shape(0); ++r) {  // v·H⁺ = Σ_k (v·q_k)/λ_k·q_kᵀ
            double c = 0.0;
            for (std::size_t i = 0; i < n; ++i) c += v(r, i) * q(i, k);
            c /= eig(k);
            for (std::size_t j = 0; j < n; ++j) out(r, j) += c * q(j, k);
        }
    }
}
}  // namespace numeric

// A bias's block: b enters every sample's net row once, so H_b = Σ_b T_b (n×n, exact for any
// batch). With a damping λ (the run-time operand, when present) plus the loss's l2 coefficient
// Decay on b (of either sign), v·(H_b + D)⁻¹ by LDLᵀ, refused (rank_error) where that is singular; with D = 0,
// v·H_b⁺ from its symmetric eigendecomposition (LAPACK syevd): the minimum-norm solution,
// dropping eigenvalues below inverse_tolerance() times the largest in magnitude. The block can be
// singular by construction (a cross-entropy's output bias: shifting every logit by one constant
// changes nothing) or for few samples (each T_b below a narrowing layer is singular).
template <fixed_string Name, double Decay = 0.0>
struct curvature_sum_solve_op {
    static constexpr shape shape_of(shape, shape v) { return v; }
    static constexpr shape shape_of(shape, shape v, shape) { return v; }
    static void value(tensor& out, const tensor& t, const tensor& v) { solve(out, t, v, Decay); }
    static void value(tensor& out, const tensor& t, const tensor& v, const tensor& lambda) {
        solve(out, t, v, Decay + detail::damping_value(lambda));
    }
    static void solve(tensor& out, const tensor& t, const tensor& v, double lambda) {
        numeric::solve_sum_block(out, t, v, lambda, "bias '" + std::string(Name.view()) + "'");
    }
    static printed print(const printed& t, const printed& v) {
        return {v.at(prec::multiplicative) + "·(Σ " + t.at(prec::postfix) + ")⁺", prec::multiplicative};
    }
    static printed print(const printed& t, const printed& v, const printed& l) {
        return {v.at(prec::multiplicative) + "·(Σ " + t.at(prec::postfix) + " + " + l.text + "·I)⁻¹", prec::multiplicative};
    }
};

template <fixed_string Name, double Decay = 0.0, expression T, expression V, expression... Lambda>
constexpr auto curvature_sum_solve(T, V, Lambda...) {
    static_assert(T::cols == V::cols && V::rows == 1, "gateaux::curvature_sum_solve(T, v): v is a row as wide as the blocks");
    if constexpr (is_zero<V>)
        return V{};
    else
        return node<curvature_sum_solve_op<Name, Decay>, T, V, Lambda...>{};
}

template <fixed_string Name, expression T, expression Z>
constexpr auto curvature_solve(T, Z) {
    static_assert(T::cols == Z::cols, "gateaux::curvature_solve(T, z): widths differ");
    if constexpr (is_zero<Z>)
        return Z{};
    else
        return node<curvature_solve_op<Name>, T, Z>{};
}

}  // namespace gateaux
