// Time to training loss ≤ 0.02 on digits, per optimizer.
//
//   network   64 → 64 → 10, leaky ReLU 0.1 hidden, identity output, with biases (the peers'
//             network); and the example's 64 → 32 → 10 tanh without biases
//   loss      mean over samples of ½‖out − y‖², features in [0, 1], one-hot targets
//   data      the 1500 training rows of examples/digits.cpp's split, full batch unless noted;
//             its 297 held-out rows give the accuracy reported beside each row (never used to
//             choose settings)
//
//   bench_train_digits [--data FILE] [--export DIR] [--repeat N] [--only TEXT]
// --only runs the rows whose "network optimizer" contains TEXT, or one of its '|'-separated parts.
// --export writes the training rows and the leaky net's starting weights as CSV, so that
// bench/train_digits_scipy.py can run scipy's L-BFGS-B on exactly the same objective and start.
// Each figure is the median over N runs (default 3) of the wall time until the whole-set
// training loss first reaches 0.02 (minibatch runs: checked four times per epoch, checks excluded);
// iterations, evaluations, final loss and held-out accuracy are those of the median run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#if __has_include(<lbfgs.h>)
#include <lbfgs.h>  // Debian liblbfgs-dev: Okazaki's C port of Nocedal's L-BFGS, the peer
#define GATEAUX_BENCH_LIBLBFGS 1
#endif

using namespace gateaux;

namespace {

constexpr double goal = 0.02;

constexpr auto x = input<"x", 64>;
constexpr auto y = target<"y", 10>;
// The peers' network.
constexpr auto leaky_out = mlp<64, 64, 10>(x, act::leaky_relu<0.1>, act::identity, with_biases);
constexpr auto leaky_loss = mse(leaky_out, y);
constexpr auto leaky_w = wrt(param<"W1", 64, 64>, bias<"b1", 64>, param<"W2", 64, 10>, bias<"b2", 10>);

// The example's network (the B-operator accepts it).
constexpr auto tanh_out = mlp<64, 32, 10>(x, act::tanh, act::identity);
constexpr auto tanh_loss = mse(tanh_out, y);
constexpr auto tanh_w = wrt(param<"W1", 64, 32>, param<"W2", 32, 10>);

struct digits_rows {
    tensor X, Y;    // training rows
    tensor Xh, Yh;  // held-out rows
};

digits_rows training_rows(const std::string& path) {
    const tensor data = read_csv(path);
    const tensor X = cols(data, 0, 64) / 16.0;
    const tensor Y = one_hot(cols(data, 64, 1), 10);
    std::vector<std::size_t> order(X.shape(0));
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::shuffle(order.begin(), order.end(), std::mt19937_64(2026));  // as examples/digits.cpp
    const std::size_t held_out = 297, n = 1500;
    digits_rows s{tensor::from_shape({n, 64}), tensor::from_shape({n, 10}), tensor::from_shape({held_out, 64}),
            tensor::from_shape({held_out, 10})};
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(X.data() + order[held_out + i] * 64, 64, s.X.data() + i * 64);
        std::copy_n(Y.data() + order[held_out + i] * 10, 10, s.Y.data() + i * 10);
    }
    for (std::size_t i = 0; i < held_out; ++i) {
        std::copy_n(X.data() + order[i] * 64, 64, s.Xh.data() + i * 64);
        std::copy_n(Y.data() + order[i] * 10, 10, s.Yh.data() + i * 10);
    }
    return s;
}

// The fraction of held-out rows whose largest output is the labelled class.
template <class Out, class... P>
double held_out_accuracy(Out out, params<P...>, const param_set& theta, const digits_rows& s) {
    auto prog = compile(out);
    prog.bind(x, s.Xh);
    std::size_t i = 0;
    (prog.bind(P{}, theta[i++]), ...);
    prog.run();
    const tensor& o = prog[out];
    std::size_t right = 0;
    for (std::size_t r = 0; r < o.shape(0); ++r) {
        std::size_t best = 0, label = 0;
        for (std::size_t j = 1; j < o.shape(1); ++j) {
            if (o(r, j) > o(r, best)) best = j;
            if (s.Yh(r, j) > s.Yh(r, label)) label = j;
        }
        right += best == label;
    }
    return double(right) / double(o.shape(0));
}

