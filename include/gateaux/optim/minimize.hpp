#pragma once
// The training loop: minimize(f, x, optimizer, stopping, callback) runs an optimizer on an
// objective until a stopping rule fires, shows progress (optim/progress.hpp: one updating line on a
// terminal with the elapsed time, the rate and an estimate of the time left; nothing when stdout is
// not a terminal, unless asked for), keeps a history that can be written as CSV, and returns a
// summary (the optimizer interface, the stopping rules and the summary are in optim/optimizer.hpp).
// A failed line search, a non-finite value or divergence ends the run with its reason in the
// summary — never a crash, and no exception in normal use.
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
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../io/checkpoint.hpp"
#include "capabilities.hpp"
#include "../symbolic/named_params.hpp"
#include "optimizer.hpp"
#include "param_set.hpp"
#include "progress.hpp"

namespace gateaux {

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
    shared_state* const shared = capability<shared_state>(f);
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
        // An objective whose state several processes share (shared_state): one of them writes,
        // and all of them learn whether it could.
        if (shared == nullptr) return write_checkpoint(ck.directory, m);
        std::exception_ptr failure;
        if (shared->writes_checkpoints()) {
            try {
                write_checkpoint(ck.directory, m);
            } catch (...) {
                failure = std::current_exception();
            }
        }
        shared->checkpoint_written(failure);
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
