// The exact per-layer block solve (symbolic/block_solve.hpp, numeric/layer_block.hpp), against
// references measured in the same run:
//   (1) block_step(loss, w, damped), the damped per-layer Newton step (H_l + λI)⁻¹·G_l, against
//       the explicit route: each block H_l assembled from R-operator columns (one run of the H·v
//       program per coordinate), plus λI, then LAPACK Cholesky (dposv; Bunch–Kaufman LDLᵀ, dsysv,
//       where the block is not positive definite). Depth 2, widths 64→64→64, identity output,
//       ½ sum of squares, batch 32 (below the widths: the blocks are singular without damping),
//       well-conditioned data. Variants: leaky ReLU 0.1 hidden; tanh hidden; leaky ReLU with
//       biases (the joint (W_l, b_l) blocks). λ = 1e-2; and λ = 0 for leaky ReLU, against the
//       explicit minimum-norm solution (eigendecomposition of the singular block, one run).
//       Target: ≥ 10× faster than the explicit route, agreeing to 1e-9 (relative, max norm).
//   (2) the block solve against the B-operator's chain where both apply: the square reference
//       net (batch 64, 64→64→64→64, leaky ReLU 0.1 hidden, identity output), the programs
//       loss + gradient + block_step (λ = 0, and λ = 1e-2) and loss + gradient + newton_step,
//       as ratios to the program computing loss + gradient, in the same run.
//   bench_block_solve [--rounds N] [--reps M] [--warmup K] [--profile] [--skip-min-norm]
//   (defaults 5 rounds; reps 5 of the block solve per round in (1), 50 of the fast programs in (2))
// Every program computes loss and gradient as well, as a training step would. OPENBLAS_CORETYPE
// is never set here: run under `env -u OPENBLAS_CORETYPE` and `OPENBLAS_CORETYPE=SkylakeX`
// (docs/performance.md), with OPENBLAS_NUM_THREADS=1.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>
#include <gateaux/numeric/layer_block.hpp>

#include "explicit.hpp"
#include "mlp_net.hpp"
#include "profile.hpp"
#include "support.hpp"

