// The cost of one optimizer iteration against one loss-and-gradient evaluation of the same
// objective, measured in the same run, interleaved: K-FAC (optim/kfac.hpp) with the sampled and
// the empirical Fisher's factors, with and without the rescaling of its direction by the exact
// quadratic model, and Shampoo (optim/shampoo.hpp) without and with grafting to Adagrad.
//   bench_iteration_cost [--rounds N] [--reps M] [--warmup K] [--steps S] [--wide-steps S]
//                        [--skip-wide] [--skip-breakdown]
//   (defaults: 10 rounds of 3 reps, warm-up 1, 100 steps per run; wide net 4 rounds of 1 rep, 20 steps)
// Nets (bench/mlp_net.hpp): reference (batch 64, 64→64→64→10), the reference widths at batch 512,
// and wide (batch 256, 256→256→256→10); leaky ReLU 0.1, identity output, sum of squared errors,
// no biases. The objective is make_objective(loss, wrt(W1, W2, W3)) on the full batch, with
// use_fisher(sampled) for the sampled factors' draw.
//
// A candidate's repetition is a run of S steps from the same starting point: start() untimed, then
// the S calls of step() timed together, divided by S. K-FAC refreshes its eigendecompositions
// every 10 iterations (options::inverse_interval = 10) and Shampoo its inverse roots every 10
// (shampoo_options::root_every = 10), so a run of 100 steps holds 10 refreshes. The gradient's
// repetition is S calls of objective::value_and_gradient at the starting point. The candidates
// alternate repetition by repetition in rotated order; a ratio is the median over rounds of the
// ratio of the two candidates' medians in that round.
// K-FAC runs in three forms: the default (eigendecompositions, γ at use), the Cholesky inverses
// of the damped factors (options::inverse = cholesky), and the Cholesky inverses with the
// factors' statistics on a curvature sample of B/8 rows (the paper's §8 economies; the trial is
// then the batch's loss and gradient, the next iteration's).
// Targets: K-FAC without rescaling ≤ 2 gradients, with rescaling (and momentum) ≤ 3.5, Shampoo
// ≤ 3 (the headline rows: the sampled estimate, Shampoo without grafting; the others are printed
// with the same targets). Each is printed beside a GEMM flop model of the same iteration.
//
// The break-down times the pieces of a K-FAC iteration alone (interleaved with the gradient the
// same way): the statistics pass (forward, backward, and for the sampled estimate the draw and its
// backward pass; on the full batch one per iteration, the trial's), the factors' update (two GEMMs
// per layer), the refresh (two symmetric eigendecompositions per layer, divided by the interval)
// and the damped solve (four small GEMMs per layer), or the Cholesky inverses and their
// application (two GEMMs per layer), and a Gauss–Newton product (two per iteration with rescaling
// and momentum). Their sums are printed beside the measured iterations; the difference is the
// optimizer's own vector arithmetic and bookkeeping, and the rejected trials.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/kfac.hpp>
#include <gateaux/optim/kronecker_factors.hpp>
#include <gateaux/optim/shampoo.hpp>

#include "mlp_net.hpp"
#include "support.hpp"

namespace {

using namespace bench;
using gateaux::param_set;

struct settings {
    int rounds = 10, reps = 3, warmup = 1, steps = 100;
    int wide_rounds = 4, wide_reps = 1, wide_steps = 20;
    bool skip_wide = false, skip_breakdown = false;
};

// ---------------------------------------------------------------- the flop model

// GEMM flops (2 per multiply-add) of the pieces of an iteration, for layers n_{l−1}×n_l and batch B.
struct flop_model {
    double forward = 0, gradient = 0, stats_empirical = 0, stats_sampled = 0, update = 0, solve = 0, refresh = 0,
           solve_inverse = 0, invert = 0, gauss_newton = 0, shampoo_factors = 0, shampoo_roots = 0;

