#pragma once
// Shared by tests/symbolic/block_solve_*.cpp: the exact layer block solve (symbolic/block_solve.hpp)
// on random networks against the explicit block assembled from H·v columns (the loss's own
// H·v, so an l2 penalty is in it) plus the damping λ, solved by LAPACK (SVD pseudo-inverse for
// λ = 0 without weight decay, where the block may be singular: then the minimum-norm solution).
//
// block_net<Seed> draws depth 1–4, widths 1–32 (rising, falling, rising then falling, as they
// come), an activation per layer among every one (relu included), squared error or cross-entropy
// under sum or mean, biases or none, and an l2 penalty on the weights or none. Every such network
// is used: the block solve has no width or activation rule. Each configuration (batch 1, the
// widest layer, twice it plus one, four times it; one seed each) runs undamped and damped
// (λ = 0.3). Checked: every layer's block — joint (W_l, b_l) with biases, W-only, and b-only —
// within max(1e-9, 100·eps·cond) of the reference.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "symbolic/bias_networks.hpp"

namespace block_networks {

using namespace gateaux;
using bias_networks::draw;
using oracle::rng;
using oracle::sci;
using oracle::tensor;

using acts = std::tuple<oracle::leaky, oracle::leaky01, oracle::tanh_a, oracle::sigmoid, oracle::softplus, oracle::linear,
                        activation<relu_fn>>;

template <std::uint64_t Seed, class Index = std::make_index_sequence<1 + draw(Seed, 0, 4)>>
struct block_net;
template <std::uint64_t Seed, std::size_t... J>
struct block_net<Seed, std::index_sequence<J...>> {
    static constexpr std::size_t depth = sizeof...(J);
    static constexpr int loss_kind = int(draw(Seed, 1, 4));  // sum/mean of squared error, sum/mean of cross-entropy
    static constexpr bool ce = loss_kind >= 2, biased = draw(Seed, 2, 2) == 0, decayed = draw(Seed, 3, 3) == 0;
    static constexpr dim width(std::size_t k) {
        const std::uint64_t r = draw(Seed, 10 + k, 16);
        const dim w = dim(r < 11 ? 1 + draw(Seed, 20 + k, 8) : r < 15 ? 9 + draw(Seed, 20 + k, 8) : 17 + draw(Seed, 20 + k, 16));
        return ce && k == depth && w == 1 ? 2 : w;
    }
    static constexpr std::array<dim, depth + 1> n = [] {
        std::array<dim, depth + 1> a{};
        for (std::size_t k = 0; k <= depth; ++k) a[k] = width(k);
        return a;
    }();
    template <std::size_t k>
    using act = std::tuple_element_t<draw(Seed, 40 + k, 7), acts>;
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
        else if constexpr (biased)
            return forward<k + 1>(act<k>{}(h * W<k> + b<k>));
        else
            return forward<k + 1>(act<k>{}(h * W<k>));
    }
    static constexpr auto out = forward<1>(x);
    static constexpr auto data() {
        if constexpr (loss_kind == 0) return sum(squared_error(out, y));
        else if constexpr (loss_kind == 1) return mse(out, y);
        else if constexpr (loss_kind == 2) return sum(cross_entropy(out, y));
        else return mean(cross_entropy(out, y));
    }
    static constexpr auto make_loss() {
        if constexpr (decayed) return data() + l2<0.05>(W<J + 1>...);
        else return data();
    }
    static constexpr auto loss = make_loss();
    static constexpr auto weights = wrt(W<J + 1>...);
    static constexpr auto every = [] {
        if constexpr (biased) return wrt(W<J + 1>..., b<J + 1>...);
        else return weights;
    }();
    static constexpr auto biases = [] {  // the weights again when there are none
        if constexpr (biased) return wrt(b<J + 1>...);
        else return weights;
    }();

    static std::string describe() {
        std::string s = "seed " + std::to_string(Seed) + ": ";
        for (std::size_t k = 0; k <= depth; ++k) s += (k ? "→" : "") + std::to_string(n[k]);
        constexpr std::string_view names[] = {act<J + 1>::function::name...};
        s += " [";
        for (std::size_t k = 0; k < depth; ++k) s += (k ? ", " : "") + std::string(names[k]);
        constexpr const char* losses[] = {"sum(squared_error)", "mse", "sum(cross_entropy)", "mean(cross_entropy)"};
        return s + "] " + losses[loss_kind] + (biased ? ", biases" : "") + (decayed ? ", l2 0.05" : "");
    }
};

