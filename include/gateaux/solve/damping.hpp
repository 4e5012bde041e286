#pragma once
// The run-time damping λ of the damped solves (output_unit_solve, curvature_sum_solve,
// layer_block_solve), bound as a 1×1 tensor to the leaf `damping`, and its check.
#include "../core/errors.hpp"
#include "../core/expr.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

inline constexpr leaf<input_kind, "lambda", 1, 1> damping{};

namespace detail {
// λ from its 1×1 tensor; a negative or non-finite λ is a value_error (the caller's, not a penalty's).
inline double damping_value(const tensor& lambda) {
    const double l = lambda(0, 0);
    if (!(l >= 0.0) || !(l < INFINITY)) throw value_error("gateaux: the damping λ must be ≥ 0 and finite, got " + number_string(l));
    return l;
}
}  // namespace detail

}  // namespace gateaux
