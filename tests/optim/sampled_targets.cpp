// Tests of include/gateaux/optim/sampled_targets.hpp through the objective: when the sampled
// Fisher draws its targets (once per curvature sample and x, shared with the layer statistics),
// and that the draws come from the model's predictive distribution at x:
//   - exact: the expectation of the sampled Fisher over the targets, enumerated in closed form
//     (classes j with probability softmax(o)_j; for the squared error E[s·sᵀ] = I, spanned by the
//     targets o − e_j), equals the Gauss–Newton product: the true Fisher is Gauss–Newton;
//   - statistical: the mean of the objective's own sampled F·v over many draws is within six
//     standard errors of the Gauss–Newton product, also on curvature samples (then over rows too).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "fisher_networks.hpp"

namespace {

using namespace gateaux;
using namespace fisher_networks;

TEST_CASE("sampled targets: one draw per curvature sample and x, shared by F·v and the layer statistics",
          "[optim][fisher][sampled]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        INFO("seed " << seed);
        const problem pr(reg::loss, reg::w, 10, 3, 2, false, seed);
        auto f = make_objective(reg::loss, reg::w);
        f.set_data(reg::x, pr.X).set_data(reg::y, pr.Y).use_fisher(fisher_estimate::sampled, seed);
        param_set a, b;
        f.fisher_vector(pr.theta, pr.v, a);
        CHECK(f.counts.target_draws == 1);
        const tensor first = f.sampled_targets();
        REQUIRE(first.shape(0) == 10);
        // The same x: the same draw, the same matrix (CG's products within one iteration).
        for (int i = 0; i < 3; ++i) {
            f.fisher_vector(pr.theta, pr.v, b);
            CHECK(flatten(a) == flatten(b));
        }
        layer_statistics::result st;
        f.statistics(pr.theta, {.sampled_deltas = true, .output_factors = false}, st);
        CHECK(f.counts.target_draws == 1);
        CHECK(f.sampled_targets() == first);
        // resample_curvature (also without a row sample): a new draw at the next use, not before.
        f.resample_curvature();
        CHECK(f.counts.target_draws == 1);
        f.fisher_vector(pr.theta, pr.v, b);
        CHECK(f.counts.target_draws == 2);
        CHECK(f.sampled_targets() != first);
        CHECK(flatten(a) != flatten(b));
        // A new x: drawn again there; x back where it was: drawn again too (the draw in hand is x′'s).
        const tensor second = f.sampled_targets();
        param_set moved = pr.theta;
        moved[0](0, 0) += 1e-3;
        f.fisher_vector(moved, pr.v, b);
        CHECK(f.counts.target_draws == 3);
        CHECK(f.sampled_targets() != second);
        f.fisher_vector(pr.theta, pr.v, b);
        CHECK(f.counts.target_draws == 4);
        // New data (the same values): forgotten.
        f.set_data(reg::x, pr.X);
        f.fisher_vector(pr.theta, pr.v, b);
        CHECK(f.counts.target_draws == 5);
        // use_fisher with the same seed: the same sequence of draws again.
        auto h = make_objective(reg::loss, reg::w);
        h.set_data(reg::x, pr.X).set_data(reg::y, pr.Y).use_fisher(fisher_estimate::sampled, seed);
        h.fisher_vector(pr.theta, pr.v, b);
        CHECK(h.sampled_targets() == first);
        CHECK(flatten(a) == flatten(b));
    }
}

TEST_CASE("sampled targets: a new minibatch or curvature sample draws again, on its rows", "[optim][fisher][sampled]") {
    const problem pr(cls::loss, cls::w, 20, 4, 3, true, 4);
    auto f = make_objective(cls::loss, cls::w);
    f.set_data(cls::x, pr.X).set_data(cls::y, pr.Y).use_minibatches(8, 1).use_curvature_sample(5, 2);
    f.use_fisher(fisher_estimate::sampled, 3);
    param_set out;
    std::size_t draws = 0;
    for (std::size_t t = 0; t < 6; ++t) {
        f.fisher_vector(pr.theta, pr.v, out);
        f.fisher_vector(pr.theta, pr.v, out);
        CHECK(f.counts.target_draws == ++draws);
        CHECK(f.sampled_targets().shape(0) == 5);
        for (std::size_t r = 0; r < 5; ++r) {  // one-hot rows
            double s = 0.0;
            for (std::size_t j = 0; j < 3; ++j) s += f.sampled_targets()(r, j);
            CHECK(s == 1.0);
        }
        if (t % 2 == 0)
            f.resample_curvature();
        else
            f.next_batch();
    }
}

