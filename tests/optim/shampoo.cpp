// Tests for optim/shampoo.hpp: the preconditioned step of a weight against the dense Kronecker form
// (L ⊗ R)^{−1/4}·vec(G) built here from an eigendecomposition of L ⊗ R itself, the statistics
// L and R, the roots kept between refreshes, grafting to Adagrad and Adam (the norm of each
// parameter's step), both forms for vectors, convergence to a least-squares solution, and bad
// options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/shampoo.hpp>

#include "adaptive_problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;
using namespace gateaux::testing::adaptive;

// A^{−1/p} of a symmetric A by its eigendecomposition.
tensor dense_inverse_root(const tensor& a, double p) {
    const auto [lambda, q] = xt::linalg::eigh(a);
    const std::size_t n = lambda.size();
    tensor out = xt::zeros<double>({n, n});
    for (std::size_t k = 0; k < n; ++k) {
        const double s = std::pow(lambda(k), -1.0 / p);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) out(i, j) += q(i, k) * s * q(j, k);
    }
    return out;
}

// A ⊗ B
tensor kron(const tensor& a, const tensor& b) {
    const std::size_t ra = a.shape(0), ca = a.shape(1), rb = b.shape(0), cb = b.shape(1);
    tensor out = tensor::from_shape({ra * rb, ca * cb});
    for (std::size_t i = 0; i < ra; ++i)
        for (std::size_t j = 0; j < ca; ++j)
            for (std::size_t k = 0; k < rb; ++k)
                for (std::size_t l = 0; l < cb; ++l) out(i * rb + k, j * cb + l) = a(i, j) * b(k, l);
    return out;
}

// y = M·vec(g) reshaped like g (vec row-major)
tensor mat_vec(const tensor& m, const tensor& g) {
    tensor out = xt::zeros<double>(g.shape());
    const std::size_t n = g.size();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) out.data()[i] += m(i, j) * g.data()[j];
    return out;
}

// out += G·Gᵀ, or Gᵀ·G (columns = true)
void add_gram(const tensor& g, bool columns, tensor& out) {
    const std::size_t r = g.shape(0), c = g.shape(1);
    if (columns) {
        for (std::size_t i = 0; i < c; ++i)
            for (std::size_t j = 0; j < c; ++j)
                for (std::size_t k = 0; k < r; ++k) out(i, j) += g(k, i) * g(k, j);
    } else {
        for (std::size_t i = 0; i < r; ++i)
            for (std::size_t j = 0; j < r; ++j)
                for (std::size_t k = 0; k < c; ++k) out(i, j) += g(i, k) * g(j, k);
    }
}

double frob(const tensor& t) {
    double s = 0.0;
    for (double v : t) s += v * v;
    return std::sqrt(s);
}

// max |a − b| / max |b| over all entries
double rel(const tensor& a, const tensor& b) {
    double d = 0.0, s = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        d = std::max(d, std::abs(a.data()[k] - b.data()[k]));
        s = std::max(s, std::abs(b.data()[k]));
    }
    return d / s;
}

