#pragma once
// The per-sample curvature T_b at a node of the network, as the ops' curvature rules build it on
// the way down from the loss (symbolic/curvature_path.hpp). T_b is the Hessian of sample b's loss
// with respect to row b of the node's value. A form is an empty type that knows
//   stack()      the explicit blocks, a (B·n)×n stack (solve/curvature.hpp): the master formula's
//                T_b and a program output of their own;
//   solve<>(z)   z_b ↦ z_b·T_b⁻¹ applied factor by factor (the chain), where `chain` says that
//                works: exactly (the inverse, or, for a singular T_b, the pseudo-inverse — and then
//                the null space must be the same for every sample, as the softmax's ones vector
//                is: only then is h⁺·[rows (h⁺ᵀV)_b·T_b⁺] the block's minimum-norm solution), as a generalised inverse
//                T⁻ with T·T⁻·T = T (a Newton solution, not the minimum-norm one), or not at all;
//   rank         the generic rank of T_b, known from the widths and the ops on the path;
//   vanishing    a derivative on the path may be zero (a relu): no inverse of any kind;
//   scalar       T_b = c_b·I (a squared error at the output).
// The forms a loss starts from (diagonal, softmax) also give T_b·u, for Gauss–Newton products,
// and a factor F_b with F_b·F_bᵀ = T_b, for the Fisher.
#include "../core/constants.hpp"
#include "../core/dim.hpp"
#include "../core/expr.hpp"
#include "../ops/hadamard.hpp"
#include "../ops/softmax.hpp"
#include "curvature.hpp"
#include "divide.hpp"
#include "softmax_pinv.hpp"

namespace gateaux {

enum class chain_kind { none, generalised, exact };

constexpr chain_kind weaker(chain_kind a, chain_kind b) { return a < b ? a : b; }

// T_b = diag(t_b), t (B×n) an expression; scalar when every column of t is the same (t = g·1).
template <class T, bool Scalar = false, bool Vanishing = false>
struct diagonal_curvature {
    using vector = T;
    static constexpr dim width = T::cols, rank = T::cols;
    static constexpr chain_kind chain = chain_kind::exact;
    static constexpr bool vanishing = Vanishing, scalar = Scalar;
    static constexpr auto stack() { return curvature_diag(T{}); }
    static constexpr auto factor() { return curvature_diag_sqrt(T{}); }
    template <class Z>
    static constexpr auto solve(Z z) {
        return divide<"the output layer's curvature g·φ′">(z, T{});
    }
    template <class U>
    static constexpr auto times(U u) {
        return hadamard(T{}, u);
    }
};

// T_b = w_b·(diag p_b − p_b·p_bᵀ) at the logits of a softmax cross-entropy (p = softmax(o),
// w_b the sample's weight): singular along the ones vector, with a closed-form pseudo-inverse.
template <class P, class W>
struct softmax_curvature {
    static constexpr dim width = P::cols, rank = P::cols - 1;
    static constexpr chain_kind chain = chain_kind::exact;
    static constexpr bool vanishing = false, scalar = false;
    static constexpr auto stack() { return curvature_softmax(P{}, W{}); }
    static constexpr auto factor() { return curvature_softmax_factor(P{}, W{}); }
    template <class Z>
    static constexpr auto solve(Z z) {
        return softmax_pinv(z, P{}, W{});
    }
    template <class U>
    static constexpr auto times(U u) {
        return hadamard(col_broadcast<P::cols>(W{}), softmax_op::jacobian_times(P{}, u));
    }
};

// T = M·C·Mᵀ: the curvature C of a node pulled back through one operand of its op. Map (the
// op's, defined in its header) gives the stack's pull-back and, where the chain applies, the
// maps before and after C's own inverse: z·T⁻ = post(C⁻(pre(z))).
namespace detail {
// A pulled curvature's constants, from one class per value: static members of pulled_curvature
// itself would be variables whose names spell the whole chain below it, and g++ mangles the name
// of every instantiated variable (core/expr.hpp's shape_base::shaped).
template <dim Width, dim Rank, chain_kind Chain, bool Vanishing>
struct pulled_constants {
    static constexpr dim width = Width, rank = Rank;
    static constexpr chain_kind chain = Chain;
    static constexpr bool vanishing = Vanishing, scalar = false;
};
}  // namespace detail

template <class C, class Map, dim Width, dim Rank, chain_kind Chain, bool Vanishing = C::vanishing>
struct pulled_curvature : detail::pulled_constants<Width, Rank, Chain, Vanishing> {
    static constexpr auto stack() { return Map::stack(C::stack()); }
    template <class Z>
    static constexpr auto solve(Z z) {
        return Map::post(C::solve(Map::pre(z)));
    }
};

// Through an invertible map an exact inverse stays exact only over a nonsingular T: otherwise
// M⁻ᵀ·T⁺·M⁻¹ is a generalised inverse of M·T·Mᵀ, not its pseudo-inverse.
namespace detail {
template <class C>
inline constexpr chain_kind chain_through_invertible = C::rank == C::width ? C::chain : weaker(C::chain, chain_kind::generalised);
}

template <class C>
inline constexpr bool is_diagonal_curvature = false;
template <class T, bool S, bool V>
inline constexpr bool is_diagonal_curvature<diagonal_curvature<T, S, V>> = true;

}  // namespace gateaux
