#pragma once
// Symbolic constants: zero<R, C> and ones<R, C>. They let the rules fold at compile time
// (x·0 = 0, x + 0 = x, 1 ⊙ x = x), so a branch that reaches no parameter leaves no node and the
// gradient of ½‖o − y‖² is o − y, not 1 ⊙ (o − y). When a constant does reach a program it is
// filled once per batch size, not per run.
#include "expr.hpp"
#include "print.hpp"
#include "tensor.hpp"

namespace gateaux {

template <dim R, dim C>
struct zero_op {
    static constexpr bool constant = true;
    static constexpr shape shape_of() { return {R, C}; }
    static void value(tensor& out) { out.fill(0.0); }
    static printed print() { return {"0", prec::atom}; }
};

template <dim R, dim C>
struct ones_op {
    static constexpr bool constant = true;
    static constexpr shape shape_of() { return {R, C}; }
    static void value(tensor& out) { out.fill(1.0); }
    static printed print() { return {"1", prec::atom}; }
};

template <dim R, dim C>
using zero = node<zero_op<R, C>>;
template <dim R, dim C>
using ones = node<ones_op<R, C>>;

namespace detail {
template <class E>
struct zero_trait : std::false_type {};
template <dim R, dim C>
struct zero_trait<node<zero_op<R, C>>> : std::true_type {};

template <class E>
struct ones_trait : std::false_type {};
template <dim R, dim C>
struct ones_trait<node<ones_op<R, C>>> : std::true_type {};
}  // namespace detail

// Concepts, not variable templates: a variable per expression would cost its mangled name
// (shape_base::shaped, expr.hpp).
template <class E>
concept is_zero = detail::zero_trait<E>::value;
template <class E>
concept is_ones = detail::ones_trait<E>::value;

template <expression E>
using zero_like = zero<E::rows, E::cols>;

}  // namespace gateaux
