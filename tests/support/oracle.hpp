#pragma once
// The oracle for the B-operator's acceptance tests (tests/symbolic/bop_*.cpp): networks described
// as types, well-conditioned random data (docs/theory.md, "Numerics"), and the explicit
// per-layer Hessian block H_l (hessian_block, assembled from R-operator columns) solved by
// LAPACK through xtensor-blas: an SVD, truncated at the numerical rank, gives H_l⁺ and cond(H_l).
//
//   using N = oracle::net<oracle::loss_kind::sum_se, oracle::widths<6, 5, 5>,
//                         oracle::acts<oracle::leaky, oracle::linear>, oracle::at<1, 2>>;
//   oracle::check_exact(std::tuple{oracle::row<N>{"equal widths", {"chain", "chain"}, seed}}, summary);
//
// instance<N> compiles loss, grad, hvp, newton_step and bop into one program and binds the data;
// compare() runs it and measures, for every checked layer l:
//   newton_step   against H_l⁺·G_l                (err_step)
//   bop along v   against H_l⁺·v, v ~ N(0, 1)     (err_bop)
//   ‖H_l·Δ_l − G_l‖/‖G_l‖                           (residual_step: any Newton solution has it ≈ 0)
//   bop along v = H_l·u (a direction in the range of H_l): ‖H_l·d − v‖/‖v‖ (residual_bop)
// and records cond(H_l) = σ_max/σ_rank, the numerical rank, the rank docs/theory.md predicts and the
// formula the library chose. check_exact asserts what docs/theory.md calls exact; other tests pick.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <gateaux/gateaux.hpp>

namespace oracle {

using gateaux::dim;
using gateaux::tensor;
using rng = std::mt19937_64;

inline constexpr double eps = std::numeric_limits<double>::epsilon();

// An error or a tolerance, printed in scientific notation (Catch prints 3e-13 as 0.0).
struct sci {
    double value;
    friend bool operator<=(sci a, sci b) { return a.value <= b.value; }
    friend bool operator>(sci a, sci b) { return a.value > b.value; }
    friend std::ostream& operator<<(std::ostream& os, sci e) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3e", e.value);
        return os << buf;
    }
};

// ---------------------------------------------------------------- random data

inline tensor gaussian(std::size_t rows, std::size_t cols, rng& g, double sd = 1.0) {
    std::normal_distribution<double> d(0.0, sd);
    tensor t = tensor::from_shape({rows, cols});
    for (double& v : t.storage()) v = d(g);
    return t;
}

// U·diag(s)·Vᵀ with U, V the singular vectors of a Gaussian matrix and s uniform in [lo, hi]:
// cond ≤ hi/lo = 2 for the defaults.
inline tensor wellcond(std::size_t rows, std::size_t cols, rng& g, double lo = 0.7, double hi = 1.4) {
    const tensor a = gaussian(rows, cols, g);
    auto [u, s, vt] = xt::linalg::svd(a, false, true);
    std::uniform_real_distribution<double> d(lo, hi);
    for (double& v : s) v = d(g);
    tensor us = u * xt::view(s, xt::newaxis(), xt::all());
    return xt::linalg::dot(us, vt);
}

// One-hot rows (classes uniform), or rows that are probability distributions.
inline tensor one_hot(std::size_t rows, std::size_t cols, rng& g) {
    std::uniform_int_distribution<std::size_t> d(0, cols - 1);
    tensor t = xt::zeros<double>({rows, cols});
    for (std::size_t i = 0; i < rows; ++i) t(i, d(g)) = 1.0;
    return t;
}
inline tensor distributions(std::size_t rows, std::size_t cols, rng& g) {
    std::uniform_real_distribution<double> d(0.05, 1.0);
    tensor t = tensor::from_shape({rows, cols});
    for (std::size_t i = 0; i < rows; ++i) {
        double s = 0.0;
        for (std::size_t j = 0; j < cols; ++j) s += t(i, j) = d(g);
        for (std::size_t j = 0; j < cols; ++j) t(i, j) /= s;
    }
    return t;
}

// ---------------------------------------------------------------- linear algebra

