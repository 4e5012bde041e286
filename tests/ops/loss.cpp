// Tests for the losses: ops/squared_error.hpp, ops/mse.hpp (a composite), ops/cross_entropy.hpp.
// Per-sample columns and their sum / mean against the oracle; cross-entropy with one-hot and
// soft targets, and with logits ~1e3 where a naive log-sum-exp overflows or underflows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <gateaux/gateaux.hpp>

#include "support/reference.hpp"

namespace {

using namespace gateaux;

constexpr ref::error tol{1e-13};
constexpr std::size_t batches[] = {1, 2, 33, 128};
constexpr std::uint64_t seeds[] = {11, 12, 13};

template <dim N>
void check_squared_error() {
    constexpr auto o = input<"o", N>;
    constexpr auto y = target<"y", N>;
    const auto per_sample = squared_error(o, y);
    const auto total = sum(squared_error(o, y));
    const auto m = mse(o, y);
    STATIC_REQUIRE(decltype(per_sample)::rows == batch);
    STATIC_REQUIRE(decltype(per_sample)::cols == 1);
    auto prog = compile(per_sample, total, m);
    for (std::uint64_t seed : seeds)
        for (std::size_t b : batches) {
            const tensor O = ref::normal(b, N, seed), Y = ref::normal(b, N, seed + 1);
            prog.bind(o, O).bind(y, Y).run();
            INFO("N = " << N << ", batch " << b << ", seed " << seed);
            CHECK(ref::rel_error(prog[per_sample], ref::squared_error(O, Y)) <= tol);
            CHECK(ref::rel_error(prog.scalar(total), ref::sum(ref::squared_error(O, Y))) <= tol);
            CHECK(ref::rel_error(prog.scalar(m), ref::mse(O, Y)) <= tol);
        }
}

// Targets: one-hot rows, or soft rows (probability distributions).
template <dim N>
void check_cross_entropy(bool soft) {
    constexpr auto o = input<"o", N>;
    constexpr auto y = target<"y", N>;
    const auto per_sample = cross_entropy(o, y);
    const auto total = sum(cross_entropy(o, y));
    const auto m = mean(cross_entropy(o, y));
    STATIC_REQUIRE(decltype(per_sample)::rows == batch);
    STATIC_REQUIRE(decltype(per_sample)::cols == 1);
    auto prog = compile(per_sample, total, m);
    for (std::uint64_t seed : seeds)
        for (std::size_t b : batches) {
            const tensor O = ref::normal(b, N, seed, 0.0, 2.0);
            const tensor Y = soft ? ref::distributions(b, N, seed + 1) : ref::one_hot(b, N, seed + 1);
            prog.bind(o, O).bind(y, Y).run();
            INFO("N = " << N << ", batch " << b << ", seed " << seed << (soft ? ", soft targets" : ", one-hot targets"));
            CHECK(ref::rel_error(prog[per_sample], ref::cross_entropy(O, Y)) <= tol);
            CHECK(ref::rel_error(prog.scalar(total), ref::sum(ref::cross_entropy(O, Y))) <= tol);
            CHECK(ref::rel_error(prog.scalar(m), ref::mean(ref::cross_entropy(O, Y))) <= tol);
        }
}

}  // namespace

TEST_CASE("squared_error, sum of it, mse: values at several widths, batch sizes and seeds", "[ops][squared_error][mse]") {
    check_squared_error<1>();
    check_squared_error<10>();
    check_squared_error<64>();
}

TEST_CASE("mse: is mean(squared_error(o, y)), with no node of its own", "[ops][mse]") {
    constexpr auto o = input<"o", 4>;
    constexpr auto y = target<"y", 4>;
    STATIC_REQUIRE(std::is_same_v<decltype(mse(o, y)), decltype(mean(squared_error(o, y)))>);
}

TEST_CASE("mse: averages over the batch only, not over the width (½‖o_b − y_b‖² per sample)", "[ops][mse]") {
    constexpr auto o = input<"o", 8>;
    constexpr auto y = target<"y", 8>;
    const auto m = mse(o, y);
    auto prog = compile(m);
    const tensor O = ref::normal(5, 8, 1), Y = ref::normal(5, 8, 2);
    prog.bind(o, O).bind(y, Y).run();
    CHECK(ref::rel_error(prog.scalar(m), ref::sum(ref::squared_error(O, Y)) / 5.0) <= tol);
}

TEST_CASE("cross_entropy: one-hot targets, values at several widths, batch sizes and seeds", "[ops][cross_entropy]") {
    check_cross_entropy<1>(false);
    check_cross_entropy<2>(false);
    check_cross_entropy<10>(false);
    check_cross_entropy<64>(false);
}

TEST_CASE("cross_entropy: soft targets (rows that are distributions)", "[ops][cross_entropy]") {
    check_cross_entropy<3>(true);
    check_cross_entropy<10>(true);
}

