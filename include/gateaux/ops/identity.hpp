#pragma once
// Identity activation a(x) = x. Applying it returns its operand unchanged, so identity layers
// leave no node in the graph (and print as nothing: leaky_relu(x·W1)·W2).
#include "activation.hpp"

namespace gateaux {

struct identity_fn {
    static constexpr std::string_view name = "identity";
    static constexpr bool piecewise_linear = true;
    static constexpr bool invertible = true;
    static double f(double x) { return x; }
    static double df(double) { return 1.0; }
    static double d2f(double) { return 0.0; }
    static double d3f(double) { return 0.0; }
};

template <>
struct activation<identity_fn> {
    using function = identity_fn;
    template <expression E>
    constexpr E operator()(E e) const {
        return e;
    }
};

namespace act {
inline constexpr activation<identity_fn> identity{};
}
template <expression E>
constexpr E identity(E e) {
    return e;
}

}  // namespace gateaux