inline double norm(const tensor& a) {
    long double s = 0.0L;
    for (double v : a) s += (long double)v * v;
    return double(std::sqrt(s));
}
// ‖got − want‖_F / ‖want‖_F (shapes must agree; a mismatch is an infinite error).
inline double rel_error(const tensor& got, const tensor& want) {
    if (got.shape() != want.shape()) return INFINITY;
    long double d = 0.0L, r = 0.0L;
    for (std::size_t k = 0; k < want.size(); ++k) {
        const long double e = (long double)got.flat(k) - want.flat(k);
        d += e * e;
        r += (long double)want.flat(k) * want.flat(k);
    }
    return double(r == 0.0L ? std::sqrt(d) : std::sqrt(d / r));
}

inline double max_abs(const tensor& a) {
    double m = 0.0;
    for (double v : a) m = std::max(m, std::abs(v));
    return m;
}
// Bit-for-bit equality of lists of tensors (a failed run must leave the caller's data untouched).
inline bool bit_identical(const std::vector<tensor>& a, const std::vector<tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].shape() != b[i].shape() || !std::equal(a[i].begin(), a[i].end(), b[i].begin())) return false;
    return true;
}

// H (n×n, symmetric) through its SVD; rank = #{σ_i > cutoff·σ_max}, cond = σ_max/σ_rank.
struct pseudo_inverse {
    explicit pseudo_inverse(const tensor& h, double cutoff = 1e-10) {
        auto [u_, s_, vt_] = xt::linalg::svd(h, false, true);
        u = u_;
        s = s_;
        vt = vt_;
        while (rank < s.size() && s(rank) > cutoff * s(0)) ++rank;
        cond = rank == 0 ? INFINITY : s(0) / s(rank - 1);
        gap = rank < s.size() ? s(rank) / s(0) : 0.0;
    }
    // H⁺·b for a matrix b of the parameter's shape (flattened row-major, as hessian_block does).
    tensor solve(const tensor& b) const {
        const std::size_t n = s.size();
        std::vector<double> c(rank, 0.0);
        for (std::size_t i = 0; i < rank; ++i) {
            long double t = 0.0L;
            for (std::size_t j = 0; j < n; ++j) t += (long double)u(j, i) * b.flat(j);
            c[i] = double(t / s(i));
        }
        tensor x = tensor::from_shape(b.shape());
        for (std::size_t j = 0; j < n; ++j) {
            long double t = 0.0L;
            for (std::size_t i = 0; i < rank; ++i) t += (long double)vt(i, j) * c[i];
            x.flat(j) = double(t);
        }
        return x;
    }
    xt::xtensor<double, 2> u, vt;
    xt::xtensor<double, 1> s;
    std::size_t rank = 0;
    double cond = INFINITY;
    double gap = 0.0;  // σ_{rank+1}/σ_max: how clearly the rank is determined
};

// H·d for a parameter-shaped d (flattened row-major).
inline tensor multiply(const tensor& h, const tensor& d) {
    tensor out = tensor::from_shape(d.shape());
    for (std::size_t i = 0; i < h.shape(0); ++i) {
        long double t = 0.0L;
        for (std::size_t j = 0; j < h.shape(1); ++j) t += (long double)h(i, j) * d.flat(j);
        out.flat(i) = double(t);
    }
    return out;
}

// ---------------------------------------------------------------- networks as types

template <dim... N>
struct widths {};
template <class... A>
struct acts {};
template <std::size_t... K>
struct at {};  // the layers whose blocks are checked (the parameters of wrt(...))

using leaky = gateaux::activation<gateaux::leaky_relu_fn<0.5>>;
using leaky01 = gateaux::activation<gateaux::leaky_relu_fn<0.1>>;
using linear = gateaux::activation<gateaux::identity_fn>;
using tanh_a = gateaux::activation<gateaux::tanh_fn>;
using softplus = gateaux::activation<gateaux::softplus_fn>;
using sigmoid = gateaux::activation<gateaux::sigmoid_fn>;

enum class loss_kind { sum_se, mean_se, sum_ce, mean_ce };
inline const char* loss_name(loss_kind k) {
    constexpr const char* names[] = {"sum(squared_error)", "mse", "sum(cross_entropy)", "mean(cross_entropy)"};
    return names[int(k)];
}

