// The finite-difference B-operator on smooth nets (include/gateaux/symbolic/inverse.hpp: fd_bop,
// fd_newton_step, fd_scheme), against the analytic bop and newton_step (which bop_master.cpp and
// bop_chain.cpp check against LAPACK solves of the explicit blocks), over tanh nets of depth 1–3,
// widths 2–8, batch 1 up to the limit, well-conditioned x and W (the oracle recipe of docs/theory.md, "Numerics").
//
// The step rule. Central differences are O(r²), Richardson's (4·D(r/2) − D(r))/3 is
// O(r⁴), best near r = 1e-4 for the seed's G(1 ± r/2); with cond ≥ 1e2, r = 1e-4 is already
// unreliable. What sets the truncation error is how far the perturbed gradient moves the
// parameters: G(1 ± r/2) moves W_l by r/2·‖H_l⁻¹G_l‖, which on random data is often 10–400 times
// ‖W_l‖ (the Newton step far from a fit), and then r = 1e-4 crosses folds of the per-sample
// gradient map (inverse_gradient: domain_error) or misses 1e-8. So the step here is
// 1e-4 as a relative change of the parameters, r_l = 1e-4·‖W_l‖/‖H_l⁻¹v_l‖ (the same r when
// ‖H_l⁻¹v_l‖ = ‖W_l‖), one fd call per layer, and:
//   Richardson within 1e-8 of the analytic result wherever cond(H_l) ≤ 100 (asserted); printed
//     for the rest, with the rounding bound (oracle::fd_rounding_bound);
//   central differences printed with their errors, and asserted to be O(r²): halving r_l
//     quarters the error (ratio in [3, 5]) where truncation is 100 times the rounding floor;
//   the literal rule (r = 1e-4 relative to G, all layers in one call) counted and printed.
// fd_bop's direction v is scaled to ‖G_l‖, so that its r means the same as fd_newton_step's.
//
// Leaving the inverse's domain: a tanh layer's δ is bounded per sample, so a target beyond the
// bound has no preimage; inverse_gradient, fd_newton_step and fd_bop report gateaux::domain_error
// naming the parameter, and leave the caller's tensors and the program's results as they were.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;
using gateaux::fd_scheme;

constexpr double acceptance = 1e-8;


// One layer check: the analytic step Δ_l and bop d_l, their finite-difference twins' errors.
struct layer_check {
    std::string where;
    double cond = 0.0;            // cond(H_l) of the explicit block
    double size = 0.0;            // max(‖Δ_l‖, ‖d_l‖)/‖W_l‖: how far G(1 ± r/2) moves W_l, per unit r
    double richardson = 0.0;      // Richardson at the rule's step, worst of step and bop
    double central = 0.0, central_half = 0.0;  // central at the rule's step r_l and at r_l/2
    double rounding = 0.0;        // fd_rounding_bound at the rule's step: the rounding floor
};

struct fd_summary {
    std::size_t configurations = 0, literal_checks = 0, literal_misses = 0, literal_refusals = 0;
    std::vector<layer_check> checks;
};

// Scales each direction to the norm of its gradient block (fd_bop perturbs G by r/2·v).
template <class Net>
void scale_directions(instance<Net>& net) {
    const auto g = read(net, instance<Net>::g);
    for (std::size_t i = 0; i < g.size(); ++i) net.v[i] *= oracle::norm(g[i]) / oracle::norm(net.v[i]);
    net.prog.run();
}

// The step rule: a parameter perturbation of 1e-4 relative, r_l = 1e-4·‖W_l‖/‖H_l⁻¹·v_l‖.
constexpr double relative_step = 1e-4;

