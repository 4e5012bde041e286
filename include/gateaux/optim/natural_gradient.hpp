#pragma once
// Natural gradient by the low-rank route: (C + λI)⁻¹·g exactly by Woodbury through the N×N Gram
// matrix of C = J̃ᵀJ̃ (optim/low_rank_curvature.hpp; the exact Gauss–Newton factor at any depth:
// optim/gauss_newton_factors.hpp).
//
// An l2 penalty of the loss is not part of C (the statistics do not see it): its Hessian is a
// multiple of I, so a penalty c_p·½‖θ‖² is taken into account by adding c_p to λ.
//
//   low_rank_curvature         the factor from one statistics result; gram, times, transpose_times,
//                              solve (the Woodbury direction)
//   gauss_newton_factors       the exact Gauss–Newton factor of a graph at any depth (k backward
//                              passes, k the output width), for natural_gradient's options::factor
//   natural_gradient_direction (C(x) + λI)⁻¹·g for an objective at x (one statistics pass)
//   natural_gradient           the optimizer: x ← x + Δ, Δ = −(C + λI)⁻¹·∇L
//
// The optimizer. Each iteration: one statistics pass at x (loss, gradient and the factor; with a
// curvature sample, value_and_gradient too), the Gram matrix, then per trial one Cholesky of
// λI + J̃J̃ᵀ and one loss evaluation. The model's predicted decrease is the undamped quadratic
// model's, −(gᵀΔ + ½‖J̃Δ‖²) (no curvature products). With adapt_damping (the default) λ follows
// the reduction ratio ρ as in damped_block_newton and kfac: ρ < ¼ → λ × damping_increase,
// ρ > ¾ → λ × damping_decrease, within [min_damping, max_damping]; a step with ρ < accept_ratio
// (with the default 0, one that raises the loss beyond the resolution of f) is not taken, λ is
// multiplied by rejection_increase and the direction solved again from the same Gram matrix and
// gradient; after max_rejections the run ends (line_search_failed). With line_search, the step
// length along Δ is chosen by Armijo backtracking from 1 (optim/line_search.hpp) and ρ is that of
// the step taken; with a fixed λ (adapt_damping off) a rejected step or failed search ends the
// run. On minibatches the accepted point's loss and gradient are the trial's, and the next
// statistics pass is on the next batch (batch_changed). With options::factor the factor comes from
// the caller (gauss_newton_factors: k forward and backward passes on the rows it is bound to) and
// loss and gradient from value_and_gradient.
//
// Cost per iteration (B curvature rows, N = B, or B·k for exact; layer l with n_l inputs and m_l
// outputs): the Gram matrix Σ_l N²·(n_l + m_l) flops (two GEMMs per layer), its Cholesky N³/3 per
// trial, J̃·g and J̃ᵀ·z 2·N·Σ_l n_l·m_l each, one statistics pass (a forward and a backward pass;
// for sampled, the draw and one more backward pass) and one loss evaluation per trial. Memory: the
// statistics (N·(n_l + m_l) per layer) and two N×N matrices, nothing of size P².
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../ops/squared_error.hpp"
#include "../ops/sum.hpp"
#include "../symbolic/fisher.hpp"
#include "../symbolic/layer_statistics.hpp"
#include "capabilities.hpp"
#include "graph_capabilities.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"
#include "gauss_newton_factors.hpp"
#include "low_rank_curvature.hpp"
#include "param_set.hpp"

