#pragma once
// Row-wise softmax p_b = exp(o_b − max) / Σ exp(o_b − max).
//   tangent: p ⊙ (do − row_sum(p ⊙ do))      adjoint: p ⊙ (g − row_sum(p ⊙ g))
// (the softmax Jacobian diag(p) − p pᵀ is symmetric, so both rules have one form).
#include <algorithm>
#include <cmath>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "col_broadcast.hpp"
#include "hadamard.hpp"
#include "row_sum.hpp"
#include "sub.hpp"

namespace gateaux {

struct softmax_op {
    static constexpr shape shape_of(shape o) { return o; }
    static void value(tensor& out, const tensor& o) {
        const std::size_t n = o.shape(1);
        for (std::size_t b = 0; b < o.shape(0); ++b) {
            const double* ob = o.data() + b * n;
            double* pb = out.data() + b * n;
            const double m = *std::max_element(ob, ob + n);
            double z = 0.0;
            for (std::size_t j = 0; j < n; ++j) z += (pb[j] = std::exp(ob[j] - m));
            for (std::size_t j = 0; j < n; ++j) pb[j] /= z;
        }
    }
    // J·d for the softmax p = self.
    template <class P, class D>
    static constexpr auto jacobian_times(P p, D d) {
        return hadamard(p, sub(d, col_broadcast<P::cols>(row_sum(hadamard(p, d)))));
    }
    template <class Self, class O, class DO>
    static constexpr auto tangent(Self self, O, DO d_o) {
        return jacobian_times(self, d_o);
    }
    template <std::size_t I, class Self, class G, class O>
    static constexpr auto adjoint(Self self, G g, O) {
        return jacobian_times(self, g);
    }
    static printed print(const printed& o) { return {"softmax(" + o.text + ")", prec::atom}; }
};

template <expression O>
constexpr auto softmax(O) {
    return node<softmax_op, O>{};
}

}  // namespace gateaux
