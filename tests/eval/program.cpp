// Tests for eval/program.hpp (with eval/schedule.hpp and eval/engine.hpp): common
// subexpressions evaluated once, several outputs in one pass, no allocation in the steady
// state, run-time errors and their messages, compile-time batches, copies, and that our
// operators leave plain xtensor arithmetic alone.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

// ---------------------------------------------------------------- counting allocator
// Every operator new in this program is counted while `counting` is set.
namespace {
bool counting = false;
long allocations = 0;

void* allocate(std::size_t n, std::size_t align) {
    if (counting) ++allocations;
    if (n == 0) n = 1;
    void* p = nullptr;
    if (align <= alignof(std::max_align_t))
        p = std::malloc(n);
    else if (posix_memalign(&p, align, n) != 0)
        p = nullptr;
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

template <class F>
long allocations_during(F f) {
    const long before = allocations;
    counting = true;
    f();
    counting = false;
    return allocations - before;
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n, 0); }
void* operator new[](std::size_t n) { return allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, std::size_t(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n, 0);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n, 0);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

// ---------------------------------------------------------------- a user-defined op
// c = 2a, counting its evaluations: shows which nodes run, and how often.
namespace {
int counted_calls = 0;

struct counted_op {
    static constexpr gateaux::shape shape_of(gateaux::shape a) { return a; }
    static void value(gateaux::tensor& out, const gateaux::tensor& a) {
        ++counted_calls;
        xt::noalias(out) = 2.0 * a;
    }
    static gateaux::printed print(const gateaux::printed& a) { return {"counted(" + a.text + ")", gateaux::prec::atom}; }
};

template <gateaux::expression E>
constexpr auto counted(E) {
    return gateaux::node<counted_op, E>{};
}

// The message of the exception of type Error that f throws (a test failure if none is thrown;
// another exception type propagates to Catch, which reports it).
template <class Error, class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("no exception was thrown");
    return {};
}

using Catch::Matchers::Contains;
constexpr ref::error tol{1e-13};

}  // namespace

using namespace gateaux;

namespace {
constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 4, 5>;
constexpr auto W2 = param<"W2", 5, 3>;
constexpr auto b1 = bias<"b1", 5>;
}  // namespace

// ---------------------------------------------------------------- (a) common subexpressions

TEST_CASE("program: a subexpression used several times, in several outputs, runs once per run()", "[eval][program]") {
    const auto e1 = hadamard(counted(x * W1), counted(x * W1)) + counted(x * W1);
    const auto e2 = sum(counted(x * W1));
    auto prog = compile(e1, e2);
    // x, W1, x·W1, counted, ⊙, +, sum: each distinct node once.
    STATIC_REQUIRE(decltype(prog)::node_count == 7);
    CHECK(to_string(e1) == "counted(x·W1)⊙counted(x·W1) + counted(x·W1)");

    const tensor X = ref::normal(6, 4, 1), w = ref::normal(4, 5, 2);
    prog.bind(x, X).bind(W1, w);
    counted_calls = 0;
    prog.run();
    CHECK(counted_calls == 1);
    prog.run();
    CHECK(counted_calls == 2);

    const tensor c = ref::scale(2.0, ref::matmul(X, w));
    CHECK(ref::rel_error(prog[e1], ref::add(ref::hadamard(c, c), c)) <= tol);
    CHECK(ref::rel_error(prog.scalar(e2), ref::sum(c)) <= tol);
    CHECK(ref::rel_error(prog[counted(x * W1)], c) <= tol);
}

TEST_CASE("program: an output listed twice, or also reachable inside another, is one node", "[eval][program]") {
    const auto c = counted(x * W1);
    const auto s = sum(c);
    auto prog = compile(c, s, c);
    STATIC_REQUIRE(decltype(prog)::node_count == 5);
    const tensor X = ref::normal(3, 4, 3), w = ref::normal(4, 5, 4);
    prog.bind(x, X).bind(W1, w);
    counted_calls = 0;
    prog.run();
    CHECK(counted_calls == 1);
}

