// Tests for optim/adahessian.hpp: Hutchinson's estimate of diag(H) (exact over all sign vectors,
// and converging at the 1/√k rate over k probes, against the diagonal of the Hessian assembled
// column by column from hand-written H·v products), the row averaging, the path against the
// update of Yao et al. written out here with the same Rademacher draws (least squares and softmax
// regression, five problems of three sizes, several option settings), convergence, refusal of an objective
// without Hessian-vector products, and bad options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/adahessian.hpp>

#include "adaptive_problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;
using namespace gateaux::testing::adaptive;

// The explicit Hessian of the problem at x, column j = H·e_j from the hand-written product
// (blocks in order, each row-major).
std::vector<std::vector<double>> explicit_hessian(const problem& p, const param_set& x) {
    const std::size_t n = x.count();
    std::vector<std::vector<double>> h(n, std::vector<double>(n));
    param_set e = x.zeros_like();
    std::size_t j = 0;
    for (std::size_t b = 0; b < e.size(); ++b)
        for (std::size_t k = 0; k < e[b].size(); ++k, ++j) {
            e[b].data()[k] = 1.0;
            const std::vector<double> col = flat(p.hessian_vector(x, e));
            for (std::size_t i = 0; i < n; ++i) h[i][j] = col[i];
            e[b].data()[k] = 0.0;
        }
    return h;
}

// The Rademacher draws as adahessian documents them: entry after entry (blocks in order, each
// row-major), −1 where the draw's top bit is set.
void draw_signs(param_set& z, std::mt19937_64& gen) {
    for (std::size_t b = 0; b < z.size(); ++b)
        for (std::size_t k = 0; k < z[b].size(); ++k) z[b].data()[k] = (gen() >> 63) ? -1.0 : 1.0;
}

// Yao et al.'s update, written out from the hand-written gradient and H·v:
//   D = (1/s)·Σ z ⊙ H·z, rows of a matrix (and a vector, if asked) replaced by their mean (of
//   absolute values by default),
//   m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)D², x ← x − η·(m/(1 − β₁ᵗ))/((v/(1 − β₂ᵗ))^{k/2} + ε),
// D estimated at steps 1, 1 + u, ...
struct reference_run {
    std::vector<param_set> xs;
    std::vector<double> losses;
};
reference_run reference_adahessian(const problem& p, param_set x, const adahessian_options& o, std::size_t steps) {
    reference_run out{{x}, {p.loss(x)}};
    std::mt19937_64 gen(o.seed);
    param_set m = x.zeros_like(), v = x.zeros_like(), d = x.zeros_like(), z = x.zeros_like();
    for (std::size_t t = 1; t <= steps; ++t) {
        const param_set g = p.gradient(x);
        if ((t - 1) % o.update_every == 0) {
            d.fill(0.0);
            for (std::size_t i = 0; i < o.probes; ++i) {
                draw_signs(z, gen);
                const param_set hz = p.hessian_vector(x, z);
                for (std::size_t b = 0; b < d.size(); ++b)
                    for (std::size_t k = 0; k < d[b].size(); ++k)
                        d[b].data()[k] += z[b].data()[k] * hz[b].data()[k] / double(o.probes);
            }
            for (tensor& blk : d) {
                const std::size_t rows = blk.shape(0), cols = blk.shape(1);
                const bool average = rows > 1 ? o.average_rows : o.average_vectors;
                if (!average) continue;
                for (std::size_t i = 0; i < rows; ++i) {
                    double s = 0.0;
                    for (std::size_t j = 0; j < cols; ++j) s += o.average_absolute ? std::abs(blk(i, j)) : blk(i, j);
                    for (std::size_t j = 0; j < cols; ++j) blk(i, j) = s / double(cols);
                }
            }
        }
        const double c1 = 1.0 - std::pow(o.beta1, double(t)), c2 = 1.0 - std::pow(o.beta2, double(t));
        for (std::size_t b = 0; b < x.size(); ++b)
            for (std::size_t k = 0; k < x[b].size(); ++k) {
                double& mk = m[b].data()[k];
                double& vk = v[b].data()[k];
                const double dk = d[b].data()[k];
                mk = o.beta1 * mk + (1.0 - o.beta1) * g[b].data()[k];
                vk = o.beta2 * vk + (1.0 - o.beta2) * dk * dk;
                x[b].data()[k] -= o.learning_rate * (mk / c1) / (std::pow(vk / c2, 0.5 * o.hessian_power) + o.epsilon);
            }
        out.xs.push_back(x);
        out.losses.push_back(p.loss(x));
    }
    return out;
}

