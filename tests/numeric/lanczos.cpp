// numeric/lanczos.hpp on explicit symmetric matrices A = Q·diag(λ)·Qᵀ (Q the orthogonal factor of
// a Gaussian matrix) whose eigenvalues the tests take from LAPACK (xt::linalg::eigh of A, not the
// λ that built it): definite and indefinite, clustered and spread spectra, exact multiplicities;
// sizes 8 to 400, several seeds. Lanczos with k = n recovers every eigenvalue, its extremes
// converge for k < n, residuals bound the distance to the spectrum; each start's Gauss rule is
// exact for polynomials of degree < 2k; SLQ's moments and Hutchinson's trace lie within their
// standard errors of tr(Aᵖ)/n and tr A; the broadened density integrates to 1; refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/core/tensor.hpp>
#include <gateaux/numeric/lanczos.hpp>

namespace {

using gateaux::tensor;
namespace lz = gateaux::lanczos;
using rng = std::mt19937_64;

enum class kind { definite_spread, indefinite, clustered, repeated, isolated_ends };

const char* name(kind k) {
    switch (k) {
        case kind::definite_spread: return "definite, spread";
        case kind::indefinite: return "indefinite";
        case kind::clustered: return "clustered";
        case kind::repeated: return "repeated";
        case kind::isolated_ends: return "definite, isolated ends";
    }
    return "?";
}

// The eigenvalues that build A.
std::vector<double> eigenvalues(kind k, std::size_t n, rng& g) {
    std::vector<double> l(n);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = n > 1 ? double(i) / double(n - 1) : 0.0;
        switch (k) {
            case kind::definite_spread: l[i] = std::pow(10.0, -3.0 + 6.0 * t); break;  // 1e-3 … 1e3
            case kind::indefinite: l[i] = -3.0 + 10.0 * u(g); break;                     // [−3, 7]
            case kind::clustered:  // two tight clusters (1e-6 wide) and three outliers, as a network's Hessian
                l[i] = i == 0 ? -2.0 : i == 1 ? 40.0 : i == 2 ? 9.0 : (i % 2 ? 1.0 : 0.01) + 1e-6 * u(g);
                break;
            case kind::repeated: l[i] = double(i % 4) - 1.0; break;  // −1, 0, 1, 2, each n/4 times
            case kind::isolated_ends: l[i] = i == 0 ? 0.05 : i == 1 ? 50.0 : 1.0 + u(g); break;  // κ = 1000
        }
    }
    return l;
}

struct problem {
    tensor a;
    std::vector<double> lambda;  // eigh(A), ascending
    tensor u;                    // eigh(A)'s eigenvectors, as columns
    double norm = 0.0;           // max |λ|
    lz::product op() const {
        return [this](std::span<const double> v, std::span<double> out) {
            const std::size_t n = a.shape(0);
            for (std::size_t i = 0; i < n; ++i) {
                double s = 0.0;
                for (std::size_t j = 0; j < n; ++j) s += a(i, j) * v[j];
                out[i] = s;
            }
        };
    }
    // vᵀ·p(A)·v/‖v‖² from the eigendecomposition.
    template <class F>
    double form(const std::vector<double>& v, F p) const {
        const std::size_t n = a.shape(0);
        double s = 0.0, vv = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            double c = 0.0;
            for (std::size_t j = 0; j < n; ++j) c += u(j, i) * v[j];
            s += c * c * p(lambda[i]);
            vv += v[i] * v[i];
        }
        return s / vv;
    }
};

