#pragma once
// The diagonal of a curvature matrix C (the Hessian, or any kind of curvature_products), made
// positive: what diagonal Newton (optim/diagonal_newton.hpp) scales the gradient by, and what the
// diagonal preconditioner of Hessian-free CG (optim/preconditioner.hpp) inverts.
//
//   C_ii      read off products with the unit vectors: C·e_i is column i of C and its i-th entry
//             is C_ii. Exact, but one product per coordinate: the work of the explicit Hessian
//             without its n² memory, so for small problems only.
//   |C_ii|    a negative entry (C indefinite) is used by its magnitude, so that the scaled
//             gradient is still a descent direction and the preconditioner positive definite.
//   floor     relative_floor·max_j |C_jj|, so that a coordinate with (almost) no curvature gets
//             a long but finite step. If every C_ii is zero nothing is floored (top = 0).
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "param_set.hpp"

namespace gateaux::detail {

// diag = diag(C) at the point `product` evaluates at, one call product(v, out) = C·v per
// coordinate. `e` (zero on entry, zero again on return) and `cv` are scratch shaped like diag.
template <class Product>
void unit_vector_diagonal(Product&& product, param_set& e, param_set& cv, param_set& diag) {
    for (std::size_t b = 0; b < e.size(); ++b)
        for (std::size_t k = 0; k < e[b].size(); ++k) {
            e[b].data()[k] = 1.0;
            product(e, cv);
            diag[b].data()[k] = cv[b].data()[k];
            e[b].data()[k] = 0.0;
        }
}

struct positive_diagonal {
    std::size_t negative = 0, floored = 0;  // entries that were negative / raised to the floor
    double top = 0.0;                       // max_j |C_jj| before flooring
};

// d_i ← max(|d_i|, relative_floor·max_j |d_j|), in place.
inline positive_diagonal make_positive(param_set& d, double relative_floor) {
    positive_diagonal out;
    for (const tensor& t : d)
        for (double v : t) out.top = std::max(out.top, std::abs(v));
    const double floor = relative_floor * out.top;
    for (tensor& t : d)
        for (double& h : t) {
            out.negative += h < 0.0;
            h = std::abs(h);
            if (out.top > 0.0 && h < floor) {
                h = floor;
                ++out.floored;
            }
        }
    return out;
}

}  // namespace gateaux::detail
