// Data-parallel training over MPI: time per iteration, the split into local work and exchanges,
// and the bytes exchanged, per optimizer, on the full digits set (1797 rows, 64 → 32 → 10 tanh,
// mean of ½‖out − y‖², 12 chunks). Run it under mpirun at several rank counts; bench/mpi_scaling.sh
// runs 1, 2 and 4 ranks in one go (docs/benchmarks.md has the speed-ups against 1 rank).
//
//   OPENBLAS_NUM_THREADS=1 mpirun -np 2 build-bench/bench/bench_mpi_scaling [--rounds R]
//
// Optimizers: hf (Hessian-free, Gauss–Newton, all rows), hf-sample (its curvature on 300 rows),
// lbfgs, adam (minibatches of 240), kfac (inverses every 10), dbn-sample (damped block Newton,
// its blocks on 300 rows: every rank gathers the factors and solves every block).
// Each optimizer runs a fixed number of iterations from the same start, R rounds (default 5);
// the figure is the median over rounds of the slowest rank's time. The iterates are the same at
// every rank count (docs/distributed.md), so the work per iteration is too.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/mpi.hpp>

#include "support.hpp"

using namespace gateaux;

namespace {

constexpr auto x = input<"x", 64>;
constexpr auto y = target<"y", 10>;
constexpr auto out = mlp<64, 32, 10>(x, act::tanh, act::identity);
constexpr auto loss = mse(out, y);
constexpr auto w = wrt(param<"W1", 64, 32>, param<"W2", 32, 10>);

struct measured {
    double seconds = 0.0, computing = 0.0, exchanging = 0.0;
    std::size_t iterations = 0, exchanges = 0, bytes = 0;
};

// The largest of every rank's value.
double slowest(const mpi::communicator& c, double v) {
    double m = 0.0;
    MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, c.native());
    return m;
}

template <class Make>
measured run_once(const mpi::communicator& world, const mpi::row_partition& part, Make&& make, const std::string& method,
                  std::size_t iterations) {
    auto f = mpi::distribute(world, part, make);
    auto theta = initialize(out, w, init::lecun_normal, 7);
    stopping stop;
    stop.max_iterations = iterations;
    stop.gradient_tolerance = 0.0;
    MPI_Barrier(world.native());
    const auto t0 = std::chrono::steady_clock::now();
    result r;
    if (method == "hf") {
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        hessian_free opt(o);
        r = minimize(f, theta, opt, stop);
    } else if (method == "hf-sample") {
        f.use_curvature_sample(300, 13);
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        hessian_free opt(o);
        r = minimize(f, theta, opt, stop);
    } else if (method == "lbfgs") {
        lbfgs opt;
        r = minimize(f, theta, opt, stop);
    } else if (method == "kfac") {
        kfac::options o;
        o.inverse_interval = 10;
        kfac opt(o);
        r = minimize(f, theta, opt, stop);
    } else if (method == "dbn-sample") {
        f.use_curvature_sample(300, 13);
        damped_block_newton opt;
        r = minimize(f, theta, opt, stop);
    } else {
        f.use_minibatches(240, 3);
        adam opt(adam_options{.learning_rate = 0.01});
        r = minimize(f, theta, opt, stop);
    }
    measured m;
    m.seconds = slowest(world, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    m.computing = slowest(world, f.seconds_computing());
    m.exchanging = slowest(world, f.communication().seconds_communicating);
    m.iterations = r.iterations;
    m.exchanges = f.communication().exchanges;
    m.bytes = f.communication().bytes_sent + f.communication().bytes_received;
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const bool root = world.rank() == 0;
    int rounds = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::stoi(argv[++i]);
        else {
            if (root) std::fprintf(stderr, "usage: %s [--rounds R]\n", argv[0]);
            return 2;
        }
    }
    if (root) bench::print_environment("bench_mpi_scaling");

    const tensor data = read_csv(GATEAUX_SOURCE_DIR "/examples/data/digits.csv");
    const tensor X = cols(data, 0, 64) / 16.0, Y = one_hot(cols(data, 64, 1), 10);
    const mpi::row_partition part(world, X.shape(0), 12);
    const tensor Xs = part.shard_of(X), Ys = part.shard_of(Y);
    auto make = [&](const mpi::chunk& c) {
        auto g = make_objective(loss, w);
        g.set_data(x, c.take(Xs, part.shard_rows())).set_data(y, c.take(Ys, part.shard_rows()));
        return g;
    };
    if (root)
        std::printf("ranks %d, chunks 12, rows 1797, parameters 2368, rounds %d (median of the slowest rank)\n\n"
                    "| optimizer | iterations | ms / iteration | local work ms / it | exchanges ms / it | exchanges / it | KiB / it (this rank) |\n"
                    "|---|---|---|---|---|---|---|\n",
                    world.size(), rounds);
    struct row {
        std::string method;
        std::size_t iterations;
    };
    for (const row& m : {row{"hf", 10}, row{"hf-sample", 10}, row{"lbfgs", 50}, row{"adam", 200}, row{"kfac", 20},
                         row{"dbn-sample", 3}}) {
        std::vector<measured> runs;
        run_once(world, part, make, m.method, std::min<std::size_t>(m.iterations, 3));  // warm-up
        for (int k = 0; k < rounds; ++k) runs.push_back(run_once(world, part, make, m.method, m.iterations));
        std::sort(runs.begin(), runs.end(), [](const measured& a, const measured& b) { return a.seconds < b.seconds; });
        const measured& med = runs[runs.size() / 2];
        const double it = double(std::max<std::size_t>(1, med.iterations));
        if (root)
            std::printf("| %s | %zu | %.3f | %.3f | %.3f | %.1f | %.1f |\n", m.method.c_str(), med.iterations, 1e3 * med.seconds / it,
                        1e3 * med.computing / it, 1e3 * med.exchanging / it, double(med.exchanges) / it,
                        double(med.bytes) / 1024.0 / it);
    }
    return 0;
}
