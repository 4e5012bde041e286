// Bad input, systematically (part a): compiled programs (bind, run, the B-operator's rank
// conditions, the damped block solve, explicit Hessians), the data helpers of nn/data.hpp, a
// parameter set loaded from a checkpoint, param_set arithmetic, the optimizers' options, and the
// inverse tolerance. For each entry point and each class of bad input that applies to it: the
// documented error type, a message that names what was wrong (the tensor or option, the expected
// and actual shape or value, the condition estimate), and the caller's data bit for bit
// unchanged; where a valid state existed before, it still works. Part b (bad_input_b.cpp) does the
// objectives, minimize and the spectrum diagnostics. The table in the report (docs/reliability.md)
// lists every row and where the readers' and checkpoints' own tests already cover one.
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "reliability/bad_input.hpp"

using namespace gateaux;
using namespace bad_input;

namespace {

// A two-layer network whose blocks the functional inverse solves at B ≤ 4.
namespace pn {
constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 4>;
constexpr auto W1 = param<"W1", 4, 4>;
constexpr auto W2 = param<"W2", 4, 4>;
constexpr auto w = wrt(W1, W2);
constexpr auto loss = sum(squared_error(leaky_relu<0.5>(x * W1) * W2, y));
}  // namespace pn

// Data, weights and directions for pn, at `rows` rows.
struct pn_data {
    tensor X, Y, w1, w2, v1, v2;
    explicit pn_data(std::size_t rows, std::uint64_t seed = 1)
        : X(normal(rows, 4, seed)), Y(normal(rows, 4, seed + 1)), w1(well_conditioned(4, seed + 2)), w2(well_conditioned(4, seed + 3)),
          v1(normal(4, 4, seed + 4)), v2(normal(4, 4, seed + 5)) {}
    snapshot all() const { return snapshot({&X, &Y, &w1, &w2, &v1, &v2}); }
};

template <class Prog>
void bind_all(Prog& p, const pn_data& d) {
    p.bind(pn::x, d.X).bind(pn::y, d.Y).bind(pn::W1, d.w1).bind(pn::W2, d.w2);
    if constexpr (Prog::computes(direction(pn::W1))) p.bind(direction(pn::W1), d.v1).bind(direction(pn::W2), d.v2);
}

using forward_program = decltype(compile(pn::loss, grad(pn::loss, pn::w), hvp(pn::loss, pn::w)));
using newton_program = decltype(compile(pn::loss, grad(pn::loss, pn::w), newton_step(pn::loss, pn::w)));

// A rank_error naming `tensor_part` and `condition_part`, whose estimate is at least `at_least`
// and (with `estimate_in_message`) is written in the message.
void expect_rank_error(newton_program& p, const std::string& tensor_part, const std::string& condition_part, double at_least,
                       bool estimate_in_message = true) {
    try {
        p.run();
        FAIL_CHECK("no rank_error");
    } catch (const rank_error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(e.tensor.find(tensor_part) != std::string::npos);
        CHECK(e.condition.find(condition_part) != std::string::npos);
        says(what, {tensor_part, condition_part});
        CHECK(e.estimate >= at_least);
        // The estimate is in the message (as number_string writes it).
        if (estimate_in_message) CHECK(what.find(number_string(e.estimate)) != std::string::npos);
    }
}

}  // namespace

// ================================================================ programs: bind, run

