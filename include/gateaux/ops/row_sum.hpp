#pragma once
// Row sums r_b = Σⱼ A_bj (R×1), e.g. a per-sample reduction.
//   tangent: row_sum(dA)   adjoint: g copied across the columns (col_broadcast)
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct row_sum_op {
    static constexpr shape shape_of(shape a) { return {a.rows, 1}; }
    static void value(tensor& out, const tensor& a) {
        const std::size_t n = a.shape(1);
        const double* p = a.data();
        for (std::size_t b = 0; b < a.shape(0); ++b, p += n) {
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j) s += p[j];
            out(b, 0) = s;
        }
    }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A, DA da);
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A);
    static printed print(const printed& a) { return {"row_sum(" + a.text + ")", prec::atom}; }
};

template <expression A>
constexpr auto row_sum(A) {
    if constexpr (is_zero<A>)
        return zero<A::rows, 1>{};
    else
        return node<row_sum_op, A>{};
}

template <class Self, class A, class DA>
constexpr auto row_sum_op::tangent(Self, A, DA da) {
    return row_sum(da);
}
template <std::size_t I, class Self, class G, class A>
constexpr auto row_sum_op::adjoint(Self, G g, A) {
    return col_broadcast<A::cols>(g);
}

}  // namespace gateaux
