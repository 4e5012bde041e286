#pragma once
// A row b (1×C) repeated on R rows (R×C): the adjoint of col_sum, and col_sum is its adjoint.
//   tangent: row_broadcast(db)   adjoint: col_sum(h)      Folds: 0 -> 0, 1 -> 1.
#include <algorithm>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

template <dim R>
struct row_broadcast_op {
    static constexpr shape shape_of(shape b) { return {R, b.cols}; }
    static void value(tensor& out, const tensor& b) {
        const std::size_t n = out.shape(1);
        double* p = out.data();
        for (std::size_t r = 0; r < out.shape(0); ++r, p += n) std::copy_n(b.data(), n, p);
    }
    template <class Self, class B, class DB>
    static constexpr auto tangent(Self, B, DB db);
    template <std::size_t I, class Self, class H, class B>
    static constexpr auto adjoint(Self, H h, B);
    static printed print(const printed& b) { return {"row_broadcast(" + b.text + ")", prec::atom}; }
};

template <dim R, expression B>
constexpr auto row_broadcast(B) {
    static_assert(B::rows == 1, "gateaux::row_broadcast<R>(b) requires a row b (1×C)");
    if constexpr (is_zero<B>)
        return zero<R, B::cols>{};
    else if constexpr (is_ones<B>)
        return ones<R, B::cols>{};
    else if constexpr (R == 1)
        return B{};
    else
        return node<row_broadcast_op<R>, B>{};
}

template <dim R>
template <class Self, class B, class DB>
constexpr auto row_broadcast_op<R>::tangent(Self, B, DB db) {
    return row_broadcast<R>(db);
}
template <dim R>
template <std::size_t I, class Self, class H, class B>
constexpr auto row_broadcast_op<R>::adjoint(Self, H h, B) {
    return col_sum(h);
}

}  // namespace gateaux
