// Tests of include/gateaux/optim/objective.hpp's data handling: minibatches and the curvature
// sample (use_curvature_sample), which draws the rows that H·v, Gauss–Newton·v and the block
// inverse see while loss and gradient keep all current rows.
//
// The oracle is a linear model whose rows can be told apart: x_b = s_b·e_b (row b of x is the
// b-th unit vector scaled by s_b), out = x·W, loss = mean over the B rows of ½‖out − y‖². Then
//   gradient  row b of G = s_b·(s_b·W_b − y_b)/B          for every row b in use,
//   H·v = GN·v: row b = s_b²·V_b/k                        for b in the sample of k rows, else 0,
//   block inverse (H⁺·V): row b = k·V_b/s_b²              for b in the sample, else 0,
// so the nonzero rows of each result name the rows that were used, and their values are closed forms.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;

constexpr std::size_t n = 12, m = 3;
constexpr auto ox = input<"x", dim(n)>;
constexpr auto oy = target<"y", dim(m)>;
constexpr auto oW = param<"W", dim(n), dim(m)>;
constexpr auto oloss = mse(ox * oW, oy);

struct identifiable_rows {
    tensor x = tensor(xt::zeros<double>({n, n})), y = tensor::from_shape({n, m}), W = tensor::from_shape({n, m}),
           V = tensor::from_shape({n, m});
    explicit identifiable_rows(std::uint64_t seed) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        for (std::size_t b = 0; b < n; ++b) x(b, b) = scale(b);
        for (double& v : y) v = N(g);
        for (double& v : W) v = N(g);
        for (double& v : V) v = N(g);
    }
    static double scale(std::size_t b) { return 1.0 + 0.1 * double(b); }
};

// The rows of t that are not all zero.
std::set<std::size_t> used_rows(const tensor& t) {
    std::set<std::size_t> rows;
    for (std::size_t b = 0; b < t.shape(0); ++b)
        for (std::size_t j = 0; j < t.shape(1); ++j)
            if (t(b, j) != 0.0) rows.insert(b);
    return rows;
}

// Checks H·v, GN·v and H⁺·v against the closed forms on the sample they reveal, which must have
// k rows, the same for all three, inside `allowed`; returns the sample. Row b of H·v is
// s_b²·c·V_b: c = 1/k for the mean loss, rows/k for a sum (the objective rescales it).
template <class F>
std::set<std::size_t> check_curvature(F& f, const identifiable_rows& d, std::size_t k, const std::set<std::size_t>& allowed,
                                      double c) {
    const param_set theta({d.W}), v({d.V});
    param_set hv, gn, inv;
    f.hessian_vector(theta, v, hv);
    f.gauss_newton_vector(theta, v, gn);
    f.block_inverse(theta, v, inv);
    const std::set<std::size_t> sample = used_rows(hv[0]);
    const double vmax = xt::amax(xt::abs(d.V))();
    REQUIRE(sample.size() == k);
    CHECK(used_rows(gn[0]) == sample);
    CHECK(used_rows(inv[0]) == sample);
    for (std::size_t b : sample) {
        CHECK(allowed.count(b) == 1);
        const double s2 = identifiable_rows::scale(b) * identifiable_rows::scale(b);
        for (std::size_t j = 0; j < m; ++j) {
            CHECK(hv[0](b, j) == Approx(s2 * c * d.V(b, j)).epsilon(1e-13));
            CHECK(gn[0](b, j) == Approx(s2 * c * d.V(b, j)).epsilon(1e-13));
            // The pseudo-inverse's rounding is relative to the result's largest entry.
            CHECK(inv[0](b, j) == Approx(d.V(b, j) / (s2 * c)).epsilon(1e-12).margin(1e-13 * vmax / c));
        }
    }
    return sample;
}

std::set<std::size_t> all_rows() {
    std::set<std::size_t> r;
    for (std::size_t b = 0; b < n; ++b) r.insert(b);
    return r;
}

