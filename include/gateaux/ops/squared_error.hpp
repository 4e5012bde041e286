#pragma once
// Per-sample squared error: row b of the B×1 result is ½‖o_b − y_b‖². Reduce it with sum (the
// classic ½‖O − Y‖²) or mean; mse(o, y) is mean(squared_error(o, y)).
//   tangent: row_sum((o − y) ⊙ (do − dy))
//   adjoint: go = g_b·(o − y) row by row (col_broadcast), gy = −go
// With g = 1 (under a sum) the output gradient folds to o − y.
//   output curvature: T_b = g_b·I, the Hessian of g_b·½‖o_b − y_b‖² in o_b (docs/theory.md); it
//   is also the Gauss–Newton's, and the Fisher's for the model's predictive distribution
//   y ~ N(o, I), from which sample_target draws the Fisher's sampled targets
#include <random>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../solve/curvature_form.hpp"
#include "col_broadcast.hpp"
#include "hadamard.hpp"
#include "row_sum.hpp"
#include "scale.hpp"
#include "sub.hpp"

namespace gateaux {

struct squared_error_op {
    static constexpr bool per_sample_loss = true;
    static constexpr shape shape_of(shape o, shape) { return {o.rows, 1}; }
    static void value(tensor& out, const tensor& o, const tensor& y) {
        const std::size_t n = o.shape(1);
        const double* po = o.data();
        const double* py = y.data();
        for (std::size_t b = 0; b < o.shape(0); ++b) {
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j, ++po, ++py) s += (*po - *py) * (*po - *py);
            out(b, 0) = 0.5 * s;
        }
    }
    template <class Self, class O, class Y, class DO, class DY>
    static constexpr auto tangent(Self, O o, Y y, DO d_o, DY d_y) {
        return row_sum(hadamard(sub(o, y), sub(d_o, d_y)));
    }
    template <std::size_t I, class Self, class G, class O, class Y>
    static constexpr auto adjoint(Self, G g, O o, Y y) {
        auto go = hadamard(col_broadcast<O::cols>(g), sub(o, y));
        if constexpr (I == 0)
            return go;
        else
            return scale<-1.0>(go);
    }
    template <class G, class O, class Y>
    static constexpr auto output_curvature(G g, O, Y) {
        return diagonal_curvature<decltype(col_broadcast<O::cols>(g)), true>{};
    }
    template <class Rng>
    static void sample_target(const tensor& o, Rng& rng, tensor& y) {
        std::normal_distribution<double> noise;
        for (std::size_t k = 0; k < o.size(); ++k) y.flat(k) = o.flat(k) + noise(rng);
    }
    static printed print(const printed& o, const printed& y) {
        return {"½‖" + o.text + " − " + y.at(prec::multiplicative) + "‖²", prec::atom};
    }
};

template <expression O, expression Y>
constexpr auto squared_error(O, Y) {
    static_assert(shapes_agree<O::shape_value, Y::shape_value>,
                  "gateaux::squared_error(output, target) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<O::shape_value, Y::shape_value>)
        return invalid{};
    else
        return node<squared_error_op, O, Y>{};
}

}  // namespace gateaux
