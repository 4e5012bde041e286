#pragma once
// How good predictions are: classification accuracy and the confusion matrix, regression's mean
// squared error and R².
//
//   double acc = accuracy(predict(out, w, theta, x, X_test), Y_test);        // scores vs one-hot
//   tensor cm  = confusion_matrix(scores, labels, 10);                        // rows truth, columns predicted
//   double r2  = r2_score(predict(out, w, theta, x, X_test), Y_test);
//
// Classes come as scores (N×k: logits, probabilities or one-hot rows; the class of a row is its
// argmax, the lowest index among equal maxima) or as labels (N×1: integers 0..k−1). A single
// column is always labels, so a binary classifier's one sigmoid output is not a score here:
// threshold it into labels first. argmax(scores) gives the labels (N×1).
//
// Errors: shape_error when the two arguments' rows differ, when their columns do not fit (scores
// with another number of classes, targets of another width) or when there are no rows; value_error
// on NaN or ±inf, a label that is not an integer in [0, k), or a number of classes below 1. Each
// message names the function, the argument and the shapes or the value and its position.
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

namespace detail {
inline void metric_finite(const tensor& t, const char* who, const char* what) {
    for (std::size_t i = 0; i < t.shape(0); ++i)
        for (std::size_t j = 0; j < t.shape(1); ++j)
            if (!std::isfinite(t(i, j)))
                throw value_error(std::string("gateaux::") + who + ": " + what + " holds a non-finite value " +
                                  number_string(t(i, j)) + " at (" + std::to_string(i) + ", " + std::to_string(j) + ")");
}

inline void metric_rows(const tensor& a, const tensor& b, const char* who, const char* an, const char* bn) {
    if (a.shape(0) != b.shape(0))
        throw shape_error(std::string("gateaux::") + who + ": " + an + " is " + shape_string(a) + ", " + bn + " is " +
                          shape_string(b) + ": the rows differ");
    if (a.shape(0) == 0) throw shape_error(std::string("gateaux::") + who + ": no rows (" + an + " is " + shape_string(a) + ")");
}

// The class of each row: its argmax for scores (k ≥ 2 columns), its label for a single column
// (an integer in [0, classes); classes 0: any integer ≥ 0).
inline std::vector<std::size_t> classes_of(const tensor& t, std::size_t classes, const char* who, const char* what) {
    const std::size_t n = t.shape(0), k = t.shape(1);
    if (k == 0) throw shape_error(std::string("gateaux::") + who + ": " + what + " has no columns (" + shape_string(t) + ")");
    metric_finite(t, who, what);
    std::vector<std::size_t> c(n);
    if (k == 1) {
        for (std::size_t i = 0; i < n; ++i) {
            const double v = t(i, 0);
            if (!(v >= 0.0 && v == std::floor(v) && (classes == 0 ? v < 9.0e15 : v < double(classes))))
                throw value_error(std::string("gateaux::") + who + ": " + what + " (labels) holds " + number_string(v) + " at row " +
                                  std::to_string(i) + ", not an integer in [0, " +
                                  (classes == 0 ? std::string("∞") : std::to_string(classes)) + ")");
            c[i] = std::size_t(v);
        }
        return c;
    }
    if (classes != 0 && k != classes)
        throw shape_error(std::string("gateaux::") + who + ": " + what + " is " + shape_string(t) + ": scores of " +
                          std::to_string(k) + " classes where " + std::to_string(classes) + " are expected (or labels, one column)");
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < k; ++j)
            if (t(i, j) > t(i, best)) best = j;
        c[i] = best;
    }
    return c;
}
}  // namespace detail

// Each row's argmax (lowest index on ties), as an N×1 column of labels; a single column is
// returned as it is (it already holds labels).
inline tensor argmax(const tensor& scores) {
    const std::vector<std::size_t> c = detail::classes_of(scores, 0, "argmax", "scores");
    tensor out = tensor::from_shape({c.size(), std::size_t(1)});
    for (std::size_t i = 0; i < c.size(); ++i) out(i, 0) = double(c[i]);
    return out;
}

