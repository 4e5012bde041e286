#pragma once
// Initial parameters: seeded, reproducible draws for the weights, zeros for the biases.
//
//   auto theta = initialize(wrt(W1, b1, W2, b2), init::he_normal, 42);
//   auto theta = initialize(net, wrt(W1, b1, W2, b2), init::orthogonal, 42);  // biases from the graph
//   theta[W1]                                  // W1's tensor (symbolic/named_params.hpp)
//
// A weight W (param<"W", in, out>, in×out, used as h·W) has fan_in = rows and fan_out = cols.
// The schemes and the variance of each entry (gain g multiplies the standard deviation, so the
// variance by g²; 1 unless set with .with_gain(g)):
//
//   init::glorot_normal,  init::glorot_uniform   (= xavier_*)  Var = g²·2/(fan_in + fan_out)
//   init::he_normal,      init::he_uniform       (Kaiming)     Var = g²·2/fan_in
//   init::lecun_normal,   init::lecun_uniform                  Var = g²·1/fan_in
//   init::orthogonal                                           W = g·Q
//
// A normal scheme draws N(0, Var) (not truncated); a uniform one draws U(−a, a) with
// a = sqrt(3·Var), whose variance is Var. For leaky ReLU of slope s, He's derivation gives
// Var = 2/((1 + s²)·fan_in): init::he_normal.with_gain(1/sqrt(1 + s²)).
//
// The orthogonal scheme: for an r×c matrix, the QR factorisation of an m×k Gaussian matrix
// (m = max(r, c), k = min(r, c), LAPACK's geqrf and orgqr), with Q's columns multiplied by the
// signs of R's diagonal, so that Q is distributed uniformly (Haar) on the matrices with
// orthonormal columns (Mezzadri, "How to generate random matrices from the classical compact
// groups", 2007); W = g·Q when r ≥ c (WᵀW = g²·I), W = g·Qᵀ when r < c (WWᵀ = g²·I).
//
// Reproducible: initialize(..., seed) draws from one std::mt19937_64(seed), block after block in
// wrt order, in storage order within a block; biases draw nothing. (The normal and uniform
// distributions are the C++ standard library's, so the numbers repeat with one standard library,
// not across them.) For one tensor: init::fill(t, scheme, fan_in, fan_out, rng) and
// init::weight(rows, cols, scheme, rng); scheme.variance(fan_in, fan_out) and
// scheme.standard_deviation(fan_in, fan_out) give the numbers above. A fan of 0, or a gain that is
// not finite and > 0, is a value_error naming the scheme.
//
// Which parameters are biases: bias<"b", n> is param<"b", 1, n>, one type, so
// initialize(wrt(...), ...) zeroes every 1×n parameter (a weight with a single input row included:
// give such a network to initialize(net, wrt(...), ...), or fill it with init::fill).
// initialize(net, wrt(...), ...) reads the graph: a parameter is a bias when net adds it to every
// row (x·W + b, a bias add), and a weight otherwise, whatever its shape.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/errors.hpp"
#include "../core/expr.hpp"
#include "../core/meta.hpp"
#include "../core/param_set.hpp"
#include "../core/tensor.hpp"
#include "../eval/schedule.hpp"
#include "../numeric/lapack.hpp"
#include "../ops/bias.hpp"
#include "../symbolic/named_params.hpp"
#include "../symbolic/wrt.hpp"

namespace gateaux {

namespace init {

enum class family { glorot, he, lecun, orthogonal };
enum class distribution { normal, uniform };

struct scheme {
    init::family family;
    init::distribution distribution;
    double gain = 1.0;

    // The same scheme with the standard deviation multiplied by g (finite, > 0).
    constexpr scheme with_gain(double g) const { return {family, distribution, g}; }

