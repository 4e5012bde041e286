#pragma once
// K-FAC, Kronecker-factored approximate curvature (Martens & Grosse 2015), as an optimizer (kfac)
// and as a preconditioner for Hessian-free CG (kfac_preconditioner), from the layer_statistics
// capability (optim/capabilities.hpp).
//
// The factors, their averages and the damped solve: optim/kronecker_factors.hpp.
//
// The optimizer. γ, the factored damping of the solve, is by default λ + weight_decay: it follows
// the adapted λ (η = weight_decay is an extra Tikhonov term; the factors do not contain an l2
// penalty of the loss). With adapt_gamma (which needs rescale) γ is adapted apart from λ, as the
// paper's §6.6: every gamma_interval iterations the direction is solved at γ·ω, γ and γ/ω
// (ω = gamma_factor, default (19/20)^20: the paper's √(19/20)^T₂ on its √-scaled γ, with T₂ = 20,
// squared since γ here is in the units of the curvature), each rescaled, and the one with the
// lowest damped model gᵀδ + ½δᵀ(C + (λ + η)I)δ is taken, with its γ, at two more solves and two
// more curvature products than a plain iteration; γ stays within [min_damping + η, max_damping + η].
// A rejected step leaves γ, and so Δ, as they are: the larger λ shortens the rescaled step α·Δ;
// only a direction that is no descent at all (or a singular damped factor) raises γ as λ.
// Each iteration: the statistics at x (loss, gradient and the factors' statistics; with a curvature
// sample the loss and gradient are the batch's, since the statistics' are the sample's: both
// come from the previous trial, see trial below), Δ = −(Ā⁻¹ ⊗ Ḡ⁻¹)·∇ per layer, then
//   rescaling  (option rescale, default on; the paper's §6.4 and §7) δ = α·Δ + μ·δ_prev with α, μ
//              minimising the exact damped model gᵀδ + ½δᵀ(C + λI)δ, C the whole curvature
//              (Gauss–Newton by default; C·Δ per trial and C·δ_prev once per iteration); without
//              momentum μ = 0 and only C·Δ. ρ is taken
//              against the undamped model, predicted = −(gᵀδ + ½δᵀCδ). Without rescale δ = Δ and
//              predicted is K-FAC's own damped model's, −½gᵀΔ (no products).
//   λ          ρ < ¼ → λ × damping_increase, ρ > ¾ → λ × damping_decrease, within [min_damping,
//              max_damping] (Levenberg–Marquardt, as damped_block_newton).
//   rejection  a step with ρ < accept_ratio (with the default 0: one that raises the loss beyond
//              the resolution of f, optim/newton_common.hpp) is not taken; λ is
//              multiplied by rejection_increase and Δ solved again from the same factors and
//              gradient (no new statistics); after max_rejections the run ends (line_search_failed).
//   batches    on minibatches the accepted point's loss and gradient are the trial's, and the next
//              statistics pass is on the next batch (batch_changed), so ρ compares one batch.
//   trial      a trial computes what the next iteration needs at an accepted point. On the full
//              batch without a curvature sample that is the statistics pass (the same pass in the
//              same order, a new draw of the sampled targets first), whose loss is the trial's;
//              with a curvature sample the statistics are not the batch's, and the trial is the
//              batch's loss and gradient, the sample's statistics following at the accepted point.
//              A rejected trial costs that pass (with estimate = exact, the output factors too),
//              and with sampled targets its draw; where the rescaling's curvature is the Fisher,
//              C·δ_prev is taken again after it, on the draw the next C·Δ uses.
//   inverse    (option inverse) eigen: every inverse_interval iterations the averages are
//              eigendecomposed, and each solve applies its own γ. cholesky (the paper's §8 and
//              kfac-jax's way): every inverse_interval iterations the damped factors are inverted
//              by Cholesky at the γ of that iteration's first solve, and the following iterations
//              use those inverses while λ moves; a rejected step, and γ's candidates with
//              adapt_gamma, invert again at their own γ (the averages of that iteration). With
//              inverse_interval = 1 the two give the same directions.
//
// Cost per iteration: one statistics pass (a forward and a backward pass, and for sampled targets
// the draw and the deltas under it) per trial on the full batch, kept as the next iteration's where
// accepted; with a curvature sample the sample's statistics pass and per trial the batch's loss
// and gradient; on minibatches the statistics pass and per trial a loss and gradient; two curvature products with rescale
// and momentum (one without momentum, none without rescale; one more per rejected trial); per
// layer two GEMMs for the factors and, for the direction, four small GEMMs (n+1)²·m + (n+1)·m²
// (eigen) or two (cholesky); and every inverse_interval iterations an eigendecomposition
// per factor, O((n+1)³ + m³), or a Cholesky inverse, about a ninth of it. Memory: per layer A, G
// and either U_A, U_G or Ā⁻¹, Ḡ⁻¹: 2·((n+1)² + m²); two sets of statistics (x's and the trial's):
// per layer B·(n + m) doubles each, 2·B·m with sampled targets, plus B·m_out² output factors
// with estimate = exact.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/errors.hpp"
#include "capabilities.hpp"
#include "kronecker_factors.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"
#include "preconditioner.hpp"