tensor gaussian(std::size_t r, std::size_t c, double sd, std::mt19937_64& g) {
    std::normal_distribution<double> n(0.0, sd);
    tensor t = tensor::from_shape({r, c});
    for (double& v : t) v = sd == 0.0 ? 0.0 : n(g);
    return t;
}
param_set leaky_start() {
    std::mt19937_64 g(7);
    tensor w1 = gaussian(64, 64, 1.0 / 8.0, g), b1 = gaussian(1, 64, 0.0, g);
    tensor w2 = gaussian(64, 10, 1.0 / 8.0, g), b2 = gaussian(1, 10, 0.0, g);
    return param_set({std::move(w1), std::move(b1), std::move(w2), std::move(b2)});
}
param_set tanh_start() {
    std::mt19937_64 g(7);
    tensor w1 = gaussian(64, 32, 1.0 / 8.0, g), w2 = gaussian(32, 10, 1.0 / std::sqrt(32.0), g);
    return param_set({std::move(w1), std::move(w2)});
}

void write_csv(const std::string& path, const tensor& t) {
    std::ofstream out(path);
    out.precision(17);
    for (std::size_t i = 0; i < t.shape(0); ++i)
        for (std::size_t j = 0; j < t.shape(1); ++j) out << t(i, j) << (j + 1 == t.shape(1) ? '\n' : ',');
}

struct timing {
    double seconds = -1.0;  // to the goal; −1: not reached
    std::size_t iterations = 0, evaluations = 0;
    double final_loss = 0.0, accuracy = -1.0;  // accuracy on the held-out rows; −1: not measured
    std::string reason;
};

template <class Loss, class Out, class W>
timing time_to_goal(Loss loss, Out out, W w, const digits_rows& s, param_set theta, optimizer& opt, std::size_t minibatch,
                    std::size_t curvature_rows, double time_limit) {
    auto f = make_objective(loss, w);
    f.set_data(x, s.X).set_data(y, s.Y);
    auto whole = make_objective(loss, w);
    whole.set_data(x, s.X).set_data(y, s.Y);
    if (minibatch != 0) f.use_minibatches(minibatch, 11);
    if (curvature_rows != 0) f.use_curvature_sample(curvature_rows, 13);
    stopping stop;
    stop.max_iterations = 1000000;
    stop.gradient_tolerance = 0.0;
    stop.time_limit = time_limit;
    timing t;
    double excluded = 0.0;
    const std::size_t every = minibatch == 0 ? 1 : std::max<std::size_t>(1, s.X.shape(0) / minibatch / 4);
    auto check = [&](const iteration_record& r, const param_set& p) {
        if (r.iteration % every != 0) return true;
        const auto t0 = std::chrono::steady_clock::now();
        const double l = minibatch == 0 ? r.loss : whole.value(p);
        excluded += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (l > goal) return true;
        t.seconds = r.seconds - excluded;
        t.iterations = r.iteration;
        return false;
    };
    const result r = minimize(f, theta, opt, stop, check);
    t.evaluations = r.counts.total();
    t.final_loss = whole.value(theta);
    t.accuracy = held_out_accuracy(out, w, theta, s);
    t.reason = to_string(r.reason) + (r.message.empty() ? "" : ": " + r.message.substr(0, 120));
    if (t.seconds < 0.0) t.iterations = r.iterations;
    return t;
}

#ifdef GATEAUX_BENCH_LIBLBFGS
// The peer: liblbfgs (m = 10, its default Moré–Thuente line search) on a hand-written
// xtensor-blas loss and gradient of the leaky net (forward, then backward by the chain rule).
struct hand_leaky {
    const digits_rows& s;
    tensor n1, h1, e, d1;
    std::size_t evaluations = 0;
    double seconds = -1.0;
    std::chrono::steady_clock::time_point t0;