namespace {

using namespace bench;
using gateaux::dim;

struct settings {
    int rounds = 5, reps = -1, warmup = 2;
    bool profile = false, skip_min_norm = false;
};

constexpr double lambda_damped = 1e-2;

// Largest relative difference over the blocks (max norm per block, as rel_diff).
double worst_rel(const std::vector<tensor>& a, const std::vector<tensor>& b) {
    double d = 0;
    for (std::size_t l = 0; l < a.size(); ++l) d = std::max(d, rel_diff(a[l], b[l]));
    return d;
}

double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// ---------------------------------------------------------------- the explicit route

// The explicit block of one layer over the coordinates of its parameters Ps (W, or W then b),
// from R-operator columns: one run of the H·v program per coordinate, with that coordinate's
// direction entry 1 and every other direction 0. dirs are the tensors bound as the directions.
template <class Prog, class HV, class... Ps>
tensor explicit_layer_block(Prog& hv, HV, const std::array<tensor*, sizeof...(Ps)>& dirs, Ps...) {
    std::size_t n = 0;
    for (const tensor* d : dirs) n += d->size();
    tensor h = tensor::from_shape({n, n});
    std::size_t col = 0;
    for (tensor* d : dirs)
        for (std::size_t i = 0; i < d->size(); ++i, ++col) {
            d->flat(i) = 1.0;
            hv.run();
            std::size_t row = 0;
            ((std::copy(hv[HV::of(Ps{})].begin(), hv[HV::of(Ps{})].end(), h.begin() + std::ptrdiff_t(col * n + row)),
              row += hv[HV::of(Ps{})].size()),
             ...);
            d->flat(i) = 0.0;
        }
    return h;  // column col holds H·e_col; stored row by row, so h is Hᵀ = H
}

struct explicit_solve_result {
    tensor x;
    bool cholesky = true;
};

// (A + λI)⁻¹·rhs by Cholesky, or LDLᵀ where A + λI is not positive definite (A rebuilt by `make`).
template <class Make>
explicit_solve_result damped_solve(Make make, double lambda, tensor rhs) {
    auto damp = [&](tensor& a) {
        for (std::size_t i = 0; i < a.shape(0); ++i) a(i, i) += lambda;
    };
    tensor a = make();
    damp(a);
    const tensor rhs0 = rhs;
    explicit_solve_result r;
    if (!symmetric_solve(a, rhs)) {
        r.cholesky = false;
        rhs = rhs0;
        a = make();
        damp(a);
        indefinite_solve(a, rhs);
    }
    r.x = std::move(rhs);
    return r;
}

// A⁺·rhs for the symmetric A: Σ_k (q_kᵀ·rhs)/α_k·q_k over the eigenpairs with |α_k| above
// inverse_tolerance() times the largest (the library's own cut for its minimum-norm solutions).
tensor min_norm_solve(const tensor& a, const tensor& rhs) {
    const auto [alpha, q] = xt::linalg::eigh(a);
    double big = 0;
    for (double e : alpha) big = std::max(big, std::abs(e));
    const tensor qt = xt::transpose(q);
    tensor c = xt::linalg::dot(qt, rhs);
    for (std::size_t k = 0; k < alpha.size(); ++k) c(k, 0) = std::abs(alpha(k)) > gateaux::inverse_tolerance() * big ? c(k, 0) / alpha(k) : 0.0;
    return xt::linalg::dot(q, c);
}

tensor stack_column(const std::vector<const tensor*>& parts) {
    std::size_t n = 0;
    for (const tensor* p : parts) n += p->size();
    tensor r = tensor::from_shape({n, 1});
    std::size_t i = 0;
    for (const tensor* p : parts)
        for (double v : *p) r.flat(i++) = v;
    return r;
}

void unstack_column(const tensor& x, std::vector<tensor>& into, std::size_t first, std::size_t count) {
    std::size_t i = 0;
    for (std::size_t k = first; k < first + count; ++k)
        for (double& v : into[k]) v = x.flat(i++);
}

// ---------------------------------------------------------------- part (1): B = 32, n = 64

constexpr std::size_t batch1 = 32;
constexpr dim width = 64;

template <class Act, bool Biased>
struct net32 {
    static constexpr auto x = gateaux::input<"x", width>;
    static constexpr auto y = gateaux::target<"y", width>;
    static constexpr auto W1 = gateaux::param<"W1", width, width>;  // the names mlp<...> gives its layers
    static constexpr auto W2 = gateaux::param<"W2", width, width>;
    static constexpr auto b1 = gateaux::bias<"b1", width>;
    static constexpr auto b2 = gateaux::bias<"b2", width>;
    static constexpr auto out = [] {
        if constexpr (Biased)
            return gateaux::mlp<width, width, width>(x, Act{}, gateaux::act::identity, gateaux::with_biases);
        else
            return gateaux::mlp<width, width, width>(x, Act{});
    }();
    static constexpr auto loss = gateaux::sum(gateaux::squared_error(out, y));
    static constexpr auto w = [] {
        if constexpr (Biased)
            return gateaux::wrt(W1, b1, W2, b2);
        else
            return gateaux::wrt(W1, W2);
    }();
    static constexpr auto g = gateaux::grad(loss, w);
    static constexpr auto step_damped = gateaux::block_step(loss, w, gateaux::damped);
    static constexpr auto step_plain = gateaux::block_step(loss, w);
    static constexpr auto hv = gateaux::hvp(loss, w);
    static constexpr std::size_t n_params = Biased ? 4 : 2;

    tensor X = well_conditioned(batch1, std::size_t(width), 31), Y = gaussian_tensor(batch1, std::size_t(width), 32);
    tensor w1 = well_conditioned(64, 64, 33), w2 = well_conditioned(64, 64, 34);
    tensor c1 = random_tensor(1, 64, 35, 0.3), c2 = random_tensor(1, 64, 36, 0.3);  // biases
    tensor lambda = tensor::from_shape({1, 1});
    std::array<tensor, 4> dir{tensor(xt::zeros<double>({64, 64})), tensor(xt::zeros<double>({1, 64})),
                              tensor(xt::zeros<double>({64, 64})), tensor(xt::zeros<double>({1, 64}))};

    decltype(gateaux::compile(loss, g, step_damped)) damped_prog;
    decltype(gateaux::compile(loss, g, step_plain)) plain_prog;
    decltype(gateaux::compile(loss, g, hv)) hv_prog;

