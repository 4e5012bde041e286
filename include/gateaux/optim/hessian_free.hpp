#pragma once
// Hessian-free Newton-CG after Martens (2010), "Deep learning via Hessian-free optimization".
// Each iteration runs conjugate gradients on the damped Newton system
//
//     (B + λI)·p = −g,    B·v = f.hessian_vector (the R-operator), f.gauss_newton_vector or
//                          f.fisher_vector (options::curvature),
//
// never forming B. With the Fisher (empirical, or sampled: graph_objective::use_fisher) this is
// natural-gradient CG: its draw of targets is fixed for the iteration's CG run, since the
// iteration's resample_curvature() comes before it. The pieces, as in the paper:
//   damping       Levenberg–Marquardt on λ from ρ = (f(x + p) − f(x)) / (q(p) − q(0)), with the
//                 undamped model q(p) = gᵀp + ½pᵀBp: ρ < ¼ → λ ×3/2, ρ > ¾ → λ ×2/3
//   CG stopping   an iteration cap; ‖r‖ ≤ cg_tolerance·‖g‖; Martens' relative progress test on the
//                 damped model φ(p) = gᵀp + ½pᵀ(B + λI)p: stop at iteration i when φ_i < 0 and
//                 (φ_i − φ_{i−k})/φ_i < k·ε, k = max(10, ⌈i/10⌉)
//   negative      dᵀ(B + λI)d ≤ 0: stop; keep the iterate so far, or, at the first iteration from
//   curvature     zero, take that direction itself (it is −M⁻¹g, a descent direction)
//   warm start    p₀ = 0.95·(the previous CG solution); if φ(p₀) ≥ 0 it is no better than zero and
//                 CG starts from zero instead (one extra product, and CG then decreases φ from 0)
//   CG-iterate    iterates are kept at i = ⌈1.3^j⌉ and at the end; walking back from the last, the
//   backtracking  one with the lowest true loss is taken (the search stops when the loss rises)
//   line search   Armijo backtracking on that iterate (c₁ = 10⁻², factor 0.8); if it fails, λ is
//                 raised and CG rerun from zero (up to max_retries times)
//   curvature     with graph_objective::use_curvature_sample(rows), each iteration's products use
//   sample        a fresh random subset of the rows (Martens' own setting; loss, gradient, ρ and the
//                 line search use all rows)
//
// preconditioning  CG takes any preconditioner (optim/preconditioner.hpp): the identity (plain CG,
//                  the default), the diagonal of B + λI, the exact per-layer inverse
//                  M⁻¹ = blockdiag(H_l⁺) (preconditioned_hessian_free), or the damped blocks
//                  M = blockdiag(H_l + λI) with CG's own λ. The last two
//                  need not be positive definite (indefinite blocks, smooth activations),
//                  which CG requires. Whenever rᵀM⁻¹r ≤ 0 (or M⁻¹r is not finite) that iteration
//                  uses the identity (z = r) and the search direction restarts from z; with a
//                  preconditioner that is not always positive definite the β of the remaining
//                  iterations is Polak–Ribière's zᵀ(r − r_prev)/(z_prevᵀr_prev) (flexible CG),
//                  which tolerates a preconditioner that changes between iterations. A rank_error
//                  from it (a block it cannot invert) drops the preconditioner for the rest of
//                  that CG run. Both events are counted.
//
// Needs: the curvature products of the chosen kind (hessian_products, gauss_newton_products or fisher_products),
// and what the preconditioner needs; start() refuses an objective without them (not_applicable,
// naming the capability). preconditioned_hessian_free needs the block_solver in every run.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capabilities.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"
#include "preconditioner.hpp"

