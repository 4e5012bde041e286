#pragma once
// What an objective can do, as separate capabilities. Every objective has the first; the others
// are small interfaces an objective derives from when it has them, and an optimizer runs only
// where the ones it needs are there:
//
//   objective               names and shapes of the parameters, value, value and gradient, counts
//   curvature_products<K>   C·v for a curvature matrix C of kind K: hessian_products (H·v, the
//                           R-operator), gauss_newton_products (G·v), fisher_products (F·v)
//   block_solver            the per-layer Newton step Δ_l = H_l⁺·G_l, the block inverse
//                           blockdiag(H_l⁺)·v, their damped forms with (H_l + λI)⁻¹, the step by
//                           finite differences of the inverse map
//   layer_statistics        per layer: its input h_{l−1} and its δ_l = ∂L/∂net_l (under the data's
//                           targets, or targets drawn from the model), the output curvature
//                           factors: what Kronecker-factored curvature (K-FAC) is built from
//   layer_blocks            per layer: its input and the per-sample curvature T_b its block is
//                           made of, to form the blocks of several objectives together
//   hessian_matrix          the explicit n×n Hessian, for small problems
//   data_batches            which rows of the data are in use: minibatches, a curvature sample
//
// An objective written by hand implements what it has, and nothing else:
//
//   class least_squares final : public objective, public hessian_products { ... };
//
// The capability interfaces do not derive from objective. They are mixins found from an
// objective& by dynamic_cast (capability<C>(f): null where f lacks C), so a class with several
// of them has one objective base and no virtual inheritance. An optimizer states what it needs
// in optim/optimizer.hpp (optimizer::needs); optim/minimize.hpp says where that is checked.
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "../core/tensor.hpp"
#include "../io/state.hpp"
#include "../symbolic/inverse.hpp"  // fd_scheme, the finite-difference block step's scheme
#include "param_set.hpp"

namespace gateaux {

// target_draws: forward passes that drew targets from the model (the sampled Fisher's).
struct evaluation_counts {
    // block_solves: undamped per-layer inverses (chain or block solve); damped_block_solves: (H_l + λI)⁻¹.
    std::size_t values = 0, gradients = 0, hessian_vectors = 0, gauss_newton_vectors = 0, fisher_vectors = 0,
                block_solves = 0, damped_block_solves = 0, hessians = 0, layer_statistics = 0, target_draws = 0;
    std::size_t total() const {
        return values + gradients + hessian_vectors + gauss_newton_vectors + fisher_vectors + block_solves +
               damped_block_solves + hessians + layer_statistics + target_draws;
    }
    // What happened between two readings (minimize reports a run's own counts).
    friend evaluation_counts operator-(evaluation_counts a, const evaluation_counts& b) {
        a.values -= b.values;
        a.gradients -= b.gradients;
        a.hessian_vectors -= b.hessian_vectors;
        a.gauss_newton_vectors -= b.gauss_newton_vectors;
        a.fisher_vectors -= b.fisher_vectors;
        a.block_solves -= b.block_solves;
        a.damped_block_solves -= b.damped_block_solves;
        a.hessians -= b.hessians;
        a.layer_statistics -= b.layer_statistics;
        a.target_draws -= b.target_draws;
        return a;
    }
    friend evaluation_counts operator+(evaluation_counts a, const evaluation_counts& b) {
        a.values += b.values;
        a.gradients += b.gradients;
        a.hessian_vectors += b.hessian_vectors;
        a.gauss_newton_vectors += b.gauss_newton_vectors;
        a.fisher_vectors += b.fisher_vectors;
        a.block_solves += b.block_solves;
        a.damped_block_solves += b.damped_block_solves;
        a.hessians += b.hessians;
        a.layer_statistics += b.layer_statistics;
        a.target_draws += b.target_draws;
        return a;
    }
    void state(state_archive& a) {
        a("values", values), a("gradients", gradients), a("hessian_vectors", hessian_vectors);
        a("gauss_newton_vectors", gauss_newton_vectors), a("fisher_vectors", fisher_vectors);
        a("block_solves", block_solves), a("damped_block_solves", damped_block_solves), a("hessians", hessians);
        a("layer_statistics", layer_statistics), a("target_draws", target_draws);
    }
};

// Value and gradient: what every objective has, and what every optimizer sees.
class objective {
public:
    virtual ~objective() = default;
    virtual std::vector<std::string> names() const = 0;
    virtual param_set parameters_like() const = 0;  // zeros, one block per parameter

