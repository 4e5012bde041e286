#pragma once
// The tangent (forward-mode) transform: d/dr E(θ + r·v) at r = 0, as a new expression built from
// each op's tangent rule. Parameters in the list get their direction leaf, every other leaf a
// symbolic zero, and zeros fold through the rules, so only what depends on v is built.
//   jvp(out, wrt(W1, W2))    J·v of any expression (the network output for Gauss–Newton)
//   rop(e, wrt(...))         the same transform applied to a gradient: R{∇L} = H·v
#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail {
template <class E, class Params>
struct tangent_of;

template <class K, fixed_string N, dim R, dim C, class Params>
struct tangent_of<leaf<K, N, R, C>, Params> {
    using L = leaf<K, N, R, C>;
    using type = std::conditional_t<meta::contains<Params, L>, direction_t<L>, zero<R, C>>;
};

template <class Op, class... A, class Params>
struct tangent_of<node<Op, A...>, Params> {
    static constexpr auto make() {
        if constexpr (sizeof...(A) == 0)
            return zero<node<Op>::rows, node<Op>::cols>{};  // constants
        else
            return Op::tangent(node<Op, A...>{}, A{}..., typename tangent_of<A, Params>::type{}...);
    }
    using type = decltype(make());
};
}  // namespace detail

template <class E, class Params>
using tangent_t = typename detail::tangent_of<E, Params>::type;

// J·v: the directional derivative of e along the directions of the given parameters.
template <expression E, class... P>
constexpr auto jvp(E, params<P...>) {
    return tangent_t<E, meta::list<P...>>{};
}

}  // namespace gateaux
