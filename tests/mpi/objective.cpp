// Tests of include/gateaux/mpi/: the distributed objective on however many ranks mpirun starts
// (ctest runs this at 1, 2, 3 and 4). Every rank runs every test case in the same order.
//
// Oracles. The same objective on MPI_COMM_SELF (one rank holding all 12 chunks) must give
// bitwise the iterates of the world's ranks: that is the determinism claim, checked on each
// rank. One process evaluating all rows at once (a plain graph objective) must agree to
// rounding. The faults are injected on the last rank; every rank must throw, naming it.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/mpi.hpp>

namespace {

using namespace gateaux;

constexpr auto x = input<"x", 5>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 5, 7>;
constexpr auto b1 = bias<"b1", 7>;
constexpr auto W2 = param<"W2", 7, 3>;
constexpr auto net = tanh(x * W1 + b1) * W2;
constexpr auto mean_loss = mean(squared_error(net, y)) + l2<1e-3>(W1, W2);
constexpr auto sum_loss = sum(squared_error(net, y));
constexpr auto w = wrt(W1, b1, W2);
// A bias before its weight, with a penalty of its own, and a bias alone on the output.
constexpr auto V1 = param<"W1", 5, 3>;
constexpr auto c2 = bias<"b2", 3>;
constexpr auto lone_loss = mean(squared_error(tanh(x * V1 + bias<"b1", 3>) + c2, y)) + l2<0.1>(bias<"b1", 3>);
constexpr auto lone_w = wrt(bias<"b1", 3>, V1, c2);

constexpr std::size_t all_rows = 97, chunks = 12;  // 97 = 12·8 + 1: chunks of 8 and 9 rows

struct data_set {
    tensor X, Y;
    data_set() {
        std::mt19937_64 gen(2024);
        std::normal_distribution<double> d;
        X = tensor::from_shape({all_rows, 5});
        Y = tensor::from_shape({all_rows, 3});
        for (double& v : X) v = d(gen);
        for (double& v : Y) v = 0.5 * d(gen);
    }
};
const data_set& data() {
    static const data_set d;
    return d;
}

param_set start() {
    std::mt19937_64 gen(7);
    std::normal_distribution<double> d;
    param_set p({tensor::from_shape({5, 7}), tensor::from_shape({1, 7}), tensor::from_shape({7, 3})});
    for (tensor& t : p)
        for (double& v : t) v = 0.4 * d(gen);
    return p;
}

// The distributed objective of `loss` over comm, in the parameters ws.
template <class Loss, class Ws = decltype(w)>
auto distributed(const mpi::communicator& comm, Loss loss, Ws ws = w) {
    const mpi::row_partition part(comm, all_rows, chunks);
    const tensor Xs = part.shard_of(data().X, "X"), Ys = part.shard_of(data().Y, "Y");
    return mpi::distribute(comm, part, [&](const mpi::chunk& c) {
        auto f = make_objective(loss, ws);
        f.set_data(x, c.take(Xs, part.shard_rows(), "X")).set_data(y, c.take(Ys, part.shard_rows(), "Y"));
        return f;
    });
}

// One process on all rows.
template <class Loss, class Ws = decltype(w)>
auto plain(Loss loss, Ws ws = w) {
    auto h = make_objective(loss, ws);
    h.set_data(x, data().X).set_data(y, data().Y);
    return h;
}

bool bitwise_equal(const param_set& a, const param_set& b) {
    if (!a.same_shape(b)) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(double)) != 0) return false;
    return true;
}
double relative_difference(const param_set& a, const param_set& b) {
    param_set d = a.zeros_like();
    d.assign(a);
    d.axpy(-1.0, b);
    return d.norm() / std::max(1e-300, b.norm());
}

// The iterates of a run, through the callback.
struct trace {
    std::vector<param_set> points;
    std::vector<double> losses;
    std::string message;  // how the run ended
    iteration_callback callback() {
        return [this](const iteration_record& r, const param_set& p) {
            points.push_back(p.zeros_like());
            points.back().assign(p);
            losses.push_back(r.loss);
            return true;
        };
    }
};

template <class F, class Opt>
trace run(F& f, Opt opt, std::size_t iterations) {
    trace t;
    param_set p = start();
    stopping s;
    s.max_iterations = iterations;
    s.gradient_tolerance = 0.0;
    t.message = minimize(f, p, opt, s, t.callback()).message;
    return t;
}

