// Tests for nn/metrics.hpp: accuracy, confusion_matrix, argmax, mean_squared_error and r2_score on
// small cases computed by hand (scikit-learn's documented R² examples among them), ties going to
// the lowest index; on random data (with ties) against naive implementations written here with
// the standard library, over shapes and seeds: the confusion matrix sums to the rows, its trace
// over the rows is the accuracy and its row and column sums count the true and predicted classes;
// R² is 1 for a perfect prediction and 0 for each column's mean; the errors and their messages.
#include <catch2/catch.hpp>

#include "support/check_error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <gateaux/nn/metrics.hpp>

namespace {

using namespace gateaux;

tensor make(std::size_t rows, std::size_t cols, std::initializer_list<double> values) {
    REQUIRE(values.size() == rows * cols);
    tensor t = tensor::from_shape({rows, cols});
    std::copy(values.begin(), values.end(), t.begin());
    return t;
}

tensor column(std::initializer_list<double> values) { return make(values.size(), 1, values); }

// Same shape and values (for CHECK: Catch cannot decompose xtensor's ==).
bool same(const tensor& a, const tensor& b) { return a.shape() == b.shape() && a == b; }


// ---------------------------------------------------------------- the naive versions

std::vector<std::size_t> naive_argmax(const tensor& t) {
    std::vector<std::size_t> c;
    for (std::size_t i = 0; i < t.shape(0); ++i) {
        std::vector<double> row(t.shape(1));
        for (std::size_t j = 0; j < t.shape(1); ++j) row[j] = t(i, j);
        c.push_back(std::size_t(std::max_element(row.begin(), row.end()) - row.begin()));  // the first largest
    }
    return c;
}

std::vector<std::vector<long>> naive_confusion(const std::vector<std::size_t>& truth, const std::vector<std::size_t>& pred,
                                               std::size_t k) {
    std::vector<std::vector<long>> m(k, std::vector<long>(k, 0));
    for (std::size_t i = 0; i < truth.size(); ++i) ++m[truth[i]][pred[i]];
    return m;
}

double naive_mse(const tensor& p, const tensor& t) {
    std::vector<double> per_column;
    for (std::size_t j = 0; j < p.shape(1); ++j) {
        long double s = 0.0L;
        for (std::size_t i = 0; i < p.shape(0); ++i) s += (long double)(p(i, j) - t(i, j)) * (p(i, j) - t(i, j));
        per_column.push_back(double(s / p.shape(0)));
    }
    long double s = 0.0L;
    for (double v : per_column) s += v;
    return double(s / per_column.size());
}

double naive_r2(const tensor& p, const tensor& t) {
    long double total = 0.0L;
    for (std::size_t j = 0; j < p.shape(1); ++j) {
        long double mean = 0.0L, res = 0.0L, tot = 0.0L;
        for (std::size_t i = 0; i < p.shape(0); ++i) mean += t(i, j);
        mean /= p.shape(0);
        for (std::size_t i = 0; i < p.shape(0); ++i) {
            res += (p(i, j) - t(i, j)) * (long double)(p(i, j) - t(i, j));
            tot += (t(i, j) - mean) * (t(i, j) - mean);
        }
        total += 1.0L - res / tot;
    }
    return double(total / p.shape(1));
}

tensor normal(std::size_t rows, std::size_t cols, std::mt19937_64& g) {
    std::normal_distribution<double> d(0.0, 1.0);
    tensor t = tensor::from_shape({rows, cols});
    for (double& v : t) v = d(g);
    return t;
}

}  // namespace

TEST_CASE("metrics: accuracy, argmax and the confusion matrix by hand", "[nn][metrics]") {
    // Row 1 ties classes 0 and 1 (class 0 wins), row 4 ties all three (class 0).
    const tensor scores = make(5, 3, {0.1, 0.7, 0.2,  //
                                      0.5, 0.5, 0.0,  //
                                      0.0, 0.0, 1.0,  //
                                      2.0, 1.0, 3.0,  //
                                      0.3, 0.3, 0.3});
    const tensor labels = column({1, 0, 2, 0, 1});
    const tensor one_hot = make(5, 3, {0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0});
    // Predicted 1, 0, 2, 2, 0: right, right, right, wrong, wrong.
    CHECK(same(argmax(scores), column({1, 0, 2, 2, 0})));
    CHECK(same(argmax(labels), labels));
    CHECK(accuracy(scores, labels) == 0.6);
    CHECK(accuracy(scores, one_hot) == 0.6);
    CHECK(accuracy(argmax(scores), labels) == 0.6);
    CHECK(accuracy(argmax(scores), one_hot) == 0.6);
    CHECK(accuracy(one_hot, labels) == 1.0);
    CHECK(accuracy(labels, labels) == 1.0);
    CHECK(accuracy(column({4, 7}), column({4, 6})) == 0.5);  // labels on both sides: any classes

    // Rows truth, columns predicted: truth 0 → predicted 0 and 2; truth 1 → 1 and 0; truth 2 → 2.
    const tensor expected = make(3, 3, {1, 0, 1,  //
                                        1, 1, 0,  //
                                        0, 0, 1});
    CHECK(same(confusion_matrix(scores, labels, 3), expected));
    CHECK(same(confusion_matrix(scores, one_hot, 3), expected));
    CHECK(same(confusion_matrix(argmax(scores), labels, 3), expected));
    // A class that never occurs keeps its row and column of zeros.
    CHECK(same(confusion_matrix(column({0, 0}), column({0, 3}), 4), make(4, 4, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})));
}

