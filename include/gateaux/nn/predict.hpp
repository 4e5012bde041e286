#pragma once
// The network's output on new data, in batches, with no program to compile, bind or run by hand:
//
//   tensor scores = predict(out, wrt(W1, b1, W2, b2), theta, x, X);          // rows(X)×cols(out)
//   tensor scores = predict(out, wrt(W1, b1, W2, b2), theta, x, X, 256);     // at most 256 rows at a time
//
// `out` is an expression of the input leaf x (run-time batch) and of parameters of wrt(...), one
// row per input row (a network's output, not a loss: a target cannot be bound here). theta holds
// the parameters in wrt order, as training leaves them (wrt(...) may name parameters out does not
// use; their blocks are checked and ignored). X is evaluated batch_rows rows at a time (the last
// batch smaller), so memory stays that of one batch whatever rows(X) is. A network treats its rows
// independently, so the result does not depend on batch_rows beyond rounding in BLAS (an output
// that mixes rows, through a mean over the batch, would). The program is compiled once per call.
//
// Errors, before anything is evaluated: shape_error when theta has the wrong number of blocks or a
// block the wrong shape (naming the parameter and both shapes), or X the wrong number of columns
// (naming the input and both shapes); value_error when X holds NaN or ±inf (naming the position)
// or batch_rows is 0. An X with no rows gives a 0×cols(out) result. X and theta are not modified.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "../core/dim.hpp"
#include "../core/errors.hpp"
#include "../core/expr.hpp"
#include "../core/group.hpp"
#include "../core/meta.hpp"
#include "../core/param_set.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../eval/schedule.hpp"
#include "../symbolic/wrt.hpp"

namespace gateaux {

namespace detail {
// Whether node N may occur in a network predict evaluates: it is no leaf, the input X or one of
// the parameters P; and whether every node of a schedule may.
template <class N, class X, class Params>
struct allowed_in_prediction;
template <class N, class X, class... P>
struct allowed_in_prediction<N, X, params<P...>>
    : std::bool_constant<!is_leaf<N> || std::is_same_v<N, X> || (std::is_same_v<N, P> || ...)> {};
template <class X, class Params, class Sched>
struct only_input_and_params;
template <class X, class Params, class... N>
struct only_input_and_params<X, Params, meta::list<N...>>
    : std::bool_constant<(allowed_in_prediction<N, X, Params>::value && ...)> {};

// Instantiated only when the check fails, so that g++ names the leaf in its "with" line.
template <fixed_string Name, bool Allowed>
constexpr void check_predict_leaf() {
    static_assert(Allowed,
                  "gateaux::predict(out, wrt(...), theta, x, X): out may use only the input x and parameters of wrt(...); "
                  "this leaf is neither");
}
// The position of the first leaf in the schedule that predict cannot bind (only on failure).
template <class X, class Params, class... N>
constexpr std::size_t first_foreign_leaf(meta::list<N...>) {
    constexpr bool allowed[] = {allowed_in_prediction<N, X, Params>::value...};
    std::size_t i = 0;
    while (allowed[i]) ++i;
    return i;
}
}  // namespace detail

template <expression Out, class... P, fixed_string XName, dim XRows, dim XCols>
tensor predict([[maybe_unused]] Out out, params<P...>, const param_set& theta,
               [[maybe_unused]] leaf<input_kind, XName, XRows, XCols> x, const tensor& X, std::size_t batch_rows = 1024) {
    using input_leaf = leaf<input_kind, XName, XRows, XCols>;
    using sched = schedule_t<Out>;
    static_assert(XRows == batch,
                  "gateaux::predict(out, wrt(...), theta, x, X): x must be an input with a run-time batch (input<\"x\", n>)");
    if constexpr (!invalid_expr<Out>) {  // its op has reported the mistake
        static_assert(Out::rows == batch,
                      "gateaux::predict(out, wrt(...), theta, x, X): out must have one row per input row (a network's output, not a loss)");
        static_assert(meta::position<sched, input_leaf>::value != meta::npos,
                      "gateaux::predict(out, wrt(...), theta, x, X): out does not use the input x");
    }
    constexpr bool leaves_ok = detail::only_input_and_params<input_leaf, params<P...>, sched>::value || invalid_expr<Out>;
    if constexpr (!leaves_ok) {
        // Called here, not over the schedule in a lambda, so g++ does not print the schedule.
        using foreign = type_at_t<detail::first_foreign_leaf<input_leaf, params<P...>>(sched{}), sched>;
        detail::check_predict_leaf<foreign::name, false>();
        return {};
    } else {
        const std::string who = "gateaux::predict: ";
        if (theta.size() != sizeof...(P))
            throw shape_error(who + "theta has " + std::to_string(theta.size()) + " blocks, wrt(...) names " +
                              std::to_string(sizeof...(P)) + " parameters");
        {
            std::size_t i = 0;
            (
                [&] {
                    const tensor& t = theta[i++];
                    if (t.shape(0) != std::size_t(P::rows) || t.shape(1) != std::size_t(P::cols))
                        throw shape_error(who + "parameter '" + std::string(P::name.view()) + "' must be " +
                                          shape_string({P::rows, P::cols}) + ", theta's block " + std::to_string(i - 1) +
                                          " is " + shape_string(t));
                }(),
                ...);
        }
        if (X.shape(1) != std::size_t(XCols))
            throw shape_error(who + "input '" + std::string(XName.view()) + "' must be " + shape_string({batch, XCols}) +
                              ", got " + shape_string(X));
        if (batch_rows == 0) throw value_error(who + "batch_rows must be ≥ 1");
        const std::size_t n = X.shape(0), k = std::size_t(Out::cols);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < std::size_t(XCols); ++j)
                if (!std::isfinite(X(i, j)))
                    throw value_error(who + "input '" + std::string(XName.view()) + "' has a non-finite value " +
                                      number_string(X(i, j)) + " at (" + std::to_string(i) + ", " + std::to_string(j) + ")");
        tensor result = tensor::from_shape({n, k});
        if (n == 0) return result;

        auto prog = compile(out);
        {
            std::size_t i = 0;
            (
                [&] {
                    const tensor& t = theta[i++];
                    if constexpr (meta::position<sched, P>::value != meta::npos) prog.bind(P{}, t);
                }(),
                ...);
        }
        tensor slice;
        for (std::size_t first = 0; first < n;) {
            const std::size_t count = std::min(batch_rows, n - first);
            if (count == n) {
                prog.bind(x, X);
            } else {
                if (slice.shape(0) != count) slice.resize({count, std::size_t(XCols)});
                std::copy_n(X.data() + first * XCols, count * XCols, slice.data());
                prog.bind(x, slice);
            }
            prog.run();
            const tensor& o = prog[out];
            std::copy_n(o.data(), count * k, result.data() + first * k);
            first += count;
        }
        return result;
    }
}

}  // namespace gateaux
