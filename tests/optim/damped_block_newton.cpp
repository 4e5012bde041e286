// Tests of include/gateaux/optim/damped_block_newton.hpp: Levenberg–Marquardt on the exact
// per-layer blocks, Δ_l = −(H_l + λI)⁻¹·G_l.
//
//   the model     predicted = −(gᵀΔ + ½Σ_l Δ_lᵀH_lΔ_l) with the blocks H_l of the explicit Hessian
//                 (f.hessian, l2 included) equals ½(−gᵀΔ + λ‖Δ‖²), which the optimizer uses
//   damping       λ follows ρ (× increase below ¼, × decrease above ¾); a rejected step is solved
//                 again at a larger λ with no new gradient (counted)
//   convergence   consistent least squares (the minibatch tests' problem: every batch minimised
//                 at W*): to W* at full batch, on minibatches and with a curvature sample;
//                 networks the functional inverse refuses (relu, biases with l2) train
//   rescaling     with one layer the whole model's α is 1 (the block is the Hessian); with two, ρ
//                 is taken against −(gᵀδ + ½δᵀCδ) for δ = α·Δ + μ·δ_prev, checked with the
//                 explicit Hessian as C
//   refusals      not_applicable naming block_solver where the objective has none
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;

// Biases, tanh and an l2 penalty on the weights (bop refuses it).
constexpr auto dx = input<"x", 5>;
constexpr auto dy = target<"y", 4>;
constexpr auto dW1 = param<"W1", 5, 6>;
constexpr auto db1 = bias<"b1", 6>;
constexpr auto dW2 = param<"W2", 6, 4>;
constexpr auto db2 = bias<"b2", 4>;
constexpr auto decay_loss = mse(act::tanh(dx * dW1 + db1) * dW2 + db2, dy) + l2<0.01>(dW1, dW2);
constexpr auto decay_w = wrt(dW1, db1, dW2, db2);

// Consistent least squares: rows of scales 10^u, u uniform in [−spread, spread] (1.5 in
// tests/optim/minibatch.cpp); every batch's loss is minimised at W*, with loss 0.
constexpr std::size_t n = 6, m = 2, rows = 48;
constexpr auto lx = input<"x", dim(n)>;
constexpr auto ly = target<"y", dim(m)>;
constexpr auto lW = param<"W", dim(n), dim(m)>;
constexpr auto lloss = mse(lx * lW, ly);

struct consistent_rows {
    tensor x = tensor::from_shape({rows, n}), y, W = tensor::from_shape({n, m});
    explicit consistent_rows(std::uint64_t seed, double spread = 1.5) {
        std::mt19937_64 g(seed);
        std::normal_distribution<double> N(0.0, 1.0);
        std::uniform_real_distribution<double> U(-spread, spread);
        for (std::size_t b = 0; b < rows; ++b) {
            const double s = std::pow(10.0, U(g));
            for (std::size_t j = 0; j < n; ++j) x(b, j) = s * N(g);
        }
        for (double& v : W) v = N(g);
        y = xt::linalg::dot(x, W);
    }
};

double distance(const param_set& p, const tensor& W) {
    double s = 0.0, w = 0.0;
    for (std::size_t k = 0; k < W.size(); ++k) {
        s += (p[0].data()[k] - W.data()[k]) * (p[0].data()[k] - W.data()[k]);
        w += W.data()[k] * W.data()[k];
    }
    return std::sqrt(s / w);
}

tensor draw(std::size_t r, std::size_t c, std::mt19937_64& g, double sd = 1.0) {
    std::normal_distribution<double> d(0.0, sd);
    tensor t = tensor::from_shape({r, c});
    for (double& v : t) v = d(g);
    return t;
}

