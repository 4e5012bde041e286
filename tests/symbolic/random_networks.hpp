#pragma once
// Shared by tests/symbolic/random_networks_*.cpp: random networks checked end to end against
// the finite-difference twins and the explicit Hessian.
//
// A network is a type with `static constexpr auto loss()`, `static constexpr auto w()` (the
// wrt(...) of all its parameters) and `static constexpr bool classification` (targets are class
// distributions). mlp_net<...> builds one with the library's mlp<...> sugar; a test may also
// write one by hand. Each is compiled once, as compile(loss, grad(loss, w), hvp(loss, w)), and
// run at several batch sizes and seeds.
//
// Points are drawn away from kinks: every operand of a relu / leaky_relu node (found in the
// schedule, so hand-written networks are covered too) has |pre-activation| > kink_margin at θ,
// resampling until it does. Directions u, v are normalised (‖u‖ = ‖v‖ = 1), so fd_hvp's step
// moves a pre-activation by about 1e-5 at most, and fd_grad's single-entry steps by less; for
// fd_hvp the activation pattern at θ ± h·v is also checked to equal the one at θ.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "support/laws.hpp"

namespace networks {

using namespace gateaux;
using laws::rng;

// ---------------------------------------------------------------- network types

// mse(o, y) is mean(squared_error(o, y)), the same type: both spellings are listed because
// both are what users write.
enum class loss_kind { sum_squared_error, mean_squared_error, mse, sum_cross_entropy, mean_cross_entropy };

template <loss_kind K, expression O, expression Y>
constexpr auto make_loss(O o, Y y) {
    if constexpr (K == loss_kind::sum_squared_error) return sum(squared_error(o, y));
    else if constexpr (K == loss_kind::mean_squared_error) return mean(squared_error(o, y));
    else if constexpr (K == loss_kind::mse) return mse(o, y);
    else if constexpr (K == loss_kind::sum_cross_entropy) return sum(cross_entropy(o, y));
    else return mean(cross_entropy(o, y));
}

inline constexpr bool biases = true;
inline constexpr bool no_biases = false;

// mlp<N...>(x, Hidden, Output[, with_biases]) under a loss, plus Lambda·Σ ½‖W_l‖² if Lambda > 0.
template <class Hidden, class Output, loss_kind Loss, bool Biases, double Lambda, dim... N>
struct mlp_net {
    static constexpr std::array<dim, sizeof...(N)> widths{N...};
    static constexpr std::size_t depth = sizeof...(N) - 1;
    static constexpr auto x = input<"x", widths.front()>;
    static constexpr auto y = target<"y", widths.back()>;
    static constexpr bool classification = Loss == loss_kind::sum_cross_entropy || Loss == loss_kind::mean_cross_entropy;

    template <std::size_t I>
    static constexpr auto W = param<indexed_name<"W", I + 1>(), widths[I], widths[I + 1]>;
    template <std::size_t I>
    static constexpr auto b = bias<indexed_name<"b", I + 1>(), widths[I + 1]>;

    static constexpr auto out() {
        if constexpr (Biases)
            return mlp<N...>(x, Hidden{}, Output{}, with_biases);
        else
            return mlp<N...>(x, Hidden{}, Output{});
    }
    static constexpr auto loss() {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            if constexpr (Lambda > 0.0)
                return make_loss<Loss>(out(), y) + l2<Lambda>(W<I>...);
            else
                return make_loss<Loss>(out(), y);
        }(std::make_index_sequence<depth>{});
    }
    static constexpr auto w() {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            if constexpr (Biases)
                return wrt(W<I>..., b<I>...);
            else
                return wrt(W<I>...);
        }(std::make_index_sequence<depth>{});
    }
};

using identity_act = activation<identity_fn>;
using relu_act = activation<relu_fn>;
template <double S>
using leaky_act = activation<leaky_relu_fn<S>>;
using tanh_act = activation<tanh_fn>;
using sigmoid_act = activation<sigmoid_fn>;
using softplus_act = activation<softplus_fn>;

