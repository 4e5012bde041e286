#pragma once
// Per-sample softmax cross-entropy of logits o against target rows y (one-hot or any
// distribution): row b of the B×1 result is −Σⱼ y_bj log softmax(o_b)ⱼ = Σⱼ y_bj (lse(o_b) − o_bj),
// with the log-sum-exp shifted by the row maximum so large logits do not overflow.
#include <cmath>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct cross_entropy_op {
    static constexpr shape shape_of(shape o, shape) { return {o.rows, 1}; }
    static void value(tensor& out, const tensor& o, const tensor& y) {
        const std::size_t n = o.shape(1);
        for (std::size_t b = 0; b < o.shape(0); ++b) {
            const double* ob = o.data() + b * n;
            const double* yb = y.data() + b * n;
            double m = ob[0];
            for (std::size_t j = 1; j < n; ++j) m = std::max(m, ob[j]);
            double z = 0.0;
            for (std::size_t j = 0; j < n; ++j) z += std::exp(ob[j] - m);
            const double lse = m + std::log(z);
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j) s += yb[j] * (lse - ob[j]);
            out(b, 0) = s;
        }
    }
    static printed print(const printed& o, const printed& y) {
        return {"cross_entropy(" + o.text + ", " + y.text + ")", prec::atom};
    }
};

template <expression O, expression Y>
constexpr auto cross_entropy(O, Y) {
    static_assert(shapes_agree<shape_v<O>, shape_v<Y>>,
                  "gateaux::cross_entropy(logits, target) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    return node<cross_entropy_op, O, Y>{};
}

}  // namespace gateaux
