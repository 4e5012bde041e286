// Forward loss of the reference MLP (batch 64, 64→64→64→10, leaky ReLU 0.1, identity output,
// ½ sum of squares, float64): gateaux's compiled program against the same computation written
// by hand for speed with xtensor-blas, measured in the same run, interleaved.
//   bench_forward [--rounds N] [--reps M] [--warmup K]      (defaults 20 × 200, warm-up 20)
// Two modes: fixed data (the same loss evaluated again and again), and new values at every step
// (W1 cycles through 32 seeded matrices, rebound each step, as a training loop would), which
// keeps the CPU's branch predictor from learning the activations' sign pattern.
// "gateaux-bf" is the same program with the branch-free leaky ReLU of branch_free.hpp: what the
// library would do with that one-line change.
// Target: median over rounds of (gateaux median / hand median) ≤ 1.10.
#include <algorithm>
#include <cstdio>
#include <string>

#include <gateaux/gateaux.hpp>

#include "hand_mlp.hpp"
#include "mlp_net.hpp"
#include "profile.hpp"
#include "support.hpp"

int main(int argc, char** argv) {
    using namespace bench;
    const options opt = parse_options(argc, argv, {20, 200, 20});
    print_environment("bench_forward: forward loss, gateaux vs hand-written xtensor-blas");
    const std::string core = gateaux::blas_core();

    using net = reference_net;
    net n;
    std::printf("network       %s, leaky_relu(0.1) hidden, identity output, loss %s\n", net::describe().c_str(),
                gateaux::to_string(net::loss).c_str());

    auto prog = gateaux::compile(net::loss);
    auto prog_bf = gateaux::compile(net::loss_bf);
    n.bind(prog);
    n.bind(prog_bf);
    hand_mlp hand(n.X, n.Y, n.w1, n.w2, n.w3);

    using sched = schedule_of<decltype(net::loss)>;
    const gemm_count g = count_gemms(sched{}, net::batch);
    hand.flops = 0;
    prog.run();
    const double hand_loss = hand.forward();
    std::printf("program       %zu nodes; %zu matrix products, %.3f MFLOP (hand-written: %.3f MFLOP)\n\n",
                decltype(prog)::node_count, g.calls, g.flops * 1e-6, hand.flops * 1e-6);

    prog_bf.run();
    require_close("loss", prog.scalar(net::loss), hand_loss, 1e-12);
    require_close("loss, gateaux-bf", prog_bf.scalar(net::loss_bf), hand_loss, 1e-12);
    double worst = 0;  // and with every W1 of the cycling mode
    for (std::size_t k = 0; k < net::n_cycled; ++k) {
        prog.bind(net::W1, n.w1_cycle[k]).run();
        prog_bf.bind(net::W1, n.w1_cycle[k]).run();
        hand.W1 = &n.w1_cycle[k];
        hand.forward();
        worst = std::max({worst, rel_diff(prog.scalar(net::loss), hand.loss), rel_diff(prog_bf.scalar(net::loss_bf), hand.loss)});
    }
    require_within("loss, 32 other W1 (worst)", worst, 1e-12);
    std::printf("  loss = %.17g\n\n", hand_loss);

    // Fixed data.
    prog.bind(net::W1, n.w1);
    prog_bf.bind(net::W1, n.w1);
    hand.W1 = &n.w1;
    const comparison fixed = interleave(
        {
            {"gateaux run()", [&] { prog.run(); keep(prog.scalar(net::loss)); }},
            {"gateaux-bf run()", [&] { prog_bf.run(); keep(prog_bf.scalar(net::loss_bf)); }},
            {"hand-written", [&] { keep(hand.forward()); }},
        },
        opt.rounds, opt.reps, opt.warmup);
    // New W1 every step (the bind is part of the step: it checks the shape only).
    std::size_t kg = 0, kb = 0, kh = 0;
    const comparison cycling = interleave(
        {
            {"gateaux bind(W1) + run()",
             [&] { prog.bind(net::W1, n.w1_cycle[kg++ % net::n_cycled]).run(); keep(prog.scalar(net::loss)); }},
            {"gateaux-bf bind(W1) + run()",
             [&] { prog_bf.bind(net::W1, n.w1_cycle[kb++ % net::n_cycled]).run(); keep(prog_bf.scalar(net::loss_bf)); }},
            {"hand-written", [&] { hand.W1 = &n.w1_cycle[kh++ % net::n_cycled]; keep(hand.forward()); }},
        },
        opt.rounds, opt.reps, opt.warmup);

    std::printf("timings (%d rounds × %d reps, each rep timed; warm-up %d per round and candidate)\n", opt.rounds, opt.reps,
                opt.warmup);
    print_time_header();
    std::printf("  fixed data\n");
    for (const auto& name : fixed.names) print_time(name, fixed.of(name));
    std::printf("  new W1 every step\n");
    for (const auto& name : cycling.names) print_time(name, cycling.of(name));
    std::printf("\n");
    print_ratio("forward, fixed     gateaux / hand", fixed.ratios("gateaux run()", "hand-written"), 1.10, core);
    print_ratio("forward, new W1    gateaux / hand", cycling.ratios("gateaux bind(W1) + run()", "hand-written"), 1.10,
                core);
    print_ratio("forward, fixed     gateaux-bf / hand", fixed.ratios("gateaux-bf run()", "hand-written"), 1.10, core);
    print_ratio("forward, new W1    gateaux-bf / hand",
                cycling.ratios("gateaux-bf bind(W1) + run()", "hand-written"), 1.10, core);

    std::printf("\nper-node profile of the gateaux schedule (fixed data; each kernel timed alone, median of %d):\n",
                opt.reps);
    const double kernels = print_profile(profile(sched{}, net::batch, [&](std::string_view s) { return n.leaf(s); }, opt.reps));
    print_overhead(fixed.of("gateaux run()").median, kernels, {&n.X, &n.Y}, opt.reps);
    std::printf("\nhand-written forward, step by step (fixed data; each step timed in its sequence, median of %d):\n",
                opt.reps);
    print_steps(profile_steps([&](auto& at) { hand.forward(at); }, hand.flops, opt.reps));
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;  // a missed target is reported, not an error: benchmarks are not tests
}