template <class Net>
std::string describe() {
    return to_string(Net::loss());
}

// ---------------------------------------------------------------- kinks

template <class N>
struct kinked_operand {
    static constexpr bool value = false;
};
template <class F, int K, class X>
struct kinked_operand<node<elementwise_op<F, K>, X>> {
    static constexpr bool value = F::piecewise_linear && !std::is_same_v<F, identity_fn>;
    using type = X;
};

// min |pre-activation| over every relu / leaky_relu operand the program computes (+inf if none).
template <class L, class Prog>
double kink_distance(const Prog& prog) {
    double m = std::numeric_limits<double>::infinity();
    [&]<class... N>(meta::list<N...>) {
        ([&] {
            if constexpr (kinked_operand<N>::value)
                for (double v : prog[typename kinked_operand<N>::type{}].storage()) m = std::min(m, std::fabs(v));
        }(), ...);
    }(schedule_t<L>{});
    return m;
}

// The sign of every relu / leaky_relu operand entry: the activation pattern.
template <class L, class Prog>
std::vector<bool> activation_pattern(const Prog& prog) {
    std::vector<bool> s;
    [&]<class... N>(meta::list<N...>) {
        ([&] {
            if constexpr (kinked_operand<N>::value)
                for (double v : prog[typename kinked_operand<N>::type{}].storage()) s.push_back(v > 0.0);
        }(), ...);
    }(schedule_t<L>{});
    return s;
}

// ---------------------------------------------------------------- one case: a point and directions

inline constexpr double kink_margin = 1e-3;

// The blocks as one column, in wrt(...) order and each row-major: hessian()'s layout.
template <std::size_t N>
tensor concat_blocks(const std::array<tensor, N>& blocks) {
    std::size_t n = 0;
    for (const tensor& t : blocks) n += t.size();
    tensor f = tensor::from_shape({n, 1});
    std::size_t k = 0;
    for (const tensor& t : blocks)
        for (double v : t.storage()) f(k++, 0) = v;
    return f;
}

template <class Net, class W = decltype(Net::w())>
class network_case;

template <class Net, class... P>
class network_case<Net, params<P...>> {
public:
    static constexpr auto loss = Net::loss();
    static constexpr auto w = Net::w();
    static constexpr auto g = grad(loss, w);
    static constexpr auto hv = hvp(loss, w);
    static constexpr std::size_t count = sizeof...(P);
    using L = std::remove_const_t<decltype(loss)>;
    using program_t = decltype(compile(loss, g, hv));
    using blocks_t = std::array<tensor, count>;

    // A point away from kinks for this seed and batch size, and unit directions u, v.
    network_case(std::uint64_t seed, std::size_t batch) : batch_(batch) {
        rng gen(seed * 104729 + 17);
        u = unit_direction(gen);
        v = unit_direction(gen);
        bind_directions(v);
        for (attempts_ = 1;; ++attempts_) {
            rng point(seed * 7919 + attempts_);
            sample(point, seed);
            prog.run();
            if (kink_distance<L>(prog) > kink_margin) break;
            if (attempts_ == 10000) throw std::runtime_error("no point away from kinks in 10000 draws");
        }
    }
    network_case(const network_case&) = delete;
    network_case& operator=(const network_case&) = delete;

