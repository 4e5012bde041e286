// Loss + gradient and loss + H·v of two MLPs (leaky ReLU 0.1 hidden, identity output, ½ sum of
// squares, float64), gateaux against the same math written by hand with xtensor-blas
// (hand_mlp.hpp), all four measured in the same run, interleaved:
//   gateaux  compile(loss, grad(loss, wrt(W1, W2, W3)))    and    compile(loss, hvp(loss, wrt(W1, W2, W3)))
//   hand     backward pass; R-forward / R-backward (docs/theory.md)
// Networks: reference (batch 64, 64→64→64→10) and wide (batch 256, 256→256→256→10).
//   bench_derivatives [--rounds N] [--reps M] [--wide-reps M] [--warmup K] [--profile]
//   (defaults: 20 rounds; 200 reps reference, 50 reps wide; warm-up 10)
// The reference net is timed twice: on fixed data, and with a new W1 at every step (cycling through
// 32 seeded matrices, as training would), which keeps the branch predictor from learning the
// activations' sign pattern (see bench_activation). At 256² it cannot learn it anyway.
// Targets: gradient gateaux/hand ≤ 1.10, H·v gateaux/hand ≤ 1.15, gateaux H·v / gateaux gradient ≤ 2.3
// (printed beside the exact GEMM flop ratio of the two schedules).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "hand_mlp.hpp"
#include "mlp_net.hpp"
#include "profile.hpp"
#include "support.hpp"

