// A run interrupted at a random iteration and resumed from its checkpoint continues with
// bit-identical iterates, history and counts, for the second-order optimizers: BFGS, Hessian-free
// CG (Hessian, Gauss–Newton and Fisher products; each preconditioner), Newton, Levenberg–Marquardt,
// trust region, diagonal Newton, and per-layer Newton (analytic, finite differences, damped with
// and without rescaling); on full batches, minibatches, curvature samples and sampled Fisher
// targets. What the optimizers report (damping, radius, counters, the last model) agrees too, both
// right after loading and at the end.
#include <cstdint>
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
#include "support/problems.hpp"

using namespace gateaux;
using namespace resume_support;
namespace fs = std::filesystem;

namespace {

// Which rows the objective sees: all of them, minibatches, a curvature sample, and whether the
// Fisher products use sampled targets.
struct rows_mode {
    const char* label;
    std::size_t rows = 40;
    std::size_t batch = 0, curvature = 0;
    bool sampled_fisher = false;
};
const rows_mode full{"full"};
const rows_mode minibatch{"minibatch", 40, 16};
const rows_mode curvature_sample{"curvature-sample", 40, 0, 16};
const rows_mode sampled_fisher{"sampled-fisher", 40, 0, 0, true};
const rows_mode sample_and_sampled_fisher{"curvature-sample-sampled-fisher", 40, 0, 16, true};

template <class F>
void use_rows(F& f, const rows_mode& m, std::uint64_t seed) {
    if (m.batch != 0) f.use_minibatches(m.batch, seed);
    if (m.curvature != 0) f.use_curvature_sample(m.curvature, seed);
    if constexpr (requires { f.use_fisher(fisher_estimate::sampled, seed); })
        if (m.sampled_fisher) f.use_fisher(fisher_estimate::sampled, seed + 1);
}

// Softmax classification through a tanh layer with biases (4 → 6 → 3, 45 parameters): every
// capability, including the explicit Hessian and the block solver (whose blocks may be indefinite).
struct classifier {
    tensor X, Y;
    param_set x0;
    classifier(std::uint64_t seed, const rows_mode& m) {
        fisher_networks::rng g(seed);
        X = fisher_networks::gaussian(m.rows, 4, g);
        Y = fisher_networks::one_hot(m.rows, 3, g);
        x0 = param_set({fisher_networks::gaussian(4, 6, g, 0.5), fisher_networks::gaussian(1, 6, g, 0.1),
                        fisher_networks::gaussian(6, 3, g, 0.5), fisher_networks::gaussian(1, 3, g, 0.1)});
    }
    auto objective(const rows_mode& m, std::uint64_t seed) const {
        namespace net = fisher_networks::cls;
        auto f = make_objective(net::loss, net::w);
        f.set_data(net::x, X).set_data(net::y, Y);
        use_rows(f, m, seed);
        return f;
    }
};

// The leaky-ReLU network 6 → 8 → 8 without biases (tests/support/problems.hpp), whose per-layer
// inverse the functional inverse and its finite-difference twin give at a batch of at most 6 rows.
struct leaky_network {
    testing::network_data data;
    leaky_network(std::uint64_t seed, const rows_mode& m) : data(m.rows, seed) {}
    param_set start() const { return data.start(); }
    auto objective(const rows_mode& m, std::uint64_t seed) const {
        auto f = data.objective();
        use_rows(f, m, seed);
        return f;
    }
};
const rows_mode leaky_full{"full", 5};
const rows_mode leaky_minibatch{"minibatch", 20, 4};

param_set start_of(const classifier& p) { return p.x0; }
param_set start_of(const leaky_network& p) { return p.start(); }

using factory = std::function<std::unique_ptr<optimizer>()>;
// What an optimizer reports about the run (its accessors), as numbers.
using probe = std::function<std::vector<double>(optimizer&)>;

struct candidate {
    std::string name;
    factory make;
    probe report;
};

std::vector<double> flat(const param_set& p) { return testing::flat(p); }
std::vector<double> joined(std::vector<double> a, const std::vector<double>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

template <class Opt, class Make, class Report>
candidate make_candidate(std::string name, Make make, Report report) {
    return {std::move(name), [make] { return std::unique_ptr<optimizer>(make()); },
            [report](optimizer& o) { return report(dynamic_cast<Opt&>(o)); }};
}

template <class Problem>
trace run(const Problem& p, const rows_mode& mode, std::uint64_t seed, const candidate& c, std::size_t iterations,
          const std::string& dir = "", param_set start = {}) {
    auto f = p.objective(mode, seed);
    const std::unique_ptr<optimizer> opt = c.make();
    param_set x = start.size() != 0 ? start : start_of(p);
    trace t = record(f, x, *opt, iterations, dir);
    t.report = c.report(*opt);
    return t;
}

// Run N iterations straight; run k and save; load without stepping; resume to N in new objects
// from elsewhere; compare.
template <class Problem>
void check_resume(const candidate& c, const rows_mode& mode, std::uint64_t seed, std::size_t N = 8) {
    const Problem p(seed, mode);
    const trace straight = run(p, mode, seed, c, N);
    INFO(c.name << ", seed " << seed << ", rows " << mode.label << ": " << to_string(straight.res.reason) << " "
                << straight.res.message);
    REQUIRE(straight.res.reason == stop_reason::max_iterations);
    REQUIRE(straight.iterates.size() == N);
    std::mt19937_64 g(seed * 7919 + N);
    const std::size_t k = std::uniform_int_distribution<std::size_t>(1, N - 1)(g);
    INFO("interrupted after iteration " << k);
    scratch_dir dir("resume-newton-" + c.name + "-" + std::to_string(seed) + "-" + mode.label);
    const trace first = run(p, mode, seed, c, k, dir.path);
    REQUIRE(first.iterates.size() == k);
    // The resumed runs start from other parameters: the checkpoint's must replace them.
    param_set elsewhere = start_of(p);
    elsewhere.scale(-3.0);
    // Loaded and not stepped: the reports are those of the interrupted run, also those that the
    // next step would compute afresh (the last model, the last CG run).
    const trace loaded = run(p, mode, seed, c, k, dir.path, elsewhere);
    REQUIRE(loaded.res.reason == stop_reason::max_iterations);
    REQUIRE(loaded.iterates.empty());
    REQUIRE(identical(loaded.report, first.report));
    const trace rest = run(p, mode, seed, c, N, dir.path, elsewhere);
    require_continues(straight, first, rest, k, N);
}

std::vector<double> hf_report(hessian_free& o) {
    std::vector<double> r = {o.damping(),
                             double(o.cg_iterations()),
                             double(o.last_cg_iterations()),
                             double(o.negative_curvature_stops()),
                             double(o.preconditioner_fallbacks()),
                             double(o.preconditioner_failures()),
                             double(o.preconditioner_message().size())};
    if (const auto* d = dynamic_cast<const diagonal_preconditioner*>(&o.preconditioning())) r = joined(r, flat(d->diagonal()));
    if (const auto* d = dynamic_cast<const damped_block_preconditioner*>(&o.preconditioning())) r.push_back(d->damping());
    return r;
}

candidate hf(std::string name, curvature_matrix curvature) {
    return make_candidate<hessian_free>(
        std::move(name),
        [curvature] {
            hessian_free::options o;
            o.curvature = curvature;
            return new hessian_free(o);
        },
        hf_report);
}

template <class M>
candidate pcg(std::string name, curvature_matrix curvature) {
    return make_candidate<hessian_free>(
        std::move(name),
        [curvature] {
            hessian_free::options o;
            o.curvature = curvature;
            return new hessian_free(o, M{});
        },
        hf_report);
}

std::vector<double> dbn_report(damped_block_newton& o) {
    const damped_block_newton::model& m = o.last_model();
    return {o.damping(), double(o.rejected_steps()), double(o.line_search_steps()), double(o.singular_solves()),
            m.damping,   m.predicted,                m.actual,                      m.ratio,
            m.scale,     m.momentum};
}

candidate damped_block(std::string name, bool rescale, bool line_search) {
    return make_candidate<damped_block_newton>(
        std::move(name),
        [rescale, line_search] {
            damped_block_newton::options o;
            o.rescale = rescale;
            o.line_search = line_search;
            return new damped_block_newton(o);
        },
        dbn_report);
}

std::vector<double> block_report(detail::newton::block_newton_base& o) {
    return {double(o.flipped_blocks()), double(o.gradient_fallbacks())};
}

}  // namespace

TEST_CASE("BFGS resumes bit-identically, on full batches and minibatches", "[io][resume]") {
    const candidate c = make_candidate<bfgs>(
        "bfgs", [] { return new bfgs(); }, [](bfgs&) { return std::vector<double>{}; });
    for (std::uint64_t seed : {1u, 2u, 3u})
        for (const rows_mode& mode : {full, minibatch}) check_resume<classifier>(c, mode, seed);
}

TEST_CASE("Hessian-free CG resumes bit-identically with every kind of curvature, on curvature samples and minibatches",
          "[io][resume]") {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        for (const rows_mode& mode : {full, curvature_sample, minibatch}) {
            check_resume<classifier>(hf("hf-cg", curvature_matrix::hessian), mode, seed);
            check_resume<classifier>(hf("hf-gn-cg", curvature_matrix::gauss_newton), mode, seed);
        }
        for (const rows_mode& mode : {full, sampled_fisher, sample_and_sampled_fisher, minibatch})
            check_resume<classifier>(hf("hf-fisher-cg", curvature_matrix::fisher), mode, seed);
    }
}

