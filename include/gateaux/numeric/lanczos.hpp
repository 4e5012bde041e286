#pragma once
// Lanczos on a symmetric operator known only by its products (H·v, G·v, F·v of a network: a
// matrix far too large to form), and what is built on it: the extreme eigenvalues with their
// residuals, Gauss quadrature of a start's spectral measure (stochastic Lanczos quadrature, the
// spectral density as PyHessian estimates it) and Hutchinson's trace estimate. Flat vectors and a
// product callback, no node types; the objective-level API is optim/spectrum.hpp.
//
// k steps from a unit start q₁ build an orthonormal basis Q = [q₁ … q_k] of the Krylov space
// span{q₁, A·q₁, …, A^{k−1}·q₁} and the tridiagonal T = QᵀAQ (diagonal α, off-diagonal β) with
//
//     A·Q = Q·T + β_k·q_{k+1}·e_kᵀ.
//
// In floating point the three-term recurrence alone loses orthogonality as Ritz values converge
// and then repeats them ("ghost" eigenvalues, which would put false weight into a density). So
// every new vector is orthogonalised against all earlier ones, twice (classical Gram–Schmidt
// twice is enough: Giraud, Langou & Rozložník 2005): O(k²·n) flops and k·n doubles, small beside
// k products of a network's curvature. From the eigenpairs (θ_i, s_i) of T (LAPACK dstev):
//
//   Ritz pairs   θ_i, y_i = Q·s_i, with ‖A·y_i − θ_i·y_i‖ = β_k·|s_i[k]|; an eigenvalue of A lies
//                within that residual of θ_i (Krylov–Weinstein). The extremes θ_1 ≥ λ_min and
//                θ_k ≤ λ_max move outwards with k (Cauchy interlacing) and reach the ends of the
//                spectrum first; at k = n (or an invariant Krylov space) the θ_i are eigenvalues.
//   Gauss rule   nodes θ_i, weights τ_i = s_i[1]²: Σ_i τ_i·p(θ_i) = q₁ᵀ·p(A)·q₁ for every
//                polynomial p of degree < 2k (Golub & Meurant), the k-point Gauss rule of the
//                measure Σ_j (u_jᵀq₁)²·δ(t − λ_j). For a Rademacher q₁ its expectation is the
//                spectral density (1/n)·Σ_j δ(t − λ_j); stochastic Lanczos quadrature averages the
//                rules of several starts and broadens each node into a Gaussian
//                (Lin, Saad & Yang 2016; Ghorbani et al. 2019; PyHessian, Yao et al. 2020).
//
// Randomness comes from a std::mt19937_64 the caller passes in: no hidden state.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

// cxxlapack::stev, LAPACK's symmetric tridiagonal eigensolver (xblas.hpp first: xlapack.hpp needs its macros)
#include <xtensor-blas/xblas.hpp>
#include <xtensor-blas/xlapack.hpp>

#include "../core/errors.hpp"