void check_same(const trace& world, const trace& self) {
    INFO("the run on the world's ranks ended: " << world.message);
    REQUIRE(world.points.size() == self.points.size());
    REQUIRE(!world.points.empty());
    for (std::size_t i = 0; i < world.points.size(); ++i) {
        INFO("iteration " << i + 1);
        CHECK(bitwise_equal(world.points[i], self.points[i]));
        CHECK(std::memcmp(&world.losses[i], &self.losses[i], sizeof(double)) == 0);
    }
}

const mpi::communicator world;
const mpi::communicator self(MPI_COMM_SELF);

}  // namespace

// ================================================================ evaluations

TEST_CASE("mpi: loss, gradient and curvature products equal the one-rank chunked sums bitwise, the all-rows sums to rounding",
          "[mpi]") {
    auto f = distributed(world, mean_loss);
    auto g = distributed(self, mean_loss);
    auto h = plain(mean_loss);
    const param_set p = start();
    param_set v = start();
    for (tensor& t : v)
        for (double& e : t) e = std::cos(e * 3.0);

    param_set gf = p.zeros_like(), gg = p.zeros_like(), gh = p.zeros_like();
    const double lf = f.value_and_gradient(p, gf), lg = g.value_and_gradient(p, gg), lh = h.value_and_gradient(p, gh);
    CHECK(std::memcmp(&lf, &lg, sizeof lf) == 0);
    CHECK(bitwise_equal(gf, gg));
    CHECK(std::abs(lf - lh) <= 1e-14 * std::abs(lh));
    CHECK(relative_difference(gf, gh) <= 1e-13);
    CHECK(f.value(p) == lf);

    param_set of = p.zeros_like(), og = p.zeros_like(), oh = p.zeros_like();
    f.hessian_vector(p, v, of), g.hessian_vector(p, v, og), h.hessian_vector(p, v, oh);
    CHECK(bitwise_equal(of, og));
    CHECK(relative_difference(of, oh) <= 1e-13);
    f.gauss_newton_vector(p, v, of), g.gauss_newton_vector(p, v, og), h.gauss_newton_vector(p, v, oh);
    CHECK(bitwise_equal(of, og));
    CHECK(relative_difference(of, oh) <= 1e-13);
    f.fisher_vector(p, v, of), g.fisher_vector(p, v, og), h.fisher_vector(p, v, oh);
    CHECK(bitwise_equal(of, og));
    CHECK(relative_difference(of, oh) <= 1e-13);

    CHECK(f.data_rows() == all_rows);
    CHECK(f.batch_rows() == all_rows);
    CHECK(f.counts.gradients == 1);
    CHECK(f.counts.hessian_vectors == 1);
    CHECK(f.communication().exchanges >= 5);
}

TEST_CASE("mpi: on minibatches each chunk weighs by its share of the data's rows (an unbiased estimate)", "[mpi]") {
    auto f = distributed(world, mean_loss);
    f.use_minibatches(30, 5);
    const param_set p = start();
    for (int step = 0; step < 3; ++step) {
        const double v = f.value(p);
        double here = 0.0, everywhere = 0.0;
        for (auto& c : f.chunks()) here += double(c.data_rows()) / double(all_rows) * c.value(p);
        MPI_Allreduce(&here, &everywhere, 1, MPI_DOUBLE, MPI_SUM, world.native());
        CHECK(std::abs(v - everywhere) <= 1e-14 * std::abs(v));
        f.next_batch();
    }
}

TEST_CASE("mpi: a loss summed over rows adds the chunks", "[mpi]") {
    auto f = distributed(world, sum_loss);
    auto h = plain(sum_loss);
    REQUIRE(f.reduction() == mpi::row_reduction::sum);
    const param_set p = start();
    param_set gf = p.zeros_like(), gh = p.zeros_like();
    const double lf = f.value_and_gradient(p, gf), lh = h.value_and_gradient(p, gh);
    CHECK(std::abs(lf - lh) <= 1e-14 * std::abs(lh));
    CHECK(relative_difference(gf, gh) <= 1e-13);
}

// ================================================================ optimizers: same iterates on any rank count