// ---------------------------------------------------------------- (b) several outputs

TEST_CASE("program: several outputs are all evaluated by one run()", "[eval][program]") {
    const auto hidden = tanh(x * W1 + b1);
    const auto out = hidden * W2;
    const auto loss = mse(out, y) + l2<0.01>(W1, W2);
    const auto ce = mean(cross_entropy(out, y));
    auto prog = compile(loss, out, ce, hidden);
    const tensor X = ref::normal(16, 4, 5), Y = ref::one_hot(16, 3, 6);
    const tensor w1 = ref::weights(4, 5, 7), w2 = ref::weights(5, 3, 8), bb = ref::normal(1, 5, 9);
    prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).bind(b1, bb).run();

    const tensor h = ref::apply({ref::fn::tanh}, ref::bias_add(ref::matmul(X, w1), bb));
    const tensor o = ref::matmul(h, w2);
    CHECK(ref::rel_error(prog[hidden], h) <= tol);
    CHECK(ref::rel_error(prog[out], o) <= tol);
    CHECK(ref::rel_error(prog.scalar(loss), ref::mse(o, Y) + ref::l2(0.01, {w1, w2})) <= tol);
    CHECK(ref::rel_error(prog.scalar(ce), ref::mean(ref::cross_entropy(o, Y))) <= tol);
    // Subexpressions of an output can be read too.
    CHECK(ref::rel_error(prog[x * W1], ref::matmul(X, w1)) <= tol);
    CHECK(ref::rel_error(prog.scalar(mse(out, y)), ref::mse(o, Y)) <= tol);
}

TEST_CASE("program: the order of the outputs does not change their values", "[eval][program]") {
    const auto out = leaky_relu<0.1>(x * W1) * W2;
    const auto loss = sum(squared_error(out, y));
    auto a = compile(loss, out);
    auto b = compile(out, loss);
    const tensor X = ref::normal(7, 4, 1), Y = ref::normal(7, 3, 2), w1 = ref::weights(4, 5, 3), w2 = ref::weights(5, 3, 4);
    a.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).run();
    b.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).run();
    CHECK(a.scalar(loss) == b.scalar(loss));
    CHECK(ref::rel_error(a[out], b[out]) == ref::error{0.0});
}

// ---------------------------------------------------------------- (c) allocation

TEST_CASE("program: no allocation in the steady state; a new batch size may allocate", "[eval][program][allocation]") {
    // Every op kind, including transposed products and a transpose on its own.
    const auto out = mlp<4, 5, 3>(x, act::leaky_relu<0.1>, act::identity, with_biases);
    const auto loss = mse(out, y) + l2<1e-3>(W1, W2);
    const auto ce = sum(cross_entropy(out, y));
    const auto gram = transpose(x) * x;
    const auto misc = sum(hadamard(out - y, scale<2.0>(-out))) + sq_norm(transpose(out)) + mean(sigmoid(softplus(x * W1)));
    auto prog = compile(loss, ce, gram, misc, x * transpose(W2 * transpose(W1 * W2)));

    const tensor w1 = ref::weights(4, 5, 1), w2 = ref::weights(5, 3, 2), bb1 = ref::normal(1, 5, 3), bb2 = ref::normal(1, 3, 4);
    const tensor X = ref::normal(32, 4, 5), Y = ref::one_hot(32, 3, 6);
    const tensor X2 = ref::normal(32, 4, 7), Y2 = ref::one_hot(32, 3, 8);
    const tensor X3 = ref::normal(64, 4, 9), Y3 = ref::one_hot(64, 3, 10);
    prog.bind("W1", w1).bind("W2", w2).bind("b1", bb1).bind("b2", bb2).bind(x, X).bind(y, Y);
    prog.run();  // the first run at a batch size shapes the buffers
    const double first = prog.scalar(loss);

    CHECK(allocations_during([&] { prog.run(); }) == 0);
    CHECK(prog.scalar(loss) == first);
    CHECK(allocations_during([&] {
              prog.bind(x, X2).bind(y, Y2).run();
              prog.bind("x", X).bind("y", Y).run();
          }) == 0);
    CHECK(prog.scalar(loss) == first);

    // A new batch size reshapes the buffers (allowed to allocate), then is steady again.
    prog.bind(x, X3).bind(y, Y3).run();
    CHECK(prog.batch_size() == 64);
    CHECK(allocations_during([&] { prog.run(); }) == 0);
    const tensor o3 = ref::bias_add(
        ref::matmul(ref::apply({ref::fn::leaky_relu, 0.1}, ref::bias_add(ref::matmul(X3, w1), bb1)), w2), bb2);
    CHECK(ref::rel_error(prog.scalar(loss), ref::mse(o3, Y3) + ref::l2(1e-3, {w1, w2})) <= tol);

    // And back.
    prog.bind(x, X).bind(y, Y).run();
    CHECK(prog.batch_size() == 32);
    CHECK(allocations_during([&] { prog.run(); }) == 0);
    CHECK(prog.scalar(loss) == first);
}