namespace gateaux {

namespace detail {
inline void check_kfac_options(const char* who, double decay, std::size_t interval) {
    if (!(decay >= 0.0 && decay < 1.0)) throw error(std::string(who) + ": options::decay must be in [0, 1), not " + number_string(decay));
    if (interval == 0) throw error(std::string(who) + ": options::inverse_interval must be ≥ 1, got 0");
}
}  // namespace detail

class kfac final : public detail::optimizer_with_point {
public:
    using needs = capability_list<layer_statistics>;
    struct options {
        kfac_estimate estimate = kfac_estimate::sampled;
        double decay = 0.95;                  // ε of the factors' moving averages, in [0, 1)
        std::size_t inverse_interval = 1;     // refreshes (decompositions or inverses) every this many iterations
        kfac_inverse inverse = kfac_inverse::eigen;  // eigen: γ applied at use; cholesky: damped inverses (see above)
        double initial_damping = 1.0;         // λ₀ (γ = λ + weight_decay), in the units of the curvature
        double weight_decay = 0.0;            // η: added to γ and to the rescaling model's λ
        double damping_increase = 1.5;        // ρ < ¼
        double rejection_increase = 10.0;     // each rejected step
        double damping_decrease = 2.0 / 3.0;  // ρ > ¾
        double min_damping = 1e-8;
        double max_damping = 1e10;
        double accept_ratio = 0.0;            // a step with ρ below it is rejected (0: any decrease)
        std::size_t max_rejections = 30;      // in one iteration
        bool rescale = true;                  // δ = α·Δ (+ μ·δ_prev) from the exact model
        bool momentum = true;                 // with rescale: the μ·δ_prev term
        curvature_matrix rescale_curvature = curvature_matrix::gauss_newton;
        bool adapt_gamma = false;             // with rescale: γ adapted apart from λ (see above)
        std::size_t gamma_interval = 20;      // T₂: γ's candidates are compared every this many iterations
        double gamma_factor = 0.35848592240854227;  // ω ∈ (0, 1): candidates γ·ω, γ, γ/ω; (19/20)^20
    };
    struct model {
        double damping = 0.0, predicted = 0.0, actual = 0.0, ratio = 0.0;
        double scale = 1.0, momentum = 0.0;  // α, μ
        double gamma = 0.0;                  // the factored damping of the solve
        double damped = 0.0;                 // the damped model's value gᵀδ + ½δᵀ(C + (λ + η)I)δ (with rescale)
    };

    kfac() : kfac(options{}) {}
    explicit kfac(const options& o)
        : opt_(o), damping_{o.damping_increase, o.damping_decrease, o.rejection_increase, o.min_damping, o.max_damping} {
        detail::check_kfac_options("gateaux::kfac", o.decay, o.inverse_interval);
        if (!(o.initial_damping > 0.0) || !std::isfinite(o.initial_damping))
            throw error("gateaux::kfac: options::initial_damping must be finite and > 0, not " + number_string(o.initial_damping));
        if (!(o.min_damping > 0.0 && o.min_damping <= o.max_damping))
            throw error("gateaux::kfac: options::min_damping and max_damping must satisfy 0 < min_damping ≤ max_damping, got " +
                        number_string(o.min_damping) + " and " + number_string(o.max_damping));
        if (!(o.weight_decay >= 0.0) || !std::isfinite(o.weight_decay))
            throw error("gateaux::kfac: options::weight_decay must be finite and ≥ 0, got " + number_string(o.weight_decay));
        damping_.check("gateaux::kfac");
        if (o.adapt_gamma && !o.rescale) throw error("gateaux::kfac: options::adapt_gamma compares the exact model's values and needs rescale");
        if (o.adapt_gamma && o.gamma_interval == 0) throw error("gateaux::kfac: options::gamma_interval must be ≥ 1, got 0");
        if (o.adapt_gamma && !(o.gamma_factor > 0.0 && o.gamma_factor < 1.0))
            throw error("gateaux::kfac: options::gamma_factor must be in (0, 1), not " + number_string(o.gamma_factor));
        detail::newton::check_rejections("gateaux::kfac", o.accept_ratio, o.max_rejections);
    }
    std::string name() const override { return opt_.rescale ? "kfac" : "kfac-unscaled"; }

