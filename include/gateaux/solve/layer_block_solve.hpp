#pragma once
// The exact per-layer block solve as a node (numeric/layer_block.hpp has the numerics and the
// routes): (H + D)⁻¹·V from the layer input h (B×n, or [h 1] for a weight with its bias), the
// per-sample curvature stack T ((B·m)×m) and V (n×m). D = (λ + DecayRows)·I on the first
// n − LastRows rows and (λ + DecayLast)·I on the last LastRows rows (the bias row of [W; b]): λ is
// the run-time damping (a 1×1 operand, when the node has one), the decays the loss's l2
// coefficients. With D = 0 the minimum-norm H⁺·V.
#include <string>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../numeric/layer_block.hpp"
#include "damping.hpp"

namespace gateaux {

template <fixed_string Name, double DecayRows, double DecayLast, std::size_t LastRows>
struct layer_block_solve_op {
    static constexpr shape shape_of(shape, shape, shape v) { return v; }
    static constexpr shape shape_of(shape, shape, shape v, shape) { return v; }
    static void value(tensor& out, const tensor& h, const tensor& t, const tensor& v) { solve(out, h, t, v, 0.0); }
    static void value(tensor& out, const tensor& h, const tensor& t, const tensor& v, const tensor& lambda) {
        solve(out, h, t, v, detail::damping_value(lambda));
    }
    static void solve(tensor& out, const tensor& h, const tensor& t, const tensor& v, double lambda) {
        thread_local tensor x;
        numeric::solve_layer_block(h, t, v, {lambda + DecayRows, lambda + DecayLast, LastRows}, x, std::string(Name.view()));
        std::copy(x.begin(), x.end(), out.begin());
    }
    static printed print(const printed& h, const printed& t, const printed& v) {
        return {"block_solve(" + h.text + ", " + t.text + ", " + v.text + ")", prec::atom};
    }
    static printed print(const printed& h, const printed& t, const printed& v, const printed& l) {
        return {"block_solve(" + h.text + ", " + t.text + ", " + v.text + ", λ = " + l.text + ")", prec::atom};
    }
};

template <fixed_string Name, double DecayRows, double DecayLast, std::size_t LastRows, expression H, expression T, expression V,
          expression... Lambda>
constexpr auto layer_block_solve(H, T, V, Lambda...) {
    static_assert(H::cols == V::rows && T::cols == V::cols, "gateaux::layer_block_solve(h, T, v): shapes differ");
    if constexpr (is_zero<V>)
        return V{};
    else
        return node<layer_block_solve_op<Name, DecayRows, DecayLast, LastRows>, H, T, V, Lambda...>{};
}

}  // namespace gateaux
