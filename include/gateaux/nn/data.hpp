#pragma once
// Loading data sets for the examples and for users: CSV through xtensor's reader, one-hot
// encoding of label columns, and row splits. Errors name the file and what was wrong.
#include <cmath>
#include <fstream>
#include <string>

#include <xtensor/xcsv.hpp>
#include <xtensor/xview.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

// A numeric CSV file as a rows×cols matrix.
inline tensor read_csv(const std::string& path, char delimiter = ',') {
    std::ifstream in(path);
    if (!in) throw error("gateaux::read_csv: cannot open '" + path + "'");
    try {
        return xt::load_csv<double>(in, delimiter);
    } catch (const std::exception& e) {
        throw error("gateaux::read_csv: '" + path + "' is not a numeric CSV table: " + e.what());
    }
}

// Integer labels 0..classes−1 (a column) as one-hot rows (labels.rows × classes).
inline tensor one_hot(const tensor& labels, std::size_t classes) {
    if (labels.shape(1) != 1)
        throw shape_error("gateaux::one_hot: labels must be one column, got " + std::to_string(labels.shape(1)));
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
    if (first + count > t.shape(0))
        throw shape_error("gateaux::rows: rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                          ") of a matrix with " + std::to_string(t.shape(0)) + " rows");
    return xt::view(t, xt::range(first, first + count), xt::all());
}

// Columns [first, first + count) of a matrix, as a new tensor.
inline tensor cols(const tensor& t, std::size_t first, std::size_t count) {
    if (first + count > t.shape(1))
        throw shape_error("gateaux::cols: columns [" + std::to_string(first) + ", " + std::to_string(first + count) +
                          ") of a matrix with " + std::to_string(t.shape(1)) + " columns");
    return xt::view(t, xt::all(), xt::range(first, first + count));
}

}  // namespace gateaux
