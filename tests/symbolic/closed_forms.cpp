// Gradients, H·v and Hessians of functions whose derivatives are known in closed form:
// Σxᵢ³, x₁x₂x₃, linear least squares ½‖XΘ − Y‖², and the Rosenbrock function. Then what the
// symbolic gradient looks like: its printed form, and the folding away of branches that reach
// no requested parameter.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include <gateaux/gateaux.hpp>

#include "support/laws.hpp"

namespace {

using namespace gateaux;

// max |got − want| / max(|want|, 1) entry by entry: relative for large entries, absolute near 0.
laws::measure max_error(const tensor& got, const tensor& want) {
    if (got.shape() != want.shape()) return {INFINITY};
    double e = 0.0;
    for (std::size_t k = 0; k < want.size(); ++k)
        e = std::max(e, std::fabs(got.storage()[k] - want.storage()[k]) / std::max(std::fabs(want.storage()[k]), 1.0));
    return {e};
}

// ‖got − want‖ / ‖want‖ (Frobenius).
laws::measure rel_error(const tensor& got, const tensor& want) { return {laws::rel_error(got, want)}; }

tensor random(std::size_t r, std::size_t c, std::uint64_t seed) {
    laws::rng g(seed);
    return laws::sample::normal()(r, c, g);
}

// Long-double products, independent of BLAS: op(A)·B with A read transposed if `ta`.
tensor product(const tensor& a, const tensor& b, bool ta = false) {
    const std::size_t m = ta ? a.shape(1) : a.shape(0), k = ta ? a.shape(0) : a.shape(1), n = b.shape(1);
    tensor c = tensor::from_shape({m, n});
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            long double s = 0.0L;
            for (std::size_t p = 0; p < k; ++p) s += (long double)(ta ? a(p, i) : a(i, p)) * b(p, j);
            c(i, j) = double(s);
        }
    return c;
}

constexpr laws::measure tight{1e-14};  // a handful of roundings
constexpr laws::measure exact{1e-12};  // products and sums over a batch

}  // namespace

TEST_CASE("closed form: f(x) = Σ xᵢ³ has gradient 3x² and Hessian diag(6x)", "[symbolic][closed_form]") {
    constexpr auto x = param<"x", 1, 6>;
    const auto f = sum(hadamard(x, hadamard(x, x)));
    const auto g = grad(f, wrt(x));
    auto prog = compile(f, g, hvp(f, wrt(x)));
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const tensor X = random(1, 6, seed);
        prog.bind(x, X).bind(direction(x), X).run();
        const tensor H = hessian(prog, f, wrt(x));
        tensor want_g = 3.0 * X * X;
        tensor want_H = xt::zeros<double>({6, 6});
        for (std::size_t i = 0; i < 6; ++i) want_H(i, i) = 6.0 * X(0, i);
        INFO("seed " << seed);
        CHECK(max_error(prog[g.of(x)], want_g) <= tight);
        CHECK(max_error(H, want_H) <= tight);
    }
}

TEST_CASE("closed form: f = x₁x₂x₃ has gradient (x₂x₃, x₁x₃, x₁x₂) and the off-diagonal Hessian",
          "[symbolic][closed_form]") {
    constexpr auto a = param<"a", 1, 1>;
    constexpr auto b = param<"b", 1, 1>;
    constexpr auto c = param<"c", 1, 1>;
    const auto f = hadamard(hadamard(a, b), c);
    const auto w = wrt(a, b, c);
    const auto g = grad(f, w);
    auto prog = compile(f, g, hvp(f, w));
    for (const auto& [x1, x2, x3] : std::array<std::array<double, 3>, 4>{
             {{2.0, 3.0, 5.0}, {-1.5, 0.25, 4.0}, {0.0, 7.0, -2.0}, {1e3, -1e-3, 3.0}}}) {
        const tensor A = {{x1}}, B = {{x2}}, C = {{x3}}, zero = {{0.0}};
        prog.bind(a, A).bind(b, B).bind(c, C);
        prog.bind(direction(a), zero).bind(direction(b), zero).bind(direction(c), zero).run();
        const tensor H = hessian(prog, f, w);
        const tensor want_H = {{0.0, x3, x2}, {x3, 0.0, x1}, {x2, x1, 0.0}};
        INFO("x = (" << x1 << ", " << x2 << ", " << x3 << ")");
        CHECK(max_error(prog[g.of(a)], tensor{{x2 * x3}}) <= tight);
        CHECK(max_error(prog[g.of(b)], tensor{{x1 * x3}}) <= tight);
        CHECK(max_error(prog[g.of(c)], tensor{{x1 * x2}}) <= tight);
        CHECK(max_error(H, want_H) <= tight);
    }
}

