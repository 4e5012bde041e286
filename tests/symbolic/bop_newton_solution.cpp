// Acceptance tests of the B-operator's Newton-solution policy (accept_newton_solution,
// include/gateaux/symbolic/bop.hpp) for widths non-increasing above a layer (docs/theory.md, "What is rejected, and why"): there every
// T_b is singular, and the chain with pseudo-inverses of the tall weights solves H_l·Δ = G_l but
// does not give the minimum-norm H_l⁺·G_l. Checked against the explicit block H_l
// (tests/support/oracle.hpp):
//   ‖H_l·Δ_l − G_l‖/‖G_l‖ ≤ 1e-10, and ‖Δ_l‖ ≥ ‖H_l⁺·G_l‖ (the minimum norm among solutions);
//   bop along a direction in the range of H_l (v = H_l·u) solves H_l·d = v to the same bound;
//   Δ_l differs from H_l⁺·G_l (by more than 1e-3 relative) in at least one case, which is the
//   documented difference; layers whose formula is exact stay exact under the policy.
// (The two coincide when one tall weight W lies above an identity layer: then the chain's
// W⁺ᵀ·T⁻¹·W⁺ is (W·T·Wᵀ)⁺. A leaky layer's D⁻¹, or two tall weights, break that: W₃⁺W₂⁺ ≠ (W₂W₃)⁺.)
#include <catch2/catch.hpp>

#include <tuple>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;
constexpr auto accept = oracle::policy::newton_solution;

auto rows() {
    return std::tuple{
        row<net<sum_se, widths<8, 8, 6, 4>, acts<leaky, leaky, linear>, at<1, 2, 3>, accept>>{
            "narrowing, depth 3", {"newton_solution", "newton_solution", "chain"}, 801},
        row<net<mean_se, widths<6, 5, 3>, acts<leaky, leaky>, at<1, 2>, accept>>{
            "narrowing, leaky output", {"newton_solution", "chain"}, 811},
        row<net<sum_se, widths<5, 6, 4, 2>, acts<linear, linear, linear>, at<1, 2, 3>, accept>>{
            "linear, narrowing", {"newton_solution", "newton_solution", "chain"}, 821},
        row<net<sum_se, widths<4, 4, 3>, acts<linear, leaky>, at<1, 2>, accept>>{"narrowing by one", {"newton_solution", "chain"}, 831},
        row<net<mean_se, widths<10, 8, 8, 5>, acts<leaky, leaky01, linear>, at<1, 2, 3>, accept>>{
            "equal then narrowing", {"newton_solution", "newton_solution", "chain"}, 841},
        row<net<sum_se, widths<7, 12, 6>, acts<leaky, tanh_a>, at<1, 2>, accept>>{
            "halving, tanh output", {"newton_solution", "chain"}, 851},
        // Under the policy, exact layers keep their exact formula.
        row<net<sum_se, widths<6, 5, 5>, acts<leaky, linear>, at<1, 2>, accept>>{"equal widths", {"chain", "chain"}, 861},
        row<net<sum_se, widths<6, 3, 5>, acts<leaky, leaky>, at<1, 2>, accept>>{"widening", {"master", "chain"}, 871},
    };
}

TEST_CASE("bop Newton solution: non-increasing widths solve H_l·Δ = G_l, not with the minimum norm",
          "[symbolic][bop][newton_solution]") {
    summary exact;
    std::size_t configurations = 0, solutions = 0, not_min_norm = 0;
    double worst_residual = 0.0, worst_range = 0.0, largest_difference = 0.0;
    std::apply(
        [&](const auto&... r) {
            ([&](const auto& rw) {
                using N = typename std::remove_cvref_t<decltype(rw)>::network;
                for (const config& c : configs(rw.max_batch, rw.seed, rw.count)) {
                    ++configurations;
                    for (const result& res : check<N>(rw.label, rw.formulas, c.batch, c.seed)) {
                        INFO(res.where());
                        CHECK(res.chosen == res.formula);
                        CHECK(res.rank == res.expected_rank);
                        if (res.formula != "newton_solution") {
                            const double tol = res.tolerance();
                            CHECK(sci{res.err_step} <= sci{tol});
                            CHECK(sci{res.err_bop} <= sci{tol});
                            exact.add(res, "newton_step", res.err_step);
                            exact.add(res, "bop", res.err_bop);
                            continue;
                        }
                        ++solutions;
                        CHECK(sci{res.residual_step} <= sci{1e-10});
                        CHECK(sci{res.residual_bop} <= sci{1e-10});
                        CHECK(res.step_norm >= res.min_norm * (1.0 - 1e-10));
                        worst_residual = std::max(worst_residual, res.residual_step);
                        worst_range = std::max(worst_range, res.residual_bop);
                        largest_difference = std::max(largest_difference, res.err_step);
                        if (res.err_step > 1e-3) ++not_min_norm;
                    }
                }
            }(r),
             ...);
        },
        rows());
    std::printf("bop Newton solution: %zu configurations, %zu Newton-solution layer checks; worst ‖HΔ − G‖/‖G‖ %.2e, "
                "worst ‖Hd − v‖/‖v‖ (v in range) %.2e; %zu differ from H⁺G by > 1e-3 (largest %.2f)\n",
                configurations, solutions, worst_residual, worst_range, not_min_norm, largest_difference);
    exact.configurations = configurations;
    exact.print("bop Newton solution, exact layers under the policy");
    CHECK(solutions >= 30);
    CHECK(not_min_norm >= 1);
}

}  // namespace