TEST_CASE("mpi: L-BFGS takes bitwise the iterates of one rank, and those of one process to rounding", "[mpi]") {
    auto f = distributed(world, mean_loss);
    auto g = distributed(self, mean_loss);
    const trace a = run(f, lbfgs{}, 25), b = run(g, lbfgs{}, 25);
    check_same(a, b);
    auto h = plain(mean_loss);
    const trace c = run(h, lbfgs{}, 5);
    for (std::size_t i = 0; i < c.points.size(); ++i) CHECK(relative_difference(a.points[i], c.points[i]) <= 1e-10);
}

TEST_CASE("mpi: Hessian-free with Gauss–Newton products on a curvature sample takes bitwise the iterates of one rank",
          "[mpi]") {
    hessian_free::options o;
    o.curvature = curvature_matrix::gauss_newton;
    for (const std::uint64_t seed : {1, 2}) {
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        f.use_curvature_sample(36, seed), g.use_curvature_sample(36, seed);
        CHECK(f.curvature_rows() == 36);
        check_same(run(f, hessian_free(o), 8), run(g, hessian_free(o), 8));
    }
}

TEST_CASE("mpi: Adam on minibatches takes bitwise the iterates of one rank", "[mpi]") {
    for (const std::size_t batch : {12, 30}) {
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        f.use_minibatches(batch, 5), g.use_minibatches(batch, 5);
        CHECK(f.batch_rows() == batch);
        adam_options o;
        o.learning_rate = 0.01;
        check_same(run(f, adam(o), 40), run(g, adam(o), 40));
    }
}

TEST_CASE("mpi: Shampoo on minibatches takes bitwise the iterates of one rank", "[mpi]") {
    for (const shampoo_graft graft : {shampoo_graft::none, shampoo_graft::adam}) {
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        f.use_minibatches(24, 8), g.use_minibatches(24, 8);
        const shampoo_options o{.learning_rate = 0.01, .root_every = 3, .graft = graft};
        check_same(run(f, shampoo(o), 20), run(g, shampoo(o), 20));
    }
}

TEST_CASE("mpi: the sampled Fisher draws its targets per chunk, the same on any rank count", "[mpi]") {
    hessian_free::options o;
    o.curvature = curvature_matrix::fisher;
    auto f = distributed(world, mean_loss);
    auto g = distributed(self, mean_loss);
    f.use_fisher(fisher_estimate::sampled, 3), g.use_fisher(fisher_estimate::sampled, 3);
    check_same(run(f, hessian_free(o), 5), run(g, hessian_free(o), 5));
}

TEST_CASE("mpi: layer statistics equal the one-rank chunked ones bitwise, those of one process on all rows to rounding",
          "[mpi]") {
    auto f = distributed(world, mean_loss);
    auto g = distributed(self, mean_loss);
    auto h = plain(mean_loss);
    const param_set p = start();
    const layer_statistics::request what{.sampled_deltas = false, .output_factors = true};
    layer_statistics::result a, b, c;
    f.statistics(p, what, a), g.statistics(p, what, b), h.statistics(p, what, c);
    auto same = [](const tensor& u, const tensor& v) {
        return u.shape() == v.shape() && std::memcmp(u.data(), v.data(), u.size() * sizeof(double)) == 0;
    };
    auto close = [](const tensor& u, const tensor& v) {
        if (u.shape() != v.shape()) return false;
        double d = 0.0, m = 0.0;
        for (std::size_t i = 0; i < u.size(); ++i) d = std::max(d, std::abs(u.data()[i] - v.data()[i])), m = std::max(m, std::abs(v.data()[i]));
        return d <= 1e-13 * m;
    };
    REQUIRE(a.rows == all_rows);
    CHECK(a.rows == c.rows);
    CHECK(a.sample_weight == b.sample_weight);
    CHECK(std::abs(a.sample_weight - c.sample_weight) <= 1e-16 * c.sample_weight);
    CHECK(a.curvature_scale == c.curvature_scale);
    CHECK(std::memcmp(&a.loss, &b.loss, sizeof a.loss) == 0);
    CHECK(std::abs(a.loss - c.loss) <= 1e-14 * std::abs(c.loss));
    CHECK(bitwise_equal(a.gradient, b.gradient));
    CHECK(relative_difference(a.gradient, c.gradient) <= 1e-13);
    REQUIRE(a.blocks.size() == c.blocks.size());
    for (std::size_t k = 0; k < a.blocks.size(); ++k) {
        INFO("block " << k);
        CHECK(a.blocks[k].kind == c.blocks[k].kind);
        CHECK(a.blocks[k].partner == c.blocks[k].partner);
        CHECK(same(a.blocks[k].input, b.blocks[k].input));
        CHECK(same(a.blocks[k].delta, b.blocks[k].delta));
        CHECK(close(a.blocks[k].input, c.blocks[k].input));
        CHECK(close(a.blocks[k].delta, c.blocks[k].delta));
    }
    CHECK(same(a.output_factors, b.output_factors));
    CHECK(close(a.output_factors, c.output_factors));
    CHECK(f.counts.layer_statistics == 1);
}

