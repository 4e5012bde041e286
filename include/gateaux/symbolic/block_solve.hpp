#pragma once
// The exact per-layer block solve beside the B-operator: (H_l + D)⁻¹·v_l for every layer, at any
// batch size, for any widths and activations (docs/theory.md, "The layer block at any batch").
//
//   auto d = block_solve(loss, wrt(W1, b1, W2));           // (H_l + D)⁻¹·v_l, v_l bound as direction(P)
//   auto d = block_solve(loss, wrt(W1, W2), damped);       // D includes λ, bound to `damping` (1×1)
//   auto s = block_step(loss, wrt(W1, W2), damped);        // along the gradient: the damped Newton step
//
// D is the loss's l2 penalty on each parameter (weight decay, an exact part of the block) plus the
// run-time damping λ when `damped` is passed; with D = 0 the result is the minimum-norm H_l⁺·v_l.
// Blocks are formed from the per-sample curvature T_b of the generic pass (curvature_path.hpp),
// which every op on the path must have a rule for, as for bop: wrt(W, b) gives the joint block
// of a layer (the input [h 1], with the bias's own decay: a Schur complement on its coordinates),
// wrt(W) the block with b held fixed, wrt(b) the bias's block Σ_b T_b + D.
//
// Where the B-operator (bop, newton_step) is exact it is cheaper (one downward pass); the block
// solve is what works everywhere else: batches above a width, widths that rise then fall, relu,
// damping and weight decay.
#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "../solve/augment.hpp"
#include "../solve/curvature_solve.hpp"
#include "../solve/layer_block_solve.hpp"
#include "../solve/damping.hpp"
#include "bop_plan.hpp"
#include "curvature_path.hpp"
#include "grad.hpp"
#include "tangent.hpp"
#include "wrt.hpp"

