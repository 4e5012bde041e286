#pragma once
// Which capabilities of optim/capabilities.hpp a graph objective (optim/objective.hpp) has, decided
// from the types of its loss and parameters, and the mixins through which it offers them:
//
//   gauss_newton       the loss parses: sum(...) or mean(...) of squared_error or cross_entropy
//   fisher             the same, against a data leaf as the target (sampled targets replace it)
//   layer_statistics   that, and every parameter is a layer weight h·W or a bias x + b on the one
//                      path to the loss (the generic curvature pass finds it: curvature_path.hpp)
//   block_solver       block_solve serves every parameter (each a layer weight or bias on the one
//                      path to a parsed loss, l2 penalties allowed); where bop also accepts them
//                      with the objective's options, its chain is the undamped route at batches
//                      within the layer widths (chain_rows)
//
// A capability the graph lacks is not a base class at all (an empty `without<C>` stands in the
// mixin's place), so the objective's type says what it offers.
#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>

#include "../core/expr.hpp"
#include "../core/meta.hpp"
#include "../symbolic/block_solve.hpp"
#include "../symbolic/bop.hpp"
#include "../symbolic/curvature_path.hpp"
#include "../symbolic/wrt.hpp"
#include "capabilities.hpp"

namespace gateaux::detail {

// Whether a loss is sum(...) of per-row terms: its curvature grows with the number of rows used.
template <class L>
inline constexpr bool sums_rows = false;
template <class E>
inline constexpr bool sums_rows<node<sum_op, E>> = true;

// The B-operator options an objective takes (make_objective checks them) and passes to
// newton_step and bop (symbolic/bop_plan.hpp).
template <class... O>
inline constexpr bool objective_options_known =
    ((std::same_as<O, accept_newton_solution_t> || std::same_as<O, output_per_unit_t>) && ...);
template <class... O>
struct objective_options {
    template <class L, class... P>
    static constexpr bool available = bop::supported<L, bop_options<O...>, P...>();
    // The most rows at which the functional inverse can exist: its chain, master formula and
    // Newton solution need independent rows of each layer input h (B ≤ n_{l−1}, n_{l−1} + 1 for
    // a joint weight-and-bias block); output_per_unit and a bias's own block take any batch.
    template <class L, class... P>
    static constexpr std::size_t chain_rows() {
        std::size_t limit = std::size_t(-1);
        (
            [&] {
                using path = curvature::path_of<L, P>;
                if constexpr (path::status == curvature::path_status::weight) {
                    constexpr bop::formula f = bop::choose<path, bop_options<O...>>();
                    if constexpr (f == bop::formula::chain || f == bop::formula::master || f == bop::formula::newton_solution) {
                        constexpr std::size_t joint = decltype(curvature::partner<L, P, P...>())::size;
                        limit = std::min(limit, std::size_t(curvature::layer_input<path>::cols) + joint);
                    }
                }
            }(),
            ...);
        return limit;
    }
    template <class L, class W>
    static constexpr auto newton(L loss, W w) {
        return newton_step(loss, w, O{}...);
    }
    template <class L, class W>
    static constexpr auto inverse(L loss, W w) {
        return gateaux::bop(loss, w, O{}...);
    }
};

// ---------------------------------------------------------------- layers
// Whether the loss's target is a data leaf (an input or a target), which sampled targets can stand for.
template <class L>
constexpr bool target_is_data() {
    if constexpr (!curvature::loss_parts<L>::ok) {
        return false;
    } else {
        using Y = typename curvature::loss_parts<L>::target;
        if constexpr (is_leaf<Y>)
            return Y::kind::is_data;
        else
            return false;
    }
}

// What identifies a parameter's layer: for a weight the product h·W it enters, for a bias the
// operand it is added to. A weight and a bias share a layer when these are one node (net = h·W + b).
template <class Loss, class P>
constexpr auto layer_key() {
    using path = curvature::path_of<Loss, P>;
    if constexpr (path::status == curvature::path_status::weight)
        return typename path::at{};
    else if constexpr (path::status == curvature::path_status::shift)
        return type_at_t<1 - path::operand, typename path::at::args>{};
    else
        return P{};  // no layer: matches no other parameter's key
}

template <class... K>
struct same_keys {
    template <class A>
    static constexpr std::array<bool, sizeof...(K)> row{__is_same(A, K)...};
    static constexpr std::array<std::array<bool, sizeof...(K)>, sizeof...(K)> table{row<K>...};
};

// The parameters among P... that are layer weights, as params<...> (wrt order).
template <class Loss, class Acc, class... P>
struct weights_among {
    using type = Acc;
};
template <class Loss, class... Q, class P, class... Rest>
struct weights_among<Loss, params<Q...>, P, Rest...>
    : weights_among<Loss,
                    std::conditional_t<curvature::path_of<Loss, P>::status == curvature::path_status::weight,
                                       params<Q..., P>, params<Q...>>,
                    Rest...> {};

// The parameters of a loss as layer parts: which are weights and biases, which share a layer.
template <class Loss, class... P>
struct layer_roles {
    static constexpr std::size_t n = sizeof...(P);
    static constexpr bool found = (curvature::path_of<Loss, P>::found && ...);
    template <class Q>
    static constexpr bool is_weight = curvature::path_of<Loss, Q>::status == curvature::path_status::weight;
    static constexpr std::array<bool, n> weight{is_weight<P>...};
    // partner[i]: the other parameter of i's layer (one weight and one bias), or layer_statistics::none.
    static constexpr std::array<std::size_t, n> partner = [] {
        constexpr auto same = same_keys<decltype(layer_key<Loss, P>())...>::table;
        std::array<std::size_t, n> out{};
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = layer_statistics::none;
            for (std::size_t j = 0; j < n; ++j)
                if (j != i && same[i][j] && weight[i] != weight[j]) out[i] = j;
        }
        return out;
    }();
    // The weights alone (the parameters with a layer input), in wrt order.
    using weights = typename weights_among<Loss, params<>, P...>::type;
};

