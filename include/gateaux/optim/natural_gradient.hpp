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
// An l2 penalty of the loss is not part of C (the statistics do not see it): its Hessian is a
// multiple of I, so a penalty c_p·½‖θ‖² is taken into account by adding c_p to λ.
//
//   low_rank_curvature         the factor from one statistics result; gram, times, transpose_times,
//                              solve (the Woodbury direction)
//   gauss_newton_factors       the exact Gauss–Newton factor of a graph at any depth (k backward
//                              passes, k the output width), for natural_gradient's options::factor
//   natural_gradient_direction (C(x) + λI)⁻¹·g for an objective at x (one statistics pass)
//   natural_gradient           the optimizer: x ← x + Δ, Δ = −(C + λI)⁻¹·∇L
//
// The optimizer. Each iteration: one statistics pass at x (loss, gradient and the factor; with a
// curvature sample, value_and_gradient too), the Gram matrix, then per trial one Cholesky of
// λI + J̃J̃ᵀ and one loss evaluation. The model's predicted decrease is the undamped quadratic
// model's, −(gᵀΔ + ½‖J̃Δ‖²) (no curvature products). With adapt_damping (the default) λ follows
// the reduction ratio ρ as in damped_block_newton and kfac: ρ < ¼ → λ × damping_increase,
// ρ > ¾ → λ × damping_decrease, within [min_damping, max_damping]; a step with ρ < accept_ratio
// (with the default 0, one that raises the loss beyond the resolution of f) is not taken, λ is
// multiplied by rejection_increase and the direction solved again from the same Gram matrix and
// gradient; after max_rejections the run ends (line_search_failed). With line_search, the step
// length along Δ is chosen by Armijo backtracking from 1 (optim/line_search.hpp) and ρ is that of
// the step taken; with a fixed λ (adapt_damping off) a rejected step or failed search ends the
// run. On minibatches the accepted point's loss and gradient are the trial's, and the next
// statistics pass is on the next batch (batch_changed). With options::factor the factor comes from
// the caller (gauss_newton_factors: k forward and backward passes on the rows it is bound to) and
// loss and gradient from value_and_gradient.
//
// Cost per iteration (B curvature rows, N = B, or B·k for exact; layer l with n_l inputs and m_l
// outputs): the Gram matrix Σ_l N²·(n_l + m_l) flops (two GEMMs per layer), its Cholesky N³/3 per
// trial, J̃·g and J̃ᵀ·z 2·N·Σ_l n_l·m_l each, one statistics pass (a forward and a backward pass;
// for sampled, the draw and one more backward pass) and one loss evaluation per trial. Memory: the
// statistics (N·(n_l + m_l) per layer) and two N×N matrices, nothing of size P².
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../ops/squared_error.hpp"
#include "../ops/sum.hpp"
#include "../symbolic/fisher.hpp"
#include "../symbolic/layer_statistics.hpp"
#include "capabilities.hpp"
#include "graph_capabilities.hpp"
#include "line_search.hpp"
#include "minimize.hpp"
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

private:
    static void check_block(const param_set& v, const block& b) {
        const std::size_t m = b.delta.shape(1), n = b.input.size() != 0 ? b.input.shape(1) : 1;
        if (b.param >= v.size() || v[b.param].dimension() != 2 || v[b.param].shape(0) != n || v[b.param].shape(1) != m)
            throw shape_error("gateaux::low_rank_curvature: the vector's blocks are not shaped like the parameters of the factor");
    }

    std::size_t rows_ = 0;
    std::vector<block> blocks_;
};

