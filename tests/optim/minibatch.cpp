// Optimizers on minibatches: minimize() draws a new batch before each step and tells the
// optimizer (optimizer::batch_changed). A method that compares losses or pairs gradients inside a
// step (line search, reduction ratio, quasi-Newton pair, CG model) must do so on one batch.
//
// The oracle is a consistent linear least-squares problem: y = x·W* exactly, x with rows of very
// different scales (10^u, u uniform in [−1.5, 1.5]), minibatches of n rows that are each of full
// rank. Every batch's loss is then a strictly convex quadratic minimised at W*, with loss 0, so
//   - one Newton step on a batch lands on W* (to rounding),
//   - every method that is consistent within a step converges to W*, whatever the batch order.
// Mixing batches inside a step breaks both: the losses of two batches at one point differ by
// orders of magnitude, so an Armijo test or a ratio across them is meaningless, and the Newton step
// −H_k⁻¹·g_{k−1} is not the Newton step of either batch. Two properties hold on any data and are
// checked after every step: the step decreased the loss of the batch it saw (all these methods
// accept only decreases), and a Newton step lands on that batch's minimiser (checked on noisy
// rows, where the batches' minimisers differ).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;

constexpr std::size_t n = 6, m = 2, rows = 48;
constexpr auto mx = input<"x", dim(n)>;
constexpr auto my = target<"y", dim(m)>;
constexpr auto mW = param<"W", dim(n), dim(m)>;
constexpr auto mloss = mse(mx * mW, my);

struct consistent_rows {
    tensor x = tensor::from_shape({rows, n}), y, W = tensor::from_shape({n, m});
    explicit consistent_rows(std::uint64_t seed, double noise = 0.0) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        std::uniform_real_distribution<double> U(-1.5, 1.5);
        for (std::size_t b = 0; b < rows; ++b) {
            const double s = std::pow(10.0, U(g));
            for (std::size_t j = 0; j < n; ++j) x(b, j) = s * N(g);
        }
        for (double& v : W) v = N(g);
        y = xt::linalg::dot(x, W);
        for (double& v : y) v += noise * N(g);
    }
};

double distance(const param_set& p, const tensor& W) {
    double s = 0.0, w = 0.0;
    for (std::size_t k = 0; k < W.size(); ++k) {
        s += (p[0].data()[k] - W.data()[k]) * (p[0].data()[k] - W.data()[k]);
        w += W.data()[k] * W.data()[k];
    }
    return std::sqrt(s / w);
}

struct contender {
    std::string name;
    std::function<std::unique_ptr<optimizer>()> make;
    std::size_t max_iterations;
    bool converges = true;  // false: only the consistency of each step is checked
};

}  // namespace

TEST_CASE("minibatches: naive Newton lands on W* in one step of the batch it sees", "[optim][minibatch]") {
    for (const std::uint64_t seed : {1, 2, 3, 4}) {
        const consistent_rows d(seed);
        auto f = make_objective(mloss, wrt(mW));
        f.set_data(mx, d.x).set_data(my, d.y).use_minibatches(n, seed + 10);
        param_set p = f.parameters_like();
        naive_newton opt;
        const stopping stop = quiet(1, 0.0);
        const result r = minimize(f, p, opt, stop);
        INFO("seed " << seed << ": " << r.message);
        CHECK(r.reason == stop_reason::max_iterations);
        CHECK(distance(p, d.W) <= 1e-8);  // rounding: a batch's cond(xᵀx) reaches 1e6 here
        CHECK(r.history.back().step_size == 1.0);
    }
}

