// Tests for optim/gradient_descent.hpp and optim/first_order.hpp: the first steps of gradient
// descent, heavy-ball and Nesterov momentum and Adam against the update formulas written out here
// (with gradients from hand-written formulas, and Nesterov in its classic form x, v rather than
// the library's look-ahead form); convergence on the shared quadratic at the rates theory gives
// for tuned steps; runs on Rosenbrock reported; bad options rejected.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"
#include <gateaux/optim/first_order.hpp>
#include <gateaux/optim/gradient_descent.hpp>

namespace {

using namespace gateaux;
using namespace gateaux::testing;

using vec = std::vector<double>;
using gradient_fn = std::function<vec(const vec&)>;

double distance(const vec& a, const vec& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return std::sqrt(s);
}

// ∇f by hand: Rosenbrock (1 − a)² + 100(b − a²)², and ½xAxᵀ − b·x (A symmetric).
vec rosenbrock_gradient(const vec& x) {
    const double a = x[0], b = x[1];
    return {-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)};
}
gradient_fn quadratic_gradient(const quadratic_problem& qp) {
    return [&qp](const vec& x) {
        vec g(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            double s = -qp.b(0, i);
            for (std::size_t j = 0; j < x.size(); ++j) s += qp.A(i, j) * x[j];
            g[i] = s;
        }
        return g;
    };
}

// The points x₀ … x_N at which the optimizer evaluates f, recorded through minimize's callback.
std::vector<vec> iterates(optimizer& opt, objective& f, param_set x, std::size_t steps) {
    std::vector<vec> xs{flat(x)};
    minimize(f, x, opt, quiet(steps, 0.0), [&](const iteration_record&, const param_set& p) {
        xs.push_back(flat(p));
        return true;
    });
    return xs;
}

// Reference sequences, from the textbook formulas.
std::vector<vec> reference_gradient_descent(vec x, const gradient_fn& grad, double eta, std::size_t steps) {
    std::vector<vec> xs{x};
    for (std::size_t k = 0; k < steps; ++k) {
        const vec g = grad(x);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] -= eta * g[i];
        xs.push_back(x);
    }
    return xs;
}
// Heavy ball: v ← β·v − η·∇f(x), x ← x + v.
std::vector<vec> reference_heavy_ball(vec x, const gradient_fn& grad, double eta, double beta, std::size_t steps) {
    std::vector<vec> xs{x};
    vec v(x.size(), 0.0);
    for (std::size_t k = 0; k < steps; ++k) {
        const vec g = grad(x);
        for (std::size_t i = 0; i < x.size(); ++i) v[i] = beta * v[i] - eta * g[i], x[i] += v[i];
        xs.push_back(x);
    }
    return xs;
}
// Nesterov, classic form: v ← β·v − η·∇f(x + β·v), x ← x + v. The gradient is taken at the
// look-ahead y = x + β·v, which is the point the library keeps and reports: the sequence is y.
std::vector<vec> reference_nesterov(vec x, const gradient_fn& grad, double eta, double beta, std::size_t steps) {
    std::vector<vec> ys{x};
    vec v(x.size(), 0.0), y = x;
    for (std::size_t k = 0; k < steps; ++k) {
        const vec g = grad(y);
        for (std::size_t i = 0; i < x.size(); ++i) v[i] = beta * v[i] - eta * g[i], x[i] += v[i], y[i] = x[i] + beta * v[i];
        ys.push_back(y);
    }
    return ys;
}
// Adam (Kingma & Ba, Algorithm 1), with or without the bias corrections m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ).
std::vector<vec> reference_adam(vec x, const gradient_fn& grad, const adam_options& o, std::size_t steps) {
    std::vector<vec> xs{x};
    vec m(x.size(), 0.0), v(x.size(), 0.0);
    for (std::size_t t = 1; t <= steps; ++t) {
        const vec g = grad(x);
        for (std::size_t i = 0; i < x.size(); ++i) {
            m[i] = o.beta1 * m[i] + (1.0 - o.beta1) * g[i];
            v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * g[i] * g[i];
            const double mhat = o.bias_correction ? m[i] / (1.0 - std::pow(o.beta1, double(t))) : m[i];
            const double vhat = o.bias_correction ? v[i] / (1.0 - std::pow(o.beta2, double(t))) : v[i];
            x[i] -= o.learning_rate * mhat / (std::sqrt(vhat) + o.epsilon);
        }
        xs.push_back(x);
    }
    return xs;
}

