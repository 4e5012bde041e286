#pragma once
// Shampoo (Gupta, Koren & Singer 2018): a preconditioner per parameter from the Kronecker factors
// of its gradients' second moments. For a parameter of r > 1 rows and c > 1 columns (a layer
// weight) with gradient G, at iteration t = 1, 2, ...
//
//     L ← L + G·Gᵀ (r×r),   R ← R + Gᵀ·G (c×c),   L₀ = εI, R₀ = εI,
//     W ← W − η·L^{−1/4}·G·R^{−1/4}.
//
// Why this preconditioner: row-major, vec(L^{−1/4}·G·R^{−1/4}) = (L ⊗ R)^{−1/4}·vec(G), so the step
// is full-matrix Adagrad's H^{−1/2}·g (H = εI + Σ g·gᵀ over vec(G), (rc)² numbers) with H replaced
// by (L ⊗ R)^{1/2}, which bounds it: εI + (1/k)·Σ g·gᵀ ≼ (L ⊗ R)^{1/2} for gradients of rank ≤ k
// (the paper's Lemma 8). The factors take r² + c² numbers and roots of r×r and c×c matrices.
//
// A parameter with one row or one column (a bias 1×n, the weight n×1 of a one-output layer: any
// vector, length d) is an order-1 tensor, whose rule in the paper has one factor and the power
// −1/2 (2 × the order). By default (vectors = diagonal) it takes that factor's diagonal:
//     vectors = diagonal:  a ← a + g², a₀ = ε,            w ← w − η·g/√a
//                          (Adagrad with ε under the root; no root to keep, O(d) per step);
//     vectors = full:      L ← L + g·gᵀ (d×d), L₀ = εI,   w ← w − η·L^{−1/2}·g
//                          (full-matrix Adagrad on that parameter, d² numbers and a d×d root).
//
// Inverse roots by the symmetric eigendecomposition (LAPACK syevd through xt::linalg::eigh):
// A^{−1/p} = Q·diag(λ^{−1/p})·Qᵀ. L and R are positive definite in exact arithmetic (≥ εI), but
// where ε is tiny beside ‖L‖ rounding can leave eigenvalues near zero or negative; each eigenvalue
// below relative_floor·λ_max is raised to it before the root (counted: floored_eigenvalues()), so
// the root amplifies no direction by more than relative_floor^{−1/p} times the top eigenvector's
// factor λ_max^{−1/p}. Roots are recomputed every
// root_every iterations (1, 1 + u, ...) and kept in between, while L and R grow every iteration:
// an eigendecomposition costs O(r³ + c³), the rest of an iteration O(r·c·(r + c)).
//
// Grafting (Agarwal et al. 2020): per parameter, the step takes its direction from Shampoo and its
// norm from another method run alongside on the same gradients,
//     step = ‖s_graft‖ · (−P/‖P‖),   P = the preconditioned gradient above (the step is 0 where P = 0),
// with s_graft Adagrad's step −η·g/(√a + ε_g), a ← a + g² (a₀ = 0), or Adam's step
// −η·m̂/(√v̂ + ε_g) (bias-corrected, optim/first_order.hpp; graft_beta1 = 0 grafts to the
// second moment only, RMSProp with bias correction). This carries over a learning rate tuned
// for Adagrad or Adam, whose step sizes Shampoo's own (unit-free in G's scale) do not match.
//
// One gradient per iteration; step() moves x with the gradient it holds and then evaluates the
// gradient at the new point on the current batch, as the first-order methods do.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // eigh; brings xblas and xlapack, in the order they need

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../numeric/lapack.hpp"
#include "adagrad.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux {

enum class shampoo_vectors { full, diagonal };
enum class shampoo_graft { none, adagrad, adam };

struct shampoo_options {
    double learning_rate = 0.1;        // η (with grafting, the grafted method's)
    double epsilon = 1e-4;             // ε > 0: L₀ = R₀ = εI
    std::size_t root_every = 1;        // u ≥ 1: inverse roots recomputed every u iterations
    double relative_floor = 1e-12;     // eigenvalues raised to relative_floor·λ_max, in (0, 1)
    shampoo_vectors vectors = shampoo_vectors::diagonal;  // a parameter of one row or one column
    shampoo_graft graft = shampoo_graft::none;
    double graft_epsilon = 1e-8;       // ε_g > 0 of the grafted method
    double graft_beta1 = 0.9;          // Adam's β₁ and β₂ when grafting to Adam, in [0, 1)
    double graft_beta2 = 0.999;
};