    virtual double value(const param_set& x) = 0;
    virtual double value_and_gradient(const param_set& x, param_set& g) = 0;

    // What a checkpoint must hold for a resumed run to continue exactly (io/checkpoint.hpp): the
    // draws of minibatches, curvature samples and sampled targets, and what identifies the data.
    // An objective whose values depend on x and fixed data alone has none (this default).
    virtual void state(state_archive& a) { (void)a; }

    // Every evaluation through any capability is counted here (for result tables).
    evaluation_counts counts;
};

// ---------------------------------------------------------------- curvature products by kind
// Each interface names itself (`name`) and says what an objective without it lacks (`absent`),
// so that a refusal can name the missing capability.
//
// The curvature matrices whose products an objective may offer. A further kind is one more
// enumerator, one more specialisation of curvature_products and one more case in
// curvature_operator::find below; optimizers that take the kind as an option need nothing else.
enum class curvature_matrix { hessian, gauss_newton, fisher };

template <curvature_matrix K>
class curvature_products;

template <>
class curvature_products<curvature_matrix::hessian> {
public:
    static constexpr std::string_view name = "hessian_products";
    static constexpr std::string_view absent = "it offers no Hessian-vector products H·v";
    virtual ~curvature_products() = default;
    // hv = H(x)·v
    virtual void hessian_vector(const param_set& x, const param_set& v, param_set& hv) = 0;
    // The same under the name every kind shares, for code generic over the kind.
    void product(const param_set& x, const param_set& v, param_set& out) { hessian_vector(x, v, out); }
};

template <>
class curvature_products<curvature_matrix::gauss_newton> {
public:
    static constexpr std::string_view name = "gauss_newton_products";
    static constexpr std::string_view absent =
        "it offers no Gauss–Newton products G·v (a graph objective has them for a loss that is sum(...) or mean(...) "
        "of squared_error or cross_entropy)";
    virtual ~curvature_products() = default;
    // out = G(x)·v, G = Jᵀ·H_loss·J the Gauss–Newton matrix (positive semi-definite)
    virtual void gauss_newton_vector(const param_set& x, const param_set& v, param_set& out) = 0;
    void product(const param_set& x, const param_set& v, param_set& out) { gauss_newton_vector(x, v, out); }
};

// The Fisher F = Σ_b g_b·J_bᵀ·s_b·s_bᵀ·J_b (s_b = ∂ℓ_b/∂o_b, J_b = ∂o_b/∂θ, g_b the weight of
// sample b in the loss: 1 under a sum, 1/B under a mean), positive semi-definite. Which targets
// s_b uses is the objective's to say: the data's (the empirical Fisher) or targets drawn from the
// model's predictive distribution (a sampled Fisher, whose expectation is the true Fisher);
// graph_objective::use_fisher chooses, and says when a new draw is made.
enum class fisher_estimate { empirical, sampled };

template <>
class curvature_products<curvature_matrix::fisher> {
public:
    static constexpr std::string_view name = "fisher_products";
    static constexpr std::string_view absent =
        "it offers no Fisher products F·v (a graph objective has them for a loss that is sum(...) or mean(...) of "
        "squared_error or cross_entropy against a target leaf)";
    virtual ~curvature_products() = default;
    // out = F(x)·v
    virtual void fisher_vector(const param_set& x, const param_set& v, param_set& out) = 0;
    void product(const param_set& x, const param_set& v, param_set& out) { fisher_vector(x, v, out); }
};

using hessian_products = curvature_products<curvature_matrix::hessian>;
using gauss_newton_products = curvature_products<curvature_matrix::gauss_newton>;
using fisher_products = curvature_products<curvature_matrix::fisher>;

// ---------------------------------------------------------------- per-layer block solver
// The blocks H_l of the Hessian on the diagonal, one per layer (a weight and its bias together),
// each with the others held fixed, and D_l the loss's own l2 penalty on the layer (part of H_l
// here). Undamped, the minimum-norm H_l⁺ where H_l is singular (or, with the objective's
// accept_newton_solution, a Newton solution H_l·Δ_l = G_l); damped, (H_l + λI)⁻¹. The curvature
// is that of the curvature rows (data_batches) times their scale, as for the curvature products.
class block_solver {
public:
    static constexpr std::string_view name = "block_solver";
    static constexpr std::string_view absent =
        "it has no per-layer inverse (a graph objective has one where every parameter is a layer weight h·W or bias "
        "x + b on the one path to a sum(...) or mean(...) of squared_error or cross_entropy, plus l2 penalties: "
        "docs/theory.md); use a Hessian-free or quasi-Newton optimizer";
    virtual ~block_solver() = default;
    // Per-layer (block-diagonal) Newton: step_l = H_l⁺·G_l, with the loss (returned) and the
    // gradient g from the same pass, on the current batch. rank_error where the inverse cannot be
    // formed (a graph objective's block solve forms it at any batch; see there).
    virtual double block_newton_step(const param_set& x, param_set& g, param_set& step) = 0;
    // out = blockdiag(H_l⁺)·v, on the curvature rows
    virtual void block_inverse(const param_set& x, const param_set& v, param_set& out) = 0;
    // out = blockdiag(H_l + λI)⁻¹·v, on the curvature rows (λ ≥ 0; rank_error where H_l + λI is
    // singular, which for λ > 0 needs an indefinite H_l with eigenvalue −λ)
    virtual void damped_block_inverse(const param_set& x, const param_set& v, double lambda, param_set& out) = 0;
    // step_l = (H_l + λI)⁻¹·G_l with loss (returned) and gradient g of the same pass, on the
    // current batch: the curvature of every row of it, not of a curvature sample.
    virtual double damped_block_newton_step(const param_set& x, double lambda, param_set& g, param_set& step) = 0;
    // The step by finite differences of the functional inverse (central at G(1 ± r/2), or
    // Richardson); fills the gradient too and returns the loss.
    virtual double fd_block_newton_step(const param_set& x, double r, fd_scheme scheme, param_set& g, param_set& step) = 0;
    // Why fd_block_newton_step cannot be used on this objective, or "" where it can (a graph
    // objective differences the inverse gradient map of layer weights only, not of biases).
    virtual std::string fd_unavailable() const { return {}; }
};

// ---------------------------------------------------------------- per-layer statistics
// What Kronecker-factored curvature (K-FAC, Martens & Grosse 2015) is built from, for parameters
// that are layer weights (net_l = h_{l−1}·W_l) and biases (net_l = … + b_l), on the rows the
// curvature products see (the current batch, or its curvature sample: data_batches), from one
// pass that is also the gradient's. With g the weight of each sample in the loss (1 under a sum,
// 1/B under a mean), c the curvature scale (rows/sample for a sum on a curvature sample, else 1),
// h̄ = [h 1] for a layer whose weight and bias are both parameters (h alone for a weight, 1 for a
// bias) and W̄ = [W; b] flattened row-major, the Fisher's block of the layer is exactly
//
//   F_l = (c/g)·Σ_b (h̄_b·h̄_bᵀ) ⊗ (δ_b·δ_bᵀ)        (empirical with delta, sampled with sampled_delta)
//
// and K-FAC replaces the sum of Kronecker products by (1/B)·(h̄ᵀh̄) ⊗ (δᵀδ). The gradient of these
// rows is G_W = hᵀ·δ, G_b = 1ᵀ·δ. The output factors F_b (F_b·F_bᵀ = g·Λ_b, the Hessian of
// g·ℓ_b in the output) give the true Fisher = Gauss–Newton c·Σ_b J_bᵀ·F_b·F_bᵀ·J_b, K-FAC's
// "exact" route, one backward pass per column of F_b.
class layer_statistics {
public:
    static constexpr std::string_view name = "layer_statistics";
    static constexpr std::string_view absent =
        "it offers no layer statistics (a graph objective has them where every parameter is a layer weight h·W or a "
        "bias x + b on the one path to a loss that is sum(...) or mean(...) of squared_error or cross_entropy)";
    static constexpr std::size_t none = std::size_t(-1);
    enum class role { weight, bias };

