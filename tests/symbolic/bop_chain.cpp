// Acceptance tests of the B-operator (include/gateaux/symbolic/bop.hpp), docs/theory.md's exact rows for
// the cheap chain: widths equal above the layer (n_l = … = n_L), piecewise-linear hidden
// activations with a′ ≠ 0 (leaky ReLU, identity), squared error, any output activation; and the
// identity-output exception n_l = … = n_{L−1} ≤ n_L. newton_step and bop are compared with the
// pseudo-inverse solve of the explicit block H_l (tests/support/oracle.hpp) within
// 100·eps·cond(H_l), at batch sizes from 1 up to the smallest checked input width.
#include <catch2/catch.hpp>

#include <tuple>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;

auto rows() {
    return std::tuple{
        // Widths equal above every layer: one downward pass serves all layers.
        row<net<sum_se, widths<6, 5, 5>, acts<leaky, linear>, at<1, 2>>>{"equal widths", {"chain", "chain"}, 101},
        row<net<mean_se, widths<8, 8, 8, 8>, acts<leaky, leaky, linear>, at<1, 2, 3>>>{
            "equal widths, depth 3", {"chain", "chain", "chain"}, 111},
        row<net<mean_se, widths<3, 4, 4, 4, 4>, acts<leaky, linear, leaky01, linear>, at<1, 2, 3, 4>>>{
            "equal widths, depth 4", {"chain", "chain", "chain", "chain"}, 121},
        row<net<sum_se, widths<2, 2, 2>, acts<leaky, linear>, at<1, 2>>>{"equal widths 2", {"chain", "chain"}, 131},
        row<net<mean_se, widths<16, 16, 16>, acts<leaky, leaky>, at<1, 2>>>{"equal widths 16", {"chain", "chain"}, 141},
        row<net<sum_se, widths<20, 32, 32>, acts<leaky01, linear>, at<1, 2>>>{"equal widths 32", {"chain", "chain"}, 151},
        // Any output activation: the output curvature stays diagonal (φ′ = a′² + e⊙a″).
        row<net<sum_se, widths<12, 6, 6>, acts<leaky, tanh_a>, at<1, 2>>>{"tanh output", {"chain", "chain"}, 161},
        row<net<mean_se, widths<5, 7, 7, 7>, acts<linear, leaky, sigmoid>, at<1, 2, 3>>>{
            "sigmoid output", {"chain", "chain", "chain"}, 171},
        row<net<sum_se, widths<4, 3, 3, 3, 3>, acts<leaky01, leaky, leaky, softplus>, at<1, 2, 3, 4>>>{
            "softplus output, depth 4", {"chain", "chain", "chain", "chain"}, 181},
        // Identity output with n_l = … = n_{L−1} ≤ n_L.
        row<net<sum_se, widths<6, 4, 7>, acts<leaky, linear>, at<1, 2>>>{"identity output, widening", {"chain", "chain"}, 191},
        row<net<mean_se, widths<5, 4, 4, 9>, acts<leaky, leaky, linear>, at<1, 2, 3>>>{
            "identity output, widening, depth 3", {"chain", "chain", "chain"}, 201},
        row<net<sum_se, widths<3, 2, 2, 2, 6>, acts<leaky, linear, leaky01, linear>, at<1, 2, 3, 4>>>{
            "identity output, widening, depth 4", {"chain", "chain", "chain", "chain"}, 211},
    };
}

TEST_CASE("bop chain: newton_step and bop equal the pseudo-inverse solve of the explicit block",
          "[symbolic][bop][chain]") {
    summary sum;
    check_exact(rows(), sum);
    sum.print("bop chain");
    CHECK(sum.configurations >= 40);
}

// bop along explicit directions (along(...)): along the gradient blocks it is the Newton step;
// along a leaf of the caller's it is H_l⁺·v like bop along direction(W_l).
TEST_CASE("bop along(...): explicit directions", "[symbolic][bop][chain][along]") {
    using namespace gateaux;
    using N = net<sum_se, widths<6, 5, 5>, acts<leaky, linear>, at<1, 2>>;
    constexpr auto loss = N::loss;
    constexpr auto w = N::w;
    constexpr auto W1 = N::W<1>;
    constexpr auto W2 = N::W<2>;
    constexpr auto V1 = input<"V1", 5, 6>;  // 6×5, like W1
    constexpr auto V2 = input<"V2", 5, 5>;
    const auto g = grad(loss, w);
    const auto s = newton_step(loss, w);
    const auto along_g = bop(loss, w, along(g.of(W1), g.of(W2)));
    const auto along_v = bop(loss, w, along(V1, V2));
    auto prog = compile(loss, g, hvp(loss, w), s, along_g, along_v);

    for (std::uint64_t seed : {1, 2, 3}) {
        rng gen(seed);
        const std::size_t b = 1 + seed;
        tensor x = wellcond(b, 6, gen), y = gaussian(b, 5, gen);
        tensor w1 = wellcond(6, 5, gen), w2 = wellcond(5, 5, gen);
        tensor v1 = gaussian(6, 5, gen), v2 = gaussian(5, 5, gen);
        tensor unused1 = xt::zeros<double>({6, 5}), unused2 = xt::zeros<double>({5, 5});  // hvp's directions
        prog.bind(N::x, x).bind(N::y, y).bind(W1, w1).bind(W2, w2).bind(V1, v1).bind(V2, v2);
        prog.bind(direction(W1), unused1).bind(direction(W2), unused2);
        prog.run();
        const tensor s1 = prog[s.of(W1)], s2 = prog[s.of(W2)];
        const tensor g1 = prog[along_g.of(W1)], g2 = prog[along_g.of(W2)];
        const tensor d1 = prog[along_v.of(W1)], d2 = prog[along_v.of(W2)];
        const pseudo_inverse h1(hessian_block(prog, loss, w, W1)), h2(hessian_block(prog, loss, w, W2));
        INFO("seed " << seed << ", B = " << b << ", cond(H_1) = " << h1.cond << ", cond(H_2) = " << h2.cond);
        CHECK(sci{rel_error(g1, s1)} <= sci{100 * eps * h1.cond});
        CHECK(sci{rel_error(g2, s2)} <= sci{100 * eps * h2.cond});
        CHECK(sci{rel_error(d1, h1.solve(v1))} <= sci{100 * eps * h1.cond});
        CHECK(sci{rel_error(d2, h2.solve(v2))} <= sci{100 * eps * h2.cond});
    }
}

}  // namespace