// The optimizer's estimate D at x (one step's worth, without averaging) from `probes` probes.
param_set estimate_of(objective& f, param_set x, std::size_t probes, std::uint64_t seed) {
    adahessian opt(adahessian_options{.probes = probes, .average_rows = false, .average_vectors = false, .seed = seed});
    opt.start(f, x);
    opt.step(f, x);
    return opt.diagonal();
}

}  // namespace

TEST_CASE("Hutchinson's estimate over all 2^P sign vectors is diag(H), and its row mean when averaged",
          "[optim][adahessian]") {
    // Least squares 10×2→3 and softmax regression: P = 9 parameters, 512 sign vectors. Averaging
    // rows of W (the three weights leaving each input) gives each row's mean diagonal; for least
    // squares that is the diagonal itself, which is constant along such a row.
    for_each_problem({1}, [](const problem& p, objective& f) {
        if (p.n != 2) return;
        const param_set x = p.start(1);
        const std::vector<std::vector<double>> h = explicit_hessian(p, x);
        auto& hv = dynamic_cast<hessian_products&>(f);
        param_set z = x.zeros_like(), hz = x.zeros_like(), d = x.zeros_like();
        const std::size_t n = x.count();
        for (std::size_t mask = 0; mask < (std::size_t(1) << n); ++mask) {
            std::size_t i = 0;
            for (tensor& t : z)
                for (double& e : t) e = (mask >> i++) & 1 ? -1.0 : 1.0;
            hv.hessian_vector(x, z, hz);
            detail::hutchinson_accumulate(z, hz, 1.0 / double(std::size_t(1) << n), d);
        }
        const std::vector<double> got = flat(d);
        double worst = 0.0;
        for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(got[i] - h[i][i]) / std::abs(h[i][i]));
        INFO(p.name);
        CHECK(worst <= 1e-13);

        detail::spatial_average(d, true, true, false);
        const std::size_t m = p.m;
        worst = 0.0;
        for (std::size_t r = 0; r < p.n; ++r) {
            double mean = 0.0;
            for (std::size_t j = 0; j < m; ++j) mean += h[r * m + j][r * m + j] / double(m);
            for (std::size_t j = 0; j < m; ++j) worst = std::max(worst, std::abs(d[0](r, j) - mean) / std::abs(mean));
            if (p.k == kind::least_squares)
                for (std::size_t j = 0; j < m; ++j)
                    CHECK(h[r * m + j][r * m + j] == Approx(h[r * m][r * m]).epsilon(1e-13));
        }
        double bias_mean = 0.0;
        for (std::size_t j = 0; j < m; ++j) bias_mean += h[p.n * m + j][p.n * m + j] / double(m);
        for (std::size_t j = 0; j < m; ++j) worst = std::max(worst, std::abs(d[1](0, j) - bias_mean) / std::abs(bias_mean));
        CHECK(worst <= 1e-13);
    });
}

