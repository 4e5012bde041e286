#pragma once
// K-FAC, Kronecker-factored approximate curvature (Martens & Grosse 2015), as an optimizer (kfac)
// and as a preconditioner for Hessian-free CG (kfac_preconditioner), from the layer_statistics
// capability (optim/capabilities.hpp).
//
// The factors. A layer is a weight W_l (n×m, rows are inputs) with its bias b_l where the
// objective has both (then h̄ = [h 1] and W̄ = [W; b], (n+1)×m), or a bias alone (h̄ = 1). On the
// B curvature rows, with g the weight of a sample in the loss (1 under sum(...), 1/B under
// mean(...)), c the curvature scale (rows/sample for a sum on a curvature sample, else 1) and δ_b
// the layer's back-propagated output derivative as the statistics give it (row b = g·∂ℓ_b/∂net_l),
//
//   A_l = (1/B)·Σ_b h̄_b·h̄_bᵀ = E[h̄·h̄ᵀ]              ((n+1)×(n+1))
//   G_l = (c/g)·Σ_b δ_b·δ_bᵀ                          (m×m)
//
// The layer's Fisher block is exactly (c/g)·Σ_b (h̄_b·h̄_bᵀ) ⊗ (δ_b·δ_bᵀ) (the capability's
// identity); K-FAC replaces this sum of Kronecker products by A_l ⊗ G_l, a product of sums, which is
// exact where h̄_b·h̄_bᵀ or δ_b·δ_bᵀ is the same for every b. The normalisation keeps the
// objective's own units: under sum(...) (g = 1) G = c·Σ_b ∂ℓ_b·∂ℓ_bᵀ, B times the per-sample
// expectation, and A ⊗ G approximates the curvature of the summed loss; under mean(...)
// (g = 1/B) G = c·(1/B)·Σ_b ∂ℓ_b·∂ℓ_bᵀ, the per-sample expectation, and A ⊗ G approximates the
// curvature of the mean. The damping λ (and γ below) is in the same units. Vectorised as the
// library flattens parameters (W̄ row by row, index i·m + j), (A ⊗ G)·vec(V) = vec(A·V·G), and the
// preconditioned direction is
//
//   (Ā⁻¹ ⊗ Ḡ⁻¹)·vec(∇W̄) = vec(Ā⁻¹·∇W̄·Ḡ⁻¹),   Ā = A + π√γ·I,  Ḡ = G + (√γ/π)·I,
//   π = √((tr A / dim A) / (tr G / dim G))      (factored Tikhonov damping, the paper's §6.3)
//
// two small solves per layer. Which δ (options::estimate):
//   sampled    targets drawn from the model's predictive distribution (graph_objective::use_fisher
//              seeds the draw): a one-draw estimate of the true Fisher's G (the default, the paper's)
//   empirical  the data's targets: the empirical Fisher
//   exact      G = c·Σ_b F_b·F_bᵀ from the output curvature factors (F_b·F_bᵀ = g·Λ_b): the
//              expectation of the sampled G over the draw, for the output layer only. The
//              statistics give F_b at the loss's output, not propagated back through hidden
//              layers, so it is accepted only for an objective with one layer whose net is the
//              loss's output (linear least squares, softmax regression); an activation after the
//              layer cannot be seen from the statistics and is the caller's to avoid. For one
//              linear layer under the squared error Λ_b = I for every b, and A ⊗ G is then exactly
//              the layer's Hessian (= Gauss–Newton) block.
//
// Averages and refreshes. The factors are exponential moving averages over the iterations,
// F ← ε·F + (1 − ε)·F_new with ε = min(decay, 1 − 1/k) at the k-th update (so the first is the
// statistics themselves). Every inverse_interval updates the averages are eigendecomposed
// (A = U_A·S_A·U_Aᵀ, G = U_G·S_G·U_Gᵀ) and π is taken from their traces; the damping is applied
// at use, (Ā⁻¹ ⊗ Ḡ⁻¹)·v = U_A·[(U_Aᵀ·V·U_G) ⊘ ((s_A + π√γ)(s_G + √γ/π)ᵀ)]·U_Gᵀ, so a change of γ
// between refreshes (an adapted λ, a rejected step, CG's own λ) needs no new decomposition.
// A denominator that is not positive (an undamped singular factor) is a rank_error.
//
// The optimizer. γ = λ + weight_decay: the paper adapts γ apart from λ, here γ follows the
// adapted λ (η = weight_decay is an extra Tikhonov term; the factors do not contain an l2 penalty
// of the loss). Each iteration: one statistics pass at x (loss, gradient and the factors'
// statistics; with a curvature sample, value_and_gradient too, since the statistics'
// gradient is then the sample's), Δ = −(Ā⁻¹ ⊗ Ḡ⁻¹)·∇ per layer, then
//   rescaling  (option rescale, default on; the paper's §6.4 and §7) δ = α·Δ + μ·δ_prev with α, μ
//              minimising the exact damped model gᵀδ + ½δᵀ(C + λI)δ, C the whole curvature
//              (Gauss–Newton by default; C·Δ per trial and C·δ_prev once per iteration); without
//              momentum μ = 0 and only C·Δ. ρ is taken
//              against the undamped model, predicted = −(gᵀδ + ½δᵀCδ). Without rescale δ = Δ and
//              predicted is K-FAC's own damped model's, −½gᵀΔ (no products).
//   λ          ρ < ¼ → λ × damping_increase, ρ > ¾ → λ × damping_decrease, within [min_damping,
//              max_damping] (Levenberg–Marquardt, as damped_block_newton).
//   rejection  a step with ρ < accept_ratio (with the default 0: one that raises the loss beyond
//              the resolution of f, optim/newton_common.hpp) is not taken; λ is
//              multiplied by rejection_increase and Δ solved again from the same factors and
//              gradient (no new statistics); after max_rejections the run ends (line_search_failed).
//   batches    on minibatches the accepted point's loss and gradient are the trial's, and the next
//              statistics pass is on the next batch (batch_changed), so ρ compares one batch.
//
// Cost per iteration: one statistics pass (a forward and a backward pass, and for sampled targets
// the draw and the deltas under it), one loss evaluation per trial, two curvature products with
// rescale and momentum (one without momentum, none without rescale; one more per rejected trial),
// per layer two GEMMs for the factors and four small GEMMs (n+1)²·m + (n+1)·m² for the direction,
// and every inverse_interval iterations an
// eigendecomposition per factor, O((n+1)³ + m³). Memory: per layer A, G, U_A, U_G: 2·((n+1)² + m²).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/errors.hpp"
#include "capabilities.hpp"
#include "minimize.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"
#include "preconditioner.hpp"

