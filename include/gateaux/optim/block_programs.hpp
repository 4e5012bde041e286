#pragma once
// The programs behind a graph objective's block_solver capability (optim/capabilities.hpp), and
// the choice of route between them:
//
//   functional inverse   compile(loss, grad, newton_step(loss, w, options...)) and
//                        compile(loss, bop(loss, w, options...)): one downward pass, exact where
//                        the type system accepts the network (symbolic/bop_plan.hpp), and only at
//                        batches within the layer widths (chain_rows)
//   block solve          compile(loss, grad, factors): the loss, its gradient and each layer's
//                        factors (its input h and the per-sample curvature T_b of its output, the
//                        operands of symbolic/block_solve.hpp's nodes), then every layer's
//                        (H_l + D_l + λI)⁻¹ solved in C++ (optim/layer_blocks.hpp) at any batch,
//                        widths, activations and l2 penalty; λ = 0 gives the minimum-norm H_l⁺. The
//                        same factors are the layer_blocks capability.
//
// Undamped calls take the functional inverse where it applies at the rows in use, and the block
// solve everywhere else, including where the functional inverse reports a rank_error at run time
// (an ill-conditioned layer input, weight above, or T_b); damped calls always take the block
// solve. The step forms run on the batch rows (with the gradient's pass); the inverse forms on the
// curvature rows, scaled as the curvature products are: for a sum(...) loss on a curvature sample
// of k of B rows the block is c·H_sample with c = B/k, solved as (c·H + D + λI)⁻¹·v =
// (1/c)·(H + ((D + λ)/c)·I)⁻¹·v.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../symbolic/block_solve.hpp"
#include "../symbolic/bop.hpp"
#include "../symbolic/grad.hpp"
#include "../symbolic/inverse.hpp"
#include "capabilities.hpp"
#include "graph_capabilities.hpp"
#include "layer_blocks.hpp"
#include "layer_statistics_program.hpp"  // copy_into
#include "param_set.hpp"
#include "../symbolic/layer_statistics.hpp"

