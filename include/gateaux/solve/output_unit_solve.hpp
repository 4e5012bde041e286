#pragma once
// The output layer's block, one output unit at a time. With a squared-error loss the output
// layer's block H_L = Σ_b diag(t_b) ⊗ h_bᵀh_b splits by output unit j into
// H_j = hᵀ·diag(t_:j)·h (n×n, t = g·φ′ the diagonal curvature), so H_L⁺·V is solved column by
// column: exact for any batch size — the fallback when the batch exceeds the width n — and,
// with a damping λ (a 1×1 tensor bound to `damping`), the exact damped solve (H_j + λI)⁻¹·V_:j.
// For B ≥ n each H_j (+ λI) is factorised by LDLᵀ and refused (rank_error) when its reciprocal
// condition is below inverse_tolerance(); for B < n (singular H_j) the minimum-norm solution is
// taken by SVD, which equals the chain's h⁺ formula.
#include <string>
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
struct output_unit_solve_op {
    static constexpr shape shape_of(shape, shape, shape v) { return v; }
    static constexpr shape shape_of(shape, shape, shape v, shape) { return v; }

    static void solve(tensor& out, const tensor& h, const tensor& t, const tensor& v, double lambda) {
        const std::size_t b = h.shape(0), n = h.shape(1), m = v.shape(1);
        const bool full = b >= n || lambda > 0.0;
        // Per-thread buffers that only grow: no allocation per run after the first.
        thread_local tensor hj, scaled;
        thread_local std::vector<double> work;
        thread_local std::vector<lapack::index> piv, iwork;
        if (hj.shape(0) != n || hj.shape(1) != n) hj.resize({n, n});
        if (scaled.shape(0) != b || scaled.shape(1) != n) scaled.resize({b, n});
        piv.resize(n);
        for (std::size_t j = 0; j < m; ++j) {
            for (std::size_t r = 0; r < b; ++r)
                for (std::size_t c = 0; c < n; ++c) scaled(r, c) = t(r, j) * h(r, c);
            xt::blas::gemm(h, scaled, hj, true, false);  // hᵀ·diag(t_:j)·h
            for (std::size_t i = 0; i < n; ++i) hj(i, i) += lambda;
            thread_local xt::xtensor<double, 1> rhs;
            if (rhs.size() != n) rhs = xt::xtensor<double, 1>::from_shape({n});
            for (std::size_t i = 0; i < n; ++i) rhs(i) = v(i, j);
            if (full) {
                lapack::inertia in;
                const double rcond = lapack::ldl_factor(hj.data(), lapack::index(n), piv.data(), in, work, iwork);
                if (!(rcond >= inverse_tolerance()))
                    throw rank_error("the output-layer block of " + std::string(Name.view()) + " for unit " + std::to_string(j),
                                     "hᵀ·diag(g·φ′)·h" + std::string(lambda > 0.0 ? " + λI" : "") + " has condition ≈ " +
                                         number_string(1.0 / rcond) + " above 1/tolerance = " + number_string(1.0 / inverse_tolerance()),
                                     rcond == 0.0 ? INFINITY : 1.0 / rcond);
                lapack::ldl_solve(hj.data(), lapack::index(n), piv.data(), rhs.data(), 1);
                for (std::size_t i = 0; i < n; ++i) out(i, j) = rhs(i);
            } else {
                const auto solution = std::get<0>(xt::linalg::lstsq(hj, rhs, inverse_tolerance()));
                for (std::size_t i = 0; i < n; ++i) out(i, j) = solution(i);
            }
        }
    }
    static void value(tensor& out, const tensor& h, const tensor& t, const tensor& v) { solve(out, h, t, v, 0.0); }
    static void value(tensor& out, const tensor& h, const tensor& t, const tensor& v, const tensor& lambda) {
        solve(out, h, t, v, detail::damping_value(lambda));
    }
    static printed print(const printed& h, const printed& t, const printed& v) {
        return {"unit_solve(" + h.text + ", " + t.text + ", " + v.text + ")", prec::atom};
    }
    static printed print(const printed& h, const printed& t, const printed& v, const printed& l) {
        return {"unit_solve(" + h.text + ", " + t.text + ", " + v.text + ", λ = " + l.text + ")", prec::atom};
    }
};

template <fixed_string Name, expression H, expression T, expression V>
constexpr auto output_unit_solve(H, T, V) {
    return node<output_unit_solve_op<Name>, H, T, V>{};
}
template <fixed_string Name, expression H, expression T, expression V, expression Lambda>
constexpr auto output_unit_solve(H, T, V, Lambda) {
    return node<output_unit_solve_op<Name>, H, T, V, Lambda>{};
}

}  // namespace gateaux
