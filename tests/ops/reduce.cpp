// Tests for the reductions to a 1×1 value: ops/sum.hpp, ops/mean.hpp, ops/sq_norm.hpp and the
// L2 penalty ops/l2.hpp (a composite of sq_norm, add and scale). Values and printing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <type_traits>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

constexpr ref::error tol{1e-13};
constexpr std::size_t batches[] = {1, 2, 31, 128};
constexpr std::uint64_t seeds[] = {7, 8, 9};

// The data have mean 0.5 so that the sums are well away from 0 (a sum of mean-zero data can
// cancel to nearly nothing, and then no relative tolerance means anything).
template <dim N>
void check_reductions() {
    constexpr auto x = input<"x", N>;
    const auto s = sum(x);
    const auto m = mean(x);
    const auto q = sq_norm(x);
    STATIC_REQUIRE(decltype(s)::rows == 1);
    STATIC_REQUIRE(decltype(s)::cols == 1);
    STATIC_REQUIRE(decltype(m)::rows == 1);
    STATIC_REQUIRE(decltype(q)::cols == 1);
    auto prog = compile(s, m, q);
    for (std::uint64_t seed : seeds)
        for (std::size_t b : batches) {
            const tensor X = ref::normal(b, N, seed, 0.5, 1.0);
            prog.bind(x, X).run();
            INFO("N = " << N << ", batch " << b << ", seed " << seed);
            CHECK(ref::rel_error(prog.scalar(s), ref::sum(X)) <= tol);
            CHECK(ref::rel_error(prog.scalar(m), ref::mean(X)) <= tol);
            CHECK(ref::rel_error(prog.scalar(q), ref::sq_norm(X)) <= tol);
            CHECK(prog[s].shape(0) == 1);
            CHECK(prog[s].shape(1) == 1);
        }
}

}  // namespace

TEST_CASE("sum, mean, sq_norm: values at several widths, batch sizes and seeds", "[ops][sum][mean][sq_norm]") {
    check_reductions<1>();
    check_reductions<10>();
    check_reductions<64>();
}

TEST_CASE("mean: of a B×1 column is the mean over the batch", "[ops][mean]") {
    constexpr auto x = input<"x", 3>;
    constexpr auto w = param<"w", 3, 1>;
    const auto m = mean(x * w);
    auto prog = compile(m);
    for (std::size_t b : batches) {
        const tensor X = ref::normal(b, 3, 1, 1.0, 1.0), W = ref::normal(3, 1, 2, 1.0, 0.1);
        prog.bind(x, X).bind(w, W).run();
        CHECK(ref::rel_error(prog.scalar(m), ref::mean(ref::matmul(X, W))) <= tol);
    }
}

TEST_CASE("sum, mean: of a parameter, and of a 1×1 value (the identity)", "[ops][sum][mean]") {
    constexpr auto P = param<"P", 4, 6>;
    const auto s = sum(P);
    const auto m = mean(P);
    const auto ss = sum(sum(P));
    auto prog = compile(s, m, ss);
    const tensor p = ref::normal(4, 6, 3, 0.5, 1.0);
    prog.bind(P, p).run();
    CHECK(ref::rel_error(prog.scalar(s), ref::sum(p)) <= tol);
    CHECK(ref::rel_error(prog.scalar(m), ref::mean(p)) <= tol);
    CHECK(prog.scalar(ss) == prog.scalar(s));
}

TEST_CASE("sq_norm: is ½ Σ a², with no overflow for moderately large entries", "[ops][sq_norm]") {
    constexpr auto P = param<"P", 2, 2>;
    const auto q = sq_norm(P);
    auto prog = compile(q);
    const tensor p = {{3.0, -4.0}, {1e150, 0.0}};
    prog.bind(P, p).run();
    CHECK(ref::rel_error(prog.scalar(q), ref::sq_norm(p)) <= tol);
}

TEST_CASE("l2: λ·Σ ½‖Pᵢ‖² over one, two and three parameters (weights and biases)", "[ops][l2]") {
    constexpr auto W1 = param<"W1", 5, 4>;
    constexpr auto W2 = param<"W2", 4, 3>;
    constexpr auto b1 = bias<"b1", 4>;
    const auto one = l2<1e-3>(W1);
    const auto two = l2<0.5>(W1, W2);
    const auto three = l2<2.0>(W1, W2, b1);
    STATIC_REQUIRE(decltype(three)::rows == 1);
    STATIC_REQUIRE(decltype(three)::cols == 1);
    auto prog = compile(one, two, three);
    for (std::uint64_t seed : seeds) {
        const tensor w1 = ref::normal(5, 4, seed), w2 = ref::normal(4, 3, seed + 1), bb = ref::normal(1, 4, seed + 2);
        prog.bind(W1, w1).bind(W2, w2).bind(b1, bb).run();
        INFO("seed " << seed);
        CHECK(ref::rel_error(prog.scalar(one), ref::l2(1e-3, {w1})) <= tol);
        CHECK(ref::rel_error(prog.scalar(two), ref::l2(0.5, {w1, w2})) <= tol);
        CHECK(ref::rel_error(prog.scalar(three), ref::l2(2.0, {w1, w2, bb})) <= tol);
    }
}

TEST_CASE("l2: is the composite λ·(sq_norm + sq_norm), with no node of its own", "[ops][l2]") {
    constexpr auto W1 = param<"W1", 5, 4>;
    constexpr auto W2 = param<"W2", 4, 3>;
    STATIC_REQUIRE(std::is_same_v<decltype(l2<0.5>(W1, W2)), decltype(scale<0.5>(sq_norm(W1) + sq_norm(W2)))>);
}

TEST_CASE("l2: added to a data loss (the usual use)", "[ops][l2][sum]") {
    constexpr auto x = input<"x", 3>;
    constexpr auto W = param<"W", 3, 2>;
    const auto loss = sum(x * W) + l2<1e-2>(W);
    auto prog = compile(loss);
    for (std::size_t b : batches) {
        const tensor X = ref::normal(b, 3, 5, 1.0, 0.5), w = ref::normal(3, 2, 6, 1.0, 0.5);
        prog.bind(x, X).bind(W, w).run();
        CHECK(ref::rel_error(prog.scalar(loss), ref::sum(ref::matmul(X, w)) + ref::l2(1e-2, {w})) <= tol);
    }
}

TEST_CASE("reductions: printing of sum, mean, sq_norm and l2", "[ops][sum][mean][sq_norm][l2][print]") {
    constexpr auto x = input<"x", 3>;
    constexpr auto W1 = param<"W1", 3, 2>;
    constexpr auto W2 = param<"W2", 2, 2>;
    CHECK(to_string(sum(x)) == "sum(x)");
    CHECK(to_string(mean(x * W1)) == "mean(x·W1)");
    CHECK(to_string(sq_norm(W1)) == "½‖W1‖²");
    CHECK(to_string(l2<0.001>(W1)) == "0.001·½‖W1‖²");
    CHECK(to_string(l2<0.001>(W1, W2)) == "0.001·(½‖W1‖² + ½‖W2‖²)");
    // λ·(½‖W1‖² + ½‖W2‖² + ½‖b1‖²) as l2.hpp states: a left-associated sum, no inner parentheses.
    CHECK(to_string(l2<0.001>(W1, W2, bias<"b1", 2>)) == "0.001·(½‖W1‖² + ½‖W2‖² + ½‖b1‖²)");
}