namespace gateaux {

using kfac_estimate = curvature_estimate;

// The Kronecker factors of every layer, their averages, decompositions and the damped solve.
class kronecker_factors {
public:
    static constexpr std::size_t none = layer_statistics::none;
    struct layer {
        std::size_t weight = none, bias = none;  // indices into the parameters (names() order)
        std::size_t inputs = 0, outputs = 0;     // dim A = inputs (+1 with a bias; 1 for a bias alone), dim G = outputs
        tensor A, G;                             // the averages
        tensor UA, UG;                           // their eigenvectors (columns), at the last refresh
        std::vector<double> sA, sG;              // and eigenvalues (negative rounding clamped to 0)
        double pi = 1.0;                         // π at the last refresh
    };

    const std::vector<layer>& layers() const { return layers_; }
    std::size_t updates() const { return updates_; }
    bool refreshed() const { return refreshed_; }
    // Forgets the averages and the layout (a new run).
    void clear() {
        layers_.clear();
        updates_ = 0;
        refreshed_ = false;
    }

    // Folds one statistics result into the averages (decay ∈ [0, 1); 0 keeps only this one).
    // Statistics of other shapes (another objective) start the averages afresh.
    void update(const layer_statistics::result& st, kfac_estimate e, double decay) {
        if (st.rows == 0) throw error("gateaux::kfac: the statistics have no rows");
        if (!(st.sample_weight > 0.0) || !(st.curvature_scale > 0.0))
            throw error("gateaux::kfac: the statistics' sample weight and curvature scale must be > 0");
        if (!layers_.empty() && !same_layout(st)) clear();
        if (layers_.empty()) layout(st, e);
        ++updates_;
        const double eps = std::min(decay, 1.0 - 1.0 / double(updates_));
        const double B = double(st.rows);
        for (layer& L : layers_) {
            const std::size_t dA = dim_a(L), m = L.outputs;
            tensor A = xt::zeros<double>({dA, dA});
            if (L.weight != none) {
                const tensor& h = st.blocks[L.weight].input;
                const std::size_t n = h.shape(1);
                tensor hh = xt::linalg::dot(xt::transpose(h), h);
                for (std::size_t i = 0; i < n; ++i)
                    for (std::size_t j = 0; j < n; ++j) A(i, j) = hh(i, j) / B;
                if (L.bias != none) {
                    for (std::size_t i = 0; i < n; ++i) {
                        double s = 0.0;
                        for (std::size_t b = 0; b < st.rows; ++b) s += h(b, i);
                        A(i, n) = A(n, i) = s / B;
                    }
                    A(n, n) = 1.0;
                }
            } else {
                A(0, 0) = 1.0;
            }
            tensor G = xt::zeros<double>({m, m});
            if (e == kfac_estimate::exact) {
                const tensor& F = st.output_factors;
                if (F.shape(1) != m || F.shape(0) != st.rows * m)
                    throw error("gateaux::kfac: options::estimate = exact needs the layer's outputs to be the loss's outputs");
                for (std::size_t b = 0; b < st.rows; ++b)
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < m; ++j) {
                            double s = 0.0;
                            for (std::size_t k = 0; k < m; ++k) s += F(b * m + i, k) * F(b * m + j, k);
                            G(i, j) += st.curvature_scale * s;
                        }
            } else {
                const std::size_t any = L.weight != none ? L.weight : L.bias;
                const tensor& d = e == kfac_estimate::sampled ? st.blocks[any].sampled_delta : st.blocks[any].delta;
                G = xt::linalg::dot(xt::transpose(d), d);
                G *= st.curvature_scale / st.sample_weight;
            }
            if (updates_ == 1 || L.A.size() == 0) {
                L.A = std::move(A), L.G = std::move(G);
            } else {
                L.A = eps * L.A + (1.0 - eps) * A;
                L.G = eps * L.G + (1.0 - eps) * G;
            }
        }
    }