// Whether the row passes accept_newton_solution to newton_step and bop.
enum class policy { exact_only, newton_solution };

template <loss_kind K, class Widths, class Acts, class At, policy P = policy::exact_only>
struct net;

template <loss_kind K, dim... N, class... A, std::size_t... C, policy P>
struct net<K, widths<N...>, acts<A...>, at<C...>, P> {
    static constexpr std::size_t depth = sizeof...(A);
    static_assert(sizeof...(N) == depth + 1, "oracle::net: give n_0..n_L and one activation per layer");
    static constexpr std::array<dim, depth + 1> n{N...};
    static constexpr std::array<std::size_t, sizeof...(C)> checked{C...};
    static constexpr loss_kind kind = K;
    static constexpr bool ce = K == loss_kind::sum_ce || K == loss_kind::mean_ce;
    static constexpr bool accepts_newton = P == policy::newton_solution;

    template <std::size_t k>
    using act = std::tuple_element_t<k - 1, std::tuple<A...>>;
    template <std::size_t k>
    static constexpr auto W = gateaux::param<gateaux::indexed_name<"W", k>(), n[k - 1], n[k]>;
    static constexpr auto x = gateaux::input<"x", n[0]>;
    static constexpr auto y = gateaux::target<"y", n[depth]>;

    template <std::size_t k, class H>
    static constexpr auto forward(H h) {
        if constexpr (k > depth)
            return h;
        else
            return forward<k + 1>(act<k>{}(h * W<k>));
    }
    static constexpr auto out = forward<1>(x);
    static constexpr auto make_loss() {
        if constexpr (K == loss_kind::sum_se)
            return gateaux::sum(gateaux::squared_error(out, y));
        else if constexpr (K == loss_kind::mean_se)
            return gateaux::mse(out, y);
        else if constexpr (K == loss_kind::sum_ce)
            return gateaux::sum(gateaux::cross_entropy(out, y));
        else
            return gateaux::mean(gateaux::cross_entropy(out, y));
    }
    static constexpr auto loss = make_loss();
    static constexpr auto w = gateaux::wrt(W<C>...);

    // The largest batch every checked layer allows: B ≤ n_{l−1}.
    static constexpr std::size_t max_batch = [] {
        dim b = n[checked[0] - 1];
        for (std::size_t l : checked) b = std::min(b, n[l - 1]);
        return std::size_t(b);
    }();

    // rank T_b at net_l (docs/theory.md, "One generic pass over the graph"): the output block has rank n_L (n_L − 1 for softmax); a
    // piecewise-linear layer's congruence D·W·T·Wᵀ·D keeps min(n_l, rank above); a smooth
    // layer adds diag(γ⊙a″), generically of full rank n_l.
    static constexpr std::size_t curvature_rank(std::size_t l) {
        constexpr bool pl[] = {A::function::piecewise_linear...};
        std::size_t r = std::size_t(n[depth]) - (ce ? 1 : 0);
        for (std::size_t k = depth - 1; k >= l && k >= 1; --k)
            r = pl[k - 1] ? std::min(r, std::size_t(n[k])) : std::size_t(n[k]);
        return r;
    }

    // The formula the library chose for layer l (bop_plan.hpp), by name.
    template <std::size_t l>
    static const char* library_formula() {
        using options = std::conditional_t<accepts_newton, gateaux::bop_options<gateaux::accept_newton_solution_t>,
                                           gateaux::bop_options<>>;
        using L = std::remove_const_t<decltype(loss)>;
        using F = gateaux::detail::bop::formula;
        switch (gateaux::detail::bop::choose<gateaux::detail::curvature::path_of<L, std::remove_const_t<decltype(W<l>)>>, options>()) {
            case F::chain: return "chain";
            case F::master: return "master";
            case F::newton_solution: return "newton_solution";
            default: return "(compile error)";
        }
    }
    static const char* library_formula(std::size_t l) {
        const char* out = "?";
        [&]<std::size_t... J>(std::index_sequence<J...>) {
            ((J + 1 == l ? (void)(out = library_formula<J + 1>()) : (void)0), ...);
        }(std::make_index_sequence<depth>{});
        return out;
    }

