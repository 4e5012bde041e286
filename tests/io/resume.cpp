// A run interrupted at a random iteration and resumed from its checkpoint continues with
// bit-identical iterates, for every optimizer with state, on full batches, minibatches, and
// curvature samples with sampled targets; and a checkpoint of another optimizer, other
// parameters or other data is refused, leaving x as it was.
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/minimize.hpp>

#include "io/resume_support.hpp"
#include "optim/fisher_networks.hpp"

using namespace gateaux;
using namespace resume_support;
namespace fs = std::filesystem;
namespace net = fisher_networks::cls;

namespace {

enum class rows_mode { full, minibatch, curvature_sample };

struct setup {
    tensor X, Y;
    param_set x0;
    explicit setup(std::uint64_t seed, std::size_t rows = 40) {
        fisher_networks::rng g(seed);
        X = fisher_networks::gaussian(rows, 4, g);
        Y = fisher_networks::one_hot(rows, 3, g);
        x0 = param_set({fisher_networks::gaussian(4, 6, g, 0.5), fisher_networks::gaussian(1, 6, g, 0.1),
                        fisher_networks::gaussian(6, 3, g, 0.5), fisher_networks::gaussian(1, 3, g, 0.1)});
    }
};

auto make(const setup& s, rows_mode mode, std::uint64_t seed, const tensor* other_X = nullptr) {
    auto f = make_objective(net::loss, net::w);
    f.set_data(net::x, other_X != nullptr ? *other_X : s.X).set_data(net::y, s.Y);
    if (mode == rows_mode::minibatch) f.use_minibatches(16, seed);
    if (mode == rows_mode::curvature_sample) f.use_curvature_sample(16, seed).use_fisher(fisher_estimate::sampled, seed + 1);
    return f;
}

using factory = std::function<std::unique_ptr<optimizer>()>;

trace run(const setup& s, rows_mode mode, std::uint64_t seed, const factory& make_opt, std::size_t iterations,
          const std::string& dir = "", param_set start = {}) {
    auto f = make(s, mode, seed);
    auto opt = make_opt();
    param_set x = start.size() != 0 ? start : s.x0;
    return record(f, x, *opt, iterations, dir);
}

// Run N iterations straight; run k, save, and resume to N in new objects; compare.
void check_resume(const std::string& label, const factory& make_opt, rows_mode mode, std::uint64_t seed) {
    const std::size_t N = 10;
    const setup s(seed);
    const trace straight = run(s, mode, seed, make_opt, N);
    INFO(label << ", seed " << seed << ", mode " << int(mode) << ": " << straight.res.message);
    REQUIRE(straight.res.reason == stop_reason::max_iterations);
    REQUIRE(straight.iterates.size() == N);
    std::mt19937_64 g(seed);
    const std::size_t k = std::uniform_int_distribution<std::size_t>(1, N - 1)(g);
    INFO("interrupted after iteration " << k);
    scratch_dir dir("resume-" + label + "-" + std::to_string(seed) + "-" + std::to_string(int(mode)));
    const trace first = run(s, mode, seed, make_opt, k, dir.path);
    // The resumed run starts from other parameters: the checkpoint's must replace them.
    param_set elsewhere = s.x0;
    elsewhere.scale(-3.0);
    const trace rest = run(s, mode, seed, make_opt, N, dir.path, elsewhere);
    require_continues(straight, first, rest, k, N);
}

const std::vector<std::pair<std::string, factory>>& first_order() {
    static const std::vector<std::pair<std::string, factory>> list = {
        {"gd", [] { return std::make_unique<gradient_descent>(0.1); }},
        {"momentum", [] { return std::make_unique<momentum>(); }},
        {"nesterov",
         [] {
             momentum_options o;
             o.kind = momentum_kind::nesterov;
             return std::make_unique<momentum>(o);
         }},
        {"adam", [] { return std::make_unique<adam>(); }},
    };
    return list;
}

const std::vector<std::pair<std::string, factory>>& quasi_newton() {
    static const std::vector<std::pair<std::string, factory>> list = {
        {"lbfgs", [] { return std::make_unique<lbfgs>(); }},
    };
    return list;
}

}  // namespace

TEST_CASE("first-order optimizers resume bit-identically, on full batches and minibatches") {
    for (const auto& [name, make_opt] : first_order())
        for (std::uint64_t seed : {1u, 2u})
            for (rows_mode mode : {rows_mode::full, rows_mode::minibatch}) check_resume(name, make_opt, mode, seed);
}

TEST_CASE("quasi-Newton optimizers resume bit-identically") {
    for (const auto& [name, make_opt] : quasi_newton())
        for (std::uint64_t seed : {1u, 2u, 3u})
            for (rows_mode mode : {rows_mode::full, rows_mode::minibatch}) check_resume(name, make_opt, mode, seed);
}

