#pragma once
// The three law checks of tests/support/laws.hpp applied to every row of an op table, with
// Catch2 assertions (one INFO/CHECK per row), for the op-law test files.
#include <catch2/catch.hpp>

#include "laws.hpp"

namespace laws {

template <class Rows>
void check_tangent_rows(const Rows& rows) {
    for_each_row(rows, [](const auto& row) {
        const auto rep = check_tangent(row.expr, row.wrt, row.opt, row.tol.tangent);
        INFO(row.name << ": worst at " << rep.where << " of " << rep.cases << " cases");
        CHECK(rep.worst <= rep.allowed);
    });
}

template <class Rows>
void check_adjoint_rows(const Rows& rows) {
    for_each_row(rows, [](const auto& row) {
        const auto rep = check_adjoint(row.expr, row.wrt, row.opt, row.tol.adjoint);
        INFO(row.name << ": worst at " << rep.where << " of " << rep.cases << " cases");
        CHECK(rep.worst <= rep.allowed);
    });
}

template <class Rows>
void check_second_order_rows(const Rows& rows) {
    for_each_row(rows, [](const auto& row) {
        const auto rep = check_second_order(row.expr, row.wrt, row.opt, {row.tol.hvp, row.tol.symmetry});
        INFO(row.name << ": worst at " << rep.fd.where << " of " << rep.fd.cases << " cases");
        CHECK(rep.fd.worst <= rep.fd.allowed);
        INFO(row.name << ": symmetry worst at " << rep.symmetry.where);
        CHECK(rep.symmetry.worst <= rep.symmetry.allowed);
    });
}

}  // namespace laws