TEST_CASE("program.bind: wrong shape, 0 rows or columns, NaN/±inf, unknown name", "[reliability][program]") {
    forward_program p;
    const pn_data d(3);
    bind_all(p, d);
    p.run();
    const double loss0 = p.scalar(pn::loss);

    const tensor narrow = normal(3, 5, 7), short_w = normal(3, 4, 8);
    tensor no_rows = tensor::from_shape({0, 4}), no_cols = tensor::from_shape({3, 0});
    tensor nan_x = normal(3, 4, 10), inf_y = normal(3, 4, 11), nan_v1 = normal(4, 4, 12);
    nan_x(2, 1) = nan_v;
    inf_y(0, 3) = -inf_v;
    nan_v1(3, 0) = inf_v;
    const snapshot caller({&d.X, &d.Y, &d.w1, &d.w2, &d.v1, &d.v2, &narrow, &short_w, &nan_x, &inf_y, &nan_v1, &no_rows, &no_cols});

    SECTION("wrong shape: the leaf, the expected and the actual shape") {
        says(message_of<shape_error>([&] { p.bind(pn::x, narrow); }), {"input 'x'", "B×4", "3×5"});
        says(message_of<shape_error>([&] { p.bind(pn::W1, short_w); }), {"parameter 'W1'", "4×4", "3×4"});
        says(message_of<shape_error>([&] { p.bind("y", narrow); }), {"target 'y'", "B×4", "3×5"});
        says(message_of<shape_error>([&] { p.bind(direction(pn::W2), short_w); }), {"direction 'v.W2'", "4×4", "3×4"});
    }
    SECTION("0 rows, 0 columns") {
        says(message_of<shape_error>([&] { p.bind(pn::x, no_rows); }), {"input 'x'", "any batch B ≥ 1", "got 0×4"});
        says(message_of<shape_error>([&] { p.bind(pn::y, no_cols); }), {"target 'y'", "B×4", "got 3×0"});
    }
    SECTION("NaN or ±inf in data: the leaf, the value and its position") {
        says(message_of<value_error>([&] { p.bind(pn::x, nan_x); }), {"input 'x'", "nan", "(2, 1)"});
        says(message_of<value_error>([&] { p.bind(pn::y, inf_y); }), {"target 'y'", "-inf", "(0, 3)"});
        says(message_of<value_error>([&] { p.bind(direction(pn::W1), nan_v1); }), {"direction 'v.W1'", "inf", "(3, 0)"});
    }
    SECTION("an unknown name: the name and the known leaves") {
        says(message_of<shape_error>([&] { p.bind("X", d.X); }), {"no leaf named 'X'", "x", "W1", "W2", "y"});
    }
    // Every refusal left the caller's tensors and the previous bindings as they were.
    CHECK(caller.unchanged());
    CHECK(p.bound(pn::x) == &d.X);
    CHECK(p.bound(pn::W1) == &d.w1);
    CHECK(p.bound(direction(pn::W2)) == &d.v2);
    p.run();
    CHECK(p.scalar(pn::loss) == loss0);
}

TEST_CASE("program.run: batch disagreement, unbound leaf, data changed after bind", "[reliability][program]") {
    forward_program p;
    pn_data d(3);
    SECTION("a leaf not bound: named, with the shape it expects") {
        p.bind(pn::x, d.X).bind(pn::W1, d.w1).bind(pn::W2, d.w2).bind(direction(pn::W1), d.v1).bind(direction(pn::W2), d.v2);
        const snapshot caller = d.all();
        says(message_of<shape_error>([&] { p.run(); }), {"target 'y'", "is not bound", "B×4"});
        CHECK(caller.unchanged());
    }
    SECTION("input and target rows disagree: both leaves and both batch sizes") {
        const tensor Y5 = normal(5, 4, 3);
        bind_all(p, d);
        p.bind(pn::y, Y5);
        const snapshot caller({&d.X, &Y5, &d.w1, &d.w2, &d.v1, &d.v2});
        says(message_of<shape_error>([&] { p.run(); }), {"batch sizes differ", "input 'x' has 3 rows", "target 'y' has 5"});
        CHECK(caller.unchanged());
        p.bind(pn::y, d.Y);  // fixed: runs
        CHECK_NOTHROW(p.run());
    }
    SECTION("a bound input resized after bind: the leaf and both shapes") {
        bind_all(p, d);
        p.run();
        d.X.resize({3, 2});
        says(message_of<shape_error>([&] { p.run(); }), {"input 'x'", "B×4", "3×2"});
    }
    SECTION("a bound target rewritten with NaN after bind: the leaf and the position") {
        bind_all(p, d);
        p.run();
        d.Y(1, 2) = nan_v;
        const snapshot caller = d.all();
        says(message_of<value_error>([&] { p.run(); }), {"target 'y'", "nan", "(1, 2)"});
        CHECK(caller.unchanged());
    }
    SECTION("NaN in a parameter is not refused: it is not data; the loss is NaN (minimize reports non_finite)") {
        bind_all(p, d);
        d.w1(0, 0) = nan_v;
        CHECK_NOTHROW(p.run());
        CHECK(std::isnan(p.scalar(pn::loss)));
    }
}