    static std::string describe() {
        std::string s;
        for (std::size_t k = 0; k <= depth; ++k) s += (k ? "→" : "") + std::to_string(n[k]);
        constexpr std::string_view names[] = {A::function::name...};
        s += " [";
        for (std::size_t k = 0; k < depth; ++k) s += (k ? ", " : "") + std::string(names[k]);
        return s + "] " + loss_name(K);
    }
};

// ---------------------------------------------------------------- one configuration

struct result {
    std::string row;         // the table row's label
    std::string formula;     // expected by the row (docs/theory.md)
    std::string chosen;      // chosen by the library
    std::size_t layer = 0, batch = 0;
    std::uint64_t seed = 0;
    double cond = 0.0;       // cond(H_l) on its range
    double gap = 0.0;        // σ_{rank+1}/σ_max
    std::size_t rank = 0, expected_rank = 0;
    double err_step = 0.0, err_bop = 0.0;          // against the pseudo-inverse solve
    double residual_step = 0.0, residual_bop = 0.0;  // ‖H·Δ − G‖/‖G‖ and ‖H·d − v‖/‖v‖ with v = H·u
    double step_norm = 0.0, min_norm = 0.0;        // ‖Δ‖ and ‖H⁺G‖
    // The tolerance for an exact formula: the dense solve's own error, ≈ eps·cond(H).
    double tolerance() const { return 100.0 * eps * cond; }
    std::string where() const {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s | layer %zu | B = %zu | seed %llu | %s (library: %s) | cond(H) = %.3g | rank %zu (expected %zu, gap %.1e)",
                      row.c_str(), layer, batch, (unsigned long long)seed, formula.c_str(), chosen.c_str(), cond, rank,
                      expected_rank, gap);
        return buf;
    }
};

// The targets: for the squared error the output activation of N(0, 1) (inside its range); for
// cross-entropy one-hot rows or distributions, alternating with the seed.
template <class Net>
tensor make_targets(std::size_t b, rng& g, std::uint64_t seed) {
    constexpr std::size_t nl = std::size_t(Net::n[Net::depth]);
    if constexpr (Net::ce) {
        return seed % 2 == 0 ? one_hot(b, nl, g) : distributions(b, nl, g);
    } else {
        using F = typename Net::template act<Net::depth>::function;
        tensor t = gaussian(b, nl, g);
        for (double& v : t) v = F::f(v);
        return t;
    }
}

// One network compiled with loss, grad, hvp, newton_step and bop, and its bound data: x and the
// weights well-conditioned (singular values in [0.7, 1.4]), targets from make_targets, and
// directions v ~ N(0, 1) for the checked layers. The program holds pointers to the tensors, so an
// instance is neither copied nor moved; tests may overwrite the tensors (keeping shapes) or rebind.
template <class Net>
struct instance {
    static constexpr std::size_t L = Net::depth, C = Net::checked.size();
    static constexpr auto loss = Net::loss;
    static constexpr auto w = Net::w;
    static constexpr auto step_expr() {
        if constexpr (Net::accepts_newton)
            return gateaux::newton_step(loss, w, gateaux::accept_newton_solution);
        else
            return gateaux::newton_step(loss, w);
    }
    static constexpr auto bop_expr() {
        if constexpr (Net::accepts_newton)
            return gateaux::bop(loss, w, gateaux::accept_newton_solution);
        else
            return gateaux::bop(loss, w);
    }
    static constexpr auto s = step_expr();
    static constexpr auto d = bop_expr();
    static constexpr auto g = gateaux::grad(loss, w);
    static auto make() { return gateaux::compile(loss, g, gateaux::hvp(loss, w), s, d); }
    template <std::size_t I>
    static constexpr auto param = Net::template W<Net::checked[I]>;

