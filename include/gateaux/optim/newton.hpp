#pragma once
// Newton-family optimizers on an objective.
//
//   block_newton     per-layer Newton through the functional inverse (the B-operator): the
//                    direction is −Δ with Δ_l = H_l⁺·G_l (f.block_newton_step), then an Armijo
//                    line search or a fixed step. One forward/backward pass and one downward
//                    solve per iteration; only for networks the B-operator accepts.
//   fd_block_newton  the same step by finite differences of the functional inverse
//                    (fd_newton_step, through f.fd_block_newton_step).
//   naive_newton     the full Newton step from the explicit Hessian: H·d = −g by Cholesky, |H|
//                    (absolute eigenvalues) when H is not positive definite, Armijo line search.
//                    Small problems only: n² doubles, refused above max_hessian_bytes.
//   damped_newton    Levenberg–Marquardt on the explicit Hessian: (H + λI)·d = −g, accepted by the
//                    ratio of actual to predicted reduction, λ adapted.
//
// Failures are statuses, not exceptions: a network the B-operator rejects, a batch the inverse
// cannot handle (rank_error) or a Hessian over the memory limit (size_error) end the run with
// step_outcome::status::not_applicable and the reason; an exhausted line search with
// line_search_failed.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "line_search.hpp"
#include "minimize.hpp"
#include "objective.hpp"
#include "param_set.hpp"

namespace gateaux {

namespace detail::newton {

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

// The explicit Hessian, or the size_error's message in `why`.
inline bool explicit_hessian(objective& f, const param_set& x, std::size_t max_bytes, tensor& h, std::string& why,
                             const char* who) {
    try {
        h = f.hessian(x, max_bytes);
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
// Vᵀ·g and V·c for the eigenvector matrix.
inline void to_eigenbasis(const abs_eigen& e, const std::vector<double>& g, std::vector<double>& out) {
    const std::size_t n = g.size();
    out.assign(n, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
        double s = 0.0;
        for (std::size_t i = 0; i < n; ++i) s += e.v(i, k) * g[i];
        out[k] = s;
    }
}
inline void from_eigenbasis(const abs_eigen& e, const std::vector<double>& c, std::vector<double>& out) {
    const std::size_t n = c.size();
    out.assign(n, 0.0);
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t i = 0; i < n; ++i) out[i] += e.v(i, k) * c[k];
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}
// ½·dᵀH·d for the explicit H.
inline double half_quadratic(const tensor& h, const std::vector<double>& d) {
    const std::size_t n = d.size();
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        double r = 0.0;
        for (std::size_t j = 0; j < n; ++j) r += h(i, j) * d[j];
        s += d[i] * r;
    }
    return 0.5 * s;
}

inline step_outcome outcome(step_outcome::status s, double loss, const param_set& g, double step_norm, double step_size,
                            std::string message = {}) {
    return {s, loss, g.norm(), step_norm, step_size, std::move(message)};
}

// What to do when the per-layer inverse cannot be formed at this batch.
inline std::string rank_advice(const char* who, const char* what) {
    return std::string(who) + ": " + what +
           ". The per-layer inverse needs independent rows of each layer input (batch ≤ its width), "
           "well-conditioned weights above and, with smooth activations, invertible per-sample curvature blocks T_b "
           "(they degrade as units saturate or the residual vanishes). Remedies: smaller batches (objective::use_minibatches), the output-layer "
           "fallback output_per_unit (a bop/newton_step option, exact for any batch), or Hessian-free CG "
           "(hessian_free, or preconditioned_hessian_free, whose block preconditioner falls back to the identity "
           "where the inverse fails)";
}

// The part both block Newton variants share: the step at the current point is computed by the
// previous call (start or step), so each iteration costs one inverse pass plus the line search.
class block_newton_base : public optimizer {
public:
    struct options {
        bool line_search = true;  // Armijo backtracking from α = step_size; false: fixed step
        double step_size = 1.0;   // initial α, or the fixed step (the seed used 0.1)
        armijo_backtracking line_search_settings{};
    };

