// Tests for symbolic/fd.hpp and symbolic/hessian.hpp as tools: fd_grad and fd_hvp never write
// the caller's tensors and restore the program's bindings (also when a run throws); hessian and
// hessian_block refuse above their memory limit with a size_error that states the memory, and
// succeed with a raised limit; the Hessian is symmetric, its blocks are hessian_block, and the
// direction bindings are restored afterwards. (Their accuracy against the symbolic derivatives
// is tested on random networks in random_networks_*.cpp.)
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include <gateaux/gateaux.hpp>

#include "support/laws.hpp"

namespace {

using namespace gateaux;

constexpr auto x = input<"x", 5>;
constexpr auto y = target<"y", 3>;
constexpr auto W1 = param<"W1", 5, 4>;
constexpr auto W2 = param<"W2", 4, 3>;
constexpr auto b1 = bias<"b1", 4>;
const auto loss = mean(squared_error(tanh(x * W1 + b1) * W2, y));
const auto w = wrt(W1, b1, W2);
constexpr std::size_t n_params = 5 * 4 + 4 + 4 * 3;  // 36

tensor random(std::size_t r, std::size_t c, std::uint64_t seed, double sd = 1.0) {
    laws::rng g(seed);
    return laws::sample::normal(0.0, sd)(r, c, g);
}

// Bit-for-bit equality (so −0.0 ≠ 0.0 and a NaN payload counts).
bool bit_identical(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// The data, parameters and directions of one network, bound into a program that computes the
// loss, its gradient and H·v.
struct fixture {
    tensor X = random(7, 5, 1), Y = random(7, 3, 2);
    tensor w1 = random(5, 4, 3, 0.5), c1 = random(1, 4, 4, 0.5), w2 = random(4, 3, 5, 0.5);
    tensor v1 = random(5, 4, 6), d1 = random(1, 4, 7), v2 = random(4, 3, 8);
    decltype(compile(loss, grad(loss, w), hvp(loss, w))) prog;

    fixture() {
        prog.bind(x, X).bind(y, Y).bind(W1, w1).bind(b1, c1).bind(W2, w2);
        prog.bind(direction(W1), v1).bind(direction(b1), d1).bind(direction(W2), v2);
        prog.run();
    }
    std::array<tensor, 6> snapshot() const { return {w1, c1, w2, v1, d1, v2}; }
    bool unchanged(const std::array<tensor, 6>& s) const {
        return bit_identical(s[0], w1) && bit_identical(s[1], c1) && bit_identical(s[2], w2) &&
               bit_identical(s[3], v1) && bit_identical(s[4], d1) && bit_identical(s[5], v2);
    }
    bool bindings_restored() const {
        return prog.bound(W1) == &w1 && prog.bound(b1) == &c1 && prog.bound(W2) == &w2 &&
               prog.bound(direction(W1)) == &v1 && prog.bound(direction(b1)) == &d1 &&
               prog.bound(direction(W2)) == &v2;
    }
};

double asymmetry(const tensor& H) {
    double worst = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < H.shape(0); ++i)
        for (std::size_t j = 0; j < H.shape(1); ++j) {
            worst = std::max(worst, std::fabs(H(i, j) - H(j, i)));
            scale = std::max(scale, std::fabs(H(i, j)));
        }
    return worst / scale;
}

}  // namespace

TEST_CASE("fd_grad leaves the caller's tensors bit-identical and restores the bindings", "[symbolic][fd]") {
    fixture f;
    const auto before = f.snapshot();
    const tensor exact_g = f.prog[grad(loss, w).of(W1)];
    const auto fd = fd_grad(f.prog, loss, w, 1e-6);
    CHECK(f.unchanged(before));
    CHECK(f.bindings_restored());
    // The program still computes at the original point after a fresh run.
    f.prog.run();
    CHECK(bit_identical(f.prog[grad(loss, w).of(W1)], exact_g));
    CHECK(laws::measure{laws::rel_error(fd[0], exact_g)} <= laws::measure{1e-7});
}

TEST_CASE("fd_hvp leaves the caller's tensors bit-identical and restores the bindings", "[symbolic][fd]") {
    fixture f;
    const auto before = f.snapshot();
    const std::array<tensor, 3> v{f.v1, f.d1, f.v2};
    const tensor exact_hv = f.prog[hvp(loss, w).of(W2)];
    const auto fd = fd_hvp(f.prog, loss, w, v, 1e-5);
    CHECK(f.unchanged(before));
    CHECK(f.bindings_restored());
    f.prog.run();
    CHECK(bit_identical(f.prog[hvp(loss, w).of(W2)], exact_hv));
    CHECK(laws::measure{laws::rel_error(fd[2], exact_hv)} <= laws::measure{1e-6});
}

