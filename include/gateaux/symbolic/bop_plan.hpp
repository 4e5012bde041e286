#pragma once
// The B-operator's compile-time decisions (symbolic/bop.hpp builds on them): the caller's
// options, and for each requested parameter the formula its path prescribes, from the per-sample
// curvature T_b that the ops' rules build on the way down (symbolic/curvature_path.hpp):
//   chain            T_b⁻¹ applied factor by factor is its exact (pseudo-)inverse: widths equal
//                    above the layer and a″ = 0 on the hidden layers, or the output layer (of a
//                    squared error with any activation, of a cross-entropy on its logits)
//   master           T_b has full rank but does not factorise: each T_b is formed and solved by
//                    LDLᵀ (widths non-decreasing upward, or smooth activations)
//   newton_solution  T_b is singular and the chain gives a generalised inverse: H_l·Δ = G_l holds,
//                    but Δ is not the minimum-norm solution; only with accept_newton_solution
//   per_unit, damped the output layer of a squared error solved unit by unit (options)
//   bias_sum         a bias alone: its block is Σ_b T_b, exact for any batch
// and the rejections, each a compile error with one message (report below), except for a loss
// built on a failed shape check (invalid_expr), whose op has given the message.
#include <concepts>

#include "../core/dim.hpp"
#include "../core/expr.hpp"
#include "../solve/curvature_form.hpp"
#include "curvature_path.hpp"

