#pragma once
// gateaux's leaky ReLU with one change, as a user-defined activation: f(x) = max(x, S·x) instead
// of `x > 0 ? x : S·x`. Same values bit for bit (for 0 < S < 1), but g++ 12 -O2 compiles it
// without a conditional branch (bench_activation). The benchmarks time it beside the library's
// own leaky_relu ("gateaux-bf") to show what that one-line change to leaky_relu_fn::f is worth.
#include <algorithm>
#include <string_view>

#include <gateaux/ops/leaky_relu.hpp>

namespace bench {

template <double S>
struct branch_free_leaky_relu_fn : gateaux::leaky_relu_fn<S> {
    static_assert(S > 0.0 && S < 1.0, "max(x, S·x) is leaky ReLU only for 0 < S < 1");
    static constexpr std::string_view name = "leaky_relu_bf";
    static double f(double x) { return std::max(x, S * x); }
};

}  // namespace bench