    double damping() const { return lambda_; }
    // γ: λ + η, or the adapted γ; the γ the next refresh inverts at with the cholesky inverse,
    // whose last solve's γ is last_model().gamma.
    double factor_damping() const { return gamma(); }
    const model& last_model() const { return model_; }
    const kronecker_factors& factors() const { return factors_; }
    std::size_t rejected_steps() const { return rejected_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like(), step_ = x.zeros_like(), dir_ = x.zeros_like(), prev_ = x.zeros_like();
        if (opt_.adapt_gamma) best_dir_ = x.zeros_like();
        lambda_ = damping_.clamp(opt_.initial_damping);
        gamma_ = clamp_gamma(lambda_ + opt_.weight_decay);
        rejected_ = iterations_ = steps_ = 0;
        invert_due_ = trial_has_stats_ = false;
        model_ = {};
        factors_.clear();
        std::string why = detail::missing(f, needs{});
        if (why.empty() && opt_.rescale) {
            product_ = curvature_operator::find(f, opt_.rescale_curvature);
            if (!product_) why = product_.lacking();
        }
        if (!why.empty()) return detail::newton::start_outcome(name(), why, f.value_and_gradient(x, g_), g_);
        evaluate(f, x, false);
        return detail::newton::evaluated_start(f, x, pending_, loss_, g_);
    }

    void batch_changed(objective& f, const param_set& x) override { evaluate(f, x, false); }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        const bool batched = detail::minibatched(f);
        if (opt_.rescale) {
            product_ = curvature_operator::find(f, opt_.rescale_curvature);
            if (!product_) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, name() + ": " + product_.lacking());
            if (opt_.momentum && prev_.max_abs() > 0.0) product_(x, prev_, c_prev_);
        }
        const bool choose = opt_.adapt_gamma && steps_++ % opt_.gamma_interval == 0;
        for (std::size_t rejections = 0;; ++rejections) {
            const bool usable = choose && rejections == 0 ? choose_gamma(x) : solve(x, gamma(), rejections > 0);
            double f1 = std::numeric_limits<double>::quiet_NaN();
            if (usable) {
                f1 = trial(f, x, batched);
                model_.actual = loss_ - f1;
                model_.ratio = reduction_ratio(loss_, f1, model_.predicted);
            }
            const bool accepted = usable && std::isfinite(f1) && model_.ratio >= opt_.accept_ratio;
            lambda_ = accepted ? damping_.after(lambda_, model_.ratio) : damping_.after_rejection(lambda_);
            if (!usable && opt_.adapt_gamma) gamma_ = clamp_gamma(gamma_ * opt_.rejection_increase);
            if (accepted) {
                const double norm = dir_.norm();
                prev_.assign(dir_);
                x.assign(trial_);
                if (batched) {
                    loss_ = f1;
                    std::swap(g_, g_trial_);
                    return outcome(step_outcome::status::ok, loss_, g_, norm, model_.scale);
                }
                if (trial_has_stats_) {
                    std::swap(stats_, trial_stats_);
                    fold(f);
                } else {
                    evaluate(f, x, true, false);  // the trial's loss and gradient are x's
                    loss_ = f1;
                    std::swap(g_, g_trial_);
                }
                if (!pending_.empty()) loss_ = f.value_and_gradient(x, g_);
                return outcome(step_outcome::status::ok, loss_, g_, norm, model_.scale);
            }
            ++rejected_;
            if (rejections + 1 >= opt_.max_rejections || lambda_ >= opt_.max_damping)
                return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                               name() + ": no step with ρ ≥ " + number_string(opt_.accept_ratio) + " after " +
                                   std::to_string(rejections + 1) + " increases of the damping (λ = " + number_string(lambda_) +
                                   ", last ρ = " + number_string(model_.ratio) + ")");
            // The rejected trial's statistics pass drew new sampled targets at the trial point,
            // and a Fisher product with sampled targets draws again at x: C·δ_prev is taken again,
            // so that it and the next C·Δ share one draw.
            if (trial_has_stats_ && opt_.rescale && opt_.rescale_curvature == curvature_matrix::fisher && opt_.momentum &&
                prev_.max_abs() > 0.0)
                product_(x, prev_, c_prev_);
        }
    }

    // The factors (the averages and the decompositions the solve uses until the next refresh), λ
    // and γ, the counters that time the refreshes and γ's comparisons, and the failure an
    // evaluation left for the next step; the last model only for last_model(), since each step
    // builds its own. The previous direction is the momentum term's.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("factors", factors_);
        a("lambda", lambda_), a("gamma", gamma_), a("previous_direction", prev_);
        a("iterations", iterations_), a("steps", steps_), a("rejected", rejected_), a("pending", pending_);
        a.optional("invert_due", invert_due_);
        a("model/damping", model_.damping), a("model/predicted", model_.predicted), a("model/actual", model_.actual);
        a("model/ratio", model_.ratio), a("model/scale", model_.scale), a("model/momentum", model_.momentum);
        a("model/gamma", model_.gamma), a("model/damped", model_.damped);
    }

