#pragma once
// The graph is the type. Every expression is an empty constexpr value whose type records
// the operation and its operands (node<Op, Args...>) or, for a leaf, its kind, name and shape.
// Two occurrences of the same subexpression have the same type, so they are one value.
#include <concepts>
#include <string_view>
#include <type_traits>

#include "dim.hpp"
#include "meta.hpp"

namespace gateaux {

struct expr_tag {};

// Anything built by gateaux; plain xtensor objects are never expressions. (std::derived_from,
// spelled out with class templates: its std::is_convertible_v would be one variable per
// expression type, see shape_base::shaped below.)
template <class T>
concept expression = __is_base_of(expr_tag, T) && std::is_convertible<const volatile T*, const volatile expr_tag*>::value && requires {
    { T::rows } -> std::convertible_to<dim>;
    { T::cols } -> std::convertible_to<dim>;
};

// Leaf kinds: data (inputs, targets) is bound per batch; parameters are what we differentiate.
struct input_kind {
    static constexpr std::string_view name = "input";
    static constexpr bool is_data = true;
};
struct target_kind {
    static constexpr std::string_view name = "target";
    static constexpr bool is_data = true;
};
struct param_kind {
    static constexpr std::string_view name = "parameter";
    static constexpr bool is_data = false;
};
// A direction v for the R-operator, one per parameter (named "v.W1" for W1), and a cotangent u
// seeding a vector–Jacobian product. Bound like data, and checked like data.
struct direction_kind {
    static constexpr std::string_view name = "direction";
    static constexpr bool is_data = true;
};
struct cotangent_kind {
    static constexpr std::string_view name = "cotangent";
    static constexpr bool is_data = true;
};

// An expression's rows and cols, inherited from one class per shape. g++ gives every instantiated
// variable (a static data member too) and function an assembler name, emitted or not, and
// mangling a name that spells an expression takes time quadratic in the expression's depth (its
// substitution search, meta.hpp): members of node<Op, Args...> itself, three per node, made
// compile time grow faster than the graph. For the same reason the predicates over expressions
// below (is_leaf, invalid_expr, is_zero, is_ones) are concepts, which are never variables.
// A base class's namespace joins those that argument-dependent lookup searches for a call with
// an expression argument, so this one holds no function: a user's unqualified call (mlp<...>(x,
// ...)) must not find the library's internal functions of the same name.
namespace shape_base {
template <dim R, dim C>
struct shaped {
    static constexpr dim rows = R;
    static constexpr dim cols = C;
    static constexpr shape shape_value{R, C};
};
}  // namespace shape_base

namespace detail {
template <class T>
struct leaf_trait : std::false_type {};
}  // namespace detail

template <class Kind, fixed_string Name, dim R, dim C>
struct leaf : expr_tag, shape_base::shaped<R, C> {
    using kind = Kind;
    using args = meta::list<>;
    static constexpr auto name = Name;
};

namespace detail {
template <class K, fixed_string N, dim R, dim C>
struct leaf_trait<leaf<K, N, R, C>> : std::true_type {};
}  // namespace detail

template <class T>
concept is_leaf = detail::leaf_trait<T>::value;

template <class T>
concept parameter = is_leaf<T> && std::same_as<typename T::kind, param_kind>;

namespace detail {
// A leaf's name, for messages; other expressions have none.
template <class E>
constexpr auto name_of() {
    if constexpr (is_leaf<E>)
        return E::name;
    else
        return fixed_string("(an expression)");
}
}  // namespace detail

// What an op returns once its static_assert has failed: an expression of no shape. The shape
// predicates (check.hpp) accept it and a node over it is invalid too, so the rest of the
// expression builds without a second error: one mistake, one message.
inline constexpr dim invalid_dim = -(dim{1} << 40);
inline constexpr shape invalid_shape{invalid_dim, invalid_dim};
constexpr bool is_invalid(shape s) { return s.rows == invalid_dim || s.cols == invalid_dim; }
struct invalid_kind {
    static constexpr std::string_view name = "invalid";
    static constexpr bool is_data = true;
};
using invalid = leaf<invalid_kind, "(invalid)", invalid_dim, invalid_dim>;
// Whether E is invalid or built on an invalid operand (node's shape below passes it up). Entry
// points (compile's bind and scalar, make_objective, initialize, predict, fd_grad, ...) accept it
// without a message of their own, as the shape predicates do: the op has reported the mistake.
template <class E>
concept invalid_expr = is_invalid(shape{E::rows, E::cols});

namespace detail {
// A node's shape, by its op and its operands' shapes (never the operands themselves: a function
// named after them would cost what shaped avoids).
template <class Op, shape... A>
struct node_shape {
    static constexpr shape value = (is_invalid(A) || ...) ? invalid_shape : Op::shape_of(A...);
};
template <class Op, class... Args>
using node_shaped = shape_base::shaped<node_shape<Op, shape{Args::rows, Args::cols}...>::value.rows,
                           node_shape<Op, shape{Args::rows, Args::cols}...>::value.cols>;
}  // namespace detail

// The one generic node. Op is an empty tag holding the op's rules (see ops/).
template <class Op, class... Args>
struct node : expr_tag, detail::node_shaped<Op, Args...> {
    using op = Op;
    using args = meta::list<Args...>;
};

// Leaves. Widths are compile-time; rows default to the run-time batch.
//   input<"x", 64>        a batch×64 input       input<"x", 64, 32>  a 32×64 input (compile-time batch)
//   target<"y", 10>       a batch×10 target
//   param<"W1", 64, 32>   a 64×32 weight         bias<"b1", 32>      a 1×32 bias (row vector)
template <fixed_string Name, dim Cols, dim Rows = batch>
inline constexpr leaf<input_kind, Name, Rows, Cols> input{};
template <fixed_string Name, dim Cols, dim Rows = batch>
inline constexpr leaf<target_kind, Name, Rows, Cols> target{};
template <fixed_string Name, dim Rows, dim Cols>
inline constexpr leaf<param_kind, Name, Rows, Cols> param{};
template <fixed_string Name, dim Cols>
inline constexpr leaf<param_kind, Name, 1, Cols> bias{};

}  // namespace gateaux
