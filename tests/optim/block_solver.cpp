// Tests of a graph objective's block_solver capability (optim/objective.hpp, block_programs.hpp):
// the undamped per-layer inverse H_l⁺ (block_inverse, block_newton_step) and the damped one
// (H_l + λI)⁻¹ (damped_block_inverse, damped_block_newton_step), where H_l is a layer's diagonal
// block of the Hessian (a weight with its bias), with the loss's l2 penalty in it.
//
// The oracle is the explicit Hessian of the objective itself (f.hessian: the curvature rows, times
// the curvature scale, l2 included), cut into the layers' diagonal blocks, plus λI, solved by an
// SVD pseudo-inverse: the minimum-norm solution where the block is singular. Agreement within
// max(1e-10, 100·eps·cond) relative. Undamped singular blocks whose rank is not clear (a singular
// value between 1e-13 and 1e-10 of the largest) are not compared, and counted.
//
// The routes: the functional inverse (bop, newton_step: one downward pass) where the type system
// accepts the network and the batch fits its widths, bit for bit the program's newton_step; the
// block solve elsewhere, bit for bit the program's block_step with λ = 0 — for a network bop
// refuses (biases with an l2 penalty, widths that rise then fall, relu) and for a batch above a
// width; and always for the damped forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../support/oracle.hpp"
#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;
using layers = std::vector<std::vector<std::size_t>>;  // the parameters (indices into wrt) of each layer

// Biases with an l2 penalty on the weights: bop refuses (the penalty damps the block).
constexpr auto dx = input<"x", 5>;
constexpr auto dy = target<"y", 4>;
constexpr auto dW1 = param<"W1", 5, 6>;
constexpr auto db1 = bias<"b1", 6>;
constexpr auto dW2 = param<"W2", 6, 4>;
constexpr auto db2 = bias<"b2", 4>;
constexpr auto decay_loss = sum(squared_error(act::tanh(dx * dW1 + db1) * dW2 + db2, dy)) + l2<0.05>(dW1, dW2);
constexpr auto decay_w = wrt(dW1, db1, dW2, db2);

// Widths 5 → 4 → 8 → 3, leaky ReLU: at W1 the widths above rise then fall, T_b is singular and
// no one-sided inverse exists (bop refuses W1).
constexpr auto rW1 = param<"W1", 5, 4>;
constexpr auto rW2 = param<"W2", 4, 8>;
constexpr auto rW3 = param<"W3", 8, 3>;
constexpr auto ry = target<"y", 3>;
constexpr auto rise_fall_loss = mse(act::leaky_relu<0.2>(act::leaky_relu<0.2>(dx * rW1) * rW2) * rW3, ry);
constexpr auto rise_fall_w = wrt(rW1, rW2, rW3);

// A bias listed before its weight, with an l2 penalty of its own, and a bias alone on the output
// (its layer has no weight among the parameters).
constexpr auto lW1 = param<"W1", 5, 4>;
constexpr auto lb1 = bias<"b1", 4>;
constexpr auto lb2 = bias<"b2", 4>;
constexpr auto lone_loss = mse(act::tanh(dx * lW1 + lb1) + lb2, dy) + l2<0.1>(lb1);
constexpr auto lone_w = wrt(lb1, lW1, lb2);

// relu (a′ = 0 on half the line): bop refuses; the blocks are singular where units are off.
constexpr auto relu_loss = sum(squared_error(act::relu(nx * nW1) * nW2, ny));

tensor draw(std::size_t r, std::size_t c, std::mt19937_64& g, double sd = 1.0) {
    std::normal_distribution<double> n(0.0, sd);
    tensor t = tensor::from_shape({r, c});
    for (double& v : t) v = n(g);
    return t;
}
param_set draw_like(const param_set& p, std::mt19937_64& g, double sd = 1.0) {
    param_set out = p.zeros_like();
    std::normal_distribution<double> n(0.0, sd);
    for (tensor& t : out)
        for (double& v : t) v = n(g);
    return out;
}

struct tally {
    std::size_t compared = 0, unclear = 0;
    double worst = 0.0;  // error / tolerance
};