namespace gateaux::lanczos {

// out = A·v for a symmetric n×n A; v and out have n entries and do not alias.
using product = std::function<void(std::span<const double> v, std::span<double> out)>;

// β_j below this times the running estimate of ‖T‖ means A·q_j has no part outside the basis to
// working precision: the start's Krylov space is invariant under A (it has no component along
// some eigenvectors, or A has repeated eigenvalues).
inline constexpr double invariant_tolerance = 1e-12;

// Entries ±1, each with probability ½, from the bits of the generator's draws (64 per draw, so
// the sequence is the same on every platform, unlike std::uniform_int_distribution's).
inline void rademacher(std::mt19937_64& rng, std::span<double> out) {
    std::uint64_t bits = 0;
    int left = 0;
    for (double& v : out) {
        if (left == 0) bits = rng(), left = 64;
        v = (bits & 1u) != 0 ? 1.0 : -1.0;
        bits >>= 1;
        --left;
    }
}

// What run() does where the Krylov space stops growing: stop (the Gauss rule is then exact for
// every polynomial, so a quadrature loses nothing), or continue from a random vector orthogonal
// to the basis (β = 0 splits T), so that k = n steps reach every eigenvalue with its multiplicity.
enum class on_invariant { stop, restart };

struct decomposition {
    std::size_t n = 0;
    std::vector<double> alpha;     // T's diagonal: one entry per step
    std::vector<double> beta;      // T's off-diagonal: steps − 1 entries, 0 where a restart split T
    std::vector<double> basis;     // q_1 … q_k as rows of n (row-major), orthonormal to working precision
    double residual_beta = 0.0;    // β_k = ‖A·q_k − Q·T·e_k‖: what the basis leaves out
    std::size_t restarts = 0;
    bool invariant = false;        // stopped before k steps because the Krylov space is invariant
    std::size_t steps() const { return alpha.size(); }
};

namespace detail {
inline double dot(const double* a, const double* b, std::size_t n) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}
inline double norm(const double* a, std::size_t n) { return std::sqrt(dot(a, a, n)); }

// w ← (I − QQᵀ)·w over the first `rows` basis vectors, two passes of classical Gram–Schmidt.
inline void orthogonalise(const std::vector<double>& basis, std::size_t rows, std::size_t n, double* w,
                          std::vector<double>& coef) {
    coef.resize(rows);
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t i = 0; i < rows; ++i) coef[i] = dot(basis.data() + i * n, w, n);
        for (std::size_t i = 0; i < rows; ++i) {
            const double* q = basis.data() + i * n;
            for (std::size_t j = 0; j < n; ++j) w[j] -= coef[i] * q[j];
        }
    }
}

inline void check_finite(std::span<const double> v, std::size_t step) {
    for (double x : v)
        if (!std::isfinite(x))
            throw value_error("gateaux::lanczos: the operator's product A·v holds NaN or ±inf (at Lanczos step " +
                              std::to_string(step + 1) + ")");
}
}  // namespace detail

// k steps of Lanczos with full reorthogonalisation from `start` (any non-zero vector; it is
// normalised), k capped at n. restart needs `rng`.
inline decomposition run(const product& a, std::span<const double> start, std::size_t k,
                         on_invariant when = on_invariant::stop, std::mt19937_64* rng = nullptr) {
    const std::size_t n = start.size();
    if (n == 0) throw error("gateaux::lanczos::run: the operator has dimension 0");
    if (k == 0) throw error("gateaux::lanczos::run: 0 iterations requested; Lanczos needs at least one step");
    if (when == on_invariant::restart && rng == nullptr)
        throw error("gateaux::lanczos::run: on_invariant::restart needs a random generator");
    k = std::min(k, n);
    decomposition d;
    d.n = n;
    d.basis.reserve(k * n);
    std::vector<double> q(start.begin(), start.end()), w(n), coef;
    const double s = detail::norm(q.data(), n);
    if (!(s > 0.0) || !std::isfinite(s)) throw value_error("gateaux::lanczos::run: the start vector is zero or not finite");
    for (double& v : q) v /= s;
    double norm_t = 0.0, beta_prev = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
        d.basis.insert(d.basis.end(), q.begin(), q.end());
        a(q, w);
        detail::check_finite(w, j);
        const double alpha = detail::dot(q.data(), w.data(), n);
        // Subtracts α·q_j and β_{j−1}·q_{j−1} (the recurrence) together with the rounding
        // components along all earlier vectors.
        detail::orthogonalise(d.basis, j + 1, n, w.data(), coef);
        double beta = detail::norm(w.data(), n);
        d.alpha.push_back(alpha);
        norm_t = std::max(norm_t, std::abs(alpha) + beta_prev + beta);
        if (j + 1 == k) {
            d.residual_beta = beta;
            break;
        }
        if (beta <= invariant_tolerance * norm_t) {
            if (when == on_invariant::stop) {
                d.invariant = true;
                d.residual_beta = beta;
                break;
            }
            // A random direction outside the basis: Rademacher, orthogonalised (j + 1 < n, so
            // some of it is left; a second draw covers a pathological first one).
            double left = 0.0;
            for (int attempt = 0; attempt < 4 && !(left > 1e-8 * std::sqrt(double(n))); ++attempt) {
                rademacher(*rng, w);
                detail::orthogonalise(d.basis, j + 1, n, w.data(), coef);
                left = detail::norm(w.data(), n);
            }
            ++d.restarts;
            beta = 0.0;
            for (std::size_t i = 0; i < n; ++i) q[i] = w[i] / left;
        } else {
            for (std::size_t i = 0; i < n; ++i) q[i] = w[i] / beta;
        }
        d.beta.push_back(beta);
        beta_prev = beta;
    }
    return d;
}

