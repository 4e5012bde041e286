// Tests for nn/init.hpp: the sample mean, variance and kurtosis of large draws of every
// Glorot/He/LeCun scheme (normal and uniform, with and without a gain) against the stated
// variance, within 5 standard errors; uniform draws inside ±sqrt(3·Var) and reaching near it;
// orthogonal matrices with WᵀW = g²I (or WWᵀ for wide ones) to 1e-12 and with the Haar
// distribution's entry moments (a Q without the sign correction fails them); initialize(...):
// blocks in wrt order with the right shapes, biases zero (by shape, or from the graph), the
// draws one seeded stream, reproducible by seed and different across seeds; the errors.
#include <catch2/catch.hpp>

#include "support/check_error.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <gateaux/nn/init.hpp>
#include <gateaux/nn/mlp.hpp>
#include <gateaux/ops/tanh.hpp>

namespace {

using namespace gateaux;

struct moments {
    double mean, variance, kurtosis, max_abs;
};

// Sample moments about zero's mean estimate; kurtosis m4/m2².
moments moments_of(const tensor& t) {
    const double n = double(t.size());
    long double s = 0.0L;
    for (double v : t) s += v;
    const double mean = double(s / n);
    long double m2 = 0.0L, m4 = 0.0L;
    double max_abs = 0.0;
    for (double v : t) {
        const long double d = v - mean;
        m2 += d * d;
        m4 += d * d * d * d;
        max_abs = std::max(max_abs, std::abs(v));
    }
    const double var = double(m2 / n);
    return {mean, var, double(m4 / n) / (var * var), max_abs};
}

struct shape2 {
    std::size_t rows, cols;
};

// The variance the header documents, computed here from the formula.
double stated_variance(init::family f, std::size_t fan_in, std::size_t fan_out, double gain) {
    switch (f) {
        case init::family::glorot: return gain * gain * 2.0 / double(fan_in + fan_out);
        case init::family::he: return gain * gain * 2.0 / double(fan_in);
        default: return gain * gain / double(fan_in);
    }
}

// ‖AᵀA − g²I‖_max (tall or square A) or ‖AAᵀ − g²I‖_max (wide A).
double orthogonality_error(const tensor& a, double gain) {
    const std::size_t r = a.shape(0), c = a.shape(1);
    const bool tall = r >= c;
    const std::size_t k = tall ? c : r, m = tall ? r : c;
    double worst = 0.0;
    for (std::size_t p = 0; p < k; ++p)
        for (std::size_t q = 0; q < k; ++q) {
            double s = 0.0;
            for (std::size_t i = 0; i < m; ++i) s += tall ? a(i, p) * a(i, q) : a(p, i) * a(q, i);
            worst = std::max(worst, std::abs(s - (p == q ? gain * gain : 0.0)));
        }
    return worst;
}


}  // namespace

TEST_CASE("init: mean, variance and shape of the Glorot, He and LeCun draws", "[nn][init]") {
    const init::scheme schemes[] = {init::glorot_normal, init::glorot_uniform, init::he_normal,
                                    init::he_uniform,    init::lecun_normal,   init::lecun_uniform};
    const shape2 shapes[] = {{256, 128}, {96, 400}, {1000, 40}, {40, 1000}};
    const double gains[] = {1.0, 0.5, 3.0};
    for (const init::scheme& base : schemes)
        for (const shape2 sh : shapes)
            for (const double gain : gains)
                for (const std::uint64_t seed : {1u, 2u}) {
                    const init::scheme s = base.with_gain(gain);
                    const double var = stated_variance(s.family, sh.rows, sh.cols, gain);
                    INFO(s.name() << " gain " << gain << ", " << sh.rows << "×" << sh.cols << ", seed " << seed);
                    CHECK(s.variance(sh.rows, sh.cols) == Approx(var).epsilon(1e-15));
                    CHECK(std::pow(s.standard_deviation(sh.rows, sh.cols), 2) == Approx(var).epsilon(1e-15));
                    std::mt19937_64 rng(seed);
                    const tensor w = init::weight(sh.rows, sh.cols, s, rng);
                    REQUIRE(w.shape(0) == sh.rows);
                    REQUIRE(w.shape(1) == sh.cols);
                    const moments m = moments_of(w);
                    const double n = double(w.size());
                    const bool normal = s.distribution == init::distribution::normal;
                    // Standard errors: of the mean σ/√n; of the variance σ²·sqrt((κ − 1)/n) with the
                    // kurtosis κ = 3 (normal) or 9/5 (uniform); of the kurtosis sqrt(v/n) with
                    // v = m8 − m4² − 4·m4·m6 + 4·m4³ in standardised moments (delta method): 24 for
                    // the normal (m4, m6, m8 = 3, 15, 105), 1.317 for the uniform (9/5, 27/7, 9).
                    const double kurt = normal ? 3.0 : 1.8, kurt_v = normal ? 24.0 : 1.317;
                    CHECK(std::abs(m.mean) <= 5.0 * std::sqrt(var / n));
                    CHECK(std::abs(m.variance - var) <= 5.0 * var * std::sqrt((kurt - 1.0) / n));
                    CHECK(std::abs(m.kurtosis - kurt) <= 5.0 * std::sqrt(kurt_v / n));
                    if (!normal) {
                        const double limit = std::sqrt(3.0 * var);
                        CHECK(m.max_abs <= limit);
                        CHECK(m.max_abs >= 0.999 * limit);  // P(all |v| < 0.999·a) = 0.999^n < 1e-14
                    } else {
                        CHECK(m.max_abs > 3.0 * std::sqrt(var));  // a normal's tails, not a uniform's
                    }
                }
}

