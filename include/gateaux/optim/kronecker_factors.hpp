#pragma once
// The Kronecker factors of K-FAC (Martens & Grosse 2015) for every layer of an objective with the
// layer_statistics capability (optim/capabilities.hpp): their moving averages, eigendecompositions
// and the damped solve. optim/kfac.hpp builds the optimizer kfac and the preconditioner
// kfac_preconditioner on them.
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
// Damped inverses (invert, apply_inverse; kfac's options::inverse = kfac_inverse::cholesky, as the
// paper's §8 and kfac-jax do it). Instead of the decompositions, the damped factors themselves are
// inverted at one γ by Cholesky (LAPACK potrf and potri): Ā⁻¹ and Ḡ⁻¹ with π from the averages'
// traces, and the direction is Ā⁻¹·V·Ḡ⁻¹, two GEMMs per layer instead of four. A Cholesky
// factorisation costs about a ninth of a symmetric eigendecomposition with vectors, but γ is fixed
// at the inversion: another γ needs another invert. A damped factor that is not positive definite
// is a rank_error.
//
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/errors.hpp"
#include "../io/state.hpp"
#include "../numeric/lapack.hpp"
#include "capabilities.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"

namespace gateaux {

using kfac_estimate = curvature_estimate;

// How kfac solves with its factors: eigen decomposes the averages at each refresh and applies
// any γ at use (four GEMMs per layer); cholesky inverts the damped factors at the refresh's γ (two
// GEMMs per layer, a cheaper refresh, γ fixed until the next one). See kronecker_factors.
enum class kfac_inverse { eigen, cholesky };

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
        tensor Ainv, Ginv;                       // the damped inverses at the last invert
        double inverse_pi = 1.0;                 // and their π

