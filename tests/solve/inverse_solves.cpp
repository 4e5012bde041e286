// Tests for the inverse rules' solve ops: solve/qr.hpp with solve/left_pinv.hpp (h⁺·Z and h⁺ᵀ·V,
// QR for B < n and LU for B = n) and solve/lu.hpp with solve/right_solve.hpp (Z·W⁻¹ and Z·W⁻ᵀ by
// right-sided triangular solves). Oracle: xtensor-blas's SVD pseudo-inverse (gesdd) and its
// general inverse (getri), a different LAPACK route from either code path under test. Every
// batch from 1 to the width is tried at small widths, and 1, n/2, n − 1, n at larger ones.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

std::vector<std::size_t> batches_up_to(std::size_t n) {
    if (n <= 8) {
        std::vector<std::size_t> all;
        for (std::size_t b = 1; b <= n; ++b) all.push_back(b);
        return all;
    }
    return {1, n / 2, n - 1, n};
}

// σ_max/σ_min of a full-rank matrix, by the SVD.
double cond2(const tensor& a) {
    const auto s = std::get<1>(xt::linalg::svd(a, false));
    return s(0) / s(s.size() - 1);
}

// h⁺·Z, h⁺ᵀ·V (h B×n, Z B×m, V n×m) and Z·W⁻¹, Z·W⁻ᵀ (W n×n, Z B×n) against the oracle.
template <dim N, dim M>
void check_solves() {
    constexpr auto h = input<"h", N>;
    constexpr auto z = input<"z", M>;
    constexpr auto zn = input<"zn", N>;
    constexpr auto V = param<"V", N, M>;
    constexpr auto W = param<"W", N, N>;
    const auto pz = pinv_left<"h">(h, z);
    const auto pv = pinv_left_t<"h">(h, V);
    const auto sw = solve_right<"W">(zn, W);
    const auto swt = solve_right_transposed<"W">(zn, W);
    auto prog = compile(pz, pv, sw, swt);
    for (const std::uint64_t seed : {1, 2, 3})
        for (const std::size_t b : batches_up_to(std::size_t(N))) {
            const tensor H = ref::normal(b, N, seed), Z = ref::normal(b, M, seed + 10), v = ref::normal(N, M, seed + 20);
            const tensor w = ref::normal(N, N, seed + 30), Zn = ref::normal(b, N, seed + 40);
            prog.bind(h, H).bind(z, Z).bind(V, v).bind(W, w).bind(zn, Zn).run();
            const tensor Hp = xt::linalg::pinv(H), Wi = xt::linalg::inv(w);
            // Tolerance: eps·cond, with cond of these Gaussian matrices below 1e4 for these seeds.
            const double cond_h = cond2(H), cond_w = cond2(w);
            INFO("n = " << N << ", m = " << M << ", batch " << b << ", seed " << seed << ", cond(h) " << cond_h
                        << ", cond(W) " << cond_w);
            const ref::error tol_h{1e-13 * cond_h * double(N)}, tol_w{1e-13 * cond_w * double(N)};
            const tensor want_pz = xt::linalg::dot(Hp, Z), want_pv = xt::linalg::dot(xt::transpose(Hp), v);
            const tensor want_sw = xt::linalg::dot(Zn, Wi), want_swt = xt::linalg::dot(Zn, xt::transpose(Wi));
            CHECK(ref::rel_error(prog[pz], want_pz) <= tol_h);
            CHECK(ref::rel_error(prog[pv], want_pv) <= tol_h);
            CHECK(ref::rel_error(prog[sw], want_sw) <= tol_w);
            CHECK(ref::rel_error(prog[swt], want_swt) <= tol_w);
        }
}

TEST_CASE("h⁺·Z, h⁺ᵀ·V, Z·W⁻¹ and Z·W⁻ᵀ equal the SVD pseudo-inverse and getri, batch 1 … width",
          "[ops][inverse]") {
    check_solves<1, 2>();
    check_solves<3, 1>();
    check_solves<5, 4>();
    check_solves<8, 3>();
    check_solves<33, 7>();
    check_solves<64, 64>();
}

TEST_CASE("a rank-deficient layer input is refused by the QR (B < n) and the LU (B = n) path alike",
          "[ops][inverse][rank]") {
    constexpr auto h = input<"h", 6>;
    constexpr auto z = input<"z", 2>;
    const auto pz = pinv_left<"h1">(h, z);
    auto prog = compile(pz);
    for (const std::size_t b : {3, 6}) {
        tensor H = ref::normal(b, 6, 4);
        for (std::size_t j = 0; j < 6; ++j) H(b - 1, j) = H(0, j);  // a repeated row
        const tensor Z = ref::normal(b, 2, 5), kept = H;
        INFO("batch " << b);
        prog.bind(h, H).bind(z, Z);
        CHECK_THROWS_WITH(prog.run(), Catch::Contains("h1") && Catch::Contains("rank-deficient"));
        CHECK(bool(H == kept));  // the caller's data is left as it was
    }
    const tensor H7 = ref::normal(7, 6, 4), Z7 = ref::normal(7, 2, 5);
    prog.bind(h, H7).bind(z, Z7);
    CHECK_THROWS_WITH(prog.run(), Catch::Contains("h1") && Catch::Contains("exceeds the width 6"));
}

}  // namespace
