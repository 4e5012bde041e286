// Tests of include/gateaux/optim/capabilities.hpp: objectives written by hand implement only the
// capabilities they have; optimizers run where what they need is there and otherwise refuse
// with not_applicable, naming the capability; a graph objective offers Gauss–Newton and Fisher
// products, layer statistics and the block solver only where its graph supports them
// (optim/graph_capabilities.hpp). (The compile-time refusal is
// tests/compile_fail/minimize_missing_capability.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"

namespace {

using namespace gateaux;
using namespace gateaux::testing;

// Σ_i (1 − a_i)² + 100·(b_i − a_i²)² over two 1×n blocks a and b: n uncoupled Rosenbrock
// functions, minimum 0 at a = b = (1, ..., 1). Value and hand-written gradient only.
class chained_rosenbrock final : public objective {
public:
    explicit chained_rosenbrock(std::size_t n) : n_(n) {}
    std::vector<std::string> names() const override { return {"a", "b"}; }
    param_set parameters_like() const override {
        return param_set({tensor(xt::zeros<double>({std::size_t(1), n_})), tensor(xt::zeros<double>({std::size_t(1), n_}))});
    }
    double value(const param_set& x) override {
        ++counts.values;
        return evaluate(x, nullptr);
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        ++counts.gradients;
        if (!g.same_shape(x)) g = x.zeros_like();
        return evaluate(x, &g);
    }

private:
    double evaluate(const param_set& x, param_set* g) const {
        double f = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double a = x[0](0, i), b = x[1](0, i), r = b - a * a;
            f += (1.0 - a) * (1.0 - a) + 100.0 * r * r;
            if (g != nullptr) {
                (*g)[0](0, i) = -2.0 * (1.0 - a) - 400.0 * a * r;
                (*g)[1](0, i) = 200.0 * r;
            }
        }
        return f;
    }
    std::size_t n_;
};

// ½xᵀAx − cᵀx with A = [[4, 1], [1, 3]] and c = (1, 2): value, gradient and H·v = A·v, nothing
// else. Minimiser x* = A⁻¹c = (1/11, 7/11).
class small_quadratic final : public objective, public hessian_products {
public:
    std::vector<std::string> names() const override { return {"x"}; }
    param_set parameters_like() const override { return param_set({tensor(xt::zeros<double>({std::size_t(1), std::size_t(2)}))}); }
    double value(const param_set& x) override {
        ++counts.values;
        param_set g = x.zeros_like();
        return evaluate(x, g);
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        ++counts.gradients;
        if (!g.same_shape(x)) g = x.zeros_like();
        return evaluate(x, g);
    }
    void hessian_vector(const param_set&, const param_set& v, param_set& hv) override {
        ++counts.hessian_vectors;
        if (!hv.same_shape(v)) hv = v.zeros_like();
        multiply(v[0], hv[0]);
    }

private:
    static void multiply(const tensor& v, tensor& out) {
        out(0, 0) = 4.0 * v(0, 0) + v(0, 1);
        out(0, 1) = v(0, 0) + 3.0 * v(0, 1);
    }
    static double evaluate(const param_set& x, param_set& g) {
        multiply(x[0], g[0]);
        const double f = 0.5 * (x[0](0, 0) * g[0](0, 0) + x[0](0, 1) * g[0](0, 1)) - x[0](0, 0) - 2.0 * x[0](0, 1);
        g[0](0, 0) -= 1.0;
        g[0](0, 1) -= 2.0;
        return f;
    }
};

TEST_CASE("capabilities: an objective with only value and gradient runs L-BFGS to its closed-form minimiser",
          "[optim][capabilities]") {
    chained_rosenbrock f(3);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<hessian_products, chained_rosenbrock>);
    param_set x({tensor{{-1.2, 0.0, 2.0}}, tensor{{1.0, 0.5, -1.0}}});
    lbfgs opt;
    const result r = minimize(f, x, opt, quiet(500, 1e-10));  // statically typed: lbfgs needs nothing more
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t i = 0; i < 3; ++i) CHECK(x[b](0, i) == Approx(1.0).margin(1e-9));
    CHECK(r.final_loss <= 1e-18);
    CHECK(r.counts.hessian_vectors + r.counts.gauss_newton_vectors + r.counts.block_solves + r.counts.hessians == 0);
}

