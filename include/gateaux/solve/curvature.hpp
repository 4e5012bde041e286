#pragma once
// Per-sample curvature blocks for the B-operator's master formula (docs/theory.md): T_b, the Hessian of
// sample b's loss with respect to one layer's row net_l[b], for every b at once, stored as a
// stack: a (B·n)×n matrix whose rows b·n .. b·n+n−1 hold T_b (shape rows = n·batch).
// The ops here build the stack at the loss and pull it back through the layers; each op's
// pull-back is the rule docs/theory.md states:
//   curvature_diag(t)              T_b = diag(t_b)                      (squared error: t = g·φ′)
//   curvature_softmax(p, g)        T_b = g_b·(diag(p_b) − p_b p_bᵀ)       (softmax cross-entropy)
//   curvature_congruence(T, W)     T_b ↦ W·T_b·Wᵀ                        (matmul h·W, back to h)
//   curvature_scale(T, d[, c])     T_b ↦ D_b·T_b·D_b (+ diag(c_b))        (activation: d = a′, c = γ⊙a″)
// and the factors F_b with F_b·F_bᵀ = T_b of the two output forms (the Fisher's):
//   curvature_diag_sqrt(t)         F_b = diag(√t_b)                      (t ≥ 0)
//   curvature_softmax_factor(p, g) F_b = √g_b·(diag(√p_b) − p_b·√p_bᵀ)
// They share this header because they share the stack layout; solving with the stack is
// curvature_solve.hpp.
#include <algorithm>
#include <cmath>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xadapt.hpp>

#include "../numeric/lapack.hpp"

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct curvature_diag_op {
    static constexpr shape shape_of(shape t) { return {t.rows * t.cols, t.cols}; }
    static void value(tensor& out, const tensor& t) {
        const std::size_t n = t.shape(1);
        out.fill(0.0);
        for (std::size_t b = 0; b < t.shape(0); ++b)
            for (std::size_t j = 0; j < n; ++j) out(b * n + j, j) = t(b, j);
    }
    static printed print(const printed& t) { return {"diag(" + t.text + ")", prec::atom}; }
};

struct curvature_softmax_op {
    static constexpr shape shape_of(shape p, shape) { return {p.rows * p.cols, p.cols}; }
    static void value(tensor& out, const tensor& p, const tensor& g) {
        const std::size_t n = p.shape(1);
        for (std::size_t b = 0; b < p.shape(0); ++b)
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    out(b * n + i, j) = g(b, 0) * ((i == j ? p(b, i) : 0.0) - p(b, i) * p(b, j));
    }
    static printed print(const printed& p, const printed& g) {
        return {"softmax_curvature(" + p.text + ", " + g.text + ")", prec::atom};
    }
};

struct curvature_diag_sqrt_op {
    static constexpr shape shape_of(shape t) { return {t.rows * t.cols, t.cols}; }
    static void value(tensor& out, const tensor& t) {
        const std::size_t n = t.shape(1);
        out.fill(0.0);
        for (std::size_t b = 0; b < t.shape(0); ++b)
            for (std::size_t j = 0; j < n; ++j) out(b * n + j, j) = std::sqrt(std::max(t(b, j), 0.0));
    }
    static printed print(const printed& t) { return {"diag(√" + t.text + ")", prec::atom}; }
};

// (diag √p − p·√pᵀ)(diag √p − √p·pᵀ) = diag p − 2ppᵀ + p(Σp)pᵀ = diag p − ppᵀ, since Σp = 1.
struct curvature_softmax_factor_op {
    static constexpr shape shape_of(shape p, shape) { return {p.rows * p.cols, p.cols}; }
    static void value(tensor& out, const tensor& p, const tensor& g) {
        const std::size_t n = p.shape(1);
        for (std::size_t b = 0; b < p.shape(0); ++b) {
            const double s = std::sqrt(std::max(g(b, 0), 0.0));
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    out(b * n + i, j) = s * ((i == j ? std::sqrt(p(b, i)) : 0.0) - p(b, i) * std::sqrt(p(b, j)));
        }
    }
    static printed print(const printed& p, const printed& g) {
        return {"softmax_curvature_factor(" + p.text + ", " + g.text + ")", prec::atom};
    }
};