    // The variance of each entry at these fans (the orthogonal scheme's entries have no fixed
    // variance: value_error).
    double variance(std::size_t fan_in, std::size_t fan_out) const {
        check(fan_in, fan_out);
        switch (family) {
            case init::family::glorot: return gain * gain * 2.0 / double(fan_in + fan_out);
            case init::family::he: return gain * gain * 2.0 / double(fan_in);
            case init::family::lecun: return gain * gain * 1.0 / double(fan_in);
            case init::family::orthogonal: break;
        }
        throw value_error("gateaux::init::scheme::variance: the orthogonal scheme has no variance per entry");
    }
    // The standard deviation of each entry, g/sqrt(1/Var₁) with Var₁ the variance at gain 1 (so
    // lecun_normal's is `1.0 / std::sqrt(fan_in)`, to the last bit).
    double standard_deviation(std::size_t fan_in, std::size_t fan_out) const {
        (void)variance(fan_in, fan_out);  // the checks
        switch (family) {
            case init::family::glorot: return gain / std::sqrt(double(fan_in + fan_out) / 2.0);
            case init::family::he: return gain / std::sqrt(double(fan_in) / 2.0);
            default: return gain / std::sqrt(double(fan_in));
        }
    }
    // The name, for messages: "he_uniform", "orthogonal".
    std::string name() const {
        std::string n = family == init::family::glorot ? "glorot"
                        : family == init::family::he   ? "he"
                        : family == init::family::lecun ? "lecun"
                                                        : "orthogonal";
        if (family != init::family::orthogonal) n += distribution == init::distribution::normal ? "_normal" : "_uniform";
        return n;
    }