// Shampoo written out: the weight W (block 0, r×c with r, c > 1) by the dense Kronecker form,
// P = K^{−1/4}·vec(G) with K = L ⊗ R taken at the last refresh; the bias (block 1, 1×m) by
// a ← a + g², P = g/√a (diagonal) or P = L^{−1/2}·g (full). Grafting per block to Adagrad's or
// Adam's step norm.
struct reference_run {
    std::vector<param_set> xs, directions;
    std::vector<tensor> direct;  // the weight's P from the eigendecomposition of L ⊗ R itself (at refreshes)
    std::vector<std::vector<double>> graft_norms;  // per step, per block
    std::vector<tensor> lefts, rights;             // of the weight, after each step
};
// With `follow`, step t starts from follow[t − 1] (the optimizer's iterate) instead of the
// reference's own: each step is then compared from the same point, free of the drift that
// rounding in roots of L and R (condition numbers up to 1e6 here) accumulates over a run.
reference_run reference_shampoo(const problem& p, param_set x, const shampoo_options& o, std::size_t steps,
                                const std::vector<param_set>* follow = nullptr) {
    reference_run out;
    out.xs.push_back(x);
    const std::size_t r = p.n, c = p.m;
    tensor L = o.epsilon * xt::eye<double>(r), R = o.epsilon * xt::eye<double>(c);
    tensor Lb = o.epsilon * xt::eye<double>(c), a = xt::zeros<double>({std::size_t(1), c});
    a.fill(o.epsilon);
    tensor K_root, K_direct, Lb_root;
    param_set ga = x.zeros_like(), gm = x.zeros_like();  // grafting: Adagrad's a or Adam's v; Adam's m
    for (std::size_t t = 1; t <= steps; ++t) {
        if (follow != nullptr) x = (*follow)[t - 1];
        const param_set g = p.gradient(x);
        const tensor& G = g[0];
        add_gram(G, false, L);
        add_gram(G, true, R);
        add_gram(g[1], true, Lb);
        const bool refresh = (t - 1) % o.root_every == 0;
        if (refresh) {
            // (L ⊗ R)^{−1/4} = L^{−1/4} ⊗ R^{−1/4}, from the eigendecompositions of L and R. The
            // eigendecomposition of L ⊗ R itself (kept in `direct`) agrees where L ⊗ R is well
            // conditioned; its condition number is cond(L)·cond(R), 1e12 and more on the
            // badly scaled least-squares problems, where it loses ~1e-9 of the direction.
            K_root = kron(dense_inverse_root(L, 4.0), dense_inverse_root(R, 4.0));
            K_direct = dense_inverse_root(kron(L, R), 4.0);
            Lb_root = dense_inverse_root(Lb, 2.0);
        }
        param_set P = x.zeros_like();
        P[0] = mat_vec(K_root, G);
        if (o.vectors == shampoo_vectors::full) {
            P[1] = mat_vec(Lb_root, g[1]);
        } else {
            for (std::size_t j = 0; j < c; ++j) {
                a(0, j) += g[1](0, j) * g[1](0, j);
                P[1](0, j) = g[1](0, j) / std::sqrt(a(0, j));
            }
        }
        std::vector<double> norms;
        for (std::size_t b = 0; b < 2; ++b) {
            double scale = -o.learning_rate;
            if (o.graft != shampoo_graft::none) {
                double sq = 0.0;
                for (std::size_t k = 0; k < g[b].size(); ++k) {
                    const double gk = g[b].data()[k];
                    double s;
                    if (o.graft == shampoo_graft::adagrad) {
                        ga[b].data()[k] += gk * gk;
                        s = o.learning_rate * gk / (std::sqrt(ga[b].data()[k]) + o.graft_epsilon);
                    } else {
                        double& m = gm[b].data()[k];
                        double& v = ga[b].data()[k];
                        m = o.graft_beta1 * m + (1.0 - o.graft_beta1) * gk;
                        v = o.graft_beta2 * v + (1.0 - o.graft_beta2) * gk * gk;
                        const double mh = m / (1.0 - std::pow(o.graft_beta1, double(t)));
                        const double vh = v / (1.0 - std::pow(o.graft_beta2, double(t)));
                        s = o.learning_rate * mh / (std::sqrt(vh) + o.graft_epsilon);
                    }
                    sq += s * s;
                }
                norms.push_back(std::sqrt(sq));
                scale = -std::sqrt(sq) / frob(P[b]);
            }
            for (std::size_t k = 0; k < x[b].size(); ++k) x[b].data()[k] += scale * P[b].data()[k];
        }
        out.xs.push_back(x);
        out.directions.push_back(P);
        out.direct.push_back(mat_vec(K_direct, G));
        out.graft_norms.push_back(norms);
        out.lefts.push_back(L);
        out.rights.push_back(R);
    }
    return out;
}

