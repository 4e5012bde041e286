#pragma once
// Shared by the benchmark programs: timing (median, min and interquartile range of many
// individually timed repetitions after a warm-up, std::chrono::steady_clock), interleaved
// comparison of several implementations in one run, seeded data, result checks, and a header
// naming the machine and the BLAS kernels in use (every figure is meaningless without them).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <numbers>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>  // environ

#include <xtensor-blas/xblas.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/core/blas_info.hpp>
#include <gateaux/core/tensor.hpp>

// Weak, like gateaux's own openblas_get_corename: null when the BLAS is not OpenBLAS.
extern "C" int openblas_get_num_threads(void) __attribute__((weak));
extern "C" char* openblas_get_config(void) __attribute__((weak));

namespace bench {

using gateaux::tensor;

// ---------------------------------------------------------------- statistics

struct stats {
    double median = 0, min = 0, q1 = 0, q3 = 0;
    double iqr() const { return q3 - q1; }
};

// Quantile by linear interpolation between order statistics (q in [0, 1]).
inline double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return 0.0;
    const double pos = q * double(v.size() - 1);
    const std::size_t i = std::size_t(pos);
    const double f = pos - double(i);
    return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

inline stats summarize(const std::vector<double>& v) {
    return {quantile(v, 0.5), v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()), quantile(v, 0.25),
            quantile(v, 0.75)};
}

// ---------------------------------------------------------------- timing

using steady = std::chrono::steady_clock;

// Seconds taken by each of `reps` calls of f, after `warmup` untimed calls.
template <class F>
std::vector<double> sample(F&& f, int reps, int warmup) {
    for (int i = 0; i < warmup; ++i) f();
    std::vector<double> t(static_cast<std::size_t>(reps));
    for (auto& s : t) {
        const auto a = steady::now();
        f();
        const auto b = steady::now();
        s = std::chrono::duration<double>(b - a).count();
    }
    return t;
}

// A value the optimiser must assume is used.
inline volatile double keep_sink = 0.0;
inline void keep(double v) { keep_sink = v; }

struct candidate {
    std::string name;
    std::function<void()> run;
};

// Results of an interleaved comparison: every repetition's time per candidate (pooled over
// rounds), and each candidate's median per round (ratios are taken round by round).
struct comparison {
    std::vector<std::string> names;
    std::vector<std::vector<double>> samples;       // [candidate][rep]
    std::vector<std::vector<double>> round_median;  // [candidate][round]

    std::size_t index(std::string_view name) const {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == name) return i;
        std::fprintf(stderr, "bench: no candidate named '%.*s'\n", int(name.size()), name.data());
        std::exit(2);
    }
    stats of(std::string_view name) const { return summarize(samples[index(name)]); }
    // Round-by-round ratio of medians, a / b: the two were measured minutes apart at most.
    std::vector<double> ratios(std::string_view a, std::string_view b) const {
        const auto& ma = round_median[index(a)];
        const auto& mb = round_median[index(b)];
        std::vector<double> r(ma.size());
        for (std::size_t k = 0; k < r.size(); ++k) r[k] = ma[k] / mb[k];
        return r;
    }
};

// `rounds` rounds. A round warms every candidate up (`warmup` untimed calls each), then makes
// `reps` passes, each pass timing one call of every candidate, in an order rotated from pass to
// pass: so the candidates' repetitions alternate, and whatever else the machine does (other
// processes on shared cores, frequency changes) falls on all of them alike. Each timed call
// follows an untimed call of the same candidate, so that it finds its own buffers in cache as a
// program run step after step in a training loop does (without it, at 256² the six candidates
// of bench_derivatives evict each other's 5–10 MB from the 32 MB L3 and the figures measure
// that). Each candidate's median per round gives the round-by-round ratios.
// The rounds, rotation and bookkeeping of interleave over `names`: warm(i) makes one untimed call
// of candidate i, measure(i) returns the seconds of one timed repetition.
template <class Warm, class Measure>
comparison interleave_with(std::vector<std::string> names, int rounds, int reps, int warmup, Warm warm, Measure measure) {
    comparison out;
    const std::size_t n = names.size();
    out.names = std::move(names);
    out.samples.resize(n);
    out.round_median.resize(n);
    std::vector<std::vector<double>> t(n, std::vector<double>(static_cast<std::size_t>(reps)));
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < n; ++i)
            for (int w = 0; w < warmup; ++w) warm(i);
        for (std::size_t k = 0; k < std::size_t(reps); ++k)
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t i = (j + k + std::size_t(r)) % n;
                t[i][k] = measure(i);
            }
        for (std::size_t i = 0; i < n; ++i) {
            out.round_median[i].push_back(quantile(t[i], 0.5));
            out.samples[i].insert(out.samples[i].end(), t[i].begin(), t[i].end());
        }
    }
    return out;
}

