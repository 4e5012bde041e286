// Tests for optim/bfgs.hpp and optim/lbfgs.hpp: iteration counts on the shared convex quadratic
// (n = 50, condition number 1e4) checked against its LAPACK solution, and on the Rosenbrock
// function from (−1.2, 1); L-BFGS directions against the dense BFGS recursion over its stored
// pairs; failures end the run with their reason (line search, non-finite values, the exact search
// on a non-convex function, the dense matrix over its memory limit); L-BFGS allocates nothing
// per iteration.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"
#include <gateaux/optim/bfgs.hpp>
#include <gateaux/optim/lbfgs.hpp>

// Counts allocations, for the no-allocation-per-iteration test. Every replaceable form but the
// aligned ones (which keep their own pair) is replaced, so that no allocation made by one
// implementation is released by another: under ASan, Catch2's `new (std::nothrow)` would
// otherwise come from the sanitizer and go back through our free(). Releasing stays out of line:
// inlined, free() meets a pointer from operator new, and g++ (which does not look inside this
// operator new) warns -Wmismatched-new-delete.
namespace {
std::atomic<std::size_t> allocations{0};
void* counted_malloc(std::size_t size) noexcept {
    ++allocations;
    return std::malloc(size ? size : 1);
}
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }
}  // namespace
void* operator new(std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

namespace {

using namespace gateaux;
using namespace gateaux::testing;

constexpr std::size_t n = quad::n;
using vec = std::vector<double>;

double dot(const vec& a, const vec& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}
vec minus(const vec& a, const vec& b) {
    vec d(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
    return d;
}
double norm(const vec& a) { return std::sqrt(dot(a, a)); }

// Runs `opt` on the quadratic of `seed` from x = 0 to ‖g‖ ≤ tolerance; returns the result and
// ‖x − x*‖ with x* from LAPACK (the eigenvalues of A are in [1, 1e4], so ‖x − x*‖ ≤ ‖g‖).
std::pair<result, double> run_quadratic(optimizer& opt, std::uint64_t seed, std::size_t iterations, double tolerance) {
    const quadratic_problem qp(seed);
    auto f = qp.objective();
    param_set x = f.parameters_like();
    const result r = minimize(f, x, opt, quiet(iterations, tolerance));
    const tensor solution = qp.solution();
    return {r, norm(minus(flat(x), vec(solution.begin(), solution.end())))};
}

// Runs until ‖x − (1, 1)‖ ≤ 1e-8 (the callback stops it) or 200 iterations.
result run_rosenbrock(optimizer& opt) {
    auto f = rosenbrock_objective();
    param_set x = rosenbrock_start();
    return minimize(f, x, opt, quiet(200, 0.0),
                    [](const iteration_record&, const param_set& p) { return distance_to_minimum(p) > 1e-8; });
}

void report(const char* what, const result& r) {
    std::printf("%-36s %-24s %4zu iterations, %4zu gradients, %3zu H·v, loss %.3e, |g| %.3e\n", what, to_string(r.reason),
                r.iterations, r.counts.gradients, r.counts.hessian_vectors, r.final_loss, r.gradient_norm);
}

}  // namespace

TEST_CASE("bfgs with exact line search: quadratic n = 50, κ = 1e4 to ‖g‖ ≤ 1e-8‖g₀‖ in ≤ n + 1 iterations", "[optim][bfgs]") {
    for (std::uint64_t seed : {1, 2, 3}) {
        const double g0 = norm(flat(param_set({quadratic_problem(seed).b})));  // at x = 0, g = −b
        bfgs opt(bfgs_options{.exact_line_search = true});
        const auto [r, distance] = run_quadratic(opt, seed, n + 1, 1e-8 * g0);
        report("bfgs exact, quadratic", r);
        CHECK(r.reason == stop_reason::gradient_tolerance);
        CHECK(r.iterations <= n + 1);
        CHECK(r.counts.hessian_vectors == r.iterations);
        CHECK(distance <= 1.1e-8 * g0);
    }
}

// Budgets: BFGS needs 270–310 iterations here. L-BFGS with the inexact searches of practice is
// not conjugate gradients: on this spectrum (eigenvalues log-spaced over [1, 1e4]) it needs about
// 1150–1200, as does a plain two-loop recursion with unit steps (exact steps would take about 400,
// but a relative error of 1e-3 in each α already brings them back to about 1000).
TEST_CASE("bfgs and lbfgs (m = 10) with strong Wolfe searches: quadratic n = 50, κ = 1e4 to ‖g‖ ≤ 1e-10",
          "[optim][bfgs][lbfgs]") {
    for (std::uint64_t seed : {1, 2, 3}) {
        bfgs b;
        lbfgs l;
        for (auto [opt, budget] : {std::pair<optimizer*, std::size_t>{&b, 500}, {&l, 1500}}) {
            const auto [r, distance] = run_quadratic(*opt, seed, budget, 1e-10);
            report((opt->name() + ", quadratic").c_str(), r);
            INFO(opt->name() << ": " << r.message);
            CHECK(r.reason == stop_reason::gradient_tolerance);
            CHECK(r.gradient_norm <= 1e-10);
            CHECK(distance <= 1.1e-10);
        }
        // Strong Wolfe steps on a convex quadratic: sᵀy > 0 by a wide margin, H stays positive definite.
        CHECK(l.skipped_pairs() == 0);
        CHECK(l.restarts() == 0);
    }
}

namespace {
// −H·g for the L-BFGS matrix of `pairs` (oldest first), built densely by the BFGS recursion
// H ← (I − ρ·s·yᵀ)·H·(I − ρ·y·sᵀ) + ρ·s·sᵀ from H₀ = γ·I, γ = sᵀy/yᵀy of the newest pair (or
// H₀ = I without pairs): the definition that the two-loop recursion evaluates without forming H.
vec dense_lbfgs_direction(const std::vector<std::pair<vec, vec>>& pairs, const vec& g) {
    const std::size_t len = g.size();
    const double gamma =
        pairs.empty() ? 1.0 : dot(pairs.back().first, pairs.back().second) / dot(pairs.back().second, pairs.back().second);
    vec h(len * len, 0.0), t(len * len);
    for (std::size_t i = 0; i < len; ++i) h[i * len + i] = gamma;
    for (const auto& [s, y] : pairs) {
        const double rho = 1.0 / dot(s, y);
        // t = H·(I − ρ·y·sᵀ), then H = (I − ρ·s·yᵀ)·t + ρ·s·sᵀ.
        vec hy(len, 0.0), yt(len, 0.0);
        for (std::size_t i = 0; i < len; ++i)
            for (std::size_t j = 0; j < len; ++j) hy[i] += h[i * len + j] * y[j];
        for (std::size_t i = 0; i < len; ++i)
            for (std::size_t j = 0; j < len; ++j) t[i * len + j] = h[i * len + j] - rho * hy[i] * s[j];
        for (std::size_t i = 0; i < len; ++i)
            for (std::size_t j = 0; j < len; ++j) yt[j] += y[i] * t[i * len + j];
        for (std::size_t i = 0; i < len; ++i)
            for (std::size_t j = 0; j < len; ++j) h[i * len + j] = t[i * len + j] - rho * s[i] * yt[j] + rho * s[i] * s[j];
    }
    vec d(len, 0.0);
    for (std::size_t i = 0; i < len; ++i)
        for (std::size_t j = 0; j < len; ++j) d[i] -= h[i * len + j] * g[j];
    return d;
}

// Runs L-BFGS for 60 iterations on the quadratic of `seed`, then replays them: every step must be
// α·d with d from dense_lbfgs_direction over the pairs stored so far (a pair is stored when
// sᵀy > skip_tolerance·‖s‖‖y‖, and then the oldest beyond m is dropped).
void check_against_dense_recursion(std::uint64_t seed, std::size_t memory, double skip_tolerance) {
    const quadratic_problem qp(seed);
    auto f = qp.objective();
    auto probe = qp.objective();
    param_set x = f.parameters_like();
    std::vector<vec> xs{flat(x)};
    lbfgs opt(lbfgs_options{.memory = memory, .skip_tolerance = skip_tolerance});
    const result r = minimize(f, x, opt, quiet(60, 0.0), [&](const iteration_record&, const param_set& p) {
        xs.push_back(flat(p));
        return true;
    });
    REQUIRE(r.reason == stop_reason::max_iterations);

    std::vector<std::pair<vec, vec>> pairs;
    std::size_t skipped = 0, skipped_when_full = 0;
    param_set p = probe.parameters_like(), g = p.zeros_like();
    auto gradient = [&](const vec& v) {
        std::copy(v.begin(), v.end(), p[0].begin());
        probe.value_and_gradient(p, g);
        return flat(g);
    };
    vec gk = gradient(xs[0]);
    double worst = 0.0;
    for (std::size_t k = 0; k + 1 < xs.size(); ++k) {
        const vec d = dense_lbfgs_direction(pairs, gk);
        const vec s = minus(xs[k + 1], xs[k]);
        const double alpha = r.history[k + 1].step_size;
        vec miss = s;
        for (std::size_t i = 0; i < n; ++i) miss[i] -= alpha * d[i];
        worst = std::max(worst, norm(miss) / norm(s));
        const vec g1 = gradient(xs[k + 1]), y = minus(g1, gk);
        if (dot(s, y) > skip_tolerance * norm(s) * norm(y)) {
            pairs.emplace_back(s, y);
            if (pairs.size() > memory) pairs.erase(pairs.begin());
        } else {
            ++skipped;
            if (pairs.size() == memory) ++skipped_when_full;
        }
        gk = g1;
    }
    INFO("seed " << seed << ", m = " << memory << ", skip tolerance " << skip_tolerance << ": " << skipped << " pairs skipped, "
                 << skipped_when_full << " with the memory full");
    CHECK(worst <= 1e-8);
    CHECK(opt.skipped_pairs() == skipped);
    CHECK(opt.restarts() == 0);
    if (skip_tolerance > 0.01) CHECK(skipped_when_full > 0);
}
}  // namespace

TEST_CASE("lbfgs steps along −H·g of the BFGS recursion over the last m stored pairs; skipped pairs leave the memory alone",
          "[optim][lbfgs]") {
    // skip_tolerance = 0.2 skips many pairs on this quadratic (cos∠(s, As) is often that small),
    // also once the memory is full, where a skipped pair must not replace the oldest one.
    for (std::uint64_t seed : {1, 2, 3}) {
        check_against_dense_recursion(seed, 1, 0.2);
        check_against_dense_recursion(seed, 3, 0.2);
        check_against_dense_recursion(seed, 10, 1e-10);
    }
}

TEST_CASE("bfgs and lbfgs (m = 10): Rosenbrock from (−1.2, 1) to ‖x − (1, 1)‖ ≤ 1e-8 in ≤ 60 iterations",
          "[optim][bfgs][lbfgs]") {
    bfgs b;
    lbfgs l(lbfgs_options{.memory = 10});
    for (optimizer* opt : {static_cast<optimizer*>(&b), static_cast<optimizer*>(&l)}) {
        const result r = run_rosenbrock(*opt);
        report((opt->name() + ", Rosenbrock").c_str(), r);
        INFO(opt->name() << ": " << r.message);
        CHECK(r.reason == stop_reason::callback);
        CHECK(r.iterations <= 60);
    }
}

TEST_CASE("lbfgs with m = 1 still converges on Rosenbrock", "[optim][lbfgs]") {
    lbfgs opt(lbfgs_options{.memory = 1});
    const result r = run_rosenbrock(opt);
    report("lbfgs m = 1, Rosenbrock", r);
    CHECK(r.reason == stop_reason::callback);
}

TEST_CASE("a failed line search ends the run with stop_reason::line_search_failed", "[optim][lbfgs][bfgs]") {
    // One trial and a curvature condition (|φ′(α)| ≤ 1e-9·|φ′(0)|) no first trial meets.
    const strong_wolfe impossible{.c1 = 1e-10, .c2 = 1e-9, .max_trials = 1};
    auto f = rosenbrock_objective();
    for (int which = 0; which < 2; ++which) {
        lbfgs l(lbfgs_options{.line_search = impossible});
        bfgs b(bfgs_options{.line_search = impossible});
        optimizer& opt = which == 0 ? static_cast<optimizer&>(l) : b;
        param_set x = rosenbrock_start();
        const result r = minimize(f, x, opt);
        INFO(opt.name() << ": " << r.message);
        CHECK(r.reason == stop_reason::line_search_failed);
        CHECK(r.message.find(opt.name() + ": strong_wolfe") == 0);
        CHECK(r.message.find("in 1 evaluations") != std::string::npos);
        CHECK(r.iterations == 1);
        CHECK(x[0](0, 0) == -1.2);  // x stays where the search started
        CHECK(x[1](0, 0) == 1.0);
        CHECK(r.final_loss == r.initial_loss);
    }
}

TEST_CASE("non-finite values end the run with a status and a reason, never an exception", "[optim][lbfgs][bfgs]") {
    // f = Σ (xᵢ − 1)⁴ (no quasi-Newton method solves it in a few steps), which turns NaN everywhere
    // after `healthy` gradient evaluations.
    for (std::size_t healthy : {0, 1, 3}) {
        std::size_t calls = 0;
        auto f = make_function_objective(3, [&](const tensor& x, tensor& g) {
            if (calls++ >= healthy) {
                g.fill(std::numeric_limits<double>::quiet_NaN());
                return std::numeric_limits<double>::quiet_NaN();
            }
            double v = 0.0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const double e = x(0, i) - 1.0;
                v += e * e * e * e;
                g(0, i) = 4.0 * e * e * e;
            }
            return v;
        });
        for (int which = 0; which < 2; ++which) {
            calls = 0;
            lbfgs l;
            bfgs b;
            optimizer& opt = which == 0 ? static_cast<optimizer&>(l) : b;
            param_set x({tensor{{3.0, -2.0, 0.5}}});
            result r;
            REQUIRE_NOTHROW(r = minimize(f, x, opt, quiet(50, 1e-12)));
            INFO(opt.name() << " with " << healthy << " healthy evaluations: " << to_string(r.reason) << ", " << r.message);
            if (healthy == 0) {
                CHECK(r.reason == stop_reason::non_finite);  // at the starting point
                CHECK(r.iterations == 0);
            } else {
                CHECK(r.reason == stop_reason::line_search_failed);
                CHECK(r.message.find("every value non-finite") != std::string::npos);
                CHECK(std::isfinite(r.final_loss));
                CHECK(x.finite());  // x stays at the last finite point
            }
        }
    }
}

TEST_CASE("bfgs exact line search refuses negative curvature (Rosenbrock at (−1, 1.008))", "[optim][bfgs]") {
    // With u = b − a², g = (−2(1 − a) − 400a·u, 200u) and gᵀ∇²f·g = 2g_a²(1 − g_b) + 200(2a·g_a − g_b)².
    // At (−1, 1.008): g = (−0.8, 1.6), 2a·g_a = g_b, so gᵀ∇²f·g = 2·0.64·(1 − 1.6) = −0.768 < 0,
    // and the first direction d = −g (H₀ = I) has negative curvature.
    auto f = rosenbrock_objective();
    param_set x = rosenbrock_start(-1.0, 1.008);
    param_set g = x.zeros_like(), hg = x.zeros_like();
    f.value_and_gradient(x, g);
    f.hessian_vector(x, g, hg);
    REQUIRE(g[0](0, 0) == Approx(-0.8));
    REQUIRE(g[1](0, 0) == Approx(1.6));
    REQUIRE(g.dot(hg) == Approx(-0.768).epsilon(1e-9));

    bfgs opt(bfgs_options{.exact_line_search = true});
    const result r = minimize(f, x, opt);
    INFO(r.message);
    CHECK(r.reason == stop_reason::line_search_failed);
    CHECK(r.message.find("dᵀ∇²f·d") != std::string::npos);
    CHECK(r.iterations == 1);
    CHECK(x[0](0, 0) == -1.0);
}

TEST_CASE("bfgs refuses a dense matrix above max_bytes with size_error naming the memory", "[optim][bfgs]") {
    auto f = quadratic_problem(1, 10.0).objective();
    param_set x = f.parameters_like();
    bfgs opt(bfgs_options{.max_bytes = 8 * n * n - 1});
    CHECK_THROWS_AS(opt.start(f, x), size_error);
    try {
        opt.start(f, x);
    } catch (const size_error& e) {
        const std::string what = e.what();
        CHECK(what.find("n = 50") != std::string::npos);
        CHECK(what.find("MiB") != std::string::npos);
        CHECK(what.find("lbfgs") != std::string::npos);
    }
    bfgs fits(bfgs_options{.max_bytes = 8 * n * n});
    CHECK_NOTHROW(fits.start(f, x));
}

TEST_CASE("lbfgs allocates nothing per iteration after the first steps", "[optim][lbfgs]") {
    auto f = quadratic_problem(4, 1e2).objective();
    param_set x = f.parameters_like();
    lbfgs opt(lbfgs_options{.memory = 5});
    opt.start(f, x);
    for (int k = 0; k < 3; ++k) REQUIRE(opt.step(f, x).state == step_outcome::status::ok);
    const std::size_t before = allocations.load();
    for (int k = 0; k < 10; ++k) REQUIRE(opt.step(f, x).state == step_outcome::status::ok);
    CHECK(allocations.load() - before == 0);
}

TEST_CASE("bfgs and lbfgs started where ‖g‖ < 1/max_step take the largest first step allowed, not an exception",
          "[optim][bfgs][lbfgs]") {
    // Near the minimiser of the quadratic, ‖g‖ ~ 1e-12: the first step 1/‖d‖ would exceed the
    // line search's max_step (1e10).
    for (std::uint64_t seed : {1u, 2u}) {
        const quadratic_problem p(seed, 10.0);
        const tensor xs = p.solution();
        for (double offset : {1e-13, 1e-12}) {
            auto f = p.objective();
            param_set x({tensor(xs + offset)}), g = x.zeros_like();
            f.value_and_gradient(x, g);
            INFO("seed " << seed << ", ‖g‖ = " << g.norm());
            REQUIRE(g.norm() < 1e-10);
            stopping stop;
            stop.max_iterations = 3;
            stop.gradient_tolerance = 0.0;
            lbfgs l;
            bfgs b;
            for (optimizer* opt : {static_cast<optimizer*>(&l), static_cast<optimizer*>(&b)}) {
                param_set y = x;
                result r;
                REQUIRE_NOTHROW(r = minimize(f, y, *opt, stop));
                CHECK(r.final_loss <= r.initial_loss + 1e-12 * std::abs(r.initial_loss));
                CHECK(y.finite());
            }
        }
    }
}
