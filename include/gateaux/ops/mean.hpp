#pragma once
// Mean of all entries m = Σᵢⱼ Aᵢⱼ / (rows·cols) (1×1); on a per-sample loss column (B×1) it is
// the mean over the batch.   tangent: mean(dA)   adjoint: g/(rows·cols) broadcast (fill_mean)
#include <numeric>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "fill_mean.hpp"

namespace gateaux {

struct mean_op {
    static constexpr shape shape_of(shape) { return {1, 1}; }
    static void value(tensor& out, const tensor& a) {
        out(0, 0) = std::accumulate(a.storage().begin(), a.storage().end(), 0.0) / double(a.size());
    }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A, DA da);
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A) {
        return fill_mean<A::rows, A::cols>(g);
    }
    static printed print(const printed& a) { return {"mean(" + a.text + ")", prec::atom}; }
};

template <expression A>
constexpr auto mean(A) {
    if constexpr (is_zero<A>)
        return zero<1, 1>{};
    else
        return node<mean_op, A>{};
}

template <class Self, class A, class DA>
constexpr auto mean_op::tangent(Self, A, DA da) {
    return mean(da);
}

}  // namespace gateaux