// Σ_l Δ_lᵀ·H_l·Δ_l over the layers' diagonal blocks of the explicit Hessian h.
double block_quadratic(const tensor& h, const param_set& d, const std::vector<std::vector<std::size_t>>& layers) {
    std::vector<std::size_t> offset{0};
    for (const tensor& b : d) offset.push_back(offset.back() + b.size());
    std::vector<double> flat_d;
    for (const tensor& b : d) flat_d.insert(flat_d.end(), b.begin(), b.end());
    double q = 0.0;
    for (const auto& layer : layers)
        for (std::size_t p : layer)
            for (std::size_t i = offset[p]; i < offset[p + 1]; ++i)
                for (std::size_t r : layer)
                    for (std::size_t j = offset[r]; j < offset[r + 1]; ++j) q += flat_d[i] * h(i, j) * flat_d[j];
    return q;
}

}  // namespace

TEST_CASE("damped_block_newton: the predicted reduction needs no products: Δᵀ(H + D)Δ = −gᵀΔ − λ‖Δ‖² per layer",
          "[optim][damped_block_newton]") {
    std::mt19937_64 g(3);
    auto f = make_objective(decay_loss, decay_w);
    f.set_data(dx, draw(10, 5, g)).set_data(dy, draw(10, 4, g));
    const param_set x({draw(5, 6, g, 0.5), draw(1, 6, g, 0.3), draw(6, 4, g, 0.5), draw(1, 4, g, 0.3)});
    const tensor h = f.hessian(x, std::size_t(16) << 20);
    for (const double lambda : {1e-3, 0.1, 3.0}) {
        param_set grad, delta;
        f.damped_block_newton_step(x, lambda, grad, delta);
        delta.scale(-1.0);  // Δ = −(H + λI)⁻¹·G
        const double quad = block_quadratic(h, delta, {{0, 1}, {2, 3}});
        const double identity = -grad.dot(delta) - lambda * delta.dot(delta);
        INFO("λ = " << lambda);
        CHECK(quad == Approx(identity).epsilon(1e-10));
    }
    // And what the optimizer predicts for its first step is this model's decrease.
    damped_block_newton::options o;
    o.initial_damping = 0.1;
    damped_block_newton opt(o);
    param_set p = x, grad, delta;
    f.damped_block_newton_step(x, 0.1, grad, delta);
    delta.scale(-1.0);
    const result r = minimize(f, p, opt, quiet(1, 0.0));
    REQUIRE(r.iterations == 1);
    const double predicted = -(grad.dot(delta) + 0.5 * block_quadratic(h, delta, {{0, 1}, {2, 3}}));
    CHECK(opt.last_model().damping == 0.1);
    CHECK(opt.last_model().predicted == Approx(predicted).epsilon(1e-10));
    CHECK(opt.last_model().actual == Approx(r.initial_loss - r.final_loss).epsilon(1e-12));
    CHECK(opt.last_model().ratio == Approx(opt.last_model().actual / predicted).epsilon(1e-10));
}