    instance(std::size_t b, std::uint64_t seed_) : seed(seed_), gen(seed_) {
        x = wellcond(b, std::size_t(Net::n[0]), gen);
        y = make_targets<Net>(b, gen, seed);
        for (std::size_t k = 0; k < L; ++k) weights[k] = wellcond(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
        for (std::size_t i = 0; i < C; ++i)
            v[i] = gaussian(std::size_t(Net::n[Net::checked[i] - 1]), std::size_t(Net::n[Net::checked[i]]), gen);
        bind();
    }
    instance(const instance&) = delete;
    instance& operator=(const instance&) = delete;

    void bind() {
        prog.bind(Net::x, x).bind(Net::y, y);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (prog.bind(Net::template W<K + 1>, weights[K]), ...);
        }(std::make_index_sequence<L>{});
        bind_directions(v);
    }
    void bind_directions(std::array<tensor, C>& dirs) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (prog.bind(gateaux::direction(param<I>), dirs[I]), ...);
        }(std::make_index_sequence<C>{});
    }
    // Every bound tensor, for checking that a failed run left them unchanged.
    std::vector<tensor> bound() const {
        std::vector<tensor> all{x, y};
        all.insert(all.end(), weights.begin(), weights.end());
        all.insert(all.end(), v.begin(), v.end());
        return all;
    }

    // Run, and compare every checked layer with its explicit block. `formulas` gives, per checked
    // layer, the formula docs/theory.md assigns.
    std::vector<result> compare(const std::string& row, const std::vector<std::string>& formulas) {
        prog.run();
        // Read every result before hessian_block runs the program along its own unit directions.
        std::array<tensor, C> step, along_v, gradient, hessian;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((step[I] = prog[s.of(param<I>)], along_v[I] = prog[d.of(param<I>)], gradient[I] = prog[g.of(param<I>)]), ...);
            ((hessian[I] = gateaux::hessian_block(prog, loss, w, param<I>)), ...);
        }(std::make_index_sequence<C>{});

        // A second run along directions in the range of each block: v = H·u.
        std::array<tensor, C> in_range;
        for (std::size_t i = 0; i < C; ++i) in_range[i] = oracle::multiply(hessian[i], gaussian(v[i].shape(0), v[i].shape(1), gen));
        bind_directions(in_range);
        prog.run();
        std::array<tensor, C> along_range;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((along_range[I] = prog[d.of(param<I>)]), ...);
        }(std::make_index_sequence<C>{});
        bind_directions(v);

        std::vector<result> out;
        for (std::size_t i = 0; i < C; ++i) {
            const std::size_t l = Net::checked[i];
            const pseudo_inverse hp(hessian[i]);
            const tensor newton = hp.solve(gradient[i]);
            result r;
            r.row = row + ": " + Net::describe();
            r.formula = i < formulas.size() ? formulas[i] : "?";
            r.chosen = Net::library_formula(l);
            r.layer = l;
            r.batch = prog.batch_size();
            r.seed = seed;
            r.cond = hp.cond;
            r.gap = hp.gap;
            r.rank = hp.rank;
            r.expected_rank = prog.batch_size() * Net::curvature_rank(l);
            r.err_step = rel_error(step[i], newton);
            r.err_bop = rel_error(along_v[i], hp.solve(v[i]));
            r.residual_step = rel_error(oracle::multiply(hessian[i], step[i]), gradient[i]);
            r.residual_bop = rel_error(oracle::multiply(hessian[i], along_range[i]), in_range[i]);
            r.step_norm = oracle::norm(step[i]);
            r.min_norm = oracle::norm(newton);
            out.push_back(r);
        }
        return out;
    }

    std::uint64_t seed;
    rng gen;
    tensor x, y;
    std::array<tensor, L> weights;
    std::array<tensor, C> v;
    decltype(make()) prog = make();
};

// Run Net at batch b from seed, and compare every checked layer with its explicit block.
template <class Net>
std::vector<result> check(const std::string& row, const std::vector<std::string>& formulas, std::size_t b,
                          std::uint64_t seed) {
    instance<Net> net(b, seed);
    return net.compare(row, formulas);
}

// The batch sizes and seeds a row is run at: B = 1, the limit, and sizes in between.
struct config {
    std::size_t batch;
    std::uint64_t seed;
};
inline std::vector<config> configs(std::size_t max_batch, std::uint64_t seed0, std::size_t count = 4) {
    std::vector<config> c;
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t b = i == 0 ? 1 : i == 1 ? max_batch : 1 + (max_batch - 1) * i / count;
        c.push_back({std::max<std::size_t>(1, std::min(b, max_batch)), seed0 + i});
    }
    return c;
}

