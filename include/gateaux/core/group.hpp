#pragma once
// group: one derived expression per parameter, e.g. the gradient blocks of grad(loss, wrt(W1, W2)).
//   auto g = grad(loss, wrt(W1, W2));
//   auto [g1, g2] = g;                 // structured bindings
//   g.of(W2)                           // by parameter
//   compile(loss, g)                   // a group is flattened into its expressions
#include <cstddef>
#include <tuple>

#include "../core/expr.hpp"
#include "../core/meta.hpp"

namespace gateaux {

namespace detail {
template <std::size_t I, class T>
struct indexed {
    using type = T;
    char c;  // not empty: see meta::detail::element
};
template <class Seq, class... T>
struct indexer;
template <std::size_t... I, class... T>
struct indexer<std::index_sequence<I...>, T...> : indexed<I, T>... {};
template <class L>
struct indexer_of;
template <class... T>
struct indexer_of<meta::list<T...>> {
    using type = indexer<std::index_sequence_for<T...>, T...>;
};
template <std::size_t I, class T>
indexed<I, T> select(const indexed<I, T>&);
}  // namespace detail

// The I-th type of a list, without recursion: a deduction against the bases of an indexer built
// once per list (indexer_of is a class template, so it is memoised; spelling the indexer out here
// would rebuild its argument list, as long as the list, for every index looked up).
template <std::size_t I, class L>
struct type_at {
    using type = typename decltype(detail::select<I>(typename detail::indexer_of<L>::type{}))::type;
};
template <std::size_t I, class L>
using type_at_t = typename type_at<I, L>::type;

template <class Params, class Exprs>
struct group;

template <class... P, class... E>
struct group<meta::list<P...>, meta::list<E...>> {
    using parameters = meta::list<P...>;
    using expressions = meta::list<E...>;
    static constexpr std::size_t size = sizeof...(E);

    template <expression Q>
    static constexpr auto of(Q) {
        constexpr std::size_t i = meta::index_of<Q>(parameters{});
        static_assert(i != meta::npos, "gateaux::group::of(param): not one of the group's parameters");
        return type_at_t<i, expressions>{};
    }
    template <std::size_t I>
    constexpr auto get() const {
        return type_at_t<I, expressions>{};
    }
};

template <std::size_t I, class P, class E>
constexpr auto get(group<P, E> g) {
    return g.template get<I>();
}

template <class T>
inline constexpr bool is_group = false;
template <class P, class E>
inline constexpr bool is_group<group<P, E>> = true;

}  // namespace gateaux

// Structured bindings of a group. Hidden from Doxygen (scripts/docs), which cannot place a
// specialization of a std template declared outside namespace std.
//! \cond
template <class P, class E>
struct std::tuple_size<gateaux::group<P, E>> : std::integral_constant<std::size_t, E::size> {};
template <std::size_t I, class P, class E>
struct std::tuple_element<I, gateaux::group<P, E>> {
    using type = gateaux::type_at_t<I, E>;
};
//! \endcond