// ================================================================ the B-operator's run-time conditions

TEST_CASE("newton_step program: rank conditions", "[reliability][program][rank]") {
    newton_program p;
    SECTION("batch 5 > width 4: refused naming the layer input, the batch and the width; 4 rows then run") {
        const pn_data d(5);
        bind_all(p, d);
        const snapshot caller = d.all();
        // The estimate is B/n = 1.25; the message gives B and n.
        expect_rank_error(p, "input of W", "the batch (5 rows) exceeds the width 4", 1.25, false);
        CHECK(caller.unchanged());
        const tensor X4 = rows(d.X, 0, 4), Y4 = rows(d.Y, 0, 4);
        p.bind(pn::x, X4).bind(pn::y, Y4);
        CHECK_NOTHROW(p.run());
    }
    SECTION("duplicate input rows: numerically rank-deficient, condition estimate ≥ 1/tolerance") {
        pn_data d(3);
        xt::row(d.X, 2) = xt::row(d.X, 0);
        bind_all(p, d);
        const snapshot caller = d.all();
        expect_rank_error(p, "h (input of W1)", "numerically rank-deficient: condition number ≈", 1.0 / inverse_tolerance());
        CHECK(caller.unchanged());
    }
    SECTION("W2 with a zero row: the weight, its condition estimate ≥ 1/tolerance") {
        pn_data d(4);
        xt::row(d.w2, 1) = 0.0;
        bind_all(p, d);
        const snapshot caller = d.all();
        expect_rank_error(p, "weight 'W2'", "condition number ≈", 1.0 / inverse_tolerance());
        CHECK(caller.unchanged());
    }
}

TEST_CASE("inverse_gradient, fd_bop: wrong shapes, batch above the width", "[reliability][program][rank]") {
    forward_program p;
    const pn_data d(3);
    bind_all(p, d);
    p.run();
    const tensor g_wrong = normal(3, 4, 20), row = normal(1, 4, 21);
    const snapshot caller({&d.X, &d.Y, &d.w1, &d.w2, &d.v1, &d.v2, &g_wrong, &row});
    says(message_of<shape_error>([&] { (void)inverse_gradient(p, pn::loss, pn::W2, g_wrong); }),
         {"inverse_gradient", "'W2'", "must be 4×4", "got 3×4"});
    // A 1×4 row would broadcast against W1's 4×4 in xtensor: refused instead.
    says(message_of<shape_error>([&] { (void)fd_bop(p, pn::loss, pn::w, std::array<tensor, 2>{row, d.v2}); }),
         {"fd_bop: the direction", "'W1'", "must be 4×4", "got 1×4"});
    CHECK(caller.unchanged());

    const pn_data d5(5);
    bind_all(p, d5);
    p.run();  // loss, gradient and H·v have no rank condition
    const snapshot caller5 = d5.all();
    const tensor g1 = p[grad(pn::loss, pn::w).of(pn::W1)];
    try {
        (void)inverse_gradient(p, pn::loss, pn::W1, g1);
        FAIL_CHECK("no rank_error");
    } catch (const rank_error& e) {
        says(e.what(), {"h (input of W1)", "the batch (5 rows) exceeds the width 4"});
        CHECK(e.estimate == 1.25);
    }
    CHECK(caller5.unchanged());
    // A target outside the gradient map's range (beyond a tanh layer's |δ| bound) is a
    // domain_error: tests/symbolic/fd_bop.cpp.
}

TEST_CASE("block_step program: bad damping λ", "[reliability][program]") {
    auto p = compile(pn::loss, block_step(pn::loss, pn::w, damped));
    const pn_data d(6);  // any batch: the block solve
    tensor lambda = tensor{{-1.0}};
    bind_all(p, d);
    p.bind(damping, lambda);
    const snapshot caller({&d.X, &d.Y, &d.w1, &d.w2});
    says(message_of<value_error>([&] { p.run(); }), {"damping λ", "≥ 0", "got -1"});
    lambda(0, 0) = nan_v;
    says(message_of<value_error>([&] { p.run(); }), {"input 'lambda'", "nan", "(0, 0)"});
    const tensor wide = tensor{{1.0, 1.0}};
    says(message_of<shape_error>([&] { p.bind(damping, wide); }), {"input 'lambda'", "1×1", "1×2"});
    CHECK(caller.unchanged());
    lambda(0, 0) = 0.5;
    CHECK_NOTHROW(p.run());
}