TEST_CASE("program: B-operator programs (chain, master formula, per-unit output) allocate nothing in the steady state",
          "[eval][program][allocation][bop]") {
    // LU, QR, LDLᵀ and the per-unit solves keep their LAPACK workspaces between runs.
    constexpr auto hx = input<"x", 4>;
    constexpr auto hy = target<"y", 4>;
    constexpr auto V1 = param<"V1", 4, 4>;
    constexpr auto V2 = param<"V2", 4, 4>;
    const auto w = wrt(V1, V2);
    const auto chain = sum(squared_error(act::leaky_relu<0.5>(hx * V1) * V2, hy));
    const auto master = sum(squared_error(act::tanh(hx * V1) * V2, hy));
    auto p1 = compile(chain, grad(chain, w), newton_step(chain, w));
    auto p2 = compile(master, grad(master, w), newton_step(master, w));
    auto p3 = compile(chain, newton_step(chain, wrt(V2), output_per_unit));
    const tensor X = ref::normal(4, 4, 21), Y = ref::normal(4, 4, 22), X6 = ref::normal(6, 4, 23), Y6 = ref::normal(6, 4, 24);
    const tensor v1 = ref::weights(4, 4, 25), v2 = ref::weights(4, 4, 26);
    p1.bind(hx, X).bind(hy, Y).bind(V1, v1).bind(V2, v2).run();
    p2.bind(hx, X).bind(hy, Y).bind(V1, v1).bind(V2, v2).run();
    p3.bind(hx, X6).bind(hy, Y6).bind(V1, v1).bind(V2, v2).run();  // batch 6 > width 4: per unit
    CHECK(allocations_during([&] { p1.run(); }) == 0);
    CHECK(allocations_during([&] { p2.run(); }) == 0);
    CHECK(allocations_during([&] { p3.run(); }) == 0);
}

TEST_CASE("program: the counting allocator does count (control for the test above)", "[eval][program][allocation]") {
    // (Through a tensor, not `delete new int`: once our operator delete is inlined, g++'s
    // -Wmismatched-new-delete takes its free() for a mismatch.)
    CHECK(allocations_during([] { tensor t = tensor::from_shape({3, 3}); }) >= 1);
    tensor small = tensor::from_shape({2, 2});
    CHECK(allocations_during([&] { small.resize({30, 30}); }) >= 1);
}

// ---------------------------------------------------------------- (d) errors

