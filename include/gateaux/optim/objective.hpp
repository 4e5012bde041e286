#pragma once
// The objective of a compiled graph: make_objective(loss, wrt(...), options...) compiles what it
// needs, once, and offers each capability of optim/capabilities.hpp that the graph supports
// (optim/graph_capabilities.hpp decides which, from the types):
//
//   always                 value and gradient, hessian_products (the R-operator),
//                          hessian_matrix (from H·v columns), data_batches
//   a parseable loss       gauss_newton_products: sum(...) or mean(...) of squared_error or
//                          cross_entropy (the losses the B-operator's loss parser knows);
//                          fisher_products, where the target is a data leaf (use_fisher)
//   layers                 layer_statistics: every parameter a layer weight h·W or bias x + b
//   layers, l2 allowed     block_solver: the per-layer blocks, undamped by the functional inverse
//                          where the type system accepts it at the rows in use, by the block solve
//                          elsewhere; damped always by the block solve (optim/block_programs.hpp);
//                          layer_blocks, the block solve's factors, where it serves every parameter
//
// A capability the graph lacks is not a base class at all: the type says what it offers (a
// compile error where an optimizer needs it, optim/minimize.hpp), and capability<C>(f) is null.
// Optimizers never see the graph.
//
//   auto f = make_objective(loss, wrt(W1, W2));       // compiles what it needs, once
//   f.set_data(x, X).set_data(y, Y);                   // full batch; or f.use_minibatches(64, seed)
//   param_set theta = f.parameters_like();             // shapes from wrt(...)
//   make_objective(loss, wrt(W1, W2), accept_newton_solution, output_per_unit)  // B-operator options
//
// Evaluations are counted (value, gradient, curvature products, block solves, statistics, target
// draws) for result tables.
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <type_traits>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../symbolic/bop.hpp"
#include "../symbolic/gauss_newton.hpp"
#include "../symbolic/grad.hpp"
#include "../symbolic/hessian.hpp"
#include "../symbolic/hvp.hpp"
#include "../symbolic/inverse.hpp"
#include "block_programs.hpp"
#include "capabilities.hpp"
#include "data_rows.hpp"
#include "fisher_program.hpp"
#include "graph_capabilities.hpp"
#include "layer_statistics_program.hpp"
#include "param_set.hpp"
#include "sampled_targets.hpp"