TEST_CASE("Hutchinson's estimate converges to diag(H) at the rate 1/√k", "[optim][adahessian]") {
    // E‖D_k − diag H‖² = Σ_i Σ_{j≠i} H_ij² / k for k Rademacher probes. Over 24 seeds, the RMS error
    // times √k is compared with √(off-diagonal mass) at k = 16, 64, 256: each ratio in a band
    // around 1, and the three within a band of each other (a rate 1/k^a with a ≠ 1/2 would move
    // it by 4^{±(a − 1/2)} per step).
    for_each_problem({7}, [](const problem& p, objective& f) {
        const param_set x = p.start(7);
        const std::vector<std::vector<double>> h = explicit_hessian(p, x);
        const std::size_t n = h.size();
        double off = 0.0, diag = 0.0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) (i == j ? diag : off) += h[i][j] * h[i][j];
        std::vector<double> ratios;
        for (const std::size_t k : {16, 64, 256}) {
            const std::size_t seeds = 24;
            double sq = 0.0;
            for (std::uint64_t s = 0; s < seeds; ++s) {
                const std::vector<double> d = flat(estimate_of(f, x, k, 100 + s));
                for (std::size_t i = 0; i < n; ++i) sq += (d[i] - h[i][i]) * (d[i] - h[i][i]) / double(seeds);
            }
            const double ratio = std::sqrt(sq * double(k) / off);
            std::printf("adahessian, Hutchinson on %s: k = %3zu, RMS error %.3e (relative %.3e), error·√k/√offdiag = %.3f\n",
                        p.name.c_str(), k, std::sqrt(sq), std::sqrt(sq / diag), ratio);
            ratios.push_back(ratio);
            INFO(p.name << ", k = " << k);
            CHECK(ratio >= 0.7);
            CHECK(ratio <= 1.3);
        }
        const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
        INFO(p.name);
        CHECK(*hi / *lo <= 1.5);
    });
}

TEST_CASE("adahessian follows Yao et al.'s update step by step, with the documented Rademacher draws",
          "[optim][adahessian]") {
    const std::vector<adahessian_options> settings{
        adahessian_options{.learning_rate = 0.1, .seed = 3},
        adahessian_options{.learning_rate = 0.05, .beta1 = 0.5, .beta2 = 0.9, .hessian_power = 0.5, .probes = 2, .seed = 11},
        adahessian_options{.learning_rate = 0.05, .average_vectors = true, .average_absolute = false, .seed = 12},
        adahessian_options{.learning_rate = 0.2, .epsilon = 1e-2, .update_every = 3, .average_rows = false, .seed = 5},
        adahessian_options{.learning_rate = 1e-3, .beta1 = 0.0, .hessian_power = 0.0, .average_vectors = true, .seed = 8},
    };
    double worst_path = 0.0;
    for_each_problem({1, 2}, [&](const problem& p, objective& f) {
        for (const adahessian_options& o : settings) {
            INFO(p.name << ", η = " << o.learning_rate << ", k = " << o.hessian_power << ", u = " << o.update_every
                        << ", s = " << o.probes << ", seed " << o.seed);
            adahessian opt(o);
            param_set x = p.start(2);
            std::vector<param_set> got{x};
            const result r = minimize(f, x, opt, quiet(12, 0.0), [&](const iteration_record&, const param_set& q) {
                got.push_back(q);
                return true;
            });
            const reference_run want = reference_adahessian(p, p.start(2), o, 12);
            REQUIRE(got.size() == want.xs.size());
            double worst = 0.0, worst_loss = 0.0;
            for (std::size_t t = 0; t < got.size(); ++t) {
                worst = std::max(worst, relative_distance(got[t], want.xs[t]));
                // The loss each iteration reports is the loss at the point it moved to.
                worst_loss = std::max(worst_loss, std::abs(r.history[t].loss - want.losses[t]) / std::max(1.0, want.losses[t]));
            }
            worst_path = std::max(worst_path, worst);
            CHECK(worst <= 1e-10);
            CHECK(worst_loss <= 1e-12);
            CHECK(opt.hessian_estimates() == (12 + o.update_every - 1) / o.update_every);
            CHECK(r.counts.hessian_vectors == o.probes * opt.hessian_estimates());
        }
    });
    std::printf("adahessian against the written-out update: worst relative distance %.2e over 50 runs of 12 steps\n",
                worst_path);
}