    // One per parameter, in names() order.
    struct block {
        role kind = role::weight;
        // The other parameter of the same layer (a weight's bias, a bias's weight) as an index
        // into names(), or none: then the layer's other part is fixed, or absent.
        std::size_t partner = none;
        tensor input;          // h_{l−1} (B×n_{l−1}) of a weight; a bias's is the constant 1: left empty
        tensor delta;          // δ_l = ∂L/∂net_l (B×n_l) under the data's targets: row b = g·∂ℓ_b/∂net_l
        tensor sampled_delta;  // δ_l under targets drawn from the model (request::sampled_deltas)
    };
    // What to compute beyond inputs, deltas, loss and gradient. A field not asked for is left as it was.
    struct request {
        bool sampled_deltas = false;  // draws targets as the sampled Fisher does: the same draw at the same x and rows
        bool output_factors = false;
    };
    struct result {
        std::vector<block> blocks;
        std::size_t rows = 0;        // B
        double sample_weight = 1.0;  // g
        double curvature_scale = 1.0;  // c
        double loss = 0.0;           // of these rows (unscaled)
        param_set gradient;          // of these rows (unscaled): value_and_gradient's without a curvature sample
        tensor output_factors;       // (B·n_o)×n_o, rows b·n_o .. b·n_o + n_o − 1 are F_b
    };