// ---------------------------------------------------------------- tables of rows

// One row of a test table: a network type, the formula docs/theory.md assigns to each checked layer,
// and the configurations it runs at (B = 1 up to its limit, one seed each).
template <class Net>
struct row {
    std::string label;
    std::vector<std::string> formulas;
    std::uint64_t seed = 1;
    std::size_t max_batch = Net::max_batch;  // lower it where the data would be rank-deficient
    std::size_t count = 4;
    using network = Net;
};

// The worst error per formula and quantity, with the cond(H) where it occurred.
struct summary {
    struct entry {
        std::string formula, quantity;
        std::size_t checks = 0;
        double err = 0.0, cond = 0.0;  // the largest error, and cond(H_l) there
        std::string where;
        double ratio = 0.0;  // the largest err/(eps·cond(H_l)): the margin against 100
    };
    std::vector<entry> entries;
    std::size_t configurations = 0;
    std::size_t forced = 0;  // layer checks where 100·eps·cond(H_l) exceeds 1e-9
    double max_cond = 0.0;

    void add(const result& r, const std::string& quantity, double err) {
        max_cond = std::max(max_cond, r.cond);
        if (quantity == "newton_step" && r.tolerance() > 1e-9) ++forced;
        for (entry& e : entries)
            if (e.formula == r.formula && e.quantity == quantity) {
                ++e.checks;
                if (err >= e.err) e.err = err, e.cond = r.cond, e.where = r.where();
                e.ratio = std::max(e.ratio, err / (eps * r.cond));
                return;
            }
        entries.push_back({r.formula, quantity, 1, err, r.cond, r.where(), err / (eps * r.cond)});
    }
    void print(const char* title) const {
        std::printf("%s: %zu configurations, largest cond(H_l) %.3g; %zu layer checks with 100*eps*cond(H_l) > 1e-9\n",
                    title, configurations, max_cond, forced);
        for (const entry& e : entries)
            std::printf("  %-16s %-12s %4zu layer checks, worst %.2e at cond(H) = %.3g; largest error/(eps*cond) %.1f\n"
                        "      at %s\n",
                        e.formula.c_str(), e.quantity.c_str(), e.checks, e.err, e.cond, e.ratio, e.where.c_str());
    }
};

// Every configuration of every row of an exact table: newton_step and bop against the
// pseudo-inverse solve within 100·eps·cond(H_l) (the dense solve's own accuracy; below 1e-9
// unless cond(H_l) > 4.5e5 forces more, which the summary counts), the Newton residuals within
// the same, and the formula the library chose and the rank of H_l as docs/theory.md states.
template <class Net>
void check_exact(const row<Net>& r, summary& sum) {
    for (const config& c : configs(r.max_batch, r.seed, r.count)) {
        ++sum.configurations;
        for (const result& res : check<Net>(r.label, r.formulas, c.batch, c.seed)) {
            INFO(res.where());
            const double tol = res.tolerance();
            CHECK(res.chosen == res.formula);
            CHECK(res.rank == res.expected_rank);
            CHECK(sci{res.err_step} <= sci{tol});
            CHECK(sci{res.err_bop} <= sci{tol});
            CHECK(sci{res.residual_step} <= sci{tol});
            CHECK(sci{res.residual_bop} <= sci{tol});
            sum.add(res, "newton_step", res.err_step);
            sum.add(res, "bop", res.err_bop);
        }
    }
}
template <class... Net>
void check_exact(const std::tuple<row<Net>...>& rows, summary& sum) {
    std::apply([&](const auto&... r) { (check_exact(r, sum), ...); }, rows);
}

// ---------------------------------------------------------------- reading an instance