TEST_CASE("hessian, hessian_block, dense_bop: over max_bytes, wrong vector shape", "[reliability][program]") {
    forward_program p;
    const pn_data d(3);
    bind_all(p, d);
    p.run();
    const snapshot caller = d.all();
    says(message_of<size_error>([&] { (void)gateaux::hessian(p, pn::loss, pn::w, 1000); }),
         {"gateaux::hessian", "32 parameters", "32×32", "8.0 KiB", "over the limit of 1000 bytes"});
    says(message_of<size_error>([&] { (void)hessian_block(p, pn::loss, pn::w, pn::W2, 100); }),
         {"gateaux::hessian_block", "16 parameters", "over the limit of 100 bytes"});
    const std::array<tensor, 2> v{normal(4, 4, 1), normal(4, 3, 2)};
    says(message_of<shape_error>([&] { (void)dense_bop(p, pn::loss, pn::w, v); }), {"dense_bop", "'W2'", "must be 4×4", "got 4×3"});
    CHECK(caller.unchanged());
    CHECK(p.bound(direction(pn::W1)) == &d.v1);  // the Hessian's columns put the directions back
}

// ================================================================ data helpers (nn/data.hpp)

TEST_CASE("one_hot: bad labels", "[reliability][data]") {
    const tensor two_cols = tensor{{0.0, 1.0}, {1.0, 0.0}};
    tensor labels = tensor{{0.0}, {2.0}, {1.0}};
    const snapshot caller({&two_cols, &labels});
    says(message_of<shape_error>([&] { (void)one_hot(two_cols, 3); }), {"one_hot", "one column (N×1)", "got 2×2"});
    for (const auto& c : {std::pair{3.0, "label 3 at row 1"}, std::pair{-1.0, "label -1 at row 1"},
                          std::pair{1.5, "label 1.5 at row 1"}, std::pair{nan_v, "label nan at row 1"}}) {
        tensor l = labels;
        l(1, 0) = c.first;
        says(message_of<value_error>([&] { (void)one_hot(l, 3); }), {c.second, "not an integer in [0, 3)"});
    }
    says(message_of<value_error>([&] { (void)one_hot(labels, 0); }), {"label 0 at row 0", "[0, 0)"});
    CHECK(caller.unchanged());
    // Empty labels give an empty one-hot matrix (0 rows): refused where it is bound (below).
    CHECK(one_hot(tensor::from_shape({0, 1}), 3).shape(0) == 0);
}

TEST_CASE("rows, cols: ranges outside the matrix", "[reliability][data]") {
    const tensor t = normal(5, 3, 1);
    const snapshot caller({&t});
    const std::size_t huge = std::numeric_limits<std::size_t>::max();
    says(message_of<shape_error>([&] { (void)gateaux::rows(t, 3, 3); }), {"gateaux::rows", "3 rows from row 3", "5 rows"});
    says(message_of<shape_error>([&] { (void)gateaux::rows(t, 6, 0); }), {"0 rows from row 6", "5 rows"});
    says(message_of<shape_error>([&] { (void)gateaux::rows(t, 2, huge); }), {"gateaux::rows", "from row 2", "5 rows"});
    says(message_of<shape_error>([&] { (void)gateaux::cols(t, 1, 3); }), {"gateaux::cols", "3 columns from column 1", "3 columns"});
    says(message_of<shape_error>([&] { (void)gateaux::cols(t, huge, 2); }), {"gateaux::cols", "2 columns from column", "3 columns"});
    CHECK(caller.unchanged());
}

