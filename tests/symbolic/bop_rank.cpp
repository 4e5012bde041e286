// The B-operator's run-time conditions (docs/theory.md, "What is rejected, and why"; include/gateaux/symbolic/
// bop.hpp and the ops it builds on): a pseudo-inverse or solve that is impossible or unreliable
// raises gateaux::rank_error naming the tensor and the condition, and the run leaves the bound
// data unchanged (and the program usable once the data is fixed):
//   batch larger than a layer's input width         qr.hpp          "h (input of W1)"
//   rank-deficient input (duplicate rows)           qr.hpp          "h (input of W1)"
//   a singular weight above the layer               lu.hpp, right_pinv.hpp, curvature_solve.hpp
//   a vanishing derivative (saturated tanh, a leaky ReLU with slope 1e-12)   divide.hpp, curvature_solve.hpp
//   a vanishing softmax probability                 softmax_pinv.hpp
// and set_inverse_tolerance moves the verdict both ways. Large weights on a leaky ReLU net are fine.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using enum oracle::loss_kind;

using square = net<sum_se, widths<4, 4, 4>, acts<leaky, linear>, at<1, 2>>;         // chain, LU of W2
using narrowing = net<sum_se, widths<6, 3, 3>, acts<leaky, linear>, at<2>>;        // only W2: B ≤ 3
using widening = net<sum_se, widths<4, 3, 6>, acts<leaky, linear>, at<1>>;         // chain, W2⁺ of a wide W2
using master = net<sum_se, widths<4, 3, 5>, acts<leaky, leaky>, at<1>>;            // master formula, T_b by LDLᵀ
using tanh_output = net<sum_se, widths<4, 4>, acts<tanh_a>, at<1>>;                // ⊘ φ′ at the output
using tanh_hidden = net<sum_se, widths<4, 4, 4>, acts<tanh_a, linear>, at<1>>;     // master formula
using shallow_leaky = net<sum_se, widths<4, 4, 4>, acts<gateaux::activation<gateaux::leaky_relu_fn<1e-12>>, linear>, at<1>>;
using logits = net<sum_ce, widths<4, 5>, acts<linear>, at<1>>;                     // softmax_pinv

// Restores the inverse tolerance when a test ends, however it ends.
struct tolerance_guard {
    double saved = gateaux::inverse_tolerance();
    ~tolerance_guard() { gateaux::set_inverse_tolerance(saved); }
};

bool same(const std::vector<tensor>& a, const std::vector<tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].shape() != b[i].shape() || !std::equal(a[i].begin(), a[i].end(), b[i].begin())) return false;
    return true;
}

// The inertia a curvature-block refusal reports ("inertia: P positive, N negative, Z zero pivots").
struct inertia {
    int positive = -1, negative = -1, zero = -1;
};
inertia reported_inertia(const std::string& what) {
    inertia in;
    const std::size_t at = what.find("inertia: ");
    if (at != std::string::npos)
        std::sscanf(what.c_str() + at, "inertia: %d positive, %d negative, %d zero", &in.positive, &in.negative, &in.zero);
    return in;
}

// Runs the program, expecting a rank_error; returns its message ("" if none was thrown).
template <class Net>
std::string refusal(instance<Net>& net) {
    try {
        net.prog.run();
    } catch (const gateaux::rank_error& e) {
        return e.what();
    }
    return "";
}

// Runs net's program expecting a rank_error whose tensor name and condition contain the given
// fragments (and whose message says both); the bound tensors must be bit-for-bit unchanged.
template <class Net>
void expect_refusal(instance<Net>& net, const std::string& tensor_part, const std::string& condition_part) {
    const std::vector<tensor> before = net.bound();
    bool thrown = false;
    try {
        net.prog.run();
    } catch (const gateaux::rank_error& e) {
        thrown = true;
        const std::string what = e.what();
        INFO("what(): " << what);
        CHECK(e.tensor.find(tensor_part) != std::string::npos);
        CHECK(e.condition.find(condition_part) != std::string::npos);
        CHECK(what.find(tensor_part) != std::string::npos);
        CHECK(what.find(condition_part) != std::string::npos);
        CHECK(e.estimate == e.estimate);  // not NaN
    }
    CHECK(thrown);
    CHECK(same(net.bound(), before));
}

// The program runs and every checked layer equals the pseudo-inverse solve of its block.
template <class Net>
void expect_exact(instance<Net>& net, const char* label) {
    for (const result& r : net.compare(label, {})) {
        INFO(r.where());
        CHECK(sci{r.err_step} <= sci{r.tolerance()});
        CHECK(sci{r.err_bop} <= sci{r.tolerance()});
    }
}

TEST_CASE("bop refuses a batch larger than a layer's input width", "[symbolic][bop][rank]") {
    SECTION("B = 5 with n_0 = 4 (input of W1)") {
        instance<square> net(5, 1);
        expect_refusal(net, "input of W1", "the batch (5 rows) exceeds the width 4");
        // Fixed: four of the five samples.
        tensor x4 = xt::view(net.x, xt::range(0, 4), xt::all()), y4 = xt::view(net.y, xt::range(0, 4), xt::all());
        net.prog.bind(square::x, x4).bind(square::y, y4);
        expect_exact(net, "first four samples");
    }
    SECTION("B = 5 with n_1 = 3 (input of W2), while n_0 = 6 allows it") {
        instance<narrowing> net(5, 2);
        expect_refusal(net, "input of W2", "the batch (5 rows) exceeds the width 3");
    }
}

