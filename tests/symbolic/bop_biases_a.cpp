// The B-operator with biases on random networks (tests/symbolic/bias_networks.hpp): joint
// (W_l, b_l), W-only and b-only blocks of every layer against the explicit block, seeds 0–29.
#include <catch2/catch.hpp>

#include "symbolic/bias_networks.hpp"

TEST_CASE("bop and newton_step with biases match the explicit blocks on random networks (seeds 0-29)", "[symbolic][bop][bias]") {
    bias_networks::tally t;
    bias_networks::check_seeds<0, 30>(t);
    std::printf("bop with biases, seeds 0-29: %zu configurations, %zu block checks; worst error/tolerance %.3g\n  at %s\n",
                t.configurations, t.checks, t.worst_ratio, t.worst.c_str());
    CHECK(t.configurations >= 60);
}