TEST_CASE("shuffle_rows, train_test_split: bad rows and fractions", "[reliability][data]") {
    const tensor x = normal(6, 3, 1), y = normal(6, 1, 2), y5 = normal(5, 1, 3);
    const snapshot caller({&x, &y, &y5});
    says(message_of<shape_error>([&] { (void)shuffle_rows(x, y5, 1); }), {"shuffle_rows", "the inputs have 6 rows, the targets 5"});
    says(message_of<shape_error>([&] { (void)train_test_split(x, y5, 0.5, 1); }), {"train_test_split", "6 rows, the targets 5"});
    for (const auto& c : {std::pair{0.0, "got 0"}, std::pair{1.0, "got 1"}, std::pair{-0.5, "got -0.5"}, std::pair{1.5, "got 1.5"},
                          std::pair{nan_v, "got nan"}})
        says(message_of<value_error>([&] { (void)train_test_split(x, y, c.first, 1); }), {"test_fraction must be in (0, 1)", c.second});
    says(message_of<shape_error>([&] { (void)train_test_split(x, y, 0.01, 1); }), {"6 rows at test_fraction 0.01", "empty set"});
    says(message_of<shape_error>([&] { (void)train_test_split(x, y, 0.99, 1); }), {"6 rows at test_fraction 0.99", "empty set"});
    CHECK(caller.unchanged());
}

TEST_CASE("standardizer: bad data to fit and apply", "[reliability][data]") {
    const tensor good = normal(8, 3, 1);
    standardizer s(good);
    const tensor mean0 = s.mean(), sd0 = s.sd(), scaled0 = s.apply(good);
    tensor nan_data = normal(4, 3, 2), inf_data = normal(4, 3, 3), other_cols = normal(4, 2, 4);
    nan_data(3, 1) = nan_v;
    inf_data(0, 2) = inf_v;
    const tensor empty = tensor::from_shape({0, 3});
    const snapshot caller({&good, &nan_data, &inf_data, &other_cols, &empty});
    says(message_of<shape_error>([&] { s.fit(empty); }), {"standardizer::fit", "no rows"});
    says(message_of<value_error>([&] { s.fit(nan_data); }), {"standardizer::fit", "NaN or ±inf", "nan at (3, 1)"});
    says(message_of<value_error>([&] { s.fit(inf_data); }), {"standardizer::fit", "inf at (0, 2)"});
    says(message_of<shape_error>([&] { (void)s.apply(other_cols); }), {"standardizer::apply", "the data has 2 columns", "fitted on 3"});
    says(message_of<value_error>([&] { (void)s.apply(nan_data); }), {"standardizer::apply", "nan at (3, 1)"});
    says(message_of<error>([&] { (void)standardizer().apply(good); }), {"standardizer::apply", "fit it first"});
    CHECK(caller.unchanged());
    // The refused fits left the statistics of the good one.
    CHECK(same_bits(s.mean(), mean0));
    CHECK(same_bits(s.sd(), sd0));
    CHECK(same_bits(s.apply(good), scaled0));
}

TEST_CASE("read_npy/parse_npy: an empty array", "[reliability][files]") {
    // The malformed-file classes of read_npy and read_csv are in tests/io/readers.cpp.
    const tensor empty = parse_npy(npy_bytes(tensor::from_shape({0, 4})), "empty.npy");
    CHECK(empty.shape(0) == 0);
    CHECK(empty.shape(1) == 4);
    forward_program p;
    says(message_of<shape_error>([&] { p.bind(pn::x, empty); }), {"input 'x'", "got 0×4"});
}

// ================================================================ checkpoints of a param_set

TEST_CASE("checkpoint::load, read_checkpoint: missing or misfit checkpoint of a param_set", "[reliability][checkpoint]") {
    namespace fs = std::filesystem;
    const std::string dir = (fs::temp_directory_path() / "gateaux-bad-input-ckpt").string();
    fs::remove_all(dir);
    param_set x({normal(4, 4, 1), normal(1, 4, 2)});
    const snapshot caller({}, {&x});
    checkpoint ck;
    ck.add("parameters", x);

    says(message_of<file_error>([&] { ck.load(dir); }), {"cannot open", dir + "/manifest"});
    says(message_of<file_error>([&] { (void)read_checkpoint(dir); }), {"cannot open", dir + "/manifest"});
    CHECK(caller.unchanged());

    param_set other_shapes({normal(4, 5, 3), normal(1, 4, 4)});
    checkpoint().add("parameters", other_shapes).save(dir);
    says(message_of<checkpoint_error>([&] { ck.load(dir); }), {"'parameters/values/0'", "is 4×5", "the state in memory is 4×4"});
    CHECK(caller.unchanged());

    param_set three_blocks({normal(4, 4, 5), normal(1, 4, 6), normal(1, 1, 7)});
    checkpoint().add("parameters", three_blocks).save(dir);
    says(message_of<checkpoint_error>([&] { ck.load(dir); }), {"'parameters/values", "has 3 blocks", "the state in memory 2"});
    CHECK(caller.unchanged());
    fs::remove_all(dir);
    // Damaged files (every cut and flipped byte) and entries of other kinds: tests/io/checkpoint.cpp.
}

