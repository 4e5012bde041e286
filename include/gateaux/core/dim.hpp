#pragma once
// Compile-time dimensions and names.
// A dimension is a width known at compile time, or `batch`: the number of rows of the
// data, chosen at run time. A compile-time batch is simply a fixed number of rows.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace gateaux {

using dim = long;
// The run-time batch dimension. It prints as -1 inside compiler messages and as "B" elsewhere.
// More generally a negative dimension −k means k·B rows: per-sample stacks of k×k matrices
// (the B-operator's curvature blocks) have −k rows.
inline constexpr dim batch = -1;
constexpr dim batch_times(dim k) { return -k; }

struct shape {
    dim rows;
    dim cols;
    friend constexpr bool operator==(shape, shape) = default;
};

inline std::string dim_string(dim d) {
    return d == batch ? std::string("B") : d < 0 ? std::to_string(-d) + "B" : std::to_string(d);
}
inline std::string shape_string(shape s) { return dim_string(s.rows) + "×" + dim_string(s.cols); }

// A string usable as a template argument: leaves carry their name in their type.
template <std::size_t N>
struct fixed_string {
    char data[N]{};
    constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, data); }
    constexpr fixed_string() = default;
    constexpr std::string_view view() const { return {data, N - 1}; }
    static constexpr std::size_t size() { return N - 1; }
    template <std::size_t M>
    constexpr bool operator==(const fixed_string<M>& o) const { return view() == o.view(); }
};

// "W" + 3 -> "W3": the names the mlp sugar gives its layers.
template <fixed_string Prefix, std::size_t I>
constexpr auto indexed_name() {
    constexpr std::size_t digits = [] {
        std::size_t n = 1;
        for (std::size_t v = I; v >= 10; v /= 10) ++n;
        return n;
    }();
    fixed_string<Prefix.size() + digits + 1> out{};
    std::copy_n(Prefix.data, Prefix.size(), out.data);
    std::size_t v = I;
    for (std::size_t k = 0; k < digits; ++k, v /= 10) out.data[Prefix.size() + digits - 1 - k] = char('0' + v % 10);
    return out;
}

template <fixed_string A, fixed_string B>
constexpr auto concat() {
    fixed_string<A.size() + B.size() + 1> out{};
    std::copy_n(A.data, A.size(), out.data);
    std::copy_n(B.data, B.size(), out.data + A.size());
    return out;
}

}  // namespace gateaux
