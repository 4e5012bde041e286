// Tests for ops/matmul.hpp and ops/transpose.hpp: values of a·b with plain and transposed
// operands against the triple-loop oracle, transposes folding into the product, printing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <type_traits>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

constexpr ref::error tol{1e-13};
constexpr std::size_t batches[] = {1, 2, 17, 128};
constexpr std::uint64_t seeds[] = {1, 2, 3};

// x·W with x a batch×K input and W a K×N parameter, at several batch sizes and seeds.
template <dim K, dim N>
void check_input_times_param() {
    constexpr auto x = input<"x", K>;
    constexpr auto W = param<"W", K, N>;
    const auto c = x * W;
    auto prog = compile(c);
    for (std::uint64_t seed : seeds)
        for (std::size_t b : batches) {
            const tensor X = ref::normal(b, K, seed);
            const tensor w = ref::normal(K, N, seed + 100);
            prog.bind(x, X).bind(W, w).run();
            INFO("K = " << K << ", N = " << N << ", batch " << b << ", seed " << seed);
            CHECK(ref::rel_error(prog[c], ref::matmul(X, w)) <= tol);
        }
}

// op(A)·op(B) for the four transpose combinations, all operands compile-time M×K / K×N.
template <dim M, dim K, dim N>
void check_transposed_operands() {
    constexpr auto A = param<"A", M, K>, At = param<"At", K, M>;
    constexpr auto B = param<"B", K, N>, Bt = param<"Bt", N, K>;
    const auto nn = A * B;
    const auto tn = transpose(At) * B;
    const auto nt = A * transpose(Bt);
    const auto tt = transpose(At) * transpose(Bt);
    auto prog = compile(nn, tn, nt, tt);
    for (std::uint64_t seed : seeds) {
        const tensor a = ref::normal(M, K, seed), b = ref::normal(K, N, seed + 10);
        const tensor at = ref::transpose(a), bt = ref::transpose(b);
        prog.bind(A, a).bind(At, at).bind(B, b).bind(Bt, bt).run();
        const tensor want = ref::matmul(a, b);
        INFO("M = " << M << ", K = " << K << ", N = " << N << ", seed " << seed);
        CHECK(ref::rel_error(prog[nn], want) <= tol);
        CHECK(ref::rel_error(prog[tn], want) <= tol);
        CHECK(ref::rel_error(prog[nt], want) <= tol);
        CHECK(ref::rel_error(prog[tt], want) <= tol);
    }
}

}  // namespace

TEST_CASE("matmul: x·W matches the reference at several widths, batch sizes and seeds", "[ops][matmul]") {
    check_input_times_param<1, 1>();
    check_input_times_param<1, 7>();
    check_input_times_param<5, 3>();
    check_input_times_param<64, 10>();
    check_input_times_param<17, 64>();
}

TEST_CASE("matmul: parameter times parameter (no batch dimension)", "[ops][matmul]") {
    constexpr auto A = param<"A", 6, 9>;
    constexpr auto B = param<"B", 9, 4>;
    const auto c = A * B;
    STATIC_REQUIRE(decltype(c)::rows == 6);
    STATIC_REQUIRE(decltype(c)::cols == 4);
    auto prog = compile(c);
    for (std::uint64_t seed : seeds) {
        const tensor a = ref::normal(6, 9, seed), b = ref::normal(9, 4, seed + 7);
        prog.bind(A, a).bind(B, b).run();
        CHECK(ref::rel_error(prog[c], ref::matmul(a, b)) <= tol);
    }
}

TEST_CASE("matmul: transposed operands transpose(a)·b, a·transpose(b), transpose(a)·transpose(b)", "[ops][matmul]") {
    check_transposed_operands<1, 1, 1>();
    check_transposed_operands<3, 5, 2>();
    check_transposed_operands<8, 1, 8>();
    check_transposed_operands<16, 33, 7>();
}

TEST_CASE("matmul: transposed batch operands xᵀ·x (Gram matrix), xᵀ·z and x·Vᵀ", "[ops][matmul]") {
    constexpr auto x = input<"x", 6>;
    constexpr auto z = input<"z", 4>;
    constexpr auto V = param<"V", 3, 6>;
    const auto gram = transpose(x) * x;
    const auto cross = transpose(x) * z;
    const auto xvt = x * transpose(V);
    STATIC_REQUIRE(decltype(gram)::rows == 6);
    STATIC_REQUIRE(decltype(gram)::cols == 6);
    STATIC_REQUIRE(decltype(cross)::rows == 6);
    STATIC_REQUIRE(decltype(cross)::cols == 4);
    STATIC_REQUIRE(decltype(xvt)::rows == batch);
    auto prog = compile(gram, cross, xvt);
    for (std::uint64_t seed : seeds)
        for (std::size_t b : batches) {
            const tensor X = ref::normal(b, 6, seed), Z = ref::normal(b, 4, seed + 1), v = ref::normal(3, 6, seed + 2);
            prog.bind(x, X).bind(z, Z).bind(V, v).run();
            INFO("batch " << b << ", seed " << seed);
            CHECK(ref::rel_error(prog[gram], ref::matmul(ref::transpose(X), X)) <= tol);
            CHECK(ref::rel_error(prog[cross], ref::matmul(ref::transpose(X), Z)) <= tol);
            CHECK(ref::rel_error(prog[xvt], ref::matmul(X, ref::transpose(v))) <= tol);
        }
}

