// Tests for nn/mlp.hpp: the forward pass and loss of mlp<n0, ..., nL>(x, hidden, output[,
// with_biases]) against the hand-written oracle over a table of configurations (depth 1–4,
// widths 1–64, every activation, every loss with and without an L2 term, with and without
// biases), each run at several batch sizes and seeds; the parameter names W1..WL / b1..bL;
// the printed form; and that the sugar builds exactly the hand-written expression.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

constexpr ref::error tol{1e-13};
constexpr double lambda = 1e-3;
constexpr std::size_t batches[] = {1, 6, 64, 128};
constexpr std::uint64_t seeds[] = {1, 2};

// The oracle's description of a gateaux activation.
template <class F>
ref::activation oracle_of(activation<F>) {
    if constexpr (std::is_same_v<F, identity_fn>) return {ref::fn::identity};
    else if constexpr (std::is_same_v<F, relu_fn>) return {ref::fn::relu};
    else if constexpr (std::is_same_v<F, tanh_fn>) return {ref::fn::tanh};
    else if constexpr (std::is_same_v<F, sigmoid_fn>) return {ref::fn::sigmoid};
    else if constexpr (std::is_same_v<F, softplus_fn>) return {ref::fn::softplus};
    else return {ref::fn::leaky_relu, F::slope};
}

template <bool Biases, dim... Widths, expression X, class Hidden, class Output>
constexpr auto make_net(X x, Hidden hidden, Output output) {
    if constexpr (Biases)
        return mlp<Widths...>(x, hidden, output, with_biases);
    else
        return mlp<Widths...>(x, hidden, output);
}

template <ref::loss L, expression O, expression Y>
constexpr auto make_loss(O o, Y y) {
    if constexpr (L == ref::loss::sum_squared_error) return sum(squared_error(o, y));
    else if constexpr (L == ref::loss::mse) return mse(o, y);
    else if constexpr (L == ref::loss::mean_cross_entropy) return mean(cross_entropy(o, y));
    else return sum(cross_entropy(o, y));
}

template <std::size_t I, dim... Widths>
constexpr dim width = std::array<dim, sizeof...(Widths)>{Widths...}[I];

// The weight and bias of layer l (1-based), named as mlp names them.
template <std::size_t L, dim... Widths>
constexpr auto weight = param<indexed_name<"W", L>(), width<L - 1, Widths...>, width<L, Widths...>>;
template <std::size_t L, dim... Widths>
constexpr auto bias_of = bias<indexed_name<"b", L>(), width<L, Widths...>>;

// The printed form the network must have, built independently from these rules:
// identity layers leave no node; a bias makes the layer a sum, parenthesised when it feeds a product.
std::string expected_net(std::size_t depth, const std::string& hidden, const std::string& output, bool biases) {
    std::string h = "x";
    bool h_is_sum = false;
    for (std::size_t l = 1; l <= depth; ++l) {
        std::string net = (h_is_sum ? "(" + h + ")" : h) + "·W" + std::to_string(l);
        if (biases) net += " + b" + std::to_string(l);
        const std::string& act = l == depth ? output : hidden;
        if (act == "identity") {
            h = net;
            h_is_sum = biases;
        } else {
            h = act + "(" + net + ")";
            h_is_sum = false;
        }
    }
    return h;
}

std::string expected_loss(ref::loss kind, const std::string& out, bool with_l2, std::size_t depth) {
    std::string s;
    switch (kind) {
        case ref::loss::sum_squared_error: s = "sum(½‖" + out + " − y‖²)"; break;
        case ref::loss::mse: s = "mean(½‖" + out + " − y‖²)"; break;
        case ref::loss::mean_cross_entropy: s = "mean(cross_entropy(" + out + ", y))"; break;
        case ref::loss::sum_cross_entropy: s = "sum(cross_entropy(" + out + ", y))"; break;
    }
    if (!with_l2) return s;
    std::string norms;
    for (std::size_t l = 1; l <= depth; ++l) norms += (l > 1 ? " + ½‖W" : "½‖W") + std::to_string(l) + "‖²";
    return s + " + 0.001·" + (depth > 1 ? "(" + norms + ")" : norms);
}

// What check_mlp looks at: the values, or the printed forms (one TEST_CASE each).
enum class part { values, printing };