problem make(kind k, std::size_t n, std::uint64_t seed) {
    rng g(seed);
    const std::vector<double> l = eigenvalues(k, n, g);
    std::normal_distribution<double> d;
    tensor m = tensor::from_shape({n, n});
    for (double& v : m) v = d(g);
    const tensor q = std::get<0>(xt::linalg::qr(m));
    problem p;
    p.a = tensor::from_shape({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            double s = 0.0;
            for (std::size_t c = 0; c < n; ++c) s += q(i, c) * l[c] * q(j, c);
            p.a(i, j) = p.a(j, i) = s;
        }
    auto [w, vec] = xt::linalg::eigh(p.a);
    p.lambda.assign(w.begin(), w.end());
    p.u = vec;
    for (double x : p.lambda) p.norm = std::max(p.norm, std::abs(x));
    return p;
}

std::vector<double> rademacher(std::size_t n, rng& g) {
    std::vector<double> v(n);
    lz::rademacher(g, v);
    return v;
}

const kind all_kinds[] = {kind::definite_spread, kind::indefinite, kind::clustered, kind::repeated};

}  // namespace

TEST_CASE("lanczos: k = n steps recover every eigenvalue to 1e-12·‖A‖ (LAPACK eigh of A as reference)") {
    for (kind k : all_kinds)
        for (std::size_t n : {8u, 40u, 150u})
            for (std::uint64_t seed : {1u, 2u, 3u}) {
                const problem p = make(k, n, seed);
                rng g(seed + 100);
                const lz::extremes_result e = lz::extremes(p.op(), rademacher(n, g), n, g);
                INFO(name(k) << ", n = " << n << ", seed " << seed << ", restarts " << e.restarts);
                REQUIRE(e.ritz_values.size() == n);
                CHECK(e.exact);
                double worst = 0.0;
                for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(e.ritz_values[i] - p.lambda[i]));
                CHECK(worst <= 1e-12 * p.norm);
                // Multiplicities need restarts: a Krylov space holds at most one vector per
                // distinct eigenvalue (4 here).
                if (k == kind::repeated) CHECK(e.restarts >= n / 4 - 1);
                if (k == kind::indefinite || k == kind::definite_spread) CHECK(e.restarts == 0);
            }
}

TEST_CASE("lanczos: the extremes converge for k < n (isolated ends, n = 400, k = 80)") {
    for (kind k : {kind::isolated_ends, kind::clustered})
        for (std::uint64_t seed : {4u, 5u, 6u}) {
            const problem p = make(k, 400, seed);
            rng g(seed);
            const lz::extremes_result e = lz::extremes(p.op(), rademacher(400, g), 80, g);
            INFO(name(k) << ", seed " << seed << ": " << e.smallest.value - p.lambda.front() << ", "
                         << e.largest.value - p.lambda.back());
            CHECK(!e.exact);
            CHECK(std::abs(e.largest.value - p.lambda.back()) <= 1e-12 * p.norm);
            CHECK(std::abs(e.smallest.value - p.lambda.front()) <= 1e-12 * p.norm);
            CHECK(e.largest.residual <= 1e-6 * p.norm);
            CHECK(e.largest_magnitude.value == (std::abs(e.largest.value) >= std::abs(e.smallest.value) ? e.largest.value
                                                                                                          : e.smallest.value));
            const double kappa = lz::ratio_of_ends(p.lambda.front(), p.lambda.back());
            CHECK(std::abs(e.condition_estimate - kappa) <= 1e-9 * kappa);
            CHECK(e.products == 82);
        }
}

TEST_CASE("lanczos: extremes move outwards with k and stay inside [λ_min, λ_max] (interlacing)") {
    for (kind k : {kind::indefinite, kind::definite_spread})
        for (std::uint64_t seed : {7u, 8u}) {
            const std::size_t n = 120;
            const problem p = make(k, n, seed);
            double lo = std::numeric_limits<double>::infinity(), hi = -lo;
            for (std::size_t steps = 1; steps <= 40; steps += 3) {
                rng g(seed);  // the same start every time
                const lz::extremes_result e = lz::extremes(p.op(), rademacher(n, g), steps, g);
                INFO(name(k) << ", seed " << seed << ", k = " << steps);
                CHECK(e.smallest.value <= lo + 1e-13 * p.norm);
                CHECK(e.largest.value >= hi - 1e-13 * p.norm);
                CHECK(e.smallest.value >= p.lambda.front() - 1e-13 * p.norm);
                CHECK(e.largest.value <= p.lambda.back() + 1e-13 * p.norm);
                lo = e.smallest.value, hi = e.largest.value;
            }
        }
}

