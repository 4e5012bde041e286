// Tests of include/gateaux/optim/preconditioner.hpp: Hessian-free CG with the identity, the
// diagonal, the block-inverse and the damped-block preconditioners.
//
// The problems are least squares with one layer, loss = mean over the B rows of ½‖x_b·W − y_b‖²,
// with a square x (B = n): H = xᵀx/B for each column of W, positive definite, and the minimiser
// is W* = x⁻¹·y with loss 0, found by LAPACK as the oracle. The per-layer inverse is then the
// exact inverse of H (one layer, batch within the width), and the damped block is H + λI, CG's
// own matrix. Rows above the width (B > n) have the least-squares solution as the minimiser.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;

constexpr std::size_t n = 8, m = 3;
constexpr auto px = input<"x", dim(n)>;
constexpr auto py = target<"y", dim(m)>;
constexpr auto pW = param<"W", dim(n), dim(m)>;
constexpr auto ploss = mse(px * pW, py);

// Rows of very different scales (10^u, u uniform in [−1, 1]), so that H is badly conditioned
// and its diagonal carries much of it.
struct square_rows {
    tensor x = tensor::from_shape({n, n}), y = tensor::from_shape({n, m});
    explicit square_rows(std::uint64_t seed) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        std::uniform_real_distribution<double> U(-1.0, 1.0);
        for (std::size_t j = 0; j < n; ++j) {
            const double s = std::pow(10.0, U(g));
            for (std::size_t b = 0; b < n; ++b) x(b, j) = s * N(g);
        }
        for (double& v : y) v = N(g);
    }
    tensor solution() const { return xt::linalg::solve(x, y); }
};

double max_difference(const tensor& a, const tensor& b) {
    double d = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a.data()[i] - b.data()[i]));
    return d;
}

TEST_CASE("preconditioner: HF-CG with the identity, diagonal and block-inverse preconditioners reaches the same minimiser",
          "[optim][preconditioner][hessian_free]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        const square_rows d(seed);
        const tensor W = d.solution();
        for (const int which : {0, 1, 2, 3}) {
            auto f = make_objective(ploss, wrt(pW));
            f.set_data(px, d.x).set_data(py, d.y);
            hessian_free opt = which == 0   ? hessian_free()
                               : which == 1 ? hessian_free({}, diagonal_preconditioner{})
                               : which == 2 ? hessian_free({}, block_inverse_preconditioner{})
                                            : hessian_free({}, damped_block_preconditioner{});
            param_set theta = f.parameters_like();
            const result r = minimize(f, theta, opt, quiet(200, 1e-11));
            INFO("seed " << seed << ", " << opt.name() << ": " << to_string(r.reason) << " " << r.message);
            CHECK(r.reason == stop_reason::gradient_tolerance);
            CHECK(max_difference(theta[0], W) <= 1e-8 * xt::amax(xt::abs(W))());
            CHECK(opt.preconditioner_fallbacks() == 0);
            CHECK(opt.preconditioner_failures() == 0);
            if (which == 1) CHECK(r.counts.hessian_vectors >= n * m * r.iterations);  // n·m products per CG run
            if (which == 2) CHECK(r.counts.block_solves >= opt.cg_iterations());
            // M = H + λI is CG's own matrix here: one CG iteration per run; a damped solve for the
            // first residual of each run and one after each CG iteration.
            if (which == 3) CHECK(opt.cg_iterations() == r.iterations);
            if (which == 3) CHECK(r.counts.damped_block_solves == 2 * opt.cg_iterations());
            std::printf("least squares 8×3, B = 8, seed %llu, %-24s %3zu iterations, %4zu CG iterations, %5zu H·v, %4zu block solves\n",
                        (unsigned long long)seed, opt.name().c_str(), r.iterations, opt.cg_iterations(), r.counts.hessian_vectors,
                        r.counts.block_solves);
        }
    }
}