TEST_CASE("damped_block_newton: λ follows the reduction ratio; a rejected step is solved again with no new gradient",
          "[optim][damped_block_newton]") {
    std::mt19937_64 g(5);
    auto f = make_objective(decay_loss, decay_w);
    f.set_data(dx, draw(30, 5, g)).set_data(dy, draw(30, 4, g, 2.0));
    param_set x({draw(5, 6, g, 1.5), draw(1, 6, g, 0.3), draw(6, 4, g, 1.5), draw(1, 4, g, 0.3)});
    damped_block_newton::options o;
    o.initial_damping = 1e-6;  // far too small for tanh's indefinite blocks: steps get rejected
    o.damping_increase = 4.0;
    o.damping_decrease = 0.25;
    damped_block_newton opt(o);
    std::size_t rejections = 0, increases = 0, decreases = 0, steady = 0;
    double lambda = o.initial_damping;
    evaluation_counts before = f.counts;
    std::size_t rejected_before = 0, singular_before = 0;
    const result r = minimize(f, x, opt, quiet(40, 0.0), [&](const iteration_record& rec, const param_set&) {
        const evaluation_counts used = f.counts - before;
        const std::size_t rejected = opt.rejected_steps() - rejected_before;
        const damped_block_newton::model& last = opt.last_model();
        // The accepted step's ρ moved λ once more from the λ it was solved with.
        double expected = last.damping;
        if (last.ratio < 0.25) expected *= o.damping_increase;
        else if (last.ratio > 0.75) expected *= o.damping_decrease;
        CHECK(opt.damping() == Approx(expected).epsilon(1e-15));
        increases += last.ratio < 0.25, decreases += last.ratio > 0.75, steady += last.ratio >= 0.25 && last.ratio <= 0.75;
        if (opt.singular_solves() == singular_before) {
            // Each rejection multiplied λ by the increase before the step was solved again.
            CHECK(last.damping == Approx(lambda * std::pow(o.damping_increase, double(rejected))).epsilon(1e-14));
            // At most one trial value per attempt, one damped solve per retry and, at the new
            // point, one pass for loss, gradient and step (start() made the first one).
            CHECK(used.gradients == (rec.iteration == 1 ? 2u : 1u));
            CHECK(used.damped_block_solves == rejected + (rec.iteration == 1 ? 2u : 1u));
            CHECK(used.values <= rejected + 1);
        }
        rejections += rejected;
        rejected_before = opt.rejected_steps();
        singular_before = opt.singular_solves();
        lambda = opt.damping();
        before = f.counts;
        return true;
    });
    INFO(to_string(r.reason) << " " << r.message);
    CHECK(r.reason == stop_reason::max_iterations);
    CHECK(rejections >= 1);
    CHECK(decreases >= 1);
    CHECK(r.final_loss < 0.5 * r.initial_loss);
    for (std::size_t i = 1; i < r.history.size(); ++i) CHECK(r.history[i].loss < r.history[i - 1].loss);
    std::printf("damped block newton, tanh 5→6→4 + biases + l2, λ₀ = 1e-6: %zu rejections, ρ < ¼ %zu, > ¾ %zu, between %zu; "
                "loss %.3e → %.3e in %zu iterations\n",
                rejections, increases, decreases, steady, r.initial_loss, r.final_loss, r.iterations);
}

TEST_CASE("damped_block_newton: consistent least squares to the minimiser, full batch, minibatches, curvature sample",
          "[optim][damped_block_newton]") {
    // With a curvature sample the step is a subsampled Newton step, converging linearly at a rate
    // set by how well the sample's curvature stands for the batch's: on rows whose scales span
    // 10^±1.5 a sample of 8 misses the rows that dominate (ρ swings, λ climbs to 30–300 and
    // 200 iterations leave W* at 1e-8–4e-3), so those settings use rows of one scale.
    for (const std::uint64_t seed : {1, 2, 3})
        for (const int setting : {0, 1, 2, 3}) {
            const consistent_rows d(seed, setting >= 2 ? 0.0 : 1.5);
            auto f = make_objective(lloss, wrt(lW));
            f.set_data(lx, d.x).set_data(ly, d.y);
            if (setting == 1 || setting == 3) f.use_minibatches(12, seed + 20);
            if (setting >= 2) f.use_curvature_sample(setting == 2 ? 24 : 8, seed + 30);
            param_set p = f.parameters_like();
            damped_block_newton opt;
            const result r = minimize(f, p, opt, quiet(200, 0.0), [&](const iteration_record&, const param_set& q) {
                return distance(q, d.W) > 1e-9;
            });
            const char* names[] = {"full batch", "minibatches of 12", "curvature sample 24", "minibatches of 12, sample 8"};
            INFO(names[setting] << ", seed " << seed << ": " << to_string(r.reason) << " " << r.message);
            CHECK(r.reason == stop_reason::callback);
            CHECK(distance(p, d.W) <= 1e-9);
            if (setting == 0) CHECK(r.iterations <= 25);
            std::printf("damped block newton, least squares, %s, seed %llu: %zu iterations, %zu rejections, λ %.1e\n",
                        names[setting], (unsigned long long)seed, r.iterations, opt.rejected_steps(), opt.damping());
        }
}