TEST_CASE("lanczos: the residual ‖A·y − θ·y‖ equals β_k·|s_k| and bounds the distance to an eigenvalue") {
    for (kind k : all_kinds)
        for (std::uint64_t seed : {9u, 10u})
            for (std::size_t steps : {5u, 15u, 30u}) {
                const std::size_t n = 90;
                const problem p = make(k, n, seed);
                rng g(seed);
                const lz::extremes_result e = lz::extremes(p.op(), rademacher(n, g), steps, g);
                for (const lz::ritz_value& r : {e.smallest, e.largest}) {
                    INFO(name(k) << ", seed " << seed << ", k = " << steps << ", θ = " << r.value);
                    CHECK(std::abs(r.residual - r.residual_estimate) <= 1e-12 * p.norm);
                    double nearest = std::numeric_limits<double>::infinity();
                    for (double l : p.lambda) nearest = std::min(nearest, std::abs(l - r.value));
                    CHECK(nearest <= r.residual + 1e-13 * p.norm);
                }
            }
}

TEST_CASE("lanczos: the condition estimate is |λ|max/|λ|min over the two ends") {
    CHECK(lz::ratio_of_ends(0.5, 50.0) == 100.0);
    CHECK(lz::ratio_of_ends(-4.0, 2.0) == 2.0);   // indefinite: the ends' magnitudes, not ‖A‖·‖A⁻¹‖
    CHECK(lz::ratio_of_ends(-4.0, -1.0) == 4.0);  // negative definite
    CHECK(std::isinf(lz::ratio_of_ends(0.0, 3.0)));
    CHECK(std::isnan(lz::ratio_of_ends(0.0, 0.0)));
}

TEST_CASE("lanczos: each start's Gauss rule integrates polynomials of degree < 2k exactly (to 1e-12, by eigh)") {
    for (kind k : all_kinds)
        for (std::size_t n : {30u, 100u})
            for (std::uint64_t seed : {11u, 12u})
                for (std::size_t steps : {3u, 6u, 10u}) {
                    const problem p = make(k, n, seed);
                    rng g(seed);
                    std::vector<std::vector<double>> starts;
                    std::vector<lz::quadrature> rules;
                    for (int s = 0; s < 3; ++s) {
                        starts.push_back(rademacher(n, g));
                        rules.push_back(lz::gauss_quadrature(p.op(), starts.back(), steps));
                    }
                    for (std::size_t d = 0; d < 2 * steps; ++d) {
                        // Monomials of A/‖A‖, so that every degree is of order one.
                        const auto mono = [&](double t) { return std::pow(t / p.norm, double(d)); };
                        double mean_rule = 0.0, mean_exact = 0.0;
                        for (std::size_t s = 0; s < rules.size(); ++s) {
                            const double rule = rules[s].integrate(mono), exact = p.form(starts[s], mono);
                            INFO(name(k) << ", n = " << n << ", seed " << seed << ", k = " << steps << ", degree " << d);
                            CHECK(std::abs(rule - exact) <= 1e-12);
                            mean_rule += rule / double(rules.size());
                            mean_exact += exact / double(rules.size());
                        }
                        CHECK(std::abs(lz::integrate(rules, mono) - mean_exact) <= 1e-12);
                        CHECK(std::abs(mean_rule - mean_exact) <= 1e-12);
                    }
                    // Teeth: degree 2k is not integrated exactly (the error of a Gauss rule is
                    // ∫π_k² dμ > 0, π_k the monic orthogonal polynomial). Visible on the spectrum
                    // spread evenly over [−3, 7]; elsewhere the high powers of A/‖A‖ see only the
                    // isolated top eigenvalue, which the rule has resolved.
                    if (k == kind::indefinite) {
                        const auto mono = [&](double t) { return std::pow(t / p.norm, double(2 * steps)); };
                        CHECK(p.form(starts[0], mono) - rules[0].integrate(mono) > 1e-12);
                    }
                }
}