TEST_CASE("preconditioned Hessian-free CG resumes bit-identically with each preconditioner", "[io][resume]") {
    const std::vector<candidate> list = {
        make_candidate<hessian_free>(
            "hf-pcg", [] { return new preconditioned_hessian_free(); }, hf_report),
        pcg<diagonal_preconditioner>("hf-pcg-diagonal", curvature_matrix::hessian),
        pcg<block_inverse_preconditioner>("hf-gn-pcg-block-inverse", curvature_matrix::gauss_newton),
        pcg<damped_block_preconditioner>("hf-gn-pcg-damped-block", curvature_matrix::gauss_newton),
    };
    for (const candidate& c : list)
        for (std::uint64_t seed : {1u, 2u})
            for (const rows_mode& mode : {full, curvature_sample}) check_resume<classifier>(c, mode, seed);
}

TEST_CASE("Newton, Levenberg–Marquardt, trust region and diagonal Newton resume bit-identically", "[io][resume]") {
    const std::vector<candidate> list = {
        make_candidate<naive_newton>(
            "newton", [] { return new naive_newton(); }, [](naive_newton& o) { return std::vector<double>{double(o.modified_steps())}; }),
        make_candidate<damped_newton>(
            "levenberg-marquardt", [] { return new damped_newton(); },
            [](damped_newton& o) { return std::vector<double>{o.damping(), double(o.rejections())}; }),
        make_candidate<trust_region>(
            "trust-region", [] { return new trust_region(); },
            [](trust_region& o) {
                return std::vector<double>{o.radius(), double(o.rejections()), double(o.indefinite_steps())};
            }),
        make_candidate<diagonal_newton>(
            "diagonal-newton", [] { return new diagonal_newton(); },
            [](diagonal_newton& o) {
                return joined({double(o.negative_entries()), double(o.floored_entries())}, flat(o.curvature()));
            }),
    };
    for (const candidate& c : list)
        for (std::uint64_t seed : {1u, 2u, 3u})
            for (const rows_mode& mode : {full, minibatch}) check_resume<classifier>(c, mode, seed);
}

