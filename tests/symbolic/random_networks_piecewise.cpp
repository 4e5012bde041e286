// Random networks with piecewise-linear hidden layers (identity, leaky_relu 0.1 / 0.5, relu):
// gradient, H·v, symmetry and the explicit Hessian (the properties and the kink rule are in
// random_networks.hpp). Depth 1–4, widths 1–32, every loss, with and without biases and L2.
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

//                    hidden output loss                 biases     λ      widths n0, n1, ..., nL
using nets = std::tuple<
    mlp_net<I,  I,  sum_squared_error,  no_biases, 0.0,  3, 2>,
    mlp_net<I,  I,  sum_squared_error,  biases,    0.0,  1, 1>,
    mlp_net<I,  I,  mse,                biases,    0.01, 4, 4, 3>,
    mlp_net<I,  I,  mean_cross_entropy, no_biases, 0.0,  5, 6, 4>,
    mlp_net<L1, I,  sum_squared_error,  no_biases, 0.0,  4, 8, 3>,
    mlp_net<L1, I,  mse,                biases,    0.0,  6, 16, 16, 4>,
    mlp_net<L1, I,  sum_cross_entropy,  biases,    0.05, 8, 12, 5>,
    mlp_net<L1, L1, sum_squared_error,  no_biases, 0.1,  3, 5, 5, 5, 2>,
    mlp_net<L1, I,  mean_squared_error, no_biases, 0.0,  16, 8, 4, 2, 1>,
    mlp_net<L1, I,  mse,                biases,    0.0,  32, 32, 32>,
    mlp_net<L5, I,  mean_cross_entropy, no_biases, 0.0,  5, 10, 10, 3>,
    mlp_net<L5, I,  sum_squared_error,  biases,    0.0,  1, 32, 1>,
    mlp_net<L5, L5, mse,                biases,    0.01, 7, 7, 7>,
    mlp_net<R,  I,  sum_squared_error,  no_biases, 0.0,  4, 16, 2>,
    mlp_net<R,  I,  mse,                biases,    0.0,  10, 20, 20, 5>,
    mlp_net<R,  I,  sum_cross_entropy,  no_biases, 0.01, 6, 12, 12, 12, 4>,
    mlp_net<R,  I,  mean_cross_entropy, biases,    0.1,  8, 32, 6>,
    mlp_net<R,  R,  sum_squared_error,  biases,    0.0,  5, 8, 3>>;

}  // namespace

TEST_CASE("random networks, piecewise linear: gradient matches fd_grad to 1e-7", "[symbolic][networks][grad]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = gradient_vs_fd<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, piecewise linear: H·v matches fd_hvp to 1e-6", "[symbolic][networks][hvp]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = hvp_vs_fd<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, piecewise linear: uᵀHv = vᵀHu to 1e-12·‖u‖‖H‖max‖v‖", "[symbolic][networks][hvp]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = symmetry<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}

TEST_CASE("random networks, piecewise linear: H·v matches hessian()·v to 1e-12", "[symbolic][networks][hessian]") {
    for_each_net((nets*)nullptr, []<class Net>(Net*) {
        const auto rep = hvp_vs_explicit<Net>();
        INFO(describe<Net>() << ": worst at " << rep.where);
        CHECK(rep.worst <= rep.allowed);
    });
}