    double loss_grad(const double* theta, double* grad) {
        ++evaluations;
        const std::size_t B = s.X.shape(0);
        auto W1 = xt::adapt(theta, 64 * 64, xt::no_ownership(), std::array<std::size_t, 2>{64, 64});
        auto b1 = xt::adapt(theta + 4096, 64, xt::no_ownership(), std::array<std::size_t, 2>{1, 64});
        auto W2 = xt::adapt(theta + 4160, 640, xt::no_ownership(), std::array<std::size_t, 2>{64, 10});
        auto b2 = xt::adapt(theta + 4800, 10, xt::no_ownership(), std::array<std::size_t, 2>{1, 10});
        n1 = xt::linalg::dot(s.X, W1) + b1;
        h1 = xt::where(n1 > 0.0, n1, 0.1 * n1);
        e = xt::linalg::dot(h1, W2) + b2 - s.Y;
        const double loss = 0.5 * xt::sum(e * e)() / double(B);
        e /= double(B);  // δ₂
        auto gW1 = xt::adapt(grad, 64 * 64, xt::no_ownership(), std::array<std::size_t, 2>{64, 64});
        auto gb1 = xt::adapt(grad + 4096, 64, xt::no_ownership(), std::array<std::size_t, 2>{1, 64});
        auto gW2 = xt::adapt(grad + 4160, 640, xt::no_ownership(), std::array<std::size_t, 2>{64, 10});
        auto gb2 = xt::adapt(grad + 4800, 10, xt::no_ownership(), std::array<std::size_t, 2>{1, 10});
        gW2 = xt::linalg::dot(xt::transpose(h1), e);
        gb2 = xt::reshape_view(xt::sum(e, {0}), {1, 10});
        d1 = xt::linalg::dot(e, xt::transpose(W2)) * xt::where(n1 > 0.0, 1.0, 0.1);
        gW1 = xt::linalg::dot(xt::transpose(s.X), d1);
        gb1 = xt::reshape_view(xt::sum(d1, {0}), {1, 64});
        return loss;
    }
    static lbfgsfloatval_t evaluate(void* self, const lbfgsfloatval_t* x, lbfgsfloatval_t* g, int, lbfgsfloatval_t) {
        return static_cast<hand_leaky*>(self)->loss_grad(x, g);
    }
    static int progress(void* self, const lbfgsfloatval_t*, const lbfgsfloatval_t*, lbfgsfloatval_t fx, lbfgsfloatval_t,
                        lbfgsfloatval_t, lbfgsfloatval_t, int, int, int) {
        auto* h = static_cast<hand_leaky*>(self);
        if (fx > goal) return 0;
        h->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - h->t0).count();
        return 1;  // stop
    }
};

timing liblbfgs_to_goal(const digits_rows& s) {
    const param_set start = leaky_start();
    const int n = int(start.count());
    lbfgsfloatval_t* theta = lbfgs_malloc(n);
    std::size_t k = 0;
    for (const tensor& t : start)
        for (double v : t) theta[k++] = v;
    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.m = 10;
    param.epsilon = 0.0;
    param.max_iterations = 100000;
    hand_leaky h{s, {}, {}, {}, {}, 0, -1.0, std::chrono::steady_clock::now()};
    lbfgsfloatval_t fx = 0.0;
    const int status = ::lbfgs(n, theta, &fx, &hand_leaky::evaluate, &hand_leaky::progress, &h, &param);
    param_set end = start.zeros_like();
    k = 0;
    for (tensor& b : end)
        for (double& v : b) v = theta[k++];
    lbfgs_free(theta);
    timing t;
    t.accuracy = held_out_accuracy(leaky_out, leaky_w, end, s);
    t.seconds = h.seconds;
    t.evaluations = h.evaluations;
    t.final_loss = fx;
    t.reason = "liblbfgs status " + std::to_string(status);
    return t;
}
#endif

struct entry {
    std::string net, label;
    std::function<std::unique_ptr<optimizer>()> make;
    std::size_t minibatch;
    std::size_t curvature_rows = 0;  // curvature products on this many sampled rows (0: all)
};

}  // namespace

