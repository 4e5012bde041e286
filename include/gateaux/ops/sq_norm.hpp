#pragma once
// Half squared Frobenius norm ½‖A‖² = ½ Σᵢⱼ Aᵢⱼ², a 1×1 result. The L2 penalty is built on it.
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct sq_norm_op {
    static constexpr shape shape_of(shape) { return {1, 1}; }
    static void value(tensor& out, const tensor& a) {
        double s = 0.0;
        for (double v : a.storage()) s += v * v;
        out(0, 0) = 0.5 * s;
    }
    static printed print(const printed& a) { return {"½‖" + a.text + "‖²", prec::atom}; }
};

template <expression A>
constexpr auto sq_norm(A) {
    return node<sq_norm_op, A>{};
}

}  // namespace gateaux