TEST_CASE("mpi: K-FAC and natural gradient take bitwise the iterates of one rank", "[mpi]") {
    for (const kfac_estimate e : {kfac_estimate::sampled, kfac_estimate::empirical}) {  // exact: one layer only
        INFO("K-FAC estimate " << int(e));
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        check_same(run(f, kfac(kfac_options{.estimate = e}), 8), run(g, kfac(kfac_options{.estimate = e}), 8));
    }
    {  // The Cholesky inverses, refreshed every 3 iterations, with the statistics on a curvature sample.
        const kfac_options o{.inverse_interval = 3, .inverse = kfac_inverse::cholesky};
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        f.use_curvature_sample(48, 9), g.use_curvature_sample(48, 9);
        check_same(run(f, kfac(o), 8), run(g, kfac(o), 8));
    }
    auto f = distributed(world, mean_loss);
    auto g = distributed(self, mean_loss);
    f.use_curvature_sample(48, 9), g.use_curvature_sample(48, 9);
    check_same(run(f, natural_gradient(), 6), run(g, natural_gradient(), 6));
}

TEST_CASE("mpi: layer statistics of a summed loss on a curvature sample are refused", "[mpi]") {
    auto f = distributed(world, sum_loss);
    f.use_curvature_sample(24, 1);
    param_set p = start();
    layer_statistics::result r;
    CHECK_THROWS_WITH(f.statistics(p, {}, r), Catch::Contains("write the loss as a mean over rows"));
}

TEST_CASE("mpi: a checkpoint that rank 0 writes resumes the run bitwise, on the world's ranks and on one", "[mpi]") {
    const std::string dir = "mpi_checkpoint_np" + std::to_string(world.size());
    if (world.rank() == 0) std::filesystem::remove_all(dir);
    MPI_Barrier(world.native());
    const adam_options o{.learning_rate = 0.01};
    auto straight = distributed(world, mean_loss);
    straight.use_minibatches(24, 6).use_curvature_sample(12, 7);
    const trace a = run(straight, adam(o), 20);
    REQUIRE(a.points.size() == 20);
    stopping s;
    s.gradient_tolerance = 0.0;
    s.checkpoint.directory = dir;
    {  // 12 iterations, saved every 5 and at the end: every rank saves, rank 0 writes, all wait for it
        auto f = distributed(world, mean_loss);
        f.use_minibatches(24, 6).use_curvature_sample(12, 7);
        CHECK(f.writes_checkpoints() == (world.rank() == 0));
        param_set p = start();
        s.max_iterations = 12;
        s.checkpoint.every = 5;
        adam opt(o);
        minimize(f, p, opt, s);
        CHECK(bitwise_equal(p, a.points[11]));
        REQUIRE(checkpoint::exists(dir));  // on every rank when minimize returns
    }
    const std::string own = dir + "_rank" + std::to_string(world.rank());  // a copy for each rank's one-rank run
    std::filesystem::remove_all(own);
    std::filesystem::copy(dir, own);
    MPI_Barrier(world.native());
    s.max_iterations = 20;
    // Resumed on the world's ranks, and on one rank holding every chunk (every rank its own run,
    // each writing its final save to a directory of its own).
    for (const mpi::communicator* c : {&world, &self}) {
        INFO((c == &world ? "the world's ranks" : "one rank holding every chunk"));
        auto f = distributed(*c, mean_loss);
        f.use_minibatches(24, 6).use_curvature_sample(12, 7);
        param_set p = start();
        adam opt(o);
        stopping here = s;
        if (c == &self) here.checkpoint.directory = own;
        const result r = minimize(f, p, opt, here);
        CHECK(r.iterations == 20);
        CHECK(bitwise_equal(p, a.points.back()));
    }
    {  // another partition is refused
        const mpi::row_partition part(world, all_rows, chunks / 2);
        const tensor Xs = part.shard_of(data().X), Ys = part.shard_of(data().Y);
        auto f = mpi::distribute(world, part, [&](const mpi::chunk& c) {
            auto g = make_objective(mean_loss, w);
            g.set_data(x, c.take(Xs, part.shard_rows())).set_data(y, c.take(Ys, part.shard_rows()));
            return g;
        });
        f.use_minibatches(24, 6).use_curvature_sample(12, 7);
        param_set p = start();
        adam opt(o);
        CHECK_THROWS_WITH(minimize(f, p, opt, s), Catch::Contains("checkpoint is of 97 rows in 12 chunks"));
    }
    MPI_Barrier(world.native());
    std::filesystem::remove_all(own);
    if (world.rank() == 0) std::filesystem::remove_all(dir);
}

