#pragma once
// Line searches along a direction d from x: φ(α) = f(x + α·d), with φ(0) and φ′(0) = ∇f(x)·d
// known. Every trial calls value_and_gradient, so the gradient at the accepted point comes back
// with it and the optimizer reuses it. The accepted point is always the last one evaluated:
// on success x_trial and g_trial hold x + α·d and ∇f there.
//
// Failure is a status with a reason, never an exception: d is not a descent direction
// (φ′(0) ≥ 0), no acceptable step within max_trials evaluations, or only non-finite values seen.
// Bad options (c1 ∉ (0, 1), ...) are programming errors and throw gateaux::error.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "capabilities.hpp"
#include "param_set.hpp"

namespace gateaux {

enum class line_search_status { ok, not_descent, max_trials, non_finite };

struct line_search_result {
    line_search_status status = line_search_status::ok;
    double step = 0.0;   // α
    double loss = 0.0;   // φ(α)
    double slope = 0.0;  // φ′(α) = ∇f(x + α·d)·d
    std::size_t evaluations = 0;
    bool approximate = false;  // strong_wolfe: accepted by the approximate Wolfe test (see there)
    std::string reason;        // why, when status != ok
    bool ok() const { return status == line_search_status::ok; }
};

namespace detail::ls {
struct point {
    double a, phi, dphi;  // α, φ(α), φ′(α)
    bool finite() const { return std::isfinite(phi) && std::isfinite(dphi); }
};
// x_trial = x + α·d; φ and φ′ there, the gradient left in g_trial.
inline point eval(objective& f, const param_set& x, const param_set& d, double a, param_set& x_trial, param_set& g_trial) {
    x_trial.assign(x);
    x_trial.axpy(a, d);
    const double phi = f.value_and_gradient(x_trial, g_trial);
    return {a, phi, g_trial.dot(d)};
}
inline line_search_result refuse(double phi0, double dphi0, const char* who) {
    line_search_result r;
    r.loss = phi0;
    r.slope = dphi0;
    if (!std::isfinite(phi0) || !std::isfinite(dphi0)) {
        r.status = line_search_status::non_finite;
        r.reason = std::string(who) + ": f(x) = " + number_string(phi0) + ", ∇f(x)·d = " + number_string(dphi0) + " at the start";
    } else {
        r.status = line_search_status::not_descent;
        r.reason = std::string(who) + ": d is not a descent direction (∇f(x)·d = " + number_string(dphi0) + " ≥ 0)";
    }
    return r;
}
inline line_search_result accept(const point& p, std::size_t evals, bool approximate = false) {
    return {line_search_status::ok, p.a, p.phi, p.dphi, evals, approximate, {}};
}
inline void require(bool ok, const char* what) {
    if (!ok) throw error(what);
}
}  // namespace detail::ls

// Armijo backtracking. Accept the first α = α₀·ρᵏ (k = 0, 1, ...) with sufficient decrease
//     φ(α) ≤ φ(0) + c1·α·φ′(0);
// a non-finite φ(α) counts as too long a step. Guarantees descent, not curvature (sᵀy may be
// ≤ 0): suited to gradient-like methods, not to quasi-Newton updates.
struct armijo_backtracking {
    double c1 = 1e-4;             // sufficient-decrease constant, 0 < c1 < 1
    double shrink = 0.5;          // ρ, 0 < ρ < 1
    std::size_t max_trials = 40;  // evaluations

    // The options (optimizers that take these settings check them at construction). Messages are
    // built only on failure: search() calls this on every search, which must not allocate.
    void check() const {
        if (!(c1 > 0.0 && c1 < 1.0)) throw error("gateaux::armijo_backtracking: c1 must be in (0, 1), got c1 = " + number_string(c1));
        if (!(shrink > 0.0 && shrink < 1.0))
            throw error("gateaux::armijo_backtracking: shrink must be in (0, 1), got shrink = " + number_string(shrink));
        if (max_trials == 0) throw error("gateaux::armijo_backtracking: the first step and max_trials must be > 0, got max_trials = 0");
    }

