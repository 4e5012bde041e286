#pragma once
// Sum of all entries s = Σᵢⱼ Aᵢⱼ (1×1).   tangent: sum(dA)   adjoint: g broadcast to A's shape
#include <numeric>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "fill.hpp"

namespace gateaux {

struct sum_op {
    static constexpr shape shape_of(shape) { return {1, 1}; }
    static void value(tensor& out, const tensor& a) {
        out(0, 0) = std::accumulate(a.storage().begin(), a.storage().end(), 0.0);
    }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A, DA da);
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A) {
        return fill<A::rows, A::cols>(g);
    }
    static printed print(const printed& a) { return {"sum(" + a.text + ")", prec::atom}; }
};

template <expression A>
constexpr auto sum(A) {
    if constexpr (is_zero<A>)
        return zero<1, 1>{};
    else
        return node<sum_op, A>{};
}

template <class Self, class A, class DA>
constexpr auto sum_op::tangent(Self, A, DA da) {
    return sum(da);
}

}  // namespace gateaux