struct run {
    std::vector<param_set> xs, directions;
    std::vector<tensor> lefts, rights;
    std::vector<std::size_t> roots;
};
run run_shampoo(shampoo& opt, objective& f, param_set x, std::size_t steps) {
    run out;
    out.xs.push_back(x);
    minimize(f, x, opt, quiet(steps, 0.0), [&](const iteration_record&, const param_set& q) {
        out.xs.push_back(q);
        out.directions.push_back(param_set({opt.direction(0), opt.direction(1)}));
        out.lefts.push_back(opt.left(0));
        out.rights.push_back(opt.right(0));
        out.roots.push_back(opt.eigendecompositions());
        return true;
    });
    return out;
}

}  // namespace

TEST_CASE("shampoo's step is −η·(L ⊗ R)^{−1/4}·vec G for a weight, with L, R the sums of G·Gᵀ and Gᵀ·G",
          "[optim][shampoo]") {
    const std::vector<shampoo_options> settings{
        shampoo_options{.learning_rate = 0.1},
        shampoo_options{.learning_rate = 0.05, .epsilon = 1e-2, .vectors = shampoo_vectors::full},
    };
    double worst_dir = 0.0, worst_x = 0.0, worst_stats = 0.0, worst_direct = 0.0, worst_direct_ls = 0.0, worst_drift = 0.0, worst_own = 0.0;
    for_each_problem({1, 2}, [&](const problem& p, objective& f) {
        for (const shampoo_options& o : settings) {
            INFO(p.name << ", η = " << o.learning_rate << ", ε = " << o.epsilon);
            shampoo opt(o);
            const run got = run_shampoo(opt, f, p.start(1), 10);
            const reference_run want = reference_shampoo(p, p.start(1), o, 10, &got.xs);
            const reference_run free = reference_shampoo(p, p.start(1), o, 10);
            REQUIRE(got.xs.size() == want.xs.size());
            const double drift = relative_distance(got.xs.back(), free.xs.back());
            worst_drift = std::max(worst_drift, drift);
            CHECK(drift <= 1e-8);
            CHECK(opt.block_form(0) == shampoo::form::matrix);
            CHECK(opt.block_form(1) == (o.vectors == shampoo_vectors::full ? shampoo::form::vector_full
                                                                           : shampoo::form::vector_diagonal));
            for (std::size_t t = 0; t < want.directions.size(); ++t) {
                INFO("step " << t + 1);
                // The map (L, R, G) → P, from the optimizer's own L and R after this step and the
                // hand-written gradient at its point: the dense Kronecker form to 1e-10.
                const tensor G = p.gradient(got.xs[t])[0];
                const tensor expect =
                    mat_vec(kron(dense_inverse_root(got.lefts[t], 4.0), dense_inverse_root(got.rights[t], 4.0)), G);
                const double dir = std::max(rel(got.directions[t][0], expect), rel(got.directions[t][1], want.directions[t][1]));
                // The whole step from the reference's own L and R (accumulated here from the same
                // points): rounding in L and R of condition numbers up to 1e7 moves the roots by
                // up to ~1e-9 of the direction.
                const double dir_own = rel(got.directions[t][0], want.directions[t][0]);
                worst_own = std::max(worst_own, dir_own);
                CHECK(dir_own <= 1e-8);
                const double stats = std::max(rel(got.lefts[t], want.lefts[t]), rel(got.rights[t], want.rights[t]));
                const double dx = relative_distance(got.xs[t + 1], want.xs[t + 1]);
                worst_dir = std::max(worst_dir, dir);
                const double direct = rel(got.directions[t][0], want.direct[t]);
                if (p.k == kind::softmax) {
                    worst_direct = std::max(worst_direct, direct);
                    CHECK(direct <= 1e-10);
                } else {
                    worst_direct_ls = std::max(worst_direct_ls, direct);
                }
                worst_stats = std::max(worst_stats, stats);
                worst_x = std::max(worst_x, dx);
                CHECK(dir <= 1e-10);
                CHECK(stats <= 1e-13);
                CHECK(dx <= 1e-8);
            }
            CHECK(opt.floored_eigenvalues() == 0);
        }
    });
    std::printf("shampoo against the dense Kronecker form L^{-1/4} ⊗ R^{-1/4}: direction from its L, R %.2e; from L, R "
                "accumulated here %.2e; one step %.2e; L and R %.2e; against eigh(L ⊗ R): %.2e (softmax), %.2e "
                "(least squares, cond(L ⊗ R) ≥ 1e12); 10 steps run apart: %.2e\n",
                worst_dir, worst_own, worst_x, worst_stats, worst_direct, worst_direct_ls, worst_drift);
}

