#pragma once
// What the resume tests (tests/io/resume*.cpp) share: a scratch directory for checkpoints, a run
// recorded iterate by iterate, and the comparison of a resumed run with one never interrupted.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include <gateaux/optim/minimize.hpp>

namespace resume_support {

using namespace gateaux;
namespace fs = std::filesystem;

// A fresh directory, removed afterwards. In memory where there is a tmpfs: every save syncs each
// file to the disk, which on a disk shared with other jobs made these tests take up to a minute
// instead of two seconds (they are about the state saved; durability is tests/io/checkpoint.cpp's).
// The process id keeps concurrent runs apart.
struct scratch_dir {
    std::string path;
    explicit scratch_dir(const std::string& name)
        : path((root() / ("gateaux-" + std::to_string(::getpid()) + "-" + name)).string()) {
        fs::remove_all(path);
    }
    ~scratch_dir() { fs::remove_all(path); }
    static fs::path root() {
        std::error_code ec;
        if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
        return fs::temp_directory_path();
    }
};

inline bool identical(const param_set& a, const param_set& b) {
    if (!a.same_shape(b)) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!std::equal(a[i].begin(), a[i].end(), b[i].begin())) return false;
    return true;
}

// Bit for bit, NaN equal to NaN (a report that was never set).
inline bool identical(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))) return false;
    return true;
}

struct trace {
    std::vector<param_set> iterates;  // after iterations 1, 2, ...
    result res;
    std::vector<double> report;       // what the optimizer reports at the end, where a test asks
};

// minimize for `iterations` (no other stopping rule), checkpointing to dir when it is given.
inline trace record(objective& f, param_set& x, optimizer& opt, std::size_t iterations, const std::string& dir) {
    stopping stop;
    stop.max_iterations = iterations;
    stop.gradient_tolerance = 0.0;
    stop.checkpoint.directory = dir;
    trace t;
    t.res = minimize(f, x, opt, stop, [&](const iteration_record&, const param_set& p) {
        t.iterates.push_back(p);
        return true;
    });
    return t;
}

// The first k iterates of the interrupted run and the N − k of the resumed one are those of the
// straight run, and the resumed result carries the whole history and the counts of both parts.
inline void require_continues(const trace& straight, const trace& first, const trace& rest, std::size_t k, std::size_t N) {
    REQUIRE(straight.iterates.size() == N);
    REQUIRE(first.iterates.size() == k);
    for (std::size_t i = 0; i < k; ++i) REQUIRE(identical(first.iterates[i], straight.iterates[i]));
    REQUIRE(rest.res.reason == stop_reason::max_iterations);
    REQUIRE(rest.iterates.size() == N - k);
    for (std::size_t i = 0; i < N - k; ++i) {
        INFO("iteration " << k + 1 + i);
        REQUIRE(identical(rest.iterates[i], straight.iterates[k + i]));
    }
    REQUIRE(rest.res.history.size() == straight.res.history.size());
    for (std::size_t i = 0; i < straight.res.history.size(); ++i) {
        INFO("history row " << i);
        const iteration_record &a = rest.res.history[i], &b = straight.res.history[i];
        REQUIRE(a.iteration == b.iteration);
        REQUIRE(a.loss == b.loss);
        REQUIRE(a.gradient_norm == b.gradient_norm);
        REQUIRE(a.step_norm == b.step_norm);
        REQUIRE(a.step_size == b.step_size);
        REQUIRE(a.evaluations == b.evaluations);
    }
    REQUIRE(rest.res.final_loss == straight.res.final_loss);
    REQUIRE(rest.res.gradient_norm == straight.res.gradient_norm);
    const evaluation_counts &a = rest.res.counts, &b = straight.res.counts;
    REQUIRE(a.values == b.values);
    REQUIRE(a.gradients == b.gradients);
    REQUIRE(a.hessian_vectors == b.hessian_vectors);
    REQUIRE(a.gauss_newton_vectors == b.gauss_newton_vectors);
    REQUIRE(a.fisher_vectors == b.fisher_vectors);
    REQUIRE(a.block_solves == b.block_solves);
    REQUIRE(a.damped_block_solves == b.damped_block_solves);
    REQUIRE(a.hessians == b.hessians);
    REQUIRE(a.layer_statistics == b.layer_statistics);
    REQUIRE(a.target_draws == b.target_draws);
    REQUIRE(rest.res.iterations == N);
    REQUIRE(identical(rest.report, straight.report));
}

}  // namespace resume_support
