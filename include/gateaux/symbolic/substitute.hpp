#pragma once
// substitute_t<E, Old, New>: E with every occurrence of the subexpression Old replaced by New.
// The functional inverse uses it to treat a layer's net input as a free variable (a leaf) while
// the rest of the network stays as it is.
#include "../core/expr.hpp"

namespace gateaux {

namespace detail {
template <class E, class Old, class New, bool Hit = __is_same(E, Old)>
struct substitute {
    using type = E;  // a leaf, or a constant, other than Old
};
template <class E, class Old, class New>
struct substitute<E, Old, New, true> {
    using type = New;
};
template <class Op, class... A, class Old, class New>
struct substitute<node<Op, A...>, Old, New, false> {
    using type = node<Op, typename substitute<A, Old, New>::type...>;
};
}  // namespace detail

template <class E, class Old, class New>
using substitute_t = typename detail::substitute<E, Old, New>::type;

}  // namespace gateaux