// ================================================================ param_set arithmetic

TEST_CASE("param_set: operations between sets of other shapes", "[reliability][param_set]") {
    param_set a({normal(4, 4, 1), normal(1, 4, 2)});
    const param_set other_block({normal(4, 4, 3), normal(4, 1, 4)}), fewer({normal(4, 4, 5)});
    const snapshot caller({}, {&a, &other_block, &fewer});
    says(message_of<shape_error>([&] { a.assign(other_block); }), {"param_set::assign", "block 1 is 1×4 here, 4×1 in the argument"});
    says(message_of<shape_error>([&] { a.axpy(2.0, fewer); }), {"param_set::axpy", "this set has 2 blocks, the argument 1"});
    says(message_of<shape_error>([&] { a.scale_add(2.0, other_block); }), {"param_set::scale_add", "block 1"});
    says(message_of<shape_error>([&] { (void)a.dot(fewer); }), {"param_set::dot", "2 blocks", "the argument 1"});
    says(message_of<shape_error>([&] { (void)dot(other_block, a); }), {"param_set::dot", "block 1 is 4×1 here, 1×4 in the argument"});
    CHECK(caller.unchanged());
}

// ================================================================ controls

TEST_CASE("controls: snapshot and same_bits detect changes", "[reliability][controls]") {
    tensor t = normal(3, 2, 1);
    param_set s({normal(2, 2, 2)});
    const snapshot before({&t}, {&s});
    CHECK(before.unchanged());
    t(2, 1) = std::nextafter(t(2, 1), 10.0);
    CHECK_FALSE(before.unchanged());
    t = normal(3, 2, 1);
    CHECK(before.unchanged());
    s[0](0, 0) = -s[0](0, 0);
    CHECK_FALSE(before.unchanged());
    tensor a = tensor{{nan_v}}, b = tensor{{-nan_v}};
    CHECK(same_bits(a, tensor{{nan_v}}));
    CHECK_FALSE(same_bits(a, b));  // another NaN
    CHECK_FALSE(same_bits(tensor{{1.0, 2.0}}, tensor{{1.0}, {2.0}}));
    CHECK_FALSE(same_bits(param_set({a}), param_set({a, a})));
}

// ================================================================ options

namespace {
template <class F>
void refused_option(F&& make, std::initializer_list<std::string> parts) {
    says(message_of<gateaux::error>(make), parts);
}
}  // namespace

TEST_CASE("options: first-order optimizers", "[reliability][options]") {
    refused_option([] { (void)gradient_descent(0.0); }, {"gradient_descent", "learning rate must be > 0", "got 0"});
    refused_option([] { (void)gradient_descent(-0.1); }, {"gradient_descent", "got -0.1"});
    refused_option([] { (void)gradient_descent(inf_v); }, {"gradient_descent", "finite", "got inf"});
    refused_option([] { (void)momentum({.learning_rate = nan_v}); }, {"momentum", "learning_rate = nan"});
    refused_option([] { (void)momentum({.beta = 1.0}); }, {"momentum", "beta must be in [0, 1)", "got 1"});
    refused_option([] { (void)adam({.learning_rate = -1.0}); }, {"adam", "learning rate", "learning_rate = -1"});
    refused_option([] { (void)adam({.beta1 = 1.5}); }, {"adam", "beta1 and beta2 must be in [0, 1)", "beta1 = 1.5"});
    refused_option([] { (void)adam({.beta2 = -0.5}); }, {"adam", "beta2 = -0.5"});
    refused_option([] { (void)adam({.epsilon = 0.0}); }, {"adam", "epsilon must be > 0", "got 0"});
    refused_option([] { (void)adagrad({.learning_rate = -1.0}); }, {"adagrad", "learning_rate", "got -1"});
    refused_option([] { (void)adagrad({.epsilon = 0.0}); }, {"adagrad", "epsilon", "got 0"});
    refused_option([] { (void)adagrad({.initial_accumulator = -1.0}); }, {"adagrad", "initial_accumulator", "got -1"});
    refused_option([] { (void)adahessian({.learning_rate = 0.0}); }, {"adahessian", "learning_rate", "got 0"});
    refused_option([] { (void)adahessian({.beta2 = 1.0}); }, {"adahessian", "beta2 must be in [0, 1)", "got 1"});
    refused_option([] { (void)adahessian({.hessian_power = 2.0}); }, {"adahessian", "hessian_power", "[0, 1]", "got 2"});
    refused_option([] { (void)adahessian({.update_every = 0}); }, {"adahessian", "update_every must be >= 1", "got 0"});
    refused_option([] { (void)adahessian({.probes = 0}); }, {"adahessian", "probes must be >= 1", "got 0"});
    refused_option([] { (void)shampoo({.learning_rate = -2.0}); }, {"shampoo", "learning_rate", "got -2"});
    refused_option([] { (void)shampoo({.root_every = 0}); }, {"shampoo", "root_every must be >= 1", "got 0"});
    refused_option([] { (void)shampoo({.relative_floor = 1.0}); }, {"shampoo", "relative_floor must be in (0, 1)", "got 1"});
    refused_option([] { (void)shampoo({.graft_beta1 = 1.0}); }, {"shampoo", "graft_beta1 must be in [0, 1)", "got 1"});
}