namespace {

using namespace bench;

struct settings {
    int rounds = 20, reps = 200, wide_reps = 50, warmup = 10;
    bool profile = false;
};

// The candidates, interleaved: gateaux, gateaux-bf (the same programs with the branch-free leaky
// ReLU of branch_free.hpp) and the hand-written code, gradient and H·v each. With `cycle`, every
// step first moves to the next W1 of the list (gateaux: bind, which checks the shape only; hand:
// a pointer).
template <class Net, class PG, class PH, class PGB, class PHB>
comparison measure(PG& pg, PH& ph, PGB& pgb, PHB& phb, hand_mlp& hand, const settings& s, int reps,
                   const std::vector<tensor>* cycle) {
    std::size_t k[6] = {0, 0, 0, 0, 0, 0};
    auto next = [&](int i) -> const tensor* { return cycle ? &(*cycle)[k[i]++ % cycle->size()] : nullptr; };
    auto program = [&](int i, auto& p, auto loss) {
        return [&, i, loss] {
            if (const tensor* w = next(i)) p.bind(Net::W1, *w);
            p.run();
            keep(p.scalar(loss));
        };
    };
    auto by_hand = [&](int i, void (hand_mlp::*step)(hand_mlp::untimed&&)) {
        return [&, i, step] {
            if (const tensor* w = next(i)) hand.W1 = w;
            (hand.*step)({});
            keep(hand.loss);
        };
    };
    return interleave(
        {
            {"gateaux gradient", program(0, pg, Net::loss)},
            {"gateaux-bf gradient", program(1, pgb, Net::loss_bf)},
            {"hand gradient", by_hand(2, &hand_mlp::loss_grad<hand_mlp::untimed>)},
            {"gateaux H·v", program(3, ph, Net::loss)},
            {"gateaux-bf H·v", program(4, phb, Net::loss_bf)},
            {"hand H·v", by_hand(5, &hand_mlp::loss_hvp<hand_mlp::untimed>)},
        },
        s.rounds, reps, s.warmup);
}

void report(const comparison& c, const char* mode, int rounds, int reps, int warmup, double flop_ratio,
            const std::string& core) {
    std::printf("timings, %s (%d rounds × %d reps, each rep timed; warm-up %d per round and candidate)\n", mode, rounds,
                reps, warmup);
    print_time_header();
    for (const auto& name : c.names) print_time(name, c.of(name));
    std::printf("\n");
    print_ratio("gradient  gateaux / hand", c.ratios("gateaux gradient", "hand gradient"), 1.10, core);
    print_ratio("H·v       gateaux / hand", c.ratios("gateaux H·v", "hand H·v"), 1.15, core);
    print_ratio("gateaux   H·v / gradient", c.ratios("gateaux H·v", "gateaux gradient"), 2.3, core);
    print_ratio("gradient  gateaux-bf / hand", c.ratios("gateaux-bf gradient", "hand gradient"), 1.10, core);
    print_ratio("H·v       gateaux-bf / hand", c.ratios("gateaux-bf H·v", "hand H·v"), 1.15, core);
    print_ratio("gateaux-bf H·v / gradient", c.ratios("gateaux-bf H·v", "gateaux-bf gradient"), 2.3, core);
    std::printf("  %-40s %6.3f  (for comparison; GEMM flop ratio %.3f)\n\n", "hand      H·v / gradient",
                summarize(c.ratios("hand H·v", "hand gradient")).median, flop_ratio);
}

template <class Net>
void run(const settings& s, int reps, const std::string& core, bool cycle) {
    Net n;
    std::printf("---- %s\n", Net::describe().c_str());
    constexpr auto w = gateaux::wrt(Net::W1, Net::W2, Net::W3);
    constexpr auto g = gateaux::grad(Net::loss, w);
    constexpr auto hv = gateaux::hvp(Net::loss, w);
    auto pg = gateaux::compile(Net::loss, g);
    auto ph = gateaux::compile(Net::loss, hv);
    constexpr auto gb = gateaux::grad(Net::loss_bf, w);
    constexpr auto hvb = gateaux::hvp(Net::loss_bf, w);
    auto pgb = gateaux::compile(Net::loss_bf, gb);
    auto phb = gateaux::compile(Net::loss_bf, hvb);
    n.bind(pg);
    n.bind(ph);
    n.bind(pgb);
    n.bind(phb);

    hand_mlp hand(n.X, n.Y, n.w1, n.w2, n.w3);
    hand.directions(n.v1, n.v2, n.v3);

    // The work each side does: the same matrix products, by count and by flops.
    using sched_g = schedule_of<decltype(Net::loss), decltype(g)>;
    using sched_h = schedule_of<decltype(Net::loss), decltype(hv)>;
    const gemm_count cg = count_gemms(sched_g{}, Net::batch), ch = count_gemms(sched_h{}, Net::batch);
    hand.flops = 0;
    hand.loss_grad();
    const double hand_grad_flops = hand.flops;
    hand.flops = 0;
    hand.loss_hvp();
    const double hand_hvp_flops = hand.flops;
    const double flop_ratio = ch.flops / cg.flops;
    std::printf("gradient program  %3zu nodes, %2zu matrix products, %8.3f MFLOP (hand-written %8.3f MFLOP)\n",
                decltype(pg)::node_count, cg.calls, cg.flops * 1e-6, hand_grad_flops * 1e-6);
    std::printf("H·v program       %3zu nodes, %2zu matrix products, %8.3f MFLOP (hand-written %8.3f MFLOP)\n",
                decltype(ph)::node_count, ch.calls, ch.flops * 1e-6, hand_hvp_flops * 1e-6);
    std::printf("GEMM flop ratio H·v / gradient = %.4f\n\n", flop_ratio);

    // Same results before any timing: at the fixed point, and (if cycling) at every other W1.
    pg.run();
    ph.run();
    hand.loss_grad();
    require_close("loss (gradient program)", pg.scalar(Net::loss), hand.loss, 1e-12);
    require_close("gradient W1", pg[g.of(Net::W1)], hand.G1, 1e-12);
    require_close("gradient W2", pg[g.of(Net::W2)], hand.G2, 1e-12);
    require_close("gradient W3", pg[g.of(Net::W3)], hand.G3, 1e-12);
    hand.loss_hvp();
    require_close("loss (H·v program)", ph.scalar(Net::loss), hand.loss, 1e-12);
    require_close("H·v W1", ph[hv.of(Net::W1)], hand.HV1, 1e-12);
    require_close("H·v W2", ph[hv.of(Net::W2)], hand.HV2, 1e-12);
    require_close("H·v W3", ph[hv.of(Net::W3)], hand.HV3, 1e-12);
    // gateaux-bf computes the same numbers as gateaux, bit for bit.
    pgb.run();
    phb.run();
    double bf = 0;
    for (auto [a, b] : {std::pair{&pgb[gb.of(Net::W1)], &pg[g.of(Net::W1)]}, {&pgb[gb.of(Net::W2)], &pg[g.of(Net::W2)]},
                        {&pgb[gb.of(Net::W3)], &pg[g.of(Net::W3)]}, {&phb[hvb.of(Net::W1)], &ph[hv.of(Net::W1)]},
                        {&phb[hvb.of(Net::W2)], &ph[hv.of(Net::W2)]}, {&phb[hvb.of(Net::W3)], &ph[hv.of(Net::W3)]}})
        bf = std::max(bf, rel_diff(*a, *b));
    require_within("gateaux-bf vs gateaux", bf, 0.0);
    if (cycle) {
        double worst = 0;
        for (const tensor& w1 : n.w1_cycle) {
            pg.bind(Net::W1, w1).run();
            ph.bind(Net::W1, w1).run();
            hand.W1 = &w1;
            hand.loss_grad();
            worst = std::max({worst, rel_diff(pg[g.of(Net::W1)], hand.G1), rel_diff(pg[g.of(Net::W2)], hand.G2),
                              rel_diff(pg[g.of(Net::W3)], hand.G3)});
            hand.loss_hvp();
            worst = std::max({worst, rel_diff(ph[hv.of(Net::W1)], hand.HV1), rel_diff(ph[hv.of(Net::W2)], hand.HV2),
                              rel_diff(ph[hv.of(Net::W3)], hand.HV3)});
        }
        require_within("gradient, H·v at 32 other W1", worst, 1e-12);
        pg.bind(Net::W1, n.w1);
        ph.bind(Net::W1, n.w1);
        hand.W1 = &n.w1;
    }
    std::printf("\n");

    const comparison fixed = measure<Net>(pg, ph, pgb, phb, hand, s, reps, nullptr);
    report(fixed, "fixed data", s.rounds, reps, s.warmup, flop_ratio, core);
    if (cycle) {
        report(measure<Net>(pg, ph, pgb, phb, hand, s, reps, &n.w1_cycle), "new W1 every step", s.rounds, reps,
               s.warmup, flop_ratio, core);
        pg.bind(Net::W1, n.w1);
        ph.bind(Net::W1, n.w1);
        hand.W1 = &n.w1;
    }

    if (s.profile) {
        auto leaf = [&](std::string_view name) { return n.leaf(name); };
        std::printf("per-node profile, gradient program (fixed data; each kernel timed alone, median of %d):\n", reps);
        print_overhead(fixed.of("gateaux gradient").median, print_profile(profile(sched_g{}, Net::batch, leaf, reps)),
                       {&n.X, &n.Y}, reps);
        std::printf("\nper-node profile, H·v program (fixed data; each kernel timed alone, median of %d):\n", reps);
        print_overhead(fixed.of("gateaux H·v").median, print_profile(profile(sched_h{}, Net::batch, leaf, reps)),
                       {&n.X, &n.Y, &n.v1, &n.v2, &n.v3}, reps);
        std::printf("\nhand-written gradient, step by step (each step timed in its sequence, median of %d):\n", reps);
        print_steps(profile_steps([&](auto& at) { hand.loss_grad(at); }, hand.flops, reps));
        std::printf("\nhand-written H·v, step by step (each step timed in its sequence, median of %d):\n", reps);
        print_steps(profile_steps([&](auto& at) { hand.loss_hvp(at); }, hand.flops, reps));
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    bench::parse_command_line(argc, argv,
                              {{"--rounds", &s.rounds}, {"--reps", &s.reps}, {"--wide-reps", &s.wide_reps},
                               {"--warmup", &s.warmup}},
                              {{"--profile", &s.profile}});
    bench::print_environment("bench_derivatives: loss+gradient and loss+H·v, gateaux vs hand-written xtensor-blas");
    const std::string core = gateaux::blas_core();
    run<bench::reference_net>(s, s.reps, core, true);
    run<bench::wide_net>(s, s.wide_reps, core, false);
    std::printf("load average  %s at end\n", bench::load_average().c_str());
    return 0;  // a missed target is reported, not an error: benchmarks are not tests
}