TEST_CASE("bop refuses a numerically rank-deficient input (duplicate rows)", "[symbolic][bop][rank]") {
    instance<square> net(3, 3);
    const tensor good = net.x;
    xt::row(net.x, 2) = xt::row(net.x, 0);
    expect_refusal(net, "input of W1", "numerically rank-deficient");
    net.x = good;  // same shape, same buffer: the binding still holds
    expect_exact(net, "distinct rows");
}

TEST_CASE("bop refuses a singular weight above the layer", "[symbolic][bop][rank]") {
    SECTION("square W2 with a zero row: its LU (chain)") {
        instance<square> net(4, 4);
        const tensor good = net.weights[1];
        xt::row(net.weights[1], 1) = 0.0;
        expect_refusal(net, "weight 'W2'", "condition number");
        net.weights[1] = good;
        expect_exact(net, "W2 restored");
    }
    SECTION("wide W2 with a zero row: its pseudo-inverse (chain, identity-output exception)") {
        instance<widening> net(3, 5);
        xt::row(net.weights[1], 0) = 0.0;
        expect_refusal(net, "weight 'W2'", "σ_min/σ_max");
    }
    SECTION("W2 with a zero row under the master formula: a singular curvature block at W1") {
        instance<master> net(3, 6);
        xt::row(net.weights[1], 2) = 0.0;
        expect_refusal(net, "curvature block T_b of sample 0 at W1", "singular or ill-conditioned");
        // T_b = D·W2·T·W2ᵀ·D is 3×3 with a zero row and column: the LDLᵀ inertia it reports must
        // count 3 pivots, at least one of them zero.
        const inertia in = reported_inertia(refusal(net));
        INFO("inertia: " << in.positive << " positive, " << in.negative << " negative, " << in.zero << " zero");
        CHECK(in.positive + in.negative + in.zero == 3);
        CHECK(in.zero >= 1);
    }
}

TEST_CASE("bop refuses a derivative that vanishes numerically; a leaky ReLU net is fine", "[symbolic][bop][rank]") {
    SECTION("leaky ReLU with weights scaled by 100: runs, and is exact") {
        instance<square> net(4, 7);
        net.weights[0] *= 100.0;
        expect_exact(net, "leaky relu, W1·100");
    }
    SECTION("tanh output saturated by weights scaled by 100: φ′ = a′² + e⊙a″ vanishes") {
        instance<tanh_output> net(3, 8);
        net.weights[0] *= 100.0;
        expect_refusal(net, "the output layer's curvature", "below tolerance");
    }
    SECTION("tanh hidden layer saturated by weights scaled by 100: T_b = D·W·T·Wᵀ·D + diag(γ⊙a″) vanishes") {
        instance<tanh_hidden> net(3, 9);
        net.weights[0] *= 100.0;
        expect_refusal(net, "curvature block T_b of sample", "singular or ill-conditioned");
        const inertia in = reported_inertia(refusal(net));
        INFO("inertia: " << in.positive << " positive, " << in.negative << " negative, " << in.zero << " zero");
        CHECK(in.positive + in.negative + in.zero == 4);
        CHECK(in.zero >= 1);
    }
    SECTION("leaky ReLU with slope 1e-12: a′ below the tolerance (bop divides by it)") {
        instance<shallow_leaky> net(3, 10);
        expect_refusal(net, "a′ at the output of W1", "below tolerance");
    }
    SECTION("softmax probability below the tolerance: logits 40 apart") {
        instance<logits> net(2, 11);
        net.weights[0] *= 40.0;
        expect_refusal(net, "softmax probability", "below the tolerance");
    }
}

TEST_CASE("set_inverse_tolerance changes the verdict", "[symbolic][bop][rank][tolerance]") {
    tolerance_guard guard;
    SECTION("a′ = 1e-12: refused at 1e-10, accepted at 1e-13") {
        instance<shallow_leaky> net(3, 12);
        expect_refusal(net, "a′ at the output of W1", "below tolerance");
        gateaux::set_inverse_tolerance(1e-13);
        CHECK_NOTHROW(net.prog.run());
    }
    SECTION("nearly dependent input rows (cond ≈ 1e12): refused at 1e-10, accepted at 1e-14") {
        instance<square> net(3, 13);
        const tensor z = gaussian(1, 4, net.gen);  // generically outside the span of rows 0 and 1
        xt::row(net.x, 2) = xt::row(net.x, 0) + 1e-12 * xt::row(z, 0);
        expect_refusal(net, "input of W1", "numerically rank-deficient");
        gateaux::set_inverse_tolerance(1e-14);
        CHECK_NOTHROW(net.prog.run());
    }
    SECTION("W2 with cond ≈ 1e4: accepted at 1e-10, refused at 1e-3") {
        instance<square> net(4, 14);
        const tensor z = gaussian(1, 4, net.gen);
        xt::row(net.weights[1], 3) = xt::row(net.weights[1], 2) + 1e-4 * xt::row(z, 0);
        CHECK_NOTHROW(net.prog.run());
        gateaux::set_inverse_tolerance(1e-3);
        expect_refusal(net, "weight 'W2'", "condition number");
    }
    SECTION("the tolerance must lie in (0, 1)") {
        CHECK_THROWS_AS(gateaux::set_inverse_tolerance(0.0), std::invalid_argument);
        CHECK_THROWS_AS(gateaux::set_inverse_tolerance(1.0), std::invalid_argument);
    }
}

}  // namespace
