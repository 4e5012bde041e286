#pragma once
// Mean squared error over the batch: mse(o, y) = (1/B) Σ_b ½‖o_b − y_b‖².
// The ½ follows the convention of docs/theory.md (the per-sample gradient is o_b − y_b). A composite:
// mean of squared_error, with no rules of its own.
#include "mean.hpp"
#include "squared_error.hpp"

namespace gateaux {

template <expression O, expression Y>
constexpr auto mse(O o, Y y) {
    static_assert(shapes_agree<O::shape_value, Y::shape_value>,
                  "gateaux::mse(output, target) requires equal shapes [shapes are {rows, cols}; -1 = batch]");
    if constexpr (!shapes_agree<O::shape_value, Y::shape_value>)
        return invalid{};
    else
        return mean(squared_error(o, y));
}

}  // namespace gateaux
