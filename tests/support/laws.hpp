#pragma once
// Shared law checkers for derivative rules (JAX's check_grads is the model).
// Each is generic over an expression E and the parameters it is differentiated in (wrt(...)),
// and takes its samplers and its tolerance as arguments:
//   check_tangent(e, w, opt, tol)       jvp(e, w)·v against central differences of e along v
//   check_adjoint(e, w, opt, tol)       ⟨J v, u⟩ = ⟨v, Jᵀ u⟩ with jvp and vjp of e
//   check_second_order(e, w, opt, tol)  f = sum(U ⊙ e), U a fixed random input: hvp(f, w)·v
//                                       against central differences of the exact gradient,
//                                       and the symmetry uᵀHv = vᵀHu
// Every other leaf of e is bound by the checker: inputs and targets from opt.data (with a run-
// time batch from opt.batches when e has one), parameters outside wrt(...) from opt.point.
// Each checker returns the worst error over opt.seeds × opt.batches and where it occurred;
// the test asserts `CHECK(r.worst <= r.allowed)` so that Catch prints both numbers.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>

namespace laws {

using gateaux::tensor;
using rng = std::mt19937_64;

// ---------------------------------------------------------------- samplers

// A domain sampler: a rows×cols tensor drawn with the given generator.
using sampler = std::function<tensor(std::size_t rows, std::size_t cols, rng&)>;

namespace sample {

inline sampler normal(double mean = 0.0, double sd = 1.0) {
    return [=](std::size_t r, std::size_t c, rng& g) {
        std::normal_distribution<double> d(mean, sd);
        tensor t = tensor::from_shape({r, c});
        for (double& x : t.storage()) x = d(g);
        return t;
    };
}

inline sampler uniform(double lo, double hi) {
    return [=](std::size_t r, std::size_t c, rng& g) {
        std::uniform_real_distribution<double> d(lo, hi);
        tensor t = tensor::from_shape({r, c});
        for (double& x : t.storage()) x = d(g);
        return t;
    };
}

// |x − kink| in [margin, hi], either side with equal odds: for piecewise-linear functions, so
// that a finite-difference step never crosses the kink.
inline sampler away_from(double kink, double margin, double hi) {
    return [=](std::size_t r, std::size_t c, rng& g) {
        std::uniform_real_distribution<double> d(margin, hi);
        std::bernoulli_distribution side(0.5);
        tensor t = tensor::from_shape({r, c});
        for (double& x : t.storage()) x = kink + (side(g) ? d(g) : -d(g));
        return t;
    };
}

// Rows that are probability distributions (soft targets for cross-entropy).
inline sampler distributions() {
    return [](std::size_t r, std::size_t c, rng& g) {
        std::uniform_real_distribution<double> d(0.05, 1.0);
        tensor t = tensor::from_shape({r, c});
        for (std::size_t i = 0; i < r; ++i) {
            double s = 0.0;
            for (std::size_t j = 0; j < c; ++j) s += (t(i, j) = d(g));
            for (std::size_t j = 0; j < c; ++j) t(i, j) /= s;
        }
        return t;
    };
}

}  // namespace sample

// ---------------------------------------------------------------- options and results

struct options {
    sampler point = sample::normal();      // parameter values (where the derivative is taken)
    sampler direction = sample::normal();  // tangents v, cotangents u, and the weights U
    sampler data = sample::normal();       // inputs and targets of the expression
    std::vector<std::uint64_t> seeds{1, 2, 3};
    std::vector<std::size_t> batches{1, 4};  // used only when the expression has a batch
    double step = 3e-6;                      // central-difference step h
};

// An error or a tolerance; prints in scientific notation (Catch would print 3e-13 as 0.0).
struct measure {
    double value = 0.0;
    friend bool operator<=(measure a, measure b) { return a.value <= b.value; }
    friend std::ostream& operator<<(std::ostream& os, measure m) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3e", m.value);
        return os << buf;
    }
};

struct report {
    explicit report(double tolerance) : allowed{tolerance} {}
    measure worst{INFINITY};  // the largest error seen (+inf for a non-finite one, or no case)
    measure allowed;          // the tolerance it is held to
    std::string where = "(no case run)";
    int cases = 0;

