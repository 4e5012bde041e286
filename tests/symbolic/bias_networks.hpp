#pragma once
// Shared by tests/symbolic/bop_biases_*.cpp: random networks with a bias on every layer, drawn at
// compile time from a seed, and their B-operator blocks checked against the explicit Hessian.
//
// random_net<Seed> draws depth 1–4, widths 1–32 (mostly small, so that the explicit blocks stay
// cheap), an activation per layer among every invertible one (leaky ReLU 0.5 and 0.1, tanh,
// sigmoid, softplus, identity) and a loss among sum/mean of squared error and cross-entropy.
// A network is used when the B-operator serves the joint block of every layer (with
// accept_newton_solution); the others are skipped and not counted.
//
// For each configuration (batch, seed) one program computes loss, gradient, H·v over every
// weight and bias, the joint Newton step and B-operator of every (W_l, b_l), and the bias-only
// B-operator; a second computes the W-only (bias held fixed) Newton step and B-operator. The
// oracle is the explicit block assembled column by column from the H·v program (unit directions
// on the block's coordinates, zero elsewhere) and solved by SVD (oracle::pseudo_inverse):
//   joint    [Δ_W; Δ_b] against the (W_l, b_l) block's pseudo-inverse solve
//   W only   against the W_l block's          b only   against the b_l block's
// within max(1e-9, 100·eps·cond) where the library's formula is exact (chain, master, bias_sum);
// where it is a Newton solution, the residual ‖H·Δ − G‖/‖G‖ within the same tolerance.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "support/oracle.hpp"

namespace bias_networks {

using namespace gateaux;
using oracle::rng;
using oracle::sci;
using oracle::tensor;

// ---------------------------------------------------------------- drawing a network

constexpr std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
constexpr std::uint64_t draw(std::uint64_t seed, std::uint64_t k, std::uint64_t n) { return mix(seed * 1000003 + k) % n; }

using acts = std::tuple<oracle::leaky, oracle::leaky01, oracle::tanh_a, oracle::sigmoid, oracle::softplus, oracle::linear>;
enum class loss_kind { sum_se, mean_se, sum_ce, mean_ce };

template <std::uint64_t Seed>
struct shape_of_net {
    static constexpr std::size_t depth = 1 + draw(Seed, 0, 4);
    static constexpr loss_kind loss = loss_kind(draw(Seed, 1, 4));
    static constexpr bool ce = loss == loss_kind::sum_ce || loss == loss_kind::mean_ce;
    static constexpr dim width(std::size_t k) {
        // Mostly 1–8, sometimes up to 16, and once in a while 17–32; a classifier has two classes or more.
        const std::uint64_t r = draw(Seed, 10 + k, 16);
        const dim w = dim(r < 11 ? 1 + draw(Seed, 20 + k, 8) : r < 15 ? 9 + draw(Seed, 20 + k, 8) : 17 + draw(Seed, 20 + k, 16));
        return ce && k == depth && w == 1 ? 2 : w;
    }
    static constexpr std::size_t act(std::size_t k) { return draw(Seed, 40 + k, 6); }
};

template <std::uint64_t Seed, class Index = std::make_index_sequence<shape_of_net<Seed>::depth + 1>>
struct random_net;
template <std::uint64_t Seed, std::size_t... K>
struct random_net<Seed, std::index_sequence<K...>> {
    using shape = shape_of_net<Seed>;
    static constexpr std::size_t depth = shape::depth;
    static constexpr std::array<dim, depth + 1> n{shape::width(K)...};
    static constexpr bool ce = shape::ce;
    template <std::size_t k>  // 1..depth
    using act = std::tuple_element_t<shape::act(k), acts>;
    template <std::size_t k>
    static constexpr auto W = param<indexed_name<"W", k>(), n[k - 1], n[k]>;
    template <std::size_t k>
    static constexpr auto b = bias<indexed_name<"b", k>(), n[k]>;
    static constexpr auto x = input<"x", n[0]>;
    static constexpr auto y = target<"y", n[depth]>;

