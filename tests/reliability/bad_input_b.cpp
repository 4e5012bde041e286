// Bad input, systematically (part b): objectives (make_objective's set_data, use_minibatches,
// use_curvature_sample, use_fisher, and every evaluation with parameters or directions of the
// wrong count, shape or values), minimize (a non-finite or misshapen start, an objective lacking
// what the optimizer needs at run time, refusals from start() and from line-search settings), and
// the spectrum diagnostics' options and x. Part a (bad_input_a.cpp) says what each check asserts:
// the documented error type, a message with the facts, the caller's data bit for bit unchanged,
// and a previous valid state still working.
#include <string>

#include "reliability/bad_input.hpp"

using namespace gateaux;
using namespace bad_input;

namespace {

// A two-layer network under a mean squared error: every capability of a graph objective
// (H·v, Gauss–Newton·v, Fisher·v, layer statistics, the per-layer inverse, the explicit Hessian).
namespace on {
constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 4, 4>;
constexpr auto W2 = param<"W2", 4, 3>;
constexpr auto w = wrt(W1, W2);
constexpr auto loss = mse(leaky_relu<0.5>(x * W1) * W2, y);
using objective_t = decltype(make_objective(loss, w));
}  // namespace on

struct on_data {
    tensor X = normal(6, 4, 1), Y = normal(6, 3, 2);
    param_set theta{{well_conditioned(4, 3), normal(4, 3, 4)}};
    param_set v{{normal(4, 4, 5), normal(4, 3, 6)}};
};

// ½‖x − 1‖² over one 1×2 block, with H·v = v and nothing else. Not final: minimize checks what
// an optimizer needs at run time (start() refuses with not_applicable).
class parabola : public objective, public hessian_products {
public:
    std::vector<std::string> names() const override { return {"p"}; }
    param_set parameters_like() const override { return param_set({tensor(xt::zeros<double>({std::size_t(1), std::size_t(2)}))}); }
    double value(const param_set& x) override {
        ++counts.values;
        return 0.5 * ((x[0](0, 0) - 1) * (x[0](0, 0) - 1) + (x[0](0, 1) - 1) * (x[0](0, 1) - 1));
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        ++counts.gradients;
        if (!g.same_shape(x)) g = x.zeros_like();
        g[0] = x[0] - 1.0;
        return value(x);
    }
    void hessian_vector(const param_set&, const param_set& v, param_set& hv) override {
        ++counts.hessian_vectors;
        hv = v;
    }
};

stopping quiet(std::size_t iterations) {
    stopping s;
    s.max_iterations = iterations;
    s.gradient_tolerance = 0.0;
    return s;
}

}  // namespace

// ================================================================ objectives: data

TEST_CASE("set_data: bad tensors are refused before storing", "[reliability][objective]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    f.set_data(on::x, d.X).set_data(on::y, d.Y);
    const double loss0 = f.value(d.theta);
    tensor wide = normal(6, 5, 7), no_rows = tensor::from_shape({0, 4}), no_cols = tensor::from_shape({6, 0});
    tensor nan_x = d.X, inf_y = d.Y;
    nan_x(4, 2) = nan_v;
    inf_y(5, 0) = inf_v;
    const snapshot caller({&d.X, &d.Y, &wide, &no_rows, &no_cols, &nan_x, &inf_y}, {&d.theta});

    says(message_of<shape_error>([&] { f.set_data(on::x, wide); }), {"input 'x'", "B×4", "got 6×5"});
    says(message_of<shape_error>([&] { f.set_data(on::y, wide); }), {"target 'y'", "B×3", "got 6×5"});
    says(message_of<shape_error>([&] { f.set_data(on::x, no_rows); }), {"input 'x'", "any batch B ≥ 1", "got 0×4"});
    says(message_of<shape_error>([&] { f.set_data(on::y, no_cols); }), {"target 'y'", "got 6×0"});
    says(message_of<value_error>([&] { f.set_data(on::x, nan_x); }), {"input 'x'", "nan", "(4, 2)"});
    says(message_of<value_error>([&] { f.set_data(on::y, inf_y); }), {"target 'y'", "inf", "(5, 0)"});
    CHECK(caller.unchanged());
    // The objective still has the good data: the same loss, bit for bit, and its rows.
    CHECK(f.value(d.theta) == loss0);
    CHECK(f.data_rows() == 6);
    CHECK(same_bits(f.curvature_data(on::x), d.X));

    // A refused first set_data leaves no data behind: the leaf is still missing, and named.
    on::objective_t fresh = make_objective(on::loss, on::w);
    CHECK_THROWS_AS(fresh.set_data(on::x, nan_x), value_error);
    fresh.set_data(on::y, d.Y);
    says(message_of<shape_error>([&] { (void)fresh.value(d.theta); }), {"input 'x'", "is not bound"});
    CHECK(caller.unchanged());
}

