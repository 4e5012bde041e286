#pragma once
// Leaky ReLU with compile-time slope S: a(x) = x for x > 0, S·x for x ≤ 0.
// Kink convention: at x = 0 the derivative is the left one, a′(0) = S (so with S = 0, plain
// ReLU, a′(0) = 0). a″ = 0 everywhere (the distributional term at the kink is dropped).
#include <algorithm>

#include "activation.hpp"

namespace gateaux {

template <double S>
struct leaky_relu_fn {
    static constexpr std::string_view name = "leaky_relu";
    static constexpr double slope = S;
    static constexpr bool piecewise_linear = true;
    static constexpr bool invertible = S > 0.0;
    // Written without branches (max/min and a 0/1 factor): on data with random signs a branch
    // mispredicts half the time, which made these loops 8–16× slower (bench/activation.cpp).
    static double f(double x) { return S <= 1.0 ? std::max(x, S * x) : std::min(x, S * x); }
    static double df(double x) { return S + (1.0 - S) * double(x > 0.0); }
    static double d2f(double) { return 0.0; }
    static double d3f(double) { return 0.0; }
};

namespace act {
template <double S>
inline constexpr activation<leaky_relu_fn<S>> leaky_relu{};
}
template <double S, expression E>
constexpr auto leaky_relu(E e) {
    return act::leaky_relu<S>(e);
}

}  // namespace gateaux
