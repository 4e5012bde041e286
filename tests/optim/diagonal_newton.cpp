// Tests of include/gateaux/optim/diagonal_newton.hpp: d_i = −g_i / max(|H_ii|, floor) with an
// Armijo line search. Oracles are hand-derived gradients and Hessian diagonals (separable
// functions, Rosenbrock), LAPACK's solve of a coupled quadratic, and, for a network with two
// parameter blocks, the diagonal of the explicit Hessian.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/diagonal_newton.hpp>

#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;

// ---------------------------------------------------------------- separable functions of x (1×n)
namespace sep {
constexpr dim n = 6;
constexpr auto x = param<"x", 1, n>;
constexpr auto a = input<"a", n, 1>;  // 1×n weights
constexpr auto b = input<"b", n, 1>;
constexpr auto c = input<"c", n, 1>;
constexpr auto x2 = hadamard(x, x);
// ½Σ a_i x_i² − Σ b_i x_i: H = diag(a), minimiser x_i = b_i / a_i.
constexpr auto quadratic = scale<0.5>(sum(hadamard(a, x2))) - sum(hadamard(b, x));
// Σ a_i x_i² + Σ c_i x_i⁴: g_i = 2a_i x_i + 4c_i x_i³, H_ii = 2a_i + 12c_i x_i².
constexpr auto quartic = sum(hadamard(a, x2)) + sum(hadamard(c, hadamard(x2, x2)));
}  // namespace sep

tensor row(std::initializer_list<double> v) {
    tensor t = tensor::from_shape({1, v.size()});
    std::copy(v.begin(), v.end(), t.begin());
    return t;
}

stopping iterations(std::size_t k) { return quiet(k, 0.0); }

// ‖a − b‖ / ‖b‖.
double oracle_distance(const tensor& a, const tensor& b) {
    double d = 0.0, n = 0.0;
    for (std::size_t i = 0; i < b.size(); ++i) d += (a.flat(i) - b.flat(i)) * (a.flat(i) - b.flat(i)), n += b.flat(i) * b.flat(i);
    return std::sqrt(d / n);
}

// Rosenbrock (1 − a)² + 100(b − a²)² by hand: value, gradient, Hessian.
struct rosen_hand {
    double a, b;
    double f() const { return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a); }
    double ga() const { return -2 * (1 - a) - 400 * a * (b - a * a); }
    double gb() const { return 200 * (b - a * a); }
    double haa() const { return 2 - 400 * b + 1200 * a * a; }
    double hab() const { return -400 * a; }
    double hbb() const { return 200; }
};

// The first Armijo step (c1 = 1e-4, halving from α = 1) along d from p, by hand.
double armijo_by_hand(const rosen_hand& p, double da, double db) {
    const double slope = p.ga() * da + p.gb() * db;
    for (double alpha = 1.0; alpha > 1e-12; alpha *= 0.5)
        if (rosen_hand{p.a + alpha * da, p.b + alpha * db}.f() <= p.f() + 1e-4 * alpha * slope) return alpha;
    return 0.0;
}

TEST_CASE("diagonal_newton: one step solves a separable quadratic, x_i = b_i / a_i", "[optim][diagonal_newton]") {
    const tensor a = row({0.5, 1.0, 3.0, 10.0, 100.0, 1e4}), b = row({1.0, -2.0, 0.5, 4.0, -3.0, 7.0});
    auto f = make_objective(sep::quadratic, wrt(sep::x));
    f.set_data(sep::a, a).set_data(sep::b, b);
    param_set x({row({3.0, -1.0, 2.0, 0.5, 1.0, -2.0})});
    diagonal_newton opt;
    const result r = minimize(f, x, opt, iterations(1));
    INFO(r.message);
    REQUIRE(r.iterations == 1);
    CHECK(r.history[1].step_size == 1.0);
    // x₁ = x₀ − (a⊙x₀ − b)/a: rounding of order eps·|x₀| remains.
    for (std::size_t i = 0; i < 6; ++i) CHECK(x[0](0, i) == Approx(b(0, i) / a(0, i)).margin(4e-15));
    CHECK(r.gradient_norm <= 1e-12 * r.history[0].gradient_norm);
    CHECK(r.counts.hessian_vectors == 6);  // one H·e_i per coordinate
    CHECK(opt.negative_entries() == 0);
    CHECK(opt.floored_entries() == 0);
    for (std::size_t i = 0; i < 6; ++i) CHECK(opt.curvature()[0](0, i) == Approx(a(0, i)).epsilon(1e-14));
}

