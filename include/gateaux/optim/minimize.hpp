#pragma once
// The training loop: minimize(f, x, optimizer, stopping, callback) runs an optimizer on an
// objective until a stopping rule fires, shows progress (one updating line on a terminal with the
// elapsed time, the rate and an estimate of the time left; nothing when stdout is not a terminal,
// unless asked for), keeps a history that can be written as CSV, and returns a summary. A failed
// line search, a non-finite value or divergence ends the run with its reason in the summary —
// never a crash, and no exception in normal use.
//
// What an optimizer needs of the objective (optim/capabilities.hpp) is checked twice:
//   at compile time   each optimizer class states the capabilities every run of it needs
//                     (`using needs = capability_list<...>`); minimize(f, x, opt) on an objective of
//                     a final type (its capabilities are then all known, as for graph_objective)
//                     is a compile error naming the first one it lacks;
//   at run time       start() refuses an objective without what this run needs (the stated needs,
//                     and those that depend on the options, e.g. Gauss–Newton products for
//                     hessian_free with curvature_matrix::gauss_newton) with
//                     step_outcome::status::not_applicable, and minimize ends with
//                     stop_reason::not_applicable and the message naming the capability. This is
//                     what an objective& (or a non-final type, which a derived class may extend) gets.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "../io/checkpoint.hpp"
#include "capabilities.hpp"
#include "../symbolic/named_params.hpp"
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

