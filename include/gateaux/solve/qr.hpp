#pragma once
// The factorisation of a layer input h (B×n, B ≤ n) as a node, shared by every pseudo-inverse
// solve with h in a program. The value is B×(n+1): row-major h is the column-major hᵀ, so
// LAPACK's compact factors of hᵀ land in columns 0..n−1 (leading dimension n+1) and column n
// holds what goes with them:
//   B < n   QR, hᵀ = Q·R, h⁺ = Q₁R⁻ᵀ; column n: the Householder scalars;
//   B = n   LU, hᵀ = P·L·U, h⁺ = h⁻¹; column n: the pivots. Square inputs are the common case
//           (batch = width) and LU with right-sided solves costs about 60% of QR with ormqr there.
// Refused (rank_error naming h) when B > n, or when the reciprocal condition estimate (of R, or
// LAPACK's gecon for LU) is below inverse_tolerance().
#include <string>
#include <vector>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../numeric/lapack.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"

namespace gateaux {

template <fixed_string Name>
struct qr_op {
    static constexpr shape shape_of(shape h) { return {h.rows, h.cols + 1}; }
    static void value(tensor& out, const tensor& h) {
        const auto b = lapack::index(h.shape(0)), n = lapack::index(h.shape(1));
        if (b > n)
            throw rank_error(std::string(Name.view()),
                             "the batch (" + std::to_string(b) + " rows) exceeds the width " + std::to_string(n) +
                                 ", so its rows cannot be independent and no right inverse exists; use at most " +
                                 std::to_string(n) + " samples per batch (or, for the output layer, the output_per_unit option)",
                             double(b) / double(n));
        const auto ld = n + 1;
        double* a = out.data();
        for (lapack::index r = 0; r < b; ++r) std::copy_n(h.data() + r * n, n, a + r * ld);
        double* tau = lapack::scratch<double, 1>(static_cast<std::size_t>(b));
        lapack::index* piv = lapack::scratch<lapack::index, 1>(static_cast<std::size_t>(b));
        const double rcond = b == n ? lapack::lu_factor_ld(a, n, ld, piv) : lapack::qr_factor_ld(a, n, b, ld, tau);
        if (!(rcond >= inverse_tolerance()))
            throw rank_error(std::string(Name.view()),
                             "numerically rank-deficient: condition number ≈ " + number_string(1.0 / rcond) +
                                 " exceeds 1/tolerance = " + number_string(1.0 / inverse_tolerance()),
                             rcond == 0.0 ? INFINITY : 1.0 / rcond);
        for (lapack::index r = 0; r < b; ++r) a[r * ld + n] = b == n ? double(piv[r]) : tau[std::size_t(r)];
    }
    // QR or LU is decided by the batch at run time, so the printed graph names neither.
    static printed print(const printed& h) { return {"factor(" + h.text + ")", prec::atom}; }
};

template <fixed_string Name, expression H>
constexpr auto qr(H) {
    return node<qr_op<Name>, H>{};
}

}  // namespace gateaux
