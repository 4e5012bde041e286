// optim/spectrum.hpp on small network objectives (make_objective ... set_data), against explicit
// references built here: the Hessian from the hessian_matrix capability (hessian(x, max_bytes)),
// the Gauss–Newton and Fisher matrices from their products with the unit vectors (columns of
// gauss_newton_vector, fisher_vector), each symmetrised and decomposed by LAPACK (eigh).
//
//   regression   tanh 3→5→2 with biases, sum of squared errors, 20 rows: P = 32, the Hessian
//                indefinite at these weights, Gauss–Newton of full rank (rows·outputs = 40 ≥ P)
//   classifier   tanh 4→6→3 with biases, mean cross-entropy, 6 rows: P = 51, Gauss–Newton of
//                rank ≤ rows·(classes − 1) = 12, so positive semi-definite with a null space
//
// Extremes and condition estimates against eigh at k = P (every eigenvalue is then found) and at
// k < P (Ritz values inside the spectrum, within their residuals of an eigenvalue); the
// Gauss–Newton matrix comes out positive semi-definite; Hutchinson's trace, the density's moments
// and its negative mass within their standard errors; products counted; seeded; refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

namespace {

using namespace gateaux;
using rng = std::mt19937_64;

namespace reg {
constexpr auto x = input<"x", 3>;
constexpr auto y = target<"y", 2>;
constexpr auto W1 = param<"W1", 3, 5>;
constexpr auto b1 = bias<"b1", 5>;
constexpr auto W2 = param<"W2", 5, 2>;
constexpr auto b2 = bias<"b2", 2>;
constexpr auto loss = sum(squared_error(act::tanh(x * W1 + b1) * W2 + b2, y));
constexpr std::size_t rows = 20;
}  // namespace reg

namespace cls {
constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 4, 6>;
constexpr auto b1 = bias<"b1", 6>;
constexpr auto W2 = param<"W2", 6, 3>;
constexpr auto b2 = bias<"b2", 3>;
constexpr auto loss = mean(cross_entropy(act::tanh(x * W1 + b1) * W2 + b2, y));
constexpr std::size_t rows = 6;
}  // namespace cls

tensor gaussian(std::size_t r, std::size_t c, rng& g, double sd = 1.0) {
    std::normal_distribution<double> d(0.0, sd);
    tensor t = tensor::from_shape({r, c});
    for (double& v : t) v = d(g);
    return t;
}

tensor one_hot_rows(std::size_t r, std::size_t c, rng& g) {
    tensor t = xt::zeros<double>({r, c});
    std::uniform_int_distribution<std::size_t> k(0, c - 1);
    for (std::size_t i = 0; i < r; ++i) t(i, k(g)) = 1.0;
    return t;
}

auto regression(std::uint64_t seed) {
    rng g(seed);
    auto f = make_objective(reg::loss, wrt(reg::W1, reg::b1, reg::W2, reg::b2));
    f.set_data(reg::x, gaussian(reg::rows, 3, g)).set_data(reg::y, gaussian(reg::rows, 2, g));
    return f;
}
auto classifier(std::uint64_t seed) {
    rng g(seed);
    auto f = make_objective(cls::loss, wrt(cls::W1, cls::b1, cls::W2, cls::b2));
    f.set_data(cls::x, gaussian(cls::rows, 4, g)).set_data(cls::y, one_hot_rows(cls::rows, 3, g));
    return f;
}

// Weights of scale `sd` (1.5 puts the tanh units in their curved range: an indefinite Hessian).
param_set weights(objective& f, std::uint64_t seed, double sd = 1.5) {
    rng g(seed + 1000);
    param_set x = f.parameters_like();
    for (tensor& t : x) t = gaussian(t.shape(0), t.shape(1), g, sd);
    return x;
}

// The explicit matrix of kind k: the Hessian from hessian_matrix, the others from their products
// with the unit vectors; symmetrised (H·v columns agree with their transposes to rounding).
tensor explicit_matrix(objective& f, const param_set& x, curvature_matrix k) {
    const std::size_t n = x.count();
    tensor m = tensor::from_shape({n, n});
    if (k == curvature_matrix::hessian) {
        m = capability<hessian_matrix>(f)->hessian(x, std::size_t(1) << 24);
    } else {
        const curvature_operator op = curvature_operator::find(f, k);
        param_set e = x.zeros_like(), col = x.zeros_like();
        for (std::size_t j = 0; j < n; ++j) {
            std::size_t at = j, b = 0;
            while (at >= e[b].size()) at -= e[b++].size();
            e[b].data()[at] = 1.0;
            op(x, e, col);
            e[b].data()[at] = 0.0;
            std::size_t i = 0;
            for (const tensor& t : col)
                for (double v : t) m(i++, j) = v;
        }
    }
    return 0.5 * (m + xt::transpose(m));
}

struct reference {
    std::vector<double> lambda;  // ascending
    double norm = 0.0, trace = 0.0;
};
reference decompose(const tensor& m) {
    reference r;
    const auto w = std::get<0>(xt::linalg::eigh(m));
    r.lambda.assign(w.begin(), w.end());
    for (double l : r.lambda) r.norm = std::max(r.norm, std::abs(l));
    for (std::size_t i = 0; i < m.shape(0); ++i) r.trace += m(i, i);
    return r;
}

spectrum_options lanczos_only(std::size_t k) {
    spectrum_options o;
    o.iterations = k;
    o.trace_samples = 0;
    o.density_starts = 0;
    return o;
}

// The extremes at k = P against eigh: every eigenvalue is found, so the ends and their ratio agree.
void check_exact(objective& f, const param_set& x, curvature_matrix k, std::uint64_t seed, bool compare_condition) {
    const reference ref = decompose(explicit_matrix(f, x, k));
    spectrum_options o = lanczos_only(x.count());
    o.seed = seed;
    const spectrum_result s = spectrum(f, x, k, o);
    INFO("kind " << int(k) << ", seed " << seed << ": λ = [" << ref.lambda.front() << ", " << ref.lambda.back() << "], Ritz ["
                 << s.smallest.value << ", " << s.largest.value << "]");
    CHECK(s.exact);
    CHECK(s.dimension == x.count());
    CHECK(std::abs(s.largest.value - ref.lambda.back()) <= 1e-12 * ref.norm);
    CHECK(std::abs(s.smallest.value - ref.lambda.front()) <= 1e-12 * ref.norm);
    CHECK(std::abs(std::abs(s.largest_magnitude.value) - ref.norm) <= 1e-12 * ref.norm);
    CHECK(s.largest.residual <= 1e-10 * ref.norm);
    CHECK(s.smallest.residual <= 1e-10 * ref.norm);
    if (compare_condition) {
        const double kappa = lanczos::ratio_of_ends(ref.lambda.front(), ref.lambda.back());
        // The ratio's relative error is the smaller end's: 1e-12·‖C‖/|λ_small|.
        const double small = std::min(std::abs(ref.lambda.front()), std::abs(ref.lambda.back()));
        CHECK(std::abs(s.condition_estimate - kappa) <= 2e-12 * ref.norm / small * kappa);
    }
}

}  // namespace

