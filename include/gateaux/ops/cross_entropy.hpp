#pragma once
// Per-sample softmax cross-entropy of logits o against target rows y (one-hot or any
// distribution): row b of the B×1 result is −Σⱼ y_bj log softmax(o_b)ⱼ = Σⱼ y_bj (lse(o_b) − o_bj),
// with the log-sum-exp shifted by the row maximum so large logits do not overflow.
//   gradient in o:  e = (Σⱼ y_bj)·softmax(o) − y   (= p − y for one-hot targets)
//   tangent: row_sum(e ⊙ do)      adjoint: go = g_b·e row by row
// Targets are data: differentiating through them is refused at compile time.
//   output curvature: T_b = g_b·(Σⱼ y_bj)·(diag p_b − p_b·p_bᵀ), the Hessian in the logits; it
//   is also the Gauss–Newton's, and the Fisher's for the model's predictive distribution
//   y ~ Categorical(softmax(o)), from which sample_target draws one-hot rows
#include <algorithm>
#include <cmath>
#include <random>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../solve/curvature_form.hpp"
#include "col_broadcast.hpp"
#include "hadamard.hpp"
#include "row_sum.hpp"
#include "softmax.hpp"
#include "sub.hpp"

namespace gateaux {

struct cross_entropy_op {
    static constexpr bool per_sample_loss = true;
    static constexpr shape shape_of(shape o, shape) { return {o.rows, 1}; }
    static void value(tensor& out, const tensor& o, const tensor& y) {
        const std::size_t n = o.shape(1);
        for (std::size_t b = 0; b < o.shape(0); ++b) {
            const double* ob = o.data() + b * n;
            const double* yb = y.data() + b * n;
            // lse − o_j = (m − o_j) + log1p(Σ_{k≠argmax} exp(o_k − m)): accurate also when the target
            // class dominates and the loss is tiny (log(1 + ε) computed as log1p(ε)).
            const std::size_t top = std::size_t(std::max_element(ob, ob + n) - ob);
            const double m = ob[top];
            double rest = 0.0;
            for (std::size_t j = 0; j < n; ++j)
                if (j != top) rest += std::exp(ob[j] - m);
            const double tail = std::log1p(rest);
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j) s += yb[j] * ((m - ob[j]) + tail);
            out(b, 0) = s;
        }
    }
    template <class O, class Y>
    static constexpr auto error(O o, Y y) {
        return sub(hadamard(col_broadcast<O::cols>(row_sum(y)), softmax(o)), y);
    }
    template <class Self, class O, class Y, class DO, class DY>
    static constexpr auto tangent(Self, O o, Y y, DO d_o, DY) {
        static_assert(detail::zero_trait<DY>::value, "gateaux::cross_entropy(logits, target): the target must not depend on a parameter");
        return row_sum(hadamard(error(o, y), d_o));
    }
    template <std::size_t I, class Self, class G, class O, class Y>
    static constexpr auto adjoint(Self, G g, O o, Y y) {
        static_assert(I == 0, "gateaux::cross_entropy(logits, target): the target must not depend on a parameter");
        return hadamard(col_broadcast<O::cols>(g), error(o, y));
    }
    template <class G, class O, class Y>
    static constexpr auto output_curvature(G g, O o, Y y) {
        return softmax_curvature<decltype(softmax(o)), decltype(hadamard(g, row_sum(y)))>{};
    }
    template <class Rng>
    static void sample_target(const tensor& o, Rng& rng, tensor& y) {
        const std::size_t n = o.shape(1);
        std::uniform_real_distribution<double> uniform;
        for (std::size_t b = 0; b < o.shape(0); ++b) {
            const double* ob = o.data() + b * n;
            const double m = *std::max_element(ob, ob + n);
            double z = 0.0;
            for (std::size_t j = 0; j < n; ++j) z += std::exp(ob[j] - m);
            double u = uniform(rng) * z, acc = 0.0;
            std::size_t pick = n - 1;
            for (std::size_t j = 0; j < n; ++j) {
                acc += std::exp(ob[j] - m);
                if (u < acc) {
                    pick = j;
                    break;
                }
            }
            for (std::size_t j = 0; j < n; ++j) y(b, j) = j == pick ? 1.0 : 0.0;
        }
    }
    static printed print(const printed& o, const printed& y) {
        return {"cross_entropy(" + o.text + ", " + y.text + ")", prec::atom};
    }
};

template <expression O, expression Y>
constexpr auto cross_entropy(O, Y) {
    static_assert(shapes_agree<O::shape_value, Y::shape_value>,
                  "gateaux::cross_entropy(logits, target) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<O::shape_value, Y::shape_value>)
        return invalid{};
    else
        return node<cross_entropy_op, O, Y>{};
}

}  // namespace gateaux