TEST_CASE("objective: a curvature sample of k rows; loss and gradient keep every row", "[optim][objective]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        const identifiable_rows d(seed);
        for (const std::size_t k : {1, 4, 7}) {
            INFO("seed " << seed << ", k = " << k);
            auto f = make_objective(oloss, wrt(oW));
            f.set_data(ox, d.x).set_data(oy, d.y).use_curvature_sample(k, seed);
            CHECK(f.curvature_rows() == k);
            CHECK(f.batch_rows() == n);
            // The gradient: every row, closed form.
            param_set g;
            f.value_and_gradient(param_set({d.W}), g);
            for (std::size_t b = 0; b < n; ++b)
                for (std::size_t j = 0; j < m; ++j) {
                    const double s = identifiable_rows::scale(b);
                    CHECK(g[0](b, j) == Approx(s * (s * d.W(b, j) - d.y(b, j)) / double(n)).epsilon(1e-13));
                }
            // Each draw: k rows, the closed forms on them. Over many draws every row is drawn,
            // about k/n of the time (binomial, 400 draws: the bounds are more than 6 sd away).
            std::vector<std::size_t> drawn(n, 0);
            std::set<std::set<std::size_t>> distinct;
            const std::size_t draws = 400;
            for (std::size_t t = 0; t < draws; ++t) {
                const std::set<std::size_t> s = check_curvature(f, d, k, all_rows(), 1.0 / double(k));
                distinct.insert(s);
                for (std::size_t b : s) ++drawn[b];
                f.resample_curvature();
            }
            const double p = double(k) / double(n), sd = std::sqrt(double(draws) * p * (1.0 - p));
            for (std::size_t b = 0; b < n; ++b) {
                INFO("row " << b << " drawn " << drawn[b] << " times");
                CHECK(std::abs(double(drawn[b]) - p * double(draws)) <= 6.0 * sd);
            }
            CHECK(distinct.size() > 1);
        }
    }
}

TEST_CASE("objective: a curvature sample of at least all rows, or 0, is the full curvature", "[optim][objective]") {
    const identifiable_rows d(5);
    for (const std::size_t k : {std::size_t(0), n, n + 5}) {
        INFO("k = " << k);
        auto f = make_objective(oloss, wrt(oW));
        f.set_data(ox, d.x).set_data(oy, d.y).use_curvature_sample(k, 3);
        CHECK(f.curvature_rows() == n);
        check_curvature(f, d, n, all_rows(), 1.0 / double(n));
    }
    // Switched on, then off again.
    auto f = make_objective(oloss, wrt(oW));
    f.set_data(ox, d.x).set_data(oy, d.y).use_curvature_sample(3, 3);
    check_curvature(f, d, 3, all_rows(), 1.0 / 3.0);
    f.use_curvature_sample(0);
    check_curvature(f, d, n, all_rows(), 1.0 / double(n));
}

TEST_CASE("objective: a sum loss has its sampled curvature scaled by rows/k, the explicit Hessian too",
          "[optim][objective]") {
    constexpr auto sloss = sum(squared_error(ox * oW, oy));
    const identifiable_rows d(8);
    for (const std::size_t k : {2, 5, 12}) {
        INFO("k = " << k);
        auto f = make_objective(sloss, wrt(oW));
        f.set_data(ox, d.x).set_data(oy, d.y).use_curvature_sample(k, 21);
        const std::set<std::size_t> sample = check_curvature(f, d, k, all_rows(), double(n) / double(k));
        // The explicit Hessian (n·m = 36 unknowns, W row-major): diagonal s_b²·n/k on the sample, else 0.
        const tensor H = f.hessian(param_set({d.W}), std::size_t(1) << 20);
        REQUIRE(H.shape(0) == n * m);
        for (std::size_t i = 0; i < n * m; ++i)
            for (std::size_t j = 0; j < n * m; ++j) {
                const std::size_t b = i / m;
                const double s = identifiable_rows::scale(b);
                const double want = i == j && sample.count(b) ? s * s * double(n) / double(k) : 0.0;
                CHECK(H(i, j) == Approx(want).margin(1e-13));
            }
    }
}

