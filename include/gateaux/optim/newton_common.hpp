#pragma once
// What the Newton-type optimizers share (optim/newton.hpp, block_newton.hpp, trust_region.hpp,
// diagonal_newton.hpp, hessian_free.hpp, bfgs.hpp): the Armijo search for Newton-type
// directions and the reduction ratio, both aware of the resolution of f; parameters as one flat
// vector; the explicit Hessian and its Cholesky and |H| (absolute-eigenvalue) solves, with the
// dense products by BLAS; the step_outcome constructor. For the damped curvature methods
// (damped_block_newton.hpp, kfac.hpp, natural_gradient.hpp): which curvature estimate they take,
// the Levenberg–Marquardt adaptation of the damping λ, and the step rescaled by the damped model.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "../core/errors.hpp"
#include "../symbolic/hessian.hpp"  // default_hessian_bytes, the explicit Hessian's memory limit
#include "capabilities.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux {

// Which output derivatives a curvature from layer statistics is built from: targets drawn from
// the model's predictive distribution (the true Fisher), the data's targets (the empirical
// Fisher), or the output curvature factors (its expectation over the draw).
enum class curvature_estimate { sampled, empirical, exact };

inline const char* to_string(curvature_estimate e) {
    switch (e) {
        case curvature_estimate::sampled: return "sampled";
        case curvature_estimate::empirical: return "empirical";
        case curvature_estimate::exact: return "exact";
    }
    return "?";
}

}  // namespace gateaux

namespace gateaux::detail::newton {

// Levenberg–Marquardt adaptation of the damping λ from the reduction ratio ρ: ρ < ¼ → λ × increase,
// ρ > ¾ → λ × decrease, and a rejected step → λ × rejection_increase, within [min, max].
struct lm_damping {
    double increase, decrease, rejection_increase, min, max;