template <class Net, std::size_t I>
void check_layer(instance<Net>& net, const tensor& step, const tensor& along, const tensor& hessian, layer_check& out) {
    using gateaux::fd_bop, gateaux::fd_newton_step, gateaux::wrt;
    constexpr auto W = instance<Net>::template param<I>;
    constexpr auto loss = instance<Net>::loss;
    const std::array<tensor, 1> v{net.v[I]};
    const double w = oracle::norm(net.weights[Net::checked[I] - 1]);
    const double r_step = relative_step * w / oracle::norm(step), r_bop = relative_step * w / oracle::norm(along);
    auto error = [&](double scale, fd_scheme scheme) {
        return std::max(rel_error(fd_newton_step(net.prog, loss, wrt(W), scale * r_step, scheme)[0], step),
                        rel_error(fd_bop(net.prog, loss, wrt(W), v, scale * r_bop, scheme)[0], along));
    };
    out.cond = pseudo_inverse(hessian).cond;
    out.size = std::max(oracle::norm(step), oracle::norm(along)) / w;
    const double newton = oracle::norm(step);  // fd_bop's v is scaled to ‖G_l‖: ‖H_l⁻¹v‖ is comparable
    out.rounding = std::max(fd_rounding_bound(out.cond, w, newton, newton, r_step),
                            fd_rounding_bound(out.cond, w, newton, oracle::norm(along), r_bop));
    try {
        out.richardson = error(1.0, fd_scheme::richardson);
        out.central = error(1.0, fd_scheme::central);
        out.central_half = error(0.5, fd_scheme::central);
    } catch (const gateaux::domain_error& e) {
        out.richardson = INFINITY;
        out.where += std::string(" | ") + e.what();
    }
}

template <class Net>
void check_row(const row<Net>& r, fd_summary& sum) {
    using I = instance<Net>;
    for (const config& c : configs(r.max_batch, r.seed, r.count)) {
        instance<Net> net(c.batch, c.seed);
        net.prog.run();
        scale_directions(net);
        const auto step = read(net, I::s);
        const auto along = read(net, I::d);
        const auto hessian = hessian_blocks(net);
        net.prog.run();
        ++sum.configurations;
        // The literal rule: r = 1e-4 relative to the gradient, all layers in one call.
        try {
            const auto fs = gateaux::fd_newton_step(net.prog, I::loss, I::w, 1e-4, fd_scheme::richardson);
            const auto fb = gateaux::fd_bop(net.prog, I::loss, I::w, net.v, 1e-4, fd_scheme::richardson);
            for (std::size_t i = 0; i < I::C; ++i) {
                ++sum.literal_checks;
                sum.literal_misses += std::max(rel_error(fs[i], step[i]), rel_error(fb[i], along[i])) > acceptance;
            }
        } catch (const gateaux::domain_error&) {
            sum.literal_checks += I::C;
            sum.literal_misses += I::C;
            ++sum.literal_refusals;
        }
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            (([&] {
                 layer_check lc;
                 char where[256];
                 std::snprintf(where, sizeof where, "%s: %s | layer %zu | B = %zu | seed %llu", r.label.c_str(),
                               Net::describe().c_str(), Net::checked[K], c.batch, (unsigned long long)c.seed);
                 lc.where = where;
                 check_layer<Net, K>(net, step[K], along[K], hessian[K], lc);
                 sum.checks.push_back(lc);
             }()),
             ...);
        }(std::make_index_sequence<I::C>{});
    }
}

auto tanh_rows() {
    return std::tuple{
        row<net<sum_se, widths<4, 4>, acts<tanh_a>, at<1>>>{"tanh output", {}, 1001},
        row<net<sum_se, widths<5, 5, 5>, acts<tanh_a, linear>, at<1, 2>>>{"tanh hidden", {}, 1011},
        row<net<mean_se, widths<6, 4, 3>, acts<tanh_a, tanh_a>, at<1, 2>>>{"tanh, narrowing", {}, 1021},
        row<net<sum_se, widths<3, 6, 6, 2>, acts<tanh_a, tanh_a, linear>, at<1, 2, 3>>>{"tanh, depth 3", {}, 1031},
        row<net<sum_se, widths<8, 8, 8>, acts<tanh_a, tanh_a>, at<1, 2>>>{"tanh, 8 wide", {}, 1041},
    };
}

