// The three derivative laws (tests/support/laws.hpp) for the nonlinear ops: softmax, sq_norm,
// squared_error, mse, cross_entropy, the l2 penalty, and every activation (identity,
// leaky_relu with slopes 0.1 and 0.5, relu, tanh, sigmoid, softplus). One TEST_CASE per law,
// one row per op. Piecewise-linear activations are sampled away from their kink at 0 (|x| ≥
// 0.1, while a difference step moves x by about 1e-5). Plus the kink convention itself:
// relu′(0) = 0 and leaky_relu′(0) = slope, the left derivative (ops/relu.hpp, leaky_relu.hpp).
#include <catch2/catch.hpp>

#include <array>
#include <tuple>

#include <gateaux/gateaux.hpp>

#include "support/law_cases.hpp"

namespace {

using namespace gateaux;

constexpr auto A = param<"A", 3, 4>;
constexpr auto C = param<"C", 3, 4>;
constexpr auto B = param<"B", 4, 2>;
constexpr auto O = param<"O", 3, 5>;   // logits
constexpr auto r = param<"r", 1, 1>;
constexpr auto W = param<"W", 6, 5>;
constexpr auto b = bias<"b", 5>;
constexpr auto x = input<"x", 6>;       // batch×6
constexpr auto y = target<"y", 4, 3>;   // 3×4, like A
constexpr auto t = target<"t", 5, 3>;   // 3×5 class distributions, like O
constexpr auto yb = target<"yb", 5>;    // batch×5

// Piecewise-linear activations: sampled away from the kink at 0.
laws::options off_kink() { return {.point = laws::sample::away_from(0.0, 0.1, 2.0)}; }
laws::options off_kink_batched() {
    return {.point = laws::sample::away_from(0.0, 0.1, 2.0), .data = laws::sample::away_from(0.0, 0.1, 2.0),
            .batches = {1, 3, 8}};
}
// Smooth activations: over their curved part and into the tails.
laws::options wide() { return {.point = laws::sample::normal(0.0, 2.0)}; }
laws::options batched() { return {.batches = {1, 3, 8}}; }
laws::options soft_targets() { return {.data = laws::sample::distributions()}; }
laws::options soft_targets_batched() { return {.data = laws::sample::distributions(), .batches = {1, 3, 8}}; }

auto rows() {
    using laws::make_row;
    return std::tuple{
        make_row("softmax", softmax(O), wrt(O), wide()),
        make_row("softmax of x·W + b (batch)", softmax(x * W + b), wrt(W, b), batched()),
        make_row("softmax 1×1 (constant 1)", softmax(r), wrt(r)),
        make_row("sq_norm", sq_norm(A), wrt(A)),
        make_row("sq_norm of a product", sq_norm(A * B), wrt(A, B)),
        make_row("squared_error (both operands parameters)", squared_error(A, C), wrt(A, C)),
        make_row("squared_error against a target", squared_error(A, y), wrt(A)),
        make_row("mse of x·W against a target (batch)", mse(x * W, yb), wrt(W), batched()),
        make_row("sum of squared_error (batch)", sum(squared_error(x * W + b, yb)), wrt(W, b), batched()),
        make_row("cross_entropy against soft targets", cross_entropy(O, t), wrt(O), soft_targets()),
        make_row("cross_entropy against unnormalised targets", cross_entropy(O, t), wrt(O)),
        make_row("mean cross_entropy of x·W + b (batch)", mean(cross_entropy(x * W + b, yb)), wrt(W, b),
                 soft_targets_batched()),
        make_row("l2<0.1> penalty", l2<0.1>(A, B), wrt(A, B)),
        make_row("identity", act::identity(A), wrt(A)),
        make_row("leaky_relu slope 0.1", leaky_relu<0.1>(A), wrt(A), off_kink()),
        make_row("leaky_relu slope 0.5", leaky_relu<0.5>(A), wrt(A), off_kink()),
        make_row("relu", relu(A), wrt(A), off_kink()),
        make_row("tanh", tanh(A), wrt(A), wide()),
        make_row("sigmoid", sigmoid(A), wrt(A), wide()),
        make_row("softplus", softplus(A), wrt(A), wide()),
        make_row("leaky_relu slope 0.1 of x·W (batch)", leaky_relu<0.1>(x * W), wrt(W), off_kink_batched()),
        make_row("tanh of x·W + b (batch)", tanh(x * W + b), wrt(W, b), batched()),
        make_row("sigmoid ⊙ softplus", hadamard(sigmoid(A), softplus(A)), wrt(A), wide()),
        make_row("tanh of tanh", tanh(tanh(A)), wrt(A), wide()),
    };
}

}  // namespace

TEST_CASE("tangent law: jvp equals central differences of the value (nonlinear ops)", "[symbolic][laws][tangent]") {
    laws::check_tangent_rows(rows());
}

TEST_CASE("adjoint law: <J v, u> = <v, Jᵀ u> (nonlinear ops)", "[symbolic][laws][adjoint]") {
    laws::check_adjoint_rows(rows());
}

TEST_CASE("second-order law: hvp of sum(U ⊙ op) equals differences of the gradient, and is symmetric (nonlinear ops)",
          "[symbolic][laws][hvp]") {
    laws::check_second_order_rows(rows());
}

namespace {

// At x = 0 (and −0) the derivative is the left one: S for leaky_relu<S>, 0 for relu (S = 0);
// just right of 0 it is 1. Checked through jvp (a′(x)·v), the gradient of sum(a(x)) (a′(x)),
// and hvp, whose a″ term folds to zero for a piecewise-linear a.
template <class Act>
void check_kink(Act act, double left_slope) {
    constexpr auto K = param<"K", 1, 4>;
    const auto out = act(K);
    const auto loss = sum(out);
    const auto jv = jvp(out, wrt(K));
    const auto g = grad(loss, wrt(K));
    const auto hv = hvp(loss, wrt(K));
    auto prog = compile(loss, jv, g, hv);
    const tensor k = {{0.0, -0.0, 1e-300, -1e-300}};
    const tensor v = {{1.0, -2.0, 3.0, -4.0}};
    prog.bind(K, k).bind(direction(K), v).run();
    const std::array<double, 4> slope{left_slope, left_slope, 1.0, left_slope};
    for (std::size_t j = 0; j < 4; ++j) {
        INFO("x = " << k(0, j));
        CHECK(prog[jv](0, j) == slope[j] * v(0, j));
        CHECK(prog[g.of(K)](0, j) == slope[j]);
        CHECK(prog[hv.of(K)](0, j) == 0.0);
    }
}

}  // namespace

TEST_CASE("kink convention: relu′(0) = 0 and leaky_relu′(0) = slope (the left derivative)",
          "[symbolic][laws][relu][leaky_relu]") {
    SECTION("relu") { check_kink(act::relu, 0.0); }
    SECTION("leaky_relu slope 0.1") { check_kink(act::leaky_relu<0.1>, 0.1); }
    SECTION("leaky_relu slope 0.5") { check_kink(act::leaky_relu<0.5>, 0.5); }
}