TEST_CASE("fd_grad and fd_hvp restore the bindings when a run throws", "[symbolic][fd]") {
    fixture f;
    const auto before = f.snapshot();
    f.prog.unbind(y);  // every run now throws: the target is not bound
    CHECK_THROWS_AS(fd_grad(f.prog, loss, w), shape_error);
    CHECK(f.bindings_restored());
    const std::array<tensor, 3> v{f.v1, f.d1, f.v2};
    CHECK_THROWS_AS(fd_hvp(f.prog, loss, w, v), shape_error);
    CHECK(f.bindings_restored());
    CHECK(f.unchanged(before));
}

TEST_CASE("fd_hvp refuses a direction of the wrong shape before touching the program", "[symbolic][fd]") {
    fixture f;
    const std::array<tensor, 3> v{f.v1, random(4, 1, 9), f.v2};  // b1 is 1×4
    CHECK_THROWS_WITH(fd_hvp(f.prog, loss, w, v), Catch::Contains("b1") && Catch::Contains("1×4") &&
                                                      Catch::Contains("got 4×1"));
    CHECK(f.bindings_restored());
}

TEST_CASE("hessian refuses above max_bytes, stating the memory needed, and succeeds with a raised limit",
          "[symbolic][hessian]") {
    fixture f;
    const auto before = f.snapshot();
    const std::size_t need = n_params * n_params * sizeof(double);  // 36² doubles = 10368 bytes
    CHECK_THROWS_AS(hessian(f.prog, loss, w, need - 1), size_error);
    CHECK_THROWS_WITH(hessian(f.prog, loss, w, need - 1),
                      Catch::Contains("36 parameters") && Catch::Contains("36×36") &&
                          Catch::Contains("10.1 KiB") && Catch::Contains("max_bytes"));
    CHECK(f.bindings_restored());
    CHECK(f.unchanged(before));
    const tensor H = hessian(f.prog, loss, w, need);
    CHECK(H.shape(0) == n_params);
    CHECK(H.shape(1) == n_params);
}

TEST_CASE("hessian_block refuses above max_bytes, stating the memory needed, and succeeds with a raised limit",
          "[symbolic][hessian]") {
    fixture f;
    const std::size_t need = 20 * 20 * sizeof(double);  // W1's block: 3200 bytes
    CHECK_THROWS_WITH(hessian_block(f.prog, loss, w, W1, need - 1),
                      Catch::Contains("20 parameters") && Catch::Contains("3.1 KiB"));
    CHECK_NOTHROW(hessian_block(f.prog, loss, w, W1, need));
    // W2's block, 12² doubles, against a limit of 8 bytes: both amounts are stated.
    CHECK_THROWS_WITH(hessian_block(f.prog, loss, w, W2, 8),
                      Catch::Contains("12 parameters") && Catch::Contains("1.1 KiB") && Catch::Contains("limit of 8 bytes"));
}

TEST_CASE("hessian is symmetric and its diagonal blocks are hessian_block", "[symbolic][hessian]") {
    fixture f;
    const tensor H = hessian(f.prog, loss, w);
    CHECK(laws::measure{asymmetry(H)} <= laws::measure{1e-12});
    // Blocks in wrt(W1, b1, W2) order, each parameter flattened row-major.
    const std::array<std::size_t, 4> off{0, 20, 24, 36};
    const std::array<tensor, 3> blocks{hessian_block(f.prog, loss, w, W1), hessian_block(f.prog, loss, w, b1),
                                       hessian_block(f.prog, loss, w, W2)};
    for (std::size_t q = 0; q < 3; ++q) {
        const std::size_t n = off[q + 1] - off[q];
        tensor diag = tensor::from_shape({n, n});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) diag(i, j) = H(off[q] + i, off[q] + j);
        INFO("block " << q);
        CHECK(laws::measure{laws::rel_error(blocks[q], diag)} <= laws::measure{1e-15});
    }
}

TEST_CASE("hessian and hessian_block restore the direction bindings", "[symbolic][hessian]") {
    SECTION("bound before: the same tensors afterwards, unchanged") {
        fixture f;
        const auto before = f.snapshot();
        (void)hessian(f.prog, loss, w);
        CHECK(f.bindings_restored());
        CHECK(f.unchanged(before));
        (void)hessian_block(f.prog, loss, w, b1);
        CHECK(f.bindings_restored());
        CHECK(f.unchanged(before));
        // H·v at the caller's directions, as before the Hessian was built.
        const tensor hv_before = [&] {
            fixture g;
            return tensor(g.prog[hvp(loss, w).of(W1)]);
        }();
        f.prog.run();
        CHECK(bit_identical(f.prog[hvp(loss, w).of(W1)], hv_before));
    }
    SECTION("not bound before: unbound afterwards") {
        fixture f;
        f.prog.unbind(direction(W1)).unbind(direction(b1)).unbind(direction(W2));
        (void)hessian(f.prog, loss, w);
        CHECK(f.prog.bound(direction(W1)) == nullptr);
        CHECK(f.prog.bound(direction(b1)) == nullptr);
        CHECK(f.prog.bound(direction(W2)) == nullptr);
        (void)hessian_block(f.prog, loss, w, W2);
        CHECK(f.prog.bound(direction(W2)) == nullptr);
        CHECK(f.prog.bound(W1) == &f.w1);
    }
}