// ================================================================ per-layer blocks

namespace {
// blockdiag(H_l + λI)⁻¹·v from the explicit Hessian of f (its H·v products on unit vectors, so
// what the distributed products see: every chunk, its weight, its curvature scale, the l2
// penalty), cut into the layers {W1, b1} and {W2}, each solved by LAPACK (xt::linalg::solve).
template <class F>
param_set block_reference(F& f, const param_set& p, const param_set& v, double lambda) {
    const std::size_t n = p.count();
    tensor h = tensor::from_shape({n, n});
    param_set e = p.zeros_like(), col = p.zeros_like();
    for (std::size_t j = 0; j < n; ++j) {
        std::vector<double> unit(n, 0.0);
        unit[j] = 1.0;
        std::size_t at = 0;
        for (tensor& t : e)
            for (double& d : t) d = unit[at++];
        f.hessian_vector(p, e, col);
        at = 0;
        for (const tensor& t : col)
            for (double d : t) h(at++, j) = d;
    }
    const std::vector<std::vector<std::size_t>> layers{{0, 1}, {2}};
    std::vector<std::size_t> offset{0};
    for (const tensor& t : p) offset.push_back(offset.back() + t.size());
    param_set out = p.zeros_like();
    for (const auto& layer : layers) {
        std::vector<std::size_t> idx;
        for (std::size_t b : layer)
            for (std::size_t k = offset[b]; k < offset[b + 1]; ++k) idx.push_back(k);
        const std::size_t m = idx.size();
        tensor block = tensor::from_shape({m, m}), rhs = tensor::from_shape({m, 1});
        auto flat = [&](const param_set& q, std::size_t i) -> double {
            std::size_t b = 0;
            while (i >= offset[b + 1]) ++b;
            return q[b].data()[i - offset[b]];
        };
        for (std::size_t i = 0; i < m; ++i) {
            for (std::size_t j = 0; j < m; ++j) block(i, j) = 0.5 * (h(idx[i], idx[j]) + h(idx[j], idx[i])) + (i == j ? lambda : 0.0);
            rhs(i, 0) = flat(v, idx[i]);
        }
        const tensor sol = xt::linalg::solve(block, rhs);
        for (std::size_t i = 0; i < m; ++i) {
            std::size_t b = 0;
            while (idx[i] >= offset[b + 1]) ++b;
            out[b].data()[idx[i] - offset[b]] = sol(i, 0);
        }
    }
    return out;
}
param_set direction_like(const param_set& p, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> d;
    param_set v = p.zeros_like();
    for (tensor& t : v)
        for (double& e : t) e = d(gen);
    return v;
}
}  // namespace