inline comparison interleave(const std::vector<candidate>& cs, int rounds, int reps, int warmup) {
    std::vector<std::string> names;
    for (const auto& c : cs) names.push_back(c.name);
    return interleave_with(
        std::move(names), rounds, reps, warmup, [&](std::size_t i) { cs[i].run(); },
        [&](std::size_t i) {
            cs[i].run();
            const auto a = steady::now();
            cs[i].run();
            const auto b = steady::now();
            return std::chrono::duration<double>(b - a).count();
        });
}

// Candidates that time themselves (a run of several steps, its seconds per step), interleaved in
// the same rounds; their repetitions are not preceded by an untimed call.
struct timed_candidate {
    std::string name;
    std::function<double()> run;
};
inline comparison interleave(const std::vector<timed_candidate>& cs, int rounds, int reps, int warmup) {
    std::vector<std::string> names;
    for (const auto& c : cs) names.push_back(c.name);
    return interleave_with(
        std::move(names), rounds, reps, warmup, [&](std::size_t i) { cs[i].run(); }, [&](std::size_t i) { return cs[i].run(); });
}

// ---------------------------------------------------------------- printing

inline void print_time_header() {
    std::printf("  %-28s %11s %11s %11s %11s\n", "", "median µs", "min µs", "q1 µs", "q3 µs");
}
inline void print_time(std::string_view name, const stats& s) {
    std::printf("  %-28.*s %11.2f %11.2f %11.2f %11.2f\n", int(name.size()), name.data(), s.median * 1e6, s.min * 1e6,
                s.q1 * 1e6, s.q3 * 1e6);
}
// A ratio's median over rounds with its interquartile range, and the target it is held to.
inline bool print_ratio(std::string_view what, const std::vector<double>& r, double target, std::string_view core) {
    const stats s = summarize(r);
    const bool ok = s.median <= target;
    std::printf("  %-40.*s %6.3f  (IQR %.3f–%.3f, %zu rounds)  target ≤ %.2f  %s  [BLAS core %.*s]\n", int(what.size()),
                what.data(), s.median, s.q1, s.q3, r.size(), target, ok ? "met" : "MISSED", int(core.size()),
                core.data());
    return ok;
}

inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            const auto p = line.find(':');
            return p == std::string::npos ? line : line.substr(p + 2);
        }
    return "unknown";
}

inline std::string env_or(const char* name, const char* otherwise) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string(otherwise);
}

// Other processes share the cores: the load average says how much (1-, 5-, 15-minute).
inline std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

// What every benchmark prints first: the machine, the compiler, and the BLAS kernels.
inline void print_environment(std::string_view program) {
    std::printf("== %.*s\n", int(program.size()), program.data());
    std::printf("cpu           %s (avx2 %s, avx512f %s)\n", cpu_model().c_str(), gateaux::cpu_has_avx2() ? "yes" : "no",
                gateaux::cpu_has_avx512f() ? "yes" : "no");
    std::printf("compiler      g++ %s, %s, %s\n", __VERSION__,
#if defined(__OPTIMIZE__)
                "optimised",
#else
                "NOT optimised (figures not representative)",
#endif
#if defined(NDEBUG)
                "NDEBUG"
#else
                "assertions on (figures not representative)"
#endif
    );
    std::printf("BLAS core     %s   (OPENBLAS_CORETYPE=%s; recommended for this CPU: %s)\n",
                gateaux::blas_core().c_str(), env_or("OPENBLAS_CORETYPE", "<unset>").c_str(),
                gateaux::recommended_core().empty() ? "none" : gateaux::recommended_core().c_str());
    std::string vars;  // every OPENBLAS_* variable: each can change what is measured
    for (char** e = environ; *e != nullptr; ++e)
        if (std::string_view(*e).rfind("OPENBLAS_", 0) == 0) vars += (vars.empty() ? "" : " ") + std::string(*e);
    std::printf("environment   %s\n", vars.empty() ? "no OPENBLAS_* variables" : vars.c_str());
    if (openblas_get_config != nullptr)
        std::printf("OpenBLAS      %s, %d thread(s) (OPENBLAS_NUM_THREADS=%s)\n", openblas_get_config(),
                    openblas_get_num_threads != nullptr ? openblas_get_num_threads() : 0,
                    env_or("OPENBLAS_NUM_THREADS", "<unset>").c_str());
    std::printf("load average  %s at start\n\n", load_average().c_str());
}

// ---------------------------------------------------------------- data