TEST_CASE("set_data: rows disagreeing between data tensors", "[reliability][objective]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    const tensor Y5 = normal(5, 3, 8);
    const snapshot caller({&d.X, &d.Y, &Y5}, {&d.theta, &d.v});
    f.set_data(on::x, d.X).set_data(on::y, Y5);
    param_set g, hv;
    const auto disagree = {std::string("batch sizes differ"), std::string("input 'x' has 6 rows"), std::string("target 'y' has 5")};
    says(message_of<shape_error>([&] { (void)f.value_and_gradient(d.theta, g); }), disagree);
    f.use_minibatches(4, 1);
    says(message_of<shape_error>([&] { (void)f.value(d.theta); }), disagree);
    f.use_curvature_sample(3, 2);
    says(message_of<shape_error>([&] { f.hessian_vector(d.theta, d.v, hv); }), disagree);
    CHECK(caller.unchanged());
    f.set_data(on::y, d.Y);  // rows agree: everything runs
    CHECK_NOTHROW(f.value_and_gradient(d.theta, g));
    CHECK_NOTHROW(f.hessian_vector(d.theta, d.v, hv));
    CHECK(f.batch_rows() == 4);
    CHECK(f.curvature_rows() == 3);
}

TEST_CASE("use_minibatches, curvature_data, Fisher and statistics without a target", "[reliability][objective]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    const snapshot caller({&d.X, &d.Y}, {&d.theta, &d.v});
    f.set_data(on::x, d.X);
    says(message_of<shape_error>([&] { (void)f.curvature_data(on::y); }), {"curvature_data", "no data set for 'y'"});
    param_set out;
    // The empirical Fisher and the layer statistics need the loss's target.
    says(message_of<shape_error>([&] { f.fisher_vector(d.theta, d.v, out); }), {"need the loss's target", "set_data(y, ...) first"});
    layer_statistics::result st;
    says(message_of<shape_error>([&] { f.statistics(d.theta, {}, st); }), {"set_data(y, ...) first"});
    f.set_data(on::y, d.Y);
    const double full = f.value(d.theta);
    says(message_of<shape_error>([&] { f.use_minibatches(0, 1); }), {"use_minibatches", "batch size must be ≥ 1", "got 0"});
    CHECK_FALSE(f.minibatched());
    CHECK(f.value(d.theta) == full);
    f.use_minibatches(2, 1);
    const tensor batch = f.curvature_data(on::x);
    CHECK_THROWS_AS(f.use_minibatches(0, 7), shape_error);
    CHECK(same_bits(f.curvature_data(on::x), batch));  // the same minibatch, not a new draw
    // use_curvature_sample(0) switches the sample off and a size above the rows is clamped:
    // neither is an error.
    f.use_curvature_sample(100, 3);
    CHECK(f.curvature_rows() == 2);
    CHECK(caller.unchanged());
}

// ================================================================ objectives: parameters and directions

