#pragma once
// The independent oracle for the forward tests: every op, activation, loss and an MLP forward
// pass written from the math with plain loops over xtensor storage. Nothing here includes or
// calls gateaux. Sums accumulate in long double and the activations are evaluated in long
// double, so the oracle is at least as accurate as the code under test.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

namespace ref {

using matrix = xt::xtensor<double, 2>;
using std::size_t;

// Calls between these functions are qualified (ref::sum, ref::apply): unqualified, argument-
// dependent lookup would also find xt::sum or std::apply for xtensor arguments.

// ---------------------------------------------------------------- seeded random tensors

inline matrix normal(size_t rows, size_t cols, std::uint64_t seed, double mean = 0.0, double sd = 1.0) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> dist(mean, sd);
    matrix m = matrix::from_shape({rows, cols});
    for (double& v : m.storage()) v = dist(gen);
    return m;
}

inline matrix uniform(size_t rows, size_t cols, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    matrix m = matrix::from_shape({rows, cols});
    for (double& v : m.storage()) v = dist(gen);
    return m;
}

// Rows that are one-hot class indicators, classes drawn uniformly.
inline matrix one_hot(size_t rows, size_t cols, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<size_t> dist(0, cols - 1);
    matrix m = matrix::from_shape({rows, cols});
    m.fill(0.0);
    for (size_t i = 0; i < rows; ++i) m(i, dist(gen)) = 1.0;
    return m;
}

// Rows that are probability distributions (positive, summing to one): soft targets.
inline matrix distributions(size_t rows, size_t cols, std::uint64_t seed) {
    matrix m = ref::uniform(rows, cols, seed, 0.05, 1.0);
    for (size_t i = 0; i < rows; ++i) {
        long double s = 0.0L;
        for (size_t j = 0; j < cols; ++j) s += m(i, j);
        for (size_t j = 0; j < cols; ++j) m(i, j) = double(m(i, j) / s);
    }
    return m;
}

// Weights scaled by 1/√fan_in so that activations stay O(1) through a deep net.
inline matrix weights(size_t fan_in, size_t fan_out, std::uint64_t seed) {
    return ref::normal(fan_in, fan_out, seed, 0.0, 1.0 / std::sqrt(double(fan_in)));
}

// ---------------------------------------------------------------- error measures

// An error or a tolerance. It prints in scientific notation: Catch prints a double in fixed
// notation with 10 digits, which shows 3e-13 as "0.0".
struct error {
    double value;
    friend constexpr bool operator<=(error a, error b) { return a.value <= b.value; }
    friend constexpr bool operator==(error a, error b) { return a.value == b.value; }
    friend constexpr error operator*(error a, double s) { return {a.value * s}; }
    friend std::ostream& operator<<(std::ostream& os, error e) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3e", e.value);
        return os << buf;
    }
};

// Norm-wise relative error ‖got − want‖_F / ‖want‖_F (the absolute error if want is zero).
// A shape mismatch or a non-finite entry (other than an identical one) gives +inf.
inline error rel_error(const matrix& got, const matrix& want) {
    if (got.shape() != want.shape()) return {INFINITY};
    long double diff = 0.0L, norm = 0.0L;
    for (size_t k = 0; k < want.size(); ++k) {
        const double g = got.storage()[k], w = want.storage()[k];
        if (!std::isfinite(g) || !std::isfinite(w)) {
            if (g != w) return {INFINITY};
            continue;
        }
        diff += (long double)(g - w) * (g - w);
        norm += (long double)w * w;
    }
    return {norm == 0.0L ? double(std::sqrt(diff)) : double(std::sqrt(diff / norm))};
}

inline error rel_error(double got, double want) {
    if (!std::isfinite(got) || !std::isfinite(want)) return {got == want ? 0.0 : INFINITY};
    return {want == 0.0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want)};
}

inline error abs_error(double got, double want) {
    if (!std::isfinite(got) || !std::isfinite(want)) return {got == want ? 0.0 : INFINITY};
    return {std::fabs(got - want)};
}

// Entry-wise: max |got − want| / max(|want|, floor). The floor keeps subnormal results, where
// one unit in the last place is a large relative step, from dominating.
inline error max_rel_error(double got, double want, double floor = DBL_MIN) {
    if (!std::isfinite(got) || !std::isfinite(want)) return {got == want ? 0.0 : INFINITY};
    return {std::fabs(got - want) / std::max(std::fabs(want), floor)};
}