TEST_CASE("damped_block_newton: networks the functional inverse refuses train (relu; biases, tanh and l2 at a batch above "
          "the widths)",
          "[optim][damped_block_newton]") {
    constexpr auto relu_loss = sum(squared_error(act::relu(nx * nW1) * nW2, ny));
    for (const std::uint64_t seed : {1, 2}) {
        const network_data d(12, seed);
        auto f = make_objective(relu_loss, net_w);
        f.set_data(nx, d.x).set_data(ny, d.y);
        param_set x = d.start(), xr = d.start();
        damped_block_newton opt;
        const result r = minimize(f, x, opt, quiet(60, 1e-10));
        damped_block_newton rescaled(damped_block_newton::options{.rescale = true});
        const result rr = minimize(f, xr, rescaled, quiet(60, 1e-10));
        CHECK(rr.final_loss < 0.5 * rr.initial_loss);
        INFO("relu, seed " << seed << ": " << to_string(r.reason) << " " << r.message);
        CHECK((r.converged() || r.reason == stop_reason::max_iterations));
        CHECK(r.final_loss < 0.5 * r.initial_loss);
        for (std::size_t i = 1; i < r.history.size(); ++i) CHECK(r.history[i].loss <= r.history[i - 1].loss);
        std::printf("damped block newton, relu 6→8→8, B = 12, seed %llu: loss %.3e → %.3e in %zu iterations (rescaled: → %.3e)\n",
                    (unsigned long long)seed, r.initial_loss, r.final_loss, r.iterations, rr.final_loss);

        std::mt19937_64 g(seed);
        auto h = make_objective(decay_loss, decay_w);
        h.set_data(dx, draw(40, 5, g)).set_data(dy, draw(40, 4, g));
        param_set y({draw(5, 6, g, 0.5), draw(1, 6, g, 0.3), draw(6, 4, g, 0.5), draw(1, 4, g, 0.3)});
        damped_block_newton dbn;
        const result rd = minimize(h, y, dbn, quiet(100, 1e-9));
        block_newton bn;  // the undamped step, now by the block solve
        param_set z({draw(5, 6, g, 0.5), draw(1, 6, g, 0.3), draw(6, 4, g, 0.5), draw(1, 4, g, 0.3)});
        const result rb = minimize(h, z, bn, quiet(20, 0.0));
        INFO("biases + l2, seed " << seed << ": " << rd.message << " / " << rb.message);
        CHECK(rd.final_loss < rd.initial_loss);
        CHECK(rb.final_loss < rb.initial_loss);
        CHECK(rb.reason != stop_reason::not_applicable);
        CHECK(h.last_inverse_route() == inverse_route::block_solve);
        std::printf("tanh 5→6→4 + biases + l2, B = 40, seed %llu: damped block newton %.3e → %.3e (%s, %zu it.), block newton "
                    "%.3e → %.3e (%zu it.)\n",
                    (unsigned long long)seed, rd.initial_loss, rd.final_loss, to_string(rd.reason), rd.iterations, rb.initial_loss,
                    rb.final_loss, rb.iterations);
    }
}

TEST_CASE("damped_block_newton: rescaled, one layer: α = 1 (the block is the whole Hessian)", "[optim][damped_block_newton]") {
    const consistent_rows d(4);
    auto f = make_objective(lloss, wrt(lW));
    f.set_data(lx, d.x).set_data(ly, d.y);
    param_set p = f.parameters_like();
    damped_block_newton::options o;
    o.rescale = true;
    damped_block_newton opt(o);
    CHECK(opt.name() == "damped-block-newton-rescaled");
    std::size_t checked = 0;
    const result r = minimize(f, p, opt, quiet(50, 0.0), [&](const iteration_record&, const param_set& q) {
        // With δ_prev along the same Newton direction the 2×2 system is nearly singular; α + μ
        // then carries the step. Either way α·Δ + μ·δ_prev is the damped Newton step.
        if (opt.last_model().momentum == 0.0) {
            CHECK(opt.last_model().scale == Approx(1.0).epsilon(1e-10));
            ++checked;
        }
        return distance(q, d.W) > 1e-9;
    });
    INFO(to_string(r.reason) << " " << r.message);
    CHECK(r.reason == stop_reason::callback);
    CHECK(checked >= 1);
    CHECK(r.counts.gauss_newton_vectors >= r.iterations);
}