    // Eigendecomposes the averages and takes π from their traces.
    void refresh() {
        for (layer& L : layers_) {
            decompose(L.A, L.UA, L.sA);
            decompose(L.G, L.UG, L.sG);
            double ta = 0.0, tg = 0.0;
            for (double v : L.sA) ta += v;
            for (double v : L.sG) tg += v;
            ta /= double(L.sA.size()), tg /= double(L.sG.size());
            L.pi = ta > 0.0 && tg > 0.0 && std::isfinite(ta) && std::isfinite(tg) ? std::sqrt(ta / tg) : 1.0;
        }
        refreshed_ = true;
    }

    // out = blockdiag((A_l + π√γ·I)⁻¹ ⊗ (G_l + √γ/π·I)⁻¹)·v at the last refresh (γ ≥ 0). Every
    // block of v belongs to a layer; a vector shaped otherwise is a shape_error, checked before
    // anything is written, so out is unchanged on error.
    void solve(const param_set& v, double gamma, param_set& out) const {
        if (!refreshed_) throw error("gateaux::kfac: the factors are solved before their first refresh");
        for (const layer& L : layers_)
            if ((L.weight != none && (L.weight >= v.size() || v[L.weight].shape(0) != L.inputs || v[L.weight].shape(1) != L.outputs)) ||
                (L.bias != none && (L.bias >= v.size() || v[L.bias].size() != L.outputs)))
                throw shape_error("gateaux::kfac: the vector's blocks are not shaped like the layers of the factors");
        if (!out.same_shape(v)) out = v.zeros_like();
        const double r = std::sqrt(std::max(gamma, 0.0));
        for (const layer& L : layers_) {
            const std::size_t dA = dim_a(L), m = L.outputs;
            tensor V = tensor::from_shape({dA, m});
            gather(L, v, V);
            tensor T = xt::linalg::dot(xt::linalg::dot(xt::transpose(L.UA), V), L.UG);
            const double da = L.pi * r, dg = r / L.pi;
            for (std::size_t i = 0; i < dA; ++i)
                for (std::size_t j = 0; j < m; ++j) {
                    const double den = (L.sA[i] + da) * (L.sG[j] + dg);
                    if (!(den > 0.0) || !std::isfinite(den))
                        throw rank_error("kfac factor", "a damped Kronecker factor is singular (γ = " + number_string(gamma) + ")", den);
                    T(i, j) /= den;
                }
            V = xt::linalg::dot(xt::linalg::dot(L.UA, T), xt::transpose(L.UG));
            scatter(L, V, out);
        }
    }

