// The functional inverse itself (include/gateaux/symbolic/inverse.hpp: inverse_gradient), by round
// trip: G = ∇_{W_l}L(θ); then, with the other layers' parameters (so h = h_{l−1} and everything
// above net_l but net_l itself) held fixed, recover W_l from G, starting Newton's method from a
// perturbed W_l + ε·Z (ε = 1e-3 relative, and ε = 0; and far starts, ε = 0.3 and 1).
//
// What comes back (read from inverse.hpp: δ* = h⁺ᵀ·G, each sample's δ_b(net_b) = δ*_b by Newton,
// W = h⁺·net): with rank h = B and every T_b invertible, net is recovered exactly, and so is W
// when B = n_{l−1}; for B < n_{l−1} the map W ↦ G is not injective (W + N with h·N = 0 has the
// same gradient) and the result is the minimum-norm preimage h⁺·h·W. Both are the one oracle
// formula h⁺·h·W (lstsq), and in every case the gradient at the result is G again. Where T_b is
// singular (softmax cross-entropy: net_b + c·1 has the same δ_b) the result is some preimage:
// only ∇L(Ŵ) = G is asserted. From a far start Newton may find another preimage (the gradient map
// is not globally injective: tanh's δ has folds, leaky ReLU's jumps) or stop at a fold or kink
// between start and preimage (domain_error): counted and printed; whatever it returns must have
// gradient G. B > n_{l−1} is a rank_error naming h.
// Tolerances: the inverse map's condition is cond(H_l) (its Jacobian is H_l⁻¹), and it rounds
// quantities of size ‖W_l‖ and ‖H_l⁺G_l‖, so 100·eps·cond(H_l)·(‖W_l‖ + ‖H_l⁺G_l‖)/‖W_l‖ for Ŵ;
// the gradient at Ŵ then differs from G by H_l·(Ŵ − W): that tolerance times ‖H_l‖·‖W_l‖/‖G_l‖.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <tuple>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;

struct trip_summary {
    std::size_t configurations = 0, checks = 0, injective = 0, refused = 0, other_preimage = 0;
    double worst_w = 0.0, worst_g = 0.0, worst_ratio = 0.0;  // errors, and error/tolerance
};

// How a trip is judged: near starts (ε ≤ 1e-3) must return h⁺·h·W (or, for a singular T_b, a
// preimage); far starts may find another preimage of G or refuse (domain_error), never anything else.
enum class start { near, far };

// The round trip of checked layer I of an instance; `singular` rows assert only the gradient.
template <class Net, std::size_t I>
void round_trip(instance<Net>& net, const tensor& hessian, double epsilon, bool singular, trip_summary& sum,
                start kind = start::near) {
    constexpr auto W = instance<Net>::template param<I>;
    constexpr std::size_t l = Net::checked[I];
    net.prog.run();
    const tensor g = read(net, instance<Net>::g)[I];
    tensor& w = net.weights[l - 1];
    const tensor original = w;
    const tensor h = layer_input(net, l);
    const pseudo_inverse hp(hessian);
    const double newton = oracle::norm(hp.solve(g));
    const double tol_w = 100 * eps * hp.cond * (oracle::norm(original) + newton) / oracle::norm(original);
    const double tol_g = tol_w * hp.s(0) * oracle::norm(original) / oracle::norm(g);

    // Start from a perturbed W_l: the program's forward values are those of the start.
    const tensor z = gaussian(w.shape(0), w.shape(1), net.gen);
    w = original + epsilon * oracle::norm(original) / oracle::norm(z) * z;
    net.prog.run();
    tensor recovered;
    try {
        recovered = gateaux::inverse_gradient(net.prog, Net::loss, W, g);
    } catch (const gateaux::domain_error& e) {
        w = original;
        ++sum.refused;
        INFO(e.what());
        CHECK(kind == start::far);
        std::printf("  refused from ε = %.1f: %s, seed %llu, layer %zu: %s\n", epsilon, Net::describe().c_str(),
                    (unsigned long long)net.seed, l, e.what());
        return;
    }

    // The gradient at the recovered W_l, by a gradient-only program (a rank-deficient Ŵ_l, as for
    // B < n_{l−1}, is a fine point for the gradient, not for the instance's newton_step above it).
    w = recovered;
    auto gradient_only = gateaux::compile(Net::loss, instance<Net>::g);
    bind_data(net, gradient_only);
    gradient_only.run();
    const tensor g_back = gradient_only[instance<Net>::g.of(W)];
    w = original;

    const tensor want = std::get<0>(xt::linalg::lstsq(h, tensor(xt::linalg::dot(h, original))));  // h⁺·h·W
    const double err_w = rel_error(recovered, want), err_g = rel_error(g_back, g);
    INFO("layer " << l << ", B = " << h.shape(0) << " of n = " << h.shape(1) << ", ε = " << epsilon
                  << ", cond(H_l) = " << hp.cond << (singular ? " (singular T_b)" : ""));
    ++sum.checks;
    CHECK(sci{err_g} <= sci{tol_g});
    sum.worst_g = std::max(sum.worst_g, err_g);
    sum.worst_ratio = std::max(sum.worst_ratio, err_g / tol_g);
    if (singular) return;
    if (kind == start::far && err_w > tol_w) {
        ++sum.other_preimage;
        return;
    }
    CHECK(sci{err_w} <= sci{tol_w});
    sum.injective += h.shape(0) == h.shape(1);
    sum.worst_w = std::max(sum.worst_w, err_w);
    sum.worst_ratio = std::max(sum.worst_ratio, err_w / tol_w);
}