TEST_CASE("spectrum: Hessian extremes and condition estimate at k = P equal eigh of the explicit Hessian") {
    for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
        auto f = regression(seed);
        const param_set x = weights(f, seed);
        check_exact(f, x, curvature_matrix::hessian, seed, true);
        auto c = classifier(seed);
        check_exact(c, weights(c, seed), curvature_matrix::hessian, seed, true);
    }
    // These weights make the regression Hessian indefinite (what the test is for).
    auto f = regression(1);
    const reference ref = decompose(explicit_matrix(f, weights(f, 1), curvature_matrix::hessian));
    CHECK(ref.lambda.front() < -1e-3 * ref.norm);
}

TEST_CASE("spectrum: Gauss–Newton and Fisher extremes at k = P equal eigh of the explicit matrices (columns of their products)") {
    for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
        auto f = regression(seed);
        const param_set x = weights(f, seed);
        check_exact(f, x, curvature_matrix::gauss_newton, seed, true);  // full rank: a condition number
        check_exact(f, x, curvature_matrix::fisher, seed, false);       // rank ≤ rows = 20 < P
        auto c = classifier(seed);
        check_exact(c, weights(c, seed), curvature_matrix::gauss_newton, seed, false);  // rank ≤ 12 < P
    }
}

TEST_CASE("spectrum: for k < P the extremes lie inside the spectrum, within their residuals of an eigenvalue") {
    for (std::uint64_t seed : {5u, 6u, 7u})
        for (curvature_matrix k : {curvature_matrix::hessian, curvature_matrix::gauss_newton})
            for (std::size_t steps : {4u, 10u, 20u}) {
                auto f = regression(seed);
                const param_set x = weights(f, seed);
                const reference ref = decompose(explicit_matrix(f, x, k));
                spectrum_options o = lanczos_only(steps);
                o.seed = seed;
                const spectrum_result s = spectrum(f, x, k, o);
                INFO("kind " << int(k) << ", seed " << seed << ", k = " << steps);
                CHECK(!s.exact);
                CHECK(s.iterations == steps);
                CHECK(s.largest.value <= ref.lambda.back() + 1e-12 * ref.norm);
                CHECK(s.smallest.value >= ref.lambda.front() - 1e-12 * ref.norm);
                for (const lanczos::ritz_value& r : {s.smallest, s.largest}) {
                    double nearest = std::numeric_limits<double>::infinity();
                    for (double l : ref.lambda) nearest = std::min(nearest, std::abs(l - r.value));
                    CHECK(nearest <= r.residual + 1e-12 * ref.norm);
                    CHECK(std::abs(r.residual - r.residual_estimate) <= 1e-10 * ref.norm);
                }
                // The ends of a definite matrix give a lower bound on its condition number.
                if (k == curvature_matrix::gauss_newton)
                    CHECK(s.condition_estimate <= lanczos::ratio_of_ends(ref.lambda.front(), ref.lambda.back()) * (1 + 1e-10));
            }
}

