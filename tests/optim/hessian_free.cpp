// Tests of include/gateaux/optim/hessian_free.hpp: Hessian-free Newton-CG (Martens 2010) with
// H·v or Gauss–Newton products, and its variant preconditioned by the exact per-layer inverse.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"
#include <gateaux/optim/hessian_free.hpp>

namespace {

using namespace gateaux;

using namespace gateaux::testing;

// ================================================================ plain CG

TEST_CASE("hessian_free: the quadratic with condition number 1e4 to ‖g‖ ≤ 1e-10", "[optim][hessian_free]") {
    for (const std::uint64_t seed : {7, 8, 9}) {
        const quadratic_problem qp(seed);
        auto f = make_objective(quadratic, wrt(qx));
        f.set_data(qA, qp.A).set_data(qb, qp.b);
        param_set x = f.parameters_like();
        hessian_free opt;
        const result r = minimize(f, x, opt, quiet(100, 1e-10));
        INFO("seed " << seed << ": " << r.message);
        CHECK(r.reason == stop_reason::gradient_tolerance);
        CHECK(r.gradient_norm <= 1e-10);
        for (std::size_t i = 1; i < r.history.size(); ++i) CHECK(r.history[i].loss <= r.history[i - 1].loss + 1e-12);
        CHECK(r.counts.hessian_vectors >= opt.cg_iterations());
        std::printf("hf-cg, quadratic n = 50, cond 1e4, seed %llu: %zu iterations, %zu CG iterations, %zu H·v, final λ = %.1e\n",
                    (unsigned long long)seed, r.iterations, opt.cg_iterations(), r.counts.hessian_vectors, opt.damping());
    }
}

TEST_CASE("hessian_free: Rosenbrock, through regions of negative curvature", "[optim][hessian_free]") {
    auto f = make_objective(rosenbrock, wrt(ra, rb));
    param_set x({tensor{{-1.2}}, tensor{{1.0}}});
    hessian_free opt;
    const result r = minimize(f, x, opt, quiet(500, 1e-10));
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    CHECK(std::hypot(x[0](0, 0) - 1.0, x[1](0, 0) - 1.0) <= 1e-8);
    for (std::size_t i = 1; i < r.history.size(); ++i) CHECK(r.history[i].loss < r.history[i - 1].loss);
    std::printf("hf-cg, Rosenbrock: %zu iterations, %zu CG iterations, %zu negative-curvature stops\n", r.iterations,
                opt.cg_iterations(), opt.negative_curvature_stops());
}

TEST_CASE("hessian_free: Gauss–Newton products train a network; a loss without them is refused",
          "[optim][hessian_free]") {
    const network_data data(5, 3);
    auto f = make_objective(net_loss, net_w);
    f.set_data(nx, data.x).set_data(ny, data.y);
    param_set x = data.start();
    hessian_free::options o;
    o.curvature = curvature_matrix::gauss_newton;
    hessian_free opt(o);
    CHECK(opt.name() == "hf-gn-cg");
    stopping stop = quiet(100, 0.0);
    stop.target_loss = 1e-12;
    const result r = minimize(f, x, opt, stop);
    INFO(r.message);
    CHECK(r.reason == stop_reason::target_loss);
    CHECK(r.counts.gauss_newton_vectors > 0);
    CHECK(r.counts.hessian_vectors == 0);
    std::printf("hf-gn-cg, 6→8→8 leaky ReLU, B = 5: loss %.3e → %.3e in %zu iterations, %zu CG iterations\n", r.initial_loss,
                r.final_loss, r.iterations, opt.cg_iterations());

    const quadratic_problem qp(7);
    auto fq = make_objective(quadratic, wrt(qx));
    fq.set_data(qA, qp.A).set_data(qb, qp.b);
    param_set xq = fq.parameters_like();
    hessian_free gn(o);
    const result rq = minimize(fq, xq, gn, quiet(10, 0.0));
    CHECK(rq.reason == stop_reason::not_applicable);
    CHECK_THAT(rq.message, Catch::Contains("Gauss–Newton"));
}

TEST_CASE("hessian_free: the CG iteration cap holds", "[optim][hessian_free]") {
    const quadratic_problem qp(7);
    auto f = make_objective(quadratic, wrt(qx));
    f.set_data(qA, qp.A).set_data(qb, qp.b);
    param_set x = f.parameters_like();
    hessian_free::options o;
    o.max_cg_iterations = 5;
    hessian_free opt(o);
    const result r = minimize(f, x, opt, quiet(20, 0.0));
    CHECK(opt.cg_iterations() <= 5 * 20);
    CHECK(opt.last_cg_iterations() <= 5);
    CHECK(r.final_loss < r.initial_loss);
}

// ================================================================ preconditioned CG

TEST_CASE("preconditioned_hessian_free: not applicable without a block inverse", "[optim][hessian_free][pcg]") {
    constexpr auto shared_loss = sum(squared_error(act::leaky_relu<0.2>(nx * nW1) * nW2 * nW2, ny));  // W2 used twice
    const network_data data(5, 4);
    auto f = make_objective(shared_loss, net_w);
    f.set_data(nx, data.x).set_data(ny, data.y);
    param_set x = data.start();
    preconditioned_hessian_free opt;
    CHECK(opt.name() == "hf-pcg");
    // Through objective&: with f's own (final) type this is a compile error (the optimizer needs
    // block_solver, which the type lacks), and at run time the refusal names the capability.
    objective& any = f;
    const result r = minimize(any, x, opt, quiet(10, 0.0));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK_THAT(r.message, Catch::Contains("no per-layer inverse"));
    CHECK_THAT(r.message, Catch::Contains("block_solver"));
}

// Where the preconditioner is what CG needs: square layer inputs (B = n₀ = n₁ = 6, so every
// H_l is invertible and M⁻¹ is not singular), small damping (M⁻¹ = H_l⁻¹ ignores λ) and
// Gauss–Newton products (for piecewise-linear nets under the squared error the diagonal blocks of
// H and of the Gauss–Newton matrix coincide, so M⁻¹ is the exact block inverse of the system's
// own diagonal blocks). Measured: 95–148 CG iterations per run against 205–513, and one seed that
// plain CG does not finish in 200 iterations.
constexpr auto sx = input<"x", 6>;
constexpr auto sy = target<"y", 6>;
constexpr auto sW1 = param<"W1", 6, 6>;
constexpr auto sW2 = param<"W2", 6, 6>;
constexpr auto square_loss = sum(squared_error(act::leaky_relu<0.2>(sx * sW1) * sW2, sy));

TEST_CASE("preconditioned_hessian_free: the per-layer inverse saves CG iterations when the blocks are invertible",
          "[optim][hessian_free][pcg]") {
    std::size_t plain_total = 0, pre_total = 0;
    for (const std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
        rng gen(seed);
        const tensor x = gaussian(6, 6, gen), y = gaussian(6, 6, gen);
        const tensor w1 = gaussian(6, 6, gen, 1.0 / std::sqrt(6.0)), w2 = gaussian(6, 6, gen, 1.0 / std::sqrt(6.0));
        auto f = make_objective(square_loss, wrt(sW1, sW2));
        f.set_data(sx, x).set_data(sy, y);
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        o.initial_damping = 1e-4;
        hessian_free plain(o);
        preconditioned_hessian_free pre(o);
        CHECK(pre.name() == "hf-gn-pcg");
        stopping stop = quiet(200, 0.0);
        stop.target_loss = 1e-12;
        param_set x1({w1, w2}), x2({w1, w2});
        const result r1 = minimize(f, x1, plain, stop);
        const result r2 = minimize(f, x2, pre, stop);
        INFO("seed " << seed << ": " << r1.message << " / " << r2.message);
        CHECK(r2.reason == stop_reason::target_loss);
        CHECK(pre.cg_iterations() < plain.cg_iterations());
        CHECK(pre.preconditioner_fallbacks() == 0);  // the GN blocks are positive definite here
        plain_total += plain.cg_iterations();
        pre_total += pre.cg_iterations();
        std::printf("6→6→6 leaky ReLU, B = 6, Gauss–Newton, λ₀ = 1e-4, seed %llu: hf-gn-cg %zu iterations / %zu CG (%s); "
                    "hf-gn-pcg %zu / %zu CG\n",
                    (unsigned long long)seed, r1.iterations, plain.cg_iterations(), to_string(r1.reason), r2.iterations,
                    pre.cg_iterations());
    }
    std::printf("total CG iterations: hf-gn-cg %zu, hf-gn-pcg %zu\n", plain_total, pre_total);
    CHECK(2 * pre_total <= plain_total);
}

// Where it is not: B = 4 < n₀ = 6 makes every H_l singular (M⁻¹ = H_l⁺ has a null space that the
// Newton system needs, so PCG stalls on it), and the default λ₀ = 1 is large against the blocks'
// small eigenvalues, which M⁻¹ inverts as if λ were 0. Reported, not compared.
TEST_CASE("preconditioned_hessian_free: singular blocks (B < n₀), default options: numbers only",
          "[optim][hessian_free][pcg]") {
    std::size_t plain_total = 0, pre_total = 0;
    for (const std::uint64_t seed : {1, 2, 3}) {
        const network_data data(4, seed);
        auto f = make_objective(net_loss, net_w);
        f.set_data(nx, data.x).set_data(ny, data.y);
        stopping stop = quiet(200, 0.0);
        stop.target_loss = 1e-12;
        param_set x1 = data.start(), x2 = data.start();
        hessian_free plain;
        preconditioned_hessian_free pre;
        const result r1 = minimize(f, x1, plain, stop);
        const result r2 = minimize(f, x2, pre, stop);
        INFO("seed " << seed << ": " << r1.message << " / " << r2.message);
        CHECK(r1.reason == stop_reason::target_loss);
        CHECK(r2.reason == stop_reason::target_loss);
        plain_total += plain.cg_iterations();
        pre_total += pre.cg_iterations();
    }
    std::printf("6→8→8 leaky ReLU, B = 4, H·v, λ₀ = 1, seeds 1–3: total CG iterations hf-cg %zu, hf-pcg %zu\n", plain_total,
                pre_total);
}

TEST_CASE("preconditioned_hessian_free: at a batch above a width the preconditioner is the block solve's H_l⁺",
          "[optim][hessian_free][pcg]") {
    const network_data data(9, 5);  // B = 9 > n₀ = 6: no functional inverse; the block solve instead
    auto f = make_objective(net_loss, net_w);
    f.set_data(nx, data.x).set_data(ny, data.y);
    param_set x = data.start();
    preconditioned_hessian_free opt;
    const result r = minimize(f, x, opt, quiet(20, 0.0));
    INFO(r.message);
    CHECK(r.reason == stop_reason::max_iterations);
    CHECK(r.final_loss < r.initial_loss);
    CHECK(opt.preconditioner_failures() == 0);
    CHECK(f.last_inverse_route() == inverse_route::block_solve);
}

// ================================================================ Fisher products

// Least squares: mean over 60 rows of ½‖x·W − y‖², 8 features, 2 outputs; the minimiser is the
// least-squares solution (LAPACK). Softmax regression: mean cross-entropy of x·W + b over 40 rows
// of 4 features with random labels among 3 (not separable: a unique minimiser, which naive
// Newton finds up to the softmax's invariance, adding one vector to every class's logits). The
// empirical Fisher is not the Hessian at the minimum (the residuals stay) and a sampled one is a
// new random matrix each iteration, so both converge linearly, and only down to where the step's
// decrease, about ‖g‖²/λ, falls below the line search's resolution of 1e-12·|f|
// (newton_common.hpp): ‖g‖ of about 1e-6 here (Gauss–Newton, the exact Hessian of least squares,
// needs no line search near the minimum). The tests ask for ‖g‖ ≤ 1e-6 within 150 iterations.
constexpr auto fx = input<"x", 8>;
constexpr auto fy = target<"y", 2>;
constexpr auto fW = param<"W", 8, 2>;
constexpr auto fisher_ls = mse(fx * fW, fy);
constexpr auto cx = input<"x", 4>;
constexpr auto cy = target<"y", 3>;
constexpr auto cW = param<"W", 4, 3>;
constexpr auto cb = bias<"b", 3>;
constexpr auto fisher_softmax = mean(cross_entropy(cx * cW + cb, cy));

TEST_CASE("hessian_free: Fisher products, empirical and sampled, reach the least-squares solution, also on a curvature sample",
          "[optim][hessian_free][fisher]") {
    for (const std::size_t sample : {0, 30})
        for (const fisher_estimate e : {fisher_estimate::empirical, fisher_estimate::sampled})
            for (const std::uint64_t seed : {1, 2, 3}) {
                rng gen(seed);
                const tensor X = gaussian(60, 8, gen), Y = gaussian(60, 2, gen);
                auto f = make_objective(fisher_ls, wrt(fW));
                f.set_data(fx, X).set_data(fy, Y).use_fisher(e, seed).use_curvature_sample(sample, seed);
                param_set theta = f.parameters_like();
                hessian_free::options o;
                o.curvature = curvature_matrix::fisher;
                hessian_free opt(o);
                CHECK(opt.name() == "hf-fisher-cg");
                const result r = minimize(f, theta, opt, quiet(150, 1e-6));
                const char* kind = e == fisher_estimate::sampled ? "sampled" : "empirical";
                INFO(kind << ", curvature sample " << sample << ", seed " << seed << ": " << to_string(r.reason) << " " << r.message);
                CHECK(r.reason == stop_reason::gradient_tolerance);
                CHECK(r.counts.fisher_vectors > 0);
                CHECK(r.counts.hessian_vectors + r.counts.gauss_newton_vectors == 0);
                // One draw per iteration (each iteration's CG sees one matrix), none for the empirical.
                CHECK(r.counts.target_draws == (e == fisher_estimate::sampled ? r.iterations : 0));
                const tensor W = std::get<0>(xt::linalg::lstsq(X, Y));
                // ‖θ − θ*‖ ≤ ‖g‖/λ_min(XᵀX/60), with λ_min ≈ (1 − √(8/60))² ≈ 0.4.
                for (std::size_t i = 0; i < W.size(); ++i) CHECK(theta[0].data()[i] == Approx(W.data()[i]).margin(1e-5));
                std::printf("hf-fisher-cg (%s), least squares 60×8→2, curvature sample %zu, seed %llu: %zu iterations, %zu CG iterations\n",
                            kind, sample, (unsigned long long)seed, r.iterations, opt.cg_iterations());
            }
}

TEST_CASE("hessian_free: Fisher products, empirical and sampled, reach the minimiser of softmax regression",
          "[optim][hessian_free][fisher]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        rng gen(seed);
        const tensor X = gaussian(40, 4, gen);
        tensor Y = xt::zeros<double>({std::size_t(40), std::size_t(3)});
        std::uniform_int_distribution<std::size_t> label(0, 2);
        for (std::size_t b = 0; b < 40; ++b) Y(b, label(gen)) = 1.0;
        auto reference = make_objective(fisher_softmax, wrt(cW, cb));
        reference.set_data(cx, X).set_data(cy, Y);
        param_set best = reference.parameters_like();
        naive_newton newton;
        const result rn = minimize(reference, best, newton, quiet(100, 1e-12));
        REQUIRE(rn.reason == stop_reason::gradient_tolerance);
        for (const fisher_estimate e : {fisher_estimate::empirical, fisher_estimate::sampled}) {
            auto f = make_objective(fisher_softmax, wrt(cW, cb));
            f.set_data(cx, X).set_data(cy, Y).use_fisher(e, seed);
            param_set theta = f.parameters_like();
            hessian_free::options o;
            o.curvature = curvature_matrix::fisher;
            hessian_free opt(o);
            const result r = minimize(f, theta, opt, quiet(150, 1e-6));
            const char* kind = e == fisher_estimate::sampled ? "sampled" : "empirical";
            INFO(kind << ", seed " << seed << ": " << to_string(r.reason) << " " << r.message);
            CHECK(r.reason == stop_reason::gradient_tolerance);
            // The minimum, not the minimiser (the invariance leaves a flat direction).
            CHECK(r.final_loss == Approx(rn.final_loss).epsilon(1e-10));
            std::printf("hf-fisher-cg (%s), softmax regression 40×4→3, seed %llu: %zu iterations, %zu CG iterations\n", kind,
                        (unsigned long long)seed, r.iterations, opt.cg_iterations());
        }
    }
}

}  // namespace