TEST_CASE("lanczos: SLQ's moments lie within 6 standard errors of tr(Aᵖ)/n") {
    for (kind k : all_kinds)
        for (std::uint64_t seed : {13u, 14u, 15u}) {
            const std::size_t n = 200, starts = 12, steps = 12;
            const problem p = make(k, n, seed);
            rng g(seed);
            const std::vector<lz::quadrature> rules = lz::slq(p.op(), n, starts, steps, g);
            REQUIRE(rules.size() == starts);
            for (int power = 0; power <= 4; ++power) {
                const auto f = [&](double t) { return std::pow(t / p.norm, power); };
                double exact = 0.0;
                for (double l : p.lambda) exact += f(l) / double(n);
                double mean = 0.0, m2 = 0.0;
                for (const lz::quadrature& q : rules) mean += q.integrate(f) / double(starts);
                for (const lz::quadrature& q : rules) m2 += std::pow(q.integrate(f) - mean, 2);
                const double se = std::sqrt(m2 / double(starts - 1) / double(starts));
                INFO(name(k) << ", seed " << seed << ", power " << power << ": " << mean << " vs " << exact << ", se " << se);
                CHECK(std::abs(lz::integrate(rules, f) - mean) <= 1e-14);
                CHECK(std::abs(mean - exact) <= 6.0 * se + 1e-13);
            }
        }
}

TEST_CASE("lanczos: the broadened density integrates to 1, keeps the mean and adds σ² to the variance") {
    for (kind k : all_kinds)
        for (double rel : {0.005, 0.02, 0.1}) {
            const std::size_t n = 120;
            const problem p = make(k, n, 16);
            rng g(16);
            const std::vector<lz::quadrature> rules = lz::slq(p.op(), n, 5, 15, g);
            lz::density_options o;
            o.relative_sigma = rel;
            const lz::density d = lz::broaden(rules, o);
            INFO(name(k) << ", σ relative " << rel << ", integral " << d.integral);
            CHECK(std::abs(d.integral - 1.0) <= 1e-8);
            double m1 = 0.0, m2 = 0.0;
            const double h = d.grid[1] - d.grid[0];
            for (std::size_t i = 0; i < d.grid.size(); ++i) {
                m1 += h * d.grid[i] * d.values[i];
                m2 += h * d.grid[i] * d.grid[i] * d.values[i];
            }
            const double mean = lz::integrate(rules, [](double t) { return t; });
            const double second = lz::integrate(rules, [](double t) { return t * t; });
            CHECK(std::abs(m1 - mean) <= 1e-7 * p.norm);
            CHECK(std::abs(m2 - (second + d.sigma * d.sigma)) <= 1e-7 * p.norm * p.norm);
            CHECK(*std::min_element(d.values.begin(), d.values.end()) >= 0.0);
        }
}

TEST_CASE("lanczos: Hutchinson's trace lies within 6 standard errors of tr A; exact for a diagonal A") {
    for (kind k : all_kinds)
        for (std::size_t n : {20u, 150u})
            for (std::uint64_t seed : {17u, 18u, 19u}) {
                const problem p = make(k, n, seed);
                double trace = 0.0;
                for (std::size_t i = 0; i < n; ++i) trace += p.a(i, i);
                rng g(seed);
                const lz::trace_estimate t = lz::hutchinson(p.op(), n, 30, g);
                INFO(name(k) << ", n = " << n << ", seed " << seed << ": " << t.value << " ± " << t.standard_error << " vs " << trace);
                CHECK(t.samples == 30);
                CHECK(t.standard_error > 0.0);
                CHECK(std::abs(t.value - trace) <= 6.0 * t.standard_error);
            }
    // zᵀDz = tr D for every ±1 vector z.
    const std::size_t n = 50;
    const lz::product diagonal = [](std::span<const double> v, std::span<double> out) {
        for (std::size_t i = 0; i < v.size(); ++i) out[i] = (double(i) - 20.0) * v[i];
    };
    rng g(20);
    const lz::trace_estimate t = lz::hutchinson(diagonal, n, 5, g);
    CHECK(t.value == 225.0);  // Σ (i − 20), i = 0 … 49
    CHECK(t.standard_error == 0.0);
}

