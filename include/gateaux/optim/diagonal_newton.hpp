#pragma once
// Diagonal Newton: scale each coordinate of the gradient by its own curvature,
//     d_i = −g_i / max(|H_ii|, floor),   x ← x + α·d,
// with α from Armijo backtracking (optim/line_search.hpp) starting at α = 1. Needs the
// hessian_products capability (optim/capabilities.hpp).
//
//   H_ii      read off Hessian-vector products with the unit vectors (optim/curvature_diagonal.hpp):
//             exact, but n products per iteration (each about two gradients), the work of the
//             explicit Hessian without its n² memory. For small problems, like naive_newton;
//             refused above options::max_parameters.
//   |H_ii|    a negative entry (H indefinite) is used by its magnitude, so d is always a descent
//             direction (gᵀd = −Σ g_i²/|H_ii| < 0): the diagonal analogue of |H|.
//   floor     relative_floor·max_j |H_jj|, so that a coordinate with (almost) no curvature
//             takes a long but finite step, which the line search then shortens. If every H_ii
//             is zero the step is −g.
//
// On a separable function H is diagonal and this is Newton's method (one step on a separable
// quadratic). Otherwise it is Newton's method for the diagonal part of H, a Jacobi-like
// iteration with linear convergence; it ignores the coupling that Newton, BFGS and the per-layer
// inverse capture, and it shows how much that coupling matters.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "capabilities.hpp"
#include "curvature_diagonal.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"

namespace gateaux {

class diagonal_newton final : public detail::optimizer_with_point {
public:
    struct options {
        double relative_floor = 1e-8;       // |H_ii| floored at relative_floor·max_j |H_jj|
        std::size_t max_parameters = 4096;  // n H·v products per iteration: refuse larger problems
        armijo_backtracking line_search_settings{};
    };
    using needs = capability_list<hessian_products>;
    diagonal_newton() : diagonal_newton(options{}) {}
    explicit diagonal_newton(const options& o) : opt_(o) {
        if (!(o.relative_floor > 0.0 && o.relative_floor < 1.0))
            throw error("gateaux::diagonal_newton: the relative floor must be in (0, 1), got relative_floor = " +
                        number_string(o.relative_floor));
        o.line_search_settings.check();
    }
    std::string name() const override { return "diagonal-newton"; }

    // Over the whole run: diagonal entries that were negative (used as |H_ii|), and entries raised
    // to the floor.
    std::size_t negative_entries() const { return negative_; }
    std::size_t floored_entries() const { return floored_; }
    // The diagonal max(|H_ii|, floor) used by the last step, shaped like the parameters.
    const param_set& curvature() const { return h_; }

    step_outcome start(objective& f, param_set& x) override {
        using detail::newton::outcome;
        g_ = x.zeros_like();
        h_ = x.zeros_like();
        d_ = x.zeros_like();
        e_ = x.zeros_like();
        hv_ = x.zeros_like();
        negative_ = floored_ = 0;
        loss_ = f.value_and_gradient(x, g_);
        if (std::string why = detail::missing(f, needs{}); !why.empty())
            return detail::newton::start_outcome(name(), why, loss_, g_);
        if (x.count() > opt_.max_parameters)
            return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0,
                           "diagonal-newton: " + std::to_string(x.count()) + " parameters need as many Hessian-vector "
                           "products per iteration, above options::max_parameters = " + std::to_string(opt_.max_parameters) +
                           "; use lbfgs or hessian_free for large problems");
        return outcome(step_outcome::status::ok, loss_, g_, 0.0, 0.0);
    }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        hessian_products* const h = capability<hessian_products>(f);
        if (h == nullptr)  // an objective other than the one start() checked
            return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0,
                           name() + ": " + detail::lacking<hessian_products>());
        detail::unit_vector_diagonal([&](const param_set& v, param_set& hv) { h->hessian_vector(x, v, hv); }, e_, hv_, h_);
        const detail::positive_diagonal p = detail::make_positive(h_, opt_.relative_floor);
        negative_ += p.negative;
        floored_ += p.floored;
        for (std::size_t b = 0; b < h_.size(); ++b)
            for (std::size_t k = 0; k < h_[b].size(); ++k)
                d_[b].data()[k] = p.top > 0.0 ? -g_[b].data()[k] / h_[b].data()[k] : -g_[b].data()[k];
        const double slope = g_.dot(d_);
        // The diagonal model m(d) = gᵀd + ½Σ|H_ii|d_i² predicts a decrease of −½gᵀd.
        const line_search_result ls =
            newton_line_search(f, x, d_, loss_, slope, -0.5 * slope, 1.0, opt_.line_search_settings, trial_, g_trial_);
        if (!ls.ok())
            return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0, "diagonal-newton: " + ls.reason);
        x.assign(trial_);
        g_.assign(g_trial_);
        loss_ = ls.loss;
        return outcome(step_outcome::status::ok, loss_, g_, ls.step * d_.norm(), ls.step);
    }

    // The counts and the last step's diagonal (reported by curvature(); the next step reads it
    // only after computing its own).
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("curvature", h_), a("negative_entries", negative_), a("floored_entries", floored_);
    }

private:
    options opt_;
    param_set h_, d_, e_, hv_, trial_, g_trial_;
    std::size_t negative_ = 0, floored_ = 0;
};
using diagonal_newton_options = diagonal_newton::options;

}  // namespace gateaux
