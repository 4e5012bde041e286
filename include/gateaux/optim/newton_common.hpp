#pragma once
// What the Newton-type optimizers share (optim/newton.hpp, block_newton.hpp, trust_region.hpp,
// diagonal_newton.hpp, hessian_free.hpp, bfgs.hpp): the Armijo search for Newton-type
// directions and the reduction ratio, both aware of the resolution of f; parameters as one flat
// vector; the explicit Hessian and its Cholesky and |H| (absolute-eigenvalue) solves, with the
// dense products by BLAS; the step_outcome constructor.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "../symbolic/hessian.hpp"  // default_hessian_bytes, the explicit Hessian's memory limit
#include "capabilities.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux::detail::newton {

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

}  // namespace gateaux::detail::newton