// The eigenpairs of T, ascending: vectors holds s_i as column i of a column-major k×k matrix
// (entry j of s_i is vectors[i·k + j]).
struct ritz_pairs {
    std::size_t k = 0;
    std::vector<double> values, vectors;
    double component(std::size_t i, std::size_t j) const { return vectors[i * k + j]; }
};

inline ritz_pairs tridiagonal_eigen(const decomposition& d) {
    ritz_pairs r;
    r.k = d.steps();
    r.values = d.alpha;
    std::vector<double> e(d.beta);
    e.resize(std::max<std::size_t>(r.k, 1));  // dstev reads n − 1 entries; room for n
    r.vectors.assign(r.k * r.k, 0.0);
    std::vector<double> work(std::max<std::size_t>(2 * r.k, 2));
    using index = xt::blas_index_t;
    const index info =
        cxxlapack::stev<index>('V', index(r.k), r.values.data(), e.data(), r.vectors.data(), index(r.k), work.data());
    if (info != 0)
        throw error("gateaux::lanczos: LAPACK dstev did not converge on the " + std::to_string(r.k) +
                    "×" + std::to_string(r.k) + " tridiagonal matrix (info " + std::to_string(info) + ")");
    return r;
}

// ---------------------------------------------------------------- extreme eigenvalues
struct ritz_value {
    double value = std::numeric_limits<double>::quiet_NaN();
    double residual = std::numeric_limits<double>::quiet_NaN();           // ‖A·y − θ·y‖, ‖y‖ = 1, by one more product
    double residual_estimate = std::numeric_limits<double>::quiet_NaN();  // β_k·|s[k]|, free
};

// |λ|max / |λ|min over the two ends of the spectrum. For a definite matrix it is the 2-norm
// condition number λ_max/λ_min; for an indefinite one it is the ratio of the magnitudes of the two
// ends, no larger than ‖A‖·‖A⁻¹‖, whose denominator is the eigenvalue nearest zero (an interior
// one, which Lanczos does not resolve). From Ritz values before convergence, a definite matrix's
// estimate is a lower bound (θ_min ≥ λ_min, θ_max ≤ λ_max). +inf if one end is 0.
inline double ratio_of_ends(double smallest, double largest) {
    const double big = std::max(std::abs(smallest), std::abs(largest));
    const double small = std::min(std::abs(smallest), std::abs(largest));
    if (!(big > 0.0)) return std::numeric_limits<double>::quiet_NaN();
    return small > 0.0 ? big / small : std::numeric_limits<double>::infinity();
}

struct extremes_result {
    ritz_value largest, smallest;  // algebraic: θ_max, θ_min
    ritz_value largest_magnitude;  // the one of the two with the larger |θ|: max|λ| of a symmetric matrix is an end
    double condition_estimate = std::numeric_limits<double>::quiet_NaN();  // ratio_of_ends(θ_min, θ_max)
    std::vector<double> ritz_values;                                       // all, ascending
    std::size_t steps = 0, restarts = 0, products = 0;
    bool exact = false;  // k = n steps: the Ritz values are the eigenvalues (to rounding)
};