    virtual ~layer_statistics() = default;
    // The statistics at x, into out (its tensors keep their storage from call to call).
    virtual void statistics(const param_set& x, const request& what, result& out) = 0;
};

// ---------------------------------------------------------------- per-layer block factors
// What block_solver's blocks are made of, for a caller that forms the blocks of several
// objectives together (a sum over data shards, mpi/objective.hpp). For every layer l (a weight
// with its bias, a weight alone, or a bias alone), on the rows asked for,
//
//   H_l + D_l = c·Σ_b (h̄_bᵀ·h̄_b) ⊗ T_b + D_l,
//
// with h̄ = [h 1] for a weight with its bias (h alone for a weight, 1 for a bias alone), T_b the
// per-sample curvature of the layer's output (m×m, symmetric; the sample weight of the loss is in
// it), c the curvature scale and D_l the loss's l2 penalty: decay on the weight's coordinates,
// bias_decay on the bias's. The coordinates of W̄ = [W; b] run row by row, as in
// numeric::solve_layer_block, which solves such a block (optim/layer_blocks.hpp: every layer at once).
class layer_blocks {
public:
    static constexpr std::string_view name = "layer_blocks";
    static constexpr std::string_view absent =
        "it offers no per-layer block factors (a graph objective has them where the block solve serves every "
        "parameter: each a layer weight h·W or bias x + b on the one path to a sum(...) or mean(...) of squared_error "
        "or cross_entropy, plus l2 penalties)";
    static constexpr std::size_t none = std::size_t(-1);
    enum class rows { batch, curvature };

    // A layer, whatever the rows: its parameters (indices into names()), widths and penalties.
    struct layer {
        std::size_t weight = none, bias = none;
        std::size_t inputs = 0;   // n, the width of h (0 for a bias alone); h̄ has n + 1 columns with a bias
        std::size_t outputs = 0;  // m
        double decay = 0.0, bias_decay = 0.0;
        std::string name;  // for messages, e.g. "weight and bias 'W1', 'b1'"
    };
    // The factors of one layer on B rows: h (B×n, empty for a bias alone) and the T_b stacked ((B·m)×m).
    struct factors {
        tensor input, curvature;
    };
    struct result {
        std::vector<factors> layers;    // in layout() order
        std::size_t rows = 0;           // B
        double curvature_scale = 1.0;   // c
        double loss = 0.0;              // of these rows (unscaled)
        param_set gradient;             // of these rows (unscaled)
    };

