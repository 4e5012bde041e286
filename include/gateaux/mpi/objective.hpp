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
// Combination. Chunk k's result r_k (its loss, gradient or product, from its own objective) is
// gathered to every rank (MPI_Allgatherv: each rank sends its chunks', in chunk order), and
// every rank forms Σ_k w_k·r_k in chunk order. For a loss that is a sum over rows w_k = 1; for a
// mean over rows (plus terms that do not depend on the data, such as l2), w_k is chunk k's share
// of the rows in use (of the batch for loss and gradient, of the curvature sample for curvature
// products). The same numbers in the same order on every rank: the ranks' iterates are bitwise
// equal, and, for a fixed number of chunks, equal to those of any other number of ranks. Against
// one process evaluating all rows at once they agree to rounding (about 1e-15 relative): its sums
// run in another order.
//
// Rows in use. Minibatches and curvature samples are drawn per chunk: a batch of B rows takes
// ⌊B·(k+1)/K⌋ − ⌊B·k/K⌋ of them from chunk k, drawn by the chunk's objective from a seed made
// from the caller's seed and k; the same on every rank count. Sampled Fisher targets likewise.
//
// Communication per evaluation: one MPI_Allgatherv of K·(n + 2) + 2·R doubles for n parameters
// (K chunks, R ranks), whatever the rows; the layer statistics exchange their rows.
// communication() counts exchanges, bytes and time. Faults: see mpi/communicator.hpp.
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../optim/capabilities.hpp"
#include "../optim/objective.hpp"
#include "communicator.hpp"
#include "partition.hpp"

