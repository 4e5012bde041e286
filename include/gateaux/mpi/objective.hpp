#pragma once
// An objective whose rows are spread over MPI ranks. Every optimizer runs on it unchanged: each
// rank runs the same optimizer on the same parameters, and each evaluation (loss, gradient, a
// curvature product) is computed chunk by chunk on the ranks that hold the chunks, then combined.
//
//   gateaux::mpi::environment env(argc, argv);
//   gateaux::mpi::communicator world;
//   gateaux::mpi::row_partition part(world, X.shape(0), 12);         // 12 chunks
//   const tensor Xs = part.shard_of(X), Ys = part.shard_of(Y);       // or read only this rank's rows
//   auto f = gateaux::mpi::distribute(world, part, [&](const gateaux::mpi::chunk& c) {
//       auto g = make_objective(loss, wrt(W1, W2));
//       g.set_data(x, c.take(Xs, part.shard_rows())).set_data(y, c.take(Ys, part.shard_rows()));
//       return g;
//   });
//   minimize(f, theta, lbfgs{});                                     // on every rank
//
// Combination. The objective is Σ_k w_k·f_k over the chunks' objectives f_k: w_k = 1 for a loss
// that is a sum over rows, w_k = N_k/N (the chunk's share of the data's rows) for a mean over rows
// (plus terms without data, such as l2, which the weights then sum to once). Chunk k's result
// r_k (its loss, gradient or product) is gathered to every rank (MPI_Allgatherv: each rank sends
// its chunks', in chunk order), and every rank forms Σ_k w_k·r_k in chunk order. The same numbers
// in the same order on every rank: the ranks' iterates are bitwise equal, and, for a fixed number
// of chunks K, equal to those of any other number of ranks (with the same BLAS kernels on every
// rank). Against one process evaluating all rows at once they agree to rounding (about 1e-15
// relative): its sums run in another order.
//
// Rows in use. Minibatches and curvature samples are drawn per chunk, by the chunk's objective,
// from a seed made from the caller's seed and k: a batch of B rows takes one row from each chunk
// and the other B − K in proportion to the chunks' rows (row_partition::share), a curvature
// sample likewise from the chunks' batch rows. Each chunk's mean then estimates the chunk's, and
// Σ_k (N_k/N)·f_k the whole set's (a stratified estimate). Sampled Fisher targets are drawn per
// chunk too, each chunk with its own seed (use_fisher sets them).
//
// Communication per evaluation: one MPI_Allgatherv of K·(n + 2) + 2·R doubles for a gradient of n
// parameters (K·(n + 1) + 2·R for a curvature product, 2·K + 2·R for a value; K chunks, R ranks),
// whatever the rows; the layer statistics and the block solver's factors exchange their rows.
// communication() counts exchanges, bytes and time. Faults: see mpi/communicator.hpp.
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core/errors.hpp"
#include "../io/state.hpp"
#include "../optim/capabilities.hpp"
#include "../optim/layer_blocks.hpp"
#include "../optim/objective.hpp"
#include "communicator.hpp"
#include "state_codec.hpp"
#include "partition.hpp"

namespace gateaux::mpi {

// How a loss combines its rows, and so how chunks combine.
enum class row_reduction { sum, mean };

namespace detail {
template <class Local>
struct reduction_of {
    static constexpr bool graph = false, known = false;
};
template <class L>
inline constexpr bool is_mean = false;
template <class E>
inline constexpr bool is_mean<node<mean_op, E>> = true;
template <class Loss, class O, class... P>
struct reduction_of<graph_objective<Loss, O, P...>> {
    static constexpr bool graph = true;
    static constexpr bool sums = gateaux::detail::sums_rows<Loss>;
    static constexpr bool means = [] {
        if constexpr (is_mean<Loss>)
            return true;
        else if constexpr (gateaux::detail::curvature::loss_parts<Loss>::ok)
            return is_mean<typename gateaux::detail::curvature::loss_parts<Loss>::data>;
        else
            return false;
    }();
    static constexpr bool known = sums || means;
    static constexpr row_reduction value = sums ? row_reduction::sum : row_reduction::mean;
};

// A seed for chunk k from the caller's (splitmix64 of both).
inline std::uint64_t chunk_seed(std::uint64_t seed, std::size_t k) {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (std::uint64_t(k) + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

inline void pack(const param_set& x, double* out) {
    for (const tensor& t : x) out = std::copy(t.begin(), t.end(), out);
}

template <class Self>
class distributed_hessian : public hessian_products {
public:
    void hessian_vector(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).template product_impl<curvature_matrix::hessian>(x, v, out);
    }
};
template <class Self>
class distributed_gauss_newton : public gauss_newton_products {
public:
    void gauss_newton_vector(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).template product_impl<curvature_matrix::gauss_newton>(x, v, out);
    }
};
template <class Self>
class distributed_fisher : public fisher_products {
public:
    void fisher_vector(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).template product_impl<curvature_matrix::fisher>(x, v, out);
    }
};
template <class Self>
class distributed_statistics : public layer_statistics {
public:
    void statistics(const param_set& x, const request& what, result& out) final {
        static_cast<Self&>(*this).statistics_impl(x, what, out);
    }
};
template <class Self>
class distributed_layer_blocks : public layer_blocks {
public:
    std::vector<layer> layout() const final { return static_cast<const Self&>(*this).layout_impl(); }
    void block_factors(const param_set& x, rows which, result& out) final {
        static_cast<Self&>(*this).factors_impl(x, which, out);
    }
};
template <class Self>
class distributed_block_solver : public block_solver {
public:
    double block_newton_step(const param_set& x, param_set& g, param_set& step) final {
        return static_cast<Self&>(*this).block_step_impl(x, 0.0, false, g, step);
    }
    void block_inverse(const param_set& x, const param_set& v, param_set& out) final {
        static_cast<Self&>(*this).block_inverse_impl(x, v, 0.0, false, out);
    }
    void damped_block_inverse(const param_set& x, const param_set& v, double lambda, param_set& out) final {
        static_cast<Self&>(*this).block_inverse_impl(x, v, lambda, true, out);
    }
    double damped_block_newton_step(const param_set& x, double lambda, param_set& g, param_set& step) final {
        return static_cast<Self&>(*this).block_step_impl(x, lambda, true, g, step);
    }
    double fd_block_newton_step(const param_set&, double, fd_scheme, param_set&, param_set&) final {
        throw error("gateaux::mpi::distributed_objective::fd_block_newton_step: " + fd_unavailable());
    }
    std::string fd_unavailable() const final {
        return "the finite-difference step differences one objective's inverse gradient map; a distributed objective "
               "solves the blocks of its chunks' factors (block_newton, damped_block_newton)";
    }
};
template <bool Has, class Mixin, class Capability>
using capability_if = gateaux::detail::capability_if<Has, Mixin, Capability>;
}  // namespace detail