// The exact Gauss–Newton factor at any depth, from a graph: row (b, j) of J̃ is F_b[:, j]ᵀ·J_b,
// F_b the output curvature factor (F_b·F_bᵀ = g·Λ_b, symbolic/fisher.hpp), J_b = ∂o_b/∂θ. Per
// layer that row is h_b ⊗ δ_b^(j), δ^(j) the back-propagation of the seed whose row b is F_b[:, j]
// (one backward pass of all B rows per column j, k in all). The seed enters through the layer
// deltas of the surrogate loss sum(squared_error(o, s)), whose output derivative is o − s: s =
// o − t·seed, the deltas then divided by t (t scales the seed to the size of o, so that the
// rounding of o − s costs no more than a few ulps of the seed). C = c·J̃ᵀJ̃ = c·Σ_b J_bᵀ·g·Λ_b·J_b,
// the objective's gauss_newton_vector (without the l2 penalties of the loss, which add to λ).
//
//   auto gn = make_gauss_newton_factors(loss, wrt(W1, b1, W2, b2));
//   gn.bind(x, X).bind(y, Y);                          // the rows the curvature is taken on
//   low_rank_curvature c = gn.compute(theta);          // N = B·k rows
//
// Two programs: the output with its curvature factors, and the surrogate's layer inputs and deltas.
template <class Loss, class... P>
class gauss_newton_factors {
    using parts = detail::curvature::loss_parts<Loss>;
    static_assert(parts::ok, "gateaux::gauss_newton_factors: the loss must be sum(...) or mean(...) of squared_error or cross_entropy");
    using O = typename parts::output;
    using Y = typename parts::target;
    using S = leaf<target_kind, concat<Y::name, "^">(), Y::rows, Y::cols>;
    using surrogate = decltype(sum(squared_error(O{}, S{})));
    using roles = detail::layer_roles<surrogate, P...>;
    static_assert(roles::found, "gateaux::gauss_newton_factors: every parameter must be a layer weight h·W or bias x + b on the "
                                "one path to the loss's output");
    using W = params<P...>;
    using inputs = decltype(layer_inputs(surrogate{}, typename roles::weights{}));
    using deltas = decltype(layer_deltas(surrogate{}, W{}));
    using factors = decltype(output_curvature_factors(Loss{}));
    using output_program = decltype(compile(O{}, factors{}));
    using seed_program = decltype(compile(surrogate{}, inputs{}, deltas{}));

public:
    // Binds a data leaf (an input or the loss's target) of the loss.
    template <class K, fixed_string N, dim R, dim C>
    gauss_newton_factors& bind(leaf<K, N, R, C>, const tensor& t) {
        static_assert(K::is_data, "gateaux::gauss_newton_factors::bind(leaf, tensor): the leaf must be an input or a target");
        using L = leaf<K, N, R, C>;
        if constexpr (output_program::computes(L{})) out_.bind(L{}, t);
        if constexpr (seed_program::computes(L{})) seed_.bind(L{}, t);
        return *this;
    }

    // The factor at x, the curvature scaled by `scale` (c: rows/sample for a sum on a subsample).
    low_rank_curvature compute(const param_set& x, double scale = 1.0) {
        if (x.size() != sizeof...(P))
            throw shape_error("gateaux::gauss_newton_factors: expected " + std::to_string(sizeof...(P)) + " parameter blocks, got " +
                              std::to_string(x.size()));
        if (!(scale > 0.0) || !std::isfinite(scale))
            throw error("gateaux::gauss_newton_factors: the curvature scale must be a finite number > 0, not " + number_string(scale));
        std::size_t i = 0;
        (out_.bind(P{}, x[i++]), ...);
        i = 0;
        (seed_.bind(P{}, x[i++]), ...);
        out_.run();
        const tensor o = out_[O{}];
        const tensor& F = out_[factors{}];
        const std::size_t B = o.shape(0), k = o.shape(1), N = B * k;
        const double r = std::sqrt(scale);
        double omax = 0.0, fmax = 0.0;
        for (double v : o) omax = std::max(omax, std::abs(v));
        for (double v : F) fmax = std::max(fmax, std::abs(v));
        const double t = fmax > 0.0 ? std::max(1.0, omax / fmax) : 1.0;
        std::vector<low_rank_curvature::block> blocks(sizeof...(P));
        tensor s = tensor::from_shape({B, k});
        for (std::size_t j = 0; j < k; ++j) {
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t q = 0; q < k; ++q) s(b, q) = o(b, q) - t * F(b * k + q, j);
            seed_.bind(S{}, s);
            seed_.run();
            i = 0;
            auto one = [&]<class Q>(Q) {
                low_rank_curvature::block& out = blocks[i];
                out.param = i;
                const tensor& d = seed_[deltas::of(Q{})];
                const std::size_t m = d.shape(1);
                if (j == 0) out.delta = tensor::from_shape({N, m});
                for (std::size_t b = 0; b < B; ++b)
                    for (std::size_t q = 0; q < m; ++q) out.delta(b * k + j, q) = r * d(b, q) / t;
                if constexpr (detail::curvature::path_of<surrogate, Q>::status == detail::curvature::path_status::weight) {
                    if (j == 0) {
                        const tensor& h = seed_[inputs::of(Q{})];
                        const std::size_t n = h.shape(1);
                        out.input = tensor::from_shape({N, n});
                        for (std::size_t b = 0; b < B; ++b)
                            for (std::size_t jj = 0; jj < k; ++jj) std::copy_n(h.data() + b * n, n, out.input.data() + (b * k + jj) * n);
                    }
                }
                ++i;
            };
            (one(P{}), ...);
        }
        return low_rank_curvature::from_blocks(N, std::move(blocks));
    }

private:
    output_program out_;
    seed_program seed_;
};

template <expression Loss, class... P>
gauss_newton_factors<Loss, P...> make_gauss_newton_factors(Loss, params<P...>) {
    return {};
}

