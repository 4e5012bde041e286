#pragma once
// LU factorisation of a square weight, as a node: every solve with W or Wᵀ in a program shares
// one factorisation (common-subexpression elimination by type). The value packs the factors
// (rows 0..n−1, LAPACK's column-major LU of Wᵀ) and the pivots (row n). Refused with a
// rank_error naming the weight when cond₁(W) exceeds 1/inverse_tolerance().
#include <string>
#include <vector>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../numeric/lapack.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"

namespace gateaux {

template <fixed_string Name>
struct lu_op {
    static constexpr shape shape_of(shape w) { return {w.rows + 1, w.cols}; }
    static void value(tensor& out, const tensor& w) {
        const auto n = lapack::index(w.shape(0));
        std::copy(w.begin(), w.end(), out.begin());
        lapack::index* piv = lapack::scratch<lapack::index, 1>(static_cast<std::size_t>(n));
        const double rcond = lapack::lu_factor(out.data(), n, piv);
        if (!(rcond >= inverse_tolerance()))
            throw rank_error("weight '" + std::string(Name.view()) + "'",
                             "condition number ≈ " + number_string(1.0 / rcond) + " exceeds 1/tolerance = " +
                                 number_string(1.0 / inverse_tolerance()) + "; its inverse is not reliable",
                             rcond == 0.0 ? INFINITY : 1.0 / rcond);
        for (lapack::index i = 0; i < n; ++i) out(std::size_t(n), std::size_t(i)) = double(piv[i]);
    }
    static printed print(const printed& w) { return {"lu(" + w.text + ")", prec::atom}; }
};

template <fixed_string Name, expression W>
constexpr auto lu(W) {
    static_assert(W::rows == W::cols, "gateaux::lu(w) requires a square matrix");
    return node<lu_op<Name>, W>{};
}

}  // namespace gateaux