TEST_CASE("minibatches: every line-search and model-based optimizer converges to W*", "[optim][minibatch]") {
    hessian_free::options gn;
    gn.curvature = curvature_matrix::gauss_newton;
    const std::vector<contender> all{
        {"naive_newton", [] { return std::make_unique<naive_newton>(); }, 5},
        {"damped_newton", [] { return std::make_unique<damped_newton>(); }, 60},
        {"trust_region", [] { return std::make_unique<trust_region>(); }, 60},
        // Diagonal Newton decreases the batch it sees, but its step contracts the error only in
        // that batch's metric, and across batches of such different scales the error grows: on
        // these rows it diverges (stochastic Jacobi steps do; the full-batch method converges), so
        // for it only the decrease within each step is checked.
        {"diagonal_newton", [] { return std::make_unique<diagonal_newton>(); }, 20, false},
        {"bfgs", [] { return std::make_unique<bfgs>(); }, 1000},  // seeds 1–16 need ≤ 558
        {"lbfgs", [] { return std::make_unique<lbfgs>(); }, 400},
        {"hessian_free", [] { return std::make_unique<hessian_free>(); }, 100},
        {"hessian_free (Gauss–Newton)", [gn] { return std::make_unique<hessian_free>(gn); }, 100},
        {"preconditioned_hessian_free", [] { return std::make_unique<preconditioned_hessian_free>(); }, 100},
        {"block_newton", [] { return std::make_unique<block_newton>(); }, 5},
        {"damped_block_newton", [] { return std::make_unique<damped_block_newton>(); }, 30},
        {"damped_block_newton (rescaled)",
         [] { return std::make_unique<damped_block_newton>(damped_block_newton::options{.rescale = true}); }, 30},
    };
    for (const contender& c : all)
        for (const std::uint64_t seed : {1, 2, 3}) {
            const consistent_rows d(seed);
            auto f = make_objective(mloss, wrt(mW));
            f.set_data(mx, d.x).set_data(my, d.y).use_minibatches(n, seed + 20);
            param_set p = f.parameters_like();
            const std::unique_ptr<optimizer> opt = c.make();
            const stopping stop = quiet(c.max_iterations, 0.0);
            // Each iteration reports the loss of the batch it used at the point reached, and that
            // loss is below the same batch's loss at the point the step started from.
            param_set before = p;
            std::size_t increases = 0, misreported = 0;
            const result r = minimize(f, p, *opt, stop, [&](const iteration_record& rec, const param_set& q) {
                const double here = f.value(q), there = f.value(before);
                misreported += std::abs(here - rec.loss) > 1e-12 * std::max(1.0, here);
                increases += here > there * (1.0 + 1e-12);
                before.assign(q);
                return !c.converges || distance(q, d.W) > 1e-9;
            });
            INFO(c.name << ", seed " << seed << ": " << to_string(r.reason) << " after " << r.iterations
                        << " iterations, " << r.message);
            CHECK(increases == 0);
            CHECK(misreported == 0);
            if (!c.converges) continue;
            CHECK(r.reason == stop_reason::callback);
            CHECK(distance(p, d.W) <= 1e-9);
        }
}

TEST_CASE("minibatches: a Newton step lands on the minimiser of the batch it saw (noisy rows)", "[optim][minibatch]") {
    const std::vector<contender> newtons{
        {"naive_newton", [] { return std::make_unique<naive_newton>(); }, 12},
        {"block_newton", [] { return std::make_unique<block_newton>(); }, 12},
        // Undamped in effect (λ held at 1e-14): its step must be this batch's Newton step too.
        {"damped_block_newton (λ = 1e-14)",
         [] {
             return std::make_unique<damped_block_newton>(
                 damped_block_newton::options{.initial_damping = 1e-14, .min_damping = 1e-14});
         },
         12},
    };
    for (const contender& c : newtons)
        for (const std::uint64_t seed : {1, 2, 3}) {
            const consistent_rows d(seed, 0.3);  // no common minimiser: each batch has its own
            auto f = make_objective(mloss, wrt(mW));
            f.set_data(mx, d.x).set_data(my, d.y).use_minibatches(n, seed + 40);
            param_set p = f.parameters_like(), g = f.parameters_like();
            const stopping stop = quiet(c.max_iterations, 0.0);
            double worst = 0.0;
            const result r = minimize(f, p, *c.make(), stop, [&](const iteration_record&, const param_set& q) {
                f.value_and_gradient(q, g);  // on the batch the step used
                worst = std::max(worst, g.norm());
                return true;
            });
            INFO(c.name << ", seed " << seed << ": " << to_string(r.reason) << ", " << r.message);
            CHECK(r.reason == stop_reason::max_iterations);
            CHECK(worst <= 1e-8);  // a step from another batch's gradient leaves ‖g‖ ≈ 1 here
        }
}

TEST_CASE("minibatches: Hessian-free draws one curvature sample per step", "[optim][minibatch]") {
    // With minibatches, next_batch() draws the sample from the new batch; the step must not draw
    // a second one. Two objectives with the same seeds make the same draws from the same
    // generator states, so after HF's 3 steps on one and 3 next_batch() calls on the other their
    // samples agree only if HF drew nothing more.
    const consistent_rows d(5);
    auto f = make_objective(mloss, wrt(mW));
    f.set_data(mx, d.x).set_data(my, d.y).use_minibatches(12, 31).use_curvature_sample(4, 32);
    auto g = make_objective(mloss, wrt(mW));
    g.set_data(mx, d.x).set_data(my, d.y).use_minibatches(12, 31).use_curvature_sample(4, 32);
    param_set p = f.parameters_like();
    hessian_free opt;
    const stopping stop = quiet(3, 0.0);
    const result r = minimize(f, p, opt, stop);
    CHECK(r.iterations == 3);
    for (int k = 0; k < 3; ++k) g.next_batch();  // what minimize drew: three batches, one sample each
    param_set v = f.parameters_like(), hf = f.parameters_like(), hg = f.parameters_like();
    for (double& e : v[0]) e = 1.0;
    f.hessian_vector(p, v, hf);
    g.hessian_vector(p, v, hg);
    // Same rows in use ⇔ the same product (x·W is linear: H·v does not depend on the point).
    for (std::size_t k = 0; k < hf[0].size(); ++k) CHECK(hf[0].data()[k] == hg[0].data()[k]);
}
