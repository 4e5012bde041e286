// The seed's experiment with its own method, the finite-difference inverse (include/gateaux/
// symbolic/inverse.hpp: fd_newton_step, fd_bop): two layers, every matrix 3×3, leaky ReLU (slope
// 0.5) then identity, sum(squared_error); x, W1, W2 ~ N(0, 1) + 0.1·I, targets one-hot + 0.1·I;
// the same 20 seeds and draws as bop_seed.cpp (which checks the analytic newton_step). The oracle
// is the explicit 9×9 block H_l from R-operator columns, solved by LAPACK (SVD).
//
// The error model (docs/theory.md, "The finite-difference twin"): leaky ReLU makes the inverse map piecewise
// linear in r, so a central difference has no truncation error until r crosses a kink, only
// rounding. Each evaluation of the inverse W = g⁻¹(G′) is accurate to about eps·cond(H_l)·(‖W‖ +
// ‖H_l⁻¹G_l‖) (the inverse map's condition number is that of its Jacobian H_l); the difference of
// two, divided by r, is off by at most twice that over r: relative to ‖H_l⁻¹v‖ the bound asserted
// below (oracle::fd_rounding_bound, plus the oracle's own 100·eps·cond(H_l)).
//   r = 1e-9 (the seed's step): that bound is 1e5 times larger than at r = 1e-4. The seed's own
//     check, numpy.allclose(rtol 1e-3, atol 1e-4), is printed per seed and counted, not asserted:
//     it misses where the bound exceeds it (seeds 5 and 9 of the seed's numpy data; here,
//     with std::mt19937_64 data, 6 of 40 layer checks on seeds 5, 6, 12, 15 and 18).
//   r = 1e-4 (fd_bop's default): the same bound, 1e5 times smaller (measured errors ≤ 1.3e-8, at
//     cond(H_2) = 1.4e6; ≤ 2.6e-9 where cond(H_l) < 1e6), on every seed where no kink of net_1
//     lies within r/2·|dnet_1| (dnet_1 = x·H_1⁻¹v). Where one does, the gradient map jumps there
//     (a′ jumps from 0.5 to 1), and a target beyond the jump has no preimage: inverse_gradient
//     reports that as a domain_error. Then the test checks, independently, that one of the four
//     targets it inverted (G ± r/2·G, G ± r/2·v) has a sample with no preimage near its net_1 row:
//     per sample, net_1 ↦ δ_1 is affine on each of the 8 sign orthants, δ = n·D·W2·W2ᵀ·D − y·W2ᵀ·D,
//     so every preimage is found by one 3×3 solve per orthant.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using N = net<loss_kind::sum_se, widths<3, 3, 3>, acts<leaky, linear>, at<1, 2>>;
constexpr std::size_t seeds = 20;

// What one seed measures at one step r, for both layers.
struct seed_row {
    double cond_h1 = 0.0, cond_hess[2] = {0.0, 0.0};
    double err[2] = {0.0, 0.0};      // fd_newton_step against H_l⁻¹·G_l, relative
    double err_bop[2] = {0.0, 0.0};  // fd_bop along v against H_l⁻¹·v, relative
    double bound[2] = {0.0, 0.0}, bound_bop[2] = {0.0, 0.0};  // fd_rounding_bound for G and for v
    double allclose[2] = {0.0, 0.0};  // numpy.allclose's ratio at rtol 1e-3, atol 1e-4 (≤ 1 passes)
    bool kink = false;                // a kink of net_1 within the step's reach
    bool preimages = true;            // every target inverted has a preimage near net_1, sample by sample
    std::string refused;              // a domain_error's message
};

// The smallest |net[b, j]| / |dnet[b, j]|: a step s·dnet with |s| above it crosses a kink.
double kink_distance(const tensor& net, const tensor& dnet) {
    double d = INFINITY;
    for (std::size_t k = 0; k < net.size(); ++k)
        if (dnet.flat(k) != 0.0) d = std::min(d, std::abs(net.flat(k) / dnet.flat(k)));
    return d;
}

