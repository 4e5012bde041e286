#pragma once
// The evaluation schedule: every distinct node reachable from the outputs, operands before
// users, each exactly once. Common subexpressions are shared by type identity.
// Depth-first with one threaded "visited" list (a node already seen costs one lookup), which
// keeps graph bookkeeping linear-ish in the number of nodes; no type-level sets or maps.
#include "../core/expr.hpp"
#include "../core/meta.hpp"

namespace gateaux::detail {

template <class Visited, class N, bool Seen = meta::contains<Visited, N>>
struct visit {
    using type = Visited;
};

template <class Visited, class Args>
struct visit_all;
template <class Visited>
struct visit_all<Visited, meta::list<>> {
    using type = Visited;
};
template <class Visited, class A, class... Rest>
struct visit_all<Visited, meta::list<A, Rest...>>
    : visit_all<typename visit<Visited, A>::type, meta::list<Rest...>> {};

template <class Visited, class N>
struct visit<Visited, N, false> {
    using type = typename meta::push_back<typename visit_all<Visited, typename N::args>::type, N>::type;
};

}  // namespace gateaux::detail

namespace gateaux {

// schedule_t<Outputs...>: meta::list of the unique nodes (leaves included) in topological order.
template <class... Outputs>
using schedule_t = typename detail::visit_all<meta::list<>, meta::list<Outputs...>>::type;

}  // namespace gateaux
