// Acceptance tests of the B-operator (include/gateaux/symbolic/bop.hpp), docs/theory.md's exact rows for
// the master formula Δ_l = h⁺[rows_b δ_l[b]·T_b⁻¹], T_b the per-sample curvature at net_l solved by
// LDLᵀ:
//   piecewise-linear layers with widths non-decreasing upward (n_l ≤ min_{k>l} n_k; for
//     cross-entropy also n_l ≤ n_L − 1);
//   smooth activations (tanh, softplus, sigmoid) on the path: no width rule (T_b, often
//     indefinite, is checked at run time).
// newton_step and bop are compared with the pseudo-inverse solve of the explicit block H_l
// (tests/support/oracle.hpp) within 100·eps·cond(H_l), at batch sizes from 1 up to the limit.
#include <catch2/catch.hpp>

#include <tuple>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;

auto piecewise_linear_rows() {
    return std::tuple{
        row<net<sum_se, widths<6, 3, 5>, acts<leaky, leaky>, at<1, 2>>>{"widening, leaky output", {"master", "chain"}, 601},
        row<net<mean_se, widths<4, 3, 5, 7>, acts<leaky, leaky, linear>, at<1, 2, 3>>>{
            "widening", {"master", "chain", "chain"}, 611},
        row<net<sum_se, widths<5, 2, 4, 4, 8>, acts<leaky, linear, leaky, leaky>, at<1, 2, 3, 4>>>{
            "non-decreasing, depth 4", {"master", "master", "master", "chain"}, 621},
        row<net<mean_se, widths<8, 4, 4, 16>, acts<leaky, leaky, leaky01>, at<1, 2, 3>>>{
            "non-decreasing to 16", {"master", "master", "chain"}, 631},
        row<net<sum_ce, widths<6, 3, 5>, acts<leaky, linear>, at<1, 2>>>{"cross-entropy, n_1 ≤ n_L − 1", {"master", "chain"}, 641},
        row<net<mean_ce, widths<5, 4, 4, 5>, acts<linear, leaky, linear>, at<1, 2, 3>>>{
            "cross-entropy, depth 3", {"master", "master", "chain"}, 651},
    };
}

auto smooth_rows() {
    return std::tuple{
        row<net<sum_se, widths<6, 8, 3>, acts<tanh_a, linear>, at<1, 2>>>{"tanh, narrowing", {"master", "chain"}, 701},
        row<net<mean_se, widths<5, 3, 7, 4>, acts<softplus, sigmoid, linear>, at<1, 2, 3>>>{
            "softplus and sigmoid, rise then fall", {"master", "master", "chain"}, 711},
        row<net<sum_se, widths<7, 5, 5>, acts<tanh_a, tanh_a>, at<1, 2>>>{"tanh, equal widths", {"master", "chain"}, 721},
        row<net<mean_ce, widths<4, 6, 3>, acts<sigmoid, linear>, at<1, 2>>>{"sigmoid, cross-entropy", {"master", "chain"}, 731},
        row<net<sum_se, widths<6, 4, 4, 4>, acts<leaky, tanh_a, linear>, at<1, 2, 3>>>{
            "leaky below tanh", {"master", "master", "chain"}, 741},
        row<net<sum_se, widths<3, 6, 2, 5>, acts<tanh_a, leaky, linear>, at<1, 2, 3>>>{
            "tanh below leaky, bottleneck", {"master", "chain", "chain"}, 751},
        row<net<sum_ce, widths<8, 10, 6>, acts<softplus, linear>, at<1, 2>>>{
            "softplus, cross-entropy, n_1 > n_L − 1", {"master", "chain"}, 761},
        row<net<mean_se, widths<4, 9, 2, 7, 3>, acts<sigmoid, tanh_a, softplus, linear>, at<1, 2, 3, 4>>>{
            "depth 4, widths up and down", {"master", "master", "master", "chain"}, 771},
        row<net<mean_se, widths<16, 24, 12>, acts<tanh_a, linear>, at<1, 2>>>{"tanh, 24 wide", {"master", "chain"}, 781, 16, 3},
    };
}

TEST_CASE("bop master formula: piecewise-linear layers with non-decreasing widths", "[symbolic][bop][master]") {
    summary sum;
    check_exact(piecewise_linear_rows(), sum);
    sum.print("bop master formula, piecewise linear");
    CHECK(sum.configurations >= 24);
}

TEST_CASE("bop master formula: smooth activations, any widths", "[symbolic][bop][master]") {
    summary sum;
    check_exact(smooth_rows(), sum);
    sum.print("bop master formula, smooth");
    CHECK(sum.configurations >= 35);
}

}  // namespace