// Whether, for every sample b, some net row n with |n − net_1[b]| ≤ |net_1[b]| has δ_1(n) equal to
// row b of x⁻ᵀ·G (the per-sample target inverse_gradient solves for, with W2 and y fixed).
bool near_preimage(const instance<N>& net, const tensor& g) {
    const tensor net1 = xt::linalg::dot(net.x, net.weights[0]);
    const tensor target = xt::linalg::solve(xt::transpose(net.x), g);
    const tensor& w2 = net.weights[1];
    for (std::size_t b = 0; b < 3; ++b) {
        const tensor row = xt::view(net1, xt::range(b, b + 1), xt::all());
        bool found = false;
        for (unsigned s = 0; s < 8 && !found; ++s) {
            tensor d = xt::zeros<double>({3, 3});
            for (std::size_t j = 0; j < 3; ++j) d(j, j) = (s >> j) & 1 ? 1.0 : 0.5;
            const tensor w2d = xt::linalg::dot(xt::transpose(w2), d);  // W2ᵀ·D
            const tensor m = xt::linalg::dot(xt::transpose(w2d), w2d);  // D·W2·W2ᵀ·D
            const tensor rhs = xt::view(target, xt::range(b, b + 1), xt::all()) +
                               xt::linalg::dot(xt::view(net.y, xt::range(b, b + 1), xt::all()), w2d);
            const tensor n = xt::transpose(xt::linalg::solve(m, xt::transpose(rhs)));  // m is symmetric
            bool inside = true;
            for (std::size_t j = 0; j < 3; ++j) inside = inside && ((s >> j) & 1 ? n(0, j) >= 0.0 : n(0, j) <= 0.0);
            found = inside && oracle::norm(tensor(n - row)) <= oracle::norm(row);
        }
        if (!found) return false;
    }
    return true;
}

seed_row measure(instance<N>& net, double r) {
    using namespace gateaux;
    net.prog.run();
    const auto g = read(net, instance<N>::g);
    const auto hess = hessian_blocks(net);
    tensor h1 = xt::linalg::dot(net.x, net.weights[0]);
    const tensor net1 = h1;
    for (double& e : h1) e = e > 0.0 ? e : 0.5 * e;
    seed_row row;
    row.cond_h1 = cond2(h1);
    tensor want[2], want_v[2];
    for (int l = 0; l < 2; ++l) {
        const pseudo_inverse hp(hess[l]);
        want[l] = hp.solve(g[l]);
        want_v[l] = hp.solve(net.v[l]);
        row.cond_hess[l] = hp.cond;
        const double w = oracle::norm(net.weights[l]);
        const double newton = oracle::norm(want[l]);
        row.bound[l] = fd_rounding_bound(hp.cond, w, newton, newton, r);
        row.bound_bop[l] = fd_rounding_bound(hp.cond, w, newton, oracle::norm(want_v[l]), r);
    }
    const double reach = std::min(kink_distance(net1, xt::linalg::dot(net.x, want[0])),
                                  kink_distance(net1, xt::linalg::dot(net.x, want_v[0])));
    row.kink = reach < r / 2;
    for (const tensor& target : {tensor(g[0] * (1 + r / 2)), tensor(g[0] * (1 - r / 2)), tensor(g[0] + r / 2 * net.v[0]),
                                 tensor(g[0] - r / 2 * net.v[0])})
        row.preimages = row.preimages && near_preimage(net, target);
    net.prog.run();  // hessian_block left the program at its last unit direction
    try {
        const auto step = fd_newton_step(net.prog, N::loss, N::w, r);
        const auto along = fd_bop(net.prog, N::loss, N::w, net.v, r);
        for (int l = 0; l < 2; ++l) {
            row.err[l] = rel_error(step[l], want[l]);
            row.err_bop[l] = rel_error(along[l], want_v[l]);
            row.allclose[l] = allclose_ratio(step[l], want[l], 1e-3, 1e-4);
        }
    } catch (const gateaux::domain_error& e) {
        row.refused = e.what();
    }
    return row;
}

