#pragma once
// Column sums c_j = Σ_b A_bj (1×C): the gradient of a bias, summed over the batch.
//   tangent: col_sum(dA)   adjoint: the row g repeated on every row (row_broadcast)
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct col_sum_op {
    static constexpr shape shape_of(shape a) { return {1, a.cols}; }
    static void value(tensor& out, const tensor& a) {
        const std::size_t n = a.shape(1);
        std::fill_n(out.data(), n, 0.0);
        const double* p = a.data();
        for (std::size_t b = 0; b < a.shape(0); ++b, p += n)
            for (std::size_t j = 0; j < n; ++j) out.data()[j] += p[j];
    }
    template <class Self, class A, class DA>
    static constexpr auto tangent(Self, A, DA da);
    template <std::size_t I, class Self, class G, class A>
    static constexpr auto adjoint(Self, G g, A);
    static printed print(const printed& a) { return {"col_sum(" + a.text + ")", prec::atom}; }
};

template <expression A>
constexpr auto col_sum(A) {
    if constexpr (is_zero<A>)
        return zero<1, A::cols>{};
    else
        return node<col_sum_op, A>{};
}

template <class Self, class A, class DA>
constexpr auto col_sum_op::tangent(Self, A, DA da) {
    return col_sum(da);
}
template <std::size_t I, class Self, class G, class A>
constexpr auto col_sum_op::adjoint(Self, G g, A) {
    return row_broadcast<A::rows>(g);
}

}  // namespace gateaux
