// The cost of the B-operator's master formula, against the chain on the same sizes,
// measured in the same run, interleaved. Depth 2, batch = every width = n, identity output,
// ½ sum of squares, well-conditioned data (mlp_net.hpp, square2):
//   master  tanh hidden layer: smooth, so the type system picks the master formula for W1
//           (per-sample blocks T_b, n×n, pulled back and factorised by LDLᵀ); W2 takes the chain
//   chain   leaky ReLU 0.1 hidden layer: the chain for both layers
// For each, the program computing loss + gradient + newton_step and the one computing loss +
// gradient are timed; their difference is the B-operator's own cost
// (shared forward and backward pass excluded). Both steps are first checked against
// the explicit route (explicit.hpp) to 1e-9.
//   bench_master [--rounds N] [--reps M] [--warmup K]      (defaults 10 rounds × 20 reps, warm-up 3)
#include <cstdio>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "explicit.hpp"
#include "mlp_net.hpp"
#include "support.hpp"

namespace {

using namespace bench;

struct row {
    std::size_t n;
    double chain_step, chain_grad, master_step, master_grad;  // medians, seconds
    double own_ratio, own_q1, own_q3, full_ratio;             // master / chain
};

// One network's gradient and step programs, bound, and its step checked against the explicit route.
template <class Net>
struct pair_of_programs {
    static constexpr auto g = gateaux::grad(Net::loss, Net::w);
    static constexpr auto step = gateaux::newton_step(Net::loss, Net::w);
    Net d;
    decltype(gateaux::compile(Net::loss, g)) grad_prog;
    decltype(gateaux::compile(Net::loss, g, step)) step_prog;

    pair_of_programs() {
        d.bind(grad_prog);
        d.bind(step_prog);
    }
    void check(const char* what) {
        auto hv = gateaux::compile(Net::loss, g, gateaux::hvp(Net::loss, Net::w));
        d.bind(hv);
        const explicit_result e = explicit_newton_step(hv, Net::loss, Net::w, std::size_t(1) << 30);
        step_prog.run();
        double worst = 0;
        worst = std::max(worst, rel_diff(step_prog[step.of(Net::W1)], e.step[0]));
        worst = std::max(worst, rel_diff(step_prog[step.of(Net::W2)], e.step[1]));
        require_within(std::string(what) + " n = " + std::to_string(Net::n) + " vs explicit", worst, 1e-9);
    }
};

template <gateaux::dim N>
row measure(const options& o) {
    pair_of_programs<square2<N, gateaux::activation<gateaux::leaky_relu_fn<0.1>>>> chain;
    pair_of_programs<square2<N, gateaux::activation<gateaux::tanh_fn>>> master;
    chain.check("chain ");
    master.check("master");
    const comparison c = interleave(
        {
            {"chain: loss+gradient", [&] { chain.grad_prog.run(); }},
            {"chain: loss+gradient+step", [&] { chain.step_prog.run(); }},
            {"master: loss+gradient", [&] { master.grad_prog.run(); }},
            {"master: loss+gradient+step", [&] { master.step_prog.run(); }},
        },
        o.rounds, o.reps, o.warmup);
    row r{};
    r.n = std::size_t(N);
    r.chain_grad = c.of("chain: loss+gradient").median;
    r.chain_step = c.of("chain: loss+gradient+step").median;
    r.master_grad = c.of("master: loss+gradient").median;
    r.master_step = c.of("master: loss+gradient+step").median;
    // (master step − master gradient) / (chain step − chain gradient), from the medians over all
    // rounds (a difference of two round medians is noisier than either); its spread over rounds.
    r.own_ratio = (r.master_step - r.master_grad) / (r.chain_step - r.chain_grad);
    std::vector<double> own;
    const auto& m = c.round_median;
    for (std::size_t k = 0; k < m[0].size(); ++k) own.push_back((m[3][k] - m[2][k]) / (m[1][k] - m[0][k]));
    const stats spread = summarize(own);
    r.own_q1 = spread.q1, r.own_q3 = spread.q3;
    r.full_ratio = summarize(c.ratios("master: loss+gradient+step", "chain: loss+gradient+step")).median;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_options(argc, argv, {10, 20, 3});
    print_environment("bench_master: the B-operator's master formula against the chain");
    const std::string core = gateaux::blas_core();
    std::printf("depth 2, batch = widths = n, identity output, ½ sum of squares; master = tanh hidden, chain = leaky ReLU 0.1\n");
    const std::vector<row> rows{measure<16>(o), measure<24>(o), measure<32>(o), measure<48>(o), measure<64>(o)};
    std::printf("\n%d rounds × %d reps, interleaved; medians in µs. 'own' = step program − gradient program "
                "(the B-operator alone)\n",
                o.rounds, o.reps);
    std::printf("  %4s %11s %11s %11s %11s %11s %11s %10s %15s %10s\n", "n", "chain grad", "chain step", "chain own",
                "master grad", "master step", "master own", "own ratio", "(rounds IQR)", "full ratio");
    for (const row& r : rows)
        std::printf("  %4zu %11.1f %11.1f %11.1f %11.1f %11.1f %11.1f %10.1f %7.1f–%-7.1f %10.1f  [BLAS core %s]\n",
                    r.n, r.chain_grad * 1e6, r.chain_step * 1e6, (r.chain_step - r.chain_grad) * 1e6,
                    r.master_grad * 1e6, r.master_step * 1e6, (r.master_step - r.master_grad) * 1e6, r.own_ratio,
                    r.own_q1, r.own_q3, r.full_ratio, core.c_str());
    std::printf("  own ratio = master own / chain own (medians over all rounds); full ratio = master step program /\n"
                "  chain step program (median of the round-by-round ratios)\n");
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;
}