int main(int argc, char** argv) {
    std::string data = "examples/data/digits.csv", export_dir, only;
    int repeat = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--data" && i + 1 < argc) data = argv[++i];
        else if (a == "--export" && i + 1 < argc) export_dir = argv[++i];
        else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--data FILE] [--export DIR] [--repeat N] [--only TEXT]\n", argv[0]);
            return 2;
        }
    }
    const digits_rows s = training_rows(data);
    if (!export_dir.empty()) {
        std::filesystem::create_directories(export_dir);
        write_csv(export_dir + "/x.csv", s.X);
        write_csv(export_dir + "/y.csv", s.Y);
        const param_set p = leaky_start();
        const char* names[] = {"W1", "b1", "W2", "b2"};
        for (std::size_t i = 0; i < p.size(); ++i) write_csv(export_dir + "/" + names[i] + ".csv", p[i]);
        std::printf("exported the training rows and the leaky net's start to %s\n", export_dir.c_str());
    }
    std::printf("BLAS kernels in use: %s; %zu training rows, goal: training loss ≤ %g; median of %d runs\n\n",
                blas_core().c_str(), s.X.shape(0), goal, repeat);

    // Hessian-free with Gauss–Newton products on 200 rows sampled afresh each iteration (loss,
    // gradient and line search on all 1500) and a CG cap of 20: Martens' setting for data sets.
    // Chosen by a sweep on the leaky net (rows 150/200/300 × CG cap 20/50/250 × Martens' ε
    // 5e-4/5e-3 × λ₀ 1/0.1: 0.25–0.42 s; full curvature 0.82 s).
    auto sampled_gauss_newton = [] {
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        o.max_cg_iterations = 20;
        return std::make_unique<hessian_free>(o);
    };
    auto kfac_every_10 = [] {
        kfac::options o;
        o.inverse_interval = 10;
        return std::make_unique<kfac>(o);
    };
    auto damped_rescaled = [] {
        damped_block_newton::options o;
        o.rescale = true;
        return std::make_unique<damped_block_newton>(o);
    };
    const std::vector<entry> entries = {
        {"leaky 64-64-10 + biases", "L-BFGS (m = 10)", [] { return std::make_unique<gateaux::lbfgs>(); }, 0},
        {"leaky 64-64-10 + biases", "HF-CG (H·v)", [] { return std::make_unique<hessian_free>(); }, 0},
        {"leaky 64-64-10 + biases", "HF-CG (Gauss-Newton)",
         [] {
             hessian_free::options o;
             o.curvature = curvature_matrix::gauss_newton;
             return std::make_unique<hessian_free>(o);
         },
         0},
        {"leaky 64-64-10 + biases", "HF-CG (GN, 200 rows, CG<=20)", sampled_gauss_newton, 0, 200},
        // Martens' other setting: gradient and curvature on minibatches (line search on the batch).
        {"leaky 64-64-10 + biases", "HF-CG (GN, batch 300, CG<=20)", sampled_gauss_newton, 300},
        {"leaky 64-64-10 + biases", "L-BFGS (m = 10, batch 300)", [] { return std::make_unique<gateaux::lbfgs>(); }, 300},
        // Damped block Newton (Levenberg–Marquardt on the exact layer blocks, by the block solve:
        // the 4160 coordinates of [W1; b1] and the 650 of [W2; b2]), its step rescaled with momentum
        // from the whole Gauss–Newton model; default settings (docs/benchmarks.md).
        {"leaky 64-64-10 + biases", "damped block Newton (rescaled)", damped_rescaled, 0},
        {"leaky 64-64-10 + biases", "damped block Newton (rescaled, 24 rows)", damped_rescaled, 0, 24},
        {"leaky 64-64-10 + biases", "damped block Newton (rescaled, batch 300, 24 rows)", damped_rescaled, 300, 24},
        // The per-layer models alone (no rescaling): ρ settles near ½ and λ with it.
        {"leaky 64-64-10 + biases", "damped block Newton (per-layer ρ)", [] { return std::make_unique<damped_block_newton>(); },
         0},
        {"leaky 64-64-10 + biases", "Adam (lr 3e-3, full batch)",
         [] { return std::make_unique<adam>(adam_options{.learning_rate = 3e-3}); }, 0},
        {"leaky 64-64-10 + biases", "Adam (lr 3e-3, batch 32)",
         [] { return std::make_unique<adam>(adam_options{.learning_rate = 3e-3}); }, 32},
        {"tanh 64-32-10", "L-BFGS (m = 10)", [] { return std::make_unique<gateaux::lbfgs>(); }, 0},
        {"tanh 64-32-10", "HF-CG (Gauss-Newton)",
         [] {
             hessian_free::options o;
             o.curvature = curvature_matrix::gauss_newton;
             return std::make_unique<hessian_free>(o);
         },
         0},
        {"tanh 64-32-10", "HF-CG (GN, 200 rows, CG<=20)", sampled_gauss_newton, 0, 200},
        {"tanh 64-32-10", "damped block Newton (rescaled)", damped_rescaled, 0},
        // The approximations people train with, at their defaults unless noted; every one also on
        // minibatches of 32, where their per-step cost is small.
        {"leaky 64-64-10 + biases", "K-FAC (sampled Fisher, inverses every 10)", kfac_every_10, 0},
        {"leaky 64-64-10 + biases", "K-FAC (sampled Fisher, inverses every 10, batch 300)", kfac_every_10, 300},
        {"leaky 64-64-10 + biases", "Shampoo (lr 0.1, roots every 10)",
         [] { return std::make_unique<shampoo>(shampoo_options{.learning_rate = 0.1, .root_every = 10}); }, 0},
        {"leaky 64-64-10 + biases", "Shampoo (grafted to Adam, lr 3e-3, roots every 10, batch 32)",
         [] {
             return std::make_unique<shampoo>(
                 shampoo_options{.learning_rate = 3e-3, .root_every = 10, .graft = shampoo_graft::adam});
         },
         32},
        {"leaky 64-64-10 + biases", "AdaHessian (lr 0.15)", [] { return std::make_unique<adahessian>(); }, 0},
        {"leaky 64-64-10 + biases", "AdaHessian (lr 0.15, batch 32)", [] { return std::make_unique<adahessian>(); }, 32},
        {"leaky 64-64-10 + biases", "Adagrad (lr 0.03)",
         [] { return std::make_unique<adagrad>(adagrad_options{.learning_rate = 0.03}); }, 0},
        {"leaky 64-64-10 + biases", "Adagrad (lr 0.03, batch 32)",
         [] { return std::make_unique<adagrad>(adagrad_options{.learning_rate = 0.03}); }, 32},
    };

    std::printf("%-26s %-52s %10s %10s %12s %12s %9s  %s\n", "network", "optimizer", "seconds", "iterations", "evaluations",
                "final loss", "held-out", "stopped");
    for (const entry& e : entries) {
        if (!only.empty()) {
            const std::string name = e.net + " " + e.label;
            bool wanted = false;
            for (std::size_t from = 0; from <= only.size() && !wanted;) {
                const std::size_t bar = std::min(only.find('|', from), only.size());
                wanted = name.find(only.substr(from, bar - from)) != std::string::npos;
                from = bar + 1;
            }
            if (!wanted) continue;
        }
        std::vector<timing> runs;
        for (int k = 0; k < repeat; ++k) {
            auto opt = e.make();
            const bool leaky = e.net.rfind("leaky", 0) == 0;
            runs.push_back(leaky ? time_to_goal(leaky_loss, leaky_out, leaky_w, s, leaky_start(), *opt, e.minibatch,
                                                e.curvature_rows, 60.0)
                                 : time_to_goal(tanh_loss, tanh_out, tanh_w, s, tanh_start(), *opt, e.minibatch, e.curvature_rows,
                                                60.0));
        }
        std::sort(runs.begin(), runs.end(), [](const timing& a, const timing& b) {
            const double ta = a.seconds < 0 ? 1e300 : a.seconds, tb = b.seconds < 0 ? 1e300 : b.seconds;
            return ta < tb;
        });
        const timing& m = runs[runs.size() / 2];
        if (m.seconds >= 0.0)
            std::printf("%-26s %-52s %10.3f %10zu %12zu %12.4g %8.1f%%  %s\n", e.net.c_str(), e.label.c_str(), m.seconds,
                        m.iterations, m.evaluations, m.final_loss, 100.0 * m.accuracy, "goal reached");
        else
            std::printf("%-26s %-52s %10s %10zu %12zu %12.4g %8.1f%%  %s\n", e.net.c_str(), e.label.c_str(), "—", m.iterations,
                        m.evaluations, m.final_loss, 100.0 * m.accuracy, m.reason.c_str());
        std::fflush(stdout);
    }
#ifdef GATEAUX_BENCH_LIBLBFGS
    {
        std::vector<timing> runs;
        for (int k = 0; k < repeat; ++k) runs.push_back(liblbfgs_to_goal(s));
        std::sort(runs.begin(), runs.end(), [](const timing& a, const timing& b) { return a.seconds < b.seconds; });
        const timing& m = runs[runs.size() / 2];
        std::printf("%-26s %-52s %10.3f %10s %12zu %12.4g %8.1f%%  %s\n", "leaky 64-64-10 + biases",
                    "peer: liblbfgs, hand-written", m.seconds, "", m.evaluations, m.final_loss, 100.0 * m.accuracy,
                    m.seconds >= 0 ? "goal reached" : m.reason.c_str());
    }
#else
    std::printf("(liblbfgs-dev not installed: no peer row; apt-get install liblbfgs-dev)\n");
#endif
}