// blockdiag(H_l + λI)⁺·v from the explicit Hessian of f at x (f's curvature rows and scale).
// Compares with `got`, layer by layer.
template <class F>
void compare_blocks(F& f, const param_set& x, const param_set& v, double lambda, const layers& groups, const param_set& got,
                    tally& t, const std::string& where) {
    const tensor h = f.hessian(x, std::size_t(64) << 20);
    std::vector<std::size_t> offset{0};
    for (const tensor& b : x) offset.push_back(offset.back() + b.size());
    for (std::size_t l = 0; l < groups.size(); ++l) {
        std::vector<std::size_t> idx;
        for (std::size_t p : groups[l])
            for (std::size_t k = offset[p]; k < offset[p + 1]; ++k) idx.push_back(k);
        const std::size_t n = idx.size();
        tensor block = tensor::from_shape({n, n}), rhs = tensor::from_shape({n, 1}), mine = tensor::from_shape({n, 1});
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < n; ++j) block(i, j) = h(idx[i], idx[j]) + (i == j ? lambda : 0.0);
            std::size_t p = 0;
            while (idx[i] >= offset[p + 1]) ++p;
            rhs(i, 0) = v[p].data()[idx[i] - offset[p]];
            mine(i, 0) = got[p].data()[idx[i] - offset[p]];
        }
        const oracle::pseudo_inverse hp(block);
        INFO(where << " | layer " << l + 1 << " | cond " << hp.cond << " | rank " << hp.rank << " of " << n);
        if (hp.rank < n && (hp.cond > 1e8 || hp.gap > 1e-13)) {
            ++t.unclear;
            continue;
        }
        const double tol = std::max(1e-10, 100 * oracle::eps * hp.cond);
        const double err = oracle::rel_error(mine, hp.solve(rhs));
        CHECK(oracle::sci{err} <= oracle::sci{tol});
        ++t.compared;
        t.worst = std::max(t.worst, err / tol);
    }
}

// Every form of f's block solver at x against the explicit blocks: undamped and damped (λ = 0.3)
// inverse along v on the curvature rows, and the steps along the gradient on the batch rows
// (compared only where no curvature sample is in use, so that both see the same rows).
template <class F>
void check_all_forms(F& f, const param_set& x, const param_set& v, const layers& groups, tally& t, const std::string& where,
                     inverse_route undamped) {
    param_set out, g, step;
    f.block_inverse(x, v, out);
    CHECK(f.last_inverse_route() == undamped);
    compare_blocks(f, x, v, 0.0, groups, out, t, where + " | block_inverse");
    f.damped_block_inverse(x, v, 0.3, out);
    CHECK(f.last_inverse_route() == inverse_route::block_solve);
    compare_blocks(f, x, v, 0.3, groups, out, t, where + " | damped_block_inverse");
    if (f.curvature_rows() != f.batch_rows()) return;
    double loss = f.damped_block_newton_step(x, 0.3, g, step);
    CHECK(loss == Approx(f.value(x)).epsilon(1e-14));
    compare_blocks(f, x, g, 0.3, groups, step, t, where + " | damped_block_newton_step");
    loss = f.block_newton_step(x, g, step);
    CHECK(f.last_inverse_route() == undamped);
    compare_blocks(f, x, g, 0.0, groups, step, t, where + " | block_newton_step");
}

}  // namespace