    // The damped factors Ā = A + π√γ·I and Ḡ = G + √γ/π·I of layer l, with π of the last refresh.
    std::pair<tensor, tensor> damped(std::size_t l, double gamma) const {
        const layer& L = layers_[l];
        const double r = std::sqrt(std::max(gamma, 0.0));
        tensor A = L.A, G = L.G;
        for (std::size_t i = 0; i < A.shape(0); ++i) A(i, i) += L.pi * r;
        for (std::size_t i = 0; i < G.shape(0); ++i) G(i, i) += r / L.pi;
        return {A, G};
    }

private:
    static std::size_t dim_a(const layer& L) { return L.weight == none ? 1 : L.inputs + (L.bias != none ? 1 : 0); }

    void layout(const layer_statistics::result& st, kfac_estimate e) {
        for (std::size_t i = 0; i < st.blocks.size(); ++i) {
            const layer_statistics::block& b = st.blocks[i];
            layer L;
            if (b.kind == layer_statistics::role::weight) {
                L.weight = i, L.bias = b.partner;
                L.inputs = b.input.shape(1);
            } else {
                if (b.partner != none) continue;  // with its weight
                L.bias = i, L.inputs = 0;
            }
            L.outputs = b.delta.shape(1);
            layers_.push_back(std::move(L));
        }
        if (e == kfac_estimate::exact && layers_.size() != 1) {
            const std::size_t n = layers_.size();
            layers_.clear();
            throw error("gateaux::kfac: options::estimate = exact takes the output factors as the layer's, which holds for "
                        "an objective of one layer only; this one has " + std::to_string(n) + " layers");
        }
    }

    bool same_layout(const layer_statistics::result& st) const {
        std::size_t blocks = 0;
        for (const layer& L : layers_) {
            blocks += (L.weight != none) + (L.bias != none);
            const std::size_t any = L.weight != none ? L.weight : L.bias;
            if (any >= st.blocks.size() || st.blocks[any].delta.shape(1) != L.outputs) return false;
            if (L.weight != none && (st.blocks[L.weight].kind != layer_statistics::role::weight ||
                                     st.blocks[L.weight].partner != L.bias || st.blocks[L.weight].input.shape(1) != L.inputs))
                return false;
        }
        return blocks == st.blocks.size();
    }

    static void decompose(const tensor& M, tensor& U, std::vector<double>& s) {
        const tensor S = 0.5 * (M + xt::transpose(M));
        auto [w, V] = xt::linalg::eigh(S);
        U = V;
        s.assign(w.begin(), w.end());
        for (double& x : s) x = std::max(x, 0.0);  // positive semi-definite: negatives are rounding
    }

    static void gather(const layer& L, const param_set& v, tensor& V) {
        const std::size_t m = L.outputs;
        std::size_t row = 0;
        if (L.weight != none) {
            const tensor& w = v[L.weight];
            std::copy(w.begin(), w.end(), V.begin());
            row = w.shape(0);
        }
        if (L.bias != none) std::copy_n(v[L.bias].begin(), m, V.begin() + row * m);
    }
    static void scatter(const layer& L, const tensor& V, param_set& out) {
        const std::size_t m = L.outputs;
        std::size_t row = 0;
        if (L.weight != none) {
            tensor& w = out[L.weight];
            std::copy_n(V.begin(), w.size(), w.begin());
            row = w.shape(0);
        }
        if (L.bias != none) std::copy_n(V.begin() + row * m, m, out[L.bias].begin());
    }

    std::vector<layer> layers_;
    std::size_t updates_ = 0;
    bool refreshed_ = false;
};