TEST_CASE("options: quasi-Newton, Newton, Hessian-free", "[reliability][options]") {
    refused_option([] { (void)lbfgs({.memory = 0}); }, {"lbfgs", "memory m must be ≥ 1, got 0"});
    refused_option([] { (void)hessian_free({.initial_damping = -1.0}); }, {"hessian_free", "initial_damping", "≥ 0", "got -1"});
    refused_option([] { (void)hessian_free({.min_damping = nan_v}); }, {"hessian_free", "min_damping", "got nan"});
    refused_option([] { (void)hessian_free({.damping_increase = 0.5}); }, {"hessian_free", "damping_increase must be > 1", "got 0.5"});
    refused_option([] { (void)hessian_free({.damping_decrease = 1.5}); }, {"hessian_free", "damping_decrease must be in (0, 1)", "got 1.5"});
    refused_option([] { (void)hessian_free({.max_cg_iterations = 0}); }, {"hessian_free", "max_cg_iterations must be ≥ 1", "got 0"});
    refused_option([] { (void)hessian_free({.backtrack_growth = 1.0}); }, {"hessian_free", "backtrack_growth must be > 1", "got 1"});
    refused_option([] { (void)hessian_free(hessian_free::options{}, std::unique_ptr<preconditioner>()); },
                   {"hessian_free", "preconditioner must not be null"});
    refused_option([] { (void)hessian_free({.line_search_settings = {.c1 = 2.0}}); }, {"armijo_backtracking", "c1 must be in (0, 1)", "c1 = 2"});
    refused_option([] { (void)trust_region({.initial_radius = 0.0}); }, {"trust_region", "initial_radius", "initial_radius = 0"});
    refused_option([] { (void)trust_region({.initial_radius = 10.0, .max_radius = 1.0}); },
                   {"trust_region", "≤ max_radius", "initial_radius = 10", "max_radius = 1"});
    refused_option([] { (void)trust_region({.eta = 0.3}); }, {"trust_region", "η must lie in [0, ¼)", "eta = 0.3"});
    refused_option([] { (void)diagonal_newton({.relative_floor = 0.0}); }, {"diagonal_newton", "relative floor", "relative_floor = 0"});
    refused_option([] { (void)diagonal_newton({.line_search_settings = {.shrink = 1.0}}); }, {"armijo_backtracking", "shrink", "shrink = 1"});
    refused_option([] { (void)naive_newton({.line_search_settings = {.max_trials = 0}}); }, {"armijo_backtracking", "max_trials = 0"});
    refused_option([] { (void)damped_newton({.initial_damping = -1.0}); }, {"damped_newton", "initial damping", "initial_damping = -1"});
    refused_option([] { (void)damped_newton({.decrease = 1.0}); }, {"damped_newton", "decrease must be in (0, 1)", "got 1"});
    refused_option([] { (void)damped_newton({.max_increase = 1.0}); }, {"damped_newton", "max_increase must be > 1", "got 1"});
    refused_option([] { (void)damped_newton({.accept_ratio = -0.1}); }, {"damped_newton", "accept_ratio must be in [0, 1)", "got -0.1"});
    refused_option([] { (void)diagonal_preconditioner({.relative_floor = 2.0}); }, {"diagonal_preconditioner", "relative_floor = 2"});
}