TEST_CASE("spectrum: the Gauss–Newton matrix comes out positive semi-definite (λ_min ≥ −1e-10·λ_max)") {
    for (std::uint64_t seed : {8u, 9u, 10u, 11u, 12u})
        for (double sd : {0.5, 1.5, 3.0}) {
            auto f = regression(seed);
            auto c = classifier(seed);
            for (objective* obj : {static_cast<objective*>(&f), static_cast<objective*>(&c)}) {
                const param_set x = weights(*obj, seed, sd);
                spectrum_options o;
                o.iterations = x.count();
                o.seed = seed;
                o.density_iterations = x.count();
                const spectrum_result s = spectrum(*obj, x, curvature_matrix::gauss_newton, o);
                INFO("seed " << seed << ", sd " << sd << ", P = " << x.count() << ": [" << s.smallest.value << ", "
                             << s.largest.value << "]");
                CHECK(s.largest.value > 0.0);
                CHECK(s.smallest.value >= -1e-10 * s.largest.value);
                CHECK(s.negative_mass == 0.0);
            }
        }
}

TEST_CASE("spectrum: Hutchinson's trace within 6 standard errors of the explicit trace; the density integrates to 1") {
    for (std::uint64_t seed : {13u, 14u, 15u})
        for (curvature_matrix k : {curvature_matrix::hessian, curvature_matrix::gauss_newton}) {
            auto f = regression(seed);
            const param_set x = weights(f, seed);
            const reference ref = decompose(explicit_matrix(f, x, k));
            spectrum_options o;
            o.seed = seed;
            o.iterations = 10;
            o.trace_samples = 40;
            const spectrum_result s = spectrum(f, x, k, o);
            INFO("kind " << int(k) << ", seed " << seed << ": " << s.trace.value << " ± " << s.trace.standard_error << " vs "
                         << ref.trace);
            CHECK(s.trace.samples == 40);
            CHECK(std::abs(s.trace.value - ref.trace) <= 6.0 * s.trace.standard_error);
            CHECK(std::abs(s.density.integral - 1.0) <= 1e-8);
            CHECK(s.density.grid.size() == o.density.points);
            CHECK(s.quadrature.size() == o.density_starts);
        }
}