TEST_CASE("block solver: undamped and damped blocks against the explicit Hessian's, on every route",
          "[optim][block_solver]") {
    tally t;
    for (const std::uint64_t seed : {1, 2, 3}) {
        std::mt19937_64 g(seed);
        const std::string s = "seed " + std::to_string(seed);
        {  // the functional inverse: 6 → 8 → 8 leaky ReLU, B = 4 ≤ 6
            const network_data d(4, seed);
            auto f = d.objective();
            STATIC_REQUIRE(decltype(f)::has_functional_inverse());
            STATIC_REQUIRE(decltype(f)::functional_inverse_rows() == 6);
            const param_set x = d.start();
            check_all_forms(f, x, draw_like(x, g), {{0}, {1}}, t, s + " | chain, B = 4", inverse_route::functional_inverse);
        }
        {  // a batch above a width: the same network at B = 9 takes the block solve
            const network_data d(9, seed);
            auto f = d.objective();
            const param_set x = d.start();
            check_all_forms(f, x, draw_like(x, g), {{0}, {1}}, t, s + " | B = 9 > 6", inverse_route::block_solve);
        }
        {  // relu
            const network_data d(5, seed);
            auto f = make_objective(relu_loss, net_w);
            STATIC_REQUIRE_FALSE(decltype(f)::has_functional_inverse());
            f.set_data(nx, d.x).set_data(ny, d.y);
            const param_set x = d.start();
            check_all_forms(f, x, draw_like(x, g), {{0}, {1}}, t, s + " | relu", inverse_route::block_solve);
        }
        {  // biases, tanh and an l2 penalty; B = 12 above every width
            auto f = make_objective(decay_loss, decay_w);
            STATIC_REQUIRE_FALSE(decltype(f)::has_functional_inverse());
            f.set_data(dx, draw(12, 5, g)).set_data(dy, draw(12, 4, g));
            const param_set x({draw(5, 6, g, 0.5), draw(1, 6, g, 0.3), draw(6, 4, g, 0.5), draw(1, 4, g, 0.3)});
            check_all_forms(f, x, draw_like(x, g), {{0, 1}, {2, 3}}, t, s + " | biases + l2", inverse_route::block_solve);
        }
        {  // rise then fall, mean loss, B = 3
            auto f = make_objective(rise_fall_loss, rise_fall_w);
            STATIC_REQUIRE_FALSE(decltype(f)::has_functional_inverse());
            f.set_data(dx, draw(3, 5, g)).set_data(ry, draw(3, 3, g));
            const param_set x({draw(5, 4, g, 0.6), draw(4, 8, g, 0.5), draw(8, 3, g, 0.4)});
            check_all_forms(f, x, draw_like(x, g), {{0}, {1}, {2}}, t, s + " | rise then fall", inverse_route::block_solve);
        }
    }
    std::printf("block solver against the explicit blocks: %zu layer blocks compared, %zu of unclear rank skipped; worst "
                "error/tolerance %.3g\n",
                t.compared, t.unclear, t.worst);
    CHECK(t.unclear * 10 <= t.compared);
}

TEST_CASE("block solver: the functional inverse where it applies, bit for bit the program's newton_step and bop",
          "[optim][block_solver]") {
    const network_data d(5, 11);
    auto f = d.objective();
    const param_set x = d.start();
    std::mt19937_64 gen(3);
    const param_set v = draw_like(x, gen);
    constexpr auto step = newton_step(net_loss, net_w);
    constexpr auto inv = bop(net_loss, net_w);
    auto prog = compile(net_loss, grad(net_loss, net_w), step);
    auto iprog = compile(net_loss, inv);
    prog.bind(nx, d.x).bind(ny, d.y).bind(nW1, x[0]).bind(nW2, x[1]);
    iprog.bind(nx, d.x).bind(ny, d.y).bind(nW1, x[0]).bind(nW2, x[1]).bind(direction(nW1), v[0]).bind(direction(nW2), v[1]);
    prog.run();
    iprog.run();
    param_set g, s, out;
    const evaluation_counts before = f.counts;
    f.block_newton_step(x, g, s);
    CHECK(f.last_inverse_route() == inverse_route::functional_inverse);
    f.block_inverse(x, v, out);
    CHECK(f.last_inverse_route() == inverse_route::functional_inverse);
    const evaluation_counts used = f.counts - before;
    CHECK(used.block_solves == 2);
    CHECK(used.damped_block_solves == 0);
    CHECK(used.gradients == 1);
    CHECK(oracle::bit_identical({s[0], s[1]}, {prog[step.of(nW1)], prog[step.of(nW2)]}));
    CHECK(oracle::bit_identical({out[0], out[1]}, {iprog[inv.of(nW1)], iprog[inv.of(nW2)]}));
}

