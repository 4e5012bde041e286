#pragma once
// Sum of all entries, s = Σᵢⱼ Aᵢⱼ, a 1×1 result.
#include <numeric>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct sum_op {
    static constexpr shape shape_of(shape) { return {1, 1}; }
    static void value(tensor& out, const tensor& a) {
        out(0, 0) = std::accumulate(a.storage().begin(), a.storage().end(), 0.0);
    }
    static printed print(const printed& a) { return {"sum(" + a.text + ")", prec::atom}; }
};

template <expression A>
constexpr auto sum(A) {
    return node<sum_op, A>{};
}

}  // namespace gateaux
