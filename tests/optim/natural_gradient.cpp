// Tests of include/gateaux/optim/natural_gradient.hpp: the low-rank (Woodbury) natural-gradient
// direction (C + λI)⁻¹·g and the natural_gradient optimizer.
//
//   - the objective's Fisher and Gauss–Newton products against explicit matrices assembled here
//     from per-sample Jacobians (columns J·e_p of the network output by jvp programs) and output
//     curvatures written out by hand: empirical Fisher Σ_b g·J_bᵀ·s_b·s_bᵀ·J_b, Gauss–Newton
//     Σ_b g·J_bᵀ·Λ_b·J_b, at 1e-12 (measured: 3e-16). The empirical F·v against per-sample
//     gradients on one-row batches is tests/optim/objective_fisher.cpp's; here the Gauss–Newton
//     and the true Fisher are added;
//   - softmax cross-entropy: the true Fisher, the expectation over y ~ Categorical(p_b) written
//     as a sum over the classes, equals the Gauss–Newton matrix (1e-12);
//   - the Woodbury direction against a dense LAPACK solve of (C + λI)·d = g with C assembled
//     column by column from the objective's products (fisher_vector for the empirical and sampled
//     estimates, gauss_newton_vector for exact), over row counts with P both below and above
//     N = B·k, three seeds, λ ∈ {1e-3, 1e-2, 1}, networks with and without biases, sum and mean
//     losses, and curvature samples (scale rows/sample): 171 cases at 1e-10 (measured: 2e-11; with
//     λ = 1e-4, not tested, up to 2e-10 on the summed loss, where C + λI is ill conditioned);
//   - the exact Gauss–Newton factor of two-layer networks (gauss_newton_factors, any depth)
//     against a dense solve with C from gauss_newton_vector, mean cross-entropy and summed squared
//     error, N = B·k below and above P, curvature samples: 54 cases at 1e-10 (measured: 2.2e-12);
//   - the optimizer trains a 4-6-3 tanh classifier on 90 rows of three Gaussian blobs to a mean
//     cross-entropy below 0.05 on three seeds (measured: within 20 iterations sampled, 26
//     empirical), on minibatches of 30 with curvature samples of 10 cuts the whole set's loss
//     below a tenth in 60 iterations (measured: to 0.058 of its start); with the exact
//     Gauss–Newton factor through options::factor the classifier reaches 0.05 too (measured:
//     within 13 iterations), and a softmax regression with the exact curvature of the statistics,
//     with and without line search (within 5 iterations);
//   - refusals: λ ≤ 0, NaN or ∞, an objective without layer_statistics, exact on two layers, g of
//     the wrong shape, bad options, each naming what is wrong and leaving the caller's data as it
//     was.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gateaux/optim/natural_gradient.hpp>

#include "fisher_networks.hpp"

