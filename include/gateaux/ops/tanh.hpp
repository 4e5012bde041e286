#pragma once
// Hyperbolic tangent. With t = tanh x: a′ = 1 − t², a″ = −2t(1 − t²), a‴ = (6t² − 2)(1 − t²).
#include <cmath>

#include "activation.hpp"

namespace gateaux {

struct tanh_fn {
    static constexpr std::string_view name = "tanh";
    static constexpr bool piecewise_linear = false;
    static constexpr bool invertible = true;
    static double f(double x) { return std::tanh(x); }
    static double df(double x) {
        const double t = std::tanh(x);
        return 1.0 - t * t;
    }
    static double d2f(double x) {
        const double t = std::tanh(x);
        return -2.0 * t * (1.0 - t * t);
    }
    static double d3f(double x) {
        const double t = std::tanh(x);
        return (6.0 * t * t - 2.0) * (1.0 - t * t);
    }
};

namespace act {
inline constexpr activation<tanh_fn> tanh{};
}
template <expression E>
constexpr auto tanh(E e) {
    return act::tanh(e);
}

}  // namespace gateaux