    double clamp(double lambda) const { return std::clamp(lambda, min, max); }
    double after(double lambda, double rho) const {
        if (rho < 0.25) return std::min(lambda * increase, max);
        if (rho > 0.75) return std::max(lambda * decrease, min);
        return lambda;
    }
    double after_rejection(double lambda) const { return std::min(lambda * rejection_increase, max); }
    // Refuses factors that would not move λ the way the ratio asks, naming the options.
    void check(const std::string& who) const {
        if (!(increase > 1.0)) throw error(who + ": options::damping_increase must be > 1, got " + number_string(increase));
        if (!(rejection_increase > 1.0))
            throw error(who + ": options::rejection_increase must be > 1, got " + number_string(rejection_increase));
        if (!(decrease > 0.0 && decrease < 1.0))
            throw error(who + ": options::damping_decrease must be in (0, 1), got " + number_string(decrease));
    }
};

// Refuses an acceptance threshold outside [0, ¼) and a zero budget of rejections.
inline void check_rejections(const std::string& who, double accept_ratio, std::size_t max_rejections) {
    if (!(accept_ratio >= 0.0 && accept_ratio < 0.25))
        throw error(who + ": options::accept_ratio must be in [0, ¼), got " + number_string(accept_ratio));
    if (max_rejections == 0) throw error(who + ": options::max_rejections must be ≥ 1, got 0");
}

// The step δ = α·Δ + μ·δ_prev minimising the damped model gᵀδ + ½δᵀ(C + λI)δ (a 2×2 system, 1×1
// without δ_prev: `two` false), from the products C·Δ and C·δ_prev; quad = δᵀCδ.
struct rescaled_step {
    double alpha = 0.0, mu = 0.0, quad = 0.0;
    bool usable = false;  // a nonzero finite (α, μ)
};
inline rescaled_step rescale_step(const param_set& g, const param_set& step, const param_set& c_step, const param_set& prev,
                                  const param_set& c_prev, bool two, double lambda) {
    rescaled_step r;
    const double a11 = step.dot(c_step) + lambda * step.dot(step), b1 = -g.dot(step);
    if (two) {
        const double a12 = step.dot(c_prev) + lambda * step.dot(prev);
        const double a22 = prev.dot(c_prev) + lambda * prev.dot(prev), b2 = -g.dot(prev);
        const double det = a11 * a22 - a12 * a12;
        if (a11 > 0.0 && a22 > 0.0 && det > 1e-12 * a11 * a22) r.alpha = (b1 * a22 - b2 * a12) / det, r.mu = (a11 * b2 - a12 * b1) / det;
        else if (a11 > 0.0) r.alpha = b1 / a11;
    } else if (a11 > 0.0) {
        r.alpha = b1 / a11;
    }
    if (!(r.alpha != 0.0 || r.mu != 0.0) || !std::isfinite(r.alpha) || !std::isfinite(r.mu)) return r;
    // δᵀCδ from the two products: α²·ΔᵀCΔ + 2αμ·ΔᵀCδ_prev + μ²·δ_prevᵀCδ_prev.
    r.quad = r.alpha * r.alpha * step.dot(c_step);
    if (two) r.quad += 2.0 * r.alpha * r.mu * step.dot(c_prev) + r.mu * r.mu * prev.dot(c_prev);
    r.usable = true;
    return r;
}

using lapack_index = xt::blas_index_t;

// The resolution of f near f0: decreases below it cannot be seen in computed values.
inline double resolution(double f0) { return 1e-12 * std::abs(f0); }

// Armijo backtracking (optim/line_search.hpp) along a Newton-type direction d from α = step0,
// with one exception: when the model predicts a decrease below the resolution of f (near a
// minimum with f* ≠ 0), computed values cannot confirm sufficient decrease and the test would
// reject the very step that cuts ‖g‖ by orders of magnitude. There the step α = step0 is taken
// as long as f does not rise beyond that resolution. On success x_trial and g_trial hold the new
// point and its gradient.
inline line_search_result newton_line_search(objective& f, const param_set& x, const param_set& d, double f0, double slope,
                                             double predicted, double step0, const armijo_backtracking& ls,
                                             param_set& x_trial, param_set& g_trial) {
    if (!x_trial.same_shape(x)) x_trial = x.zeros_like();
    if (!g_trial.same_shape(x)) g_trial = x.zeros_like();
    if (std::isfinite(f0) && slope < 0.0 && predicted <= resolution(f0)) {
        x_trial.assign(x);
        x_trial.axpy(step0, d);
        const double f1 = f.value_and_gradient(x_trial, g_trial);
        if (std::isfinite(f1) && f1 <= f0 + resolution(f0)) return {line_search_status::ok, step0, f1, g_trial.dot(d), 1, true, {}};
    }
    return ls.search(f, x, d, f0, slope, step0, x_trial, g_trial);
}

// Actual over predicted reduction. When the predicted reduction is below the rounding of f the
// ratio is noise; then the model is trusted (ρ = 1) unless f rose beyond that rounding.
inline double reduction_ratio(double f0, double f1, double predicted) {
    const double floor = std::max(resolution(f0), std::numeric_limits<double>::min());
    const double actual = f0 - f1;
    if (!std::isfinite(f1)) return -std::numeric_limits<double>::infinity();
    if (predicted <= floor) return actual >= -floor ? 1.0 : -1.0;
    return actual / predicted;
}

// Parameters as one vector, blocks row-major in wrt(...) order: the layout of f.hessian().
inline void flatten(const param_set& p, std::vector<double>& out) {
    out.resize(p.count());
    auto it = out.begin();
    for (const tensor& t : p) it = std::copy(t.begin(), t.end(), it);
}
inline void unflatten(const double* v, param_set& p) {
    for (tensor& t : p) {
        std::copy_n(v, t.size(), t.begin());
        v += t.size();
    }
}

// The explicit Hessian, or in `why` the reason there is none: the objective lacks hessian_matrix,
// or its size_error.
inline bool explicit_hessian(objective& f, const param_set& x, std::size_t max_bytes, tensor& h, std::string& why,
                             const char* who) {
    hessian_matrix* const m = capability<hessian_matrix>(f);
    if (m == nullptr) {
        why = std::string(who) + ": " + lacking<hessian_matrix>();
        return false;
    }
    try {
        h = m->hessian(x, max_bytes);
        return true;
    } catch (const size_error& e) {
        why = std::string(who) + ": " + e.what();
        return false;
    }
}

// Cholesky solve of (H + shift·I)·d = rhs (H symmetric n×n, row-major = column-major).
// Returns false when the shifted matrix is not numerically positive definite.
inline bool cholesky_solve(const tensor& h, double shift, const std::vector<double>& rhs, std::vector<double>& d) {
    const auto n = lapack_index(rhs.size());
    std::vector<double> a(h.begin(), h.end());
    for (lapack_index i = 0; i < n; ++i) a[std::size_t(i * n + i)] += shift;
    if (cxxlapack::potrf<lapack_index>('L', n, a.data(), n) != 0) return false;
    d = rhs;
    cxxlapack::potrs<lapack_index>('L', n, 1, a.data(), n, d.data(), n);
    return std::all_of(d.begin(), d.end(), [](double v) { return std::isfinite(v); });
}

// The eigendecomposition of H with |λ| floored at floor·max|λ| (and above zero): the positive
// definite |H| of the saddle-free / modified Newton methods (Nocedal & Wright §3.4).
struct abs_eigen {
    xt::xtensor<double, 1> sigma;  // max(|λ_i|, floor)
    xt::xtensor<double, 2, xt::layout_type::column_major> v;  // eigenvectors as columns
    std::size_t flipped = 0, floored = 0;  // eigenvalues that were negative / below the floor
};
inline abs_eigen absolute_eigen(const tensor& h, double relative_floor) {
    auto [lambda, v] = xt::linalg::eigh(h);
    abs_eigen out;
    const std::size_t n = lambda.size();
    double top = 0.0;
    for (std::size_t i = 0; i < n; ++i) top = std::max(top, std::abs(lambda(i)));
    const double floor = std::max(relative_floor * top, std::numeric_limits<double>::min());
    out.sigma = xt::xtensor<double, 1>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        out.flipped += lambda(i) < 0.0;
        out.floored += std::abs(lambda(i)) < floor;
        out.sigma(i) = std::max(std::abs(lambda(i)), floor);
    }
    out.v = std::move(v);
    return out;
}
// out = op(A)·v for a dense n×n matrix (BLAS dgemv); `column_major` says how A is stored.
template <class Matrix>
inline void matvec(const Matrix& a, bool column_major, bool transposed, const std::vector<double>& v, std::vector<double>& out) {
    const auto n = lapack_index(v.size());
    out.resize(v.size());
    cxxblas::gemv<lapack_index>(column_major ? cxxblas::ColMajor : cxxblas::RowMajor,
                                transposed ? cxxblas::Trans : cxxblas::NoTrans, n, n, 1.0, a.data(), n, v.data(), 1,
                                0.0, out.data(), 1);
}
// Vᵀ·g and V·c for the eigenvector matrix.
inline void to_eigenbasis(const abs_eigen& e, const std::vector<double>& g, std::vector<double>& out) {
    matvec(e.v, true, true, g, out);
}
inline void from_eigenbasis(const abs_eigen& e, const std::vector<double>& c, std::vector<double>& out) {
    matvec(e.v, true, false, c, out);
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}
// ½·dᵀH·d for the explicit H (symmetric, row-major); `hd` is scratch.
inline double half_quadratic(const tensor& h, const std::vector<double>& d, std::vector<double>& hd) {
    matvec(h, false, false, d, hd);
    return 0.5 * dot(d, hd);
}