// One configuration: the net and its loss (plus λ·Σ ½‖W_l‖² if WithL2). For part::printing,
// their to_string; for part::values, for every seed and batch size, random data and
// parameters bound and the output and loss compared with the oracle.
template <bool Biases, ref::loss Loss, bool WithL2, dim... Widths, class Hidden, class Output>
void check_mlp(part what, Hidden hidden, Output output) {
    constexpr std::size_t depth = sizeof...(Widths) - 1;
    constexpr dim n0 = width<0, Widths...>, nL = width<depth, Widths...>;
    constexpr auto x = input<"x", n0>;
    constexpr auto y = target<"y", nL>;
    const auto out = make_net<Biases, Widths...>(x, hidden, output);
    const auto loss = [&] {
        if constexpr (WithL2)
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                return make_loss<Loss>(out, y) + l2<lambda>(weight<I + 1, Widths...>...);
            }(std::make_index_sequence<depth>{});
        else
            return make_loss<Loss>(out, y);
    }();
    STATIC_REQUIRE(decltype(out)::rows == batch);
    STATIC_REQUIRE(decltype(out)::cols == nL);
    STATIC_REQUIRE(decltype(loss)::rows == 1);
    STATIC_REQUIRE(decltype(loss)::cols == 1);

    const ref::activation h_ref = oracle_of(hidden), o_ref = oracle_of(output);
    const std::vector<std::size_t> widths = {std::size_t(Widths)...};
    std::string config = "mlp<";
    for (std::size_t w : widths) config += std::to_string(w) + ",";
    config.back() = '>';
    config += ", hidden " + ref::name(h_ref) + ", output " + ref::name(o_ref) + (Biases ? ", biases" : "") +
              ", loss " + ref::name(Loss) + (WithL2 ? " + l2" : "");
    INFO(config);

    if (what == part::printing) {
        const std::string net_text = expected_net(depth, ref::name(h_ref), ref::name(o_ref), Biases);
        CHECK(to_string(out) == net_text);
        CHECK(to_string(loss) == expected_loss(Loss, net_text, WithL2, depth));
        return;
    }

    auto prog = compile(loss, out);
    const bool classification = Loss == ref::loss::mean_cross_entropy || Loss == ref::loss::sum_cross_entropy;
    for (std::uint64_t seed : seeds) {
        const ref::mlp_params P = ref::random_mlp(widths, Biases, seed);
        // Bound through the typed leaves: if mlp named or shaped a parameter differently, bind's
        // static_assert ("this leaf is not used by the program's outputs") would fail to compile.
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (prog.bind(weight<I + 1, Widths...>, P.W[I]), ...);
            if constexpr (Biases) (prog.bind(bias_of<I + 1, Widths...>, P.b[I]), ...);
        }(std::make_index_sequence<depth>{});
        for (std::size_t b : batches) {
            const tensor X = ref::normal(b, n0, seed + 10 * b);
            const tensor Y = classification ? ref::one_hot(b, nL, seed + 10 * b + 1) : ref::normal(b, nL, seed + 10 * b + 1);
            prog.bind(x, X).bind(y, Y).run();
            const tensor want_out = ref::mlp_forward(X, P, h_ref, o_ref);
            const double want_loss = ref::evaluate(Loss, want_out, Y) + (WithL2 ? ref::l2(lambda, P.W) : 0.0);
            INFO("batch " << b << ", seed " << seed);
            CHECK(prog.batch_size() == b);
            CHECK(ref::rel_error(prog[out], want_out) <= tol);
            CHECK(ref::rel_error(prog.scalar(loss), want_loss) <= tol);
        }
    }
}

using ref::loss;
constexpr auto sse = loss::sum_squared_error;
constexpr auto mse_ = loss::mse;
constexpr auto mean_ce = loss::mean_cross_entropy;
constexpr auto sum_ce = loss::sum_cross_entropy;
constexpr bool bias_on = true, bias_off = false, l2_on = true, l2_off = false;

// The table: 36 configurations, depth 1–4, widths 1–64; every activation as hidden and as
// output layer; every loss with and without L2; with and without biases.
void table_depth_1(part what) {
    check_mlp<bias_off, sse, l2_off, 3, 1>(what, act::identity, act::identity);
    check_mlp<bias_on, mean_ce, l2_on, 64, 10>(what, act::tanh, act::identity);
    check_mlp<bias_on, mse_, l2_off, 1, 1>(what, act::relu, act::sigmoid);
    check_mlp<bias_off, sum_ce, l2_on, 16, 5>(what, act::relu, act::softplus);
    check_mlp<bias_on, sse, l2_on, 8, 64>(what, act::relu, act::tanh);
    check_mlp<bias_off, mse_, l2_off, 64, 1>(what, act::relu, act::relu);
}

void table_depth_2(part what) {
    check_mlp<bias_off, sse, l2_off, 4, 8, 3>(what, act::leaky_relu<0.1>, act::identity);
    check_mlp<bias_on, mean_ce, l2_on, 64, 64, 10>(what, act::tanh, act::identity);
    check_mlp<bias_on, mse_, l2_off, 10, 32, 1>(what, act::relu, act::sigmoid);
    check_mlp<bias_off, sum_ce, l2_off, 2, 1, 2>(what, act::sigmoid, act::identity);
    check_mlp<bias_on, mse_, l2_on, 32, 16, 8>(what, act::softplus, act::tanh);
    check_mlp<bias_off, sse, l2_on, 5, 64, 5>(what, act::leaky_relu<0.01>, act::softplus);
    check_mlp<bias_on, sse, l2_off, 1, 7, 1>(what, act::identity, act::identity);
    check_mlp<bias_off, mean_ce, l2_off, 12, 12, 12>(what, act::relu, act::identity);
    check_mlp<bias_on, sse, l2_on, 24, 48, 10>(what, act::leaky_relu<0.1>, act::identity);
}

