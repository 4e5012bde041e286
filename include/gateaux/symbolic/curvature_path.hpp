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

// Whether expression E depends on leaf P (memoised per node type).
template <class E, class P>
inline constexpr bool depends_on = __is_same(E, P);
template <class Op, class... A, class P>
inline constexpr bool depends_on<node<Op, A...>, P> = (depends_on<A, P> || ...);

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
    if constexpr (__is_same(E, Data) || !depends_on<E, P>)
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

// Found (weight or shift): P is operand I of Node, and Form is T_b at Node.
template <path_status S, class Node = void, class Form = void, std::size_t I = 0>
struct path {
    static constexpr path_status status = S;
    static constexpr bool found = S == path_status::weight || S == path_status::shift;
    using at = Node;
    using form = Form;
    static constexpr std::size_t operand = I;
};

inline constexpr std::size_t many = meta::npos - 1;

// The index of the one operand that depends on P; npos if none, `many` if several.
template <class P, class... A>
constexpr std::size_t operand_on_path(meta::list<A...>) {
    constexpr bool d[] = {false, depends_on<A, P>...};
    std::size_t found = meta::npos, count = 0;
    for (std::size_t i = 0; i < sizeof...(A); ++i)
        if (d[i + 1]) found = i, ++count;
    return count > 1 ? many : found;
}

template <std::size_t I, class N, class C, class G, class... Args>
constexpr auto apply_rule(meta::list<Args...>) {
    return N::op::template curvature<I>(N{}, C{}, G{}, Args{}...);
}

template <class Ctx, class P, class N, class C>
constexpr auto walk() {
    if constexpr (is_leaf<N>) {
        return path<path_status::not_found>{};
    } else {
        using Op = typename N::op;
        constexpr std::size_t i = operand_on_path<P>(typename N::args{});
        if constexpr (i == meta::npos) {
            return path<path_status::not_found>{};
        } else if constexpr (i == many) {
            return path<path_status::branch>{};
        } else {
            using A = type_at_t<i, typename N::args>;
            if constexpr (__is_same(A, P)) {
                if constexpr (weight_in<Op, i>())
                    return path<path_status::weight, N, C, i>{};
                else if constexpr (shift_in<Op, i>())
                    return path<path_status::shift, N, C, i>{};
                else
                    return path<path_status::no_inverse>{};
            } else if constexpr (!through<Op, i>()) {
                return path<path_status::no_rule>{};
            } else {
                using next = decltype(apply_rule<i, N, C, decltype(Ctx::template gamma<N>())>(typename N::args{}));
                return walk<Ctx, P, A, next>();
            }
        }
    }
}

// The path of parameter P in loss L; `at` is the node P enters, `form` T_b there.
template <class L, class P, curvature_kind Kind>
struct find_path {
    static constexpr auto make() {
        if constexpr (!loss_parts<L>::ok) {
            return path<path_status::not_found>{};
        } else {
            using ctx = context<L, Kind>;
            return walk<ctx, P, typename ctx::O, typename ctx::output_form>();
        }
    }
    using type = decltype(make());
};
template <class L, class P, curvature_kind Kind = curvature_kind::hessian>
using path_of = typename find_path<L, P, Kind>::type;

// A found weight: the layer input h (the other operand of h·W).
template <class Path>
using layer_input = type_at_t<0, typename Path::at::args>;

// Whether W and B form one layer h·W + b (W a weight, B the bias added right above it).
template <class L, class W, class B>
constexpr bool joint_pair() {
    using pw = path_of<L, W>;
    using pb = path_of<L, B>;
    if constexpr (pw::status != path_status::weight || pb::status != path_status::shift)
        return false;
    else
        return __is_same(type_at_t<0, typename pb::at::args>, typename pw::at);
}
// Q's partner in a joint block among Ps: a list of that one parameter, or an empty list.
template <class L, class Q, class... Ps>
constexpr auto partner() {
    constexpr bool hits[] = {false, (joint_pair<L, Q, Ps>() || joint_pair<L, Ps, Q>())...};
    constexpr std::size_t i = [&] {
        for (std::size_t k = 0; k < sizeof...(Ps); ++k)
            if (hits[k + 1]) return k;
        return meta::npos;
    }();
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
