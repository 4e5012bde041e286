#pragma once
// to_string(expr): the expression in math notation, e.g. "leaky_relu(x·W1)·W2".
// Each op prints itself from its operands' text (Op::print); precedence decides parentheses.
#include <string>

#include "expr.hpp"

namespace gateaux {

// Binding strength of an op's printed form: atoms and calls bind tightest.
enum class prec : int { additive = 1, multiplicative = 2, postfix = 3, atom = 4 };

struct printed {
    std::string text;
    prec level;
    // The operand's text, parenthesised if it binds less tightly than `need`.
    std::string at(prec need) const { return level < need ? "(" + text + ")" : text; }
};

template <class K, fixed_string N, dim R, dim C>
printed print_expr(leaf<K, N, R, C>) {
    return {std::string(N.view()), prec::atom};
}

template <class Op, class... Args>
printed print_expr(node<Op, Args...>) {
    return Op::print(print_expr(Args{})...);
}

template <expression E>
std::string to_string(E e) {
    return print_expr(e).text;
}

}  // namespace gateaux