private:
    double gamma() const { return opt_.adapt_gamma ? gamma_ : lambda_ + opt_.weight_decay; }
    double clamp_gamma(double g) const { return std::clamp(g, opt_.min_damping + opt_.weight_decay, opt_.max_damping + opt_.weight_decay); }

    // dir_ and model_ from the factors' solve at γ; false where there is no usable descent step.
    // With the cholesky inverse the inverses of the last refresh are used, whatever their γ,
    // unless `exact` (a rejected step, γ's candidates) asks for γ itself.
    bool solve(const param_set& x, double g, bool exact) {
        try {
            if (opt_.inverse == kfac_inverse::eigen) {
                factors_.solve(g_, g, step_);
            } else {
                if (invert_due_ || !factors_.inverted() || (exact && g != factors_.inverse_gamma())) {
                    factors_.invert(g);
                    invert_due_ = false;
                }
                g = factors_.inverse_gamma();
                factors_.apply_inverse(g_, step_);
            }
            step_.scale(-1.0);
            const bool usable = direction(x);
            model_.gamma = g;
            return usable;
        } catch (const rank_error&) {
            model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, 0.0, g, 0.0};
            return false;
        }
    }

    // The directions at γ·ω, γ and γ/ω: dir_ and model_ become the one with the lowest damped
    // model, and γ its γ. One solve and one curvature product per candidate.
    bool choose_gamma(const param_set& x) {
        // With the cholesky inverse every candidate is inverted from this iteration's averages,
        // the current γ too (its inverses may be an earlier iteration's).
        if (opt_.inverse == kfac_inverse::cholesky) invert_due_ = true;
        const double candidates[3] = {gamma_, clamp_gamma(gamma_ * opt_.gamma_factor), clamp_gamma(gamma_ / opt_.gamma_factor)};
        bool found = false;
        model best{};
        for (const double c : candidates) {
            if (!solve(x, c, true) || (found && !(model_.damped < best.damped))) continue;
            found = true, best = model_;
            std::swap(best_dir_, dir_);
        }
        if (!found) return false;
        std::swap(best_dir_, dir_);
        model_ = best;
        gamma_ = best.gamma;
        // The following iterations solve with the chosen γ's inverses (the same averages).
        if (opt_.inverse == kfac_inverse::cholesky && !(factors_.inverted() && factors_.inverse_gamma() == gamma_)) try {
                factors_.invert(gamma_);
            } catch (const rank_error&) {
                invert_due_ = true;
            }
        return true;
    }

    // dir_ from step_ = Δ, and the model's predicted decrease; false where it is no descent.
    bool direction(const param_set& x) {
        model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, 0.0, 0.0, 0.0};
        if (!step_.finite()) return false;
        if (!opt_.rescale) {
            dir_.assign(step_);
            const double gd = g_.dot(step_);
            model_.predicted = -0.5 * gd;
            return gd < 0.0;
        }
        product_(x, step_, c_step_);
        const bool two = opt_.momentum && prev_.max_abs() > 0.0;
        const detail::newton::rescaled_step r =
            detail::newton::rescale_step(g_, step_, c_step_, prev_, c_prev_, two, lambda_ + opt_.weight_decay);
        if (!r.usable) return false;
        const double alpha = r.alpha, mu = r.mu;
        dir_.assign(step_);
        dir_.scale(alpha);
        if (two && mu != 0.0) dir_.axpy(mu, prev_);
        const double gd = g_.dot(dir_);
        model_.predicted = -(gd + 0.5 * r.quad);
        model_.damped = gd + 0.5 * (r.quad + (lambda_ + opt_.weight_decay) * dir_.dot(dir_));
        model_.scale = alpha, model_.momentum = mu;
        return gd < 0.0 && model_.predicted > 0.0;
    }

    // The loss at x + δ, with what the next iteration needs at an accepted point. On minibatches
    // and with a curvature sample: the gradient, the batch's at the accepted point (see batches
    // above). On the full batch, where the statistics are taken on every row, the statistics pass
    // the next iteration needs: taken at the trial (after the new curvature draw an accepted step
    // asks for) and kept in trial_stats_. So an accepted step costs no separate loss evaluation; a
    // rejected one discards it.
    double trial(objective& f, const param_set& x, bool batched) {
        if (!trial_.same_shape(x)) trial_ = x.zeros_like(), g_trial_ = x.zeros_like();
        trial_.assign(x);
        trial_.axpy(1.0, dir_);
        trial_has_stats_ = false;
        double v = 0.0;
        if (batched || !statistics_give_loss(f)) {
            v = f.value_and_gradient(trial_, g_trial_);
        } else {
            if (data_batches* const d = capability<data_batches>(f)) d->resample_curvature();
            try {
                capability<layer_statistics>(f)->statistics(trial_, request(), trial_stats_);
                v = trial_stats_.loss;
                trial_has_stats_ = true;
            } catch (const error&) {
                v = f.value_and_gradient(trial_, g_trial_);
            }
        }
        return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
    }

    layer_statistics::request request() const {
        return {.sampled_deltas = opt_.estimate == kfac_estimate::sampled, .output_factors = opt_.estimate == kfac_estimate::exact};
    }
    // Whether a statistics pass gives the batch's loss and gradient: it is taken on every row of
    // the batch (no curvature sample).
    static bool statistics_give_loss(objective& f) {
        const data_batches* const d = capability<data_batches>(f);
        return capability<layer_statistics>(f) != nullptr && !(d != nullptr && d->curvature_rows() < d->batch_rows());
    }

    // Loss, gradient and the factors' statistics at x (a new curvature sample first where asked),
    // folded in by fold(); with a curvature sample the loss and gradient are the batch's, unless
    // the caller has them (with_loss false).
    void evaluate(objective& f, const param_set& x, bool resample, bool with_loss = true) {
        pending_.clear();
        layer_statistics* const ls = capability<layer_statistics>(f);
        if (ls == nullptr) {
            pending_ = name() + ": " + detail::lacking<layer_statistics>();
            return;
        }
        data_batches* const d = capability<data_batches>(f);
        if (resample && d != nullptr) d->resample_curvature();
        try {
            ls->statistics(x, request(), stats_);
        } catch (const error& e) {
            pending_ = name() + ": " + e.what();
            return;
        }
        fold(f);
        if (with_loss && pending_.empty() && !statistics_give_loss(f)) loss_ = f.value_and_gradient(x, g_);
    }

    // stats_ into the averages, a refresh where one is due (the decompositions now; with the
    // cholesky inverse, marked for the next solve, which knows γ), and the loss and gradient
    // from stats_ (replaced by the caller where the statistics are a curvature sample's).
    void fold(objective& f) {
        pending_.clear();
        try {
            factors_.update(stats_, opt_.estimate, opt_.decay);
            const bool due = iterations_ % opt_.inverse_interval == 0;
            if (opt_.inverse == kfac_inverse::eigen) {
                if (due || !factors_.refreshed()) factors_.refresh();
            } else if (due || !factors_.inverted()) {
                invert_due_ = true;
            }
            ++iterations_;
        } catch (const error& e) {
            pending_ = name() + ": " + e.what();
            return;
        }
        if (statistics_give_loss(f)) {
            loss_ = stats_.loss;
            g_.assign(stats_.gradient);
        }
    }

    options opt_;
    detail::newton::lm_damping damping_;  // the adaptation of λ, from opt_
    kronecker_factors factors_;
    layer_statistics::result stats_, trial_stats_;  // at x, and the trial's statistics pass
    bool trial_has_stats_ = false;                  // whether the last trial took one
    curvature_operator product_;
    param_set step_, dir_, best_dir_, prev_, c_step_, c_prev_, trial_, g_trial_;
    double lambda_ = 0.0, gamma_ = 0.0;
    model model_;
    std::string pending_;
    std::size_t rejected_ = 0, iterations_ = 0, steps_ = 0;
    bool invert_due_ = false;  // cholesky: the next solve inverts (a refresh was due)
};
using kfac_options = kfac::options;