    // Blocks whose step pointed uphill and were flipped (indefinite H_l), over the whole run.
    std::size_t flipped_blocks() const { return flipped_; }
    // Iterations whose line search along the block step failed and that moved along −g instead.
    std::size_t gradient_fallbacks() const { return gradient_fallbacks_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        s_ = x.zeros_like();
        flipped_ = gradient_fallbacks_ = 0;
        if (!f.has_block_inverse()) {
            std::string why = name() + ": this objective has no per-layer inverse";
            try {
                compute(f, x, g_, s_);  // the objective throws its own explanation
            } catch (const error& e) {
                why = name() + ": " + e.what();
            }
            return outcome(step_outcome::status::not_applicable, f.value_and_gradient(x, g_), g_, 0.0, 0.0, why);
        }
        return evaluate(f, x, 0.0, 0.0, true);
    }

    step_outcome step(objective& f, param_set& x) override {
        // d = −Δ. For piecewise-linear nets under the squared error every H_l is positive
        // semi-definite and gᵀd = −Σ G_lᵀH_l⁺G_l ≤ 0. With smooth activations H_l can be
        // indefinite; a block whose step points uphill (G_lᵀΔ_l < 0) is flipped, the block-wise
        // analogue of the |H| modification. If that still leaves no descent (g ⊥ Δ), −g is used.
        // On minibatches the batch changed since the step was computed (minimize() draws the next
        // one before each step): the loss, gradient and step must belong to the batch the line
        // search sees, so they are computed again here.
        if (f.minibatched()) evaluate(f, x, 0.0, 0.0, false);
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        d_ = s_;
        for (std::size_t l = 0; l < d_.size(); ++l) {
            double c = 0.0;
            for (std::size_t k = 0; k < d_[l].size(); ++k) c += g_[l].data()[k] * s_[l].data()[k];
            const double sign = c < 0.0 ? 1.0 : -1.0;
            flipped_ += c < 0.0;
            for (double& v : d_[l]) v *= sign;
        }
        double slope = g_.dot(d_);
        if (!(slope < 0.0)) {
            d_.assign(g_);
            d_.scale(-1.0);
            slope = g_.dot(d_);
        }
        double alpha = opt_.step_size;
        if (opt_.line_search) {
            // A Newton step predicts a decrease of −½·α·gᵀd for its quadratic model.
            line_search_result ls = newton_line_search(f, x, d_, loss_, slope, -0.5 * opt_.step_size * slope,
                                                       opt_.step_size, opt_.line_search_settings, trial_, g_trial_);
            if (!ls.ok()) {
                // Near a kink of a piecewise-linear activation the block step can fail for every α
                // while −g still descends (the Newton model holds only on one side of the kink).
                // Before giving up, one search along −g scaled to the block step's length.
                ++gradient_fallbacks_;
                const double scale = d_.norm() / std::max(g_.norm(), std::numeric_limits<double>::min());
                d_.assign(g_);
                d_.scale(-scale);
                slope = g_.dot(d_);
                ls = opt_.line_search_settings.search(f, x, d_, loss_, slope, opt_.step_size, trial_, g_trial_);
                if (!ls.ok())
                    return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                                   name() + ": " + ls.reason + ", along the block step and along −g");
            }
            alpha = ls.step;
            x.assign(trial_);
        } else {
            x.axpy(alpha, d_);
        }
        return evaluate(f, x, alpha * d_.norm(), alpha, false);
    }

protected:
    explicit block_newton_base(const options& o) : opt_(o) {
        if (!(o.step_size > 0.0)) throw error("gateaux::block_newton: the step size must be > 0");
    }
    // Loss, gradient and the per-layer Newton step at x.
    virtual double compute(objective& f, const param_set& x, param_set& g, param_set& s) = 0;

private:
    // The new point's loss, gradient and next step. If the inverse fails there, the point itself
    // is still reported as reached (its loss and gradient are valid, and may already meet the
    // stopping rule); the failure ends the run at the next step(). At the starting point it ends
    // the run at once.
    step_outcome evaluate(objective& f, const param_set& x, double step_norm, double alpha, bool at_start) {
        pending_.clear();
        try {
            loss_ = compute(f, x, g_, s_);
        } catch (const rank_error& e) {
            pending_ = rank_advice(name().c_str(), e.what());
        } catch (const domain_error& e) {  // finite differences only: the inverse left its domain
            pending_ = name() + ": " + e.what() + "; try a smaller difference step r";
        }
        if (pending_.empty()) return outcome(step_outcome::status::ok, loss_, g_, step_norm, alpha);
        loss_ = f.value_and_gradient(x, g_);
        if (at_start) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        return outcome(step_outcome::status::ok, loss_, g_, step_norm, alpha);
    }

