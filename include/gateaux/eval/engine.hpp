#pragma once
// The run-time half of a compiled program, independent of the graph's type: a loop over a
// constexpr table of steps. Each step calls a kernel templated only on its op, so code size and
// symbol names grow with the number of op kinds, not with the size of the graph.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../core/blas_info.hpp"
#include "../core/dim.hpp"
#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace gateaux::detail {

inline constexpr std::size_t max_arity = 4;

using kernel_fn = void (*)(tensor& out, const tensor* const* values, const std::uint32_t* args);

template <class Op, std::size_t... I>
void run_kernel(tensor& out, const tensor* const* values, const std::uint32_t* args) {
    Op::value(out, *values[args[I]]...);
}

// Whether every entry is finite, fast: run() re-checks the data leaves every time, and an
// entry-by-entry std::isfinite loop cost 1.7 µs of the reference MLP's 11 µs forward pass
// (bench/forward.cpp); this takes about 0.5 µs. An entry is NaN or ±inf exactly when its 11
// exponent bits are all ones, and adding 1 at the exponent's lowest bit then carries into the
// sign bit: OR that over all entries and look at the sign bit. Branch-free, two entries per SSE2
// operation (g++ -O2 does not vectorise the scalar loop itself).
inline bool all_finite(const tensor& t) {
    constexpr std::uint64_t exponent = 0x7ff0000000000000ULL, carry = 0x0010000000000000ULL;
    const double* p = t.data();
    const std::size_t n = t.size();
    std::uint64_t acc = 0;
    std::size_t i = 0;
#if defined(__GNUC__)
    using u64x2 = std::uint64_t __attribute__((vector_size(16)));
    auto flags = [p](std::size_t k) {
        u64x2 v;
        std::memcpy(&v, p + k, sizeof v);
        return (v & exponent) + carry;
    };
    u64x2 a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0;
    for (; i + 8 <= n; i += 8) {
        a0 |= flags(i);
        a1 |= flags(i + 2);
        a2 |= flags(i + 4);
        a3 |= flags(i + 6);
    }
    a0 |= a1 | a2 | a3;
    acc = a0[0] | a0[1];
#endif
    for (; i < n; ++i) acc |= (std::bit_cast<std::uint64_t>(p[i]) & exponent) + carry;
    return (acc >> 63) == 0;
}

struct step {
    kernel_fn fn;  // null for a leaf
    std::uint32_t args[max_arity];
    dim rows, cols;
    bool constant;  // depends on no leaf: computed only when buffers are (re)shaped
};

struct leaf_info {
    std::string_view name;
    std::string_view kind;
    bool is_data;  // inputs and targets; parameters are not data
    dim rows, cols;
    std::uint32_t node;  // its index in the step table
};

class engine {
public:
    engine(std::span<const step> steps, std::span<const leaf_info> leaves)
        : steps_(steps), leaves_(leaves), buffers_(steps.size()), values_(steps.size(), nullptr) {
        warn_if_slow_blas();
    }
    // Copies keep the bindings and re-point node values at their own buffers. (No move
    // operations are declared, so a move copies: a moved-from program stays usable.)
    engine(const engine& o)
        : steps_(o.steps_), leaves_(o.leaves_), buffers_(o.buffers_), values_(o.values_), shaped_batch_(o.shaped_batch_) {
        repoint();
    }
    engine& operator=(const engine& o) {
        if (this != &o) {
            buffers_ = o.buffers_;
            values_ = o.values_;
            shaped_batch_ = o.shaped_batch_;
            repoint();
        }
        return *this;
    }

    // Bind a tensor to leaf number `l`. It is not copied: it must outlive the runs that use it.
    void bind_leaf(std::size_t l, const tensor& t) {
        const leaf_info& info = leaves_[l];
        check_shape(info, t);
        if (info.is_data) check_finite(info, t);
        values_[info.node] = &t;
    }

    void bind_name(std::string_view name, const tensor& t) { bind_leaf(find_leaf(name), t); }

    // The tensor bound to leaf number `l`, or null.
    const tensor* bound_leaf(std::size_t l) const { return values_[leaves_[l].node]; }
    void unbind_leaf(std::size_t l) { values_[leaves_[l].node] = nullptr; }

