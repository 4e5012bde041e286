#pragma once
// BFGS with a dense inverse-Hessian approximation H (n×n over all parameters, flattened in
// wrt(...) order), Nocedal & Wright Algorithm 6.1: d = −H·g, a line search gives s = α·d and
// y = ∇f_{k+1} − ∇f_k, then (ρ = 1/sᵀy)
//     H ← (I − ρ·s·yᵀ)·H·(I − ρ·y·sᵀ) + ρ·s·sᵀ = H − ρ·(s·(Hy)ᵀ + (Hy)·sᵀ) + (ρ + ρ²·yᵀHy)·s·sᵀ.
// H starts as I (the first trial step has unit length) and is replaced by (sᵀy/yᵀy)·I just before
// the first update (N&W eq. 6.20). The update is skipped when sᵀy ≤ skip_tolerance·‖s‖‖y‖. If
// rounding leaves H indefinite (−H·g not a descent direction), H restarts as (sᵀy/yᵀy)·I with the
// last pair's scale, from α = 1: a unit-length step from near a minimiser would overshoot.
// Work per iteration: two n×n matrix–vector products and one rank-2 update, O(n²), plus the
// line search's evaluations; memory 8n² bytes, refused with size_error above max_bytes.
//
// exact_line_search: α = −gᵀd / dᵀ∇²f·d from one Hessian-vector product, the exact minimiser
// along d of a quadratic; with it BFGS minimises a strictly convex quadratic in at most n
// iterations (quadratic termination of the Broyden class with exact line searches: the
// directions are conjugate with respect to ∇²f); it needs the hessian_products capability
// (checked by start(): not_applicable without it). Quadratics only: elsewhere it is a step rule
// with no decrease guarantee, and it fails (line_search_failed) where dᵀ∇²f·d ≤ 0. It keeps
// H₀ = I: with exact searches the iterates do not depend on c in H₀ = c·I (they are those of
// conjugate gradients preconditioned by H₀), so the scaling has nothing to gain, and in floating
// point it made things worse in our test (n = 50, eigenvalues in [1, 1e4]: ‖g‖ ≤ 1e-8‖g₀‖ in 50
// iterations with H₀ = I, 55–58 with the scaling, also in long double), consistent with BFGS
// correcting eigenvalues of H·∇²f that are too large much better than ones that are too small.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"

namespace gateaux {

struct bfgs_options {
    strong_wolfe line_search{};
    bool exact_line_search = false;             // quadratics: α = −gᵀd / dᵀHd
    double skip_tolerance = 1e-10;
    std::size_t max_bytes = std::size_t(1) << 30;  // for the n×n matrix
};

class bfgs final : public detail::optimizer_with_point {
public:
    explicit bfgs(bfgs_options o = {}) : o_(o) { o.line_search.check(); }
    std::string name() const override { return "bfgs"; }

    step_outcome start(objective& f, param_set& x) override {
        n_ = x.count();
        const double bytes = 8.0 * double(n_) * double(n_);
        if (bytes > double(o_.max_bytes))
            throw size_error("gateaux::bfgs: the dense inverse Hessian of n = " + std::to_string(n_) + " parameters needs " +
                             memory_string(bytes) + " (8n² bytes), above bfgs_options::max_bytes = " +
                             memory_string(double(o_.max_bytes)) + "; use lbfgs (2m·n numbers) or raise max_bytes");
        h_.assign(n_ * n_, 0.0);
        gamma_ = 0.0;
        reset();
        g_ = x.zeros_like();
        d_ = x.zeros_like();
        x_trial_ = x.zeros_like();
        g_trial_ = x.zeros_like();
        hd_ = x.zeros_like();
        flat_g_.assign(n_, 0.0), flat_d_.assign(n_, 0.0), s_.assign(n_, 0.0), y_.assign(n_, 0.0), hy_.assign(n_, 0.0);
        loss_ = f.value_and_gradient(x, g_);
        const std::string why = o_.exact_line_search ? detail::missing(f, capability_list<hessian_products>{}) : "";
        if (!why.empty()) return {step_outcome::status::not_applicable, loss_, g_.norm(), 0.0, 0.0, "bfgs: " + why};
        return {step_outcome::status::ok, loss_, g_.norm(), 0.0, 0.0, ""};
    }