namespace detail {
inline void check_kfac_options(const char* who, double decay, std::size_t interval) {
    if (!(decay >= 0.0 && decay < 1.0)) throw error(std::string(who) + ": options::decay must be in [0, 1), not " + number_string(decay));
    if (interval == 0) throw error(std::string(who) + ": options::inverse_interval must be ≥ 1");
}
}  // namespace detail

class kfac final : public detail::optimizer_with_point {
public:
    using needs = capability_list<layer_statistics>;
    struct options {
        kfac_estimate estimate = kfac_estimate::sampled;
        double decay = 0.95;                  // ε of the factors' moving averages, in [0, 1)
        std::size_t inverse_interval = 1;     // eigendecompositions every this many iterations
        double initial_damping = 1.0;         // λ₀ (γ = λ + weight_decay), in the units of the curvature
        double weight_decay = 0.0;            // η: added to γ and to the rescaling model's λ
        double damping_increase = 1.5;        // ρ < ¼
        double rejection_increase = 10.0;     // each rejected step
        double damping_decrease = 2.0 / 3.0;  // ρ > ¾
        double min_damping = 1e-8;
        double max_damping = 1e10;
        double accept_ratio = 0.0;            // a step with ρ below it is rejected (0: any decrease)
        std::size_t max_rejections = 30;      // in one iteration
        bool rescale = true;                  // δ = α·Δ (+ μ·δ_prev) from the exact model
        bool momentum = true;                 // with rescale: the μ·δ_prev term
        curvature_matrix rescale_curvature = curvature_matrix::gauss_newton;
    };
    struct model {
        double damping = 0.0, predicted = 0.0, actual = 0.0, ratio = 0.0;
        double scale = 1.0, momentum = 0.0;  // α, μ
    };

    kfac() : kfac(options{}) {}
    explicit kfac(const options& o)
        : opt_(o), damping_{o.damping_increase, o.damping_decrease, o.rejection_increase, o.min_damping, o.max_damping} {
        detail::check_kfac_options("gateaux::kfac", o.decay, o.inverse_interval);
        if (!(o.initial_damping > 0.0) || !std::isfinite(o.initial_damping))
            throw error("gateaux::kfac: options::initial_damping must be finite and > 0, not " + number_string(o.initial_damping));
        if (!(o.min_damping > 0.0 && o.min_damping <= o.max_damping))
            throw error("gateaux::kfac: options::min_damping and max_damping must satisfy 0 < min_damping ≤ max_damping");
        if (!(o.weight_decay >= 0.0) || !std::isfinite(o.weight_decay))
            throw error("gateaux::kfac: options::weight_decay must be finite and ≥ 0");
        damping_.check("gateaux::kfac");
        detail::newton::check_rejections("gateaux::kfac", o.accept_ratio, o.max_rejections);
    }
    std::string name() const override { return opt_.rescale ? "kfac" : "kfac-unscaled"; }

    double damping() const { return lambda_; }
    const model& last_model() const { return model_; }
    const kronecker_factors& factors() const { return factors_; }
    std::size_t rejected_steps() const { return rejected_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like(), step_ = x.zeros_like(), dir_ = x.zeros_like(), prev_ = x.zeros_like();
        lambda_ = damping_.clamp(opt_.initial_damping);
        rejected_ = iterations_ = 0;
        model_ = {};
        factors_.clear();
        std::string why = detail::missing(f, needs{});
        if (why.empty() && opt_.rescale) {
            product_ = curvature_operator::find(f, opt_.rescale_curvature);
            if (!product_) why = product_.lacking();
        }
        if (!why.empty()) return detail::newton::start_outcome(name(), why, f.value_and_gradient(x, g_), g_);
        evaluate(f, x, false);
        return detail::newton::evaluated_start(f, x, pending_, loss_, g_);
    }

    void batch_changed(objective& f, const param_set& x) override { evaluate(f, x, false); }