TEST_CASE("shampoo keeps its roots between refreshes while L and R grow every step", "[optim][shampoo]") {
    // root_every = 3: roots at steps 1, 4, 7; at the others the step uses the last refresh's
    // roots with the current gradient, which differs from fresh roots.
    double smallest_gap = 1.0;
    for_each_problem({3}, [&](const problem& p, objective& f) {
        const shampoo_options stale{.learning_rate = 0.05, .root_every = 3};
        shampoo opt(stale);
        const run got = run_shampoo(opt, f, p.start(3), 9);
        const reference_run want = reference_shampoo(p, p.start(3), stale, 9, &got.xs);
        for (std::size_t t = 0; t < 9; ++t) {
            INFO(p.name << ", step " << t + 1);
            CHECK(rel(got.directions[t][0], want.directions[t][0]) <= 1e-8);
            CHECK(relative_distance(got.xs[t + 1], want.xs[t + 1]) <= 1e-8);
            CHECK(rel(got.lefts[t], want.lefts[t]) <= 1e-13);
            CHECK(rel(got.rights[t], want.rights[t]) <= 1e-13);
            CHECK(got.roots[t] == 2 * (t / 3 + 1));
            // The roots of L and R as they were at the last refresh (step 1, 4 or 7), on this
            // step's gradient; and fresh roots of this step's L and R: equal at a refresh,
            // different between.
            const std::size_t last = t - t % 3;
            const tensor G = p.gradient(got.xs[t])[0];
            const tensor stale_p =
                mat_vec(kron(dense_inverse_root(got.lefts[last], 4.0), dense_inverse_root(got.rights[last], 4.0)), G);
            const tensor fresh =
                mat_vec(kron(dense_inverse_root(got.lefts[t], 4.0), dense_inverse_root(got.rights[t], 4.0)), G);
            CHECK(rel(got.directions[t][0], stale_p) <= 1e-10);
            const double gap = rel(got.directions[t][0], fresh);
            if (t % 3 == 0)
                CHECK(gap <= 1e-10);
            else
                CHECK(gap >= 1e-3);
            if (t % 3 != 0) smallest_gap = std::min(smallest_gap, gap);
        }
    });
    std::printf("shampoo, roots every 3 steps: between refreshes the step differs from fresh roots' by at least %.2e\n",
                smallest_gap);
}