TEST_CASE("adahessian with the same seed repeats its run; another seed differs", "[optim][adahessian]") {
    using G = softmax_graph<2, 3>;
    const problem p(kind::softmax, 30, 2, 3, 4);
    auto f = make_objective(G::loss, wrt(G::W, G::b));
    f.set_data(G::x, p.X).set_data(G::y, p.Y);
    adahessian opt(adahessian_options{.learning_rate = 0.1, .seed = 42});
    const std::vector<param_set> a = iterates(opt, f, p.start(4), 8);
    const std::vector<param_set> b = iterates(opt, f, p.start(4), 8);  // start() seeds again
    adahessian other(adahessian_options{.learning_rate = 0.1, .seed = 43});
    const std::vector<param_set> c = iterates(other, f, p.start(4), 8);
    CHECK(relative_distance(a.back(), b.back()) == 0.0);
    CHECK(relative_distance(a.back(), c.back()) > 1e-8);
}

TEST_CASE("adahessian converges on least squares and softmax regression", "[optim][adahessian]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        {
            using G = least_squares_graph<4, 4>;  // sizes the tests above have instantiated
            const problem p(kind::least_squares, 40, 4, 4, seed);
            auto f = make_objective(G::loss, wrt(G::W, G::b));
            f.set_data(G::x, p.X).set_data(G::y, p.Y);
            const param_set best = p.least_squares_solution();
            param_set x = p.start(seed);
            adahessian opt(adahessian_options{.learning_rate = 0.15, .seed = seed});
            const result r = minimize(f, x, opt, quiet(3000, 1e-9));
            std::printf("adahessian, %s: %s after %zu iterations, ‖θ − θ*‖∞ (relative) %.2e, %zu H·v\n", p.name.c_str(),
                        to_string(r.reason), r.iterations, relative_distance(x, best), r.counts.hessian_vectors);
            INFO(p.name << ": " << to_string(r.reason));
            CHECK(r.reason == stop_reason::gradient_tolerance);
            CHECK(relative_distance(x, best) <= 1e-6);
        }
        {
            using G = softmax_graph<2, 3>;
            const problem p(kind::softmax, 30, 2, 3, seed);
            auto f = make_objective(G::loss, wrt(G::W, G::b));
            f.set_data(G::x, p.X).set_data(G::y, p.Y);
            param_set best = p.start(seed);
            naive_newton newton;
            const result rn = minimize(f, best, newton, quiet(100, 1e-12));
            REQUIRE(rn.reason == stop_reason::gradient_tolerance);
            param_set x = p.start(seed);
            adahessian opt(adahessian_options{.learning_rate = 0.15, .seed = seed});
            const result r = minimize(f, x, opt, quiet(3000, 1e-8));
            std::printf("adahessian, %s: %s after %zu iterations, loss − L* = %.2e\n", p.name.c_str(), to_string(r.reason),
                        r.iterations, r.final_loss - rn.final_loss);
            INFO(p.name << ": " << to_string(r.reason));
            CHECK(r.reason == stop_reason::gradient_tolerance);
            CHECK(r.final_loss - rn.final_loss <= 1e-12);
        }
    }
}

TEST_CASE("adahessian's rows averaged in absolute value converge where signed row means do not", "[optim][adahessian]") {
    // Softmax regression 30×4→4: a one-probe signed row mean of z ⊙ H·z can be near zero, and the
    // step divided by it overshoots; the mean of |z ⊙ H·z| (the default) does not.
    using G = softmax_graph<4, 4>;
    const problem p(kind::softmax, 30, 4, 4, 2);
    auto f = make_objective(G::loss, wrt(G::W, G::b));
    f.set_data(G::x, p.X).set_data(G::y, p.Y);
    param_set best = p.start(2);
    naive_newton newton;
    const result rn = minimize(f, best, newton, quiet(100, 1e-12));
    REQUIRE(rn.reason == stop_reason::gradient_tolerance);
    double gap[2];
    for (const bool absolute : {true, false}) {
        param_set x = p.start(2);
        adahessian opt(adahessian_options{.average_absolute = absolute, .seed = 2});
        const result r = minimize(f, x, opt, quiet(1500, 0.0));
        gap[absolute] = r.final_loss - rn.final_loss;
        std::printf("adahessian, %s, rows averaged %s: loss − L* = %.2e after 1500 iterations\n", p.name.c_str(),
                    absolute ? "in |D|" : "with signs", gap[absolute]);
    }
    CHECK(gap[1] <= 1e-5);
    CHECK(gap[0] >= 0.1);
}

