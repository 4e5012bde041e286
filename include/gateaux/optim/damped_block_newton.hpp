#pragma once
// Damped per-layer Newton (Levenberg–Marquardt on the exact layer blocks):
//
//   Δ_l = −(H_l + D_l + λI)⁻¹·G_l    for every layer l (a weight with its bias),
//
// H_l the layer's diagonal block of the Hessian on the curvature rows (the batch, or its
// curvature sample: data_batches), D_l the loss's own l2 penalty on it, G_l the gradient of the
// current batch; from f.damped_block_newton_step (one pass for loss, gradient and all blocks)
// or, with a curvature sample, f.value_and_gradient and f.damped_block_inverse. The blocks are
// exact at any batch, width and activation (the block solve, docs/theory.md §4).
//
//   λ          from ρ = (f(x) − f(x + Δ)) / predicted, the predicted decrease of the per-layer
//              quadratic models, −(gᵀΔ + ½Σ_l Δ_lᵀ(H_l + D_l)Δ_l). Because (H_l + D_l + λI)Δ_l = −G_l,
//              Δ_lᵀ(H_l + D_l)Δ_l = −G_lᵀΔ_l − λ‖Δ_l‖², so predicted = ½(−gᵀΔ + λ‖Δ‖²): no
//              products beyond the step itself. ρ < ¼ → λ × damping_increase, ρ > ¾ → λ ×
//              damping_decrease, within [min_damping, max_damping].
//   rejection  a step with ρ < accept_ratio is not taken: λ is raised and the step solved again
//              at the same point, batch and curvature rows, from the gradient already there (one
//              damped solve per retry); after max_rejections the run ends (line_search_failed).
//              With line_search, Armijo backtracking along the rejected Δ is tried first.
//   batches    on minibatches loss, gradient and step are evaluated again on each new batch
//              (batch_changed), so ρ compares losses of one batch; a new batch comes with its own
//              curvature sample. At full batch a curvature sample is drawn afresh per iteration.
//   rescaling  (option rescale) the blocks are solved each as if the others stood still; where
//              two layers' steps correct the same residual their sum overshoots, and ρ settles
//              near ½ with λ stuck. As in K-FAC (Martens & Grosse 2015, §6.4), the step is then
//              δ = α·Δ + μ·δ_prev with α, μ minimising the damped quadratic model with the whole
//              curvature C (Gauss–Newton by default: two products C·Δ, C·δ_prev per solve), and ρ
//              is taken against that model, −(gᵀδ + ½δᵀCδ). μ = 0 without momentum.
//
// Where H_l ⪰ 0 (piecewise-linear activations under the squared error, where H_l is the
// Gauss–Newton block) every Δ is a descent direction; with smooth activations H_l can be
// indefinite, and a λ too small for it gives a step the ratio rejects (predicted ≤ 0 or ρ < 0),
// which raises λ until H_l + λI is positive definite. A damped block that is singular (an
// eigenvalue −λ) is a rank_error of the solve; λ is raised and the solve repeated.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "capabilities.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"

namespace gateaux {

class damped_block_newton final : public detail::optimizer_with_point {
public:
    using needs = capability_list<block_solver>;
    struct options {
        double initial_damping = 1e-3;  // λ₀, in the units of H (for a mean(...) loss, of one row's curvature)
        double damping_increase = 2.0;  // ρ < ¼, and each rejection
        double damping_decrease = 0.5;  // ρ > ¾
        double min_damping = 1e-12;     // > 0: an undamped block can be singular
        double max_damping = 1e12;
        double accept_ratio = 1e-4;     // a step with ρ below it is rejected
        std::size_t max_rejections = 30;  // in one iteration
        bool line_search = false;        // Armijo along a rejected step before raising λ further
        armijo_backtracking line_search_settings{1e-4, 0.5, 12};
        bool rescale = false;            // δ = α·Δ (+ μ·δ_prev) from the whole curvature's model
        bool momentum = true;            // with rescale: the μ·δ_prev term
        curvature_matrix rescale_curvature = curvature_matrix::gauss_newton;
    };

