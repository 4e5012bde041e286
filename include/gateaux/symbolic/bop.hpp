#pragma once
// The B-operator: per-layer (block-diagonal) inverse-Hessian products H_l⁺·v and Newton steps
// H_l⁺·G_l, derived from the ops' inverse rules (see MATH.md and docs/theory.md).
//
//   auto d = bop(loss, wrt(W1, W2));              // H_l⁺·v_l with v_l bound as direction(W_l)
//   auto s = newton_step(loss, wrt(W1, W2));      // Δ_l = H_l⁺·G_l, sharing the gradient's pass
//   auto prog = compile(loss, grad(loss, w), s);
//
// For layer l with input h = h_{l−1}: Δ_l = h⁺·T_l⁻¹(h⁺ᵀ·V_l), where T_l applies, row by row, the
// per-sample Hessian of the loss with respect to net_l. T_l⁻¹ is built one of two ways, chosen at
// compile time from the widths and activations exactly as MATH.md states:
//   chain   — through each op's inverse rule (loss: ⊘ g·φ′; activation: ⊘ a′ on both sides;
//             matmul: ·W⁻ᵀ … ·W⁻¹), exact for the output layer always, and for a hidden layer when
//             the widths above are equal and the activations piecewise linear (and MATH.md's
//             identity-output exception). For a gradient, three folds ((γ⊙a′)⊘a′ = γ,
//             (δ·Wᵀ)·W⁻ᵀ = δ, h⁺ᵀ·hᵀ·δ = δ) collapse it to one downward pass shared by all layers.
//   master  — the explicit per-sample blocks T_b pulled back through each op's curvature rule
//             and solved by LDLᵀ: widths non-decreasing upward, or smooth activations.
//   newton solution — widths non-increasing above l: the chain with pseudo-inverses solves
//             H_l·Δ = G_l but is not the minimum-norm solution; only with accept_newton_solution.
// Anything else (widths rising then falling, a ReLU on the path, an op without an inverse rule)
// is a compile error naming the layer and the widths.
#include <array>

#include "../core/constants.hpp"
#include "../core/expr.hpp"
#include "../ops/col_broadcast.hpp"
#include "../ops/cross_entropy.hpp"
#include "../solve/curvature.hpp"
#include "../solve/curvature_solve.hpp"
#include "../solve/divide.hpp"
#include "../ops/identity.hpp"
#include "../solve/left_pinv.hpp"
#include "../ops/leaky_relu.hpp"
#include "../ops/mean.hpp"
#include "../solve/output_unit_solve.hpp"
#include "../ops/add.hpp"
#include "../ops/sub.hpp"
#include "../solve/right_pinv.hpp"
#include "../solve/right_solve.hpp"
#include "../ops/row_sum.hpp"
#include "../ops/softmax.hpp"
#include "../solve/softmax_pinv.hpp"
#include "../ops/squared_error.hpp"
#include "../ops/sum.hpp"
#include "bop_plan.hpp"
#include "grad.hpp"
#include "../core/group.hpp"
#include "tangent.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail::bop {

// ---------------------------------------------------------------- building the blocks
template <class Loss, class Options>
struct spine {
    static constexpr bool AcceptNewton = Options::newton_solution;
    using parsed = parse_loss<Loss>;
    static_assert(parsed::ok, "gateaux::bop: the loss must be sum(...) or mean(...) of squared_error(out, y) or "
                              "cross_entropy(out, y) (mse qualifies)");
    using layers = typename collect<typename parsed::output>::type;
    using the_plan = plan<layers, parsed::kind, AcceptNewton>;
    static constexpr std::size_t L = layers::size;
    template <std::size_t k>
    using layer_t = type_at_t<k - 1, layers>;
    template <std::size_t k>
    using weight_t = typename layer_t<k>::weight;
    template <std::size_t k>
    static constexpr dim width = weight_t<k>::cols;

    using reverse_t = reverse<schedule_t<Loss>, Loss, ones<1, 1>>;
    template <class N>
    static constexpr auto cot() {
        return reverse_t::template adjoint_of<N>();
    }
    static constexpr auto g() { return cot<typename parsed::per_sample>(); }
    using O = typename parsed::output;
    using Y = typename parsed::target;

    template <std::size_t k>
    static constexpr auto input_name() {
        return concat<concat<"h (input of ", weight_t<k>::name>(), ")">();
    }
    template <std::size_t k>
    static constexpr auto derivative_name() {
        return concat<"a′ at the output of ", weight_t<k>::name>();
    }

