#pragma once
// The B-operator: per-layer (block-diagonal) inverse-Hessian products H_l⁺·v and Newton steps
// H_l⁺·G_l, derived from the ops' inverse and curvature rules (docs/theory.md).
//
//   auto d = bop(loss, wrt(W1, W2));              // H_l⁺·v_l with v_l bound as direction(W_l)
//   auto s = newton_step(loss, wrt(W1, W2));      // Δ_l = H_l⁺·G_l, sharing the gradient's pass
//   auto prog = compile(loss, grad(loss, w), s);
//
// For a weight W with layer input h (net = h·W): Δ = h⁺·T⁻¹(h⁺ᵀ·V), where T⁻¹ applies, row by row,
// the inverse of the per-sample curvature T_b at net, as its form says (symbolic/bop_plan.hpp:
// the chain through the ops' inverse maps, or the master formula's explicit blocks). With a bias,
// wrt(W, b) gives the joint block of the pair, as one weight [W; b] of the input [h 1]; wrt(W)
// alone the block of W with b held fixed; wrt(b) alone the bias's block Σ_b T_b. For a gradient,
// three folds ((γ⊙a′)⊘a′ = γ, (δ·Wᵀ)·W⁻ᵀ = δ, h⁺ᵀ·hᵀ·δ = δ) collapse the chain to one downward pass
// shared by all layers. A parameter the B-operator cannot serve is a compile error naming it and
// the way out.
#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "../solve/augment.hpp"
#include "../solve/curvature_solve.hpp"
#include "../solve/output_unit_solve.hpp"
#include "bop_plan.hpp"
#include "curvature_path.hpp"
#include "grad.hpp"
#include "tangent.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail::bop {

template <class L, class P>
using path_t = curvature::path_of<L, P>;

// The weight's layer step Δ = h⁺·T⁻¹(h⁺ᵀ·V) (or the output layer's unit-by-unit solve), with h
// the layer input (or [h 1]); Op is the weight's op, giving h⁺ᵀ· and h⁺· (its inverse rule).
template <fixed_string HName, fixed_string WName, formula F, class C, class Op, class H, class V>
constexpr auto layer_step(H h, V v) {
    if constexpr (F == formula::per_unit)
        return output_unit_solve<WName>(h, typename C::vector{}, v);
    else if constexpr (F == formula::damped)
        return output_unit_solve<WName>(h, typename C::vector{}, v, damping);
    else if constexpr (F == formula::master)
        return Op::template parameter_of<HName>(h, curvature_solve<WName>(C::stack(), Op::template rows_of<HName>(h, v)));
    else
        return Op::template parameter_of<HName>(h, C::solve(Op::template rows_of<HName>(h, v)));
}

// The joint step of weight W and bias B: [Δ_W; Δ_b] = [h 1]⁺·T⁻¹([h 1]⁺ᵀ·[V_W; V_b]).
template <class L, class Options, class W, class B, class VW, class VB>
constexpr auto joint_step() {
    using pw = path_t<L, W>;
    using pb = path_t<L, B>;
    using H = curvature::layer_input<pw>;
    constexpr auto hname = concat<concat<concat<concat<"[h 1] (input of ", W::name>(), ", ">(), B::name>(), ")">();
    return layer_step<hname, W::name, choose<pw, Options>(), typename pb::form, typename pw::at::op>(append_ones(H{}),
                                                                                                     stack_rows(VW{}, VB{}));
}

// The block of parameter P along V, given every requested parameter Ps and direction Vs.
template <class L, class Options, class P, class V, class... Ps, class... Vs>
constexpr auto block_of(meta::list<Ps...>, meta::list<Vs...>) {
    using p = path_t<L, P>;
    constexpr auto dir = []<class Q>(Q) { return type_at_t<meta::index_of<Q>(meta::list<Ps...>{}), meta::list<Vs...>>{}; };
    if constexpr (p::status == path_status::weight) {
        using bias = decltype(curvature::partner<L, P, Ps...>());
        if constexpr (bias::size == 1) {
            using B = type_at_t<0, bias>;
            return row_range<0, P::rows>(joint_step<L, Options, P, B, V, decltype(dir(B{}))>());
        } else {
            using H = curvature::layer_input<p>;
            constexpr auto hname = concat<concat<"h (input of ", P::name>(), ")">();
            return layer_step<hname, P::name, choose<p, Options>(), typename p::form, typename p::at::op>(H{}, V{});
        }
    } else {
        using weight = decltype(curvature::partner<L, P, Ps...>());
        if constexpr (weight::size == 1) {
            using W = type_at_t<0, weight>;
            return row_range<W::rows, 1>(joint_step<L, Options, W, P, decltype(dir(W{})), V>());
        } else {
            // output_damped damps the output layer: its bias too (the form is diagonal only there).
            if constexpr (Options::damped && is_diagonal_curvature<typename p::form>)
                return curvature_sum_solve<P::name>(p::form::stack(), V{}, damping);
            else
                return curvature_sum_solve<P::name>(p::form::stack(), V{});
        }
    }
}

template <class L, class Options, class... P, class... V>
constexpr auto blocks(meta::list<P...>, meta::list<V...>) {
    return group<meta::list<P...>, meta::list<decltype(block_of<L, Options, P, V>(meta::list<P...>{}, meta::list<V...>{}))...>>{};
}

template <class L, class Options, class... P>
constexpr bool supported() {
    return diagnose<L, Options, P...>().ok;
}

}  // namespace detail::bop

template <expression L, class... P>
inline constexpr bool bop_available = detail::bop::supported<L, bop_options<>, P...>();

// H_l⁺·v_l for each parameter block, v_l bound as direction(W_l), or given by along(...).
template <expression L, class... P, class... D, class... Options>
constexpr auto bop(L, params<P...>, directions<D...>, Options...) {
    using namespace detail::bop;
    if constexpr (!detail::directions_fit<meta::list<P...>, meta::list<D...>>) {
        detail::check_directions(meta::list<P...>{}, meta::list<D...>{});
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        constexpr diagnosis d = diagnose<L, bop_options<Options...>, P...>();
        if constexpr (!d.ok) {
            (void)report<type_at_t<d.index, meta::list<P...>>::name, d.f, d.rank, d.width>{};
            return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
        } else {
            return blocks<L, bop_options<Options...>>(meta::list<P...>{}, meta::list<D...>{});
        }
    }
}
template <expression L, class... P, class... Options>
    requires(!(is_directions<Options> || ...))
constexpr auto bop(L loss, params<P...> w, Options... options) {
    using namespace detail::bop;
    constexpr diagnosis d = diagnose<L, bop_options<Options...>, P...>();  // reported here: one frame
    if constexpr (!d.ok) {
        (void)report<type_at_t<d.index, meta::list<P...>>::name, d.f, d.rank, d.width>{};
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return bop(loss, w, directions<direction_t<P>...>{}, options...);
    }
}

// The per-layer Newton step Δ_l = H_l⁺·G_l for every parameter, sharing the forward and
// backward pass with grad(loss, wrt(...)) when both are compiled together.
template <expression L, class... P, class... Options>
constexpr auto newton_step(L loss, params<P...> w, Options...) {
    using namespace detail::bop;
    constexpr diagnosis d = diagnose<L, bop_options<Options...>, P...>();
    if constexpr (!d.ok) {
        (void)report<type_at_t<d.index, meta::list<P...>>::name, d.f, d.rank, d.width>{};
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        using G = decltype(grad(loss, w));
        return blocks<L, bop_options<Options...>>(meta::list<P...>{}, typename G::expressions{});
    }
}

}  // namespace gateaux
