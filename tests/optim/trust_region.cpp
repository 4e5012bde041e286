// Tests of include/gateaux/optim/trust_region.hpp: trust-region Newton with the |H| model,
// subproblem solved exactly in the eigenbasis, Nocedal & Wright's ratio test and radius update.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"
#include <gateaux/optim/trust_region.hpp>

namespace {

using namespace gateaux;

using namespace gateaux::testing;

TEST_CASE("trust_region: Rosenbrock from (−1.2, 1) within 40 iterations", "[optim][trust_region]") {
    auto f = make_objective(rosenbrock, wrt(ra, rb));
    param_set x = rosenbrock_start(-1.2, 1.0);
    trust_region opt;
    const result r = minimize(f, x, opt, quiet(40, 1e-12));
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    CHECK(r.iterations <= 40);
    CHECK(distance_to_minimum(x) <= 1e-8);
    for (std::size_t i = 1; i < r.history.size(); ++i) {
        CHECK(r.history[i].loss < r.history[i - 1].loss);
        CHECK(r.history[i].step_norm <= r.history[i - 1].step_size * (1 + 1e-9));  // ‖p‖ ≤ Δ
    }
    std::printf("trust region, Rosenbrock: %zu iterations (%zu rejected trial steps, %zu with indefinite H), ‖x − x*‖ = %.1e\n",
                r.iterations, opt.rejections(), opt.indefinite_steps(), distance_to_minimum(x));
}

TEST_CASE("trust_region: an indefinite start uses |H| and converges", "[optim][trust_region]") {
    // At (0, 1) the Hessian is diag(−398, 200).
    auto f = make_objective(rosenbrock, wrt(ra, rb));
    param_set x = rosenbrock_start(0.0, 1.0);
    trust_region opt;
    const result r = minimize(f, x, opt, quiet(60, 1e-12));
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    CHECK(opt.indefinite_steps() >= 1);
    CHECK(distance_to_minimum(x) <= 1e-8);
    std::printf("trust region, Rosenbrock from (0, 1): %zu iterations, %zu with indefinite H\n", r.iterations,
                opt.indefinite_steps());
}

TEST_CASE("trust_region: on a quadratic the model is exact, steps sit on a doubling boundary, then Newton's",
          "[optim][trust_region]") {
    const quadratic_problem qp(5);
    auto f = make_objective(quadratic, wrt(qx));
    f.set_data(qA, qp.A).set_data(qb, qp.b);
    param_set x = f.parameters_like();
    trust_region::options o;
    o.initial_radius = 1e-3;
    trust_region opt(o);
    const double g0 = norm(param_set({qp.b}));
    const result r = minimize(f, x, opt, quiet(40, 1e-10 * g0));
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    CHECK(opt.rejections() == 0);  // ρ = 1 up to rounding every time
    // While the Newton step lies outside, ‖p‖ = Δ and Δ doubles: 1e-3, 2e-3, 4e-3, …
    double radius = 1e-3;
    std::size_t boundary = 0;
    for (std::size_t i = 1; i < r.history.size() && r.history[i].step_norm > 0.999 * radius; ++i, radius *= 2.0) {
        CHECK(r.history[i].step_norm == Approx(radius).epsilon(1e-9));
        ++boundary;
    }
    CHECK(boundary >= 3);
    // The last step was an interior Newton step: from there one step solves the quadratic.
    CHECK(r.iterations <= boundary + 2);
    std::printf("trust region, quadratic from Δ₀ = 1e-3: %zu boundary steps, %zu iterations in all\n", boundary, r.iterations);
}

TEST_CASE("trust_region: a Hessian over the memory limit is not applicable", "[optim][trust_region]") {
    const quadratic_problem qp(5);
    auto f = make_objective(quadratic, wrt(qx));
    f.set_data(qA, qp.A).set_data(qb, qp.b);
    param_set x = f.parameters_like();
    trust_region::options o;
    o.max_hessian_bytes = 4096;
    trust_region opt(o);
    const result r = minimize(f, x, opt, quiet(10, 0.0));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK_THAT(r.message, Catch::StartsWith("trust-region: ") && Catch::Contains("over the limit"));
}

TEST_CASE("trust_region: bad options are refused at construction", "[optim][trust_region]") {
    trust_region::options o;
    o.eta = 0.5;
    CHECK_THROWS_AS(trust_region(o), error);
    o = {};
    o.initial_radius = 0.0;
    CHECK_THROWS_AS(trust_region(o), error);
}

}  // namespace
