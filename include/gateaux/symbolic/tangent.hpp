#pragma once
// The tangent (forward-mode) transform: d/dr E(θ + r·v) at r = 0, as a new expression built from
// each op's tangent rule. Parameters in the list get their direction leaf, every other leaf a
// symbolic zero, and zeros fold through the rules, so only what depends on v is built.
//   jvp(out, wrt(W1, W2))    J·v of any expression (the network output for Gauss–Newton)
//   rop(e, wrt(...))         the same transform applied to a gradient: R{∇L} = H·v
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "wrt.hpp"

namespace gateaux {

// along(v1, v2, ...): directions given by the caller instead of the default direction(P)
// leaves; any expressions, one per parameter in wrt(...), each of its parameter's shape.
template <class... D>
struct directions {
    using list = meta::list<D...>;
};
template <class T>
inline constexpr bool is_directions = false;
template <class... D>
inline constexpr bool is_directions<directions<D...>> = true;

template <expression... D>
constexpr directions<D...> along(D...) {
    return {};
}

namespace detail {
// Params and Dirs are parallel lists: parameter i moves along direction i.
template <class E, class Params, class Dirs>
struct tangent_of;

template <class K, fixed_string N, dim R, dim C, class Params, class Dirs>
struct tangent_of<leaf<K, N, R, C>, Params, Dirs> {
    static constexpr std::size_t i = meta::index_of<leaf<K, N, R, C>>(Params{});
    static constexpr auto make() {
        if constexpr (i == meta::npos)
            return zero<R, C>{};
        else
            return type_at_t<i, Dirs>{};
    }
    using type = decltype(make());
};

template <class Op, class... A, class Params, class Dirs>
struct tangent_of<node<Op, A...>, Params, Dirs> {
    static constexpr auto make() {
        if constexpr (sizeof...(A) == 0)
            return zero<node<Op>::rows, node<Op>::cols>{};  // constants
        else
            return Op::tangent(node<Op, A...>{}, A{}..., typename tangent_of<A, Params, Dirs>::type{}...);
    }
    using type = decltype(make());
};

// Instantiated only when the check fails, so g++ names the parameter and both shapes.
template <fixed_string Param, shape ParamShape, shape DirectionShape>
constexpr void check_direction_shape() {
    static_assert(ParamShape == DirectionShape,
                  "gateaux: a direction in along(...) must have its parameter's shape [shapes are {rows, cols}]");
}
// Whether directions D fit parameters P (same count, each of its parameter's shape): checked
// before anything is built from them, so that a mistake reports this and nothing else.
template <class Ps, class Ds>
inline constexpr bool directions_fit = false;
template <class... P, class... D>
    requires(sizeof...(P) == sizeof...(D))
inline constexpr bool directions_fit<meta::list<P...>, meta::list<D...>> = ((P::shape_value == D::shape_value) && ...);

// Not constexpr: g++ instantiates a constexpr function met while constant-evaluating its caller
// and then prints that whole call, arguments and all, with the message.
template <class... P, class... D>
void check_directions(meta::list<P...>, meta::list<D...>) {
    static_assert(sizeof...(P) == sizeof...(D), "gateaux: along(...) needs one direction per parameter in wrt(...)");
    if constexpr (sizeof...(P) == sizeof...(D))
        (check_direction_shape<P::name, P::shape_value, D::shape_value>(), ...);
}
}  // namespace detail

// The tangent of E when parameters P move along directions D (default: direction(P) leaves).
template <class E, class Params, class Dirs = typename meta::transform<Params, direction_of>::type>
using tangent_t = typename detail::tangent_of<E, Params, Dirs>::type;

// J·v: the directional derivative of e along the directions of the given parameters.
template <expression E, class... P>
constexpr auto jvp(E, params<P...>) {
    return tangent_t<E, meta::list<P...>>{};
}
template <expression E, class... P, class... D>
constexpr auto jvp(E, params<P...>, directions<D...>) {
    if constexpr (!detail::directions_fit<meta::list<P...>, meta::list<D...>>) {
        detail::check_directions(meta::list<P...>{}, meta::list<D...>{});
        return zero_like<E>{};
    } else {
        return tangent_t<E, meta::list<P...>, meta::list<D...>>{};
    }
}

}  // namespace gateaux