TEST_CASE("matmul: a transposed compound operand transpose(x·W)·V", "[ops][matmul]") {
    constexpr auto x = input<"x", 5>;
    constexpr auto W = param<"W", 5, 3>;
    constexpr auto V = input<"v", 2>;
    const auto c = transpose(x * W) * V;  // 3×2, a sum over the batch
    auto prog = compile(c);
    for (std::size_t b : batches) {
        const tensor X = ref::normal(b, 5, 11), w = ref::normal(5, 3, 12), v = ref::normal(b, 2, 13);
        prog.bind(x, X).bind(W, w).bind(V, v).run();
        CHECK(ref::rel_error(prog[c], ref::matmul(ref::transpose(ref::matmul(X, w)), v)) <= tol);
    }
}

TEST_CASE("matmul: a transpose feeding a product folds into it (no transpose node)", "[ops][matmul]") {
    constexpr auto a = param<"a", 4, 3>;
    constexpr auto b = param<"b", 4, 5>;
    constexpr auto c = param<"c", 3, 4>;
    constexpr auto d = param<"d", 2, 5>;
    using tn = decltype(transpose(a) * b);
    using tt = decltype(transpose(b) * transpose(c));
    using plain = decltype(transpose(b) * b);
    STATIC_REQUIRE(std::is_same_v<tn::op, matmul_op<true, false>>);
    STATIC_REQUIRE(std::is_same_v<tt::op, matmul_op<true, true>>);
    STATIC_REQUIRE(std::is_same_v<decltype(b * transpose(d))::op, matmul_op<false, true>>);
    STATIC_REQUIRE(std::is_same_v<plain::args, meta::list<std::remove_cvref_t<decltype(b)>, std::remove_cvref_t<decltype(b)>>>);
    // matmul(a, b) and a * b build the same node.
    STATIC_REQUIRE(std::is_same_v<decltype(matmul(transpose(a), b)), tn>);
}

TEST_CASE("transpose: values of xᵀ and (x·W)ᵀ evaluated on their own", "[ops][transpose]") {
    constexpr auto x = input<"x", 7>;
    constexpr auto W = param<"W", 7, 2>;
    const auto xt_ = transpose(x);
    const auto hwt = transpose(x * W);
    STATIC_REQUIRE(decltype(xt_)::rows == 7);
    STATIC_REQUIRE(decltype(xt_)::cols == batch);
    auto prog = compile(xt_, hwt);
    for (std::size_t b : batches) {
        const tensor X = ref::normal(b, 7, 21), w = ref::normal(7, 2, 22);
        prog.bind(x, X).bind(W, w).run();
        CHECK(ref::rel_error(prog[xt_], ref::transpose(X)) == ref::error{0.0});
        CHECK(ref::rel_error(prog[hwt], ref::transpose(ref::matmul(X, w))) <= tol);
    }
}

TEST_CASE("transpose: the transpose of a transpose is the operand itself", "[ops][transpose]") {
    constexpr auto x = input<"x", 7>;
    constexpr auto W = param<"W", 7, 2>;
    STATIC_REQUIRE(std::is_same_v<decltype(transpose(transpose(x))), std::remove_cvref_t<decltype(x)>>);
    STATIC_REQUIRE(std::is_same_v<decltype(transpose(transpose(x * W))), decltype(x * W)>);
}

TEST_CASE("matmul: prints as a·b, with ᵀ on transposed operands", "[ops][matmul][print]") {
    constexpr auto x = input<"x", 4>;
    constexpr auto W = param<"W", 4, 3>;
    constexpr auto V = param<"V", 3, 4>;
    CHECK(to_string(x * W) == "x·W");
    CHECK(to_string(x * W * V) == "x·W·V");
    CHECK(to_string(transpose(x) * x) == "xᵀ·x");
    CHECK(to_string(x * transpose(V)) == "x·Vᵀ");
    CHECK(to_string(transpose(V) * transpose(W)) == "Vᵀ·Wᵀ");
    CHECK(to_string(transpose(x * W)) == "(x·W)ᵀ");
    CHECK(to_string(transpose(x * W) * x) == "(x·W)ᵀ·x");
    CHECK(to_string(x * (W * V)) == "x·(W·V)");
}