TEST_CASE("lanczos: an invariant Krylov space stops the quadrature (exact for every degree) or restarts the extremes") {
    const std::size_t n = 40;
    const problem p = make(kind::repeated, n, 21);  // 4 distinct eigenvalues
    rng g(21);
    const std::vector<double> v = rademacher(n, g);
    const lz::quadrature q = lz::gauss_quadrature(p.op(), v, 20);
    CHECK(q.invariant);
    CHECK(q.steps == 4);
    for (int d = 0; d < 30; ++d) {
        const auto mono = [&](double t) { return std::pow(t / p.norm, d); };
        CHECK(std::abs(q.integrate(mono) - p.form(v, mono)) <= 1e-12);
    }
    const lz::decomposition dec = lz::run(p.op(), v, 20, lz::on_invariant::restart, &g);
    CHECK(dec.steps() == 20);
    CHECK(dec.restarts >= 4);
    // The restarted basis is still orthonormal.
    double worst = 0.0;
    for (std::size_t i = 0; i < dec.steps(); ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            double s = 0.0;
            for (std::size_t l = 0; l < n; ++l) s += dec.basis[i * n + l] * dec.basis[j * n + l];
            worst = std::max(worst, std::abs(s - (i == j ? 1.0 : 0.0)));
        }
    CHECK(worst <= 1e-14);
}

TEST_CASE("lanczos: the same generator state gives the same result, another seed another") {
    const problem p = make(kind::indefinite, 60, 22);
    auto once = [&](std::uint64_t seed) {
        rng g(seed);
        return lz::slq(p.op(), 60, 3, 8, g);
    };
    const auto a = once(1), b = once(1), c = once(2);
    CHECK(a[2].nodes == b[2].nodes);
    CHECK(a[2].weights == b[2].weights);
    CHECK(a[2].weights != c[2].weights);
}

TEST_CASE("lanczos: refusals name what is wrong") {
    const problem p = make(kind::indefinite, 10, 23);
    rng g(23);
    const std::vector<double> v = rademacher(10, g), zero(10, 0.0);
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(lz::run(p.op(), v, 0), Contains("0 iterations"));
    CHECK_THROWS_WITH(lz::run(p.op(), std::vector<double>{}, 3), Contains("dimension 0"));
    CHECK_THROWS_WITH(lz::run(p.op(), zero, 3), Contains("start vector is zero"));
    CHECK_THROWS_WITH(lz::run(p.op(), v, 3, lz::on_invariant::restart), Contains("random generator"));
    CHECK_THROWS_WITH(lz::hutchinson(p.op(), 10, 1, g), Contains("at least 2"));
    CHECK_THROWS_WITH(lz::slq(p.op(), 10, 0, 5, g), Contains("0 starts"));
    // A product that turns NaN after `good` calls.
    auto nan_after = [](int good) {
        return lz::product([calls = 0, good](std::span<const double> x, std::span<double> out) mutable {
            const bool bad = calls++ >= good;
            for (std::size_t i = 0; i < x.size(); ++i) out[i] = bad ? std::nan("") : x[i] * double(i + 1);
        });
    };
    CHECK_THROWS_AS(lz::extremes(nan_after(2), v, 5, g), gateaux::value_error);
    CHECK_THROWS_WITH(lz::extremes(nan_after(2), v, 5, g), Contains("NaN or ±inf (at Lanczos step 3)"));
    CHECK_THROWS_WITH(lz::hutchinson(nan_after(0), 10, 4, g), Contains("NaN or ±inf"));
    std::vector<lz::quadrature> none;
    CHECK_THROWS_WITH(lz::broaden(none), Contains("no quadrature rules"));
}