TEST_CASE("init: orthogonal matrices, tall, square and wide, with a gain", "[nn][init]") {
    const shape2 shapes[] = {{1, 1}, {1, 7}, {7, 1}, {5, 5}, {64, 32}, {32, 64}, {128, 128}, {300, 17}};
    for (const shape2 sh : shapes)
        for (const double gain : {1.0, 0.5, std::sqrt(2.0)})
            for (const std::uint64_t seed : {1u, 2u, 3u}) {
                INFO(sh.rows << "×" << sh.cols << ", gain " << gain << ", seed " << seed);
                std::mt19937_64 rng(seed);
                tensor w = tensor::from_shape({sh.rows, sh.cols});
                init::fill(w, init::orthogonal.with_gain(gain), sh.rows, sh.cols, rng);
                CHECK(orthogonality_error(w, gain) <= 1e-12);
            }
}

// Haar-distributed Q: every entry has mean 0 and mean square 1/n (n the number of rows of a tall Q),
// and each entry is positive half the time. Householder QR alone gives R a diagonal of one sign
// and Q(0, 0) of one sign (−|a₁₁|/‖a₁‖ in LAPACK), which these moments reject.
TEST_CASE("init: orthogonal matrices are Haar distributed (entry moments)", "[nn][init]") {
    const shape2 shapes[] = {{3, 3}, {6, 3}, {3, 6}};
    constexpr std::size_t draws = 4000;
    for (const shape2 sh : shapes) {
        INFO(sh.rows << "×" << sh.cols);
        const std::size_t m = std::max(sh.rows, sh.cols);
        tensor sum = xt::zeros<double>({sh.rows, sh.cols}), sum_sq = sum, positive = sum;
        std::mt19937_64 rng(11);
        tensor w = tensor::from_shape({sh.rows, sh.cols});
        for (std::size_t d = 0; d < draws; ++d) {
            init::fill(w, init::orthogonal, sh.rows, sh.cols, rng);
            for (std::size_t i = 0; i < sh.rows; ++i)
                for (std::size_t j = 0; j < sh.cols; ++j) {
                    sum(i, j) += w(i, j);
                    sum_sq(i, j) += w(i, j) * w(i, j);
                    positive(i, j) += w(i, j) > 0.0;
                }
        }
        // Var(q) = 1/m; Var(q²) = E q⁴ − 1/m² = 3/(m(m+2)) − 1/m².
        const double sd_mean = std::sqrt(1.0 / double(m) / draws);
        const double sd_sq = std::sqrt((3.0 / double(m * (m + 2)) - 1.0 / double(m * m)) / draws);
        const double sd_half = std::sqrt(0.25 / draws);
        for (std::size_t i = 0; i < sh.rows; ++i)
            for (std::size_t j = 0; j < sh.cols; ++j) {
                INFO("entry (" << i << ", " << j << ")");
                CHECK(std::abs(sum(i, j) / draws) <= 5.0 * sd_mean);
                CHECK(std::abs(sum_sq(i, j) / draws - 1.0 / double(m)) <= 5.0 * sd_sq);
                CHECK(std::abs(positive(i, j) / draws - 0.5) <= 5.0 * sd_half);
            }
    }
}

TEST_CASE("init: initialize(wrt(...)) gives blocks in wrt order, biases zero, one seeded stream", "[nn][init]") {
    constexpr auto W1 = param<"W1", 64, 32>;
    constexpr auto b1 = bias<"b1", 32>;
    constexpr auto W2 = param<"W2", 32, 10>;
    constexpr auto b2 = bias<"b2", 10>;
    const init::scheme schemes[] = {init::glorot_normal, init::glorot_uniform, init::he_normal, init::he_uniform,
                                    init::lecun_normal,  init::lecun_uniform,  init::orthogonal};
    for (const init::scheme& s : schemes)
        for (const std::uint64_t seed : {0u, 1u, 7u, 12345u}) {
            INFO(s.name() << ", seed " << seed);
            const param_set theta = initialize(wrt(W2, b1, W1, b2), s, seed);
            REQUIRE(theta.size() == 4);
            CHECK(theta[0].shape() == std::array<std::size_t, 2>{32, 10});
            CHECK(theta[1].shape() == std::array<std::size_t, 2>{1, 32});
            CHECK(theta[2].shape() == std::array<std::size_t, 2>{64, 32});
            CHECK(theta[3].shape() == std::array<std::size_t, 2>{1, 10});
            CHECK(xt::all(xt::equal(theta[1], 0.0)));
            CHECK(xt::all(xt::equal(theta[3], 0.0)));
            CHECK(xt::any(xt::not_equal(theta[0], 0.0)));
            CHECK(xt::any(xt::not_equal(theta[2], 0.0)));

            // The documented stream: one mt19937_64(seed), the weights in wrt order, biases skipped.
            std::mt19937_64 rng(seed);
            const tensor a = init::weight(32, 10, s, rng);
            const tensor b = init::weight(64, 32, s, rng);
            CHECK(theta[0] == a);
            CHECK(theta[2] == b);

            // Reproducible by seed, different across seeds.
            const param_set again = initialize(wrt(W2, b1, W1, b2), s, seed);
            for (std::size_t i = 0; i < 4; ++i) CHECK(again[i] == theta[i]);
            const param_set other = initialize(wrt(W2, b1, W1, b2), s, seed + 1);
            CHECK(other[0] != theta[0]);
            CHECK(other[2] != theta[2]);
        }
}

