#pragma once
// Data sets for the examples and for users: the readers (io/csv.hpp, io/npy.hpp), one-hot
// encoding of label columns, row and column slices, a seeded shuffle and train/test split, and
// standardisation whose statistics can be saved with a checkpoint. Errors name the tensor and
// what was wrong, and leave the caller's tensors unchanged.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../io/csv.hpp"
#include "../io/npy.hpp"
#include "../io/state.hpp"

namespace gateaux {

// Integer labels 0..classes−1 (a column) as one-hot rows (labels.rows × classes).
inline tensor one_hot(const tensor& labels, std::size_t classes) {
    if (labels.shape(1) != 1)
        throw shape_error("gateaux::one_hot: labels must be one column (N×1), got " + std::to_string(labels.shape(0)) + "×" +
                          std::to_string(labels.shape(1)));
    tensor out = xt::zeros<double>({labels.shape(0), classes});
    for (std::size_t i = 0; i < labels.shape(0); ++i) {
        const double v = labels(i, 0);
        if (!(v >= 0.0 && v < double(classes) && v == std::floor(v)))
            throw value_error("gateaux::one_hot: label " + number_string(v) + " at row " + std::to_string(i) +
                              " is not an integer in [0, " + std::to_string(classes) + ")");
        out(i, std::size_t(v)) = 1.0;
    }
    return out;
}

// Rows [first, first + count) of a matrix, as a new tensor.
inline tensor rows(const tensor& t, std::size_t first, std::size_t count) {
    if (first > t.shape(0) || count > t.shape(0) - first)  // (first + count could wrap around)
        throw shape_error("gateaux::rows: " + std::to_string(count) + " rows from row " + std::to_string(first) + " of a matrix with " +
                          std::to_string(t.shape(0)) + " rows");
    return xt::view(t, xt::range(first, first + count), xt::all());
}

// Columns [first, first + count) of a matrix, as a new tensor.
inline tensor cols(const tensor& t, std::size_t first, std::size_t count) {
    if (first > t.shape(1) || count > t.shape(1) - first)  // (first + count could wrap around)
        throw shape_error("gateaux::cols: " + std::to_string(count) + " columns from column " + std::to_string(first) +
                          " of a matrix with " + std::to_string(t.shape(1)) + " columns");
    return xt::view(t, xt::all(), xt::range(first, first + count));
}

namespace detail {
inline tensor gather_rows(const tensor& t, const std::vector<std::size_t>& order, std::size_t from, std::size_t count) {
    const std::size_t c = t.shape(1);
    tensor out = xt::empty<double>({count, c});
    for (std::size_t r = 0; r < count; ++r) std::copy_n(t.data() + order[from + r] * c, c, out.data() + r * c);
    return out;
}
inline std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::mt19937_64 g(seed);
    std::shuffle(order.begin(), order.end(), g);
    return order;
}
// Refuses NaN and ±inf, naming the first one's position.
inline void check_finite_data(const tensor& x, const char* who) {
    for (std::size_t i = 0; i < x.shape(0); ++i)
        for (std::size_t j = 0; j < x.shape(1); ++j)
            if (!std::isfinite(x(i, j)))
                throw value_error(std::string("gateaux::") + who + ": the data holds NaN or ±inf: " + number_string(x(i, j)) + " at (" +
                                  std::to_string(i) + ", " + std::to_string(j) + ")");
}
inline void same_rows(const tensor& x, const tensor& y, const char* who) {
    if (x.shape(0) != y.shape(0))
        throw shape_error(std::string("gateaux::") + who + ": the inputs have " + std::to_string(x.shape(0)) + " rows, the targets " +
                          std::to_string(y.shape(0)));
}
}  // namespace detail

// The rows of x and y in one random order (the same for both), from seed.
struct shuffled {
    tensor x, y;
};
inline shuffled shuffle_rows(const tensor& x, const tensor& y, std::uint64_t seed) {
    detail::same_rows(x, y, "shuffle_rows");
    const std::vector<std::size_t> order = detail::permutation(x.shape(0), seed);
    return {detail::gather_rows(x, order, 0, order.size()), detail::gather_rows(y, order, 0, order.size())};
}