namespace detail {
// The terminal's width in columns, or 0 if unknown. Linux's TIOCGWINSZ request and struct
// winsize, declared here: <sys/ioctl.h> defines macros (NCC, ...) that break LAPACK's headers
// when it comes first.
#if defined(__linux__)
struct terminal_window {
    unsigned short rows, cols, x_pixels, y_pixels;
};
extern "C" int ioctl(int, unsigned long, ...) noexcept;
inline std::size_t terminal_columns(int fd) {
    terminal_window w{};
    return ioctl(fd, 0x5413ul /* TIOCGWINSZ */, &w) == 0 ? w.cols : 0;
}
#else
inline std::size_t terminal_columns(int) { return 0; }
#endif

// A duration for people: 42 s, 3 min 05 s, 2 h 07 min; beyond 100 hours "> 100 h".
inline std::string duration_string(double s) {
    char buf[48];
    if (!(s >= 0.0) || !std::isfinite(s)) return "?";
    if (s >= 359999.5) return "> 100 h";
    const long whole = std::lround(s), minutes = std::lround(s / 60.0);
    if (s < 59.5) std::snprintf(buf, sizeof buf, "%ld s", whole);
    else if (s < 3599.5) std::snprintf(buf, sizeof buf, "%ld min %02ld s", whole / 60, whole % 60);
    else std::snprintf(buf, sizeof buf, "%ld h %02ld min", minutes / 60, minutes % 60);
    return buf;
}

// One progress line: iteration (of the limit), loss, ‖g‖, step, the elapsed time, the rate and,
// while the run goes on and a limit bounds it, the time left: "about" at this rate before the
// iteration limit, "at most" when the time limit comes first (a tolerance may end the run
// sooner). `first_iteration` and `first_seconds` are where this call of minimize began, so that
// the rate is this run's, a resumed one included.
inline std::string progress_line(const std::string& name, const iteration_record& r, const stopping& stop, std::size_t first_iteration,
                                 double first_seconds, bool final) {
    char buf[256];
    std::string line = name;
    line.resize(std::max<std::size_t>(line.size(), 12), ' ');
    const bool limited = stop.max_iterations != std::size_t(-1);
    if (limited) std::snprintf(buf, sizeof buf, "  it %zu/%zu", r.iteration, stop.max_iterations);
    else std::snprintf(buf, sizeof buf, "  it %zu", r.iteration);
    line += buf;
    std::snprintf(buf, sizeof buf, "  loss %.4e  |g| %.2e  %s", r.loss, r.gradient_norm, duration_string(r.seconds).c_str());
    line += buf;
    const double dt = r.seconds - first_seconds;
    if (r.iteration > first_iteration && dt > 0.0) {
        const double rate = double(r.iteration - first_iteration) / dt;
        std::snprintf(buf, sizeof buf, "  %.3g it/s", rate);
        line += buf;
        if (final) return line;
        const double by_iterations =
            limited ? double(stop.max_iterations - std::min(stop.max_iterations, r.iteration)) / rate : std::numeric_limits<double>::infinity();
        const double by_time = std::isfinite(stop.time_limit) ? std::max(0.0, stop.time_limit - r.seconds) : std::numeric_limits<double>::infinity();
        if (std::isfinite(by_time) && by_time <= by_iterations) line += "  at most " + duration_string(by_time) + " left";
        else if (std::isfinite(by_iterations)) line += "  about " + duration_string(by_iterations) + " left";
    }
    return line;
}

// Where progress goes. On a terminal one line rewrites itself (\r, cut to the terminal's width
// so that it never wraps, padded over a longer previous one), at most ten times a second, and
// ends with the run (or when an exception leaves minimize); elsewhere each shown iteration is a
// line of its own, and nothing at all unless asked.
class progress_printer {
public:
    progress_printer(const stopping& stop, std::string name)
        : stop_(stop), name_(std::move(name)), terminal_(stop.print_every != 0 && isatty(fileno(stdout))),
          show_(stop.print_every != 0 && (terminal_ || stop.print_when_not_a_terminal)) {}
    progress_printer(const progress_printer&) = delete;
    progress_printer& operator=(const progress_printer&) = delete;
    ~progress_printer() {
        if (open_) std::fputc('\n', stdout), std::fflush(stdout);
    }
    // Where this call's run begins: the first record, or the iteration a resume starts from.
    void begin_at(std::size_t iteration, double seconds) {
        first_iteration_ = iteration, first_seconds_ = seconds, begun_ = true;
    }
    void iteration(const iteration_record& r) {
        if (!begun_) begin_at(r.iteration, r.seconds);
        if (!show_ || r.iteration % stop_.print_every != 0 || (terminal_ && shown_ && r.seconds - last_seconds_ < 0.1)) return;
        print(r, false);
    }
    void end(const iteration_record& r) {
        if (!begun_) begin_at(r.iteration, r.seconds);
        if (show_ && (terminal_ || !shown_ || r.iteration != last_iteration_)) print(r, true);
    }

private:
    void print(const iteration_record& r, bool final) {
        std::string line = progress_line(name_, r, stop_, first_iteration_, first_seconds_, final);
        if (terminal_) {
            const std::size_t columns = terminal_columns(fileno(stdout));
            if (columns > 1 && line.size() >= columns) line.resize(columns - 1);
            const std::size_t width = line.size();
            if (line.size() < width_) line.resize(width_, ' ');
            width_ = width;
            std::fprintf(stdout, "\r%s%s", line.c_str(), final ? "\n" : "");
            open_ = !final;
        } else {
            std::fprintf(stdout, "%s\n", line.c_str());
        }
        std::fflush(stdout);
        shown_ = true, last_iteration_ = r.iteration, last_seconds_ = r.seconds;
    }
    const stopping& stop_;
    std::string name_;
    bool terminal_, show_, begun_ = false, shown_ = false, open_ = false;
    std::size_t first_iteration_ = 0, last_iteration_ = 0, width_ = 0;
    double first_seconds_ = 0.0, last_seconds_ = 0.0;
};
}  // namespace detail

