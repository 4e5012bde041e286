#pragma once
// compile(outputs...): the program that evaluates all the outputs in one pass.
//
//   auto prog = compile(loss, out);
//   prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2);   // or prog.bind("x", X)
//   prog.run();
//   double l = prog.scalar(loss);  const tensor& o = prog[out];
//
// The schedule (distinct nodes in topological order) and the step table are computed at
// compile time; run() executes it with buffers that are allocated once per batch size.
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../core/expr.hpp"
#include "../core/meta.hpp"
#include "engine.hpp"
#include "schedule.hpp"
#include "../core/group.hpp"

namespace gateaux {

namespace detail {

template <class Op>
concept constant_op = requires { requires Op::constant; };

// A node's step: its kernel, its operands' positions in the schedule, its shape.
//
// Nothing here is a variable or a function (consteval ones included) with a whole schedule among
// its template arguments, except the few members of tables: g++ gives every instantiated variable
// and function an assembler name, emitted or not, and mangling a name that spells a schedule
// takes time quadratic in its length (meta.hpp). So the operands' positions are looked up into a
// type, arg_positions<Sched, Args>::type (meta::position, one class per schedule), and step_of<N>
// takes them as a sequence of integers.
template <class Sched, class Args>
struct arg_positions;
template <class Sched, class... A>
struct arg_positions<Sched, meta::list<A...>> {
    using type = std::integer_sequence<std::uint32_t, static_cast<std::uint32_t>(meta::position<Sched, A>::value)...>;
};

// A step depends on the node's op, shape and operand positions only, so make is one function per
// such combination, whose name spells no node (in practice about one per node, each name short). step_of<N>::type is that class.
template <class Op, dim R, dim C, class Slots>
struct op_step;
template <class Op, dim R, dim C, std::size_t... I>
struct op_step<Op, R, C, std::index_sequence<I...>> {
    static_assert(sizeof...(I) <= max_arity);
    template <std::uint32_t... P>
    static consteval step make(std::integer_sequence<std::uint32_t, P...>) {
        return {&run_kernel<Op, I...>, {P...}, R, C, constant_op<Op>};
    }
};
template <dim R, dim C>
struct leaf_step {
    static consteval step make(std::integer_sequence<std::uint32_t>) { return {nullptr, {}, R, C, false}; }
};
template <class N>
struct step_of {
    using type = op_step<typename N::op, N::rows, N::cols, std::make_index_sequence<N::args::size>>;
};
template <class K, fixed_string Name, dim R, dim C>
struct step_of<leaf<K, Name, R, C>> {
    using type = leaf_step<R, C>;
};

inline constexpr std::uint32_t not_a_leaf = ~std::uint32_t(0);
// Stands for every node that is not a leaf, so that leaf_info_of is instantiated once for them all.
struct not_a_leaf_node {};

// A node's leaf_info (its index in the schedule as node), or one marked not_a_leaf.
template <class N>
consteval leaf_info leaf_info_of(std::uint32_t index) {
    if constexpr (is_leaf<N>)
        return {N::name.view(), N::kind::name, N::kind::is_data, N::rows, N::cols, index};
    else
        return {{}, {}, false, 0, 0, not_a_leaf};
}

// The leaves among all nodes' infos, in schedule order.
template <std::size_t L, std::size_t M>
consteval std::array<leaf_info, L> leaves_among(const std::array<leaf_info, M>& all) {
    std::array<leaf_info, L> out{};
    std::size_t k = 0;
    for (const leaf_info& i : all)
        if (i.node != not_a_leaf) out[k++] = i;
    return out;
}

// For each node, its number among the leaves (for leaves; 0 for other nodes).
template <std::size_t M, std::size_t L>
consteval std::array<std::uint32_t, M> leaf_numbers(const std::array<leaf_info, L>& leaves) {
    std::array<std::uint32_t, M> out{};
    for (std::size_t l = 0; l < L; ++l) out[leaves[l].node] = static_cast<std::uint32_t>(l);
    return out;
}

// Two different leaves may not share a name: binding by name would be ambiguous.
template <std::size_t L>
consteval bool names_unique(const std::array<leaf_info, L>& leaves) {
    for (std::size_t a = 0; a < L; ++a)
        for (std::size_t b = a + 1; b < L; ++b)
            if (leaves[a].name == leaves[b].name) return false;
    return true;
}

template <class Sched, class Index = std::make_index_sequence<Sched::size>>
struct tables;
template <class... N, std::size_t... I>
struct tables<meta::list<N...>, std::index_sequence<I...>> {
    // Named once: spelling meta::list<N...> inside the expansion below would rebuild (hash and
    // compare) the whole list for every node.
    using schedule = meta::list<N...>;
    static constexpr std::array<step, sizeof...(N)> steps{
        step_of<N>::type::make(typename arg_positions<schedule, typename N::args>::type{})...};
    static constexpr std::size_t n_leaves = (std::size_t(is_leaf<N>) + ... + 0);
    static constexpr std::array<leaf_info, n_leaves> leaves =
        leaves_among<n_leaves>(std::array<leaf_info, sizeof...(N)>{leaf_info_of<std::conditional_t<is_leaf<N>, N, not_a_leaf_node>>(static_cast<std::uint32_t>(I))...});
    static constexpr std::array<std::uint32_t, sizeof...(N)> leaf_number = leaf_numbers<sizeof...(N)>(leaves);
    static constexpr bool names_unique = detail::names_unique(leaves);
};

template <class>
inline constexpr bool binds_temporary = false;

// The rvalue overloads of program::bind: the program keeps a pointer to bound data, so a
// temporary would dangle. In a base that is no template on the program, so that g++ names the
// leaf only, not the whole program.
struct refuse_temporaries {
    template <class L>
    void bind(L, const tensor&&) {
        static_assert(binds_temporary<L>,
                      "gateaux::program::bind(leaf, tensor): the program keeps a pointer to bound data, so a "
                      "temporary would dangle; bind a named tensor that outlives the runs");
    }
};

}  // namespace detail

template <expression... Outputs>
class program : private detail::engine, private detail::refuse_temporaries {
    using schedule = schedule_t<Outputs...>;
    using table = detail::tables<schedule>;
    static_assert(table::names_unique,
                  "gateaux::compile(outputs...): two different leaves share a name (same name, other kind or shape)");

