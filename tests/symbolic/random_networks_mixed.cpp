// Random networks, the rest of the space: one-layer nets under every output activation, and
// hand-written networks that mlp<...> cannot express — a different activation per layer, a
// skip connection, a weight used twice, tied (transposed) weights, a gated product, a softmax
// under a squared error, an L2 penalty on biases. Gradient, H·v, symmetry and the explicit
// Hessian as in random_networks.hpp.
#include <catch2/catch.hpp>

#include <tuple>

#include "symbolic/random_networks.hpp"

namespace {

using namespace networks;
using enum loss_kind;
using I = identity_act;
using R = relu_act;
using L1 = leaky_act<0.1>;
using L5 = leaky_act<0.5>;
using T = tanh_act;
using S = sigmoid_act;
using P = softplus_act;

// x → tanh → leaky_relu 0.1 → linear, with biases, mse.
struct tanh_then_leaky {
    static constexpr bool classification = false;
    static constexpr auto x = input<"x", 5>;
    static constexpr auto y = target<"y", 3>;
    static constexpr auto W1 = param<"W1", 5, 8>, W2 = param<"W2", 8, 8>, W3 = param<"W3", 8, 3>;
    static constexpr auto b1 = bias<"b1", 8>, b2 = bias<"b2", 8>, b3 = bias<"b3", 3>;
    static constexpr auto loss() {
        return gateaux::mse(leaky_relu<0.1>(tanh(x * W1 + b1) * W2 + b2) * W3 + b3, y);
    }
    static constexpr auto w() { return wrt(W1, b1, W2, b2, W3, b3); }
};

// x → relu → sigmoid → linear, sum of cross-entropy.
struct relu_then_sigmoid {
    static constexpr bool classification = true;
    static constexpr auto x = input<"x", 6>;
    static constexpr auto y = target<"y", 4>;
    static constexpr auto W1 = param<"W1", 6, 10>, W2 = param<"W2", 10, 10>, W3 = param<"W3", 10, 4>;
    static constexpr auto loss() { return sum(cross_entropy(sigmoid(relu(x * W1) * W2) * W3, y)); }
    static constexpr auto w() { return wrt(W1, W2, W3); }
};

// Depth 4: softplus → tanh → leaky_relu 0.5 → linear, sum of squared errors, L2 on weights.
struct four_activations {
    static constexpr bool classification = false;
    static constexpr auto x = input<"x", 4>;
    static constexpr auto y = target<"y", 2>;
    static constexpr auto W1 = param<"W1", 4, 6>, W2 = param<"W2", 6, 6>, W3 = param<"W3", 6, 6>,
                          W4 = param<"W4", 6, 2>;
    static constexpr auto loss() {
        return sum(squared_error(leaky_relu<0.5>(tanh(softplus(x * W1) * W2) * W3) * W4, y)) +
               l2<0.01>(W1, W2, W3, W4);
    }
    static constexpr auto w() { return wrt(W1, W2, W3, W4); }
};

// Wide input: leaky_relu 0.1 → softplus, biases, mean cross-entropy.
struct leaky_then_softplus {
    static constexpr bool classification = true;
    static constexpr auto x = input<"x", 32>;
    static constexpr auto y = target<"y", 4>;
    static constexpr auto W1 = param<"W1", 32, 16>, W2 = param<"W2", 16, 4>;
    static constexpr auto b1 = bias<"b1", 16>, b2 = bias<"b2", 4>;
    static constexpr auto loss() { return mean(cross_entropy(softplus(leaky_relu<0.1>(x * W1 + b1) * W2 + b2), y)); }
    static constexpr auto w() { return wrt(W1, W2, b1, b2); }
};

// A skip connection: out = tanh(x·W1)·W2 + x·W0.
struct skip_connection {
    static constexpr bool classification = false;
    static constexpr auto x = input<"x", 4>;
    static constexpr auto y = target<"y", 3>;
    static constexpr auto W0 = param<"W0", 4, 3>, W1 = param<"W1", 4, 6>, W2 = param<"W2", 6, 3>;
    static constexpr auto loss() { return sum(squared_error(tanh(x * W1) * W2 + x * W0, y)); }
    static constexpr auto w() { return wrt(W0, W1, W2); }
};

// One square weight used in two layers: tanh(tanh(x·W)·W)·V.
struct shared_weight {
    static constexpr bool classification = false;
    static constexpr auto x = input<"x", 5>;
    static constexpr auto y = target<"y", 2>;
    static constexpr auto W = param<"W", 5, 5>, V = param<"V", 5, 2>;
    static constexpr auto loss() { return gateaux::mse(tanh(tanh(x * W) * W) * V, y); }
    static constexpr auto w() { return wrt(W, V); }
};

// Tied weights (an autoencoder): sigmoid(x·W + b)·Wᵀ.
struct tied_autoencoder {
    static constexpr bool classification = false;
    static constexpr auto x = input<"x", 6>;
    static constexpr auto y = target<"y", 6>;
    static constexpr auto W = param<"W", 6, 3>;
    static constexpr auto b = bias<"b", 3>;
    static constexpr auto loss() { return sum(squared_error(sigmoid(x * W + b) * transpose(W), y)); }
    static constexpr auto w() { return wrt(W, b); }
};

// A gated unit: (sigmoid(x·Wg) ⊙ tanh(x·Wh))·Wo, mean cross-entropy.
struct gated {
    static constexpr bool classification = true;
    static constexpr auto x = input<"x", 5>;
    static constexpr auto y = target<"y", 3>;
    static constexpr auto Wg = param<"Wg", 5, 7>, Wh = param<"Wh", 5, 7>, Wo = param<"Wo", 7, 3>;
    static constexpr auto loss() { return mean(cross_entropy(hadamard(sigmoid(x * Wg), tanh(x * Wh)) * Wo, y)); }
    static constexpr auto w() { return wrt(Wg, Wh, Wo); }
};

// Softmax probabilities under a squared error (not the fused cross-entropy).
struct softmax_squared_error {
    static constexpr bool classification = true;
    static constexpr auto x = input<"x", 4>;
    static constexpr auto y = target<"y", 5>;
    static constexpr auto W1 = param<"W1", 4, 6>, W2 = param<"W2", 6, 5>;
    static constexpr auto loss() { return sum(squared_error(softmax(tanh(x * W1) * W2), y)); }
    static constexpr auto w() { return wrt(W1, W2); }
};

// L2 on weights and biases, and a gradient requested for a subset order (biases first).
struct penalised_biases {
    static constexpr bool classification = false;
    static constexpr auto x = input<"x", 3>;
    static constexpr auto y = target<"y", 2>;
    static constexpr auto W1 = param<"W1", 3, 4>, W2 = param<"W2", 4, 2>;
    static constexpr auto b1 = bias<"b1", 4>, b2 = bias<"b2", 2>;
    static constexpr auto loss() {
        return mean(squared_error(softplus(x * W1 + b1) * W2 + b2, y)) + l2<0.1>(W1, b1, W2, b2);
    }
    static constexpr auto w() { return wrt(b2, b1, W2, W1); }
};

//        one layer:  hidden output loss                 biases     λ      widths n0, n1
using nets = std::tuple<
    mlp_net<I, T,  sum_squared_error,  no_biases, 0.0,  5, 3>,
    mlp_net<I, S,  mean_cross_entropy, biases,    0.0,  4, 3>,
    mlp_net<I, P,  mse,                biases,    0.0,  6, 2>,
    mlp_net<I, R,  sum_squared_error,  biases,    0.0,  3, 4>,
    mlp_net<I, L5, sum_cross_entropy,  no_biases, 0.05, 7, 3>,
    mlp_net<I, L1, mean_squared_error, biases,    0.0,  2, 2>,
    tanh_then_leaky,
    relu_then_sigmoid,
    four_activations,
    leaky_then_softplus,
    skip_connection,
    shared_weight,
    tied_autoencoder,
    gated,
    softmax_squared_error,
    penalised_biases>;

}  // namespace

TEST_CASE("random networks, mixed: gradient matches fd_grad to 1e-7", "[symbolic][networks][grad]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = gradient_vs_fd<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, mixed: H·v matches fd_hvp to 1e-6", "[symbolic][networks][hvp]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = hvp_vs_fd<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, mixed: uᵀHv = vᵀHu to 1e-12·‖u‖‖H‖max‖v‖", "[symbolic][networks][hvp]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = symmetry<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, mixed: H·v matches hessian()·v to 1e-12", "[symbolic][networks][hessian]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = hvp_vs_explicit<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}
