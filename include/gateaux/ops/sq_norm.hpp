#pragma once
// Half squared Frobenius norm ½‖A‖² = ½ Σᵢⱼ Aᵢⱼ² (1×1). The L2 penalty is built on it.
//   tangent: sum(A ⊙ dA)      adjoint: g·A
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "fill.hpp"
#include "hadamard.hpp"
#include "sum.hpp"

namespace gateaux {

struct sq_norm_op {
    static constexpr shape shape_of(shape) { return {1, 1}; }
    static void value(tensor& out, const tensor& a) {
        double s = 0.0;
        for (double v : a.storage()) s += v * v;
        out(0, 0) = 0.5 * s;
    }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A a, DA da) {
        return sum(hadamard(a, da));
    }
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A a) {
        return hadamard(fill<A::rows, A::cols>(g), a);
    }
    static printed print(const printed& a) { return {"½‖" + a.text + "‖²", prec::atom}; }
};

template <expression A>
constexpr auto sq_norm(A) {
    if constexpr (is_zero<A>)
        return zero<1, 1>{};
    else
        return node<sq_norm_op, A>{};
}

}  // namespace gateaux
