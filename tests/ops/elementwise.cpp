// Tests for the element-wise binary and scaling ops: ops/add.hpp, ops/sub.hpp, ops/bias.hpp,
// ops/hadamard.hpp, ops/scale.hpp. Values against the oracle, which `+` is chosen, printing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <type_traits>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

constexpr ref::error tol{1e-13};
constexpr std::size_t batches[] = {1, 3, 64, 128};
constexpr std::uint64_t seeds[] = {4, 5};

// a + b, a − b, a ⊙ b on two batch×N inputs.
template <dim N>
void check_binary() {
    constexpr auto a = input<"a", N>;
    constexpr auto b = input<"b", N>;
    const auto s = a + b;
    const auto d = a - b;
    const auto h = hadamard(a, b);
    auto prog = compile(s, d, h);
    for (std::uint64_t seed : seeds)
        for (std::size_t rows : batches) {
            const tensor A = ref::normal(rows, N, seed), B = ref::normal(rows, N, seed + 50);
            prog.bind(a, A).bind(b, B).run();
            INFO("N = " << N << ", batch " << rows << ", seed " << seed);
            CHECK(ref::rel_error(prog[s], ref::add(A, B)) <= tol);
            CHECK(ref::rel_error(prog[d], ref::sub(A, B)) <= tol);
            CHECK(ref::rel_error(prog[h], ref::hadamard(A, B)) <= tol);
        }
}

// x·W + b with b a 1×N bias row, and x + c with c a bias row directly on the input.
template <dim K, dim N>
void check_bias_add() {
    constexpr auto x = input<"x", K>;
    constexpr auto W = param<"W", K, N>;
    constexpr auto b = bias<"b", N>;
    constexpr auto c = bias<"c", K>;
    const auto net = x * W + b;
    const auto shifted = x + c;
    STATIC_REQUIRE(std::is_same_v<typename decltype(net)::op, bias_add_op>);
    STATIC_REQUIRE(decltype(net)::rows == batch);
    STATIC_REQUIRE(decltype(net)::cols == N);
    auto prog = compile(net, shifted);
    for (std::uint64_t seed : seeds)
        for (std::size_t rows : batches) {
            const tensor X = ref::normal(rows, K, seed), w = ref::normal(K, N, seed + 1);
            const tensor bb = ref::normal(1, N, seed + 2), cc = ref::normal(1, K, seed + 3);
            prog.bind(x, X).bind(W, w).bind(b, bb).bind(c, cc).run();
            INFO("K = " << K << ", N = " << N << ", batch " << rows << ", seed " << seed);
            CHECK(ref::rel_error(prog[net], ref::bias_add(ref::matmul(X, w), bb)) <= tol);
            CHECK(ref::rel_error(prog[shifted], ref::bias_add(X, cc)) <= tol);
        }
}

}  // namespace

TEST_CASE("add, sub, hadamard: values match the reference at several widths and batch sizes", "[ops][add][sub][hadamard]") {
    check_binary<1>();
    check_binary<7>();
    check_binary<64>();
}

TEST_CASE("add, sub, hadamard: on parameters (compile-time shapes)", "[ops][add][sub][hadamard]") {
    constexpr auto P = param<"P", 5, 3>;
    constexpr auto Q = param<"Q", 5, 3>;
    const auto s = P + Q;
    const auto d = P - Q;
    const auto h = hadamard(P, Q);
    STATIC_REQUIRE(std::is_same_v<decltype(s)::op, add_op>);
    auto prog = compile(s, d, h);
    for (std::uint64_t seed : seeds) {
        const tensor p = ref::normal(5, 3, seed), q = ref::normal(5, 3, seed + 9);
        prog.bind(P, p).bind(Q, q).run();
        CHECK(ref::rel_error(prog[s], ref::add(p, q)) <= tol);
        CHECK(ref::rel_error(prog[d], ref::sub(p, q)) <= tol);
        CHECK(ref::rel_error(prog[h], ref::hadamard(p, q)) <= tol);
    }
}

TEST_CASE("add: two 1×n rows are an ordinary add, not a bias add", "[ops][add][bias]") {
    constexpr auto b = bias<"b", 4>;
    constexpr auto c = bias<"c", 4>;
    const auto s = b + c;
    STATIC_REQUIRE(std::is_same_v<decltype(s)::op, add_op>);
    auto prog = compile(s);
    const tensor bb = ref::normal(1, 4, 1), cc = ref::normal(1, 4, 2);
    prog.bind(b, bb).bind(c, cc).run();
    CHECK(ref::rel_error(prog[s], ref::add(bb, cc)) <= tol);
}