    // What the last evaluated step's model said (the last trial of the last iteration).
    struct model {
        double damping = 0.0;    // λ the step was solved with
        double predicted = 0.0;  // ½(−gᵀΔ + λ‖Δ‖²), or with rescale −(gᵀδ + ½δᵀCδ)
        double actual = 0.0;     // f(x) − f(x + δ) on the batch
        double ratio = 0.0;      // ρ
        double scale = 1.0, momentum = 0.0;  // α, μ: δ = α·Δ + μ·δ_prev (1, 0 without rescale)

        void state(state_archive& a) {
            a("damping", damping), a("predicted", predicted), a("actual", actual), a("ratio", ratio);
            a("scale", scale), a("momentum", momentum);
        }
    };

    damped_block_newton() : damped_block_newton(options{}) {}
    explicit damped_block_newton(const options& o)
        : opt_(o), damping_{o.damping_increase, o.damping_decrease, o.damping_increase, o.min_damping, o.max_damping} {
        if (!(o.initial_damping > 0.0 && std::isfinite(o.initial_damping) && o.min_damping > 0.0 && o.min_damping <= o.max_damping))
            throw error("gateaux::damped_block_newton: the damping bounds must satisfy 0 < min_damping ≤ max_damping, λ₀ > 0 "
                        "and finite; got initial_damping = " + number_string(o.initial_damping) + ", min_damping = " +
                        number_string(o.min_damping) + ", max_damping = " + number_string(o.max_damping));
        if (!(o.damping_increase > 1.0 && o.damping_decrease > 0.0 && o.damping_decrease < 1.0))
            throw error("gateaux::damped_block_newton: damping_increase must be > 1 and damping_decrease in (0, 1), got "
                        "damping_increase = " + number_string(o.damping_increase) + ", damping_decrease = " +
                        number_string(o.damping_decrease));
        if (!(o.accept_ratio >= 0.0 && o.accept_ratio < 0.25))
            throw error("gateaux::damped_block_newton: accept_ratio must be in [0, ¼), got " + number_string(o.accept_ratio));
        o.line_search_settings.check();
    }
    std::string name() const override { return opt_.rescale ? "damped-block-newton-rescaled" : "damped-block-newton"; }

    double damping() const { return lambda_; }
    const model& last_model() const { return model_; }
    std::size_t rejected_steps() const { return rejected_; }      // over the run
    std::size_t line_search_steps() const { return searched_; }   // steps accepted after backtracking
    std::size_t singular_solves() const { return singular_; }     // rank_errors that raised λ

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        step_ = x.zeros_like();
        dir_ = x.zeros_like();
        prev_ = x.zeros_like();
        lambda_ = damping_.clamp(opt_.initial_damping);
        rejected_ = searched_ = singular_ = 0;
        model_ = {};
        std::string why = detail::missing(f, needs{});
        if (why.empty() && opt_.rescale) {
            product_ = curvature_operator::find(f, opt_.rescale_curvature);
            if (!product_) why = product_.lacking();
        }
        if (!why.empty()) return detail::newton::start_outcome(name(), why, f.value_and_gradient(x, g_), g_);
        evaluate(f, x, false);
        return detail::newton::evaluated_start(f, x, pending_, loss_, g_);
    }