TEST_CASE("diagonal_newton: on a separable quartic the first step is −g_i/H_ii by hand", "[optim][diagonal_newton]") {
    const tensor a = row({1.0, 0.5, 2.0, 1.0, 0.1, 3.0}), c = row({1.0, 2.0, 0.5, 0.0, 1.0, 0.2});
    const tensor x0 = row({1.0, -0.5, 0.3, 2.0, -1.5, 0.8});
    auto f = make_objective(sep::quartic, wrt(sep::x));
    f.set_data(sep::a, a).set_data(sep::c, c);
    param_set x({x0});
    diagonal_newton opt;
    const result r = minimize(f, x, opt, iterations(1));
    INFO(r.message);
    REQUIRE(r.iterations == 1);
    const double alpha = r.history[1].step_size;
    CHECK(alpha == 1.0);  // convex and separable: the Newton step decreases every term
    for (std::size_t i = 0; i < 6; ++i) {
        const double xi = x0(0, i), g = 2 * a(0, i) * xi + 4 * c(0, i) * xi * xi * xi, h = 2 * a(0, i) + 12 * c(0, i) * xi * xi;
        CHECK(x[0](0, i) == Approx(xi - g / h).epsilon(1e-14));
    }
}

TEST_CASE("diagonal_newton: Rosenbrock from (−1.2, 1), first step by hand, and it is not Newton's", "[optim][diagonal_newton]") {
    auto f = rosenbrock_objective();
    param_set x = rosenbrock_start(-1.2, 1.0);
    diagonal_newton opt;
    const result r = minimize(f, x, opt, iterations(1));
    INFO(r.message);
    REQUIRE(r.iterations == 1);
    const rosen_hand p{-1.2, 1.0};
    const double da = -p.ga() / p.haa(), db = -p.gb() / p.hbb();  // H_aa = 1330, H_bb = 200
    const double alpha = armijo_by_hand(p, da, db);
    REQUIRE(alpha > 0.0);
    CHECK(r.history[1].step_size == alpha);
    CHECK(x[0](0, 0) == Approx(p.a + alpha * da).epsilon(1e-14));
    CHECK(x[1](0, 0) == Approx(p.b + alpha * db).epsilon(1e-14));
    CHECK(r.final_loss == Approx(rosen_hand{p.a + alpha * da, p.b + alpha * db}.f()).epsilon(1e-13));
    // Newton's direction −H⁻¹g (2×2 by hand) points elsewhere: the coupling H_ab = 480 matters.
    const double det = p.haa() * p.hbb() - p.hab() * p.hab();
    const double na = -(p.hbb() * p.ga() - p.hab() * p.gb()) / det, nb = -(p.haa() * p.gb() - p.hab() * p.ga()) / det;
    const double apart = std::hypot(da - na, db - nb) / std::hypot(na, nb);
    std::printf("diagonal newton, Rosenbrock at (-1.2, 1): d = (%.4f, %.4f), alpha = %g; Newton's d = (%.4f, %.4f), "
                "|d - d_newton|/|d_newton| = %.2f\n", da, db, alpha, na, nb, apart);
    CHECK(apart > 0.3);
}

TEST_CASE("diagonal_newton: a negative H_ii is used by its magnitude (Rosenbrock at (0, 1))", "[optim][diagonal_newton]") {
    auto f = rosenbrock_objective();
    param_set x = rosenbrock_start(0.0, 1.0);
    diagonal_newton opt;
    const result r = minimize(f, x, opt, iterations(1));
    INFO(r.message);
    REQUIRE(r.iterations == 1);
    const rosen_hand p{0.0, 1.0};
    REQUIRE(p.haa() == -398.0);
    const double da = -p.ga() / std::abs(p.haa()), db = -p.gb() / p.hbb();
    const double alpha = armijo_by_hand(p, da, db);
    CHECK(opt.negative_entries() == 1);
    CHECK(opt.curvature()[0](0, 0) == Approx(398.0).epsilon(1e-14));
    CHECK(r.history[1].step_size == alpha);
    CHECK(x[0](0, 0) == Approx(p.a + alpha * da).epsilon(1e-14));
    CHECK(x[1](0, 0) == Approx(p.b + alpha * db).epsilon(1e-14));
    CHECK(r.final_loss < r.initial_loss);
}