template <class Net>
void check_row(const row<Net>& r, bool singular, trip_summary& sum, start kind = start::near) {
    for (const config& c : configs(r.max_batch, r.seed, r.count)) {
        instance<Net> net(c.batch, c.seed);
        net.prog.run();
        const auto hessian = hessian_blocks(net);
        ++sum.configurations;
        INFO(r.label << ": " << Net::describe() << " | seed " << c.seed);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            const std::vector<double> epsilons = kind == start::near ? std::vector{0.0, 1e-3} : std::vector{0.3, 1.0};
            for (double epsilon : epsilons) (round_trip<Net, K>(net, hessian[K], epsilon, singular, sum, kind), ...);
        }(std::make_index_sequence<instance<Net>::C>{});
    }
}

}  // namespace

auto round_trip_rows() {
    return std::tuple{
        row<net<sum_se, widths<4, 4, 4>, acts<leaky, linear>, at<1, 2>>>{"leaky relu, square", {}, 2001},
        row<net<mean_se, widths<5, 5, 3>, acts<tanh_a, linear>, at<1, 2>>>{"tanh hidden", {}, 2011},
        row<net<sum_se, widths<4, 6, 4, 3>, acts<sigmoid, softplus, linear>, at<1, 2, 3>>>{"sigmoid, softplus", {}, 2021},
        row<net<sum_se, widths<6, 3>, acts<tanh_a>, at<1>>>{"tanh output", {}, 2031},
        row<net<mean_se, widths<3, 5, 5, 5>, acts<leaky01, leaky, sigmoid>, at<1, 2, 3>>>{"leaky under sigmoid", {}, 2041},
    };
}

TEST_CASE("inverse_gradient round trip: W_l back from its gradient (h⁺·h·W_l when B < n_{l−1})",
          "[symbolic][inverse_gradient]") {
    trip_summary sum;
    const auto rows = round_trip_rows();
    std::apply([&](const auto&... r) { (check_row(r, false, sum), ...); }, rows);
    std::printf("inverse_gradient round trip: %zu configurations, %zu layer checks (%zu with B = n_{l-1}); worst "
                "relative error of W %.2e, of the gradient at it %.2e; largest error/tolerance %.2f\n",
                sum.configurations, sum.checks, sum.injective, sum.worst_w, sum.worst_g, sum.worst_ratio);
    CHECK(sum.injective >= 10);
}

TEST_CASE("inverse_gradient from a distant start (ε = 0.3, 1): a preimage of G, or a domain_error, nothing else",
          "[symbolic][inverse_gradient][far]") {
    trip_summary sum;
    std::printf("inverse_gradient from distant starts:\n");
    std::apply([&](const auto&... r) { (check_row(r, false, sum, start::far), ...); }, round_trip_rows());
    std::printf("  %zu layer checks: %zu returned W itself (h⁺·h·W), %zu another preimage of G, %zu refused\n", sum.checks + sum.refused,
                sum.checks - sum.other_preimage, sum.other_preimage, sum.refused);
}

TEST_CASE("inverse_gradient where the per-sample map is singular (cross-entropy): a preimage of G",
          "[symbolic][inverse_gradient]") {
    trip_summary sum;
    check_row(row<net<sum_ce, widths<4, 5, 3>, acts<leaky, linear>, at<2>>>{"cross-entropy", {}, 2101}, true, sum);
    check_row(row<net<mean_ce, widths<5, 4>, acts<linear>, at<1>>>{"cross-entropy, one layer", {}, 2111}, true, sum);
    std::printf("inverse_gradient, cross-entropy: %zu layer checks; worst relative error of the gradient at the result "
                "%.2e\n",
                sum.checks, sum.worst_g);
}

TEST_CASE("inverse_gradient refuses a batch larger than the layer's input width", "[symbolic][inverse_gradient]") {
    using N = net<sum_se, widths<3, 4, 4>, acts<leaky, linear>, at<1, 2>>;
    instance<N> net(4, 2201);  // B = 4 > n_0 = 3: W1's gradient does not determine the per-sample errors
    const tensor g1 = xt::zeros<double>({3, 4});
    try {
        net.prog.run();  // the program's own newton_step refuses first; inverse_gradient reads it regardless
    } catch (const gateaux::rank_error&) {
    }
    bool thrown = false;
    try {
        gateaux::inverse_gradient(net.prog, N::loss, N::W<1>, g1);
    } catch (const gateaux::rank_error& e) {
        thrown = true;
        CHECK(e.tensor == "h (input of W1)");
        CHECK_THAT(e.condition, Catch::Contains("exceeds the width 3"));
    }
    CHECK(thrown);
}