// ---------------------------------------------------------------- which capabilities
template <class Loss, class Options, class... P>
struct graph_support {
    static constexpr bool gauss_newton = bop::parse_loss<Loss>::ok;
    static constexpr bool fisher = gauss_newton && target_is_data<Loss>();
    static constexpr bool layer_statistics = fisher && layer_roles<Loss, P...>::found;
    // The functional inverse (bop's chain) where the type system accepts it; the block solve serves
    // every parameter it serves and more, so it decides the capability.
    static constexpr bool chain = Options::template available<Loss, P...>;
    static constexpr bool block_solve = block_solve_available<Loss, P...>;
    static constexpr bool block_solver = chain || block_solve;
    static constexpr bool layer_blocks = block_solve;
};

// The graph-dependent capabilities as mixins: each overrides its interface's functions by
// forwarding to the objective (Self), so that where the graph lacks one, the objective has
// neither the interface nor the functions.
template <class Self>
class graph_gauss_newton : public gauss_newton_products {
public:
    void gauss_newton_vector(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).gauss_newton_impl(x, v, out);
    }
};
template <class Self>
class graph_fisher : public fisher_products {
public:
    void fisher_vector(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).fisher_impl(x, v, out);
    }
};
template <class Self>
class graph_layer_statistics : public layer_statistics {
public:
    void statistics(const param_set& x, const request& what, result& out) final {
        static_cast<Self&>(*this).statistics_impl(x, what, out);
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
    void damped_block_inverse(const param_set& x, const param_set& v, double lambda, param_set& out) final {
        static_cast<Self&>(*this).damped_block_inverse_impl(x, v, lambda, out);
    }
    double damped_block_newton_step(const param_set& x, double lambda, param_set& g, param_set& step) final {
        return static_cast<Self&>(*this).damped_block_newton_impl(x, lambda, g, step);
    }
    double fd_block_newton_step(const param_set& x, double r, fd_scheme scheme, param_set& g, param_set& step) final {
        return static_cast<Self&>(*this).fd_block_newton_impl(x, r, scheme, g, step);
    }
    std::string fd_unavailable() const final { return Self::fd_unavailable_impl(); }
};

template <class Self>
class graph_layer_blocks : public layer_blocks {
public:
    std::vector<layer> layout() const final { return Self::layout_impl(); }
    void block_factors(const param_set& x, rows which, result& out) final {
        static_cast<Self&>(*this).block_factors_impl(x, which, out);
    }
};

// Why the finite-difference block step is not available for these parameters ("" where it is):
// inverse_gradient (symbolic/inverse.hpp) inverts the gradient map of layer weights only, and is
// the twin of the functional inverse, so only where bop accepts the network.
template <class Loss, bool Chain, class... P>
std::string fd_unavailable_for() {
    if constexpr (!Chain)
        return "the finite-difference step differences the functional inverse of the gradient map (symbolic/inverse.hpp), "
               "which bop refuses for this network; block_newton's step comes from the block solve";
    std::string bias;
    ((bias.empty() && !layer_roles<Loss, P...>::template is_weight<P> ? (void)(bias = P::name.view()) : (void)0), ...);
    if (bias.empty()) return {};
    return "the finite-difference step differences the inverse gradient map of layer weights (symbolic/inverse.hpp), and '" +
           bias + "' is not one; block_newton's analytic step covers weights and biases";
}
template <class Capability>
struct without {};

template <bool Has, class Mixin, class Capability>
using capability_if = std::conditional_t<Has, Mixin, without<Capability>>;

}  // namespace gateaux::detail
