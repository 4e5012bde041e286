#pragma once
// Broadcast of a 1×1 value to R×C, the adjoint of sum (and sum is fill's adjoint).
//   tangent: fill(dg)   adjoint: sum(g)
// Folds: fill(0) = 0, fill(1) = 1, fill(c·x) = c·fill(x).
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "scale.hpp"

namespace gateaux {

template <dim R, dim C>
struct fill_op {
    static constexpr shape shape_of(shape) { return {R, C}; }
    static void value(tensor& out, const tensor& g) { out.fill(g(0, 0)); }
    template <class Self, class G, class DG>
    static constexpr auto tangent(Self, G, DG dg);
    template <std::size_t I, class Self, class H, class G>
    static constexpr auto adjoint(Self, H h, G);
    static printed print(const printed& g) { return {"fill(" + g.text + ")", prec::atom}; }
};

template <dim R, dim C, expression G>
constexpr auto fill(G) {
    static_assert(G::rows == 1 && G::cols == 1, "gateaux::fill<R, C>(g) requires a 1×1 g");
    if constexpr (is_zero<G>)
        return zero<R, C>{};
    else if constexpr (is_ones<G>)
        return ones<R, C>{};
    else
        return node<fill_op<R, C>, G>{};
}
// fill(c·x) = c·fill(x): a scaled 1 (as in the L2 penalty's gradient) stays a constant.
template <dim R, dim C, double S, expression X>
constexpr auto fill(node<scale_op<S>, X>) {
    return scale<S>(fill<R, C>(X{}));
}

template <dim R, dim C>
template <class Self, class G, class DG>
constexpr auto fill_op<R, C>::tangent(Self, G, DG dg) {
    return fill<R, C>(dg);
}
template <dim R, dim C>
template <std::size_t I, class Self, class H, class G>
constexpr auto fill_op<R, C>::adjoint(Self, H h, G) {
    return sum(h);
}

}  // namespace gateaux