TEST_CASE("per-layer Newton resumes bit-identically: analytic and finite-difference steps", "[io][resume]") {
    const candidate analytic = make_candidate<block_newton>("block-newton", [] { return new block_newton(); }, block_report);
    const candidate fd = make_candidate<fd_block_newton>("fd-block-newton", [] { return new fd_block_newton(); }, block_report);
    // Seeds whose runs keep the functional inverse for every iteration (it leaves its domain for
    // fd_block_newton on some others, which ends those runs as not applicable).
    for (std::uint64_t seed : {21u, 22u, 29u})
        for (const rows_mode& mode : {leaky_full, leaky_minibatch}) {
            check_resume<leaky_network>(analytic, mode, seed);
            check_resume<leaky_network>(fd, mode, seed);
        }
    // The block solve, on a network with biases and indefinite blocks.
    for (std::uint64_t seed : {1u, 2u}) check_resume<classifier>(analytic, full, seed);
}

TEST_CASE("damped per-layer Newton resumes bit-identically, with rescaling and on samples and minibatches", "[io][resume]") {
    const std::vector<candidate> list = {
        damped_block("damped-block-newton", false, false),
        damped_block("damped-block-newton-rescaled", true, false),
        damped_block("damped-block-newton-line-search", false, true),
    };
    for (const candidate& c : list)
        for (std::uint64_t seed : {1u, 2u, 3u})
            for (const rows_mode& mode : {full, curvature_sample, minibatch}) check_resume<classifier>(c, mode, seed);
    for (std::uint64_t seed : {21u, 22u}) check_resume<leaky_network>(list[1], leaky_full, seed);
}