inline error max_rel_error(const matrix& got, const matrix& want, double floor = DBL_MIN) {
    if (got.shape() != want.shape()) return {INFINITY};
    double worst = 0.0;
    for (size_t k = 0; k < want.size(); ++k)
        worst = std::max(worst, ref::max_rel_error(got.storage()[k], want.storage()[k], floor).value);
    return {worst};
}

inline bool all_finite(const matrix& m) {
    for (double v : m.storage())
        if (!std::isfinite(v)) return false;
    return true;
}

// ---------------------------------------------------------------- linear algebra

// C = A·B, Cᵢⱼ = Σₖ Aᵢₖ Bₖⱼ (triple loop, independent of BLAS).
inline matrix matmul(const matrix& a, const matrix& b) {
    const size_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
    matrix c = matrix::from_shape({m, n});
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
            long double s = 0.0L;
            for (size_t p = 0; p < k; ++p) s += (long double)a(i, p) * b(p, j);
            c(i, j) = double(s);
        }
    return c;
}

inline matrix transpose(const matrix& a) {
    matrix t = matrix::from_shape({a.shape(1), a.shape(0)});
    for (size_t i = 0; i < a.shape(0); ++i)
        for (size_t j = 0; j < a.shape(1); ++j) t(j, i) = a(i, j);
    return t;
}

template <class F>
matrix zip(const matrix& a, const matrix& b, F f) {
    matrix c = matrix::from_shape({a.shape(0), a.shape(1)});
    for (size_t i = 0; i < a.shape(0); ++i)
        for (size_t j = 0; j < a.shape(1); ++j) c(i, j) = f(a(i, j), b(i, j));
    return c;
}

inline matrix add(const matrix& a, const matrix& b) { return ref::zip(a, b, [](double u, double v) { return u + v; }); }
inline matrix sub(const matrix& a, const matrix& b) { return ref::zip(a, b, [](double u, double v) { return u - v; }); }
inline matrix hadamard(const matrix& a, const matrix& b) { return ref::zip(a, b, [](double u, double v) { return u * v; }); }

// Row broadcast: Cᵢⱼ = Aᵢⱼ + b₀ⱼ.
inline matrix bias_add(const matrix& a, const matrix& b) {
    matrix c = matrix::from_shape({a.shape(0), a.shape(1)});
    for (size_t i = 0; i < a.shape(0); ++i)
        for (size_t j = 0; j < a.shape(1); ++j) c(i, j) = a(i, j) + b(0, j);
    return c;
}

inline matrix scale(double c, const matrix& a) {
    matrix out = matrix::from_shape({a.shape(0), a.shape(1)});
    for (size_t k = 0; k < a.size(); ++k) out.storage()[k] = c * a.storage()[k];
    return out;
}

// ---------------------------------------------------------------- reductions

inline double sum(const matrix& a) {
    long double s = 0.0L;
    for (double v : a.storage()) s += v;
    return double(s);
}

inline double mean(const matrix& a) {
    long double s = 0.0L;
    for (double v : a.storage()) s += v;
    return double(s / (long double)a.size());
}

// ½‖A‖²_F
inline double sq_norm(const matrix& a) {
    long double s = 0.0L;
    for (double v : a.storage()) s += (long double)v * v;
    return double(s / 2.0L);
}

// λ·Σ ½‖Pᵢ‖²
inline double l2(double lambda, const std::vector<matrix>& params) {
    long double s = 0.0L;
    for (const matrix& p : params)
        for (double v : p.storage()) s += (long double)v * v;
    return double((long double)lambda * s / 2.0L);
}

// ---------------------------------------------------------------- activations

enum class fn { identity, relu, leaky_relu, tanh, sigmoid, softplus };

struct activation {
    fn kind;
    double slope = 0.0;  // leaky_relu only
};

// Long double throughout: its exponent range (to e^11356) keeps the naive formulas exact
// enough for |x| up to 10⁴ without the rearrangements the library uses.
inline double apply(activation a, double x) {
    const long double v = x;
    switch (a.kind) {
        case fn::identity: return x;
        case fn::relu: return x > 0.0 ? x : 0.0;
        case fn::leaky_relu: return x > 0.0 ? x : a.slope * x;
        case fn::tanh: return double(std::tanh(v));
        case fn::sigmoid: return double(1.0L / (1.0L + std::exp(-v)));
        case fn::softplus: return double(std::fmax(v, 0.0L) + std::log1p(std::exp(-std::fabs(v))));
    }
    return NAN;
}