TEST_CASE("spectrum: the density's moments and negative mass lie within their standard errors of eigh's") {
    for (std::uint64_t seed : {16u, 17u, 18u}) {
        auto f = regression(seed);
        const param_set x = weights(f, seed);
        const reference ref = decompose(explicit_matrix(f, x, curvature_matrix::hessian));
        const std::size_t n = x.count();
        spectrum_options o;
        o.seed = seed;
        o.trace_samples = 0;
        o.density_starts = 16;
        // With as many steps as parameters each rule is the start's whole measure, so the mass
        // below a point, like every moment, is an unbiased estimate of the eigenvalues' fraction.
        o.density_iterations = n;
        const spectrum_result s = spectrum(f, x, curvature_matrix::hessian, o);
        const double cut = -o.negative_cutoff * ref.norm;
        auto per_start = [&](auto fn, double exact, const char* what) {
            double mean = 0.0, m2 = 0.0;
            for (const auto& q : s.quadrature) mean += q.integrate(fn) / double(s.quadrature.size());
            for (const auto& q : s.quadrature) m2 += std::pow(q.integrate(fn) - mean, 2);
            const double se = std::sqrt(m2 / double(s.quadrature.size() - 1) / double(s.quadrature.size()));
            INFO(what << ", seed " << seed << ": " << mean << " ± " << se << " vs " << exact);
            CHECK(std::abs(mean - exact) <= 6.0 * se + 1e-14);
            return mean;
        };
        double fraction = 0.0;
        for (double l : ref.lambda) fraction += (l < cut ? 1.0 : 0.0) / double(n);
        const double mass = per_start([&](double t) { return t < cut ? 1.0 : 0.0; }, fraction, "negative mass");
        CHECK(mass == s.negative_mass);
        CHECK(fraction > 0.0);
        for (int p = 1; p <= 4; ++p) {
            double exact = 0.0;
            for (double l : ref.lambda) exact += std::pow(l / ref.norm, p) / double(n);
            per_start([&](double t) { return std::pow(t / ref.norm, p); }, exact, "moment");
        }
    }
}

TEST_CASE("spectrum: products are counted (k + 2 + probes + starts × steps) and charged to the objective") {
    auto f = regression(19);
    const param_set x = weights(f, 19);
    spectrum_options o;
    o.iterations = 12;
    o.trace_samples = 7;
    o.density_starts = 3;
    o.density_iterations = 9;
    const std::size_t before = f.counts.gauss_newton_vectors;
    const spectrum_result s = spectrum(f, x, curvature_matrix::gauss_newton, o);
    CHECK(s.products == 12 + 2 + 7 + 3 * 9);
    CHECK(f.counts.gauss_newton_vectors - before == s.products);
    CHECK(f.counts.hessian_vectors == 0);
    // The iterations are capped at P.
    o = lanczos_only(1000);
    const spectrum_result capped = spectrum(f, x, curvature_matrix::hessian, o);
    CHECK(capped.iterations == x.count());
    CHECK(capped.products == x.count() + 2);
}

