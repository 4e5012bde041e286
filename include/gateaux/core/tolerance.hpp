#pragma once
// The tolerance of the functional inverse's run-time checks: a solve or pseudo-inverse is refused
// (gateaux::rank_error) when its matrix's reciprocal condition estimate is below it, and a
// division by a′ or φ′ when an entry is below it relative to the largest. Default 1e-10.
#include <cstdio>
#include <stdexcept>
#include <string>

namespace gateaux {

namespace detail {
inline double& inverse_tolerance_slot() {
    static double tol = 1e-10;
    return tol;
}
}  // namespace detail

inline double inverse_tolerance() { return detail::inverse_tolerance_slot(); }

inline void set_inverse_tolerance(double tol) {
    if (!(tol > 0.0 && tol < 1.0)) {
        char got[32];
        std::snprintf(got, sizeof got, "%g", tol);
        throw std::invalid_argument(std::string("gateaux::set_inverse_tolerance: the tolerance must lie in (0, 1), got ") + got);
    }
    detail::inverse_tolerance_slot() = tol;
}

}  // namespace gateaux
