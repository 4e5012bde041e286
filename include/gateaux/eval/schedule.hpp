#pragma once
// The evaluation schedule: every distinct node reachable from the outputs, operands before
// users, each exactly once. Common subexpressions are shared by type identity.
//
// Depth-first, threading one value through the traversal: the nodes placed so far, as a
// meta::ordered_set. Each edge costs one membership test, the __is_base_of builtin (a walk inside
// the compiler, nothing instantiated), and placing a node costs O(log n) amortised. A threaded
// list instead was copied whole at each placement and searched by instantiating index_of at each
// edge: quadratic in the graph's size, the larger part of a deep network's compile time.
#include "../core/expr.hpp"
#include "../core/meta.hpp"

namespace gateaux::detail {

template <class Placed, class N, bool Seen = meta::in_set<Placed, N>::value>
struct visit {
    using type = Placed;
};

template <class Placed, class Args>
struct visit_all;
template <class Placed>
struct visit_all<Placed, meta::list<>> {
    using type = Placed;
};
template <class Placed, class A, class... Rest>
struct visit_all<Placed, meta::list<A, Rest...>> : visit_all<typename visit<Placed, A>::type, meta::list<Rest...>> {};

template <class Placed, class N>
struct visit<Placed, N, false> {
    using type = meta::insert_t<typename visit_all<Placed, typename N::args>::type, N>;
};

// The schedule of the outputs as a meta::ordered_set (its elements_t is schedule_t).
template <class... Outputs>
using placed_t = typename visit_all<meta::ordered_set<>, meta::list<Outputs...>>::type;

}  // namespace gateaux::detail

namespace gateaux {

// schedule_t<Outputs...>: meta::list of the unique nodes (leaves included) in topological order.
template <class... Outputs>
using schedule_t = meta::elements_t<detail::placed_t<Outputs...>>;

}  // namespace gateaux