struct tally {
    std::size_t configurations = 0, checks = 0, singular = 0, ill_posed = 0;
    double worst_ratio = 0.0;
    std::string worst;
};

template <class Net>
struct instance {
    static constexpr std::size_t D = Net::depth;
    static constexpr auto loss = Net::loss;
    static constexpr auto g = grad(loss, Net::every);
    static constexpr auto hv = hvp(loss, Net::every);
    static constexpr auto joint = block_solve(loss, Net::every, damped);
    static constexpr auto weight_only = block_solve(loss, Net::weights, damped);
    static constexpr auto bias_only = block_solve(loss, Net::biases, damped);
    // The solves, and apart from them the H·v program that assembles the explicit blocks (one
    // run per column: it must not run the solves each time).
    static auto make() {
        if constexpr (Net::biased)
            return compile(loss, joint, weight_only, bias_only);
        else
            return compile(loss, joint);
    }
    static auto make_hv() { return compile(loss, g, hv); }
    template <class F>
    static void each(F&& f) {
        [&]<std::size_t... J>(std::index_sequence<J...>) { (f.template operator()<J + 1>(), ...); }(std::make_index_sequence<D>{});
    }

    instance(std::size_t batch, std::uint64_t seed) : gen(seed) {
        x = oracle::gaussian(batch, std::size_t(Net::n[0]), gen);
        const std::size_t no = std::size_t(Net::n[D]);
        y = Net::ce ? oracle::distributions(batch, no, gen) : oracle::gaussian(batch, no, gen);
        for (std::size_t k = 0; k < D; ++k) {
            w[k] = oracle::wellcond(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
            b[k] = oracle::gaussian(1, std::size_t(Net::n[k + 1]), gen, 0.3);
            vw[k] = oracle::gaussian(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
            vb[k] = oracle::gaussian(1, std::size_t(Net::n[k + 1]), gen);
        }
        prog.bind(damping, lambda);
        bind(prog);
        bind(hv_prog);
    }
    template <class Prog>
    void bind(Prog& p) {
        p.bind(Net::x, x).bind(Net::y, y);
        each([&]<std::size_t k>() {
            p.bind(Net::template W<k>, w[k - 1]).bind(direction(Net::template W<k>), vw[k - 1]);
            if constexpr (Net::biased) p.bind(Net::template b<k>, b[k - 1]).bind(direction(Net::template b<k>), vb[k - 1]);
        });
    }
    instance(const instance&) = delete;

    // The explicit block of layer k over W_k's coordinates (and b_k's, with biases), from H·v.
    tensor block(std::size_t k) {
        std::array<tensor, D> zw, zb;
        for (std::size_t j = 0; j < D; ++j) zw[j] = xt::zeros_like(vw[j]), zb[j] = xt::zeros_like(vb[j]);
        std::swap(zw, vw), std::swap(zb, vb);
        const std::size_t nw = vw[k - 1].size(), n = nw + (Net::biased ? vb[k - 1].size() : 0);
        tensor h = xt::zeros<double>({n, n});
        for (std::size_t c = 0; c < n; ++c) {
            (c < nw ? vw[k - 1].flat(c) : vb[k - 1].flat(c - nw)) = 1.0;
            hv_prog.run();
            std::size_t r = 0;
            each([&]<std::size_t j>() {
                if (j != k) return;
                for (double v : hv_prog[hv.of(Net::template W<j>)]) h(r++, c) = v;
                if constexpr (Net::biased)
                    for (double v : hv_prog[hv.of(Net::template b<j>)]) h(r++, c) = v;
            });
            (c < nw ? vw[k - 1].flat(c) : vb[k - 1].flat(c - nw)) = 0.0;
        }
        std::swap(zw, vw), std::swap(zb, vb);
        return h;
    }

    rng gen;
    tensor x, y, lambda = xt::zeros<double>({1, 1});
    std::array<tensor, D> w, b, vw, vb;
    decltype(make()) prog = make();
    decltype(make_hv()) hv_prog = make_hv();
};

inline tensor stacked(const tensor& a, const tensor& b) {
    tensor s = tensor::from_shape({a.size() + b.size(), 1});
    std::size_t i = 0;
    for (double v : a) s.flat(i++) = v;
    for (double v : b) s.flat(i++) = v;
    return s;
}

// (H + λI)⁺·rhs: LAPACK's SVD pseudo-inverse, with the condition on its range. Where the library
// returns a minimum-norm solution (some coordinates undamped), the rank that decides it must be
// clear: a spectrum with singular values between 1e-13 and 1e-8 of the largest, or a condition on
// the range above 1e8, makes the minimum-norm solution ill-posed, and such checks are counted,
// not compared.
inline void compare(tally& t, const std::string& where, tensor h, double lambda, bool min_norm, const tensor& got,
                    const tensor& rhs) {
    for (std::size_t i = 0; i < h.shape(0); ++i) h(i, i) += lambda;
    const oracle::pseudo_inverse hp(h);
    if (min_norm && (hp.cond > 1e8 || hp.gap > 1e-13)) {
        ++t.ill_posed;
        return;
    }
    if (hp.rank < h.shape(0)) ++t.singular;
    const double tol = std::max(1e-9, 100 * oracle::eps * hp.cond);
    const double err = oracle::rel_error(got, hp.solve(rhs));
    INFO(where << " | cond " << hp.cond << " | rank " << hp.rank << " of " << h.shape(0));
    CHECK(sci{err} <= sci{tol});
    ++t.checks;
    if (err / tol >= t.worst_ratio) t.worst_ratio = err / tol, t.worst = where;
}

template <class Net>
void check(tally& t, std::size_t batch, std::uint64_t seed) {
    instance<Net> net(batch, seed);
    using I = instance<Net>;
    for (double lambda : {0.0, 0.3}) {
        ++t.configurations;
        net.lambda(0, 0) = lambda;
        const std::string where = Net::describe() + " | B = " + std::to_string(batch) + " | seed " + std::to_string(seed) +
                                  " | λ = " + std::to_string(lambda);
        INFO(where);
        net.prog.run();
        std::array<tensor, Net::depth> joint_w, joint_b, only_w, only_b;
        I::each([&]<std::size_t k>() {
            joint_w[k - 1] = net.prog[I::joint.of(Net::template W<k>)];
            if constexpr (Net::biased) {
                joint_b[k - 1] = net.prog[I::joint.of(Net::template b<k>)];
                only_w[k - 1] = net.prog[I::weight_only.of(Net::template W<k>)];
                only_b[k - 1] = net.prog[I::bias_only.of(Net::template b<k>)];
            }
        });
        for (std::size_t k = 1; k <= Net::depth; ++k) {
            const tensor h = net.block(k);
            const std::string at = where + " | layer " + std::to_string(k);
            // Which blocks are damped on every coordinate (else the library gives the minimum norm).
            const bool w_damped = lambda > 0 || Net::decayed, b_damped = lambda > 0;
            if constexpr (Net::biased) {
                const std::size_t nw = net.vw[k - 1].size();
                compare(t, at + " | joint", h, lambda, !(w_damped && b_damped), stacked(joint_w[k - 1], joint_b[k - 1]),
                        stacked(net.vw[k - 1], net.vb[k - 1]));
                compare(t, at + " | W only", xt::view(h, xt::range(0, nw), xt::range(0, nw)), lambda, !w_damped, only_w[k - 1],
                        net.vw[k - 1]);
                compare(t, at + " | b only", xt::view(h, xt::range(nw, h.shape(0)), xt::range(nw, h.shape(0))), lambda, !b_damped,
                        only_b[k - 1], net.vb[k - 1]);
            } else {
                compare(t, at, h, lambda, !w_damped, joint_w[k - 1], net.vw[k - 1]);
            }
        }
    }
}

template <std::uint64_t First, std::size_t Count>
void check_seeds(tally& t) {
    [&]<std::size_t... S>(std::index_sequence<S...>) {
        ([&] {
            using Net = block_net<First + S>;
            std::size_t widest = 1;
            for (dim v : Net::n) widest = std::max(widest, std::size_t(v));
            const std::size_t batches[] = {1, widest, 2 * widest + 1, std::min<std::size_t>(4 * widest, 128)};
            std::uint64_t seed = 7000 * (First + S);
            for (std::size_t b : batches) check<Net>(t, b, ++seed);
        }(), ...);
    }(std::make_index_sequence<Count>{});
}

}  // namespace block_networks
