#pragma once
// Gauss–Newton products G·v = Jᵀ·H_o·J·v, with J the Jacobian of the network output o and H_o
// the loss's curvature in o (per sample: g·I for the squared error, g·(diag(p) − p·pᵀ) for
// softmax cross-entropy, g the cotangent of the per-sample loss from the sum or mean). Built from
// the same machinery: J·v is the tangent of o, and Jᵀ·u is reverse mode seeded with u = H_o·J·v.
// G is positive semi-definite, unlike H: the curvature for Gauss–Newton, natural-gradient-like
// and Hessian-free methods. Directions are bound as for hvp (direction(W)).
#include "curvature_path.hpp"
#include "grad.hpp"
#include "tangent.hpp"

namespace gateaux {

namespace detail {
template <class L>
constexpr void check_gauss_newton_loss() {
    static_assert(curvature::loss_parts<L>::ok,
                  "gateaux::gnvp(loss, wrt(...)): the loss must be sum(...) or mean(...) of squared_error(out, y) or "
                  "cross_entropy(out, y), plus terms such as l2 penalties");
}
}  // namespace detail


// u = H_o·J·v with H_o the loss's output curvature (its op's rule, solve/curvature_form.hpp),
// then Jᵀ·u by reverse mode from the output; an l2 penalty adds its c·v.
template <expression L, class... P>
constexpr auto gnvp(L, params<P...> w) {
    detail::check_gauss_newton_loss<L>();
    constexpr bool penalties_ok = detail::curvature::penalties_ok<L, P...>;
    static_assert(penalties_ok, "gateaux::gnvp(loss, wrt(...)): a term of the loss besides the data term depends on a parameter "
                                "other than as an l2 penalty c·½‖P‖²");
    if constexpr (!detail::curvature::loss_parts<L>::ok || !penalties_ok) {
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using ctx = detail::curvature::context<L, curvature_kind::gauss_newton>;
        using O = typename ctx::O;
        constexpr auto u = ctx::output_form::times(jvp(O{}, w));
        return detail::curvature::with_penalties<L>(detail::backward<O, decltype(u), P...>());
    }
}

}  // namespace gateaux