    void add(double err, const std::string& at) {
        if (!std::isfinite(err)) err = INFINITY;
        if (cases++ == 0 || err > worst.value) {
            worst.value = err;
            where = at;
        }
    }
};

// ---------------------------------------------------------------- arithmetic on tensors

inline double dot(const tensor& a, const tensor& b) {
    long double s = 0.0L;
    for (std::size_t k = 0; k < a.size(); ++k) s += (long double)a.storage()[k] * b.storage()[k];
    return double(s);
}

inline double norm(const tensor& a) { return std::sqrt(dot(a, a)); }

template <std::size_t N>
double dot(const std::array<tensor, N>& a, const std::array<tensor, N>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < N; ++i) s += dot(a[i], b[i]);
    return s;
}

template <std::size_t N>
double norm(const std::array<tensor, N>& a) {
    return std::sqrt(dot(a, a));
}

// ‖got − want‖ / ‖want‖ over all blocks (the absolute error where want is exactly zero);
// a shape mismatch counts as an infinite error.
template <std::size_t N>
double rel_error(const std::array<tensor, N>& got, const std::array<tensor, N>& want) {
    long double diff = 0.0L, ref = 0.0L;
    for (std::size_t i = 0; i < N; ++i) {
        if (got[i].shape() != want[i].shape()) return INFINITY;
        for (std::size_t k = 0; k < want[i].size(); ++k) {
            const long double d = (long double)got[i].storage()[k] - want[i].storage()[k];
            diff += d * d;
            ref += (long double)want[i].storage()[k] * want[i].storage()[k];
        }
    }
    return double(ref == 0.0L ? std::sqrt(diff) : std::sqrt(diff / ref));
}

inline double rel_error(const tensor& got, const tensor& want) {
    return rel_error(std::array<tensor, 1>{got}, std::array<tensor, 1>{want});
}

// |a − b| relative to a scale (the absolute difference if the scale is zero).
inline double scaled_difference(double a, double b, double scale) {
    const double d = std::fabs(a - b);
    return scale == 0.0 ? d : d / scale;
}

// ---------------------------------------------------------------- binding

namespace detail {

template <class E, class L = gateaux::schedule_t<E>>
inline constexpr bool has_batch = false;
template <class E, class... N>
inline constexpr bool has_batch<E, gateaux::meta::list<N...>> = ((N::rows == gateaux::batch) || ...);

inline std::size_t rows_of(gateaux::dim d, std::size_t b) { return d == gateaux::batch ? b : std::size_t(d); }

// Binds every leaf of E that the checker does not own: inputs and targets from o.data,
// parameters outside Params from o.point. Tensors live in `store` (a deque: never moved).
template <class Params, class E, class Prog>
void bind_other_leaves(Prog& prog, E, const options& o, std::size_t b, rng& g, std::deque<tensor>& store) {
    [&]<class... N>(gateaux::meta::list<N...>) {
        ([&] {
            if constexpr (gateaux::is_leaf<N>) {
                using K = typename N::kind;
                constexpr bool data = std::is_same_v<K, gateaux::input_kind> || std::is_same_v<K, gateaux::target_kind>;
                constexpr bool fixed_param =
                    std::is_same_v<K, gateaux::param_kind> && !gateaux::meta::contains<Params, N>;
                if constexpr (data || fixed_param) {
                    const sampler& s = data ? o.data : o.point;
                    store.push_back(s(rows_of(N::rows, b), std::size_t(N::cols), g));
                    prog.bind(N{}, store.back());
                }
            }
        }(), ...);
    }(gateaux::schedule_t<E>{});
}

template <class... P>
std::array<tensor, sizeof...(P)> draw(const sampler& s, rng& g) {
    // A braced list is evaluated left to right, so the draws are reproducible.
    return {s(std::size_t(P::rows), std::size_t(P::cols), g)...};
}

template <class Prog, class... P>
void bind_params(Prog& prog, const std::array<tensor, sizeof...(P)>& t) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (prog.bind(P{}, t[I]), ...); }(std::index_sequence_for<P...>{});
}