TEST_CASE("block solver: elsewhere the block solve, bit for bit the program's block_step and block_solve",
          "[optim][block_solver]") {
    const network_data d(9, 12);  // B = 9 above the input width 6
    auto f = d.objective();
    const param_set x = d.start();
    std::mt19937_64 gen(4);
    const param_set v = draw_like(x, gen);
    constexpr auto step = block_step(net_loss, net_w, damped);
    constexpr auto inv = block_solve(net_loss, net_w, damped);
    auto prog = compile(net_loss, grad(net_loss, net_w), step);
    auto iprog = compile(net_loss, inv);
    for (const double lambda : {0.0, 0.7}) {
        const tensor l{{lambda}};
        prog.bind(nx, d.x).bind(ny, d.y).bind(nW1, x[0]).bind(nW2, x[1]).bind(damping, l);
        iprog.bind(nx, d.x).bind(ny, d.y).bind(nW1, x[0]).bind(nW2, x[1]).bind(damping, l);
        iprog.bind(direction(nW1), v[0]).bind(direction(nW2), v[1]);
        prog.run();
        iprog.run();
        param_set g, s, out;
        const evaluation_counts before = f.counts;
        if (lambda == 0.0) {
            f.block_newton_step(x, g, s);
            f.block_inverse(x, v, out);
        } else {
            f.damped_block_newton_step(x, lambda, g, s);
            f.damped_block_inverse(x, v, lambda, out);
        }
        CHECK(f.last_inverse_route() == inverse_route::block_solve);
        const evaluation_counts used = f.counts - before;
        CHECK(used.block_solves == (lambda == 0.0 ? 2u : 0u));
        CHECK(used.damped_block_solves == (lambda == 0.0 ? 0u : 2u));
        INFO("λ = " << lambda);
        CHECK(oracle::bit_identical({s[0], s[1]}, {prog[step.of(nW1)], prog[step.of(nW2)]}));
        CHECK(oracle::bit_identical({out[0], out[1]}, {iprog[inv.of(nW1)], iprog[inv.of(nW2)]}));
    }
}

TEST_CASE("block solver: on a curvature sample of a sum, bit for bit the block_solve program at λ/c, times 1/c",
          "[optim][block_solver]") {
    const network_data d(24, 13);
    auto f = d.objective();
    f.use_curvature_sample(10, 2);  // above the width 6: the block solve; c = 2.4
    const double c = f.curvature_scale();
    REQUIRE(c == 2.4);
    const param_set x = d.start();
    std::mt19937_64 gen(5);
    const param_set v = draw_like(x, gen);
    constexpr auto inv = block_solve(net_loss, net_w, damped);
    auto iprog = compile(net_loss, inv);
    const double lambda = 0.7;
    const tensor l{{lambda / c}};
    iprog.bind(nx, f.curvature_data(nx)).bind(ny, f.curvature_data(ny)).bind(nW1, x[0]).bind(nW2, x[1]).bind(damping, l);
    iprog.bind(direction(nW1), v[0]).bind(direction(nW2), v[1]);
    iprog.run();
    param_set out;
    f.damped_block_inverse(x, v, lambda, out);
    param_set want({iprog[inv.of(nW1)], iprog[inv.of(nW2)]});
    want.scale(1.0 / c);
    CHECK(oracle::bit_identical({out[0], out[1]}, {want[0], want[1]}));
}

TEST_CASE("block solver: a curvature sample and minibatches, sum and mean losses (the block scaled by rows/sample, λ not)",
          "[optim][block_solver]") {
    // The explicit Hessian sees what the products see (the sample, scaled by rows/k for a sum),
    // so the comparison holds whatever the rows; the undamped inverse is divided by the scale, the
    // damped one is (c·H + λI)⁻¹ with λ unscaled.
    tally t;
    for (const std::uint64_t seed : {5, 6}) {
        std::mt19937_64 g(seed);
        const network_data d(24, seed);
        const param_set x = d.start();
        const param_set v = draw_like(x, g);
        auto sum_f = d.objective();
        sum_f.use_curvature_sample(4, seed);  // sum: scale 24/4 = 6, at 4 rows the functional inverse
        REQUIRE(sum_f.curvature_scale() == 6.0);
        check_all_forms(sum_f, x, v, {{0}, {1}}, t, "sum, sample 4 of 24", inverse_route::functional_inverse);
        sum_f.use_curvature_sample(10, seed);  // above the width 6: the block solve
        check_all_forms(sum_f, x, v, {{0}, {1}}, t, "sum, sample 10 of 24", inverse_route::block_solve);
        constexpr auto mean_loss = mse(act::leaky_relu<0.2>(nx * nW1) * nW2, ny);
        auto mean_f = make_objective(mean_loss, net_w);
        mean_f.set_data(nx, d.x).set_data(ny, d.y).use_minibatches(12, seed).use_curvature_sample(8, seed);
        REQUIRE(mean_f.curvature_scale() == 1.0);
        check_all_forms(mean_f, x, v, {{0}, {1}}, t, "mean, batch 12, sample 8", inverse_route::block_solve);
        mean_f.next_batch();
        check_all_forms(mean_f, x, v, {{0}, {1}}, t, "mean, next batch", inverse_route::block_solve);
        // The step forms see the whole batch, not the sample: as an objective without one.
        auto plain = make_objective(mean_loss, net_w);
        plain.set_data(nx, d.x).set_data(ny, d.y).use_minibatches(12, seed).use_curvature_sample(0, seed);  // the same draws
        plain.next_batch();
        param_set g1, s1, g2, s2;
        mean_f.damped_block_newton_step(x, 0.2, g1, s1);
        plain.damped_block_newton_step(x, 0.2, g2, s2);
        CHECK(oracle::bit_identical({s1[0], s1[1]}, {s2[0], s2[1]}));
    }
    std::printf("block solver on curvature samples and minibatches: %zu blocks compared, worst error/tolerance %.3g\n", t.compared,
                t.worst);
}

