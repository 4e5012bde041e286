#pragma once
// Networks and an independent reference for the tests of the objective's Fisher products, sampled
// targets and layer statistics (tests/optim/objective_fisher.cpp, sampled_targets.cpp,
// layer_statistics_program.cpp).
//
// The reference builds per-sample gradients ∇θℓ_b with nothing but the library's grad, run on a
// one-row batch (row b of the data, or of targets chosen by the test), and assembles from them
//   F·v = c·Σ_b g·∇ℓ_b·(∇ℓ_bᵀ·v),   g = 1 under a sum, 1/k under a mean over k rows,
// so it shares no code with fvp, layer_deltas or the objective's row handling.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gateaux/gateaux.hpp>

namespace fisher_networks {

using namespace gateaux;
using rng = std::mt19937_64;

// Regression: tanh hidden layer with biases, squared error summed over rows.
namespace reg {
constexpr auto x = input<"x", 3>;
constexpr auto y = target<"y", 2>;
constexpr auto W1 = param<"W1", 3, 5>;
constexpr auto b1 = bias<"b1", 5>;
constexpr auto W2 = param<"W2", 5, 2>;
constexpr auto b2 = bias<"b2", 2>;
constexpr auto loss = sum(squared_error(act::tanh(x * W1 + b1) * W2 + b2, y));
constexpr auto w = wrt(W1, b1, W2, b2);
constexpr bool classes = false;
}  // namespace reg

// Classification: 3 classes, softmax cross-entropy averaged over rows.
namespace cls {
constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 4, 6>;
constexpr auto b1 = bias<"b1", 6>;
constexpr auto W2 = param<"W2", 6, 3>;
constexpr auto b2 = bias<"b2", 3>;
constexpr auto loss = mean(cross_entropy(act::tanh(x * W1 + b1) * W2 + b2, y));
constexpr auto w = wrt(W1, b1, W2, b2);
constexpr bool classes = true;
}  // namespace cls

// A first layer without a bias, and the parameters in another order: W1 has no partner.
namespace part {
constexpr auto x = input<"x", 3>;
constexpr auto y = target<"y", 2>;
constexpr auto W1 = param<"W1", 3, 4>;
constexpr auto W2 = param<"W2", 4, 2>;
constexpr auto b2 = bias<"b2", 2>;
constexpr auto loss = mean(squared_error(act::softplus(x * W1) * W2 + b2, y));
constexpr auto w = wrt(b2, W1, W2);
constexpr bool classes = false;
}  // namespace part

inline tensor gaussian(std::size_t r, std::size_t c, rng& g, double sd = 1.0) {
    std::normal_distribution<double> N(0.0, sd);
    tensor t = tensor::from_shape({r, c});
    for (double& v : t) v = N(g);
    return t;
}
inline tensor one_hot(std::size_t r, std::size_t c, rng& g) {
    tensor t = xt::zeros<double>({r, c});
    std::uniform_int_distribution<std::size_t> pick(0, c - 1);
    for (std::size_t b = 0; b < r; ++b) t(b, pick(g)) = 1.0;
    return t;
}

// Data, parameters and a direction for one of the networks above.
template <class Loss, class... P>
struct problem {
    tensor X, Y;
    param_set theta, v;
    problem(Loss, params<P...>, std::size_t rows, std::size_t in, std::size_t out, bool classes, std::uint64_t seed) {
        rng g(seed);
        X = gaussian(rows, in, g);
        Y = classes ? one_hot(rows, out, g) : gaussian(rows, out, g);
        theta = param_set(std::vector<tensor>{gaussian(std::size_t(P::rows), std::size_t(P::cols), g, 0.7)...});
        v = param_set(std::vector<tensor>{gaussian(std::size_t(P::rows), std::size_t(P::cols), g)...});
    }
};

inline std::vector<double> flatten(const param_set& p) {
    std::vector<double> out;
    for (const tensor& t : p) out.insert(out.end(), t.begin(), t.end());
    return out;
}
inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}
// ‖a − b‖ / ‖b‖
inline double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
    double e = 0.0, n = 0.0;
    for (std::size_t i = 0; i < b.size(); ++i) e += (a[i] - b[i]) * (a[i] - b[i]), n += b[i] * b[i];
    return std::sqrt(e / std::max(n, 1e-300));
}
inline double rel_error(const tensor& a, const tensor& b) {
    return rel_error(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
}

template <class Prog, class... P>
void bind_all(Prog& prog, params<P...>, const param_set& theta) {
    std::size_t i = 0;
    (prog.bind(P{}, theta[i++]), ...);
}

// ∇θℓ_b for each row b of (X, T), from grad(loss) on that row alone (g = 1 for one row, sum or mean).
template <class Loss, class... P, class XL, class YL>
std::vector<std::vector<double>> per_sample_gradients(Loss loss, params<P...> w, XL xl, YL yl, const tensor& X, const tensor& T,
                                                      const param_set& theta) {
    auto prog = compile(loss, grad(loss, w));
    tensor xr = tensor::from_shape({std::size_t(1), X.shape(1)}), tr = tensor::from_shape({std::size_t(1), T.shape(1)});
    prog.bind(xl, xr).bind(yl, tr);
    bind_all(prog, w, theta);
    std::vector<std::vector<double>> out;
    for (std::size_t b = 0; b < X.shape(0); ++b) {
        std::copy_n(X.data() + b * X.shape(1), X.shape(1), xr.data());
        std::copy_n(T.data() + b * T.shape(1), T.shape(1), tr.data());
        prog.bind(xl, xr).bind(yl, tr);  // re-checked for finiteness, as a bound tensor changed
        prog.run();
        std::vector<double> gb;
        ((gb.insert(gb.end(), prog[grad(loss, w).of(P{})].begin(), prog[grad(loss, w).of(P{})].end())), ...);
        out.push_back(std::move(gb));
    }
    return out;
}

// c·Σ_b g·∇ℓ_b·(∇ℓ_bᵀ·v)
inline std::vector<double> fisher_reference(const std::vector<std::vector<double>>& grads, const std::vector<double>& v, double g,
                                            double c) {
    std::vector<double> out(v.size(), 0.0);
    for (const auto& gb : grads) {
        const double a = c * g * dot(gb, v);
        for (std::size_t i = 0; i < v.size(); ++i) out[i] += a * gb[i];
    }
    return out;
}

}  // namespace fisher_networks