TEST_CASE("capabilities: optimizers that need more than value and gradient refuse, naming the capability",
          "[optim][capabilities]") {
    struct refusal {
        std::function<std::unique_ptr<optimizer>()> make;
        std::string message;
    };
    const std::vector<refusal> cases = {
        {[] { return std::make_unique<naive_newton>(); },
         "newton: needs hessian_matrix, which this objective does not offer: it offers no explicit Hessian"},
        {[] { return std::make_unique<damped_newton>(); },
         "levenberg-marquardt: needs hessian_matrix, which this objective does not offer: it offers no explicit Hessian"},
        {[] { return std::make_unique<trust_region>(); },
         "trust-region: needs hessian_matrix, which this objective does not offer: it offers no explicit Hessian"},
        {[] { return std::make_unique<diagonal_newton>(); },
         "diagonal-newton: needs hessian_products, which this objective does not offer: it offers no Hessian-vector "
         "products H·v"},
        {[] { return std::make_unique<hessian_free>(); },
         "hf-cg: needs hessian_products, which this objective does not offer: it offers no Hessian-vector products H·v"},
        {[] { return std::make_unique<block_newton>(); },
         "block-newton: needs block_solver, which this objective does not offer: it has no per-layer inverse (a graph "
         "objective has one where every parameter is a layer weight h·W or bias x + b on the one path to a sum(...) or "
         "mean(...) of squared_error or cross_entropy, plus l2 penalties: docs/theory.md); use a Hessian-free or "
         "quasi-Newton optimizer"},
        {[] { return std::make_unique<fd_block_newton>(); },
         "fd-block-newton: needs block_solver, which this objective does not offer: it has no per-layer inverse (a graph "
         "objective has one where every parameter is a layer weight h·W or bias x + b on the one path to a sum(...) or "
         "mean(...) of squared_error or cross_entropy, plus l2 penalties: docs/theory.md); use a Hessian-free or "
         "quasi-Newton optimizer"},
        {[] { return std::make_unique<damped_block_newton>(); },
         "damped-block-newton: needs block_solver, which this objective does not offer: it has no per-layer inverse (a graph "
         "objective has one where every parameter is a layer weight h·W or bias x + b on the one path to a sum(...) or "
         "mean(...) of squared_error or cross_entropy, plus l2 penalties: docs/theory.md); use a Hessian-free or "
         "quasi-Newton optimizer"},
        {[] { return std::make_unique<bfgs>(bfgs_options{.exact_line_search = true}); },
         "bfgs: needs hessian_products, which this objective does not offer: it offers no Hessian-vector products H·v"},
    };
    for (const refusal& c : cases) {
        chained_rosenbrock f(2);
        const param_set start({tensor{{-1.2, 0.5}}, tensor{{1.0, 0.0}}});
        param_set x = start;
        auto opt = c.make();
        INFO(opt->name());
        const result r = minimize(f, x, *opt, quiet(10, 0.0));  // optimizer&: its needs are checked at run time
        CHECK(r.reason == stop_reason::not_applicable);
        CHECK(r.message == c.message);
        CHECK(r.iterations == 0);
        CHECK(flat(x) == flat(start));
        CHECK(r.final_loss == Approx(f.value(start)));
    }
}

TEST_CASE("capabilities: Hessian-free needs the products of the kind its options choose", "[optim][capabilities]") {
    // small_quadratic has H·v and no Gauss–Newton products: HF with H·v runs, with Gauss–Newton it refuses.
    small_quadratic f;
    param_set x = f.parameters_like();
    hessian_free with_h;
    const result r = minimize(f, x, with_h, quiet(50, 1e-12));
    INFO(r.message);
    CHECK(r.reason == stop_reason::gradient_tolerance);
    CHECK(x[0](0, 0) == Approx(1.0 / 11.0).margin(1e-12));
    CHECK(x[0](0, 1) == Approx(7.0 / 11.0).margin(1e-12));

    hessian_free::options o;
    o.curvature = curvature_matrix::gauss_newton;
    hessian_free with_gn(o);
    param_set y = f.parameters_like();
    const result rg = minimize(f, y, with_gn, quiet(50, 1e-12));
    CHECK(rg.reason == stop_reason::not_applicable);
    CHECK(rg.message ==
          "hf-gn-cg: needs gauss_newton_products, which this objective does not offer: it offers no Gauss–Newton products "
          "G·v (a graph objective has them for a loss that is sum(...) or mean(...) of squared_error or cross_entropy)");
    CHECK(y.max_abs() == 0.0);
}