    template <class Program>
    void bind(Program& p) {  // every leaf the program uses
        auto one = [&](auto leaf, const tensor& value) {
            if constexpr (Program::computes(decltype(leaf){})) p.bind(leaf, value);
        };
        one(x, X), one(y, Y), one(W1, w1), one(W2, w2);
        if constexpr (Biased) one(b1, c1), one(b2, c2);
        if constexpr (Program::computes(gateaux::damping)) p.bind(gateaux::damping, lambda);
        if constexpr (Program::computes(gateaux::direction(W1))) {
            p.bind(gateaux::direction(W1), dir[0]).bind(gateaux::direction(W2), dir[2]);
            if constexpr (Biased) p.bind(gateaux::direction(b1), dir[1]).bind(gateaux::direction(b2), dir[3]);
        }
    }
    explicit net32(double lam) {
        lambda(0, 0) = lam;
        bind(damped_prog);
        bind(plain_prog);
        bind(hv_prog);
    }
    net32(const net32&) = delete;

    template <class Prog, class Step>
    std::vector<tensor> result(const Prog& p, Step s) const {
        if constexpr (Biased)
            return {p[s.of(W1)], p[s.of(b1)], p[s.of(W2)], p[s.of(b2)]};
        else
            return {p[s.of(W1)], p[s.of(W2)]};
    }
    std::vector<tensor> damped_step() {
        damped_prog.run();
        return result(damped_prog, step_damped);
    }
    std::vector<tensor> plain_step() {
        plain_prog.run();
        return result(plain_prog, step_plain);
    }

    // The explicit route: loss, gradient and H·v program; each layer's block from its columns,
    // solved by `solve(make_block, rhs)`.
    template <class Solve>
    std::vector<tensor> explicit_step(Solve solve, bool* all_cholesky = nullptr) {
        hv_prog.run();
        std::vector<tensor> step = result(hv_prog, g);
        const std::vector<tensor> grads = step;
        bool chol = true;
        if constexpr (Biased) {
            const auto r1 = solve([&] { return explicit_layer_block(hv_prog, hv, {&dir[0], &dir[1]}, W1, b1); },
                                  stack_column({&grads[0], &grads[1]}));
            const auto r2 = solve([&] { return explicit_layer_block(hv_prog, hv, {&dir[2], &dir[3]}, W2, b2); },
                                  stack_column({&grads[2], &grads[3]}));
            unstack_column(r1.x, step, 0, 2);
            unstack_column(r2.x, step, 2, 2);
            chol = r1.cholesky && r2.cholesky;
        } else {
            const auto r1 = solve([&] { return explicit_layer_block(hv_prog, hv, {&dir[0]}, W1); }, stack_column({&grads[0]}));
            const auto r2 = solve([&] { return explicit_layer_block(hv_prog, hv, {&dir[2]}, W2); }, stack_column({&grads[1]}));
            unstack_column(r1.x, step, 0, 1);
            unstack_column(r2.x, step, 1, 1);
            chol = r1.cholesky && r2.cholesky;
        }
        if (all_cholesky != nullptr) *all_cholesky = chol;
        return step;
    }
    std::vector<tensor> explicit_damped(bool* all_cholesky = nullptr) {
        const double lam = lambda(0, 0);
        return explicit_step([&](auto make, tensor rhs) { return damped_solve(make, lam, std::move(rhs)); }, all_cholesky);
    }
    std::vector<tensor> explicit_min_norm() {
        return explicit_step([&](auto make, tensor rhs) { return explicit_solve_result{min_norm_solve(make(), rhs), true}; });
    }

    // The route numeric/layer_block.hpp takes for each layer (input width n, or n + 1 with the bias row).
    static std::string routes(double lam) {
        const std::size_t n_in = std::size_t(width) + (Biased ? 1 : 0);
        const gateaux::numeric::block_damping d{lam, lam, Biased ? std::size_t(1) : std::size_t(0)};
        const auto r = gateaux::numeric::choose_route(batch1, n_in, std::size_t(width), d);
        return std::string(gateaux::numeric::to_string(r)) + " (both layers; B·m = " + std::to_string(batch1 * std::size_t(width)) +
               ", n·m = " + std::to_string(n_in * std::size_t(width)) + ")";
    }

