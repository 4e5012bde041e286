// Tests for symbolic/named_params.hpp: theta[leaf] reaches the block of that leaf in wrt(...)
// order, for every order of the leaves; zeros(w) and initialize(...) give the leaves' shapes;
// named(w, set) refuses a set of the wrong count or shapes, naming the block; a named set trains
// like any param_set (least squares against LAPACK's lstsq); the leaf positions are compile-time
// constants. (The compile errors: tests/compile_fail/named_params_*.cpp.)
#include <catch2/catch.hpp>

#include "support/check_error.hpp"

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

namespace {

using namespace gateaux;

constexpr auto x = input<"x", 5>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 5, 4>;
constexpr auto b1 = bias<"b1", 4>;
constexpr auto W2 = param<"W2", 4, 3>;
constexpr auto b2 = bias<"b2", 3>;

template <class L>
using leaf_t = std::remove_const_t<L>;

tensor random_tensor(std::size_t r, std::size_t c, std::mt19937_64& rng) {
    std::normal_distribution<double> n;
    tensor t = xt::empty<double>({r, c});
    for (double& v : t) v = n(rng);
    return t;
}

// Every leaf of the set reaches the block at its wrt position (the same object, not a copy).
template <class... P, class... L>
void check_positions(named_params<P...>& theta, L... leaves) {
    const param_set& base = theta;
    const std::vector<const tensor*> by_name{&theta[leaves]...};
    const std::vector<std::size_t> rows{std::size_t(L::rows)...}, cols{std::size_t(L::cols)...};
    for (std::size_t i = 0; i < by_name.size(); ++i) {
        CHECK(by_name[i] == &base[i]);
        CHECK(by_name[i]->shape(0) == rows[i]);
        CHECK(by_name[i]->shape(1) == cols[i]);
    }
    CHECK(theta.size() == sizeof...(L));
}

}  // namespace

TEST_CASE("theta[leaf] is the leaf's block, in every wrt order", "[named_params][symbolic]") {
    auto a = zeros(wrt(W1, b1, W2, b2));
    check_positions(a, W1, b1, W2, b2);
    auto b = zeros(wrt(b2, W2, b1, W1));
    check_positions(b, b2, W2, b1, W1);
    auto c = zeros(wrt(W2, W1));
    check_positions(c, W2, W1);
    auto d = zeros(wrt(b1));
    check_positions(d, b1);
    for (const tensor& t : a) CHECK(xt::all(xt::equal(t, 0.0)));

    static_assert(decltype(a)::index_of<leaf_t<decltype(W2)>>() == 2);
    static_assert(decltype(b)::index_of<leaf_t<decltype(W2)>>() == 1);
    static_assert(decltype(c)::index_of<leaf_t<decltype(b1)>>() == decltype(c)::npos);
    CHECK(a.names() == std::vector<std::string>{"W1", "b1", "W2", "b2"});
    CHECK(b.names() == std::vector<std::string>{"b2", "W2", "b1", "W1"});

    // Writes through a name land in that block only; const access reads them.
    a[W2](1, 2) = 7.0;
    a[b1](0, 3) = -2.0;
    const auto& ca = a;
    CHECK(ca[W2](1, 2) == 7.0);
    CHECK(ca[b1](0, 3) == -2.0);
    CHECK(a.norm() == Approx(std::sqrt(53.0)).epsilon(1e-15));
}

TEST_CASE("initialize(...) returns the parameters by name", "[named_params][symbolic]") {
    for (const std::uint64_t seed : {1u, 7u, 42u}) {
        auto theta = initialize(wrt(W1, b1, W2, b2), init::glorot_normal, seed);
        check_positions(theta, W1, b1, W2, b2);
        CHECK(xt::all(xt::equal(theta[b1], 0.0)));
        CHECK(xt::all(xt::equal(theta[b2], 0.0)));
        // The same draws as the positional set it extends.
        const param_set plain = initialize(wrt(W1, b1, W2, b2), init::glorot_normal, seed);
        CHECK(bool(theta[W1] == plain[0]));
        CHECK(bool(theta[W2] == plain[2]));
        const auto net = leaky_relu<0.1>(x * W1 + b1) * W2 + b2;
        auto from_net = initialize(net, wrt(W2, W1, b2, b1), init::he_uniform, seed);
        check_positions(from_net, W2, W1, b2, b1);
        CHECK(xt::all(xt::equal(from_net[b1], 0.0)));
    }
}