namespace detail {
// The history as a matrix (one row per record) and back, for checkpoints.
inline tensor history_matrix(const std::vector<iteration_record>& h) {
    tensor t = xt::empty<double>({h.size(), std::size_t(7)});
    for (std::size_t i = 0; i < h.size(); ++i) {
        const iteration_record& r = h[i];
        const double row[7] = {double(r.iteration), r.loss, r.gradient_norm, r.step_norm, r.step_size, r.seconds, double(r.evaluations)};
        std::copy_n(row, 7, &t(i, 0));
    }
    return t;
}
inline std::vector<iteration_record> history_records(const tensor& t) {
    if (t.size() != 0 && t.shape(1) != 7)
        throw checkpoint_error("gateaux::minimize: the checkpoint's history has " + std::to_string(t.shape(1)) + " columns, expected 7");
    std::vector<iteration_record> h(t.size() == 0 ? 0 : t.shape(0));
    const auto count = [&](std::size_t i, std::size_t j) {
        const double v = t(i, j);
        if (!(v >= 0.0 && v <= 9007199254740992.0 && v == std::floor(v)))
            throw checkpoint_error("gateaux::minimize: the checkpoint's history row " + std::to_string(i) + " holds " + number_string(v) +
                                   " where a count belongs");
        return std::size_t(v);
    };
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = {count(i, 0), t(i, 1), t(i, 2), t(i, 3), t(i, 4), t(i, 5), count(i, 6)};
    return h;
}

// Which value of a step is NaN or ±inf: the loss, the gradient's norm, or the first parameter entry.
inline std::string non_finite_message(const step_outcome& o, const param_set& x, const std::vector<std::string>& names) {
    if (!std::isfinite(o.loss)) return "the loss is " + number_string(o.loss);
    if (!std::isfinite(o.gradient_norm)) return "the gradient's norm is " + number_string(o.gradient_norm);
    for (std::size_t b = 0; b < x.size(); ++b)
        for (std::size_t i = 0; i < x[b].shape(0); ++i)
            for (std::size_t j = 0; j < x[b].shape(1); ++j)
                if (!std::isfinite(x[b](i, j)))
                    return "parameter '" + (b < names.size() ? names[b] : std::to_string(b)) + "' holds " + number_string(x[b](i, j)) +
                           " at (" + std::to_string(i) + ", " + std::to_string(j) + ")";
    return "";
}
}  // namespace detail