TEST_CASE("capabilities: Hessian-free with the Fisher kind refuses an objective without Fisher products, naming them",
          "[optim][capabilities][fisher]") {
    small_quadratic f;
    hessian_free::options o;
    o.curvature = curvature_matrix::fisher;
    hessian_free opt(o);
    param_set x = f.parameters_like();
    const result r = minimize(f, x, opt, quiet(50, 1e-12));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK(r.message ==
          "hf-fisher-cg: needs fisher_products, which this objective does not offer: it offers no Fisher products F·v (a "
          "graph objective has them for a loss that is sum(...) or mean(...) of squared_error or cross_entropy against a "
          "target leaf)");
    CHECK(x.max_abs() == 0.0);
    CHECK(r.counts.fisher_vectors == 0);
}

// An optimizer that needs the layer statistics (as a K-FAC would), refusing as the others do.
class needs_statistics final : public optimizer {
public:
    using needs = capability_list<layer_statistics>;
    std::string name() const override { return "statistics-user"; }
    step_outcome start(objective& f, param_set& x) override {
        param_set g;
        const double loss = f.value_and_gradient(x, g);
        const std::string why = detail::missing(f, needs{});
        if (why.empty()) return {step_outcome::status::ok, loss, g.norm(), 0.0, 0.0, {}};
        return {step_outcome::status::not_applicable, loss, g.norm(), 0.0, 0.0, name() + ": " + why};
    }
    step_outcome step(objective& f, param_set& x) override {
        layer_statistics::result st;
        capability<layer_statistics>(f)->statistics(x, {}, st);
        return {step_outcome::status::ok, st.loss, st.gradient.norm(), 0.0, 0.0, {}};
    }
};

TEST_CASE("capabilities: an optimizer needing layer statistics refuses an objective without them, naming them",
          "[optim][capabilities][layer_statistics]") {
    small_quadratic f;
    param_set x = f.parameters_like();
    needs_statistics opt;
    const result r = minimize(static_cast<objective&>(f), x, opt, quiet(5, 0.0));
    CHECK(r.reason == stop_reason::not_applicable);
    CHECK(r.message ==
          "statistics-user: needs layer_statistics, which this objective does not offer: it offers no layer statistics (a "
          "graph objective has them where every parameter is a layer weight h·W or a bias x + b on the one path to a loss "
          "that is sum(...) or mean(...) of squared_error or cross_entropy)");
    // A graph objective of a network has them: the same optimizer runs.
    const network_data data(5, 1);
    auto g = data.objective();
    param_set y = data.start();
    const result rg = minimize(static_cast<objective&>(g), y, opt, quiet(2, 0.0));
    CHECK(rg.reason == stop_reason::max_iterations);
    CHECK(rg.counts.layer_statistics == 2);
}

TEST_CASE("capabilities: a graph objective offers Gauss–Newton products and the block solver only where its graph has them",
          "[optim][capabilities]") {
    constexpr auto relu_loss = sum(squared_error(act::relu(nx * nW1) * nW2, ny));
    constexpr auto shared_loss = sum(squared_error(act::leaky_relu<0.2>(nx * nW1) * nW2 * nW2, ny));  // W2 used twice
    auto leaky = make_objective(net_loss, net_w);     // parseable loss, the functional inverse accepts the net
    auto relu = make_objective(relu_loss, net_w);     // parseable loss, the block solve only (bop rejects relu)
    auto shared = make_objective(shared_loss, net_w);  // parseable loss, no layer block for W2
    auto quad = make_objective(quadratic, wrt(qx));   // neither
    using leaky_t = decltype(leaky);
    using relu_t = decltype(relu);
    using shared_t = decltype(shared);
    using quad_t = decltype(quad);
    STATIC_REQUIRE(std::is_base_of_v<gauss_newton_products, leaky_t>);
    STATIC_REQUIRE(std::is_base_of_v<block_solver, leaky_t>);
    STATIC_REQUIRE(std::is_base_of_v<gauss_newton_products, relu_t>);
    STATIC_REQUIRE(std::is_base_of_v<block_solver, relu_t>);
    STATIC_REQUIRE(leaky_t::has_functional_inverse());
    STATIC_REQUIRE_FALSE(relu_t::has_functional_inverse());
    STATIC_REQUIRE(std::is_base_of_v<gauss_newton_products, shared_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<block_solver, shared_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<gauss_newton_products, quad_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<block_solver, quad_t>);
    // What every graph has.
    STATIC_REQUIRE(std::is_base_of_v<hessian_products, quad_t>);
    STATIC_REQUIRE(std::is_base_of_v<hessian_matrix, quad_t>);
    STATIC_REQUIRE(std::is_base_of_v<data_batches, quad_t>);
    // The same seen through objective&: a missing capability is a null pointer, nothing throws.
    objective& a = leaky;
    objective& b = shared;
    objective& c = quad;
    CHECK(capability<gauss_newton_products>(a) != nullptr);
    CHECK(capability<block_solver>(a) != nullptr);
    CHECK(capability<block_solver>(static_cast<objective&>(relu)) != nullptr);
    CHECK(capability<gauss_newton_products>(b) != nullptr);
    CHECK(capability<block_solver>(b) == nullptr);
    CHECK(capability<gauss_newton_products>(c) == nullptr);
    CHECK(capability<block_solver>(c) == nullptr);
    CHECK(capability<hessian_products>(c) != nullptr);
    CHECK(capability<hessian_matrix>(c) != nullptr);
    CHECK(capability<data_batches>(c) != nullptr);
    CHECK(leaky.has_block_inverse());
    CHECK(relu.has_block_inverse());
    CHECK_FALSE(shared.has_block_inverse());
    CHECK_FALSE(quad.has_gauss_newton());
}

