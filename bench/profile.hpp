#pragma once
// Looking inside a compiled program's schedule, for the analysis of a benchmark:
//   - GEMM flops of the schedule (2·m·k·n per matmul node, batch rows resolved),
//   - a per-node profile: every node of the schedule evaluated in order by its op's own kernel
//     (Op::value, exactly what the engine calls), each call timed, so the cost of a program
//     splits into matrix products and everything else.
// The schedule is gateaux's schedule_t over the program's flattened outputs.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "support.hpp"

namespace bench {

// ---------------------------------------------------------------- the schedule of compile(...)

template <class T>
struct exprs_of {
    using type = gateaux::meta::list<T>;
};
template <class P, class... E>
struct exprs_of<gateaux::group<P, gateaux::meta::list<E...>>> {
    using type = gateaux::meta::list<E...>;
};
template <class... L>
struct join;
template <class... A>
struct join<gateaux::meta::list<A...>> {
    using type = gateaux::meta::list<A...>;
};
template <class... A, class... B, class... R>
struct join<gateaux::meta::list<A...>, gateaux::meta::list<B...>, R...>
    : join<gateaux::meta::list<A..., B...>, R...> {};
template <class L>
struct schedule_of_list;
template <class... E>
struct schedule_of_list<gateaux::meta::list<E...>> {
    using type = gateaux::schedule_t<E...>;
};
// The schedule of compile(outputs...): outputs may be expressions or groups, as for compile.
template <class... Outputs>
using schedule_of =
    typename schedule_of_list<typename join<typename exprs_of<std::remove_cvref_t<Outputs>>::type...>::type>::type;

// ---------------------------------------------------------------- node kinds

template <class Op>
inline constexpr bool is_matmul = false;
template <bool TA, bool TB>
inline constexpr bool is_matmul<gateaux::matmul_op<TA, TB>> = true;
template <class Op>
inline constexpr bool transposes_a = false;  // op(A)·op(B) reads A transposed
template <bool TB>
inline constexpr bool transposes_a<gateaux::matmul_op<true, TB>> = true;

template <class N>
constexpr bool is_gemm_node() {
    if constexpr (gateaux::is_leaf<N>) return false;
    else return is_matmul<typename N::op>;
}

template <class Op>
concept constant_op = requires { requires Op::constant; };

inline std::size_t resolve(gateaux::dim d, std::size_t b) { return d < 0 ? std::size_t(-d) * b : std::size_t(d); }

// The op alone, its operands written a, b, ...: "a·bᵀ", "leaky_relu′(a)", "a + b".
template <class N>
std::string op_label() {
    if constexpr (gateaux::is_leaf<N>) {
        return "leaf " + std::string(N::name.view());
    } else {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            constexpr std::array<std::string_view, 4> names = {"a", "b", "c", "d"};
            return N::op::print(gateaux::printed{std::string(names[I]), gateaux::prec::atom}...).text;
        }(std::make_index_sequence<N::args::size>{});
    }
}

// ---------------------------------------------------------------- GEMM flops

struct gemm_count {
    std::size_t calls = 0;
    double flops = 0;
};

template <class N>
void add_gemm(gemm_count& c, std::size_t b) {
    if constexpr (is_gemm_node<N>()) {
        using A = gateaux::type_at_t<0, typename N::args>;
        const std::size_t k = resolve(transposes_a<typename N::op> ? A::rows : A::cols, b);
        c.calls += 1;
        c.flops += 2.0 * double(resolve(N::rows, b)) * double(k) * double(resolve(N::cols, b));
    }
}

template <class... N>
gemm_count count_gemms(gateaux::meta::list<N...>, std::size_t b) {
    gemm_count c;
    (add_gemm<N>(c, b), ...);
    return c;
}

// ---------------------------------------------------------------- per-node profile

struct node_time {
    std::string label;      // the op with placeholder operands
    std::string expr;       // to_string of the whole node
    std::size_t rows, cols;
    bool gemm;
    double median;          // seconds, timer overhead subtracted
};

