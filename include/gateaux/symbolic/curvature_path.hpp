#pragma once
// The generic pass behind the B-operator, the per-sample curvature blocks and the layer
// statistics: from the loss down to the node where a parameter enters, applying each op's
// curvature rule (ops/*.hpp) to the per-sample curvature T_b (solve/curvature_form.hpp).
//
// The loss is a reduction (sum or mean) of a per-sample loss op (one that states its output
// curvature: squared_error, cross_entropy) of the network output o and a target, possibly with
// further terms such as an l2 penalty (whose Hessian in a parameter is c·I: penalty_of). From o the
// pass follows the one operand that depends on the parameter P, node by node, pulling T_b back
// through that operand by the op's rule, until P is itself an operand: of a matmul h·P (a weight,
// whose layer input is h: the op says `weight_in<I>`) or of a bias add x + P (`shift_in<I>`). It stops early, with a status saying why, when P
// reaches the loss along two operands of one node (weight sharing, a skip connection around P),
// or an op on the way has no curvature rule for that operand.
//
// The kind chooses the curvature: the Hessian's (each rule gets its node's cotangent γ, for the
// a″ terms) or its Gauss–Newton part (γ = 0). The walk names no op: a new op joins by stating
// `curvature_through<I>`, `curvature<I>(...)` and, if a parameter may be its operand, `weight_in<I>`
// (with rows_of and parameter_of) or `shift_in<I>`. (Reading the loss does name the reductions and
// the ops an l2 penalty is written with: sum, mean, add, sub, scale, sq_norm.)
#include <array>
#include <cstddef>
#include <type_traits>

#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "../core/meta.hpp"
#include "../eval/schedule.hpp"
#include "../ops/add.hpp"
#include "../ops/mean.hpp"
#include "../ops/scale.hpp"
#include "../ops/sq_norm.hpp"
#include "../ops/sub.hpp"
#include "../ops/sum.hpp"
#include "grad.hpp"
#include "wrt.hpp"

