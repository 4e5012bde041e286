#pragma once
// Right multiplication by the pseudo-inverse of a wide weight (n ≤ m, full row rank):
// X = Z·W⁺ (or Z·W⁺ᵀ when Transposed), W⁺ = Wᵀ(WWᵀ)⁻¹ from the SVD. Used by the B-operator's
// chain where the output layer widens (identity output, the exception in docs/theory.md) and, on request,
// for non-increasing widths. Refused with a rank_error when σ_min/σ_max < inverse_tolerance().
#include <xtensor-blas/xlinalg.hpp>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"

namespace gateaux {

template <fixed_string Name, bool Transposed>
struct right_pinv_op {
    static constexpr shape shape_of(shape z, shape w) { return {z.rows, Transposed ? w.cols : w.rows}; }
    static void value(tensor& out, const tensor& z, const tensor& w) {
        const auto [u, s, vt] = xt::linalg::svd(w, false, true);
        (void)u;
        (void)vt;
        const double smax = s(0), smin = s(s.size() - 1);
        if (!(smin >= inverse_tolerance() * smax))
            throw rank_error("weight '" + std::string(Name.view()) + "'",
                             "σ_min/σ_max ≈ " + number_string(smin / smax) + " is below the tolerance " +
                                 number_string(inverse_tolerance()) + "; no reliable one-sided inverse",
                             smax / smin);
        const tensor p = xt::linalg::pinv(w, inverse_tolerance());
        if constexpr (Transposed)
            xt::blas::gemm(z, p, out, false, true);
        else
            xt::blas::gemm(z, p, out);
    }
    static printed print(const printed& z, const printed& w) {
        return {z.at(prec::multiplicative) + "·" + w.at(prec::postfix) + (Transposed ? "⁺ᵀ" : "⁺"), prec::multiplicative};
    }
};

template <fixed_string Name, bool Transposed, expression Z, expression W>
constexpr auto pinv_right(Z, W) {
    static_assert(Z::cols == (Transposed ? W::rows : W::cols), "gateaux::pinv_right(z, w): cols(z) must match w");
    if constexpr (is_zero<Z>)
        return zero<Z::rows, Transposed ? W::cols : W::rows>{};
    else
        return node<right_pinv_op<Name, Transposed>, Z, W>{};
}

}  // namespace gateaux
