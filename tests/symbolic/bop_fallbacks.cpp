// The B-operator's caller-selected fallbacks (docs/theory.md, "Fallbacks the caller can choose";
// include/gateaux/solve/output_unit_solve.hpp, symbolic/hessian.hpp), against LAPACK solves of the
// explicit blocks (hessian_block from R-operator columns; oracle::pseudo_inverse, an SVD):
//   output_per_unit   the output block unit by unit, H_j = hᵀ·diag(g·φ′_:j)·h: H_L⁺·v for any batch,
//                     in particular B > n_{L−1}, where the default refuses;
//   output_damped     (H_L + λI)⁻¹·v with λ bound at run time (λ = 0 is output_per_unit; λ < 0 is a
//                     value_error), and it solves where H_L itself is singular;
//   dense_bop, dense_newton_step   each block solved by LAPACK: any batch and any net, also where
//                     bop has no formula (a ReLU, a bottleneck), and equal to bop where it has one;
//   rank_error        the per-unit block's refusal names the weight, the unit and the condition.
// Tolerance 100·eps·cond of the matrix solved (H_L, or H_L + λI), as in docs/theory.md, "Numerics".
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <tuple>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;
using relu = gateaux::activation<gateaux::relu_fn>;

// H + λI, and its SVD solve.
pseudo_inverse shifted(const tensor& h, double lambda) {
    return pseudo_inverse(tensor(h + lambda * xt::eye<double>(h.shape(0))));
}

// Net's output layer W_L alone, with its fallbacks: one program for the explicit block (it must
// run where the solves refuse), one with output_per_unit, one with output_damped.
template <class Net>
struct output_layer {
    static constexpr std::size_t L = Net::depth;
    static constexpr auto W = Net::template W<L>;
    static constexpr auto loss = Net::loss;
    static constexpr auto w = gateaux::wrt(W);
    static constexpr auto g = gateaux::grad(loss, w);
    static constexpr auto s_unit = gateaux::newton_step(loss, w, gateaux::output_per_unit);
    static constexpr auto d_unit = gateaux::bop(loss, w, gateaux::output_per_unit);
    static constexpr auto s_damped = gateaux::newton_step(loss, w, gateaux::output_damped);
    static constexpr auto d_damped = gateaux::bop(loss, w, gateaux::output_damped);

    output_layer(std::size_t batch, std::uint64_t seed) : gen(seed) {
        x = wellcond(batch, std::size_t(Net::n[0]), gen);
        y = make_targets<Net>(batch, gen, seed);
        for (std::size_t k = 0; k < L; ++k) weights[k] = wellcond(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
        v = gaussian(std::size_t(Net::n[L - 1]), std::size_t(Net::n[L]), gen);
        bind(explicit_block);
        bind(unit);
        bind(damped);
        damped.bind(gateaux::damping, lambda);
    }
    template <class Prog>
    void bind(Prog& p) {
        p.bind(Net::x, x).bind(Net::y, y);
        if constexpr (Prog::computes(gateaux::direction(W))) p.bind(gateaux::direction(W), v);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (p.bind(Net::template W<K + 1>, weights[K]), ...);
        }(std::make_index_sequence<L>{});
    }
    tensor hessian() {
        explicit_block.run();
        return gateaux::hessian_block(explicit_block, loss, w, W);
    }
    tensor gradient() {
        explicit_block.run();
        return explicit_block[g.of(W)];
    }

    rng gen;
    tensor x, y, v, lambda = xt::zeros<double>({1, 1});
    std::array<tensor, L> weights;
    decltype(gateaux::compile(loss, g, gateaux::hvp(loss, w))) explicit_block;
    decltype(gateaux::compile(loss, g, s_unit, d_unit)) unit;
    decltype(gateaux::compile(loss, g, s_damped, d_damped)) damped;
};