    // One instantiation per leaf bound or node read by the caller, not per node or edge: their
    // names spell the program, but they are few (detail::step_of).
    template <class E>
    static consteval std::size_t node_index() {
        return meta::position<schedule, E>::value;
    }
    // 0 for a leaf the program does not use (bind's static_assert has reported it).
    template <class L>
    static consteval std::size_t leaf_index() {
        return node_index<L>() == meta::npos ? 0 : table::leaf_number[node_index<L>()];
    }
    // An output built on a failed shape check (invalid_expr) lacks the leaves and nodes of the
    // invalid part: the program's own checks are then skipped, the op has reported the mistake.
    static constexpr bool poisoned = (invalid_expr<Outputs> || ...);

public:
    program() : engine(table::steps, table::leaves) {}

    static constexpr std::size_t node_count = schedule::size;

    // Bind a leaf's tensor (checked now: shape, and finiteness for inputs and targets).
    template <class K, fixed_string N, dim R, dim C>
    program& bind(leaf<K, N, R, C>, const tensor& t) {
        if constexpr (!poisoned)
            static_assert(node_index<leaf<K, N, R, C>>() != meta::npos,
                          "gateaux::program::bind(leaf, tensor): this leaf is not used by the program's outputs");
        bind_leaf(leaf_index<leaf<K, N, R, C>>(), t);
        return *this;
    }
    program& bind(std::string_view name, const tensor& t) {
        bind_name(name, t);
        return *this;
    }
    // The tensor bound to a leaf (null if none), and forgetting a binding.
    template <class K, fixed_string N, dim R, dim C>
    const tensor* bound(leaf<K, N, R, C>) const {
        if constexpr (!poisoned)
            static_assert(node_index<leaf<K, N, R, C>>() != meta::npos,
                          "gateaux::program::bound(leaf): this leaf is not used by the program's outputs");
        return bound_leaf(leaf_index<leaf<K, N, R, C>>());
    }
    template <class K, fixed_string N, dim R, dim C>
    program& unbind(leaf<K, N, R, C>) {
        if constexpr (!poisoned)
            static_assert(node_index<leaf<K, N, R, C>>() != meta::npos,
                          "gateaux::program::unbind(leaf): this leaf is not used by the program's outputs");
        unbind_leaf(leaf_index<leaf<K, N, R, C>>());
        return *this;
    }
    // Calls f(leaf) for each leaf of the program (an empty value of the leaf's type).
    template <class F>
    static void for_each_leaf(F&& f) {
        [&]<class... N>(meta::list<N...>) {
            ([&] {
                if constexpr (is_leaf<N>) f(N{});
            }(), ...);
        }(schedule{});
    }

    // Whether the program computes e (as an output or a shared subexpression).
    template <expression E>
    static constexpr bool computes(E) {
        return node_index<E>() != meta::npos;
    }

    // The program keeps a pointer to bound data, so temporaries cannot be bound (by leaf or name).
    using detail::refuse_temporaries::bind;

    using engine::batch_size;
    using engine::run;

    template <expression E>
    const tensor& operator[](E) const {
        if constexpr (!poisoned)
            static_assert(node_index<E>() != meta::npos,
                          "gateaux::program[expr]: expr is not an output (or a subexpression of one) of this program");
        return value_at(node_index<E>());
    }
    template <expression E>
    double scalar(E e) const {
        if constexpr (!invalid_expr<E>)
            static_assert(E::rows == 1 && E::cols == 1, "gateaux::program::scalar(expr) requires a 1×1 expression");
        return (*this)[e](0, 0);
    }
};

namespace detail {
// Outputs may be expressions or groups of expressions (a gradient, an H·v): groups are spliced.
template <class T>
struct output_list {
    using type = meta::list<T>;
};
template <class P, class... E>
struct output_list<group<P, meta::list<E...>>> {
    using type = meta::list<E...>;
};
template <class... L>
struct concat_lists;
template <>
struct concat_lists<> {
    using type = meta::list<>;
};
template <class... A>
struct concat_lists<meta::list<A...>> {
    using type = meta::list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat_lists<meta::list<A...>, meta::list<B...>, Rest...> : concat_lists<meta::list<A..., B...>, Rest...> {};
template <class L>
struct program_of;
template <class... E>
struct program_of<meta::list<E...>> {
    using type = program<E...>;
};
}  // namespace detail

// compile(outputs...): outputs are expressions or groups (grad(...), hvp(...)).
template <class... Outputs>
auto compile(Outputs...) {
    static_assert(sizeof...(Outputs) > 0, "gateaux::compile(outputs...) needs at least one output");
    using flat = typename detail::concat_lists<typename detail::output_list<Outputs>::type...>::type;
    return typename detail::program_of<flat>::type{};
}

}  // namespace gateaux