namespace gateaux {

class hessian_free : public detail::optimizer_with_point {
public:
    struct options {
        curvature_matrix curvature = curvature_matrix::hessian;
        double initial_damping = 1.0;           // λ₀
        double damping_increase = 1.5;          // ρ < ¼
        double damping_decrease = 2.0 / 3.0;    // ρ > ¾
        double min_damping = 1e-10;             // λ stays ≥ this (it is compared with B's eigenvalues)
        std::size_t max_cg_iterations = 250;
        double cg_tolerance = 1e-12;            // ‖r‖ ≤ cg_tolerance·‖g‖
        double cg_progress = 5e-4;              // Martens' ε
        double warm_start = 0.95;               // 0: always start CG from zero
        double backtrack_growth = 1.3;          // iterates kept at ⌈growth^j⌉
        std::size_t max_retries = 30;
        armijo_backtracking line_search_settings{1e-2, 0.8, 60};
    };
    hessian_free() : hessian_free(options{}) {}
    explicit hessian_free(const options& o) : hessian_free(o, identity_preconditioner{}) {}
    // CG preconditioned by m, e.g. hessian_free(o, diagonal_preconditioner{}).
    template <std::derived_from<preconditioner> M>
    hessian_free(const options& o, M m)
        : hessian_free(o, std::unique_ptr<preconditioner>(std::make_unique<M>(std::move(m)))) {}
    hessian_free(const options& o, std::unique_ptr<preconditioner> m) : opt_(o), pc_(std::move(m)) {
        const auto bad = [](const std::string& what, double got) {
            return error("gateaux::hessian_free: options::" + what + ", got " + number_string(got));
        };
        if (!(o.initial_damping >= 0.0 && std::isfinite(o.initial_damping)))
            throw bad("initial_damping (the damping λ₀) must be ≥ 0 and finite", o.initial_damping);
        if (!(o.min_damping >= 0.0 && std::isfinite(o.min_damping))) throw bad("min_damping must be ≥ 0 and finite", o.min_damping);
        if (!(o.damping_increase > 1.0)) throw bad("damping_increase must be > 1", o.damping_increase);
        if (!(o.damping_decrease > 0.0 && o.damping_decrease < 1.0)) throw bad("damping_decrease must be in (0, 1)", o.damping_decrease);
        if (o.max_cg_iterations == 0) throw error("gateaux::hessian_free: options::max_cg_iterations must be ≥ 1, got 0");
        if (!(o.backtrack_growth > 1.0)) throw bad("backtrack_growth must be > 1", o.backtrack_growth);
        o.line_search_settings.check();
        if (pc_ == nullptr) throw error("gateaux::hessian_free: the preconditioner must not be null");
    }

    // hf-cg, hf-gn-cg (Gauss–Newton), hf-fisher-cg, hf-pcg-diagonal, ...
    std::string name() const override {
        if (dynamic_cast<const identity_preconditioner*>(pc_.get()) != nullptr) return prefix() + "cg";
        return prefix() + "pcg-" + pc_->name();
    }
    const preconditioner& preconditioning() const { return *pc_; }

    double damping() const { return lambda_; }
    std::size_t cg_iterations() const { return cg_total_; }       // over the run
    std::size_t last_cg_iterations() const { return cg_last_; }   // in the last iteration
    std::size_t negative_curvature_stops() const { return negative_; }
    std::size_t preconditioner_fallbacks() const { return pc_identity_; }  // iterations with rᵀM⁻¹r ≤ 0
    std::size_t preconditioner_failures() const { return pc_failed_; }     // CG runs that lost it to a rank_error
    const std::string& preconditioner_message() const { return pc_message_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        prev_ = x.zeros_like();
        have_prev_ = batch_sampled_ = false;
        lambda_ = opt_.initial_damping;
        cg_total_ = cg_last_ = negative_ = pc_identity_ = pc_failed_ = 0;
        pc_message_.clear();
        loss_ = f.value_and_gradient(x, g_);
        product_ = curvature_operator::find(f, opt_.curvature);
        const std::string why = product_ ? pc_->not_applicable(f, x) : product_.lacking();
        return detail::newton::start_outcome(name(), why, loss_, g_, lambda_);
    }

