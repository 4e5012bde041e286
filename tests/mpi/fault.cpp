// A run in which one rank fails mid-way, for the fault tests of tests/mpi/CMakeLists.txt (driven
// by expect_abort.sh): every rank must exit non-zero, promptly, with the failing rank named.
//
//   test_mpi_fault objective   the last rank's chunk objective throws at its third gradient;
//                              every rank throws distributed_error, which nobody catches
//   test_mpi_fault outside     the last rank throws in its own code (the iteration callback)
//                              while the others wait in the next exchange
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>

#include <gateaux/gateaux.hpp>
#include <gateaux/mpi.hpp>

using namespace gateaux;

constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 2>;
constexpr auto W = param<"W", 4, 2>;
constexpr auto loss = mean(squared_error(tanh(x * W), y));
using graph = decltype(make_objective(loss, wrt(W)));

// A chunk objective that throws at its third gradient where told to.
class flaky final : public objective, public data_batches {
public:
    flaky(graph g, bool fail) : g_(std::move(g)), fail_(fail) {}
    std::vector<std::string> names() const override { return g_.names(); }
    param_set parameters_like() const override { return g_.parameters_like(); }
    double value(const param_set& p) override { return g_.value(p); }
    double value_and_gradient(const param_set& p, param_set& gr) override {
        if (fail_ && ++calls_ == 3) throw std::runtime_error("injected failure at the third gradient");
        return g_.value_and_gradient(p, gr);
    }
    std::size_t data_rows() const override { return g_.data_rows(); }
    std::size_t batch_rows() const override { return g_.batch_rows(); }
    bool minibatched() const override { return g_.minibatched(); }
    void next_batch() override { g_.next_batch(); }

private:
    graph g_;
    bool fail_;
    int calls_ = 0;
};

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode != "objective" && mode != "outside") {
        std::fprintf(stderr, "usage: %s objective|outside\n", argv[0]);
        return 2;
    }
    mpi::communicator world;
    const int last = world.size() - 1;
    std::mt19937_64 gen(1);
    std::normal_distribution<double> d;
    tensor X = tensor::from_shape({48, 4}), Y = tensor::from_shape({48, 2});
    for (double& v : X) v = d(gen);
    for (double& v : Y) v = 0.5 * d(gen);
    const mpi::row_partition part(world, 48, 4);
    const tensor Xs = part.shard_of(X), Ys = part.shard_of(Y);
    auto f = mpi::distribute(
        world, part,
        [&](const mpi::chunk& c) {
            auto g = make_objective(loss, wrt(W));
            g.set_data(x, c.take(Xs, part.shard_rows())).set_data(y, c.take(Ys, part.shard_rows()));
            return flaky(std::move(g), mode == "objective" && world.rank() == last);
        },
        mpi::row_reduction::mean);
    param_set p = f.parameters_like();
    p[0].fill(0.1);
    stopping s;
    s.max_iterations = 1000;
    s.gradient_tolerance = 0.0;
    int seen = 0;
    gradient_descent opt(0.01);
    minimize(f, p, opt, s, [&](const iteration_record&, const param_set&) {
        if (mode == "outside" && world.rank() == last && ++seen == 3) throw std::runtime_error("injected failure outside the objective");
        return true;
    });
    std::printf("rank %d: the run ended without the injected failure\n", world.rank());
    return 0;
}
