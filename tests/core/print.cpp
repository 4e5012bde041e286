// Tests for core/print.hpp: to_string of composite expressions, where the precedence of each
// op's printed form decides the parentheses. (Each op's own form is tested with the op.)
#include <catch2/catch.hpp>

#include <gateaux/gateaux.hpp>

namespace {

using namespace gateaux;

constexpr auto x = input<"x", 4>;
constexpr auto z = input<"z", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W = param<"W", 4, 4>;
constexpr auto W1 = param<"W1", 4, 4>;
constexpr auto W2 = param<"W2", 4, 3>;
constexpr auto b = bias<"b", 4>;

}  // namespace

TEST_CASE("print: a leaf prints as its name", "[core][print]") {
    CHECK(to_string(x) == "x");
    CHECK(to_string(W1) == "W1");
    CHECK(to_string(input<"θ_in", 2>) == "θ_in");
}

TEST_CASE("print: the network of the README, leaky_relu(x·W1)·W2", "[core][print]") {
    CHECK(to_string(leaky_relu<0.1>(x * W1) * W2) == "leaky_relu(x·W1)·W2");
    CHECK(to_string(mlp<4, 4, 3>(x, act::leaky_relu<0.1>)) == "leaky_relu(x·W1)·W2");
    CHECK(to_string(mlp<4, 4, 3>(x, act::tanh, act::identity, with_biases)) == "tanh(x·W1 + b1)·W2 + b2");
}

TEST_CASE("print: a sum feeding a product is parenthesised, a product feeding a sum is not", "[core][print]") {
    CHECK(to_string((x + z) * W) == "(x + z)·W");
    CHECK(to_string(x * W + z) == "x·W + z");
    CHECK(to_string(x * W + b) == "x·W + b");
    CHECK(to_string((x * W + b) * W2) == "(x·W + b)·W2");
    CHECK(to_string(x * (W + W1)) == "x·(W + W1)");
    CHECK(to_string((x - z) * W) == "(x − z)·W");
}

TEST_CASE("print: sums and differences associate to the left", "[core][print]") {
    CHECK(to_string(x + z + x) == "x + z + x");
    CHECK(to_string(x + (z + x)) == "x + (z + x)");
    CHECK(to_string(x - z - x) == "x − z − x");
    CHECK(to_string(x - (z - x)) == "x − (z − x)");
    CHECK(to_string(x - (z + x)) == "x − (z + x)");
}

TEST_CASE("print: Hadamard products and transposes take parentheses around weaker operands", "[core][print]") {
    CHECK(to_string(hadamard(x + z, x)) == "(x + z)⊙x");
    CHECK(to_string(hadamard(x, hadamard(z, x))) == "x⊙(z⊙x)");
    CHECK(to_string(hadamard(x * W, z)) == "x·W⊙z");
    CHECK(to_string(transpose(x + z)) == "(x + z)ᵀ");
    CHECK(to_string(transpose(tanh(x))) == "tanh(x)ᵀ");
    CHECK(to_string(transpose(x + z) * x) == "(x + z)ᵀ·x");
    CHECK(to_string(W * transpose(x + z)) == "W·(x + z)ᵀ");
}

TEST_CASE("print: a whole loss with an L2 penalty", "[core][print]") {
    const auto out = mlp<4, 4, 3>(x, act::leaky_relu<0.1>, act::identity, with_biases);
    CHECK(to_string(mse(out, y) + l2<0.001>(W1, W2)) ==
          "mean(½‖leaky_relu(x·W1 + b1)·W2 + b2 − y‖²) + 0.001·(½‖W1‖² + ½‖W2‖²)");
    CHECK(to_string(sum(squared_error(x * W2, y))) == "sum(½‖x·W2 − y‖²)");
    CHECK(to_string(squared_error(x * W2, y + y)) == "½‖x·W2 − (y + y)‖²");
    CHECK(to_string(mean(cross_entropy(tanh(x * W1) * W2, y))) == "mean(cross_entropy(tanh(x·W1)·W2, y))");
}
