// The exact layer block solve on random networks (tests/symbolic/block_networks.hpp): every
// layer's joint, W-only and b-only blocks, undamped and damped, against the explicit block; seeds
// 0–19.
#include <catch2/catch.hpp>

#include "symbolic/block_networks.hpp"

TEST_CASE("block_solve matches the explicit blocks on random networks (seeds 0-19)", "[symbolic][block_solve]") {
    block_networks::tally t;
    block_networks::check_seeds<0, 20>(t);
    std::printf("block_solve, seeds 0-19: %zu configurations, %zu block checks (%zu of singular blocks, %zu ill-posed not compared); worst "
                "error/tolerance %.3g\n  at %s\n",
                t.configurations, t.checks, t.singular, t.ill_posed, t.worst_ratio, t.worst.c_str());
    CHECK(t.ill_posed * 10 <= t.checks);
    CHECK(t.configurations >= 160);
}