namespace detail {
inline layer_statistics::request natural_gradient_request(natural_gradient_estimate e) {
    return {.sampled_deltas = e == natural_gradient_estimate::sampled, .output_factors = e == natural_gradient_estimate::exact};
}
}  // namespace detail

// out = (C(x) + λI)⁻¹·g with C the curvature of estimate e on f's curvature rows at x (one
// statistics pass). Throws error naming what is wrong (λ not finite and > 0, f without
// layer_statistics, exact where it is not available, g not shaped like f's parameters); out is
// then unchanged.
inline void natural_gradient_direction(objective& f, const param_set& x, const param_set& g, double lambda,
                                       natural_gradient_estimate e, param_set& out) {
    detail::check_natural_gradient_damping("gateaux::natural_gradient_direction", lambda);
    layer_statistics* const ls = capability<layer_statistics>(f);
    if (ls == nullptr) throw error("gateaux::natural_gradient_direction: " + detail::lacking<layer_statistics>());
    if (!g.same_shape(f.parameters_like()))
        throw shape_error("gateaux::natural_gradient_direction: g is not shaped like the objective's parameters");
    layer_statistics::result st;
    ls->statistics(x, detail::natural_gradient_request(e), st);
    const low_rank_curvature c = low_rank_curvature::from_statistics(st, e);
    param_set d;
    c.solve(g, lambda, d);
    out = std::move(d);
}

class natural_gradient final : public detail::optimizer_with_point {
public:
    using needs = capability_list<layer_statistics>;
    struct options {
        natural_gradient_estimate estimate = natural_gradient_estimate::sampled;
        double initial_damping = 1.0;  // λ₀, in the units of the curvature (for a mean(...) loss, of one row's)
        bool adapt_damping = true;     // λ from the reduction ratio; off: λ stays initial_damping
        double damping_increase = 1.5;  // ρ < ¼
        double rejection_increase = 10.0;  // each rejected step
        double damping_decrease = 2.0 / 3.0;  // ρ > ¾
        double min_damping = 1e-8;
        double max_damping = 1e10;
        double accept_ratio = 0.0;        // a step with ρ below it is rejected (0: any decrease beyond rounding)
        std::size_t max_rejections = 30;  // in one iteration
        bool line_search = false;         // Armijo backtracking along Δ from α = 1
        armijo_backtracking search{};
        // Where set, the factor at x comes from here instead of the layer statistics (estimate is
        // then not used, and loss and gradient come from value_and_gradient): e.g. the exact
        // Gauss–Newton factor of a network of any depth, [&](const param_set& x) { return
        // gn.compute(x); } with gn a gauss_newton_factors bound to the objective's rows.
        std::function<low_rank_curvature(const param_set&)> factor{};
    };
    struct model {
        double damping = 0.0, predicted = 0.0, actual = 0.0, ratio = 0.0, step = 1.0;
        std::size_t rows = 0;  // N, the order of the Gram matrix
    };

    natural_gradient() : natural_gradient(options{}) {}
    explicit natural_gradient(const options& o)
        : opt_(o), damping_{o.damping_increase, o.damping_decrease, o.rejection_increase, o.min_damping, o.max_damping} {
        const char* who = "gateaux::natural_gradient";
        if (!(o.initial_damping > 0.0) || !std::isfinite(o.initial_damping))
            throw error(std::string(who) + ": options::initial_damping (λ) must be a finite number > 0, not " +
                        number_string(o.initial_damping));
        if (!(o.min_damping > 0.0 && o.min_damping <= o.max_damping) || !std::isfinite(o.max_damping))
            throw error(std::string(who) + ": options::min_damping and max_damping must satisfy 0 < min_damping ≤ max_damping < ∞");
        damping_.check(who);
        detail::newton::check_rejections(who, o.accept_ratio, o.max_rejections);
    }
    std::string name() const override {
        return std::string("natural-gradient-") + (opt_.factor ? "given" : to_string(opt_.estimate));
    }

    double damping() const { return lambda_; }
    const model& last_model() const { return model_; }
    std::size_t rejected_steps() const { return rejected_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like(), step_ = x.zeros_like();
        lambda_ = opt_.adapt_damping ? damping_.clamp(opt_.initial_damping) : opt_.initial_damping;
        rejected_ = 0;
        model_ = {};
        const std::string why = opt_.factor ? std::string() : detail::missing(f, needs{});
        if (!why.empty()) return detail::newton::start_outcome(name(), why, f.value_and_gradient(x, g_), g_);
        evaluate(f, x, false);
        return detail::newton::evaluated_start(f, x, pending_, loss_, g_);
    }