TEST_CASE("mpi: the per-layer blocks of the chunks' factors are the blocks of the distributed Hessian", "[mpi]") {
    const param_set p = start();
    for (const std::uint64_t seed : {1, 2, 3}) {
        const param_set v = direction_like(p, seed);
        for (const double lambda : {0.0, 0.05, 1.0}) {
            INFO("seed " << seed << ", λ = " << lambda);
            {  // mean loss with l2 on all rows, and on minibatches with a curvature sample
                auto f = distributed(world, mean_loss);
                if (seed == 2) f.use_minibatches(40, seed).use_curvature_sample(24, seed);
                param_set got;
                if (lambda == 0.0) f.block_inverse(p, v, got);
                else f.damped_block_inverse(p, v, lambda, got);
                CHECK(relative_difference(got, block_reference(f, p, v, lambda)) <= 1e-10);
            }
            {  // a sum: chunks added, on a curvature sample each chunk's scale its batch rows / sample rows
                auto f = distributed(world, sum_loss);
                if (seed != 1) f.use_curvature_sample(30, seed);
                param_set got;
                if (lambda == 0.0) f.block_inverse(p, v, got);
                else f.damped_block_inverse(p, v, lambda, got);
                CHECK(relative_difference(got, block_reference(f, p, v, lambda)) <= 1e-10);
            }
            {  // b1 before W1 (the layer {b1, W1}, b1 with a penalty of its own), and b2 a layer alone
                auto f = distributed(world, lone_loss, lone_w);
                const param_set q = direction_like(f.parameters_like(), seed + 10), u = direction_like(q, seed + 20);
                param_set got;
                if (lambda == 0.0) f.block_inverse(q, u, got);
                else f.damped_block_inverse(q, u, lambda, got);
                CHECK(relative_difference(got, block_reference(f, q, u, lambda)) <= 1e-10);
                auto h = plain(lone_loss, lone_w);
                param_set one;
                h.damped_block_inverse(q, u, lambda, one);
                CHECK(relative_difference(got, one) <= 1e-10);
            }
        }
    }
}

TEST_CASE("mpi: block solves equal the one-rank ones bitwise, those of one process on all rows to rounding", "[mpi]") {
    auto f = distributed(world, mean_loss);
    auto g = distributed(self, mean_loss);
    auto h = plain(mean_loss);
    const param_set p = start(), v = direction_like(p, 9);
    for (const double lambda : {0.0, 0.3}) {
        INFO("λ = " << lambda);
        param_set a, b, c, ga, gb, gc, sa, sb, sc;
        f.damped_block_inverse(p, v, lambda, a), g.damped_block_inverse(p, v, lambda, b), h.damped_block_inverse(p, v, lambda, c);
        CHECK(bitwise_equal(a, b));
        // Undamped, b1's coordinates carry no penalty: the minimum-norm solve of a block whose
        // condition (about 10⁴ here) amplifies the rounding of the T_b weights (1/97 against
        // (1/N_k)·(N_k/97)).
        const double tol = lambda == 0.0 ? 1e-10 : 1e-12;
        CHECK(relative_difference(a, c) <= tol);
        const double la = f.damped_block_newton_step(p, lambda, ga, sa), lb = g.damped_block_newton_step(p, lambda, gb, sb),
                     lc = h.damped_block_newton_step(p, lambda, gc, sc);
        CHECK(std::memcmp(&la, &lb, sizeof la) == 0);
        CHECK(bitwise_equal(ga, gb));
        CHECK(bitwise_equal(sa, sb));
        CHECK(la == Approx(lc).epsilon(1e-13));
        CHECK(relative_difference(ga, gc) <= 1e-12);
        CHECK(relative_difference(sa, sc) <= tol);
        const double value = f.value(p);
        CHECK(std::memcmp(&la, &value, sizeof la) == 0);
    }
    param_set u;
    // The factors: the chunks' rows, in chunk order, T_b weighted by the chunks' share.
    layer_blocks::result fa, fc;
    f.block_factors(p, layer_blocks::rows::curvature, fa), h.block_factors(p, layer_blocks::rows::curvature, fc);
    REQUIRE(fa.layers.size() == 2);
    CHECK(fa.rows == all_rows);
    const std::vector<layer_blocks::layer> lay = f.layout();
    CHECK(lay[0].weight == 0);
    CHECK(lay[0].bias == 1);
    CHECK(lay[0].decay == 1e-3);
    CHECK(lay[1].weight == 2);
    CHECK(lay[1].bias == layer_blocks::none);
    for (std::size_t l = 0; l < 2; ++l) {
        CHECK(std::memcmp(fa.layers[l].input.data(), fc.layers[l].input.data(), fc.layers[l].input.size() * sizeof(double)) == 0);
        tensor d = fa.layers[l].curvature - fc.layers[l].curvature;
        CHECK(double(xt::amax(xt::abs(d))()) <= 1e-15 * double(xt::amax(xt::abs(fc.layers[l].curvature))()));
    }
    // A negative damping, or a direction that is not finite, is refused on every rank alike, before any exchange.
    CHECK_THROWS_AS(f.damped_block_inverse(p, v, -1.0, u), value_error);
    param_set bad = v.zeros_like();
    bad.assign(v);
    bad[2](1, 2) = std::nan("");
    CHECK_THROWS_WITH(f.block_inverse(p, bad, u), Catch::Contains("direction 'v.W2'") && Catch::Contains("(1, 2)"));
}