TEST_CASE("diagonal_newton: a coordinate without curvature is floored, and the step is still taken", "[optim][diagonal_newton]") {
    // x₁² + x₂⁴ at (1, 1e-3): H = diag(2, 1.2e-5); with relative_floor 1e-4 the floor is 2e-4.
    auto f = make_objective(sep::quartic, wrt(sep::x));
    f.set_data(sep::a, row({1, 0, 0, 0, 0, 0})).set_data(sep::c, row({0, 1, 0, 0, 0, 0}));
    param_set x({row({1.0, 1e-3, 0, 0, 0, 0})});
    diagonal_newton::options o;
    o.relative_floor = 1e-4;
    diagonal_newton opt(o);
    const result r = minimize(f, x, opt, iterations(1));
    INFO(r.message);
    REQUIRE(r.iterations == 1);
    CHECK(opt.floored_entries() == 5);  // x₂, and the four coordinates with no curvature at all
    CHECK(r.history[1].step_size == 1.0);
    CHECK(x[0](0, 0) == Approx(0.0).margin(1e-15));
    CHECK(x[0](0, 1) == Approx(1e-3 - 4e-9 / 2e-4).epsilon(1e-12));  // −g₂/floor = −4e-9/2e-4
    for (std::size_t i = 2; i < 6; ++i) CHECK(x[0](0, i) == 0.0);  // g_i = 0 there
}

TEST_CASE("diagonal_newton: a coupled quadratic converges, linearly, to LAPACK's solution", "[optim][diagonal_newton]") {
    const quadratic_problem qp(5, 10.0);  // n = 50, eigenvalues in [1, 10], random eigenvectors
    auto f = qp.objective();
    param_set x = f.parameters_like();
    diagonal_newton opt;
    const tensor xs = qp.solution();
    const result r = minimize(f, x, opt, quiet(500, 0.0), [&](const iteration_record&, const param_set& p) {
        return oracle_distance(p[0], xs) > 1e-6;
    });
    INFO(r.message);
    const double dist = oracle_distance(x[0], xs);
    std::printf("diagonal newton, coupled quadratic n = 50, cond 10: %zu iterations to |x - x*|/|x*| = %.1e\n", r.iterations, dist);
    CHECK(r.reason == stop_reason::callback);
    CHECK(dist <= 1e-6);
    CHECK(r.iterations > 1);  // not Newton: the off-diagonal part of H is ignored
    // Monotone, up to the rounding of f that the Newton line search tolerates (1e-12·|f|).
    for (std::size_t i = 1; i < r.history.size(); ++i)
        CHECK(r.history[i].loss <= r.history[i - 1].loss + 1e-12 * std::abs(r.history[i - 1].loss));
}

TEST_CASE("diagonal_newton: two parameter blocks use the diagonal of the explicit Hessian", "[optim][diagonal_newton]") {
    const network_data data(4, 61);
    auto f = data.objective();
    param_set x = data.start(), g = x.zeros_like();
    f.value_and_gradient(x, g);
    const tensor h = f.hessian(x, default_hessian_bytes);  // 112×112, W1 then W2, row-major
    diagonal_newton opt;
    const result r = minimize(f, x, opt, iterations(1));
    INFO(r.message);
    REQUIRE(r.iterations == 1);
    const double alpha = r.history[1].step_size;
    param_set expected = data.start();
    double top = 0.0;
    for (std::size_t i = 0; i < h.shape(0); ++i) top = std::max(top, std::abs(h(i, i)));
    std::size_t k = 0;
    double worst = 0.0;
    for (std::size_t blk = 0; blk < 2; ++blk)
        for (std::size_t j = 0; j < expected[blk].size(); ++j, ++k) {
            const double hk = std::max(std::abs(h(k, k)), 1e-8 * top);
            expected[blk].data()[j] -= alpha * g[blk].data()[j] / hk;
            worst = std::max(worst, std::abs(opt.curvature()[blk].data()[j] - hk) / hk);
        }
    CHECK(worst <= 1e-12);
    param_set diff = x.zeros_like();
    diff.assign(x);
    diff.axpy(-1.0, expected);
    CHECK(diff.norm() <= 1e-12 * expected.norm());
    CHECK(r.counts.hessian_vectors == 112);
}

TEST_CASE("diagonal_newton: too many parameters is not applicable, and x is untouched", "[optim][diagonal_newton]") {
    const network_data data(4, 62);
    auto f = data.objective();
    param_set x = data.start();
    diagonal_newton::options o;
    o.max_parameters = 100;  // the network has 112
    diagonal_newton opt(o);
    const result r = minimize(f, x, opt, iterations(5));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK_THAT(r.message, Catch::Contains("max_parameters"));
    CHECK(r.iterations == 0);
    param_set diff = x.zeros_like();
    diff.assign(x);
    diff.axpy(-1.0, data.start());
    CHECK(diff.norm() == 0.0);
}

}  // namespace