    // Evaluate every node once, in schedule order.
    void run() {
        const std::size_t b = check_bindings();
        if (b != shaped_batch_) reshape(b);
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            const step& s = steps_[i];
            if (s.fn != nullptr && !s.constant) s.fn(buffers_[i], values_.data(), s.args);
        }
    }

    const tensor& value_at(std::size_t node) const {
        if (values_[node] == nullptr)
            throw shape_error("gateaux: no value yet; bind every leaf and call run() first");
        return *values_[node];
    }

    // The run-time batch size of the last run (1 when no leaf has a run-time batch; 0 before the
    // first run).
    std::size_t batch_size() const { return shaped_batch_; }

    // The checks bind() makes, for a tensor that is to be bound to leaf `l` later (a graph
    // objective checks its data with them before storing it): the shape, and finite values.
    static std::string describe(const leaf_info& l) {
        return std::string(l.kind) + " '" + std::string(l.name) + "'";
    }
    static std::string expected(const leaf_info& l) {
        std::string s = shape_string({l.rows, l.cols});
        if (l.rows == batch) s += " (any batch B ≥ 1)";
        return s;
    }

    static void check_shape(const leaf_info& l, const tensor& t) {
        const bool rows_ok = l.rows == batch ? t.shape(0) >= 1 : t.shape(0) == std::size_t(l.rows);
        if (!rows_ok || t.shape(1) != std::size_t(l.cols))
            throw shape_error("gateaux: " + describe(l) + " must be " + expected(l) + ", got " +
                              std::to_string(t.shape(0)) + "×" + std::to_string(t.shape(1)));
    }

    // The fast scan first; the position of a bad entry only when there is one.
    static void check_finite(const leaf_info& l, const tensor& t) {
        if (all_finite(t)) return;
        for (std::size_t i = 0; i < t.shape(0); ++i)
            for (std::size_t j = 0; j < t.shape(1); ++j)
                if (!std::isfinite(t(i, j)))
                    throw value_error("gateaux: " + describe(l) + " has a non-finite value " + number_string(t(i, j)) +
                                      " at (" + std::to_string(i) + ", " + std::to_string(j) + ")");
    }

private:
    std::size_t find_leaf(std::string_view name) const {
        for (std::size_t l = 0; l < leaves_.size(); ++l)
            if (leaves_[l].name == name) return l;
        std::string known;
        for (const leaf_info& l : leaves_) known += (known.empty() ? "" : ", ") + std::string(l.name);
        throw shape_error("gateaux: no leaf named '" + std::string(name) + "' in this program (its leaves: " + known + ")");
    }

    // Every leaf bound with its shape and, for data, finite values (re-checked: a bound tensor may
    // have been resized or rewritten since),
    // and one batch size shared by all batch-sized leaves. Returns that batch size (1 if none).
    std::size_t check_bindings() const {
        std::size_t b = 0;
        const leaf_info* first = nullptr;
        for (const leaf_info& l : leaves_) {
            const tensor* t = values_[l.node];
            if (t == nullptr) throw shape_error("gateaux: " + describe(l) + " is not bound (expects " + expected(l) + ")");
            check_shape(l, *t);
            // Data may be rewritten in place between runs (feeding batches without allocating).
            if (l.is_data) check_finite(l, *t);
            if (l.rows != batch) continue;
            if (first == nullptr) {
                first = &l;
                b = t->shape(0);
            } else if (t->shape(0) != b) {
                throw shape_error("gateaux: batch sizes differ: " + describe(*first) + " has " + std::to_string(b) +
                                  " rows, " + describe(l) + " has " + std::to_string(t->shape(0)));
            }
        }
        return first == nullptr ? 1 : b;
    }

    void repoint() {
        for (std::size_t i = 0; i < steps_.size(); ++i)
            if (steps_[i].fn != nullptr) values_[i] = shaped_batch_ != 0 ? &buffers_[i] : nullptr;
    }

    void reshape(std::size_t b) {
        auto resolve = [b](dim d) { return d < 0 ? std::size_t(-d) * b : std::size_t(d); };
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            const step& s = steps_[i];
            if (s.fn == nullptr) continue;
            buffers_[i].resize({resolve(s.rows), resolve(s.cols)});
            values_[i] = &buffers_[i];
        }
        for (std::size_t i = 0; i < steps_.size(); ++i)
            if (steps_[i].fn != nullptr && steps_[i].constant) steps_[i].fn(buffers_[i], values_.data(), steps_[i].args);
        shaped_batch_ = b;
    }

    std::span<const step> steps_;
    std::span<const leaf_info> leaves_;
    std::vector<tensor> buffers_;         // one per node; leaves' entries stay empty
    std::vector<const tensor*> values_;   // a leaf's bound tensor, or a node's buffer
    std::size_t shaped_batch_ = 0;        // batch size the buffers are shaped for (0: none yet)
};

}  // namespace gateaux::detail
