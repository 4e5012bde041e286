#pragma once
// Natural gradient by the low-rank route: the damped direction (C + λI)⁻¹·g for a curvature
// C = J̃ᵀ·J̃ of rank at most N, solved exactly through the Woodbury identity
//
//   (J̃ᵀJ̃ + λI)⁻¹·g = (1/λ)·(g − J̃ᵀ·(λI + J̃J̃ᵀ)⁻¹·J̃·g),      λ > 0,
//
// where J̃J̃ᵀ is N×N (N = B·k, B the curvature rows, k the factor rank per row) whatever the
// number of parameters P: one Cholesky factorisation of N×N, no P×P matrix and no CG.
//
// The factor J̃ comes from the layer_statistics capability (optim/capabilities.hpp), for
// parameters that are layer weights (net_l = h_{l−1}·W_l) and biases (net_l = … + b_l). Each row
// r of J̃ is, on the block of a weight W_l, the outer product h_r ⊗ δ_r (vec(h_rᵀ·δ_r), row-major
// as the library flattens W_l) and, on the block of a bias, δ_r: the per-row gradient of the
// layer. So the products and the Gram matrix need no P-sized row at all:
//
//   (J̃·v)_r       = Σ_weights h_r·V_l·δ_rᵀ + Σ_biases δ_r·v_l     rowsum((H_l·V_l) ⊙ D_l)
//   J̃ᵀ·u          = H_lᵀ·diag(u)·D_l on a weight, D_lᵀ·u on a bias
//   (J̃J̃ᵀ)_rs      = Σ_weights (h_r·h_s)(δ_r·δ_s) + Σ_biases δ_r·δ_s   Σ_l (H_l·H_lᵀ) ⊙ (D_l·D_lᵀ)
//
// exact (the per-row gradient of a layer is h ⊗ δ; no Kronecker approximation is made). Which
// rows, from the statistics on the B curvature rows, with g the weight of a sample in the loss (1
// under sum(...), 1/B under mean(...)) and c the curvature scale (rows/sample for a sum on a
// curvature sample, else 1):
//
//   empirical  N = B, δ_r = √(c/g)·δ_b, δ_b = g·∂ℓ_b/∂net_l under the data's targets: C is the
//              empirical Fisher c·Σ_b g·∇ℓ_b·∇ℓ_bᵀ, the objective's fisher_vector with
//              use_fisher(empirical)
//   sampled    the same with δ under targets drawn from the model (the draw the objective's
//              sampled Fisher uses at the same x and rows, use_fisher(sampled, seed)): a one-draw
//              estimate of the true Fisher
//   exact      N = B·k, k the output width: row (b, j) is h_b ⊗ √c·F_b[:, j], F_b the output
//              curvature factor (F_b·F_bᵀ = g·Λ_b): C = c·Σ_b J_bᵀ·g·Λ_b·J_b, the Gauss–Newton
//              matrix (= the true Fisher for the squared error and softmax cross-entropy). The
//              statistics give F_b at the loss's output, not propagated back through hidden
//              layers, so through the statistics this is available for an objective of one layer
//              whose net is the loss's output (linear least squares, softmax regression), and
//              refused elsewhere; at any depth, gauss_newton_factors below builds the same rows
//              from the graph (one backward pass per column of F_b).
//
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../io/state.hpp"
#include "capabilities.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"

namespace gateaux {

using natural_gradient_estimate = curvature_estimate;

namespace detail {
// Refuses a damping that is not a positive finite number, naming the caller.
inline void check_natural_gradient_damping(const char* who, double lambda) {
    if (!(lambda > 0.0) || !std::isfinite(lambda))
        throw error(std::string(who) + ": the damping λ must be a finite number > 0 (the Woodbury identity divides by it), not " +
                    number_string(lambda));
}
}  // namespace detail

// C = J̃ᵀ·J̃ as per-parameter factors: row r of J̃ on parameter p is vec(h_rᵀ·δ_r) for a weight
// (input row h_r, 1×n; delta row δ_r, 1×m) and δ_r for a bias.
class low_rank_curvature {
public:
    struct block {
        std::size_t param = 0;  // index into the parameters (names() order)
        tensor input;           // N×n for a weight; empty for a bias
        tensor delta;           // N×m
    };

    std::size_t rows() const { return rows_; }
    const std::vector<block>& blocks() const { return blocks_; }

    // From blocks given directly: every block's delta (and a weight's input) has `rows` rows.
    static low_rank_curvature from_blocks(std::size_t rows, std::vector<block> blocks) {
        for (const block& b : blocks)
            if (b.delta.dimension() != 2 || b.delta.shape(0) != rows ||
                (b.input.size() != 0 && (b.input.dimension() != 2 || b.input.shape(0) != rows)))
                throw shape_error("gateaux::low_rank_curvature::from_blocks: every block needs " + std::to_string(rows) + " rows");
        low_rank_curvature c;
        c.rows_ = rows;
        c.blocks_ = std::move(blocks);
        return c;
    }

