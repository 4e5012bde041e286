// Memory over a long training run: resident memory (VmRSS) sampled every 2 s while the digits
// classifier trains for --minutes (default 10), cycling through Adam on minibatches, L-BFGS, K-FAC
// and Hessian-free on a curvature sample, each round from the previous round's parameters, with
// a checkpoint every 25 iterations. Flat memory means no growth after the first round: the
// report gives the resident memory after the first round, its maximum after that, at the end,
// and the least-squares slope over the samples after the first round.
//
//   bench_long_run [--minutes M] [--data FILE]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "support.hpp"

using namespace gateaux;

namespace {

constexpr auto x = input<"x", 64>;
constexpr auto y = target<"y", 10>;
constexpr auto W1 = param<"W1", 64, 32>;
constexpr auto b1 = bias<"b1", 32>;
constexpr auto W2 = param<"W2", 32, 10>;
constexpr auto b2 = bias<"b2", 10>;
// Weight decay keeps the problem from converging to a flat, separable fit in the first minutes.
constexpr auto loss = mean(cross_entropy(act::tanh(x * W1 + b1) * W2 + b2, y)) + l2<1e-3>(W1, W2);

double resident_mb() {
    std::ifstream in("/proc/self/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            double kb = 0.0;
            in >> kb;
            return kb / 1024.0;
        }
        in.ignore(1 << 12, '\n');
    }
    return 0.0;
}

}  // namespace

int main(int argc, char** argv) {
    double minutes = 10.0;
    std::string data_path = "examples/data/digits.csv";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--minutes" && i + 1 < argc) minutes = std::atof(argv[++i]);
        else if (a == "--data" && i + 1 < argc) data_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--minutes M] [--data FILE]\n", argv[0]);
            return 2;
        }
    }
    bench::print_environment("bench_long_run");
    const tensor data = read_csv(data_path);
    const split s = train_test_split(cols(data, 0, 64), one_hot(cols(data, 64, 1), 10), 0.2, 1);
    const standardizer scale(s.train_x);
    const tensor X = scale.apply(s.train_x);

    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
    std::vector<std::pair<double, double>> samples;  // (s, MB)
    std::mutex m;
    std::atomic<bool> done{false};
    std::thread sampler([&] {
        while (!done) {
            {
                std::lock_guard<std::mutex> lock(m);
                samples.emplace_back(elapsed(), resident_mb());
            }
            for (int k = 0; k < 20 && !done; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });

    const std::string dir = (std::filesystem::temp_directory_path() / "gateaux-long-run").string();
    std::mt19937_64 g(3);
    std::normal_distribution<double> N(0.0, 0.1);
    param_set theta({tensor(xt::zeros<double>({64, 32})), tensor(xt::zeros<double>({1, 32})), tensor(xt::zeros<double>({32, 10})),
                     tensor(xt::zeros<double>({1, 10}))});
    for (tensor& t : theta)
        for (double& v : t) v = N(g);
    using factory = std::function<std::unique_ptr<optimizer>()>;
    const std::vector<std::pair<std::string, factory>> methods = {
        {"adam", [] { return std::make_unique<adam>(); }},
        {"lbfgs", [] { return std::make_unique<lbfgs>(); }},
        {"kfac", [] { return std::make_unique<kfac>(); }},
        {"hessian_free", [] { return std::make_unique<hessian_free>(); }},
    };
    std::size_t rounds = 0, iterations = 0;
    double first_round_end = 0.0;
    while (elapsed() < minutes * 60.0) {
        for (const auto& [name, make] : methods) {
            auto f = make_objective(loss, wrt(W1, b1, W2, b2));
            f.set_data(x, X).set_data(y, s.train_y);
            if (name == "adam") f.use_minibatches(64, rounds);
            if (name == "hessian_free") f.use_curvature_sample(256, rounds);
            auto opt = make();
            stopping stop;
            stop.max_iterations = name == "adam" ? 400 : 60;
            stop.gradient_tolerance = 0.0;
            stop.checkpoint.directory = dir;
            stop.checkpoint.every = 25;
            stop.checkpoint.resume = false;
            const result r = minimize(f, theta, *opt, stop);
            iterations += r.iterations;
            if (r.reason != stop_reason::max_iterations) std::printf("  %s: %s %s\n", name.c_str(), to_string(r.reason), r.message.c_str());
        }
        ++rounds;
        if (rounds == 1) first_round_end = elapsed();
        std::printf("round %3zu  %7.1f s  %8zu iterations  resident %.1f MB\n", rounds, elapsed(), iterations, resident_mb());
        std::fflush(stdout);
    }
    done = true;
    sampler.join();
    std::filesystem::remove_all(dir);

    // After the first round: maximum, end, slope.
    double peak = 0.0, at_first = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
    std::size_t n = 0;
    for (const auto& [t, mb] : samples) {
        if (t < first_round_end) {
            at_first = mb;
            continue;
        }
        peak = std::max(peak, mb);
        sx += t, sy += mb, sxx += t * t, sxy += t * mb, ++n;
    }
    const double slope = n > 1 ? (double(n) * sxy - sx * sy) / (double(n) * sxx - sx * sx) : 0.0;
    std::printf("\n%zu rounds, %zu iterations in %.1f min; %zu samples of resident memory\n", rounds, iterations, elapsed() / 60.0, samples.size());
    std::printf("resident memory: %.1f MB after the first round (%.1f s), max %.1f MB after it, %.1f MB at the end\n", at_first,
                first_round_end, peak, samples.back().second);
    std::printf("slope after the first round: %+.3f MB per minute\n", slope * 60.0);
    return 0;
}