namespace detail {

// out = A^{−1/p} for a symmetric n×n A (row-major), eigenvalues below relative_floor·λ_max raised
// to it first. Returns how many were raised.
inline std::size_t inverse_root(const tensor& a, double p, double relative_floor, tensor& out) {
    const auto [lambda, q] = xt::linalg::eigh(a);
    const std::size_t n = lambda.size();
    double top = 0.0;
    for (std::size_t i = 0; i < n; ++i) top = std::max(top, lambda(i));
    const double floor = std::max(relative_floor * top, std::numeric_limits<double>::min());
    // B = Q·diag(λ^{−1/(2p)}), then out = B·Bᵀ: symmetric by construction.
    tensor b = tensor::from_shape({n, n});
    std::size_t floored = 0;
    for (std::size_t k = 0; k < n; ++k) {
        floored += lambda(k) < floor;
        const double s = std::pow(std::max(lambda(k), floor), -0.5 / p);
        for (std::size_t i = 0; i < n; ++i) b(i, k) = q(i, k) * s;
    }
    if (out.shape(0) != n || out.shape(1) != n) out = tensor::from_shape({n, n});
    lapack::gemm(false, true, n, n, n, 1.0, b.data(), n, b.data(), n, 0.0, out.data(), n);
    return floored;
}

}  // namespace detail

class shampoo final : public optimizer {
public:
    explicit shampoo(shampoo_options o = {}) : o_(o) {
        const auto bad = [](const std::string& what, double got) {
            return error("gateaux::shampoo: " + what + ", got " + number_string(got));
        };
        if (!(o.learning_rate > 0.0 && std::isfinite(o.learning_rate)))
            throw bad("learning_rate (the learning rate) must be finite and > 0", o.learning_rate);
        if (!(o.epsilon > 0.0 && std::isfinite(o.epsilon))) throw bad("epsilon must be finite and > 0", o.epsilon);
        if (o.root_every == 0) throw error("gateaux::shampoo: root_every must be >= 1, got 0");
        if (!(o.relative_floor > 0.0 && o.relative_floor < 1.0))
            throw bad("relative_floor must be in (0, 1)", o.relative_floor);
        if (!(o.graft_epsilon > 0.0 && std::isfinite(o.graft_epsilon)))
            throw bad("graft_epsilon must be finite and > 0", o.graft_epsilon);
        if (!(o.graft_beta1 >= 0.0 && o.graft_beta1 < 1.0)) throw bad("graft_beta1 must be in [0, 1)", o.graft_beta1);
        if (!(o.graft_beta2 >= 0.0 && o.graft_beta2 < 1.0)) throw bad("graft_beta2 must be in [0, 1)", o.graft_beta2);
        if (o.vectors != shampoo_vectors::full && o.vectors != shampoo_vectors::diagonal)
            throw error("gateaux::shampoo: vectors must be shampoo_vectors::full or shampoo_vectors::diagonal");
        if (o.graft != shampoo_graft::none && o.graft != shampoo_graft::adagrad && o.graft != shampoo_graft::adam)
            throw error("gateaux::shampoo: graft must be shampoo_graft::none, adagrad or adam");
    }
    std::string name() const override {
        switch (o_.graft) {
            case shampoo_graft::adagrad: return "shampoo-adagrad";
            case shampoo_graft::adam: return "shampoo-adam";
            case shampoo_graft::none: break;
        }
        return "shampoo";
    }