inline double timer_overhead() {
    std::vector<double> t(2001);
    for (auto& s : t) {
        const auto a = steady::now();
        const auto b = steady::now();
        s = std::chrono::duration<double>(b - a).count();
    }
    return quantile(t, 0.5);
}

// Evaluates the schedule `reps` times in order with fresh buffers of its own, timing each
// node's kernel; leaves are looked up by name.
template <class... N>
std::vector<node_time> profile(gateaux::meta::list<N...> sched, std::size_t b,
                               const std::function<const tensor*(std::string_view)>& leaf_value, int reps) {
    constexpr std::size_t n = sizeof...(N);
    std::vector<tensor> buffers(n);
    std::vector<const tensor*> values(n, nullptr);
    std::vector<std::vector<double>> times(n);
    std::vector<node_time> out;

    std::size_t i = 0;
    (
        [&] {
            if constexpr (gateaux::is_leaf<N>) {
                values[i] = leaf_value(N::name.view());
                if (values[i] == nullptr) {
                    std::fprintf(stderr, "bench::profile: leaf '%s' not bound\n", std::string(N::name.view()).c_str());
                    std::exit(2);
                }
            } else {
                buffers[i].resize({resolve(N::rows, b), resolve(N::cols, b)});
                values[i] = &buffers[i];
            }
            out.push_back({op_label<N>(), gateaux::to_string(N{}), resolve(N::rows, b), resolve(N::cols, b),
                           is_gemm_node<N>(), 0.0});
            ++i;
        }(),
        ...);

    // One node's kernel, as the engine runs it: Op::value(out, operands...).
    auto eval = [&]<class M>(std::size_t k, M*) {
        if constexpr (!gateaux::is_leaf<M>) {
            [&]<class... A>(gateaux::meta::list<A...>) {
                M::op::value(buffers[k], *values[gateaux::meta::index_of<A>(sched)]...);
            }(typename M::args{});
        }
    };
    // Constants once (the engine fills them when it shapes its buffers), then warm up.
    i = 0;
    ((
         [&] {
             if constexpr (!gateaux::is_leaf<N>)
                 if constexpr (constant_op<typename N::op>) eval(i, static_cast<N*>(nullptr));
         }(),
         ++i),
     ...);
    auto run_all = [&](bool timed) {
        std::size_t k = 0;
        ((
             [&] {
                 if constexpr (!gateaux::is_leaf<N>) {
                     if constexpr (!constant_op<typename N::op>) {
                         const auto t0 = steady::now();
                         eval(k, static_cast<N*>(nullptr));
                         const auto t1 = steady::now();
                         if (timed) times[k].push_back(std::chrono::duration<double>(t1 - t0).count());
                     }
                 }
             }(),
             ++k),
         ...);
    };
    for (int r = 0; r < 5; ++r) run_all(false);
    for (int r = 0; r < reps; ++r) run_all(true);
    const double overhead = timer_overhead();
    for (std::size_t k = 0; k < n; ++k)
        out[k].median = times[k].empty() ? 0.0 : std::max(0.0, quantile(times[k], 0.5) - overhead);
    return out;
}

// The profile as a table, and its split into matrix products and all other nodes; returns the
// sum of the kernels' times.
inline double print_profile(const std::vector<node_time>& p, std::size_t expr_width = 90) {
    std::printf("  %4s %-22s %-10s %9s  %s\n", "node", "op", "shape", "µs", "expression");
    double gemm = 0, other = 0;
    std::size_t n_gemm = 0, n_other = 0, n_leaf = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
        const node_time& t = p[k];
        if (t.label.rfind("leaf ", 0) == 0) {
            ++n_leaf;
            continue;
        }
        (t.gemm ? gemm : other) += t.median;
        ++(t.gemm ? n_gemm : n_other);
        std::string e = t.expr;
        if (e.size() > expr_width) {  // cut at a UTF-8 character boundary
            std::size_t cut = expr_width;
            while (cut > 0 && (static_cast<unsigned char>(e[cut]) & 0xC0) == 0x80) --cut;
            e = e.substr(0, cut) + "…";
        }
        const std::string shape = std::to_string(t.rows) + "×" + std::to_string(t.cols);
        std::printf("  %4zu %-22s %-10s %9.2f  %s\n", k, t.label.c_str(), shape.c_str(), t.median * 1e6, e.c_str());
    }
    std::printf("  nodes %zu (leaves %zu, matrix products %zu, other %zu);  matrix products %.2f µs, other nodes %.2f µs, "
                "sum %.2f µs\n",
                p.size(), n_leaf, n_gemm, n_other, gemm * 1e6, other * 1e6, (gemm + other) * 1e6);
    return gemm + other;
}