    options opt_;
    param_set g_, s_, d_, trial_, g_trial_;
    std::string pending_;  // a failure of the inverse at the current point
    double loss_ = 0.0;
    std::size_t flipped_ = 0, gradient_fallbacks_ = 0;
};

}  // namespace detail::newton

// Per-layer Newton through the analytic functional inverse: Δ = f.block_newton_step (exact
// H_l⁺·G_l per layer, all layers from one downward pass where the chain applies).
class block_newton final : public detail::newton::block_newton_base {
public:
    using options = block_newton_base::options;
    block_newton() : block_newton(options{}) {}
    explicit block_newton(const options& o) : block_newton_base(o) {}
    std::string name() const override { return "block-newton"; }

protected:
    double compute(objective& f, const param_set& x, param_set& g, param_set& s) override {
        return f.block_newton_step(x, g, s);
    }
};

// The same, with the step from central (or Richardson) differences of the inverse gradient map
// at G(1 ± r/2) (symbolic/inverse.hpp). MATH.md: for leaky ReLU there is no truncation error
// until r crosses a kink, only rounding ≈ eps/r·cond; r = 1e-4 is a sound default there.
class fd_block_newton final : public detail::newton::block_newton_base {
public:
    struct options : block_newton_base::options {
        double r = 1e-4;
        fd_scheme scheme = fd_scheme::central;
    };
    fd_block_newton() : fd_block_newton(options{}) {}
    explicit fd_block_newton(const options& o) : block_newton_base(o), r_(o.r), scheme_(o.scheme) {
        if (!(o.r > 0.0)) throw error("gateaux::fd_block_newton: the difference step r must be > 0");
    }
    std::string name() const override { return "fd-block-newton"; }

protected:
    double compute(objective& f, const param_set& x, param_set& g, param_set& s) override {
        return f.fd_block_newton_step(x, r_, scheme_, g, s);
    }

private:
    double r_;
    fd_scheme scheme_;
};

// The full Newton step from the explicit Hessian. H·d = −g by Cholesky; when H is not
// numerically positive definite the direction uses |H| = V·|Λ|·Vᵀ instead (absolute eigenvalues,
// floored at eigenvalue_floor·max|λ|): always a descent direction, equal to Newton's where H is
// positive definite, and it moves away from saddle points rather than towards them.
class naive_newton final : public optimizer {
public:
    struct options {
        std::size_t max_hessian_bytes = default_hessian_bytes;
        double eigenvalue_floor = 1e-10;  // relative to max|λ|, for the |H| fallback
        armijo_backtracking line_search_settings{};
    };
    naive_newton() : naive_newton(options{}) {}
    explicit naive_newton(const options& o) : opt_(o) {}
    std::string name() const override { return "newton"; }

    // Iterations that used |H| because H was not positive definite.
    std::size_t modified_steps() const { return modified_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        d_ = x.zeros_like();
        modified_ = 0;
        loss_ = f.value_and_gradient(x, g_);
        return detail::newton::outcome(step_outcome::status::ok, loss_, g_, 0.0, 0.0);
    }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        tensor h;
        std::string why;
        if (!explicit_hessian(f, x, opt_.max_hessian_bytes, h, why, "newton"))
            return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, why);
        flatten(g_, gv_);
        for (double& v : gv_) v = -v;
        if (!cholesky_solve(h, 0.0, gv_, dv_)) {
            ++modified_;
            const abs_eigen e = absolute_eigen(h, opt_.eigenvalue_floor);
            to_eigenbasis(e, gv_, cv_);
            for (std::size_t k = 0; k < cv_.size(); ++k) cv_[k] /= e.sigma(k);
            from_eigenbasis(e, cv_, dv_);
        }
        unflatten(dv_.data(), d_);
        const double slope = g_.dot(d_);
        // For positive definite H the model predicts −½·gᵀd; with |H| it is still a decrease estimate.
        const line_search_result ls =
            newton_line_search(f, x, d_, loss_, slope, -0.5 * slope, 1.0, opt_.line_search_settings, trial_, g_trial_);
        if (!ls.ok()) return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0, "newton: " + ls.reason);
        x.assign(trial_);
        g_.assign(g_trial_);
        loss_ = ls.loss;
        return outcome(step_outcome::status::ok, loss_, g_, ls.step * d_.norm(), ls.step);
    }