namespace {

using namespace gateaux;
using namespace fisher_networks;

// Softmax regression, summed: one layer whose net is the loss's output (where exact is available).
namespace one {
constexpr auto x = input<"x", 5>;
constexpr auto y = target<"y", 3>;
constexpr auto W = param<"W", 5, 3>;
constexpr auto b = bias<"b", 3>;
constexpr auto loss = sum(cross_entropy(x * W + b, y));
constexpr auto w = wrt(W, b);
constexpr bool classes = true;
}  // namespace one

// The P×P matrix whose columns are product(e_p), p over the flattened parameters.
template <class Product>
tensor dense(const param_set& like, Product product) {
    const std::size_t P = like.count();
    tensor M = xt::zeros<double>({P, P});
    std::vector<double> e(P, 0.0);
    param_set v = like.zeros_like(), out;
    for (std::size_t p = 0; p < P; ++p) {
        std::fill(e.begin(), e.end(), 0.0);
        e[p] = 1.0;
        detail::newton::unflatten(e.data(), v);
        product(v, out);
        const std::vector<double> col = flatten(out);
        for (std::size_t i = 0; i < P; ++i) M(i, p) = col[i];
    }
    return M;
}

std::vector<double> softmax_row(const tensor& o, std::size_t b) {
    const std::size_t n = o.shape(1);
    double mx = -std::numeric_limits<double>::infinity(), s = 0.0;
    for (std::size_t j = 0; j < n; ++j) mx = std::max(mx, o(b, j));
    std::vector<double> p(n);
    for (std::size_t j = 0; j < n; ++j) s += (p[j] = std::exp(o(b, j) - mx));
    for (double& v : p) v /= s;
    return p;
}

// Per-sample Jacobians of the network output: J[b] is n_o×P, column p = (J·e_p)_b, from a jvp program.
struct jacobians {
    tensor o;                    // B×n_o, the output at θ
    std::vector<tensor> J;       // per sample, n_o×P
};
template <class Loss, class... P, class XL>
jacobians output_jacobians(Loss loss, params<P...> w, XL xl, const tensor& X, const param_set& theta) {
    constexpr auto O = output_of(loss);
    constexpr auto jv = jvp(O, w);
    auto prog = compile(O, jv);
    prog.bind(xl, X);
    bind_all(prog, w, theta);
    const std::size_t np = theta.count();
    std::vector<double> e(np, 0.0);
    param_set v = theta.zeros_like();
    jacobians out;
    for (std::size_t p = 0; p < np; ++p) {
        std::fill(e.begin(), e.end(), 0.0);
        e[p] = 1.0;
        detail::newton::unflatten(e.data(), v);
        std::size_t i = 0;
        (prog.bind(direction(P{}), v[i++]), ...);
        prog.run();
        const tensor& t = prog[jv];
        if (p == 0) {
            out.o = prog[O];
            out.J.assign(t.shape(0), xt::zeros<double>({t.shape(1), np}));
        }
        for (std::size_t b = 0; b < t.shape(0); ++b)
            for (std::size_t k = 0; k < t.shape(1); ++k) out.J[b](k, p) = t(b, k);
    }
    return out;
}

// Σ_b g·J_bᵀ·M_b·J_b
tensor sandwich(const jacobians& jac, const std::vector<tensor>& M, double g) {
    const std::size_t np = jac.J.front().shape(1);
    tensor S = xt::zeros<double>({np, np});
    for (std::size_t b = 0; b < jac.J.size(); ++b) {
        const tensor MJ = xt::linalg::dot(M[b], jac.J[b]);
        S += g * xt::linalg::dot(xt::transpose(jac.J[b]), MJ);
    }
    return S;
}

tensor outer(const std::vector<double>& s) {
    tensor m = tensor::from_shape({s.size(), s.size()});
    for (std::size_t i = 0; i < s.size(); ++i)
        for (std::size_t j = 0; j < s.size(); ++j) m(i, j) = s[i] * s[j];
    return m;
}

TEST_CASE("natural gradient: Fisher and Gauss–Newton products equal the matrices from per-sample Jacobians; "
          "for softmax cross-entropy the true Fisher is the Gauss–Newton matrix",
          "[optim][natural_gradient][fisher]") {
    for (const std::uint64_t seed : {1, 2, 3}) {
        INFO("seed " << seed);
        {  // sum of squared errors: s_b = o_b − y_b, Λ_b = I, g = 1
            const problem pr(reg::loss, reg::w, 5, 3, 2, false, seed);
            auto f = make_objective(reg::loss, reg::w);
            f.set_data(reg::x, pr.X).set_data(reg::y, pr.Y);
            const jacobians jac = output_jacobians(reg::loss, reg::w, reg::x, pr.X, pr.theta);
            std::vector<tensor> ss, lam;
            for (std::size_t b = 0; b < 5; ++b) {
                std::vector<double> s(2);
                for (std::size_t j = 0; j < 2; ++j) s[j] = jac.o(b, j) - pr.Y(b, j);
                ss.push_back(outer(s));
                lam.push_back(tensor(xt::eye<double>(2)));
            }
            const tensor F = dense(pr.theta, [&](const param_set& v, param_set& out) { f.fisher_vector(pr.theta, v, out); });
            const tensor G = dense(pr.theta, [&](const param_set& v, param_set& out) { f.gauss_newton_vector(pr.theta, v, out); });
            CHECK(rel_error(F, sandwich(jac, ss, 1.0)) <= 1e-12);
            CHECK(rel_error(G, sandwich(jac, lam, 1.0)) <= 1e-12);
        }
        {  // mean of softmax cross-entropies: s_b = p_b − y_b, Λ_b = diag p_b − p_b·p_bᵀ, g = 1/B
            const std::size_t B = 6;
            const problem pr(cls::loss, cls::w, B, 4, 3, true, seed);
            auto f = make_objective(cls::loss, cls::w);
            f.set_data(cls::x, pr.X).set_data(cls::y, pr.Y);
            const jacobians jac = output_jacobians(cls::loss, cls::w, cls::x, pr.X, pr.theta);
            std::vector<tensor> ss, lam, expected;
            for (std::size_t b = 0; b < B; ++b) {
                const std::vector<double> p = softmax_row(jac.o, b);
                std::vector<double> s(3);
                for (std::size_t j = 0; j < 3; ++j) s[j] = p[j] - pr.Y(b, j);
                ss.push_back(outer(s));
                tensor L = -outer(p);
                for (std::size_t j = 0; j < 3; ++j) L(j, j) += p[j];
                lam.push_back(L);
                // E_y[(p − e_y)(p − e_y)ᵀ], y ~ Categorical(p): the sum over the classes
                tensor E = xt::zeros<double>({3, 3});
                for (std::size_t c = 0; c < 3; ++c) {
                    std::vector<double> d = p;
                    d[c] -= 1.0;
                    E += p[c] * outer(d);
                }
                expected.push_back(E);
            }
            const double g = 1.0 / double(B);
            const tensor F = dense(pr.theta, [&](const param_set& v, param_set& out) { f.fisher_vector(pr.theta, v, out); });
            const tensor G = dense(pr.theta, [&](const param_set& v, param_set& out) { f.gauss_newton_vector(pr.theta, v, out); });
            const tensor true_fisher = sandwich(jac, expected, g);
            CHECK(rel_error(F, sandwich(jac, ss, g)) <= 1e-12);
            CHECK(rel_error(G, sandwich(jac, lam, g)) <= 1e-12);
            CHECK(rel_error(true_fisher, G) <= 1e-12);
        }
    }
}

// The Woodbury direction against a dense solve.
struct woodbury_case {
    std::size_t rows, sample;  // sample: a curvature sample of this many rows (0: none)
    natural_gradient_estimate estimate;
};

template <class Loss, class... P, class XL, class YL>
double woodbury_error(Loss loss, params<P...> w, XL xl, YL yl, bool classes, const woodbury_case& c, std::uint64_t seed,
                      double lambda) {
    const problem pr(loss, w, c.rows, std::size_t(XL::cols), std::size_t(YL::cols), classes, seed);
    auto f = make_objective(loss, w);
    f.set_data(xl, pr.X).set_data(yl, pr.Y);
    if (c.estimate != natural_gradient_estimate::exact)
        f.use_fisher(c.estimate == natural_gradient_estimate::sampled ? fisher_estimate::sampled : fisher_estimate::empirical,
                     seed + 11);
    if (c.sample != 0) f.use_curvature_sample(c.sample, seed + 5);
    param_set d;
    natural_gradient_direction(f, pr.theta, pr.v, lambda, c.estimate, d);
    // The same curvature rows and (for sampled) the same draw: x and the rows have not changed.
    tensor C = dense(pr.theta, [&](const param_set& v, param_set& out) {
        if (c.estimate == natural_gradient_estimate::exact)
            f.gauss_newton_vector(pr.theta, v, out);
        else
            f.fisher_vector(pr.theta, v, out);
    });
    const std::size_t np = pr.theta.count();
    const std::size_t k = c.estimate == natural_gradient_estimate::exact ? std::size_t(YL::cols) : 1;
    const std::size_t N = (c.sample != 0 ? c.sample : c.rows) * k;
    INFO("P = " << np << ", N = " << N);
    for (std::size_t i = 0; i < np; ++i) C(i, i) += lambda;
    const std::vector<double> gv = flatten(pr.v);
    tensor rhs = tensor::from_shape({np, std::size_t(1)});
    std::copy(gv.begin(), gv.end(), rhs.begin());
    const tensor ref = xt::linalg::solve(C, rhs);
    return rel_error(flatten(d), std::vector<double>(ref.begin(), ref.end()));
}

TEST_CASE("natural gradient: the Woodbury direction equals a dense solve of (C + λI)·d = g",
          "[optim][natural_gradient][woodbury]") {
    using E = natural_gradient_estimate;
    auto run = [&](auto net, const std::vector<woodbury_case>& list) {
        for (const woodbury_case& c : list)
            for (const std::uint64_t seed : {1, 2, 3})
                for (const double lambda : {1e-3, 1e-2, 1.0}) {
                    INFO("rows " << c.rows << ", sample " << c.sample << ", " << to_string(c.estimate) << ", seed " << seed
                                 << ", λ = " << lambda);
                    CHECK(woodbury_error(net.loss, net.w, net.x, net.y, net.classes, c, seed, lambda) <= 1e-10);
                }
    };
    struct reg_t { decltype(reg::loss) loss; decltype(reg::w) w; decltype(reg::x) x; decltype(reg::y) y; bool classes; };
    struct cls_t { decltype(cls::loss) loss; decltype(cls::w) w; decltype(cls::x) x; decltype(cls::y) y; bool classes; };
    struct part_t { decltype(part::loss) loss; decltype(part::w) w; decltype(part::x) x; decltype(part::y) y; bool classes; };
    struct one_t { decltype(one::loss) loss; decltype(one::w) w; decltype(one::x) x; decltype(one::y) y; bool classes; };
    // reg: P = 32, sum of squared errors, biases; a curvature sample of a sum (scale rows/sample)
    run(reg_t{reg::loss, reg::w, reg::x, reg::y, reg::classes},
        {{4, 0, E::empirical}, {50, 0, E::empirical}, {4, 0, E::sampled}, {50, 0, E::sampled}, {12, 5, E::empirical},
         {12, 5, E::sampled}});
    // cls: P = 51, mean of cross-entropies, biases
    run(cls_t{cls::loss, cls::w, cls::x, cls::y, cls::classes},
        {{6, 0, E::empirical}, {70, 0, E::empirical}, {6, 0, E::sampled}, {70, 0, E::sampled}});
    // part: P = 22, mean of squared errors, a layer without bias, parameters out of layer order
    run(part_t{part::loss, part::w, part::x, part::y, part::classes},
        {{5, 0, E::empirical}, {40, 0, E::empirical}, {5, 0, E::sampled}, {40, 0, E::sampled}});
    // one: P = 18, sum of cross-entropies, one layer: exact (N = 3B) below and above P
    run(one_t{one::loss, one::w, one::x, one::y, one::classes},
        {{2, 0, E::exact}, {9, 0, E::exact}, {9, 4, E::exact}, {3, 0, E::empirical}, {30, 0, E::sampled}});
}

// The exact Gauss–Newton factor of a deeper network (gauss_newton_factors, k backward passes)
// against a dense solve with C from gauss_newton_vector, on the objective's curvature rows and scale.
template <class Loss, class... P, class XL, class YL>
double gauss_newton_error(Loss loss, params<P...> w, XL xl, YL yl, bool classes, std::size_t rows, std::size_t sample,
                          std::uint64_t seed, double lambda) {
    const problem pr(loss, w, rows, std::size_t(XL::cols), std::size_t(YL::cols), classes, seed);
    auto f = make_objective(loss, w);
    f.set_data(xl, pr.X).set_data(yl, pr.Y);
    if (sample != 0) f.use_curvature_sample(sample, seed + 5);
    auto gn = make_gauss_newton_factors(loss, w);
    gn.bind(xl, f.curvature_data(xl)).bind(yl, f.curvature_data(yl));
    const low_rank_curvature c = gn.compute(pr.theta, f.curvature_scale());
    CHECK(c.rows() == (sample != 0 ? sample : rows) * std::size_t(YL::cols));
    param_set d;
    c.solve(pr.v, lambda, d);
    tensor C = dense(pr.theta, [&](const param_set& v, param_set& out) { f.gauss_newton_vector(pr.theta, v, out); });
    const std::size_t np = pr.theta.count();
    for (std::size_t i = 0; i < np; ++i) C(i, i) += lambda;
    const std::vector<double> gv = flatten(pr.v);
    tensor rhs = tensor::from_shape({np, std::size_t(1)});
    std::copy(gv.begin(), gv.end(), rhs.begin());
    const tensor ref = xt::linalg::solve(C, rhs);
    return rel_error(flatten(d), std::vector<double>(ref.begin(), ref.end()));
}

TEST_CASE("natural gradient: the exact Gauss–Newton factor of a two-layer network gives the dense solve",
          "[optim][natural_gradient][woodbury]") {
    struct setting {
        std::size_t rows, sample;
    };
    for (const std::uint64_t seed : {1, 2, 3})
        for (const double lambda : {1e-3, 1e-2, 1.0}) {
            INFO("seed " << seed << ", λ = " << lambda);
            // cls: P = 51, mean of cross-entropies, N = 3B
            for (const setting s : {setting{4, 0}, setting{30, 0}, setting{30, 8}}) {
                INFO("cls, rows " << s.rows << ", sample " << s.sample);
                CHECK(gauss_newton_error(cls::loss, cls::w, cls::x, cls::y, cls::classes, s.rows, s.sample, seed, lambda) <= 1e-10);
            }
            // reg: P = 32, sum of squared errors, N = 2B; a sample of a sum scales by rows/sample
            for (const setting s : {setting{5, 0}, setting{40, 0}, setting{20, 6}}) {
                INFO("reg, rows " << s.rows << ", sample " << s.sample);
                CHECK(gauss_newton_error(reg::loss, reg::w, reg::x, reg::y, reg::classes, s.rows, s.sample, seed, lambda) <= 1e-10);
            }
        }
}

// Three Gaussian blobs in 4 dimensions, one-hot targets.
void blobs(std::size_t rows, std::uint64_t seed, tensor& X, tensor& Y) {
    rng g(seed);
    std::normal_distribution<double> N(0.0, 1.0);
    const tensor centres = gaussian(3, 4, g, 2.0);
    X = tensor::from_shape({rows, std::size_t(4)});
    Y = xt::zeros<double>({rows, std::size_t(3)});
    for (std::size_t b = 0; b < rows; ++b) {
        const std::size_t c = b % 3;
        for (std::size_t j = 0; j < 4; ++j) X(b, j) = centres(c, j) + 0.7 * N(g);
        Y(b, c) = 1.0;
    }
}

TEST_CASE("natural gradient: the optimizer trains a small classifier", "[optim][natural_gradient][train]") {
    using E = natural_gradient_estimate;
    constexpr double target = 0.05;  // mean cross-entropy
    for (const E e : {E::sampled, E::empirical}) {
        for (const std::uint64_t seed : {1, 2, 3}) {
            INFO(to_string(e) << ", seed " << seed);
            tensor X, Y;
            blobs(90, seed, X, Y);
            auto f = make_objective(cls::loss, cls::w);
            f.set_data(cls::x, X).set_data(cls::y, Y).use_fisher(fisher_estimate::sampled, seed);
            rng g(seed + 100);
            param_set theta(std::vector<tensor>{gaussian(4, 6, g, 0.3), xt::zeros<double>({1, 6}), gaussian(6, 3, g, 0.3),
                                                xt::zeros<double>({1, 3})});
            natural_gradient opt({.estimate = e});
            stopping stop;
            stop.max_iterations = 40;
            stop.target_loss = target;
            const result r = minimize(f, theta, opt, stop);
            INFO(r.message);
            CHECK(r.reason == stop_reason::target_loss);
            CHECK(r.final_loss < target);
        }
    }
    {  // minibatches of 30 with a curvature sample of 10: the loss of the whole set falls
        for (const std::uint64_t seed : {1, 2, 3}) {
            INFO("minibatches, seed " << seed);
            tensor X, Y;
            blobs(90, seed, X, Y);
            auto f = make_objective(cls::loss, cls::w);
            f.set_data(cls::x, X).set_data(cls::y, Y).use_fisher(fisher_estimate::sampled, seed);
            rng g(seed + 100);
            param_set theta(std::vector<tensor>{gaussian(4, 6, g, 0.3), xt::zeros<double>({1, 6}), gaussian(6, 3, g, 0.3),
                                                xt::zeros<double>({1, 3})});
            auto full = make_objective(cls::loss, cls::w);
            full.set_data(cls::x, X).set_data(cls::y, Y);
            f.use_minibatches(30, seed).use_curvature_sample(10, seed);
            natural_gradient opt;
            stopping stop;
            stop.max_iterations = 60;
            const double before = full.value(theta);
            const result r = minimize(f, theta, opt, stop);
            INFO(r.message);
            CHECK(full.value(theta) < 0.1 * before);
        }
    }
    // The exact Gauss–Newton curvature of the two-layer classifier, through options::factor.
    for (const std::uint64_t seed : {1, 2, 3}) {
        INFO("exact Gauss–Newton factor, seed " << seed);
        tensor X, Y;
        blobs(90, seed, X, Y);
        auto f = make_objective(cls::loss, cls::w);
        f.set_data(cls::x, X).set_data(cls::y, Y);
        auto gn = make_gauss_newton_factors(cls::loss, cls::w);
        gn.bind(cls::x, X).bind(cls::y, Y);
        rng g(seed + 100);
        param_set theta(std::vector<tensor>{gaussian(4, 6, g, 0.3), xt::zeros<double>({1, 6}), gaussian(6, 3, g, 0.3),
                                            xt::zeros<double>({1, 3})});
        natural_gradient opt({.factor = [&](const param_set& x) { return gn.compute(x); }});
        CHECK(opt.name() == "natural-gradient-given");
        stopping stop;
        stop.max_iterations = 40;
        stop.target_loss = target;
        const result r = minimize(f, theta, opt, stop);
        INFO(r.message);
        CHECK(r.reason == stop_reason::target_loss);
        CHECK(r.counts.layer_statistics == 0);
    }
    // Softmax regression (a sum over 60 rows) with the exact Gauss–Newton curvature, with and without line search.
    for (const std::uint64_t seed : {1, 2, 3}) {
        tensor X, Y, X5;
        blobs(60, seed, X, Y);
        X5 = xt::zeros<double>({std::size_t(60), std::size_t(5)});
        for (std::size_t b = 0; b < 60; ++b)
            for (std::size_t j = 0; j < 4; ++j) X5(b, j) = X(b, j);
        for (const bool search : {false, true}) {
            INFO("exact, seed " << seed << (search ? ", line search" : ""));
            auto f = make_objective(one::loss, one::w);
            f.set_data(one::x, X5).set_data(one::y, Y);
            param_set theta = f.parameters_like();
            natural_gradient opt({.estimate = E::exact, .line_search = search});
            stopping stop;
            stop.max_iterations = 40;
            stop.target_loss = 60 * target;
            const result r = minimize(f, theta, opt, stop);
            INFO(r.message);
            CHECK(r.reason == stop_reason::target_loss);
        }
    }
}

// An objective with value and gradient only.
class quadratic final : public objective {
public:
    std::vector<std::string> names() const override { return {"w"}; }
    param_set parameters_like() const override { return param_set(std::vector<tensor>{xt::zeros<double>({2, 2})}); }
    double value(const param_set& x) override { return 0.5 * x.dot(x); }
    double value_and_gradient(const param_set& x, param_set& g) override {
        g = x;
        return 0.5 * x.dot(x);
    }
};

TEST_CASE("natural gradient: bad input is refused with a message naming it, the data unchanged",
          "[optim][natural_gradient][errors]") {
    const problem pr(cls::loss, cls::w, 5, 4, 3, true, 9);
    auto f = make_objective(cls::loss, cls::w);
    f.set_data(cls::x, pr.X).set_data(cls::y, pr.Y);
    const std::vector<double> theta0 = flatten(pr.theta), v0 = flatten(pr.v);
    param_set out = pr.v;
    for (const double lambda : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        INFO("λ = " << lambda);
        CHECK_THROWS_WITH(natural_gradient_direction(f, pr.theta, pr.v, lambda, natural_gradient_estimate::empirical, out),
                          Catch::Contains("damping λ must be a finite number > 0"));
        CHECK(flatten(out) == v0);
    }
    // exact on two layers
    CHECK_THROWS_WITH(natural_gradient_direction(f, pr.theta, pr.v, 1.0, natural_gradient_estimate::exact, out),
                      Catch::Contains("estimate = exact") && Catch::Contains("2 layers"));
    CHECK(flatten(out) == v0);
    // g of the wrong shape
    const param_set wrong(std::vector<tensor>{xt::zeros<double>({2, 2})});
    CHECK_THROWS_WITH(natural_gradient_direction(f, pr.theta, wrong, 1.0, natural_gradient_estimate::empirical, out),
                      Catch::Contains("not shaped like"));
    CHECK(flatten(pr.theta) == theta0);
    CHECK(flatten(pr.v) == v0);
    // the factor's own solve
    layer_statistics::result st;
    capability<layer_statistics>(f)->statistics(pr.theta, {}, st);
    const low_rank_curvature c = low_rank_curvature::from_statistics(st, natural_gradient_estimate::empirical);
    CHECK_THROWS_WITH(c.solve(pr.v, std::numeric_limits<double>::quiet_NaN(), out), Catch::Contains("λ"));
    CHECK(flatten(out) == v0);
    CHECK_THROWS_WITH(low_rank_curvature::from_statistics(st, natural_gradient_estimate::sampled),
                      Catch::Contains("sampled deltas"));

    // an objective without layer statistics
    quadratic q;
    param_set x(std::vector<tensor>{xt::ones<double>({2, 2})});
    CHECK_THROWS_WITH(natural_gradient_direction(q, x, x, 1.0, natural_gradient_estimate::empirical, out),
                      Catch::Contains("layer_statistics"));
    natural_gradient opt;
    objective& qo = q;
    const result r = minimize(qo, x, opt);
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK_THAT(r.message, Catch::Contains("layer_statistics"));
    CHECK(flatten(x) == std::vector<double>(4, 1.0));

    // exact on two layers, as an option of the optimizer
    param_set theta = pr.theta;
    natural_gradient exact_opt({.estimate = natural_gradient_estimate::exact});
    const result re = minimize(f, theta, exact_opt);
    CHECK(re.reason == stop_reason::not_applicable);
    CHECK_THAT(re.message, Catch::Contains("estimate = exact"));
    CHECK(flatten(theta) == theta0);

    // the Gauss–Newton factor's scale and parameters
    auto gn = make_gauss_newton_factors(cls::loss, cls::w);
    gn.bind(cls::x, pr.X).bind(cls::y, pr.Y);
    CHECK_THROWS_WITH(gn.compute(pr.theta, std::numeric_limits<double>::quiet_NaN()), Catch::Contains("curvature scale"));
    CHECK_THROWS_WITH(gn.compute(wrong), Catch::Contains("parameter blocks"));
    CHECK(flatten(pr.theta) == theta0);

    // options
    using O = natural_gradient::options;
    CHECK_THROWS_WITH(natural_gradient(O{.initial_damping = 0.0}), Catch::Contains("initial_damping"));
    CHECK_THROWS_WITH(natural_gradient(O{.initial_damping = std::numeric_limits<double>::quiet_NaN()}),
                      Catch::Contains("initial_damping"));
    CHECK_THROWS_WITH(natural_gradient(O{.damping_decrease = 1.5}), Catch::Contains("damping_decrease"));
}

}  // namespace