TEST_CASE("objective evaluations: bad parameters, directions, damping, max_bytes", "[reliability][objective]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    f.set_data(on::x, d.X).set_data(on::y, d.Y);
    param_set g, out, step;
    const double loss0 = f.value_and_gradient(d.theta, g);
    const param_set g0 = g;
    const param_set one_block({d.theta[0]});
    const param_set transposed({d.theta[0], tensor(xt::transpose(d.theta[1]))});
    param_set nan_v2 = d.v;
    nan_v2[1](2, 1) = nan_v;
    const snapshot caller({&d.X, &d.Y}, {&d.theta, &d.v, &one_block, &transposed, &nan_v2});

    SECTION("parameters: the count, or the parameter and both shapes") {
        says(message_of<shape_error>([&] { (void)f.value(one_block); }), {"expected 2 parameter blocks, got 1"});
        says(message_of<shape_error>([&] { (void)f.value_and_gradient(one_block, out); }), {"expected 2 parameter blocks, got 1"});
        says(message_of<shape_error>([&] { (void)f.value_and_gradient(transposed, out); }), {"parameter 'W2'", "4×3", "got 3×4"});
        says(message_of<shape_error>([&] { f.hessian_vector(transposed, d.v, out); }), {"parameter 'W2'", "got 3×4"});
        says(message_of<shape_error>([&] { f.gauss_newton_vector(one_block, d.v, out); }), {"expected 2 parameter blocks, got 1"});
        says(message_of<shape_error>([&] { f.fisher_vector(one_block, d.v, out); }), {"expected 2 parameter blocks, got 1"});
        layer_statistics::result st;
        says(message_of<shape_error>([&] { f.statistics(one_block, {}, st); }), {"expected 2 parameter blocks, got 1"});
        says(message_of<shape_error>([&] { (void)f.hessian(transposed, default_hessian_bytes); }), {"parameter 'W2'", "got 3×4"});
        says(message_of<shape_error>([&] { (void)f.block_newton_step(one_block, g, step); }), {"expected 2 parameter blocks, got 1"});
        says(message_of<shape_error>([&] { f.block_inverse(transposed, d.v, out); }), {"parameter 'W2'", "got 3×4"});
        says(message_of<shape_error>([&] { (void)f.damped_block_newton_step(one_block, 1.0, g, step); }),
             {"expected 2 parameter blocks, got 1"});
    }
    SECTION("directions: the count, the direction and both shapes, or the non-finite entry") {
        says(message_of<shape_error>([&] { f.hessian_vector(d.theta, one_block, out); }), {"expected 2 direction blocks", "got 1"});
        says(message_of<shape_error>([&] { f.gauss_newton_vector(d.theta, one_block, out); }), {"expected 2 direction blocks", "got 1"});
        says(message_of<shape_error>([&] { f.fisher_vector(d.theta, one_block, out); }), {"expected 2 direction blocks", "got 1"});
        says(message_of<shape_error>([&] { f.block_inverse(d.theta, one_block, out); }), {"expected 2 direction blocks", "got 1"});
        says(message_of<shape_error>([&] { f.damped_block_inverse(d.theta, one_block, 1.0, out); }),
             {"expected 2 direction blocks", "got 1"});
        says(message_of<shape_error>([&] { f.hessian_vector(d.theta, transposed, out); }), {"direction 'v.W2'", "4×3", "got 3×4"});
        says(message_of<shape_error>([&] { f.fisher_vector(d.theta, transposed, out); }), {"direction 'v.W2'", "got 3×4"});
        says(message_of<value_error>([&] { f.hessian_vector(d.theta, nan_v2, out); }), {"direction 'v.W2'", "nan", "(2, 1)"});
        says(message_of<value_error>([&] { f.gauss_newton_vector(d.theta, nan_v2, out); }), {"direction 'v.W2'", "(2, 1)"});
        says(message_of<value_error>([&] { f.block_inverse(d.theta, nan_v2, out); }), {"direction 'v.W2'", "(2, 1)"});
    }
    SECTION("the damping of a block solve: negative or NaN") {
        says(message_of<value_error>([&] { f.damped_block_inverse(d.theta, d.v, -1.0, out); }),
             {"damping λ of a block solve", "finite and ≥ 0", "got -1"});
        says(message_of<value_error>([&] { (void)f.damped_block_newton_step(d.theta, nan_v, g, step); }), {"damping λ", "got nan"});
    }
    SECTION("the explicit Hessian above max_bytes: the size and the limit") {
        says(message_of<size_error>([&] { (void)f.hessian(d.theta, 1024); }),
             {"28 parameters", "28×28", "6.1 KiB", "over the limit of 1.0 KiB"});
    }
    CHECK(caller.unchanged());
    // The objective works as before.
    CHECK(f.value_and_gradient(d.theta, g) == loss0);
    CHECK(same_bits(g, g0));
}