TEST_CASE("cross_entropy: equal logits give log(n) for any target distribution", "[ops][cross_entropy]") {
    constexpr auto o = input<"o", 7>;
    constexpr auto y = target<"y", 7>;
    const auto ce = cross_entropy(o, y);
    auto prog = compile(ce);
    tensor O = tensor::from_shape({4, 7});
    O.fill(0.25);
    const tensor Y = ref::distributions(4, 7, 3);
    prog.bind(o, O).bind(y, Y).run();
    for (std::size_t b = 0; b < 4; ++b) CHECK(ref::rel_error(prog[ce](b, 0), std::log(7.0)) <= tol);
}

TEST_CASE("cross_entropy: a confident correct prediction keeps its relative accuracy", "[ops][cross_entropy]") {
    // Logits (0, d), target class 2: the loss is log(1 + e^−d), small but well conditioned
    // (relative condition number about d). Evaluating it as log(z) with z = 1 + e^−d rounded
    // to double loses all digits below 1 ulp of z: relative error ≈ 1e-16·e^d.
    constexpr auto o = input<"o", 2>;
    constexpr auto y = target<"y", 2>;
    const auto ce = cross_entropy(o, y);
    auto prog = compile(ce);
    for (double d : {1.0, 5.0, 10.0, 20.0, 40.0}) {
        const tensor O = {{0.0, d}}, Y = {{0.0, 1.0}};
        prog.bind(o, O).bind(y, Y).run();
        INFO("margin " << d << ": got " << prog[ce](0, 0) << ", want log1p(e^-d) = " << std::log1p(std::exp(-d)));
        CHECK(ref::rel_error(prog[ce], ref::cross_entropy(O, Y)) <= tol);
    }
}

TEST_CASE("cross_entropy: logits of order 1e3 stay finite and accurate", "[ops][cross_entropy]") {
    // exp(±1e3) is outside double's range, so this needs the max-shifted log-sum-exp. The loss
    // is a difference of terms of size |o|, so its rounding error is relative to max |o|.
    constexpr auto o = input<"o", 10>;
    constexpr auto y = target<"y", 10>;
    const auto ce = cross_entropy(o, y);
    const auto m = mean(cross_entropy(o, y));
    auto prog = compile(ce, m);
    const std::pair<double, double> ranges[] = {{-1e3, 1e3}, {1e3 - 5.0, 1e3 + 5.0}, {-1e3 - 5.0, -1e3 + 5.0}, {-3e3, 3e3}};
    for (auto [lo, hi] : ranges)
        for (bool soft : {false, true}) {
            const tensor O = ref::uniform(64, 10, 17, lo, hi);
            const tensor Y = soft ? ref::distributions(64, 10, 18) : ref::one_hot(64, 10, 18);
            prog.bind(o, O).bind(y, Y).run();
            const tensor want = ref::cross_entropy(O, Y);
            const double scale = std::max(std::fabs(lo), std::fabs(hi));
            INFO("logits in [" << lo << ", " << hi << "]" << (soft ? ", soft targets" : ", one-hot targets"));
            CHECK(ref::all_finite(prog[ce]));
            CHECK(std::isfinite(prog.scalar(m)));
            for (std::size_t b = 0; b < 64; ++b) CHECK(ref::abs_error(prog[ce](b, 0), want(b, 0)) <= tol * scale);
            CHECK(ref::abs_error(prog.scalar(m), ref::mean(want)) <= tol * scale);
        }
}

TEST_CASE("cross_entropy: adding a constant to every logit of a row changes nothing", "[ops][cross_entropy]") {
    constexpr auto o = input<"o", 6>;
    constexpr auto y = target<"y", 6>;
    const auto ce = cross_entropy(o, y);
    auto prog = compile(ce);
    const tensor O = ref::normal(16, 6, 5), Y = ref::distributions(16, 6, 6);
    prog.bind(o, O).bind(y, Y).run();
    const tensor base = prog[ce];
    for (double shift : {-700.0, 1e3}) {
        const tensor shifted = O + shift;
        prog.bind(o, shifted).run();
        INFO("shift " << shift);
        CHECK(ref::max_rel_error(prog[ce], base, 1.0) <= tol * std::fabs(shift));
    }
}

TEST_CASE("losses: printing of squared_error, mse and cross_entropy", "[ops][squared_error][mse][cross_entropy][print]") {
    constexpr auto x = input<"x", 3>;
    constexpr auto W = param<"W", 3, 2>;
    constexpr auto y = target<"y", 2>;
    CHECK(to_string(squared_error(x * W, y)) == "½‖x·W − y‖²");
    CHECK(to_string(sum(squared_error(x * W, y))) == "sum(½‖x·W − y‖²)");
    CHECK(to_string(mse(x * W, y)) == "mean(½‖x·W − y‖²)");
    CHECK(to_string(cross_entropy(x * W, y)) == "cross_entropy(x·W, y)");
    CHECK(to_string(mean(cross_entropy(x * W, y))) == "mean(cross_entropy(x·W, y))");
}