// The checked layers' values at the current binding, in wrt(...) order (run the program first):
// read(net, instance<Net>::g) gives the gradients G_l (::s the newton_steps, ::d bop along the
// bound directions); hessian_blocks the explicit H_l (it runs the program along its own unit
// directions: read the others before, and run again after).
template <class Net, class Group>
std::array<tensor, instance<Net>::C> read(const instance<Net>& net, Group group) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<tensor, instance<Net>::C>{tensor(net.prog[group.of(instance<Net>::template param<I>)])...};
    }(std::make_index_sequence<instance<Net>::C>{});
}
// Binds an instance's data and weights into another program of the same net (e.g. a gradient-only
// one, which runs where newton_step would refuse).
template <class Net, class Prog>
void bind_data(instance<Net>& net, Prog& prog) {
    prog.bind(Net::x, net.x).bind(Net::y, net.y);
    [&]<std::size_t... K>(std::index_sequence<K...>) {
        (prog.bind(Net::template W<K + 1>, net.weights[K]), ...);
    }(std::make_index_sequence<Net::depth>{});
}

// h_{l−1}, the input of layer l, by a forward pass in xtensor with each activation's f (not
// through the library's program).
template <class Net>
tensor layer_input(const instance<Net>& net, std::size_t l) {
    tensor h = net.x;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
        ([&] {
            if (K + 1 >= l) return;
            h = xt::linalg::dot(h, net.weights[K]);
            for (double& e : h) e = Net::template act<K + 1>::function::f(e);
        }(), ...);
    }(std::make_index_sequence<Net::depth>{});
    return h;
}
template <class Net>
std::array<tensor, instance<Net>::C> hessian_blocks(instance<Net>& net) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<tensor, instance<Net>::C>{
            gateaux::hessian_block(net.prog, instance<Net>::loss, instance<Net>::w, instance<Net>::template param<I>)...};
    }(std::make_index_sequence<instance<Net>::C>{});
}

// ---------------------------------------------------------------- the seed's experiment

// The seed's data: x and every W ~ N(0, 1) + 0.1·I, targets
// one-hot + 0.1·I, then directions v ~ N(0, 1), drawn in this order from rng(seed), the order
// bop_seed.cpp uses. For a net whose matrices are all n×n.
template <class Net>
void seed_data(instance<Net>& net, std::uint64_t seed) {
    constexpr std::size_t n = std::size_t(Net::n[0]);
    rng g(seed);
    const tensor eye = 0.1 * xt::eye<double>(n);
    net.x = gaussian(n, n, g) + eye;
    for (tensor& w : net.weights) w = gaussian(n, n, g) + eye;
    net.y = one_hot(n, n, g) + eye;
    for (tensor& v : net.v) v = gaussian(n, n, g);
    net.bind();
}

// cond₂(a) = σ_max/σ_min.
inline double cond2(const tensor& a) {
    const auto s = std::get<1>(xt::linalg::svd(a, false, false));
    return s(0) / s(s.size() - 1);
}

// The rounding bound of a central difference (G ± r/2·v) of the inverse gradient map, relative to
// the exact Δ = H_l⁻¹·v. Each inverse evaluation rounds quantities of the size of W_l (W = h⁺·net)
// and of the per-sample errors δ it solves for (whose image in W is the Newton step H_l⁻¹·G_l),
// amplified by at most cond(H_l), the condition of the map's Jacobian. So the difference of two,
// divided by r, is off by ≈ 2·eps·cond(H_l)·(‖W_l‖ + ‖H_l⁻¹G_l‖)/r; plus the oracle's own
// 100·eps·cond(H_l). No truncation term: for a map linear along the step (leaky ReLU away from
// kinks, linear regression) there is none.
inline double fd_rounding_bound(double cond_h, double norm_w, double norm_newton, double norm_delta, double r) {
    return 2 * eps * cond_h * (norm_w + norm_newton) / (r * norm_delta) + 100 * eps * cond_h;
}

// numpy.allclose(got, want, rtol, atol) as a number: the largest |got − want| / (atol + rtol·|want|)
// over the entries; allclose holds iff it is ≤ 1.
inline double allclose_ratio(const tensor& got, const tensor& want, double rtol, double atol) {
    if (got.shape() != want.shape()) return INFINITY;
    double worst = 0.0;
    for (std::size_t k = 0; k < want.size(); ++k)
        worst = std::max(worst, std::abs(got.flat(k) - want.flat(k)) / (atol + rtol * std::abs(want.flat(k))));
    return worst;
}

}  // namespace oracle
