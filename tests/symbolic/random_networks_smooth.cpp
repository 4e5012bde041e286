// Random networks with smooth hidden layers (tanh, sigmoid, softplus): gradient, H·v, symmetry
// and the explicit Hessian (the properties are in random_networks.hpp). These carry the a″ terms
// of the R-operator that piecewise-linear networks fold away. Depth 1–4, widths 1–32, every
// loss, with and without biases and L2.
#include <catch2/catch.hpp>

#include <tuple>

#include "symbolic/random_networks.hpp"

namespace {

using namespace networks;
using enum loss_kind;
using I = identity_act;
using T = tanh_act;
using S = sigmoid_act;
using P = softplus_act;

//                    hidden output loss                 biases     λ      widths n0, n1, ..., nL
using nets = std::tuple<
    mlp_net<T, I, sum_squared_error,  no_biases, 0.0,  4, 6, 3>,
    mlp_net<T, I, mse,                biases,    0.01, 8, 16, 4>,
    mlp_net<T, T, sum_squared_error,  biases,    0.0,  5, 5, 5>,
    mlp_net<T, I, sum_cross_entropy,  no_biases, 0.0,  6, 10, 5>,
    mlp_net<T, I, mean_cross_entropy, biases,    0.0,  3, 12, 12, 12, 4>,
    mlp_net<T, I, mse,                no_biases, 0.1,  32, 16, 8>,
    mlp_net<T, S, mean_squared_error, biases,    0.0,  4, 8, 4>,
    mlp_net<S, I, sum_squared_error,  no_biases, 0.0,  4, 8, 2>,
    mlp_net<S, S, mse,                biases,    0.0,  6, 6, 6, 3>,
    mlp_net<S, I, sum_cross_entropy,  biases,    0.05, 5, 9, 4>,
    mlp_net<S, I, mean_cross_entropy, no_biases, 0.0,  2, 32, 32, 3>,
    mlp_net<S, I, sum_squared_error,  biases,    0.0,  1, 1, 1, 1, 1>,
    mlp_net<P, I, sum_squared_error,  no_biases, 0.0,  4, 7, 3>,
    mlp_net<P, I, mse,                biases,    0.01, 6, 12, 12, 2>,
    mlp_net<P, P, sum_squared_error,  biases,    0.0,  3, 4, 4, 4, 3>,
    mlp_net<P, I, sum_cross_entropy,  no_biases, 0.0,  8, 16, 6>,
    mlp_net<P, I, mean_cross_entropy, biases,    0.0,  10, 24, 5>,
    mlp_net<P, T, sum_squared_error,  no_biases, 0.1,  3, 6, 2>>;

}  // namespace

TEST_CASE("random networks, smooth: gradient matches fd_grad to 1e-7", "[symbolic][networks][grad]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = gradient_vs_fd<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, smooth: H·v matches fd_hvp to 1e-6", "[symbolic][networks][hvp]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = hvp_vs_fd<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, smooth: uᵀHv = vᵀHu to 1e-12·‖u‖‖H‖max‖v‖", "[symbolic][networks][hvp]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = symmetry<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, smooth: H·v matches hessian()·v to 1e-12", "[symbolic][networks][hessian]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = hvp_vs_explicit<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}