    step_outcome step(objective& f, param_set& x) override {
        using namespace detail::newton;
        if (!pending_.empty()) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, pending_);
        const bool batched = detail::minibatched(f);
        if (opt_.rescale) {
            product_ = curvature_operator::find(f, opt_.rescale_curvature);
            if (!product_) return outcome(step_outcome::status::not_applicable, loss_, g_, 0.0, 0.0, name() + ": " + product_.lacking());
            if (opt_.momentum && prev_.max_abs() > 0.0) product_(x, prev_, c_prev_);
        }
        for (std::size_t rejections = 0;; ++rejections) {
            bool usable = true;
            try {
                factors_.solve(g_, gamma(), step_);
                step_.scale(-1.0);
                usable = direction(x);
            } catch (const rank_error&) {
                usable = false;
                model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, 0.0};
            }
            double f1 = std::numeric_limits<double>::quiet_NaN();
            if (usable) {
                f1 = trial(f, x, batched);
                model_.actual = loss_ - f1;
                model_.ratio = reduction_ratio(loss_, f1, model_.predicted);
            }
            const bool accepted = usable && std::isfinite(f1) && model_.ratio >= opt_.accept_ratio;
            lambda_ = accepted ? damping_.after(lambda_, model_.ratio) : damping_.after_rejection(lambda_);
            if (accepted) {
                const double norm = dir_.norm();
                prev_.assign(dir_);
                x.assign(trial_);
                if (batched) {
                    loss_ = f1;
                    std::swap(g_, g_trial_);
                    return outcome(step_outcome::status::ok, loss_, g_, norm, model_.scale);
                }
                evaluate(f, x, true);
                if (!pending_.empty()) loss_ = f.value_and_gradient(x, g_);
                return outcome(step_outcome::status::ok, loss_, g_, norm, model_.scale);
            }
            ++rejected_;
            if (rejections + 1 >= opt_.max_rejections || lambda_ >= opt_.max_damping)
                return outcome(step_outcome::status::line_search_failed, loss_, g_, 0.0, 0.0,
                               name() + ": no step with ρ ≥ " + number_string(opt_.accept_ratio) + " after " +
                                   std::to_string(rejections + 1) + " increases of the damping (λ = " + number_string(lambda_) +
                                   ", last ρ = " + number_string(model_.ratio) + ")");
        }
    }