    template <std::size_t k, class H>
    static constexpr auto forward(H h) {
        if constexpr (k > depth)
            return h;
        else
            return forward<k + 1>(act<k>{}(h * W<k> + b<k>));
    }
    static constexpr auto out = forward<1>(x);
    static constexpr auto make_loss() {
        if constexpr (shape::loss == loss_kind::sum_se) return sum(squared_error(out, y));
        else if constexpr (shape::loss == loss_kind::mean_se) return mse(out, y);
        else if constexpr (shape::loss == loss_kind::sum_ce) return sum(cross_entropy(out, y));
        else return mean(cross_entropy(out, y));
    }
    static constexpr auto loss = make_loss();
    using L = std::remove_const_t<decltype(loss)>;
    template <std::size_t... J>
    static constexpr auto all(std::index_sequence<J...>) {
        return wrt(W<J + 1>..., b<J + 1>...);
    }
    template <std::size_t... J>
    static constexpr auto weights_of(std::index_sequence<J...>) {
        return wrt(W<J + 1>...);
    }
    template <std::size_t... J>
    static constexpr auto biases_of(std::index_sequence<J...>) {
        return wrt(b<J + 1>...);
    }
    static constexpr auto every = all(std::make_index_sequence<depth>{});
    static constexpr auto weights = weights_of(std::make_index_sequence<depth>{});
    static constexpr auto biases = biases_of(std::make_index_sequence<depth>{});
    static constexpr bool usable = [] {
        return []<std::size_t... J>(std::index_sequence<J...>) {
            return detail::bop::supported<L, bop_options<accept_newton_solution_t>, std::remove_const_t<decltype(W<J + 1>)>...,
                                          std::remove_const_t<decltype(b<J + 1>)>...>();
        }(std::make_index_sequence<depth>{});
    }();
    // The formula the library uses for layer k's weight (the same for its joint block).
    template <std::size_t k>
    static constexpr auto formula =
        detail::bop::choose<detail::curvature::path_of<L, std::remove_const_t<decltype(W<k>)>>, bop_options<accept_newton_solution_t>>();

    static std::string describe() {
        std::string s = "seed " + std::to_string(Seed) + ": ";
        for (std::size_t k = 0; k <= depth; ++k) s += (k ? "→" : "") + std::to_string(n[k]);
        constexpr std::string_view names[] = {std::tuple_element_t<shape::act(K + 1), acts>::function::name...};
        s += " [";
        for (std::size_t k = 0; k < depth; ++k) s += (k ? ", " : "") + std::string(names[k]);
        constexpr const char* losses[] = {"sum(squared_error)", "mse", "sum(cross_entropy)", "mean(cross_entropy)"};
        return s + "] " + losses[int(shape::loss)];
    }
};

// ---------------------------------------------------------------- checking one configuration

// The worst error per block kind and formula, for the summary line.
struct tally {
    std::size_t configurations = 0, checks = 0;
    double worst_ratio = 0.0;  // error / tolerance
    std::string worst;
    void add(double err, double tol, const std::string& where) {
        ++checks;
        if (err / tol >= worst_ratio) worst_ratio = err / tol, worst = where;
    }
};

inline const char* formula_name(detail::bop::formula f) {
    using F = detail::bop::formula;
    return f == F::chain ? "chain" : f == F::master ? "master" : f == F::newton_solution ? "newton_solution" : f == F::bias_sum ? "bias_sum" : "?";
}

template <class Net>
struct instance {
    static constexpr std::size_t D = Net::depth;
    static constexpr auto loss = Net::loss;
    static constexpr auto opt = accept_newton_solution;
    static constexpr auto joint_step = newton_step(loss, Net::every, opt);
    static constexpr auto joint_bop = bop(loss, Net::every, opt);
    static constexpr auto bias_bop = bop(loss, Net::biases, opt);
    static constexpr auto w_step = newton_step(loss, Net::weights, opt);
    static constexpr auto w_bop = bop(loss, Net::weights, opt);
    static constexpr auto g = grad(loss, Net::every);
    static constexpr auto hv = hvp(loss, Net::every);
    static auto make_joint() { return compile(loss, g, hv, joint_step, joint_bop, bias_bop); }
    static auto make_w() { return compile(loss, g, w_step, w_bop); }

