// Tests for optim/adagrad.hpp: the path against Duchi et al.'s update written out here from
// hand-written gradients (least squares in three sizes, softmax regression in two), the
// accumulator, what a step reports, convergence to the least-squares solution and to the minimum
// of softmax regression, minibatches whose batches share the minimiser, and bad options.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/adagrad.hpp>

#include "adaptive_problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;
using namespace gateaux::testing::adaptive;

// G ← G + g², x ← x − η·g/(√G + ε), G₀ = initial_accumulator.
std::vector<param_set> reference_adagrad(const problem& p, param_set x, const adagrad_options& o, std::size_t steps) {
    std::vector<param_set> xs{x};
    param_set acc = x.zeros_like();
    acc.fill(o.initial_accumulator);
    for (std::size_t t = 0; t < steps; ++t) {
        const param_set g = p.gradient(x);
        for (std::size_t b = 0; b < x.size(); ++b)
            for (std::size_t k = 0; k < x[b].size(); ++k) {
                const double gk = g[b].data()[k];
                acc[b].data()[k] += gk * gk;
                x[b].data()[k] -= o.learning_rate * gk / (std::sqrt(acc[b].data()[k]) + o.epsilon);
            }
        xs.push_back(x);
    }
    return xs;
}

const std::vector<adagrad_options> settings{
    adagrad_options{.learning_rate = 0.1},
    adagrad_options{.learning_rate = 0.5, .initial_accumulator = 0.1},
    adagrad_options{.learning_rate = 0.05, .epsilon = 1e-3, .initial_accumulator = 2.0},
};

}  // namespace

TEST_CASE("adagrad follows G ← G + g², x ← x − η·g/(√G + ε) step by step", "[optim][adagrad]") {
    for_each_problem({1, 2}, [](const problem& p, objective& f) {
        for (const adagrad_options& o : settings) {
            INFO(p.name << ", η = " << o.learning_rate << ", ε = " << o.epsilon << ", G₀ = " << o.initial_accumulator);
            adagrad opt(o);
            const std::vector<param_set> got = iterates(opt, f, p.start(1), 15);
            const std::vector<param_set> want = reference_adagrad(p, p.start(1), o, 15);
            REQUIRE(got.size() == want.size());
            for (std::size_t t = 0; t < got.size(); ++t) {
                INFO("step " << t);
                CHECK(relative_distance(got[t], want[t]) <= 1e-13);
            }
        }
    });
}

TEST_CASE("adagrad's accumulator is G₀ + Σ g² over the gradients it stepped with", "[optim][adagrad]") {
    for_each_problem({3}, [](const problem& p, objective& f) {
        const adagrad_options o{.learning_rate = 0.2, .initial_accumulator = 0.25};
        adagrad opt(o);
        param_set x = p.start(3), want = x.zeros_like();
        want.fill(o.initial_accumulator);
        opt.start(f, x);
        for (int t = 0; t < 6; ++t) {
            const param_set g = p.gradient(x);
            for (std::size_t b = 0; b < g.size(); ++b)
                for (std::size_t k = 0; k < g[b].size(); ++k) want[b].data()[k] += g[b].data()[k] * g[b].data()[k];
            const param_set before = x;
            const step_outcome s = opt.step(f, x);
            INFO(p.name << ", step " << t + 1);
            CHECK(relative_distance(opt.accumulator(), want) <= 1e-13);
            // The outcome: loss and ‖g‖ at the new point, ‖Δx‖.
            param_set dx = x;
            dx.axpy(-1.0, before);
            CHECK(s.loss == Approx(p.loss(x)).epsilon(1e-12));
            CHECK(s.gradient_norm == Approx(p.gradient(x).norm()).epsilon(1e-12));
            CHECK(s.step_norm == Approx(dx.norm()).epsilon(1e-12));
        }
    });
}