// M = blockdiag((A_l + π√λ·I) ⊗ (G_l + √λ/π·I)) for Hessian-free CG's system (C + λI)·p = −g, with
// CG's own λ as γ: one statistics pass per CG run (prepare), and per CG iteration the two small
// solves per layer. decay > 0 averages the factors over successive CG runs (the default 0 uses
// each run's own statistics; the averages restart where the statistics change shape, and are
// otherwise carried into the next use, so a new problem of the same shapes takes a new
// preconditioner); the factors are decomposed every inverse_interval CG runs. Positive
// definite for λ > 0; an undamped singular factor is a rank_error, which drops it for that run.
// Sampled targets are the default here too: factors from the data's targets fit the Gauss–Newton
// system worse where the residuals are large (on a small tanh regression they took more CG
// iterations than plain CG, the sampled ones fewer).
class kfac_preconditioner final : public preconditioner {
public:
    struct options {
        kfac_estimate estimate = kfac_estimate::sampled;
        double decay = 0.0;
        std::size_t inverse_interval = 1;
    };
    kfac_preconditioner() : kfac_preconditioner(options{}) {}
    explicit kfac_preconditioner(const options& o) : opt_(o) {
        detail::check_kfac_options("gateaux::kfac_preconditioner", o.decay, o.inverse_interval);
    }
    std::string name() const override { return "kfac"; }
    // With estimate = exact, one statistics pass at x counts the layers (it must be one).
    std::string not_applicable(objective& f, const param_set& x) const override {
        std::string why = detail::missing(f, capability_list<layer_statistics>{});
        if (why.empty() && opt_.estimate == kfac_estimate::exact) {
            layer_statistics::result st;
            capability<layer_statistics>(f)->statistics(x, {.sampled_deltas = false, .output_factors = true}, st);
            std::size_t layers = 0;
            for (const layer_statistics::block& b : st.blocks)
                layers += b.kind == layer_statistics::role::weight || b.partner == layer_statistics::none;
            if (layers != 1)
                why = "kfac_preconditioner: options::estimate = exact takes the output factors as the layer's, which holds for an "
                      "objective of one layer only; this one has " + std::to_string(layers) + " layers";
        }
        return why;
    }
    void prepare(objective& f, const param_set& x, const curvature_operator&, double damping) override {
        layer_statistics* const ls = capability<layer_statistics>(f);
        if (ls == nullptr) throw error("gateaux::kfac_preconditioner: " + detail::lacking<layer_statistics>());
        ls->statistics(x, {.sampled_deltas = opt_.estimate == kfac_estimate::sampled, .output_factors = opt_.estimate == kfac_estimate::exact},
                       stats_);
        factors_.update(stats_, opt_.estimate, opt_.decay);
        if (!factors_.refreshed() || runs_ % opt_.inverse_interval == 0) factors_.refresh();
        ++runs_;
        lambda_ = damping;
    }
    void apply(objective&, const param_set&, const param_set& r, param_set& z) override { factors_.solve(r, lambda_, z); }
    bool positive_definite() const override { return true; }

    const kronecker_factors& factors() const { return factors_; }
    double damping() const { return lambda_; }

    // The factors, carried from CG run to CG run (averaged with decay > 0, and between refreshes
    // the solve's decompositions), and the run count that times the refreshes; λ for damping().
    void state(state_archive& a) override { a("factors", factors_), a("runs", runs_), a("lambda", lambda_); }

private:
    options opt_;
    kronecker_factors factors_;
    layer_statistics::result stats_;
    double lambda_ = 0.0;
    std::size_t runs_ = 0;
};
using kfac_preconditioner_options = kfac_preconditioner::options;

}  // namespace gateaux
