#pragma once
// wrt(W1, W2, ...): the parameters to differentiate with respect to, and direction(W): the leaf
// that holds the direction v for W in an R-operator (bound under the name "v.W").
#include "../core/expr.hpp"
#include "../core/meta.hpp"

namespace gateaux {

template <class... P>
struct params {
    using list = meta::list<P...>;
};

namespace detail {
// Instantiated only when the check fails, so g++ names the culprit in its "with" line.
template <fixed_string Name, bool IsParameter>
constexpr void check_is_parameter() {
    static_assert(IsParameter, "gateaux::wrt(...) takes parameters (param<...> or bias<...>) only");
}
}  // namespace detail

template <expression... P>
constexpr params<P...> wrt(P...) {
    static_assert(sizeof...(P) > 0, "gateaux::wrt(...) needs at least one parameter");
    if constexpr (!(parameter<P> && ...)) {
        (detail::check_is_parameter<detail::name_of<P>(), parameter<P>>(), ...);
    }
    return {};
}

template <class P>
using direction_t = leaf<direction_kind, concat<"v.", P::name>(), P::rows, P::cols>;

template <class P>
struct direction_of {
    using type = direction_t<P>;
};

template <fixed_string N, dim R, dim C>
constexpr direction_t<leaf<param_kind, N, R, C>> direction(leaf<param_kind, N, R, C>) {
    return {};
}

}  // namespace gateaux