    line_search_result search(objective& f, const param_set& x, const param_set& d, double phi0, double dphi0,
                              double step0, param_set& x_trial, param_set& g_trial) const {
        using namespace detail::ls;
        check();
        if (!(step0 > 0.0))
            throw error("gateaux::armijo_backtracking: the first step and max_trials must be > 0, got a first step of " +
                        number_string(step0));
        if (!std::isfinite(phi0) || !std::isfinite(dphi0) || !(dphi0 < 0.0)) return refuse(phi0, dphi0, "armijo_backtracking");
        bool any_finite = false;
        double a = step0;
        point p{};
        for (std::size_t k = 1; k <= max_trials; ++k, a *= shrink) {
            p = eval(f, x, d, a, x_trial, g_trial);
            if (!p.finite()) continue;
            any_finite = true;
            if (p.phi <= phi0 + c1 * a * dphi0) return accept(p, k);
        }
        line_search_result r{any_finite ? line_search_status::max_trials : line_search_status::non_finite,
                             p.a, p.phi, p.dphi, max_trials, false, {}};
        r.reason = "armijo_backtracking: no sufficient decrease in " + std::to_string(max_trials) + " trials (α from " +
                   number_string(step0) + " down to " + number_string(p.a) + (any_finite ? ")" : "; every value non-finite)");
        return r;
    }
};

// Strong Wolfe (Nocedal & Wright, Algorithms 3.5 and 3.6). Accept α with
//     φ(α) ≤ φ(0) + c1·α·φ′(0)   and   |φ′(α)| ≤ c2·|φ′(0)|,        0 < c1 < c2 < 1.
// Bracketing: try α₁ = α₀, α_{i+1} = min(expand·αᵢ, max_step) until αᵢ is acceptable, or φ(αᵢ)
// breaks sufficient decrease or rises (zoom(α_{i−1}, αᵢ)), or φ′(αᵢ) ≥ 0 (zoom(αᵢ, α_{i−1})).
// Zoom keeps α_lo (best sufficient-decrease point so far) and α_hi with φ′(α_lo)(α_hi − α_lo) < 0,
// so [α_lo, α_hi] contains acceptable steps; each trial is the minimiser of the cubic through
// φ, φ′ at both ends (N&W eq. 3.59), else of the quadratic through φ(lo), φ′(lo), φ(hi), moved
// into the inner 80 % of the interval (each trial cuts it by 10 % at least; a first step 10⁴
// times too long costs five trials, where bisection would need fourteen); the midpoint when
// neither exists. A non-finite trial counts as "too long".
// c2 = 0.9 suits (L-)BFGS; 0.1 (strong_wolfe::for_cg()) a nearly exact search for CG.
//
// Near a minimiser φ(α) − φ(0) drops below the rounding error of φ, and every comparison of φ
// values becomes noise: the Armijo test, and φ(α) ≥ φ(α_lo), which sends zoom after whichever end
// was lucky. (On the tests' quadratic, ‖A‖ = 1e4, φ is computed to about 1e-13 while an L-BFGS step
// lowers it by −½φ′(0) ≈ 3e-14 once ‖g‖ ≈ 1e-5; zoom then closed in on a point past the minimum.)
// With approximate_tolerance ε > 0, φ values within ε·|φ(0)| count as equal (Hager & Zhang 2005):
//   - a trial is also accepted (result.approximate = true) under the approximate Wolfe conditions
//         |φ′(α)| ≤ c2·|φ′(0)|,   φ′(α) ≤ (2c1 − 1)·φ′(0),   φ(α) ≤ φ(0) + ε·|φ(0)|,
//     where the middle one is sufficient decrease for a quadratic φ, written with derivatives only;
//   - a trial is too long only if φ(α) is above the Armijo bound and above φ(0) + ε·|φ(0)|, or
//     above φ(α_lo) + ε·|φ(0)|; otherwise the sign of φ′(α) places it, as in their bisection;
//   - where φ(α_lo) and φ(α_hi) are that close, zoom tries the zero of the secant of φ′ (exact for
//     a quadratic φ) instead of the cubic, whose φ-difference term would be noise.
struct strong_wolfe {
    double c1 = 1e-4;
    double c2 = 0.9;
    std::size_t max_trials = 25;
    double expand = 2.0;        // bracketing growth, > 1
    double max_step = 1e10;     // α_max
    double approximate_tolerance = 1e-12;  // ε above; 0 turns the approximate test off

    static strong_wolfe for_cg() { return strong_wolfe{.c2 = 0.1}; }

    // The options (optimizers that take these settings check them at construction). Messages are
    // built only on failure: search() calls this on every search, which must not allocate.
    void check() const {
        if (!(c1 > 0.0 && c1 < c2 && c2 < 1.0))
            throw error("gateaux::strong_wolfe: requires 0 < c1 < c2 < 1, got c1 = " + number_string(c1) + ", c2 = " + number_string(c2));
        if (!(expand > 1.0 && max_trials > 0))
            throw error("gateaux::strong_wolfe: expand must be > 1 and max_trials > 0, got expand = " + number_string(expand) +
                        ", max_trials = " + std::to_string(max_trials));
        if (!(max_step > 0.0))
            throw error("gateaux::strong_wolfe: the first step must be in (0, max_step], got max_step = " + number_string(max_step));
        if (!(approximate_tolerance >= 0.0))
            throw error("gateaux::strong_wolfe: approximate_tolerance must be ≥ 0, got " + number_string(approximate_tolerance));
    }

