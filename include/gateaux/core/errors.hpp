#pragma once
// Run-time errors. Each message names the tensor, what was expected and what was found.
#include <stdexcept>
#include <string>
#include <utility>

namespace gateaux {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// A bound tensor has the wrong shape, is missing, or disagrees with another on the batch size.
struct shape_error : error {
    using error::error;
};
// A bound input or target holds NaN or ±inf.
struct value_error : error {
    using error::error;
};

// A pseudo-inverse or solve needed by the functional inverse is impossible or too ill-conditioned
// (batch larger than a width, numerically rank-deficient input, ill-conditioned weight, a′ or φ′
// near zero, a singular per-sample curvature block). Carries the tensor, the condition and its
// estimate; the message says all three.
struct rank_error : error {
    rank_error(std::string tensor_name, std::string condition_text, double estimate_value)
        : error("gateaux: " + tensor_name + ": " + condition_text), tensor(std::move(tensor_name)),
          condition(std::move(condition_text)), estimate(estimate_value) {}
    std::string tensor;
    std::string condition;
    double estimate;
};

// The functional inverse has no preimage near the current point: the requested gradient lies
// outside the map's range, beyond a fold (tanh) or across a jump at a leaky-ReLU kink (no
// activation inverse such as atanh is ever evaluated).
struct domain_error : error {
    using error::error;
};

// A request that would need more memory than the caller allowed (e.g. an explicit Hessian).
struct size_error : error {
    using error::error;
};

}  // namespace gateaux
