#pragma once
// Parameters by name: a param_set whose blocks are reached by their leaves, checked at compile time.
//
//   constexpr auto W1 = param<"W1", 64, 32>;  constexpr auto b1 = bias<"b1", 32>;  ...
//   auto theta = initialize(wrt(W1, b1, W2), init::he_normal, 42);   // named_params<W1, b1, W2>
//   theta[W1](0, 0) = 0.5;                  // W1's 64×32 tensor
//   theta[W3];                              // compile error: W3 is not in wrt(W1, b1, W2)
//   minimize(f, theta, opt);                // it is a param_set: every optimizer takes it
//
//   auto g = zeros(wrt(W1, b1, W2));                  // zeros of the leaves' shapes
//   f.value_and_gradient(theta, g);  g[b1]            // the gradient, by name too
//   auto s = named(w, some_param_set);                // names for a set in wrt order (shapes checked)
//   auto d = named(w, dense_newton_step(prog, loss, w));   // or for a std::array of blocks
//
// named_params<P...> derives from param_set, so it goes wherever a param_set does; its operator[]
// takes a leaf only (no positions in user code). The leaf-to-block map is a Boost.Hana compile-time
// lookup, hana::index_if over the tuple of leaf types; a leaf not in the set fails with one line
// naming it.
#include <array>
#include <cstddef>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <boost/hana/equal.hpp>
#include <boost/hana/index_if.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include "../core/dim.hpp"
#include "../core/errors.hpp"
#include "../core/expr.hpp"
#include "../core/param_set.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail {
// theta[L]'s compile errors, one line each (instantiated with L only, so g++'s "with" line stays
// short and names the leaf): L is not a leaf, or not in the set.
template <class L, bool InSet>
constexpr void check_named_index() {
    if constexpr (!is_leaf<L>)
        static_assert(detail::leaf_trait<L>::value, "gateaux::named_params: theta[...] takes a parameter leaf, as in theta[W1], not a position");
    else
        static_assert(InSet, "gateaux::named_params: theta[leaf]: this leaf is not one of the set's parameters (wrt(...))");
}
}  // namespace detail

template <class... P>
class named_params final : public param_set {
    static_assert(sizeof...(P) > 0, "gateaux::named_params needs at least one parameter");
    static_assert((parameter<P> && ...), "gateaux::named_params holds parameters (param<...> or bias<...>) only");

public:
    using leaves = params<P...>;

    // Zeros of the leaves' shapes.
    named_params() : param_set(std::vector<tensor>{xt::zeros<double>({std::size_t(P::rows), std::size_t(P::cols)})...}) {}
    // Names for a set built elsewhere; its block count and shapes must be the leaves'.
    explicit named_params(param_set s) : param_set(std::move(s)) { check_shapes(); }

    // The block of leaf L (a compile error naming L when L is not in the set).
    template <class L>
    auto& operator[](L) {
        detail::check_named_index<L, index_of<L>() != npos>();
        return param_set::operator[](index_of<L>() == npos ? 0 : index_of<L>());
    }
    template <class L>
    const auto& operator[](L) const {
        detail::check_named_index<L, index_of<L>() != npos>();
        return param_set::operator[](index_of<L>() == npos ? 0 : index_of<L>());
    }
    // The leaves' names, in wrt(...) order.
    static std::vector<std::string> names() { return {std::string(P::name.view())...}; }

    static constexpr std::size_t npos = std::size_t(-1);
    // L's block position, or npos: a compile-time constant (the one place positions live).
    template <class L>
    static constexpr std::size_t index_of() {
        constexpr auto found = boost::hana::index_if(boost::hana::tuple_t<P...>, boost::hana::equal.to(boost::hana::type_c<L>));
        if constexpr (boost::hana::is_nothing(found))
            return npos;
        else
            return boost::hana::value(*found);
    }

private:
    void check_shapes() const {
        const std::vector<std::string> n = names();
        if (size() != sizeof...(P))
            throw shape_error("gateaux::named_params: the set has " + std::to_string(size()) + (size() == 1 ? " block" : " blocks") +
                              ", wrt(...) has " + std::to_string(sizeof...(P)) + " parameters");
        const std::size_t rows[] = {std::size_t(P::rows)...}, cols[] = {std::size_t(P::cols)...};
        for (std::size_t i = 0; i < size(); ++i) {
            const tensor& t = param_set::operator[](i);
            if (t.shape(0) != rows[i] || t.shape(1) != cols[i])
                throw shape_error("gateaux::named_params: block " + std::to_string(i) + " ('" + n[i] + "') is " + shape_string(t) +
                                  ", the parameter is " + shape_string(shape{dim(rows[i]), dim(cols[i])}));
        }
    }
};

// Zeros of the shapes of wrt(...)'s parameters, by name.
template <class... P>
named_params<P...> zeros(params<P...>) {
    return {};
}

// A param_set in wrt(...) order, given names; its shapes must be the parameters' (shape_error).
template <class... P>
named_params<P...> named(params<P...>, param_set s) {
    return named_params<P...>(std::move(s));
}

// Per-block results in wrt(...) order (dense_newton_step, a program's block outputs), given names.
template <class... P>
named_params<P...> named(params<P...>, std::array<tensor, sizeof...(P)> blocks) {
    return named_params<P...>(param_set(std::vector<tensor>(std::make_move_iterator(blocks.begin()), std::make_move_iterator(blocks.end()))));
}

}  // namespace gateaux