TEST_CASE("objective: data replaced by more rows, one tensor at a time, while a curvature sample is on",
          "[optim][objective]") {
    // set_data replaces x first, y second: in between their rows differ, and nothing may be drawn
    // (indices from x's 12 rows must not reach y's 6; under ASan, scripts/test, that would be caught).
    const identifiable_rows d(10);
    const tensor x6 = xt::view(d.x, xt::range(0, 6), xt::all()), y6 = xt::view(d.y, xt::range(0, 6), xt::all());
    for (const bool batched : {false, true}) {
        INFO((batched ? "minibatches of 8" : "full batch"));
        auto f = make_objective(oloss, wrt(oW));
        f.set_data(ox, x6).set_data(oy, y6).use_curvature_sample(4, 2);
        if (batched) f.use_minibatches(8, 3);
        check_curvature(f, d, 4, {0, 1, 2, 3, 4, 5}, 0.25);
        f.set_data(ox, d.x);
        f.set_data(oy, d.y);
        const std::size_t rows = batched ? 8 : n;
        CHECK(f.batch_rows() == rows);
        param_set g;
        f.value_and_gradient(param_set({d.W}), g);
        const std::set<std::size_t> in_use = used_rows(g[0]);
        CHECK(in_use.size() == rows);
        check_curvature(f, d, 4, in_use, 0.25);
    }
}

TEST_CASE("objective: minibatches, and a curvature sample drawn from the current minibatch", "[optim][objective]") {
    const identifiable_rows d(9);
    const std::size_t batch = 5, k = 3;
    auto f = make_objective(oloss, wrt(oW));
    f.set_data(ox, d.x).set_data(oy, d.y).use_minibatches(batch, 4).use_curvature_sample(k, 6);
    CHECK(f.minibatched());
    CHECK(f.batch_rows() == batch);
    CHECK(f.curvature_rows() == k);
    std::vector<std::size_t> seen(n, 0);
    for (std::size_t t = 0; t < 24; ++t) {
        INFO("batch " << t);
        // The gradient reveals the minibatch (its residuals are nonzero): closed form over B = 5 rows.
        param_set g;
        f.value_and_gradient(param_set({d.W}), g);
        const std::set<std::size_t> rows = used_rows(g[0]);
        REQUIRE(rows.size() == batch);
        for (std::size_t b : rows) {
            ++seen[b];
            const double s = identifiable_rows::scale(b);
            for (std::size_t j = 0; j < m; ++j)
                CHECK(g[0](b, j) == Approx(s * (s * d.W(b, j) - d.y(b, j)) / double(batch)).epsilon(1e-13));
        }
        check_curvature(f, d, k, rows, 1.0 / double(k));
        f.resample_curvature();
        check_curvature(f, d, k, rows, 1.0 / double(k));  // a new draw, still from this minibatch
        f.next_batch();
    }
    // Without replacement within an epoch of ⌊12/5⌋ = 2 batches: 24 batches show each row 8–12 times.
    for (std::size_t b = 0; b < n; ++b) {
        INFO("row " << b);
        CHECK(seen[b] >= 8);
        CHECK(seen[b] <= 12);
    }
}

TEST_CASE("objective: Gauss–Newton HF-CG with a curvature sample still converges (the gradient is exact)",
          "[optim][objective][hessian_free]") {
    // Least squares with 60 rows of 8 features; the curvature of each iteration comes from 30 of
    // them (a subsampled Newton method converges linearly, at a rate set by how well 30 rows stand
    // for 60; with 10 it needs several hundred iterations). The minimiser is the least-squares
    // solution, found by LAPACK as the oracle.
    constexpr auto lx = input<"x", 8>;
    constexpr auto ly = target<"y", 2>;
    constexpr auto lW = param<"W", 8, 2>;
    constexpr auto lloss = mse(lx * lW, ly);
    for (const std::uint64_t seed : {11, 12, 13}) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        tensor X = tensor::from_shape({60, 8}), Y = tensor::from_shape({60, 2});
        for (double& v : X) v = N(g);
        for (double& v : Y) v = N(g);
        auto f = make_objective(lloss, wrt(lW));
        f.set_data(lx, X).set_data(ly, Y).use_curvature_sample(30, seed);
        param_set theta = f.parameters_like();
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        hessian_free opt(o);
        const result r = minimize(f, theta, opt, quiet(200, 1e-10));
        INFO("seed " << seed << ": " << to_string(r.reason) << " " << r.message << " after " << r.iterations << " iterations, ‖g‖ = " << r.gradient_norm);
        CHECK(r.reason == stop_reason::gradient_tolerance);
        const tensor W = std::get<0>(xt::linalg::lstsq(X, Y));
        for (std::size_t i = 0; i < W.size(); ++i) CHECK(theta[0].data()[i] == Approx(W.data()[i]).margin(1e-9));
    }
}

