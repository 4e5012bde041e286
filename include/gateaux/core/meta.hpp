#pragma once
// Plain type lists for graph bookkeeping, and the lookups a graph makes once per edge (its
// schedule, eval/schedule.hpp, and the tables built over it): positions in a list of distinct
// types, and an ordered set that grows one type at a time.
//
// Those lookups decide whether compile time grows linearly with a network's depth. index_of<T>
// instantiates a function over the whole list and runs a constexpr loop over it for each type
// looked up: cheap for the short lists of parameters it serves, quadratic in the graph's size
// for a schedule.
#include <cstddef>
#include <type_traits>

namespace gateaux::meta {

namespace detail {
// A list's size, inherited from one class per size: a static member of list<T...> itself would be
// a variable per list, and g++ mangles the name of every instantiated variable (position, below).
template <std::size_t N>
struct sized {
    static constexpr std::size_t size = N;
};
}  // namespace detail

template <class... T>
struct list : detail::sized<sizeof...(T)> {};

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

// The index of the first T in any list (types may repeat), or npos.
template <class T, class... Ts>
constexpr std::size_t index_of(list<Ts...>) {
    constexpr bool hits[] = {false, __is_same(T, Ts)...};
    for (std::size_t i = 1; i < sizeof...(Ts) + 1; ++i)
        if (hits[i]) return i - 1;
    return npos;
}

template <class L, class T>
inline constexpr bool contains = index_of<T>(L{}) != npos;

template <class L, class T>
struct push_back;
template <class... Ts, class T>
struct push_back<list<Ts...>, T> {
    using type = list<Ts..., T>;
};

template <class L, template <class> class F>
struct transform;
template <class... Ts, template <class> class F>
struct transform<list<Ts...>, F> {
    using type = list<typename F<Ts>::type...>;
};

template <class A, class B>
struct concat;
template <class... A, class... B>
struct concat<list<A...>, list<B...>> {
    using type = list<A..., B...>;
};

// ---------------------------------------------------------------- positions and sets
//
// Both answer "is T among these types" with the __is_base_of builtin on a class deriving from
// element<T> for each of them: a walk over base classes inside the compiler, a few hundred
// instructions per element and nothing instantiated, where index_of instantiates a function over
// the whole list and runs a constexpr loop over it (about ten thousand instructions per element).

namespace detail {
// One byte each, so that a position is an offset. Never empty also matters: g++ lays out a class
// with empty bases by comparing every pair of empty subobjects for a shared address.
template <class T>
struct element {
    char c;
};
}  // namespace detail

// flat<L>: a class holding one byte per type of L (distinct types), in order.
template <class L>
struct flat;
template <class... T>
struct flat<list<T...>> : detail::element<T>... {};

// position<L, T>::value: T's index in L, a list of distinct types, or npos: the offset of T's byte
// in flat<L>. (offsetof into a class with several bases is "conditionally supported"; g++
// supports it, and warns.)
//
// These lookups, and in_set below, are class templates deriving from std::integral_constant, not
// variable templates: g++ gives every instantiated variable (and function) an assembler name,
// whether or not it is emitted, and a name that spells a whole schedule costs time quadratic in
// the schedule's length to mangle (its substitution search). One such name per edge made compile
// time grow with the cube of depth; a class's name is never mangled unless it appears in one.
template <class L, class T, bool In = __is_base_of(detail::element<T>, flat<L>)>
struct position : std::integral_constant<std::size_t, npos> {};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
template <class L, class T>
struct position<L, T, true> : std::integral_constant<std::size_t, __builtin_offsetof(flat<L>, detail::element<T>::c)> {};
#pragma GCC diagnostic pop

// ordered_set<Runs...>: distinct types in insertion order, grown one at a time (the schedule's
// traversal), kept like the digits of a binary counter so that a growing set is not copied whole
// at each insertion: a few runs, newest first, each holding 2^j consecutive elements as a list and
// as a tree of classes (tree<L, R> derives from its halves, a leaf is element<T>). Inserting
// appends a run of one and merges runs of equal size, so each element is copied O(log n) times.
//   using S = insert_t<insert_t<ordered_set<>, A>, B>;
//   `in_set<S, B>::value == true`, `in_set<S, C>::value == false`, `elements_t<S> == list<A, B>`
template <class... Runs>
struct ordered_set {};

namespace detail {
template <class L, class R>
struct tree : L, R {};
template <std::size_t Size, class Elements, class Tree>
struct run {};

template <class S, class Run>
struct add_run;
template <class Run>
struct add_run<ordered_set<>, Run> {
    using type = ordered_set<Run>;
};
template <class R0, class... Rs, class Run>
struct add_run<ordered_set<R0, Rs...>, Run> {
    using type = ordered_set<Run, R0, Rs...>;
};
// Two runs of one size merge, the older one first, and the result may merge again.
template <std::size_t N, class L0, class T0, class... Rs, class L1, class T1>
struct add_run<ordered_set<run<N, L0, T0>, Rs...>, run<N, L1, T1>>
    : add_run<ordered_set<Rs...>, run<2 * N, typename concat<L0, L1>::type, tree<T0, T1>>> {};

template <class S>
struct elements;
template <>
struct elements<ordered_set<>> {
    using type = list<>;
};
template <std::size_t N, class L0, class T0, class... Rs>
struct elements<ordered_set<run<N, L0, T0>, Rs...>> {
    using type = typename concat<typename elements<ordered_set<Rs...>>::type, L0>::type;
};
}  // namespace detail

// S with T appended (T must not be in S yet).
template <class S, class T>
using insert_t = typename detail::add_run<S, detail::run<1, list<T>, detail::element<T>>>::type;

// in_set<S, T>::value: whether T is an element of S.
template <class S, class T>
struct in_set : std::false_type {};
template <std::size_t... N, class... L, class... Tr, class T>
struct in_set<ordered_set<detail::run<N, L, Tr>...>, T> : std::bool_constant<(__is_base_of(detail::element<T>, Tr) || ...)> {};

// The elements of S in insertion order.
template <class S>
using elements_t = typename detail::elements<S>::type;

}  // namespace gateaux::meta