// Every point of `got` equals the reference, relative to max(1, ‖reference‖).
void check_same_path(const std::vector<vec>& got, const std::vector<vec>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        double scale = 1.0;
        for (double w : want[k]) scale = std::max(scale, std::abs(w));
        INFO("step " << k);
        CHECK(distance(got[k], want[k]) <= 1e-12 * scale);
    }
}

constexpr std::size_t steps = 12;

// One problem for the path tests: an objective, its hand-written gradient, a start, and steps
// that suit it (about 1/L for gradient descent).
struct path_problem {
    std::string name;
    std::function<param_set()> start;
    gradient_fn gradient;
    double eta;
};

template <class Check>
void for_each_problem(Check check) {
    {
        auto f = rosenbrock_objective();
        check(path_problem{"Rosenbrock from (−1.2, 1)", [] { return rosenbrock_start(); }, rosenbrock_gradient, 1e-3}, f);
    }
    for (std::uint64_t seed : {1, 2, 3}) {
        const quadratic_problem qp(seed);
        auto f = qp.objective();
        rng gen(seed + 50);
        const param_set x0({gaussian(1, quad::n, gen)});
        check(path_problem{"quadratic, seed " + std::to_string(seed), [x0] { return x0; }, quadratic_gradient(qp), 1e-4}, f);
    }
}

// The four methods with steps that suit Rosenbrock from (−1.2, 1).
struct rosenbrock_optimizers {
    gradient_descent gd{1e-3};
    momentum heavy_ball{momentum_options{.learning_rate = 1e-4, .beta = 0.9}};
    momentum nesterov{momentum_options{.learning_rate = 1e-4, .beta = 0.9, .kind = momentum_kind::nesterov}};
    adam ad{adam_options{.learning_rate = 1e-2}};
    std::vector<optimizer*> list() { return {&gd, &heavy_ball, &nesterov, &ad}; }
};

}  // namespace

// ================================================================ the first steps, against the formulas

TEST_CASE("gradient_descent follows x ← x − η·∇f(x)", "[optim][first_order][gd]") {
    for_each_problem([](const path_problem& p, objective& f) {
        INFO(p.name);
        gradient_descent opt(p.eta);
        check_same_path(iterates(opt, f, p.start(), steps),
                        reference_gradient_descent(flat(p.start()), p.gradient, p.eta, steps));
    });
}

TEST_CASE("momentum (heavy ball) follows v ← β·v − η·∇f(x), x ← x + v", "[optim][first_order][momentum]") {
    for_each_problem([](const path_problem& p, objective& f) {
        for (double beta : {0.0, 0.5, 0.9}) {
            INFO(p.name << ", β = " << beta);
            momentum opt(momentum_options{.learning_rate = p.eta, .beta = beta});
            check_same_path(iterates(opt, f, p.start(), steps),
                            reference_heavy_ball(flat(p.start()), p.gradient, p.eta, beta, steps));
        }
    });
}

TEST_CASE("momentum (Nesterov) evaluates at the look-ahead points x + β·v of the classic form",
          "[optim][first_order][momentum]") {
    for_each_problem([](const path_problem& p, objective& f) {
        for (double beta : {0.0, 0.5, 0.9}) {
            INFO(p.name << ", β = " << beta);
            momentum opt(momentum_options{.learning_rate = p.eta, .beta = beta, .kind = momentum_kind::nesterov});
            CHECK(opt.name() == "nesterov");
            check_same_path(iterates(opt, f, p.start(), steps),
                            reference_nesterov(flat(p.start()), p.gradient, p.eta, beta, steps));
        }
    });
}

