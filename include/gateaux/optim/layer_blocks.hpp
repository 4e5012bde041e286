#pragma once
// Every layer's block solve from the layer_blocks factors (optim/capabilities.hpp):
//
//   out_l = (c·H_l + D_l + λI)⁻¹·v_l = (1/c)·(H_l + (D_l + λI)/c)⁻¹·v_l,   H_l = Σ_b (h̄_bᵀ·h̄_b) ⊗ T_b,
//
// by numeric::solve_layer_block for a weight (with its bias: h̄ = [h 1], the bias's coordinates
// the last row of W̄ = [W; b]) and numeric::solve_sum_block for a bias alone. Where D_l + λI = 0
// on some coordinates, the minimum-norm solution. A graph objective's block solver solves its own
// blocks so (optim/block_programs.hpp), and a distributed objective the blocks of its chunks
// together (mpi/objective.hpp).
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../numeric/layer_block.hpp"
#include "../solve/curvature_solve.hpp"
#include "capabilities.hpp"
#include "param_set.hpp"

namespace gateaux::detail {

// One layer's factors where they are: h (null for a bias alone) and the stack of T_b.
struct layer_view {
    const layer_blocks::layer* layer = nullptr;
    const tensor* input = nullptr;
    const tensor* curvature = nullptr;
};

// Buffers kept from solve to solve (no allocation once the shapes are set).
struct layer_block_scratch {
    tensor input, rhs, solution;
    param_set directions;  // a copy of v where out is v
};

// out_p for every parameter p of every layer; v and out hold one block per parameter (out may be v).
inline void solve_layer_blocks(std::span<const layer_view> layers, const param_set& given, double lambda, double scale,
                               layer_block_scratch& s, param_set& out) {
    if (!(scale > 0.0) || !std::isfinite(scale))
        throw value_error("gateaux: the curvature scale of a block solve must be > 0 and finite, got " + number_string(scale));
    if (&given == &out) {
        if (!s.directions.same_shape(given)) s.directions = given.zeros_like();
        s.directions.assign(given);
    }
    const param_set& v = &given == &out ? s.directions : given;
    if (out.size() != v.size()) out = v.zeros_like();
    for (const layer_view& view : layers) {
        const layer_blocks::layer& l = *view.layer;
        const tensor& t = *view.curvature;
        const std::size_t m = l.outputs, rows = t.shape(0) / m;
        const double d = (lambda + l.decay) / scale, d_bias = (lambda + l.bias_decay) / scale;
        if (l.weight == layer_blocks::none) {  // a bias alone: v·(Σ_b T_b + D)⁻¹
            tensor& o = out[l.bias];
            if (o.shape() != v[l.bias].shape()) o.resize(v[l.bias].shape());
            numeric::solve_sum_block(o, t, v[l.bias], d_bias, l.name);
            if (scale != 1.0) o *= 1.0 / scale;
            continue;
        }
        const tensor& h = *view.input;
        const bool joint = l.bias != layer_blocks::none;
        const tensor* hb = &h;
        const tensor* rhs = &v[l.weight];
        if (joint) {  // h̄ = [h 1], V̄ = [v_W; v_b]
            const std::size_t n = h.shape(1);
            if (s.input.shape(0) != rows || s.input.shape(1) != n + 1) s.input.resize({rows, n + 1});
            for (std::size_t b = 0; b < rows; ++b) {
                std::copy_n(h.data() + b * n, n, s.input.data() + b * (n + 1));
                s.input(b, n) = 1.0;
            }
            if (s.rhs.shape(0) != n + 1 || s.rhs.shape(1) != m) s.rhs.resize({n + 1, m});
            std::copy(v[l.weight].begin(), v[l.weight].end(), s.rhs.begin());
            std::copy(v[l.bias].begin(), v[l.bias].end(), s.rhs.begin() + std::ptrdiff_t(n * m));
            hb = &s.input;
            rhs = &s.rhs;
        }
        numeric::solve_layer_block(*hb, t, *rhs, {d, d_bias, joint ? std::size_t(1) : std::size_t(0)}, s.solution, l.name);
        if (scale != 1.0) s.solution *= 1.0 / scale;
        tensor& w = out[l.weight];
        if (w.shape() != v[l.weight].shape()) w.resize(v[l.weight].shape());
        std::copy_n(s.solution.begin(), w.size(), w.begin());
        if (joint) {
            tensor& b = out[l.bias];
            if (b.shape() != v[l.bias].shape()) b.resize(v[l.bias].shape());
            std::copy_n(s.solution.begin() + std::ptrdiff_t(w.size()), b.size(), b.begin());
        }
    }
}

}  // namespace gateaux::detail