namespace gateaux {

enum class curvature_kind { hessian, gauss_newton };

namespace detail::curvature {

// What the walk below computes per parameter and node (whether a node depends on P, which operand
// leads to P, the walk's next step, the path found) is held in class templates, not variables or
// functions: g++ gives every instantiated variable and function an assembler name, emitted or
// not, and a name that spells a node costs time quadratic in the node's depth to mangle (see
// meta.hpp). Those are one per parameter and node on its path, so they made compile time grow
// with the cube of depth; classes are never mangled unless a name spells them. What does not
// depend on the parameter (an op's rule, a node's cotangent) stays a function, built once per node.

// Whether expression E depends on leaf P (memoised per node type).
template <class E, class P>
struct depends_on : std::bool_constant<__is_same(E, P)> {};
template <class Op, class... A, class P>
struct depends_on<node<Op, A...>, P> : std::bool_constant<(depends_on<A, P>::value || ...)> {};

// The op-declared rules, false where an op declares none.
template <class Op, std::size_t I>
constexpr bool through() {
    if constexpr (requires { requires Op::template curvature_through<I>; })
        return true;
    else
        return false;
}
template <class Op, std::size_t I>
constexpr bool weight_in() {
    if constexpr (requires { requires Op::template weight_in<I>; })
        return true;
    else
        return false;
}
template <class Op, std::size_t I>
constexpr bool shift_in() {
    if constexpr (requires { requires Op::template shift_in<I>; })
        return true;
    else
        return false;
}
template <class Op>
constexpr bool is_per_sample_loss() {
    if constexpr (requires { requires Op::per_sample_loss; })
        return true;
    else
        return false;
}

// ---------------------------------------------------------------- the loss
// L is a data term — sum or mean of a per-sample loss of the network output o and a target — or
// the data term plus (or minus) penalties and other terms, through add, sub and scale: the data
// term must occur once, with a positive sign.
template <class E>
struct data_term {
    static constexpr int count = 0;
};
template <class Red, class PS, class O, class Y>
    requires(__is_same(Red, sum_op) || __is_same(Red, mean_op))
struct data_term<node<Red, node<PS, O, Y>>> {
    static constexpr int count = is_per_sample_loss<PS>() ? 1 : 0;
    static constexpr bool positive = true;
    using type = node<Red, node<PS, O, Y>>;
};
template <class A, class B>
    requires(data_term<A>::count + data_term<B>::count > 0)
struct data_term<node<add_op, A, B>> : std::conditional_t<(data_term<A>::count > 0), data_term<A>, data_term<B>> {
    static constexpr int count = data_term<A>::count + data_term<B>::count;
};
template <class A, class B>
    requires(data_term<A>::count + data_term<B>::count > 0)
struct data_term<node<sub_op, A, B>> : std::conditional_t<(data_term<A>::count > 0), data_term<A>, data_term<B>> {
    static constexpr int count = data_term<A>::count + data_term<B>::count;
    static constexpr bool positive = data_term<A>::count > 0 && data_term<A>::positive;
};
template <double C, class X>
    requires(data_term<X>::count > 0)
struct data_term<node<scale_op<C>, X>> : data_term<X> {
    static constexpr bool positive = data_term<X>::positive && C > 0.0;
};

template <class L>
struct loss_parts {
    static constexpr bool ok = false;
};
template <class L>
    requires(data_term<L>::count == 1 && data_term<L>::positive)
struct loss_parts<L> {
    static constexpr bool ok = true;
    using data = typename data_term<L>::type;
    using per_sample = type_at_t<0, typename data::args>;
    using op = typename per_sample::op;
    using output = type_at_t<0, typename per_sample::args>;
    using target = type_at_t<1, typename per_sample::args>;
};

// The Hessian in parameter P of the loss's terms other than the data term, when it is c·I
// (c·½‖P‖², the l2 penalty, through add, sub and scale): c, 0 where no such term depends on P,
// NaN where one depends on P some other way.
template <class E, class P, class Data>
constexpr double penalty() {
    if constexpr (__is_same(E, Data) || !depends_on<E, P>::value)
        return 0.0;
    else if constexpr (is_leaf<E>)
        return __builtin_nan("");
    else if constexpr (__is_same(E, node<sq_norm_op, P>))
        return 1.0;
    else if constexpr (requires { E::op::factor; })
        return E::op::factor * penalty<type_at_t<0, typename E::args>, P, Data>();
    else if constexpr (__is_same(typename E::op, add_op))
        return penalty<type_at_t<0, typename E::args>, P, Data>() + penalty<type_at_t<1, typename E::args>, P, Data>();
    else if constexpr (__is_same(typename E::op, sub_op))
        return penalty<type_at_t<0, typename E::args>, P, Data>() - penalty<type_at_t<1, typename E::args>, P, Data>();
    else
        return __builtin_nan("");
}
template <class L, class P>
inline constexpr double penalty_of = penalty<L, P, typename loss_parts<L>::data>();
// Whether every penalty on Ps is of that form (none is NaN).
template <class L, class... P>
inline constexpr bool penalties_ok = ((penalty_of<L, P> == penalty_of<L, P>) && ...);

template <class L, curvature_kind Kind>
struct context {
    using parts = loss_parts<L>;
    using O = typename parts::output;
    using Y = typename parts::target;
    using reverse_t = reverse<schedule_t<L>, L, ones<1, 1>>;
    // The cotangent of the per-sample loss column: 1 under a sum, 1/B under a mean.
    static constexpr auto g() { return reverse_t::template adjoint_of<typename parts::per_sample>(); }
    template <class N>
    static constexpr auto cotangent() {
        return reverse_t::template adjoint_of<N>();
    }
    template <class N>
    static constexpr auto gamma() {
        if constexpr (Kind == curvature_kind::hessian)
            return cotangent<N>();
        else
            return zero_like<N>{};
    }
    using output_form = decltype(parts::op::output_curvature(g(), O{}, Y{}));
};

// ---------------------------------------------------------------- the walk
enum class path_status { weight, shift, not_found, branch, no_rule, no_inverse };

// A path's status and operand, one class per pair (their static members are variables).
template <path_status S, std::size_t I>
struct path_flags {
    static constexpr path_status status = S;
    static constexpr bool found = S == path_status::weight || S == path_status::shift;
    static constexpr std::size_t operand = I;
};

// Found (weight or shift): P is operand I of Node, and Form is T_b at Node.
template <path_status S, class Node = void, class Form = void, std::size_t I = 0>
struct path : path_flags<S, I> {
    using at = Node;
    using form = Form;
};

inline constexpr std::size_t many = meta::npos - 1;

// The index of the one true entry among hits; npos if none, `many` if several.
template <std::size_t K>
constexpr std::size_t the_one(const std::array<bool, K>& hits) {
    std::size_t found = meta::npos, count = 0;
    for (std::size_t i = 0; i < K; ++i)
        if (hits[i]) found = i, ++count;
    return count > 1 ? many : found;
}

// The index of the one operand that depends on P; npos if none, `many` if several.
template <class P, class Args>
struct operand_on_path;
template <class P, class... A>
struct operand_on_path<P, meta::list<A...>>
    : std::integral_constant<std::size_t, the_one(std::array<bool, sizeof...(A)>{depends_on<A, P>::value...})> {};

template <std::size_t I, class N, class C, class G, class... Args>
constexpr auto apply_rule(meta::list<Args...>) {
    return N::op::template curvature<I>(N{}, C{}, G{}, Args{}...);
}

// walk<Ctx, P, N, C>::type: the path of P from node N, where T_b is C. A leaf N is not_found; a
// node continues along its one operand I that depends on P (walk_operand), if there is one.
template <class Ctx, class P, class N, class C, bool Leaf = is_leaf<N>>
struct walk {
    using type = path<path_status::not_found>;
};
// Whether operand I (npos and `many` name none) is P itself.
template <class P, class Args, std::size_t I, bool InRange = (I < Args::size)>
struct operand_is : std::false_type {};
template <class P, class Args, std::size_t I>
struct operand_is<P, Args, I, true> : std::bool_constant<__is_same(type_at_t<I, Args>, P)> {};

template <class Ctx, class P, class N, class C, std::size_t I = operand_on_path<P, typename N::args>::value,
          bool Enters = operand_is<P, typename N::args, I>::value>
struct walk_operand;
template <class Ctx, class P, class N, class C>
struct walk<Ctx, P, N, C, false> : walk_operand<Ctx, P, N, C> {};

template <class Ctx, class P, class N, class C>
struct walk_operand<Ctx, P, N, C, meta::npos, false> {
    using type = path<path_status::not_found>;
};
template <class Ctx, class P, class N, class C>
struct walk_operand<Ctx, P, N, C, many, false> {
    using type = path<path_status::branch>;
};
// P is operand I itself: a weight, a shift, or an operand the op cannot invert.
template <class Ctx, class P, class N, class C, std::size_t I>
struct walk_operand<Ctx, P, N, C, I, true> {
    using type = std::conditional_t<weight_in<typename N::op, I>(), path<path_status::weight, N, C, I>,
                                    std::conditional_t<shift_in<typename N::op, I>(), path<path_status::shift, N, C, I>,
                                                       path<path_status::no_inverse>>>;
};
// Operand I leads to P: pull C back through it, if the op has a rule for it.
template <class Ctx, class P, class N, class C, std::size_t I, bool Through = through<typename N::op, I>()>
struct walk_through {
    using type = path<path_status::no_rule>;
};
template <class Ctx, class P, class N, class C, std::size_t I>
struct walk_through<Ctx, P, N, C, I, true> {
    using next = decltype(apply_rule<I, N, C, decltype(Ctx::template gamma<N>())>(typename N::args{}));
    using type = typename walk<Ctx, P, type_at_t<I, typename N::args>, next>::type;
};
template <class Ctx, class P, class N, class C, std::size_t I>
struct walk_operand<Ctx, P, N, C, I, false> : walk_through<Ctx, P, N, C, I> {};

// The path of parameter P in loss L; `at` is the node P enters, `form` T_b there.
template <class L, class P, curvature_kind Kind, bool Ok = loss_parts<L>::ok>
struct find_path {
    using type = path<path_status::not_found>;
};
template <class L, class P, curvature_kind Kind>
struct find_path<L, P, Kind, true> {
    using ctx = context<L, Kind>;
    using type = typename walk<ctx, P, typename ctx::O, typename ctx::output_form>::type;
};
template <class L, class P, curvature_kind Kind = curvature_kind::hessian>
using path_of = typename find_path<L, P, Kind>::type;

// A found weight: the layer input h (the other operand of h·W).
template <class Path>
using layer_input = type_at_t<0, typename Path::at::args>;

// Whether W and B form one layer h·W + b (W a weight, B the bias added right above it).
template <class L, class W, class B,
          bool Candidates = path_of<L, W>::status == path_status::weight && path_of<L, B>::status == path_status::shift>
struct joint_pair : std::false_type {};
template <class L, class W, class B>
struct joint_pair<L, W, B, true>
    : std::bool_constant<__is_same(type_at_t<0, typename path_of<L, B>::at::args>, typename path_of<L, W>::at)> {};

// The index of the first true entry among hits, or npos.
template <std::size_t K>
constexpr std::size_t first_of(const std::array<bool, K>& hits) {
    for (std::size_t k = 0; k < K; ++k)
        if (hits[k]) return k;
    return meta::npos;
}

// Q's partner in a joint block among Ps: a list of that one parameter, or an empty list.
template <class L, class Q, class... Ps>
constexpr auto partner() {
    constexpr std::size_t i =
        first_of(std::array<bool, sizeof...(Ps)>{(joint_pair<L, Q, Ps>::value || joint_pair<L, Ps, Q>::value)...});
    if constexpr (i == meta::npos)
        return meta::list<>{};
    else
        return meta::list<type_at_t<i, meta::list<Ps...>>>{};
}

// A curvature product's blocks plus c·v_P for each penalty term c·½‖P‖² (its Hessian c·I, which is
// also its Gauss–Newton part): group entry E for P becomes E + c·direction(P).
template <class L, class P, class E>
constexpr auto with_penalty(E e) {
    constexpr double c = penalty_of<L, P>;
    if constexpr (c == 0.0)
        return e;
    else
        return add(e, scale<c>(direction_t<P>{}));
}
template <class L, class... P, class... E>
constexpr auto with_penalties(group<meta::list<P...>, meta::list<E...>>) {
    return group<meta::list<P...>, meta::list<decltype(with_penalty<L, P>(E{}))...>>{};
}

}  // namespace detail::curvature

}  // namespace gateaux