// E[F̂·v] over the targets, enumerated: Σ_b g·Σ_j q_bj·∇ℓ_b(t_bj)·(∇ℓ_b(t_bj)ᵀ·v), with targets
// t_bj and weights q_bj such that Σ_j q_bj·s_bj·s_bjᵀ = E[s_b·s_bᵀ] (s = ∂ℓ_b/∂o at target t).
template <class Loss, class... P, class XL, class YL>
std::vector<double> expected_fisher(Loss loss, params<P...> w, XL xl, YL yl, const tensor& X, const param_set& theta,
                                    const param_set& v, bool classes, double g) {
    auto forward = compile(output_of(loss));
    forward.bind(xl, X);
    bind_all(forward, w, theta);
    forward.run();
    const tensor& o = forward[output_of(loss)];
    const std::size_t B = X.shape(0), n = o.shape(1);
    std::vector<double> out(v.count(), 0.0);
    const std::vector<double> vf = flatten(v);
    for (std::size_t j = 0; j < n; ++j) {
        // Cross-entropy: class j, probability softmax(o_b)_j (s = p − e_j, E[s·sᵀ] = diag p − p·pᵀ).
        // Squared error: target o_b − e_j, weight 1 (s = e_j, Σ_j e_j·e_jᵀ = I = E[ε·εᵀ]).
        tensor T = tensor::from_shape({B, n});
        std::vector<double> q(B, 1.0);
        for (std::size_t b = 0; b < B; ++b) {
            double m = o(b, 0), z = 0.0;
            for (std::size_t i = 0; i < n; ++i) m = std::max(m, o(b, i));
            for (std::size_t i = 0; i < n; ++i) z += std::exp(o(b, i) - m);
            for (std::size_t i = 0; i < n; ++i) T(b, i) = classes ? double(i == j) : o(b, i) - double(i == j);
            if (classes) q[b] = std::exp(o(b, j) - m) / z;
        }
        const auto grads = per_sample_gradients(loss, w, xl, yl, X, T, theta);
        for (std::size_t b = 0; b < B; ++b) {
            const double a = g * q[b] * dot(grads[b], vf);
            for (std::size_t i = 0; i < out.size(); ++i) out[i] += a * grads[b][i];
        }
    }
    return out;
}

TEST_CASE("sampled targets: the true Fisher, enumerated over the targets, is the Gauss–Newton product",
          "[optim][fisher][sampled]") {
    for (const std::uint64_t seed : {1, 2, 3})
        for (const std::size_t rows : {1, 4, 7}) {
            INFO("seed " << seed << ", rows " << rows);
            {
                const problem pr(cls::loss, cls::w, rows, 4, 3, true, seed);
                auto f = make_objective(cls::loss, cls::w);
                f.set_data(cls::x, pr.X).set_data(cls::y, pr.Y);
                param_set gn;
                f.gauss_newton_vector(pr.theta, pr.v, gn);
                const auto e = expected_fisher(cls::loss, cls::w, cls::x, cls::y, pr.X, pr.theta, pr.v, true, 1.0 / double(rows));
                CHECK(rel_error(flatten(gn), e) <= 1e-12);
            }
            {
                const problem pr(reg::loss, reg::w, rows, 3, 2, false, seed);
                auto f = make_objective(reg::loss, reg::w);
                f.set_data(reg::x, pr.X).set_data(reg::y, pr.Y);
                param_set gn;
                f.gauss_newton_vector(pr.theta, pr.v, gn);
                const auto e = expected_fisher(reg::loss, reg::w, reg::x, reg::y, pr.X, pr.theta, pr.v, false, 1.0);
                CHECK(rel_error(flatten(gn), e) <= 1e-12);
            }
        }
}

// Mean and standard error of the objective's sampled F·v over `draws` resamples, against gn.
template <class F>
void check_mean(F& f, const param_set& theta, const param_set& v, const std::vector<double>& gn, std::size_t draws) {
    std::vector<double> mean(gn.size(), 0.0), sq(gn.size(), 0.0);
    param_set out;
    for (std::size_t d = 0; d < draws; ++d) {
        f.resample_curvature();
        f.fisher_vector(theta, v, out);
        const std::vector<double> u = flatten(out);
        for (std::size_t i = 0; i < u.size(); ++i) mean[i] += u[i], sq[i] += u[i] * u[i];
    }
    CHECK(f.counts.target_draws == draws);
    double scale = 0.0;
    for (double u : gn) scale = std::max(scale, std::abs(u));
    std::size_t outside = 0;
    double worst = 0.0;
    for (std::size_t i = 0; i < gn.size(); ++i) {
        mean[i] /= double(draws);
        const double var = std::max(sq[i] / double(draws) - mean[i] * mean[i], 0.0);
        const double se = std::sqrt(var / double(draws));
        const double z = std::abs(mean[i] - gn[i]) / std::max(se, 1e-14 * scale);
        worst = std::max(worst, z);
        outside += z > 6.0;
    }
    INFO("largest deviation " << worst << " standard errors over " << gn.size() << " entries");
    CHECK(outside == 0);
}

TEST_CASE("sampled targets: the mean of the sampled F·v over 4000 draws is Gauss–Newton within 6 standard errors",
          "[optim][fisher][sampled]") {
    const std::size_t draws = 4000;
    for (const std::size_t sample : {0, 3}) {
        INFO("curvature sample " << sample << " of 8 rows (the mean then runs over rows too)");
        {
            const problem pr(cls::loss, cls::w, 8, 4, 3, true, 7);
            auto full = make_objective(cls::loss, cls::w);
            full.set_data(cls::x, pr.X).set_data(cls::y, pr.Y);
            param_set gn;
            full.gauss_newton_vector(pr.theta, pr.v, gn);
            auto f = make_objective(cls::loss, cls::w);
            f.set_data(cls::x, pr.X).set_data(cls::y, pr.Y).use_curvature_sample(sample, 5).use_fisher(fisher_estimate::sampled, 9);
            check_mean(f, pr.theta, pr.v, flatten(gn), draws);
        }
        {
            const problem pr(reg::loss, reg::w, 8, 3, 2, false, 8);
            auto full = make_objective(reg::loss, reg::w);
            full.set_data(reg::x, pr.X).set_data(reg::y, pr.Y);
            param_set gn;
            full.gauss_newton_vector(pr.theta, pr.v, gn);
            auto f = make_objective(reg::loss, reg::w);
            f.set_data(reg::x, pr.X).set_data(reg::y, pr.Y).use_curvature_sample(sample, 6).use_fisher(fisher_estimate::sampled, 10);
            check_mean(f, pr.theta, pr.v, flatten(gn), draws);
        }
    }
}

}  // namespace
