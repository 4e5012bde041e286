#pragma once
// Which rows of an objective's data each of its programs sees (optim/objective.hpp):
//
//   full batch          every program sees all rows;
//   minibatches         use_minibatches(size): loss, gradient and curvature see `size` rows, drawn
//                       without replacement within an epoch; next_batch() moves on;
//   curvature sample    use_curvature_sample(size): the curvature programs (H·v, Gauss–Newton·v,
//                       Fisher·v, layer statistics, block inverse, explicit Hessian, the forward
//                       pass that draws sampled targets) see `size` rows drawn from the current
//                       ones, drawn afresh by resample(); loss, gradient and Newton step keep all.
//
// The objective owns the programs; this class owns the data tensors and the draws, and tells the
// objective what to bind through a callable bind(slot, tensor, bind_to). The programs keep
// pointers to these tensors, so every call that may reallocate one rebinds it.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../io/file.hpp"
#include "../io/state.hpp"

namespace gateaux::detail {

// Which programs a data tensor is bound to: loss, gradient and Newton step (main), the
// curvature products (curvature), or both.
enum class bind_to { main, curvature, all };

inline std::vector<std::size_t> iota_rows(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t(0));
    return v;
}

class data_rows {
public:
    // Stores t as the data named `name`; returns its slot and whether the slot is new.
    std::pair<std::size_t, bool> set(std::string_view name, const tensor& t) {
        for (std::size_t d = 0; d < slots_.size(); ++d)
            if (slots_[d].name == name) {
                slots_[d].full = t;
                return {d, false};
            }
        slots_.push_back({std::string(name), t, tensor{}, tensor{}});
        return {slots_.size() - 1, true};
    }

    // The slot of the data named `name`, or npos.
    std::size_t slot_of(std::string_view name) const {
        for (std::size_t d = 0; d < slots_.size(); ++d)
            if (slots_[d].name == name) return d;
        return std::size_t(-1);
    }

    std::size_t rows() const { return slots_.empty() ? 0 : slots_.front().full.shape(0); }
    std::size_t batch_rows() const { return batch_size_ == 0 ? rows() : std::min(batch_size_, rows()); }
    std::size_t curvature_rows() const {
        return curvature_size_ == 0 ? batch_rows() : std::min(curvature_size_, batch_rows());
    }
    bool minibatched() const { return batch_size_ != 0; }
    // rows / sampled rows for a loss summed over rows (so that the sample's curvature estimates
    // the whole set's), else 1.
    double curvature_scale() const { return curvature_scale_; }

    template <class Bind>
    void use_minibatches(std::size_t size, std::uint64_t seed, Bind&& bind) {
        if (size == 0) throw shape_error("gateaux::objective::use_minibatches: the batch size must be ≥ 1, got 0");
        batch_size_ = size;
        rng_.seed(seed);
        rebind_all(bind);
    }
    template <class Bind>
    void use_curvature_sample(std::size_t size, std::uint64_t seed, bool sums_rows, Bind&& bind) {
        curvature_size_ = size;
        sums_rows_ = sums_rows;
        curvature_rng_.seed(seed);
        rebind_all(bind);
    }

    // Everything bound afresh: the full data everywhere, then the minibatch and the sample.
    template <class Bind>
    void rebind_all(Bind&& bind) {
        for (std::size_t d = 0; d < slots_.size(); ++d) bind(d, slots_[d].full, bind_to::all);
        if (batch_size_ != 0) {
            order_.clear();
            next_batch(bind);  // binds the batch, then draws the curvature sample from it
        } else {
            resample(bind);
        }
    }

    template <class Bind>
    void next_batch(Bind&& bind) {
        if (batch_size_ == 0 || slots_.empty() || !rows_agree()) return;
        const std::size_t n = rows(), b = std::min(batch_size_, n);
        if (order_.size() != n || cursor_ + b > n) {
            order_ = iota_rows(n);
            std::shuffle(order_.begin(), order_.end(), rng_);
            cursor_ = 0;
        }
        for (std::size_t d = 0; d < slots_.size(); ++d) {
            gather(slots_[d].full, order_, cursor_, b, slots_[d].batch);
            bind(d, slots_[d].batch, curvature_size_ == 0 ? bind_to::all : bind_to::main);
        }
        cursor_ += b;
        resample(bind);
    }

    template <class Bind>
    void resample(Bind&& bind) {
        curvature_scale_ = 1.0;
        // Nothing to draw from until every data tensor has the same rows (set_data replaces them
        // one at a time; until then the full data stays bound everywhere).
        if (curvature_size_ == 0 || slots_.empty() || !rows_agree()) return;
        const bool batched = batch_size_ != 0;
        const std::size_t n = batched ? slots_.front().batch.shape(0) : rows(), b = std::min(curvature_size_, n);
        if (sums_rows_) curvature_scale_ = double(n) / double(b);
        if (curvature_order_.size() != n) curvature_order_ = iota_rows(n);
        // A partial Fisher–Yates shuffle: the first b entries become a uniform random subset.
        for (std::size_t i = 0; i < b; ++i) {
            std::uniform_int_distribution<std::size_t> pick(i, n - 1);
            std::swap(curvature_order_[i], curvature_order_[pick(curvature_rng_)]);
        }
        for (std::size_t d = 0; d < slots_.size(); ++d) {
            gather(batched ? slots_[d].batch : slots_[d].full, curvature_order_, 0, b, slots_[d].curvature);
            bind(d, slots_[d].curvature, bind_to::curvature);
        }
    }