namespace gateaux {

// Options, passed after wrt(...) (and along(...)) in any combination:
//   accept_newton_solution  where T_b is singular but its chain gives a generalised inverse,
//                           accept a Newton solution (H_l·Δ = G_l) that is not the minimum-norm one;
//   output_per_unit         solve the output layer unit by unit: exact for any batch size;
//   output_damped           the output layer's exact damped solve (H_L + λI)⁻¹, λ bound to `damping`;
//                           hidden layers stay undamped (no chain formula exists for them).
// The per-unit and damped solves need a squared-error loss.
struct accept_newton_solution_t {};
inline constexpr accept_newton_solution_t accept_newton_solution{};
struct output_per_unit_t {};
inline constexpr output_per_unit_t output_per_unit{};
struct output_damped_t {};
inline constexpr output_damped_t output_damped{};

template <class... O>
struct bop_options {
    static constexpr bool newton_solution = (std::same_as<O, accept_newton_solution_t> || ...);
    static constexpr bool per_unit = (std::same_as<O, output_per_unit_t> || ...);
    static constexpr bool damped = (std::same_as<O, output_damped_t> || ...);
    static_assert(((std::same_as<O, accept_newton_solution_t> || std::same_as<O, output_per_unit_t> ||
                    std::same_as<O, output_damped_t>) && ...),
                  "gateaux::bop: options are accept_newton_solution, output_per_unit and output_damped");
};

namespace detail::bop {

using curvature::path_status;
template <class L>
using parse_loss = curvature::loss_parts<L>;

enum class formula {
    chain, master, newton_solution, per_unit, damped, bias_sum,  // served
    loss, not_a_layer, shared, no_rule, relu, singular, generalised_only, per_unit_loss, penalised, other_term,  // refused
    invalid  // refused without a message of its own
};
constexpr bool served(formula f) { return f <= formula::bias_sum; }

// The formula for the parameter whose path (curvature::path_of) is Path.
template <class Path, class Options>
constexpr formula choose() {
    if constexpr (Path::status == path_status::shift) {
        return formula::bias_sum;
    } else if constexpr (Path::status != path_status::weight) {
        return Path::status == path_status::branch ? formula::shared
             : Path::status == path_status::no_rule ? formula::no_rule
                                                    : formula::not_a_layer;
    } else {
        using C = typename Path::form;
        if (C::vanishing) return formula::relu;
        if constexpr (is_diagonal_curvature<C>) {
            if (Options::damped) return formula::damped;
            if (Options::per_unit) return formula::per_unit;
        }
        if (C::chain == chain_kind::exact) return formula::chain;
        if (C::rank == C::width) return formula::master;
        if (C::chain == chain_kind::generalised) return Options::newton_solution ? formula::newton_solution : formula::generalised_only;
        return formula::singular;
    }
}

// What the entry points check before building anything: the first refused parameter (index),
// its formula, and T_b's generic rank and width at its layer.
struct diagnosis {
    bool ok = true;
    std::size_t index = 0;
    formula f = formula::chain;
    dim rank = 0, width = 0;
};

template <class Path>
constexpr dim form_rank() {
    if constexpr (Path::status == path_status::weight) return Path::form::rank;
    else return 0;
}
template <class Path>
constexpr dim form_width() {
    if constexpr (Path::status == path_status::weight) return Path::form::width;
    else return 0;
}

template <class L, class Options, class... P>
constexpr diagnosis diagnose() {
    diagnosis d;
    if constexpr (invalid_expr<L>) {
        d = {false, 0, formula::invalid, 0, 0};
    } else if constexpr (!curvature::loss_parts<L>::ok) {
        d = {false, 0, formula::loss, 0, 0};
    } else {
        constexpr formula fs[] = {choose<curvature::path_of<L, P>, Options>()...};
        constexpr dim ranks[] = {form_rank<curvature::path_of<L, P>>()...};
        constexpr dim widths[] = {form_width<curvature::path_of<L, P>>()...};
        constexpr double penalties[] = {curvature::penalty_of<L, P>...};
        for (std::size_t i = 0; i < sizeof...(P); ++i) {
            if (penalties[i] != 0.0) return {false, i, penalties[i] == penalties[i] ? formula::penalised : formula::other_term, 0, 0};
            if (!served(fs[i])) return {false, i, fs[i], ranks[i], widths[i]};
        }
        if constexpr (Options::per_unit || Options::damped)
            if (!is_diagonal_curvature<typename curvature::context<L, curvature_kind::hessian>::output_form>)
                return {false, 0, formula::per_unit_loss, 0, 0};
    }
    return d;
}

// One message per refusal, instantiated only for the refused parameter, directly from the entry
// point: g++'s first lines name the parameter, T_b's rank and width, and the way out. A class, so
// that it is instantiated with the entry point's body, not later inside a constant evaluation
// (whose context line would print the whole network twice).
template <fixed_string Param, formula F, dim Rank, dim Width>
struct report {
    static_assert(F != formula::loss,
                  "gateaux::bop: the loss must be sum(...) or mean(...) of squared_error(out, y) or cross_entropy(out, y) "
                  "(mse qualifies)");
    static_assert(F != formula::not_a_layer,
                  "gateaux::bop: this parameter must be one of the network's layer weights (h·W) or biases (x + b); "
                  "for others use dense_bop or hessian_free");
    static_assert(F != formula::shared,
                  "gateaux::bop: this parameter reaches the loss along two paths (a shared weight, or a connection "
                  "around its layer); the per-layer inverse needs one (use dense_bop or hessian_free)");
    static_assert(F != formula::no_rule,
                  "gateaux::bop: an op between this parameter and the loss has no curvature rule (there are rules for "
                  "h·W, bias adds, adds and subtractions of a branch without the parameter, and activations); use "
                  "dense_bop or hessian_free");
    static_assert(F != formula::relu,
                  "gateaux::bop: a relu (a′ = 0 on half the line) lies between this parameter and the loss; no "
                  "functional inverse exists (use block_solve, exact at any batch and damping)");
    static_assert(F != formula::generalised_only,
                  "gateaux::bop: T_b at this parameter's layer is singular (rank Rank < width Width): the widths above "
                  "it do not increase, or a cross-entropy's curvature passes through; the chain solves H·Δ = G, not with "
                  "the minimum norm: pass accept_newton_solution, or use block_solve");
    static_assert(F != formula::singular,
                  "gateaux::bop: T_b at this parameter's layer is singular (rank Rank < width Width): the widths above "
                  "it rise then fall or narrow into a bottleneck, and no one-sided inverse exists (use block_solve)");
    static_assert(F != formula::per_unit_loss,
                  "gateaux::bop: output_per_unit and output_damped need a squared-error loss (block_solve takes any "
                  "loss, batch and damping)");
    static_assert(F != formula::penalised,
                  "gateaux::bop: the loss's l2 penalty on this parameter damps its block (H + λI), which the functional "
                  "inverse has no form for: use block_solve");
    static_assert(F != formula::other_term,
                  "gateaux::bop: a term of the loss besides the data term depends on this parameter other than as an l2 "
                  "penalty c·½‖P‖²; no per-layer inverse (use hessian_free)");
};

}  // namespace detail::bop

}  // namespace gateaux
