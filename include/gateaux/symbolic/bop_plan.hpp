#pragma once
// The B-operator's compile-time analysis (symbolic/bop.hpp builds on it): the loss recognised
// as sum/mean of squared_error or cross_entropy over a chain of layers a(h·W), the caller's
// options, and for each layer the formula MATH.md prescribes — chain, master formula, Newton
// solution, or a rejection — from its widths and activations.
#include <array>
#include <concepts>

#include "../core/expr.hpp"
#include "../core/meta.hpp"
#include "../ops/activation.hpp"
#include "../ops/cross_entropy.hpp"
#include "../ops/identity.hpp"
#include "../ops/matmul.hpp"
#include "../ops/mean.hpp"
#include "../ops/squared_error.hpp"
#include "../ops/sum.hpp"
#include "../core/group.hpp"

namespace gateaux {

// Options, passed after wrt(...) (and along(...)) in any combination:
//   accept_newton_solution  for layers whose widths do not increase upward, accept a Newton
//                           solution (H_l·Δ = G_l) that is not the minimum-norm one (MATH.md);
//   output_per_unit         solve the output layer unit by unit: exact for any batch size;
//   output_damped           the output layer's exact damped solve (H_L + λI)⁻¹, λ bound to `damping`;
//                           hidden layers stay undamped (no chain formula exists for them, MATH.md).
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

// ---------------------------------------------------------------- the network as layers
template <class W, class F, class H, class Net, class Out>
struct layer {
    using weight = W;
    using function = F;  // identity_fn when the layer has no activation
    using input = H;
    using net = Net;
    using output = Out;
};

template <class E>
struct split_activation {
    using function = identity_fn;
    using net = E;
};
template <class F, class X>
struct split_activation<node<elementwise_op<F, 0>, X>> {
    using function = F;
    using net = X;
};

template <class E>
struct split_matmul {
    static constexpr bool ok = false;
};
template <class H, class W>
struct split_matmul<node<matmul_op<false, false>, H, W>> {
    static constexpr bool ok = parameter<W>;
    using input = H;
    using weight = W;
};

template <bool Ok>
constexpr void check_layer() {
    static_assert(Ok, "gateaux::bop: the loss's output must be a chain of layers a(h·W) down to an input, with W a "
                      "parameter (biases and other ops have no inverse rule yet)");
}

template <class Out, class... Above>
struct collect {
    using A = split_activation<Out>;
    using M = split_matmul<typename A::net>;
    static constexpr auto make() {
        if constexpr (!M::ok) {
            check_layer<false>();
            return meta::list<>{};
        } else {
            using here = layer<typename M::weight, typename A::function, typename M::input, typename A::net, Out>;
            if constexpr (is_leaf<typename M::input>)
                return meta::list<here, Above...>{};
            else
                return typename collect<typename M::input, here, Above...>::type{};
        }
    }
    using type = decltype(make());
};

enum class loss_kind { squared_error, cross_entropy };

template <class L>
struct parse_loss {
    static constexpr bool ok = false;
};
template <class Red, class O, class Y>
struct parse_loss<node<Red, node<squared_error_op, O, Y>>> {
    static constexpr bool ok = std::same_as<Red, sum_op> || std::same_as<Red, mean_op>;
    static constexpr loss_kind kind = loss_kind::squared_error;
    using per_sample = node<squared_error_op, O, Y>;
    using output = O;
    using target = Y;
};
template <class Red, class O, class Y>
struct parse_loss<node<Red, node<cross_entropy_op, O, Y>>> {
    static constexpr bool ok = std::same_as<Red, sum_op> || std::same_as<Red, mean_op>;
    static constexpr loss_kind kind = loss_kind::cross_entropy;
    using per_sample = node<cross_entropy_op, O, Y>;
    using output = O;
    using target = Y;
};

// ---------------------------------------------------------------- which formula, per layer
enum class formula { chain, master, newton_solution, relu, widths, ce_activation };

template <class F>
inline constexpr bool pl_invertible = std::same_as<F, identity_fn> || (F::piecewise_linear && F::invertible);

template <class Layers, loss_kind Kind, bool AcceptNewton>
struct plan;
template <class... Ls, loss_kind Kind, bool AcceptNewton>
struct plan<meta::list<Ls...>, Kind, AcceptNewton> {
    static constexpr std::size_t L = sizeof...(Ls);
    static constexpr dim widths[] = {type_at_t<0, meta::list<Ls...>>::weight::rows, Ls::weight::cols...};  // n_0..n_L
    static constexpr bool invertible[] = {Ls::function::invertible...};
    static constexpr bool pl[] = {pl_invertible<typename Ls::function>...};
    static constexpr bool identity[] = {std::same_as<typename Ls::function, identity_fn>...};

    static constexpr formula choose(std::size_t l) {  // l = 1..L
        for (std::size_t k = l; k <= L; ++k)
            if (!invertible[k - 1]) return formula::relu;
        if (Kind == loss_kind::cross_entropy && !identity[L - 1]) return formula::ce_activation;
        if (l == L) return formula::chain;
        bool all_pl = true;
        for (std::size_t k = l; k < L; ++k) all_pl = all_pl && pl[k - 1];
        bool equal = true, equal_below_top = true, nondecreasing = true, nonincreasing = true;
        for (std::size_t k = l + 1; k <= L; ++k) {
            equal = equal && widths[k] == widths[l];
            if (k < L) equal_below_top = equal_below_top && widths[k] == widths[l];
            nondecreasing = nondecreasing && widths[l] <= widths[k];
            nonincreasing = nonincreasing && widths[k] <= widths[k - 1];
        }
        if (Kind == loss_kind::squared_error && all_pl &&
            (equal || (identity[L - 1] && equal_below_top && widths[L - 1] <= widths[L])))
            return formula::chain;
        if (!all_pl) return formula::master;
        const bool fits = Kind == loss_kind::cross_entropy ? nondecreasing && widths[l] <= widths[L] - 1 : nondecreasing;
        if (fits) return formula::master;
        if (Kind == loss_kind::squared_error && nonincreasing && AcceptNewton) return formula::newton_solution;
        return formula::widths;
    }
};

// The formula check, with the parameter and the widths above it (its output width first) as
// template arguments, so that g++'s first lines name them.
template <fixed_string Param, auto WidthsAbove, formula F>
constexpr void check_formula() {
    static_assert(F != formula::widths,
                  "gateaux::bop: the widths above this parameter (WidthsAbove, from its output up) rise then fall or "
                  "narrow into a bottleneck; no one-sided inverse exists (for non-increasing widths pass "
                  "accept_newton_solution; otherwise use hvp with conjugate gradients)");
    static_assert(F != formula::relu,
                  "gateaux::bop: a relu (a′ = 0 on half the line) lies on the path above this parameter; no inverse "
                  "exists (use leaky_relu)");
    static_assert(F != formula::ce_activation,
                  "gateaux::bop: cross_entropy must take the last layer's logits (no output activation)");
}

}  // namespace detail::bop

}  // namespace gateaux
