#pragma once
// Gauss–Newton products G·v = Jᵀ·H_o·J·v, with J the Jacobian of the network output o and H_o
// the loss's curvature in o (per sample: g·I for the squared error, g·(diag(p) − p·pᵀ) for
// softmax cross-entropy, g the cotangent of the per-sample loss from the sum or mean). Built from
// the same machinery: J·v is the tangent of o, and Jᵀ·u is reverse mode seeded with u = H_o·J·v.
// G is positive semi-definite, unlike H: the curvature for Gauss–Newton, natural-gradient-like
// and Hessian-free methods. Directions are bound as for hvp (direction(W)).
#include "../ops/col_broadcast.hpp"
#include "../ops/hadamard.hpp"
#include "../ops/row_sum.hpp"
#include "../ops/softmax.hpp"
#include "bop.hpp"
#include "grad.hpp"
#include "tangent.hpp"

namespace gateaux {

namespace detail {
template <class L>
constexpr void check_gauss_newton_loss() {
    static_assert(bop::parse_loss<L>::ok,
                  "gateaux::gnvp(loss, wrt(...)): the loss must be sum(...) or mean(...) of squared_error(out, y) or "
                  "cross_entropy(out, y)");
}
}  // namespace detail

template <expression L, class... P>
constexpr auto gnvp(L, params<P...> w) {
    detail::check_gauss_newton_loss<L>();
    using parsed = detail::bop::parse_loss<L>;
    using O = typename parsed::output;
    using Y = typename parsed::target;
    using R = detail::reverse<schedule_t<L>, L, ones<1, 1>>;
    constexpr auto g = R::template adjoint_of<typename parsed::per_sample>();
    constexpr auto jv = jvp(O{}, w);
    constexpr auto u = [&] {
        if constexpr (parsed::kind == detail::bop::loss_kind::squared_error)
            return hadamard(col_broadcast<O::cols>(g), jv);
        else
            return hadamard(col_broadcast<O::cols>(hadamard(g, row_sum(Y{}))), softmax_op::jacobian_times(softmax(O{}), jv));
    }();
    return detail::backward<O, decltype(u), P...>();
}

}  // namespace gateaux