struct fallback_summary {
    std::size_t configurations = 0, above_width = 0;
    double worst_unit = 0.0, worst_damped = 0.0, worst_ratio = 0.0, max_cond = 0.0;
    void add(double err, double cond, double& worst) {
        worst = std::max(worst, err);
        worst_ratio = std::max(worst_ratio, err / (eps * cond));
        max_cond = std::max(max_cond, cond);
    }
    void print() const {
        std::printf("output fallbacks: %zu configurations (%zu with B > n_{L-1}), largest cond %.3g; worst per unit %.2e, "
                    "damped %.2e; largest error/(eps*cond) %.1f\n",
                    configurations, above_width, max_cond, worst_unit, worst_damped, worst_ratio);
    }
};

// Every batch from 1 to 3·n_{L−1}: per unit against H_L⁺, damped at λ = 1e-3, 1e-1, 10 times
// σ_max(H_L) against (H_L + λI)⁻¹, and λ = 0 against per unit.
template <class Net>
void check_output_fallbacks(std::uint64_t seed, fallback_summary& sum) {
    using O = output_layer<Net>;
    const std::size_t n = std::size_t(Net::n[Net::depth - 1]);
    for (std::size_t batch : {std::size_t(1), n - 1, n, n + 1, 2 * n, 3 * n}) {
        if (batch == 0) continue;
        O f(batch, seed++);
        const tensor h = f.hessian(), g = f.gradient();
        const pseudo_inverse hp(h);
        f.unit.run();
        ++sum.configurations;
        sum.above_width += batch > n;
        INFO(Net::describe() << " | B = " << batch << " (n_{L-1} = " << n << ") | seed " << seed - 1 << " | cond(H_L) = "
                             << hp.cond << ", rank " << hp.rank);
        const double tol = 100 * eps * hp.cond;
        const double e_step = rel_error(f.unit[O::s_unit.of(O::W)], hp.solve(g));
        const double e_bop = rel_error(f.unit[O::d_unit.of(O::W)], hp.solve(f.v));
        CHECK(sci{e_step} <= sci{tol});
        CHECK(sci{e_bop} <= sci{tol});
        sum.add(std::max(e_step, e_bop), hp.cond, sum.worst_unit);

        // λ = 0: the per-unit solve.
        f.lambda(0, 0) = 0.0;
        f.damped.run();
        CHECK(sci{rel_error(f.damped[O::d_damped.of(O::W)], f.unit[O::d_unit.of(O::W)])} <= sci{tol});
        for (double scale : {1e-3, 1e-1, 10.0}) {
            const double lambda = scale * hp.s(0);
            const pseudo_inverse dp = shifted(h, lambda);
            f.lambda(0, 0) = lambda;
            f.damped.run();
            INFO("λ = " << lambda << ", cond(H_L + λI) = " << dp.cond);
            const double e_ds = rel_error(f.damped[O::s_damped.of(O::W)], dp.solve(g));
            const double e_db = rel_error(f.damped[O::d_damped.of(O::W)], dp.solve(f.v));
            CHECK(dp.rank == h.shape(0));
            CHECK(sci{e_ds} <= sci{100 * eps * dp.cond});
            CHECK(sci{e_db} <= sci{100 * eps * dp.cond});
            sum.add(std::max(e_ds, e_db), dp.cond, sum.worst_damped);
        }
    }
}

}  // namespace

TEST_CASE("output_per_unit and output_damped: the output block by LAPACK, any batch, λ at run time",
          "[symbolic][bop][fallback]") {
    fallback_summary sum;
    check_output_fallbacks<net<sum_se, widths<4, 3>, acts<tanh_a>, at<1>>>(3001, sum);
    check_output_fallbacks<net<mean_se, widths<5, 4, 3>, acts<leaky, sigmoid>, at<2>>>(3011, sum);
    check_output_fallbacks<net<sum_se, widths<6, 3, 5>, acts<tanh_a, linear>, at<2>>>(3021, sum);
    check_output_fallbacks<net<mean_se, widths<3, 6, 2>, acts<softplus, softplus>, at<2>>>(3031, sum);
    check_output_fallbacks<net<sum_se, widths<4, 5, 5, 4>, acts<leaky, relu, leaky01>, at<3>>>(3041, sum);
    sum.print();
    CHECK(sum.above_width >= 15);
}