    // The factor of `st` for estimate e (see the top of this file). Throws error where the
    // statistics cannot give it: exact on an objective of more than one layer, or whose layer's
    // outputs are not the loss's outputs; sampled without sampled deltas in st.
    static low_rank_curvature from_statistics(const layer_statistics::result& st, natural_gradient_estimate e) {
        low_rank_curvature c;
        if (st.rows == 0 || st.blocks.empty()) throw error("gateaux::low_rank_curvature: the statistics have no rows or no parameters");
        const double g = st.sample_weight, s = st.curvature_scale;
        if (!(g > 0.0) || !(s > 0.0)) throw error("gateaux::low_rank_curvature: the statistics' sample weight and scale must be > 0");
        if (e != natural_gradient_estimate::exact) {
            const double r = std::sqrt(s / g);
            c.rows_ = st.rows;
            for (std::size_t i = 0; i < st.blocks.size(); ++i) {
                const layer_statistics::block& b = st.blocks[i];
                const tensor& d = e == natural_gradient_estimate::sampled ? b.sampled_delta : b.delta;
                if (d.dimension() != 2 || d.shape(0) != st.rows)
                    throw error(std::string("gateaux::low_rank_curvature: the statistics carry no ") +
                                (e == natural_gradient_estimate::sampled ? "sampled deltas (request::sampled_deltas)" : "deltas") +
                                " for parameter " + std::to_string(i));
                block out;
                out.param = i;
                if (b.kind == layer_statistics::role::weight) out.input = b.input;
                out.delta = d * r;
                c.blocks_.push_back(std::move(out));
            }
            return c;
        }
        // exact: one layer whose net is the loss's output
        std::size_t layers = 0;
        for (const layer_statistics::block& b : st.blocks)
            layers += b.kind == layer_statistics::role::weight || b.partner == layer_statistics::none;
        if (layers != 1)
            throw error("gateaux::natural_gradient: estimate = exact takes the output curvature factors as the layer's, which "
                        "holds for an objective of one layer only; this one has " + std::to_string(layers) +
                        " layers (use empirical or sampled)");
        const tensor& F = st.output_factors;
        const std::size_t k = F.dimension() == 2 ? F.shape(1) : 0, B = st.rows;
        if (k == 0 || F.shape(0) != B * k)
            throw error("gateaux::natural_gradient: estimate = exact needs the output curvature factors "
                        "(request::output_factors)");
        if (st.blocks.front().delta.shape(1) != k)
            throw error("gateaux::natural_gradient: estimate = exact needs the layer's outputs to be the loss's outputs");
        const double r = std::sqrt(s);
        tensor D = tensor::from_shape({B * k, k});  // row b·k + j: √c·F_b[:, j]
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t j = 0; j < k; ++j)
                for (std::size_t i = 0; i < k; ++i) D(b * k + j, i) = r * F(b * k + i, j);
        c.rows_ = B * k;
        for (std::size_t i = 0; i < st.blocks.size(); ++i) {
            const layer_statistics::block& b = st.blocks[i];
            block out;
            out.param = i;
            if (b.kind == layer_statistics::role::weight) {
                const std::size_t n = b.input.shape(1);
                out.input = tensor::from_shape({B * k, n});  // h_b repeated for each j
                for (std::size_t bb = 0; bb < B; ++bb)
                    for (std::size_t j = 0; j < k; ++j)
                        std::copy_n(b.input.data() + bb * n, n, out.input.data() + (bb * k + j) * n);
            }
            out.delta = D;
            c.blocks_.push_back(std::move(out));
        }
        return c;
    }

    // J̃·J̃ᵀ (N×N).
    tensor gram() const {
        tensor K = xt::zeros<double>({rows_, rows_});
        for (const block& b : blocks_) {
            tensor dd = xt::linalg::dot(b.delta, xt::transpose(b.delta));
            if (b.input.size() != 0) dd *= xt::linalg::dot(b.input, xt::transpose(b.input));
            K += dd;
        }
        return K;
    }

    // out = J̃·v (N values).
    void times(const param_set& v, std::vector<double>& out) const {
        out.assign(rows_, 0.0);
        for (const block& b : blocks_) {
            check_block(v, b);
            const tensor& V = v[b.param];
            const std::size_t m = b.delta.shape(1);
            if (b.input.size() != 0) {
                const tensor HV = xt::linalg::dot(b.input, V);
                for (std::size_t r = 0; r < rows_; ++r) {
                    double s = 0.0;
                    for (std::size_t j = 0; j < m; ++j) s += HV(r, j) * b.delta(r, j);
                    out[r] += s;
                }
            } else {
                for (std::size_t r = 0; r < rows_; ++r) {
                    double s = 0.0;
                    for (std::size_t j = 0; j < m; ++j) s += V.data()[j] * b.delta(r, j);
                    out[r] += s;
                }
            }
        }
    }