// What program::run() does besides its kernels: it re-checks, at every run, that every data leaf
// (inputs, targets, directions) is finite, with the engine's own scan (detail::all_finite, the
// function run() calls), timed here on the same tensors.
inline double finiteness_scan(const std::vector<const tensor*>& data, int reps) {
    auto scan = [&] {
        bool ok = true;
        for (const tensor* t : data) ok = gateaux::detail::all_finite(*t) && ok;
        keep(ok ? 1.0 : 0.0);
    };
    return summarize(sample(scan, reps, 10)).median;
}

// run()'s median beside the sum of its kernels, and the part of the difference the finiteness
// re-check explains.
inline void print_overhead(double run_median, double kernels, const std::vector<const tensor*>& data, int reps) {
    std::size_t entries = 0;
    for (const tensor* t : data) entries += t->size();
    std::printf("  run() median %.2f µs − sum of kernels %.2f µs = %.2f µs outside the kernels;\n"
                "  of which re-checking that the %zu data leaves (%zu entries) are finite takes about %.2f µs\n",
                run_median * 1e6, kernels * 1e6, (run_median - kernels) * 1e6, data.size(), entries,
                finiteness_scan(data, reps) * 1e6);
}

// ---------------------------------------------------------------- hand-written steps

// The same split for hand-written code whose steps run through an observer `at(label, step)`
// (hand_mlp.hpp): each step is timed in place, in its real sequence; a step counts as a matrix
// product if it moved the code's flop counter.
struct step_time {
    std::string label;
    bool gemm;
    double median;  // seconds, timer overhead subtracted
};

template <class Run>
std::vector<step_time> profile_steps(Run run, const double& flops, int reps) {
    std::vector<step_time> steps;
    std::vector<std::vector<double>> times;
    std::size_t k = 0;
    auto at = [&](const char* label, auto&& step) {
        const double before = flops;
        const auto a = steady::now();
        step();
        const auto b = steady::now();
        if (k == steps.size()) {
            steps.push_back({label, flops != before, 0.0});
            times.emplace_back();
        }
        times[k++].push_back(std::chrono::duration<double>(b - a).count());
    };
    for (int r = 0; r < 5 + reps; ++r) {
        k = 0;
        run(at);
        if (r < 5)  // warm-up
            for (auto& t : times) t.clear();
    }
    const double overhead = timer_overhead();
    for (std::size_t i = 0; i < steps.size(); ++i) steps[i].median = std::max(0.0, quantile(times[i], 0.5) - overhead);
    return steps;
}

inline void print_steps(const std::vector<step_time>& steps) {
    std::printf("  %4s %-28s %9s\n", "step", "", "µs");
    double gemm = 0, other = 0;
    std::size_t n_gemm = 0, n_other = 0;
    for (std::size_t k = 0; k < steps.size(); ++k) {
        (steps[k].gemm ? gemm : other) += steps[k].median;
        ++(steps[k].gemm ? n_gemm : n_other);
        std::printf("  %4zu %-28s %9.2f\n", k, steps[k].label.c_str(), steps[k].median * 1e6);
    }
    std::printf("  steps %zu (matrix products %zu, other %zu);  matrix products %.2f µs, other steps %.2f µs, sum %.2f µs\n",
                steps.size(), n_gemm, n_other, gemm * 1e6, other * 1e6, (gemm + other) * 1e6);
}

}  // namespace bench