TEST_CASE("options: per-layer and curvature optimizers", "[reliability][options]") {
    refused_option([] { (void)block_newton({.step_size = 0.0}); }, {"block_newton", "step size", "step_size = 0"});
    refused_option([] { (void)block_newton({.line_search_settings = {.c1 = 0.0}}); }, {"armijo_backtracking", "c1 = 0"});
    refused_option([] { (void)fd_block_newton(fd_block_newton::options{{}, -1e-4}); }, {"fd_block_newton", "difference step r", "r = -0.0001"});
    refused_option([] { (void)damped_block_newton({.initial_damping = 0.0}); }, {"damped_block_newton", "λ₀ > 0", "initial_damping = 0"});
    refused_option([] { (void)damped_block_newton({.min_damping = 2.0, .max_damping = 1.0}); },
                   {"damped_block_newton", "min_damping ≤ max_damping", "min_damping = 2", "max_damping = 1"});
    refused_option([] { (void)damped_block_newton({.damping_decrease = 1.0}); }, {"damped_block_newton", "damping_decrease = 1"});
    refused_option([] { (void)damped_block_newton({.accept_ratio = 0.5}); }, {"damped_block_newton", "accept_ratio", "got 0.5"});
    refused_option([] { (void)damped_block_newton({.line_search_settings = {.shrink = 0.0}}); }, {"armijo_backtracking", "shrink = 0"});
    refused_option([] { (void)kfac({.decay = 1.0}); }, {"kfac", "decay must be in [0, 1)", "not 1"});
    refused_option([] { (void)kfac({.inverse_interval = 0}); }, {"kfac", "inverse_interval must be ≥ 1"});
    refused_option([] { (void)kfac({.initial_damping = 0.0}); }, {"kfac", "initial_damping", "not 0"});
    refused_option([] { (void)kfac({.min_damping = 0.0}); }, {"kfac", "0 < min_damping ≤ max_damping"});
    refused_option([] { (void)kfac({.damping_increase = 1.0}); }, {"kfac", "damping_increase must be > 1", "got 1"});
    refused_option([] { (void)kfac({.rejection_increase = 0.5}); }, {"kfac", "rejection_increase must be > 1", "got 0.5"});
    refused_option([] { (void)kfac({.accept_ratio = 0.25}); }, {"kfac", "accept_ratio must be in [0, ¼)", "got 0.25"});
    refused_option([] { (void)kfac({.max_rejections = 0}); }, {"kfac", "max_rejections must be ≥ 1", "got 0"});
    refused_option([] { (void)kfac({.adapt_gamma = true, .gamma_factor = 1.0}); }, {"kfac", "gamma_factor must be in (0, 1)", "not 1"});
    refused_option([] { (void)kfac_preconditioner({.decay = -0.5}); }, {"kfac_preconditioner", "decay", "not -0.5"});
    refused_option([] { (void)natural_gradient({.initial_damping = nan_v}); }, {"natural_gradient", "initial_damping", "not nan"});
    refused_option([] { (void)natural_gradient({.min_damping = 1.0, .max_damping = 0.5}); }, {"natural_gradient", "min_damping ≤ max_damping"});
    refused_option([] { (void)natural_gradient({.damping_decrease = 0.0}); }, {"natural_gradient", "damping_decrease", "got 0"});
}

TEST_CASE("options: set_inverse_tolerance", "[reliability][options]") {
    const double before = inverse_tolerance();
    for (const auto& c : {std::pair{0.0, "got 0"}, std::pair{1.0, "got 1"}, std::pair{-1e-3, "got -0.001"}, std::pair{nan_v, "got nan"}})
        says(message_of<std::invalid_argument>([&] { set_inverse_tolerance(c.first); }), {"set_inverse_tolerance", "(0, 1)", c.second});
    CHECK(inverse_tolerance() == before);
}