// splitmix64: a tiny generator that gives the same numbers with every standard library.
struct rng {
    std::uint64_t state;
    explicit rng(std::uint64_t seed) : state(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

// rows×cols, entries uniform in [−scale, scale).
inline tensor random_tensor(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale = 1.0) {
    tensor t = tensor::from_shape({rows, cols});
    rng g(seed);
    for (double& v : t.storage()) v = scale * (2.0 * g.uniform() - 1.0);
    return t;
}

// A weight n_in×n_out with variance about 2/n_in (keeps activations O(1) through the layers).
inline tensor random_weight(std::size_t n_in, std::size_t n_out, std::uint64_t seed) {
    return random_tensor(n_in, n_out, seed, std::sqrt(6.0 / double(n_in)));
}

// rows×cols, entries N(0, 1) (Box–Muller on the generator above: the same numbers everywhere).
inline tensor gaussian_tensor(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    tensor t = tensor::from_shape({rows, cols});
    rng g(seed);
    for (double& v : t.storage()) {
        const double u1 = 1.0 - g.uniform(), u2 = g.uniform();  // u1 in (0, 1]
        v = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    return t;
}

// U·diag(s)·Vᵀ from the SVD of a Gaussian matrix, with the singular values replaced by values
// uniform in [lo, hi]: cond ≤ hi/lo. The B-operator's
// acceptance tests (tests/support/oracle.hpp) build their data this way, so that the explicit
// solve the B-operator is compared with is itself accurate.
inline tensor well_conditioned(std::size_t rows, std::size_t cols, std::uint64_t seed, double lo = 0.7,
                               double hi = 1.4) {
    const tensor a = gaussian_tensor(rows, cols, seed);
    auto [u, s, vt] = xt::linalg::svd(a, false, true);
    rng g(seed ^ 0x5eedULL);
    for (double& v : s) v = lo + (hi - lo) * g.uniform();
    for (std::size_t i = 0; i < u.shape(0); ++i)
        for (std::size_t k = 0; k < s.size(); ++k) u(i, k) *= s(k);
    tensor out = tensor::from_shape({rows, cols});
    xt::blas::gemm(tensor(u), tensor(vt), out);
    return out;
}

// ---------------------------------------------------------------- checks

// max |a − b| / max |b|: relative in the max norm, so small entries cannot blow it up.
inline double rel_diff(const tensor& a, const tensor& b) {
    if (a.shape() != b.shape()) return INFINITY;
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num = std::max(num, std::abs(a.data()[i] - b.data()[i]));
        den = std::max(den, std::abs(b.data()[i]));
    }
    return den > 0 ? num / den : num;
}
inline double rel_diff(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

// Prints a measured difference; a benchmark of two computations that disagree measures nothing.
inline void require_within(std::string_view what, double d, double tol) {
    std::printf("  check %-30.*s rel. diff %.2e  (≤ %.0e)  %s\n", int(what.size()), what.data(), d, tol,
                d <= tol ? "ok" : "FAILED");
    if (!(d <= tol)) {
        std::fprintf(stderr, "bench: %.*s differs (%.3e > %.0e); not timing\n", int(what.size()), what.data(), d, tol);
        std::exit(1);
    }
}
template <class A, class B>
void require_close(std::string_view what, const A& a, const B& b, double tol) {
    require_within(what, rel_diff(a, b), tol);
}

// ---------------------------------------------------------------- command line

// Options "--name N" (integers) and switches "--name", each bound to a variable that holds its
// default; anything else prints the usage and exits (documented runs use the defaults).
struct int_option {
    std::string_view name;
    int* value;
};
struct switch_option {
    std::string_view name;
    bool* value;
};
inline void parse_command_line(int argc, char** argv, std::initializer_list<int_option> ints,
                               std::initializer_list<switch_option> switches = {}) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        bool known = false;
        for (const switch_option& s : switches)
            if (arg == s.name) *s.value = known = true;
        for (const int_option& o : ints)
            if (arg == o.name && i + 1 < argc) *o.value = std::atoi(argv[++i]), known = true;
        if (!known) {
            std::string usage;
            for (const int_option& o : ints) usage += " [" + std::string(o.name) + " N]";
            for (const switch_option& s : switches) usage += " [" + std::string(s.name) + "]";
            std::fprintf(stderr, "usage: %s%s\n", argv[0], usage.c_str());
            std::exit(2);
        }
    }
}

struct options {
    int rounds;
    int reps;
    int warmup;
};

// --rounds N --reps M --warmup K override the defaults.
inline options parse_options(int argc, char** argv, options o) {
    parse_command_line(argc, argv, {{"--rounds", &o.rounds}, {"--reps", &o.reps}, {"--warmup", &o.warmup}});
    return o;
}

}  // namespace bench