// Local: the objective of one chunk (a graph objective from make_objective, or any objective
// that also offers data_batches). The distributed objective offers what Local offers of
// hessian_products, gauss_newton_products, fisher_products and layer_statistics, plus
// data_batches; and where Local offers layer_blocks, those and the block_solver on them: every
// rank gathers every chunk's factors and solves the whole set's blocks (block and damped block
// Newton, the block-preconditioned Hessian-free).
template <class Local>
class distributed_objective final
    : public objective,
      public data_batches,
      public shared_state,
      public detail::capability_if<std::derived_from<Local, hessian_products>,
                                   detail::distributed_hessian<distributed_objective<Local>>, hessian_products>,
      public detail::capability_if<std::derived_from<Local, gauss_newton_products>,
                                   detail::distributed_gauss_newton<distributed_objective<Local>>, gauss_newton_products>,
      public detail::capability_if<std::derived_from<Local, fisher_products>,
                                   detail::distributed_fisher<distributed_objective<Local>>, fisher_products>,
      public detail::capability_if<std::derived_from<Local, layer_statistics>,
                                   detail::distributed_statistics<distributed_objective<Local>>, layer_statistics>,
      public detail::capability_if<std::derived_from<Local, layer_blocks>,
                                   detail::distributed_layer_blocks<distributed_objective<Local>>, layer_blocks>,
      public detail::capability_if<std::derived_from<Local, layer_blocks>,
                                   detail::distributed_block_solver<distributed_objective<Local>>, block_solver> {
    static_assert(std::derived_from<Local, objective> && std::derived_from<Local, data_batches>,
                  "gateaux::mpi::distributed_objective<Local>: Local must be an objective with data_batches (as "
                  "make_objective's is)");
    friend class detail::distributed_hessian<distributed_objective>;
    friend class detail::distributed_gauss_newton<distributed_objective>;
    friend class detail::distributed_fisher<distributed_objective>;
    friend class detail::distributed_statistics<distributed_objective>;
    friend class detail::distributed_layer_blocks<distributed_objective>;
    friend class detail::distributed_block_solver<distributed_objective>;

public:
    // make(chunk) builds the objective of one chunk, with that chunk's rows as its data; it is
    // called for this rank's chunks only. reduce says how the loss combines rows. Every rank
    // checks that every chunk's objective has the chunk's row count and the same parameters; a
    // failure on any rank (in make, or in that check) throws distributed_error on every rank.
    template <class Make>
    distributed_objective(const communicator& comm, const row_partition& part, Make&& make, row_reduction reduce)
        : comm_(comm), part_(part), reduce_(reduce) {
        // Every rank must describe the same layout before any exchange is sized from it.
        const bool made_here = part.ranks() == std::size_t(comm.size()) && part.rank() == std::size_t(comm.rank());
        comm_.agree({part.rows(), part.chunks(), part.ranks(), std::uint64_t(reduce), made_here ? 1u : 0u},
                    "the partition (rows, chunks, ranks), the row reduction, or whether the partition was made on this "
                    "communicator");
        if (!made_here)
            throw shape_error("gateaux::mpi::distributed_objective: the partition was made on another communicator (rank " +
                              std::to_string(part.rank()) + " of " + std::to_string(part.ranks()) + "; this one is rank " +
                              std::to_string(comm.rank()) + " of " + std::to_string(comm.size()) + ")");
        const std::size_t first = part.first_chunk(part.rank()), end = part.end_chunk(part.rank());
        locals_.reserve(end - first);
        // Per chunk: its data rows, a checksum of the parameters' names and shapes, and whether its
        // objective draws rows of its own (minibatches or a curvature sample set inside make).
        std::vector<double> mine;
        const std::string failure = communicator::attempt([&] {
            for (std::size_t k = first; k < end; ++k) {
                locals_.push_back(make(part.at(k)));
                Local& f = locals_.back();
                if constexpr (requires { f.use_fisher(f.fisher(), std::uint64_t(0)); })
                    f.use_fisher(f.fisher(), detail::chunk_seed(0, k));  // each chunk its own stream of targets
                mine.push_back(double(f.data_rows()));
                const std::uint64_t h = layout_checksum(f);
                double d;
                std::memcpy(&d, &h, sizeof d);
                mine.push_back(d);
                mine.push_back(f.minibatched() || f.curvature_rows() != f.batch_rows() ? 1.0 : 0.0);
            }
        });
        mine.resize((end - first) * 3);
        std::vector<double> all;
        comm_.gather(mine, lengths(3), all, failure, 0, traffic_);
        for (std::size_t k = 0; k < part.chunks(); ++k) {
            const chunk c = part.at(k);
            if (all[3 * k + 2] != 0.0)
                throw distributed_error("gateaux::mpi::distributed_objective: chunk " + std::to_string(k) + " (rank " +
                                            std::to_string(owner(k)) + ") draws minibatches or a curvature sample of its own; "
                                            "set them on the distributed objective (use_minibatches, use_curvature_sample), "
                                            "which splits them over the chunks",
                                        int(owner(k)));
            if (all[3 * k] != double(c.rows))
                throw distributed_error("gateaux::mpi::distributed_objective: chunk " + std::to_string(k) + " (rank " +
                                            std::to_string(owner(k)) + ") has " + std::to_string(std::size_t(all[3 * k])) +
                                            " data rows; the partition gives it " + std::to_string(c.rows) + " (rows " +
                                            std::to_string(c.first) + " to " + std::to_string(c.first + c.rows - 1) + ")",
                                        int(owner(k)));
            if (std::memcmp(&all[3 * k + 1], &all[1], sizeof(double)) != 0)
                throw distributed_error("gateaux::mpi::distributed_objective: chunk " + std::to_string(k) + " (rank " +
                                            std::to_string(owner(k)) + ") has other parameters than chunk 0 (names or shapes): " + describe(locals_.front()) +
                                            " on this rank",
                                        int(owner(k)));
        }
    }

    distributed_objective(const distributed_objective&) = delete;
    distributed_objective& operator=(const distributed_objective&) = delete;
    distributed_objective(distributed_objective&&) = default;

    std::vector<std::string> names() const override { return locals_.front().names(); }
    param_set parameters_like() const override { return locals_.front().parameters_like(); }

    double value(const param_set& x) override {
        exchange(x, 2, [&](std::size_t i, double* out) {
            Local& f = locals_[i];
            out[0] = double(f.data_rows());
            out[1] = f.value(x);
        });
        ++counts.values;
        double v = 0.0;
        combine(2, 1, 1, &v);
        return v;
    }
    double value_and_gradient(const param_set& x, param_set& g) override {
        const std::size_t n = x.count(), per = 2 + n;
        exchange(x, per, [&](std::size_t i, double* out) {
            Local& f = locals_[i];
            param_set& gk = scratch(i, x);
            out[1] = f.value_and_gradient(x, gk);
            out[0] = double(f.data_rows());
            detail::pack(gk, out + 2);
        });
        ++counts.gradients;
        if (!g.same_shape(x)) g = x.zeros_like();
        flat_.resize(1 + n);
        combine(per, 1, 1 + n, flat_.data());
        unpack(flat_.data() + 1, g);
        return flat_[0];
    }

    // data_batches: the whole set's rows, the batch's (Σ of the chunks'), and the chunks' draws.
    std::size_t data_rows() const override { return part_.rows(); }
    std::size_t batch_rows() const override { return rows_in_use(false); }
    bool minibatched() const override { return batch_size_ != 0; }
    std::size_t curvature_rows() const override { return rows_in_use(true); }
    void next_batch() override {
        comm_.all_succeed([&] {
            for (Local& f : locals_) f.next_batch();
        }, traffic_);
    }
    void resample_curvature() override {
        comm_.all_succeed([&] {
            for (Local& f : locals_) f.resample_curvature();
        }, traffic_);
    }

    // Minibatches of `size` rows in all, split over the chunks in proportion to their rows
    // (row_partition::share; every chunk needs at least one), each chunk drawing its own with a
    // seed made from `seed` and its index. A curvature sample in use is split again to match.
    distributed_objective& use_minibatches(std::size_t size, std::uint64_t seed = 0) {
        const std::vector<std::size_t> b = batch_shares(size, "use_minibatches");
        const std::vector<std::size_t> c = sample_shares(b, sample_size_, "use_minibatches");
        comm_.all_succeed([&] {
            for_local([&](Local& f, std::size_t k) {
                f.use_minibatches(b[k], detail::chunk_seed(seed, k));
                if (sample_size_ != 0) f.use_curvature_sample(c[k], detail::chunk_seed(sample_seed_, k));
            });
        }, traffic_);
        batch_size_ = size;
        return *this;
    }
    // A curvature sample of `size` rows in all (0: none; above the batch's rows, all of them),
    // split over the chunks in proportion to their rows in the batch, each drawn from the chunk's
    // batch with a seed made from `seed` and the chunk's index.
    distributed_objective& use_curvature_sample(std::size_t size, std::uint64_t seed = 0) {
        const std::vector<std::size_t> c = sample_shares(batch_shares(batch_size_, "use_curvature_sample"), size,
                                                         "use_curvature_sample");
        comm_.all_succeed([&] {
            for_local([&](Local& f, std::size_t k) { f.use_curvature_sample(size == 0 ? 0 : c[k], detail::chunk_seed(seed, k)); });
        }, traffic_);
        sample_size_ = size;
        sample_seed_ = seed;
        return *this;
    }
    // Which Fisher the chunks multiply by (graph_objective::use_fisher), each chunk drawing its
    // sampled targets with its own seed made from `seed`.
    distributed_objective& use_fisher(fisher_estimate e, std::uint64_t seed = 0)
        requires std::derived_from<Local, fisher_products>
    {
        comm_.all_succeed([&] { for_local([&](Local& f, std::size_t k) { f.use_fisher(e, detail::chunk_seed(seed, k)); }); },
                          traffic_);
        return *this;
    }

    // The state of every chunk (its minibatch and sample draws, its sampled targets), under
    // chunk/k/ for chunk k. Saving and loading are exchanges that every rank passes at the same
    // time (as minimize does, and a checkpoint's save and load must on every rank): saving sends
    // every chunk's state to every rank, so that the one that writes (rank 0: writes_checkpoints)
    // has all of it; loading reads each rank's own chunks, so a run can resume on another number
    // of ranks (the same K and rows), and a chunk that refuses the checkpoint (other data) makes
    // every rank throw.
    void state(state_archive& a) override {
        std::size_t chunks = part_.chunks(), rows = part_.rows(), batch = batch_size_, sample = sample_size_;
        a("chunks", chunks), a("rows", rows), a("batch_size", batch), a("curvature_sample", sample);
        if (a.loading()) {
            if (chunks != part_.chunks() || rows != part_.rows() || batch != batch_size_ || sample != sample_size_)
                throw checkpoint_error("gateaux::mpi::distributed_objective: the checkpoint is of " + std::to_string(rows) +
                                       " rows in " + std::to_string(chunks) + " chunks, batches of " + std::to_string(batch) +
                                       " and curvature samples of " + std::to_string(sample) + "; this objective has " +
                                       std::to_string(part_.rows()) + ", " + std::to_string(part_.chunks()) + ", " +
                                       std::to_string(batch_size_) + " and " + std::to_string(sample_size_) + " (0: none)");
            comm_.all_succeed([&] { for_local([&](Local& f, std::size_t k) { a.nest("chunk/" + std::to_string(k), f); }); },
                              traffic_);
            return;
        }
        // This rank's chunks' states, encoded; their lengths first, then the states.
        std::vector<double> mine;
        const std::string failure = communicator::attempt([&] {
            for_local([&](Local& f, std::size_t) {
                state_map m;
                state_writer w(m);
                f.state(w);
                std::vector<double> one;
                detail::encode(m, one);
                mine.push_back(double(one.size()));
                mine.insert(mine.end(), one.begin(), one.end());
            });
        });
        if (!failure.empty()) mine.clear();
        std::vector<double> counts;
        comm_.gather({double(mine.size())}, std::vector<std::size_t>(part_.ranks(), 1), counts, failure, 0, traffic_);
        std::vector<std::size_t> lengths(part_.ranks());
        for (std::size_t r = 0; r < lengths.size(); ++r) lengths[r] = std::size_t(counts[r]);
        std::vector<double> all;
        comm_.gather(mine, lengths, all, "", 0, traffic_);
        const double* at = all.data();
        for (std::size_t k = 0; k < part_.chunks(); ++k) {
            const std::size_t n = std::size_t(*at++);
            state_map m;
            detail::decode(at, at + n, m);
            at += n;
            const std::string prefix = "chunk/" + std::to_string(k) + "/";
            for (auto& [name, value] : m) std::visit([&](auto& v) { a(prefix + name, v); }, value);
        }
    }

    // shared_state: rank 0 writes checkpoints; after each write every rank learns whether it could
    // (a failure to write throws distributed_error on every rank, naming rank 0 and the error).
    bool writes_checkpoints() const override { return comm_.rank() == 0; }
    void checkpoint_written(std::exception_ptr failure) override {
        comm_.all_succeed([&] {
            if (failure) std::rethrow_exception(failure);
        }, traffic_);
    }

    // This rank's chunk objectives, in chunk order.
    std::span<Local> chunks() { return locals_; }
    const row_partition& partition() const { return part_; }
    const communicator& comm() const { return comm_; }
    row_reduction reduction() const { return reduce_; }
    // The exchanges so far: their count, bytes and time; and the time spent in local work.
    const traffic& communication() const { return traffic_; }
    double seconds_computing() const { return computing_; }

private:
    template <curvature_matrix K>
    void product_impl(const param_set& x, const param_set& v, param_set& out) {
        const std::size_t n = x.count(), per = 1 + n;
        exchange(x, per, [&](std::size_t i, double* o) {
            Local& f = locals_[i];
            param_set& pk = scratch(i, x);
            static_cast<curvature_products<K>&>(f).product(x, v, pk);
            o[0] = double(f.data_rows());
            detail::pack(pk, o + 1);
        });
        if constexpr (K == curvature_matrix::hessian) ++counts.hessian_vectors;
        if constexpr (K == curvature_matrix::gauss_newton) ++counts.gauss_newton_vectors;
        if constexpr (K == curvature_matrix::fisher) ++counts.fisher_vectors;
        if (!out.same_shape(x)) out = x.zeros_like();
        flat_.resize(n);
        combine(per, 1, n, flat_.data());
        unpack(flat_.data(), out);
    }

    // The layer statistics of every chunk's curvature rows, as one objective on all of them would
    // give them: rows concatenated in chunk order, each chunk's δ rows (and sampled δ) scaled by
    // w_k = S_k/S, its share of those rows (under a mean: 1/S in place of the chunk's own 1/S_k),
    // its output factors by √w_k; loss and gradient combined as value_and_gradient combines them
    // (N_k/N under a mean). On all rows S_k/S = N_k/N, and the gradient is Σ hᵀδ as for one
    // objective; where a batch or sample's shares are not exactly in proportion to the chunks'
    // rows, the rows count equally here while loss and gradient weigh the chunks by their rows.
    // Two exchanges: the chunks' row counts, then their rows.
    void statistics_impl(const param_set& x, const layer_statistics::request& what, layer_statistics::result& out) {
        if (reduce_ == row_reduction::sum && sample_size_ != 0)
            throw value_error(
                "gateaux::mpi::distributed_objective::statistics: a loss summed over rows, on a curvature sample, has a "
                "curvature scale of its own in each chunk; write the loss as a mean over rows");
        stats_.resize(locals_.size());
        exchange(x, 3, [&](std::size_t i, double* o) {
            static_cast<layer_statistics&>(locals_[i]).statistics(x, what, stats_[i]);
            o[0] = double(stats_[i].rows);
            o[1] = what.output_factors ? double(stats_[i].output_factors.shape(1)) : 0.0;
            o[2] = double(locals_[i].data_rows());
        });
        const std::size_t K = part_.chunks(), n = x.count(), n_o = std::size_t(all_[1]);
        std::vector<std::size_t> rows(K), data(K);
        std::size_t total = 0;
        for (std::size_t k = 0; k < K; ++k) total += rows[k] = std::size_t(all_[3 * k]), data[k] = std::size_t(all_[3 * k + 2]);

        // Per parameter: the widths of its input (weights only) and of its δ, from its shape.
        const param_set shapes = parameters_like();
        const std::size_t nb = shapes.size();
        const layer_statistics::result& proto = stats_.front();
        std::vector<std::size_t> in(nb), width(nb);
        std::size_t per_row = what.output_factors ? n_o * n_o : 0;
        for (std::size_t b = 0; b < nb; ++b) {
            in[b] = proto.blocks[b].kind == layer_statistics::role::weight ? shapes[b].shape(0) : 0;
            width[b] = shapes[b].shape(1);
            per_row += in[b] + width[b] * (what.sampled_deltas ? 2 : 1);
        }
        auto size = [&](std::size_t k) { return 3 + n + rows[k] * per_row; };
        exchange_records(x, size, [&](std::size_t i, double* at) {
            const layer_statistics::result& st = stats_[i];
            at[0] = st.sample_weight, at[1] = st.curvature_scale, at[2] = st.loss;
            detail::pack(st.gradient, at + 3);
            at += 3 + n;
            for (std::size_t b = 0; b < nb; ++b) {
                if (in[b] != 0) at = std::copy(st.blocks[b].input.begin(), st.blocks[b].input.end(), at);
                at = std::copy(st.blocks[b].delta.begin(), st.blocks[b].delta.end(), at);
                if (what.sampled_deltas) at = std::copy(st.blocks[b].sampled_delta.begin(), st.blocks[b].sampled_delta.end(), at);
            }
            if (what.output_factors) std::copy(st.output_factors.begin(), st.output_factors.end(), at);
        });

        out.rows = total;
        out.curvature_scale = all_[1];
        out.sample_weight = reduce_ == row_reduction::sum ? all_[0] : 1.0 / double(total);
        out.blocks.resize(nb);
        for (std::size_t b = 0; b < nb; ++b) {
            out.blocks[b].kind = proto.blocks[b].kind;
            out.blocks[b].partner = proto.blocks[b].partner;
            if (in[b] != 0) out.blocks[b].input.resize({total, in[b]});
            else out.blocks[b].input = tensor{};
            out.blocks[b].delta.resize({total, width[b]});
            if (what.sampled_deltas) out.blocks[b].sampled_delta.resize({total, width[b]});
        }
        if (what.output_factors) out.output_factors.resize({total * n_o, n_o});
        if (!out.gradient.same_shape(x)) out.gradient = x.zeros_like();
        flat_.assign(n, 0.0);
        double loss = 0.0;
        const double* at = all_.data();
        std::size_t row = 0;
        for (std::size_t k = 0; k < K; ++k) {
            const double* rec = at;
            at += size(k);
            if (rec[1] != out.curvature_scale)
                throw value_error("gateaux::mpi::distributed_objective::statistics: chunk " + std::to_string(k) +
                                  " has the curvature scale " + number_string(rec[1]) + ", chunk 0 " +
                                  number_string(out.curvature_scale));
            // The objective's weight of the chunk (loss, gradient), and its rows' share of all rows here (δ).
            const bool sum = reduce_ == row_reduction::sum;
            const double vk = sum ? 1.0 : double(data[k]) / double(part_.rows());
            const double wk = sum ? 1.0 : double(rows[k]) / double(total), root_wk = std::sqrt(wk);
            loss += vk * rec[2];
            for (std::size_t i = 0; i < n; ++i) flat_[i] += vk * rec[3 + i];
            const double* p = rec + 3 + n;
            const std::size_t m = rows[k];
            for (std::size_t b = 0; b < nb; ++b) {
                if (in[b] != 0) {
                    std::copy(p, p + m * in[b], out.blocks[b].input.data() + row * in[b]);
                    p += m * in[b];
                }
                double* d = out.blocks[b].delta.data() + row * width[b];
                for (std::size_t i = 0; i < m * width[b]; ++i) d[i] = wk * p[i];
                p += m * width[b];
                if (what.sampled_deltas) {
                    double* e = out.blocks[b].sampled_delta.data() + row * width[b];
                    for (std::size_t i = 0; i < m * width[b]; ++i) e[i] = wk * p[i];
                    p += m * width[b];
                }
            }
            if (what.output_factors) {
                double* f = out.output_factors.data() + row * n_o * n_o;
                for (std::size_t i = 0; i < m * n_o * n_o; ++i) f[i] = root_wk * p[i];
            }
            row += m;
        }
        out.loss = loss;
        unpack(flat_.data(), out.gradient);
        ++counts.layer_statistics;
    }

    // ------------------------------------------------------------ per-layer blocks
    // The layers of the chunks' objectives; a penalty is the objective's: Σ_k w_k·D = D under a
    // mean, K·D under a sum (every chunk's whole value is added).
    std::vector<layer_blocks::layer> layout_impl() const {
        std::vector<layer_blocks::layer> l = static_cast<const layer_blocks&>(locals_.front()).layout();
        if (reduce_ == row_reduction::sum)
            for (layer_blocks::layer& b : l) b.decay *= double(part_.chunks()), b.bias_decay *= double(part_.chunks());
        return l;
    }

    // The factors of every chunk's rows, as one objective on all of them would have them: the
    // layer inputs concatenated in chunk order, each chunk's T_b multiplied by s_k = w_k·c_k (its
    // weight in the objective times its curvature scale), so that with curvature scale 1
    //   H_l = Σ_k w_k·c_k·Σ_{b in chunk k} (h̄_bᵀ·h̄_b) ⊗ T_b,
    // the block of the objective's own curvature products; loss and gradient combined as
    // value_and_gradient combines them. One exchange of the chunks' rows: Σ_l B·(n_l + m_l²)
    // doubles for B rows.
    void factors_impl(const param_set& x, layer_blocks::rows which, layer_blocks::result& out) {
        const std::vector<layer_blocks::layer>& lay = block_layout();
        const std::size_t K = part_.chunks(), n = x.count(), L = lay.size();
        const std::vector<std::size_t> batch = batch_shares(batch_size_, "block_factors");
        const std::vector<std::size_t> rows = which == layer_blocks::rows::batch ? batch : sample_shares(batch, sample_size_, "block_factors");
        std::size_t per_row = 0;
        for (const layer_blocks::layer& l : lay) per_row += l.inputs + l.outputs * l.outputs;
        auto size = [&](std::size_t k) { return 3 + n + rows[k] * per_row; };
        factors_.resize(locals_.size());
        const std::size_t first = part_.first_chunk(part_.rank());
        exchange_records(x, size, [&](std::size_t i, double* at) {
            layer_blocks::result& r = factors_[i];
            static_cast<layer_blocks&>(locals_[i]).block_factors(x, which, r);
            if (r.rows != rows[first + i] || r.layers.size() != L)
                throw shape_error("gateaux::mpi::distributed_objective::block_factors: chunk " + std::to_string(first + i) +
                                  " gives " + std::to_string(r.rows) + " rows of " + std::to_string(r.layers.size()) +
                                  " layers; expected " + std::to_string(rows[first + i]) + " rows of " + std::to_string(L));
            for (std::size_t l = 0; l < L; ++l) {
                const std::size_t b = rows[first + i], m = lay[l].outputs;
                if (r.layers[l].input.size() != b * lay[l].inputs || r.layers[l].curvature.size() != b * m * m)
                    throw shape_error("gateaux::mpi::distributed_objective::block_factors: chunk " + std::to_string(first + i) +
                                      " gives layer " + lay[l].name + " an input of " + shape_string(r.layers[l].input) +
                                      " and curvature of " + shape_string(r.layers[l].curvature) + "; expected " +
                                      std::to_string(b) + "×" + std::to_string(lay[l].inputs) + " and " + std::to_string(b * m) +
                                      "×" + std::to_string(m));
            }
            if (!r.gradient.same_shape(x))
                throw shape_error("gateaux::mpi::distributed_objective::block_factors: chunk " + std::to_string(first + i) +
                                  " gives a gradient of other blocks than x");
            at[0] = double(locals_[i].data_rows()), at[1] = r.curvature_scale, at[2] = r.loss;
            detail::pack(r.gradient, at + 3);
            at += 3 + n;
            for (const layer_blocks::factors& f : r.layers) {
                at = std::copy(f.input.begin(), f.input.end(), at);
                at = std::copy(f.curvature.begin(), f.curvature.end(), at);
            }
        });
        std::size_t total = 0;
        for (std::size_t k = 0; k < K; ++k) total += rows[k];
        out.layers.resize(L);
        for (std::size_t l = 0; l < L; ++l) {
            if (lay[l].inputs != 0) out.layers[l].input.resize({total, lay[l].inputs});
            else out.layers[l].input = tensor{};
            out.layers[l].curvature.resize({total * lay[l].outputs, lay[l].outputs});
        }
        // Loss and gradient: the weights and order of combine().
        double data = 0.0;
        for (std::size_t k = 0, at = 0; k < K; at += size(k), ++k) data += all_[at];
        flat_.assign(1 + n, 0.0);
        std::size_t row = 0;
        const double* next = all_.data();
        for (std::size_t k = 0; k < K; ++k) {
            const double* rec = next;
            next += size(k);
            const double w = reduce_ == row_reduction::sum ? 1.0 : rec[0] / data, s = w * rec[1];
            for (std::size_t i = 0; i < 1 + n; ++i) flat_[i] = k == 0 ? w * rec[2 + i] : flat_[i] + w * rec[2 + i];
            const double* p = rec + 3 + n;
            const std::size_t b = rows[k];
            for (std::size_t l = 0; l < L; ++l) {
                const std::size_t in = lay[l].inputs, m = lay[l].outputs;
                if (in != 0) std::copy(p, p + b * in, out.layers[l].input.data() + row * in);
                p += b * in;
                double* t = out.layers[l].curvature.data() + row * m * m;
                for (std::size_t i = 0; i < b * m * m; ++i) t[i] = s * p[i];
                p += b * m * m;
            }
            row += b;
        }
        out.rows = total;
        out.curvature_scale = 1.0;
        out.loss = flat_[0];
        if (which == layer_blocks::rows::batch) ++counts.gradients;
        if (!out.gradient.same_shape(x)) out.gradient = x.zeros_like();
        unpack(flat_.data() + 1, out.gradient);
    }

    static void check_damping(double lambda) {
        if (!(lambda >= 0.0) || !std::isfinite(lambda))
            throw value_error("gateaux::mpi::distributed_objective: the damping λ of a block solve must be finite and ≥ 0, got " +
                              number_string(lambda));
    }
    // Every layer's block of the combined factors along v.
    void solve_blocks(const param_set& v, double lambda, param_set& out) {
        const std::vector<layer_blocks::layer>& lay = block_layout();
        views_.resize(lay.size());
        for (std::size_t l = 0; l < lay.size(); ++l)
            views_[l] = {&lay[l], lay[l].inputs != 0 ? &combined_.layers[l].input : nullptr, &combined_.layers[l].curvature};
        gateaux::detail::solve_layer_blocks(views_, v, lambda, 1.0, block_scratch_, out);
    }
    // Loss, gradient and (H_l + λI)⁻¹·G_l (λ = 0: H_l⁺·G_l) on the batch rows.
    double block_step_impl(const param_set& x, double lambda, bool damped, param_set& g, param_set& step) {
        check_damping(lambda);
        factors_impl(x, layer_blocks::rows::batch, combined_);
        if (!g.same_shape(x)) g = x.zeros_like();
        for (std::size_t i = 0; i < g.size(); ++i)
            std::copy(combined_.gradient[i].begin(), combined_.gradient[i].end(), g[i].begin());
        solve_blocks(g, lambda, step);
        ++(damped ? counts.damped_block_solves : counts.block_solves);
        return combined_.loss;
    }
    // blockdiag(H_l + λI)⁻¹·v on the curvature rows.
    void block_inverse_impl(const param_set& x, const param_set& v, double lambda, bool damped, param_set& out) {
        check_damping(lambda);
        if (!v.same_shape(x))
            throw shape_error("gateaux::mpi::distributed_objective: the direction of a block solve has other blocks than x (" +
                              describe(locals_.front()) + " on this rank)");
        const std::vector<std::string> names = this->names();
        for (std::size_t i = 0; i < v.size(); ++i)
            for (std::size_t k = 0; k < v[i].size(); ++k)
                if (!std::isfinite(v[i].data()[k]))
                    throw value_error("gateaux::mpi::distributed_objective: direction 'v." + names[i] + "' has the non-finite entry " +
                                      number_string(v[i].data()[k]) + " at (" + std::to_string(k / v[i].shape(1)) + ", " +
                                      std::to_string(k % v[i].shape(1)) + ")");
        factors_impl(x, layer_blocks::rows::curvature, combined_);
        solve_blocks(v, lambda, out);
        ++(damped ? counts.damped_block_solves : counts.block_solves);
    }
    const std::vector<layer_blocks::layer>& block_layout() {
        if (layout_.empty()) layout_ = layout_impl();
        return layout_;
    }

    // The chunks' rows in a batch and in a curvature sample (row_partition), refusals named as
    // this objective's function fn.
    std::vector<std::size_t> batch_shares(std::size_t size, const char* fn) const {
        return part_.batch_shares(size, std::string("gateaux::mpi::distributed_objective::") + fn);
    }
    std::vector<std::size_t> sample_shares(const std::vector<std::size_t>& batch, std::size_t size, const char* fn) const {
        return part_.sample_shares(batch, size, std::string("gateaux::mpi::distributed_objective::") + fn);
    }
    // The rows of the batch, or of the curvature sample, in all.
    std::size_t rows_in_use(bool curvature) const {
        const std::vector<std::size_t> b = batch_shares(batch_size_, "batch_rows");
        std::size_t n = 0;
        for (std::size_t r : curvature ? sample_shares(b, sample_size_, "curvature_rows") : b) n += r;
        return n;
    }
    // Names and shapes of an objective's parameters, for messages.
    static std::string describe(const Local& f) {
        const std::vector<std::string> names = f.names();
        const param_set p = f.parameters_like();
        std::string d;
        for (std::size_t i = 0; i < names.size(); ++i)
            d += (i ? ", " : "") + names[i] + " " + (i < p.size() ? shape_string(p[i]) : std::string("?"));
        return d;
    }
    std::size_t owner(std::size_t k) const { return part_.owner(k); }
    // Local chunk i's output blocks shaped like x, kept between evaluations (no allocation per
    // gradient or product once the shapes are set).
    param_set& scratch(std::size_t i, const param_set& x) {
        if (scratch_.size() != locals_.size()) scratch_.resize(locals_.size());
        if (!scratch_[i].same_shape(x)) scratch_[i] = x.zeros_like();
        return scratch_[i];
    }
    // Per-rank lengths of `per` doubles per chunk.
    std::vector<std::size_t> lengths(std::size_t per) const {
        std::vector<std::size_t> l(part_.ranks());
        for (std::size_t r = 0; r < l.size(); ++r) l[r] = (part_.end_chunk(r) - part_.first_chunk(r)) * per;
        return l;
    }
    template <class F>
    void for_local(F&& f) {
        const std::size_t first = part_.first_chunk(part_.rank());
        for (std::size_t i = 0; i < locals_.size(); ++i) f(locals_[i], first + i);
    }
    // Every local chunk i writes its record (fill(i, at)), then all chunks' records are gathered
    // into all_, in chunk order. size(k) is chunk k's record length.
    template <class Size, class Fill>
    void exchange_records(const param_set& x, Size&& size, Fill&& fill) {
        const std::size_t first = part_.first_chunk(part_.rank());
        std::vector<std::size_t> per_rank(part_.ranks(), 0);
        for (std::size_t r = 0; r < part_.ranks(); ++r)
            for (std::size_t k = part_.first_chunk(r); k < part_.end_chunk(r); ++k) per_rank[r] += size(k);
        mine_.assign(per_rank[part_.rank()], 0.0);
        const auto start = std::chrono::steady_clock::now();
        const std::string failure = communicator::attempt([&] {
            double* at = mine_.data();
            for (std::size_t i = 0; i < locals_.size(); ++i) {
                fill(i, at);
                at += size(first + i);
            }
        });
        computing_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        comm_.gather(mine_, per_rank, all_, failure, checksum(x), traffic_);
    }
    // The same with records of one length, `per` doubles each (the row weight first).
    template <class Fill>
    void exchange(const param_set& x, std::size_t per, Fill&& fill) {
        exchange_records(x, [per](std::size_t) { return per; }, std::forward<Fill>(fill));
    }
    // out[0 .. count) = Σ_k w_k·r_k in chunk order, r_k the `count` doubles from position `from`
    // of chunk k's record of `per`, whose first entry is the rows that weight it.
    void combine(std::size_t per, std::size_t from, std::size_t count, double* out) const {
        const std::size_t K = part_.chunks();
        double rows = 0.0;
        for (std::size_t k = 0; k < K; ++k) rows += all_[k * per];
        for (std::size_t k = 0; k < K; ++k) {
            const double w = reduce_ == row_reduction::sum ? 1.0 : all_[k * per] / rows;
            const double* r = all_.data() + k * per + from;
            if (k == 0)
                for (std::size_t i = 0; i < count; ++i) out[i] = w * r[i];
            else
                for (std::size_t i = 0; i < count; ++i) out[i] += w * r[i];
        }
    }
    static void unpack(const double* in, param_set& x) {
        for (tensor& t : x) {
            std::copy(in, in + t.size(), t.begin());
            in += t.size();
        }
    }
    static std::uint64_t layout_checksum(const Local& f) {
        std::uint64_t h = 1469598103934665603ULL;
        auto mix = [&](std::uint64_t v) { h = (h ^ v) * 1099511628211ULL; };
        for (const std::string& s : f.names())
            for (char ch : s) mix(std::uint64_t(static_cast<unsigned char>(ch)));
        for (const tensor& t : f.parameters_like()) mix(t.shape(0)), mix(t.shape(1));
        return h;
    }

    communicator comm_;
    row_partition part_;
    row_reduction reduce_;
    std::vector<Local> locals_;
    std::vector<layer_statistics::result> stats_;  // this rank's chunks' (where Local has them)
    std::vector<layer_blocks::result> factors_;    // this rank's chunks' block factors
    layer_blocks::result combined_;                // every chunk's, for the block solves
    std::vector<layer_blocks::layer> layout_;
    std::vector<gateaux::detail::layer_view> views_;
    gateaux::detail::layer_block_scratch block_scratch_;
    std::size_t batch_size_ = 0, sample_size_ = 0;  // as asked for; 0: every row, no sample
    std::uint64_t sample_seed_ = 0;
    std::vector<double> mine_, all_, flat_;
    std::vector<param_set> scratch_;  // per local chunk
    traffic traffic_;
    double computing_ = 0.0;
};