    // How block b is preconditioned, and its statistics: L and R of a matrix; L (d×d) of a vector
    // in the full form, with R empty; the 1×d accumulator a of the diagonal form in left(), R empty.
    enum class form { matrix, vector_full, vector_diagonal };
    form block_form(std::size_t b) const { return blocks_.at(b).kind; }
    const tensor& left(std::size_t b) const { return blocks_.at(b).l; }
    const tensor& right(std::size_t b) const { return blocks_.at(b).r; }
    // The preconditioned gradient P of block b in the last step, before the learning rate and grafting.
    const tensor& direction(std::size_t b) const { return blocks_.at(b).p; }
    std::size_t floored_eigenvalues() const { return floored_; }
    std::size_t eigendecompositions() const { return roots_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        step_ = x.zeros_like();
        graft_a_ = x.zeros_like();
        graft_m_ = x.zeros_like();
        t_ = floored_ = roots_ = 0;
        blocks_.assign(x.size(), {});
        for (std::size_t b = 0; b < x.size(); ++b) setup(blocks_[b], x[b].shape(0), x[b].shape(1));
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, o_.learning_rate, ""};
    }

    step_outcome step(objective& f, param_set& x) override {
        const bool roots = t_ % o_.root_every == 0;
        ++t_;
        double moved = 0.0;
        for (std::size_t b = 0; b < x.size(); ++b) {
            block& s = blocks_[b];
            precondition(s, g_[b], roots);
            double scale = -o_.learning_rate;
            if (o_.graft != shampoo_graft::none) {
                const double graft = std::sqrt(graft_step(b)), norm = frobenius(s.p);
                scale = norm > 0.0 ? -graft / norm : 0.0;
            }
            double* sp = step_[b].data();
            const double* pp = s.p.data();
            for (std::size_t k = 0, n = s.p.size(); k < n; ++k) {
                sp[k] = scale * pp[k];
                moved += sp[k] * sp[k];
            }
        }
        x.axpy(1.0, step_);
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), std::sqrt(moved), o_.learning_rate, ""};
    }

    // The statistics and the roots of every block (kept between recomputations), the gradient the
    // next step moves by, the grafted method's state, and the counts; P only for direction(). On a
    // strict load each block must be preconditioned as start() set it up here (its form follows
    // options::vectors).
    void state(state_archive& a) override {
        a("gradient", g_), a("t", t_), a("floored", floored_), a("roots", roots_);
        if (o_.graft != shampoo_graft::none) a("graft/squares", graft_a_);
        if (o_.graft == shampoo_graft::adam) a("graft/first_moment", graft_m_);
        const std::size_t had = blocks_.size();
        std::size_t n = had;
        a("blocks", n);
        if (a.loading() && n != had) {
            if (had != 0 && a.strict())
                throw checkpoint_error("gateaux::shampoo: the checkpoint holds " + std::to_string(n) + " blocks, the parameters have " +
                                       std::to_string(had));
            blocks_.resize(n);
        }
        for (std::size_t b = 0; b < n; ++b) {
            block& s = blocks_[b];
            const std::string p = "block/" + std::to_string(b) + "/";
            std::size_t kind = std::size_t(s.kind), rows = s.rows, cols = s.cols;
            a(p + "form", kind), a(p + "rows", rows), a(p + "cols", cols);
            if (a.loading()) {
                if (kind > std::size_t(form::vector_diagonal))
                    throw checkpoint_error("gateaux::shampoo: the checkpoint's block " + std::to_string(b) + " has no known form");
                if (a.strict() && b < had && (form(kind) != s.kind || rows != s.rows || cols != s.cols))
                    throw checkpoint_error("gateaux::shampoo: the checkpoint's block " + std::to_string(b) + " is " +
                                           form_string(form(kind), rows, cols) + ", this run's " + form_string(s.kind, s.rows, s.cols));
                s.kind = form(kind), s.rows = rows, s.cols = cols;
                if (s.p.shape(0) != rows || s.p.shape(1) != cols) s.p = tensor::from_shape({rows, cols});
                if (s.kind == form::matrix && (s.lg.shape(0) != rows || s.lg.shape(1) != cols)) s.lg = tensor::from_shape({rows, cols});
            }
            a(p + "L", s.l), a(p + "R", s.r), a(p + "L_root", s.l_root), a(p + "R_root", s.r_root), a(p + "P", s.p);
            // The step reads them as raw memory of the block's sizes.
            if (a.loading() && !well_formed(s))
                throw checkpoint_error("gateaux::shampoo: the checkpoint's statistics of block " + std::to_string(b) + " do not fit " +
                                       form_string(s.kind, s.rows, s.cols));
        }
    }