    void check(std::size_t fan_in, std::size_t fan_out) const {
        if (!(std::isfinite(gain) && gain > 0.0))
            throw value_error("gateaux::init: " + name() + " has gain " + number_string(gain) + "; it must be finite and > 0");
        if (fan_in == 0 || fan_out == 0)
            throw value_error("gateaux::init: " + name() + " at fan_in " + std::to_string(fan_in) + ", fan_out " +
                              std::to_string(fan_out) + ": both must be ≥ 1");
    }
};

inline constexpr scheme glorot_normal{family::glorot, distribution::normal};
inline constexpr scheme glorot_uniform{family::glorot, distribution::uniform};
inline constexpr scheme xavier_normal = glorot_normal;
inline constexpr scheme xavier_uniform = glorot_uniform;
inline constexpr scheme he_normal{family::he, distribution::normal};
inline constexpr scheme he_uniform{family::he, distribution::uniform};
inline constexpr scheme lecun_normal{family::lecun, distribution::normal};
inline constexpr scheme lecun_uniform{family::lecun, distribution::uniform};
inline constexpr scheme orthogonal{family::orthogonal, distribution::normal};

namespace detail {
// g·Q (r ≥ c) or g·Qᵀ (r < c) into t, Q the sign-corrected Q factor of a Gaussian matrix.
inline void fill_orthogonal(tensor& t, double gain, std::mt19937_64& rng) {
    using lapack::index;
    const std::size_t r = t.shape(0), c = t.shape(1);
    const std::size_t m = std::max(r, c), k = std::min(r, c);
    // Column-major m×k, drawn in storage order.
    std::vector<double> a(m * k), tau(k);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (double& v : a) v = normal(rng);
    double lw = 0.0;
    cxxlapack::geqrf<index>(index(m), index(k), a.data(), index(m), tau.data(), &lw, -1);
    std::vector<double> work(std::size_t(std::max(lw, double(k))) + 1);
    index info = cxxlapack::geqrf<index>(index(m), index(k), a.data(), index(m), tau.data(), work.data(), index(work.size()));
    if (info != 0) throw error("gateaux::init::orthogonal: LAPACK's geqrf failed (info " + std::to_string(info) + ")");
    std::vector<double> sign(k);
    for (std::size_t j = 0; j < k; ++j) sign[j] = a[j + j * m] < 0.0 ? -gain : gain;
    cxxlapack::orgqr<index>(index(m), index(k), index(k), a.data(), index(m), tau.data(), &lw, -1);
    if (lw + 1 > double(work.size())) work.resize(std::size_t(lw) + 1);
    info = cxxlapack::orgqr<index>(index(m), index(k), index(k), a.data(), index(m), tau.data(), work.data(), index(work.size()));
    if (info != 0) throw error("gateaux::init::orthogonal: LAPACK's orgqr failed (info " + std::to_string(info) + ")");
    // Q(i, j) = a[i + j·m]; W = Q·diag(sign) or its transpose.
    for (std::size_t i = 0; i < r; ++i)
        for (std::size_t j = 0; j < c; ++j) t(i, j) = r >= c ? a[i + j * m] * sign[j] : a[j + i * m] * sign[i];
}
}  // namespace detail

// Fills t with draws of scheme s at the given fans (the orthogonal scheme uses t's shape and
// ignores them, but they are still checked ≥ 1), from rng. An empty t draws nothing.
inline void fill(tensor& t, const scheme& s, std::size_t fan_in, std::size_t fan_out, std::mt19937_64& rng) {
    s.check(fan_in, fan_out);
    if (t.size() == 0) return;
    if (s.family == family::orthogonal) {
        detail::fill_orthogonal(t, s.gain, rng);
        return;
    }
    const double sd = s.standard_deviation(fan_in, fan_out);
    if (s.distribution == distribution::normal) {
        std::normal_distribution<double> d(0.0, sd);
        for (double& v : t) v = d(rng);
    } else {
        const double a = std::sqrt(3.0) * sd;
        std::uniform_real_distribution<double> d(-a, a);
        for (double& v : t) v = d(rng);
    }
}

// A new rows×cols weight drawn from scheme s with fan_in = rows, fan_out = cols.
inline tensor weight(std::size_t rows, std::size_t cols, const scheme& s, std::mt19937_64& rng) {
    tensor t = tensor::from_shape({rows, cols});
    fill(t, s, rows, cols, rng);
    return t;
}

}  // namespace init

namespace detail {
// Whether a node adds parameter P to every row of its other operand (a bias add's row operand),
// and whether a schedule holds such a node.
template <class P, class Node>
struct adds_as_bias : std::false_type {};
template <class P, class A>
struct adds_as_bias<P, node<bias_add_op, A, P>> : std::true_type {};
template <class P, class Sched>
struct added_as_bias;
template <class P, class... N>
struct added_as_bias<P, meta::list<N...>> : std::bool_constant<(adds_as_bias<P, N>::value || ...)> {};

template <class P>
tensor initial_block(bool is_bias, const init::scheme& s, std::mt19937_64& rng) {
    if (is_bias) return xt::zeros<double>({std::size_t(P::rows), std::size_t(P::cols)});
    return init::weight(std::size_t(P::rows), std::size_t(P::cols), s, rng);
}
}  // namespace detail

// The parameters of wrt(...), in its order, ready to train: every 1×n parameter (a bias<...>)
// zero, every other one drawn from scheme s with fan_in = rows, fan_out = cols, from
// std::mt19937_64(seed).
template <class... P>
named_params<P...> initialize(params<P...>, const init::scheme& s, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<tensor> blocks;
    blocks.reserve(sizeof...(P));
    (blocks.push_back(detail::initial_block<P>(P::rows == 1, s, rng)), ...);  // left to right
    return named_params<P...>(param_set(std::move(blocks)));
}

// The same, with the biases read from the network (or its loss): a parameter net adds to every
// row (x·W + b) is zero, every other one is drawn, a 1×n weight included.
template <expression Net, class... P>
named_params<P...> initialize(Net, params<P...>, const init::scheme& s, std::uint64_t seed) {
    using sched = schedule_t<Net>;
    if constexpr (!invalid_expr<Net>)  // its op has reported the mistake
        static_assert(((meta::position<sched, P>::value != meta::npos) && ...),
                      "gateaux::initialize(net, wrt(...), scheme, seed): every parameter of wrt(...) must be used by net");
    std::mt19937_64 rng(seed);
    std::vector<tensor> blocks;
    blocks.reserve(sizeof...(P));
    (blocks.push_back(detail::initial_block<P>(detail::added_as_bias<P, sched>::value, s, rng)), ...);
    return named_params<P...>(param_set(std::move(blocks)));
}

}  // namespace gateaux
