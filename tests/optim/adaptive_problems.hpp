#pragma once
// Small problems for the tests of Adagrad, AdaHessian and Shampoo (tests/optim/adagrad.cpp,
// adahessian.cpp, shampoo.cpp): a linear layer x·W + b under least squares, mean ½‖x·W + b − y‖²,
// and under softmax cross-entropy, mean cross_entropy(x·W + b, y), in a few sizes. Each comes as
// a graph objective (what the optimizers run on) and as hand-written formulas for its loss,
// gradient and Hessian-vector product (what the reference update rules are computed from):
//
//   O = X·W + 1·b,  R = O − Y (least squares) or softmax(O) − Y (Y one-hot),
//   ∇_W = Xᵀ·R/B,   ∇_b = 1ᵀ·R/B,
//   H·(V_W, v_b):   dO = X·V_W + 1·v_b,  dR = dO (least squares) or P ⊙ (dO − rowsum(P ⊙ dO)),
//                   (Xᵀ·dR/B, 1ᵀ·dR/B).
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"

namespace gateaux::testing::adaptive {

template <dim N, dim M>
struct least_squares_graph {
    static constexpr auto x = input<"x", N>;
    static constexpr auto y = target<"y", M>;
    static constexpr auto W = param<"W", N, M>;
    static constexpr auto b = bias<"b", M>;
    static constexpr auto loss = mse(x * W + b, y);
};
template <dim N, dim M>
struct softmax_graph {
    static constexpr auto x = input<"x", N>;
    static constexpr auto y = target<"y", M>;
    static constexpr auto W = param<"W", N, M>;
    static constexpr auto b = bias<"b", M>;
    static constexpr auto loss = mean(cross_entropy(x * W + b, y));
};

enum class kind { least_squares, softmax };

struct problem {
    kind k = kind::least_squares;
    std::size_t rows = 0, n = 0, m = 0;
    tensor X, Y;
    std::string name;

    // Least squares: Y = X·W* + 1·b* + noise·N(0, 1) (columns of X of scales 10^u, u ∈ [−1, 1], so
    // that the coordinates' curvatures differ by up to 1e4). Softmax: X Gaussian, labels uniform
    // among m (not separable at these sizes: a finite minimum).
    problem(kind kind_, std::size_t rows_, std::size_t n_, std::size_t m_, std::uint64_t seed, double noise = 0.1)
        : k(kind_), rows(rows_), n(n_), m(m_) {
        rng gen(seed);
        std::normal_distribution<double> N01(0.0, 1.0);
        std::uniform_real_distribution<double> U(-1.0, 1.0);
        X = tensor::from_shape({rows, n});
        Y = xt::zeros<double>({rows, m});
        if (k == kind::least_squares) {
            for (std::size_t j = 0; j < n; ++j) {
                const double s = std::pow(10.0, U(gen));
                for (std::size_t r = 0; r < rows; ++r) X(r, j) = s * N01(gen);
            }
            const tensor W = gaussian(n, m, gen), b = gaussian(1, m, gen);
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < m; ++j) {
                    double o = b(0, j) + noise * N01(gen);
                    for (std::size_t i = 0; i < n; ++i) o += X(r, i) * W(i, j);
                    Y(r, j) = o;
                }
        } else {
            X = gaussian(rows, n, gen);
            std::uniform_int_distribution<std::size_t> label(0, m - 1);
            for (std::size_t r = 0; r < rows; ++r) Y(r, label(gen)) = 1.0;
        }
        name = std::string(k == kind::least_squares ? "least squares " : "softmax ") + std::to_string(rows) + "×" +
               std::to_string(n) + "→" + std::to_string(m) + ", seed " + std::to_string(seed);
    }

    param_set start(std::uint64_t seed) const {
        rng gen(seed + 1000);
        return param_set({gaussian(n, m, gen, 0.5), gaussian(1, m, gen, 0.5)});
    }

