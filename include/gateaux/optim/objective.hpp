#pragma once
// The objective of a compiled graph: make_objective(loss, wrt(...), options...) compiles what it
// needs, once, and offers each capability of optim/capabilities.hpp that the graph supports:
//
//   always                 value and gradient, hessian_products (the R-operator),
//                          hessian_matrix (from H·v columns), data_batches
//   a parseable loss       gauss_newton_products: sum(...) or mean(...) of squared_error or
//                          cross_entropy (the losses the B-operator's loss parser knows)
//   bop accepts the net    block_solver: newton_step, bop and fd_newton_step, with the options
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
// Evaluations are counted (value, gradient, curvature products, block solves) for result tables.
#include <algorithm>
#include <concepts>
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
#include "capabilities.hpp"
#include "data_rows.hpp"
#include "param_set.hpp"

namespace gateaux {

namespace detail {
// Whether a loss is sum(...) of per-row terms: its curvature grows with the number of rows used.
template <class L>
inline constexpr bool sums_rows = false;
template <class E>
inline constexpr bool sums_rows<node<sum_op, E>> = true;

// The B-operator options an objective passes to newton_step and bop (symbolic/bop_plan.hpp).
template <class... O>
struct objective_options {
    static_assert(((std::same_as<O, accept_newton_solution_t> || std::same_as<O, output_per_unit_t>) && ...),
                  "gateaux::make_objective(loss, wrt(...), options...): the options are accept_newton_solution and "
                  "output_per_unit (output_damped takes its λ per call: use bop(...) with a program instead)");
    template <class L, class... P>
    static constexpr bool available = bop::supported<L, bop_options<O...>, P...>();
    template <class L, class W>
    static constexpr auto newton(L loss, W w) {
        return newton_step(loss, w, O{}...);
    }
    template <class L, class W>
    static constexpr auto inverse(L loss, W w) {
        return gateaux::bop(loss, w, O{}...);
    }
};

// Which of the graph-dependent capabilities a graph objective has.
template <class Loss, class Options, class... P>
struct graph_support {
    static constexpr bool gauss_newton = bop::parse_loss<Loss>::ok;
    static constexpr bool block_solver = Options::template available<Loss, P...>;
};

// The graph-dependent capabilities as mixins: each overrides its interface's functions by
// forwarding to the objective (Self), so that where the graph lacks one, the objective has
// neither the interface nor the functions (an empty base `without` stands in its place).
template <class Self>
class graph_gauss_newton : public gauss_newton_products {
public:
    void gauss_newton_vector(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).gauss_newton_impl(x, v, out);
    }
};
template <class Self>
class graph_block_solver : public block_solver {
public:
    double block_newton_step(const param_set& x, param_set& g, param_set& step) final {
        return static_cast<Self&>(*this).block_newton_impl(x, g, step);
    }
    void block_inverse(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).block_inverse_impl(x, v, out);
    }
    double fd_block_newton_step(const param_set& x, double r, fd_scheme scheme, param_set& g, param_set& step) final {
        return static_cast<Self&>(*this).fd_block_newton_impl(x, r, scheme, g, step);
    }
};
template <class Capability>
struct without {};

template <bool Has, class Mixin, class Capability>
using capability_if = std::conditional_t<Has, Mixin, without<Capability>>;
}  // namespace detail