    // The draws (generators, orders, cursor) and the settings they depend on; on loading, the
    // settings must agree with this object's, and the rows of the current minibatch and curvature
    // sample are gathered again and bound (rebind_current).
    void state(state_archive& a) {
        std::size_t batch = batch_size_, curvature = curvature_size_, n = rows(), slots = slots_.size();
        a("batch_size", batch), a("curvature_size", curvature), a("rows", n), a("data_tensors", slots);
        if (a.loading() && a.strict() && (batch != batch_size_ || curvature != curvature_size_ || n != rows() || slots != slots_.size()))
            throw checkpoint_error("gateaux::checkpoint: the objective's data was saved with " + std::to_string(slots) + " tensors of " +
                                   std::to_string(n) + " rows, minibatches of " + std::to_string(batch) + " and curvature samples of " +
                                   std::to_string(curvature) + " (0: off); this objective has " + std::to_string(slots_.size()) +
                                   ", " + std::to_string(rows()) + ", " + std::to_string(batch_size_) + " and " +
                                   std::to_string(curvature_size_));
        for (slot& d : slots_) {
            // What identifies the data: its name, shape and checksum.
            std::string name = d.name;
            std::size_t sum = fingerprint(d.full);
            std::size_t cols = d.full.shape(1);
            a("data/" + d.name + "/columns", cols), a("data/" + d.name + "/fingerprint", sum);
            if (a.loading() && a.strict() && (cols != d.full.shape(1) || sum != fingerprint(d.full)))
                throw checkpoint_error("gateaux::checkpoint: the data '" + name + "' differs from the data the checkpoint was written with");
        }
        a("cursor", cursor_), a("curvature_scale", curvature_scale_);
        a("order", order_), a("curvature_order", curvature_order_);
        // A generator not in use is seeded again when it comes into use (use_minibatches,
        // use_curvature_sample), so only those in use are state.
        if (batch_size_ != 0) a("batch_generator", rng_);
        if (curvature_size_ != 0) a("curvature_generator", curvature_rng_);
        if (a.loading() && (cursor_ > order_.size() || (order_.size() != 0 && order_.size() != rows())))
            throw checkpoint_error("gateaux::checkpoint: the objective's minibatch order does not fit its data");
        for (std::size_t i : order_)
            if (i >= rows()) throw checkpoint_error("gateaux::checkpoint: the objective's minibatch order names a row beyond its data");
        // The curvature sample indexes the minibatch when there is one, else the data.
        const std::size_t sampled_from = batch_size_ != 0 ? std::min(batch_size_, rows()) : rows();
        if (a.loading() && curvature_size_ != 0 && !curvature_order_.empty()) {
            if (curvature_order_.size() != sampled_from)
                throw checkpoint_error("gateaux::checkpoint: the objective's curvature sample order has " +
                                       std::to_string(curvature_order_.size()) + " entries, its rows " + std::to_string(sampled_from));
            for (std::size_t i : curvature_order_)
                if (i >= sampled_from)
                    throw checkpoint_error("gateaux::checkpoint: the objective's curvature sample names a row beyond its data");
        }
    }

    // Binds the full data, and the current minibatch and curvature sample gathered again from
    // the orders (after a load: the same rows as when the state was saved).
    template <class Bind>
    void rebind_current(Bind&& bind) {
        for (std::size_t d = 0; d < slots_.size(); ++d) bind(d, slots_[d].full, bind_to::all);
        if (slots_.empty() || !rows_agree()) return;
        const std::size_t n = rows();
        const bool batched = batch_size_ != 0 && order_.size() == n && cursor_ >= std::min(batch_size_, n);
        if (batched) {
            const std::size_t b = std::min(batch_size_, n);
            for (std::size_t d = 0; d < slots_.size(); ++d) {
                gather(slots_[d].full, order_, cursor_ - b, b, slots_[d].batch);
                bind(d, slots_[d].batch, curvature_size_ == 0 ? bind_to::all : bind_to::main);
            }
        }
        if (curvature_size_ == 0) return;
        const std::size_t m = batched ? slots_.front().batch.shape(0) : n, b = std::min(curvature_size_, m);
        if (curvature_order_.size() != m) return;
        for (std::size_t d = 0; d < slots_.size(); ++d) {
            gather(batched ? slots_[d].batch : slots_[d].full, curvature_order_, 0, b, slots_[d].curvature);
            bind(d, slots_[d].curvature, bind_to::curvature);
        }
    }

private:
    // A checksum of a data tensor's values (the CRC-32 of its bytes).
    static std::size_t fingerprint(const tensor& t) {
        return crc32(std::string_view(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(double)));
    }

    struct slot {
        std::string name;
        tensor full, batch, curvature;
    };

    bool rows_agree() const {
        for (const slot& d : slots_)
            if (d.full.shape(0) != slots_.front().full.shape(0)) return false;
        return true;
    }

    // dst = the rows order[from .. from + count) of src.
    static void gather(const tensor& src, const std::vector<std::size_t>& order, std::size_t from, std::size_t count, tensor& dst) {
        const std::size_t c = src.shape(1);
        if (dst.dimension() != 2 || dst.shape(0) != count || dst.shape(1) != c) dst.resize({count, c});
        for (std::size_t r = 0; r < count; ++r) std::copy_n(src.data() + order[from + r] * c, c, dst.data() + r * c);
    }

    std::vector<slot> slots_;
    std::size_t batch_size_ = 0, cursor_ = 0, curvature_size_ = 0;
    bool sums_rows_ = false;
    double curvature_scale_ = 1.0;
    std::vector<std::size_t> order_, curvature_order_;
    std::mt19937_64 rng_, curvature_rng_;
};

}  // namespace gateaux::detail