TEST_CASE("preconditioner: the damped blocks, rows above the width and two layers: the same minimiser as plain HF-CG",
          "[optim][preconditioner][hessian_free]") {
    // Least squares with 20 rows of 8 features (the least-squares solution by LAPACK), and the
    // 6 → 8 → 8 leaky-ReLU network at B = 9 with Gauss–Newton products (M = blockdiag(G_l + λI),
    // positive definite: the Hessian's blocks are the Gauss–Newton blocks here), fitted to loss 0
    // (seeds 1 and 2; from seed 3's start neither reaches 1e-12 in 300 iterations: 5e-2 and 2e-3).
    for (const std::uint64_t seed : {1, 2, 3}) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        tensor X = tensor::from_shape({20, n}), Y = tensor::from_shape({20, m});
        for (double& v : X) v = N(g);
        for (double& v : Y) v = N(g);
        const tensor W = std::get<0>(xt::linalg::lstsq(X, Y));
        std::size_t cg[2] = {0, 0};
        for (const int which : {0, 1}) {
            auto f = make_objective(ploss, wrt(pW));
            f.set_data(px, X).set_data(py, Y);
            hessian_free opt = which == 0 ? hessian_free() : hessian_free({}, damped_block_preconditioner{});
            param_set theta = f.parameters_like();
            const result r = minimize(f, theta, opt, quiet(200, 1e-11));
            INFO("least squares 20×8, seed " << seed << ", " << opt.name() << ": " << r.message);
            CHECK(r.reason == stop_reason::gradient_tolerance);
            CHECK(max_difference(theta[0], W) <= 1e-8 * xt::amax(xt::abs(W))());
            cg[which] = opt.cg_iterations();
        }
        CHECK(cg[1] < cg[0]);
        std::printf("seed %llu: CG iterations, least squares 20×8: hf-cg %zu, hf-pcg-damped-block %zu\n", (unsigned long long)seed,
                    cg[0], cg[1]);
        if (seed == 3) continue;
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        const network_data data(9, seed);
        std::size_t net_cg[2] = {0, 0};
        double loss[2] = {0.0, 0.0};
        for (const int which : {0, 1}) {
            auto f = data.objective();
            param_set theta = data.start();
            hessian_free opt = which == 0 ? hessian_free(o) : hessian_free(o, damped_block_preconditioner{});
            stopping stop = quiet(300, 0.0);
            stop.target_loss = 1e-12;
            const result r = minimize(f, theta, opt, stop);
            INFO("6→8→8 leaky ReLU, B = 9, seed " << seed << ", " << opt.name() << ": " << r.message);
            CHECK(r.reason == stop_reason::target_loss);
            CHECK(opt.preconditioner_failures() == 0);
            net_cg[which] = opt.cg_iterations();
            loss[which] = r.final_loss;
        }
        std::printf("seed %llu: CG iterations, 6→8→8 leaky ReLU B = 9 (Gauss–Newton) to loss ≤ 1e-12: hf-gn-cg %zu, "
                    "hf-gn-pcg-damped-block %zu (losses %.1e, %.1e)\n",
                    (unsigned long long)seed, net_cg[0], net_cg[1], loss[0], loss[1]);
    }
}

TEST_CASE("preconditioner: the names say which preconditioner CG uses", "[optim][preconditioner][hessian_free]") {
    hessian_free::options gn;
    gn.curvature = curvature_matrix::gauss_newton;
    CHECK(hessian_free().name() == "hf-cg");
    CHECK(hessian_free(gn).name() == "hf-gn-cg");
    CHECK(hessian_free({}, diagonal_preconditioner{}).name() == "hf-pcg-diagonal");
    CHECK(hessian_free(gn, block_inverse_preconditioner{}).name() == "hf-gn-pcg-block-inverse");
    CHECK(preconditioned_hessian_free().name() == "hf-pcg");
    CHECK(preconditioned_hessian_free(gn).name() == "hf-gn-pcg");
    CHECK(preconditioned_hessian_free().preconditioning().name() == "block-inverse");
    CHECK(hessian_free(gn, damped_block_preconditioner{}).name() == "hf-gn-pcg-damped-block");
}

TEST_CASE("preconditioner: where H is diagonal the diagonal preconditioner makes each CG run one iteration",
          "[optim][preconditioner][hessian_free]") {
    // x diagonal: H = diag(x_bb²)/B per column of W, so M = diag(H) + λI is exactly the damped
    // system and preconditioned CG solves it in one iteration (plain CG needs one per distinct
    // eigenvalue).
    tensor x = tensor(xt::zeros<double>({n, n})), y = tensor::from_shape({n, m});
    std::mt19937_64 g(4);
    std::normal_distribution<double> N(0.0, 1.0);
    for (std::size_t b = 0; b < n; ++b) x(b, b) = std::pow(10.0, -1.0 + 2.0 * double(b) / double(n - 1));
    for (double& v : y) v = N(g);
    auto f = make_objective(ploss, wrt(pW));
    f.set_data(px, x).set_data(py, y);
    hessian_free opt({}, diagonal_preconditioner{});
    param_set theta = f.parameters_like();
    const result r = minimize(f, theta, opt, quiet(100, 1e-11));
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    CHECK(opt.cg_iterations() == r.iterations);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t j = 0; j < m; ++j) CHECK(theta[0](b, j) == Approx(y(b, j) / x(b, b)).epsilon(1e-10));
    // The diagonal of the last CG run: H_ii = x_bb²/B in row b, plus the same λ > 0 everywhere.
    const auto& pc = dynamic_cast<const diagonal_preconditioner&>(opt.preconditioning());
    const double lambda = pc.diagonal()[0](0, 0) - x(0, 0) * x(0, 0) / double(n);
    CHECK(lambda > 0.0);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t j = 0; j < m; ++j)
            CHECK(pc.diagonal()[0](b, j) == Approx(x(b, b) * x(b, b) / double(n) + lambda).epsilon(1e-12));
}

TEST_CASE("preconditioner: the diagonal preconditioner refuses more parameters than its limit", "[optim][preconditioner]") {
    const square_rows d(5);
    auto f = make_objective(ploss, wrt(pW));
    f.set_data(px, d.x).set_data(py, d.y);
    hessian_free opt({}, diagonal_preconditioner({.max_parameters = 10}));
    param_set theta = f.parameters_like();
    const result r = minimize(f, theta, opt, quiet(10, 0.0));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK(r.message ==
          "hf-pcg-diagonal: the diagonal preconditioner needs 24 curvature products per CG run, above "
          "diagonal_preconditioner::options::max_parameters = 10");
}

}  // namespace