template <class Prog, class... P>
void bind_directions(Prog& prog, const std::array<tensor, sizeof...(P)>& v) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ([&] {
            if constexpr (Prog::computes(gateaux::direction_t<P>{})) prog.bind(gateaux::direction_t<P>{}, v[I]);
        }(), ...);
    }(std::index_sequence_for<P...>{});
}

// The blocks of a group (one per parameter), copied out of the program.
template <class Prog, class G, class... P>
std::array<tensor, sizeof...(P)> blocks(const Prog& prog, G) {
    return {tensor(prog[G::of(P{})])...};
}

template <std::size_t N>
std::array<tensor, N> axpy(const std::array<tensor, N>& x, double a, const std::array<tensor, N>& v) {
    std::array<tensor, N> out;
    for (std::size_t i = 0; i < N; ++i) out[i] = x[i] + a * v[i];
    return out;
}

inline std::string where(std::uint64_t seed, std::size_t b, bool batched) {
    return "seed " + std::to_string(seed) + (batched ? ", batch " + std::to_string(b) : std::string());
}

// Calls f(seed, batch, rng) for each seed, and each batch size if E has a run-time batch.
template <class E, class F>
void for_each_case(const options& o, F f) {
    const std::vector<std::size_t> one{1};
    for (std::uint64_t seed : o.seeds)
        for (std::size_t b : has_batch<E> ? o.batches : one) {
            rng g(seed);
            f(seed, b, g);
        }
}

}  // namespace detail

// ---------------------------------------------------------------- the laws

// Tangent law: jvp(e, w) along random v equals (e(θ + h v) − e(θ − h v)) / 2h, normwise
// relative error over the whole output.
template <gateaux::expression E, class... P>
report check_tangent(E e, gateaux::params<P...> w, const options& o, double tol) {
    using Params = gateaux::meta::list<P...>;
    const auto jv = gateaux::jvp(e, w);
    auto prog = gateaux::compile(e, jv);
    report r(tol);
    detail::for_each_case<E>(o, [&](std::uint64_t seed, std::size_t b, rng& g) {
        std::deque<tensor> store;
        detail::bind_other_leaves<Params>(prog, e, o, b, g, store);
        const auto theta = detail::draw<P...>(o.point, g);
        const auto v = detail::draw<P...>(o.direction, g);
        detail::bind_directions<decltype(prog), P...>(prog, v);

        const auto value_at = [&](const std::array<tensor, sizeof...(P)>& t) {
            detail::bind_params<decltype(prog), P...>(prog, t);
            prog.run();
            return tensor(prog[e]);
        };
        const auto up = detail::axpy(theta, o.step, v), down = detail::axpy(theta, -o.step, v);
        const tensor fd = (value_at(up) - value_at(down)) / (2.0 * o.step);
        value_at(theta);
        r.add(rel_error(tensor(prog[jv]), fd), detail::where(seed, b, detail::has_batch<E>));
    });
    return r;
}

// Adjoint law: ⟨J v, u⟩ = ⟨v, Jᵀ u⟩ for random v (directions) and u (the cotangent leaf),
// measured as |difference| / (‖J v‖‖u‖ + ‖v‖‖Jᵀ u‖).
template <gateaux::expression E, class... P>
report check_adjoint(E e, gateaux::params<P...> w, const options& o, double tol) {
    using Params = gateaux::meta::list<P...>;
    const auto jv = gateaux::jvp(e, w);
    const auto jtu = gateaux::vjp(e, w);
    auto prog = gateaux::compile(e, jv, jtu);
    using Prog = decltype(prog);
    report r(tol);
    detail::for_each_case<E>(o, [&](std::uint64_t seed, std::size_t b, rng& g) {
        std::deque<tensor> store;
        detail::bind_other_leaves<Params>(prog, e, o, b, g, store);
        const auto theta = detail::draw<P...>(o.point, g);
        const auto v = detail::draw<P...>(o.direction, g);
        const tensor u = o.direction(detail::rows_of(E::rows, b), std::size_t(E::cols), g);
        detail::bind_params<Prog, P...>(prog, theta);
        detail::bind_directions<Prog, P...>(prog, v);
        prog.bind(gateaux::cotangent_t<E>{}, u);
        prog.run();
        const tensor Jv = prog[jv];
        const auto JTu = detail::blocks<Prog, decltype(jtu), P...>(prog, jtu);
        const double lhs = dot(Jv, u), rhs = dot(v, JTu);
        const double scale = norm(Jv) * norm(u) + norm(v) * norm(JTu);
        r.add(scaled_difference(lhs, rhs, scale), detail::where(seed, b, detail::has_batch<E>));
    });
    return r;
}

