#pragma once
// The exact per-layer block solve (H + D)·X = V at any batch size (docs/theory.md, "The layer
// block at any batch"). For a weight W (n×m) with layer input h (B×n) and per-sample curvature
// blocks T_b (m×m, symmetric, possibly singular or indefinite), with the coordinates of W
// vectorised row by row,
//
//     H = Σ_b (h_bᵀ·h_b) ⊗ T_b = Uᵀ·T·U,   U = [h_1ᵀ ⊗ I; …; h_Bᵀ ⊗ I],   T = blockdiag(T_b),
//
// so H·V = hᵀ·[rows_b (h_b·V)·T_b]. D damps the first n − s rows of W by λ and the last s rows
// (a bias folded in as the input [h 1]) by λ_s ≤ λ. Three routes, chosen at run time:
//
//   reduced   λ > 0: the push-through identity (λI + UᵀTU)⁻¹ = (1/λ)[I − Uᵀ(λI + T·U·Uᵀ)⁻¹·T·U],
//             with U·Uᵀ = (h·hᵀ) ⊗ I: one LU of the (B·m)×(B·m) matrix M = λI + [K_bc·T_b]
//             (K = h·hᵀ), no T⁻¹; a λ_s ≠ λ on the last rows by Woodbury on those s·m
//             coordinates (a Schur complement of s·m × s·m). Cheapest when B is small.
//   dense     H + D assembled (B·(n·m)² flops, one GEMM) and factorised by LDLᵀ; λ = 0 by its
//             symmetric eigendecomposition, the minimum-norm H⁺·V. Cheapest when B is large.
//   master    λ = λ_s = 0, rank h = B and every T_b invertible: (UᵀTU)⁺ = U⁺·T⁻¹·U⁺ᵀ, i.e.
//             h⁺·[rows_b (h⁺ᵀ·V)_b·T_b⁻¹] (the B-operator's master formula), the minimum-norm
//             solution from one LDLᵀ per sample; where a T_b is singular, the dense route.
//
// Where every coordinate is damped (λ > 0, and λ_s > 0 if s > 0), a singular system is a
// rank_error naming the block (it can only come from an indefinite H). Where some coordinates are
// undamped (λ = 0, or a bias row with λ_s = 0) the block may be singular by construction, and the
// result is the minimum-norm solution (eigenvalues of H + D below inverse_tolerance() times the
// largest are dropped), through the dense block. A dense block over max_bytes is a size_error.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

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
    bool all_damped() const { return rows > 0.0 && (last_rows == 0 || last > 0.0); }
};

// The route a solve of these shapes takes: the reduced system when its LU (⅔(B·m)³ flops)
// costs less than assembling and factorising the dense block (B·(n·m)² + ⅓(n·m)³).
inline block_route choose_route(std::size_t b, std::size_t n, std::size_t m, const block_damping& d) {
    if (d.rows == 0.0 && d.last == 0.0) return b <= n ? block_route::master : block_route::dense;
    if (d.rows == 0.0) return block_route::dense;
    const double bm = double(b * m), nm = double(n * m);
    return 2.0 / 3.0 * bm * bm * bm <= double(b) * nm * nm + nm * nm * nm / 3.0 ? block_route::reduced : block_route::dense;
}

