// The speed of the BLAS underneath every other benchmark: square DGEMM through xt::blas::gemm
// (the call gateaux's matmul makes), for the sizes the benchmarked networks use; and, at n = 64,
// the LAPACK calls of the B-operator's chain: LU factorisation with its condition estimate, the
// left-sided solve with n right-hand sides (dgetrs, what right_solve used to call) and the
// right-sided one gateaux now makes (lapack::lu_solve_right: two DTRSM side 'R' and the column
// interchanges). Run it under each OPENBLAS_CORETYPE to see what the kernel
// choice alone is worth (docs/performance.md).
//   bench_gemm [--rounds N] [--reps M] [--warmup K]      (defaults 5 × 50, warm-up 5)
#include <cstdio>
#include <vector>

#include <xtensor-blas/xblas.hpp>
#include <xtensor-blas/xlapack.hpp>

#include <gateaux/numeric/lapack.hpp>

#include "support.hpp"

int main(int argc, char** argv) {
    using namespace bench;
    const options opt = parse_options(argc, argv, {5, 50, 5});
    print_environment("bench_gemm: DGEMM n×n×n through xt::blas::gemm; LU and LU solve at n = 64");
    const std::string core = gateaux::blas_core();
    std::printf("  %5s %-22s %11s %11s %11s\n", "n", "op", "median µs", "min µs", "GFLOP/s");
    auto row = [&](std::size_t n, const char* op, double flops, const comparison& r) {
        const stats s = r.of("op");
        std::printf("  %5zu %-22s %11.2f %11.2f %11.1f   [BLAS core %s]\n", n, op, s.median * 1e6, s.min * 1e6,
                    flops / s.median * 1e-9, core.c_str());
    };
    for (std::size_t n : {64, 256}) {
        const tensor a = random_tensor(n, n, 1), b = random_tensor(n, n, 2);
        tensor c = tensor::from_shape({n, n});
        const double f = 2.0 * double(n * n * n);
        auto ab = [&] { xt::blas::gemm(a, b, c, false, false); };
        auto abt = [&] { xt::blas::gemm(a, b, c, false, true); };
        row(n, "A·B (dgemm)", f, interleave({{"op", ab}}, opt.rounds, opt.reps, opt.warmup));
        row(n, "A·Bᵀ (dgemm)", f, interleave({{"op", abt}}, opt.rounds, opt.reps, opt.warmup));
    }
    // A well-conditioned 64×64 matrix (LU without trouble), factorised and used for n solves.
    const int n = 64;
    const tensor w = well_conditioned(64, 64, 3), z = random_tensor(64, 64, 4);
    tensor lu = w, x = z;
    std::vector<int> piv(64);
    auto factor = [&] {
        lu = w;
        cxxlapack::getrf<int>(n, n, lu.data(), n, piv.data());
    };
    auto solve = [&] {
        x = z;
        cxxlapack::getrs<int>('N', n, n, lu.data(), n, piv.data(), x.data(), n);
    };
    auto solve_right = [&] {
        x = z;
        gateaux::lapack::lu_solve_right('N', lu.data(), n, n, piv.data(), x.data(), n);
    };
    tensor lu2 = w;
    auto factor_cond = [&] {
        lu2 = w;
        gateaux::lapack::lu_factor(lu2.data(), n, piv.data());
    };
    const double f = double(n) * n * n;
    row(64, "LU (dgetrf)", 2.0 / 3.0 * f, interleave({{"op", factor}}, opt.rounds, opt.reps, opt.warmup));
    row(64, "LU + dgecon", 2.0 / 3.0 * f, interleave({{"op", factor_cond}}, opt.rounds, opt.reps, opt.warmup));
    factor();
    row(64, "solve, 64 rhs, dgetrs", 2.0 * f, interleave({{"op", solve}}, opt.rounds, opt.reps, opt.warmup));
    row(64, "solve, 64 rhs, right", 2.0 * f, interleave({{"op", solve_right}}, opt.rounds, opt.reps, opt.warmup));
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;
}