TEST_CASE("damped_block_newton: rescaled, two layers: the predicted reduction is the whole curvature's model",
          "[optim][damped_block_newton]") {
    std::mt19937_64 g(8);
    auto f = make_objective(decay_loss, decay_w);
    f.set_data(dx, draw(25, 5, g)).set_data(dy, draw(25, 4, g));
    param_set x({draw(5, 6, g, 0.7), draw(1, 6, g, 0.3), draw(6, 4, g, 0.7), draw(1, 4, g, 0.3)});
    damped_block_newton::options o;
    o.rescale = true;
    o.rescale_curvature = curvature_matrix::hessian;  // so that f.hessian is C
    damped_block_newton opt(o);
    param_set before = x, grad;
    f.value_and_gradient(before, grad);
    tensor h = f.hessian(before, std::size_t(16) << 20);
    std::size_t momentum_steps = 0;
    const result r = minimize(f, x, opt, quiet(15, 0.0), [&](const iteration_record& rec, const param_set& q) {
        param_set delta = q;
        delta.axpy(-1.0, before);
        std::vector<double> dv, hd(h.shape(0), 0.0);
        for (const tensor& t : delta) dv.insert(dv.end(), t.begin(), t.end());
        for (std::size_t i = 0; i < dv.size(); ++i)
            for (std::size_t j = 0; j < dv.size(); ++j) hd[i] += h(i, j) * dv[j];
        double quad = 0.0;
        for (std::size_t i = 0; i < dv.size(); ++i) quad += dv[i] * hd[i];
        const double predicted = -(grad.dot(delta) + 0.5 * quad);
        INFO("iteration " << rec.iteration);
        if (rec.step_size == 1.0) CHECK(opt.last_model().predicted == Approx(predicted).epsilon(1e-9));
        momentum_steps += opt.last_model().momentum != 0.0;
        before.assign(q);
        f.value_and_gradient(before, grad);
        h = f.hessian(before, std::size_t(16) << 20);
        return true;
    });
    INFO(to_string(r.reason) << " " << r.message);
    CHECK(r.reason == stop_reason::max_iterations);
    CHECK(momentum_steps >= 1);
    for (std::size_t i = 1; i < r.history.size(); ++i) CHECK(r.history[i].loss < r.history[i - 1].loss);
    std::printf("damped block newton rescaled, tanh 5→6→4 + biases + l2: loss %.3e → %.3e in %zu iterations\n", r.initial_loss,
                r.final_loss, r.iterations);
}

TEST_CASE("damped_block_newton: not applicable where the objective has no block solver, naming it",
          "[optim][damped_block_newton]") {
    // W2 used twice: its block is not a layer block, and neither route serves it.
    constexpr auto shared_loss = sum(squared_error(act::leaky_relu<0.2>(nx * nW1) * nW2 * nW2, ny));
    const network_data d(5, 1);
    auto f = make_objective(shared_loss, net_w);
    STATIC_REQUIRE_FALSE(decltype(f)::has_block_inverse());
    f.set_data(nx, d.x).set_data(ny, d.y);
    param_set x = d.start();
    damped_block_newton opt;
    objective& any = f;  // with f's own (final) type: a compile error naming block_solver
    const result r = minimize(any, x, opt, quiet(10, 0.0));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK_THAT(r.message, Catch::StartsWith("damped-block-newton: needs block_solver"));
    CHECK(r.iterations == 0);
    CHECK(flat(x) == flat(d.start()));
}

TEST_CASE("damped_block_newton: bad options are refused at construction", "[optim][damped_block_newton]") {
    damped_block_newton::options o;
    o.initial_damping = 0.0;
    CHECK_THROWS_AS(damped_block_newton(o), error);
    o = {};
    o.damping_decrease = 1.0;
    CHECK_THROWS_AS(damped_block_newton(o), error);
    o = {};
    o.accept_ratio = 0.5;
    CHECK_THROWS_AS(damped_block_newton(o), error);
}