TEST_CASE("program: binding a tensor of the wrong shape names the leaf and both shapes", "[eval][program][errors]") {
    const auto out = x * W1;
    auto prog = compile(out);
    const tensor narrow = ref::normal(5, 3, 1);
    const std::string m1 = message_of<shape_error>([&] { prog.bind(x, narrow); });
    CHECK_THAT(m1, Contains("input 'x'") && Contains("B×4") && Contains("5×3"));

    const tensor w = ref::normal(4, 6, 2);
    const std::string m2 = message_of<shape_error>([&] { prog.bind(W1, w); });
    CHECK_THAT(m2, Contains("parameter 'W1'") && Contains("4×5") && Contains("4×6"));

    const tensor wt = ref::transpose(ref::normal(4, 5, 3));
    const std::string m3 = message_of<shape_error>([&] { prog.bind("W1", wt); });
    CHECK_THAT(m3, Contains("parameter 'W1'") && Contains("4×5") && Contains("5×4"));

    const tensor empty = tensor::from_shape({0, 4});
    CHECK_THROWS_AS(prog.bind(x, empty), shape_error);
}

TEST_CASE("program: a bound tensor resized after binding is caught by run()", "[eval][program][errors]") {
    const auto out = x * W1;
    auto prog = compile(out);
    tensor X = ref::normal(5, 4, 1);
    const tensor w = ref::normal(4, 5, 2);
    prog.bind(x, X).bind(W1, w).run();
    X.resize({5, 7});
    const std::string m = message_of<shape_error>([&] { prog.run(); });
    CHECK_THAT(m, Contains("input 'x'") && Contains("B×4") && Contains("5×7"));
}

TEST_CASE("program: input and target with different batch sizes: the message names both", "[eval][program][errors]") {
    const auto loss = mse(x * W1 * W2, y);
    auto prog = compile(loss);
    const tensor X = ref::normal(8, 4, 1), Y = ref::normal(7, 3, 2), w1 = ref::normal(4, 5, 3), w2 = ref::normal(5, 3, 4);
    prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2);
    const std::string m = message_of<shape_error>([&] { prog.run(); });
    CHECK_THAT(m, Contains("input 'x'") && Contains("target 'y'") && Contains("8") && Contains("7"));
}

TEST_CASE("program: running with a leaf not bound names the leaf", "[eval][program][errors]") {
    const auto loss = mse(x * W1 * W2, y);
    auto prog = compile(loss);
    const tensor X = ref::normal(8, 4, 1), w1 = ref::normal(4, 5, 3), w2 = ref::normal(5, 3, 4);
    prog.bind(x, X).bind(W1, w1).bind(W2, w2);
    const std::string m = message_of<shape_error>([&] { prog.run(); });
    CHECK_THAT(m, Contains("target 'y'") && Contains("not bound"));

    auto prog2 = compile(loss);
    prog2.bind(x, X).bind(W1, w1);
    CHECK_THAT(message_of<shape_error>([&] { prog2.run(); }), Contains("parameter 'W2'"));
}

TEST_CASE("program: NaN or ±inf in an input or target: value_error naming the leaf and the position", "[eval][program][errors]") {
    const auto loss = mse(x * W1 * W2, y);
    auto prog = compile(loss);
    tensor X = ref::normal(6, 4, 1), Y = ref::normal(6, 3, 2);
    X(2, 1) = std::numeric_limits<double>::quiet_NaN();
    Y(0, 2) = std::numeric_limits<double>::infinity();
    const std::string mx = message_of<value_error>([&] { prog.bind(x, X); });
    CHECK_THAT(mx, Contains("input 'x'") && Contains("(2, 1)") && Contains("nan"));
    const std::string my = message_of<value_error>([&] { prog.bind(y, Y); });
    CHECK_THAT(my, Contains("target 'y'") && Contains("(0, 2)") && Contains("inf"));
    Y(0, 2) = 0.0;
    Y(5, 0) = -std::numeric_limits<double>::infinity();
    CHECK_THAT(message_of<value_error>([&] { prog.bind("y", Y); }), Contains("target 'y'") && Contains("(5, 0)") && Contains("-inf"));
}

