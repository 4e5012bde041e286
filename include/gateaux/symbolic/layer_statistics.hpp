#pragma once
// Per-layer quantities as program outputs, from the same generic pass as the B-operator
// (curvature_path.hpp), sharing the forward and backward pass of grad(...) in one program:
//
//   curvature_blocks(loss, wrt(W1, b1, ...))      T_b at each parameter's layer: the Hessian of
//                                                 sample b's loss term g_b·ℓ_b in its net row, a
//                                                 (B·n_l)×n_l stack (rows b·n_l .. b·n_l+n_l−1)
//   gauss_newton_blocks(loss, wrt(...))           their Gauss–Newton part J_bᵀ·Λ_b·J_b (PSD)
//   layer_inputs(loss, wrt(W1, ...))              h_{l−1}, the input of each weight's layer (B×n_{l−1})
//   layer_deltas(loss, wrt(W1, b1, ...))          δ_l = ∂L/∂net_l (B×n_l): row b is g_b·∂ℓ_b/∂net_l,
//                                                 g_b = 1 under a sum, 1/B under a mean; G_W = hᵀ·δ
//
// Each block of the explicit layer Hessian follows from these: H_W = Σ_b (h_bᵀ·h_b) ⊗ T_b (h_b
// the row of sample b), H_b = Σ_b T_b, plus c·I for an l2 penalty c·½‖P‖² in the loss. A bias
// has no layer input (its input is the constant 1).
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "curvature_path.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail::curvature {

template <fixed_string Param, bool Found>
constexpr void check_found() {
    static_assert(Found, "gateaux: this parameter is not a layer weight (h·W) or bias (x + b) of a network under a sum or "
                         "mean of squared_error or cross_entropy (see bop)");
}
template <fixed_string Param, bool IsWeight>
constexpr void check_weight() {
    static_assert(IsWeight, "gateaux::layer_inputs: this parameter is not a layer weight h·W (a bias's input is the constant 1)");
}

template <class L, curvature_kind Kind, class... P>
constexpr auto blocks() {
    if constexpr (!(path_of<L, P, Kind>::found && ...)) {
        (check_found<P::name, path_of<L, P, Kind>::found>(), ...);
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return group<meta::list<P...>, meta::list<decltype(path_of<L, P, Kind>::form::stack())...>>{};
    }
}

}  // namespace detail::curvature

template <expression L, class... P>
constexpr auto curvature_blocks(L, params<P...>) {
    return detail::curvature::blocks<L, curvature_kind::hessian, P...>();
}
template <expression L, class... P>
constexpr auto gauss_newton_blocks(L, params<P...>) {
    return detail::curvature::blocks<L, curvature_kind::gauss_newton, P...>();
}

template <expression L, class... P>
constexpr auto layer_inputs(L, params<P...>) {
    using namespace detail::curvature;
    if constexpr (!((path_of<L, P>::status == path_status::weight) && ...)) {
        (check_weight<P::name, path_of<L, P>::status == path_status::weight>(), ...);
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return group<meta::list<P...>, meta::list<layer_input<path_of<L, P>>...>>{};
    }
}

template <expression L, class... P>
constexpr auto layer_deltas(L, params<P...>) {
    using namespace detail::curvature;
    if constexpr (!(path_of<L, P>::found && ...)) {
        (check_found<P::name, path_of<L, P>::found>(), ...);
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using ctx = context<L, curvature_kind::hessian>;
        return group<meta::list<P...>, meta::list<decltype(ctx::template cotangent<typename path_of<L, P>::at>())...>>{};
    }
}

}  // namespace gateaux