TEST_CASE("shampoo grafted to Adagrad or Adam takes each parameter's step norm from the grafted method",
          "[optim][shampoo]") {
    const std::vector<shampoo_options> settings{
        shampoo_options{.learning_rate = 0.3, .graft = shampoo_graft::adagrad},
        shampoo_options{.learning_rate = 0.01, .root_every = 2, .graft = shampoo_graft::adam},
        shampoo_options{.learning_rate = 0.01, .graft = shampoo_graft::adam, .graft_epsilon = 1e-3, .graft_beta1 = 0.0,
                        .graft_beta2 = 0.99},
    };
    double worst_norm = 0.0, worst_x = 0.0;
    for_each_problem({4}, [&](const problem& p, objective& f) {
        for (const shampoo_options& o : settings) {
            INFO(p.name << ", graft " << (o.graft == shampoo_graft::adam ? "adam" : "adagrad"));
            shampoo opt(o);
            const run got = run_shampoo(opt, f, p.start(4), 8);
            const reference_run want = reference_shampoo(p, p.start(4), o, 8, &got.xs);
            for (std::size_t t = 0; t < 8; ++t)
                for (std::size_t b = 0; b < 2; ++b) {
                    // ‖x_{t+1} − x_t‖ of the block, against the grafted method's step norm.
                    tensor step = got.xs[t + 1][b] - got.xs[t][b];
                    const double e = std::abs(frob(step) - want.graft_norms[t][b]) / want.graft_norms[t][b];
                    // and its direction is −P/‖P‖
                    const tensor dir = -got.directions[t][b] / frob(got.directions[t][b]);
                    const tensor unit = step / frob(step);
                    const double d = rel(unit, dir);
                    worst_norm = std::max(worst_norm, e);
                    CHECK(e <= 1e-12);
                    CHECK(d <= 1e-12);
                }
            const double dx = relative_distance(got.xs.back(), want.xs.back());
            worst_x = std::max(worst_x, dx);
            CHECK(dx <= 1e-10);
        }
    });
    std::printf("shampoo grafting: worst relative error of a block's step norm %.2e, of the iterates %.2e\n", worst_norm,
                worst_x);
}

TEST_CASE("shampoo converges to the least-squares solution", "[optim][shampoo]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        using G = least_squares_graph<4, 4>;  // a size the tests above have instantiated
        const problem p(kind::least_squares, 40, 4, 4, seed);
        auto f = make_objective(G::loss, wrt(G::W, G::b));
        f.set_data(G::x, p.X).set_data(G::y, p.Y);
        const param_set best = p.least_squares_solution();
        for (const shampoo_graft graft : {shampoo_graft::none, shampoo_graft::adagrad}) {
            param_set x = p.start(seed);
            shampoo opt(shampoo_options{.learning_rate = graft == shampoo_graft::none ? 1.0 : 0.5, .graft = graft});
            std::size_t reached = 0;
            const result r = minimize(f, x, opt, quiet(5000, 0.0), [&](const iteration_record& rec, const param_set& q) {
                if (relative_distance(q, best) <= 1e-8) reached = rec.iteration;
                return reached == 0;
            });
            std::printf("%s, %s: ‖θ − θ*‖∞ ≤ 1e-8 after %zu iterations (%zu eigendecompositions), final %.2e\n", opt.name().c_str(),
                        p.name.c_str(), reached, opt.eigendecompositions(), relative_distance(x, best));
            INFO(p.name << ", " << opt.name() << ": " << to_string(r.reason));
            CHECK(reached > 0);
        }
    }
}

TEST_CASE("shampoo floors eigenvalues lost to rounding when ε is tiny beside L", "[optim][shampoo]") {
    // W of 3×2: G·Gᵀ has rank 2, so after the first step L = εI + G·Gᵀ has an eigenvalue ε = 1e-30,
    // far below rounding (1e-16·‖L‖): raised to relative_floor·λ_max, which bounds what L^{−1/4}
    // amplifies by relative_floor^{−1/4} = 1e3.
    using G = least_squares_graph<3, 2>;
    const problem p(kind::least_squares, 16, 3, 2, 5);
    auto f = make_objective(G::loss, wrt(G::W, G::b));
    f.set_data(G::x, p.X).set_data(G::y, p.Y);
    param_set x = p.start(5);
    shampoo opt(shampoo_options{.learning_rate = 0.01, .epsilon = 1e-30});
    const result r = minimize(f, x, opt, quiet(1, 0.0));
    CHECK(opt.floored_eigenvalues() >= 1);
    CHECK(x.finite());
    CHECK(r.reason == stop_reason::max_iterations);
    // With ε → 0 the first step's P = (G·Gᵀ)^{−1/4}·G·(Gᵀ·G)^{−1/4} = U·Vᵀ for G = U·Σ·Vᵀ (rank 2):
    // ‖P‖ = √2. G has no component along the floored direction, so the floor leaves P as it is.
    std::printf("shampoo at ε = 1e-30: %zu eigenvalues floored, ‖P‖ − √2 = %.2e\n", opt.floored_eigenvalues(),
                frob(opt.direction(0)) - std::sqrt(2.0));
    CHECK(frob(opt.direction(0)) == Approx(std::sqrt(2.0)).epsilon(1e-6));
}

