#pragma once
// What the Fisher information needs, from the loss op's own rules (ops/squared_error.hpp,
// ops/cross_entropy.hpp): for L = Σ_b g_b·ℓ_b(o_b, y_b) with per-sample Jacobians J_b = ∂o_b/∂θ,
//
//   F = Σ_b g_b·J_bᵀ·s_b·s_bᵀ·J_b,   s_b = ∂ℓ_b/∂o_b,
//
// where s_b uses the data's targets (the empirical Fisher) or targets drawn from the model's
// predictive distribution (a sampled Fisher, whose expectation is the true Fisher: for the
// squared error, y ~ N(o, I), and for cross-entropy, y ~ Categorical(softmax(o)), the true
// Fisher equals the Gauss–Newton matrix Σ_b g_b·J_bᵀ·Λ_b·J_b).
//
//   with_sampled_targets(loss)               the loss with its target leaf y replaced by the leaf
//                                            sampled_target(y) ("y~"), bound to drawn targets:
//                                            grad, layer_deltas, ... of it are gradients under them
//   sample_targets(loss, o, rng, y~)         draws y~ (B×n) from the predictive distribution at the
//                                            network output o (prog[output_of(loss)])
//   fvp(loss, wrt(...))                      F·v, v bound as direction(P): empirical; an l2 penalty
//                                            c·½‖P‖² in the loss adds its Hessian c·v, as in gnvp;
//   fvp(with_sampled_targets(loss), wrt(...))  sampled
//   output_curvature_factors(loss)           Λ_b's factor F_b (F_b·F_bᵀ = Λ_b, the Hessian of
//                                            g_b·ℓ_b in o_b), a (B·n)×n stack: the exact route to
//                                            the true Fisher, one column at a time
#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "../ops/col_broadcast.hpp"
#include "../ops/hadamard.hpp"
#include "../ops/row_sum.hpp"
#include "curvature_path.hpp"
#include "grad.hpp"
#include "substitute.hpp"
#include "tangent.hpp"

namespace gateaux {

namespace detail::curvature {
template <class L>
constexpr void check_fisher_loss() {
    static_assert(loss_parts<L>::ok,
                  "gateaux: the Fisher needs a loss that is sum(...) or mean(...) of squared_error(out, y) or cross_entropy(out, y)");
}
}  // namespace detail::curvature

// The leaf holding targets drawn from the model, beside target y.
template <class Y>
using sampled_target_t = leaf<target_kind, concat<Y::name, "~">(), Y::rows, Y::cols>;

template <class K, fixed_string N, dim R, dim C>
constexpr auto sampled_target(leaf<K, N, R, C>) {
    static_assert(std::same_as<K, target_kind>, "gateaux::sampled_target(y): y must be a target leaf");
    return sampled_target_t<leaf<K, N, R, C>>{};
}

// The network output o of a loss reduce(ℓ(o, y)).
template <expression L>
constexpr auto output_of(L) {
    detail::curvature::check_fisher_loss<L>();
    if constexpr (detail::curvature::loss_parts<L>::ok)
        return typename detail::curvature::loss_parts<L>::output{};
    else
        return L{};
}

template <expression L>
constexpr auto with_sampled_targets(L) {
    detail::curvature::check_fisher_loss<L>();
    if constexpr (detail::curvature::loss_parts<L>::ok) {
        using Y = typename detail::curvature::loss_parts<L>::target;
        return substitute_t<L, Y, sampled_target_t<Y>>{};
    } else {
        return L{};
    }
}

// Draws targets from the model's predictive distribution at output o into y (B×n, resized).
template <expression L, class Rng>
void sample_targets(L, const tensor& o, Rng& rng, tensor& y) {
    detail::curvature::check_fisher_loss<L>();
    if (y.dimension() != 2 || y.shape(0) != o.shape(0) || y.shape(1) != o.shape(1)) y.resize({o.shape(0), o.shape(1)});
    detail::curvature::loss_parts<L>::op::sample_target(o, rng, y);
}

// F·v for the loss's own targets (empirical), or for sampled ones after with_sampled_targets.
template <expression L, class... P>
constexpr auto fvp(L, params<P...> w) {
    using namespace detail::curvature;
    check_fisher_loss<L>();
    static_assert(penalties_ok<L, P...>, "gateaux::fvp(loss, wrt(...)): a term of the loss besides the data term depends on a "
                                        "parameter other than as an l2 penalty c·½‖P‖²");
    if constexpr (!loss_parts<L>::ok || !penalties_ok<L, P...>) {
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using parts = loss_parts<L>;
        using O = typename parts::output;
        using Y = typename parts::target;
        using PS = typename parts::per_sample;
        constexpr auto g = context<L, curvature_kind::hessian>::g();
        // s = ∂ℓ/∂o per sample: the loss op's own adjoint rule with a unit cotangent.
        constexpr auto s = parts::op::template adjoint<0>(PS{}, ones<O::rows, 1>{}, O{}, Y{});
        constexpr auto u = hadamard(col_broadcast<O::cols>(hadamard(g, row_sum(hadamard(s, jvp(O{}, w))))), s);
        return with_penalties<L>(detail::backward<O, decltype(u), P...>());
    }
}

template <expression L>
constexpr auto output_curvature_factors(L) {
    using namespace detail::curvature;
    check_fisher_loss<L>();
    if constexpr (!loss_parts<L>::ok)
        return L{};
    else
        return context<L, curvature_kind::gauss_newton>::output_form::factor();
}

}  // namespace gateaux
