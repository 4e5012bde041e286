#pragma once
// Test problems shared by the optimizer tests (tests/optim/): a convex quadratic with condition
// number 1e4, the Rosenbrock function, and a small leaky-ReLU network on which the per-layer
// inverse is exact. Each is an expression plus the data that makes it one fixed problem. And
// function_objective, an objective written by hand from a value-and-gradient callable.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

namespace gateaux::testing {

using rng = std::mt19937_64;

inline tensor gaussian(std::size_t rows, std::size_t cols, rng& gen, double sd = 1.0) {
    std::normal_distribution<double> d(0.0, sd);
    tensor t = tensor::from_shape({rows, cols});
    for (double& v : t) v = d(gen);
    return t;
}

// ---------------------------------------------------------------- f(x) = ½xAxᵀ − b·x, n = 50
// A = Q·diag(λ)·Qᵀ, λ log-spaced in [1, κ], Q the orthogonal factor of a Gaussian matrix.
namespace quad {
constexpr dim n = 50;
constexpr auto x = param<"x", 1, n>;
constexpr auto A = input<"A", n, n>;
constexpr auto b = input<"b", n, 1>;  // input<name, cols, rows>: 1×50, like x
constexpr auto loss = scale<0.5>(sum(hadamard(x * A, x))) - sum(hadamard(b, x));
}  // namespace quad

struct quadratic_problem {
    tensor A, b;
    explicit quadratic_problem(std::uint64_t seed, double kappa = 1e4) {
        rng gen(seed);
        auto [q, r] = xt::linalg::qr(gaussian(quad::n, quad::n, gen));
        tensor ql = q;
        for (std::size_t j = 0; j < std::size_t(quad::n); ++j)
            for (std::size_t i = 0; i < std::size_t(quad::n); ++i)
                ql(i, j) *= std::pow(kappa, double(j) / double(quad::n - 1));
        const tensor a = xt::linalg::dot(ql, xt::transpose(q));
        A = 0.5 * (a + xt::transpose(a));
        b = gaussian(1, quad::n, gen);
    }
    auto objective() const {
        auto f = make_objective(quad::loss, wrt(quad::x));
        f.set_data(quad::A, A).set_data(quad::b, b);
        return f;
    }
    // The minimiser x* = b·A⁻¹ (A symmetric).
    tensor solution() const { return xt::transpose(xt::linalg::solve(A, xt::transpose(b))); }
};

// ---------------------------------------------------------------- Rosenbrock
// (1 − a)² + 100·(b − a²)², minimum 0 at (1, 1); sq_norm is ½‖·‖².
namespace rosen {
constexpr auto a = param<"a", 1, 1>;
constexpr auto b = param<"b", 1, 1>;
constexpr auto loss = scale<2.0>(sq_norm(ones<1, 1>{} - a)) + scale<200.0>(sq_norm(b - hadamard(a, a)));
}  // namespace rosen

inline auto rosenbrock_objective() { return make_objective(rosen::loss, wrt(rosen::a, rosen::b)); }
inline param_set rosenbrock_start(double a = -1.2, double b = 1.0) { return param_set({tensor{{a}}, tensor{{b}}}); }
inline double distance_to_minimum(const param_set& p) { return std::hypot(p[0](0, 0) - 1.0, p[1](0, 0) - 1.0); }

// ---------------------------------------------------------------- a leaky-ReLU network
// Widths 6 → 8 → 8 (equal above the first layer): the chain is exact for both layers at B ≤ 6.
namespace net {
constexpr auto x = input<"x", 6>;
constexpr auto y = target<"y", 8>;
constexpr auto W1 = param<"W1", 6, 8>;
constexpr auto W2 = param<"W2", 8, 8>;
constexpr auto loss = sum(squared_error(act::leaky_relu<0.2>(x * W1) * W2, y));
constexpr auto w = wrt(W1, W2);
}  // namespace net

struct network_data {
    tensor x, y, w1, w2;
    network_data(std::size_t batch, std::uint64_t seed) {
        rng gen(seed);
        x = gaussian(batch, 6, gen);
        y = gaussian(batch, 8, gen);
        w1 = gaussian(6, 8, gen, 1.0 / std::sqrt(6.0));
        w2 = gaussian(8, 8, gen, 1.0 / std::sqrt(8.0));
    }
    param_set start() const { return param_set({w1, w2}); }
    auto objective() const {
        auto f = make_objective(net::loss, net::w);
        f.set_data(net::x, x).set_data(net::y, y);
        return f;
    }
};

// Short names used throughout the optimizer tests.
constexpr auto qx = quad::x;
constexpr auto qA = quad::A;
constexpr auto qb = quad::b;
constexpr auto quadratic = quad::loss;
constexpr auto ra = rosen::a;
constexpr auto rb = rosen::b;
constexpr auto rosenbrock = rosen::loss;
constexpr auto nx = net::x;
constexpr auto ny = net::y;
constexpr auto nW1 = net::W1;
constexpr auto nW2 = net::W2;
constexpr auto net_loss = net::loss;
constexpr auto net_w = net::w;

// ---------------------------------------------------------------- a hand-written objective
// f(x) for one 1×n block x, from a callable `double(const tensor& x, tensor& g)` that returns the
// value and writes the gradient: for line searches on 1-D functions, and for objectives that go
// non-finite. Only value and gradient exist: it has no other capability (optim/capabilities.hpp).
template <class F>
class function_objective final : public objective {
public:
    function_objective(std::size_t n, F fn) : n_(n), fn_(std::move(fn)) {}
    std::vector<std::string> names() const override { return {"x"}; }
    param_set parameters_like() const override { return param_set({tensor(xt::zeros<double>({std::size_t(1), n_}))}); }
    double value(const param_set& x) override {
        param_set g = x.zeros_like();
        ++counts.values;
        return fn_(x[0], g[0]);
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        if (!g.same_shape(x)) g = x.zeros_like();
        ++counts.gradients;
        return fn_(x[0], g[0]);
    }

private:
    std::size_t n_;
    F fn_;
};

template <class F>
function_objective<F> make_function_objective(std::size_t n, F fn) {
    return function_objective<F>(n, std::move(fn));
}

// All numbers of a parameter set in one vector, blocks in order, each row-major.
inline std::vector<double> flat(const param_set& p) {
    std::vector<double> v;
    v.reserve(p.count());
    for (const tensor& t : p) v.insert(v.end(), t.begin(), t.end());
    return v;
}

inline stopping quiet(std::size_t iterations, double gradient_tolerance) {
    stopping s;
    s.max_iterations = iterations;
    s.gradient_tolerance = gradient_tolerance;
    return s;
}

}  // namespace gateaux::testing