    void bind_directions(const blocks_t& d) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (prog.bind(direction_t<P>{}, d[I]), ...);
        }(std::index_sequence_for<P...>{});
    }
    void bind_params(const blocks_t& t) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (prog.bind(P{}, t[I]), ...); }(std::index_sequence_for<P...>{});
    }
    blocks_t gradient() const { return {tensor(prog[g.of(P{})])...}; }
    blocks_t hessian_times() const { return {tensor(prog[hv.of(P{})])...}; }

    // H·d from the R-operator (binds d as the direction and runs).
    blocks_t hvp_along(const blocks_t& d) {
        bind_directions(d);
        prog.run();
        return hessian_times();
    }

    // Whether the activation pattern is the same at θ + s·d for each s as at θ.
    bool same_pattern_along(const blocks_t& d, std::initializer_list<double> steps) {
        prog.run();
        const auto here = activation_pattern<L>(prog);
        bool same = true;
        for (double s : steps) {
            const blocks_t moved = laws::detail::axpy(theta, s, d);
            bind_params(moved);
            prog.run();
            same = same && activation_pattern<L>(prog) == here;
        }
        bind_params(theta);
        prog.run();
        return same;
    }

    std::string where(std::uint64_t seed) const {
        return "seed " + std::to_string(seed) + ", batch " + std::to_string(batch_) +
               (attempts_ > 1 ? " (" + std::to_string(attempts_) + " draws for kink margin)" : "");
    }

    program_t prog;
    std::deque<tensor> data;
    blocks_t theta, u, v;

private:
    void sample(rng& gen, std::uint64_t seed) {
        data.clear();
        std::normal_distribution<double> normal(0.0, 1.0);
        auto draw = [&](std::size_t r, std::size_t c, double sd) {
            tensor t = tensor::from_shape({r, c});
            for (double& e : t.storage()) e = sd * normal(gen);
            return t;
        };
        [&]<class... N>(meta::list<N...>) {
            ([&] {
                if constexpr (is_leaf<N>) {
                    using K = typename N::kind;
                    if constexpr (std::is_same_v<K, input_kind>)
                        data.push_back(draw(batch_, std::size_t(N::cols), 1.0));
                    else if constexpr (std::is_same_v<K, target_kind>)
                        data.push_back(Net::classification ? classes(std::size_t(N::cols), gen, seed % 2 == 1)
                                                           : draw(batch_, std::size_t(N::cols), 1.0));
                    if constexpr (std::is_same_v<K, input_kind> || std::is_same_v<K, target_kind>)
                        prog.bind(N{}, data.back());
                }
            }(), ...);
        }(schedule_t<L>{});
        // Weights N(0, 1/fan_in) keep pre-activations O(1); biases N(0, 0.5²).
        theta = {draw(std::size_t(P::rows), std::size_t(P::cols),
                      P::name.view()[0] == 'b' ? 0.5 : 1.0 / std::sqrt(double(P::rows)))...};
        bind_params(theta);
    }

    // One-hot rows (odd seeds) or soft class distributions (even seeds).
    tensor classes(std::size_t c, rng& gen, bool one_hot) const {
        tensor t = tensor::from_shape({batch_, c});
        if (one_hot) {
            std::uniform_int_distribution<std::size_t> k(0, c - 1);
            t.fill(0.0);
            for (std::size_t i = 0; i < batch_; ++i) t(i, k(gen)) = 1.0;
            return t;
        }
        std::uniform_real_distribution<double> d(0.05, 1.0);
        for (std::size_t i = 0; i < batch_; ++i) {
            double s = 0.0;
            for (std::size_t j = 0; j < c; ++j) s += (t(i, j) = d(gen));
            for (std::size_t j = 0; j < c; ++j) t(i, j) /= s;
        }
        return t;
    }

    blocks_t unit_direction(rng& gen) const {
        std::normal_distribution<double> normal(0.0, 1.0);
        blocks_t d{tensor::from_shape({std::size_t(P::rows), std::size_t(P::cols)})...};
        for (tensor& t : d)
            for (double& e : t.storage()) e = normal(gen);
        const double n = laws::norm(d);
        for (tensor& t : d) t /= n;
        return d;
    }

    std::size_t batch_;
    int attempts_ = 0;
};

// ---------------------------------------------------------------- the properties

struct settings {
    std::vector<std::uint64_t> seeds{1, 2};
    std::vector<std::size_t> batches{1, 4, 9};
    double grad_step = 1e-6;  // fd_grad's h
    double hvp_step = 1e-5;   // fd_hvp's h (directions have norm 1)
};