namespace gateaux {

template <class Loss, class Options, class... P>
class graph_objective final
    : public objective,
      public hessian_products,
      public hessian_matrix,
      public data_batches,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::gauss_newton,
                                   detail::graph_gauss_newton<graph_objective<Loss, Options, P...>>, gauss_newton_products>,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::fisher,
                                   detail::graph_fisher<graph_objective<Loss, Options, P...>>, fisher_products>,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::layer_statistics,
                                   detail::graph_layer_statistics<graph_objective<Loss, Options, P...>>, layer_statistics>,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::block_solver,
                                   detail::graph_block_solver<graph_objective<Loss, Options, P...>>, block_solver>,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::layer_blocks,
                                   detail::graph_layer_blocks<graph_objective<Loss, Options, P...>>, layer_blocks> {
    using W = params<P...>;
    static constexpr W w{};
    using G = decltype(grad(Loss{}, w));
    using HV = decltype(hvp(Loss{}, w));
    static constexpr bool gn_ok = detail::graph_support<Loss, Options, P...>::gauss_newton;
    static constexpr bool fisher_ok = detail::graph_support<Loss, Options, P...>::fisher;
    static constexpr bool stats_ok = detail::graph_support<Loss, Options, P...>::layer_statistics;
    static constexpr bool block_ok = detail::graph_support<Loss, Options, P...>::block_solver;
    friend class detail::graph_gauss_newton<graph_objective>;
    friend class detail::graph_fisher<graph_objective>;
    friend class detail::graph_layer_statistics<graph_objective>;
    friend class detail::graph_block_solver<graph_objective>;
    friend class detail::graph_layer_blocks<graph_objective>;
    static constexpr auto make_gn() {
        if constexpr (gn_ok)
            return gnvp(Loss{}, w);
        else
            return Loss{};
    }
    using GN = decltype(make_gn());
    // The Fisher's and the statistics' programs and the draw of targets, where the graph has them.
    template <bool Has, class T, class C>
    using part_if = std::conditional_t<Has, T, detail::without<C>>;
    using fisher_t = part_if<fisher_ok, detail::fisher_program<Loss, P...>, fisher_products>;
    using draw_t = part_if<fisher_ok, detail::target_draw<Loss, P...>, fisher_products>;
    using stats_t = part_if<stats_ok, detail::statistics_program<Loss, P...>, layer_statistics>;
    using blocks_t = part_if<block_ok, detail::block_programs<Loss, Options, P...>, block_solver>;

public:
    graph_objective() = default;
    // The programs point into this object's data: no copies (moves keep the data in place).
    graph_objective(const graph_objective&) = delete;
    graph_objective& operator=(const graph_objective&) = delete;
    graph_objective(graph_objective&&) = default;

    // Data tensors are copied in (the objective owns its data and its minibatch buffers). The
    // tensor is checked first, as bind() checks it (shape, finite values): a refused one leaves
    // the objective with the data it had.
    template <class K, fixed_string N, dim R, dim C>
    graph_objective& set_data(leaf<K, N, R, C>, const tensor& t) {
        static_assert(K::is_data, "gateaux::objective::set_data(leaf, tensor): the leaf must be an input or a target");
        if constexpr (!invalid_expr<Loss>)  // its op has reported the mistake
            static_assert(decltype(value_prog_)::computes(leaf<K, N, R, C>{}), "gateaux::objective::set_data: the loss does not use this leaf");
        static constexpr detail::leaf_info info = detail::leaf_info_of<leaf<K, N, R, C>>(0);
        detail::engine::check_shape(info, t);
        detail::engine::check_finite(info, t);
        if (rows_.set(N.view(), t).second)
            binders_.push_back([](graph_objective& self, const tensor& x, detail::bind_to to) { self.bind_data(leaf<K, N, R, C>{}, x, to); });
        rows_.rebind_all(binder());
        return *this;
    }

    // Sample minibatches of `size` rows (without replacement within an epoch) from the data.
    graph_objective& use_minibatches(std::size_t size, std::uint64_t seed = 0) {
        rows_.use_minibatches(size, seed, binder());
        return *this;
    }

    // H·v, Gauss–Newton·v, Fisher·v, the layer statistics, the block inverse and the explicit
    // Hessian on `size` rows drawn (without replacement) from the current rows, a new draw at each
    // resample_curvature(); 0 switches it off. Loss, gradient and the block Newton step still see
    // every current row.
    // This is how Hessian-free CG is usually run on data sets: its many curvature products then
    // cost a fraction of a gradient each. Scale: a loss that is a mean over rows (mean(...), also
    // plus terms that do not depend on the data, such as l2) is estimated as it is; a loss that
    // is sum(...) over rows has its sampled curvature multiplied by rows/size (the inverse divided),
    // so that it estimates the whole set's. A sum combined with other terms is not rescaled: write
    // it as a mean.
    graph_objective& use_curvature_sample(std::size_t size, std::uint64_t seed = 0) {
        rows_.use_curvature_sample(size, seed, detail::sums_rows<Loss>, binder());
        return *this;
    }
    std::size_t curvature_rows() const override { return rows_.curvature_rows(); }
    void resample_curvature() override {
        forget_draw();  // also where no row sample is in use: a new draw of the sampled targets
        rows_.resample(binder());
    }

    // Which Fisher fisher_vector multiplies by: with the data's targets (empirical, the default),
    // or with targets drawn from the model's predictive distribution at x on the curvature rows
    // (sampled; its expectation is the true Fisher, which for these losses is the Gauss–Newton
    // matrix). A draw is kept while the rows and x stay the same, and made again at the first use
    // after a resample_curvature(), a next_batch(), new data, or a change of x: one fixed matrix
    // per CG run of Hessian-free (optim/sampled_targets.hpp says why). seed seeds the draws, which
    // layer_statistics' sampled deltas share (whatever the estimate).
    graph_objective& use_fisher(fisher_estimate e, std::uint64_t seed = 0)
        requires(fisher_ok)
    {
        estimate_ = e;
        draw_.seed(seed);
        return *this;
    }
    fisher_estimate fisher() const
        requires(fisher_ok)
    {
        return estimate_;
    }
    // The targets of the last draw (curvature rows × outputs; empty before the first).
    const tensor& sampled_targets() const
        requires(fisher_ok)
    {
        return draw_.last();
    }

    // The rows of a data tensor that the curvature capabilities see now (the whole data, the
    // minibatch, or its curvature sample), and the factor their products are scaled by.
    template <class K, fixed_string N, dim R, dim C>
    const tensor& curvature_data(leaf<K, N, R, C>) const {
        const std::size_t slot = rows_.slot_of(N.view());
        if (slot >= curvature_bound_.size() || curvature_bound_[slot] == nullptr)
            throw shape_error("gateaux::objective::curvature_data: no data set for '" + std::string(N.view()) + "'");
        return *curvature_bound_[slot];
    }
    double curvature_scale() const { return rows_.curvature_scale(); }

    std::vector<std::string> names() const override { return {std::string(P::name.view())...}; }
    param_set parameters_like() const override {
        return param_set(std::vector<tensor>{tensor(xt::zeros<double>({std::size_t(P::rows), std::size_t(P::cols)}))...});
    }

    double value(const param_set& x) override {
        io::bind_params(value_prog_, x);
        value_prog_.run();
        ++counts.values;
        return value_prog_.scalar(Loss{});
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        io::bind_params(grad_prog_, x);
        grad_prog_.run();
        ++counts.gradients;
        io::template copy_out<G>(grad_prog_, g);
        return grad_prog_.scalar(Loss{});
    }
    void hessian_vector(const param_set& x, const param_set& v, param_set& hv) override {
        io::bind_params(hv_prog_, x);
        io::bind_directions(hv_prog_, v);
        hv_prog_.run();
        ++counts.hessian_vectors;
        io::template copy_out<HV>(hv_prog_, hv);
        if (rows_.curvature_scale() != 1.0) hv.scale(rows_.curvature_scale());
    }
    tensor hessian(const param_set& x, std::size_t max_bytes) override {
        param_set v = parameters_like();
        io::bind_params(hv_prog_, x);
        io::bind_directions(hv_prog_, v);
        ++counts.hessians;
        tensor h = gateaux::hessian(hv_prog_, Loss{}, w, max_bytes);
        if (rows_.curvature_scale() != 1.0) h *= rows_.curvature_scale();
        return h;
    }

    std::size_t data_rows() const override { return rows_.rows(); }
    std::size_t batch_rows() const override { return rows_.batch_rows(); }
    bool minibatched() const override { return rows_.minibatched(); }
    void next_batch() override {
        forget_draw();
        rows_.next_batch(binder());
    }

    // The draws of minibatches, curvature samples and sampled targets, and what identifies the
    // data (names, shapes, checksums): a checkpoint of other data is refused.
    void state(state_archive& a) override {
        a.nest("rows", rows_);
        if (a.loading()) rows_.rebind_current(binder());
        if constexpr (fisher_ok) a.nest("draw", draw_);
    }

    // Whether this graph offers the capabilities that depend on it, as constants of the type (the
    // same answers as capability<gauss_newton_products>(f), ..., capability<block_solver>(f)).
    static constexpr bool has_gauss_newton() { return gn_ok; }
    static constexpr bool has_fisher() { return fisher_ok; }
    static constexpr bool has_layer_statistics() { return stats_ok; }
    static constexpr bool has_block_inverse() { return block_ok; }
    // Whether the functional inverse (bop's chain) serves the undamped blocks, and up to how many
    // rows (0 where it does not); the block solve serves the rest (optim/block_programs.hpp).
    static constexpr bool has_functional_inverse() { return detail::graph_support<Loss, Options, P...>::chain; }
    static constexpr std::size_t functional_inverse_rows()
        requires(block_ok)
    {
        return blocks_t::chain_rows;
    }
    // The route of the last block_newton_step, block_inverse or damped call (none before the first).
    inverse_route last_inverse_route() const
        requires(block_ok)
    {
        return blocks_.route();
    }

private:
    // The graph-dependent capabilities (the mixins of graph_capabilities.hpp forward here);
    // instantiated only where the graph has them.
    void gauss_newton_impl(const param_set& x, const param_set& v, param_set& out) {
        io::bind_params(gn_prog_, x);
        io::bind_directions(gn_prog_, v);
        gn_prog_.run();
        ++counts.gauss_newton_vectors;
        io::template copy_out<GN>(gn_prog_, out);
        if (rows_.curvature_scale() != 1.0) out.scale(rows_.curvature_scale());
    }
    void fisher_impl(const param_set& x, const param_set& v, param_set& out) {
        io::check_blocks(x);
        io::check_directions(v);
        fisher_.run(x, v, estimate_ == fisher_estimate::sampled ? draw_.at(x, counts) : data_targets(), out);
        ++counts.fisher_vectors;
        if (rows_.curvature_scale() != 1.0) out.scale(rows_.curvature_scale());
    }
    void statistics_impl(const param_set& x, const layer_statistics::request& what, layer_statistics::result& out) {
        io::check_blocks(x);
        stats_.run(x, what.sampled_deltas ? draw_.at(x, counts) : data_targets(), what, rows_.curvature_scale(), out);
        ++counts.layer_statistics;
    }
    // The targets of the curvature rows (what y~ stands for in the empirical Fisher).
    const tensor& data_targets() const {
        if (curvature_target_ == nullptr)
            throw shape_error("gateaux::objective: the Fisher and the layer statistics need the loss's target: set_data(" +
                              std::string(detail::curvature::loss_parts<Loss>::target::name.view()) + ", ...) first");
        return *curvature_target_;
    }
    void forget_draw() {
        if constexpr (fisher_ok) draw_.forget();
    }

    double block_newton_impl(const param_set& x, param_set& g, param_set& step) {
        return blocks_.newton_step(x, rows_.batch_rows(), counts, g, step);
    }
    void block_inverse_impl(const param_set& x, const param_set& v, param_set& out) {
        blocks_.inverse(x, v, rows_.curvature_rows(), rows_.curvature_scale(), counts, out);
    }
    void damped_block_inverse_impl(const param_set& x, const param_set& v, double lambda, param_set& out) {
        blocks_.damped_inverse(x, v, lambda, rows_.curvature_scale(), counts, out);
    }
    double damped_block_newton_impl(const param_set& x, double lambda, param_set& g, param_set& step) {
        return blocks_.damped_step(x, lambda, counts, g, step);
    }
    static std::string fd_unavailable_impl() { return blocks_t::fd_unavailable(); }
    static std::vector<layer_blocks::layer> layout_impl() { return blocks_t::layout(); }
    void block_factors_impl(const param_set& x, layer_blocks::rows which, layer_blocks::result& out) {
        io::check_blocks(x);
        blocks_.factors(x, which, rows_.curvature_scale(), counts, out);
    }
    double fd_block_newton_impl(const param_set& x, double r, fd_scheme scheme, param_set& g, param_set& step) {
        return blocks_t::fd_step(grad_prog_, x, r, scheme, counts, g, step);
    }

    // What data_rows calls to bind a data tensor to the programs.
    auto binder() {
        return [this](std::size_t slot, const tensor& t, detail::bind_to to) {
            binders_[slot](*this, t, to);
            if (to == detail::bind_to::main) return;
            if (curvature_bound_.size() <= slot) curvature_bound_.resize(slot + 1, nullptr);
            curvature_bound_[slot] = &t;
        };
    }

    using io = detail::param_io<P...>;
    template <class L>
    void bind_data(L l, const tensor& t, detail::bind_to to) {
        using detail::bind_to;
        if (to != bind_to::curvature) {
            value_prog_.bind(l, t);
            grad_prog_.bind(l, t);
            if constexpr (block_ok) blocks_.bind_main(l, t);
        }
        if (to != bind_to::main) {
            if constexpr (decltype(hv_prog_)::computes(L{})) hv_prog_.bind(l, t);
            if constexpr (gn_ok && decltype(gn_prog_)::computes(L{})) gn_prog_.bind(l, t);
            if constexpr (block_ok) blocks_.bind_curvature(l, t);
            if constexpr (fisher_ok) {
                fisher_.bind_data(l, t);
                if constexpr (std::same_as<L, typename detail::curvature::loss_parts<Loss>::target>) curvature_target_ = &t;
                draw_.bind_data(l, t);
            }
            if constexpr (stats_ok) stats_.bind_data(l, t);
        }
    }
    decltype(compile(Loss{})) value_prog_;
    decltype(compile(Loss{}, G{})) grad_prog_;
    decltype(compile(Loss{}, HV{})) hv_prog_;
    decltype(compile(Loss{}, GN{})) gn_prog_;
    [[no_unique_address]] fisher_t fisher_;
    [[no_unique_address]] stats_t stats_;
    [[no_unique_address]] draw_t draw_;
    [[no_unique_address]] blocks_t blocks_;
    fisher_estimate estimate_ = fisher_estimate::empirical;
    const tensor* curvature_target_ = nullptr;          // the loss's target, curvature rows
    std::vector<const tensor*> curvature_bound_;        // per data slot: what the curvature programs see
    detail::data_rows rows_;
    std::vector<void (*)(graph_objective&, const tensor&, detail::bind_to)> binders_;  // one per data slot
};

// Options (any of accept_newton_solution, output_per_unit) choose the B-operator's formulas for
// block_newton_step and block_inverse, as for newton_step(loss, w, options...): e.g. a network
// whose widths fall above a layer takes the functional inverse's Newton solution (not the
// minimum-norm one) with accept_newton_solution, a batch wider than the output layer's input its
// per-unit solve with output_per_unit. Without them those blocks come from the block solve.
// The options are checked here, before the objective's type is built: after the message the
// objective is built without them, so nothing else fails.
template <expression Loss, class... P, class... O>
auto make_objective(Loss, params<P...>, O...) {
    if constexpr (!invalid_expr<Loss>)  // its op has reported the mistake
        static_assert(Loss::rows == 1 && Loss::cols == 1, "gateaux::make_objective(loss, wrt(...)) requires a scalar (1×1) loss");
    static_assert(detail::objective_options_known<O...>,
                  "gateaux::make_objective(loss, wrt(...), options...): the options are accept_newton_solution and "
                  "output_per_unit (output_damped takes its λ per call: use bop(...) with a program instead)");
    if constexpr (!detail::objective_options_known<O...>)
        return graph_objective<Loss, detail::objective_options<>, P...>{};
    else
        return graph_objective<Loss, detail::objective_options<O...>, P...>{};
}

}  // namespace gateaux