namespace gateaux {

// The route of a graph objective's last per-layer inverse (graph_objective::last_inverse_route).
enum class inverse_route { none, functional_inverse, block_solve };

inline const char* to_string(inverse_route r) {
    return r == inverse_route::functional_inverse ? "functional inverse" : r == inverse_route::block_solve ? "block solve" : "none";
}

namespace detail {

// compile(E...) where a route exists, an empty stand-in where it does not (never compiled then).
struct no_program {
    static constexpr bool computes(auto) { return false; }
};
template <bool Has, class... E>
struct program_if {
    using type = decltype(compile(E{}...));
};
template <class... E>
struct program_if<false, E...> {
    using type = no_program;
};

// Moving parameter blocks in and out of a graph objective's programs, in the order of wrt(P...):
// shared by the objective (optim/objective.hpp) and its block programs.
template <class... P>
struct param_io {
    static void check_blocks(const param_set& x) {
        if (x.size() != sizeof...(P))
            throw shape_error("gateaux::objective: expected " + std::to_string(sizeof...(P)) + " parameter blocks, got " +
                              std::to_string(x.size()));
    }
    template <class Prog>
    static void bind_params(Prog& prog, const param_set& x) {
        check_blocks(x);
        std::size_t i = 0;
        (prog.bind(P{}, x[i++]), ...);
    }
    // The directions v (one block per parameter; each block's shape is checked by bind).
    static void check_directions(const param_set& v) {
        if (v.size() != sizeof...(P))
            throw shape_error("gateaux::objective: expected " + std::to_string(sizeof...(P)) + " direction blocks (one per parameter), got " +
                              std::to_string(v.size()));
    }
    // The directions' count, shapes and values, checked as binding them to a program checks them.
    static void check_direction_values(const param_set& v) {
        check_directions(v);
        std::size_t i = 0;
        auto one = [&]<class Q>(Q) {
            static constexpr leaf_info info = leaf_info_of<direction_t<Q>>(0);
            engine::check_shape(info, v[i]);
            engine::check_finite(info, v[i]);
            ++i;
        };
        (one(P{}), ...);
    }
    template <class Prog>
    static void bind_directions(Prog& prog, const param_set& v) {
        check_directions(v);
        std::size_t i = 0;
        (prog.bind(direction(P{}), v[i++]), ...);
    }
    // Into out's existing storage where the shapes agree (no allocation in the steady state).
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
};

template <class Loss, class Options, class... P>
class block_programs {
    using io = param_io<P...>;
    using support = graph_support<Loss, Options, P...>;
    static constexpr params<P...> w{};
    using G = decltype(grad(Loss{}, w));
    static constexpr bool chain_ok = support::chain;
    static constexpr bool solve_ok = support::block_solve;
    static constexpr auto make_newton() {
        if constexpr (chain_ok)
            return Options::newton(Loss{}, w);
        else
            return Loss{};
    }
    static constexpr auto make_bop() {
        if constexpr (chain_ok)
            return Options::inverse(Loss{}, w);
        else
            return Loss{};
    }
    // The block solve's factors: every weight's layer input h and every parameter's stack of T_b
    // (a weight with a bias partner takes the joint block's, the bias's), beside the loss and its
    // gradient; solved in C++ by solve_layer_blocks (optim/layer_blocks.hpp).
    using roles = layer_roles<Loss, P...>;
    template <class Q>
    static constexpr auto stack_of() {
        using partner = decltype(curvature::partner<Loss, Q, P...>());
        if constexpr (curvature::path_of<Loss, Q>::status == curvature::path_status::weight && partner::size == 1)
            return curvature::path_of<Loss, type_at_t<0, partner>>::form::stack();
        else
            return curvature::path_of<Loss, Q>::form::stack();
    }
    static constexpr auto make_inputs() {
        if constexpr (solve_ok)
            return layer_inputs(Loss{}, typename roles::weights{});
        else
            return Loss{};
    }
    static constexpr auto make_stacks() {
        if constexpr (solve_ok)
            return group<meta::list<P...>, meta::list<decltype(stack_of<P>())...>>{};
        else
            return Loss{};
    }
    using NS = decltype(make_newton());
    using BI = decltype(make_bop());
    using IN = decltype(make_inputs());
    using ST = decltype(make_stacks());
    using factors_program = typename program_if<solve_ok, Loss, G, IN, ST>::type;

public:
    // The most rows at which the functional inverse is tried (0 where the type system refuses it).
    static constexpr std::size_t chain_rows = [] {
        if constexpr (chain_ok)
            return Options::template chain_rows<Loss, P...>();
        else
            return std::size_t(0);
    }();

    template <class L>
    void bind_main(L l, const tensor& t) {
        if constexpr (decltype(newton_)::computes(L{})) newton_.bind(l, t);
        if constexpr (factors_program::computes(L{})) step_.bind(l, t);
    }
    template <class L>
    void bind_curvature(L l, const tensor& t) {
        if constexpr (decltype(inverse_)::computes(L{})) inverse_.bind(l, t);
        if constexpr (factors_program::computes(L{})) solve_.bind(l, t);
    }

    inverse_route route() const { return route_; }

    // Loss, gradient and H_l⁺·G_l on the batch of `rows` rows.
    double newton_step(const param_set& x, std::size_t rows, evaluation_counts& counts, param_set& g, param_set& step) {
        if constexpr (chain_ok) {
            if (!solve_ok || rows <= chain_rows) {
                try {
                    io::bind_params(newton_, x);
                    newton_.run();
                    ++counts.gradients;
                    ++counts.block_solves;
                    io::template copy_out<G>(newton_, g);
                    io::template copy_out<NS>(newton_, step);
                    route_ = inverse_route::functional_inverse;
                    return newton_.scalar(Loss{});
                } catch (const rank_error&) {
                    if (!solve_ok) throw;
                }
            }
        }
        const double loss = run_step(x, 0.0, counts, g, step);
        ++counts.block_solves;
        return loss;
    }

