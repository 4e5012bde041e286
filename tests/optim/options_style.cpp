// Every optimizer takes its options one way: an aggregate X_options with named fields, set by
// designated initialisers, X(X_options{.field = value}); and X() with the defaults. Checked for all
// of them at compile time, and at run time that the designated field arrives (an invalid value is
// refused, naming it).
#include <catch2/catch.hpp>

#include "support/check_error.hpp"

#include <type_traits>

#include <gateaux/gateaux.hpp>

namespace {

using namespace gateaux;

template <class Optimizer, class Options>
constexpr bool one_style = std::is_aggregate_v<Options> && std::is_constructible_v<Optimizer, Options> &&
                           std::is_default_constructible_v<Optimizer> && std::is_base_of_v<optimizer, Optimizer>;

static_assert(one_style<gradient_descent, gradient_descent_options>);
static_assert(one_style<momentum, momentum_options>);
static_assert(one_style<adam, adam_options>);
static_assert(one_style<adagrad, adagrad_options>);
static_assert(one_style<adahessian, adahessian_options>);
static_assert(one_style<shampoo, shampoo_options>);
static_assert(one_style<lbfgs, lbfgs_options>);
static_assert(one_style<bfgs, bfgs_options>);
static_assert(one_style<naive_newton, naive_newton_options>);
static_assert(one_style<damped_newton, damped_newton_options>);
static_assert(one_style<trust_region, trust_region_options>);
static_assert(one_style<diagonal_newton, diagonal_newton_options>);
static_assert(one_style<block_newton, block_newton_options>);
static_assert(one_style<fd_block_newton, fd_block_newton_options>);
static_assert(one_style<damped_block_newton, damped_block_newton_options>);
static_assert(one_style<hessian_free, hessian_free_options>);
static_assert(one_style<kfac, kfac_options>);
static_assert(one_style<natural_gradient, natural_gradient_options>);
static_assert(std::is_aggregate_v<kfac_preconditioner_options> && std::is_constructible_v<kfac_preconditioner, kfac_preconditioner_options>);
static_assert(std::is_aggregate_v<diagonal_preconditioner_options> &&
              std::is_constructible_v<diagonal_preconditioner, diagonal_preconditioner_options>);

}  // namespace

TEST_CASE("designated options arrive: an invalid value is refused, naming the field", "[optim][options]") {
    check_error<error>([] { gradient_descent(gradient_descent_options{.learning_rate = -1.0}); }, "learning rate");
    check_error<error>([] { adam(adam_options{.learning_rate = -1.0}); }, "learning_rate");
    check_error<error>([] { adagrad(adagrad_options{.epsilon = 0.0}); }, "epsilon");
    check_error<error>([] { momentum(momentum_options{.beta = 1.0}); }, "beta");
    check_error<error>([] { lbfgs(lbfgs_options{.memory = 0}); }, "memory");
    check_error<error>([] { trust_region(trust_region_options{.initial_radius = -1.0}); }, "initial_radius");
    check_error<error>([] { damped_block_newton(damped_block_newton_options{.initial_damping = -1.0}); }, "initial_damping");
    check_error<error>([] { kfac(kfac_options{.decay = 1.5}); }, "decay");
    check_error<error>([] { natural_gradient(natural_gradient_options{.initial_damping = -1.0}); }, "initial_damping");
    check_error<error>([] { hessian_free(hessian_free_options{.initial_damping = -1.0}); }, "initial_damping");
    check_error<error>([] { diagonal_newton(diagonal_newton_options{.relative_floor = -1.0}); }, "relative_floor");
    // Valid values are taken as given.
    CHECK(gradient_descent(gradient_descent_options{.learning_rate = 0.5}).name() == "gd");
    CHECK(block_newton(block_newton_options{.line_search = false}).name() == block_newton().name());
}
