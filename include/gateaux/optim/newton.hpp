#pragma once
// Newton's method on the explicit Hessian, for small problems (n² doubles, refused above
// max_hessian_bytes with the memory it would need):
//
//   naive_newton     the full Newton step: H·d = −g by Cholesky, |H| (absolute eigenvalues) when H
//                    is not positive definite, Armijo line search.
//   damped_newton    Levenberg–Marquardt: (H + λI)·d = −g, accepted by the ratio of actual to
//                    predicted reduction, λ adapted.
//
// Both need the hessian_matrix capability (optim/capabilities.hpp). Per-layer Newton through the
// functional inverse is in block_newton.hpp. Failures are statuses, not exceptions: an objective
// without the explicit Hessian, or a Hessian over the memory limit (size_error), ends the run with
// step_outcome::status::not_applicable and the reason; an exhausted search with line_search_failed.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "newton_common.hpp"

namespace gateaux {

// The full Newton step from the explicit Hessian. H·d = −g by Cholesky; when H is not
// numerically positive definite the direction uses |H| = V·|Λ|·Vᵀ instead (absolute eigenvalues,
// floored at eigenvalue_floor·max|λ|): always a descent direction, equal to Newton's where H is
// positive definite, and it moves away from saddle points rather than towards them.
class naive_newton final : public detail::optimizer_with_point {
public:
    struct options {
        std::size_t max_hessian_bytes = default_hessian_bytes;
        double eigenvalue_floor = 1e-10;  // relative to max|λ|, for the |H| fallback
        armijo_backtracking line_search_settings{};
    };
    using needs = capability_list<hessian_matrix>;
    naive_newton() : naive_newton(options{}) {}
    explicit naive_newton(const options& o) : opt_(o) { o.line_search_settings.check(); }
    std::string name() const override { return "newton"; }

    // Iterations that used |H| because H was not positive definite.
    std::size_t modified_steps() const { return modified_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        d_ = x.zeros_like();
        modified_ = 0;
        loss_ = f.value_and_gradient(x, g_);
        return detail::newton::start_outcome(name(), detail::missing(f, needs{}), loss_, g_);
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

    // Each step solves afresh from the Hessian at x: beyond the point, only the count.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("modified_steps", modified_);
    }

private:
    options opt_;
    param_set d_, trial_, g_trial_;
    std::vector<double> gv_, dv_, cv_;
    std::size_t modified_ = 0;
};
using naive_newton_options = naive_newton::options;

// Levenberg–Marquardt on the explicit Hessian: (H + λI)·d = −g, accepted when the ratio of the
// actual to the predicted reduction, ρ = (f(x) − f(x + d)) / −(gᵀd + ½dᵀH·d), exceeds
// accept_ratio. λ starts at initial_damping·max_i|H_ii| (Madsen–Nielsen's scale-free choice),
// shrinks ×decrease after an accepted step and grows ×ν after a rejected one, with ν = 2 doubling
// on consecutive rejections up to ×10. An H + λI that is not positive definite counts as a
// rejection without evaluating f. The predicted reduction is ½dᵀ(H + λI)d + ½λ‖d‖² > 0 whenever
// the Cholesky succeeds, so ρ is well defined. One iteration = one accepted step (one Hessian).
class damped_newton final : public detail::optimizer_with_point {
public:
    struct options {
        double initial_damping = 1e-3;  // × max|H_ii| of the first Hessian
        double accept_ratio = 0.25;
        double decrease = 1.0 / 3.0;
        double max_increase = 10.0;
        std::size_t max_rejections = 60;  // per iteration
        std::size_t max_hessian_bytes = default_hessian_bytes;
    };
    using needs = capability_list<hessian_matrix>;
    damped_newton() : damped_newton(options{}) {}
    explicit damped_newton(const options& o) : opt_(o) {
        if (!(o.initial_damping > 0.0 && std::isfinite(o.initial_damping)))
            throw error("gateaux::damped_newton: the initial damping must be > 0 and finite, got initial_damping = " +
                        number_string(o.initial_damping));
        if (!(o.decrease > 0.0 && o.decrease < 1.0))
            throw error("gateaux::damped_newton: options::decrease must be in (0, 1), got " + number_string(o.decrease));
        if (!(o.max_increase > 1.0 && std::isfinite(o.max_increase)))
            throw error("gateaux::damped_newton: options::max_increase must be > 1 and finite, got " + number_string(o.max_increase));
        if (!(o.accept_ratio >= 0.0 && o.accept_ratio < 1.0))
            throw error("gateaux::damped_newton: options::accept_ratio must be in [0, 1), got " + number_string(o.accept_ratio));
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
        return detail::newton::start_outcome(name(), detail::missing(f, needs{}), loss_, g_);
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
                const double predicted = -(g_.dot(d_) + half_quadratic(h, dv_, hv_));
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

    // λ (negative until the first Hessian has set it) and the count.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("damping", lambda_), a("rejections", rejections_);
    }

private:
    options opt_;
    param_set d_, trial_;
    std::vector<double> gv_, dv_, hv_;
    double lambda_ = -1.0;
    std::size_t rejections_ = 0;
};
using damped_newton_options = damped_newton::options;

}  // namespace gateaux