TEST_CASE("adam follows Kingma & Ba's Algorithm 1, with and without bias correction", "[optim][first_order][adam]") {
    for_each_problem([](const path_problem& p, objective& f) {
        for (const adam_options o :
             {adam_options{.learning_rate = 1e-2}, adam_options{.learning_rate = 1e-2, .bias_correction = false},
              adam_options{.learning_rate = 3e-2, .beta1 = 0.5, .beta2 = 0.9, .epsilon = 1e-3}}) {
            INFO(p.name << ", η = " << o.learning_rate << ", β1 = " << o.beta1 << ", β2 = " << o.beta2 << ", ε = " << o.epsilon
                        << (o.bias_correction ? "" : ", no bias correction"));
            adam opt(o);
            check_same_path(iterates(opt, f, p.start(), steps), reference_adam(flat(p.start()), p.gradient, o, steps));
        }
    });
}

TEST_CASE("each step reports the loss and ‖g‖ at the new point and ‖Δx‖", "[optim][first_order]") {
    auto f = rosenbrock_objective();
    rosenbrock_optimizers all;
    for (optimizer* opt : all.list()) {
        INFO(opt->name());
        param_set x = rosenbrock_start();
        vec previous = flat(x);
        const step_outcome o0 = opt->start(f, x);
        CHECK(o0.loss == Approx(24.2));  // (1 + 1.2)² + 100(1 − 1.44)²
        for (int k = 0; k < 5; ++k) {
            const step_outcome o = opt->step(f, x);
            const vec now = flat(x), g = rosenbrock_gradient(now);
            const double a = now[0], b = now[1];
            CHECK(o.state == step_outcome::status::ok);
            CHECK(o.loss == Approx((1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)).epsilon(1e-12));
            CHECK(o.gradient_norm == Approx(std::hypot(g[0], g[1])).epsilon(1e-12));
            CHECK(o.step_norm == Approx(distance(now, previous)).epsilon(1e-12));
            previous = now;
        }
    }
}

// ================================================================ convergence

TEST_CASE("tuned heavy ball and Nesterov converge on the quadratic at their theoretical rates",
          "[optim][first_order][momentum]") {
    // Eigenvalues in [μ, L] = [1, 1e4], κ = 1e4. Heavy ball with η = 4/(√L + √μ)², β = ((√κ − 1)/(√κ + 1))²
    // contracts like ((√κ − 1)/(√κ + 1))ᵏ ≈ 0.980ᵏ; Nesterov with η = 1/L, β = (√κ − 1)/(√κ + 1)
    // like (1 − 1/√κ)ᵏ = 0.99ᵏ; gradient descent with η = 1/L only like (1 − 1/κ)ᵏ.
    const double mu = 1.0, L = 1e4, root_kappa = std::sqrt(L / mu), q = (root_kappa - 1) / (root_kappa + 1);
    for (std::uint64_t seed : {1, 2, 3}) {
        const quadratic_problem qp(seed);
        auto f = qp.objective();
        const double g0 = std::sqrt(xt::sum(qp.b * qp.b)());  // at x = 0, g = −b
        momentum hb(momentum_options{.learning_rate = 4.0 / ((std::sqrt(L) + std::sqrt(mu)) * (std::sqrt(L) + std::sqrt(mu))),
                                     .beta = q * q});
        momentum nag(momentum_options{.learning_rate = 1.0 / L, .beta = q, .kind = momentum_kind::nesterov});
        gradient_descent gd(1.0 / L);
        struct row {
            optimizer* opt;
            double rate;
        };
        for (const row& c : {row{&hb, q}, row{&nag, 1.0 - 1.0 / root_kappa}}) {
            param_set x = f.parameters_like();
            const result r = minimize(f, x, *c.opt, quiet(10000, 1e-8 * g0));
            // The rates bound the error up to a constant factor: allow a factor 1e4 on ‖g‖.
            const double predicted = std::log(1e-8 / 1e4) / std::log(c.rate);
            std::printf("%-9s quadratic seed %llu: ‖g‖ ≤ 1e-8‖g₀‖ in %5zu iterations (rate bound: %.0f)\n",
                        c.opt->name().c_str(), (unsigned long long)seed, r.iterations, predicted);
            INFO(c.opt->name());
            CHECK(r.reason == stop_reason::gradient_tolerance);
            CHECK(double(r.iterations) <= predicted);
        }
        // Gradient descent with η = 1/L decreases f at every step (descent lemma) but slowly.
        param_set x = f.parameters_like();
        const result r = minimize(f, x, gd, quiet(2000, 1e-8 * g0));
        std::printf("gd        quadratic seed %llu: ‖g‖/‖g₀‖ = %.2e after %zu iterations\n", (unsigned long long)seed,
                    r.gradient_norm / g0, r.iterations);
        for (std::size_t k = 1; k < r.history.size(); ++k) CHECK(r.history[k].loss <= r.history[k - 1].loss);
        CHECK(r.reason == stop_reason::max_iterations);
    }
}

