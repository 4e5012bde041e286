#pragma once
// Per-layer Newton on the exact layer blocks, docs/theory.md §3–4:
//
//   block_newton         the direction is −Δ with Δ_l = H_l⁺·G_l (f.block_newton_step), then an
//                        Armijo line search or a fixed step. A graph objective computes Δ by the
//                        functional inverse's one downward pass where the type system accepts
//                        the network and the batch fits its widths, by the block solve (the
//                        minimum-norm H_l⁺, any batch) elsewhere.
//   fd_block_newton      the same step by finite differences of the functional inverse
//                        (fd_newton_step, through f.fd_block_newton_step): networks bop accepts.
//   damped_block_newton  Levenberg–Marquardt on the blocks, Δ_l = −(H_l + λI)⁻¹·G_l with λ from
//                        the reduction ratio (optim/damped_block_newton.hpp): the stochastic one.
//
// All need the block_solver capability (optim/capabilities.hpp), which a graph objective has
// where every parameter is a layer weight or bias. Failures are statuses, not exceptions: an
// objective without it or an inverse that cannot be formed (rank_error, size_error) ends the run
// with step_outcome::status::not_applicable and the reason, with advice; an exhausted line search
// with line_search_failed.
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "damped_block_newton.hpp"
#include "newton_common.hpp"

namespace gateaux {

namespace detail::newton {

// What to do when the per-layer inverse cannot be formed at this batch.
inline std::string rank_advice(const char* who, const char* what) {
    return std::string(who) + ": " + what +
           ". The functional inverse needs independent rows of each layer input (batch ≤ its width), "
           "well-conditioned weights above and, with smooth activations, invertible per-sample curvature blocks T_b "
           "(they degrade as units saturate or the residual vanishes); a graph objective takes the block solve there, "
           "which needs none of this. Remedies for an objective without it: smaller batches "
           "(graph_objective::use_minibatches), the output-layer fallback output_per_unit (a bop/newton_step option, "
           "exact for any batch), damped_block_newton, or Hessian-free CG (hessian_free, or preconditioned_hessian_free, "
           "whose block preconditioner falls back to the identity where the inverse fails)";
}

// The part both block Newton variants share: the step at the current point is computed by the
// previous call (start or step; on minibatches batch_changed, on the new batch), so each iteration
// costs one inverse pass plus the line search.
class block_newton_base : public optimizer_with_point {
public:
    using needs = capability_list<block_solver>;
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
        d_ = x.zeros_like();
        flipped_ = gradient_fallbacks_ = 0;
        std::string why = missing(f, needs{});
        if (why.empty()) why = unavailable(*capability<block_solver>(f));
        if (!why.empty()) return start_outcome(name(), why, f.value_and_gradient(x, g_), g_);
        return evaluate(f, x, 0.0, 0.0, true);
    }

    // A new minibatch: the loss, gradient and step must belong to the batch the line search sees.
    void batch_changed(objective& f, const param_set& x) override { evaluate(f, x, 0.0, 0.0, false); }

    step_outcome step(objective& f, param_set& x) override {
        // d = −Δ. For piecewise-linear nets under the squared error every H_l is positive
        // semi-definite and gᵀd = −Σ G_lᵀH_l⁺G_l ≤ 0. With smooth activations H_l can be
        // indefinite; a block whose step points uphill (G_lᵀΔ_l < 0) is flipped, the block-wise
        // analogue of the |H| modification. If that still leaves no descent (g ⊥ Δ), −g is used.
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        d_.assign(s_);  // in place: no allocation per iteration
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
            if (minibatched(f)) loss_ = ls.loss, std::swap(g_, g_trial_);  // the gradient there, on this batch
        } else {
            x.axpy(alpha, d_);
            if (minibatched(f)) loss_ = f.value_and_gradient(x, g_);
        }
        // On minibatches the next step belongs to the next batch (batch_changed computes it
        // there), so only the new point's loss and gradient on this batch are reported.
        if (minibatched(f)) return outcome(step_outcome::status::ok, loss_, g_, alpha * d_.norm(), alpha);
        return evaluate(f, x, alpha * d_.norm(), alpha, false);
    }

