#pragma once
// The explicit route to the per-layer Newton step, the reference the B-operator is timed against:
// each block H_l built by gateaux::hessian_block (n_l² runs of the H·v program, one R-operator
// column each) and solved by LAPACK's Cholesky (dposv; H_l is positive definite for the
// networks benchmarked, and Cholesky is the cheapest dense solve: n⁶/3 flops for an n²×n²
// block). If a block is not positive definite it is rebuilt and solved by Bunch–Kaufman LDLᵀ
// (dsysv), which the result reports.
#include <array>
#include <cstddef>
#include <vector>

#include <xtensor-blas/xlapack.hpp>

#include <gateaux/gateaux.hpp>

namespace bench {

using gateaux::tensor;

struct explicit_result {
    std::vector<tensor> step;  // Δ_l in wrt(...) order
    bool all_cholesky = true;
};

// rhs := H⁻¹·rhs; H (symmetric, n×n, n = rhs.size()) is overwritten by its factor.
inline bool symmetric_solve(tensor& h, tensor& rhs) {
    const int n = int(rhs.size());
    return cxxlapack::posv<int>('L', n, 1, h.data(), n, rhs.data(), n) == 0;
}
inline void indefinite_solve(tensor& h, tensor& rhs) {
    const int n = int(rhs.size());
    std::vector<int> piv(static_cast<std::size_t>(n));
    double lw = 0.0;
    cxxlapack::sysv<int>('L', n, 1, h.data(), n, piv.data(), rhs.data(), n, &lw, -1);
    std::vector<double> work(std::size_t(lw) + 1);
    cxxlapack::sysv<int>('L', n, 1, h.data(), n, piv.data(), rhs.data(), n, work.data(), int(work.size()));
}

// Δ_l = H_l⁻¹·G_l for every parameter of wrt(...). `prog` must compute grad and hvp for wrt(...),
// with every leaf but the directions bound (hessian_block binds its own).
template <class Prog, class Loss, class... P>
explicit_result explicit_newton_step(Prog& prog, Loss loss, gateaux::params<P...> w, std::size_t max_bytes) {
    using G = decltype(gateaux::grad(loss, w));
    prog.run();
    explicit_result r;
    (r.step.push_back(prog[G::of(P{})]), ...);
    std::size_t i = 0;
    auto one = [&]<class Q>(Q) {
        const tensor g = r.step[i];
        tensor h = gateaux::hessian_block(prog, loss, w, Q{}, max_bytes);
        if (!symmetric_solve(h, r.step[i])) {
            r.all_cholesky = false;
            r.step[i] = g;
            h = gateaux::hessian_block(prog, loss, w, Q{}, max_bytes);
            indefinite_solve(h, r.step[i]);
        }
        ++i;
    };
    (one(P{}), ...);
    return r;
}

}  // namespace bench
