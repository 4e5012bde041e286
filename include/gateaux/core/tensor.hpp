#pragma once
// The one run-time value type: a row-major float64 matrix (rows are samples).
#include <cstdio>
#include <string>

#include <xtensor/xnoalias.hpp>
#include <xtensor/xtensor.hpp>

namespace gateaux {

using tensor = xt::xtensor<double, 2>;

inline std::string number_string(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// A matrix's shape for messages: "3×4".
inline std::string shape_string(const tensor& t) { return std::to_string(t.shape(0)) + "×" + std::to_string(t.shape(1)); }

}  // namespace gateaux