TEST_CASE("init: lecun_normal is N(0, 1/fan_in) drawn in storage order", "[nn][init]") {
    // What examples/digits.cpp drew by hand before: the same numbers, bit for bit.
    std::mt19937_64 rng(7);
    std::vector<tensor> by_hand;
    for (const shape2 sh : {shape2{64, 32}, shape2{32, 10}}) {
        std::normal_distribution<double> n(0.0, 1.0 / std::sqrt(double(sh.rows)));
        tensor t = tensor::from_shape({sh.rows, sh.cols});
        for (double& v : t) v = n(rng);
        by_hand.push_back(t);
    }
    const param_set theta = initialize(wrt(param<"W1", 64, 32>, param<"W2", 32, 10>), init::lecun_normal, 7);
    CHECK(theta[0] == by_hand[0]);
    CHECK(theta[1] == by_hand[1]);
}

TEST_CASE("init: initialize(net, wrt(...)) reads the biases from the graph", "[nn][init]") {
    constexpr auto x = input<"x", 1>;
    // One input: W1 is 1×8, the shape of a bias, but the network multiplies by it.
    constexpr auto net = mlp<1, 8, 3>(x, act::tanh, act::identity, with_biases);
    constexpr auto W1 = param<"W1", 1, 8>;
    constexpr auto b1 = bias<"b1", 8>;
    constexpr auto W2 = param<"W2", 8, 3>;
    constexpr auto b2 = bias<"b2", 3>;
    for (const std::uint64_t seed : {1u, 2u}) {
        const param_set by_graph = initialize(net, wrt(W1, b1, W2, b2), init::he_uniform, seed);
        CHECK(xt::all(xt::not_equal(by_graph[0], 0.0)));
        CHECK(xt::all(xt::equal(by_graph[1], 0.0)));
        CHECK(xt::all(xt::not_equal(by_graph[2], 0.0)));
        CHECK(xt::all(xt::equal(by_graph[3], 0.0)));
        std::mt19937_64 rng(seed);
        const tensor a = init::weight(1, 8, init::he_uniform, rng);
        const tensor b = init::weight(8, 3, init::he_uniform, rng);
        CHECK(by_graph[0] == a);
        CHECK(by_graph[2] == b);
        // By shape alone, the 1×8 weight counts as a bias.
        const param_set by_shape = initialize(wrt(W1, b1, W2, b2), init::he_uniform, seed);
        CHECK(xt::all(xt::equal(by_shape[0], 0.0)));
        std::mt19937_64 rng2(seed);
        CHECK(by_shape[2] == init::weight(8, 3, init::he_uniform, rng2));
    }
}

TEST_CASE("init: errors", "[nn][init]") {
    std::mt19937_64 rng(1);
    tensor t = tensor::from_shape({3, 4});
    check_error<value_error>([&] { init::fill(t, init::he_normal, 0, 4, rng); },
                             "gateaux::init: he_normal at fan_in 0, fan_out 4: both must be ≥ 1");
    check_error<value_error>([&] { init::fill(t, init::orthogonal, 3, 0, rng); }, "orthogonal at fan_in 3, fan_out 0");
    check_error<value_error>([&] { init::fill(t, init::glorot_uniform.with_gain(-1.0), 3, 4, rng); },
                             "glorot_uniform has gain -1; it must be finite and > 0");
    check_error<value_error>([&] { init::fill(t, init::lecun_normal.with_gain(0.0), 3, 4, rng); }, "lecun_normal has gain 0");
    check_error<value_error>([&] { init::fill(t, init::he_uniform.with_gain(std::nan("")), 3, 4, rng); }, "he_uniform has gain nan");
    check_error<value_error>([&] { (void)init::orthogonal.variance(3, 4); }, "the orthogonal scheme has no variance per entry");
    // An empty tensor draws nothing.
    tensor empty = tensor::from_shape({0, 4});
    std::mt19937_64 a(5), b(5);
    init::fill(empty, init::he_normal, 1, 4, a);
    CHECK(a() == b());
}