namespace gateaux {

namespace detail {
inline layer_statistics::request natural_gradient_request(natural_gradient_estimate e) {
    return {.sampled_deltas = e == natural_gradient_estimate::sampled, .output_factors = e == natural_gradient_estimate::exact};
}
}  // namespace detail

// out = (C(x) + λI)⁻¹·g with C the curvature of estimate e on f's curvature rows at x (one
// statistics pass). Throws error naming what is wrong (λ not finite and > 0, f without
// layer_statistics, exact where it is not available, g not shaped like f's parameters); out is
// then unchanged.
inline void natural_gradient_direction(objective& f, const param_set& x, const param_set& g, double lambda,
                                       natural_gradient_estimate e, param_set& out) {
    detail::check_natural_gradient_damping("gateaux::natural_gradient_direction", lambda);
    layer_statistics* const ls = capability<layer_statistics>(f);
    if (ls == nullptr) throw error("gateaux::natural_gradient_direction: " + detail::lacking<layer_statistics>());
    if (!g.same_shape(f.parameters_like()))
        throw shape_error("gateaux::natural_gradient_direction: g is not shaped like the objective's parameters");
    layer_statistics::result st;
    ls->statistics(x, detail::natural_gradient_request(e), st);
    const low_rank_curvature c = low_rank_curvature::from_statistics(st, e);
    param_set d;
    c.solve(g, lambda, d);
    out = std::move(d);
}

class natural_gradient final : public detail::optimizer_with_point {
public:
    using needs = capability_list<layer_statistics>;
    struct options {
        natural_gradient_estimate estimate = natural_gradient_estimate::sampled;
        double initial_damping = 1.0;  // λ₀, in the units of the curvature (for a mean(...) loss, of one row's)
        bool adapt_damping = true;     // λ from the reduction ratio; off: λ stays initial_damping
        double damping_increase = 1.5;  // ρ < ¼
        double rejection_increase = 10.0;  // each rejected step
        double damping_decrease = 2.0 / 3.0;  // ρ > ¾
        double min_damping = 1e-8;
        double max_damping = 1e10;
        double accept_ratio = 0.0;        // a step with ρ below it is rejected (0: any decrease beyond rounding)
        std::size_t max_rejections = 30;  // in one iteration
        bool line_search = false;         // Armijo backtracking along Δ from α = 1
        armijo_backtracking search{};
        // Where set, the factor at x comes from here instead of the layer statistics (estimate is
        // then not used, and loss and gradient come from value_and_gradient): e.g. the exact
        // Gauss–Newton factor of a network of any depth, [&](const param_set& x) { return
        // gn.compute(x); } with gn a gauss_newton_factors bound to the objective's rows.
        std::function<low_rank_curvature(const param_set&)> factor{};
    };
    struct model {
        double damping = 0.0, predicted = 0.0, actual = 0.0, ratio = 0.0, step = 1.0;
        std::size_t rows = 0;  // N, the order of the Gram matrix
    };

    natural_gradient() : natural_gradient(options{}) {}
    explicit natural_gradient(const options& o)
        : opt_(o), damping_{o.damping_increase, o.damping_decrease, o.rejection_increase, o.min_damping, o.max_damping} {
        const char* who = "gateaux::natural_gradient";
        if (!(o.initial_damping > 0.0) || !std::isfinite(o.initial_damping))
            throw error(std::string(who) + ": options::initial_damping (λ) must be a finite number > 0, not " +
                        number_string(o.initial_damping));
        if (!(o.min_damping > 0.0 && o.min_damping <= o.max_damping) || !std::isfinite(o.max_damping))
            throw error(std::string(who) + ": options::min_damping and max_damping must satisfy 0 < min_damping ≤ max_damping < ∞, got " +
                        number_string(o.min_damping) + " and " + number_string(o.max_damping));
        damping_.check(who);
        detail::newton::check_rejections(who, o.accept_ratio, o.max_rejections);
    }
    std::string name() const override {
        return std::string("natural-gradient-") + (opt_.factor ? "given" : to_string(opt_.estimate));
    }

    double damping() const { return lambda_; }
    const model& last_model() const { return model_; }
    std::size_t rejected_steps() const { return rejected_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like(), step_ = x.zeros_like();
        lambda_ = opt_.adapt_damping ? damping_.clamp(opt_.initial_damping) : opt_.initial_damping;
        rejected_ = 0;
        model_ = {};
        const std::string why = opt_.factor ? std::string() : detail::missing(f, needs{});
        if (!why.empty()) return detail::newton::start_outcome(name(), why, f.value_and_gradient(x, g_), g_);
        evaluate(f, x, false);
        return detail::newton::evaluated_start(f, x, pending_, loss_, g_);
    }

