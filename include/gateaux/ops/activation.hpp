#pragma once
// Element-wise activations. An activation is a small functor F (one header each: tanh.hpp,
// leaky_relu.hpp, ...) giving a, a′, a″, a‴, the inverse a⁻¹ and its derivative (a⁻¹)′ as
// scalar functions; everything else is derived here once:
//   elementwise_op<F, K> evaluates the K-th derivative a⁽ᴷ⁾ entry by entry, so a′(net) and
//   a″(net) are graph nodes like any other and the chain rule can be written in graph terms.
// F's members:  name, f, df, d2f, d3f, inv, dinv, and the flags
//   piecewise_linear (a″ = 0 away from kinks) and invertible (a′ ≠ 0 everywhere).
#include <algorithm>
#include <string_view>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

template <class F, int K = 0>
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
    constexpr auto operator()(E) const {
        return node<elementwise_op<F>, E>{};
    }
};

}  // namespace gateaux