TEST_CASE("bias add: a + b with b a 1×n row is added to every row", "[ops][bias]") {
    check_bias_add<1, 1>();
    check_bias_add<3, 8>();
    check_bias_add<64, 10>();
}

TEST_CASE("bias add: bias_add(a, b) and a + b build the same node", "[ops][bias]") {
    constexpr auto x = input<"x", 3>;
    constexpr auto b = bias<"b", 3>;
    STATIC_REQUIRE(std::is_same_v<decltype(x + b), decltype(bias_add(x, b))>);
}

TEST_CASE("bias add: a batch that is 1 at run time still broadcasts correctly", "[ops][bias]") {
    // The batch dimension is 1 only at run time here; xtensor gives 1-row tensors zero strides.
    constexpr auto x = input<"x", 5>;
    constexpr auto W = param<"W", 5, 5>;
    constexpr auto b = bias<"b", 5>;
    const auto net = x * W + b;
    auto prog = compile(net);
    const tensor X = ref::normal(1, 5, 3), w = ref::normal(5, 5, 4), bb = ref::normal(1, 5, 5);
    prog.bind(x, X).bind(W, w).bind(b, bb).run();
    CHECK(ref::rel_error(prog[net], ref::bias_add(ref::matmul(X, w), bb)) <= tol);
}

TEST_CASE("scale: c·a for several compile-time factors, and −a", "[ops][scale]") {
    constexpr auto x = input<"x", 6>;
    const auto half = scale<0.5>(x);
    const auto triple = scale<3.0>(x);
    const auto tiny = scale<1e-300>(x);
    const auto neg = -x;
    const auto zero = scale<0.0>(x);
    STATIC_REQUIRE(std::is_same_v<decltype(-x), decltype(scale<-1.0>(x))>);
    auto prog = compile(half, triple, tiny, neg, zero);
    for (std::uint64_t seed : seeds)
        for (std::size_t rows : batches) {
            const tensor X = ref::normal(rows, 6, seed);
            prog.bind(x, X).run();
            INFO("batch " << rows << ", seed " << seed);
            CHECK(ref::rel_error(prog[half], ref::scale(0.5, X)) <= tol);
            CHECK(ref::rel_error(prog[triple], ref::scale(3.0, X)) <= tol);
            CHECK(ref::max_rel_error(prog[tiny], ref::scale(1e-300, X)) <= tol);
            CHECK(ref::rel_error(prog[neg], ref::scale(-1.0, X)) <= tol);
            CHECK(ref::rel_error(prog[zero], ref::scale(0.0, X)) == ref::error{0.0});
        }
}

TEST_CASE("elementwise: a composite (a − b)⊙(a + b) + c·a over shared operands", "[ops][add][sub][hadamard][scale]") {
    constexpr auto a = input<"a", 9>;
    constexpr auto b = input<"b", 9>;
    const auto e = hadamard(a - b, a + b) + scale<2.0>(a);
    auto prog = compile(e);
    for (std::size_t rows : batches) {
        const tensor A = ref::normal(rows, 9, 31), B = ref::normal(rows, 9, 32);
        prog.bind(a, A).bind(b, B).run();
        const tensor want = ref::add(ref::hadamard(ref::sub(A, B), ref::add(A, B)), ref::scale(2.0, A));
        CHECK(ref::rel_error(prog[e], want) <= tol);
    }
}

TEST_CASE("elementwise: printing of +, −, bias, ⊙ and scale", "[ops][add][sub][bias][hadamard][scale][print]") {
    constexpr auto a = input<"a", 4>;
    constexpr auto b = input<"b", 4>;
    constexpr auto W = param<"W", 4, 4>;
    constexpr auto c = bias<"c", 4>;
    CHECK(to_string(a + b) == "a + b");
    CHECK(to_string(a - b) == "a − b");
    CHECK(to_string(a * W + c) == "a·W + c");
    CHECK(to_string(hadamard(a, b)) == "a⊙b");
    CHECK(to_string(scale<0.5>(a)) == "0.5·a");
    CHECK(to_string(-a) == "−a");
    CHECK(to_string(scale<2.0>(a + b)) == "2·(a + b)");
    CHECK(to_string(-(a * W)) == "−(a·W)");
}