TEST_CASE("program: a failed bind keeps the previous binding", "[eval][program][errors]") {
    const auto out = x * W1;
    auto prog = compile(out);
    const tensor X = ref::normal(3, 4, 1), w = ref::normal(4, 5, 2);
    tensor bad = ref::normal(3, 4, 3);
    bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
    const tensor wrong = ref::normal(3, 5, 4);
    prog.bind(x, X).bind(W1, w);
    CHECK_THROWS_AS(prog.bind(x, bad), value_error);
    CHECK_THROWS_AS(prog.bind(x, wrong), shape_error);
    prog.run();
    CHECK(&prog[x] == &X);
    CHECK(ref::rel_error(prog[out], ref::matmul(X, w)) <= tol);
}

TEST_CASE("program: non-finite data written into a bound input after binding is caught by run()", "[eval][program][errors]") {
    // A program keeps a pointer to the bound tensor, so refilling it in place between runs is
    // the natural way to feed batches; run() re-checks shapes for the same reason, and
    // value_error is documented as "a bound input or target holds NaN or ±inf".
    const auto loss = mse(x * W1 * W2, y);
    auto prog = compile(loss);
    tensor X = ref::normal(6, 4, 1);
    const tensor Y = ref::normal(6, 3, 2), w1 = ref::normal(4, 5, 3), w2 = ref::normal(5, 3, 4);
    prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).run();
    X(4, 3) = std::numeric_limits<double>::quiet_NaN();
    const std::string m = message_of<value_error>([&] { prog.run(); });
    CHECK_THAT(m, Contains("input 'x'") && Contains("(4, 3)"));
}

TEST_CASE("program: binding an unknown name is a shape_error naming it and the known leaves", "[eval][program][errors]") {
    const auto out = x * W1;
    auto prog = compile(out);
    const tensor t = ref::normal(2, 4, 1);
    const std::string m = message_of<shape_error>([&] { prog.bind("z", t); });
    CHECK_THAT(m, Contains("'z'") && Contains("x") && Contains("W1"));
    CHECK_THROWS_AS(prog.bind("", t), shape_error);
    CHECK_THROWS_AS(prog.bind("X", t), shape_error);  // names are case-sensitive
}

TEST_CASE("program: reading a value before run() is an error, not garbage", "[eval][program][errors]") {
    const auto out = x * W1;
    auto prog = compile(out);
    CHECK_THROWS_AS(prog[out], shape_error);
    CHECK_THROWS_AS(prog[x], shape_error);
    const tensor X = ref::normal(2, 4, 1), w = ref::normal(4, 5, 2);
    prog.bind(x, X).bind(W1, w);
    CHECK_THROWS_AS(prog[out], shape_error);
    CHECK_NOTHROW(prog[x]);
}

TEST_CASE("program: run() leaves the bound data unchanged, and reads it in place", "[eval][program]") {
    const auto out = mlp<4, 5, 3>(x, act::softplus, act::identity, with_biases);
    const auto loss = mean(cross_entropy(out, y)) + l2<0.5>(W1, W2, b1);
    auto prog = compile(loss, out);
    const tensor X = ref::normal(9, 4, 1), Y = ref::distributions(9, 3, 2);
    const tensor w1 = ref::weights(4, 5, 3), w2 = ref::weights(5, 3, 4), bb1 = ref::normal(1, 5, 5), bb2 = ref::normal(1, 3, 6);
    const tensor X0 = X, Y0 = Y, w10 = w1, w20 = w2, bb10 = bb1, bb20 = bb2;
    prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).bind(b1, bb1).bind("b2", bb2).run();
    prog.run();
    CHECK(X == X0);
    CHECK(Y == Y0);
    CHECK(w1 == w10);
    CHECK(w2 == w20);
    CHECK(bb1 == bb10);
    CHECK(bb2 == bb20);
    CHECK(&prog[x] == &X);
    CHECK(&prog[W2] == &w2);
}

TEST_CASE("program: all error types derive from gateaux::error and std::runtime_error", "[eval][program][errors]") {
    STATIC_REQUIRE(std::is_base_of_v<gateaux::error, shape_error>);
    STATIC_REQUIRE(std::is_base_of_v<gateaux::error, value_error>);
    STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, gateaux::error>);
}