// The distributed objective of the chunks make(chunk) builds; for a graph objective the row
// reduction comes from its loss (a sum over rows, or a mean plus data-free terms).
template <class Make>
auto distribute(const communicator& comm, const row_partition& part, Make&& make) {
    using Local = std::remove_cvref_t<decltype(make(part.at(0)))>;
    using R = detail::reduction_of<Local>;
    static_assert(R::known,
                  "gateaux::mpi::distribute(comm, partition, make): cannot tell how this loss combines rows; write it as "
                  "sum(...) over rows, or as mean(...) over rows plus terms without data (l2)");
    if constexpr (R::known)
        return distributed_objective<Local>(comm, part, std::forward<Make>(make), R::value);
    else
        return 0;
}
// The same with the row reduction stated, for an objective written by hand: under sum every
// chunk's whole value is added (a term without data, such as a penalty, K times: leave it out of
// the chunks), under mean each is weighted by its share of the rows.
template <class Make>
auto distribute(const communicator& comm, const row_partition& part, Make&& make, row_reduction reduce) {
    using Local = std::remove_cvref_t<decltype(make(part.at(0)))>;
    static_assert(!detail::reduction_of<Local>::graph,
                  "gateaux::mpi::distribute(comm, partition, make, reduction): a graph objective's reduction comes from "
                  "its loss; call distribute(comm, partition, make)");
    return distributed_objective<Local>(comm, part, std::forward<Make>(make), reduce);
}

}  // namespace gateaux::mpi