    // out = J̃ᵀ·u, shaped like `like` (every parameter of `like` is a block of this factor).
    void transpose_times(const std::vector<double>& u, const param_set& like, param_set& out) const {
        if (u.size() != rows_) throw shape_error("gateaux::low_rank_curvature::transpose_times: expected " + std::to_string(rows_) + " values");
        if (!out.same_shape(like)) out = like.zeros_like();
        for (tensor& t : out) std::fill(t.begin(), t.end(), 0.0);
        for (const block& b : blocks_) {
            check_block(like, b);
            const std::size_t m = b.delta.shape(1);
            tensor uD = b.delta;  // diag(u)·D
            for (std::size_t r = 0; r < rows_; ++r)
                for (std::size_t j = 0; j < m; ++j) uD(r, j) *= u[r];
            tensor& o = out[b.param];
            if (b.input.size() != 0) {
                const tensor W = xt::linalg::dot(xt::transpose(b.input), uD);
                std::copy(W.begin(), W.end(), o.begin());
            } else {
                for (std::size_t j = 0; j < m; ++j) {
                    double s = 0.0;
                    for (std::size_t r = 0; r < rows_; ++r) s += uD(r, j);
                    o.data()[j] = s;
                }
            }
        }
    }

    // out = (J̃ᵀJ̃ + λI)⁻¹·g by the Woodbury identity, from the Gram matrix K = J̃J̃ᵀ (gram()).
    // λ must be finite and > 0 (error otherwise, out unchanged).
    void solve(const tensor& K, const param_set& g, double lambda, param_set& out) const {
        detail::check_natural_gradient_damping("gateaux::low_rank_curvature::solve", lambda);
        if (K.dimension() != 2 || K.shape(0) != rows_ || K.shape(1) != rows_)
            throw shape_error("gateaux::low_rank_curvature::solve: the Gram matrix must be " + std::to_string(rows_) + "×" +
                              std::to_string(rows_));
        using idx = xt::blas_index_t;
        const auto n = idx(rows_);
        std::vector<double> a(K.begin(), K.end());  // symmetric: row-major = column-major
        for (std::size_t i = 0; i < rows_; ++i) a[i * rows_ + i] += lambda;
        std::vector<double> z;
        times(g, z);
        if (rows_ > 0) {
            if (cxxlapack::potrf<idx>('L', n, a.data(), n) != 0)
                throw rank_error("natural gradient Gram matrix",
                                 "λI + J̃J̃ᵀ is not numerically positive definite (λ = " + number_string(lambda) + ")", lambda);
            cxxlapack::potrs<idx>('L', n, 1, a.data(), n, z.data(), n);
        }
        param_set jt;
        transpose_times(z, g, jt);
        if (!out.same_shape(g)) out = g.zeros_like();
        for (std::size_t i = 0; i < g.size(); ++i) {
            const double* pg = g[i].data();
            const double* pj = jt[i].data();
            double* po = out[i].data();
            for (std::size_t k = 0; k < g[i].size(); ++k) po[k] = (pg[k] - pj[k]) / lambda;
        }
    }
    void solve(const param_set& g, double lambda, param_set& out) const {
        detail::check_natural_gradient_damping("gateaux::low_rank_curvature::solve", lambda);
        solve(gram(), g, lambda, out);
    }

    // For an optimizer that keeps the factor between steps (natural_gradient). On a strict load
    // into a factor that has blocks, the blocks must be of the same parameters.
    void state(state_archive& a) {
        const std::size_t had = blocks_.size();
        std::size_t n = had;
        a("rows", rows_), a("blocks", n);
        if (a.loading() && n != had) {
            if (had != 0 && a.strict())
                throw checkpoint_error("gateaux::low_rank_curvature: the checkpoint's factor has " + std::to_string(n) +
                                       " blocks, the factor in memory " + std::to_string(had));
            blocks_.resize(n);
        }
        for (std::size_t i = 0; i < n; ++i) {
            block& b = blocks_[i];
            const std::string p = "block/" + std::to_string(i) + "/";
            const std::size_t param = b.param;
            a(p + "param", b.param), a(p + "input", b.input), a(p + "delta", b.delta);
            if (!a.loading()) continue;
            if (a.strict() && i < had && b.param != param)
                throw checkpoint_error("gateaux::low_rank_curvature: the checkpoint's block " + std::to_string(i) + " is of parameter " +
                                       std::to_string(b.param) + ", the factor in memory's of parameter " + std::to_string(param));
            // The products read the blocks as raw memory of rows_ rows.
            if (b.delta.shape(0) != rows_ || (b.input.size() != 0 && b.input.shape(0) != rows_))
                throw checkpoint_error("gateaux::low_rank_curvature: the checkpoint's block " + std::to_string(i) + " does not have its " +
                                       std::to_string(rows_) + " rows");
        }
    }

private:
    static void check_block(const param_set& v, const block& b) {
        const std::size_t m = b.delta.shape(1), n = b.input.size() != 0 ? b.input.shape(1) : 1;
        if (b.param >= v.size() || v[b.param].dimension() != 2 || v[b.param].shape(0) != n || v[b.param].shape(1) != m)
            throw shape_error("gateaux::low_rank_curvature: the vector's blocks are not shaped like the parameters of the factor");
    }

    std::size_t rows_ = 0;
    std::vector<block> blocks_;
};

}  // namespace gateaux