TEST_CASE("metrics: mean squared error and R² by hand", "[nn][metrics]") {
    CHECK(mean_squared_error(make(2, 2, {1, 2, 3, 4}), make(2, 2, {1, 1, 1, 1})) == 3.5);
    CHECK(mean_squared_error(column({3, -0.5, 2, 7}), column({2.5, 0.0, 2, 8})) == 0.375);

    // scikit-learn's r2_score examples: 0.948... and, with two outputs, 0.936... (uniform average).
    const double one = r2_score(column({2.5, 0.0, 2, 8}), column({3, -0.5, 2, 7}));
    CHECK(one == Approx(1.0 - 1.5 / 29.1875).epsilon(1e-14));
    CHECK(one == Approx(0.948).margin(0.001));
    const double two = r2_score(make(3, 2, {0, 2, -1, 2, 8, -5}), make(3, 2, {0.5, 1, -1, 1, 7, -6}));
    CHECK(two == Approx(1.0 - (7.5 / 217.0 + 9.0 / 98.0) / 2.0).epsilon(1e-14));
    CHECK(two == Approx(0.936).margin(0.001));

    // A constant target column: 1 when predicted exactly, 0 otherwise (scikit-learn's force_finite),
    // also when its mean is not exact in binary (0.1).
    CHECK(r2_score(column({0.1, 0.1, 0.1}), column({0.1, 0.1, 0.1})) == 1.0);
    CHECK(r2_score(column({0.1, 0.1, 0.2}), column({0.1, 0.1, 0.1})) == 0.0);
    CHECK(r2_score(make(3, 2, {1, 0.1, 2, 0.1, 3, 0.1}), make(3, 2, {1, 0.1, 2, 0.1, 3, 0.1})) == 1.0);
    // Worse than the mean: negative.
    CHECK(r2_score(column({3, 2, 1}), column({1, 2, 3})) == -3.0);
}

TEST_CASE("metrics: random data against the naive versions", "[nn][metrics]") {
    const std::size_t row_counts[] = {1, 5, 50, 333};
    const std::size_t class_counts[] = {2, 3, 10};
    for (const std::size_t n : row_counts)
        for (const std::size_t k : class_counts)
            for (const std::uint64_t seed : {1u, 2u, 3u}) {
                INFO(n << " rows, " << k << " classes, seed " << seed);
                std::mt19937_64 g(seed);
                tensor scores = normal(n, k, g);
                for (double& v : scores) v = std::round(v * 2.0) / 2.0;  // many ties
                std::uniform_int_distribution<std::size_t> cls(0, k - 1);
                tensor labels = tensor::from_shape({n, 1}), hot = xt::zeros<double>({n, k});
                for (std::size_t i = 0; i < n; ++i) {
                    const std::size_t c = cls(g);
                    labels(i, 0) = double(c);
                    hot(i, c) = 1.0;
                }
                const std::vector<std::size_t> pred = naive_argmax(scores), truth = naive_argmax(hot);
                std::size_t right = 0;
                for (std::size_t i = 0; i < n; ++i) right += pred[i] == truth[i];
                const double acc = double(right) / double(n);
                CHECK(accuracy(scores, labels) == acc);
                CHECK(accuracy(scores, hot) == acc);
                const tensor am = argmax(scores);
                for (std::size_t i = 0; i < n; ++i) CHECK(am(i, 0) == double(pred[i]));

                const tensor cm = confusion_matrix(scores, labels, k);
                const auto naive = naive_confusion(truth, pred, k);
                REQUIRE(cm.shape(0) == k);
                REQUIRE(cm.shape(1) == k);
                double total = 0.0, trace = 0.0;
                for (std::size_t a = 0; a < k; ++a)
                    for (std::size_t b = 0; b < k; ++b) {
                        CHECK(cm(a, b) == double(naive[a][b]));
                        total += cm(a, b);
                        if (a == b) trace += cm(a, b);
                    }
                CHECK(total == double(n));
                CHECK(trace / double(n) == acc);
                for (std::size_t c = 0; c < k; ++c) {
                    double row = 0.0, col = 0.0;
                    for (std::size_t j = 0; j < k; ++j) row += cm(c, j), col += cm(j, c);
                    CHECK(row == double(std::count(truth.begin(), truth.end(), c)));
                    CHECK(col == double(std::count(pred.begin(), pred.end(), c)));
                }

                // Regression on the same shapes.
                const tensor target = normal(n, k, g), guess = normal(n, k, g);
                CHECK(mean_squared_error(guess, target) == Approx(naive_mse(guess, target)).epsilon(1e-13));
                CHECK(mean_squared_error(target, target) == 0.0);
                if (n < 2) continue;
                CHECK(r2_score(guess, target) == Approx(naive_r2(guess, target)).epsilon(1e-12));
                CHECK(r2_score(target, target) == 1.0);
                tensor means = target;
                for (std::size_t j = 0; j < k; ++j) {
                    double m = 0.0;
                    for (std::size_t i = 0; i < n; ++i) m += target(i, j);
                    for (std::size_t i = 0; i < n; ++i) means(i, j) = m / double(n);
                }
                CHECK(std::abs(r2_score(means, target)) <= 1e-12);
            }
}

