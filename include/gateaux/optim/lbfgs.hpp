#pragma once
// Limited-memory BFGS (Nocedal & Wright, Algorithms 7.4 and 7.5). The last m pairs
// sᵢ = x_{i+1} − xᵢ, yᵢ = ∇f_{i+1} − ∇fᵢ define H implicitly; d = −H·g by the two-loop recursion
//     q ← g;  for i newest → oldest:  αᵢ = ρᵢ·sᵢᵀq,  q ← q − αᵢ·yᵢ          (ρᵢ = 1/yᵢᵀsᵢ)
//     r ← γ·q (γ = sᵀy/yᵀy of the newest pair);  for i oldest → newest:  r ← r + sᵢ·(αᵢ − ρᵢ·yᵢᵀr)
// then a strong Wolfe line search from α = 1 (α = 1/‖d‖, a unit step, before the first pair).
// Work per iteration: 4m + O(1) passes over n numbers plus the line search's evaluations; memory
// 2m + 6 parameter sets, all allocated in start(): no allocation per iteration.
// A pair with sᵀy ≤ skip_tolerance·‖s‖‖y‖ is not stored (it would make H indefinite) and leaves
// the memory as it was. A direction that is not a descent direction (rounding) clears the memory
// and restarts from −γ·g with the last γ, from α = 1: the scale of the curvature is still known,
// and a unit step from near a minimiser would overshoot by orders of magnitude.
//
// On a quadratic with exact line searches L-BFGS would be conjugate gradients; with the inexact
// searches used here (α = 1 nearly always passes the test) it is not, and on a wide spectrum it
// needs many iterations: 1130–1190 to ‖g‖ ≤ 1e-10 on n = 50 with eigenvalues log-spaced in
// [1, 1e4] (tests/optim/quasi_newton.cpp), as a plain textbook two-loop with unit steps does too;
// dense BFGS needs 270–310 there.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux {

struct lbfgs_options {
    std::size_t memory = 10;  // m
    strong_wolfe line_search{};
    double skip_tolerance = 1e-10;
};

class lbfgs final : public detail::optimizer_with_point {
public:
    explicit lbfgs(lbfgs_options o = {}) : o_(o) {
        if (o.memory == 0) throw error("gateaux::lbfgs: the memory m must be ≥ 1, got 0");
        o.line_search.check();
    }
    std::string name() const override { return "lbfgs"; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        d_ = x.zeros_like();
        x_trial_ = x.zeros_like();
        g_trial_ = x.zeros_like();
        s_.assign(o_.memory, param_set{});
        y_.assign(o_.memory, param_set{});
        for (std::size_t i = 0; i < o_.memory; ++i) s_[i] = x.zeros_like(), y_[i] = x.zeros_like();
        s_new_ = x.zeros_like();
        y_new_ = x.zeros_like();
        rho_.assign(o_.memory, 0.0);
        alpha_.assign(o_.memory, 0.0);
        stored_ = next_ = skipped_ = restarts_ = 0;
        gamma_ = 0.0;
        loss_ = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss_, g_.norm(), 0.0, 0.0, ""};
    }

    step_outcome step(objective& f, param_set& x) override {
        direction();
        double slope = g_.dot(d_);
        if (!(slope < 0.0) && stored_ > 0) {
            stored_ = 0;
            ++restarts_;
            direction();
            slope = g_.dot(d_);
        }
        // ‖d‖ = ‖g‖ can be below 1/max_step near a minimum (cross-entropy on separable data).
        const double step0 = gamma_ > 0.0 ? 1.0 : std::min(1.0 / d_.norm(), o_.line_search.max_step);
        const line_search_result r = o_.line_search.search(f, x, d_, loss_, slope, step0, x_trial_, g_trial_);
        if (!r.ok()) return {step_outcome::status::line_search_failed, loss_, g_.norm(), 0.0, r.step, "lbfgs: " + r.reason};

        // The new pair goes to spare storage first: when the memory is full, slot next_ still
        // holds the oldest pair, which a skipped pair must not overwrite.
        s_new_.assign(x_trial_);
        s_new_.axpy(-1.0, x);
        y_new_.assign(g_trial_);
        y_new_.axpy(-1.0, g_);
        const double sy = s_new_.dot(y_new_), ss = s_new_.dot(s_new_), yy = y_new_.dot(y_new_);
        if (sy > o_.skip_tolerance * std::sqrt(ss * yy)) {
            std::swap(s_[next_], s_new_);  // swaps the blocks' storage, allocates nothing
            std::swap(y_[next_], y_new_);
            rho_[next_] = 1.0 / sy;
            gamma_ = sy / yy;
            next_ = (next_ + 1) % o_.memory;
            stored_ = std::min(stored_ + 1, o_.memory);
        } else {
            ++skipped_;
        }
        x.assign(x_trial_);
        std::swap(g_, g_trial_);
        loss_ = r.loss;
        return {step_outcome::status::ok, loss_, g_.norm(), std::sqrt(ss), r.step, ""};
    }

    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        a("s", s_), a("y", y_), a("rho", rho_);
        a("stored", stored_), a("next", next_), a("skipped", skipped_), a("restarts", restarts_), a("gamma", gamma_);
        if (a.loading() && a.strict() && (s_.size() != o_.memory || y_.size() != o_.memory || rho_.size() != o_.memory))
            throw checkpoint_error("gateaux::lbfgs: the checkpoint holds " + std::to_string(s_.size()) + " pairs, the memory is " +
                                   std::to_string(o_.memory));
        if (a.loading() && a.strict() && (next_ >= o_.memory || stored_ > o_.memory))
            throw checkpoint_error("gateaux::lbfgs: the checkpoint's ring position " + std::to_string(next_) + " and count " +
                                   std::to_string(stored_) + " do not fit the memory " + std::to_string(o_.memory));
    }

    // Since start(): pairs not stored (sᵀy too small), and memory clears (d not a descent direction).
    std::size_t skipped_pairs() const { return skipped_; }
    std::size_t restarts() const { return restarts_; }

private:
    // d = −H·g by the two-loop recursion (on −g, so no final negation).
    void direction() {
        d_.assign(g_);
        d_.scale(-1.0);
        const std::size_t m = o_.memory;
        for (std::size_t k = 0; k < stored_; ++k) {  // newest → oldest
            const std::size_t i = (next_ + m - 1 - k) % m;
            alpha_[i] = rho_[i] * s_[i].dot(d_);
            d_.axpy(-alpha_[i], y_[i]);
        }
        if (gamma_ > 0.0) d_.scale(gamma_);  // H₀ = γ·I, from the newest pair ever stored
        for (std::size_t k = stored_; k-- > 0;) {  // oldest → newest
            const std::size_t i = (next_ + m - 1 - k) % m;
            d_.axpy(alpha_[i] - rho_[i] * y_[i].dot(d_), s_[i]);
        }
    }

    lbfgs_options o_;
    param_set d_, x_trial_, g_trial_;
    std::vector<param_set> s_, y_;  // ring of m pairs; the newest is at next_ − 1
    param_set s_new_, y_new_;       // the pair being tested
    std::vector<double> rho_, alpha_;
    std::size_t stored_ = 0, next_ = 0, skipped_ = 0, restarts_ = 0;
    double gamma_ = 0.0;  // γ = 0: no pair stored yet
};

}  // namespace gateaux