// ---------------------------------------------------------------- (e) compile-time batch

TEST_CASE("program: an input with a compile-time batch accepts exactly that many rows", "[eval][program]") {
    constexpr auto xs = input<"xs", 64, 32>;
    constexpr auto ys = target<"ys", 10, 32>;
    constexpr auto W = param<"W", 64, 10>;
    const auto out = xs * W;
    const auto loss = mse(out, ys);
    STATIC_REQUIRE(decltype(out)::rows == 32);
    auto prog = compile(loss, out);
    const tensor w = ref::weights(64, 10, 1), Y = ref::normal(32, 10, 2);
    const tensor X = ref::normal(32, 64, 3), X31 = ref::normal(31, 64, 4), X33 = ref::normal(33, 64, 5);
    prog.bind(W, w).bind(ys, Y);
    const std::string m = message_of<shape_error>([&] { prog.bind(xs, X31); });
    CHECK_THAT(m, Contains("input 'xs'") && Contains("32×64") && Contains("31×64"));
    CHECK_THROWS_AS(prog.bind(xs, X33), shape_error);
    const tensor Y31 = ref::normal(31, 10, 6);
    CHECK_THROWS_AS(prog.bind(ys, Y31), shape_error);
    prog.bind(xs, X).run();
    CHECK(ref::rel_error(prog[out], ref::matmul(X, w)) <= tol);
    CHECK(ref::rel_error(prog.scalar(loss), ref::mse(ref::matmul(X, w), Y)) <= tol);
}

// ---------------------------------------------------------------- (f) plain xtensor operands

TEST_CASE("program: with `using namespace gateaux`, * on plain xtensor stays element-wise", "[eval][program]") {
    using namespace gateaux;
    xt::xtensor<double, 2> a = ref::normal(3, 3, 1), b = ref::normal(3, 3, 2);
    auto c = a * b;
    auto d = a + b;
    auto e = a - b;
    auto f = -a;
    STATIC_REQUIRE(!expression<decltype(a)>);
    STATIC_REQUIRE(!std::is_base_of_v<expr_tag, decltype(c)>);
    STATIC_REQUIRE(!std::is_base_of_v<expr_tag, decltype(d)>);
    STATIC_REQUIRE(!std::is_base_of_v<expr_tag, decltype(f)>);
    const xt::xtensor<double, 2> cv = c, dv = d, ev = e, fv = f;
    CHECK(ref::rel_error(cv, ref::hadamard(a, b)) == ref::error{0.0});
    CHECK(ref::rel_error(dv, ref::add(a, b)) == ref::error{0.0});
    CHECK(ref::rel_error(ev, ref::sub(a, b)) == ref::error{0.0});
    CHECK(ref::rel_error(fv, ref::scale(-1.0, a)) == ref::error{0.0});
    // Square matrices, where a matrix product would also type-check: the value tells them apart.
    CHECK_FALSE(ref::rel_error(cv, ref::matmul(a, b)) <= tol);
}

// ---------------------------------------------------------------- (g) copies