TEST_CASE("block solver: a negative or non-finite damping is a value_error", "[optim][block_solver]") {
    const network_data d(4, 1);
    auto f = d.objective();
    const param_set x = d.start();
    param_set g, s;
    CHECK_THROWS_AS(f.damped_block_newton_step(x, -1.0, g, s), value_error);
    CHECK_THROWS_AS(f.damped_block_inverse(x, x, std::nan(""), s), value_error);
}

namespace {
// c·Σ_b (h̄_bᵀ·h̄_b) ⊗ T_b + D of one layer from its factors, as a dense matrix over W̄ = [W; b].
tensor assemble(const layer_blocks::layer& l, const layer_blocks::factors& f, std::size_t rows, double scale) {
    const std::size_t m = l.outputs, n = l.inputs + (l.bias != layer_blocks::none ? 1 : 0);
    const std::size_t w = l.weight == layer_blocks::none ? 1 : n;  // a bias alone: h̄ = 1
    tensor a = xt::zeros<double>({w * m, w * m});
    for (std::size_t b = 0; b < rows; ++b) {
        auto hbar = [&](std::size_t i) { return l.weight == layer_blocks::none || i == l.inputs ? 1.0 : f.input(b, i); };
        for (std::size_t i = 0; i < w; ++i)
            for (std::size_t j = 0; j < w; ++j)
                for (std::size_t p = 0; p < m; ++p)
                    for (std::size_t q = 0; q < m; ++q) a(i * m + p, j * m + q) += scale * hbar(i) * hbar(j) * f.curvature(b * m + p, q);
    }
    for (std::size_t k = 0; k < w * m; ++k) {
        const bool bias_row = l.weight == layer_blocks::none || (l.bias != layer_blocks::none && k / m == l.inputs);
        a(k, k) += bias_row ? l.bias_decay : l.decay;
    }
    return a;
}

// Every layer's block from f's factors against the explicit Hessian's diagonal block (f.hessian:
// the curvature rows, their scale, the l2 penalty), and the batch rows' loss and gradient against
// value_and_gradient.
template <class F>
void check_factors(F& f, const param_set& x, const std::string& where, std::size_t& compared) {
    INFO(where);
    const std::vector<layer_blocks::layer> lay = f.layout();
    layer_blocks::result r;
    f.block_factors(x, layer_blocks::rows::curvature, r);
    REQUIRE(r.layers.size() == lay.size());
    CHECK(r.rows == f.curvature_rows());
    CHECK(r.curvature_scale == f.curvature_scale());
    const tensor h = f.hessian(x, std::size_t(64) << 20);
    std::vector<std::size_t> offset{0};
    for (const tensor& b : x) offset.push_back(offset.back() + b.size());
    for (std::size_t l = 0; l < lay.size(); ++l) {
        INFO("layer " << lay[l].name);
        std::vector<std::size_t> idx;
        for (std::size_t p : {lay[l].weight, lay[l].bias})
            if (p != layer_blocks::none)
                for (std::size_t k = offset[p]; k < offset[p + 1]; ++k) idx.push_back(k);
        const tensor a = assemble(lay[l], r.layers[l], r.rows, r.curvature_scale);
        REQUIRE(a.shape(0) == idx.size());
        tensor ref = tensor::from_shape({idx.size(), idx.size()});
        for (std::size_t i = 0; i < idx.size(); ++i)
            for (std::size_t j = 0; j < idx.size(); ++j) ref(i, j) = h(idx[i], idx[j]);
        CHECK(oracle::rel_error(a, ref) <= 1e-12);
        ++compared;
    }
    param_set g;
    const double loss = f.value_and_gradient(x, g);
    f.block_factors(x, layer_blocks::rows::batch, r);
    CHECK(r.rows == f.batch_rows());
    CHECK(r.loss == loss);
    REQUIRE(r.gradient.size() == g.size());
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(oracle::bit_identical({r.gradient[i]}, {g[i]}));
}
}  // namespace