TEST_CASE("output fallbacks: a singular output block is refused per unit, solved damped; λ < 0 is refused",
          "[symbolic][bop][fallback][rank]") {
    using N = net<sum_se, widths<4, 3, 2>, acts<leaky, linear>, at<2>>;
    using O = output_layer<N>;
    O f(6, 3101);  // B = 6 > n_1 = 3
    // W1 with two equal columns: h_1 has two equal columns, so each H_j = h₁ᵀh₁ is singular.
    xt::col(f.weights[0], 2) = xt::col(f.weights[0], 1);
    const std::vector<tensor> before{f.x, f.y, f.weights[0], f.weights[1], f.v};
    bool thrown = false;
    try {
        f.unit.run();
    } catch (const gateaux::rank_error& e) {
        thrown = true;
        INFO(e.what());
        CHECK(e.tensor == "the output-layer block of W2 for unit 0");
        CHECK_THAT(e.condition, Catch::Contains("hᵀ·diag(g·φ′)·h") && Catch::Contains("above 1/tolerance"));
        CHECK(e.estimate > 1e10);
    }
    CHECK(thrown);
    CHECK(bit_identical({f.x, f.y, f.weights[0], f.weights[1], f.v}, before));

    // Damped, the same block is invertible: (H_L + λI)⁻¹ against LAPACK.
    const tensor h = f.hessian(), g = f.gradient();
    CHECK(pseudo_inverse(h).rank < h.shape(0));
    for (double lambda : {1e-2, 1.0}) {
        f.lambda(0, 0) = lambda;
        f.damped.run();
        const pseudo_inverse dp = shifted(h, lambda);
        INFO("λ = " << lambda << ", cond(H_L + λI) = " << dp.cond);
        CHECK(sci{rel_error(f.damped[O::s_damped.of(O::W)], dp.solve(g))} <= sci{100 * eps * dp.cond});
        CHECK(sci{rel_error(f.damped[O::d_damped.of(O::W)], dp.solve(f.v))} <= sci{100 * eps * dp.cond});
    }
    f.lambda(0, 0) = -1.0;
    CHECK_THROWS_AS(f.damped.run(), gateaux::value_error);
}

TEST_CASE("without a fallback, a batch above the output layer's width is refused with the fallback named",
          "[symbolic][bop][fallback][rank]") {
    using N = net<sum_se, widths<5, 3, 2>, acts<tanh_a, linear>, at<2>>;
    constexpr auto W2 = N::W<2>;
    auto prog = gateaux::compile(N::loss, gateaux::newton_step(N::loss, gateaux::wrt(W2)));
    output_layer<N> f(4, 3201);  // B = 4 > n_1 = 3
    f.bind(prog);
    bool thrown = false;
    try {
        prog.run();
    } catch (const gateaux::rank_error& e) {
        thrown = true;
        CHECK(e.tensor == "h (input of W2)");
        CHECK_THAT(e.condition, Catch::Contains("exceeds the width 3") && Catch::Contains("output_per_unit"));
    }
    CHECK(thrown);
}