private:
    double gamma() const { return lambda_ + opt_.weight_decay; }

    // dir_ from step_ = Δ, and the model's predicted decrease; false where it is no descent.
    bool direction(const param_set& x) {
        model_ = {lambda_, 0.0, 0.0, -std::numeric_limits<double>::infinity(), 1.0, 0.0};
        if (!step_.finite()) return false;
        if (!opt_.rescale) {
            dir_.assign(step_);
            const double gd = g_.dot(step_);
            model_.predicted = -0.5 * gd;
            return gd < 0.0;
        }
        product_(x, step_, c_step_);
        const bool two = opt_.momentum && prev_.max_abs() > 0.0;
        const detail::newton::rescaled_step r =
            detail::newton::rescale_step(g_, step_, c_step_, prev_, c_prev_, two, lambda_ + opt_.weight_decay);
        if (!r.usable) return false;
        const double alpha = r.alpha, mu = r.mu;
        dir_.assign(step_);
        dir_.scale(alpha);
        if (two && mu != 0.0) dir_.axpy(mu, prev_);
        const double gd = g_.dot(dir_);
        model_.predicted = -(gd + 0.5 * r.quad);
        model_.scale = alpha, model_.momentum = mu;
        return gd < 0.0 && model_.predicted > 0.0;
    }

    double trial(objective& f, const param_set& x, bool batched) {
        if (!trial_.same_shape(x)) trial_ = x.zeros_like(), g_trial_ = x.zeros_like();
        trial_.assign(x);
        trial_.axpy(1.0, dir_);
        const double v = batched ? f.value_and_gradient(trial_, g_trial_) : f.value(trial_);
        return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
    }

    // Loss, gradient and the factors' statistics at x (a new curvature sample first where asked),
    // the averages updated and, every inverse_interval iterations, decomposed.
    void evaluate(objective& f, const param_set& x, bool resample) {
        pending_.clear();
        layer_statistics* const ls = capability<layer_statistics>(f);
        if (ls == nullptr) {
            pending_ = name() + ": " + detail::lacking<layer_statistics>();
            return;
        }
        data_batches* const d = capability<data_batches>(f);
        if (resample && d != nullptr) d->resample_curvature();
        const bool sampled_rows = d != nullptr && d->curvature_rows() < d->batch_rows();
        try {
            ls->statistics(x, {.sampled_deltas = opt_.estimate == kfac_estimate::sampled, .output_factors = opt_.estimate == kfac_estimate::exact},
                           stats_);
            factors_.update(stats_, opt_.estimate, opt_.decay);
            if (!factors_.refreshed() || iterations_ % opt_.inverse_interval == 0) factors_.refresh();
            ++iterations_;
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
    kronecker_factors factors_;
    layer_statistics::result stats_;
    curvature_operator product_;
    param_set step_, dir_, prev_, c_step_, c_prev_, trial_, g_trial_;
    double lambda_ = 0.0;
    model model_;
    std::string pending_;
    std::size_t rejected_ = 0, iterations_ = 0;
};

// M = blockdiag((A_l + π√λ·I) ⊗ (G_l + √λ/π·I)) for Hessian-free CG's system (C + λI)·p = −g, with
// CG's own λ as γ: one statistics pass per CG run (prepare), and per CG iteration the two small
// solves per layer. decay > 0 averages the factors over successive CG runs (the default 0 uses
// each run's own statistics; the averages restart where the statistics change shape, and are
// otherwise carried into the next use, so a new problem of the same shapes takes a new
// preconditioner); the factors are decomposed every inverse_interval CG runs. Positive
// definite for λ > 0; an undamped singular factor is a rank_error, which drops it for that run.
// Sampled targets are the default here too: factors from the data's targets fit the Gauss–Newton
// system worse where the residuals are large (on a small tanh regression they took more CG
// iterations than plain CG, the sampled ones fewer).
class kfac_preconditioner final : public preconditioner {
public:
    struct options {
        kfac_estimate estimate = kfac_estimate::sampled;
        double decay = 0.0;
        std::size_t inverse_interval = 1;
    };
    kfac_preconditioner() : kfac_preconditioner(options{}) {}
    explicit kfac_preconditioner(const options& o) : opt_(o) {
        detail::check_kfac_options("gateaux::kfac_preconditioner", o.decay, o.inverse_interval);
    }
    std::string name() const override { return "kfac"; }
    // With estimate = exact, one statistics pass at x counts the layers (it must be one).
    std::string not_applicable(objective& f, const param_set& x) const override {
        std::string why = detail::missing(f, capability_list<layer_statistics>{});
        if (why.empty() && opt_.estimate == kfac_estimate::exact) {
            layer_statistics::result st;
            capability<layer_statistics>(f)->statistics(x, {.sampled_deltas = false, .output_factors = true}, st);
            std::size_t layers = 0;
            for (const layer_statistics::block& b : st.blocks)
                layers += b.kind == layer_statistics::role::weight || b.partner == layer_statistics::none;
            if (layers != 1)
                why = "kfac_preconditioner: options::estimate = exact takes the output factors as the layer's, which holds for an "
                      "objective of one layer only; this one has " + std::to_string(layers) + " layers";
        }
        return why;
    }
    void prepare(objective& f, const param_set& x, const curvature_operator&, double damping) override {
        layer_statistics* const ls = capability<layer_statistics>(f);
        if (ls == nullptr) throw error("gateaux::kfac_preconditioner: " + detail::lacking<layer_statistics>());
        ls->statistics(x, {.sampled_deltas = opt_.estimate == kfac_estimate::sampled, .output_factors = opt_.estimate == kfac_estimate::exact},
                       stats_);
        factors_.update(stats_, opt_.estimate, opt_.decay);
        if (!factors_.refreshed() || runs_ % opt_.inverse_interval == 0) factors_.refresh();
        ++runs_;
        lambda_ = damping;
    }
    void apply(objective&, const param_set&, const param_set& r, param_set& z) override { factors_.solve(r, lambda_, z); }
    bool positive_definite() const override { return true; }

    const kronecker_factors& factors() const { return factors_; }
    double damping() const { return lambda_; }

private:
    options opt_;
    kronecker_factors factors_;
    layer_statistics::result stats_;
    double lambda_ = 0.0;
    std::size_t runs_ = 0;
};

}  // namespace gateaux