    // blockdiag(C_l⁺)·v on the curvature rows (`rows` of them), C = scale·H.
    void inverse(const param_set& x, const param_set& v, std::size_t rows, double scale, evaluation_counts& counts,
                 param_set& out) {
        if constexpr (chain_ok) {
            if (!solve_ok || rows <= chain_rows) {
                try {
                    io::bind_params(inverse_, x);
                    io::bind_directions(inverse_, v);
                    inverse_.run();
                    ++counts.block_solves;
                    io::template copy_out<BI>(inverse_, out);
                    if (scale != 1.0) out.scale(1.0 / scale);
                    route_ = inverse_route::functional_inverse;
                    return;
                } catch (const rank_error&) {
                    if (!solve_ok) throw;
                }
            }
        }
        run_solve(x, v, 0.0, scale, out);
        ++counts.block_solves;
    }

    // blockdiag(C_l + λI)⁻¹·v on the curvature rows, C = scale·H.
    void damped_inverse(const param_set& x, const param_set& v, double lambda, double scale, evaluation_counts& counts,
                        param_set& out) {
        check_damping(lambda);
        run_solve(x, v, lambda, scale, out);
        ++counts.damped_block_solves;
    }

    // Loss, gradient and (H_l + λI)⁻¹·G_l on the batch rows.
    double damped_step(const param_set& x, double lambda, evaluation_counts& counts, param_set& g, param_set& step) {
        check_damping(lambda);
        const double loss = run_step(x, lambda, counts, g, step);
        ++counts.damped_block_solves;
        return loss;
    }

    // Why the finite-difference step is unavailable, or "".
    static std::string fd_unavailable() { return fd_unavailable_for<Loss, chain_ok, P...>(); }

    // The step by finite differences of the inverse gradient map, from the gradient program `prog`.
    template <class Prog>
    static double fd_step(Prog& prog, const param_set& x, double r, fd_scheme scheme, evaluation_counts& counts, param_set& g,
                          param_set& step) {
        if constexpr (!chain_ok || !(layer_roles<Loss, P...>::template is_weight<P> && ...)) {
            (void)prog, (void)x, (void)r, (void)scheme, (void)counts, (void)g, (void)step;
            throw error("gateaux::objective::fd_block_newton_step: " + fd_unavailable());
        } else {
            io::bind_params(prog, x);
            prog.run();
            ++counts.gradients;
            io::template copy_out<G>(prog, g);
            const double loss = prog.scalar(Loss{});
            const auto d = fd_newton_step(prog, Loss{}, w, r, scheme);
            ++counts.block_solves;
            if (step.size() != sizeof...(P)) step = param_set(std::vector<tensor>(sizeof...(P)));
            for (std::size_t i = 0; i < sizeof...(P); ++i) step[i] = d[i];
            return loss;
        }
    }

private:
    static void check_damping(double lambda) {
        if (!(lambda >= 0.0) || !std::isfinite(lambda))
            throw value_error("gateaux::objective: the damping λ of a block solve must be finite and ≥ 0, got " +
                              number_string(lambda));
    }
    // The layers of the block solve, in wrt order of their weight (of the bias, for a bias alone):
    // layer_blocks::layout.
    static std::vector<layer_blocks::layer> make_layout() {
        std::vector<layer_blocks::layer> out;
        if constexpr (solve_ok) {
            constexpr std::size_t n = sizeof...(P);
            const std::array<std::string_view, n> names{P::name.view()...};
            constexpr std::array<double, n> penalty{curvature::penalty_of<Loss, P>...};
            constexpr std::array<std::size_t, n> rows{std::size_t(P::rows)...}, cols{std::size_t(P::cols)...};
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t partner = roles::partner[i];
                if (!roles::weight[i] && partner != layer_blocks::none) continue;  // in its weight's layer
                layer_blocks::layer l;
                l.outputs = cols[i];
                if (!roles::weight[i]) {
                    l.bias = i, l.bias_decay = penalty[i];
                    l.name = "bias '" + std::string(names[i]) + "'";
                } else if (partner == layer_blocks::none) {
                    l.weight = i, l.inputs = rows[i], l.decay = penalty[i];
                    l.name = "weight '" + std::string(names[i]) + "'";
                } else {
                    l.weight = i, l.bias = partner, l.inputs = rows[i], l.decay = penalty[i], l.bias_decay = penalty[partner];
                    l.name = "weight and bias '" + std::string(names[i]) + "', '" + std::string(names[partner]) + "'";
                }
                out.push_back(l);
            }
        }
        return out;
    }

public:
    static const std::vector<layer_blocks::layer>& layout() {
        static const std::vector<layer_blocks::layer> l = make_layout();
        return l;
    }