namespace detail {

inline std::string refusal_condition(double rcond) {
    return "condition ≈ " + number_string(rcond == 0.0 ? INFINITY : 1.0 / rcond) + " exceeds 1/tolerance = " +
           number_string(1.0 / inverse_tolerance());
}

// P = h·V (B×m) and R_b = P_b·T_b, into r.
inline void curvature_rows(const tensor& h, const tensor& t, const tensor& v, tensor& r) {
    const std::size_t b = h.shape(0), m = v.shape(1);
    tensor p = tensor::from_shape({b, m});
    xt::blas::gemm(h, v, p);
    r.resize({b, m});
    for (std::size_t s = 0; s < b; ++s)
        for (std::size_t j = 0; j < m; ++j) {
            double acc = 0.0;
            for (std::size_t i = 0; i < m; ++i) acc += p(s, i) * t(s * m + i, j);
            r(s, j) = acc;
        }
}

// (λI + UᵀTU)⁻¹·V for every column block of `rhs` (each n×m, stacked as a (k·n)×m tensor),
// sharing one LU of M.
class reduced_system {
public:
    reduced_system(const tensor& h, const tensor& t, double lambda, const std::string& name) : h_(h), t_(t), lambda_(lambda) {
        const std::size_t b = h.shape(0), m = t.shape(1), nn = b * m;
        tensor k = tensor::from_shape({b, b});
        xt::blas::gemm(h, h, k, false, true);
        lu_.assign(nn * nn, 0.0);
        // Column-major M: entry ((s, i), (c, j)) = λ·δ + K_sc·T_s[i, j].
        for (std::size_t c = 0; c < b; ++c)
            for (std::size_t j = 0; j < m; ++j) {
                double* col = lu_.data() + (c * m + j) * nn;
                for (std::size_t s = 0; s < b; ++s) {
                    const double ksc = k(s, c);
                    const double* ts = t.data() + s * m * m;
                    for (std::size_t i = 0; i < m; ++i) col[s * m + i] = ksc * ts[i * m + j];
                }
                col[c * m + j] += lambda;
            }
        // The condition relative to the parts λI and T·(K ⊗ I), not to M itself: where they cancel
        // (H with eigenvalue −λ), M can be small and yet well-conditioned by its own measure.
        double norm_m = 0.0, norm_parts = 0.0;
        for (std::size_t c = 0; c < nn; ++c) {
            double sm = 0.0, sp = 0.0;
            for (std::size_t r = 0; r < nn; ++r) {
                const double e = lu_[c * nn + r];
                sm += std::abs(e);
                sp += std::abs(r == c ? e - lambda : e);
            }
            norm_m = std::max(norm_m, sm), norm_parts = std::max(norm_parts, sp);
        }
        piv_.resize(nn);
        const double rcond = lapack::lu_factor(lu_.data(), lapack::index(nn), piv_.data()) * norm_m / std::max(norm_m, lambda + norm_parts);
        if (!(rcond >= inverse_tolerance()))
            throw rank_error("the damped block of " + name + " (reduced system λI + T·(h·hᵀ ⊗ I))",
                             "singular or ill-conditioned: " + refusal_condition(rcond), rcond == 0.0 ? INFINITY : 1.0 / rcond);
    }
    // x = (V − hᵀ·Z)/λ with M·Z = R, R_b = (h_b·V)·T_b.
    void solve(const tensor& v, tensor& x) const {
        tensor r;
        curvature_rows(h_, t_, v, r);
        lapack::lu_solve('N', lu_.data(), lapack::index(piv_.size()), piv_.data(), r.data(), 1);
        x = v;
        xt::blas::gemm(h_, r, x, true, false, -1.0 / lambda_, 1.0 / lambda_);
    }

private:
    const tensor& h_;
    const tensor& t_;
    double lambda_;
    std::vector<double> lu_;
    std::vector<lapack::index> piv_;
};

// H (+ D) assembled: H[(i,j),(k,l)] = Σ_b h_bi·h_bk·T_b[j,l], by one GEMM over b.
inline tensor dense_block(const tensor& h, const tensor& t, const block_damping& d) {
    const std::size_t b = h.shape(0), n = h.shape(1), m = t.shape(1), nm = n * m;
    tensor g = tensor::from_shape({b, n * n}), tt = tensor::from_shape({b, m * m});
    for (std::size_t s = 0; s < b; ++s) {
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < n; ++k) g(s, i * n + k) = h(s, i) * h(s, k);
        std::copy_n(t.data() + s * m * m, m * m, tt.data() + s * m * m);
    }
    tensor hk = tensor::from_shape({n * n, m * m});
    xt::blas::gemm(g, tt, hk, true, false);
    tensor out = tensor::from_shape({nm, nm});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t j = 0; j < m; ++j)
                for (std::size_t l = 0; l < m; ++l) out(i * m + j, k * m + l) = hk(i * n + k, j * m + l);
    for (std::size_t i = 0; i < n; ++i) {
        const double lambda = i + d.last_rows >= n ? d.last : d.rows;
        for (std::size_t j = 0; j < m; ++j) out(i * m + j, i * m + j) += lambda;
    }
    return out;
}