// A seeded random split of the rows: the first round(test_fraction·rows) of a random order are the
// test set, the rest (in that order) the training set. Both sets must keep at least one row.
struct split {
    tensor train_x, train_y, test_x, test_y;
};
inline split train_test_split(const tensor& x, const tensor& y, double test_fraction, std::uint64_t seed) {
    detail::same_rows(x, y, "train_test_split");
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        throw value_error("gateaux::train_test_split: test_fraction must be in (0, 1), got " + number_string(test_fraction));
    const std::size_t n = x.shape(0), test = std::size_t(std::llround(test_fraction * double(n)));
    if (test == 0 || test == n)
        throw shape_error("gateaux::train_test_split: " + std::to_string(n) + " rows at test_fraction " + number_string(test_fraction) +
                          " leave an empty set");
    const std::vector<std::size_t> order = detail::permutation(n, seed);
    return {detail::gather_rows(x, order, test, n - test), detail::gather_rows(y, order, test, n - test),
            detail::gather_rows(x, order, 0, test), detail::gather_rows(y, order, 0, test)};
}

// Standardisation of columns: (x − mean) / sd, with the mean and standard deviation of the data it
// was fitted on (a column of zero spread keeps sd = 1, so it becomes 0). Fit on the training set,
// apply to both sets; the statistics are state, saved with a checkpoint (io/checkpoint.hpp), so
// that new data can be scaled as the model was trained.
class standardizer {
public:
    standardizer() = default;
    explicit standardizer(const tensor& x) { fit(x); }

    void fit(const tensor& x) {
        if (x.shape(0) == 0) throw shape_error("gateaux::standardizer::fit: the data has no rows");
        detail::check_finite_data(x, "standardizer::fit");
        const std::size_t n = x.shape(0), c = x.shape(1);
        mean_ = xt::zeros<double>({std::size_t(1), c});
        sd_ = xt::zeros<double>({std::size_t(1), c});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < c; ++j) mean_(0, j) += x(i, j);
        for (std::size_t j = 0; j < c; ++j) mean_(0, j) /= double(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < c; ++j) sd_(0, j) += (x(i, j) - mean_(0, j)) * (x(i, j) - mean_(0, j));
        for (std::size_t j = 0; j < c; ++j) {
            const double s = std::sqrt(sd_(0, j) / double(n));
            sd_(0, j) = s > 0.0 ? s : 1.0;
        }
    }
    bool fitted() const { return mean_.size() != 0; }
    const tensor& mean() const { return mean_; }
    const tensor& sd() const { return sd_; }

    tensor apply(const tensor& x) const {
        if (!fitted()) throw error("gateaux::standardizer::apply: fit it first (or load its statistics)");
        if (x.shape(1) != mean_.shape(1))
            throw shape_error("gateaux::standardizer::apply: the data has " + std::to_string(x.shape(1)) + " columns, it was fitted on " +
                              std::to_string(mean_.shape(1)));
        detail::check_finite_data(x, "standardizer::apply");
        tensor out = x;
        for (std::size_t i = 0; i < out.shape(0); ++i)
            for (std::size_t j = 0; j < out.shape(1); ++j) out(i, j) = (out(i, j) - mean_(0, j)) / sd_(0, j);
        return out;
    }

    void state(state_archive& a) {
        a("mean", mean_), a("sd", sd_);
        if (!a.loading() || !a.strict()) return;
        if (mean_.shape(0) != 1 || sd_.shape(0) != 1 || mean_.shape(1) != sd_.shape(1))
            throw checkpoint_error("gateaux::standardizer: the checkpoint's mean is " + shape_string(mean_) + " and sd " +
                                   shape_string(sd_) + ", expected two rows of equal width");
        for (double v : sd_)
            if (!(v > 0.0) || !std::isfinite(v))
                throw checkpoint_error("gateaux::standardizer: the checkpoint's sd holds " + number_string(v) + ", not a positive number");
    }

private:
    tensor mean_, sd_;
};

}  // namespace gateaux
