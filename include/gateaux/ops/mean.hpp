#pragma once
// Mean of all entries, m = Σᵢⱼ Aᵢⱼ / (rows·cols), a 1×1 result. On a per-sample loss column
// (B×1) this is the mean over the batch.
#include <numeric>

#include "../core/check.hpp"
#include "../core/print.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

struct mean_op {
    static constexpr shape shape_of(shape) { return {1, 1}; }
    static void value(tensor& out, const tensor& a) {
        out(0, 0) = std::accumulate(a.storage().begin(), a.storage().end(), 0.0) / double(a.size());
    }
    static printed print(const printed& a) { return {"mean(" + a.text + ")", prec::atom}; }
};

template <expression A>
constexpr auto mean(A) {
    return node<mean_op, A>{};
}

}  // namespace gateaux
