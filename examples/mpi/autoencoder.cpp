// The deep autoencoder of examples/autoencoder.cpp trained across MPI ranks: every rank reads the
// images, keeps its shard, and runs the same optimizer on a distributed objective
// (include/gateaux/mpi/objective.hpp), so every rank ends with the same parameters.
//
//   mpirun -np 2 build/examples/example_autoencoder_mpi                  K-FAC, all 1797 rows
//   mpirun -np 4 build/examples/example_autoencoder_mpi --optimizer hf
//   options: --optimizer kfac|hf|shampoo|adam|lbfgs  --iterations N (default 40 for K-FAC and
//            Hessian-free, 200 for L-BFGS, 400 for the minibatch methods)  --rows R  --chunks K  --data FILE
//
//   network   examples/autoencoder_network.hpp: 64 → 128 → 32 → 8 → 32 → 128 → 64 with biases,
//             tanh, a linear code layer; mean over rows of ½‖out − x‖² (25 480 parameters)
//   data      the first R images of a fixed shuffle (default all 1797), pixels in [0, 1], in K
//             chunks (default 12)
//   kfac      factors from sampled targets, inverses every 10 iterations (their statistics are
//             every chunk's rows: two exchanges per statistics pass)
//   hf        Gauss–Newton products on a 300-row curvature sample (drawn per chunk), at most 20 CG steps
//   shampoo   Adam-grafted, lr 3e-3, roots every 10, minibatches of 128 (drawn per chunk)
//
// Rank 0 prints the run; each rank then reports its exchanges, bytes and time. Exit 1 unless the
// parameters are bitwise equal on every rank and the reconstruction error is finite and below
// half the mean image's (the best constant output).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "../autoencoder_network.hpp"
#include <gateaux/mpi.hpp>

#include "report.hpp"

using namespace gateaux;

namespace {

using autoencoder::loss;
using autoencoder::out;
using autoencoder::w;
using autoencoder::x;
using autoencoder::y;

using autoencoder::initial_weights;

}  // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const bool root = world.rank() == 0;

    std::string data_path = "examples/data/digits.csv", method = "kfac";
    std::size_t iterations = 0, chunks = 12, rows = 1797;  // iterations 0: the method's default
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--optimizer" && i + 1 < argc) method = argv[++i];
        else if (a == "--iterations" && i + 1 < argc) iterations = std::stoul(argv[++i]);
        else if (a == "--rows" && i + 1 < argc) rows = std::stoul(argv[++i]);
        else if (a == "--chunks" && i + 1 < argc) chunks = std::stoul(argv[++i]);
        else if (a == "--data" && i + 1 < argc) data_path = argv[++i];
        else {
            if (root)
                std::fprintf(stderr,
                             "usage: %s [--optimizer kfac|hf|shampoo|adam|lbfgs] [--iterations N] [--rows R] [--chunks K] "
                             "[--data FILE]\n",
                             argv[0]);
            return 2;
        }
    }
    const std::vector<std::string> methods{"kfac", "hf", "shampoo", "adam", "lbfgs"};
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
        if (root) std::fprintf(stderr, "%s: unknown optimizer '%s' (kfac, hf, shampoo, adam or lbfgs)\n", argv[0], method.c_str());
        return 2;
    }

    if (iterations == 0) iterations = method == "kfac" || method == "hf" ? 40 : method == "lbfgs" ? 200 : 400;

    // Every rank reads the file and shuffles it the same way; the objective keeps only its shard.
    const tensor all = cols(read_csv(data_path), 0, 64) / 16.0;
    if (rows > all.shape(0)) {
        if (root) std::fprintf(stderr, "%s: --rows %zu, but %s has %zu\n", argv[0], rows, data_path.c_str(), all.shape(0));
        return 2;
    }
    std::vector<std::size_t> order(all.shape(0));
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::shuffle(order.begin(), order.end(), std::mt19937_64(2026));
    tensor X = tensor::from_shape({rows, 64});
    for (std::size_t i = 0; i < rows; ++i) std::copy_n(all.data() + order[i] * 64, 64, X.data() + i * 64);
    // The error of the best constant output, the mean image: ½·mean_b ‖x_b − x̄‖².
    const double mean_image = autoencoder::mean_image_error(X);

    const mpi::row_partition part(world, rows, chunks);
    const tensor Xs = part.shard_of(X, "X");
    auto build = [&] {
        return mpi::distribute(world, part, [&](const mpi::chunk& c) {
            auto g = make_objective(loss, w);
            const tensor mine = c.take(Xs, part.shard_rows(), "X");
            g.set_data(x, mine).set_data(y, mine);
            return g;
        });
    };
    auto f = build();
    if (root)
        std::printf("%d ranks, %zu chunks, %zu rows; rank 0 holds rows %zu..%zu; optimizer %s; the mean image's error %.4f\n",
                    world.size(), chunks, rows, part.shard_first(), part.shard_first() + part.shard_rows() - 1, method.c_str(),
                    mean_image);

    param_set theta = initial_weights(f);
    const double initial = f.value(theta);
    stopping stop;
    stop.max_iterations = iterations;
    stop.gradient_tolerance = 1e-10;
    result r;
    const auto t0 = std::chrono::steady_clock::now();
    if (method == "kfac") {
        kfac::options o;
        o.inverse_interval = 10;
        kfac opt(o);
        r = minimize(f, theta, opt, stop);
    } else if (method == "hf") {
        f.use_curvature_sample(std::min<std::size_t>(300, rows), 11);
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        o.max_cg_iterations = 20;
        hessian_free opt(o);
        r = minimize(f, theta, opt, stop);
    } else if (method == "shampoo") {
        f.use_minibatches(std::min<std::size_t>(128, rows), 3);
        shampoo opt(shampoo_options{.learning_rate = 3e-3, .root_every = 10, .graft = shampoo_graft::adam});
        r = minimize(f, theta, opt, stop);
    } else if (method == "adam") {
        f.use_minibatches(std::min<std::size_t>(128, rows), 3);
        adam opt(adam_options{.learning_rate = 3e-3});
        r = minimize(f, theta, opt, stop);
    } else {
        lbfgs opt;
        r = minimize(f, theta, opt, stop);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // The reconstruction error on every row (a minibatch method's loss is of its last batch).
    const double error = f.minibatched() ? build().value(theta) : f.value(theta);

    const bool same = example::same_on_every_rank(world, theta);
    const bool good = std::isfinite(error) && error < 0.5 * mean_image;
    if (root) {
        std::printf("%s after %zu iterations: reconstruction error %.4f (from %.4f), %.3f s (%.1f ms per iteration)\n",
                    to_string(r.reason), r.iterations, error, initial, seconds,
                    1e3 * seconds / double(std::max<std::size_t>(1, r.iterations)));
        std::printf("%s the parameters are bitwise equal on every rank\n", same ? "[ok]" : "[FAILED]");
        std::printf("%s the error %.4f is below half the mean image's, %.4f\n", good ? "[ok]" : "[FAILED]", error, 0.5 * mean_image);
    }
    example::print_traffic(world, f);
    return same && good ? 0 : 1;
}