    // A new minibatch: loss, gradient and step on it, at the damping reached so far.
    void batch_changed(objective& f, const param_set& x) override { evaluate(f, x, false); }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        block_solver* const solver = capability<block_solver>(f);
        if (solver == nullptr) pending_ = name() + ": " + detail::lacking<block_solver>();
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        const bool batched = detail::minibatched(f);
        if (opt_.rescale) {
            product_ = curvature_operator::find(f, opt_.rescale_curvature);  // of this f, which start() checked
            if (!product_) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, name() + ": " + product_.lacking());
            if (opt_.momentum && prev_.max_abs() > 0.0) product_(x, prev_, c_prev_);  // the same x and rows for every retry
        }
        for (std::size_t rejections = 0;; ++rejections) {
            // A step that is not a descent direction of a convex model (H_l + λI not positive
            // definite on it) is not tried: it counts as ρ = −∞.
            const bool usable = direction(x);
            const double gd = g_.dot(dir_), dd = dir_.dot(dir_);
            double f1 = std::numeric_limits<double>::quiet_NaN();
            if (usable) {
                f1 = trial(f, x, 1.0, batched);
                model_.actual = loss_ - f1;
                model_.ratio = reduction_ratio(loss_, f1, model_.predicted);
            }
            lambda_ = damping_.after(lambda_, model_.ratio);
            double alpha = 1.0;
            bool accepted = usable && model_.ratio >= opt_.accept_ratio;
            if (!accepted && usable && opt_.line_search) {
                const armijo_backtracking& ls = opt_.line_search_settings;
                alpha = ls.shrink;
                for (std::size_t k = 0; k < ls.max_trials && !accepted; ++k, alpha *= ls.shrink) {
                    f1 = trial(f, x, alpha, batched);
                    accepted = std::isfinite(f1) && f1 <= loss_ + ls.c1 * alpha * gd;
                }
                if (accepted) alpha /= ls.shrink, ++searched_;
            }
            if (accepted) {
                const double norm = alpha * std::sqrt(dd);
                prev_.assign(dir_);
                prev_.scale(alpha);
                x.assign(trial_);
                if (batched) {
                    // The next step belongs to the next batch (batch_changed); report this one's.
                    loss_ = f1;
                    std::swap(g_, g_trial_);
                    return outcome(step_outcome::status::ok, loss_, g_, norm, alpha);
                }
                evaluate(f, x, true);
                if (!pending_.empty()) loss_ = f.value_and_gradient(x, g_);  // reported; the failure ends the next step
                return outcome(step_outcome::status::ok, loss_, g_, norm, alpha);
            }
            ++rejected_;
            if (rejections + 1 >= opt_.max_rejections || lambda_ >= opt_.max_damping)
                return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                               name() + ": no step with ρ ≥ " + number_string(opt_.accept_ratio) + " after " +
                                   std::to_string(rejections + 1) + " increases of the damping (λ = " + number_string(lambda_) +
                                   ", last ρ = " + number_string(model_.ratio) + ")");
            // The same point, batch, gradient and curvature rows: only the damped solve again.
            solve(f, *solver, x, false);
            if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        }
    }

    // λ; Δ at the current point (at full batch the previous step solved it on the curvature rows
    // drawn then) and δ_prev, which the rescaled step combines with it; a failure at the current
    // point that ends the run at the next step; the last model and the counts.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("damping", lambda_), a("block_step", step_), a("previous_step", prev_), a("pending", pending_);
        a.nest("last_model", model_);
        a("rejected_steps", rejected_), a("line_search_steps", searched_), a("singular_solves", singular_);
    }