TEST_CASE("closed form: least squares ½‖XΘ − Y‖² has gradient Xᵀ(XΘ − Y) and H·V = XᵀXV",
          "[symbolic][closed_form]") {
    constexpr auto X = input<"X", 4>;
    constexpr auto Y = target<"Y", 3>;
    constexpr auto Theta = param<"Θ", 4, 3>;
    const auto loss = sum(squared_error(X * Theta, Y));
    const auto w = wrt(Theta);
    const auto g = grad(loss, w);
    const auto hv = hvp(loss, w);
    // The same product along a direction given as an expression of the data: D = XᵀY.
    const auto D = transpose(X) * Y;
    const auto hd = hvp(loss, w, along(D));
    auto prog = compile(loss, g, hv, hd);
    for (std::uint64_t seed : {1u, 2u})
        for (std::size_t batch : {1u, 5u, 40u}) {
            const tensor x = random(batch, 4, seed), y = random(batch, 3, seed + 10);
            const tensor theta = random(4, 3, seed + 20), v = random(4, 3, seed + 30);
            prog.bind(X, x).bind(Y, y).bind(Theta, theta).bind(direction(Theta), v).run();
            const tensor residual = product(x, theta) - y;
            const tensor xtx = product(x, x, true);
            INFO("seed " << seed << ", batch " << batch);
            CHECK(rel_error(prog[g.of(Theta)], product(x, residual, true)) <= exact);
            CHECK(rel_error(prog[hv.of(Theta)], product(xtx, v)) <= exact);
            CHECK(rel_error(prog[hd.of(Theta)], product(xtx, product(x, y, true))) <= exact);
            // The explicit Hessian is I ⊗ XᵀX in Θ's row-major layout: H[(i,j),(p,q)] = (XᵀX)ᵢₚ δⱼ_q.
            const tensor H = hessian(prog, loss, w);
            tensor want = xt::zeros<double>({12, 12});
            for (std::size_t i = 0; i < 4; ++i)
                for (std::size_t p = 0; p < 4; ++p)
                    for (std::size_t j = 0; j < 3; ++j) want(i * 3 + j, p * 3 + j) = xtx(i, p);
            CHECK(rel_error(H, want) <= exact);
        }
}

TEST_CASE("closed form: the Rosenbrock function (1 − a)² + 100(b − a²)²", "[symbolic][closed_form]") {
    constexpr auto a = param<"a", 1, 1>;
    constexpr auto b = param<"b", 1, 1>;
    // (1 − a)² = 2·½‖1 − a‖², built from sub, hadamard, sq_norm and scale.
    const auto f = scale<2.0>(sq_norm(ones<1, 1>{} - a)) + scale<200.0>(sq_norm(b - hadamard(a, a)));
    const auto w = wrt(a, b);
    const auto g = grad(f, w);
    auto prog = compile(f, g, hvp(f, w));
    for (const auto& [x, y] : std::array<std::array<double, 2>, 6>{
             {{-1.2, 1.0}, {1.0, 1.0}, {0.0, 0.0}, {0.5, -0.3}, {2.0, 3.0}, {-0.75, 0.6}}}) {
        const tensor A = {{x}}, B = {{y}}, zero = {{0.0}};
        prog.bind(a, A).bind(b, B).bind(direction(a), zero).bind(direction(b), zero).run();
        const double value = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
        const double da = -2 * (1 - x) - 400 * x * (y - x * x), db = 200 * (y - x * x);
        const tensor want_H = {{2 - 400 * y + 1200 * x * x, -400 * x}, {-400 * x, 200.0}};
        const tensor H = hessian(prog, f, w);
        INFO("(a, b) = (" << x << ", " << y << ")");
        CHECK(max_error(tensor{{prog.scalar(f)}}, tensor{{value}}) <= tight);
        CHECK(max_error(prog[g.of(a)], tensor{{da}}) <= tight);
        CHECK(max_error(prog[g.of(b)], tensor{{db}}) <= tight);
        CHECK(max_error(H, want_H) <= tight);
    }
}

TEST_CASE("the gradient of a one-layer net prints as the textbook formula", "[symbolic][closed_form][print]") {
    constexpr auto x = input<"x", 4>;
    constexpr auto y = target<"y", 3>;
    constexpr auto W1 = param<"W1", 4, 3>;
    constexpr auto b1 = bias<"b1", 3>;
    const auto [g] = grad(sum(squared_error(x * W1, y)), wrt(W1));
    CHECK(to_string(g) == "xᵀ·(x·W1 − y)");
    const auto gt = grad(sum(squared_error(tanh(x * W1 + b1), y)), wrt(W1, b1));
    CHECK(to_string(gt.of(W1)) == "xᵀ·((tanh(x·W1 + b1) − y)⊙tanh′(x·W1 + b1))");
    CHECK(to_string(gt.of(b1)) == "col_sum((tanh(x·W1 + b1) − y)⊙tanh′(x·W1 + b1))");
}

