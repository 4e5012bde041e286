// The seed's own experiment, re-run as an acceptance test of newton_step (include/gateaux/
// symbolic/bop.hpp): two layers, every matrix 3×3, leaky ReLU (slope 0.5) on the hidden layer, an
// identity output, sum(squared_error); x, W1, W2 ~ N(0, 1) + 0.1·I, targets one-hot + 0.1·I;
// 20 seeds. The analytic per-layer Newton step Δ_l = H_l⁻¹·G_l must match the LU solve of the
// explicit 9×9 block (hessian_block, from R-operator columns) within 1e-9 where the block is
// well-conditioned and within 100·eps·cond(H_l) where it is not (the dense solve's own
// error grows like eps·cond(H_l)). Every seed is asserted; cond is printed per seed.
// (The finite-difference version of this experiment is its own test, tests/symbolic/fd_seed.cpp.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using N = net<loss_kind::sum_se, widths<3, 3, 3>, acts<leaky, linear>, at<1, 2>>;

tensor seed_matrix(rng& g) { return gaussian(3, 3, g) + 0.1 * xt::eye<double>(3); }

// H⁻¹·g by LU (H is 9×9 and nonsingular here), shaped like g.
tensor lu_solve(const tensor& h, const tensor& g) {
    xt::xtensor<double, 1> rhs = xt::flatten(g);
    xt::xtensor<double, 1> x = xt::linalg::solve(h, rhs);
    tensor out = tensor::from_shape(g.shape());
    std::copy(x.begin(), x.end(), out.begin());
    return out;
}

TEST_CASE("the seed's 3×3 experiment: newton_step equals the per-layer block solve on 20 seeds",
          "[symbolic][bop][seed]") {
    using namespace gateaux;
    constexpr auto loss = N::loss;
    constexpr auto w = N::w;
    constexpr auto W1 = N::W<1>;
    constexpr auto W2 = N::W<2>;
    const auto g = grad(loss, w);
    const auto s = newton_step(loss, w);
    const auto d = bop(loss, w);
    auto prog = compile(loss, g, hvp(loss, w), s, d);

    std::printf("seed experiment (3x3, leaky 0.5, sum(squared_error)):\n"
                "  seed   cond(x)  cond(h1)  cond(W2)  cond(H1)  cond(H2)  err W1    err W2    bop W1    bop W2    tol W1    tol W2\n");
    double worst[2] = {0.0, 0.0}, worst_cond[2] = {0.0, 0.0};
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        rng gen(seed);
        tensor x = seed_matrix(gen), w1 = seed_matrix(gen), w2 = seed_matrix(gen);
        tensor y = one_hot(3, 3, gen) + 0.1 * xt::eye<double>(3);
        tensor v1 = gaussian(3, 3, gen), v2 = gaussian(3, 3, gen);
        prog.bind(N::x, x).bind(N::y, y).bind(W1, w1).bind(W2, w2).bind(direction(W1), v1).bind(direction(W2), v2);
        prog.run();
        const tensor step[2] = {prog[s.of(W1)], prog[s.of(W2)]};
        const tensor along[2] = {prog[d.of(W1)], prog[d.of(W2)]};
        const tensor grads[2] = {prog[g.of(W1)], prog[g.of(W2)]};
        tensor h1 = xt::linalg::dot(x, w1);
        for (double& e : h1) e = e > 0.0 ? e : 0.5 * e;
        const tensor hessian[2] = {hessian_block(prog, loss, w, W1), hessian_block(prog, loss, w, W2)};
        const tensor* dirs[2] = {&v1, &v2};
        double err[2], err_bop[2], cond[2], tol[2];
        for (int l = 0; l < 2; ++l) {
            cond[l] = cond2(hessian[l]);
            tol[l] = std::max(1e-9, 100 * eps * cond[l]);
            err[l] = rel_error(step[l], lu_solve(hessian[l], grads[l]));
            err_bop[l] = rel_error(along[l], lu_solve(hessian[l], *dirs[l]));
            if (err[l] >= worst[l]) worst[l] = err[l], worst_cond[l] = cond[l];
        }
        std::printf("  %4llu  %8.3g  %8.3g  %8.3g  %8.3g  %8.3g  %.2e  %.2e  %.2e  %.2e  %.1e  %.1e\n",
                    (unsigned long long)seed, cond2(x), cond2(h1), cond2(w2), cond[0], cond[1], err[0], err[1], err_bop[0],
                    err_bop[1], tol[0], tol[1]);
        INFO("seed " << seed << ": cond(H1) = " << cond[0] << ", cond(H2) = " << cond[1]);
        CHECK(sci{err[0]} <= sci{tol[0]});
        CHECK(sci{err[1]} <= sci{tol[1]});
        CHECK(sci{err_bop[0]} <= sci{tol[0]});
        CHECK(sci{err_bop[1]} <= sci{tol[1]});
    }
    std::printf("  worst: W1 %.2e at cond(H1) = %.3g, W2 %.2e at cond(H2) = %.3g\n", worst[0], worst_cond[0], worst[1],
                worst_cond[1]);
}

}  // namespace
