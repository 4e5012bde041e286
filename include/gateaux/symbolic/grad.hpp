#pragma once
// Reverse mode, symbolically: the adjoint (cotangent) of node J is the sum, over each use of J
// as operand k of a node C, of C's op's adjoint rule k applied to C's adjoint. The uses come
// from a constexpr edge table over the forward schedule (integers, not a type-level map), and
// each node's adjoint is a member class template of the pass, so the compiler memoises it (a
// class, not a function, whose assembler name would spell the whole schedule): every adjoint is
// built once, the forward nodes are shared with the loss, and a branch that reaches no
// requested parameter is never visited.
//   grad(loss, wrt(W1, W2))   the gradient blocks, one group entry per parameter
//   vjp(e, wrt(W1, W2))       uᵀJ for a cotangent leaf u shaped like e (bound as "u")
#include <array>
#include <cstdint>
#include <utility>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../core/meta.hpp"
#include "../eval/schedule.hpp"
#include "../ops/add.hpp"
#include "../core/group.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail {

template <class... C>
constexpr auto add_all(C... c) {
    return (... + c);  // only same-shaped operands reach here, so + is add
}

template <class Sched, class Root, class Seed>
struct reverse;

template <class... N, class Root, class Seed>
struct reverse<meta::list<N...>, Root, Seed> {
    using sched = meta::list<N...>;
    struct edge {
        std::uint32_t from, to, slot;  // node `from` is operand `slot` of node `to`
    };
    static constexpr std::size_t n_nodes = sizeof...(N);
    static constexpr std::size_t n_edges = (N::args::size + ... + 0);
    static constexpr std::array<edge, n_edges> edges = [] {
        std::array<edge, n_edges> out{};
        std::size_t e = 0;
        std::uint32_t to = 0;
        (
            [&]<class... A>(meta::list<A...>) {
                std::uint32_t slot = 0;
                ((out[e++] = edge{static_cast<std::uint32_t>(meta::position<sched, A>::value), to, slot++}), ...);
                ++to;
            }(typename N::args{}),
            ...);
        return out;
    }();

    // The uses of every node, grouped by node in one counting pass over the edge table: the
    // uses of node J are uses.edges[uses.first[J]] up to uses.edges[uses.first[J + 1]], in edge
    // order, so each adjoint adds its contributions in the order the edge table lists them.
    // (Scanning all edges for each node made this quadratic in the graph's size.)
    struct use_table {
        std::array<std::uint32_t, n_nodes + 1> first;
        std::array<edge, n_edges> edges;
    };
    static constexpr use_table uses = [] {
        use_table out{};
        for (const edge& e : edges) ++out.first[e.from + 1];
        for (std::size_t j = 0; j < n_nodes; ++j) out.first[j + 1] += out.first[j];
        std::array<std::uint32_t, n_nodes> next{};
        for (std::size_t j = 0; j < n_nodes; ++j) next[j] = out.first[j];
        for (const edge& e : edges) out.edges[next[e.from]++] = e;
        return out;
    }();

    // A node's adjoint and an edge's contribution are member class templates (their `type`), not
    // functions: a function's assembler name would spell the whole schedule, once per node and
    // edge, and g++ mangles the name of every instantiated function, emitted or not, in time
    // quadratic in the name's length (core/meta.hpp). The op's adjoint rule stays a function.
    template <std::size_t J, bool IsRoot = __is_same(type_at_t<J, sched>, Root),
              class U = std::make_index_sequence<uses.first[J + 1] - uses.first[J]>>
    struct adjoint_node;
    template <std::size_t I, std::size_t K, class C = type_at_t<I, sched>, class Args = typename C::args>
    struct contribution_node;

    template <std::size_t J, class U>
    struct adjoint_node<J, true, U> {
        using type = Seed;
    };
    template <std::size_t J, std::size_t... U>
    struct adjoint_node<J, false, std::index_sequence<U...>> {
        // Qualified: an unqualified call would make argument-dependent lookup walk every type
        // these deep expression types name.
        using type = decltype(detail::add_all(typename contribution_node<uses.edges[uses.first[J] + U].to,
                                                                          uses.edges[uses.first[J] + U].slot>::type{}...));
    };
    template <std::size_t I, std::size_t K, class C, class... A>
    struct contribution_node<I, K, C, meta::list<A...>> {
        using type = decltype(C::op::template adjoint<K>(C{}, typename adjoint_node<I>::type{}, A{}...));
    };

    template <class P>
    using adjoint_t = typename adjoint_node<meta::position<sched, P>::value>::type;

    template <class P>
    static constexpr auto adjoint_of() {
        return adjoint_t<P>{};
    }
};

// Instantiated only when the check fails, so g++ names the parameter in its "with" line. A class,
// not a constexpr function: g++ would report a function met while constant-evaluating the
// caller with the caller's whole call, arguments and all.
template <fixed_string Name, bool Occurs>
struct check_occurs {
    static_assert(Occurs, "gateaux::grad(loss, wrt(params...)): a parameter does not occur in the loss");
};

template <class E, class Seed, class... P>
constexpr auto backward() {
    using S = placed_t<E>;  // the nodes of E's schedule, as an ordered set
    if constexpr (!(meta::in_set<S, P>::value && ...)) {
        (void)(sizeof(check_occurs<P::name, meta::in_set<S, P>::value>) + ...);
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using R = reverse<schedule_t<E>, E, Seed>;
        return group<meta::list<P...>, meta::list<typename R::template adjoint_t<P>...>>{};
    }
}

}  // namespace detail

// Both checks are made here, at the entry; after a failed one the gradient is zero and nothing
// of the reverse pass is built.
template <expression L, class... P>
constexpr auto grad(L, params<P...>) {
    static_assert(scalar_shape<L::shape_value>, "gateaux::grad(loss, wrt(...)) requires a scalar (1×1) loss");
    using S = detail::placed_t<L>;
    if constexpr (!scalar_shape<L::shape_value> || is_invalid(L::shape_value)) {
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else if constexpr (!(meta::in_set<S, P>::value && ...)) {
        // backward() checks this too, but from here g++ prints the loss once, not twice.
        (void)(sizeof(detail::check_occurs<P::name, meta::in_set<S, P>::value>) + ...);
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return detail::backward<L, ones<1, 1>, P...>();
    }
}

// The cotangent leaf u of a vector–Jacobian product uᵀJ: shaped like the expression.
template <expression E>
using cotangent_t = leaf<cotangent_kind, "u", E::rows, E::cols>;

template <expression E, class... P>
constexpr auto vjp(E, params<P...>) {
    return detail::backward<E, cotangent_t<E>, P...>();
}

}  // namespace gateaux