    // R (or dR for a direction v, with the point p), B×m.
    tensor outputs(const param_set& p) const {
        tensor o = tensor::from_shape({rows, m});
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < m; ++j) {
                double s = p[1](0, j);
                for (std::size_t i = 0; i < n; ++i) s += X(r, i) * p[0](i, j);
                o(r, j) = s;
            }
        return o;
    }
    tensor softmax_of(const tensor& o) const {
        tensor pr = o;
        for (std::size_t r = 0; r < rows; ++r) {
            double top = o(r, 0), z = 0.0;
            for (std::size_t j = 1; j < m; ++j) top = std::max(top, o(r, j));
            for (std::size_t j = 0; j < m; ++j) z += (pr(r, j) = std::exp(o(r, j) - top));
            for (std::size_t j = 0; j < m; ++j) pr(r, j) /= z;
        }
        return pr;
    }
    // (Xᵀ·R/B, 1ᵀ·R/B)
    param_set pull_back(const tensor& r) const {
        param_set g({tensor(xt::zeros<double>({n, m})), tensor(xt::zeros<double>({std::size_t(1), m}))});
        for (std::size_t b = 0; b < rows; ++b)
            for (std::size_t j = 0; j < m; ++j) {
                for (std::size_t i = 0; i < n; ++i) g[0](i, j) += X(b, i) * r(b, j) / double(rows);
                g[1](0, j) += r(b, j) / double(rows);
            }
        return g;
    }

    double loss(const param_set& p) const {
        const tensor o = outputs(p);
        double s = 0.0;
        if (k == kind::least_squares) {
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < m; ++j) s += 0.5 * (o(r, j) - Y(r, j)) * (o(r, j) - Y(r, j));
        } else {
            const tensor pr = softmax_of(o);
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < m; ++j) s -= Y(r, j) * std::log(pr(r, j));
        }
        return s / double(rows);
    }
    param_set gradient(const param_set& p) const {
        tensor r = k == kind::least_squares ? outputs(p) : softmax_of(outputs(p));
        r -= Y;
        return pull_back(r);
    }
    param_set hessian_vector(const param_set& p, const param_set& v) const {
        const tensor dO = outputs(v);
        if (k == kind::least_squares) return pull_back(dO);
        const tensor pr = softmax_of(outputs(p));
        tensor dR = tensor::from_shape({rows, m});
        for (std::size_t r = 0; r < rows; ++r) {
            double s = 0.0;
            for (std::size_t j = 0; j < m; ++j) s += pr(r, j) * dO(r, j);
            for (std::size_t j = 0; j < m; ++j) dR(r, j) = pr(r, j) * (dO(r, j) - s);
        }
        return pull_back(dR);
    }

    // The least-squares minimiser (W*, b*) from the normal equations of [X 1] (LAPACK lstsq).
    param_set least_squares_solution() const {
        tensor a = tensor::from_shape({rows, n + 1});
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t i = 0; i < n; ++i) a(r, i) = X(r, i);
            a(r, n) = 1.0;
        }
        const tensor s = std::get<0>(xt::linalg::lstsq(a, Y));
        param_set out({tensor(xt::zeros<double>({n, m})), tensor(xt::zeros<double>({std::size_t(1), m}))});
        for (std::size_t j = 0; j < m; ++j) {
            for (std::size_t i = 0; i < n; ++i) out[0](i, j) = s(i, j);
            out[1](0, j) = s(n, j);
        }
        return out;
    }
};

// check(problem, objective&) for least squares in three sizes (2→3 on 10 rows, 3→2 on 16, 4→4 on
// 24) and softmax regression in two (2→3, 4→4), with the given seeds. Each size is a graph type of
// its own, whose capabilities are all compiled (about 2 s each): tests that need a single problem
// take one of these sizes.
template <class Check>
void for_each_problem(const std::vector<std::uint64_t>& seeds, Check check) {
    auto run = [&]<dim N, dim M, bool Softmax>(std::size_t rows) {
        for (const std::uint64_t seed : seeds) {
            {
                using G = least_squares_graph<N, M>;
                const problem p(kind::least_squares, rows, N, M, seed);
                auto f = make_objective(G::loss, wrt(G::W, G::b));
                f.set_data(G::x, p.X).set_data(G::y, p.Y);
                check(p, f);
            }
            if constexpr (Softmax) {
                using G = softmax_graph<N, M>;
                const problem p(kind::softmax, rows, N, M, seed);
                auto f = make_objective(G::loss, wrt(G::W, G::b));
                f.set_data(G::x, p.X).set_data(G::y, p.Y);
                check(p, f);
            }
        }
    };
    run.template operator()<2, 3, true>(10);
    run.template operator()<3, 2, false>(16);
    run.template operator()<4, 4, true>(24);
}

// All numbers of a parameter set, and distances between sets relative to max(1, max |b|).
inline double relative_distance(const param_set& a, const param_set& b) {
    double d = 0.0, scale = 1.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t k = 0; k < a[i].size(); ++k) {
            d = std::max(d, std::abs(a[i].data()[k] - b[i].data()[k]));
            scale = std::max(scale, std::abs(b[i].data()[k]));
        }
    return d / scale;
}

// The points x₀ … x_N the optimizer visits under minimize.
inline std::vector<param_set> iterates(optimizer& opt, objective& f, param_set x, std::size_t steps) {
    std::vector<param_set> xs{x};
    minimize(f, x, opt, quiet(steps, 0.0), [&](const iteration_record&, const param_set& p) {
        xs.push_back(p);
        return true;
    });
    return xs;
}

}  // namespace gateaux::testing::adaptive
