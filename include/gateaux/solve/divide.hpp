#pragma once
// Element-wise division A ⊘ B by a derivative (a′, or the loss curvature φ′): the activation's
// and the loss's inverse rule. Refused with a rank_error naming What when an entry of B is
// below inverse_tolerance() times B's largest entry in magnitude.
// Folds: 0 ⊘ b = 0, a ⊘ 1 = a, and (γ ⊙ b) ⊘ b = γ (so dividing a back-propagated δ = γ ⊙ a′
// by a′ costs nothing).
#include <cmath>
#include <string>

#include "../core/check.hpp"
#include "../core/constants.hpp"
#include "../core/errors.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"
#include "../core/tolerance.hpp"
#include "../ops/hadamard.hpp"

namespace gateaux {

template <fixed_string What>
struct divide_op {
    static constexpr shape shape_of(shape a, shape) { return a; }
    static void value(tensor& out, const tensor& a, const tensor& b) {
        double big = 0.0;
        for (double v : b) big = std::max(big, std::abs(v));
        const double floor = inverse_tolerance() * big;
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (!(std::abs(b.flat(i)) > floor)) {
                const std::size_t r = i / b.shape(1), c = i % b.shape(1);
                throw rank_error(std::string(What.view()),
                                 "entry (" + std::to_string(r) + ", " + std::to_string(c) + ") is " + number_string(b.flat(i)) +
                                     ", below tolerance × largest entry = " + number_string(floor) + "; cannot divide by it",
                                 std::abs(b.flat(i)));
            }
            out.flat(i) = a.flat(i) / b.flat(i);
        }
    }
    static printed print(const printed& a, const printed& b) {
        return {a.at(prec::multiplicative) + "⊘" + b.at(prec::postfix), prec::multiplicative};
    }
};

template <fixed_string What, expression A, expression B>
constexpr auto divide(A a, B) {
    static_assert(shapes_agree<A::shape_value, B::shape_value>,
                  "gateaux::divide(a, b) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (is_zero<A> || is_ones<B>)
        return a;
    else
        return node<divide_op<What>, A, B>{};
}
template <fixed_string What, expression G, expression B>
constexpr G divide(node<hadamard_op, G, B>, B) {
    return G{};
}
template <fixed_string What, expression G, expression B>
    requires(!std::same_as<G, B>)
constexpr G divide(node<hadamard_op, B, G>, B) {
    return G{};
}

}  // namespace gateaux