inline matrix apply(activation a, const matrix& m) {
    matrix out = matrix::from_shape({m.shape(0), m.shape(1)});
    for (size_t k = 0; k < m.size(); ++k) out.storage()[k] = ref::apply(a, m.storage()[k]);
    return out;
}

inline std::string name(activation a) {
    switch (a.kind) {
        case fn::identity: return "identity";
        case fn::relu: return "relu";
        case fn::leaky_relu: return "leaky_relu";
        case fn::tanh: return "tanh";
        case fn::sigmoid: return "sigmoid";
        case fn::softplus: return "softplus";
    }
    return "?";
}

// ---------------------------------------------------------------- losses

// Per-sample ½‖o_b − y_b‖², a B×1 column.
inline matrix squared_error(const matrix& o, const matrix& y) {
    matrix out = matrix::from_shape({o.shape(0), 1});
    for (size_t b = 0; b < o.shape(0); ++b) {
        long double s = 0.0L;
        for (size_t j = 0; j < o.shape(1); ++j) {
            const long double d = (long double)o(b, j) - y(b, j);
            s += d * d;
        }
        out(b, 0) = double(s / 2.0L);
    }
    return out;
}

// (1/B) Σ_b ½‖o_b − y_b‖²
inline double mse(const matrix& o, const matrix& y) { return ref::mean(ref::squared_error(o, y)); }

// Per-sample softmax cross-entropy −Σⱼ y_bj log softmax(o_b)ⱼ, a B×1 column. Each term is
// −log softmax(o)ⱼ = log(1 + Σ_{k≠j} e^(o_k − o_j)), in long double (whose range holds e^(10⁴)),
// through log1p so that a confident correct prediction keeps its relative accuracy.
inline matrix cross_entropy(const matrix& o, const matrix& y) {
    matrix out = matrix::from_shape({o.shape(0), 1});
    for (size_t b = 0; b < o.shape(0); ++b) {
        long double s = 0.0L;
        for (size_t j = 0; j < o.shape(1); ++j) {
            if (y(b, j) == 0.0) continue;
            long double rest = 0.0L;
            for (size_t k = 0; k < o.shape(1); ++k)
                if (k != j) rest += std::exp((long double)o(b, k) - o(b, j));
            s += (long double)y(b, j) * std::log1p(rest);
        }
        out(b, 0) = double(s);
    }
    return out;
}

// ---------------------------------------------------------------- an MLP

// h₀ = x; net_l = h_{l−1}·W_l (+ 1·b_l); h_l = a(net_l), with `hidden` on layers 1..L−1 and
// `output` on layer L. b is empty for a net without biases.
struct mlp_params {
    std::vector<matrix> W;
    std::vector<matrix> b;
};

inline mlp_params random_mlp(const std::vector<size_t>& widths, bool biases, std::uint64_t seed) {
    mlp_params p;
    for (size_t l = 1; l < widths.size(); ++l) {
        p.W.push_back(ref::weights(widths[l - 1], widths[l], seed * 1000 + l));
        if (biases) p.b.push_back(ref::normal(1, widths[l], seed * 1000 + 500 + l, 0.0, 0.5));
    }
    return p;
}

inline matrix mlp_forward(const matrix& x, const mlp_params& p, activation hidden, activation output) {
    matrix h = x;
    for (size_t l = 0; l < p.W.size(); ++l) {
        matrix net = ref::matmul(h, p.W[l]);
        if (!p.b.empty()) net = ref::bias_add(net, p.b[l]);
        h = ref::apply(l + 1 == p.W.size() ? output : hidden, net);
    }
    return h;
}

enum class loss { sum_squared_error, mse, mean_cross_entropy, sum_cross_entropy };

inline std::string name(loss kind) {
    switch (kind) {
        case loss::sum_squared_error: return "sum(squared_error)";
        case loss::mse: return "mse";
        case loss::mean_cross_entropy: return "mean(cross_entropy)";
        case loss::sum_cross_entropy: return "sum(cross_entropy)";
    }
    return "?";
}

inline double evaluate(loss kind, const matrix& out, const matrix& y) {
    switch (kind) {
        case loss::sum_squared_error: return ref::sum(ref::squared_error(out, y));
        case loss::mse: return ref::mse(out, y);
        case loss::mean_cross_entropy: return ref::mean(ref::cross_entropy(out, y));
        case loss::sum_cross_entropy: return ref::sum(ref::cross_entropy(out, y));
    }
    return NAN;
}

}  // namespace ref