    // The output layer's diagonal curvature t (T_b = diag(t_b)) for the squared error:
    // g·(a′² + e⊙a″), which is g for an identity output.
    static constexpr auto output_diagonal() {
        using F = typename layer_t<L>::function;
        using Net = typename layer_t<L>::net;
        auto gb = col_broadcast<width<L>>(g());
        if constexpr (std::same_as<F, identity_fn>) {
            return gb;
        } else {
            auto a1 = derivative<F, 1>(Net{});
            auto phi = add(hadamard(a1, a1), hadamard(sub(O{}, Y{}), derivative<F, 2>(Net{})));
            return hadamard(gb, phi);
        }
    }
    static constexpr auto softmax_weight() { return hadamard(g(), row_sum(Y{})); }

    // z·T⁻¹ at net_k (chain).
    template <std::size_t k, class Z>
    static constexpr auto chain_net(Z z) {
        using F = typename layer_t<k>::function;
        if constexpr (k == L) {
            if constexpr (parsed::kind == loss_kind::cross_entropy)
                return softmax_pinv(z, softmax(O{}), softmax_weight());
            else
                return divide<"the output layer's curvature g·φ′">(z, output_diagonal());
        } else if constexpr (std::same_as<F, identity_fn>) {
            return chain_h<k>(z);
        } else {
            auto d = derivative<F, 1>(typename layer_t<k>::net{});
            return divide<derivative_name<k>()>(chain_h<k>(divide<derivative_name<k>()>(z, d)), d);
        }
    }
    // z·T⁻¹ at h_k, the input of layer k+1 (chain): T_h = W·T_net·Wᵀ.
    template <std::size_t k, class Z>
    static constexpr auto chain_h(Z z) {
        using W = weight_t<k + 1>;
        if constexpr (W::rows == W::cols)
            return solve_right<W::name>(chain_net<k + 1>(solve_right_transposed<W::name>(z, W{})), W{});
        else
            return pinv_right<W::name, false>(chain_net<k + 1>(pinv_right<W::name, true>(z, W{})), W{});
    }

    // The explicit per-sample blocks at net_k (master formula).
    template <std::size_t k>
    static constexpr auto blocks_net() {
        using F = typename layer_t<k>::function;
        if constexpr (k == L) {
            if constexpr (parsed::kind == loss_kind::cross_entropy)
                return curvature_softmax(softmax(O{}), softmax_weight());
            else
                return curvature_diag(output_diagonal());
        } else if constexpr (std::same_as<F, identity_fn>) {
            return blocks_h<k>();
        } else {
            using Net = typename layer_t<k>::net;
            auto gamma = cot<typename layer_t<k>::output>();
            return curvature_scale(blocks_h<k>(), derivative<F, 1>(Net{}), hadamard(gamma, derivative<F, 2>(Net{})));
        }
    }
    template <std::size_t k>
    static constexpr auto blocks_h() {
        return curvature_congruence(blocks_net<k + 1>(), weight_t<k + 1>{});
    }

    // n_k, n_{k+1}, ..., n_L.
    template <std::size_t k>
    static constexpr auto widths_above = [] {
        std::array<dim, L - k + 1> w{};
        for (std::size_t i = 0; i < w.size(); ++i) w[i] = the_plan::widths[k + i];
        return w;
    }();

    // Δ_k = h⁺·T_k⁻¹(h⁺ᵀ·V).
    template <std::size_t k, class V>
    static constexpr auto block(V v) {
        constexpr formula f = the_plan::choose(k);
        using H = typename layer_t<k>::input;
        constexpr auto hname = input_name<k>();
        if constexpr (k == L && (Options::per_unit || Options::damped)) {
            static_assert(parsed::kind == loss_kind::squared_error,
                          "gateaux::bop: output_per_unit and output_damped need a squared-error loss");
            if constexpr (Options::damped)
                return output_unit_solve<weight_t<k>::name>(H{}, output_diagonal(), v, damping);
            else
                return output_unit_solve<weight_t<k>::name>(H{}, output_diagonal(), v);
        } else if constexpr (f == formula::chain || f == formula::newton_solution)
            return pinv_left<hname>(H{}, chain_net<k>(pinv_left_t<hname>(H{}, v)));
        else if constexpr (f == formula::master)
            return pinv_left<hname>(H{}, curvature_solve<weight_t<k>::name>(blocks_net<k>(), pinv_left_t<hname>(H{}, v)));
        else
            return zero_like<weight_t<k>>{};
    }