TEST_CASE("adahessian refuses an objective without H·v products, leaving x as it was", "[optim][adahessian]") {
    auto f = make_function_objective(3, [](const tensor& x, tensor& g) {
        double s = 0.0;
        for (std::size_t k = 0; k < 3; ++k) {
            s += 0.5 * x(0, k) * x(0, k);
            g(0, k) = x(0, k);
        }
        return s;
    });
    param_set x({tensor{{1.0, -2.0, 3.0}}});
    const param_set before = x;
    adahessian opt;
    const result r = minimize(static_cast<objective&>(f), x, opt, quiet(10, 0.0));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK_THAT(r.message, Catch::Contains("hessian_products"));
    CHECK(relative_distance(x, before) == 0.0);
}

TEST_CASE("adahessian on minibatches that share the minimiser converges to it", "[optim][adahessian][minibatch]") {
    // y = x·W* + b* exactly: every batch's loss is minimised at (W*, b*).
    for (const std::uint64_t seed : {1, 2, 3}) {
        using G = least_squares_graph<3, 2>;
        const problem p(kind::least_squares, 48, 3, 2, seed, 0.0);
        auto f = make_objective(G::loss, wrt(G::W, G::b));
        f.set_data(G::x, p.X).set_data(G::y, p.Y).use_minibatches(8, seed + 20);
        const param_set best = p.least_squares_solution();
        param_set x = p.start(seed);
        adahessian opt(adahessian_options{.learning_rate = 0.15, .seed = seed});
        std::size_t reached = 0;
        const result r = minimize(f, x, opt, quiet(30000, 0.0), [&](const iteration_record& rec, const param_set& q) {
            if (relative_distance(q, best) <= 1e-8) reached = rec.iteration;
            return reached == 0;
        });
        std::printf("%s, minibatches of 8 of %s: ‖θ − θ*‖∞ ≤ 1e-8 after %zu iterations\n", opt.name().c_str(), p.name.c_str(),
                    reached);
        INFO(p.name << ": " << to_string(r.reason));
        CHECK(reached > 0);
    }
}

TEST_CASE("adahessian rejects bad options with gateaux::error naming the option", "[optim][adahessian]") {
    const double nan_v = std::numeric_limits<double>::quiet_NaN(), inf_v = std::numeric_limits<double>::infinity();
    for (double v : {0.0, -0.1, nan_v, inf_v}) {
        CHECK_THROWS_WITH(adahessian(adahessian_options{.learning_rate = v}), Catch::Contains("gateaux::adahessian: learning_rate"));
        CHECK_THROWS_WITH(adahessian(adahessian_options{.epsilon = v}), Catch::Contains("gateaux::adahessian: epsilon"));
    }
    for (double v : {-0.1, 1.0, nan_v}) {
        CHECK_THROWS_WITH(adahessian(adahessian_options{.beta1 = v}), Catch::Contains("gateaux::adahessian: beta1"));
        CHECK_THROWS_WITH(adahessian(adahessian_options{.beta2 = v}), Catch::Contains("gateaux::adahessian: beta2"));
    }
    for (double v : {-0.1, 1.5, nan_v})
        CHECK_THROWS_WITH(adahessian(adahessian_options{.hessian_power = v}), Catch::Contains("gateaux::adahessian: hessian_power"));
    CHECK_THROWS_WITH(adahessian(adahessian_options{.update_every = 0}), Catch::Contains("gateaux::adahessian: update_every"));
    CHECK_THROWS_WITH(adahessian(adahessian_options{.probes = 0}), Catch::Contains("gateaux::adahessian: probes"));
    CHECK_NOTHROW(adahessian(adahessian_options{.beta1 = 0.0, .hessian_power = 0.0}));
}