// k steps from `start` (restarting where the Krylov space is invariant, so k = n reaches every
// eigenvalue), then one product per end for its residual: k + 2 products (k + 1 when k = 1).
inline extremes_result extremes(const product& a, std::span<const double> start, std::size_t k, std::mt19937_64& rng) {
    const decomposition d = run(a, start, k, on_invariant::restart, &rng);
    const ritz_pairs t = tridiagonal_eigen(d);
    const std::size_t n = d.n, m = t.k;
    extremes_result r;
    r.ritz_values = t.values;
    r.steps = m;
    r.restarts = d.restarts;
    r.products = m;
    r.exact = m == n;
    std::vector<double> y(n), ay(n);
    auto pair = [&](std::size_t i) {
        ritz_value v;
        v.value = t.values[i];
        v.residual_estimate = d.residual_beta * std::abs(t.component(i, m - 1));
        std::fill(y.begin(), y.end(), 0.0);
        for (std::size_t j = 0; j < m; ++j) {
            const double c = t.component(i, j);
            const double* q = d.basis.data() + j * n;
            for (std::size_t l = 0; l < n; ++l) y[l] += c * q[l];
        }
        const double ny = detail::norm(y.data(), n);
        for (double& x : y) x /= ny;
        a(y, ay);
        ++r.products;
        detail::check_finite(ay, m);
        for (std::size_t l = 0; l < n; ++l) ay[l] -= v.value * y[l];
        v.residual = detail::norm(ay.data(), n);
        return v;
    };
    r.smallest = pair(0);
    r.largest = m > 1 ? pair(m - 1) : r.smallest;
    r.largest_magnitude = std::abs(r.largest.value) >= std::abs(r.smallest.value) ? r.largest : r.smallest;
    r.condition_estimate = ratio_of_ends(r.smallest.value, r.largest.value);
    return r;
}

// ---------------------------------------------------------------- Hutchinson's trace
// tr(A) ≈ (1/m)·Σ zᵀ·A·z over m Rademacher probes z (unbiased; variance 2·Σ_{i≠j} a_ij², so a
// diagonal A is exact), with the standard error s/√m of the sample standard deviation s.
struct trace_estimate {
    double value = std::numeric_limits<double>::quiet_NaN();
    double standard_error = std::numeric_limits<double>::quiet_NaN();
    std::size_t samples = 0;
};

inline trace_estimate hutchinson(const product& a, std::size_t n, std::size_t samples, std::mt19937_64& rng) {
    if (n == 0) throw error("gateaux::lanczos::hutchinson: the operator has dimension 0");
    if (samples < 2)
        throw error("gateaux::lanczos::hutchinson: " + std::to_string(samples) +
                    " probes; a trace estimate with a standard error needs at least 2");
    std::vector<double> z(n), az(n);
    double mean = 0.0, m2 = 0.0;  // Welford
    for (std::size_t s = 0; s < samples; ++s) {
        rademacher(rng, z);
        a(z, az);
        detail::check_finite(az, 0);
        const double x = detail::dot(z.data(), az.data(), n), delta = x - mean;
        mean += delta / double(s + 1);
        m2 += delta * (x - mean);
    }
    return {mean, std::sqrt(m2 / double(samples - 1) / double(samples)), samples};
}

// ---------------------------------------------------------------- stochastic Lanczos quadrature
// The Gauss rule of one start's measure (nodes ascending, weights summing to 1): Σ τ_i·p(θ_i) =
// vᵀp(A)v/‖v‖² for deg p < 2·steps. Stops where the Krylov space is invariant (then exact for all p).
struct quadrature {
    std::vector<double> nodes, weights;
    std::size_t steps = 0;
    bool invariant = false;
    template <class F>
    double integrate(F f) const {
        double s = 0.0;
        for (std::size_t i = 0; i < nodes.size(); ++i) s += weights[i] * f(nodes[i]);
        return s;
    }
};