TEST_CASE("first-order methods on Rosenbrock from (−1.2, 1): reported, not bounded", "[optim][first_order]") {
    // Gradient descent's iterations and distance to (1, 1) are shown; no bound.
    auto f = rosenbrock_objective();
    rosenbrock_optimizers all;
    for (optimizer* opt : all.list()) {
        param_set x = rosenbrock_start();
        const std::size_t budget = 20000;
        std::size_t reached = 0;  // first iteration with ‖x − (1, 1)‖ ≤ 1e-4, 0 if none
        const result r = minimize(f, x, *opt, quiet(budget, 1e-10), [&](const iteration_record& rec, const param_set& p) {
            if (reached == 0 && distance_to_minimum(p) <= 1e-4) reached = rec.iteration;
            return true;
        });
        const std::string when = reached ? "from iteration " + std::to_string(reached) : "never";
        std::printf("%-9s Rosenbrock: %-26s after %5zu iterations, ‖x − (1, 1)‖ = %.3e, loss %.3e; ‖x − (1, 1)‖ ≤ 1e-4 %s\n",
                    opt->name().c_str(), to_string(r.reason), r.iterations, distance_to_minimum(x), r.final_loss, when.c_str());
        INFO(opt->name());
        CHECK(std::isfinite(r.final_loss));
        CHECK(r.final_loss < r.initial_loss);
    }
}

// ================================================================ bad options

TEST_CASE("bad options are rejected with gateaux::error naming the option", "[optim][first_order]") {
    const double nan_v = std::numeric_limits<double>::quiet_NaN();
    for (double eta : {0.0, -1e-3, nan_v}) {
        CHECK_THROWS_WITH(gradient_descent(eta), Catch::Contains("learning rate must be > 0"));
        CHECK_THROWS_WITH(momentum(momentum_options{.learning_rate = eta}), Catch::Contains("learning rate must be > 0"));
        CHECK_THROWS_WITH(adam(adam_options{.learning_rate = eta}), Catch::Contains("learning rate must be > 0"));
    }
    for (double beta : {-0.1, 1.0, nan_v}) {
        CHECK_THROWS_AS(momentum(momentum_options{.beta = beta}), gateaux::error);
        CHECK_THROWS_WITH(momentum(momentum_options{.beta = beta}), Catch::Contains("beta must be in [0, 1)"));
        CHECK_THROWS_WITH(adam(adam_options{.beta1 = beta}), Catch::Contains("beta1 and beta2 must be in [0, 1)"));
        CHECK_THROWS_WITH(adam(adam_options{.beta2 = beta}), Catch::Contains("beta1 and beta2 must be in [0, 1)"));
    }
    for (double eps : {0.0, -1e-8, nan_v})
        CHECK_THROWS_WITH(adam(adam_options{.epsilon = eps}), Catch::Contains("epsilon must be > 0"));
    CHECK_NOTHROW(momentum(momentum_options{.beta = 0.0}));
    CHECK_NOTHROW(adam(adam_options{.beta1 = 0.0, .beta2 = 0.0}));
}