    flop_model(std::size_t B, const std::vector<std::pair<double, double>>& layers, double interval) {
        const double b = double(B);
        double first = 0;  // the first layer's B·n0·n1: no derivative is propagated to the input
        for (std::size_t l = 0; l < layers.size(); ++l) {
            const auto [n, m] = layers[l];
            forward += 2 * b * n * m;
            if (l == 0) first = 2 * b * n * m;
            update += 2 * b * (n * n + m * m);                        // hᵀh, δᵀδ
            solve += 4 * (n * n * m + n * m * m);                     // U_Aᵀ·V·U_G and back
            refresh += 9 * (n * n * n + m * m * m) / interval;        // syevd with vectors, ≈ 9n³
            solve_inverse += 2 * (n * n * m + n * m * m);             // Ā⁻¹·V·Ḡ⁻¹
            invert += (n * n * n + m * m * m) / interval;             // potrf n³/3 + potri 2n³/3
            shampoo_factors += 4 * (n * n * m + n * m * m);           // L += G·Gᵀ, R += Gᵀ·G, L^{-1/4}·G·R^{-1/4}
            shampoo_roots += (9 * (n * n * n + m * m * m) + 2 * (n * n * n + m * m * m)) / interval;  // eigh + B·Bᵀ
        }
        gradient = 3 * forward - first;                // forward, weight gradients, deltas below the first layer
        stats_empirical = gradient;                    // the same passes (inputs and deltas kept)
        stats_sampled = gradient + forward - first;    // plus the drawn targets' deltas
        gauss_newton = 5 * forward - 2 * first;        // forward, R-forward (two GEMMs per layer but the first), backward
    }
    // One statistics pass per iteration: on the full batch an accepted trial's is the next
    // iteration's (no separate loss evaluation).
    double kfac(bool sampled, bool rescale, bool cholesky = false) const {
        return (sampled ? stats_sampled : stats_empirical) + update + (cholesky ? invert + solve_inverse : refresh + solve) +
               (rescale ? 2 * gauss_newton : 0);
    }
    // The statistics on a curvature sample of B/k rows: the sample's statistics pass and update,
    // and the trial's loss and gradient on the batch (the next iteration's).
    double kfac_sample(double k, bool rescale) const {
        return stats_sampled / k + update / k + gradient + invert + solve_inverse + (rescale ? 2 * gauss_newton / k : 0);
    }
    double shampoo() const { return gradient + shampoo_factors + shampoo_roots; }
};

// ---------------------------------------------------------------- timing runs of steps

// A run of `steps` optimizer steps from x0 (start() untimed); seconds per step.
struct run_result {
    double per_step = 0;
    std::size_t failed = 0;
    double final_loss = 0;
};

template <class Opt>
run_result time_steps(Opt& opt, gateaux::objective& f, const param_set& x0, param_set& x, int steps) {
    x.assign(x0);
    opt.start(f, x);
    run_result r;
    const auto a = steady::now();
    for (int k = 0; k < steps; ++k) {
        const gateaux::step_outcome o = opt.step(f, x);
        r.failed += o.state != gateaux::step_outcome::status::ok;
        r.final_loss = o.loss;
    }
    const auto b = steady::now();
    r.per_step = std::chrono::duration<double>(b - a).count() / double(steps);
    return r;
}

gateaux::kfac::options kfac_options(gateaux::kfac_estimate e, bool rescale, bool cholesky = false) {
    gateaux::kfac::options o;
    o.estimate = e;
    o.inverse_interval = 10;
    o.rescale = rescale;
    o.inverse = cholesky ? gateaux::kfac_inverse::cholesky : gateaux::kfac_inverse::eigen;
    return o;
}

gateaux::shampoo_options make_shampoo_options(bool graft) {
    gateaux::shampoo_options o;
    o.learning_rate = 1e-3;
    o.root_every = 10;
    o.graft = graft ? gateaux::shampoo_graft::adagrad : gateaux::shampoo_graft::none;
    return o;
}

// ---------------------------------------------------------------- one net

template <class Net>
void run(const settings& s, int rounds, int reps, int steps, const std::string& core, bool breakdown) {
    using gateaux::kfac_estimate;
    Net n;
    std::printf("---- %s (%d rounds × %d reps of %d steps; warm-up %d run per round and candidate)\n",
                Net::describe().c_str(), rounds, reps, steps, s.warmup);
    constexpr auto w = gateaux::wrt(Net::W1, Net::W2, Net::W3);
    auto f = gateaux::make_objective(Net::loss, w);
    f.set_data(Net::x, n.X).set_data(Net::y, n.Y).use_fisher(gateaux::fisher_estimate::sampled, 17);
    // The paper's §8 economy: the factors' statistics on a subset of the batch (here B/8 rows).
    auto f8 = gateaux::make_objective(Net::loss, w);
    f8.set_data(Net::x, n.X).set_data(Net::y, n.Y).use_fisher(gateaux::fisher_estimate::sampled, 17);
    f8.use_curvature_sample(Net::batch / 8, 19);
    const param_set x0(std::vector<tensor>{n.w1, n.w2, n.w3});
    param_set x = x0, g = x0.zeros_like();

    const std::vector<std::pair<double, double>> layers = {{double(Net::widths[0]), double(Net::widths[1])},
                                                           {double(Net::widths[1]), double(Net::widths[2])},
                                                           {double(Net::widths[2]), double(Net::widths[3])}};
    const flop_model fm(Net::batch, layers, 10.0);

    gateaux::kfac ks_plain(kfac_options(kfac_estimate::sampled, false)), ks_resc(kfac_options(kfac_estimate::sampled, true));
    gateaux::kfac ke_plain(kfac_options(kfac_estimate::empirical, false)), ke_resc(kfac_options(kfac_estimate::empirical, true));
    gateaux::kfac cs_plain(kfac_options(kfac_estimate::sampled, false, true)), cs_resc(kfac_options(kfac_estimate::sampled, true, true));
    gateaux::kfac ce_plain(kfac_options(kfac_estimate::empirical, false, true)), ce_resc(kfac_options(kfac_estimate::empirical, true, true));
    gateaux::kfac c8_plain(kfac_options(kfac_estimate::sampled, false, true)), c8_resc(kfac_options(kfac_estimate::sampled, true, true));
    gateaux::shampoo sh(make_shampoo_options(false)), sh_graft(make_shampoo_options(true));

    // One untimed run each first: every run must take its steps (no failure) to a finite loss.
    struct named_run {
        const char* name;
        std::function<run_result()> run;
    };
    std::vector<named_run> runs = {
        {"K-FAC sampled, rescale off", [&] { return time_steps(ks_plain, f, x0, x, steps); }},
        {"K-FAC sampled, rescale on", [&] { return time_steps(ks_resc, f, x0, x, steps); }},
        {"K-FAC empirical, rescale off", [&] { return time_steps(ke_plain, f, x0, x, steps); }},
        {"K-FAC empirical, rescale on", [&] { return time_steps(ke_resc, f, x0, x, steps); }},
        {"K-FAC Cholesky sampled, off", [&] { return time_steps(cs_plain, f, x0, x, steps); }},
        {"K-FAC Cholesky sampled, on", [&] { return time_steps(cs_resc, f, x0, x, steps); }},
        {"K-FAC Cholesky empirical, off", [&] { return time_steps(ce_plain, f, x0, x, steps); }},
        {"K-FAC Cholesky empirical, on", [&] { return time_steps(ce_resc, f, x0, x, steps); }},
        {"K-FAC Cholesky B/8 sample, off", [&] { return time_steps(c8_plain, f8, x0, x, steps); }},
        {"K-FAC Cholesky B/8 sample, on", [&] { return time_steps(c8_resc, f8, x0, x, steps); }},
        {"Shampoo", [&] { return time_steps(sh, f, x0, x, steps); }},
        {"Shampoo, Adagrad graft", [&] { return time_steps(sh_graft, f, x0, x, steps); }},
    };
    const double loss0 = f.value(x0);
    std::printf("  loss at the start %.6g; after one run of %d steps:\n", loss0, steps);
    for (const named_run& r : runs) {
        const run_result rr = r.run();
        std::printf("    %-30s loss %.6g, %zu failed steps%s\n", r.name, rr.final_loss, rr.failed,
                    rr.failed != 0 || !std::isfinite(rr.final_loss) ? "  (NOT a representative run)" : "");
    }
    std::printf("  K-FAC rejected steps in that run: sampled %zu / %zu, empirical %zu / %zu (rescale off / on); Cholesky "
                "sampled %zu / %zu, empirical %zu / %zu, B/8 sample %zu / %zu\n\n",
                ks_plain.rejected_steps(), ks_resc.rejected_steps(), ke_plain.rejected_steps(), ke_resc.rejected_steps(),
                cs_plain.rejected_steps(), cs_resc.rejected_steps(), ce_plain.rejected_steps(), ce_resc.rejected_steps(),
                c8_plain.rejected_steps(), c8_resc.rejected_steps());

    std::vector<timed_candidate> cs = {{"gradient", [&] {
                                            const auto a = steady::now();
                                            for (int k = 0; k < steps; ++k) keep(f.value_and_gradient(x0, g));
                                            return std::chrono::duration<double>(steady::now() - a).count() / double(steps);
                                        }}};
    for (const named_run& r : runs) cs.push_back({r.name, [&r] { return r.run().per_step; }});
    const comparison c = interleave(cs, rounds, reps, s.warmup);

    print_time_header();
    for (const auto& name : c.names) print_time(name + " /step", c.of(name));
    std::printf("\n  ratios to one loss-and-gradient evaluation (GEMM flop model beside; B/n = %.3g):\n",
                double(Net::batch) / double(Net::widths[1]));
    auto row = [&](const char* what, const char* name, double target, double model) {
        print_ratio(what, c.ratios(name, "gradient"), target, core);
        std::printf("  %-40s %6.3f  (flop model)\n", "", model / fm.gradient);
    };
    row("K-FAC sampled, rescale off (headline)", "K-FAC sampled, rescale off", 2.0, fm.kfac(true, false));
    row("K-FAC sampled, rescale on (headline)", "K-FAC sampled, rescale on", 3.5, fm.kfac(true, true));
    row("K-FAC empirical, rescale off", "K-FAC empirical, rescale off", 2.0, fm.kfac(false, false));
    row("K-FAC empirical, rescale on", "K-FAC empirical, rescale on", 3.5, fm.kfac(false, true));
    row("K-FAC Cholesky sampled, rescale off", "K-FAC Cholesky sampled, off", 2.0, fm.kfac(true, false, true));
    row("K-FAC Cholesky sampled, rescale on", "K-FAC Cholesky sampled, on", 3.5, fm.kfac(true, true, true));
    row("K-FAC Cholesky empirical, rescale off", "K-FAC Cholesky empirical, off", 2.0, fm.kfac(false, false, true));
    row("K-FAC Cholesky empirical, rescale on", "K-FAC Cholesky empirical, on", 3.5, fm.kfac(false, true, true));
    row("K-FAC Cholesky, B/8 sample, off", "K-FAC Cholesky B/8 sample, off", 2.0, fm.kfac_sample(8, false));
    row("K-FAC Cholesky, B/8 sample, on", "K-FAC Cholesky B/8 sample, on", 3.5, fm.kfac_sample(8, true));
    row("Shampoo, no grafting (headline)", "Shampoo", 3.0, fm.shampoo());
    row("Shampoo, Adagrad grafting", "Shampoo, Adagrad graft", 3.0, fm.shampoo());
    std::printf("\n");

    if (!breakdown) return;
    // The pieces of a K-FAC iteration, each alone, on factors built at x0.
    gateaux::kronecker_factors kf;
    gateaux::layer_statistics::result st_s, st_e;
    gateaux::layer_statistics& ls = f;
    f.resample_curvature();
    ls.statistics(x0, {.sampled_deltas = true}, st_s);
    ls.statistics(x0, {}, st_e);
    kf.update(st_s, kfac_estimate::sampled, 0.95);
    kf.refresh();
    kf.invert(1.0);
    param_set sol = x0.zeros_like(), gn = x0.zeros_like(), v = param_set(std::vector<tensor>{n.v1, n.v2, n.v3});
    f.value_and_gradient(x0, g);
    const gateaux::curvature_operator product = gateaux::curvature_operator::find(f, gateaux::curvature_matrix::gauss_newton);
    const int piece_reps = std::max(20, 4 * steps / 10);
    const comparison p = interleave(
        {
            {"gradient", [&] { keep(f.value_and_gradient(x0, g)); }},
            {"statistics, sampled", [&] {
                 f.resample_curvature();  // a new draw, as each K-FAC iteration makes
                 ls.statistics(x0, {.sampled_deltas = true}, st_s);
             }},
            {"statistics, empirical", [&] { ls.statistics(x0, {}, st_e); }},
            {"factor update", [&] { kf.update(st_s, kfac_estimate::sampled, 0.95); }},
            {"refresh (whole)", [&] { kf.refresh(); }},
            {"solve", [&] { kf.solve(g, 1.0, sol); }},
            {"invert (whole)", [&] { kf.invert(1.0); }},
            {"apply inverse", [&] { kf.apply_inverse(g, sol); }},
            {"Gauss–Newton product", [&] { product(x0, v, gn); }},
        },
        rounds, piece_reps, 3);
    std::printf("  break-down of a K-FAC iteration (each piece alone; %d rounds × %d reps):\n", rounds, piece_reps);
    std::printf("  %-34s %11s %9s %9s\n", "", "median µs", "×gradient", "flop ×g");
    auto piece = [&](const char* name, double div, double flops, const char* label = nullptr) {
        const double r = summarize(p.ratios(name, "gradient")).median / div;
        std::printf("  %-34s %11.2f %9.3f %9.3f\n", label != nullptr ? label : name, p.of(name).median * 1e6 / div, r,
                    flops / fm.gradient);
        return r;
    };
    piece("gradient", 1, fm.gradient);
    const double rs = piece("statistics, sampled", 1, fm.stats_sampled);
    const double re = piece("statistics, empirical", 1, fm.stats_empirical);
    const double ru = piece("factor update", 1, fm.update);
    piece("refresh (whole)", 1, 10 * fm.refresh, "refresh, each");
    const double rr = piece("refresh (whole)", 10, fm.refresh, "refresh, amortised over 10");
    const double rv = piece("solve", 1, fm.solve);
    piece("invert (whole)", 1, 10 * fm.invert, "Cholesky inverses, each");
    const double ri = piece("invert (whole)", 10, fm.invert, "Cholesky inverses, amortised over 10");
    const double ra = piece("apply inverse", 1, fm.solve_inverse);
    const double rg = piece("Gauss–Newton product", 1, fm.gauss_newton);
    // On the full batch the trial's statistics pass is the next iteration's: one pass per iteration.
    const double base_s = rs + ru + rr + rv, base_e = re + ru + rr + rv, chol_s = rs + ru + ri + ra, chol_e = re + ru + ri + ra;
    const auto measured = [&](const char* name) { return summarize(c.ratios(name, "gradient")).median; };
    std::printf("  sum of the pieces (×gradient; rescale off / on, two products), measured beside:\n"
                "    eigen    sampled %.3f / %.3f (%.3f / %.3f), empirical %.3f / %.3f (%.3f / %.3f)\n"
                "    Cholesky sampled %.3f / %.3f (%.3f / %.3f), empirical %.3f / %.3f (%.3f / %.3f)\n\n",
                base_s, base_s + 2 * rg, measured("K-FAC sampled, rescale off"), measured("K-FAC sampled, rescale on"), base_e,
                base_e + 2 * rg, measured("K-FAC empirical, rescale off"), measured("K-FAC empirical, rescale on"), chol_s,
                chol_s + 2 * rg, measured("K-FAC Cholesky sampled, off"), measured("K-FAC Cholesky sampled, on"), chol_e,
                chol_e + 2 * rg, measured("K-FAC Cholesky empirical, off"), measured("K-FAC Cholesky empirical, on"));
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    bench::parse_command_line(argc, argv,
                              {{"--rounds", &s.rounds}, {"--reps", &s.reps}, {"--warmup", &s.warmup}, {"--steps", &s.steps},
                               {"--wide-steps", &s.wide_steps}},
                              {{"--skip-wide", &s.skip_wide}, {"--skip-breakdown", &s.skip_breakdown}});
    bench::print_environment("bench_iteration_cost: one K-FAC or Shampoo iteration against one loss and gradient");
    const std::string core = gateaux::blas_core();
    run<bench::reference_net>(s, s.rounds, s.reps, s.steps, core, !s.skip_breakdown);
    run<bench::mlp_net<512, 64, 64, 64, 10>>(s, s.rounds, s.reps, s.steps, core, !s.skip_breakdown);
    if (!s.skip_wide) run<bench::wide_net>(s, s.wide_rounds, s.wide_reps, s.wide_steps, core, !s.skip_breakdown);
    std::printf("load average  %s at end\n", bench::load_average().c_str());
    return 0;  // a missed target is reported, not an error: benchmarks are not tests
}