        void state(state_archive& a) {
            a("weight", weight), a("bias", bias), a("inputs", inputs), a("outputs", outputs);
            a("A", A), a("G", G), a("UA", UA), a("UG", UG), a("sA", sA), a("sG", sG), a("pi", pi);
            a.optional("Ainv", Ainv), a.optional("Ginv", Ginv), a.optional("inverse_pi", inverse_pi);
        }
    };

    const std::vector<layer>& layers() const { return layers_; }
    std::size_t updates() const { return updates_; }
    bool refreshed() const { return refreshed_; }
    // Whether apply_inverse has inverses, and the γ they were made at.
    bool inverted() const { return inverted_; }
    double inverse_gamma() const { return inverse_gamma_; }
    // Forgets the averages and the layout (a new run).
    void clear() {
        layers_.clear();
        updates_ = 0;
        refreshed_ = inverted_ = false;
        inverse_gamma_ = 0.0;
    }

    // The layout, the averages and their decompositions at the last refresh (a solve between
    // refreshes uses these, not the averages), and the update count that sets the next ε. On a
    // strict load into factors already laid out (start() lays them out at the checkpoint's x) the
    // layout must be the same.
    void state(state_archive& a) {
        const std::size_t had = layers_.size();
        std::size_t n = had;
        a("layers", n);
        if (a.loading() && n != had) {
            if (had != 0 && a.strict())
                throw checkpoint_error("gateaux::kfac: the checkpoint holds the factors of " + std::to_string(n) +
                                       " layers, the objective has " + std::to_string(had));
            layers_.resize(n);
        }
        for (std::size_t l = 0; l < n; ++l) {
            layer& L = layers_[l];
            const std::size_t weight = L.weight, bias = L.bias, inputs = L.inputs, outputs = L.outputs;
            a.nest("layer/" + std::to_string(l), L);
            if (a.loading() && a.strict() && l < had &&
                (L.weight != weight || L.bias != bias || L.inputs != inputs || L.outputs != outputs))
                throw checkpoint_error("gateaux::kfac: the checkpoint's layer " + std::to_string(l) + " (" +
                                       layer_string(L.weight, L.bias, L.inputs, L.outputs) + ") is not the objective's (" +
                                       layer_string(weight, bias, inputs, outputs) + ")");
        }
        a("updates", updates_), a("refreshed", refreshed_);
        a.optional("inverted", inverted_), a.optional("inverse_gamma", inverse_gamma_);
        // The solve reads the decompositions as raw memory of the layout's sizes.
        if (a.loading())
            for (std::size_t l = 0; l < n; ++l) {
                const layer& L = layers_[l];
                const std::size_t dA = dim_a(L), m = L.outputs;
                const auto square = [](const tensor& t, std::size_t d) { return t.shape(0) == d && t.shape(1) == d; };
                if ((L.A.size() != 0 && !square(L.A, dA)) || (L.G.size() != 0 && !square(L.G, m)) ||
                    (refreshed_ && (!square(L.UA, dA) || !square(L.UG, m) || L.sA.size() != dA || L.sG.size() != m)) ||
                    (inverted_ && (!square(L.Ainv, dA) || !square(L.Ginv, m))))
                    throw checkpoint_error("gateaux::kfac: the checkpoint's factors of layer " + std::to_string(l) +
                                           " are not shaped like its layout (" + layer_string(L.weight, L.bias, L.inputs, L.outputs) +
                                           ")");
            }
    }

    // Folds one statistics result into the averages (decay ∈ [0, 1); 0 keeps only this one).
    // Statistics of other shapes (another objective) start the averages afresh.
    void update(const layer_statistics::result& st, kfac_estimate e, double decay) {
        if (st.rows == 0) throw error("gateaux::kfac: the statistics have no rows");
        if (!(st.sample_weight > 0.0) || !(st.curvature_scale > 0.0))
            throw error("gateaux::kfac: the statistics' sample weight and curvature scale must be > 0");
        if (!layers_.empty() && !same_layout(st)) clear();
        if (layers_.empty()) layout(st, e);
        check_rows(st, e);  // before any average changes
        ++updates_;
        const double eps = std::min(decay, 1.0 - 1.0 / double(updates_));
        const double B = double(st.rows);
        for (layer& L : layers_) {
            const std::size_t dA = dim_a(L), m = L.outputs;
            // F ← keep·F + fresh·F_new, the new statistics' products accumulated into the average
            // by GEMM's β (the first update: the statistics alone, β = 0 reads nothing).
            const bool first = updates_ == 1 || L.A.size() == 0;
            const double keep = first ? 0.0 : eps, fresh = first ? 1.0 : 1.0 - eps;
            if (first) L.A = xt::zeros<double>({dA, dA}), L.G = xt::zeros<double>({m, m});
            const auto average = [&](double old, double now) { return first ? now : keep * old + fresh * now; };
            if (L.weight != none) {
                const tensor& h = st.blocks[L.weight].input;
                const std::size_t n = h.shape(1);
                lapack::gemm(true, false, n, n, st.rows, fresh / B, h.data(), n, h.data(), n, keep, L.A.data(), dA);  // E[h·hᵀ]
                if (L.bias != none) {
                    for (std::size_t i = 0; i < n; ++i) {
                        double s = 0.0;
                        for (std::size_t b = 0; b < st.rows; ++b) s += h(b, i);
                        L.A(i, n) = L.A(n, i) = average(L.A(i, n), s / B);
                    }
                    L.A(n, n) = average(L.A(n, n), 1.0);
                }
            } else {
                L.A(0, 0) = average(L.A(0, 0), 1.0);
            }
            if (e == kfac_estimate::exact) {
                const tensor& F = st.output_factors;
                tensor G = xt::zeros<double>({m, m});
                for (std::size_t b = 0; b < st.rows; ++b)
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < m; ++j) {
                            double s = 0.0;
                            for (std::size_t k = 0; k < m; ++k) s += F(b * m + i, k) * F(b * m + j, k);
                            G(i, j) += st.curvature_scale * s;
                        }
                for (std::size_t i = 0; i < m * m; ++i) L.G.data()[i] = average(L.G.data()[i], G.data()[i]);
            } else {
                const std::size_t any = L.weight != none ? L.weight : L.bias;
                const tensor& d = e == kfac_estimate::sampled ? st.blocks[any].sampled_delta : st.blocks[any].delta;
                lapack::gemm(true, false, m, m, st.rows, fresh * (st.curvature_scale / st.sample_weight), d.data(), m, d.data(), m,
                             keep, L.G.data(), m);  // (c/g)·δᵀδ
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
            L.pi = split(ta / double(L.sA.size()), tg / double(L.sG.size()));
        }
        refreshed_ = true;
    }

    // Inverts the damped averages Ā = A + π√γ·I and Ḡ = G + √γ/π·I of every layer by Cholesky, π
    // from their traces (γ ≥ 0). A damped factor that is not positive definite is a rank_error that
    // leaves no inverses (inverted() is false until an invert succeeds).
    void invert(double gamma) {
        inverted_ = false;
        inverse_gamma_ = std::numeric_limits<double>::quiet_NaN();  // no inverses until this one succeeds
        const double r = std::sqrt(std::max(gamma, 0.0));
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            layer& L = layers_[l];
            const std::size_t dA = dim_a(L), m = L.outputs;
            double ta = 0.0, tg = 0.0;
            for (std::size_t i = 0; i < dA; ++i) ta += std::max(L.A(i, i), 0.0);
            for (std::size_t i = 0; i < m; ++i) tg += std::max(L.G(i, i), 0.0);
            L.inverse_pi = split(ta / double(dA), tg / double(m));
            damped_inverse(L.A, L.inverse_pi * r, L.Ainv, "A", l, gamma);
            damped_inverse(L.G, r / L.inverse_pi, L.Ginv, "G", l, gamma);
        }
        inverse_gamma_ = gamma;
        inverted_ = true;
    }

    // out = blockdiag(Ā_l⁻¹ ⊗ Ḡ_l⁻¹)·v with the inverses of the last invert: Ā⁻¹·V·Ḡ⁻¹ per layer.
    // Shapes are checked as solve's, before anything is written.
    void apply_inverse(const param_set& v, param_set& out) const {
        if (!inverted_) throw error("gateaux::kfac: the damped factors are applied before they are inverted");
        each_layer(v, out, [](const layer& L, std::size_t dA, std::size_t m, const double* V, double* W, double*, double* out) {
            lapack::gemm(false, false, dA, m, dA, 1.0, L.Ainv.data(), dA, V, m, 0.0, W, m);   // Ā⁻¹·V
            lapack::gemm(false, false, dA, m, m, 1.0, W, m, L.Ginv.data(), m, 0.0, out, m);  // ·Ḡ⁻¹
        });
    }

    // out = blockdiag((A_l + π√γ·I)⁻¹ ⊗ (G_l + √γ/π·I)⁻¹)·v at the last refresh (γ ≥ 0). Every
    // block of v belongs to a layer; a vector shaped otherwise is a shape_error, checked before
    // anything is written, so out is unchanged on error.
    void solve(const param_set& v, double gamma, param_set& out) const {
        if (!refreshed_) throw error("gateaux::kfac: the factors are solved before their first refresh");
        const double r = std::sqrt(std::max(gamma, 0.0));
        each_layer(v, out, [&](const layer& L, std::size_t dA, std::size_t m, const double* V, double* W, double* T, double* out) {
            lapack::gemm(true, false, dA, m, dA, 1.0, L.UA.data(), dA, V, m, 0.0, W, m);  // U_Aᵀ·V
            lapack::gemm(false, false, dA, m, m, 1.0, W, m, L.UG.data(), m, 0.0, T, m);   // ·U_G
            const double da = L.pi * r, dg = r / L.pi;
            for (std::size_t i = 0; i < dA; ++i)
                for (std::size_t j = 0; j < m; ++j) {
                    const double den = (L.sA[i] + da) * (L.sG[j] + dg);
                    if (!(den > 0.0) || !std::isfinite(den))
                        throw rank_error("kfac factor", "a damped Kronecker factor is singular (γ = " + number_string(gamma) + ")", den);
                    T[i * m + j] /= den;
                }
            lapack::gemm(false, false, dA, m, dA, 1.0, L.UA.data(), dA, T, m, 0.0, W, m);  // U_A·T
            lapack::gemm(false, true, dA, m, m, 1.0, W, m, L.UG.data(), m, 0.0, out, m);   // ·U_Gᵀ
        });
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
    // π = √((tr A / dim A) / (tr G / dim G)) from the two mean traces; 1 where either is not
    // positive and finite.
    static double split(double ta, double tg) {
        return ta > 0.0 && tg > 0.0 && std::isfinite(ta) && std::isfinite(tg) ? std::sqrt(ta / tg) : 1.0;
    }

    // For every layer, apply(L, dA, m, V, W, T, O): V the layer's dA×m block of v (the weight's own
    // storage where there is no bias), W and T dA×m scratch, O where the layer's block of out goes
    // (the weight's own storage where it is the weight alone). The shapes are checked before
    // anything is written; the scratch is per-thread and only grows (lapack::scratch).
    template <class Apply>
    void each_layer(const param_set& v, param_set& out, Apply&& apply) const {
        for (const layer& L : layers_)
            if ((L.weight != none && (L.weight >= v.size() || v[L.weight].shape(0) != L.inputs || v[L.weight].shape(1) != L.outputs)) ||
                (L.bias != none && (L.bias >= v.size() || v[L.bias].size() != L.outputs)))
                throw shape_error("gateaux::kfac: the vector's blocks are not shaped like the layers of the factors");
        if (!out.same_shape(v)) out = v.zeros_like();
        for (const layer& L : layers_) {
            const std::size_t dA = dim_a(L), m = L.outputs, size = dA * m;
            const bool whole = L.weight != none && L.bias == none;
            double* const buffer = lapack::scratch<double, 6>(3 * size);
            double *const V = buffer, *const W = buffer + size, *const T = buffer + 2 * size;
            if (!whole) gather(L, v, V);
            apply(L, dA, m, whole ? v[L.weight].data() : V, W, T, whole ? out[L.weight].data() : V);
            if (!whole) scatter(L, V, out);
        }
    }

    // inv = (M + shift·I)⁻¹ by LAPACK potrf and potri (M symmetric; the lower triangle is read).
    static void damped_inverse(const tensor& M, double shift, tensor& inv, const char* which, std::size_t l, double gamma) {
        const std::size_t n = M.shape(0);
        inv = M;
        for (std::size_t i = 0; i < n; ++i) inv(i, i) += shift;
        // Row-major is column-major transposed: LAPACK's 'U' is the row-major lower triangle.
        const lapack::index k = lapack::index(n);
        if (cxxlapack::potrf<lapack::index>('U', k, inv.data(), k) != 0 || cxxlapack::potri<lapack::index>('U', k, inv.data(), k) != 0)
            throw rank_error("kfac factor", std::string("the damped factor ") + which + " of layer " + std::to_string(l) +
                                                " is not positive definite (γ = " + number_string(gamma) + ")",
                             0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = i + 1; j < n; ++j) inv(i, j) = inv(j, i);
    }

    // Every block the update reads has the statistics' rows and the layer's width (the GEMMs read
    // raw memory): a layer_statistics capability written by hand may return anything.
    void check_rows(const layer_statistics::result& st, kfac_estimate e) const {
        auto expect = [&](const tensor& t, std::size_t cols, const char* what) {
            if (t.shape(0) != st.rows || t.shape(1) != cols)
                throw shape_error("gateaux::kfac: the layer statistics' " + std::string(what) + " is " + std::to_string(t.shape(0)) + "×" +
                                  std::to_string(t.shape(1)) + ", expected " + std::to_string(st.rows) + "×" + std::to_string(cols) +
                                  (e == kfac_estimate::sampled && t.size() == 0 ? " (statistics taken without sampled_deltas)" : ""));
        };
        for (const layer& L : layers_) {
            if (L.weight != none) expect(st.blocks[L.weight].input, L.inputs, "layer input");
            if (e == kfac_estimate::exact) {
                const tensor& F = st.output_factors;
                if (F.dimension() != 2 || F.shape(1) != L.outputs || F.shape(0) != st.rows * L.outputs)
                    throw error("gateaux::kfac: options::estimate = exact needs the layer's outputs to be the loss's outputs");
            } else {
                const std::size_t any = L.weight != none ? L.weight : L.bias;
                expect(e == kfac_estimate::sampled ? st.blocks[any].sampled_delta : st.blocks[any].delta, L.outputs,
                       e == kfac_estimate::sampled ? "sampled delta" : "delta");
            }
        }
    }

    static std::string layer_string(std::size_t weight, std::size_t bias, std::size_t inputs, std::size_t outputs) {
        const auto index = [](std::size_t i) { return i == none ? std::string("none") : std::to_string(i); };
        return "weight " + index(weight) + ", bias " + index(bias) + ", " + std::to_string(inputs) + " inputs, " +
               std::to_string(outputs) + " outputs";
    }

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

    static void gather(const layer& L, const param_set& v, double* V) {
        const std::size_t m = L.outputs;
        std::size_t row = 0;
        if (L.weight != none) {
            const tensor& w = v[L.weight];
            std::copy(w.begin(), w.end(), V);
            row = w.shape(0);
        }
        if (L.bias != none) std::copy_n(v[L.bias].begin(), m, V + row * m);
    }
    static void scatter(const layer& L, const double* V, param_set& out) {
        const std::size_t m = L.outputs;
        std::size_t row = 0;
        if (L.weight != none) {
            tensor& w = out[L.weight];
            std::copy_n(V, w.size(), w.begin());
            row = w.shape(0);
        }
        if (L.bias != none) std::copy_n(V + row * m, m, out[L.bias].begin());
    }

    std::vector<layer> layers_;
    std::size_t updates_ = 0;
    bool refreshed_ = false, inverted_ = false;
    double inverse_gamma_ = 0.0;
};

}  // namespace gateaux