    // The step at the current point, computed by the previous call, and a failure of the inverse
    // there that ends the run at the next step; the counts.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("block_step", s_), a("pending", pending_);
        a("flipped_blocks", flipped_), a("gradient_fallbacks", gradient_fallbacks_);
    }

protected:
    explicit block_newton_base(const options& o) : opt_(o) {
        if (!(o.step_size > 0.0 && std::isfinite(o.step_size)))
            throw error("gateaux::block_newton: the step size must be > 0 and finite, got step_size = " + number_string(o.step_size));
        o.line_search_settings.check();
    }
    // Loss, gradient and the per-layer Newton step at x (start() has checked that f has a block_solver).
    virtual double compute(block_solver& f, const param_set& x, param_set& g, param_set& s) = 0;
    // Why this variant's step is not available from f, or "" (checked by start()).
    virtual std::string unavailable(const block_solver& f) const {
        (void)f;
        return {};
    }

private:
    // The new point's loss, gradient and next step. If the inverse fails there, the point itself
    // is still reported as reached (its loss and gradient are valid, and may already meet the
    // stopping rule); the failure ends the run at the next step(). At the starting point it ends
    // the run at once.
    step_outcome evaluate(objective& f, const param_set& x, double step_norm, double alpha, bool at_start) {
        pending_.clear();
        block_solver* const solver = capability<block_solver>(f);
        if (solver == nullptr) {  // an objective other than the one start() checked
            pending_ = name() + ": " + lacking<block_solver>();
        } else {
            try {
                loss_ = compute(*solver, x, g_, s_);
            } catch (const rank_error& e) {
                pending_ = rank_advice(name().c_str(), e.what());
            } catch (const domain_error& e) {  // finite differences only: the inverse left its domain
                pending_ = name() + ": " + e.what() + "; try a smaller difference step r";
            } catch (const size_error& e) {  // the block solve's dense block above its memory limit
                pending_ = name() + ": " + e.what() + "; damped_block_newton on a curvature sample below the widths avoids it";
            }
        }
        if (pending_.empty()) return outcome(step_outcome::status::ok, loss_, g_, step_norm, alpha);
        loss_ = f.value_and_gradient(x, g_);
        if (at_start) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        return outcome(step_outcome::status::ok, loss_, g_, step_norm, alpha);
    }

    options opt_;
    param_set s_, d_, trial_, g_trial_;
    std::string pending_;  // a failure of the inverse at the current point
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
    double compute(block_solver& f, const param_set& x, param_set& g, param_set& s) override {
        return f.block_newton_step(x, g, s);
    }
};
using block_newton_options = block_newton::options;

// The same, with the step from central (or Richardson) differences of the inverse gradient map
// at G(1 ± r/2) (symbolic/inverse.hpp). For leaky ReLU there is no truncation error
// until r crosses a kink, only rounding ≈ eps/r·cond; r = 1e-4 is a sound default there.
class fd_block_newton final : public detail::newton::block_newton_base {
public:
    struct options : block_newton_base::options {
        double r = 1e-4;
        fd_scheme scheme = fd_scheme::central;
    };
    fd_block_newton() : fd_block_newton(options{}) {}
    explicit fd_block_newton(const options& o) : block_newton_base(o), r_(o.r), scheme_(o.scheme) {
        if (!(o.r > 0.0 && std::isfinite(o.r)))
            throw error("gateaux::fd_block_newton: the difference step r must be > 0 and finite, got r = " + number_string(o.r));
    }
    std::string name() const override { return "fd-block-newton"; }

protected:
    double compute(block_solver& f, const param_set& x, param_set& g, param_set& s) override {
        return f.fd_block_newton_step(x, r_, scheme_, g, s);
    }
    std::string unavailable(const block_solver& f) const override { return f.fd_unavailable(); }

private:
    double r_;
    fd_scheme scheme_;
};
using fd_block_newton_options = fd_block_newton::options;

}  // namespace gateaux
