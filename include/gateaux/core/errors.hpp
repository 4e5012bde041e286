#pragma once
// Run-time errors. Each message names the tensor, what was expected and what was found.
#include <stdexcept>
#include <string>

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

// A request that would need more memory than the caller allowed (e.g. an explicit Hessian).
struct size_error : error {
    using error::error;
};

}  // namespace gateaux