    instance(std::size_t batch, std::uint64_t seed) : gen(seed) {
        x = oracle::wellcond(batch, std::size_t(Net::n[0]), gen);
        // Targets: class rows, or for the squared error the network's own output plus noise, so that
        // the output curvature g·(a′² + e⊙a″) stays clear of zero and the oracle's block well-conditioned.
        y = Net::ce && seed % 2 == 0 ? oracle::one_hot(batch, std::size_t(Net::n[D]), gen)
                                     : oracle::distributions(batch, std::size_t(Net::n[D]), gen);
        for (std::size_t k = 0; k < D; ++k) {
            w[k] = oracle::wellcond(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
            b[k] = oracle::gaussian(1, std::size_t(Net::n[k + 1]), gen, 0.3);
            vw[k] = oracle::gaussian(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
            vb[k] = oracle::gaussian(1, std::size_t(Net::n[k + 1]), gen);
        }
        bind(joint);
        bind(wonly);
        if constexpr (!Net::ce) {
            joint.run();
            const tensor noise = oracle::gaussian(batch, std::size_t(Net::n[D]), gen, 0.3);
            y = joint[Net::out] + noise;
        }
    }
    instance(const instance&) = delete;

    template <class Prog>
    void bind(Prog& prog) {
        prog.bind(Net::x, x).bind(Net::y, y);
        each([&]<std::size_t k>() {
            prog.bind(Net::template W<k>, w[k - 1]).bind(Net::template b<k>, b[k - 1]);
            if constexpr (Prog::computes(direction(Net::template W<k>))) prog.bind(direction(Net::template W<k>), vw[k - 1]);
            if constexpr (Prog::computes(direction(Net::template b<k>))) prog.bind(direction(Net::template b<k>), vb[k - 1]);
        });
    }
    template <class F>
    static void each(F&& f) {
        [&]<std::size_t... J>(std::index_sequence<J...>) { (f.template operator()<J + 1>(), ...); }(std::make_index_sequence<D>{});
    }

    // The explicit joint block of layer k (W_k's coordinates, then b_k's), from H·v with unit
    // directions; the random directions are restored afterwards.
    tensor block(std::size_t k) {
        std::array<tensor, D> zw, zb;
        for (std::size_t j = 0; j < D; ++j) zw[j] = xt::zeros_like(vw[j]), zb[j] = xt::zeros_like(vb[j]);
        std::swap(zw, vw), std::swap(zb, vb);  // the program now reads zeros through vw, vb
        bind(joint);
        const std::size_t nw = vw[k - 1].size(), n = nw + vb[k - 1].size();
        tensor h = xt::zeros<double>({n, n});
        for (std::size_t c = 0; c < n; ++c) {
            (c < nw ? vw[k - 1].flat(c) : vb[k - 1].flat(c - nw)) = 1.0;
            joint.run();
            std::size_t r = 0;
            each([&]<std::size_t j>() {
                if (j != k) return;
                for (double v : joint[hv.of(Net::template W<j>)]) h(r++, c) = v;
                for (double v : joint[hv.of(Net::template b<j>)]) h(r++, c) = v;
            });
            (c < nw ? vw[k - 1].flat(c) : vb[k - 1].flat(c - nw)) = 0.0;
        }
        std::swap(zw, vw), std::swap(zb, vb);
        bind(joint);
        joint.run();  // the outputs along the random directions again
        return h;
    }

    rng gen;
    tensor x, y;
    std::array<tensor, D> w, b, vw, vb;
    decltype(make_joint()) joint = make_joint();
    decltype(make_w()) wonly = make_w();
};

// [a; b] flattened into one column-shaped tensor (a's entries, then b's).
inline tensor stacked(const tensor& a, const tensor& b) {
    tensor s = tensor::from_shape({a.size() + b.size(), 1});
    std::size_t i = 0;
    for (double v : a) s.flat(i++) = v;
    for (double v : b) s.flat(i++) = v;
    return s;
}

// Compares got with the block's pseudo-inverse solve (exact formulas) or checks the Newton
// residual (Newton solutions), in wrt-order flattening.
inline void compare(tally& t, const std::string& where, detail::bop::formula f, const tensor& h, const tensor& got,
                    const tensor& rhs) {
    const oracle::pseudo_inverse hp(h);
    const double tol = std::max(1e-9, 100 * oracle::eps * hp.cond);
    const double err = f == detail::bop::formula::newton_solution ? oracle::rel_error(oracle::multiply(h, got), rhs)
                                                                  : oracle::rel_error(got, hp.solve(rhs));
    const std::string at = where + " | " + formula_name(f) + " | cond " + std::to_string(hp.cond);
    INFO(at);
    CHECK(sci{err} <= sci{tol});
    t.add(err, tol, at);
}

// One configuration of Net: every layer's joint, W-only and b-only blocks.
template <class Net>
void check(tally& t, std::size_t batch, std::uint64_t seed) {
    instance<Net> net(batch, seed);
    using I = instance<Net>;
    const std::size_t w_limit = [] {
        dim m = Net::n[0];
        for (std::size_t k = 0; k < Net::depth; ++k) m = std::min(m, Net::n[k]);
        return std::size_t(m);
    }();
    ++t.configurations;
    const std::string where = Net::describe() + " | B = " + std::to_string(batch) + " | seed " + std::to_string(seed);
    INFO(where);
    net.joint.run();
    if (batch <= w_limit) net.wonly.run();
    I::each([&]<std::size_t k>() {
        constexpr auto Wk = Net::template W<k>;
        constexpr auto bk = Net::template b<k>;
        constexpr auto f = Net::template formula<k>;
        const std::string at = where + " | layer " + std::to_string(k);
        const tensor gw = net.joint[I::g.of(Wk)], gb = net.joint[I::g.of(bk)];
        const tensor joint_step = stacked(net.joint[I::joint_step.of(Wk)], net.joint[I::joint_step.of(bk)]);
        const tensor joint_bop = stacked(net.joint[I::joint_bop.of(Wk)], net.joint[I::joint_bop.of(bk)]);
        const tensor bias_bop = net.joint[I::bias_bop.of(bk)];
        tensor w_step, w_bop;
        if (batch <= w_limit) w_step = net.wonly[I::w_step.of(Wk)], w_bop = net.wonly[I::w_bop.of(Wk)];
        // The joint block, and its W_k and b_k diagonal blocks (the other held fixed).
        const tensor hj = net.block(k);
        const std::size_t nw = gw.size();
        const tensor hw = xt::view(hj, xt::range(0, nw), xt::range(0, nw));
        const tensor hb = xt::view(hj, xt::range(nw, hj.shape(0)), xt::range(nw, hj.shape(0)));
        const bool newton = f == detail::bop::formula::newton_solution;
        compare(t, at + " | joint newton_step", f, hj, joint_step, stacked(gw, gb));
        // A Newton solution of bop is checked along a direction in the block's range.
        if (!newton) compare(t, at + " | joint bop", f, hj, joint_bop, stacked(net.vw[k - 1], net.vb[k - 1]));
        compare(t, at + " | bias-only bop", detail::bop::formula::bias_sum, hb, bias_bop, net.vb[k - 1]);
        if (batch <= w_limit) {
            compare(t, at + " | W-only newton_step", f, hw, w_step, gw);
            if (!newton) compare(t, at + " | W-only bop", f, hw, w_bop, net.vw[k - 1]);
        }
    });
}

// Every usable network among seeds First..First+Count−1, each at batches 1, the W-only limit
// (min n_{l−1}), the joint limit (min n_{l−1} + 1) and one between, a seed each.
template <std::uint64_t First, std::size_t Count>
void check_seeds(tally& t) {
    [&]<std::size_t... S>(std::index_sequence<S...>) {
        ([&] {
            using Net = random_net<First + S>;
            if constexpr (Net::usable) {
                std::size_t limit = std::size_t(Net::n[0]);
                for (std::size_t k = 0; k < Net::depth; ++k) limit = std::min(limit, std::size_t(Net::n[k]));
                const std::size_t batches[] = {1, limit, limit + 1, std::max<std::size_t>(1, (limit + 1) / 2)};
                std::uint64_t seed = 1000 * (First + S);
                for (std::size_t b : batches) check<Net>(t, b, ++seed);
            }
        }(), ...);
    }(std::make_index_sequence<Count>{});
}

}  // namespace bias_networks