    // The factors on the batch rows or the curvature rows (layer_blocks::block_factors).
    void factors(const param_set& x, layer_blocks::rows which, double scale, evaluation_counts& counts,
                 layer_blocks::result& out) {
        if constexpr (solve_ok) {
            factors_program& prog = which == layer_blocks::rows::batch ? step_ : solve_;
            io::bind_params(prog, x);
            prog.run();
            if (which == layer_blocks::rows::batch) ++counts.gradients;
            io::template copy_out<G>(prog, out.gradient);
            views_of(prog);
            out.layers.resize(views_.size());
            for (std::size_t k = 0; k < views_.size(); ++k) {
                if (views_[k].input != nullptr)
                    copy_into(*views_[k].input, out.layers[k].input);
                else
                    out.layers[k].input = tensor{};
                copy_into(*views_[k].curvature, out.layers[k].curvature);
            }
            out.rows = out.layers.front().curvature.shape(0) / layout().front().outputs;
            out.curvature_scale = which == layer_blocks::rows::batch ? 1.0 : scale;
            out.loss = prog.scalar(Loss{});
        } else {
            (void)x, (void)which, (void)scale, (void)counts, (void)out;
            throw error("gateaux::objective: no block solve for these parameters (block_solve_available is false)");
        }
    }

private:
    // views_: every layer's factors in prog (which has run), in layout() order.
    void views_of(factors_program& prog) {
        if constexpr (solve_ok) {
            const std::vector<layer_blocks::layer>& l = layout();
            views_.resize(l.size());
            std::size_t k = 0, i = 0;
            auto one = [&]<class Q>(Q) {
                if (k < l.size() && (l[k].weight == i || (l[k].weight == layer_blocks::none && l[k].bias == i))) {
                    views_[k].layer = &l[k];
                    if constexpr (roles::template is_weight<Q>)
                        views_[k].input = &prog[IN::of(Q{})];
                    else
                        views_[k].input = nullptr;
                    views_[k].curvature = &prog[ST::of(Q{})];
                    ++k;
                }
                ++i;
            };
            (one(P{}), ...);
        } else {
            (void)prog;
        }
    }
    // Solves every layer's block along v from the factors prog has computed.
    void solve_from(factors_program& prog, const param_set& v, double lambda, double scale, param_set& out) {
        views_of(prog);
        solve_layer_blocks(views_, v, lambda, scale, scratch_, out);
        route_ = inverse_route::block_solve;
    }
    double run_step(const param_set& x, double lambda, evaluation_counts& counts, param_set& g, param_set& step) {
        if constexpr (solve_ok) {
            io::bind_params(step_, x);
            step_.run();
            ++counts.gradients;
            io::template copy_out<G>(step_, g);
            solve_from(step_, g, lambda, 1.0, step);
            return step_.scalar(Loss{});
        } else {
            (void)x, (void)lambda, (void)counts, (void)g, (void)step;
            throw error("gateaux::objective: no block solve for these parameters (block_solve_available is false)");
        }
    }
    void run_solve(const param_set& x, const param_set& v, double lambda, double scale, param_set& out) {
        if constexpr (solve_ok) {
            io::bind_params(solve_, x);
            io::check_direction_values(v);
            solve_.run();
            solve_from(solve_, v, lambda, scale, out);
        } else {
            (void)x, (void)v, (void)lambda, (void)scale, (void)out;
            throw error("gateaux::objective: no block solve for these parameters (block_solve_available is false)");
        }
    }

    typename program_if<chain_ok, Loss, G, NS>::type newton_;
    typename program_if<chain_ok, Loss, BI>::type inverse_;
    factors_program step_;   // on the batch rows
    factors_program solve_;  // on the curvature rows
    std::vector<layer_view> views_;
    layer_block_scratch scratch_;
    inverse_route route_ = inverse_route::none;
};

}  // namespace detail

}  // namespace gateaux