namespace {

// dense_bop and dense_newton_step for every layer of Net at batch b: against the SVD solve of the
// same explicit blocks, and, where bop has a formula, against bop.
template <class Net>
void check_dense(std::size_t batch, std::uint64_t seed, double& worst, std::size_t& checks) {
    constexpr auto loss = Net::loss;
    constexpr auto w = Net::w;
    auto prog = gateaux::compile(loss, gateaux::grad(loss, w), gateaux::hvp(loss, w));
    rng gen(seed);
    tensor x = wellcond(batch, std::size_t(Net::n[0]), gen), y = make_targets<Net>(batch, gen, seed);
    std::array<tensor, Net::depth> weights;
    std::array<tensor, Net::checked.size()> v;
    prog.bind(Net::x, x).bind(Net::y, y);
    [&]<std::size_t... K>(std::index_sequence<K...>) {
        ((weights[K] = wellcond(std::size_t(Net::n[K]), std::size_t(Net::n[K + 1]), gen), prog.bind(Net::template W<K + 1>, weights[K])),
         ...);
    }(std::make_index_sequence<Net::depth>{});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((v[I] = gaussian(std::size_t(Net::n[Net::checked[I] - 1]), std::size_t(Net::n[Net::checked[I]]), gen),
          prog.bind(gateaux::direction(Net::template W<Net::checked[I]>), v[I])),
         ...);
    }(std::make_index_sequence<Net::checked.size()>{});
    prog.run();
    const auto d = gateaux::dense_bop(prog, loss, w, v);
    const auto s = gateaux::dense_newton_step(prog, loss, w);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (([&] {
             constexpr auto W = Net::template W<Net::checked[I]>;
             prog.run();
             const tensor g = prog[gateaux::grad(loss, w).of(W)];
             const pseudo_inverse hp(gateaux::hessian_block(prog, loss, w, W));
             INFO(Net::describe() << " | layer " << Net::checked[I] << " | B = " << batch << " | seed " << seed
                                  << " | cond(H_l) = " << hp.cond << ", rank " << hp.rank);
             const double e = std::max(rel_error(d[I], hp.solve(v[I])), rel_error(s[I], hp.solve(g)));
             CHECK(sci{e} <= sci{100 * eps * hp.cond});
             worst = std::max(worst, e);
             ++checks;
         }()),
         ...);
    }(std::make_index_sequence<Net::checked.size()>{});
}

}  // namespace

TEST_CASE("dense_bop and dense_newton_step: the SVD solve of each explicit block, where bop has no formula too",
          "[symbolic][bop][fallback][dense]") {
    double worst = 0.0;
    std::size_t checks = 0;
    for (std::uint64_t seed : {3301, 3302})
        for (std::size_t batch : {2, 4, 7}) {
            // A relu on the path, a bottleneck, a batch above every width: bop has no formula.
            check_dense<net<sum_se, widths<4, 5, 3>, acts<relu, linear>, at<1, 2>>>(batch, seed, worst, checks);
            check_dense<net<mean_se, widths<3, 5, 2, 4>, acts<tanh_a, leaky, linear>, at<1, 2, 3>>>(batch, seed + 10, worst,
                                                                                                  checks);
            check_dense<net<sum_ce, widths<4, 3, 3>, acts<sigmoid, linear>, at<1, 2>>>(batch, seed + 20, worst, checks);
        }
    std::printf("dense_bop / dense_newton_step: %zu layer checks, worst relative error %.2e\n", checks, worst);
}

TEST_CASE("dense_bop equals bop where bop has a formula", "[symbolic][bop][fallback][dense]") {
    using N = net<sum_se, widths<6, 5, 5>, acts<leaky, linear>, at<1, 2>>;
    for (std::uint64_t seed : {3401, 3402, 3403}) {
        instance<N> net(2 + seed % 3, seed);
        net.prog.run();
        const auto analytic = read(net, instance<N>::d);
        const auto hessian = hessian_blocks(net);
        net.prog.run();
        const auto dense = gateaux::dense_bop(net.prog, N::loss, N::w, net.v);
        for (std::size_t i = 0; i < 2; ++i) {
            const double cond = pseudo_inverse(hessian[i]).cond;
            INFO("seed " << seed << ", layer " << i + 1 << ", cond(H_l) = " << cond);
            CHECK(sci{rel_error(dense[i], analytic[i])} <= sci{100 * eps * cond});
        }
    }
}