TEST_CASE("capabilities: a graph objective offers Fisher products where its loss parses against a data target, and "
          "layer statistics where every parameter is a layer weight or bias",
          "[optim][capabilities][fisher][layer_statistics]") {
    constexpr auto relu_loss = sum(squared_error(act::relu(nx * nW1) * nW2, ny));
    constexpr auto shared_loss = sum(squared_error(act::leaky_relu<0.2>(nx * nW1) * nW2 * nW2, ny));  // W2 used twice
    constexpr auto computed_target = sum(squared_error(act::leaky_relu<0.2>(nx * nW1) * nW2, scale<2.0>(ny)));
    using leaky_t = decltype(make_objective(net_loss, net_w));
    using relu_t = decltype(make_objective(relu_loss, net_w));
    using shared_t = decltype(make_objective(shared_loss, net_w));
    using computed_t = decltype(make_objective(computed_target, net_w));
    using quad_t = decltype(make_objective(quadratic, wrt(qx)));
    STATIC_REQUIRE(std::is_base_of_v<fisher_products, leaky_t>);
    STATIC_REQUIRE(std::is_base_of_v<layer_statistics, leaky_t>);
    STATIC_REQUIRE(std::is_base_of_v<fisher_products, relu_t>);  // no block inverse, but layers
    STATIC_REQUIRE(std::is_base_of_v<layer_statistics, relu_t>);
    STATIC_REQUIRE(std::is_base_of_v<fisher_products, shared_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<layer_statistics, shared_t>);
    STATIC_REQUIRE(std::is_base_of_v<gauss_newton_products, computed_t>);  // no leaf to stand sampled targets in for
    STATIC_REQUIRE_FALSE(std::is_base_of_v<fisher_products, computed_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<layer_statistics, computed_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<fisher_products, quad_t>);
    STATIC_REQUIRE_FALSE(std::is_base_of_v<layer_statistics, quad_t>);
    STATIC_REQUIRE(leaky_t::has_fisher());
    STATIC_REQUIRE(leaky_t::has_layer_statistics());
    STATIC_REQUIRE_FALSE(shared_t::has_layer_statistics());
    auto quad = make_objective(quadratic, wrt(qx));
    objective& c = quad;
    CHECK(capability<fisher_products>(c) == nullptr);
    CHECK(capability<layer_statistics>(c) == nullptr);
    CHECK_FALSE(curvature_operator::find(c, curvature_matrix::fisher));
    auto leaky = make_objective(net_loss, net_w);
    objective& a = leaky;
    CHECK(capability<fisher_products>(a) != nullptr);
    CHECK(capability<layer_statistics>(a) != nullptr);
    CHECK(curvature_operator::find(a, curvature_matrix::fisher).kind() == curvature_matrix::fisher);
}

TEST_CASE("capabilities: curvature_operator finds the products of a kind, or names the capability it lacks",
          "[optim][capabilities]") {
    small_quadratic f;
    const curvature_operator h = curvature_operator::find(f, curvature_matrix::hessian);
    const curvature_operator gn = curvature_operator::find(f, curvature_matrix::gauss_newton);
    REQUIRE(h);
    CHECK(h.kind() == curvature_matrix::hessian);
    const param_set x = f.parameters_like(), v({tensor{{1.0, -2.0}}});
    param_set out;
    h(x, v, out);
    CHECK(out[0](0, 0) == 2.0);   // 4·1 + 1·(−2)
    CHECK(out[0](0, 1) == -5.0);  // 1·1 + 3·(−2)
    CHECK(f.counts.hessian_vectors == 1);
    CHECK_FALSE(gn);
    CHECK(gn.kind() == curvature_matrix::gauss_newton);
    CHECK_THAT(gn.lacking(), Catch::StartsWith("needs gauss_newton_products"));
}

}  // namespace
