// The B-operator's per-layer Newton step, against references measured in the same run:
//   (a) newton_step by the chain against the explicit route (explicit.hpp: each block H_l built
//       from R-operator columns by hessian_block, then a LAPACK Cholesky solve), depth 2 (leaky
//       ReLU 0.1 hidden, identity output, ½ sum of squares), batch = every width = n, n = 8 … 128,
//       on well-conditioned data: time ratio and the largest difference of the two steps.
//       Target: ≥ 1000× at n = 64 with agreement ≤ 1e-9.
//   (b) newton_step / gradient on the square reference net (batch 64, 64→64→64→64): the program
//       computing loss, gradient and Newton step against the one computing loss and gradient.
//       Target ≤ 3. The hand-written gradient and chain step (hand_mlp.hpp: LAPACK LU, no
//       condition checks) are timed beside them.
//   bench_newton [--rounds N] [--reps M] [--warmup K] [--max-explicit n] [--profile]
//   (defaults 10 rounds, 100 reps, warm-up 10; explicit route up to n = 128; 0 skips (a))
// Every program computes loss and gradient as well, as a training step would. The explicit block
// at n = 128 is 16384² (2 GiB) and takes minutes: --max-explicit 64 skips it, and the figure is
// then extrapolated from the measured n = 32, 64 (labelled as such).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "explicit.hpp"
#include "hand_mlp.hpp"
#include "mlp_net.hpp"
#include "profile.hpp"
#include "support.hpp"

