// Tests for the activations (ops/activation.hpp and one header each: identity, leaky_relu,
// relu, tanh, sigmoid, softplus): values against the long-double oracle on random data and
// on special points (0, ±0, subnormals, the kink, |x| far past exp's overflow), printing.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

constexpr ref::error tol{1e-13};

// One column of special arguments: the batch is the number of points.
tensor special_points() {
    const std::vector<double> v = {0.0,     -0.0,    5e-324, -5e-324, 1e-300, -1e-300, 1e-8,   -1e-8,
                                   0.5,     -0.5,    1.0,    -1.0,    20.0,   -20.0,   36.0,   -36.0,
                                   50.0,    -50.0,   700.0,  -700.0,  709.0,  -709.0,  710.0,  -710.0,
                                   745.0,   -745.0,  746.0,  -746.0,  800.0,  -800.0,  1e3,    -1e3,
                                   1e4,     -1e4,    1e300,  -1e300,  DBL_MAX, -DBL_MAX};
    tensor t = tensor::from_shape({v.size(), 1});
    for (std::size_t i = 0; i < v.size(); ++i) t(i, 0) = v[i];
    return t;
}

// act(x) on random batch×N data (sd 3, so both sides of 0 and the saturated tails are hit)
// and on the special points, against the oracle entry by entry.
template <class F, dim N = 13>
void check_activation(activation<F> act, ref::activation oracle) {
    constexpr auto x = input<"x", N>;
    const auto y = act(x);
    auto prog = compile(y);
    for (std::uint64_t seed : {1u, 2u, 3u})
        for (std::size_t b : {1u, 5u, 128u}) {
            const tensor X = ref::normal(b, N, seed, 0.0, 3.0);
            prog.bind(x, X).run();
            INFO(ref::name(oracle) << ", batch " << b << ", seed " << seed);
            CHECK(ref::max_rel_error(prog[y], ref::apply(oracle, X)) <= tol);
        }

    constexpr auto p = input<"p", 1>;
    const auto q = act(p);
    auto special = compile(q);
    const tensor P = special_points();
    special.bind(p, P).run();
    const tensor& got = special[q];
    const tensor want = ref::apply(oracle, P);
    INFO(ref::name(oracle) << " on special points");
    CHECK(ref::all_finite(got));
    for (std::size_t i = 0; i < P.shape(0); ++i) {
        INFO("x = " << P(i, 0) << ": got " << got(i, 0) << ", want " << want(i, 0));
        CHECK(ref::max_rel_error(got(i, 0), want(i, 0)) <= tol);
    }
}

}  // namespace

TEST_CASE("identity: applying it leaves no node, and the value is the operand", "[ops][identity]") {
    constexpr auto x = input<"x", 3>;
    constexpr auto W = param<"W", 3, 2>;
    using X = std::remove_cvref_t<decltype(x)>;
    STATIC_REQUIRE(std::is_same_v<decltype(act::identity(x)), X>);
    STATIC_REQUIRE(std::is_same_v<decltype(identity(x)), X>);
    STATIC_REQUIRE(std::is_same_v<decltype(act::identity(x * W)), decltype(x * W)>);
    CHECK(to_string(act::identity(x * W)) == "x·W");

    const auto y = act::identity(x * W);
    auto prog = compile(y);
    const tensor X_ = ref::normal(4, 3, 1), w = ref::normal(3, 2, 2);
    prog.bind(x, X_).bind(W, w).run();
    CHECK(ref::rel_error(prog[y], ref::apply({ref::fn::identity}, ref::matmul(X_, w))) <= tol);
}

TEST_CASE("leaky_relu: values for slopes 0.1, 0.01 and 0.5", "[ops][leaky_relu]") {
    check_activation(act::leaky_relu<0.1>, {ref::fn::leaky_relu, 0.1});
    check_activation(act::leaky_relu<0.01>, {ref::fn::leaky_relu, 0.01});
    check_activation(act::leaky_relu<0.5>, {ref::fn::leaky_relu, 0.5});
}

TEST_CASE("leaky_relu: at the kink the value is 0, and each side uses its own slope", "[ops][leaky_relu]") {
    constexpr auto x = input<"x", 5>;
    const auto y = leaky_relu<0.25>(x);
    auto prog = compile(y);
    tensor X = {{0.0, -0.0, 1e-12, -1e-12, -4.0}};
    prog.bind(x, X).run();
    const tensor& v = prog[y];
    CHECK(v(0, 0) == 0.0);
    CHECK(v(0, 1) == 0.0);
    CHECK(v(0, 2) == 1e-12);
    CHECK(v(0, 3) == 0.25 * -1e-12);
    CHECK(v(0, 4) == -1.0);
}

TEST_CASE("relu: values, and the value at the kink is 0", "[ops][relu]") {
    check_activation(act::relu, {ref::fn::relu});
    constexpr auto x = input<"x", 3>;
    const auto y = relu(x);
    auto prog = compile(y);
    tensor X = {{0.0, -0.0, -1e-300}};
    prog.bind(x, X).run();
    CHECK(prog[y](0, 0) == 0.0);
    CHECK(prog[y](0, 1) == 0.0);
    CHECK(prog[y](0, 2) == 0.0);
}

TEST_CASE("tanh: values, including saturation at large |x|", "[ops][tanh]") {
    check_activation(act::tanh, {ref::fn::tanh});
}

TEST_CASE("sigmoid: values, finite and accurate for large |x| (no overflow in exp)", "[ops][sigmoid]") {
    check_activation(act::sigmoid, {ref::fn::sigmoid});
}

TEST_CASE("softplus: values, finite and accurate for large |x| (no overflow in exp)", "[ops][softplus]") {
    check_activation(act::softplus, {ref::fn::softplus});
}

TEST_CASE("activations: the free function and the act:: object build the same node", "[ops][activation]") {
    constexpr auto x = input<"x", 2>;
    STATIC_REQUIRE(std::is_same_v<decltype(leaky_relu<0.1>(x)), decltype(act::leaky_relu<0.1>(x))>);
    STATIC_REQUIRE(std::is_same_v<decltype(relu(x)), decltype(act::relu(x))>);
    STATIC_REQUIRE(std::is_same_v<decltype(tanh(x)), decltype(act::tanh(x))>);
    STATIC_REQUIRE(std::is_same_v<decltype(sigmoid(x)), decltype(act::sigmoid(x))>);
    STATIC_REQUIRE(std::is_same_v<decltype(softplus(x)), decltype(act::softplus(x))>);
    // Different slopes are different ops.
    STATIC_REQUIRE(!std::is_same_v<decltype(leaky_relu<0.1>(x)), decltype(leaky_relu<0.2>(x))>);
}

TEST_CASE("activations: print as name(operand)", "[ops][activation][print]") {
    constexpr auto x = input<"x", 4>;
    constexpr auto W1 = param<"W1", 4, 4>;
    constexpr auto W2 = param<"W2", 4, 2>;
    CHECK(to_string(leaky_relu<0.1>(x * W1) * W2) == "leaky_relu(x·W1)·W2");
    CHECK(to_string(relu(x)) == "relu(x)");
    CHECK(to_string(tanh(x * W1 + bias<"b", 4>)) == "tanh(x·W1 + b)");
    CHECK(to_string(sigmoid(softplus(x))) == "sigmoid(softplus(x))");
}
