#pragma once
// g/(R·C) broadcast to R×C (R may be the run-time batch): the adjoint of mean, whose own
// adjoint is mean.   tangent: fill_mean(dg)   adjoint: mean(h)
#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

template <dim R, dim C>
struct fill_mean_op {
    static constexpr shape shape_of(shape) { return {R, C}; }
    static void value(tensor& out, const tensor& g) { out.fill(g(0, 0) / double(out.size())); }
    template <class Self, class G, class DG>
    static constexpr auto tangent(Self, G, DG dg);
    template <std::size_t I, class Self, class H, class G>
    static constexpr auto adjoint(Self, H h, G);
    static printed print(const printed& g) { return {"fill_mean(" + g.text + ")", prec::atom}; }
};

template <dim R, dim C, expression G>
constexpr auto fill_mean(G) {
    static_assert(G::rows == 1 && G::cols == 1, "gateaux::fill_mean<R, C>(g) requires a 1×1 g");
    if constexpr (is_zero<G>)
        return zero<R, C>{};
    else
        return node<fill_mean_op<R, C>, G>{};
}

template <dim R, dim C>
template <class Self, class G, class DG>
constexpr auto fill_mean_op<R, C>::tangent(Self, G, DG dg) {
    return fill_mean<R, C>(dg);
}
template <dim R, dim C>
template <std::size_t I, class Self, class H, class G>
constexpr auto fill_mean_op<R, C>::adjoint(Self, H h, G) {
    return mean(h);
}

}  // namespace gateaux