namespace {

using namespace bench;

struct settings {
    int rounds = 10, reps = 100, warmup = 10;
    int max_explicit = 128;
    bool profile = false;
};

// Largest |a − b| over the steps, absolute and relative to the largest |b| (max norm).
struct difference {
    double abs = 0, rel = 0;
};
difference compare(const std::vector<tensor>& a, const std::vector<tensor>& b) {
    difference d;
    for (std::size_t l = 0; l < a.size(); ++l) {
        double num = 0, den = 0;
        for (std::size_t i = 0; i < a[l].size(); ++i) {
            num = std::max(num, std::abs(a[l].data()[i] - b[l].data()[i]));
            den = std::max(den, std::abs(b[l].data()[i]));
        }
        d.abs = std::max(d.abs, num);
        d.rel = std::max(d.rel, den > 0 ? num / den : num);
    }
    return d;
}

struct row_a {
    std::size_t n;
    double chain, explicit_s, ratio, ratio_q1, ratio_q3;
    difference diff;
    int explicit_reps;  // rounds
    bool measured, cholesky;
};

// Rounds per size (the explicit route's cost grows like n⁵–n⁶).
int explicit_reps(std::size_t n) { return n <= 8 ? 30 : n <= 16 ? 15 : n <= 32 ? 7 : n <= 64 ? 3 : 1; }

template <gateaux::dim N>
row_a chain_vs_explicit(const settings& s) {
    using net = square2<N, gateaux::activation<gateaux::leaky_relu_fn<0.1>>>;
    net d;
    constexpr auto g = gateaux::grad(net::loss, net::w);
    constexpr auto step = gateaux::newton_step(net::loss, net::w);
    auto chain = gateaux::compile(net::loss, g, step);
    auto hv = gateaux::compile(net::loss, g, gateaux::hvp(net::loss, net::w));
    d.bind(chain);
    d.bind(hv);
    chain.run();
    const std::vector<tensor> by_chain{chain[step.of(net::W1)], chain[step.of(net::W2)]};

    row_a r{};
    r.n = d.n;
    r.measured = int(d.n) <= s.max_explicit;
    const std::size_t limit = std::size_t(1) << 33;  // the n = 128 block is 2 GiB
    // Each round: a block of chain runs, then a block of explicit ones, each about 20 ms long
    // (at least 20 chain runs and one explicit run); the round's ratio is of the blocks' medians.
    auto reps_for = [](double seconds, int least) { return std::max(least, int(0.02 / std::max(1e-7, seconds))); };
    const int chain_reps = reps_for(summarize(sample([&] { chain.run(); }, 20, 5)).median, 20);
    std::vector<double> chain_t, explicit_t, ratio;
    if (r.measured) {
        const auto t0 = steady::now();
        const explicit_result e = explicit_newton_step(hv, net::loss, net::w, limit);
        const int explicit_block = reps_for(std::chrono::duration<double>(steady::now() - t0).count(), 1);
        r.diff = compare(by_chain, e.step);
        r.cholesky = e.all_cholesky;
        r.explicit_reps = explicit_reps(d.n);
        for (int k = 0; k < r.explicit_reps; ++k) {
            const std::vector<double> c = sample([&] { chain.run(); keep(chain[step.of(net::W1)](0, 0)); }, chain_reps, 2);
            const std::vector<double> x = sample(
                [&] { keep(explicit_newton_step(hv, net::loss, net::w, limit).step[0](0, 0)); }, explicit_block, 0);
            chain_t.insert(chain_t.end(), c.begin(), c.end());
            explicit_t.insert(explicit_t.end(), x.begin(), x.end());
            ratio.push_back(quantile(x, 0.5) / quantile(c, 0.5));
        }
    } else {
        chain_t = sample([&] { chain.run(); }, chain_reps * s.rounds, s.warmup);
    }
    r.chain = quantile(chain_t, 0.5);
    if (r.measured) {
        r.explicit_s = quantile(explicit_t, 0.5);
        const stats q = summarize(ratio);
        r.ratio = q.median, r.ratio_q1 = q.q1, r.ratio_q3 = q.q3;
    }
    std::printf("  n = %3zu done (chain %.1f µs%s)\n", r.n, r.chain * 1e6, r.measured ? "" : ", explicit skipped");
    std::fflush(stdout);
    return r;
}

void part_a(const settings& s, const std::string& core) {
    std::printf("(a) newton_step, chain vs explicit block + LAPACK Cholesky; depth 2, leaky ReLU 0.1, batch = widths = n\n");
    std::vector<row_a> rows{chain_vs_explicit<8>(s), chain_vs_explicit<16>(s), chain_vs_explicit<32>(s),
                            chain_vs_explicit<64>(s), chain_vs_explicit<128>(s)};
    // Extrapolation for unmeasured sizes: t ∝ n^p with p from the two largest measured sizes.
    const row_a* last = nullptr;
    const row_a* before = nullptr;
    for (const row_a& r : rows)
        if (r.measured) before = last, last = &r;
    double p = 6.0;
    if (last != nullptr && before != nullptr)
        p = std::log(last->explicit_s / before->explicit_s) / std::log(double(last->n) / double(before->n));
    std::printf("\n  %5s %12s %14s %11s %19s %11s %11s %9s\n", "n", "chain µs", "explicit s", "ratio", "(IQR)", "max |Δ|",
                "rel. diff", "rounds");
    for (const row_a& r : rows) {
        if (r.measured) {
            std::printf("  %5zu %12.1f %14.4f %11.0f   (%7.0f–%7.0f) %11.2e %11.2e %9d  [BLAS core %s]%s\n", r.n,
                        r.chain * 1e6, r.explicit_s, r.ratio, r.ratio_q1, r.ratio_q3, r.diff.abs, r.diff.rel,
                        r.explicit_reps, core.c_str(), r.cholesky ? "" : "  (a block was not positive definite: LDLᵀ)");
        } else {
            const double est = last->explicit_s * std::pow(double(r.n) / double(last->n), p);
            std::printf("  %5zu %12.1f %14.1f %11.0f   EXTRAPOLATED from n = %zu (t ∝ n^%.2f), not measured  [BLAS core %s]\n",
                        r.n, r.chain * 1e6, est, est / r.chain, last->n, p, core.c_str());
        }
    }
    for (const row_a& r : rows)
        if (r.n == 64 && r.measured)
            std::printf("\n  n = 64: ratio %.0f (target ≥ 1000: %s), rel. diff %.1e (target ≤ 1e-9: %s)  [BLAS core %s]\n",
                        r.ratio, r.ratio >= 1000 ? "met" : "MISSED", r.diff.rel, r.diff.rel <= 1e-9 ? "met" : "MISSED",
                        core.c_str());
    std::printf("\n");
}

// (b) The square reference net: B = 64, 64→64→64→64, leaky ReLU 0.1, identity output.
void part_b(const settings& s, const std::string& core) {
    using net = mlp_net<64, 64, 64, 64, 64>;
    std::printf("(b) newton_step / gradient, %s, leaky ReLU 0.1 hidden, identity output\n", net::describe().c_str());
    net d;
    d.X = well_conditioned(64, 64, 21);
    d.w1 = well_conditioned(64, 64, 23), d.w2 = well_conditioned(64, 64, 24), d.w3 = well_conditioned(64, 64, 25);
    constexpr auto w = gateaux::wrt(net::W1, net::W2, net::W3);
    constexpr auto g = gateaux::grad(net::loss, w);
    constexpr auto step = gateaux::newton_step(net::loss, w);
    auto pg = gateaux::compile(net::loss, g);
    auto ps = gateaux::compile(net::loss, g, step);
    auto hv = gateaux::compile(net::loss, g, gateaux::hvp(net::loss, w));
    d.bind(pg);
    d.bind(ps);
    d.bind(hv);
    hand_mlp hand(d.X, d.Y, d.w1, d.w2, d.w3);

    // The same numbers first: gradient against the hand-written one, step against the explicit route.
    pg.run();
    ps.run();
    hand.loss_grad();
    require_close("gradient W1 (gateaux vs hand)", pg[g.of(net::W1)], hand.G1, 1e-12);
    const explicit_result e = explicit_newton_step(hv, net::loss, w, std::size_t(1) << 30);
    const difference diff = compare({ps[step.of(net::W1)], ps[step.of(net::W2)], ps[step.of(net::W3)]}, e.step);
    require_within("Newton step vs explicit blocks", diff.rel, 1e-9);
    hand.loss_grad_step();
    require_close("Newton step W1 (gateaux vs hand)", ps[step.of(net::W1)], hand.D1, 1e-9);
    require_close("Newton step W2 (gateaux vs hand)", ps[step.of(net::W2)], hand.D2, 1e-9);
    require_close("Newton step W3 (gateaux vs hand)", ps[step.of(net::W3)], hand.D3, 1e-9);

    const comparison c = interleave(
        {
            {"gateaux loss+gradient", [&] { pg.run(); keep(pg.scalar(net::loss)); }},
            {"gateaux loss+gradient+step", [&] { ps.run(); keep(ps.scalar(net::loss)); }},
            {"hand loss+gradient", [&] { hand.loss_grad(); keep(hand.loss); }},
            {"hand loss+gradient+step", [&] { hand.loss_grad_step(); keep(hand.loss); }},
        },
        s.rounds, s.reps, s.warmup);
    std::printf("timings (%d rounds × %d reps, interleaved)\n", s.rounds, s.reps);
    print_time_header();
    for (const auto& name : c.names) print_time(name, c.of(name));
    print_ratio("newton_step program / gradient program", c.ratios("gateaux loss+gradient+step", "gateaux loss+gradient"),
                3.0, core);
    std::printf("  %-40s %6.3f  (the same ratio for the hand-written code)\n", "hand: step program / gradient",
                summarize(c.ratios("hand loss+gradient+step", "hand loss+gradient")).median);
    std::printf("  %-40s %6.3f\n", "step program gateaux / hand",
                summarize(c.ratios("gateaux loss+gradient+step", "hand loss+gradient+step")).median);
    std::printf("  %-40s %6.3f\n\n", "gradient program gateaux / hand",
                summarize(c.ratios("gateaux loss+gradient", "hand loss+gradient")).median);
    if (s.profile) {
        std::printf("per-node profile, loss+gradient+step program (each kernel timed alone, median of %d):\n", s.reps);
        using sched = schedule_of<decltype(net::loss), decltype(g), decltype(step)>;
        print_overhead(c.of("gateaux loss+gradient+step").median,
                       print_profile(profile(sched{}, 64, [&](std::string_view name) { return d.leaf(name); }, s.reps)),
                       {&d.X, &d.Y}, s.reps);
        std::printf("\nhand-written loss+gradient+step, step by step (median of %d):\n", s.reps);
        print_steps(profile_steps([&](auto& at) { hand.loss_grad_step(at); }, hand.flops, s.reps));
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    parse_command_line(argc, argv,
                       {{"--rounds", &s.rounds}, {"--reps", &s.reps}, {"--warmup", &s.warmup},
                        {"--max-explicit", &s.max_explicit}},
                       {{"--profile", &s.profile}});
    print_environment("bench_newton: the B-operator's Newton step against the explicit route and the gradient");
    const std::string core = gateaux::blas_core();
    part_b(s, core);
    if (s.max_explicit > 0) part_a(s, core);
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;
}
