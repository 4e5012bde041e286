#pragma once
// Thin wrappers over LAPACK (through the cxxlapack interface that xtensor-blas ships) for the
// functional inverse, and BLAS GEMM on raw row-major buffers: LU with a condition estimate, QR, symmetric-indefinite LDLᵀ with inertia.
// LAPACK is column-major; a row-major n×m buffer is the column-major m×n transpose, and the
// callers use that to avoid copies. All routines report failure by return value; the ops turn
// it into a rank_error that names the tensor.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <xtensor-blas/xblas.hpp>
#include <xtensor-blas/xlapack.hpp>

// LAPACK's triangular condition estimator, which cxxlapack does not wrap usably; declared with
// gfortran's hidden string-length arguments.
extern "C" void dtrcon_(const char* norm, const char* uplo, const char* diag, const int* n, const double* a,
                        const int* lda, double* rcond, double* work, int* iwork, int* info, std::size_t, std::size_t,
                        std::size_t);

namespace gateaux::lapack {

using index = xt::blas_index_t;
static_assert(sizeof(index) == sizeof(int), "gateaux: LAPACK is called with 32-bit integers");

// C = α·op(A)·op(B) + β·C on row-major buffers, op(A) m×k, op(B) k×n (β = 0 reads no C): BLAS
// GEMM without the tensor views and temporaries of an xtensor expression.
inline void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
                 const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    cxxblas::gemm<index>(cxxblas::RowMajor, ta ? cxxblas::Trans : cxxblas::NoTrans, tb ? cxxblas::Trans : cxxblas::NoTrans, index(m),
                         index(n), index(k), alpha, a, index(lda), b, index(ldb), beta, c, index(ldc));
}

// Per-thread workspace that only grows, so that repeated factorisations of the same size
// allocate nothing after the first. Buffers in use at the same time take different slots.
template <class T, int Slot>
inline T* scratch(std::size_t n) {
    thread_local std::vector<T> buffer;
    if (buffer.size() < n) buffer.resize(n);
    return buffer.data();
}

// LU (M = P·L·U, partial pivoting) of the column-major n×n matrix `a` (leading dimension ld)
// in place; returns the reciprocal condition number estimate in the 1-norm (0 when exactly singular).
inline double lu_factor_ld(double* a, index n, index ld, index* piv) {
    double anorm = 0.0;
    for (index j = 0; j < n; ++j) {
        double s = 0.0;
        for (index i = 0; i < n; ++i) s += std::abs(a[j * ld + i]);
        anorm = std::max(anorm, s);
    }
    if (cxxlapack::getrf<index>(n, n, a, ld, piv) != 0) return 0.0;
    double rcond = 0.0;
    double* work = scratch<double, 0>(static_cast<std::size_t>(4 * n));
    index* iwork = scratch<index, 0>(static_cast<std::size_t>(n));
    cxxlapack::gecon<index>('1', n, a, ld, anorm, rcond, work, iwork);
    return rcond;
}
inline double lu_factor(double* a, index n, index* piv) { return lu_factor_ld(a, n, n, piv); }

// C := C·op(M)⁻¹ from the LU of M (leading dimension ld); C is column-major rows×n. With the
// unknown on the left, both triangular solves are right-sided (DTRSM side 'R'), which OpenBLAS
// 0.3.21 runs about twice as fast as the left-sided ones of getrs at n = 64 (bench/gemm.cpp):
//   'N'  C·M⁻¹ = C·U⁻¹·L⁻¹·Pᵀ      'T'  C·M⁻ᵀ = C·P·L⁻ᵀ·U⁻ᵀ
// with P = P₀P₁⋯P_{n−1}, P_i the interchange of i and piv[i] (1-based, as getrf returns it):
// Pᵀ on the right swaps columns for i = n−1 … 0, P for i = 0 … n−1.
inline void lu_solve_right(char trans, const double* lu, index n, index ld, const index* piv, double* c, index rows) {
    auto swap_columns = [&](index i) {
        const index p = piv[i] - 1;
        if (p != i) std::swap_ranges(c + i * rows, c + (i + 1) * rows, c + p * rows);
    };
    using namespace cxxblas;
    if (trans == 'N') {
        trsm<index>(ColMajor, Right, Upper, NoTrans, NonUnit, rows, n, 1.0, lu, ld, c, rows);
        trsm<index>(ColMajor, Right, Lower, NoTrans, Unit, rows, n, 1.0, lu, ld, c, rows);
        for (index i = n; i-- > 0;) swap_columns(i);
    } else {
        for (index i = 0; i < n; ++i) swap_columns(i);
        trsm<index>(ColMajor, Right, Lower, Trans, Unit, rows, n, 1.0, lu, ld, c, rows);
        trsm<index>(ColMajor, Right, Upper, Trans, NonUnit, rows, n, 1.0, lu, ld, c, rows);
    }
}

