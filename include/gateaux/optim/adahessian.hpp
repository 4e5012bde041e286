#pragma once
// AdaHessian (Yao, Gholami, Shen, Mustafa, Keutzer & Mahoney 2021): Adam with the squared
// gradient replaced by a squared estimate of the Hessian's diagonal. At iteration t = 1, 2, ...
//
//     D ← (1/s)·Σ_{i=1..s} z_i ⊙ (H·z_i)        z_i Rademacher (±1, independent), s = probes
//     D ← spatial average of D (below)
//     m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·D²,
//     x ← x − η·m̂/(v̂^{k/2} + ε),   m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ),   k = hessian_power ∈ [0, 1].
//
// Hutchinson's estimate. E[z zᵀ] = I, so E[z ⊙ H·z]_i = Σ_j H_ij·E[z_i z_j] = H_ii: unbiased, and
// exact for a diagonal H; for one probe its variance in entry i is Σ_{j≠i} H_ij², the
// off-diagonal mass of row i, and for s probes that over s, so the error falls as 1/√s. Over all
// 2^P sign vectors the average is diag(H) exactly (tests/optim/adahessian.cpp checks both). One
// probe costs one H·v product (the R-operator: about two gradients), whatever P.
//
// Spatial averaging. The paper averages D over each convolution kernel's spatial positions, which
// see the same statistics, to cut the variance of a one-probe estimate. A dense layer has no
// spatial positions; here a "row" is a row of the parameter's block as the objective stores it:
// for a layer weight W of shape n_in × n_out used as net = h·W (h of shape B × n_in), row i is
// W(i, 0 .. n_out − 1), the n_out weights leaving input unit i, and its n_out entries of D are
// replaced by their mean (of absolute values by default: below). For a linear output under squared error the diagonal is constant along
// such a row (∂²L/∂W_ij² = Σ_b g·h_bi², whatever j, g the weight of a sample in the loss), so
// the average keeps the expectation and lowers the variance; in general each entry's expectation
// becomes its row's mean diagonal, which keeps the scale of each input (the factor Σ_b h_bi² that
// badly scaled inputs put on the diagonal) and gives up the variation across outputs.
//
// What is averaged: by default |D| (average_absolute, as the authors' code does over a kernel),
// whose mean over a row is at least the absolute row mean of diag(H), a conservative curvature;
// with average_absolute = false, D with its signs (the paper's formula), whose expectation is
// exactly the row mean of diag(H) but which, from one probe, can come out near zero where the
// row's off-diagonal mass is large, and then divides the step by almost nothing (ε). Measured on
// softmax regression 30×4→4 (tests/optim/adahessian.cpp), default options: with signed row means
// the loss rose from 1.74 to 2.01 and was still 0.82 above the minimum (0.928) after 1500
// iterations; with |D| it was 3e-6 above it, as without averaging. Without averaging the sign
// does not matter (v holds D²) and D is kept as estimated.
//
// A parameter of one row (a bias 1×n, or the weight of a one-input layer: the objective knows
// shapes, not roles) is averaged over its entries only with average_vectors; a column n×1 has
// one entry per row and is left as it is.
//
// The delayed Hessian update (the paper's): D is estimated at iterations 1, 1 + u, 1 + 2u, ...
// (u = update_every) and reused in between, so v is updated every iteration; the products cost
// s/u per iteration.
//
// Points and batches. D is estimated at x before the step, on the rows the objective's curvature
// sees now (the current minibatch, or its curvature sample; on a full batch with a curvature
// sample a new sample is drawn for each estimate, data_batches::resample_curvature). The
// gradient, as for Adam (optim/first_order.hpp), is the one held from the previous evaluation at
// x: on minibatches, the previous batch's. Both are unbiased at x, from different batches.
//
// Probes are drawn from a std::mt19937_64 seeded with options::seed: entry k of z (blocks in
// names() order, each row-major, probes one after the other) is +1 where the k-th draw has its
// top bit clear, −1 where set. start() seeds the generator again, so equal seeds give equal runs,
// and a run's probes can be reproduced outside the optimizer from the seed alone.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "capabilities.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux {

struct adahessian_options {
    double learning_rate = 0.15;   // η (the paper's default)
    double beta1 = 0.9;            // decay of m, 0 ≤ β₁ < 1
    double beta2 = 0.999;          // decay of v, 0 ≤ β₂ < 1
    double epsilon = 1e-4;         // ε > 0 (the authors' code)
    double hessian_power = 1.0;    // k ∈ [0, 1]: 1 is Newton-like, 0 momentum SGD
    std::size_t update_every = 1;  // u ≥ 1: D estimated every u iterations
    std::size_t probes = 1;        // s ≥ 1 Rademacher vectors per estimate
    bool average_rows = true;      // each row of a parameter with several rows over its entries
    bool average_vectors = false;  // a parameter of one row (a bias) over all its entries
    bool average_absolute = true;  // average |D| (true) or D with its signs (false)
    std::uint64_t seed = 0;
};

namespace detail {
// z ← a Rademacher vector from gen, in the order stated above.
inline void rademacher(param_set& z, std::mt19937_64& gen) {
    for (tensor& t : z)
        for (double& v : t) v = (gen() >> 63) != 0 ? -1.0 : 1.0;
}
// d += w·z ⊙ hz
inline void hutchinson_accumulate(const param_set& z, const param_set& hz, double w, param_set& d) {
    for (std::size_t b = 0; b < d.size(); ++b) {
        const double* zp = z[b].data();
        const double* hp = hz[b].data();
        double* dp = d[b].data();
        for (std::size_t k = 0, n = d[b].size(); k < n; ++k) dp[k] += w * zp[k] * hp[k];
    }
}
// Each row of a block with several rows (rows = true), and a one-row block whole (vectors = true),
// replaced by its mean, or by the mean of its absolute values (absolute = true).
inline void spatial_average(param_set& d, bool rows, bool vectors, bool absolute) {
    for (tensor& t : d) {
        const std::size_t r = t.shape(0), c = t.shape(1);
        if (!(r > 1 ? rows : vectors) || c < 2) continue;
        for (std::size_t i = 0; i < r; ++i) {
            double* row = t.data() + i * c;
            double s = 0.0;
            for (std::size_t j = 0; j < c; ++j) s += absolute ? std::abs(row[j]) : row[j];
            const double mean = s / double(c);
            for (std::size_t j = 0; j < c; ++j) row[j] = mean;
        }
    }
}
}  // namespace detail