inline constexpr double grad_tolerance = 1e-7;      // ‖∇L − fd_grad‖ / ‖fd_grad‖
inline constexpr double hvp_tolerance = 1e-6;       // ‖H·v − fd_hvp‖ / ‖fd_hvp‖
inline constexpr double symmetry_tolerance = 1e-12; // |uᵀHv − vᵀHu| / (‖u‖ ‖H‖_max ‖v‖)
inline constexpr double explicit_tolerance = 1e-12; // ‖H·v − hessian()·v‖ / ‖hessian()·v‖

// max |H_ij|: the norm used for the symmetry bound (no larger than the spectral norm).
inline double max_abs(const tensor& H) {
    double m = 0.0;
    for (double e : H.storage()) m = std::max(m, std::fabs(e));
    return m;
}

inline tensor matvec(const tensor& H, const tensor& v) {
    const std::size_t n = H.shape(0);
    tensor out = tensor::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) {
        long double s = 0.0L;
        for (std::size_t j = 0; j < n; ++j) s += (long double)H(i, j) * v(j, 0);
        out(i, 0) = double(s);
    }
    return out;
}

template <class Net, class F>
laws::report over_cases(const settings& s, double tol, F f) {
    laws::report r(tol);
    for (std::uint64_t seed : s.seeds)
        for (std::size_t b : s.batches) {
            network_case<Net> c(seed, b);
            r.add(f(c), c.where(seed));
        }
    return r;
}

// The symbolic gradient against central differences of the loss, entry by entry.
template <class Net>
laws::report gradient_vs_fd(const settings& s = {}) {
    return over_cases<Net>(s, grad_tolerance, [&](network_case<Net>& c) {
        const auto exact = c.gradient();
        const auto fd = fd_grad(c.prog, c.loss, c.w, s.grad_step);
        return laws::rel_error(exact, fd);
    });
}

// H·v from the R-operator against central differences of the exact gradient along v.
template <class Net>
laws::report hvp_vs_fd(const settings& s = {}) {
    return over_cases<Net>(s, hvp_tolerance, [&](network_case<Net>& c) {
        if (!c.same_pattern_along(c.v, {s.hvp_step, -s.hvp_step}))
            return std::numeric_limits<double>::infinity();  // crossed a kink
        const auto exact = c.hvp_along(c.v);
        const auto fd = fd_hvp(c.prog, c.loss, c.w, c.v, s.hvp_step);
        return laws::rel_error(exact, fd);
    });
}

// |uᵀHv − vᵀHu| relative to ‖u‖ ‖H‖_max ‖v‖ (‖u‖ = ‖v‖ = 1), H from hessian().
template <class Net>
laws::report symmetry(const settings& s = {}) {
    return over_cases<Net>(s, symmetry_tolerance, [&](network_case<Net>& c) {
        const tensor H = hessian(c.prog, c.loss, c.w);
        const auto Hv = c.hvp_along(c.v);
        const auto Hu = c.hvp_along(c.u);
        const double scale = laws::norm(c.u) * max_abs(H) * laws::norm(c.v);
        return laws::scaled_difference(laws::dot(c.u, Hv), laws::dot(c.v, Hu), scale);
    });
}

// H·v from the R-operator against the explicit Hessian times v.
template <class Net>
laws::report hvp_vs_explicit(const settings& s = {}) {
    return over_cases<Net>(s, explicit_tolerance, [&](network_case<Net>& c) {
        const tensor H = hessian(c.prog, c.loss, c.w);
        const tensor Hv = concat_blocks(c.hvp_along(c.v));
        return laws::rel_error(Hv, matvec(H, concat_blocks(c.v)));
    });
}

template <class... Net, class F>
void for_each_net(std::tuple<Net...>*, F f) {
    (f(static_cast<Net*>(nullptr)), ...);
}

}  // namespace networks
