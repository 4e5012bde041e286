#pragma once
// Matrix product C = Â·B̂ with Â = A or Aᵀ, B̂ = B or Bᵀ (matmul_op<TA, TB>): transposes, written
// by the user or produced by the rules, fold into the BLAS call instead of being evaluated.
//   shape:    Â m×k, B̂ k×n -> C m×n
//   value:    dgemm through xtensor-blas, into the node's buffer
//   tangent:  dC = dÂ·B̂ + Â·dB̂
//   adjoint:  gA = g·B̂ᵀ (or B̂·gᵀ if TA),   gB = Âᵀ·g (or gᵀ·Â if TB)
// and, for C = h·W (no transposes), the rules of the B-operator (docs/theory.md):
//   inverse in W (a parameter): from G = hᵀ·δ, δ = h⁺ᵀ·G, and W = h⁺·C; rank h = B (B ≤ rows W)
//   curvature in h (W held fixed): T_h = W·T_C·Wᵀ, inverted as W⁻ᵀ·T⁻¹·W⁻¹ for a square W, as
//            W⁺ᵀ·T⁻¹·W⁺ for a wide W when T = c·I (exact) and for a tall W (a generalised
//            inverse: W·T·Wᵀ is singular); otherwise only the stack is known
#include <xtensor-blas/xblas.hpp>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../solve/curvature.hpp"
#include "../solve/curvature_form.hpp"
#include "../solve/left_pinv.hpp"
#include "../solve/right_pinv.hpp"
#include "../solve/right_solve.hpp"
#include "add.hpp"
#include "transpose.hpp"

namespace gateaux {

template <bool TA, bool TB>
struct matmul_op;

namespace detail {
template <class E>
struct peel_transpose {
    using type = E;
    static constexpr bool flip = false;
};
template <class X>
struct peel_transpose<node<transpose_op, X>> {
    using type = X;
    static constexpr bool flip = true;
};
}  // namespace detail

// op(X)·op(Y) with op chosen by the flags; transposed operands flip their flag; zeros fold.
template <bool TA, bool TB, expression X, expression Y>
constexpr auto make_matmul(X, Y) {
    using PX = detail::peel_transpose<X>;
    using PY = detail::peel_transpose<Y>;
    constexpr bool ta = TA != PX::flip, tb = TB != PY::flip;
    using N = node<matmul_op<ta, tb>, typename PX::type, typename PY::type>;
    if constexpr (is_zero<X> || is_zero<Y>)
        return zero<N::rows, N::cols>{};
    else
        return N{};
}

namespace detail {
// The maps of T_h = W·T·Wᵀ: the stack's congruence, and z ↦ z·W⁻ᵀ before and u ↦ u·W⁻¹ after
// T's own inverse (pseudo-inverses for a rectangular W).
template <class W>
struct weight_map {
    static constexpr auto name = name_of<W>();
    static constexpr auto stack(auto t) { return curvature_congruence(t, W{}); }
    static constexpr auto pre(auto z) {
        if constexpr (W::rows == W::cols)
            return solve_right_transposed<name>(z, W{});
        else
            return pinv_right<name, true>(z, W{});
    }
    static constexpr auto post(auto u) {
        if constexpr (W::rows == W::cols)
            return solve_right<name>(u, W{});
        else
            return pinv_right<name, false>(u, W{});
    }
};
}  // namespace detail

template <bool TA = false, bool TB = false>
struct matmul_op {
    static constexpr shape shape_of(shape a, shape b) {
        return {TA ? a.cols : a.rows, TB ? b.rows : b.cols};
    }
    static void value(tensor& out, const tensor& a, const tensor& b) {
        xt::blas::gemm(a, b, out, TA, TB);
    }
    template <class Self, class A, class B, class DA, class DB>
    static constexpr auto tangent(Self, A a, B b, DA da, DB db) {
        return add(make_matmul<TA, TB>(da, b), make_matmul<TA, TB>(a, db));
    }
    template <std::size_t I, class Self, class G, class A, class B>
    static constexpr auto adjoint(Self, G g, A a, B b) {
        if constexpr (I == 0 && TA)
            return make_matmul<TB, true>(b, g);
        else if constexpr (I == 0)
            return make_matmul<false, !TB>(g, b);
        else if constexpr (TB)
            return make_matmul<true, TA>(g, a);
        else
            return make_matmul<!TA, false>(a, g);
    }

    // The B-operator's rules (see the top of this file).
    template <std::size_t I>
    static constexpr bool curvature_through = I == 0 && !TA && !TB;
    template <std::size_t I>
    static constexpr bool weight_in = I == 1 && !TA && !TB;
    template <std::size_t I, class Self, class C, class Gamma, class A, class W>
    static constexpr auto curvature(Self, C, Gamma, A, W) {
        constexpr dim n = W::rows, m = W::cols, r = n < C::rank ? n : C::rank;
        constexpr chain_kind chain = n == m    ? detail::chain_through_invertible<C>
                                     : n < m   ? (C::scalar ? C::chain : chain_kind::none)
                                               : weaker(C::chain, chain_kind::generalised);
        return pulled_curvature<C, detail::weight_map<W>, n, r, chain>{};
    }
    // δ = h⁺ᵀ·V (per-sample rows from a parameter-shaped V) and Δ = h⁺·Z; Name names h in errors.
    template <fixed_string Name, class H, class V>
    static constexpr auto rows_of(H h, V v) {
        return pinv_left_t<Name>(h, v);
    }
    template <fixed_string Name, class H, class Z>
    static constexpr auto parameter_of(H h, Z z) {
        return pinv_left<Name>(h, z);
    }

    static printed print(const printed& a, const printed& b) {
        std::string l = TA ? a.at(prec::postfix) + "ᵀ" : a.at(prec::multiplicative);
        std::string r = TB ? b.at(prec::postfix) + "ᵀ" : b.at(prec::postfix);
        return {l + "·" + r, prec::multiplicative};
    }
};

template <expression A, expression B>
constexpr auto matmul(A a, B b) {
    static_assert(inner_dims_agree<A::shape_value, B::shape_value>,
                  "gateaux::matmul(a, b) requires cols(a) == rows(b) [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!inner_dims_agree<A::shape_value, B::shape_value>)
        return invalid{};
    else
        return make_matmul<false, false>(a, b);
}

// a * b is the matrix product, and only between gateaux expressions: plain xtensor operands
// never match (for them * stays element-wise). It checks shapes itself so that a mistake is
// reported one instantiation level nearer the user's line.
template <expression A, expression B>
constexpr auto operator*(A a, B b) {
    static_assert(inner_dims_agree<A::shape_value, B::shape_value>,
                  "gateaux::matmul(a, b) requires cols(a) == rows(b) [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!inner_dims_agree<A::shape_value, B::shape_value>)
        return invalid{};
    else
        return make_matmul<false, false>(a, b);
}

}  // namespace gateaux