    step_outcome step(objective& f, param_set& x) override {
        direction();
        double slope = g_.dot(d_);
        if (!(slope < 0.0) && updated_) {  // H lost positive definiteness to rounding: restart as γ·I
            reset();
            direction();
            slope = g_.dot(d_);
        }
        line_search_result r;
        if (o_.exact_line_search) {
            if (!exact_step(f, x, slope, r)) return failed(r.reason);
        } else {
            const double step0 = updated_ || gamma_ > 0.0 ? 1.0 : std::min(1.0 / d_.norm(), o_.line_search.max_step);
            r = o_.line_search.search(f, x, d_, loss_, slope, step0, x_trial_, g_trial_);
            if (!r.ok()) return failed(r.reason);
        }
        flatten_difference(x_trial_, x, s_);
        flatten_difference(g_trial_, g_, y_);
        update();
        x.assign(x_trial_);
        std::swap(g_, g_trial_);
        loss_ = r.loss;
        return {step_outcome::status::ok, loss_, g_.norm(), std::sqrt(detail::newton::dot(s_, s_)), r.step, ""};
    }

    // H as an n×n matrix (the reader checks its shape against this run's n), whether it has been
    // updated since the last restart, and γ, which a restart and the first trial step read.
    void state(state_archive& a) override {
        optimizer_with_point::state(a);
        tensor h = xt::empty<double>({n_, n_});
        if (!a.loading()) std::copy(h_.begin(), h_.end(), h.begin());
        a("inverse_hessian", h);
        if (a.loading()) h_.assign(h.begin(), h.end());
        a("updated", updated_), a("gamma", gamma_);
    }

private:
    static std::string memory_string(double bytes) {
        return number_string(bytes / double(std::size_t(1) << 20)) + " MiB";
    }
    // out = H·v (H symmetric, row-major; BLAS dgemv).
    void multiply(const std::vector<double>& v, std::vector<double>& out) const {
        detail::newton::matvec(h_, false, false, v, out);
    }
    static void flatten_difference(const param_set& a, const param_set& b, std::vector<double>& out) {
        std::size_t k = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            for (std::size_t j = 0; j < a[i].size(); ++j, ++k) out[k] = a[i].data()[j] - b[i].data()[j];
    }
    void direction() {
        std::size_t k = 0;
        for (const tensor& t : g_)
            for (double v : t) flat_g_[k++] = v;
        multiply(flat_g_, flat_d_);
        k = 0;
        for (tensor& t : d_)
            for (double& v : t) v = -flat_d_[k++];
    }
    // H = c·I: c = 1 at the start (and always with exact searches, see above), else the last γ.
    void reset() {
        const double c = gamma_ > 0.0 && !o_.exact_line_search ? gamma_ : 1.0;
        std::fill(h_.begin(), h_.end(), 0.0);
        for (std::size_t i = 0; i < n_; ++i) h_[i * n_ + i] = c;
        updated_ = false;
    }
    void update() {
        using detail::newton::dot;
        const double sy = dot(s_, y_), ss = dot(s_, s_), yy = dot(y_, y_);
        if (!(sy > o_.skip_tolerance * std::sqrt(ss * yy))) return;
        gamma_ = sy / yy;
        if (!updated_) reset();  // H₀ = γ·I from the first pair
        updated_ = true;
        multiply(y_, hy_);
        const double rho = 1.0 / sy, c = rho + rho * rho * dot(y_, hy_);
        for (std::size_t i = 0; i < n_; ++i) {
            double* row = h_.data() + i * n_;
            const double si = s_[i], hyi = hy_[i];
            for (std::size_t j = 0; j < n_; ++j) row[j] += c * si * s_[j] - rho * (si * hy_[j] + hyi * s_[j]);
        }
    }
    // α = −gᵀd / dᵀ∇²f·d, then one evaluation at x + α·d.
    bool exact_step(objective& f, const param_set& x, double slope, line_search_result& r) {
        hessian_products* const h = capability<hessian_products>(f);
        if (h == nullptr) {  // an objective other than the one start() checked
            r.reason = detail::lacking<hessian_products>();
            return false;
        }
        h->hessian_vector(x, d_, hd_);
        const double curvature = d_.dot(hd_);
        if (!(slope < 0.0) || !(curvature > 0.0)) {
            r.reason = "exact line search needs gᵀd < 0 and dᵀ∇²f·d > 0, got gᵀd = " + number_string(slope) +
                       ", dᵀ∇²f·d = " + number_string(curvature) + " (not a convex quadratic along d?)";
            return false;
        }
        r.step = -slope / curvature;
        x_trial_.assign(x);
        x_trial_.axpy(r.step, d_);
        r.loss = f.value_and_gradient(x_trial_, g_trial_);
        return true;
    }
    step_outcome failed(const std::string& why) const {
        return {step_outcome::status::line_search_failed, loss_, g_.norm(), 0.0, 0.0, "bfgs: " + why};
    }

    bfgs_options o_;
    std::size_t n_ = 0;
    std::vector<double> h_, flat_g_, flat_d_, s_, y_, hy_;
    param_set d_, x_trial_, g_trial_, hd_;
    bool updated_ = false;  // H has had a rank-2 update since start() or the last restart
    double gamma_ = 0.0;    // sᵀy/yᵀy of the last pair used; 0 before the first
};

}  // namespace gateaux
