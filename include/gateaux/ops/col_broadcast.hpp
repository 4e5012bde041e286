#pragma once
// A column g (R×1) copied into C columns (R×C): the adjoint of row_sum, and row_sum is its
// adjoint. Scaling each row of x by g is hadamard(col_broadcast<C>(g), x).
//   tangent: col_broadcast(dg)   adjoint: row_sum(h)      Folds: 0 -> 0, 1 -> 1.
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

template <dim C>
struct col_broadcast_op {
    static constexpr shape shape_of(shape g) { return {g.rows, C}; }
    static void value(tensor& out, const tensor& g) {
        const std::size_t n = out.shape(1);
        double* p = out.data();
        for (std::size_t b = 0; b < out.shape(0); ++b, p += n) std::fill_n(p, n, g(b, 0));
    }
    template <class Self, class G, class DG>
    static constexpr auto tangent(Self, G, DG dg);
    template <std::size_t I, class Self, class H, class G>
    static constexpr auto adjoint(Self, H h, G);
    static printed print(const printed& g) { return {"col_broadcast(" + g.text + ")", prec::atom}; }
};

template <dim C, expression G>
constexpr auto col_broadcast(G) {
    static_assert(G::cols == 1, "gateaux::col_broadcast<C>(g) requires a column g (R×1)");
    if constexpr (is_zero<G>)
        return zero<G::rows, C>{};
    else if constexpr (is_ones<G>)
        return ones<G::rows, C>{};
    else if constexpr (C == 1)
        return G{};
    else
        return node<col_broadcast_op<C>, G>{};
}

template <dim C>
template <class Self, class G, class DG>
constexpr auto col_broadcast_op<C>::tangent(Self, G, DG dg) {
    return col_broadcast<C>(dg);
}
template <dim C>
template <std::size_t I, class Self, class H, class G>
constexpr auto col_broadcast_op<C>::adjoint(Self, H h, G) {
    return row_sum(h);
}

}  // namespace gateaux
