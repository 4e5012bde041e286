#pragma once
// Compile-time shape predicates used by the ops' static_asserts. They are variable templates
// over the operands' shapes, so when one fails g++ prints it with both shapes, e.g.
//   note: 'gateaux::inner_dims_agree<gateaux::shape{-1, 64}, gateaux::shape{32, 10}>' evaluates to false
// (shapes are {rows, cols}; -1 is the run-time batch), and never a whole node type.
#include "dim.hpp"
#include "expr.hpp"

namespace gateaux {

// E's shape. The library itself reads E::shape_value (one variable per shape, where shape_v is one
// per expression: expr.hpp's shape_base::shaped).
template <expression E>
inline constexpr shape shape_v{E::rows, E::cols};

// An invalid operand (expr.hpp) passes every check: its own op has reported the mistake.
template <shape A, shape B>
inline constexpr bool inner_dims_agree = A.cols == B.rows || is_invalid(A) || is_invalid(B);
template <shape A, shape B>
inline constexpr bool shapes_agree = A == B || is_invalid(A) || is_invalid(B);
template <shape A, shape B>
inline constexpr bool bias_fits = (B.rows == 1 && A.cols == B.cols) || is_invalid(A) || is_invalid(B);
template <shape A>
inline constexpr bool scalar_shape = (A.rows == 1 && A.cols == 1) || is_invalid(A);

}  // namespace gateaux
