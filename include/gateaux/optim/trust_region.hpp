#pragma once
// Trust-region Newton with |H| (Nocedal & Wright, Alg. 4.1, with the model Hessian made positive
// definite by absolute eigenvalues). For small problems: one explicit Hessian (the hessian_matrix
// capability) and one symmetric eigendecomposition per iteration.
//
//   model        m(p) = gᵀp + ½pᵀ|H|p,  |H| = V·max(|Λ|, floor)·Vᵀ
//   subproblem   min m(p) subject to ‖p‖ ≤ Δ, solved exactly in the eigenbasis: p(μ) = −(|Λ| + μI)⁻¹Vᵀg;
//                μ = 0 if ‖p(0)‖ ≤ Δ, otherwise the root of 1/‖p(μ)‖ = 1/Δ by Newton's method
//                (Moré–Sorensen; |H| is positive definite, so there is no hard case)
//   ratio        ρ = (f(x) − f(x + p)) / −m(p)
//   radius       ρ < ¼: Δ ← ¼·min(Δ, ‖p‖);  ρ > ¾ and ‖p‖ = Δ: Δ ← min(2Δ, Δ_max);  accept if ρ > η
//
// Shrinking from min(Δ, ‖p‖) rather than Δ (N&W shrink Δ) avoids re-trying the same interior
// Newton step when the radius is far larger than it. |H| instead of H: where H is indefinite the
// model is still bounded below and its minimiser moves away from saddles (the saddle-free idea);
// where H is positive definite the two coincide. One iteration = one accepted step; rejected
// trial steps are counted (rejections()) and cost one loss evaluation each.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "minimize.hpp"
#include "newton_common.hpp"

namespace gateaux {

class trust_region final : public detail::optimizer_with_point {
public:
    struct options {
        double initial_radius = 1.0;
        double max_radius = 1e10;
        double eta = 1e-4;                // accept when ρ > η (N&W: η ∈ [0, ¼))
        double eigenvalue_floor = 1e-10;  // |λ| floored at floor·max|λ|
        std::size_t max_rejections = 60;  // per iteration
        std::size_t max_hessian_bytes = default_hessian_bytes;
    };
    using needs = capability_list<hessian_matrix>;
    trust_region() : trust_region(options{}) {}
    explicit trust_region(const options& o) : opt_(o) {
        if (!(o.initial_radius > 0.0 && o.max_radius >= o.initial_radius))
            throw error("gateaux::trust_region: need 0 < initial_radius ≤ max_radius, got initial_radius = " +
                        number_string(o.initial_radius) + ", max_radius = " + number_string(o.max_radius));
        if (!(o.eta >= 0.0 && o.eta < 0.25)) throw error("gateaux::trust_region: η must lie in [0, ¼), got eta = " + number_string(o.eta));
    }
    std::string name() const override { return "trust-region"; }

    double radius() const { return radius_; }
    std::size_t rejections() const { return rejections_; }
    std::size_t indefinite_steps() const { return indefinite_; }  // iterations where H had λ < 0

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        d_ = x.zeros_like();
        trial_ = x.zeros_like();
        radius_ = opt_.initial_radius;
        rejections_ = indefinite_ = 0;
        loss_ = f.value_and_gradient(x, g_);
        return detail::newton::start_outcome(name(), detail::missing(f, needs{}), loss_, g_, radius_);
    }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        tensor h;
        std::string why;
        if (!explicit_hessian(f, x, opt_.max_hessian_bytes, h, why, "trust-region"))
            return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, radius_, why);
        const abs_eigen e = absolute_eigen(h, opt_.eigenvalue_floor);
        indefinite_ += e.flipped > 0;
        flatten(g_, gv_);
        to_eigenbasis(e, gv_, ghat_);
        const double xnorm = x.norm();
        for (std::size_t attempt = 0; attempt <= opt_.max_rejections; ++attempt) {
            const bool boundary = solve_subproblem(e);
            double pn = 0.0, model = 0.0;
            for (std::size_t k = 0; k < phat_.size(); ++k) {
                pn += phat_[k] * phat_[k];
                model += ghat_[k] * phat_[k] + 0.5 * e.sigma(k) * phat_[k] * phat_[k];
            }
            pn = std::sqrt(pn);
            from_eigenbasis(e, phat_, pv_);
            unflatten(pv_.data(), d_);
            trial_.assign(x);
            trial_.axpy(1.0, d_);
            const double f1 = f.value(trial_);
            const double rho = reduction_ratio(loss_, f1, -model);
            if (rho < 0.25)
                radius_ = 0.25 * std::min(radius_, pn);
            else if (rho > 0.75 && boundary)
                radius_ = std::min(2.0 * radius_, opt_.max_radius);
            if (rho > opt_.eta) {
                x.assign(trial_);
                loss_ = f.value_and_gradient(x, g_);
                return outcome(step_outcome::status::ok, loss_, g_, pn, radius_);
            }
            ++rejections_;
            if (radius_ <= 1e-15 * std::max(1.0, xnorm)) break;
        }
        return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, radius_,
                       "trust-region: no acceptable step; the radius shrank to " + number_string(radius_));
    }

    // The radius and the counts; the model is rebuilt from the Hessian at x in every step.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("radius", radius_), a("rejections", rejections_), a("indefinite_steps", indefinite_);
    }

private:
    // p̂ = −(σ + μ)⁻¹ ⊙ ĝ with ‖p̂‖ ≤ Δ; returns whether the step lies on the boundary.
    bool solve_subproblem(const detail::newton::abs_eigen& e) {
        const std::size_t n = ghat_.size();
        phat_.resize(n);
        auto norm_at = [&](double mu) {
            double s = 0.0;
            for (std::size_t k = 0; k < n; ++k) {
                phat_[k] = -ghat_[k] / (e.sigma(k) + mu);
                s += phat_[k] * phat_[k];
            }
            return std::sqrt(s);
        };
        double pn = norm_at(0.0);
        if (pn <= radius_) return false;
        // Newton on φ(μ) = 1/Δ − 1/‖p(μ)‖: concave and increasing, so from μ = 0 (φ < 0) the
        // iterates rise monotonically to the root without overshooting.
        double mu = 0.0;
        for (int it = 0; it < 100 && std::abs(pn - radius_) > 1e-12 * radius_; ++it) {
            double q = 0.0;  // ‖(σ + μ)^{-1/2} ⊙ p‖² = −½·d‖p‖²/dμ
            for (std::size_t k = 0; k < n; ++k) q += phat_[k] * phat_[k] / (e.sigma(k) + mu);
            mu += (pn - radius_) / radius_ * (pn * pn) / q;
            pn = norm_at(mu);
        }
        // Rounding may leave ‖p‖ a hair above Δ; the model value is unaffected.
        return true;
    }

    options opt_;
    param_set d_, trial_;
    std::vector<double> gv_, ghat_, phat_, pv_;
    double radius_ = 1.0;
    std::size_t rejections_ = 0, indefinite_ = 0;
};
using trust_region_options = trust_region::options;

}  // namespace gateaux