namespace gateaux {

// The option of block_solve and block_step: add the run-time damping λ (bound to `damping`).
struct damped_t {};
inline constexpr damped_t damped{};

namespace detail::block {

using curvature::path_status;
using bop::formula;
template <class L, class P>
using path_t = curvature::path_of<L, P>;

template <class... O>
struct options {
    static constexpr bool damped = (__is_same(O, damped_t) || ...);
    static_assert(((__is_same(O, damped_t)) && ...), "gateaux::block_solve: the option is damped");
};

// The damping operand: `damping` when asked for, none otherwise.
template <class Options, class F>
constexpr auto with_damping(F f) {
    if constexpr (Options::damped)
        return f(damping);
    else
        return f();
}

template <class L, class Options, class W, class V>
constexpr auto weight_block(V) {
    using p = path_t<L, W>;
    constexpr auto name = concat<"weight '", concat<W::name, "'">()>();
    return with_damping<Options>([](auto... lambda) {
        return layer_block_solve<name, curvature::penalty_of<L, W>, 0.0, 0>(curvature::layer_input<p>{}, p::form::stack(), V{},
                                                                               lambda...);
    });
}

template <class L, class Options, class W, class B, class VW, class VB>
constexpr auto joint_block() {
    using pw = path_t<L, W>;
    using pb = path_t<L, B>;
    constexpr auto name = concat<concat<concat<concat<"weight and bias '", W::name>(), "', '">(), B::name>(), "'">();
    return with_damping<Options>([](auto... lambda) {
        return layer_block_solve<name, curvature::penalty_of<L, W>, curvature::penalty_of<L, B>, 1>(
            append_ones(curvature::layer_input<pw>{}), pb::form::stack(), stack_rows(VW{}, VB{}), lambda...);
    });
}

template <class L, class Options, class P, class V, class... Ps, class... Vs>
constexpr auto block_of(meta::list<Ps...>, meta::list<Vs...>) {
    using p = path_t<L, P>;
    constexpr auto dir = []<class Q>(Q) { return type_at_t<meta::index_of<Q>(meta::list<Ps...>{}), meta::list<Vs...>>{}; };
    using partner = decltype(curvature::partner<L, P, Ps...>());
    if constexpr (p::status == path_status::weight) {
        if constexpr (partner::size == 1) {
            using B = type_at_t<0, partner>;
            return row_range<0, P::rows>(joint_block<L, Options, P, B, V, decltype(dir(B{}))>());
        } else {
            return weight_block<L, Options, P>(V{});
        }
    } else if constexpr (partner::size == 1) {
        using W = type_at_t<0, partner>;
        return row_range<W::rows, 1>(joint_block<L, Options, W, P, decltype(dir(W{})), V>());
    } else {
        return with_damping<Options>([](auto... lambda) {
            return curvature_sum_solve<P::name, curvature::penalty_of<L, P>>(p::form::stack(), V{}, lambda...);
        });
    }
}

template <class L, class Options, class... P, class... V>
constexpr auto blocks(meta::list<P...>, meta::list<V...>) {
    return group<meta::list<P...>, meta::list<decltype(block_of<L, Options, P, V>(meta::list<P...>{}, meta::list<V...>{}))...>>{};
}

// The refusals: what bop also refuses for the path, never for widths, activations or damping.
template <class L, class... P>
constexpr bop::diagnosis diagnose() {
    if constexpr (invalid_expr<L>) {
        return {false, 0, formula::invalid, 0, 0};
    } else if constexpr (!curvature::loss_parts<L>::ok) {
        return {false, 0, formula::loss, 0, 0};
    } else {
        constexpr path_status st[] = {path_t<L, P>::status...};
        constexpr double penalties[] = {curvature::penalty_of<L, P>...};
        for (std::size_t i = 0; i < sizeof...(P); ++i) {
            if (st[i] == path_status::branch) return {false, i, formula::shared, 0, 0};
            if (st[i] == path_status::no_rule) return {false, i, formula::no_rule, 0, 0};
            if (st[i] != path_status::weight && st[i] != path_status::shift) return {false, i, formula::not_a_layer, 0, 0};
            if (!(penalties[i] == penalties[i])) return {false, i, formula::other_term, 0, 0};
        }
        return {};
    }
}

template <fixed_string Param, formula F>
struct report {
    static_assert(F != formula::loss,
                  "gateaux::block_solve: the loss must be sum(...) or mean(...) of squared_error(out, y) or "
                  "cross_entropy(out, y), plus terms such as l2 penalties");
    static_assert(F != formula::not_a_layer,
                  "gateaux::block_solve: this parameter must be one of the network's layer weights (h·W) or biases "
                  "(x + b); for others use dense_bop or hessian_free");
    static_assert(F != formula::shared,
                  "gateaux::block_solve: this parameter reaches the loss along two paths (a shared weight, or a "
                  "connection around its layer); its block is not a layer block (use dense_bop or hessian_free)");
    static_assert(F != formula::no_rule,
                  "gateaux::block_solve: an op between this parameter and the loss has no curvature rule (there are "
                  "rules for h·W, bias adds, adds and subtractions of a branch without the parameter, and "
                  "activations); use dense_bop or hessian_free");
    static_assert(F != formula::other_term,
                  "gateaux::block_solve: a term of the loss besides the data term depends on this parameter other "
                  "than as an l2 penalty c·½‖P‖²; use dense_bop or hessian_free");
};

}  // namespace detail::block

template <expression L, class... P>
inline constexpr bool block_solve_available = detail::block::diagnose<L, P...>().ok;

// (H_l + D)⁻¹·v_l for each parameter block, v_l bound as direction(P), or given by along(...).
template <expression L, class... P, class... D, class... Options>
constexpr auto block_solve(L, params<P...>, directions<D...>, Options...) {
    using namespace detail::block;
    constexpr detail::bop::diagnosis d = diagnose<L, P...>();
    if constexpr (!d.ok) {
        (void)report<type_at_t<d.index, meta::list<P...>>::name, d.f>{};
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else if constexpr (!detail::directions_fit<meta::list<P...>, meta::list<D...>>) {
        detail::check_directions(meta::list<P...>{}, meta::list<D...>{});
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return blocks<L, options<Options...>>(meta::list<P...>{}, meta::list<D...>{});
    }
}
template <expression L, class... P, class... Options>
    requires(!(is_directions<Options> || ...))
constexpr auto block_solve(L loss, params<P...> w, Options... options) {
    using namespace detail::block;
    constexpr detail::bop::diagnosis d = diagnose<L, P...>();  // reported here: one frame
    if constexpr (!d.ok) {
        (void)report<type_at_t<d.index, meta::list<P...>>::name, d.f>{};
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return block_solve(loss, w, directions<direction_t<P>...>{}, options...);
    }
}

// The per-layer (damped) Newton step (H_l + D)⁻¹·G_l, sharing the gradient's pass.
template <expression L, class... P, class... Options>
constexpr auto block_step(L loss, params<P...> w, Options...) {
    using namespace detail::block;
    constexpr detail::bop::diagnosis d = diagnose<L, P...>();
    if constexpr (!d.ok) {
        (void)report<type_at_t<d.index, meta::list<P...>>::name, d.f>{};
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using G = decltype(grad(loss, w));
        return blocks<L, options<Options...>>(meta::list<P...>{}, typename G::expressions{});
    }
}

}  // namespace gateaux