TEST_CASE("objective block_newton_step: rank-deficient data is not an error; the block solve serves it", "[reliability][objective]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    tensor X3 = rows(d.X, 0, 3), Y3 = rows(d.Y, 0, 3);
    xt::row(X3, 2) = xt::row(X3, 0);  // duplicate rows: H_l is singular; the step is the minimum-norm H_l⁺·G_l
    f.set_data(on::x, X3).set_data(on::y, Y3);
    const snapshot caller({&X3, &Y3}, {&d.theta});
    param_set g, step;
    REQUIRE_NOTHROW(f.block_newton_step(d.theta, g, step));
    CHECK(f.last_inverse_route() == inverse_route::block_solve);
    CHECK(step.finite());
    CHECK(caller.unchanged());
}

// ================================================================ minimize

TEST_CASE("minimize: non-finite or misshapen start", "[reliability][minimize]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    f.set_data(on::x, d.X).set_data(on::y, d.Y);
    const snapshot data({&d.X, &d.Y});
    SECTION("NaN in the start") {
        param_set x = d.theta;
        x[0](1, 1) = nan_v;
        const snapshot start({}, {&x});
        adam opt;
        const result r = minimize(f, x, opt, quiet(5));
        INFO("message: '" << r.message << "'");
        CHECK(r.reason == stop_reason::non_finite);
        CHECK(r.message == "the loss is nan");
        CHECK(r.iterations == 0);
        CHECK(std::isnan(r.initial_loss));
        CHECK(start.unchanged());
    }
    SECTION("+inf in the start, L-BFGS") {
        param_set x = d.theta;
        x[1](0, 2) = inf_v;
        const snapshot start({}, {&x});
        lbfgs opt;
        const result r = minimize(f, x, opt, quiet(5));
        CHECK(r.reason == stop_reason::non_finite);
        INFO("message: '" << r.message << "'");
        CHECK((r.message == "the loss is inf" || r.message == "the loss is nan"));
        CHECK(r.iterations == 0);
        CHECK(start.unchanged());
    }
    SECTION("x with a block of another shape, or another count of blocks") {
        param_set x({d.theta[0], tensor(xt::zeros<double>({3, 4}))});
        const snapshot start({}, {&x});
        gradient_descent gd(0.1);
        says(message_of<shape_error>([&] { (void)minimize(f, x, gd, quiet(5)); }), {"parameter 'W2'", "4×3", "got 3×4"});
        param_set one({d.theta[0]});
        const snapshot start1({}, {&one});
        says(message_of<shape_error>([&] { (void)minimize(f, one, gd, quiet(5)); }), {"expected 2 parameter blocks, got 1"});
        CHECK(start.unchanged());
        CHECK(start1.unchanged());
    }
    CHECK(data.unchanged());
}

TEST_CASE("minimize: capability lacking at run time", "[reliability][minimize]") {
    parabola f;  // value, gradient and H·v only; not a final type, so checked at run time
    param_set x({tensor{{3.0, -2.0}}});
    const snapshot start({}, {&x});
    const auto refused = [&](optimizer& opt, std::initializer_list<std::string> parts) {
        INFO("optimizer " << opt.name());
        const result r = minimize(f, x, opt, quiet(5));
        CHECK(r.reason == stop_reason::not_applicable);
        CHECK(r.iterations == 0);
        says(r.message, parts);
        CHECK(start.unchanged());
    };
    hessian_free hf_gn({.curvature = curvature_matrix::gauss_newton});
    refused(hf_gn, {"hf-gn-cg", "needs gauss_newton_products", "which this objective does not offer"});
    hessian_free hf_fisher({.curvature = curvature_matrix::fisher});
    refused(hf_fisher, {"needs fisher_products"});
    preconditioned_hessian_free pcg;
    refused(pcg, {"needs block_solver"});
    block_newton bn;
    refused(bn, {"needs block_solver"});
    damped_block_newton dbn;
    refused(dbn, {"needs block_solver"});
    kfac k;
    refused(k, {"needs layer_statistics"});
    natural_gradient ng;
    refused(ng, {"needs layer_statistics"});
    naive_newton nn;
    refused(nn, {"needs hessian_matrix"});
    trust_region tr;
    refused(tr, {"needs hessian_matrix"});
    // Control: what the parabola has (H·v) is enough for Hessian-free CG with the Hessian.
    hessian_free hf;
    param_set y = x;
    CHECK(minimize(f, y, hf, quiet(3)).reason != stop_reason::not_applicable);
}