    void batch_changed(objective& f, const param_set& x) override {
        optimizer_with_point::batch_changed(f, x);
        batch_sampled_ = true;
    }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        product_ = curvature_operator::find(f, opt_.curvature);  // of this f, which start() checked
        if (!product_)
            return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, name() + ": " + product_.lacking());
        // A new curvature sample per iteration, if the objective uses one; a new minibatch came
        // with its own (drawn from its rows by next_batch).
        if (data_batches* d = capability<data_batches>(f); d != nullptr && !batch_sampled_) d->resample_curvature();
        batch_sampled_ = false;
        for (std::size_t attempt = 0; attempt <= opt_.max_retries; ++attempt) {
            run_cg(f, x, attempt == 0 && have_prev_ && opt_.warm_start > 0.0);
            // The warm start of the next iteration: the last CG iterate, not the backtracked one.
            prev_.assign(saved_.back().p);
            have_prev_ = true;
            const std::size_t pick = backtrack(f, x);
            const snapshot& s = saved_[pick];
            const double q = s.phi - 0.5 * lambda_ * s.pp;  // the undamped model at p
            const double rho = reduction_ratio(loss_, s.loss, -q);
            if (!(q < 0.0) || rho < 0.25)
                lambda_ = std::max(lambda_ * opt_.damping_increase, opt_.min_damping);
            else if (rho > 0.75)
                lambda_ = std::max(lambda_ * opt_.damping_decrease, opt_.min_damping);
            // Armijo on the chosen iterate. It is a descent direction when B + λI is positive
            // definite on the Krylov space; otherwise (a warm start in an indefinite region) the
            // steepest-descent direction of the same length replaces it.
            const param_set* dir = &s.p;
            double slope = g_.dot(s.p);
            if (!(slope < 0.0)) {
                fallback_.assign(g_);
                fallback_.scale(-std::sqrt(s.pp) / std::max(g_.norm(), std::numeric_limits<double>::min()));
                dir = &fallback_;
                slope = g_.dot(fallback_);
            }
            const line_search_result ls = newton_line_search(f, x, *dir, loss_, slope, std::max(-q, 0.0), 1.0,
                                                             opt_.line_search_settings, trial_, g_trial_);
            if (ls.ok()) {
                const double norm = ls.step * dir->norm();
                x.assign(trial_);
                g_.assign(g_trial_);
                loss_ = ls.loss;
                return outcome(step_outcome::status::ok, loss_, g_, norm, ls.step);
            }
            lambda_ = std::max(lambda_ * opt_.damping_increase, opt_.min_damping);
            have_prev_ = false;
        }
        return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                       name() + ": no sufficient decrease after " + std::to_string(opt_.max_retries) +
                           " increases of the damping (λ = " + number_string(lambda_) + ")");
    }

    // λ, the warm start of the next CG run, the counters and the preconditioner's own state. The
    // kept CG iterates (saved_, phis_) are not state: each CG run clears them before it reads them.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("damping", lambda_);
        a("warm_start", prev_), a("have_warm_start", have_prev_), a("batch_sampled", batch_sampled_);
        a("cg_iterations", cg_total_), a("last_cg_iterations", cg_last_), a("negative_curvature_stops", negative_);
        a("preconditioner_fallbacks", pc_identity_), a("preconditioner_failures", pc_failed_);
        a("preconditioner_message", pc_message_);
        a.nest("preconditioner", *pc_);
    }

protected:
    std::string prefix() const {
        switch (opt_.curvature) {
            case curvature_matrix::gauss_newton: return "hf-gn-";
            case curvature_matrix::fisher: return "hf-fisher-";
            case curvature_matrix::hessian: break;
        }
        return "hf-";
    }

