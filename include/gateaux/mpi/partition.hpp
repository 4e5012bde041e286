#pragma once
// How the rows of a data set are split across ranks: into a fixed number of chunks, the unit of
// every distributed computation, and the chunks into contiguous shards, one per rank. (Row
// counts are multiplied by batch sizes in size_t: fine below 4·10⁹ rows.)
//
//   rows 0 … N−1  →  chunk k holds rows [⌊N·k/K⌋, ⌊N·(k+1)/K⌋)     (K chunks, fixed by the caller)
//   chunks        →  rank r holds chunks [⌊K·r/R⌋, ⌊K·(r+1)/R⌋)    (R ranks, R ≤ K)
//
// Each chunk is evaluated on its own and the chunks' results are summed in chunk order, so the
// numbers do not depend on how many ranks there are, only on K: with K fixed, 1, 2, 3 or 4 ranks
// give bitwise the same iterates (mpi/objective.hpp). K = 12 divides evenly among 1, 2, 3, 4 and
// 6 ranks. A batch or a curvature sample is split over the chunks here too (batch_shares,
// sample_shares): the same on every rank count.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../nn/data.hpp"
#include "communicator.hpp"

namespace gateaux::mpi {

// One chunk: its index, its first row in the whole data set, its row count, and its first row
// within its rank's shard.
struct chunk {
    std::size_t index = 0, first = 0, rows = 0, offset = 0;

    // This chunk's rows of `shard`, which must hold exactly this rank's shard (rows of the whole
    // set, shard_first() … shard_first() + shard_rows() − 1); `name` is for the message.
    tensor take(const tensor& shard, std::size_t shard_rows, const std::string& name = "the shard") const {
        if (shard.dimension() != 2 || shard.shape(0) != shard_rows)
            throw shape_error("gateaux::mpi::chunk::take: " + name + " has " +
                              (shard.dimension() == 2 ? std::to_string(shard.shape(0)) : std::string("no")) +
                              " rows; this rank's shard has " + std::to_string(shard_rows));
        return gateaux::rows(shard, offset, rows);
    }
};

class row_partition {
public:
    // rows: of the whole data set (every rank passes the same); chunks: K.
    row_partition(const communicator& comm, std::size_t rows, std::size_t chunks)
        : rows_(rows), chunks_(chunks), rank_(std::size_t(comm.rank())), ranks_(std::size_t(comm.size())) {
        if (chunks == 0 || rows < chunks)
            throw shape_error("gateaux::mpi::row_partition: " + std::to_string(rows) + " rows cannot fill " +
                              std::to_string(chunks) + " chunks (each needs at least one row)");
        if (ranks_ > chunks)
            throw shape_error("gateaux::mpi::row_partition: " + std::to_string(ranks_) + " ranks but only " +
                              std::to_string(chunks) + " chunks: a rank needs at least one chunk");
    }

    std::size_t rows() const { return rows_; }
    std::size_t chunks() const { return chunks_; }
    std::size_t ranks() const { return ranks_; }
    std::size_t rank() const { return rank_; }

    // The chunks of rank r: [first_chunk(r), end_chunk(r)).
    std::size_t first_chunk(std::size_t r) const { return chunks_ * r / ranks_; }
    std::size_t end_chunk(std::size_t r) const { return chunks_ * (r + 1) / ranks_; }
    std::size_t chunk_first_row(std::size_t k) const { return rows_ * k / chunks_; }

    // This rank's shard of rows.
    std::size_t shard_first() const { return chunk_first_row(first_chunk(rank_)); }
    std::size_t shard_rows() const { return chunk_first_row(end_chunk(rank_)) - shard_first(); }
    // This rank's rows of a tensor holding the whole data set.
    tensor shard_of(const tensor& all, const std::string& name = "the data") const {
        if (all.dimension() != 2 || all.shape(0) != rows_)
            throw shape_error("gateaux::mpi::row_partition::shard_of: " + name + " has " +
                              (all.dimension() == 2 ? std::to_string(all.shape(0)) : std::string("no")) +
                              " rows; the partition is of " + std::to_string(rows_));
        return gateaux::rows(all, shard_first(), shard_rows());
    }

    // The rank that holds chunk k.
    std::size_t owner(std::size_t k) const {
        std::size_t r = 0;
        while (end_chunk(r) <= k) ++r;
        return r;
    }
    // Chunk k (any rank's).
    chunk at(std::size_t k) const {
        chunk c;
        c.index = k;
        c.first = chunk_first_row(k);
        c.rows = chunk_first_row(k + 1) - c.first;
        c.offset = c.first - chunk_first_row(first_chunk(owner(k)));
        return c;
    }

    // Splits n (a batch size, K ≤ n ≤ rows()) over the chunks: one row each, and the other n − K
    // in proportion to the chunks' rows, ⌊(n−K)·C_{k+1}/N⌋ − ⌊(n−K)·C_k/N⌋ (C_k the chunk's first
    // row), at most the chunk's rows.
    std::size_t share(std::size_t n, std::size_t k) const {
        const std::size_t m = n - chunks_;
        return std::min(chunk_first_row(k + 1) - chunk_first_row(k),
                        1 + m * chunk_first_row(k + 1) / rows_ - m * chunk_first_row(k) / rows_);
    }

    // Each chunk's rows in a batch: all of its rows (size 0), or its share of `size`; `who` names
    // the caller in a refusal.
    std::vector<std::size_t> batch_shares(std::size_t size, const std::string& who) const {
        if (size != 0 && (size < chunks() || size > rows()))
            throw shape_error(who + ": a batch of " + std::to_string(size) +
                              " rows; it needs one row from each of the " + std::to_string(chunks()) +
                              " chunks and at most the data's " + std::to_string(rows()));
        std::vector<std::size_t> b(chunks_);
        for (std::size_t k = 0; k < b.size(); ++k) b[k] = size == 0 ? at(k).rows : share(size, k);
        return b;
    }
    // Each chunk's rows in a curvature sample of `size` (0: its whole batch; above the batch's
    // rows, all of them): one row each, the rest in proportion to the chunks' batch rows, at most
    // those.
    std::vector<std::size_t> sample_shares(const std::vector<std::size_t>& batch, std::size_t size, const std::string& who) const {
        std::vector<std::size_t> cum(batch.size() + 1, 0);
        for (std::size_t k = 0; k < batch.size(); ++k) cum[k + 1] = cum[k] + batch[k];
        const std::size_t total = cum.back(), K = batch.size();
        if (size == 0 || size >= total) return batch;
        if (size < K)
            throw shape_error(who + ": a curvature sample of " +
                              std::to_string(size) + " rows; it needs one row from each of the " + std::to_string(K) + " chunks");
        std::vector<std::size_t> c(K);
        const std::size_t m = size - K;
        for (std::size_t k = 0; k < K; ++k) c[k] = std::min(batch[k], 1 + m * cum[k + 1] / total - m * cum[k] / total);
        return c;
    }
private:
    std::size_t rows_, chunks_, rank_, ranks_;
};

}  // namespace gateaux::mpi