TEST_CASE("spectrum: the same seed gives the same result, another seed other draws") {
    auto f = regression(20);
    const param_set x = weights(f, 20);
    spectrum_options o;
    o.iterations = 8;
    o.seed = 5;
    const spectrum_result a = spectrum(f, x, curvature_matrix::hessian, o), b = spectrum(f, x, curvature_matrix::hessian, o);
    o.seed = 6;
    const spectrum_result c = spectrum(f, x, curvature_matrix::hessian, o);
    CHECK(a.largest.value == b.largest.value);
    CHECK(a.trace.value == b.trace.value);
    CHECK(a.density.values == b.density.values);
    CHECK(a.largest.value != c.largest.value);
    CHECK(a.trace.value != c.trace.value);
    // Each part draws from its own stream: more trace probes leave the density's starts alone.
    o.seed = 5;
    o.trace_samples = 33;
    const spectrum_result d = spectrum(f, x, curvature_matrix::hessian, o);
    CHECK(d.density.values == a.density.values);
    CHECK(d.largest.value == a.largest.value);
}

namespace {
// Value, gradient and H·v of Σ x_i², nothing else; H·v is NaN where asked to be.
class bowl final : public objective, public hessian_products {
public:
    bool broken = false;
    std::vector<std::string> names() const override { return {"x"}; }
    param_set parameters_like() const override { return param_set({tensor(xt::zeros<double>({std::size_t(1), std::size_t(3)}))}); }
    double value(const param_set& x) override { return x.dot(x); }
    double value_and_gradient(const param_set& x, param_set& g) override {
        g = x;
        g.scale(2.0);
        return x.dot(x);
    }
    void hessian_vector(const param_set&, const param_set& v, param_set& hv) override {
        hv = v;
        hv.scale(broken ? std::nan("") : 2.0);
    }
};
}  // namespace

TEST_CASE("spectrum: refusals name the missing capability, the option or the product") {
    using Catch::Matchers::Contains;
    bowl b;
    const param_set x = b.parameters_like();
    CHECK_THROWS_WITH(spectrum(b, x, curvature_matrix::gauss_newton), Contains("needs gauss_newton_products"));
    CHECK_THROWS_WITH(spectrum(b, x, curvature_matrix::fisher), Contains("needs fisher_products"));
    CHECK_THROWS_WITH(spectrum(b, x, curvature_matrix::hessian, lanczos_only(0)), Contains("iterations is 0"));
    spectrum_options o;
    o.trace_samples = 1;
    CHECK_THROWS_WITH(spectrum(b, x, curvature_matrix::hessian, o), Contains("trace_samples is 1"));
    o = {};
    o.density_iterations = 0;
    CHECK_THROWS_WITH(spectrum(b, x, curvature_matrix::hessian, o), Contains("density_iterations is 0"));
    CHECK_THROWS_AS(spectrum(b, param_set({tensor(xt::zeros<double>({std::size_t(1), std::size_t(4)}))}),
                             curvature_matrix::hessian),
                    shape_error);
    b.broken = true;
    CHECK_THROWS_AS(spectrum(b, x, curvature_matrix::hessian), value_error);
    CHECK_THROWS_WITH(spectrum(b, x, curvature_matrix::hessian), Contains("Hessian product H·v holds NaN"));
    // A graph objective without Gauss–Newton products (the loss is no sum or mean of a known loss).
    constexpr auto p = param<"p", 1, 2>;
    auto q = make_objective(sum(hadamard(p, p)), wrt(p));
    CHECK_THROWS_WITH(spectrum(q, q.parameters_like(), curvature_matrix::gauss_newton), Contains("needs gauss_newton_products"));
    // A working call on the bowl: H = 2I, every eigenvalue 2.
    b.broken = false;
    const spectrum_result s = spectrum(b, x, curvature_matrix::hessian);
    CHECK(std::abs(s.largest.value - 2.0) <= 1e-15);
    CHECK(std::abs(s.condition_estimate - 1.0) <= 1e-15);
    CHECK(s.trace.value == 6.0);
}