private:
    struct block {
        form kind = form::matrix;
        std::size_t rows = 0, cols = 0;
        tensor l, r, l_root, r_root, lg, p;  // lg = L^{−1/4}·G, scratch
    };

    // Statistics, and roots (which the first step computes) of the block's sizes.
    bool well_formed(const block& s) const {
        const auto square = [](const tensor& t, std::size_t n) { return t.shape(0) == n && t.shape(1) == n; };
        const auto root = [&](const tensor& t, std::size_t n) { return square(t, n) || (t_ == 0 && t.size() == 0); };
        const std::size_t r = s.rows, c = s.cols, d = r * c;
        switch (s.kind) {
            case form::matrix: return square(s.l, r) && square(s.r, c) && root(s.l_root, r) && root(s.r_root, c);
            case form::vector_full: return square(s.l, d) && root(s.l_root, d);
            case form::vector_diagonal: return s.l.shape(0) == 1 && s.l.shape(1) == d;
        }
        return false;
    }

    static std::string form_string(form f, std::size_t rows, std::size_t cols) {
        const std::string shape = std::to_string(rows) + "×" + std::to_string(cols);
        switch (f) {
            case form::matrix: return "a " + shape + " matrix";
            case form::vector_full: return "a " + shape + " vector with the full factor";
            case form::vector_diagonal: return "a " + shape + " vector with the diagonal";
        }
        return shape;
    }

    void setup(block& s, std::size_t rows, std::size_t cols) {
        s.rows = rows;
        s.cols = cols;
        s.p = tensor::from_shape({rows, cols});
        const std::size_t d = rows * cols;
        if (rows > 1 && cols > 1) {
            s.kind = form::matrix;
            s.l = o_.epsilon * xt::eye<double>(rows);
            s.r = o_.epsilon * xt::eye<double>(cols);
            s.lg = tensor::from_shape({rows, cols});
        } else if (o_.vectors == shampoo_vectors::full) {
            s.kind = form::vector_full;
            s.l = o_.epsilon * xt::eye<double>(d);
        } else {
            s.kind = form::vector_diagonal;
            s.l = tensor::from_shape({std::size_t(1), d});
            s.l.fill(o_.epsilon);
        }
    }

    // s.p = the preconditioned gradient of g, after adding g to the statistics.
    void precondition(block& s, const tensor& g, bool roots) {
        const std::size_t r = s.rows, c = s.cols, d = r * c;
        switch (s.kind) {
            case form::matrix:
                lapack::gemm(false, true, r, r, c, 1.0, g.data(), c, g.data(), c, 1.0, s.l.data(), r);  // L += G·Gᵀ
                lapack::gemm(true, false, c, c, r, 1.0, g.data(), c, g.data(), c, 1.0, s.r.data(), c);  // R += Gᵀ·G
                if (roots) {
                    floored_ += detail::inverse_root(s.l, 4.0, o_.relative_floor, s.l_root);
                    floored_ += detail::inverse_root(s.r, 4.0, o_.relative_floor, s.r_root);
                    roots_ += 2;
                }
                lapack::gemm(false, false, r, c, r, 1.0, s.l_root.data(), r, g.data(), c, 0.0, s.lg.data(), c);
                lapack::gemm(false, false, r, c, c, 1.0, s.lg.data(), c, s.r_root.data(), c, 0.0, s.p.data(), c);
                return;
            case form::vector_full:
                lapack::gemm(false, true, d, d, 1, 1.0, g.data(), 1, g.data(), 1, 1.0, s.l.data(), d);  // L += g·gᵀ
                if (roots) {
                    floored_ += detail::inverse_root(s.l, 2.0, o_.relative_floor, s.l_root);
                    ++roots_;
                }
                lapack::gemm(false, false, d, 1, d, 1.0, s.l_root.data(), d, g.data(), 1, 0.0, s.p.data(), 1);
                return;
            case form::vector_diagonal:
                for (std::size_t k = 0; k < d; ++k) {
                    const double gk = g.data()[k];
                    s.l.data()[k] += gk * gk;
                    s.p.data()[k] = gk / std::sqrt(s.l.data()[k]);
                }
                return;
        }
    }

    // ‖s_graft‖² of block b, advancing the grafted method's state by the gradient g_[b].
    double graft_step(std::size_t b) {
        if (o_.graft == shampoo_graft::adagrad)
            return detail::adagrad_block(g_[b], graft_a_[b], o_.learning_rate, o_.graft_epsilon, step_[b]);
        const double b1 = o_.graft_beta1, b2 = o_.graft_beta2;
        const double c1 = 1.0 - std::pow(b1, double(t_)), c2 = 1.0 - std::pow(b2, double(t_));
        double sq = 0.0;
        const double* gp = g_[b].data();
        double* mp = graft_m_[b].data();
        double* vp = graft_a_[b].data();
        for (std::size_t k = 0, n = g_[b].size(); k < n; ++k) {
            mp[k] = b1 * mp[k] + (1.0 - b1) * gp[k];
            vp[k] = b2 * vp[k] + (1.0 - b2) * gp[k] * gp[k];
            const double s = o_.learning_rate * (mp[k] / c1) / (std::sqrt(vp[k] / c2) + o_.graft_epsilon);
            sq += s * s;
        }
        return sq;
    }

    static double frobenius(const tensor& t) {
        double s = 0.0;
        for (double v : t) s += v * v;
        return std::sqrt(s);
    }

    shampoo_options o_;
    param_set g_, step_, graft_a_, graft_m_;  // graft_a_: Adagrad's a, or Adam's v
    std::vector<block> blocks_;
    std::size_t t_ = 0, floored_ = 0, roots_ = 0;
};

}  // namespace gateaux