class adahessian final : public optimizer {
public:
    using needs = capability_list<hessian_products>;

    explicit adahessian(adahessian_options o = {}) : o_(o) {
        const auto bad = [](const std::string& what, double got) {
            return error("gateaux::adahessian: " + what + ", got " + number_string(got));
        };
        if (!(o.learning_rate > 0.0 && std::isfinite(o.learning_rate)))
            throw bad("learning_rate (the learning rate) must be finite and > 0", o.learning_rate);
        if (!(o.beta1 >= 0.0 && o.beta1 < 1.0)) throw bad("beta1 must be in [0, 1)", o.beta1);
        if (!(o.beta2 >= 0.0 && o.beta2 < 1.0)) throw bad("beta2 must be in [0, 1)", o.beta2);
        if (!(o.epsilon > 0.0 && std::isfinite(o.epsilon))) throw bad("epsilon must be finite and > 0", o.epsilon);
        if (!(o.hessian_power >= 0.0 && o.hessian_power <= 1.0))
            throw bad("hessian_power (the Hessian power k) must be in [0, 1]", o.hessian_power);
        if (o.update_every == 0) throw error("gateaux::adahessian: update_every must be >= 1, got 0");
        if (o.probes == 0) throw error("gateaux::adahessian: probes must be >= 1, got 0");
    }
    std::string name() const override { return "adahessian"; }

    // The estimate D (averaged) the last step used, shaped like the parameters.
    const param_set& diagonal() const { return d_; }
    // Estimates made since start(); each cost options::probes products.
    std::size_t hessian_estimates() const { return estimates_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        m_ = x.zeros_like();
        v_ = x.zeros_like();
        d_ = x.zeros_like();
        z_ = x.zeros_like();
        hz_ = x.zeros_like();
        t_ = estimates_ = 0;
        gen_.seed(o_.seed);
        loss_ = f.value_and_gradient(x, g_);
        if (std::string why = detail::missing(f, needs{}); !why.empty())
            return {step_outcome::status::not_applicable, loss_, g_.norm(), 0.0, 0.0, name() + ": " + why};
        return {step_outcome::status::ok, loss_, g_.norm(), 0.0, o_.learning_rate, ""};
    }

    step_outcome step(objective& f, param_set& x) override {
        hessian_products* const h = capability<hessian_products>(f);
        if (h == nullptr)  // an objective other than the one start() checked
            return {step_outcome::status::not_applicable, loss_, g_.norm(), 0.0, 0.0,
                    name() + ": " + detail::lacking<hessian_products>()};
        if (t_ % o_.update_every == 0) estimate(f, *h, x);
        ++t_;
        const double b1 = o_.beta1, b2 = o_.beta2, half_k = 0.5 * o_.hessian_power;
        const double c1 = 1.0 - std::pow(b1, double(t_)), c2 = 1.0 - std::pow(b2, double(t_));
        double moved = 0.0;
        for (std::size_t b = 0; b < x.size(); ++b) {
            double* xp = x[b].data();
            double* mp = m_[b].data();
            double* vp = v_[b].data();
            const double* gp = g_[b].data();
            const double* dp = d_[b].data();
            for (std::size_t k = 0, n = x[b].size(); k < n; ++k) {
                mp[k] = b1 * mp[k] + (1.0 - b1) * gp[k];
                vp[k] = b2 * vp[k] + (1.0 - b2) * dp[k] * dp[k];
                const double dx = -o_.learning_rate * (mp[k] / c1) / (std::pow(vp[k] / c2, half_k) + o_.epsilon);
                xp[k] += dx;
                moved += dx * dx;
            }
        }
        loss_ = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss_, g_.norm(), std::sqrt(moved), o_.learning_rate, ""};
    }

    // D is reused until the next estimate; the generator is saved whole, so that the probes
    // continue its sequence where start() would restart it from the seed.
    void state(state_archive& a) override {
        a("loss", loss_), a("gradient", g_), a("first_moment", m_), a("second_moment", v_), a("diagonal", d_);
        a("t", t_), a("estimates", estimates_), a("generator", gen_);
    }

private:
    // D at x from options::probes products, averaged as the options say.
    void estimate(objective& f, hessian_products& h, const param_set& x) {
        if (auto* rows = capability<data_batches>(f); rows != nullptr && !rows->minibatched()) rows->resample_curvature();
        d_.fill(0.0);
        const double w = 1.0 / double(o_.probes);
        for (std::size_t i = 0; i < o_.probes; ++i) {
            detail::rademacher(z_, gen_);
            h.hessian_vector(x, z_, hz_);
            detail::hutchinson_accumulate(z_, hz_, w, d_);
        }
        detail::spatial_average(d_, o_.average_rows, o_.average_vectors, o_.average_absolute);
        ++estimates_;
    }

    adahessian_options o_;
    param_set g_, m_, v_, d_, z_, hz_;
    double loss_ = 0.0;
    std::size_t t_ = 0, estimates_ = 0;
    std::mt19937_64 gen_;
};

}  // namespace gateaux