TEST_CASE("program: a copy runs independently of the original (copy-construct and copy-assign)", "[eval][program]") {
    const auto out = tanh(x * W1) * W2;
    const auto loss = sum(squared_error(out, y));
    auto prog = compile(loss, out);
    const tensor w1 = ref::weights(4, 5, 1), w2 = ref::weights(5, 3, 2);
    const tensor X = ref::normal(8, 4, 3), Y = ref::normal(8, 3, 4);
    const tensor X2 = ref::normal(8, 4, 5), X3 = ref::normal(20, 4, 6), Y3 = ref::normal(20, 3, 7);
    prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).run();
    const tensor out0 = prog[out];
    const double loss0 = prog.scalar(loss);
    auto forward = [&](const tensor& in) {
        return ref::matmul(ref::apply({ref::fn::tanh}, ref::matmul(in, w1)), w2);
    };

    SECTION("copy-construct") {
        auto copy = prog;
        CHECK(copy.scalar(loss) == loss0);  // buffers and bindings are copied
        copy.bind(x, X2).run();
        CHECK(ref::rel_error(copy[out], forward(X2)) <= tol);
        CHECK(ref::rel_error(prog[out], out0) == ref::error{0.0});  // the original is undisturbed
        CHECK(prog.scalar(loss) == loss0);
        copy.bind(x, X3).bind(y, Y3).run();  // another batch size: only the copy's buffers change
        CHECK(copy.batch_size() == 20);
        CHECK(prog.batch_size() == 8);
        CHECK(ref::rel_error(prog[out], out0) == ref::error{0.0});
        prog.run();
        CHECK(prog.scalar(loss) == loss0);
    }
    SECTION("copy-assign") {
        decltype(prog) other;
        other = prog;
        CHECK(other.scalar(loss) == loss0);
        other.run();
        CHECK(other.scalar(loss) == loss0);
        other.bind(x, X3).bind(y, Y3).run();
        CHECK(ref::rel_error(other[out], forward(X3)) <= tol);
        CHECK(ref::rel_error(prog[out], out0) == ref::error{0.0});
        prog.run();
        CHECK(prog.scalar(loss) == loss0);
        // Assigning over a program that ran at another batch size.
        other = prog;
        CHECK(other.batch_size() == 8);
        CHECK(other.scalar(loss) == loss0);
        other.run();
        CHECK(other.scalar(loss) == loss0);
    }
    SECTION("a copy of a program that has not run yet") {
        auto fresh = compile(loss, out);
        fresh.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2);
        auto copy = fresh;
        CHECK_THROWS_AS(copy[out], shape_error);
        copy.run();
        CHECK(copy.scalar(loss) == loss0);
        CHECK_THROWS_AS(fresh[out], shape_error);
    }
    SECTION("move") {
        auto moved = std::move(prog);
        CHECK(moved.scalar(loss) == loss0);
        moved.bind(x, X2).run();
        CHECK(ref::rel_error(moved[out], forward(X2)) <= tol);
    }
}

// ---------------------------------------------------------------- (h) scalar, batch_size

TEST_CASE("program: scalar(e) is the 1×1 value, batch_size() the batch of the last run", "[eval][program]") {
    const auto out = x * W1 * W2;
    const auto loss = mse(out, y);
    auto prog = compile(loss, out);
    CHECK(prog.batch_size() == 0);
    const tensor w1 = ref::weights(4, 5, 1), w2 = ref::weights(5, 3, 2);
    prog.bind(W1, w1).bind(W2, w2);
    for (std::size_t b : {1u, 5u, 128u, 5u}) {
        const tensor X = ref::normal(b, 4, b), Y = ref::normal(b, 3, b + 1);
        prog.bind(x, X).bind(y, Y).run();
        CHECK(prog.batch_size() == b);
        CHECK(prog[out].shape(0) == b);
        CHECK(prog.scalar(loss) == prog[loss](0, 0));
        CHECK(prog[loss].shape(0) == 1);
        CHECK(prog[loss].shape(1) == 1);
        CHECK(ref::rel_error(prog.scalar(loss), ref::mse(ref::matmul(ref::matmul(X, w1), w2), Y)) <= tol);
    }
}

TEST_CASE("program: run() is deterministic", "[eval][program]") {
    const auto out = mlp<4, 5, 3>(x, act::sigmoid);
    const auto loss = mean(cross_entropy(out, y));
    auto prog = compile(loss);
    const tensor X = ref::normal(50, 4, 1), Y = ref::one_hot(50, 3, 2), w1 = ref::weights(4, 5, 3), w2 = ref::weights(5, 3, 4);
    prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(W2, w2).run();
    const double first = prog.scalar(loss);
    for (int i = 0; i < 3; ++i) {
        prog.run();
        CHECK(prog.scalar(loss) == first);
    }
}
