#pragma once
// The pseudo-inverse of the softmax cross-entropy curvature, row by row: for
// T_b = g_b·(diag(p_b) − p_b p_bᵀ), whose null space is the ones vector, diag(p)⁻¹ is a
// generalised inverse (T·diag(p)⁻¹·T = T since Σp = 1), so T⁺ = C·diag(p)⁻¹·C/g with C the
// centring projector: z_b T_b⁺ = centre(centre(z_b) ⊘ p_b)/g_b. For z = p − y this is the
// output-layer step centre_rows((p − y) ⊘ p).
#include <cmath>
#include <string>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"

namespace gateaux {

struct softmax_pinv_op {
    static constexpr shape shape_of(shape z, shape, shape) { return z; }
    static void value(tensor& out, const tensor& z, const tensor& p, const tensor& g) {
        const std::size_t n = z.shape(1);
        for (std::size_t b = 0; b < z.shape(0); ++b) {
            const double* zb = z.data() + b * n;
            const double* pb = p.data() + b * n;
            double* ob = out.data() + b * n;
            double mean_z = 0.0;
            for (std::size_t j = 0; j < n; ++j) mean_z += zb[j];
            mean_z /= double(n);
            double mean_o = 0.0;
            for (std::size_t j = 0; j < n; ++j) {
                if (!(pb[j] > inverse_tolerance()))
                    throw rank_error("softmax probability p(" + std::to_string(b) + ", " + std::to_string(j) + ")",
                                     "is " + number_string(pb[j]) + ", below the tolerance; the cross-entropy curvature is too flat to invert",
                                     pb[j]);
                ob[j] = (zb[j] - mean_z) / pb[j];
                mean_o += ob[j];
            }
            mean_o /= double(n);
            for (std::size_t j = 0; j < n; ++j) ob[j] = (ob[j] - mean_o) / g(b, 0);
        }
    }
    static printed print(const printed& z, const printed& p, const printed& g) {
        return {"softmax_pinv(" + z.text + ", " + p.text + ", " + g.text + ")", prec::atom};
    }
};

template <expression Z, expression P, expression G>
constexpr auto softmax_pinv(Z, P, G) {
    static_assert(shapes_agree<Z::shape_value, P::shape_value> && G::cols == 1, "gateaux::softmax_pinv(z, p, g): shapes differ");
    if constexpr (is_zero<Z>)
        return Z{};
    else
        return node<softmax_pinv_op, Z, P, G>{};
}

}  // namespace gateaux
