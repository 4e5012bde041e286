#pragma once
// The joint block of a layer's weight and bias. With net = h·W + 1·b = [h 1]·[W; b], the pair is
// one weight of the augmented input h̄ = [h 1] (B×(n+1)), so the B-operator's formulas apply to it
// unchanged: Δ̄ = h̄⁺·T⁻¹(h̄⁺ᵀ·[V_W; V_b]), and the rows of Δ̄ split back into Δ_W and Δ_b.
//   append_ones(h)          [h 1]
//   stack_rows(a, b)        [a; b]
//   row_range<F, N>(x)      rows F .. F+N−1 of x
#include <algorithm>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct append_ones_op {
    static constexpr shape shape_of(shape h) { return {h.rows, h.cols + 1}; }
    static void value(tensor& out, const tensor& h) {
        const std::size_t n = h.shape(1);
        for (std::size_t r = 0; r < h.shape(0); ++r) {
            std::copy_n(h.data() + r * n, n, out.data() + r * (n + 1));
            out(r, n) = 1.0;
        }
    }
    static printed print(const printed& h) { return {"[" + h.text + " 1]", prec::atom}; }
};

struct stack_rows_op {
    static constexpr shape shape_of(shape a, shape b) { return {a.rows + b.rows, a.cols}; }
    static void value(tensor& out, const tensor& a, const tensor& b) {
        std::copy(a.begin(), a.end(), out.begin());
        std::copy(b.begin(), b.end(), out.begin() + std::ptrdiff_t(a.size()));
    }
    static printed print(const printed& a, const printed& b) { return {"[" + a.text + "; " + b.text + "]", prec::atom}; }
};

template <dim First, dim Count>
struct row_range_op {
    static constexpr shape shape_of(shape x) { return {Count, x.cols}; }
    static void value(tensor& out, const tensor& x) {
        const std::size_t c = x.shape(1);
        std::copy_n(x.data() + std::size_t(First) * c, std::size_t(Count) * c, out.data());
    }
    static printed print(const printed& x) {
        return {x.at(prec::postfix) + "[" + std::to_string(First) + ":" + std::to_string(First + Count) + "]", prec::postfix};
    }
};

template <expression H>
constexpr auto append_ones(H) {
    return node<append_ones_op, H>{};
}
template <expression A, expression B>
constexpr auto stack_rows(A, B) {
    static_assert(A::cols == B::cols && A::rows > 0 && B::rows > 0, "gateaux::stack_rows(a, b) requires fixed rows and equal widths");
    return node<stack_rows_op, A, B>{};
}
template <dim First, dim Count, expression X>
constexpr auto row_range(X) {
    static_assert(First >= 0 && Count > 0 && First + Count <= X::rows, "gateaux::row_range<first, count>(x): rows out of range");
    if constexpr (is_zero<X>)
        return zero<Count, X::cols>{};
    else
        return node<row_range_op<First, Count>, X>{};
}

}  // namespace gateaux