TEST_CASE("mpi: damped block Newton takes bitwise the iterates of one rank, and those of one process to rounding", "[mpi]") {
    {
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        const trace a = run(f, damped_block_newton{}, 12), b = run(g, damped_block_newton{}, 12);
        check_same(a, b);
        auto h = plain(mean_loss);
        const trace c = run(h, damped_block_newton{}, 4);
        REQUIRE(c.points.size() == 4);
        for (std::size_t i = 0; i < c.points.size(); ++i) CHECK(relative_difference(a.points[i], c.points[i]) <= 1e-10);
        REQUIRE(a.points.size() == 12);
        for (std::size_t i = 1; i < a.losses.size(); ++i) CHECK(a.losses[i] <= a.losses[i - 1]);
    }
    {  // minibatches with a curvature sample: the step from value_and_gradient and damped_block_inverse
        auto f = distributed(world, mean_loss);
        auto g = distributed(self, mean_loss);
        f.use_minibatches(48, 4).use_curvature_sample(24, 5), g.use_minibatches(48, 4).use_curvature_sample(24, 5);
        check_same(run(f, damped_block_newton{}, 10), run(g, damped_block_newton{}, 10));
    }
    {  // a sum, the step rescaled by the whole Gauss–Newton model
        damped_block_newton::options o;
        o.rescale = true;
        auto f = distributed(world, sum_loss);
        auto g = distributed(self, sum_loss);
        check_same(run(f, damped_block_newton(o), 8), run(g, damped_block_newton(o), 8));
    }
}

// ================================================================ faults

TEST_CASE("mpi: a rank that fails to build its chunks fails every rank, which names it", "[mpi][fault]") {
    const int last = world.size() - 1;
    const mpi::row_partition part(world, all_rows, chunks);
    const tensor Xs = part.shard_of(data().X), Ys = part.shard_of(data().Y);
    try {
        mpi::distribute(world, part, [&](const mpi::chunk& c) {
            auto f = make_objective(mean_loss, w);
            tensor X = c.take(Xs, part.shard_rows());
            if (world.rank() == last) X = xt::zeros<double>({c.rows, std::size_t(4)});  // 4 columns, not 5
            f.set_data(x, X).set_data(y, c.take(Ys, part.shard_rows()));
            return f;
        });
        FAIL("no error");
    } catch (const mpi::distributed_error& e) {
        const std::string m = e.what();
        INFO(m);
        CHECK(e.rank == last);
        CHECK(m.find("rank " + std::to_string(last) + " failed") != std::string::npos);
        CHECK(m.find("'x'") != std::string::npos);
    }
}