    const tensor* leaf(std::string_view name) const {
        if (name == "x") return &X;
        if (name == "y") return &Y;
        if (name == "W1") return &w1;
        if (name == "W2") return &w2;
        if (name == "b1") return &c1;
        if (name == "b2") return &c2;
        if (name == "lambda") return &lambda;
        return nullptr;
    }
};

struct row1 {
    std::string what, route;
    double block = 0, explicit_s = 0, ratio = 0, ratio_q1 = 0, ratio_q3 = 0, diff = 0;
    int rounds = 0, reps = 0;
    bool cholesky = true, measured_once = false;
};

// Rounds alternate a block of `reps` block-solve runs and one explicit run; the round's ratio is
// explicit / (median of the block-solve runs).
template <class Fast, class Slow>
void time_pair(row1& r, const settings& s, Fast fast, Slow slow, int rounds) {
    std::vector<double> f_all, s_all, ratio;
    for (int k = 0; k < rounds; ++k) {
        const std::vector<double> f = sample(fast, r.reps, s.warmup);
        const std::vector<double> x = sample(slow, 1, 0);
        f_all.insert(f_all.end(), f.begin(), f.end());
        s_all.insert(s_all.end(), x.begin(), x.end());
        ratio.push_back(quantile(x, 0.5) / quantile(f, 0.5));
    }
    r.block = quantile(f_all, 0.5);
    r.explicit_s = quantile(s_all, 0.5);
    const stats q = summarize(ratio);
    r.ratio = q.median, r.ratio_q1 = q.q1, r.ratio_q3 = q.q3;
    r.rounds = rounds;
}

// --profile: the steps of the reduced route (numeric/layer_block.hpp) timed one by one on this
// network's W1 block (its layer input h and curvature stack T_b, from layer_inputs and
// curvature_blocks), and the two halves of the explicit route for the same block; medians of reps.
template <class Net>
void inside_the_solves(Net& d, int reps) {
    namespace nm = gateaux::numeric;
    using idx = gateaux::lapack::index;
    constexpr auto w1 = gateaux::wrt(Net::W1);
    constexpr auto hs = gateaux::layer_inputs(Net::loss, w1);
    constexpr auto ts = gateaux::curvature_blocks(Net::loss, w1);
    auto p = gateaux::compile(hs, ts);
    d.bind(p);
    p.run();
    const tensor h = p[hs.of(Net::W1)], t = p[ts.of(Net::W1)];
    const double lam = d.lambda(0, 0);
    const std::size_t b = h.shape(0), m = t.shape(1), r = std::min(b, h.shape(1)), nn = r * m;
    const tensor v = gaussian_tensor(h.shape(1), m, 42);
    const auto damp = [lam](std::size_t) { return lam; };
    const tensor l = gaussian_tensor(b, r, 41);  // any L of the same shape: the assembly's cost does not depend on it
    std::vector<double> a(nn * nn), f(nn * nn), work(3 * nn);
    std::vector<idx> iwork(nn);
    nm::detail::system_norms norms;
    double rcond = 0;
    auto ms = [&](auto fn) { return summarize(sample(fn, reps, 1)).median * 1e3; };
    const double t_assemble = ms([&] { nm::detail::assemble(l.data(), b, r, t, damp, a.data()); });
    const double t_norms = ms([&] { norms = nm::detail::norms_of(a.data(), nn, damp); });
    const double t_copy = ms([&] { std::copy(a.begin(), a.end(), f.begin()); });
    bool pd = true;
    const double t_potrf = ms([&] {
        std::copy(a.begin(), a.end(), f.begin());
        pd = cxxlapack::potrf<idx>('L', idx(nn), f.data(), idx(nn)) == 0;
    }) - t_copy;
    const double t_pocon = ms([&] { cxxlapack::pocon<idx>('L', idx(nn), f.data(), idx(nn), norms.whole, rcond, work.data(), iwork.data()); });
    std::vector<idx> piv(nn);
    const double t_getrf = ms([&] {
        std::copy(a.begin(), a.end(), f.begin());
        cxxlapack::getrf<idx>(idx(nn), idx(nn), f.data(), idx(nn), piv.data());
    }) - t_copy;
    tensor x;
    const double t_whole = ms([&] { nm::solve_layer_block(h, t, v, {lam, lam, 0}, x, "W1"); });
    const nm::detail::reduced_system sys(h, t, lam, "W1");
    const double t_solve = ms([&] { sys.solve(v, 1, x); });
    std::printf("  inside solve_layer_block for W1 (route %s, system %zu², %s):\n"
                "    assembly (pair products, one GEMM, copy into place) %8.2f ms\n"
                "    norms of the system (for the condition test)         %8.2f ms\n"
                "    Cholesky (dpotrf)                                     %8.2f ms   (an LU, dgetrf, of the same: %.2f ms)\n"
                "    condition estimate (dpocon)                           %8.2f ms\n"
                "    the solve (two GEMMs with Q, dpotrs)                  %8.2f ms\n"
                "    whole solve_layer_block (with the QR of hᵀ)           %8.2f ms\n",
                nm::to_string(nm::choose_route(b, h.shape(1), m, {lam, lam, 0})), nn, pd ? "positive definite" : "indefinite: LDLᵀ",
                t_assemble, t_norms, t_potrf, t_getrf, t_pocon, t_solve, t_whole);
    // The explicit route for the same block: its R-operator columns, then the Cholesky solve.
    tensor blk;
    const double t_columns = summarize(sample([&] { blk = explicit_layer_block(d.hv_prog, d.hv, {&d.dir[0]}, Net::W1); }, 1, 0)).median;
    tensor rhs = tensor::from_shape({blk.shape(0), 1});
    rhs.fill(1.0);
    const double t_chol = summarize(sample([&] { (void)damped_solve([&] { return blk; }, lam, rhs); }, 1, 0)).median;
    std::printf("  explicit route for W1: %zu R-operator columns %.3f s (%.1f µs per H·v run), λI + Cholesky (dposv, with a copy) %.3f s\n",
                blk.shape(0), t_columns, t_columns / double(blk.shape(0)) * 1e6, t_chol);
}

template <class Act, bool Biased>
row1 damped_case(const char* what, const settings& s) {
    net32<Act, Biased> d(lambda_damped);
    row1 r;
    r.what = what;
    r.route = d.routes(lambda_damped);
    r.reps = s.reps > 0 ? s.reps : 5;
    const std::vector<tensor> got = d.damped_step();
    const std::vector<tensor> want = d.explicit_damped(&r.cholesky);
    r.diff = worst_rel(got, want);
    require_within(std::string(what) + ", λ = 1e-2: block_step vs explicit", r.diff, 1e-9);
    time_pair(
        r, s, [&] { d.damped_prog.run(); keep(d.damped_prog.scalar(d.loss)); },
        [&] { keep(d.explicit_damped()[0](0, 0)); }, s.rounds);
    std::printf("  %s, λ = 1e-2 done: block solve %.1f ms, explicit %.2f s\n", what, r.block * 1e3, r.explicit_s);
    std::fflush(stdout);
    if (s.profile) {
        std::printf("\n  per-node profile, loss + gradient + block_step(damped) program, %s (each kernel timed alone, median of %d):\n",
                    what, r.reps);
        using sched = schedule_of<decltype(d.loss), decltype(d.g), decltype(d.step_damped)>;
        print_profile(profile(sched{}, batch1, [&](std::string_view name) { return d.leaf(name); }, r.reps), 70);
        if constexpr (!Biased) inside_the_solves(d, r.reps);
        std::printf("\n");
    }
    return r;
}

// λ = 0: the master formula (minimum-norm, the blocks being singular at B < n) against the
// explicit minimum-norm solution; the explicit eigendecomposition of a 4096² block takes
// seconds, so it is run once, beside `reps` runs of the block solve.
row1 min_norm_case(const settings& s) {
    net32<gateaux::activation<gateaux::leaky_relu_fn<0.1>>, false> d(0.0);
    row1 r;
    r.what = "leaky ReLU 0.1";
    r.route = d.routes(0.0);
    r.reps = s.reps > 0 ? s.reps : 20;
    r.measured_once = true;
    const std::vector<tensor> got = d.plain_step();
    const auto t0 = steady::now();
    const std::vector<tensor> want = d.explicit_min_norm();
    r.explicit_s = seconds_since(t0);
    r.diff = worst_rel(got, want);
    require_within("leaky ReLU 0.1, λ = 0: block_step vs explicit minimum-norm", r.diff, 1e-9);
    r.block = summarize(sample([&] { d.plain_prog.run(); keep(d.plain_prog.scalar(d.loss)); }, r.reps * s.rounds, s.warmup)).median;
    r.ratio = r.explicit_s / r.block;
    r.ratio_q1 = r.ratio_q3 = r.ratio;
    r.rounds = 1;
    std::printf("  leaky ReLU 0.1, λ = 0 done: block solve %.2f ms, explicit %.1f s (one run)\n", r.block * 1e3, r.explicit_s);
    std::fflush(stdout);
    return r;
}

void part1(const settings& s, const std::string& core) {
    std::printf("(1) block_step vs explicit block (R-operator columns + λI + LAPACK Cholesky); depth 2, 64→64→64, identity\n"
                "    output, ½ sum of squares, batch %zu, well-conditioned data; each program also computes loss and gradient\n",
                batch1);
    std::vector<row1> rows;
    rows.push_back(damped_case<gateaux::activation<gateaux::leaky_relu_fn<0.1>>, false>("leaky ReLU 0.1", s));
    rows.push_back(damped_case<gateaux::activation<gateaux::tanh_fn>, false>("tanh", s));
    rows.push_back(damped_case<gateaux::activation<gateaux::leaky_relu_fn<0.1>>, true>("leaky ReLU 0.1 + biases (joint)", s));
    if (!s.skip_min_norm) rows.push_back(min_norm_case(s));
    std::printf("\n  %-32s %-5s %12s %12s %9s %17s %10s  %s\n", "network", "λ", "block ms", "explicit s", "ratio", "(IQR)",
                "rel. diff", "route");
    for (const row1& r : rows) {
        const bool damped_row = !r.measured_once;
        std::printf("  %-32s %-5s %12.2f %12.3f %9.1f   (%5.1f–%5.1f) %10.2e  %s%s%s  [BLAS core %s]\n", r.what.c_str(),
                    damped_row ? "1e-2" : "0", r.block * 1e3, r.explicit_s, r.ratio, r.ratio_q1, r.ratio_q3, r.diff,
                    r.route.c_str(), damped_row ? (r.cholesky ? "; explicit by Cholesky" : "; explicit by LDLᵀ (a block is indefinite)")
                                                : "; explicit by eigendecomposition, one run",
                    damped_row ? "" : "", core.c_str());
    }
    for (const row1& r : rows)
        if (!r.measured_once)
            std::printf("  %-32s ratio %.1f (target ≥ 10: %s), rel. diff %.1e (target ≤ 1e-9: %s)\n", r.what.c_str(), r.ratio,
                        r.ratio >= 10 ? "met" : "MISSED", r.diff, r.diff <= 1e-9 ? "met" : "MISSED");
    std::printf("\n");
}

// ---------------------------------------------------------------- part (2): the chain's net

void part2(const settings& s, const std::string& core) {
    using net = mlp_net<64, 64, 64, 64, 64>;
    std::printf("(2) block_step vs newton_step (chain) vs the gradient, %s, leaky ReLU 0.1 hidden, identity output\n",
                net::describe().c_str());
    net d;
    d.X = well_conditioned(64, 64, 21);
    d.w1 = well_conditioned(64, 64, 23), d.w2 = well_conditioned(64, 64, 24), d.w3 = well_conditioned(64, 64, 25);
    constexpr auto w = gateaux::wrt(net::W1, net::W2, net::W3);
    constexpr auto g = gateaux::grad(net::loss, w);
    constexpr auto chain = gateaux::newton_step(net::loss, w);
    constexpr auto plain = gateaux::block_step(net::loss, w);
    constexpr auto damped = gateaux::block_step(net::loss, w, gateaux::damped);
    auto pg = gateaux::compile(net::loss, g);
    auto pc = gateaux::compile(net::loss, g, chain);
    auto pb0 = gateaux::compile(net::loss, g, plain);
    auto pbd = gateaux::compile(net::loss, g, damped);
    auto hv = gateaux::compile(net::loss, g, gateaux::hvp(net::loss, w));
    tensor lambda = tensor::from_shape({1, 1});
    lambda(0, 0) = lambda_damped;
    d.bind(pg), d.bind(pc), d.bind(pb0), d.bind(pbd), d.bind(hv);
    pbd.bind(gateaux::damping, lambda);

    auto steps = [&](const auto& p, auto st) {
        return std::vector<tensor>{p[st.of(net::W1)], p[st.of(net::W2)], p[st.of(net::W3)]};
    };
    pc.run(), pb0.run(), pbd.run();
    require_within("block_step λ = 0 vs newton_step", worst_rel(steps(pb0, plain), steps(pc, chain)), 1e-9);
    {
        hv.run();
        std::vector<tensor> want{hv[g.of(net::W1)], hv[g.of(net::W2)], hv[g.of(net::W3)]};
        bool chol = true;
        auto one = [&]<class P>(P, std::size_t k) {
            const auto r = damped_solve([&] { return gateaux::hessian_block(hv, net::loss, w, P{}, std::size_t(1) << 30); }, lambda_damped,
                                        stack_column({&want[k]}));
            chol = chol && r.cholesky;
            unstack_column(r.x, want, k, 1);
        };
        one(net::W1, 0), one(net::W2, 1), one(net::W3, 2);
        require_within(std::string("block_step λ = 1e-2 vs explicit") + (chol ? " (Cholesky)" : " (LDLᵀ)"),
                       worst_rel(steps(pbd, damped), want), 1e-9);
    }
    const gateaux::numeric::block_damping none{}, lam{lambda_damped, lambda_damped, 0};
    std::printf("  routes (every layer: B = 64, n = m = 64): λ = 0 %s, λ = 1e-2 %s\n",
                gateaux::numeric::to_string(gateaux::numeric::choose_route(64, 64, 64, none)),
                gateaux::numeric::to_string(gateaux::numeric::choose_route(64, 64, 64, lam)));

    // Each round: the fast programs interleaved (`reps` repetitions), then a block of runs of the
    // damped block solve; every ratio is of this round's medians.
    const int reps = s.reps > 0 ? s.reps : 50;
    const int damped_reps = 3;
    std::vector<double> t_damped_all;
    std::vector<std::vector<double>> r_chain, r_plain, r_damped, r_plain_chain, r_damped_chain;
    std::vector<double> rc, rp, rd, rpc, rdc, tg, tc, tp;
    for (int k = 0; k < s.rounds; ++k) {
        const comparison c = interleave(
            {
                {"loss+gradient", [&] { pg.run(); keep(pg.scalar(net::loss)); }},
                {"loss+gradient+newton_step", [&] { pc.run(); keep(pc.scalar(net::loss)); }},
                {"loss+gradient+block_step λ=0", [&] { pb0.run(); keep(pb0.scalar(net::loss)); }},
            },
            1, reps, s.warmup);
        const std::vector<double> x = sample([&] { pbd.run(); keep(pbd.scalar(net::loss)); }, damped_reps, 1);
        const double mg = c.round_median[0][0], mc = c.round_median[1][0], mp = c.round_median[2][0], md = quantile(x, 0.5);
        tg.push_back(mg), tc.push_back(mc), tp.push_back(mp);
        t_damped_all.insert(t_damped_all.end(), x.begin(), x.end());
        rc.push_back(mc / mg), rp.push_back(mp / mg), rd.push_back(md / mg), rpc.push_back(mp / mc), rdc.push_back(md / mc);
    }
    std::printf("timings (%d rounds; per round %d interleaved reps of the fast programs, %d runs of the damped one)\n", s.rounds, reps,
                damped_reps);
    std::printf("  %-34s %12s\n", "program", "median µs");
    std::printf("  %-34s %12.1f\n", "loss+gradient", quantile(tg, 0.5) * 1e6);
    std::printf("  %-34s %12.1f\n", "loss+gradient+newton_step (chain)", quantile(tc, 0.5) * 1e6);
    std::printf("  %-34s %12.1f\n", "loss+gradient+block_step λ=0", quantile(tp, 0.5) * 1e6);
    std::printf("  %-34s %12.1f\n", "loss+gradient+block_step λ=1e-2", quantile(t_damped_all, 0.5) * 1e6);
    auto line = [&](const char* what, const std::vector<double>& r) {
        const stats q = summarize(r);
        std::printf("  %-44s %10.2f  (IQR %.2f–%.2f, %zu rounds)  [BLAS core %s]\n", what, q.median, q.q1, q.q3, r.size(), core.c_str());
    };
    line("newton_step program / gradient program", rc);
    line("block_step λ=0 program / gradient program", rp);
    line("block_step λ=1e-2 program / gradient program", rd);
    line("block_step λ=0 / newton_step program", rpc);
    line("block_step λ=1e-2 / newton_step program", rdc);
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    parse_command_line(argc, argv, {{"--rounds", &s.rounds}, {"--reps", &s.reps}, {"--warmup", &s.warmup}},
                       {{"--profile", &s.profile}, {"--skip-min-norm", &s.skip_min_norm}});
    print_environment("bench_block_solve: the exact layer block solve against the explicit block and the chain");
    const std::string core = gateaux::blas_core();
    part1(s, core);
    part2(s, core);
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;
}
