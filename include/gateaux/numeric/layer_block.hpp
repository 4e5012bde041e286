#pragma once
// The exact per-layer block solve (H + D)·X = V at any batch size (docs/theory.md, "The layer
// block at any batch"). For a weight W (n×m) with layer input h (B×n) and per-sample curvature
// blocks T_b (m×m, symmetric, possibly singular or indefinite), with the coordinates of W
// vectorised row by row,
//
//     H = Σ_b (h_bᵀ·h_b) ⊗ T_b = Uᵀ·T·U,   U = h ⊗ I = [h_1 ⊗ I; …; h_B ⊗ I],   T = blockdiag(T_b).
//
// D damps the first n − s rows of W by λ and the last s rows (a bias folded in as the input
// [h 1]) by λ_s. Three routes, chosen at run time:
//
//   reduced   λ > 0: with hᵀ = Q·R (Householder, Q n×r orthonormal, r = min(B, n)), h = L·Qᵀ with
//             L = Rᵀ (B×r), so H = (Q ⊗ I)·S·(Q ⊗ I)ᵀ with the symmetric (r·m)×(r·m) matrix
//             S = (L ⊗ I)ᵀ·T·(L ⊗ I), whose (a, c) block is Σ_b L_ba·L_bc·T_b, and
//                 (λI + H)⁻¹·V = Q·(λI + S)⁻¹·(Qᵀ·V) + (V − Q·Qᵀ·V)/λ.
//             One factorisation of λI + S (Cholesky where positive definite, else LDLᵀ), no T⁻¹;
//             the spectrum of λI + S is that of λI + H on the range of Q ⊗ I. A λ_s ≠ λ on the last
//             rows by Woodbury on those s·m coordinates (their s·m solves in one call, a Schur
//             complement of s·m × s·m). Cheapest when B is below n.
//   dense     H + D assembled the same way with L = h (the (n·m)² block, B·(n·m)² flops in one GEMM)
//             and factorised by Cholesky, or LDLᵀ where indefinite; where some coordinates are
//             undamped, the minimum-norm (H + D)⁺·V from its symmetric eigendecomposition.
//             Cheapest when B is at or above n.
//   master    λ = λ_s = 0, rank h = B and every T_b invertible: (UᵀTU)⁺ = U⁺·T⁻¹·U⁺ᵀ, i.e.
//             h⁺·[rows_b (h⁺ᵀ·V)_b·T_b⁻¹] (the B-operator's master formula), the minimum-norm
//             solution from one LDLᵀ per sample; where a T_b is singular, the dense route.
//
// S (and the dense block) are assembled by one GEMM, X = Gᵀ·[vec T_1; …; vec T_B] with
// G_b,(a,c) = L_ba·L_bc over the pairs a ≥ c, and copied into place m entries at a time. The
// systems reach (B·m)² and (n·m)² doubles; they live in per-thread workspace kept between solves
// (as lapack::scratch), so a solve repeated at the same sizes allocates nothing.
//
// λ and λ_s are the run-time damping plus any l2 penalty, so either may be negative. Where every
// coordinate is damped (λ ≠ 0, and λ_s ≠ 0 if s > 0), a singular system is a rank_error naming
// the block (it can only come from an H with eigenvalue −λ, or −λ_s on the last rows' coupling).
// Where some coordinates are undamped (λ = 0, or a bias row with λ_s = 0) the block may be
// singular by construction, and the
// result is the minimum-norm solution (eigenvalues of H + D below inverse_tolerance() times the
// largest are dropped), through the dense block. A dense block over max_bytes is a size_error.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <xtensor-blas/xblas.hpp>
#include <xtensor-blas/xlapack.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"
#include "lapack.hpp"