    // Which layer P is the weight of (1..L), or 0.
    template <class P>
    static constexpr std::size_t index_of_weight = [] {
        return []<class... Ls>(meta::list<Ls...>) {
            std::size_t k = 0, found = 0;
            ((++k, found = __is_same(P, typename Ls::weight) ? k : found), ...);
            return found;
        }(layers{});
    }();
};

// Whether the loss output is a chain of layers a(h·W) down to a leaf (no asserting).
template <class Out>
constexpr bool is_layer_chain() {
    using A = split_activation<Out>;
    using M = split_matmul<typename A::net>;
    if constexpr (!M::ok)
        return false;
    else if constexpr (is_leaf<typename M::input>)
        return true;
    else
        return is_layer_chain<typename M::input>();
}
template <fixed_string Param, bool Found>
constexpr void check_is_layer_weight() {
    static_assert(Found, "gateaux::bop: every parameter in wrt(...) must be one of the network's layer weights");
}

template <class Loss, class Options, class... P, class... V>
constexpr auto checked_blocks(meta::list<P...>, meta::list<V...>);

template <class Loss, class Options, class... P, class... V>
constexpr auto blocks(meta::list<P...>, meta::list<V...>) {
    // The network's shape first: a loss or an op bop cannot read is the first thing reported.
    if constexpr (!parse_loss<Loss>::ok || !is_layer_chain<typename parse_loss<Loss>::output>()) {
        static_assert(parse_loss<Loss>::ok, "gateaux::bop: the loss must be sum(...) or mean(...) of squared_error(out, y) or "
                                            "cross_entropy(out, y) (mse qualifies)");
        if constexpr (parse_loss<Loss>::ok) check_layer<false>();
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return checked_blocks<Loss, Options>(meta::list<P...>{}, meta::list<V...>{});
    }
}

template <class Loss, class Options, class... P, class... V>
constexpr auto checked_blocks(meta::list<P...>, meta::list<V...>) {
    using S = spine<Loss, Options>;
    if constexpr (!((S::template index_of_weight<P> != 0) && ...)) {
        (check_is_layer_weight<P::name, S::template index_of_weight<P> != 0>(), ...);
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        (check_formula<P::name, S::template widths_above<S::template index_of_weight<P>>,
                       S::the_plan::choose(S::template index_of_weight<P>)>(),
         ...);
        return group<meta::list<P...>, meta::list<decltype(S::template block<S::template index_of_weight<P>>(V{}))...>>{};
    }
}

// Whether bop/newton_step accept this loss and these parameters (the same analysis, without
// asserting): lets an objective offer block Newton steps only where they exist.
template <class Loss, class Options, class... P>
constexpr bool supported() {
    if constexpr (!parse_loss<Loss>::ok) {
        return false;
    } else if constexpr (!is_layer_chain<typename parse_loss<Loss>::output>()) {
        return false;
    } else {
        using S = spine<Loss, Options>;
        constexpr auto ok = [](std::size_t k) {
            if (k == 0) return false;
            const formula f = S::the_plan::choose(k);
            return f == formula::chain || f == formula::master || f == formula::newton_solution;
        };
        return (ok(S::template index_of_weight<P>) && ...);
    }
}

}  // namespace detail::bop

template <expression L, class... P>
inline constexpr bool bop_available = detail::bop::supported<L, bop_options<>, P...>();

// H_l⁺·v_l for each parameter block, v_l bound as direction(W_l), or given by along(...).
template <expression L, class... P, class... D, class... Options>
constexpr auto bop(L, params<P...>, directions<D...>, Options...) {
    if constexpr (!detail::directions_fit<meta::list<P...>, meta::list<D...>>) {
        detail::check_directions(meta::list<P...>{}, meta::list<D...>{});
        return group<meta::list<P...>, meta::list<zero_like<P>...>>{};
    } else {
        return detail::bop::blocks<L, bop_options<Options...>>(meta::list<P...>{}, meta::list<D...>{});
    }
}
template <expression L, class... P, class... Options>
    requires(!(is_directions<Options> || ...))
constexpr auto bop(L loss, params<P...> w, Options... options) {
    return bop(loss, w, directions<direction_t<P>...>{}, options...);
}

// The per-layer Newton step Δ_l = H_l⁺·G_l for every parameter, sharing the forward and
// backward pass with grad(loss, wrt(...)) when both are compiled together.
template <expression L, class... P, class... Options>
constexpr auto newton_step(L loss, params<P...> w, Options...) {
    using G = decltype(grad(loss, w));
    return detail::bop::blocks<L, bop_options<Options...>>(meta::list<P...>{}, typename G::expressions{});
}

}  // namespace gateaux