private:
    options opt_;
    param_set g_, d_, trial_, g_trial_;
    std::vector<double> gv_, dv_, cv_;
    double loss_ = 0.0;
    std::size_t modified_ = 0;
};

// Levenberg–Marquardt on the explicit Hessian: (H + λI)·d = −g, accepted when the ratio of the
// actual to the predicted reduction, ρ = (f(x) − f(x + d)) / −(gᵀd + ½dᵀH·d), exceeds
// accept_ratio. λ starts at initial_damping·max_i|H_ii| (Madsen–Nielsen's scale-free choice),
// shrinks ×decrease after an accepted step and grows ×ν after a rejected one, with ν = 2 doubling
// on consecutive rejections up to ×10. An H + λI that is not positive definite counts as a
// rejection without evaluating f. The predicted reduction is ½dᵀ(H + λI)d + ½λ‖d‖² > 0 whenever
// the Cholesky succeeds, so ρ is well defined. One iteration = one accepted step (one Hessian).
class damped_newton final : public optimizer {
public:
    struct options {
        double initial_damping = 1e-3;  // × max|H_ii| of the first Hessian
        double accept_ratio = 0.25;
        double decrease = 1.0 / 3.0;
        double max_increase = 10.0;
        std::size_t max_rejections = 60;  // per iteration
        std::size_t max_hessian_bytes = default_hessian_bytes;
    };
    damped_newton() : damped_newton(options{}) {}
    explicit damped_newton(const options& o) : opt_(o) {
        if (!(o.initial_damping > 0.0)) throw error("gateaux::damped_newton: the initial damping must be > 0");
    }
    std::string name() const override { return "levenberg-marquardt"; }

    double damping() const { return lambda_; }
    std::size_t rejections() const { return rejections_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        d_ = x.zeros_like();
        trial_ = x.zeros_like();
        lambda_ = -1.0;  // set from the first Hessian
        rejections_ = 0;
        loss_ = f.value_and_gradient(x, g_);
        return detail::newton::outcome(step_outcome::status::ok, loss_, g_, 0.0, 0.0);
    }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        tensor h;
        std::string why;
        if (!explicit_hessian(f, x, opt_.max_hessian_bytes, h, why, "levenberg-marquardt"))
            return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, why);
        double scale = 0.0;
        for (std::size_t i = 0; i < h.shape(0); ++i) scale = std::max(scale, std::abs(h(i, i)));
        scale = std::max(scale, std::numeric_limits<double>::min());
        if (lambda_ < 0.0) lambda_ = opt_.initial_damping * scale;
        flatten(g_, gv_);
        for (double& v : gv_) v = -v;
        double nu = 2.0;
        for (std::size_t attempt = 0; attempt <= opt_.max_rejections; ++attempt) {
            bool accepted = false;
            double f1 = loss_;
            if (cholesky_solve(h, lambda_, gv_, dv_)) {
                unflatten(dv_.data(), d_);
                const double predicted = -(g_.dot(d_) + half_quadratic(h, dv_));
                trial_.assign(x);
                trial_.axpy(1.0, d_);
                f1 = f.value(trial_);
                accepted = reduction_ratio(loss_, f1, predicted) > opt_.accept_ratio;
            }
            if (accepted) {
                lambda_ *= opt_.decrease;
                x.assign(trial_);
                loss_ = f.value_and_gradient(x, g_);
                return outcome(step_outcome::status::ok, loss_, g_, d_.norm(), lambda_);
            }
            ++rejections_;
            lambda_ = std::max(lambda_ * nu, 1e-12 * scale);
            nu = std::min(2.0 * nu, opt_.max_increase);
        }
        return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, lambda_,
                       "levenberg-marquardt: no acceptable step after " + std::to_string(opt_.max_rejections) +
                           " increases of the damping (λ = " + number_string(lambda_) + ")");
    }

private:
    options opt_;
    param_set g_, d_, trial_;
    std::vector<double> gv_, dv_;
    double loss_ = 0.0, lambda_ = -1.0;
    std::size_t rejections_ = 0;
};

}  // namespace gateaux