TEST_CASE("named(w, set) checks the count and the shapes", "[named_params][symbolic]") {
    std::mt19937_64 rng(3);
    const param_set good({random_tensor(5, 4, rng), random_tensor(4, 3, rng)});
    auto theta = named(wrt(W1, W2), good);
    CHECK(bool(theta[W1] == good[0]));
    CHECK(bool(theta[W2] == good[1]));

    const param_set short_set({random_tensor(5, 4, rng)});
    check_error<shape_error>([&] { (void)named(wrt(W1, W2), short_set); }, "the set has 1 block, wrt(...) has 2 parameters");
    const param_set swapped({random_tensor(4, 3, rng), random_tensor(5, 4, rng)});
    check_error<shape_error>([&] { (void)named(wrt(W1, W2), swapped); }, "block 0 ('W1') is 4×3, the parameter is 5×4");
    const param_set wrong_bias({random_tensor(5, 4, rng), random_tensor(4, 1, rng)});
    check_error<shape_error>([&] { (void)named(wrt(W1, b1), wrong_bias); }, "block 1 ('b1') is 4×1, the parameter is 1×4");
    // From a std::array of blocks (a program's per-block outputs).
    std::array<tensor, 2> blocks{random_tensor(5, 4, rng), random_tensor(4, 3, rng)};
    const std::array<tensor, 2> copy = blocks;
    auto from_array = named(wrt(W1, W2), blocks);
    CHECK(bool(from_array[W1] == copy[0]));
    CHECK(bool(from_array[W2] == copy[1]));
    check_error<shape_error>([&] { (void)named(wrt(W2, W1), copy); }, "block 0 ('W2') is 5×4, the parameter is 4×3");
    // The caller's set is left as it was.
    CHECK(swapped.size() == 2);
    CHECK(swapped[0].shape(0) == 4);
}

TEST_CASE("a named set trains like any param_set: least squares against lstsq", "[named_params][symbolic]") {
    constexpr auto xs = input<"x", 6>;
    constexpr auto ys = target<"y", 2>;
    constexpr auto W = param<"W", 6, 2>;
    constexpr auto b = bias<"b", 2>;
    const auto loss = mse(xs * W + b, ys);
    for (const std::uint64_t seed : {11u, 12u, 13u}) {
        std::mt19937_64 rng(seed);
        const tensor X = random_tensor(40, 6, rng), Y = random_tensor(40, 2, rng);
        auto f = make_objective(loss, wrt(b, W));  // deliberately not in graph order
        f.set_data(xs, X).set_data(ys, Y);
        auto theta = zeros(wrt(b, W));
        lbfgs opt;
        stopping stop;
        stop.max_iterations = 500;
        stop.gradient_tolerance = 1e-11;
        const result r = minimize(f, theta, opt, stop);
        REQUIRE(r.reason == stop_reason::gradient_tolerance);
        // Oracle: lstsq on [X 1].
        tensor A = xt::ones<double>({std::size_t(40), std::size_t(7)});
        xt::view(A, xt::all(), xt::range(0, 6)) = X;
        const tensor sol = std::get<0>(xt::linalg::lstsq(A, Y));
        for (std::size_t i = 0; i < 6; ++i)
            for (std::size_t j = 0; j < 2; ++j) CHECK(theta[W](i, j) == Approx(sol(i, j)).margin(1e-8));
        for (std::size_t j = 0; j < 2; ++j) CHECK(theta[b](0, j) == Approx(sol(6, j)).margin(1e-8));
    }
}

TEST_CASE("minimize refuses parameters named in another order than the objective's", "[named_params][symbolic]") {
    constexpr auto xs = input<"x", 3>;
    constexpr auto ys = target<"y", 3>;
    constexpr auto A = param<"A", 3, 3>;
    constexpr auto B = param<"B", 3, 3>;  // square and alike: only the names tell them apart
    const auto loss = mse(tanh(xs * A) * B, ys);
    std::mt19937_64 rng(5);
    const tensor X = random_tensor(10, 3, rng), Y = random_tensor(10, 3, rng);
    auto f = make_objective(loss, wrt(A, B));
    f.set_data(xs, X).set_data(ys, Y);
    auto swapped = initialize(wrt(B, A), init::glorot_normal, 3);
    const param_set before = swapped;
    lbfgs opt;
    check_error<value_error>([&] { minimize(f, swapped, opt); }, "the parameters are named in the order (B, A), the objective's wrt(...) is (A, B)");
    CHECK(bool(swapped[A] == before[1]));  // untouched
    CHECK(bool(swapped[B] == before[0]));
    objective& any = f;  // through the base too
    check_error<value_error>([&] { minimize(any, swapped, opt); }, "make both from the same wrt(...)");
    // The objective's order trains.
    auto theta = initialize(wrt(A, B), init::glorot_normal, 3);
    stopping stop;
    stop.max_iterations = 5;
    CHECK(minimize(f, theta, opt, stop).iterations == 5);
}