namespace gateaux::mpi {

// How a loss combines its rows, and so how chunks combine.
enum class row_reduction { sum, mean };

namespace detail {
template <class Local>
struct reduction_of {
    static constexpr bool known = false;
};
template <class L>
inline constexpr bool is_mean = false;
template <class E>
inline constexpr bool is_mean<node<mean_op, E>> = true;
template <class Loss, class O, class... P>
struct reduction_of<graph_objective<Loss, O, P...>> {
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
template <bool Has, class Mixin, class Capability>
using capability_if = gateaux::detail::capability_if<Has, Mixin, Capability>;
}  // namespace detail

// Local: the objective of one chunk (a graph objective from make_objective, or any objective
// that also offers data_batches). The distributed objective offers what Local offers of
// hessian_products, gauss_newton_products, fisher_products and layer_statistics, plus
// data_batches.
template <class Local>
class distributed_objective final
    : public objective,
      public data_batches,
      public detail::capability_if<std::derived_from<Local, hessian_products>,
                                   detail::distributed_hessian<distributed_objective<Local>>, hessian_products>,
      public detail::capability_if<std::derived_from<Local, gauss_newton_products>,
                                   detail::distributed_gauss_newton<distributed_objective<Local>>, gauss_newton_products>,
      public detail::capability_if<std::derived_from<Local, fisher_products>,
                                   detail::distributed_fisher<distributed_objective<Local>>, fisher_products>,
      public detail::capability_if<std::derived_from<Local, layer_statistics>,
                                   detail::distributed_statistics<distributed_objective<Local>>, layer_statistics> {
    static_assert(std::derived_from<Local, objective> && std::derived_from<Local, data_batches>,
                  "gateaux::mpi::distributed_objective<Local>: Local must be an objective with data_batches (as "
                  "make_objective's is)");
    friend class detail::distributed_hessian<distributed_objective>;
    friend class detail::distributed_gauss_newton<distributed_objective>;
    friend class detail::distributed_fisher<distributed_objective>;
    friend class detail::distributed_statistics<distributed_objective>;

public:
    // make(chunk) builds the objective of one chunk, with that chunk's rows as its data; it is
    // called for this rank's chunks only. reduce says how the loss combines rows. Every rank
    // checks that every chunk's objective has the chunk's row count and the same parameters; a
    // failure on any rank (in make, or in that check) throws distributed_error on every rank.
    template <class Make>
    distributed_objective(const communicator& comm, const row_partition& part, Make&& make, row_reduction reduce)
        : comm_(comm), part_(part), reduce_(reduce) {
        if (part.ranks() != std::size_t(comm.size()) || part.rank() != std::size_t(comm.rank()))
            throw shape_error("gateaux::mpi::distributed_objective: the partition was made for " +
                              std::to_string(part.ranks()) + " ranks, the communicator has " + std::to_string(comm.size()));
        const std::size_t first = part.first_chunk(part.rank()), end = part.end_chunk(part.rank());
        locals_.reserve(end - first);
        // Per chunk: its data rows, and a checksum of the parameters' names and shapes.
        std::vector<double> mine;
        const std::string failure = communicator::attempt([&] {
            for (std::size_t k = first; k < end; ++k) {
                locals_.push_back(make(part.at(k)));
                mine.push_back(double(locals_.back().data_rows()));
                const std::uint64_t h = layout_checksum(locals_.back());
                double d;
                std::memcpy(&d, &h, sizeof d);
                mine.push_back(d);
            }
        });
        mine.resize((end - first) * 2);
        std::vector<double> all;
        comm_.gather(mine, lengths(2), all, failure, 0, traffic_);
        for (std::size_t k = 0; k < part.chunks(); ++k) {
            const chunk c = part.at(k);
            if (all[2 * k] != double(c.rows))
                throw distributed_error("gateaux::mpi::distributed_objective: chunk " + std::to_string(k) + " (rank " +
                                            std::to_string(owner(k)) + ") has " + std::to_string(std::size_t(all[2 * k])) +
                                            " data rows; the partition gives it " + std::to_string(c.rows) + " (rows " +
                                            std::to_string(c.first) + " to " + std::to_string(c.first + c.rows - 1) + ")",
                                        int(owner(k)));
            if (std::memcmp(&all[2 * k + 1], &all[1], sizeof(double)) != 0)
                throw distributed_error("gateaux::mpi::distributed_objective: chunk " + std::to_string(k) + " (rank " +
                                            std::to_string(owner(k)) + ") has other parameters (names or shapes) than chunk 0",
                                        int(owner(k)));
        }
    }

    std::vector<std::string> names() const override { return locals_.front().names(); }
    param_set parameters_like() const override { return locals_.front().parameters_like(); }

    double value(const param_set& x) override {
        exchange(x, 2, [&](std::size_t i, double* out) {
            Local& f = locals_[i];
            out[0] = double(f.batch_rows());
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
            param_set gk = x.zeros_like();
            out[1] = f.value_and_gradient(x, gk);
            out[0] = double(f.batch_rows());
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

    // Minibatches of `size` rows in all, ⌊size·(k+1)/K⌋ − ⌊size·k/K⌋ of them drawn from chunk k
    // (so size ≥ K), each chunk with its own seed made from `seed`.
    distributed_objective& use_minibatches(std::size_t size, std::uint64_t seed = 0) {
        check_share(size, "use_minibatches", "batch");
        comm_.all_succeed([&] {
            for_local([&](Local& f, std::size_t k) { f.use_minibatches(part_.share(size, k), detail::chunk_seed(seed, k)); });
        }, traffic_);
        batch_size_ = size;
        return *this;
    }
    // A curvature sample of `size` rows in all (0: none), split over the chunks as a minibatch is.
    distributed_objective& use_curvature_sample(std::size_t size, std::uint64_t seed = 0) {
        if (size != 0) check_share(size, "use_curvature_sample", "sample");
        comm_.all_succeed([&] {
            for_local([&](Local& f, std::size_t k) {
                f.use_curvature_sample(size == 0 ? 0 : part_.share(size, k), detail::chunk_seed(seed, k));
            });
        }, traffic_);
        sample_size_ = size;
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

    // A checkpoint would need every chunk's draws on the rank that writes it.
    void state(state_archive&) override {
        throw checkpoint_error(
            "gateaux::mpi::distributed_objective: a distributed run cannot be checkpointed (its chunks' minibatch and "
            "sample draws live on different ranks); run without checkpointing");
    }

    // This rank's chunk objectives, in chunk order.
    std::vector<Local>& chunks() { return locals_; }
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
            param_set pk = x.zeros_like();
            static_cast<curvature_products<K>&>(f).product(x, v, pk);
            o[0] = double(f.curvature_rows());
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
    // give them: rows concatenated in chunk order, loss and gradient combined as value_and_gradient
    // combines them, each chunk's δ rows (and sampled δ) scaled by its weight w_k (g/g_k: under a
    // mean, 1/B of all rows in place of the chunk's own 1/B_k) and its output factors by √w_k.
    // Two exchanges: the chunks' row counts, then their rows.
    void statistics_impl(const param_set& x, const layer_statistics::request& what, layer_statistics::result& out) {
        if (reduce_ == row_reduction::sum && sample_size_ != 0)
            throw value_error(
                "gateaux::mpi::distributed_objective::statistics: a loss summed over rows, on a curvature sample, has a "
                "curvature scale of its own in each chunk; write the loss as a mean over rows");
        stats_.resize(locals_.size());
        exchange(x, 2, [&](std::size_t i, double* o) {
            static_cast<layer_statistics&>(locals_[i]).statistics(x, what, stats_[i]);
            o[0] = double(stats_[i].rows);
            o[1] = what.output_factors ? double(stats_[i].output_factors.shape(1)) : 0.0;
        });
        const std::size_t K = part_.chunks(), n = x.count(), n_o = std::size_t(all_[1]);
        std::vector<std::size_t> rows(K);
        std::size_t total = 0;
        for (std::size_t k = 0; k < K; ++k) total += rows[k] = std::size_t(all_[2 * k]);

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
            const double wk = reduce_ == row_reduction::sum ? 1.0 : double(rows[k]) / double(total), root_wk = std::sqrt(wk);
            loss += wk * rec[2];
            for (std::size_t i = 0; i < n; ++i) flat_[i] += wk * rec[3 + i];
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

    // The rows of the batch (or of the curvature sample) in all: each chunk's share, at most
    // what the chunk has (as each chunk's objective clamps it).
    std::size_t rows_in_use(bool curvature) const {
        std::size_t n = 0;
        for (std::size_t k = 0; k < part_.chunks(); ++k) {
            std::size_t b = part_.at(k).rows;
            if (batch_size_ != 0) b = std::min(b, part_.share(batch_size_, k));
            if (curvature && sample_size_ != 0) b = std::min(b, part_.share(sample_size_, k));
            n += b;
        }
        return n;
    }
    std::size_t owner(std::size_t k) const {
        std::size_t r = 0;
        while (part_.end_chunk(r) <= k) ++r;
        return r;
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
    void check_share(std::size_t size, const char* fn, const char* what) const {
        if (size < part_.chunks() || size > part_.rows())
            throw shape_error(std::string("gateaux::mpi::distributed_objective::") + fn + ": a " + what + " of " +
                              std::to_string(size) + " rows cannot be split over " + std::to_string(part_.chunks()) +
                              " chunks of " + std::to_string(part_.rows()) + " rows (it needs " +
                              std::to_string(part_.chunks()) + " to " + std::to_string(part_.rows()) + ")");
    }

    communicator comm_;
    row_partition part_;
    row_reduction reduce_;
    std::vector<Local> locals_;
    std::vector<layer_statistics::result> stats_;  // this rank's chunks' (where Local has them)
    std::size_t batch_size_ = 0, sample_size_ = 0;  // as asked for; 0: every row, no sample
    std::vector<double> mine_, all_, flat_;
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
                  "sum(...) over rows, or mean(...) over rows plus terms without data (l2), or pass a row_reduction");
    if constexpr (R::known)
        return distributed_objective<Local>(comm, part, std::forward<Make>(make), R::value);
    else
        return 0;
}
// The same with the row reduction stated (for an objective written by hand).
template <class Make>
auto distribute(const communicator& comm, const row_partition& part, Make&& make, row_reduction reduce) {
    using Local = std::remove_cvref_t<decltype(make(part.at(0)))>;
    return distributed_objective<Local>(comm, part, std::forward<Make>(make), reduce);
}

}  // namespace gateaux::mpi