namespace gateaux::numeric {

enum class block_route { reduced, dense, master };

inline const char* to_string(block_route r) {
    return r == block_route::reduced ? "reduced" : r == block_route::dense ? "dense" : "master";
}

struct block_damping {
    double rows = 0.0;             // λ on the first n − s rows
    double last = 0.0;             // λ_s on the last s rows
    std::size_t last_rows = 0;     // s
    // Whether every coordinate carries a diagonal term (λ plus an l2 penalty, which may be
    // negative): then a singular block is singular by accident and refused, never solved in the
    // minimum-norm sense.
    bool all_damped() const { return rows != 0.0 && (last_rows == 0 || last != 0.0); }
};

// The route a solve of these shapes takes: the reduced system when assembling and factorising it
// (B·(r·m)² + ⅓(r·m)³ flops, r = min(B, n), plus the Woodbury correction's s·m solves and its
// Schur complement where λ_s ≠ λ) costs less than the dense block (B·(n·m)² + ⅓(n·m)³); at a tie
// (B ≥ n) the dense block, which needs neither the QR nor the correction.
inline block_route choose_route(std::size_t b, std::size_t n, std::size_t m, const block_damping& d) {
    if (d.rows == 0.0 && d.last == 0.0) return b <= n ? block_route::master : block_route::dense;
    if (d.rows == 0.0) return block_route::dense;
    const double rm = double(std::min(b, n)) * double(m), nm = double(n) * double(m), bd = double(b);
    const double s = d.last_rows > 0 && d.last != d.rows ? double(d.last_rows) * double(m) : 0.0;
    const double reduced = bd * rm * rm + rm * rm * rm / 3.0 + 2.0 * rm * rm * s + 2.0 / 3.0 * s * s * s;
    const double dense = bd * nm * nm + nm * nm * nm / 3.0;
    return reduced < dense ? block_route::reduced : block_route::dense;
}

namespace detail {

inline std::string refusal_condition(double rcond) {
    return "condition ≈ " + number_string(rcond == 0.0 ? INFINITY : 1.0 / rcond) + " exceeds 1/tolerance = " +
           number_string(1.0 / inverse_tolerance());
}

// Per-thread workspace that only grows: the pair products, the GEMM's result, the system.
enum workspace_slot { pair_slot, product_slot, system_slot };
template <workspace_slot Slot>
inline double* workspace(std::size_t n) {
    thread_local std::vector<double> buffer;
    if (buffer.size() < n) buffer.resize(n);
    return buffer.data();
}

// s := (L ⊗ I)ᵀ·T·(L ⊗ I) + diag(damp(k)), (r·m)×(r·m), column-major with both triangles filled;
// L is B×r (row-major), t the curvature stack ((B·m)×m). Block (a, c) is Σ_b L_ba·L_bc·T_b: for
// the pairs a ≥ c one GEMM gives X = Gᵀ·[vec T_b] (rows: pairs; G_b,(a,c) = L_ba·L_bc), and each
// block goes into place a column of m entries at a time, read as T_b[j, ·] = T_b[·, j].
template <class Damp>
void assemble(const double* l, std::size_t b, std::size_t r, const tensor& t, Damp damp, double* s) {
    using lapack::index;
    const std::size_t m = t.shape(1), mm = m * m, pairs = r * (r + 1) / 2, nn = r * m;
    double* g = workspace<pair_slot>(b * pairs);
    for (std::size_t k = 0; k < b; ++k) {
        const double* lk = l + k * r;
        double* gk = g + k * pairs;
        for (std::size_t a = 0, p = 0; a < r; ++a)
            for (std::size_t c = 0; c <= a; ++c, ++p) gk[p] = lk[a] * lk[c];
    }
    double* x = workspace<product_slot>(pairs * mm);
    // Row-major X (pairs × m²) = Gᵀ·T is the column-major Xᵀ = Tᵀ·G (T row-major B × m²).
    cxxblas::gemm<index>(cxxblas::ColMajor, cxxblas::NoTrans, cxxblas::Trans, index(mm), index(pairs), index(b), 1.0, t.data(),
                         index(mm), g, index(pairs), 0.0, x, index(mm));
    for (std::size_t a = 0, p = 0; a < r; ++a)
        for (std::size_t c = 0; c <= a; ++c, ++p) {
            const double* xp = x + p * mm;
            for (std::size_t j = 0; j < m; ++j) {
                std::copy_n(xp + j * m, m, s + (c * m + j) * nn + a * m);                // column (c, j), rows (a, ·)
                if (a != c) std::copy_n(xp + j * m, m, s + (a * m + j) * nn + c * m);    // column (a, j), rows (c, ·)
            }
        }
    for (std::size_t k = 0; k < nn; ++k) s[k * nn + k] += damp(k);
}

// ‖A‖₁ and the largest damping and ‖A − D‖₁ (A symmetric, column-major, both triangles): the
// condition is judged relative to the parts D and H, not to A itself. Where they cancel (H with
// eigenvalue −λ), A can be small and yet well-conditioned by its own measure.
struct system_norms {
    double whole = 0.0, parts = 0.0, damping = 0.0;
    double relative(double rcond) const { return rcond * whole / std::max(whole, damping + parts); }
};
template <class Damp>
system_norms norms_of(const double* a, std::size_t nn, Damp damp) {
    system_norms out;
    for (std::size_t c = 0; c < nn; ++c) {
        const double* col = a + c * nn;
        double sum = 0.0;
        for (std::size_t r = 0; r < nn; ++r) sum += std::abs(col[r]);
        const double dc = damp(c);
        out.whole = std::max(out.whole, sum);
        out.parts = std::max(out.parts, sum - std::abs(col[c]) + std::abs(col[c] - dc));
        out.damping = std::max(out.damping, std::abs(dc));
    }
    return out;
}

// A symmetric system factorised in place (column-major, lower triangle): Cholesky where it is
// positive definite (a damped Gauss–Newton-like block: the usual case, and half the time of an
// LU), Bunch–Kaufman LDLᵀ otherwise.
class symmetric_factor {
public:
    // Returns LAPACK's reciprocal condition estimate (0 when singular); refill() writes the matrix
    // again after a Cholesky that found it indefinite.
    template <class Refill>
    double factor(double* a, lapack::index n, double anorm, Refill refill) {
        a_ = a, n_ = n;
        thread_local std::vector<double> work;
        thread_local std::vector<lapack::index> iwork;
        iwork.resize(std::size_t(n));
        double rcond = 0.0;
        if (cxxlapack::potrf<lapack::index>('L', n, a, n) == 0) {
            cholesky_ = true;
            work.resize(3 * std::size_t(n));
            cxxlapack::pocon<lapack::index>('L', n, a, n, anorm, rcond, work.data(), iwork.data());
            return rcond;
        }
        cholesky_ = false;
        refill();
        piv_.resize(std::size_t(n));
        double lw = 0.0;
        cxxlapack::sytrf<lapack::index>('L', n, a, n, piv_.data(), &lw, -1);
        work.resize(std::max<std::size_t>(std::size_t(lw), 2 * std::size_t(n)));
        if (cxxlapack::sytrf<lapack::index>('L', n, a, n, piv_.data(), work.data(), lapack::index(work.size())) != 0) return 0.0;
        cxxlapack::sycon<lapack::index>('L', n, a, n, piv_.data(), anorm, rcond, work.data(), iwork.data());
        return rcond;
    }
    // b := A⁻¹·b for nrhs column-major right-hand sides of length n.
    void solve(double* b, lapack::index nrhs) const {
        if (cholesky_)
            cxxlapack::potrs<lapack::index>('L', n_, nrhs, a_, n_, b, n_);
        else
            cxxlapack::sytrs<lapack::index>('L', n_, nrhs, a_, n_, piv_.data(), b, n_);
    }

private:
    double* a_ = nullptr;
    lapack::index n_ = 0;
    bool cholesky_ = true;
    std::vector<lapack::index> piv_;
};

// (λI + H)⁻¹ through the symmetric (r·m)² system λI + S (see the top of this file), sharing one
// factorisation among any number of right-hand sides.
class reduced_system {
public:
    reduced_system(const tensor& h, const tensor& t, double lambda, const std::string& name)
        : lambda_(lambda), n_(h.shape(1)), m_(t.shape(1)), r_(std::min(h.shape(0), h.shape(1))) {
        using lapack::index;
        const std::size_t b = h.shape(0), n = n_, r = r_, nn = r * m_;
        // hᵀ = Q·R: the row-major B×n h is the column-major n×B hᵀ.
        tensor qr = h;
        std::vector<double> tau(r);
        double lw = 0.0;
        cxxlapack::geqrf<index>(index(n), index(b), qr.data(), index(n), tau.data(), &lw, -1);
        std::vector<double> work(std::max<std::size_t>(std::size_t(lw), std::max(n, b)));
        cxxlapack::geqrf<index>(index(n), index(b), qr.data(), index(n), tau.data(), work.data(), index(work.size()));
        tensor l = xt::zeros<double>({b, r});  // L = Rᵀ: L_ka = R_ak, a ≤ k
        for (std::size_t k = 0; k < b; ++k)
            for (std::size_t a = 0; a < std::min(k + 1, r); ++a) l(k, a) = qr.data()[k * n + a];
        cxxlapack::orgqr<index>(index(n), index(r), index(r), qr.data(), index(n), tau.data(), &lw, -1);
        work.resize(std::max<std::size_t>(work.size(), std::size_t(lw)));
        cxxlapack::orgqr<index>(index(n), index(r), index(r), qr.data(), index(n), tau.data(), work.data(), index(work.size()));
        q_ = tensor::from_shape({r, n});  // row-major r×n: Qᵀ (Q's columns are the first r of the buffer)
        std::copy_n(qr.data(), r * n, q_.data());

        double* a = workspace<system_slot>(nn * nn);
        const auto damp = [lambda](std::size_t) { return lambda; };
        assemble(l.data(), b, r, t, damp, a);
        const system_norms norms = norms_of(a, nn, damp);
        const double rcond =
            norms.relative(factor_.factor(a, index(nn), norms.whole, [&] { assemble(l.data(), b, r, t, damp, a); }));
        if (!(rcond >= inverse_tolerance()))
            throw rank_error("the damped block of " + name + " (reduced system λI + (L ⊗ I)ᵀ·T·(L ⊗ I), h = L·Qᵀ)",
                             "singular or ill-conditioned: " + refusal_condition(rcond), rcond == 0.0 ? INFINITY : 1.0 / rcond);
    }
    // xs := (λI + H)⁻¹·vs for k right-hand sides side by side: vs is n×(k·m), its q-th m columns V_q.
    void solve(const tensor& vs, std::size_t k, tensor& xs) const {
        const std::size_t r = r_, m = m_, nn = r * m, km = k * m;
        tensor y0 = tensor::from_shape({r, km});
        xt::blas::gemm(q_, vs, y0);  // Qᵀ·V_q, side by side
        tensor rhs = tensor::from_shape({k, nn});  // column-major nn×k: vec(Qᵀ·V_q) row by row
        for (std::size_t q = 0; q < k; ++q)
            for (std::size_t a = 0; a < r; ++a) std::copy_n(y0.data() + a * km + q * m, m, rhs.data() + q * nn + a * m);
        factor_.solve(rhs.data(), lapack::index(k));
        tensor y = tensor::from_shape({r, km});
        for (std::size_t q = 0; q < k; ++q)
            for (std::size_t a = 0; a < r; ++a) std::copy_n(rhs.data() + q * nn + a * m, m, y.data() + a * km + q * m);
        xs = vs;
        xt::blas::gemm(q_, y0, xs, true, false, -1.0 / lambda_, 1.0 / lambda_);  // (V − Q·Qᵀ·V)/λ
        xt::blas::gemm(q_, y, xs, true, false, 1.0, 1.0);                        // + Q·(λI + S)⁻¹·Qᵀ·V
    }

private:
    double lambda_;
    std::size_t n_, m_, r_;
    tensor q_;  // Qᵀ, r×n
    symmetric_factor factor_;
};

// Σ_k (v·q_k)/λ_k·q_k over the eigenpairs of the symmetric a whose |λ_k| > tol·max|λ|.
inline tensor min_norm_solve(const tensor& a, const tensor& v) {
    const auto [lambda, eigenvectors] = xt::linalg::eigh(a);
    const tensor q = eigenvectors;
    double big = 0.0;
    for (double e : lambda) big = std::max(big, std::abs(e));
    tensor c = tensor::from_shape({q.shape(1), 1});
    xt::blas::gemm(q, v, c, true, false);
    for (std::size_t k = 0; k < c.shape(0); ++k) c(k, 0) = std::abs(lambda(k)) > inverse_tolerance() * big ? c(k, 0) / lambda(k) : 0.0;
    tensor x = tensor::from_shape({q.shape(0), 1});
    xt::blas::gemm(q, c, x);
    return x;
}

inline void check_dense_size(std::size_t nm, std::size_t max_bytes, const std::string& name) {
    const double need = double(nm) * double(nm) * sizeof(double);
    if (need > double(max_bytes))
        throw size_error("the block of " + name + " has " + std::to_string(nm) + " coordinates: its dense " + std::to_string(nm) +
                         "×" + std::to_string(nm) + " matrix needs " + std::to_string(std::size_t(need / 1048576.0)) +
                         " MiB, over the limit of " + std::to_string(max_bytes / 1048576) +
                         " MiB; a damping λ > 0 with a batch below the layer's input width takes the reduced system instead");
}

}  // namespace detail

// The dense route: H + D assembled; Cholesky, or LDLᵀ where indefinite, where every coordinate is
// damped, else the minimum-norm solution from its eigendecomposition.
inline block_route solve_dense(const tensor& h, const tensor& t, const tensor& v, const block_damping& d, tensor& x,
                               const std::string& name, std::size_t max_bytes) {
    const std::size_t b = h.shape(0), n = h.shape(1), m = t.shape(1), nm = n * m;
    detail::check_dense_size(nm, max_bytes, name);
    const auto damp = [&d, n, m](std::size_t k) { return k / m + d.last_rows >= n ? d.last : d.rows; };
    double* a = detail::workspace<detail::system_slot>(nm * nm);
    detail::assemble(h.data(), b, n, t, damp, a);
    tensor rhs = v;
    rhs.reshape({nm, 1});
    if (!d.all_damped()) {
        tensor full = tensor::from_shape({nm, nm});
        std::copy_n(a, nm * nm, full.data());
        x = detail::min_norm_solve(full, rhs);
    } else {
        const detail::system_norms norms = detail::norms_of(a, nm, damp);
        detail::symmetric_factor f;
        const double rcond = norms.relative(f.factor(a, lapack::index(nm), norms.whole, [&] { detail::assemble(h.data(), b, n, t, damp, a); }));
        if (!(rcond >= inverse_tolerance()))
            throw rank_error("the damped block of " + name, "singular or ill-conditioned: " + detail::refusal_condition(rcond),
                             rcond == 0.0 ? INFINITY : 1.0 / rcond);
        f.solve(rhs.data(), 1);
        x = rhs;
    }
    x.reshape({n, m});
    return block_route::dense;
}

// X = (H + D)⁺·V (the inverse where H + D is nonsingular). h: B×n, t: (B·m)×m, v and x: n×m.
inline block_route solve_layer_block(const tensor& h, const tensor& t, const tensor& v, const block_damping& d, tensor& x,
                                     const std::string& name, std::size_t max_bytes = std::size_t(256) << 20) {
    const std::size_t b = h.shape(0), n = h.shape(1), m = t.shape(1);
    if (!(std::isfinite(d.rows) && std::isfinite(d.last)))
        throw value_error("gateaux: the damping of " + name + " must be finite (got λ = " + number_string(d.rows) +
                          ", λ on the last rows = " + number_string(d.last) + ")");
    if (d.last_rows > n)
        throw shape_error("gateaux: the damping of " + name + " names its last " + std::to_string(d.last_rows) +
                          " rows, but the block has " + std::to_string(n));
    block_route route = choose_route(b, n, m, d);
    if (route == block_route::master) {
        // h⁺ᵀ·V and h⁺·Z by least squares; the route needs rank h = B and invertible T_b, else the
        // dense block.
        auto [y, res, rank, sv] = xt::linalg::lstsq(tensor(xt::transpose(h)), v, inverse_tolerance());
        (void)res, (void)sv;
        bool ok = std::size_t(rank) == b;
        tensor z = y;
        std::vector<double> block(m * m), work;
        std::vector<lapack::index> piv(m), iwork;
        for (std::size_t s = 0; ok && s < b; ++s) {
            std::copy_n(t.data() + s * m * m, m * m, block.data());
            lapack::inertia in;
            ok = lapack::ldl_factor(block.data(), lapack::index(m), piv.data(), in, work, iwork) >= inverse_tolerance();
            if (ok) lapack::ldl_solve(block.data(), lapack::index(m), piv.data(), z.data() + s * m, 1);  // z_b·T_b⁻¹ (T_b symmetric)
        }
        if (ok) {
            auto [sol, res2, rk, sv2] = xt::linalg::lstsq(h, z, inverse_tolerance());
            (void)res2, (void)rk, (void)sv2;
            x = sol;
            return route;
        }
        route = block_route::dense;
    }
    if (route == block_route::dense) return solve_dense(h, t, v, d, x, name, max_bytes);
    // Reduced: λ on every row, then Woodbury for the last rows' λ_s.
    const detail::reduced_system sys(h, t, d.rows, name);
    sys.solve(v, 1, x);
    const std::size_t s = d.last_rows * m;
    if (s == 0 || d.last == d.rows) return route;
    // A = A₀ + E·(λ_s − λ)·Eᵀ, E the unit vectors of the last rows' coordinates:
    // A⁻¹V = A₀⁻¹V − A₀⁻¹E·S⁻¹·Eᵀ·A₀⁻¹V with S = I/(λ_s − λ) + Eᵀ·A₀⁻¹·E (s×s).
    const std::size_t first = (n - d.last_rows) * m;
    tensor e = xt::zeros<double>({n, s * m}), ae;  // the unit vectors side by side, solved together
    for (std::size_t k = 0; k < s; ++k) e((first + k) / m, k * m + (first + k) % m) = 1.0;
    sys.solve(e, s, ae);
    const auto col = [&ae, m, s](std::size_t i, std::size_t k) { return ae(i / m, k * m + i % m); };  // (A₀⁻¹E)_ik
    tensor schur = tensor::from_shape({s, s});
    xt::xtensor<double, 1> rhs = xt::zeros<double>({s});
    for (std::size_t i = 0; i < s; ++i) {
        for (std::size_t k = 0; k < s; ++k) schur(i, k) = col(first + i, k) + (i == k ? 1.0 / (d.last - d.rows) : 0.0);
        rhs(i) = x.flat(first + i);
    }
    std::vector<lapack::index> piv(s);
    tensor lu = xt::transpose(schur);  // column-major for LAPACK
    const double rcond = lapack::lu_factor(lu.data(), lapack::index(s), piv.data());
    if (!(rcond >= inverse_tolerance()) && !d.all_damped()) {
        // The undamped bias coordinates make the block singular: its minimum-norm solution.
        return solve_dense(h, t, v, d, x, name, max_bytes);
    }
    if (!(rcond >= inverse_tolerance()))
        throw rank_error("the damped block of " + name + " (the Schur complement of its last rows' damping)",
                         "singular or ill-conditioned: " + detail::refusal_condition(rcond), rcond == 0.0 ? INFINITY : 1.0 / rcond);
    lapack::lu_solve('N', lu.data(), lapack::index(s), piv.data(), rhs.data(), 1);
    for (std::size_t i = 0; i < n * m; ++i) {
        double c = 0.0;
        for (std::size_t k = 0; k < s; ++k) c += col(i, k) * rhs(k);
        x.flat(i) -= c;
    }
    return route;
}

}  // namespace gateaux::numeric