struct curvature_congruence_op {
    static constexpr shape shape_of(shape t, shape w) { return {t.rows / t.cols * w.rows, w.rows}; }
    static void value(tensor& out, const tensor& t, const tensor& w) {
        const std::size_t n = w.shape(0), m = w.shape(1), samples = t.shape(0) / m;
        // Views of per-thread buffers that only grow: no allocation per run, whatever the shapes.
        using shape2 = std::array<std::size_t, 2>;
        auto tmp = xt::adapt(lapack::scratch<double, 2>(n * m), n * m, xt::no_ownership(), shape2{n, m});
        auto wt_b = xt::adapt(lapack::scratch<double, 3>(m * m), m * m, xt::no_ownership(), shape2{m, m});
        auto out_b = xt::adapt(lapack::scratch<double, 4>(n * n), n * n, xt::no_ownership(), shape2{n, n});
        for (std::size_t b = 0; b < samples; ++b) {
            std::copy_n(t.data() + b * m * m, m * m, wt_b.data());
            xt::blas::gemm(w, wt_b, tmp);
            xt::blas::gemm(tmp, w, out_b, false, true);
            std::copy_n(out_b.data(), n * n, out.data() + b * n * n);
        }
    }
    static printed print(const printed& t, const printed& w) {
        return {w.text + "·" + t.at(prec::postfix) + "·" + w.at(prec::postfix) + "ᵀ", prec::multiplicative};
    }
};

struct curvature_scale_op {
    static constexpr shape shape_of(shape t, shape) { return t; }
    static constexpr shape shape_of(shape t, shape, shape) { return t; }
    static void value(tensor& out, const tensor& t, const tensor& d) {
        const std::size_t n = d.shape(1);
        for (std::size_t b = 0; b < d.shape(0); ++b)
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j) out(b * n + i, j) = d(b, i) * t(b * n + i, j) * d(b, j);
    }
    static void value(tensor& out, const tensor& t, const tensor& d, const tensor& c) {
        value(out, t, d);
        const std::size_t n = d.shape(1);
        for (std::size_t b = 0; b < d.shape(0); ++b)
            for (std::size_t i = 0; i < n; ++i) out(b * n + i, i) += c(b, i);
    }
    static printed print(const printed& t, const printed& d) {
        return {"D(" + d.text + ")·" + t.at(prec::postfix) + "·D", prec::multiplicative};
    }
    static printed print(const printed& t, const printed& d, const printed& c) {
        return {"D(" + d.text + ")·" + t.at(prec::postfix) + "·D + diag(" + c.text + ")", prec::additive};
    }
};

template <expression T>
constexpr auto curvature_diag(T) {
    return node<curvature_diag_op, T>{};
}
template <expression P, expression G>
constexpr auto curvature_softmax(P, G) {
    static_assert(G::cols == 1 && G::rows == P::rows, "gateaux::curvature_softmax(p, g): g is the per-sample column");
    return node<curvature_softmax_op, P, G>{};
}
template <expression T>
constexpr auto curvature_diag_sqrt(T) {
    return node<curvature_diag_sqrt_op, T>{};
}
template <expression P, expression G>
constexpr auto curvature_softmax_factor(P, G) {
    static_assert(G::cols == 1 && G::rows == P::rows, "gateaux::curvature_softmax_factor(p, g): g is the per-sample column");
    return node<curvature_softmax_factor_op, P, G>{};
}
template <expression T, expression W>
constexpr auto curvature_congruence(T, W) {
    static_assert(T::cols == W::cols, "gateaux::curvature_congruence(T, W): blocks must be cols(W) wide");
    return node<curvature_congruence_op, T, W>{};
}
template <expression T, expression D, expression C>
constexpr auto curvature_scale(T, D, C) {
    static_assert(T::cols == D::cols && shapes_agree<D::shape_value, C::shape_value>, "gateaux::curvature_scale(T, d, c): widths differ");
    if constexpr (is_zero<C>)
        return node<curvature_scale_op, T, D>{};
    else
        return node<curvature_scale_op, T, D, C>{};
}

}  // namespace gateaux