void table_depth_3(part what) {
    check_mlp<bias_on, mean_ce, l2_off, 8, 16, 16, 4>(what, act::leaky_relu<0.1>, act::identity);
    check_mlp<bias_on, sum_ce, l2_on, 64, 32, 16, 10>(what, act::relu, act::identity);
    check_mlp<bias_off, mse_, l2_off, 3, 5, 7, 2>(what, act::tanh, act::sigmoid);
    check_mlp<bias_on, sse, l2_off, 20, 1, 20, 3>(what, act::softplus, act::identity);
    check_mlp<bias_on, mse_, l2_on, 6, 6, 6, 6>(what, act::sigmoid, act::tanh);
    check_mlp<bias_off, sse, l2_on, 16, 64, 64, 1>(what, act::leaky_relu<0.2>, act::identity);
    check_mlp<bias_on, mean_ce, l2_off, 7, 3, 9, 5>(what, act::identity, act::softplus);
    check_mlp<bias_off, sum_ce, l2_off, 40, 20, 10, 5>(what, act::tanh, act::tanh);
    check_mlp<bias_on, mse_, l2_off, 2, 2, 2, 2>(what, act::relu, act::relu);
    check_mlp<bias_on, sum_ce, l2_on, 13, 17, 19, 23>(what, act::identity, act::leaky_relu<0.1>);
}

void table_depth_4(part what) {
    check_mlp<bias_on, mean_ce, l2_on, 64, 64, 64, 64, 10>(what, act::leaky_relu<0.1>, act::identity);
    check_mlp<bias_off, mse_, l2_off, 10, 8, 6, 4, 2>(what, act::tanh, act::identity);
    check_mlp<bias_on, sse, l2_off, 1, 4, 16, 4, 1>(what, act::sigmoid, act::identity);
    check_mlp<bias_off, mse_, l2_on, 32, 16, 32, 16, 32>(what, act::softplus, act::sigmoid);
    check_mlp<bias_on, sum_ce, l2_off, 5, 10, 20, 40, 60>(what, act::relu, act::identity);
    check_mlp<bias_off, sse, l2_on, 9, 9, 9, 9, 9>(what, act::identity, act::tanh);
    check_mlp<bias_on, mean_ce, l2_on, 48, 24, 12, 6, 3>(what, act::leaky_relu<0.01>, act::softplus);
    check_mlp<bias_on, sum_ce, l2_off, 3, 64, 1, 64, 3>(what, act::tanh, act::identity);
    check_mlp<bias_off, mse_, l2_off, 16, 16, 16, 16, 16>(what, act::sigmoid, act::leaky_relu<0.1>);
    check_mlp<bias_on, sse, l2_off, 2, 3, 5, 7, 11>(what, act::softplus, act::relu);
    check_mlp<bias_on, mean_ce, l2_off, 4, 64, 64, 64, 2>(what, act::tanh, act::identity);
}

}  // namespace

TEST_CASE("mlp: forward values and losses match the reference, depth 1", "[nn][mlp]") { table_depth_1(part::values); }

TEST_CASE("mlp: forward values and losses match the reference, depth 2", "[nn][mlp]") { table_depth_2(part::values); }

TEST_CASE("mlp: forward values and losses match the reference, depth 3", "[nn][mlp]") { table_depth_3(part::values); }

TEST_CASE("mlp: forward values and losses match the reference, depth 4", "[nn][mlp]") { table_depth_4(part::values); }

TEST_CASE("mlp: the network and its loss print as expected, whole table", "[nn][mlp][print]") {
    table_depth_1(part::printing);
    table_depth_2(part::printing);
    table_depth_3(part::printing);
    table_depth_4(part::printing);
}

