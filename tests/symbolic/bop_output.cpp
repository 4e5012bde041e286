// Acceptance tests of the B-operator (include/gateaux/symbolic/bop.hpp), docs/theory.md's exact rows for
// the output layer and for linear nets:
//   output layer (l = L): no width rule; Δ_L = h⁺(δ_L ⊘ φ′) for any activation under the squared
//     error, and h⁺·centre_rows((p − y) ⊘ p) (min-norm) for cross-entropy, whatever lies below
//     (widths rising and falling, smooth activations, even a relu);
//   linear nets (identity everywhere): H_l = (hᵀh) ⊗ (JJᵀ), exact wherever the library gives a
//     formula (equal, widening, the identity-output exception).
// newton_step and bop are compared with the pseudo-inverse solve of the explicit block H_l
// (tests/support/oracle.hpp) within 100·eps·cond(H_l), at batch sizes from 1 up to the limit.
#include <catch2/catch.hpp>

#include <tuple>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;

using relu = gateaux::activation<gateaux::relu_fn>;

auto output_rows() {
    return std::tuple{
        // One layer, every activation, squared error.
        row<net<sum_se, widths<7, 3>, acts<tanh_a>, at<1>>>{"output layer, tanh", {"chain"}, 301},
        row<net<mean_se, widths<4, 6>, acts<sigmoid>, at<1>>>{"output layer, sigmoid", {"chain"}, 311},
        row<net<sum_se, widths<5, 5>, acts<softplus>, at<1>>>{"output layer, softplus", {"chain"}, 321},
        row<net<sum_se, widths<9, 4>, acts<leaky>, at<1>>>{"output layer, leaky relu", {"chain"}, 331},
        row<net<sum_se, widths<3, 8>, acts<linear>, at<1>>>{"output layer, identity", {"chain"}, 341},
        row<net<mean_se, widths<32, 32>, acts<leaky01>, at<1>>>{"output layer, 32 wide", {"chain"}, 351, 32, 3},
        // Cross-entropy of the logits (sum and mean; one-hot and soft targets alternate by seed).
        row<net<sum_ce, widths<6, 4>, acts<linear>, at<1>>>{"output layer, cross-entropy", {"chain"}, 361},
        row<net<mean_ce, widths<3, 5>, acts<linear>, at<1>>>{"output layer, mean cross-entropy", {"chain"}, 371},
        row<net<sum_ce, widths<2, 2>, acts<linear>, at<1>>>{"output layer, 2 classes", {"chain"}, 381},
        // Deeper nets, only the output layer checked: nothing below matters.
        row<net<sum_se, widths<8, 12, 3, 6>, acts<tanh_a, leaky, sigmoid>, at<3>>>{
            "output layer above rising-then-falling widths", {"chain"}, 391},
        row<net<sum_ce, widths<5, 9, 4>, acts<leaky, linear>, at<2>>>{"output layer, cross-entropy, narrowing", {"chain"}, 401},
        // A relu below the output layer: h_1 keeps full row rank for B ≤ 4 of 10 columns.
        row<net<sum_se, widths<6, 10, 5>, acts<relu, linear>, at<2>>>{"output layer above a relu", {"chain"}, 411, 4},
        row<net<mean_ce, widths<4, 6, 6, 5>, acts<softplus, leaky, linear>, at<3>>>{
            "output layer, cross-entropy, depth 3", {"chain"}, 421},
        row<net<mean_se, widths<10, 3, 16>, acts<tanh_a, softplus>, at<2>>>{"output layer 16 wide, softplus", {"chain"}, 431},
    };
}

auto linear_rows() {
    return std::tuple{
        row<net<sum_se, widths<5, 5, 5>, acts<linear, linear>, at<1, 2>>>{"linear, equal widths", {"chain", "chain"}, 501},
        row<net<mean_se, widths<4, 3, 6, 8>, acts<linear, linear, linear>, at<1, 2, 3>>>{
            "linear, widening", {"master", "chain", "chain"}, 511},
        row<net<sum_se, widths<6, 2, 2, 5>, acts<linear, linear, linear>, at<1, 2, 3>>>{
            "linear, identity-output exception", {"chain", "chain", "chain"}, 521},
        row<net<mean_se, widths<3, 8, 8>, acts<linear, linear>, at<1, 2>>>{"linear, wide", {"chain", "chain"}, 531},
        row<net<sum_se, widths<7, 2, 3, 4, 6>, acts<linear, linear, linear, linear>, at<1, 2, 3, 4>>>{
            "linear, widening, depth 4", {"master", "master", "chain", "chain"}, 541},
        row<net<sum_ce, widths<4, 2, 3>, acts<linear, linear>, at<1, 2>>>{"linear, cross-entropy", {"master", "chain"}, 551},
    };
}

TEST_CASE("bop output layer: any activation, squared error or cross-entropy, any widths below",
          "[symbolic][bop][output]") {
    summary sum;
    check_exact(output_rows(), sum);
    sum.print("bop output layer");
    CHECK(sum.configurations >= 50);
}

TEST_CASE("bop linear nets: H_l = (hᵀh) ⊗ (JJᵀ)", "[symbolic][bop][linear]") {
    summary sum;
    check_exact(linear_rows(), sum);
    sum.print("bop linear nets");
    CHECK(sum.configurations >= 24);
}

}  // namespace