inline quadrature gauss_quadrature(const product& a, std::span<const double> start, std::size_t k) {
    const decomposition d = run(a, start, k, on_invariant::stop);
    const ritz_pairs t = tridiagonal_eigen(d);
    quadrature q;
    q.nodes = t.values;
    q.weights.resize(t.k);
    for (std::size_t i = 0; i < t.k; ++i) q.weights[i] = t.component(i, 0) * t.component(i, 0);
    q.steps = t.k;
    q.invariant = d.invariant;
    return q;
}

// `starts` rules from Rademacher starts: at most starts·k products.
inline std::vector<quadrature> slq(const product& a, std::size_t n, std::size_t starts, std::size_t k,
                                   std::mt19937_64& rng) {
    if (starts == 0) throw error("gateaux::lanczos::slq: 0 starts; the density needs at least one");
    std::vector<quadrature> rules;
    std::vector<double> v(n);
    for (std::size_t s = 0; s < starts; ++s) {
        rademacher(rng, v);
        rules.push_back(gauss_quadrature(a, v, k));
    }
    return rules;
}

// (1/starts)·Σ over the rules of Σ τ·f(θ): the estimate of (1/n)·tr f(A).
template <class F>
double integrate(const std::vector<quadrature>& rules, F f) {
    double s = 0.0;
    for (const quadrature& q : rules) s += q.integrate(f);
    return rules.empty() ? std::numeric_limits<double>::quiet_NaN() : s / double(rules.size());
}

// The estimated fraction of eigenvalues below t (from the nodes, before broadening).
inline double mass_below(const std::vector<quadrature>& rules, double t) {
    return integrate(rules, [t](double x) { return x < t ? 1.0 : 0.0; });
}

// The density φ(t) = (1/starts)·Σ Σ τ_i·N(t; θ_i, σ²) on an even grid from the lowest node − tails·σ
// to the highest + tails·σ. σ = sigma, or where that is 0, relative_sigma × the nodes' spread
// (× their largest magnitude, or 1, if all nodes coincide). The weights of each rule sum to 1, so
// φ integrates to 1 less the Gaussian tails beyond `tails`·σ (2·10⁻⁹ at 6): `integral` (trapezoid
// on the grid) measures it.
struct density_options {
    std::size_t points = 401;
    double sigma = 0.0;
    double relative_sigma = 0.01;
    double tails = 6.0;
};
struct density {
    std::vector<double> grid, values;
    double sigma = 0.0, integral = 0.0;
};

inline density broaden(const std::vector<quadrature>& rules, const density_options& o = {}) {
    if (rules.empty()) throw error("gateaux::lanczos::broaden: no quadrature rules");
    if (o.points < 2) throw error("gateaux::lanczos::broaden: a grid needs at least 2 points");
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const quadrature& q : rules)
        for (double t : q.nodes) lo = std::min(lo, t), hi = std::max(hi, t);
    density d;
    d.sigma = o.sigma > 0.0 ? o.sigma
                            : o.relative_sigma * (hi > lo ? hi - lo : std::max({std::abs(lo), std::abs(hi), 1.0}));
    if (!(d.sigma > 0.0) || !std::isfinite(d.sigma))
        throw error("gateaux::lanczos::broaden: the broadening width is not a positive number");
    const double from = lo - o.tails * d.sigma, h = (hi - lo + 2.0 * o.tails * d.sigma) / double(o.points - 1);
    const double c = 1.0 / (std::sqrt(2.0 * 3.14159265358979323846) * d.sigma * double(rules.size()));
    d.grid.resize(o.points);
    d.values.assign(o.points, 0.0);
    for (std::size_t g = 0; g < o.points; ++g) {
        const double t = from + h * double(g);
        d.grid[g] = t;
        for (const quadrature& q : rules)
            for (std::size_t i = 0; i < q.nodes.size(); ++i) {
                const double z = (t - q.nodes[i]) / d.sigma;
                d.values[g] += c * q.weights[i] * std::exp(-0.5 * z * z);
            }
    }
    for (std::size_t g = 0; g + 1 < o.points; ++g) d.integral += 0.5 * h * (d.values[g] + d.values[g + 1]);
    return d;
}

}  // namespace gateaux::lanczos