// The fixed weights U of the scalar test function sum(U ⊙ e): an input shaped like e.
template <gateaux::expression E>
using weights_t = gateaux::leaf<gateaux::input_kind, "laws.U", E::rows, E::cols>;

struct second_order_tolerance {
    double fd;        // ‖H v − FD of ∇f along v‖ / ‖FD‖
    double symmetry;  // |uᵀHv − vᵀHu| / (‖u‖‖Hv‖ + ‖v‖‖Hu‖)
};

struct second_order_report {
    report fd;
    report symmetry;
};

// Second-order law for f = sum(U ⊙ e): hvp(f, w) along v equals
// (∇f(θ + h v) − ∇f(θ − h v)) / 2h from the exact gradient (fd_hvp), and uᵀHv = vᵀHu.
template <gateaux::expression E, class... P>
second_order_report check_second_order(E e, gateaux::params<P...> w, const options& o, second_order_tolerance tol) {
    using Params = gateaux::meta::list<P...>;
    const auto f = gateaux::sum(gateaux::hadamard(weights_t<E>{}, e));
    const auto gr = gateaux::grad(f, w);
    const auto hv = gateaux::hvp(f, w);
    auto prog = gateaux::compile(f, gr, hv);
    using Prog = decltype(prog);
    second_order_report r{report(tol.fd), report(tol.symmetry)};
    detail::for_each_case<E>(o, [&](std::uint64_t seed, std::size_t b, rng& g) {
        std::deque<tensor> store;
        detail::bind_other_leaves<Params>(prog, f, o, b, g, store);
        const tensor U = o.direction(detail::rows_of(E::rows, b), std::size_t(E::cols), g);
        prog.bind(weights_t<E>{}, U);
        const auto theta = detail::draw<P...>(o.point, g);
        const auto u = detail::draw<P...>(o.direction, g);
        const auto v = detail::draw<P...>(o.direction, g);
        detail::bind_params<Prog, P...>(prog, theta);

        const auto hvp_along = [&](const std::array<tensor, sizeof...(P)>& d) {
            detail::bind_directions<Prog, P...>(prog, d);
            prog.run();
            return detail::blocks<Prog, decltype(hv), P...>(prog, hv);
        };
        const auto Hu = hvp_along(u);
        const auto Hv = hvp_along(v);
        const auto fd = gateaux::fd_hvp(prog, f, w, v, o.step);
        const std::string at = detail::where(seed, b, detail::has_batch<E>);
        r.fd.add(rel_error(Hv, fd), at);
        const double scale = norm(u) * norm(Hv) + norm(v) * norm(Hu);
        r.symmetry.add(scaled_difference(dot(u, Hv), dot(v, Hu), scale), at);
    });
    return r;
}

// ---------------------------------------------------------------- tables of rows

// Tolerances of one row, one per law.
struct tolerances {
    double tangent = 1e-8;     // jvp against central differences
    double adjoint = 1e-13;    // the dot-product identity
    double hvp = 1e-7;         // hvp against central differences of the gradient
    double symmetry = 1e-13;   // uᵀHv = vᵀHu
};

// One row of a law table: the expression built from one op, the parameters it moves, where
// to sample (domain, seeds, batch sizes) and the tolerances. Rows differ in type, so a table
// is a std::tuple of rows.
template <class E, class W>
struct row {
    std::string name;
    E expr;
    W wrt;
    options opt;
    tolerances tol;
};

template <gateaux::expression E, class W>
row<E, W> make_row(std::string name, E e, W w, options opt = {}, tolerances tol = {}) {
    return {std::move(name), e, w, std::move(opt), tol};
}

template <class... R, class F>
void for_each_row(const std::tuple<R...>& table, F f) {
    std::apply([&](const R&... r) { (f(r), ...); }, table);
}

}  // namespace laws
