#pragma once
// Pearlmutter's R-operator: H·v = d/dr ∇L(θ + r·v) at r = 0, the tangent transform of the
// gradient expressions. No tape and no numbers: a new expression per parameter block,
// (H·v)_P = Σ_Q H_PQ v_Q over the parameters Q in wrt(...), with v_Q bound as direction(Q).
//   auto hv = hvp(loss, wrt(W1, W2));
//   auto prog = compile(loss, grad(loss, wrt(W1, W2)), hv);   // one pass, shared forward values
#include "grad.hpp"
#include "../core/group.hpp"
#include "tangent.hpp"

namespace gateaux {

namespace detail {
template <class Exprs, class Params, class Dirs>
struct tangents;
template <class... E, class Params, class Dirs>
struct tangents<meta::list<E...>, Params, Dirs> {
    using type = meta::list<tangent_t<E, Params, Dirs>...>;
};
}  // namespace detail

// R{e}: the tangent of any expression (a gradient block, the network output, ...).
template <expression E, class... P>
constexpr auto rop(E e, params<P...> w) {
    return jvp(e, w);
}

template <expression E, class... P, class... D>
constexpr auto rop(E e, params<P...> w, directions<D...> d) {
    return jvp(e, w, d);
}

// H·v with v bound as direction(P) for each P, or given explicitly: hvp(loss, wrt(W), along(V)).
template <expression L, class... P, class... D>
constexpr auto hvp(L loss, params<P...> w, directions<D...>) {
    if constexpr (!detail::directions_fit<meta::list<P...>, meta::list<D...>>) {
        detail::check_directions(meta::list<P...>{}, meta::list<D...>{});
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using G = decltype(grad(loss, w));
        using T = typename detail::tangents<typename G::expressions, meta::list<P...>, meta::list<D...>>::type;
        return group<meta::list<P...>, T>{};
    }
}
template <expression L, class... P>
constexpr auto hvp(L loss, params<P...> w) {
    return hvp(loss, w, directions<direction_t<P>...>{});
}

}  // namespace gateaux