TEST_CASE("block solver: the layer_blocks factors assemble the explicit Hessian's layer blocks", "[optim][block_solver]") {
    std::size_t compared = 0;
    for (const std::uint64_t seed : {1, 2}) {
        std::mt19937_64 g(seed);
        {  // weight and bias with l2 on the weights: joint blocks [h 1]
            auto f = make_objective(decay_loss, decay_w);
            f.set_data(dx, draw(12, 5, g)).set_data(dy, draw(12, 4, g));
            const param_set x({draw(5, 6, g, 0.5), draw(1, 6, g, 0.3), draw(6, 4, g, 0.5), draw(1, 4, g, 0.3)});
            const std::vector<layer_blocks::layer> lay = f.layout();
            REQUIRE(lay.size() == 2);
            CHECK(lay[0].weight == 0);
            CHECK(lay[0].bias == 1);
            CHECK(lay[0].decay == 0.05);
            CHECK(lay[0].bias_decay == 0.0);
            CHECK(lay[0].name == "weight and bias 'W1', 'b1'");
            check_factors(f, x, "biases + l2, seed " + std::to_string(seed), compared);
            f.use_minibatches(8, seed).use_curvature_sample(5, seed);
            check_factors(f, x, "biases + l2 on a sample of a minibatch", compared);
        }
        {  // a sum on a curvature sample (scale 24/10) and relu
            const network_data d(24, seed);
            auto f = make_objective(relu_loss, net_w);
            f.set_data(nx, d.x).set_data(ny, d.y).use_curvature_sample(10, seed);
            check_factors(f, d.start(), "relu, sum, sample 10 of 24", compared);
        }
        {  // rise then fall, mean
            auto f = make_objective(rise_fall_loss, rise_fall_w);
            f.set_data(dx, draw(3, 5, g)).set_data(ry, draw(3, 3, g));
            const param_set x({draw(5, 4, g, 0.6), draw(4, 8, g, 0.5), draw(8, 3, g, 0.4)});
            check_factors(f, x, "rise then fall", compared);
        }
        {  // a bias listed before its weight, with a penalty of its own, and a lone bias
            auto f = make_objective(lone_loss, lone_w);
            f.set_data(dx, draw(9, 5, g)).set_data(dy, draw(9, 4, g));
            const param_set x({draw(1, 4, g, 0.3), draw(5, 4, g, 0.5), draw(1, 4, g, 0.3)});
            const std::vector<layer_blocks::layer> lay = f.layout();
            REQUIRE(lay.size() == 2);
            CHECK((lay[0].weight == 1 && lay[0].bias == 0 && lay[0].bias_decay == 0.1 && lay[0].decay == 0.0));
            CHECK((lay[1].weight == layer_blocks::none && lay[1].bias == 2 && lay[1].inputs == 0));
            CHECK(lay[1].name == "bias 'b2'");
            check_factors(f, x, "bias first, lone bias", compared);
            tally t;
            check_all_forms(f, x, draw_like(x, g), {{0, 1}, {2}}, t, "bias first, lone bias", inverse_route::block_solve);
            CHECK(t.compared == 4 * 2);
            // out may be v: the same result as into another set
            param_set v = draw_like(x, g), out;
            f.damped_block_inverse(x, v, 0.0, out);
            f.damped_block_inverse(x, v, 0.0, v);
            for (std::size_t i = 0; i < v.size(); ++i) CHECK(oracle::bit_identical({v[i]}, {out[i]}));
        }
    }
    CHECK(compared == 2 * (2 + 2 + 2 + 3 + 2));
}