inline step_outcome outcome(step_outcome::status s, double loss, const param_set& g, double step_norm, double step_size,
                            std::string message = {}) {
    return {s, loss, g.norm(), step_norm, step_size, std::move(message)};
}

// start()'s answer at the starting point (loss and gradient evaluated): ok, or not_applicable
// naming what the objective lacks (`why`, from detail::missing; empty when nothing is missing).
inline step_outcome start_outcome(const std::string& who, const std::string& why, double loss, const param_set& g,
                                  double step_size = 0.0) {
    if (why.empty()) return outcome(step_outcome::status::ok, loss, g, 0.0, step_size);
    return outcome(step_outcome::status::not_applicable, loss, g, 0.0, 0.0, who + ": " + why);
}

// start()'s answer after the first evaluation at the starting point: ok, or not_applicable with
// the failure it left in `pending` (then loss and gradient from value_and_gradient).
inline step_outcome evaluated_start(objective& f, const param_set& x, const std::string& pending, double& loss, param_set& g) {
    if (!pending.empty()) {
        loss = f.value_and_gradient(x, g);
        return outcome(step_outcome::status::not_applicable, loss, g, 0.0, 0.0, pending);
    }
    return outcome(step_outcome::status::ok, loss, g, 0.0, 0.0);
}

}  // namespace gateaux::detail::newton
