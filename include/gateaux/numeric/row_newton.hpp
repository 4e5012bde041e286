#pragma once
// Newton's method on independent rows: find net with r_b(net_b) = 0 for every row b, where the
// residual r and its per-row Jacobians J_b (a stack, rows b·n .. b·n+n−1 hold J_b) come from a
// caller's evaluation at the current net. The functional inverse uses it with r = δ(net) − δ*
// and J_b = T_b, the per-sample curvature blocks (symbolic/inverse.hpp).
//
// Each step solves J_b·s_b = r_b in the least-squares, minimum-norm sense (LAPACK gelsd through
// xtensor-blas; the softmax block is singular along 1), and a step that does not reduce its row's
// residual is halved, up to 40 times, row by row; a step that overflows is dropped. The loop ends
// when the worst row's residual relative to `scale` is ≤ 1e-14, stops improving, or after 60
// steps. The result is that relative residual; the row residuals stay in `residual`.
#include <algorithm>
#include <cmath>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"

namespace gateaux::numeric {

template <class E>
double max_abs(const E& t) {
    double m = 0.0;
    for (double v : t) m = std::max(m, std::abs(v));
    return m;
}

// evaluate() recomputes r and J at the current contents of net (which it reads by reference).
template <class Evaluate, class Residual, class Jacobians>
double row_newton(tensor& net, Evaluate&& evaluate, Residual&& residual, Jacobians&& jacobians, double scale, tensor& r) {
    const std::size_t batch = net.shape(0), n = net.shape(1);
    evaluate();
    r = residual();
    double worst = max_abs(r) / scale;
    for (int it = 0; it < 60 && !(worst <= 1e-14); ++it) {
        const tensor blocks = jacobians();
        tensor step = xt::zeros<double>(net.shape());
        for (std::size_t b = 0; b < batch; ++b) {
            tensor jb = xt::view(blocks, xt::range(b * n, b * n + n), xt::all());
            xt::xtensor<double, 1> rb = xt::view(r, b, xt::all());
            auto [sb, res, rank, sv] = xt::linalg::lstsq(jb, rb, inverse_tolerance());
            (void)res, (void)rank, (void)sv;
            xt::view(step, b, xt::all()) = sb;
        }
        const tensor start = net;
        std::vector<double> t(batch, 1.0), before(batch);
        for (std::size_t b = 0; b < batch; ++b) before[b] = max_abs(xt::view(r, b, xt::all()));
        tensor next;
        for (int halving = 0; halving <= 40; ++halving) {
            for (std::size_t b = 0; b < batch; ++b) {
                auto row = xt::view(net, b, xt::all());
                row = xt::view(start, b, xt::all()) - t[b] * xt::view(step, b, xt::all());
                if (!std::isfinite(max_abs(row))) t[b] = 0.0, row = xt::view(start, b, xt::all());
            }
            evaluate();
            next = residual();
            bool accepted = true;
            for (std::size_t b = 0; b < batch; ++b) {
                const double after = max_abs(xt::view(next, b, xt::all()));
                if (!(after < before[b] || after <= 1e-15 * scale || t[b] == 0.0) && halving < 40) t[b] *= 0.5, accepted = false;
            }
            if (accepted) break;
        }
        r = next;
        const double previous = worst;
        worst = max_abs(r) / scale;
        if (!(worst < previous)) break;  // no row can improve the worst one: converged or stuck
    }
    return worst;
}

// The minimum-norm least-squares solution of A·X = B (LAPACK gelsd) and the numerical rank of A.
inline std::pair<tensor, std::size_t> lstsq(const tensor& a, const tensor& b, double rcond = -1.0) {
    auto [x, res, rank, sv] = xt::linalg::lstsq(a, b, rcond);
    (void)res, (void)sv;
    return {tensor(x), std::size_t(rank)};
}

}  // namespace gateaux::numeric