// The fraction of rows whose predicted class is the true one. pred: scores (N×k) or labels (N×1);
// truth: one-hot or scores (N×k) or labels (N×1); with scores on both sides their k agree, labels
// must be below the other side's k.
inline double accuracy(const tensor& pred, const tensor& truth) {
    detail::metric_rows(pred, truth, "accuracy", "pred", "truth");
    if (pred.shape(1) >= 2 && truth.shape(1) >= 2 && pred.shape(1) != truth.shape(1))
        throw shape_error("gateaux::accuracy: pred is " + shape_string(pred) + ", truth is " + shape_string(truth) +
                          ": scores of different numbers of classes");
    const std::size_t k = pred.shape(1) >= 2 ? pred.shape(1) : truth.shape(1) >= 2 ? truth.shape(1) : 0;
    const std::vector<std::size_t> p = detail::classes_of(pred, k, "accuracy", "pred");
    const std::vector<std::size_t> t = detail::classes_of(truth, k, "accuracy", "truth");
    std::size_t right = 0;
    for (std::size_t i = 0; i < p.size(); ++i) right += p[i] == t[i];
    return double(right) / double(p.size());
}

// The classes×classes matrix of counts: entry (i, j) is the number of rows of true class i
// predicted as j (rows truth, columns predicted, as in scikit-learn). pred and truth: scores
// (N×classes) or labels (N×1, in [0, classes)). Its entries sum to N, its trace is N·accuracy.
inline tensor confusion_matrix(const tensor& pred, const tensor& truth, std::size_t classes) {
    if (classes == 0) throw value_error("gateaux::confusion_matrix: classes must be ≥ 1");
    detail::metric_rows(pred, truth, "confusion_matrix", "pred", "truth");
    const std::vector<std::size_t> p = detail::classes_of(pred, classes, "confusion_matrix", "pred");
    const std::vector<std::size_t> t = detail::classes_of(truth, classes, "confusion_matrix", "truth");
    tensor m = xt::zeros<double>({classes, classes});
    for (std::size_t i = 0; i < p.size(); ++i) m(t[i], p[i]) += 1.0;
    return m;
}

namespace detail {
inline void metric_same_shape(const tensor& pred, const tensor& target, const char* who) {
    metric_rows(pred, target, who, "pred", "target");
    if (pred.shape(1) != target.shape(1) || pred.shape(1) == 0)
        throw shape_error(std::string("gateaux::") + who + ": pred is " + shape_string(pred) + ", target is " + shape_string(target) +
                          (pred.shape(1) == 0 ? ": no columns" : ": the columns differ"));
    metric_finite(pred, who, "pred");
    metric_finite(target, who, "target");
}
}  // namespace detail

// The mean of (pred − target)² over all N·k entries (scikit-learn's mean_squared_error with
// 'uniform_average': the mean over columns of each column's mean). Not the loss mse(o, y), which
// is the mean over rows of ½‖o_b − y_b‖², k/2 times this.
inline double mean_squared_error(const tensor& pred, const tensor& target) {
    detail::metric_same_shape(pred, target, "mean_squared_error");
    double s = 0.0;
    for (std::size_t i = 0; i < pred.shape(0); ++i)
        for (std::size_t j = 0; j < pred.shape(1); ++j) {
            const double d = pred(i, j) - target(i, j);
            s += d * d;
        }
    return s / (double(pred.shape(0)) * double(pred.shape(1)));
}

// The coefficient of determination of each column, R²_j = 1 − Σ_i (pred_ij − target_ij)² /
// Σ_i (target_ij − mean_j)², averaged over the columns with equal weights (scikit-learn's r2_score,
// multioutput='uniform_average'). A column whose target is constant counts 1 if it is predicted
// exactly and 0 otherwise (scikit-learn's force_finite). 1 for a perfect prediction, 0 for
// predicting each column's mean, negative for worse. Needs at least two rows (shape_error).
inline double r2_score(const tensor& pred, const tensor& target) {
    detail::metric_same_shape(pred, target, "r2_score");
    const std::size_t n = pred.shape(0), k = pred.shape(1);
    if (n < 2) throw shape_error("gateaux::r2_score: R² needs at least two rows, target is " + shape_string(target));
    double total = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
        double mean = 0.0;
        bool constant = true;
        for (std::size_t i = 0; i < n; ++i) {
            mean += target(i, j);
            constant = constant && target(i, j) == target(0, j);
        }
        mean /= double(n);
        double res = 0.0, tot = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double d = pred(i, j) - target(i, j), e = target(i, j) - mean;
            res += d * d;
            tot += e * e;
        }
        // (A constant column is found by comparison: its mean, rounded, can leave tot a few ulps
        // above zero.)
        total += !constant ? 1.0 - res / tot : res == 0.0 ? 1.0 : 0.0;
    }
    return total / double(k);
}

}  // namespace gateaux
