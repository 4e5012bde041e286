#pragma once
// Softplus a(x) = log(1 + eˣ), evaluated without overflow. a′ = s(x) (the sigmoid),
// a″ = s(1 − s), a‴ = s(1 − s)(1 − 2s).
#include <cmath>

#include "activation.hpp"
#include "sigmoid.hpp"

namespace gateaux {

struct softplus_fn {
    static constexpr std::string_view name = "softplus";
    static constexpr bool piecewise_linear = false;
    static constexpr bool invertible = true;
    static double f(double x) { return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
    static double df(double x) { return sigmoid_fn::f(x); }
    static double d2f(double x) { return sigmoid_fn::df(x); }
    static double d3f(double x) { return sigmoid_fn::d2f(x); }
};

namespace act {
inline constexpr activation<softplus_fn> softplus{};
}
template <expression E>
constexpr auto softplus(E e) {
    return act::softplus(e);
}

}  // namespace gateaux