TEST_CASE("mlp: builds exactly the hand-written expression (so the two share nodes)", "[nn][mlp]") {
    constexpr auto x = input<"x", 4>;
    constexpr auto W1 = param<"W1", 4, 8>;
    constexpr auto W2 = param<"W2", 8, 8>;
    constexpr auto W3 = param<"W3", 8, 3>;
    constexpr auto b1 = bias<"b1", 8>;
    constexpr auto b2 = bias<"b2", 8>;
    constexpr auto b3 = bias<"b3", 3>;
    STATIC_REQUIRE(std::is_same_v<decltype(mlp<4, 8, 8, 3>(x, act::leaky_relu<0.1>)),
                                  decltype(leaky_relu<0.1>(leaky_relu<0.1>(x * W1) * W2) * W3)>);
    STATIC_REQUIRE(std::is_same_v<decltype(mlp<4, 8, 8, 3>(x, act::tanh, act::sigmoid, with_biases)),
                                  decltype(sigmoid(tanh(tanh(x * W1 + b1) * W2 + b2) * W3 + b3))>);
    STATIC_REQUIRE(std::is_same_v<decltype(mlp<4, 8>(x, act::relu)), decltype(x * W1)>);
}

TEST_CASE("mlp: parameters are named W1..WL and b1..bL, and no others", "[nn][mlp]") {
    constexpr auto x = input<"x", 3>;
    const auto net = mlp<3, 5, 4, 2>(x, act::tanh, act::identity, with_biases);
    const auto plain = mlp<3, 5, 4, 2>(x, act::tanh);
    auto prog = compile(net);
    auto prog_plain = compile(plain);
    const tensor W1 = ref::weights(3, 5, 1), W2 = ref::weights(5, 4, 2), W3 = ref::weights(4, 2, 3);
    const tensor b1 = ref::normal(1, 5, 4), b2 = ref::normal(1, 4, 5), b3 = ref::normal(1, 2, 6);
    CHECK_NOTHROW(prog.bind("W1", W1).bind("W2", W2).bind("W3", W3).bind("b1", b1).bind("b2", b2).bind("b3", b3));
    CHECK_THROWS_AS(prog.bind("W0", W1), shape_error);
    CHECK_THROWS_AS(prog.bind("W4", W1), shape_error);
    CHECK_THROWS_AS(prog.bind("b0", b1), shape_error);
    CHECK_THROWS_AS(prog_plain.bind("b1", b1), shape_error);
    // W2 is 5×4: binding W1's 3×5 tensor under its name is a shape error.
    CHECK_THROWS_AS(prog.bind("W2", W1), shape_error);

    // The layers' names run past 9 with decimal digits.
    STATIC_REQUIRE(indexed_name<"W", 1>().view() == "W1");
    STATIC_REQUIRE(indexed_name<"W", 10>().view() == "W10");
    STATIC_REQUIRE(indexed_name<"b", 123>().view() == "b123");

    const tensor X = ref::normal(9, 3, 7);
    prog.bind("x", X).run();
    const ref::mlp_params P{{W1, W2, W3}, {b1, b2, b3}};
    CHECK(ref::rel_error(prog[net], ref::mlp_forward(X, P, {ref::fn::tanh}, {ref::fn::identity})) <= tol);
}

TEST_CASE("mlp: a net deeper than 9 layers names its parameters W10, W11, ...", "[nn][mlp]") {
    constexpr auto x = input<"x", 2>;
    const auto net = mlp<2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2>(x, act::tanh);
    CHECK(to_string(net) ==
          "tanh(tanh(tanh(tanh(tanh(tanh(tanh(tanh(tanh(tanh(x·W1)·W2)·W3)·W4)·W5)·W6)·W7)·W8)·W9)·W10)·W11");
    auto prog = compile(net);
    ref::mlp_params P;
    const std::vector<std::size_t> widths = {2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2};
    for (std::size_t l = 1; l < widths.size(); ++l) P.W.push_back(ref::weights(widths[l - 1], widths[l], 40 + l));
    for (std::size_t l = 1; l < widths.size(); ++l) prog.bind("W" + std::to_string(l), P.W[l - 1]);
    const tensor X = ref::normal(5, 2, 3);
    prog.bind(x, X).run();
    CHECK(ref::rel_error(prog[net], ref::mlp_forward(X, P, {ref::fn::tanh}, {ref::fn::identity})) <= tol);
}

TEST_CASE("mlp: an unqualified call with a first width of 1 and three arguments is not ambiguous", "[nn][mlp]") {
    // Every expression derives from its shape's class; were that class in a namespace with
    // functions, argument-dependent lookup would add them, and the library's internal mlp (whose
    // first template parameter is a bool, which 1 converts to) would tie with this one.
    constexpr auto x = input<"x", 1>;
    const auto net = mlp<1, 4, 2>(x, act::tanh, act::identity);
    STATIC_REQUIRE(decltype(net)::cols == 2);
    auto prog = compile(net);
    ref::mlp_params P;
    P.W = {ref::weights(1, 4, 51), ref::weights(4, 2, 52)};
    prog.bind("W1", P.W[0]).bind("W2", P.W[1]);
    const tensor X = ref::normal(6, 1, 5);
    prog.bind(x, X).run();
    CHECK(ref::rel_error(prog[net], ref::mlp_forward(X, P, {ref::fn::tanh}, {ref::fn::identity})) <= tol);
}