// dst := the transpose of the row-major rows×cols src (dst is row-major cols×rows, which is src
// as a column-major rows×cols matrix).
inline void transpose(const double* src, index rows, index cols, double* dst) {
    constexpr index tile = 16;
    for (index i0 = 0; i0 < rows; i0 += tile)
        for (index j0 = 0; j0 < cols; j0 += tile)
            for (index i = i0; i < std::min(rows, i0 + tile); ++i)
                for (index j = j0; j < std::min(cols, j0 + tile); ++j) dst[j * rows + i] = src[i * cols + j];
}

// Solve op(A)·X = B with A's LU; B is column-major n×nrhs, overwritten by X.
inline void lu_solve(char trans, const double* lu, index n, const index* piv, double* b, index nrhs) {
    cxxlapack::getrs<index>(trans, n, nrhs, lu, n, piv, b, n);
}

// QR of the column-major m×k matrix `a` (m ≥ k, leading dimension ld) in place: R in the upper
// triangle, Householder vectors below, scalars in tau. Returns R's reciprocal condition
// estimate in the 1-norm, from LAPACK's triangular estimator.
inline double qr_factor_ld(double* a, index m, index k, index ld, double* tau) {
    double lw = 0.0;
    cxxlapack::geqrf<index>(m, k, a, ld, tau, &lw, -1);
    const auto lwork = static_cast<std::size_t>(std::max<double>(lw, 3.0 * double(k)));
    double* work = scratch<double, 0>(lwork);
    cxxlapack::geqrf<index>(m, k, a, ld, tau, work, index(lwork));
    for (index i = 0; i < k; ++i)
        if (a[i * ld + i] == 0.0) return 0.0;
    double rcond = 0.0;
    index* iwork = scratch<index, 0>(static_cast<std::size_t>(k));
    int info = 0;
    dtrcon_("1", "U", "N", &k, a, &ld, &rcond, work, iwork, &info, 1, 1, 1);
    return rcond;
}

// C := C·op(Q) for the m×m orthogonal Q of a QR factorisation (k reflectors, leading dimension
// ld); C is column-major rows×m.
inline void apply_q_right(char trans, const double* qr, index m, index ld, index k, const double* tau, double* c,
                          index rows) {
    double lw = 0.0;
    auto* a = const_cast<double*>(qr);  // ormqr leaves the reflectors as it found them
    cxxlapack::ormqr<index>('R', trans, rows, m, k, a, ld, tau, c, rows, &lw, -1);
    const auto lwork = static_cast<std::size_t>(std::max<double>(lw, 1.0));
    cxxlapack::ormqr<index>('R', trans, rows, m, k, a, ld, tau, c, rows, scratch<double, 0>(lwork), index(lwork));
}

// C := C·op(R)⁻¹ for the k×k upper triangle R of a QR buffer with leading dimension ld;
// C is column-major rows×k.
inline void solve_r_right(bool transposed, const double* qr, index ld, index k, double* c, index rows) {
    cxxblas::trsm<index>(cxxblas::ColMajor, cxxblas::Right, cxxblas::Upper, transposed ? cxxblas::Trans : cxxblas::NoTrans,
                         cxxblas::NonUnit, rows, k, 1.0, qr, ld, c, rows);
}

struct inertia {
    int positive = 0, negative = 0, zero = 0;
};

// LDLᵀ (Bunch–Kaufman) of the symmetric n×n matrix `a` (lower triangle used) in place.
// Returns the reciprocal condition estimate (0 when singular) and the inertia from D.
inline double ldl_factor(double* a, index n, index* piv, inertia& in, std::vector<double>& work, std::vector<index>& iwork) {
    double anorm = 0.0;
    for (index j = 0; j < n; ++j) {
        double s = 0.0;
        for (index i = 0; i < n; ++i) s += std::abs(i >= j ? a[j * n + i] : a[i * n + j]);
        anorm = std::max(anorm, s);
    }
    work.resize(std::size_t(std::max<index>(64 * n, 2 * n)));
    iwork.resize(std::size_t(n));
    const index info = cxxlapack::sytrf<index>('L', n, a, n, piv, work.data(), index(work.size()));
    if (info < 0) return 0.0;
    in = {};
    for (index i = 0; i < n; ++i) {
        if (piv[i] > 0) {  // 1×1 pivot
            const double d = a[i * n + i];
            (d > 0 ? in.positive : d < 0 ? in.negative : in.zero)++;
        } else {  // 2×2 pivot: one positive and one negative eigenvalue, or a zero determinant
            const double d11 = a[i * n + i], d21 = a[i * n + i + 1], d22 = a[(i + 1) * n + i + 1];
            const double det = d11 * d22 - d21 * d21;
            if (det < 0) in.positive++, in.negative++;
            else if (det > 0) (d11 > 0 ? in.positive : in.negative) += 2;
            else in.zero += 2;
            ++i;
        }
    }
    if (info > 0) return 0.0;  // an exactly zero pivot: singular (the inertia above still counts it)
    double rcond = 0.0;
    cxxlapack::sycon<index>('L', n, a, n, piv, anorm, rcond, work.data(), iwork.data());
    return rcond;
}

inline void ldl_solve(const double* ldl, index n, const index* piv, double* b, index nrhs) {
    cxxlapack::sytrs<index>('L', n, nrhs, ldl, n, piv, b, n);
}

}  // namespace gateaux::lapack
