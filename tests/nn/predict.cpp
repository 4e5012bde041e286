// Tests for nn/predict.hpp: predict(out, wrt(...), theta, x, X, batch_rows) against a forward pass
// written here with xtensor products and activations, to 1e-12, for networks with and without
// biases (tanh, leaky ReLU, a softmax output, a hand-written expression with wrt(...) in another
// order and naming a parameter the output does not use), at batch_rows 1, 7, rows, more than rows
// and the default, over several row counts (one batch, several, a last smaller one) and seeds; X
// and theta unchanged; no rows; the errors and their messages.
#include <catch2/catch.hpp>

#include "support/check_error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/nn/mlp.hpp>
#include <gateaux/nn/predict.hpp>
#include <gateaux/ops/leaky_relu.hpp>
#include <gateaux/ops/softmax.hpp>
#include <gateaux/ops/tanh.hpp>

namespace {

using namespace gateaux;

tensor normal(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> d(0.0, 1.0);
    tensor t = tensor::from_shape({rows, cols});
    for (double& v : t) v = d(g);
    return t;
}

// Random blocks of the parameters' shapes (biases nonzero too).
template <class... P>
param_set random_params(params<P...>, std::uint64_t seed) {
    std::uint64_t s = seed * 1000;
    return param_set(std::vector<tensor>{normal(std::size_t(P::rows), std::size_t(P::cols), ++s)...});
}

// The oracle's layer: h·W (+ b) through xtensor-blas.
tensor affine(const tensor& h, const tensor& w, const tensor* b = nullptr) {
    tensor z = xt::linalg::dot(h, w);
    if (b != nullptr) z = z + *b;  // the 1×n row broadcasts over the rows
    return z;
}
tensor leaky(const tensor& z, double slope) { return xt::where(z > 0.0, z, slope * z); }
tensor softmax_rows(const tensor& z) {
    tensor p = z;
    for (std::size_t i = 0; i < z.shape(0); ++i) {
        double m = z(i, 0), s = 0.0;
        for (std::size_t j = 1; j < z.shape(1); ++j) m = std::max(m, z(i, j));
        for (std::size_t j = 0; j < z.shape(1); ++j) s += p(i, j) = std::exp(z(i, j) - m);
        for (std::size_t j = 0; j < z.shape(1); ++j) p(i, j) /= s;
    }
    return p;
}

double max_abs_diff(const tensor& a, const tensor& b) {
    REQUIRE(a.shape() == b.shape());
    double m = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) m = std::max(m, std::abs(a.data()[k] - b.data()[k]));
    return m;
}

constexpr std::size_t row_counts[] = {1, 13, 100, 2500};
constexpr std::uint64_t seeds[] = {1, 2, 3};

// For every row count, seed and batch_rows: predict equals the oracle and changes neither X nor
// theta.
template <class Out, class W, class XLeaf, class Oracle>
void check_against(Out out, W w, XLeaf x, Oracle oracle) {
    for (const std::size_t n : row_counts)
        for (const std::uint64_t seed : seeds) {
            const tensor X = normal(n, std::size_t(XLeaf::cols), seed + 100);
            const param_set theta = random_params(w, seed);
            const tensor X0 = X;
            const param_set theta0 = theta;
            const tensor expected = oracle(X, theta);
            REQUIRE(expected.shape(0) == n);
            REQUIRE(expected.shape(1) == std::size_t(Out::cols));
            for (const std::size_t b : {std::size_t(1), std::size_t(7), n, n + 5, std::size_t(0)}) {
                if (b == 1 && n > 100) continue;  // 2500 one-row runs say nothing 100 did not
                INFO(to_string(out) << ": " << n << " rows, seed " << seed << ", batch_rows " << (b == 0 ? "default" : std::to_string(b)));
                const tensor got = b == 0 ? predict(out, w, theta, x, X) : predict(out, w, theta, x, X, b);
                CHECK(max_abs_diff(got, expected) <= 1e-12);
            }
            CHECK(X == X0);
            for (std::size_t i = 0; i < theta.size(); ++i) CHECK(theta[i] == theta0[i]);
        }
}


}  // namespace