TEST_CASE("metrics: errors", "[nn][metrics]") {
    const tensor scores = make(3, 2, {1, 0, 0, 1, 1, 0});
    const tensor labels = column({0, 1, 0});
    check_error<shape_error>([&] { (void)accuracy(scores, column({0, 1})); },
                             "gateaux::accuracy: pred is 3×2, truth is 2×1: the rows differ");
    check_error<shape_error>([&] { (void)accuracy(tensor::from_shape({0, 2}), tensor::from_shape({0, 1})); },
                             "gateaux::accuracy: no rows (pred is 0×2)");
    check_error<shape_error>([&] { (void)accuracy(scores, xt::zeros<double>({3, 3})); },
                             "gateaux::accuracy: pred is 3×2, truth is 3×3: scores of different numbers of classes");
    check_error<value_error>([&] { (void)accuracy(scores, column({0, 2, 1})); },
                             "gateaux::accuracy: truth (labels) holds 2 at row 1, not an integer in [0, 2)");
    check_error<value_error>([&] { (void)accuracy(scores, column({0, 0.5, 1})); }, "truth (labels) holds 0.5 at row 1");
    check_error<value_error>([&] { (void)accuracy(column({0, -1, 1}), labels); }, "pred (labels) holds -1 at row 1");
    check_error<value_error>([&] { (void)accuracy(make(3, 2, {1, 0, 0, std::nan(""), 1, 0}), labels); },
                             "gateaux::accuracy: pred holds a non-finite value nan at (1, 1)");
    check_error<shape_error>([&] { (void)accuracy(tensor::from_shape({3, 0}), labels); }, "pred has no columns (3×0)");

    check_error<value_error>([&] { (void)confusion_matrix(scores, labels, 0); }, "gateaux::confusion_matrix: classes must be ≥ 1");
    check_error<shape_error>([&] { (void)confusion_matrix(scores, labels, 3); },
                             "gateaux::confusion_matrix: pred is 3×2: scores of 2 classes where 3 are expected");
    check_error<value_error>([&] { (void)confusion_matrix(labels, column({0, 1, 2}), 2); },
                             "gateaux::confusion_matrix: truth (labels) holds 2 at row 2, not an integer in [0, 2)");
    check_error<shape_error>([&] { (void)confusion_matrix(labels, column({0, 1}), 2); }, "the rows differ");

    check_error<shape_error>([&] { (void)mean_squared_error(scores, labels); },
                             "gateaux::mean_squared_error: pred is 3×2, target is 3×1: the columns differ");
    check_error<shape_error>([&] { (void)mean_squared_error(scores, column({1, 2})); }, "the rows differ");
    check_error<shape_error>([&] { (void)mean_squared_error(tensor::from_shape({0, 2}), tensor::from_shape({0, 2})); },
                             "gateaux::mean_squared_error: no rows");
    check_error<value_error>([&] { (void)mean_squared_error(labels, column({0, 1, INFINITY})); },
                             "gateaux::mean_squared_error: target holds a non-finite value inf at (2, 0)");
    check_error<shape_error>([&] { (void)r2_score(column({1}), column({1})); },
                             "gateaux::r2_score: R² needs at least two rows, target is 1×1");
    check_error<shape_error>([&] { (void)r2_score(tensor::from_shape({4, 0}), tensor::from_shape({4, 0})); },
                             "gateaux::r2_score: pred is 4×0, target is 4×0: no columns");
}
