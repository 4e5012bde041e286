#pragma once
// ReLU a(x) = max(x, 0). At x = 0, a′(0) = 0 (the left derivative, as for leaky_relu).
// a′ = 0 on half the line, so no layer through a ReLU can be inverted (see docs/theory.md).
#include <algorithm>

#include "activation.hpp"

namespace gateaux {

struct relu_fn {
    static constexpr std::string_view name = "relu";
    static constexpr bool piecewise_linear = true;
    static constexpr bool invertible = false;
    static double f(double x) { return std::max(x, 0.0); }  // branch-free (see leaky_relu.hpp)
    static double df(double x) { return double(x > 0.0); }
    static double d2f(double) { return 0.0; }
    static double d3f(double) { return 0.0; }
};

namespace act {
inline constexpr activation<relu_fn> relu{};
}
template <expression E>
constexpr auto relu(E e) {
    return act::relu(e);
}

}  // namespace gateaux