namespace {

// Whether a node multiplies by parameter P transposed (a BLAS transpose flag on P, or Pᵀ itself).
template <class P, class N>
inline constexpr bool reads_transposed = false;
template <class P, bool TA, bool TB, class A, class B>
inline constexpr bool reads_transposed<P, node<matmul_op<TA, TB>, A, B>> =
    (TA && std::is_same_v<A, P>) || (TB && std::is_same_v<B, P>);
template <class P>
inline constexpr bool reads_transposed<P, node<transpose_op, P>> = true;

// Whether compiling a loss with a result group (a gradient, an H·v) builds a node that
// multiplies by Pᵀ: its schedule is the one compile(loss, group) evaluates.
template <class P, class L, class G>
constexpr bool builds_transpose_of(L, G) {
    return []<class... E>(meta::list<E...>) {
        return []<class... N>(meta::list<N...>) {
            return (reads_transposed<P, N> || ...);
        }(schedule_t<L, E...>{});
    }(typename G::expressions{});
}

}  // namespace

TEST_CASE("a branch that reaches no requested parameter folds away", "[symbolic][closed_form][fold]") {
    constexpr auto x = input<"x", 4>;

    SECTION("two layers: asking for W2 alone builds nothing below layer 2") {
        constexpr auto y = target<"y", 2>;
        constexpr auto W1 = param<"W1", 4, 3>;
        constexpr auto W2 = param<"W2", 3, 2>;
        using P1 = std::remove_const_t<decltype(W1)>;
        using P2 = std::remove_const_t<decltype(W2)>;
        const auto loss = sum(squared_error(leaky_relu<0.1>(x * W1) * W2, y));
        const auto g2 = grad(loss, wrt(W2));
        const auto g12 = grad(loss, wrt(W1, W2));
        STATIC_REQUIRE(decltype(compile(loss, g2))::node_count < decltype(compile(loss, g12))::node_count);
        // δ₁ = δ₂·W2ᵀ ⊙ a′ is what W1's gradient needs; W2's does not.
        STATIC_REQUIRE_FALSE(builds_transpose_of<P2>(loss, g2));
        STATIC_REQUIRE(builds_transpose_of<P2>(loss, g12));
        STATIC_REQUIRE_FALSE(builds_transpose_of<P1>(loss, g12));
        // Nor does its H·v.
        STATIC_REQUIRE_FALSE(builds_transpose_of<P2>(loss, hvp(loss, wrt(W2))));
        CHECK(to_string(g2.of(W2)) == "leaky_relu(x·W1)ᵀ·(leaky_relu(x·W1)·W2 − y)");
    }

    SECTION("three layers: the backward pass stops at the lowest requested layer") {
        constexpr auto y = target<"y", 2>;
        constexpr auto W1 = param<"W1", 4, 3>;
        constexpr auto W2 = param<"W2", 3, 5>;
        constexpr auto W3 = param<"W3", 5, 2>;
        using P2 = std::remove_const_t<decltype(W2)>;
        using P3 = std::remove_const_t<decltype(W3)>;
        const auto loss = mse(tanh(tanh(x * W1) * W2) * W3, y);
        const auto g3 = grad(loss, wrt(W3));
        const auto g2 = grad(loss, wrt(W2));
        const auto g1 = grad(loss, wrt(W1));
        STATIC_REQUIRE_FALSE(builds_transpose_of<P3>(loss, g3));
        STATIC_REQUIRE_FALSE(builds_transpose_of<P2>(loss, g3));
        STATIC_REQUIRE(builds_transpose_of<P3>(loss, g2));
        STATIC_REQUIRE_FALSE(builds_transpose_of<P2>(loss, g2));
        STATIC_REQUIRE(builds_transpose_of<P3>(loss, g1));
        STATIC_REQUIRE(builds_transpose_of<P2>(loss, g1));
        constexpr auto n3 = decltype(compile(loss, g3))::node_count;
        constexpr auto n2 = decltype(compile(loss, g2))::node_count;
        constexpr auto n1 = decltype(compile(loss, g1))::node_count;
        constexpr auto all = decltype(compile(loss, grad(loss, wrt(W1, W2, W3))))::node_count;
        STATIC_REQUIRE(n3 < n2);
        STATIC_REQUIRE(n2 < n1);
        STATIC_REQUIRE(n1 < all);
    }

    SECTION("a parameter-free branch of the loss leaves no gradient term") {
        constexpr auto y = target<"y", 3>;
        constexpr auto W = param<"W", 4, 3>;
        constexpr auto V = param<"V", 4, 3>;
        // V enters the loss only through a separate penalty: W's gradient must not mention it.
        const auto loss = sum(squared_error(x * W, y)) + l2<0.5>(V);
        CHECK(to_string(grad(loss, wrt(W)).of(W)) == "xᵀ·(x·W − y)");
        CHECK(to_string(grad(loss, wrt(V)).of(V)) == "0.5·V");
    }
}