TEST_CASE("shampoo on minibatches that share the minimiser converges to it", "[optim][shampoo][minibatch]") {
    // y = x·W* + b* exactly: every batch's loss is minimised at (W*, b*).
    for (const std::uint64_t seed : {1, 2, 3}) {
        using G = least_squares_graph<3, 2>;
        const problem p(kind::least_squares, 48, 3, 2, seed, 0.0);
        auto f = make_objective(G::loss, wrt(G::W, G::b));
        f.set_data(G::x, p.X).set_data(G::y, p.Y).use_minibatches(8, seed + 20);
        const param_set best = p.least_squares_solution();
        param_set x = p.start(seed);
        shampoo opt(shampoo_options{.learning_rate = 0.5, .graft = shampoo_graft::adagrad});
        std::size_t reached = 0;
        const result r = minimize(f, x, opt, quiet(30000, 0.0), [&](const iteration_record& rec, const param_set& q) {
            if (relative_distance(q, best) <= 1e-8) reached = rec.iteration;
            return reached == 0;
        });
        std::printf("%s, minibatches of 8 of %s: ‖θ − θ*‖∞ ≤ 1e-8 after %zu iterations\n", opt.name().c_str(), p.name.c_str(),
                    reached);
        INFO(p.name << ": " << to_string(r.reason));
        CHECK(reached > 0);
    }
}

TEST_CASE("shampoo rejects bad options with gateaux::error naming the option", "[optim][shampoo]") {
    const double nan_v = std::numeric_limits<double>::quiet_NaN(), inf_v = std::numeric_limits<double>::infinity();
    for (double v : {0.0, -0.1, nan_v, inf_v}) {
        CHECK_THROWS_WITH(shampoo(shampoo_options{.learning_rate = v}), Catch::Contains("gateaux::shampoo: learning_rate"));
        CHECK_THROWS_WITH(shampoo(shampoo_options{.epsilon = v}), Catch::Contains("gateaux::shampoo: epsilon"));
        CHECK_THROWS_WITH(shampoo(shampoo_options{.graft_epsilon = v}), Catch::Contains("gateaux::shampoo: graft_epsilon"));
    }
    for (double v : {0.0, 1.0, -0.1, nan_v})
        CHECK_THROWS_WITH(shampoo(shampoo_options{.relative_floor = v}), Catch::Contains("gateaux::shampoo: relative_floor"));
    for (double v : {-0.1, 1.0, nan_v}) {
        CHECK_THROWS_WITH(shampoo(shampoo_options{.graft_beta1 = v}), Catch::Contains("gateaux::shampoo: graft_beta1"));
        CHECK_THROWS_WITH(shampoo(shampoo_options{.graft_beta2 = v}), Catch::Contains("gateaux::shampoo: graft_beta2"));
    }
    CHECK_THROWS_WITH(shampoo(shampoo_options{.root_every = 0}), Catch::Contains("gateaux::shampoo: root_every"));
    CHECK_NOTHROW(shampoo(shampoo_options{.graft = shampoo_graft::adam, .graft_beta1 = 0.0}));
}