    virtual ~layer_blocks() = default;
    // The layers, in names() order of their weight (of the bias, for a bias alone).
    virtual std::vector<layer> layout() const = 0;
    // The factors at x on the batch rows (those of value_and_gradient) or the curvature rows (those
    // of the curvature products), with that pass's loss and gradient; into out (its tensors keep
    // their storage from call to call).
    virtual void block_factors(const param_set& x, rows which, result& out) = 0;
};

// ---------------------------------------------------------------- the explicit Hessian
class hessian_matrix {
public:
    static constexpr std::string_view name = "hessian_matrix";
    static constexpr std::string_view absent = "it offers no explicit Hessian";
    virtual ~hessian_matrix() = default;
    // n×n over all blocks (row-major flattened, blocks in names() order); size_error above max_bytes.
    virtual tensor hessian(const param_set& x, std::size_t max_bytes) = 0;
};

// ---------------------------------------------------------------- the data rows in use
class data_batches {
public:
    static constexpr std::string_view name = "data_batches";
    static constexpr std::string_view absent = "it has no data rows to batch";
    virtual ~data_batches() = default;
    // The rows of the data, and of the current batch (all of them unless minibatched).
    virtual std::size_t data_rows() const = 0;
    virtual std::size_t batch_rows() const = 0;
    virtual bool minibatched() const = 0;
    // Moves to the next minibatch and, when a curvature sample is in use, draws a new sample
    // from its rows (optimizers rely on this: hessian_free does not draw a second one).
    virtual void next_batch() = 0;
    // Curvature on a subsample (Martens 2010; Byrd et al. 2011): where the objective was told to,
    // the curvature capabilities use a random subset of the current rows, drawn again by each
    // call of this; loss and gradient keep all rows. Optimizers that build a curvature model call
    // it once per iteration, except after a new minibatch, which came with its own sample.
    virtual void resample_curvature() {}
    virtual std::size_t curvature_rows() const { return batch_rows(); }
};

// ---------------------------------------------------------------- state shared by processes
// An objective whose state lives in several processes (mpi/objective.hpp): collecting it for a
// checkpoint is an exchange that every process passes at the same time, and one of them writes
// the files. minimize() asks writes_checkpoints() before writing, and then calls
// checkpoint_written with this process's failure to write (null if none) on every process: the
// processes wait for the writer there, and a failure of the writer ends every process alike.
class shared_state {
public:
    static constexpr std::string_view name = "shared_state";
    static constexpr std::string_view absent = "its state lives in this process alone";
    virtual ~shared_state() = default;
    virtual bool writes_checkpoints() const = 0;
    virtual void checkpoint_written(std::exception_ptr failure) = 0;
};

// ---------------------------------------------------------------- finding a capability
// C of f, or null where f does not offer it.
template <class C>
C* capability(objective& f) {
    return dynamic_cast<C*>(&f);
}
template <class C>
const C* capability(const objective& f) {
    return dynamic_cast<const C*>(&f);
}

// What an optimizer or a preconditioner needs beyond objective (optimizer::needs, optim/optimizer.hpp).
template <class... C>
struct capability_list {};

namespace detail {
template <class C>
std::string lacking() {
    return "needs " + std::string(C::name) + ", which this objective does not offer: " + std::string(C::absent);
}
// The refusal naming the first capability in the list that f lacks, or "" when it has them all.
template <class... C>
std::string missing(const objective& f, capability_list<C...>) {
    std::string why;
    ((why.empty() && capability<C>(f) == nullptr ? (void)(why = lacking<C>()) : (void)0), ...);
    return why;
}

// Whether f draws minibatches (an objective without data_batches has one fixed batch).
inline bool minibatched(objective& f) {
    const data_batches* d = capability<data_batches>(f);
    return d != nullptr && d->minibatched();
}
}  // namespace detail

// C·v for a kind of curvature chosen at run time (an optimizer's option), found on an
// objective once and then applied many times (each CG iteration).
class curvature_operator {
public:
    curvature_operator() = default;
    // The products of kind k of f; an empty operator (false) where f lacks them.
    static curvature_operator find(objective& f, curvature_matrix k) {
        switch (k) {
            case curvature_matrix::hessian: return bind<curvature_matrix::hessian>(f);
            case curvature_matrix::gauss_newton: return bind<curvature_matrix::gauss_newton>(f);
            case curvature_matrix::fisher: return bind<curvature_matrix::fisher>(f);
        }
        return {};
    }
    explicit operator bool() const { return call_ != nullptr; }
    curvature_matrix kind() const { return kind_; }
    // The refusal naming the capability, for an empty operator.
    const std::string& lacking() const { return lacking_; }
    // out = C(x)·v
    void operator()(const param_set& x, const param_set& v, param_set& out) const { call_(self_, x, v, out); }

private:
    template <curvature_matrix K>
    static curvature_operator bind(objective& f) {
        curvature_operator op;
        op.kind_ = K;
        if (auto* c = capability<curvature_products<K>>(f)) {
            op.self_ = c;
            op.call_ = [](void* self, const param_set& x, const param_set& v, param_set& out) {
                static_cast<curvature_products<K>*>(self)->product(x, v, out);
            };
        } else {
            op.lacking_ = detail::lacking<curvature_products<K>>();
        }
        return op;
    }

    void* self_ = nullptr;
    void (*call_)(void*, const param_set&, const param_set&, param_set&) = nullptr;
    curvature_matrix kind_ = curvature_matrix::hessian;
    std::string lacking_;
};

}  // namespace gateaux