TEST_CASE("fd_bop on tanh nets: Richardson within 1e-8 of the analytic bop at the step rule; central O(r²)",
          "[symbolic][fd_bop][richardson]") {
    fd_summary sum;
    std::apply([&](const auto&... r) { (check_row(r, sum), ...); }, tanh_rows());
    std::printf("fd_bop / fd_newton_step on tanh nets (Richardson and central at r_l = 1e-4*|W_l|/|H_l^-1 v_l|, central also at r_l/2)\n"
                "  cond(H_l)  |D|/|W|   Richardson  central   central/2  ratio  rounding bound\n");
    std::size_t asserted = 0;
    double worst = 0.0, worst_central = 0.0;
    for (const layer_check& lc : sum.checks) {
        std::printf("  %9.3g  %7.3g  %.2e    %.2e  %.2e   %5.2f  %.1e  %s\n", lc.cond, lc.size, lc.richardson, lc.central,
                    lc.central_half, lc.central / lc.central_half, lc.rounding, lc.where.c_str());
        INFO(lc.where << " | cond(H_l) = " << lc.cond);
        worst_central = std::max(worst_central, lc.central);
        if (lc.cond > 100.0) continue;  // beyond cond 1e2 a step of 1e-4 is unreliable
        ++asserted;
        worst = std::max(worst, lc.richardson);
        CHECK(sci{lc.richardson} <= sci{acceptance});
        // O(r²): halving r quarters the central error, where truncation dominates rounding.
        if (lc.central_half > 100 * lc.rounding) {
            CHECK(lc.central / lc.central_half >= 3.0);
            CHECK(lc.central / lc.central_half <= 5.0);
        }
    }
    std::printf("  %zu configurations, %zu layer checks, %zu with cond(H_l) <= 100 asserted: worst Richardson %.2e (bound %.0e);"
                " worst central %.2e\n"
                "  the literal rule (r = 1e-4 relative to G, one call for all layers): %zu of %zu layer checks above "
                "1e-8, %zu calls refused (domain_error)\n",
                sum.configurations, sum.checks.size(), asserted, worst, acceptance, worst_central, sum.literal_misses,
                sum.literal_checks, sum.literal_refusals);
    CHECK(sum.configurations >= 20);
    CHECK(asserted >= 30);
}

// The message of the domain_error f throws ("" if it throws none).
template <class F>
std::string refusal(F f) {
    try {
        f();
    } catch (const gateaux::domain_error& e) {
        return e.what();
    }
    return "";
}

// The largest |δ_l| any parameters can produce, for a tanh layer l whose output feeds an identity
// layer W_{l+1} (or the loss, if l = L): |h| < 1, so |e_k| < Σ_i |W_{l+1}[i, k]| + |y_k| and
// |δ_j| < Σ_k |W_{l+1}[j, k]|·|e_k| (without W_{l+1}: |δ| < 1 + |y|).
double tanh_gradient_bound(const tensor* above, const tensor& y) {
    const double ymax = max_abs(y);
    if (above == nullptr) return 1.0 + ymax;
    const tensor& w = *above;
    double bound = 0.0;
    for (std::size_t j = 0; j < w.shape(0); ++j) {
        double s = 0.0;
        for (std::size_t k = 0; k < w.shape(1); ++k) {
            double e = ymax;
            for (std::size_t i = 0; i < w.shape(0); ++i) e += std::abs(w(i, k));
            s += std::abs(w(j, k)) * e;
        }
        bound = std::max(bound, s);
    }
    return bound;
}

