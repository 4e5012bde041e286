#pragma once
// L2 penalty on parameters: `l2<λ>(W1, W2, ...)` = λ·(½‖W1‖² + ½‖W2‖² + ...), a 1×1 term to add
// to a loss. A composite of sq_norm, add and scale, with no rules of its own.
#include "add.hpp"
#include "scale.hpp"
#include "sq_norm.hpp"

namespace gateaux {

// A plain bool, so that a failure prints no concept diagnostics.
template <class... P>
inline constexpr bool all_parameters = (parameter<P> && ...);

template <double Lambda, expression... P>
constexpr auto l2(P... p) {
    static_assert(sizeof...(P) > 0, "gateaux::l2<lambda>(params...) needs at least one parameter");
    static_assert(all_parameters<P...>, "gateaux::l2<lambda>(params...) takes parameters only (param<...> or bias<...>)");
    return scale<Lambda>((... + sq_norm(p)));
}

}  // namespace gateaux