TEST_CASE("a checkpoint of another optimizer, other parameters or other data is refused, and x is left as it was") {
    const setup s(5);
    scratch_dir dir("resume-mismatch");
    run(s, rows_mode::minibatch, 5, [] { return std::make_unique<adam>(); }, 3, dir.path);

    const auto refused = [&](auto&& f, optimizer& opt, param_set x, const std::string& expected) {
        const param_set before = x;
        stopping stop;
        stop.max_iterations = 5;
        stop.checkpoint.directory = dir.path;
        try {
            minimize(f, x, opt, stop);
            FAIL("the checkpoint was accepted");
        } catch (const checkpoint_error& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).find(expected) != std::string::npos);
        }
        CHECK(identical(x, before));
    };
    {
        auto f = make(s, rows_mode::minibatch, 5);
        lbfgs opt;
        refused(f, opt, s.x0, "written by the optimizer adam, this run uses lbfgs");
    }
    {
        // Refused after x and the objective's draws were loaded and start() ran: all of it is put
        // back, the objective's counts too.
        tensor other = s.X;
        other(0, 0) += 1.0;
        auto f = make(s, rows_mode::minibatch, 5, &other);
        f.next_batch();
        const evaluation_counts counts = f.counts;
        checkpoint probe;
        probe.add("objective", f);
        const state_map before = probe.collect();
        adam opt;
        refused(f, opt, s.x0, "the data 'x' differs");
        CHECK(f.counts.total() == counts.total());
        const state_map after = probe.collect();
        REQUIRE(after.size() == before.size());
        for (const auto& [k, v] : before) {
            INFO(k);
            if (const tensor* t = std::get_if<tensor>(&v)) CHECK(identical(param_set({*t}), param_set({std::get<tensor>(after.at(k))})));
            else CHECK(v == after.at(k));
        }
    }
    {
        auto f = make(s, rows_mode::minibatch, 5);
        adam opt;
        param_set wrong = s.x0;
        wrong[0] = xt::zeros<double>({5, 6});  // other shapes (a graph objective would refuse them too)
        refused(f, opt, wrong, "parameters/values/0' is 4×6, the state in memory is 5×6");
    }
    {
        tensor other = s.X;
        other(3, 2) += 1e-9;
        auto f = make(s, rows_mode::minibatch, 5, &other);
        adam opt;
        refused(f, opt, s.x0, "the data 'x' differs from the data the checkpoint was written with");
    }
    {
        auto f = make(s, rows_mode::full, 5);
        adam opt;
        refused(f, opt, s.x0, "minibatches of 16");
    }
}

TEST_CASE("a run that ended by converging ends again when resumed, and one that hit its limit goes on") {
    const setup s(9);
    scratch_dir dir("resume-ended");
    const auto run_to = [&](double gradient_tolerance, std::size_t iterations) {
        auto f = make(s, rows_mode::full, 9);
        lbfgs opt;
        param_set x = s.x0;
        stopping stop;
        stop.max_iterations = iterations;
        stop.gradient_tolerance = gradient_tolerance;
        stop.checkpoint.directory = dir.path;
        const result r = minimize(f, x, opt, stop);
        return std::make_pair(r, x);
    };
    const auto [first, x1] = run_to(1e-2, 500);
    REQUIRE(first.reason == stop_reason::gradient_tolerance);
    const auto [again, x2] = run_to(1e-2, 500);
    CHECK(again.reason == stop_reason::gradient_tolerance);
    CHECK(again.iterations == first.iterations);
    CHECK(again.history.size() == first.history.size());
    CHECK(identical(x1, x2));
    // Ended by its iteration limit: a larger limit goes on from there.
    fs::remove_all(dir.path);
    const auto [short_run, x3] = run_to(0.0, 4);
    REQUIRE(short_run.reason == stop_reason::max_iterations);
    const auto [longer, x4] = run_to(0.0, 7);
    CHECK(longer.iterations == 7);
    CHECK(longer.history.size() == 8);
}

namespace {
// An optimizer written by hand without state(): checkpoints are refused at the start of a run.
class plain_step final : public optimizer {
public:
    std::string name() const override { return "plain"; }
    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, 0.1, ""};
    }
    step_outcome step(objective& f, param_set& x) override {
        x.axpy(-0.1, g_);
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, 0.1, ""};
    }

private:
    param_set g_;
};
}  // namespace

TEST_CASE("an optimizer without state() refuses checkpoints when the run starts, not at its first save") {
    const setup s(10);
    scratch_dir dir("resume-stateless");
    auto f = make(s, rows_mode::full, 10);
    plain_step opt;
    param_set x = s.x0;
    stopping stop;
    stop.max_iterations = 1000;
    stop.checkpoint.directory = dir.path;
    CHECK_THROWS_WITH(minimize(f, x, opt, stop), Catch::Contains("the optimizer plain does not support checkpoints"));
    CHECK(identical(x, s.x0));
    CHECK(f.counts.gradients == 1);
}