TEST_CASE("predict: a tanh network with biases", "[nn][predict]") {
    constexpr auto x = input<"x", 5>;
    constexpr auto out = mlp<5, 7, 3>(x, act::tanh, act::identity, with_biases);
    constexpr auto w = wrt(param<"W1", 5, 7>, bias<"b1", 7>, param<"W2", 7, 3>, bias<"b2", 3>);
    check_against(out, w, x, [](const tensor& X, const param_set& p) {
        return affine(xt::tanh(affine(X, p[0], &p[1])), p[2], &p[3]);
    });
}

TEST_CASE("predict: a leaky ReLU network without biases", "[nn][predict]") {
    constexpr auto x = input<"x", 6>;
    constexpr auto out = mlp<6, 8, 5, 4>(x, act::leaky_relu<0.1>, act::identity);
    constexpr auto w = wrt(param<"W1", 6, 8>, param<"W2", 8, 5>, param<"W3", 5, 4>);
    check_against(out, w, x, [](const tensor& X, const param_set& p) {
        return affine(leaky(affine(leaky(affine(X, p[0]), 0.1), p[1]), 0.1), p[2]);
    });
}

TEST_CASE("predict: a softmax output, wrt(...) in another order and naming an unused parameter", "[nn][predict]") {
    constexpr auto x = input<"x", 4>;
    constexpr auto V1 = param<"V1", 4, 9>;
    constexpr auto c1 = bias<"c1", 9>;
    constexpr auto V2 = param<"V2", 9, 3>;
    constexpr auto U = param<"U", 2, 2>;
    constexpr auto out = softmax(leaky_relu<0.2>(x * V1 + c1) * V2);
    constexpr auto w = wrt(V2, U, c1, V1);
    check_against(out, w, x, [](const tensor& X, const param_set& p) {
        return softmax_rows(affine(leaky(affine(X, p[3], &p[2]), 0.2), p[0]));
    });
}

TEST_CASE("predict: no rows, and the errors", "[nn][predict]") {
    constexpr auto x = input<"x", 5>;
    constexpr auto out = mlp<5, 7, 3>(x, act::tanh, act::identity, with_biases);
    constexpr auto w = wrt(param<"W1", 5, 7>, bias<"b1", 7>, param<"W2", 7, 3>, bias<"b2", 3>);
    const param_set theta = random_params(w, 1);
    const tensor X = normal(10, 5, 2);

    const tensor none = predict(out, w, theta, x, tensor::from_shape({0, 5}));
    CHECK(none.shape(0) == 0);
    CHECK(none.shape(1) == 3);

    check_error<shape_error>([&] { predict(out, w, param_set({theta[0], theta[1], theta[2]}), x, X); },
                             "gateaux::predict: theta has 3 blocks, wrt(...) names 4 parameters");
    check_error<shape_error>([&] { predict(out, w, param_set({xt::transpose(theta[0]), theta[1], theta[2], theta[3]}), x, X); },
                             "gateaux::predict: parameter 'W1' must be 5×7, theta's block 0 is 7×5");
    check_error<shape_error>([&] { predict(out, w, param_set({theta[0], theta[1], theta[2], tensor(xt::zeros<double>({3, 1}))}), x, X); },
                             "parameter 'b2' must be 1×3, theta's block 3 is 3×1");
    check_error<shape_error>([&] { predict(out, w, theta, x, normal(10, 4, 3)); },
                             "gateaux::predict: input 'x' must be B×5, got 10×4");
    tensor bad = X;
    bad(3, 2) = std::nan("");
    const tensor bad0 = bad;
    check_error<value_error>([&] { predict(out, w, theta, x, bad, 2); },
                             "gateaux::predict: input 'x' has a non-finite value nan at (3, 2)");
    CHECK(xt::all(xt::equal(bad, bad0) || xt::isnan(bad0)));
    check_error<value_error>([&] { predict(out, w, theta, x, X, 0); }, "gateaux::predict: batch_rows must be ≥ 1");
}