// Σ_k (v·q_k)/λ_k·q_k over the eigenpairs of the symmetric a whose |λ_k| > tol·max|λ|.
inline tensor min_norm_solve(const tensor& a, const tensor& v) {
    const auto [lambda, q] = xt::linalg::eigh(a);
    double big = 0.0;
    for (double e : lambda) big = std::max(big, std::abs(e));
    tensor x = xt::zeros<double>(v.shape());
    const std::size_t n = a.shape(0);
    for (std::size_t k = 0; k < n; ++k) {
        if (!(std::abs(lambda(k)) > inverse_tolerance() * big)) continue;
        double c = 0.0;
        for (std::size_t i = 0; i < n; ++i) c += v.flat(i) * q(i, k);
        c /= lambda(k);
        for (std::size_t i = 0; i < n; ++i) x.flat(i) += c * q(i, k);
    }
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

// The dense route: H + D assembled; LDLᵀ where every coordinate is damped, else the minimum-norm
// solution from its eigendecomposition.
inline block_route solve_dense(const tensor& h, const tensor& t, const tensor& v, const block_damping& d, tensor& x,
                               const std::string& name, std::size_t max_bytes) {
    const std::size_t n = h.shape(1), m = t.shape(1);
    detail::check_dense_size(n * m, max_bytes, name);
    tensor a = detail::dense_block(h, t, d);
    tensor rhs = v;
    rhs.reshape({n * m, 1});
    if (!d.all_damped()) {
        x = detail::min_norm_solve(a, rhs);
    } else {
        std::vector<lapack::index> piv(n * m);
        std::vector<double> work;
        std::vector<lapack::index> iwork;
        lapack::inertia in;
        // As for the reduced system: the condition relative to the parts H and D.
        double norm_a = 0.0, norm_h = 0.0;
        for (std::size_t c = 0; c < n * m; ++c) {
            double sa = 0.0, sh = 0.0;
            for (std::size_t r = 0; r < n * m; ++r) {
                sa += std::abs(a(r, c));
                sh += std::abs(r == c ? a(r, c) - (c / m + d.last_rows >= n ? d.last : d.rows) : a(r, c));
            }
            norm_a = std::max(norm_a, sa), norm_h = std::max(norm_h, sh);
        }
        const double rcond = lapack::ldl_factor(a.data(), lapack::index(n * m), piv.data(), in, work, iwork) * norm_a /
                             std::max(norm_a, std::max(d.rows, d.last) + norm_h);
        if (!(rcond >= inverse_tolerance()))
            throw rank_error("the damped block of " + name, "singular or ill-conditioned: " + detail::refusal_condition(rcond),
                             rcond == 0.0 ? INFINITY : 1.0 / rcond);
        lapack::ldl_solve(a.data(), lapack::index(n * m), piv.data(), rhs.data(), 1);
        x = rhs;
    }
    x.reshape({n, m});
    return block_route::dense;
}

// X = (H + D)⁺·V (the inverse where H + D is nonsingular). h: B×n, t: (B·m)×m, v and x: n×m.
inline block_route solve_layer_block(const tensor& h, const tensor& t, const tensor& v, const block_damping& d, tensor& x,
                                     const std::string& name, std::size_t max_bytes = std::size_t(256) << 20) {
    const std::size_t b = h.shape(0), n = h.shape(1), m = t.shape(1);
    if (!(d.rows >= 0.0 && d.last >= 0.0) || d.last_rows > n)
        throw value_error("gateaux: the damping of " + name + " must be ≥ 0 (got λ = " + number_string(d.rows) + ", λ on the last rows = " +
                          number_string(d.last) + ")");
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
    sys.solve(v, x);
    const std::size_t s = d.last_rows * m;
    if (s == 0 || d.last == d.rows) return route;
    // A = A₀ + E·(λ_s − λ)·Eᵀ, E the unit vectors of the last rows' coordinates:
    // A⁻¹V = A₀⁻¹V − A₀⁻¹E·S⁻¹·Eᵀ·A₀⁻¹V with S = I/(λ_s − λ) + Eᵀ·A₀⁻¹·E (s×s).
    const std::size_t first = (n - d.last_rows) * m;
    tensor cols = tensor::from_shape({n * m, s});  // A₀⁻¹E, a column per coordinate
    tensor e = xt::zeros<double>({n, m}), ae;
    for (std::size_t k = 0; k < s; ++k) {
        e.flat(first + k) = 1.0;
        sys.solve(e, ae);
        e.flat(first + k) = 0.0;
        for (std::size_t i = 0; i < n * m; ++i) cols(i, k) = ae.flat(i);
    }
    tensor schur = tensor::from_shape({s, s});
    xt::xtensor<double, 1> rhs = xt::zeros<double>({s});
    for (std::size_t i = 0; i < s; ++i) {
        for (std::size_t k = 0; k < s; ++k) schur(i, k) = cols(first + i, k) + (i == k ? 1.0 / (d.last - d.rows) : 0.0);
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
        throw rank_error("the damped block of " + name + " (its undamped coordinates' Schur complement)",
                         "singular or ill-conditioned: " + detail::refusal_condition(rcond), rcond == 0.0 ? INFINITY : 1.0 / rcond);
    lapack::lu_solve('N', lu.data(), lapack::index(s), piv.data(), rhs.data(), 1);
    for (std::size_t i = 0; i < n * m; ++i) {
        double c = 0.0;
        for (std::size_t k = 0; k < s; ++k) c += cols(i, k) * rhs(k);
        x.flat(i) -= c;
    }
    return route;
}

}  // namespace gateaux::numeric