// Asks for a gradient of W (layer l, input h) that is `factor` times beyond the bound: δ* = h⁺ᵀ·(s·G)
// = s·δ, with s chosen so that max|δ*| = factor·bound. Every route must refuse with a domain_error
// naming W, and leave the bound tensors and the program's results as they were.
template <class Net, std::size_t I>
void expect_out_of_range(instance<Net>& net, const tensor& h, double bound) {
    constexpr auto W = instance<Net>::template param<I>;
    constexpr auto loss = instance<Net>::loss;
    const std::string name = "'" + std::string(decltype(W)::name.view()) + "'";
    net.prog.run();
    const tensor g = read(net, instance<Net>::g)[I];
    const auto step = read(net, instance<Net>::s);
    const tensor delta = std::get<0>(xt::linalg::lstsq(xt::transpose(h), g));  // δ_l = h⁺ᵀ·G_l
    const double s = 2.0 * bound / max_abs(delta);
    const std::vector<tensor> before = net.bound();
    INFO("target " << s << "·G: max|δ*| = " << s * max_abs(delta) << " > " << bound);
    const auto names = Catch::Contains(name);
    const auto says = Catch::Contains("outside the gradient map's range");
    const auto matches = names && says;  // holds references to both
    CHECK_THAT(refusal([&] { gateaux::inverse_gradient(net.prog, loss, W, tensor(s * g)); }), matches);
    // G(1 ± r/2) with 1 + r/2 = s: the upper evaluation is out of range.
    CHECK_THAT(refusal([&] { gateaux::fd_newton_step(net.prog, loss, gateaux::wrt(W), 2 * (s - 1)); }), matches);
    CHECK_THAT(refusal([&] {
                   gateaux::fd_bop(net.prog, loss, gateaux::wrt(W), std::array<tensor, 1>{g}, 2 * (s - 1), fd_scheme::richardson);
               }),
               matches);
    CHECK(bit_identical(net.bound(), before));
    net.prog.run();
    const auto again = read(net, instance<Net>::s);
    CHECK(bit_identical(std::vector<tensor>(again.begin(), again.end()), std::vector<tensor>(step.begin(), step.end())));
    // Inside the range the same route works: the gradient itself gives back W, up to its component
    // in the null space of h (B < n: the minimum-norm h⁺·h·W; see inverse_gradient.cpp).
    const tensor& w = net.weights[Net::checked[I] - 1];
    const tensor projected = std::get<0>(xt::linalg::lstsq(h, tensor(xt::linalg::dot(h, w))));
    CHECK(sci{rel_error(gateaux::inverse_gradient(net.prog, loss, W, g), projected)} <= sci{1e-12});
}

TEST_CASE("fd_bop, fd_newton_step and inverse_gradient report a target outside the range as domain_error",
          "[symbolic][fd_bop][domain]") {
    SECTION("tanh output layer: |δ| < 1 + |y|") {
        using Out = net<sum_se, widths<4, 4>, acts<tanh_a>, at<1>>;
        for (std::uint64_t seed : {1101, 1102}) {
            instance<Out> net(3, seed);
            expect_out_of_range<Out, 0>(net, net.x, tanh_gradient_bound(nullptr, net.y));
        }
    }
    SECTION("tanh hidden layer under an identity output: |δ_1| bounded through W2") {
        using Hidden = net<mean_se, widths<5, 5, 5>, acts<tanh_a, linear>, at<1, 2>>;
        for (std::uint64_t seed : {1111, 1112}) {
            instance<Hidden> net(4, seed);
            // mse divides by B·n_L: the bound scales with it.
            expect_out_of_range<Hidden, 0>(net, net.x, tanh_gradient_bound(&net.weights[1], net.y) / (4.0 * 5.0));
        }
    }
}

TEST_CASE("fd_bop refuses a direction of the wrong shape, naming the parameter", "[symbolic][fd_bop][shape]") {
    using N = net<sum_se, widths<4, 3, 3>, acts<tanh_a, linear>, at<1, 2>>;
    instance<N> net(3, 1201);
    net.prog.run();
    // A row (1×3, which would broadcast against W1's 4×3) and a transposed block (3×4).
    for (const tensor& bad : {tensor(xt::ones<double>({1, 3})), tensor(xt::ones<double>({3, 4}))}) {
        const std::array<tensor, 2> v{bad, net.v[1]};
        INFO("direction " << bad.shape(0) << "×" << bad.shape(1));
        CHECK_THROWS_WITH(gateaux::fd_bop(net.prog, N::loss, N::w, v, 1e-4),
                          Catch::Contains("'W1'") && Catch::Contains("must be 4×3"));
        CHECK_THROWS_AS(gateaux::fd_bop(net.prog, N::loss, N::w, v, 1e-4), gateaux::shape_error);
    }
}

}  // namespace