// ================================================================ B-operator options

// ‖H_l·Δ_l − G_l‖/‖G_l‖ per block, H_l·Δ_l from the R-operator with the direction in block l only.
template <class F>
std::vector<double> block_residuals(F& f, const param_set& theta, const param_set& g, const param_set& step) {
    std::vector<double> res;
    for (std::size_t l = 0; l < theta.size(); ++l) {
        param_set v = theta.zeros_like(), hv;
        v[l] = step[l];
        f.hessian_vector(theta, v, hv);
        double num = 0.0, den = 0.0;
        for (std::size_t k = 0; k < g[l].size(); ++k) {
            const double d = hv[l].data()[k] - g[l].data()[k];
            num += d * d;
            den += g[l].data()[k] * g[l].data()[k];
        }
        res.push_back(std::sqrt(num / den));
    }
    return res;
}

TEST_CASE("objective options: accept_newton_solution and output_per_unit reach block_newton_step",
          "[optim][objective][bop]") {
    // Widths 10 → 4 → 3 fall above W1, so the default rules give no functional inverse (the block
    // solve serves the blocks); with accept_newton_solution W1 gets its Newton solution. A batch of
    // 7 exceeds W2's input width 4, so W2 needs output_per_unit for the functional inverse, and
    // without it the objective takes the block solve. Each block must solve H_l·Δ_l = G_l.
    constexpr auto bx = input<"x", 10>;
    constexpr auto by = target<"y", 3>;
    constexpr auto bW1 = param<"W1", 10, 4>;
    constexpr auto bW2 = param<"W2", 4, 3>;
    constexpr auto bloss = mse(leaky_relu<0.2>(bx * bW1) * bW2, by);
    auto plain = make_objective(bloss, wrt(bW1, bW2));
    CHECK(plain.has_block_inverse());
    CHECK_FALSE(plain.has_functional_inverse());
    for (const std::uint64_t seed : {1, 2, 3, 4}) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        auto draw = [&](std::size_t r, std::size_t c, double sd) {
            tensor t = tensor::from_shape({r, c});
            for (double& v : t) v = sd * N(g);
            return t;
        };
        const tensor X = draw(7, 10, 1.0), Y = draw(7, 3, 1.0);
        const param_set theta({draw(10, 4, 0.5), draw(4, 3, 0.7)});
        auto f = make_objective(bloss, wrt(bW1, bW2), accept_newton_solution, output_per_unit);
        REQUIRE(f.has_functional_inverse());
        STATIC_REQUIRE(decltype(f)::functional_inverse_rows() == 10);  // W1's input; W2's per-unit solve takes any batch
        f.set_data(bx, X).set_data(by, Y);
        param_set grad, step;
        const double loss = f.block_newton_step(theta, grad, step);
        INFO("seed " << seed);
        CHECK(f.last_inverse_route() == inverse_route::functional_inverse);
        CHECK(loss == Approx(f.value(theta)).epsilon(1e-14));
        for (const double r : block_residuals(f, theta, grad, step)) CHECK(r <= 1e-10);
        // Without output_per_unit the batch of 7 is above W2's input width 4: the block solve.
        auto narrow = make_objective(bloss, wrt(bW1, bW2), accept_newton_solution);
        STATIC_REQUIRE(decltype(narrow)::functional_inverse_rows() == 4);
        narrow.set_data(bx, X).set_data(by, Y);
        narrow.block_newton_step(theta, grad, step);
        CHECK(narrow.last_inverse_route() == inverse_route::block_solve);
        for (const double r : block_residuals(narrow, theta, grad, step)) CHECK(r <= 1e-10);
    }
}

}  // namespace