void print_header(double r) {
    std::printf("seed experiment (3x3, leaky 0.5), fd_newton_step and fd_bop at r = %.0e\n"
                "  seed  cond(h1)  cond(H1)  cond(H2)  step W1   step W2   bop W1    bop W2    bound W1/W2        allclose W1/W2\n",
                r);
}
void print(std::uint64_t seed, const seed_row& row) {
    std::printf("  %4llu  %8.3g  %8.3g  %8.3g  %.2e  %.2e  %.2e  %.2e  %.1e / %.1e  %7.3f / %7.3f%s\n", (unsigned long long)seed,
                row.cond_h1, row.cond_hess[0], row.cond_hess[1], row.err[0], row.err[1], row.err_bop[0], row.err_bop[1],
                row.bound[0], row.bound[1], row.allclose[0], row.allclose[1],
                row.kink ? "  kink within reach" : "");
    if (!row.refused.empty())
        std::printf("        %s\n        (a target without a preimage near net_1: %s)\n", row.refused.c_str(),
                    row.preimages ? "no" : "yes");
}

// Every seed without a kink in reach: both layers within the rounding bound, no domain_error.
void check_rounding(std::uint64_t seed, const seed_row& row) {
    INFO("seed " << seed << (row.kink ? " (kink within reach)" : ""));
    CHECK(row.refused.empty());
    for (int l = 0; l < 2; ++l) {
        INFO("W" << l + 1 << ": cond(H) = " << row.cond_hess[l]);
        CHECK(sci{row.err[l]} <= sci{row.bound[l]});
        CHECK(sci{row.err_bop[l]} <= sci{row.bound_bop[l]});
    }
}

TEST_CASE("the seed's experiment at the seed's r = 1e-9: within the rounding bound; numpy.allclose counted",
          "[symbolic][fd_bop][seed]") {
    instance<N> net(3, 0);
    print_header(1e-9);
    std::size_t passes = 0, kinks = 0;
    double worst[2] = {0.0, 0.0};
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
        seed_data(net, seed);
        const seed_row row = measure(net, 1e-9);
        print(seed, row);
        kinks += row.kink;
        check_rounding(seed, row);
        passes += (row.allclose[0] <= 1.0) + (row.allclose[1] <= 1.0);
        for (int l = 0; l < 2; ++l) worst[l] = std::max(worst[l], row.err[l]);
    }
    std::printf("  numpy.allclose(rtol 1e-3, atol 1e-4) holds in %zu of %zu layer checks; worst relative error W1 %.2e, "
                "W2 %.2e\n",
                passes, 2 * seeds, worst[0], worst[1]);
    CHECK(kinks == 0);  // r/2 = 5e-10: no net_1 entry is that close to a kink on these seeds
}

TEST_CASE("the seed's experiment at the default r = 1e-4: rounding only, about 1e-9, where no kink is in reach",
          "[symbolic][fd_bop][seed]") {
    instance<N> net(3, 0);
    print_header(1e-4);
    std::size_t kinks = 0, checked = 0;
    double worst = 0.0, worst_ratio = 0.0;
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
        seed_data(net, seed);
        const seed_row row = measure(net, 1e-4);
        print(seed, row);
        if (row.kink) {
            ++kinks;
            // A refusal only where some target has no preimage near net_1.
            INFO("seed " << seed << ": " << row.refused);
            CHECK(row.refused.empty() == row.preimages);
            continue;
        }
        CHECK(row.preimages);
        ++checked;
        check_rounding(seed, row);
        for (int l = 0; l < 2; ++l) {
            CHECK(row.allclose[l] <= 1.0);
            worst = std::max(worst, row.err[l]);
            worst_ratio = std::max({worst_ratio, row.err[l] / row.bound[l], row.err_bop[l] / row.bound_bop[l]});
        }
    }
    std::printf("  %zu seeds checked, worst relative error %.2e, largest error/bound %.2f; %zu seeds with a kink in reach\n",
                checked, worst, worst_ratio, kinks);
    CHECK(checked >= 15);
}

}  // namespace
