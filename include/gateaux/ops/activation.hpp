#pragma once
// Element-wise activations. An activation is a small functor F (one header each: tanh.hpp,
// leaky_relu.hpp, ...) giving a, a′, a″, a‴, the inverse a⁻¹ and its derivative (a⁻¹)′ as
// scalar functions; everything else is derived here once:
//   elementwise_op<F, K> evaluates the K-th derivative a⁽ᴷ⁾ entry by entry, so a′(net) and
//   a″(net) are graph nodes like any other and the chain rule can be written in graph terms.
//   tangent: a⁽ᴷ⁺¹⁾(x) ⊙ dx       adjoint: g ⊙ a⁽ᴷ⁺¹⁾(x)
// F's members:  name, f, df, d2f, d3f, inv, dinv, and the flags
//   piecewise_linear (a″ = 0 away from kinks: a″ and a‴ fold to a symbolic zero, so the
//   R-operator of a leaky-ReLU network carries no a″ terms) and invertible (a′ ≠ 0 everywhere).
#include <algorithm>
#include <string_view>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "hadamard.hpp"

namespace gateaux {

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