    void batch_changed(objective& f, const param_set& x) override { evaluate(f, x, false); }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        const bool batched = detail::minibatched(f);
        for (std::size_t rejections = 0;; ++rejections) {
            model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, curvature_.rows()};
            bool usable = true;
            double slope = 0.0, quad = 0.0;
            try {
                curvature_.solve(gram_, g_, lambda_, step_);
                step_.scale(-1.0);
                usable = step_.finite();
                if (usable) {
                    curvature_.times(step_, jd_);
                    slope = g_.dot(step_);
                    quad = detail::newton::dot(jd_, jd_);
                    usable = slope < 0.0;
                }
            } catch (const rank_error&) {
                usable = false;
            }
            double f1 = std::numeric_limits<double>::quiet_NaN(), alpha = 1.0;
            bool searched = false;
            if (usable) {
                model_.predicted = -(slope + 0.5 * quad);
                if (opt_.line_search) {
                    const line_search_result r =
                        newton_line_search(f, x, step_, loss_, slope, model_.predicted, 1.0, opt_.search, trial_, g_trial_);
                    searched = true;
                    if (r.status == line_search_status::ok) {
                        alpha = r.step;
                        f1 = r.loss;
                        model_.predicted = -(alpha * slope + 0.5 * alpha * alpha * quad);
                    } else {
                        f1 = std::numeric_limits<double>::infinity();
                    }
                } else {
                    f1 = trial(f, x, batched);
                }
                model_.step = alpha;
                model_.actual = loss_ - f1;
                model_.ratio = reduction_ratio(loss_, f1, model_.predicted);
            }
            const bool accepted = usable && std::isfinite(f1) && (searched || model_.ratio >= opt_.accept_ratio);
            if (opt_.adapt_damping) lambda_ = accepted ? damping_.after(lambda_, model_.ratio) : damping_.after_rejection(lambda_);
            if (accepted) {
                const double norm = alpha * step_.norm();
                x.assign(trial_);
                if (batched) {
                    loss_ = f1;
                    std::swap(g_, g_trial_);
                    return outcome(step_outcome::status::ok, loss_, g_, norm, alpha);
                }
                evaluate(f, x, true);
                if (!pending_.empty()) loss_ = f.value_and_gradient(x, g_);
                return outcome(step_outcome::status::ok, loss_, g_, norm, alpha);
            }
            ++rejected_;
            if (!opt_.adapt_damping || rejections + 1 >= opt_.max_rejections || lambda_ >= opt_.max_damping)
                return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                               name() + ": no acceptable step after " + std::to_string(rejections + 1) + " solve" +
                                   (rejections == 0 ? "" : "s") + " (λ = " + number_string(lambda_) +
                                   ", last ρ = " + number_string(model_.ratio) + (opt_.adapt_damping ? ")" : "; λ is fixed)"));
        }
    }

    // The factor and its Gram matrix from the last evaluation (on a full batch the next step
    // solves with them, and they were taken on a curvature sample and draw that a resumed start()
    // cannot repeat), λ, and the failure an evaluation left for the next step; the last model
    // only for last_model(), since each step builds its own.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("curvature", curvature_), a("gram", gram_);
        a("lambda", lambda_), a("rejected", rejected_), a("pending", pending_);
        a("model/damping", model_.damping), a("model/predicted", model_.predicted), a("model/actual", model_.actual);
        a("model/ratio", model_.ratio), a("model/step", model_.step), a("model/rows", model_.rows);
    }

private:
    double trial(objective& f, const param_set& x, bool batched) {
        if (!trial_.same_shape(x)) trial_ = x.zeros_like(), g_trial_ = x.zeros_like();
        trial_.assign(x);
        trial_.axpy(1.0, step_);
        const double v = batched ? f.value_and_gradient(trial_, g_trial_) : f.value(trial_);
        return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
    }

    // Loss, gradient, the factor and its Gram matrix at x (a new curvature sample first where asked).
    void evaluate(objective& f, const param_set& x, bool resample) {
        pending_.clear();
        if (opt_.factor) {
            try {
                curvature_ = opt_.factor(x);
                gram_ = curvature_.gram();
                curvature_.times(x, jd_);  // the factor's blocks against the parameters' shapes
            } catch (const error& e) {
                pending_ = name() + ": " + e.what();
                return;
            }
            loss_ = f.value_and_gradient(x, g_);
            return;
        }
        layer_statistics* const ls = capability<layer_statistics>(f);
        if (ls == nullptr) {
            pending_ = name() + ": " + detail::lacking<layer_statistics>();
            return;
        }
        data_batches* const d = capability<data_batches>(f);
        if (resample && d != nullptr) d->resample_curvature();
        const bool sampled_rows = d != nullptr && d->curvature_rows() < d->batch_rows();
        try {
            ls->statistics(x, detail::natural_gradient_request(opt_.estimate), stats_);
            curvature_ = low_rank_curvature::from_statistics(stats_, opt_.estimate);
            gram_ = curvature_.gram();
        } catch (const error& e) {
            pending_ = name() + ": " + e.what();
            return;
        }
        if (sampled_rows) {
            loss_ = f.value_and_gradient(x, g_);
        } else {
            loss_ = stats_.loss;
            g_.assign(stats_.gradient);
        }
    }

    options opt_;
    detail::newton::lm_damping damping_;  // the adaptation of λ, from opt_
    layer_statistics::result stats_;
    low_rank_curvature curvature_;
    tensor gram_;
    param_set step_, trial_, g_trial_;
    std::vector<double> jd_;
    double lambda_ = 0.0;
    model model_;
    std::string pending_;
    std::size_t rejected_ = 0;
};
using natural_gradient_options = natural_gradient::options;

}  // namespace gateaux