TEST_CASE("adagrad converges to the least-squares solution", "[optim][adagrad]") {
    // Columns of X of scales 10^±1: the diagonal of H spans up to 1e4, which Adagrad's per-coordinate
    // steps absorb.
    for (const std::uint64_t seed : {1, 2, 3}) {
        using G = least_squares_graph<4, 4>;
        const problem p(kind::least_squares, 40, 4, 4, seed);
        auto f = make_objective(G::loss, wrt(G::W, G::b));
        f.set_data(G::x, p.X).set_data(G::y, p.Y);
        const param_set best = p.least_squares_solution();
        param_set x = p.start(seed);
        adagrad opt(adagrad_options{.learning_rate = 0.5});
        std::size_t reached = 0;
        const result r = minimize(f, x, opt, quiet(20000, 0.0), [&](const iteration_record& rec, const param_set& q) {
            if (relative_distance(q, best) <= 1e-8) reached = rec.iteration;
            return reached == 0;
        });
        std::printf("adagrad, %s: ‖θ − θ*‖∞ ≤ 1e-8 after %zu iterations\n", p.name.c_str(), reached);
        INFO(p.name << ": " << to_string(r.reason));
        CHECK(reached > 0);
    }
}

TEST_CASE("adagrad reaches the minimum of softmax regression", "[optim][adagrad]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        using G = softmax_graph<4, 4>;
        const problem p(kind::softmax, 30, 4, 4, seed);
        auto f = make_objective(G::loss, wrt(G::W, G::b));
        f.set_data(G::x, p.X).set_data(G::y, p.Y);
        param_set best = p.start(seed);
        naive_newton newton;
        const result rn = minimize(f, best, newton, quiet(100, 1e-12));
        REQUIRE(rn.reason == stop_reason::gradient_tolerance);
        param_set x = p.start(seed);
        adagrad opt(adagrad_options{.learning_rate = 0.5});
        stopping stop = quiet(20000, 1e-8);
        const result r = minimize(f, x, opt, stop);
        std::printf("adagrad, %s: ‖g‖ ≤ 1e-8 after %zu iterations, loss − L* = %.2e\n", p.name.c_str(), r.iterations,
                    r.final_loss - rn.final_loss);
        INFO(p.name << ": " << to_string(r.reason));
        CHECK(r.reason == stop_reason::gradient_tolerance);
        CHECK(r.final_loss - rn.final_loss <= 1e-12);
    }
}

TEST_CASE("adagrad on minibatches that share the minimiser converges to it", "[optim][adagrad][minibatch]") {
    // y = x·W* + b* exactly: every batch's loss is minimised at (W*, b*), so the stochastic
    // gradients vanish there and a fixed η converges.
    for (const std::uint64_t seed : {1, 2, 3}) {
        using G = least_squares_graph<3, 2>;
        const problem p(kind::least_squares, 48, 3, 2, seed, 0.0);
        auto f = make_objective(G::loss, wrt(G::W, G::b));
        f.set_data(G::x, p.X).set_data(G::y, p.Y).use_minibatches(8, seed + 20);
        const param_set best = p.least_squares_solution();
        param_set x = p.start(seed);
        adagrad opt(adagrad_options{.learning_rate = 0.5});
        std::size_t reached = 0;
        const result r = minimize(f, x, opt, quiet(30000, 0.0), [&](const iteration_record& rec, const param_set& q) {
            if (relative_distance(q, best) <= 1e-8) reached = rec.iteration;
            return reached == 0;
        });
        std::printf("adagrad, minibatches of 8 of %s: ‖θ − θ*‖∞ ≤ 1e-8 after %zu iterations\n", p.name.c_str(), reached);
        INFO(p.name << ": " << to_string(r.reason));
        CHECK(reached > 0);
    }
}

TEST_CASE("adagrad rejects bad options with gateaux::error naming the option", "[optim][adagrad]") {
    const double nan_v = std::numeric_limits<double>::quiet_NaN();
    const double inf_v = std::numeric_limits<double>::infinity();
    for (double v : {0.0, -1e-3, nan_v, inf_v}) {
        CHECK_THROWS_WITH(adagrad(adagrad_options{.learning_rate = v}), Catch::Contains("gateaux::adagrad: learning_rate"));
        CHECK_THROWS_WITH(adagrad(adagrad_options{.epsilon = v}), Catch::Contains("gateaux::adagrad: epsilon"));
    }
    for (double v : {-1e-3, nan_v, inf_v})
        CHECK_THROWS_WITH(adagrad(adagrad_options{.initial_accumulator = v}),
                          Catch::Contains("gateaux::adagrad: initial_accumulator"));
    CHECK_NOTHROW(adagrad(adagrad_options{.initial_accumulator = 0.0}));
}
