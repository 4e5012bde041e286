#pragma once
// Logistic sigmoid s(x) = 1/(1 + e⁻ˣ), evaluated without overflow for large |x|.
// a′ = s(1 − s), a″ = s(1 − s)(1 − 2s), a‴ = s(1 − s)(1 − 6s + 6s²).
#include <cmath>

#include "activation.hpp"

namespace gateaux {

struct sigmoid_fn {
    static constexpr std::string_view name = "sigmoid";
    static constexpr bool piecewise_linear = false;
    static constexpr bool invertible = true;
    static double f(double x) {
        if (x >= 0.0) return 1.0 / (1.0 + std::exp(-x));
        const double e = std::exp(x);
        return e / (1.0 + e);
    }
    static double df(double x) {
        const double s = f(x);
        return s * (1.0 - s);
    }
    static double d2f(double x) {
        const double s = f(x);
        return s * (1.0 - s) * (1.0 - 2.0 * s);
    }
    static double d3f(double x) {
        const double s = f(x);
        return s * (1.0 - s) * (1.0 - 6.0 * s + 6.0 * s * s);
    }
};

namespace act {
inline constexpr activation<sigmoid_fn> sigmoid{};
}
template <expression E>
constexpr auto sigmoid(E e) {
    return act::sigmoid(e);
}

}  // namespace gateaux