private:
    // The direction dir_ from step_ = Δ and the model's predicted decrease; false where the model
    // is not convex along it (then it is not tried).
    bool direction(const param_set& x) {
        model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, 0.0};
        if (!step_.finite()) return false;
        if (!opt_.rescale) {
            dir_.assign(step_);
            const double gd = g_.dot(step_);
            model_.predicted = 0.5 * (-gd + lambda_ * step_.dot(step_));
            return gd < 0.0 && model_.predicted > 0.0;
        }
        // min over (α, μ) of gᵀδ + ½δᵀ(C + λI)δ, δ = α·Δ + μ·δ_prev: a 2×2 system (1×1 without δ_prev).
        product_(x, step_, c_step_);
        const bool two = opt_.momentum && prev_.max_abs() > 0.0;
        const detail::newton::rescaled_step r = detail::newton::rescale_step(g_, step_, c_step_, prev_, c_prev_, two, lambda_);
        if (!r.usable) return false;
        const double alpha = r.alpha, mu = r.mu;
        dir_.assign(step_);
        dir_.scale(alpha);
        if (two) dir_.axpy(mu, prev_);
        const double gd = g_.dot(dir_);
        model_.predicted = -(gd + 0.5 * r.quad);
        model_.scale = alpha, model_.momentum = mu;
        return gd < 0.0 && model_.predicted > 0.0;
    }

    // f at x + α·δ on the current batch, into trial_ (with its gradient in g_trial_ on minibatches,
    // where the accepted point's gradient is reported and no step follows on this batch).
    double trial(objective& f, const param_set& x, double alpha, bool batched) {
        if (!trial_.same_shape(x)) trial_ = x.zeros_like(), g_trial_ = x.zeros_like();
        trial_.assign(x);
        trial_.axpy(alpha, dir_);
        const double v = batched ? f.value_and_gradient(trial_, g_trial_) : f.value(trial_);
        return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
    }

    // Loss, gradient and step at x; a new curvature sample first where asked (full batch: one per
    // iteration; a new minibatch brought its own).
    void evaluate(objective& f, const param_set& x, bool resample) {
        pending_.clear();
        block_solver* const solver = capability<block_solver>(f);
        if (solver == nullptr) {
            pending_ = name() + ": " + detail::lacking<block_solver>();
            return;
        }
        if (resample)
            if (data_batches* d = capability<data_batches>(f)) d->resample_curvature();
        solve(f, *solver, x, true);
    }

    // step_ = −(H + λI)⁻¹·g at x, with loss_ and g_ first where with_gradient; a rank_error
    // (H_l + λI singular: H_l indefinite) raises λ and solves again.
    void solve(objective& f, block_solver& s, const param_set& x, bool with_gradient) {
        const data_batches* d = capability<data_batches>(f);
        const bool sampled = d != nullptr && d->curvature_rows() < d->batch_rows();
        for (std::size_t attempt = 0;; ++attempt) {
            try {
                if (with_gradient && !sampled) {
                    loss_ = s.damped_block_newton_step(x, lambda_, g_, step_);
                } else {
                    if (with_gradient) loss_ = f.value_and_gradient(x, g_);
                    s.damped_block_inverse(x, g_, lambda_, step_);
                }
                step_.scale(-1.0);
                return;
            } catch (const rank_error& e) {
                ++singular_;
                if (with_gradient && !sampled) loss_ = f.value_and_gradient(x, g_);
                with_gradient = false;
                if (attempt + 1 >= opt_.max_rejections || lambda_ >= opt_.max_damping) {
                    pending_ = name() + ": the damped blocks stay singular up to λ = " + number_string(lambda_) + ": " + e.what();
                    return;
                }
                lambda_ = damping_.after_rejection(lambda_);
            } catch (const size_error& e) {
                pending_ = name() + ": " + e.what() + "; a curvature sample (use_curvature_sample) below the layer widths takes "
                                                      "the reduced system instead";
                return;
            }
        }
    }

    options opt_;
    detail::newton::lm_damping damping_;  // the adaptation of λ, from opt_ (a rejection raises it as ρ < ¼ does)
    curvature_operator product_;  // C·v for rescale
    param_set step_, dir_, prev_, c_step_, c_prev_, trial_, g_trial_;  // Δ at the current point and λ; δ; δ_prev
    double lambda_ = 0.0;
    model model_;
    std::string pending_;  // a failure at the current point: ends the run at the next step
    std::size_t rejected_ = 0, searched_ = 0, singular_ = 0;
};
using damped_block_newton_options = damped_block_newton::options;

}  // namespace gateaux
