#pragma once
// Element-wise activations. An activation is a small functor F (one header each: tanh.hpp,
// leaky_relu.hpp, ...) giving a, a′, a″ and a‴ as scalar functions; everything else is derived
// here once:
//   elementwise_op<F, K> evaluates the K-th derivative a⁽ᴷ⁾ entry by entry, so a′(net) and
//   a″(net) are graph nodes like any other and the chain rule can be written in graph terms.
//   tangent: a⁽ᴷ⁺¹⁾(x) ⊙ dx       adjoint: g ⊙ a⁽ᴷ⁺¹⁾(x)
//   curvature (the B-operator's pull-back, docs/theory.md): T_x = D·T·D + diag(γ ⊙ a″) with
//   D = diag(a′) and γ the cotangent of a(x). A diagonal T stays diagonal (t ↦ a′²⊙t + γ⊙a″);
//   otherwise, when a″ = 0 (or for Gauss–Newton, γ = 0), the chain inverts it as D⁻¹·T⁻¹·D⁻¹,
//   and when not, only the stack is known. An activation whose a′ can vanish (relu) has no
//   inverse of any kind.
// F's members:  name, f, df, d2f, d3f, and the flags
//   piecewise_linear (a″ = 0 away from kinks: a″ and a‴ fold to a symbolic zero, so the
//   R-operator of a leaky-ReLU network carries no a″ terms) and invertible (a′ ≠ 0 everywhere).
#include <algorithm>
#include <string_view>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../solve/curvature.hpp"
#include "../solve/curvature_form.hpp"
#include "../solve/divide.hpp"
#include "add.hpp"
#include "hadamard.hpp"

namespace gateaux {

template <bool TA, bool TB>
struct matmul_op;

namespace detail {
// Where an activation sits, for the messages of its divisions by a′: "the output of W1" when
// its operand is h·W1 or h·W1 + b1.
template <class X>
struct activation_site {
    static constexpr fixed_string name = "an activation";
};
template <class H, class W>
struct activation_site<node<matmul_op<false, false>, H, W>> {
    static constexpr auto name = concat<"the output of ", name_of<W>()>();
};
template <class H, class W, class B>
struct activation_site<node<bias_add_op, node<matmul_op<false, false>, H, W>, B>>
    : activation_site<node<matmul_op<false, false>, H, W>> {};

// The maps of T_x = D·T·D + diag(c): the stack's, and ⊘a′ on both sides of T's inverse.
template <class D, class C, fixed_string Site>
struct activation_map {
    static constexpr auto stack(auto t) { return curvature_scale(t, D{}, C{}); }
    static constexpr auto pre(auto z) { return divide<concat<"a′ at ", Site>()>(z, D{}); }
    static constexpr auto post(auto z) { return divide<concat<"a′ at ", Site>()>(z, D{}); }
};
}  // namespace detail

template <class F, int K = 0>
struct elementwise_op;

// a⁽ᴷ⁾(x) as a node; zero for K ≥ 2 when a is piecewise linear.
template <class F, int K, expression X>
constexpr auto derivative(X) {
    if constexpr (K >= 2 && F::piecewise_linear)
        return zero_like<X>{};
    else
        return node<elementwise_op<F, K>, X>{};
}

template <class F, int K>
struct elementwise_op {
    static_assert(K >= 0 && K <= 3, "gateaux: activations provide derivatives up to the third");
    using function = F;
    static constexpr int order = K;

    static double apply(double x) {
        if constexpr (K == 0) return F::f(x);
        else if constexpr (K == 1) return F::df(x);
        else if constexpr (K == 2) return F::d2f(x);
        else return F::d3f(x);
    }
    static constexpr shape shape_of(shape a) { return a; }
    static void value(tensor& out, const tensor& a) {
        std::transform(a.storage().begin(), a.storage().end(), out.storage().begin(), apply);
    }
    template <class Self, class X, class DX>
    static constexpr auto tangent(Self, X x, DX dx) {
        return hadamard(derivative<F, K + 1>(x), dx);
    }
    template <std::size_t I, class Self, class G, class X>
    static constexpr auto adjoint(Self, G g, X x) {
        return hadamard(g, derivative<F, K + 1>(x));
    }

    template <std::size_t I>
    static constexpr bool curvature_through = K == 0;
    template <std::size_t I, class Self, class C, class Gamma, class X>
    static constexpr auto curvature(Self, C, Gamma, X x) {
        auto d = derivative<F, 1>(x);
        auto c = hadamard(Gamma{}, derivative<F, 2>(x));
        constexpr bool linear = is_zero<decltype(c)>, vanishing = C::vanishing || !F::invertible;
        if constexpr (is_diagonal_curvature<C>)
            return diagonal_curvature<decltype(add(hadamard(hadamard(d, d), typename C::vector{}), c)), false, vanishing>{};
        else
            return pulled_curvature<C, detail::activation_map<decltype(d), decltype(c), detail::activation_site<X>::name>,
                                    X::cols, linear ? C::rank : X::cols,
                                    linear ? detail::chain_through_invertible<C> : chain_kind::none, vanishing>{};
    }

    static printed print(const printed& a) {
        constexpr std::string_view primes[] = {"", "′", "″", "‴"};
        return {std::string(F::name) + std::string(primes[K]) + "(" + a.text + ")", prec::atom};
    }
};

// The user-facing activation: a callable object (act::tanh(e)), also passed to mlp<...>().
template <class F>
struct activation {
    using function = F;
    template <expression E>
    constexpr auto operator()(E e) const {
        return derivative<F, 0>(e);
    }
};

}  // namespace gateaux