inline result minimize(objective& f, param_set& x, optimizer& opt, const stopping& stop = {},
                       const iteration_callback& callback = {}) {
    data_batches* const batches = capability<data_batches>(f);
    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    double carried_seconds = 0.0;  // of the run before a resume
    const auto seconds = [&] { return carried_seconds + std::chrono::duration<double>(clock::now() - t0).count(); };
    evaluation_counts before = f.counts, carried{};
    const auto evaluations = [&] { return (f.counts - before) + carried; };
    result res;
    res.optimizer = opt.name();
    detail::progress_printer progress(stop, res.optimizer);
    step_outcome o;
    std::size_t done = 0;     // iterations completed
    double previous = 0.0;    // the loss before the last step (for loss_tolerance)
    std::size_t ended = 0;    // 1 + the stop_reason a run ended with (0: not ended), saved with it

    // What a checkpoint holds: the parameters, the optimizer's and objective's state, and this loop's.
    const checkpointing& ck = stop.checkpoint;
    const auto run_state = [&](state_archive& a) {
        std::string name = res.optimizer;
        a("optimizer", name);
        if (a.loading() && name != res.optimizer)
            throw checkpoint_error("gateaux::minimize: the checkpoint in '" + ck.directory + "' was written by the optimizer " + name +
                                   ", this run uses " + res.optimizer);
        a("iteration", done), a("initial_loss", res.initial_loss);
        a("loss", o.loss), a("gradient_norm", o.gradient_norm), a("step_norm", o.step_norm), a("step_size", o.step_size);
        double secs = seconds();
        evaluation_counts counts = evaluations();
        tensor history = detail::history_matrix(res.history);
        a("seconds", secs), a.nest("counts", counts), a("history", history);
        a("ended", ended), a("ended_message", res.message);
        if (a.loading() && ended > std::size_t(stop_reason::callback) + 1)
            throw checkpoint_error("gateaux::minimize: the checkpoint's 'run/ended' is " + std::to_string(ended) + ", not a stop reason");
        if (a.loading()) {
            carried_seconds = secs, t0 = clock::now();
            progress.begin_at(done, secs);  // the rate is this run's
            carried = counts, before = f.counts;
            res.history = detail::history_records(history);
        }
    };
    checkpoint parameters, objective_state, rest;
    if (!ck.directory.empty()) {
        parameters.add("parameters", x);
        objective_state.add("objective", f);
        rest.add("optimizer", opt).add("objective", f).add("run", std::function<void(state_archive&)>(run_state));
        for (const auto& [name, fn] : ck.extra) rest.add("extra/" + name, fn);
    }
    const auto save = [&] {
        state_map m = parameters.collect();
        m.merge(rest.collect());
        write_checkpoint(ck.directory, m);
    };

    auto record = [&](std::size_t it, const step_outcome& o) {
        const std::size_t evals = evaluations().total();
        iteration_record r{it, o.loss, o.gradient_norm, o.step_norm, o.step_size, seconds(), evals};
        res.history.push_back(r);
        progress.iteration(r);
        return r;
    };
    auto finish = [&](stop_reason why, std::string message, const step_outcome& o) {
        res.reason = why;
        res.message = std::move(message);
        res.final_loss = o.loss;
        res.gradient_norm = o.gradient_norm;
        res.seconds = seconds();
        res.counts = evaluations();
        if (!res.history.empty()) progress.end(res.history.back());
        if (!ck.directory.empty() && why != stop_reason::non_finite && why != stop_reason::diverged && why != stop_reason::not_applicable) {
            ended = std::size_t(why) + 1;
            save();
        }
        return res;
    };
    std::string non_finite;  // which value, when check() finds one
    auto check = [&](const step_outcome& o) -> std::optional<stop_reason> {
        if (!std::isfinite(o.loss) || !std::isfinite(o.gradient_norm) || !x.finite()) {
            non_finite = detail::non_finite_message(o, x, f.names());
            return stop_reason::non_finite;
        }
        if (o.loss > stop.divergence_factor * std::max(1.0, std::abs(res.initial_loss))) return stop_reason::diverged;
        if (o.loss <= stop.target_loss) return stop_reason::target_loss;
        if (o.gradient_norm <= stop.gradient_tolerance) return stop_reason::gradient_tolerance;
        return std::nullopt;
    };

    if (!ck.directory.empty() && ck.resume && checkpoint_exists(ck.directory)) {
        // Resume. Every file is checked first. Then x and the objective's draws from the
        // checkpoint, so that start() (which sets up what the optimizer binds) evaluates on the rows
        // the run had reached; then the optimizer's state, the objective's again (start() may have
        // drawn), the loop's and the extra state. A refusal anywhere puts x, the objective's state
        // and its counts back as they were, and is rethrown.
        const state_map m = read_checkpoint(ck.directory);
        const auto name = m.find("run/optimizer");
        if (name != m.end() && std::holds_alternative<std::string>(name->second) && std::get<std::string>(name->second) != res.optimizer)
            throw checkpoint_error("gateaux::minimize: the checkpoint in '" + ck.directory + "' was written by the optimizer " +
                                   std::get<std::string>(name->second) + ", this run uses " + res.optimizer);
        const param_set original = x;
        const state_map objective_before = objective_state.collect();
        const evaluation_counts counts_before = f.counts;
        try {
            parameters.apply(m);
            objective_state.apply(m);
            o = opt.start(f, x);
            if (o.state == step_outcome::status::not_applicable) {
                // The optimizer cannot go on from the checkpoint's point and rows: the run ends there.
                const std::string why = o.message;
                checkpoint progress;
                progress.add("run", std::function<void(state_archive&)>(run_state));
                progress.apply(m);
                res.iterations = done;
                return finish(stop_reason::not_applicable, why, o);
            }
            rest.apply(m);
        } catch (...) {
            x.assign(original);
            state_reader undo(objective_before, false);
            undo.nest("objective", f);
            f.counts = counts_before;
            throw;
        }
        res.iterations = done;
        // A run that ended by a rule other than its limits (converged, a callback, a failed line
        // search) ends again, without a step; one that hit its iteration or time limit goes on
        // under this run's limits.
        const auto saved = stop_reason(ended == 0 ? std::size_t(stop_reason::max_iterations) : ended - 1);
        if (ended != 0 && saved != stop_reason::max_iterations && saved != stop_reason::time_limit)
            return finish(saved, res.message, o);
        if (seconds() > stop.time_limit) return finish(stop_reason::time_limit, "", o);
        ended = 0;
    } else {
        o = opt.start(f, x);
        res.initial_loss = o.loss;
        record(0, o);
        if (o.state == step_outcome::status::not_applicable) return finish(stop_reason::not_applicable, o.message, o);
        // What cannot be checkpointed is refused now, not at the first save.
        if (!ck.directory.empty()) (void)rest.collect();
        if (auto why = check(o)) return finish(*why, non_finite, o);
    }
    for (std::size_t it = done + 1; it <= stop.max_iterations; ++it) {
        if (batches != nullptr && batches->minibatched()) {
            batches->next_batch();
            opt.batch_changed(f, x);
        }
        previous = o.loss;
        o = opt.step(f, x);
        res.iterations = done = it;
        const iteration_record r = record(it, o);
        if (o.state == step_outcome::status::line_search_failed) return finish(stop_reason::line_search_failed, o.message, o);
        if (o.state == step_outcome::status::not_applicable) return finish(stop_reason::not_applicable, o.message, o);
        if (auto why = check(o)) return finish(*why, non_finite, o);
        if (stop.loss_tolerance > 0.0 && std::abs(previous - o.loss) <= stop.loss_tolerance * std::max(1.0, std::abs(o.loss)))
            return finish(stop_reason::loss_tolerance, "", o);
        if (seconds() > stop.time_limit) return finish(stop_reason::time_limit, "", o);
        if (callback && !callback(r, x)) return finish(stop_reason::callback, "", o);
        if (!ck.directory.empty() && ck.every != 0 && it % ck.every == 0 && it != stop.max_iterations) save();
    }
    res.iterations = done;
    return finish(stop_reason::max_iterations, "", o);
}

