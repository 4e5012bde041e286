// The digits network of examples/digits.cpp trained across MPI ranks: every rank reads the data,
// keeps its shard of the training rows, and runs the same optimizer on a distributed objective
// (include/gateaux/mpi/objective.hpp), so every rank ends with the same parameters.
//
//   mpirun -np 2 build/examples/example_digits_mpi                  Hessian-free, Gauss–Newton
//   mpirun -np 4 build/examples/example_digits_mpi --optimizer lbfgs
//   options: --optimizer hf|lbfgs|adam  --iterations N  --chunks K  --data FILE
//
//   network   64 → 32 → 10, tanh hidden layer, identity output; mean of ½‖out − y‖²
//   data      1500 training rows in K chunks (default 12), 297 held out (the split of digits.cpp)
//
// Rank 0 prints the run; each rank then reports its time computing and communicating and the
// bytes it exchanged. The parameters are checked to be bitwise equal on every rank (exit 1 if
// not, or if the held-out accuracy is below 85%).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/mpi.hpp>

#include "report.hpp"

using namespace gateaux;

namespace {

constexpr auto x = input<"x", 64>;
constexpr auto y = target<"y", 10>;
constexpr auto out = mlp<64, 32, 10>(x, act::tanh, act::identity);
constexpr auto loss = mse(out, y);
constexpr auto w = wrt(param<"W1", 64, 32>, param<"W2", 32, 10>);

// Rows `order[from .. from + count)` of t.
tensor take(const tensor& t, const std::vector<std::size_t>& order, std::size_t from, std::size_t count) {
    tensor r = tensor::from_shape({count, t.shape(1)});
    for (std::size_t i = 0; i < count; ++i)
        std::copy_n(t.data() + order[from + i] * t.shape(1), t.shape(1), r.data() + i * t.shape(1));
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const bool root = world.rank() == 0;

    std::string data_path = "examples/data/digits.csv", method = "hf";
    std::size_t iterations = 30, chunks = 12;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--optimizer" && i + 1 < argc) method = argv[++i];
        else if (a == "--iterations" && i + 1 < argc) iterations = std::stoul(argv[++i]);
        else if (a == "--chunks" && i + 1 < argc) chunks = std::stoul(argv[++i]);
        else if (a == "--data" && i + 1 < argc) data_path = argv[++i];
        else {
            if (root)
                std::fprintf(stderr, "usage: %s [--optimizer hf|lbfgs|adam] [--iterations N] [--chunks K] [--data FILE]\n",
                             argv[0]);
            return 2;
        }
    }
    if (method != "hf" && method != "lbfgs" && method != "adam") {
        if (root) std::fprintf(stderr, "%s: unknown optimizer '%s' (hf, lbfgs or adam)\n", argv[0], method.c_str());
        return 2;
    }

    // Every rank reads the file and shuffles it the same way; the objective keeps only its shard.
    const tensor data = read_csv(data_path);
    const tensor X = cols(data, 0, 64) / 16.0, Y = one_hot(cols(data, 64, 1), 10);
    std::vector<std::size_t> order(X.shape(0));
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::shuffle(order.begin(), order.end(), std::mt19937_64(2026));
    const std::size_t held_out = 297, train_rows = 1500;
    const tensor X_train = take(X, order, held_out, train_rows), Y_train = take(Y, order, held_out, train_rows);

    const mpi::row_partition part(world, train_rows, chunks);
    const tensor Xs = part.shard_of(X_train, "X"), Ys = part.shard_of(Y_train, "Y");
    auto f = mpi::distribute(world, part, [&](const mpi::chunk& c) {
        auto g = make_objective(loss, w);
        g.set_data(x, c.take(Xs, part.shard_rows(), "X")).set_data(y, c.take(Ys, part.shard_rows(), "Y"));
        return g;
    });
    if (root)
        std::printf("%d ranks, %zu chunks; rank 0 holds rows %zu..%zu; optimizer %s\n", world.size(), chunks,
                    part.shard_first(), part.shard_first() + part.shard_rows() - 1, method.c_str());

    auto theta = initialize(out, w, init::lecun_normal, 7);
    stopping stop;
    stop.max_iterations = iterations;
    stop.gradient_tolerance = 1e-8;
    result r;
    const auto t0 = std::chrono::steady_clock::now();
    if (method == "hf") {
        hessian_free::options o;
        o.curvature = curvature_matrix::gauss_newton;
        hessian_free opt(o);
        r = minimize(f, theta, opt, stop);
    } else if (method == "lbfgs") {
        lbfgs opt;
        r = minimize(f, theta, opt, stop);
    } else {
        f.use_minibatches(120, 3);
        adam_options o;
        o.learning_rate = 0.01;
        adam opt(o);
        r = minimize(f, theta, opt, stop);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const bool same = example::same_on_every_rank(world, theta);

    const double acc = accuracy(predict(out, w, theta, x, take(X, order, 0, held_out)), take(Y, order, 0, held_out));
    if (root) {
        std::printf("%s after %zu iterations: training loss %.5f, held-out accuracy %.4f, %.3f s (%.2f ms per iteration)\n",
                    to_string(r.reason), r.iterations, r.final_loss, acc, seconds, 1e3 * seconds / double(std::max<std::size_t>(1, r.iterations)));
        std::printf("evaluations: %zu values, %zu gradients, %zu Gauss-Newton products\n", r.counts.values, r.counts.gradients,
                    r.counts.gauss_newton_vectors);
        std::printf("%s the parameters are bitwise equal on every rank\n", same ? "[ok]" : "[FAILED]");
        std::printf("%s held-out accuracy %.4f (at least 0.85)\n", acc >= 0.85 ? "[ok]" : "[FAILED]", acc);
    }
    example::print_traffic(world, f);
    return same && acc >= 0.85 ? 0 : 1;
}
