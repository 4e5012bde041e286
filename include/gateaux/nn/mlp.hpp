#pragma once
// A multilayer perceptron in one expression, creating its parameters W1..Wn (and b1..bn):
//   mlp<64, 64, 64, 10>(x, act::leaky_relu<0.1>)    leaky_relu(leaky_relu(x·W1)·W2)·W3
//   mlp<64, 32, 10>(x, act::tanh, act::identity, with_biases)
// The first width is the input's; W_l is n_{l−1}×n_l. Hidden layers use `hidden`, the last
// layer `output` (identity by default, which leaves no node).
#include "../core/dim.hpp"
#include "../core/expr.hpp"
#include "../ops/add.hpp"
#include "../ops/identity.hpp"
#include "../ops/matmul.hpp"

namespace gateaux {

struct with_biases_t {};
inline constexpr with_biases_t with_biases{};

namespace detail {

template <bool Bias, std::size_t L, dim In, dim Out, expression H>
constexpr auto dense(H h) {
    constexpr auto W = param<indexed_name<"W", L>(), In, Out>;
    if constexpr (Bias)
        return h * W + bias<indexed_name<"b", L>(), Out>;
    else
        return h * W;
}

template <bool Bias, std::size_t L, dim In, dim Out, dim... Rest, expression H, class Hidden, class Output>
constexpr auto layers(H h, Hidden hidden, Output output) {
    auto net = dense<Bias, L, In, Out>(h);
    if constexpr (sizeof...(Rest) == 0)
        return output(net);
    else
        return layers<Bias, L + 1, Out, Rest...>(hidden(net), hidden, output);
}

template <bool Bias, dim N0, dim... Widths, expression X, class Hidden, class Output>
constexpr auto mlp(X x, Hidden hidden, Output output) {
    static_assert(sizeof...(Widths) >= 1, "gateaux::mlp<n0, n1, ...>: give the input width and at least one layer width");
    static_assert(X::cols == N0, "gateaux::mlp<n0, ...>(x, ...) requires n0 == cols(x)");
    if constexpr (sizeof...(Widths) >= 1 && X::cols == N0)
        return layers<Bias, 1, N0, Widths...>(x, hidden, output);
    else
        return invalid{};  // nothing more is instantiated after the failed assert
}

}  // namespace detail

template <dim... Widths, expression X, class Hidden, class Output = activation<identity_fn>>
constexpr auto mlp(X x, Hidden hidden, Output output = {}) {
    return detail::mlp<false, Widths...>(x, hidden, output);
}
template <dim... Widths, expression X, class Hidden, class Output>
constexpr auto mlp(X x, Hidden hidden, Output output, with_biases_t) {
    return detail::mlp<true, Widths...>(x, hidden, output);
}

}  // namespace gateaux