    void batch_changed(objective& f, const param_set& x) override { evaluate(f, x, false); }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        const bool batched = detail::minibatched(f);
        for (std::size_t rejections = 0;; ++rejections) {
            model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, curvature_.rows()};
            bool usable = true;
            double slope = 0.0, quad = 0.0;
            try {
                curvature_.solve(gram_, g_, lambda_, step_);
                step_.scale(-1.0);
                usable = step_.finite();
                if (usable) {
                    curvature_.times(step_, jd_);
                    slope = g_.dot(step_);
                    quad = detail::newton::dot(jd_, jd_);
                    usable = slope < 0.0;
                }
            } catch (const rank_error&) {
                usable = false;
            }
            double f1 = std::numeric_limits<double>::quiet_NaN(), alpha = 1.0;
            bool searched = false;
            if (usable) {
                model_.predicted = -(slope + 0.5 * quad);
                if (opt_.line_search) {
                    const line_search_result r =
                        newton_line_search(f, x, step_, loss_, slope, model_.predicted, 1.0, opt_.search, trial_, g_trial_);
                    searched = true;
                    if (r.status == line_search_status::ok) {
                        alpha = r.step;
                        f1 = r.loss;
                        model_.predicted = -(alpha * slope + 0.5 * alpha * alpha * quad);
                    } else {
                        f1 = std::numeric_limits<double>::infinity();
                    }
                } else {
                    f1 = trial(f, x, batched);
                }
                model_.step = alpha;
                model_.actual = loss_ - f1;
                model_.ratio = reduction_ratio(loss_, f1, model_.predicted);
            }
            const bool accepted = usable && std::isfinite(f1) && (searched || model_.ratio >= opt_.accept_ratio);
            if (opt_.adapt_damping) lambda_ = accepted ? damping_.after(lambda_, model_.ratio) : damping_.after_rejection(lambda_);
            if (accepted) {
                const double norm = alpha * step_.norm();
                x.assign(trial_);
                if (batched) {
                    loss_ = f1;
                    std::swap(g_, g_trial_);
                    return outcome(step_outcome::status::ok, loss_, g_, norm, alpha);
                }
                evaluate(f, x, true);
                if (!pending_.empty()) loss_ = f.value_and_gradient(x, g_);
                return outcome(step_outcome::status::ok, loss_, g_, norm, alpha);
            }
            ++rejected_;
            if (!opt_.adapt_damping || rejections + 1 >= opt_.max_rejections || lambda_ >= opt_.max_damping)
                return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                               name() + ": no acceptable step after " + std::to_string(rejections + 1) + " solve" +
                                   (rejections == 0 ? "" : "s") + " (λ = " + number_string(lambda_) +
                                   ", last ρ = " + number_string(model_.ratio) + (opt_.adapt_damping ? ")" : "; λ is fixed)"));
        }
    }

private:
    double trial(objective& f, const param_set& x, bool batched) {
        if (!trial_.same_shape(x)) trial_ = x.zeros_like(), g_trial_ = x.zeros_like();
        trial_.assign(x);
        trial_.axpy(1.0, step_);
        const double v = batched ? f.value_and_gradient(trial_, g_trial_) : f.value(trial_);
        return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
    }

    // Loss, gradient, the factor and its Gram matrix at x (a new curvature sample first where asked).
    void evaluate(objective& f, const param_set& x, bool resample) {
        pending_.clear();
        if (opt_.factor) {
            try {
                curvature_ = opt_.factor(x);
                gram_ = curvature_.gram();
                curvature_.times(x, jd_);  // the factor's blocks against the parameters' shapes
            } catch (const error& e) {
                pending_ = name() + ": " + e.what();
                return;
            }
            loss_ = f.value_and_gradient(x, g_);
            return;
        }
        layer_statistics* const ls = capability<layer_statistics>(f);
        if (ls == nullptr) {
            pending_ = name() + ": " + detail::lacking<layer_statistics>();
            return;
        }
        data_batches* const d = capability<data_batches>(f);
        if (resample && d != nullptr) d->resample_curvature();
        const bool sampled_rows = d != nullptr && d->curvature_rows() < d->batch_rows();
        try {
            ls->statistics(x, detail::natural_gradient_request(opt_.estimate), stats_);
            curvature_ = low_rank_curvature::from_statistics(stats_, opt_.estimate);
            gram_ = curvature_.gram();
        } catch (const error& e) {
            pending_ = name() + ": " + e.what();
            return;
        }
        if (sampled_rows) {
            loss_ = f.value_and_gradient(x, g_);
        } else {
            loss_ = stats_.loss;
            g_.assign(stats_.gradient);
        }
    }

    options opt_;
    detail::newton::lm_damping damping_;  // the adaptation of λ, from opt_
    layer_statistics::result stats_;
    low_rank_curvature curvature_;
    tensor gram_;
    param_set step_, trial_, g_trial_;
    std::vector<double> jd_;
    double lambda_ = 0.0;
    model model_;
    std::string pending_;
    std::size_t rejected_ = 0;
};

}  // namespace gateaux