template <class Loss, class Options, class... P>
class graph_objective final
    : public objective,
      public hessian_products,
      public hessian_matrix,
      public data_batches,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::gauss_newton,
                                   detail::graph_gauss_newton<graph_objective<Loss, Options, P...>>, gauss_newton_products>,
      public detail::capability_if<detail::graph_support<Loss, Options, P...>::block_solver,
                                   detail::graph_block_solver<graph_objective<Loss, Options, P...>>, block_solver> {
    using W = params<P...>;
    static constexpr W w{};
    using G = decltype(grad(Loss{}, w));
    using HV = decltype(hvp(Loss{}, w));
    static constexpr bool gn_ok = detail::graph_support<Loss, Options, P...>::gauss_newton;
    static constexpr bool bop_ok = detail::graph_support<Loss, Options, P...>::block_solver;
    friend class detail::graph_gauss_newton<graph_objective>;
    friend class detail::graph_block_solver<graph_objective>;
    static constexpr auto make_gn() {
        if constexpr (gn_ok)
            return gnvp(Loss{}, w);
        else
            return Loss{};
    }
    static constexpr auto make_newton() {
        if constexpr (bop_ok)
            return Options::newton(Loss{}, w);
        else
            return Loss{};
    }
    static constexpr auto make_bop() {
        if constexpr (bop_ok)
            return Options::inverse(Loss{}, w);
        else
            return Loss{};
    }
    using GN = decltype(make_gn());
    using NS = decltype(make_newton());
    using BI = decltype(make_bop());

public:
    graph_objective() = default;
    // The programs point into this object's data: no copies (moves keep the data in place).
    graph_objective(const graph_objective&) = delete;
    graph_objective& operator=(const graph_objective&) = delete;
    graph_objective(graph_objective&&) = default;

    // Data tensors are copied in (the objective owns its data and its minibatch buffers).
    template <class K, fixed_string N, dim R, dim C>
    graph_objective& set_data(leaf<K, N, R, C>, const tensor& t) {
        static_assert(K::is_data, "gateaux::objective::set_data(leaf, tensor): the leaf must be an input or a target");
        static_assert(decltype(value_prog_)::computes(leaf<K, N, R, C>{}), "gateaux::objective::set_data: the loss does not use this leaf");
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

    // H·v, Gauss–Newton·v, the block inverse and the explicit Hessian on `size` rows drawn
    // (without replacement) from the current rows, a new draw at each resample_curvature(); 0
    // switches it off. Loss, gradient and the block Newton step still see every current row.
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
    void resample_curvature() override { rows_.resample(binder()); }

    std::vector<std::string> names() const override { return {std::string(P::name.view())...}; }
    param_set parameters_like() const override {
        return param_set(std::vector<tensor>{tensor(xt::zeros<double>({std::size_t(P::rows), std::size_t(P::cols)}))...});
    }

    double value(const param_set& x) override {
        bind_params(value_prog_, x);
        value_prog_.run();
        ++counts.values;
        return value_prog_.scalar(Loss{});
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        bind_params(grad_prog_, x);
        grad_prog_.run();
        ++counts.gradients;
        copy_out<G>(grad_prog_, g);
        return grad_prog_.scalar(Loss{});
    }
    void hessian_vector(const param_set& x, const param_set& v, param_set& hv) override {
        bind_params(hv_prog_, x);
        bind_directions(hv_prog_, v);
        hv_prog_.run();
        ++counts.hessian_vectors;
        copy_out<HV>(hv_prog_, hv);
        if (rows_.curvature_scale() != 1.0) hv.scale(rows_.curvature_scale());
    }
    tensor hessian(const param_set& x, std::size_t max_bytes) override {
        param_set v = parameters_like();
        bind_params(hv_prog_, x);
        bind_directions(hv_prog_, v);
        ++counts.hessians;
        tensor h = gateaux::hessian(hv_prog_, Loss{}, w, max_bytes);
        if (rows_.curvature_scale() != 1.0) h *= rows_.curvature_scale();
        return h;
    }

    std::size_t data_rows() const override { return rows_.rows(); }
    std::size_t batch_rows() const override { return rows_.batch_rows(); }
    bool minibatched() const override { return rows_.minibatched(); }
    void next_batch() override { rows_.next_batch(binder()); }

    // Whether this graph offers the two capabilities that depend on it, as constants of the type
    // (the same answers as capability<gauss_newton_products>(f) and capability<block_solver>(f)).
    static constexpr bool has_gauss_newton() { return gn_ok; }
    static constexpr bool has_block_inverse() { return bop_ok; }

private:
    // The graph-dependent capabilities (detail::graph_gauss_newton, graph_block_solver forward
    // here); instantiated only where the graph has them.
    void gauss_newton_impl(const param_set& x, const param_set& v, param_set& out) {
        bind_params(gn_prog_, x);
        bind_directions(gn_prog_, v);
        gn_prog_.run();
        ++counts.gauss_newton_vectors;
        copy_out<GN>(gn_prog_, out);
        if (rows_.curvature_scale() != 1.0) out.scale(rows_.curvature_scale());
    }
    double block_newton_impl(const param_set& x, param_set& g, param_set& step) {
        bind_params(newton_prog_, x);
        newton_prog_.run();
        ++counts.gradients;
        ++counts.block_solves;
        copy_out<G>(newton_prog_, g);
        copy_out<NS>(newton_prog_, step);
        return newton_prog_.scalar(Loss{});
    }
    void block_inverse_impl(const param_set& x, const param_set& v, param_set& out) {
        bind_params(bop_prog_, x);
        bind_directions(bop_prog_, v);
        bop_prog_.run();
        ++counts.block_solves;
        copy_out<BI>(bop_prog_, out);
        if (rows_.curvature_scale() != 1.0) out.scale(1.0 / rows_.curvature_scale());
    }
    double fd_block_newton_impl(const param_set& x, double r, fd_scheme scheme, param_set& g, param_set& step) {
        bind_params(grad_prog_, x);
        grad_prog_.run();
        ++counts.gradients;
        copy_out<G>(grad_prog_, g);
        const double loss = grad_prog_.scalar(Loss{});
        const auto d = fd_newton_step(grad_prog_, Loss{}, w, r, scheme);
        ++counts.block_solves;
        if (step.size() != sizeof...(P)) step = param_set(std::vector<tensor>(sizeof...(P)));
        for (std::size_t i = 0; i < sizeof...(P); ++i) step[i] = d[i];
        return loss;
    }

    // What data_rows calls to bind a data tensor to the programs.
    auto binder() {
        return [this](std::size_t slot, const tensor& t, detail::bind_to to) { binders_[slot](*this, t, to); };
    }

    template <class Prog>
    static void bind_params(Prog& prog, const param_set& x) {
        if (x.size() != sizeof...(P))
            throw shape_error("gateaux::objective: expected " + std::to_string(sizeof...(P)) + " parameter blocks, got " +
                              std::to_string(x.size()));
        std::size_t i = 0;
        (prog.bind(P{}, x[i++]), ...);
    }
    template <class Prog>
    static void bind_directions(Prog& prog, const param_set& v) {
        std::size_t i = 0;
        (prog.bind(direction(P{}), v[i++]), ...);
    }
    template <class Group, class Prog>
    static void copy_out(const Prog& prog, param_set& out) {
        if (out.size() != sizeof...(P)) out = param_set(std::vector<tensor>(sizeof...(P)));
        std::size_t i = 0;
        auto one = [&](const tensor& t) {
            if (out[i].shape() != t.shape()) out[i].resize(t.shape());
            std::copy(t.begin(), t.end(), out[i].begin());
            ++i;
        };
        (one(prog[Group::of(P{})]), ...);
    }
    template <class L>
    void bind_data(L l, const tensor& t, detail::bind_to to) {
        using detail::bind_to;
        if (to != bind_to::curvature) {
            value_prog_.bind(l, t);
            grad_prog_.bind(l, t);
            if constexpr (bop_ok && decltype(newton_prog_)::computes(L{})) newton_prog_.bind(l, t);
        }
        if (to != bind_to::main) {
            if constexpr (decltype(hv_prog_)::computes(L{})) hv_prog_.bind(l, t);
            if constexpr (gn_ok && decltype(gn_prog_)::computes(L{})) gn_prog_.bind(l, t);
            if constexpr (bop_ok && decltype(bop_prog_)::computes(L{})) bop_prog_.bind(l, t);
        }
    }
    decltype(compile(Loss{})) value_prog_;
    decltype(compile(Loss{}, G{})) grad_prog_;
    decltype(compile(Loss{}, HV{})) hv_prog_;
    decltype(compile(Loss{}, GN{})) gn_prog_;
    decltype(compile(Loss{}, G{}, NS{})) newton_prog_;
    decltype(compile(Loss{}, BI{})) bop_prog_;
    detail::data_rows rows_;
    std::vector<void (*)(graph_objective&, const tensor&, detail::bind_to)> binders_;  // one per data slot
};

// Options (any of accept_newton_solution, output_per_unit) choose the B-operator's formulas for
// block_newton_step and block_inverse, as for newton_step(loss, w, options...): e.g. a network
// whose widths fall above a layer needs accept_newton_solution, a batch wider than the output
// layer's input output_per_unit. Without them the objective has the per-layer inverse (the
// block_solver capability) only where the default rules give one.
template <expression Loss, class... P, class... O>
graph_objective<Loss, detail::objective_options<O...>, P...> make_objective(Loss, params<P...>, O...) {
    static_assert(Loss::rows == 1 && Loss::cols == 1, "gateaux::make_objective(loss, wrt(...)) requires a scalar (1×1) loss");
    return {};
}

}  // namespace gateaux