TEST_CASE("mpi: a chunk whose row count differs from the partition's is refused on every rank", "[mpi][fault]") {
    const int last = world.size() - 1;
    const mpi::row_partition part(world, all_rows, chunks);
    const tensor Xs = part.shard_of(data().X), Ys = part.shard_of(data().Y);
    try {
        mpi::distribute(world, part, [&](const mpi::chunk& c) {
            auto f = make_objective(mean_loss, w);
            const std::size_t n = (world.rank() == last && c.index == part.end_chunk(last) - 1) ? c.rows - 1 : c.rows;
            f.set_data(x, tensor(xt::view(c.take(Xs, part.shard_rows()), xt::range(0, n), xt::all())));
            f.set_data(y, tensor(xt::view(c.take(Ys, part.shard_rows()), xt::range(0, n), xt::all())));
            return f;
        });
        FAIL("no error");
    } catch (const mpi::distributed_error& e) {
        const std::string m = e.what();
        INFO(m);
        CHECK(e.rank == last);
        CHECK(m.find("chunk " + std::to_string(chunks - 1)) != std::string::npos);
        CHECK(m.find("the partition gives it") != std::string::npos);
    }
    // A chunk objective that draws its own minibatches would never be moved on: refused.
    try {
        mpi::distribute(world, part, [&](const mpi::chunk& c) {
            auto f = make_objective(mean_loss, w);
            f.set_data(x, c.take(Xs, part.shard_rows())).set_data(y, c.take(Ys, part.shard_rows()));
            if (world.rank() == last) f.use_minibatches(2, 1);
            return f;
        });
        FAIL("no error");
    } catch (const mpi::distributed_error& e) {
        INFO(e.what());
        CHECK(e.rank == last);
        CHECK(std::string(e.what()).find("draws minibatches or a curvature sample of its own") != std::string::npos);
    }
    // A shard of the wrong size is refused by chunk::take on its rank, and so on every rank.
    try {
        mpi::distribute(world, part, [&](const mpi::chunk& c) {
            auto f = make_objective(mean_loss, w);
            const tensor& X = world.rank() == last ? data().X : Xs;
            f.set_data(x, c.take(X, part.shard_rows(), "X")).set_data(y, c.take(Ys, part.shard_rows(), "Y"));
            return f;
        });
        if (world.size() > 1) FAIL("no error");
    } catch (const mpi::distributed_error& e) {
        const std::string m = e.what();
        INFO(m);
        CHECK(m.find("X has 97 rows; this rank's shard has") != std::string::npos);
    }
}

TEST_CASE("mpi: ranks whose parameters differ are stopped, not left to diverge", "[mpi][fault]") {
    auto f = distributed(world, mean_loss);
    param_set p = start();
    if (world.rank() == world.size() - 1 && world.size() > 1) p[0](0, 0) += 1e-15;
    if (world.size() == 1) {
        CHECK_NOTHROW(f.value(p));
        return;
    }
    try {
        f.value(p);
        FAIL("no error");
    } catch (const mpi::distributed_error& e) {
        INFO(e.what());
        CHECK(e.rank == -1);
        CHECK(std::string(e.what()).find("hold different parameters") != std::string::npos);
    }
}

TEST_CASE("mpi: more ranks than chunks, and batches that leave a chunk without rows, are refused; samples nest in batches",
          "[mpi][fault]") {
    if (world.size() > 1) CHECK_THROWS_WITH(mpi::row_partition(world, all_rows, 1), Catch::Contains("a rank needs at least one chunk"));
    CHECK_THROWS_WITH(mpi::row_partition(world, 5, 12), Catch::Contains("5 rows cannot fill 12 chunks"));
    auto f = distributed(world, mean_loss);
    CHECK_THROWS_WITH(f.use_minibatches(11), Catch::Contains("a batch of 11 rows; it needs one row from each of the 12 chunks"));
    CHECK_THROWS_WITH(f.use_minibatches(98), Catch::Contains("at most the data's 97"));
    CHECK_THROWS_WITH(f.use_curvature_sample(11), Catch::Contains("a curvature sample of 11 rows; it needs one row from each of the 12 chunks"));
    CHECK(!f.minibatched());
    CHECK(f.curvature_rows() == all_rows);
    // A sample as large as the batch is the batch.
    f.use_minibatches(40, 1).use_curvature_sample(500, 2);
    CHECK(f.batch_rows() == 40);
    CHECK(f.curvature_rows() == 40);
    f.use_curvature_sample(24, 2);
    CHECK(f.curvature_rows() == 24);
    std::size_t here = 0;
    for (auto& c : f.chunks()) {
        here += c.curvature_rows();
        CHECK(c.curvature_rows() <= c.batch_rows());
    }
    std::size_t everywhere = 0;
    MPI_Allreduce(&here, &everywhere, 1, MPI_UINT64_T, MPI_SUM, world.native());
    CHECK(everywhere == 24);
}

int main(int argc, char** argv) {
    gateaux::mpi::environment env(argc, argv);
    return Catch::Session().run(argc, argv);
}