    line_search_result search(objective& f, const param_set& x, const param_set& d, double phi0, double dphi0,
                              double step0, param_set& x_trial, param_set& g_trial) const {
        using namespace detail::ls;
        check();
        if (!(step0 > 0.0 && step0 <= max_step))
            throw error("gateaux::strong_wolfe: the first step must be in (0, max_step], got " + number_string(step0) +
                        " with max_step = " + number_string(max_step));
        if (!std::isfinite(phi0) || !std::isfinite(dphi0) || !(dphi0 < 0.0)) return refuse(phi0, dphi0, "strong_wolfe");
        std::size_t evals = 0;
        bool any_finite = false, approx = false;
        auto trial = [&](double a) {
            const point p = eval(f, x, d, a, x_trial, g_trial);
            ++evals;
            any_finite = any_finite || p.finite();
            return p;
        };
        // Armijo broken, or not better than `lo`, by more than the noise: the step is too long.
        const double noise = approximate_tolerance * std::abs(phi0);
        auto too_long = [&](const point& p, const point& lo) {
            const bool armijo_broken = p.phi > phi0 + c1 * p.a * dphi0 && !(noise > 0.0 && p.phi <= phi0 + noise);
            return !p.finite() || armijo_broken || p.phi >= lo.phi + noise;
        };
        auto acceptable = [&](const point& p) {
            approx = false;
            if (!p.finite() || std::abs(p.dphi) > -c2 * dphi0) return false;
            if (p.phi <= phi0 + c1 * p.a * dphi0) return true;
            approx = approximate_tolerance > 0.0 && p.dphi <= (2.0 * c1 - 1.0) * dphi0 &&
                     p.phi <= phi0 + approximate_tolerance * std::abs(phi0);
            return approx;
        };
        auto zoom = [&](point lo, point hi) -> line_search_result {
            while (evals < max_trials) {
                const double left = std::min(lo.a, hi.a), width = std::abs(hi.a - lo.a);
                if (width <= 1e-15 * std::max(lo.a, hi.a)) break;
                const double guess = interpolate(lo, hi, noise);
                const double a =
                    std::isnan(guess) ? left + 0.5 * width : std::clamp(guess, left + 0.1 * width, left + 0.9 * width);
                const point p = trial(a);
                if (acceptable(p)) return accept(p, evals, approx);
                if (too_long(p, lo)) {
                    hi = p;
                } else {
                    if (p.dphi * (hi.a - lo.a) >= 0.0) hi = lo;
                    lo = p;
                }
            }
            return fail(lo, hi, evals, any_finite);
        };
        point prev{0.0, phi0, dphi0};
        double a = step0;
        while (evals < max_trials) {
            const point p = trial(a);
            if (acceptable(p)) return accept(p, evals, approx);
            if (too_long(p, prev)) return zoom(prev, p);  // for α₁, φ ≥ φ(0) already breaks Armijo
            if (p.dphi >= 0.0) return zoom(p, prev);
            if (a >= max_step) break;
            prev = p;
            a = std::min(expand * a, max_step);
        }
        return fail(prev, {a, NAN, NAN}, evals, any_finite);
    }

private:
    // Minimiser of the cubic through (lo, hi) with their slopes; else of the quadratic through
    // φ(lo), φ′(lo), φ(hi); NaN when neither exists (the caller bisects). When |φ(lo) − φ(hi)| is
    // within the noise, the zero of the secant of φ′ instead (NaN unless the slopes differ).
    static double interpolate(const detail::ls::point& lo, const detail::ls::point& hi, double noise) {
        if (!lo.finite() || !hi.finite()) return NAN;
        if (noise > 0.0 && std::abs(lo.phi - hi.phi) <= noise)
            return hi.dphi != lo.dphi ? lo.a - lo.dphi * (hi.a - lo.a) / (hi.dphi - lo.dphi) : NAN;
        const double d1 = lo.dphi + hi.dphi - 3.0 * (lo.phi - hi.phi) / (lo.a - hi.a);
        const double disc = d1 * d1 - lo.dphi * hi.dphi;
        if (disc >= 0.0) {
            const double d2 = std::copysign(std::sqrt(disc), hi.a - lo.a);
            const double t = hi.a - (hi.a - lo.a) * (hi.dphi + d2 - d1) / (hi.dphi - lo.dphi + 2.0 * d2);
            if (std::isfinite(t)) return t;
        }
        const double h = hi.a - lo.a, curv = (hi.phi - lo.phi - lo.dphi * h) / (h * h);
        return curv > 0.0 ? lo.a - lo.dphi / (2.0 * curv) : NAN;
    }
    line_search_result fail(const detail::ls::point& lo, const detail::ls::point& hi, std::size_t evals,
                            bool any_finite) const {
        line_search_result r{any_finite ? line_search_status::max_trials : line_search_status::non_finite,
                             lo.a, lo.phi, lo.dphi, evals, false, {}};
        r.reason = "strong_wolfe: no step with sufficient decrease (c1 = " + number_string(c1) + ") and |φ′(α)| ≤ " +
                   number_string(c2) + "·|φ′(0)| in " + std::to_string(evals) + " evaluations (last interval [" +
                   number_string(std::min(lo.a, hi.a)) + ", " + number_string(std::max(lo.a, hi.a)) + "]" +
                   (any_finite ? ")" : "; every value non-finite)");
        return r;
    }
};

}  // namespace gateaux