namespace detail {
// One static_assert per capability, so that the message itself names the one that is missing.
template <class F, class C>
consteval bool offers() {
    constexpr bool ok = std::derived_from<F, C>;
    if constexpr (std::same_as<C, hessian_products>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs hessian_products (H·v), "
                          "which the objective's type does not offer");
    else if constexpr (std::same_as<C, gauss_newton_products>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs gauss_newton_products "
                          "(Gauss–Newton·v), which the objective's type does not offer");
    else if constexpr (std::same_as<C, fisher_products>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs fisher_products (Fisher·v), "
                          "which the objective's type does not offer");
    else if constexpr (std::same_as<C, layer_statistics>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs layer_statistics (layer inputs and "
                          "deltas), which the objective's type does not offer");
    else if constexpr (std::same_as<C, block_solver>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs block_solver (the per-layer "
                          "inverse), which the objective's type does not offer; use a Hessian-free or quasi-Newton optimizer");
    else if constexpr (std::same_as<C, hessian_matrix>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs hessian_matrix (the explicit "
                          "Hessian), which the objective's type does not offer");
    else if constexpr (std::same_as<C, data_batches>)
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs data_batches (minibatches), "
                          "which the objective's type does not offer");
    else
        static_assert(ok, "gateaux::minimize(f, x, optimizer): the optimizer needs a capability (C) that the "
                          "objective's type (F) does not offer");
    return ok;
}
template <class F, class... C>
consteval bool offers_all(capability_list<C...>) {
    return (offers<F, C>() && ...);
}
}  // namespace detail

namespace detail {
template <class X>
inline constexpr bool is_named_params = false;
template <class... Q>
inline constexpr bool is_named_params<named_params<Q...>> = true;

// Parameters by name must be in the objective's order, or each block would train under another's
// name: the same names in another order are refused (value_error, before anything runs). Names
// that are not the objective's (a hand-written one may call them anything) are not compared.
inline void check_parameter_order(const std::vector<std::string>& have, const std::vector<std::string>& want) {
    if (have == want) return;
    std::vector<std::string> a = have, b = want;
    std::sort(a.begin(), a.end()), std::sort(b.begin(), b.end());
    if (a != b) return;
    const auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (const std::string& n : v) s += (s.empty() ? "" : ", ") + n;
        return s;
    };
    throw value_error("gateaux::minimize: the parameters are named in the order (" + list(have) + "), the objective's wrt(...) is (" +
                      list(want) + "); make both from the same wrt(...)");
}
}  // namespace detail

// The same on objects of known types: where the objective's type is final its capabilities are
// all known, and an optimizer that needs one it lacks does not compile; parameters by name are
// checked against the objective's order.
template <std::derived_from<objective> F, std::derived_from<param_set> X, std::derived_from<optimizer> Opt>
result minimize(F& f, X& x, Opt& opt, const stopping& stop = {}, const iteration_callback& callback = {}) {
    if constexpr (std::is_final_v<F>) {
        constexpr bool checked = detail::offers_all<F>(typename Opt::needs{});  // fails inside, naming it
        (void)checked;
    }
    if constexpr (detail::is_named_params<X>) detail::check_parameter_order(x.names(), f.names());
    return minimize(static_cast<objective&>(f), static_cast<param_set&>(x), static_cast<optimizer&>(opt), stop, callback);
}

}  // namespace gateaux
