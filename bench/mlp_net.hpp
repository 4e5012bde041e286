#pragma once
// The benchmarked networks in gateaux form: mlp<N0, N1, N2, N3>(x, leaky_relu<0.1>) with an
// identity output and the loss sum(squared_error(out, y)), plus seeded data for a batch of B.
// loss_bf is the same with the branch-free leaky ReLU of branch_free.hpp.
//   reference: B = 64,  64→64→64→10        wide: B = 256, 256→256→256→10
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "branch_free.hpp"
#include "support.hpp"

namespace bench {

template <std::size_t B, gateaux::dim N0, gateaux::dim N1, gateaux::dim N2, gateaux::dim N3>
struct mlp_net {
    static constexpr std::size_t batch = B;
    static constexpr gateaux::dim widths[] = {N0, N1, N2, N3};

    static constexpr auto x = gateaux::input<"x", N0>;
    static constexpr auto y = gateaux::target<"y", N3>;
    static constexpr auto W1 = gateaux::param<"W1", N0, N1>;  // the names mlp<...> gives its layers
    static constexpr auto W2 = gateaux::param<"W2", N1, N2>;
    static constexpr auto W3 = gateaux::param<"W3", N2, N3>;
    static constexpr auto out = gateaux::mlp<N0, N1, N2, N3>(x, gateaux::act::leaky_relu<0.1>);
    static constexpr auto loss = gateaux::sum(gateaux::squared_error(out, y));
    // The same loss with the branch-free leaky ReLU of branch_free.hpp (same leaves, same values).
    static constexpr auto loss_bf = gateaux::sum(gateaux::squared_error(
        gateaux::mlp<N0, N1, N2, N3>(x, gateaux::activation<branch_free_leaky_relu_fn<0.1>>{}), y));

    // Seeded data: inputs and targets uniform in [−1, 1), weights scaled by fan-in, and
    // directions v of the same scale as the weights.
    tensor X = random_tensor(B, N0, 1), Y = random_tensor(B, N3, 2);
    tensor w1 = random_weight(N0, N1, 3), w2 = random_weight(N1, N2, 4), w3 = random_weight(N2, N3, 5);
    tensor v1 = random_weight(N0, N1, 6), v2 = random_weight(N1, N2, 7), v3 = random_weight(N2, N3, 8);

    // Other first-layer weights, for runs where every step sees new values (as in training):
    // cycling through them changes the sign pattern of every pre-activation.
    static constexpr std::size_t n_cycled = 32;
    std::vector<tensor> w1_cycle = [] {
        std::vector<tensor> v;
        for (std::size_t k = 0; k < n_cycled; ++k) v.push_back(random_weight(N0, N1, 1000 + k));
        return v;
    }();

    // Binds the data, and the directions if the program has them.
    template <class Program>
    void bind(Program& p) const {
        p.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).bind(W3, w3);
        if constexpr (Program::computes(gateaux::direction(W1))) p.bind(gateaux::direction(W1), v1);
        if constexpr (Program::computes(gateaux::direction(W2))) p.bind(gateaux::direction(W2), v2);
        if constexpr (Program::computes(gateaux::direction(W3))) p.bind(gateaux::direction(W3), v3);
    }

    // For the per-node profile: a leaf's bound tensor by name.
    const tensor* leaf(std::string_view name) const {
        if (name == "x") return &X;
        if (name == "y") return &Y;
        if (name == "W1") return &w1;
        if (name == "W2") return &w2;
        if (name == "W3") return &w3;
        if (name == "v.W1") return &v1;
        if (name == "v.W2") return &v2;
        if (name == "v.W3") return &v3;
        return nullptr;
    }

    static std::string describe() {
        return "batch " + std::to_string(B) + ", widths " + std::to_string(N0) + "→" + std::to_string(N1) + "→" +
               std::to_string(N2) + "→" + std::to_string(N3);
    }
};

// Depth 2 with batch = every width = N (the B-operator benchmarks): mlp<N, N, N>(x, act) with an
// identity output and ½ sum of squares, on well-conditioned data (x and the weights with
// singular values in [0.7, 1.4], as the B-operator's acceptance tests build them).
// With leaky ReLU every layer takes the chain; with tanh the hidden layer takes the master formula.
template <gateaux::dim N, class Act>
struct square2 {
    static constexpr std::size_t n = std::size_t(N);
    static constexpr auto x = gateaux::input<"x", N>;
    static constexpr auto y = gateaux::target<"y", N>;
    static constexpr auto W1 = gateaux::param<"W1", N, N>;
    static constexpr auto W2 = gateaux::param<"W2", N, N>;
    static constexpr auto loss = gateaux::sum(gateaux::squared_error(gateaux::mlp<N, N, N>(x, Act{}), y));
    static constexpr auto w = gateaux::wrt(W1, W2);

    tensor X = well_conditioned(n, n, 11), Y = gaussian_tensor(n, n, 12);
    tensor w1 = well_conditioned(n, n, 13), w2 = well_conditioned(n, n, 14);
    tensor v1 = gaussian_tensor(n, n, 15), v2 = gaussian_tensor(n, n, 16);  // directions, for H·v programs

    template <class Program>
    void bind(Program& p) const {
        p.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2);
        if constexpr (Program::computes(gateaux::direction(W1))) p.bind(gateaux::direction(W1), v1);
        if constexpr (Program::computes(gateaux::direction(W2))) p.bind(gateaux::direction(W2), v2);
    }
};

using reference_net = mlp_net<64, 64, 64, 64, 10>;
using wide_net = mlp_net<256, 256, 256, 256, 10>;

}  // namespace bench
