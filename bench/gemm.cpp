// The speed of the BLAS underneath every other benchmark: square DGEMM through xt::blas::gemm
// (the call gateaux's matmul makes), for the sizes the benchmarked networks use. Run it under
// each OPENBLAS_CORETYPE to see what the kernel choice alone is worth (docs/performance.md).
//   bench_gemm [--rounds N] [--reps M] [--warmup K]      (defaults 5 × 50, warm-up 5)
#include <cstdio>

#include <xtensor-blas/xblas.hpp>

#include "support.hpp"

int main(int argc, char** argv) {
    using namespace bench;
    const options opt = parse_options(argc, argv, {5, 50, 5});
    print_environment("bench_gemm: DGEMM n×n×n through xt::blas::gemm");
    std::printf("  %5s %-8s %11s %11s %11s\n", "n", "op", "median µs", "min µs", "GFLOP/s");
    for (std::size_t n : {64, 256}) {
        const tensor a = random_tensor(n, n, 1), b = random_tensor(n, n, 2);
        tensor c = tensor::from_shape({n, n});
        for (bool tb : {false, true}) {
            const comparison r = interleave({{"gemm", [&] { xt::blas::gemm(a, b, c, false, tb); }}}, opt.rounds, opt.reps,
                                            opt.warmup);
            const stats s = r.of("gemm");
            std::printf("  %5zu %-8s %11.2f %11.2f %11.1f   [BLAS core %s]\n", n, tb ? "A·Bᵀ" : "A·B", s.median * 1e6,
                        s.min * 1e6, 2.0 * double(n * n * n) / s.median * 1e-9, gateaux::blas_core().c_str());
        }
    }
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;
}