TEST_CASE("minimize: refusals by start() and by line-search settings", "[reliability][minimize]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    f.set_data(on::x, d.X).set_data(on::y, d.Y);
    param_set x = d.theta;
    const snapshot start({&d.X, &d.Y}, {&x});
    bfgs big({.max_bytes = 1000});
    says(message_of<size_error>([&] { (void)minimize(f, x, big, quiet(5)); }),
         {"bfgs", "n = 28 parameters", "bfgs_options::max_bytes", "use lbfgs"});
    CHECK(start.unchanged());
    // strong_wolfe's settings are checked when L-BFGS and BFGS are built, before any run.
    says(message_of<error>([] { (void)lbfgs({.line_search = {.c1 = 0.5, .c2 = 0.4}}); }),
         {"strong_wolfe", "0 < c1 < c2 < 1", "c1 = 0.5", "c2 = 0.4"});
    says(message_of<error>([] { (void)bfgs({.line_search = {.c1 = 0.5, .c2 = 0.4}}); }),
         {"strong_wolfe", "0 < c1 < c2 < 1", "c1 = 0.5", "c2 = 0.4"});
    CHECK(start.unchanged());
}

// ================================================================ spectrum

TEST_CASE("spectrum: bad kind, options and x", "[reliability][spectrum]") {
    on::objective_t f = make_objective(on::loss, on::w);
    on_data d;
    f.set_data(on::x, d.X).set_data(on::y, d.Y);
    param_set x = d.theta;
    const snapshot caller({&d.X, &d.Y}, {&x});
    const auto opt = [](auto change) {
        spectrum_options o;
        o.iterations = 5, o.trace_samples = 0, o.density_starts = 2, o.density_iterations = 3;
        change(o);
        return o;
    };
    const std::size_t products = f.counts.total();
    says(message_of<error>([&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.iterations = 0; })); }),
         {"spectrum_options::iterations is 0"});
    says(message_of<error>([&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.trace_samples = 1; })); }),
         {"spectrum_options::trace_samples is 1"});
    says(message_of<error>(
             [&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.density_iterations = 0; })); }),
         {"spectrum_options::density_iterations is 0"});
    says(message_of<error>([&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.density.points = 1; })); }),
         {"spectrum_options::density.points", "≥ 2", "got 1"});
    says(message_of<error>(
             [&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.density.relative_sigma = -0.1; })); }),
         {"density.relative_sigma", "> 0", "got -0.1"});
    says(message_of<error>([&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.density.sigma = nan_v; })); }),
         {"density.sigma", "got nan"});
    says(message_of<error>(
             [&] { (void)spectrum(f, x, curvature_matrix::hessian, opt([](spectrum_options& o) { o.negative_cutoff = -1.0; })); }),
         {"negative_cutoff", "got -1"});
    CHECK(f.counts.total() == products);  // refused before any product

    parabola p;
    const param_set px({tensor{{0.0, 0.0}}});
    says(message_of<error>([&] { (void)spectrum(p, px, curvature_matrix::gauss_newton); }),
         {"gateaux::spectrum", "needs gauss_newton_products", "which this objective does not offer"});

    const param_set wrong({d.theta[0], tensor(xt::zeros<double>({4, 4}))}), fewer({d.theta[0]});
    says(message_of<shape_error>([&] { (void)spectrum(f, wrong, curvature_matrix::hessian, opt([](spectrum_options&) {})); }),
         {"not shaped like the objective's parameters", "block 1 ('W2') must be 4×3", "x's is 4×4"});
    says(message_of<shape_error>([&] { (void)spectrum(f, fewer, curvature_matrix::gauss_newton, opt([](spectrum_options&) {})); }),
         {"2 blocks expected, x has 1"});

    param_set nan_x = d.theta;
    nan_x[0](0, 0) = nan_v;
    const snapshot nan_start({}, {&nan_x});
    says(message_of<value_error>([&] { (void)spectrum(f, nan_x, curvature_matrix::hessian, opt([](spectrum_options&) {})); }),
         {"the Hessian product H·v holds NaN or ±inf at this x"});
    CHECK(nan_start.unchanged());
    CHECK(caller.unchanged());
}