private:
    struct snapshot {
        param_set p;
        double phi = 0.0, pp = 0.0;  // damped model φ(p) and ‖p‖²
        double loss = std::numeric_limits<double>::quiet_NaN();  // f(x + p), filled by backtrack()
        std::size_t iteration = 0;
    };

    // out = (B + λI)·v
    void apply(const param_set& x, const param_set& v, param_set& out) {
        product_(x, v, out);
        out.axpy(lambda_, v);
    }

    // The preconditioner lost for the rest of this CG run.
    void drop_preconditioner(const rank_error& e) {
        ++pc_failed_;
        pc_message_ = e.what();
        use_pc_ = false;
    }

    // z = M⁻¹·r, or z = r; returns whether the preconditioner was used.
    bool precondition(objective& f, const param_set& x, const param_set& r, param_set& z) {
        if (use_pc_) {
            try {
                pc_->apply(f, x, r, z);
                if (r.dot(z) > 0.0 && z.finite()) return true;
                ++pc_identity_;
            } catch (const rank_error& e) {
                drop_preconditioner(e);
            }
        }
        z.assign(r);
        return false;
    }

    void save(std::size_t i, const param_set& p, double phi) {
        snapshot s{p, phi, p.dot(p), std::numeric_limits<double>::quiet_NaN(), i};
        if (!saved_.empty() && saved_.back().iteration == i)
            saved_.back() = std::move(s);
        else
            saved_.push_back(std::move(s));
    }

    void run_cg(objective& f, const param_set& x, bool warm) {
        if (!p_.same_shape(x)) p_ = r_ = z_ = d_ = ad_ = rprev_ = x.zeros_like();
        use_pc_ = true;
        try {
            pc_->prepare(f, x, product_, lambda_);
        } catch (const rank_error& e) {
            drop_preconditioner(e);
        }
        saved_.clear();
        phis_.clear();
        // r = −g − A·p₀
        double phi = 0.0;
        p_.fill(0.0);
        r_.assign(g_);
        r_.scale(-1.0);
        if (warm) {
            p_.assign(prev_);
            p_.scale(opt_.warm_start);
            apply(x, p_, ad_);
            phi = 0.5 * p_.dot(ad_) + g_.dot(p_);
            if (phi < 0.0)
                r_.axpy(-1.0, ad_);
            else
                p_.fill(0.0), phi = 0.0;
        }
        phis_.push_back(phi);
        save(0, p_, phi);
        const double gnorm = g_.norm(), stop = opt_.cg_tolerance * gnorm;
        std::size_t i = 0;
        double next_keep = 1.0;
        bool used = precondition(f, x, r_, z_);
        d_.assign(z_);
        double rz = r_.dot(z_);
        while (i < opt_.max_cg_iterations && r_.norm() > stop) {
            apply(x, d_, ad_);
            const double curv = d_.dot(ad_);
            ++i;
            if (!(curv > 0.0)) {
                ++negative_;
                if (p_.max_abs() == 0.0) {  // nothing yet: the direction itself (−M⁻¹g, descent)
                    p_.assign(d_);
                    save(i, p_, g_.dot(d_) + 0.5 * curv);
                }
                break;
            }
            const double alpha = rz / curv;
            p_.axpy(alpha, d_);
            rprev_.assign(r_);
            r_.axpy(-alpha, ad_);
            phi = 0.5 * (g_.dot(p_) - r_.dot(p_));  // φ(p) = gᵀp + ½pᵀAp with A·p = −g − r
            phis_.push_back(phi);
            if (double(i) >= next_keep) {
                save(i, p_, phi);
                while (next_keep <= double(i)) next_keep = std::ceil(next_keep * opt_.backtrack_growth);
            }
            const std::size_t k = std::max<std::size_t>(10, std::size_t(std::ceil(0.1 * double(i))));
            if (i > k && phi < 0.0 && (phi - phis_[i - k]) / phi < double(k) * opt_.cg_progress) break;
            const bool was_used = used;
            used = precondition(f, x, r_, z_);
            const double rz_new = r_.dot(z_);
            // A restart when the preconditioner switched on or off. A positive definite one (the
            // identity: plain CG): the standard β = rᵀz/r_prevᵀz_prev (Fletcher–Reeves). Otherwise
            // Polak–Ribière's β (flexible CG).
            double beta = 0.0;
            if (used != was_used) {
                beta = 0.0;
            } else if (pc_->positive_definite()) {
                beta = rz_new / rz;
            } else {
                rprev_.scale(-1.0);
                rprev_.axpy(1.0, r_);  // r − r_prev
                beta = std::max(0.0, z_.dot(rprev_) / rz);
            }
            rz = rz_new;
            d_.scale_add(beta, z_);
        }
        if (saved_.back().iteration != i || saved_.back().pp != p_.dot(p_)) save(i, p_, phi);
        cg_last_ = i;
        cg_total_ += i;
    }

    // Martens' CG-iterate backtracking: from the last kept iterate backwards while the loss drops.
    std::size_t backtrack(objective& f, const param_set& x) {
        if (!trial_.same_shape(x)) trial_ = x.zeros_like();
        auto loss_at = [&](snapshot& s) {
            trial_.assign(x);
            trial_.axpy(1.0, s.p);
            const double v = f.value(trial_);
            s.loss = std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
            return s.loss;
        };
        std::size_t best = saved_.size() - 1;
        double best_loss = loss_at(saved_[best]);
        while (best > 1) {  // saved_[0] is the starting point p₀, not a CG iterate
            const double v = loss_at(saved_[best - 1]);
            if (!(v < best_loss)) break;
            --best;
            best_loss = v;
        }
        return best;
    }

    options opt_;
    std::unique_ptr<preconditioner> pc_;
    curvature_operator product_;  // B·v of the objective in use
    bool use_pc_ = false, have_prev_ = false, batch_sampled_ = false;
    param_set prev_, p_, r_, z_, d_, ad_, rprev_, trial_, g_trial_, fallback_;
    std::vector<snapshot> saved_;
    std::vector<double> phis_;
    double lambda_ = 1.0;
    std::size_t cg_total_ = 0, cg_last_ = 0, negative_ = 0, pc_identity_ = 0, pc_failed_ = 0;
    std::string pc_message_;
};
using hessian_free_options = hessian_free::options;

// Preconditioned CG with the exact per-layer inverse M⁻¹ = blockdiag(H_l⁺) (the block_solver
// capability): hessian_free with the block_inverse_preconditioner, under its own name (hf-pcg).
class preconditioned_hessian_free final : public hessian_free {
public:
    using needs = capability_list<block_solver>;
    preconditioned_hessian_free() : preconditioned_hessian_free(options{}) {}
    explicit preconditioned_hessian_free(const options& o) : hessian_free(o, block_inverse_preconditioner{}) {}
    std::string name() const override { return prefix() + "pcg"; }
};

}  // namespace gateaux
