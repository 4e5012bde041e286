#pragma once
// What an optimizer is to the training loop (optim/minimize.hpp): the interface every optimizer
// implements (start, step, the state a checkpoint keeps), what one step reports, the record of an
// iteration, the stopping rules with checkpointing, and the summary of a run.
#include <cstddef>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../io/state.hpp"
#include "capabilities.hpp"
#include "param_set.hpp"

namespace gateaux {
enum class stop_reason {
    gradient_tolerance,   // ‖g‖ ≤ gradient_tolerance
    loss_tolerance,       // relative loss change below loss_tolerance
    target_loss,          // loss ≤ target_loss
    max_iterations,
    time_limit,
    line_search_failed,
    non_finite,           // NaN or ±inf in the loss, gradient or parameters
    diverged,             // loss above divergence_factor × the initial loss
    not_applicable,       // the optimizer cannot run on this objective (message says why)
    callback,             // a callback asked to stop
};

inline const char* to_string(stop_reason r) {
    switch (r) {
        case stop_reason::gradient_tolerance: return "gradient tolerance reached";
        case stop_reason::loss_tolerance: return "loss stopped improving";
        case stop_reason::target_loss: return "target loss reached";
        case stop_reason::max_iterations: return "iteration limit";
        case stop_reason::time_limit: return "time limit";
        case stop_reason::line_search_failed: return "line search failed";
        case stop_reason::non_finite: return "non-finite value";
        case stop_reason::diverged: return "diverged";
        case stop_reason::not_applicable: return "not applicable";
        case stop_reason::callback: return "stopped by callback";
    }
    return "?";
}

// Checkpoints of a run (io/checkpoint.hpp says how they are written and checked). With a
// directory set, minimize saves the parameters, the optimizer's state, the objective's draws and
// its own progress (iteration, history, counts, time) every `every` iterations and when the run
// ends (not after a non-finite value or divergence); and if the directory already holds a
// checkpoint and `resume` is on, it continues from there instead of starting: the iterates are
// then bit-identical to those of a run that was never interrupted. A run that ended by converging,
// a callback or a failed line search ends again when resumed; one that hit its iteration or time
// limit goes on under the new limits. A checkpoint written for another optimizer, other parameter
// shapes or other data is refused (checkpoint_error), and leaves x and the objective (its draws
// and counts) as they were.
struct checkpointing {
    std::string directory;   // empty: no checkpoints
    std::size_t every = 0;   // save every k iterations (0: only at the end)
    bool resume = true;      // continue from a checkpoint found in directory
    // Further state saved and loaded with the run, by name (e.g. a standardizer's statistics).
    std::vector<std::pair<std::string, std::function<void(state_archive&)>>> extra;
};

struct stopping {
    std::size_t max_iterations = 1000;
    double gradient_tolerance = 1e-8;                            // on ‖g‖ (Euclidean, all blocks)
    double loss_tolerance = 0.0;                                 // relative: |ΔL| ≤ tol·max(1, |L|)
    double target_loss = -std::numeric_limits<double>::infinity();
    double time_limit = std::numeric_limits<double>::infinity();  // seconds
    double divergence_factor = 1e8;                              // loss > factor·max(1, |L₀|)
    std::size_t print_every = 0;                                 // 0: progress off; k: every k iterations (a terminal: ≤ 10/s)
    bool print_when_not_a_terminal = false;                      // progress lines also into a pipe or a log file
    checkpointing checkpoint;                                    // saving and resuming (off by default)
};

// What one optimizer step reports, at the new point.
struct step_outcome {
    enum class status { ok, line_search_failed, not_applicable } state = status::ok;
    double loss = 0.0;
    double gradient_norm = 0.0;
    double step_norm = 0.0;   // ‖x_new − x_old‖
    double step_size = 0.0;   // the line-search or learning-rate multiplier, or trust radius
    std::string message;      // why, when state != ok
};

struct iteration_record {
    std::size_t iteration;
    double loss, gradient_norm, step_norm, step_size, seconds;
    std::size_t evaluations;
};

struct result {
    std::string optimizer;
    stop_reason reason = stop_reason::max_iterations;
    std::string message;
    std::size_t iterations = 0;
    evaluation_counts counts;
    double initial_loss = 0.0, final_loss = 0.0, gradient_norm = 0.0, seconds = 0.0;
    std::vector<iteration_record> history;

    bool converged() const {
        return reason == stop_reason::gradient_tolerance || reason == stop_reason::loss_tolerance ||
               reason == stop_reason::target_loss;
    }
    void write_csv(const std::string& path) const {
        std::ofstream out(path);
        if (!out) throw error("gateaux::result::write_csv: cannot write '" + path + "'");
        out << "iteration,loss,gradient_norm,step_norm,step_size,seconds,evaluations\n";
        out.precision(17);
        for (const auto& r : history)
            out << r.iteration << ',' << r.loss << ',' << r.gradient_norm << ',' << r.step_norm << ',' << r.step_size << ','
                << r.seconds << ',' << r.evaluations << '\n';
    }
};

// An optimizer keeps its own state between steps. start() evaluates the starting point and
// checks that the objective has what the run needs; step() moves x and reports the loss and
// gradient norm at the new point.
class optimizer {
public:
    // The capabilities beyond objective that every run of this optimizer needs; a derived class
    // that needs more states its own list.
    using needs = capability_list<>;

    virtual ~optimizer() = default;
    virtual std::string name() const = 0;
    virtual step_outcome start(objective& f, param_set& x) = 0;
    virtual step_outcome step(objective& f, param_set& x) = 0;
    // minimize() drew a new minibatch (data_batches::next_batch) and calls this before step(). By
    // default nothing changes: a first-order method's gradient at x from the previous batch is a
    // stochastic gradient that did not choose x.
    virtual void batch_changed(objective& f, const param_set& x) { (void)f, (void)x; }
    // Everything a resumed run needs to continue exactly as this one would (io/state.hpp): saved
    // after a step, and loaded after start() at the checkpoint's parameters. Options are not state:
    // a resumed run is built with the same options. An optimizer that cannot be checkpointed says so.
    virtual void state(state_archive& a) {
        (void)a;
        throw checkpoint_error("gateaux::checkpoint: the optimizer " + name() + " does not support checkpoints");
    }
};

namespace detail {
// An optimizer whose step compares losses or pairs gradients (line searches, reduction ratios,
// quasi-Newton pairs) holds the loss and gradient at its current point. On a new minibatch these
// belong to the previous batch, so they are evaluated again: every comparison within one step is
// then on one batch, and a quasi-Newton pair is y = g_k(x_k+1) − g_k(x_k).
class optimizer_with_point : public optimizer {
public:
    void batch_changed(objective& f, const param_set& x) override { loss_ = f.value_and_gradient(x, g_); }
    void state(state_archive& a) override { a("loss", loss_), a("gradient", g_); }

protected:
    double loss_ = 0.0;
    param_set g_;
};
}  // namespace detail

// Called after every iteration; return false to stop.
using iteration_callback = std::function<bool(const iteration_record&, const param_set&)>;

}  // namespace gateaux
