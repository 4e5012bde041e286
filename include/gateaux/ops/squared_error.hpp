#pragma once
// Per-sample squared error: row b of the B×1 result is ½‖o_b − y_b‖².
// Reduce it with sum (the classic ½‖O − Y‖²) or mean; mse(o, y) is mean(squared_error(o, y)).
#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct squared_error_op {
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
    static printed print(const printed& o, const printed& y) {
        return {"½‖" + o.text + " − " + y.at(prec::multiplicative) + "‖²", prec::atom};
    }
};

template <expression O, expression Y>
constexpr auto squared_error(O, Y) {
    static_assert(shapes_agree<shape_v<O>, shape_v<Y>>,
                  "gateaux::squared_error(output, target) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    return node<squared_error_op, O, Y>{};
}

}  // namespace gateaux
