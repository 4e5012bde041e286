// The inverse side of the closed forms in closed_forms.cpp (include/gateaux/symbolic/hessian.hpp: dense_bop,
// hessian_solve, dense_newton_step; bop.hpp: newton_step; inverse.hpp: fd_newton_step):
//   f(x) = Σ xᵢ³: H = diag(6x), so H⁻¹v = v ⊘ 6x, and the Newton step H⁻¹∇f = 3x² ⊘ 6x = x/2;
//   f(x) = x₁x₂x₃: H = [[0, x₃, x₂], [x₃, 0, x₁], [x₂, x₁, 0]], det H = 2x₁x₂x₃, and
//     (H⁻¹v)₁ = (v₂x₁x₂ + v₃x₁x₃ − v₁x₁²)/(2x₁x₂x₃) with its cyclic shifts; f is homogeneous of
//     degree 3, so H·x = 2∇f (Euler) and the Newton step is again x/2;
//   linear regression ½‖XΘ − Y‖²: H = I ⊗ XᵀX, and one Newton step from any Θ lands on a
//     least-squares solution — for B > n (overdetermined) the unique one, for B ≤ n the one
//     nearest Θ, X⁺Y + (I − X⁺X)Θ (X⁺Y itself from Θ = 0). The oracle is LAPACK's least squares
//     (xt::linalg::lstsq, SVD-based), never the library.
// Tolerances: the dense solves and lstsq are backward stable, so 100·eps·cond(H) (docs/theory.md, "Numerics"); the
// finite-difference step is exact for a linear per-sample map but for rounding,
// oracle::fd_rounding_bound: 2·eps·cond(H)·(‖Θ‖ + ‖Δ‖)/(r·‖Δ‖) relative, Δ the Newton step.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "support/oracle.hpp"

namespace {

using namespace oracle;
using namespace gateaux;

// Checks err ≤ tol and keeps the worst error and err/tol, for the summary line.
struct tracker {
    const char* what;
    double worst = 0.0, ratio = 0.0;
    std::size_t checks = 0;
    void operator()(double err, double tol) {
        CHECK(sci{err} <= sci{tol});
        worst = std::max(worst, err), ratio = std::max(ratio, err / tol), ++checks;
    }
    ~tracker() { std::printf("%s: %zu checks, worst relative error %.2e, largest error/tolerance %.2f\n", what, checks, worst, ratio); }
};

// cond₂ of a symmetric matrix from its eigenvalues.
double cond_sym(const tensor& h) {
    const auto e = xt::linalg::eigvalsh(h);
    double lo = INFINITY, hi = 0.0;
    for (double v : e) lo = std::min(lo, std::abs(v)), hi = std::max(hi, std::abs(v));
    return hi / lo;
}

}  // namespace

TEST_CASE("closed form: f = Σ xᵢ³ gives H⁻¹v = v ⊘ 6x and the Newton step x/2", "[symbolic][bop][closed_form]") {
    tracker track{"sum x^3: dense_bop, hessian_solve, dense_newton_step"};
    constexpr auto x = param<"x", 3, 4>;  // 12 variables: dense_bop flattens a matrix parameter row-major
    const auto f = sum(hadamard(x, hadamard(x, x)));
    const auto w = wrt(x);
    auto prog = compile(f, grad(f, w), hvp(f, w));
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        rng gen(seed);
        tensor X = gaussian(3, 4, gen), V = gaussian(3, 4, gen);
        prog.bind(x, X).bind(direction(x), V).run();
        const double cond = max_abs(X) / [&] {
            double m = INFINITY;
            for (double e : X) m = std::min(m, std::abs(e));
            return m;
        }();
        const tensor want = V / (6.0 * X);
        INFO("seed " << seed << ", cond(H) = " << cond);
        const double tol = 100 * eps * cond;
        track(rel_error(dense_bop(prog, f, w, {V})[0], want), tol);
        track(rel_error(hessian_solve(prog, f, w, {V})[0], want), tol);
        track(rel_error(dense_newton_step(prog, f, w)[0], tensor(X / 2.0)), tol);
    }
}

TEST_CASE("closed form: f = x₁x₂x₃ gives (H⁻¹v)₁ = (v₂x₁x₂ + v₃x₁x₃ − v₁x₁²)/(2x₁x₂x₃) and cyclic shifts",
          "[symbolic][bop][closed_form]") {
    tracker track{"x1 x2 x3: hessian_solve, H u = v, Newton step"};
    constexpr auto a = param<"a", 1, 1>;
    constexpr auto b = param<"b", 1, 1>;
    constexpr auto c = param<"c", 1, 1>;
    const auto f = hadamard(hadamard(a, b), c);
    const auto w = wrt(a, b, c);
    auto prog = compile(f, grad(f, w), hvp(f, w));
    // (H⁻¹v)_i = (v_j·x_i·x_j + v_k·x_i·x_k − v_i·x_i²)/(2x₁x₂x₃) for (i, j, k) cyclic.
    auto closed = [](const std::array<double, 3>& x, const std::array<double, 3>& v) {
        std::array<double, 3> u{};
        const double det = 2 * x[0] * x[1] * x[2];
        for (int i = 0; i < 3; ++i) {
            const int j = (i + 1) % 3, k = (i + 2) % 3;
            u[i] = (v[j] * x[i] * x[j] + v[k] * x[i] * x[k] - v[i] * x[i] * x[i]) / det;
        }
        return u;
    };
    rng gen(7);
    std::vector<std::array<double, 3>> points{{2.0, 3.0, 5.0}, {-1.5, 0.25, 4.0}, {1.0, 1.0, 1.0}, {1e2, -1e-1, 3.0}};
    for (int i = 0; i < 6; ++i) {
        const tensor p = gaussian(1, 3, gen);
        points.push_back({p(0, 0), p(0, 1), p(0, 2)});
    }
    for (const auto& x : points) {
        const std::array<double, 3> v{gaussian(1, 1, gen)(0, 0), gaussian(1, 1, gen)(0, 0), gaussian(1, 1, gen)(0, 0)};
        tensor A = {{x[0]}}, B = {{x[1]}}, C = {{x[2]}};
        tensor zero = {{0.0}};
        prog.bind(a, A).bind(b, B).bind(c, C);
        prog.bind(direction(a), zero).bind(direction(b), zero).bind(direction(c), zero).run();
        const tensor H = {{0.0, x[2], x[1]}, {x[2], 0.0, x[0]}, {x[1], x[0], 0.0}};
        const double tol = 100 * eps * cond_sym(H);
        const auto u = closed(x, v);
        const auto got = hessian_solve(prog, f, w, {tensor{{v[0]}}, tensor{{v[1]}}, tensor{{v[2]}}});
        const tensor got_t = {{got[0](0, 0), got[1](0, 0), got[2](0, 0)}};
        INFO("x = (" << x[0] << ", " << x[1] << ", " << x[2] << "), cond(H) = " << cond_sym(H));
        track(rel_error(got_t, tensor{{u[0], u[1], u[2]}}), tol);
        // The closed form is H⁻¹: H·u = v, in long double.
        for (int i = 0; i < 3; ++i) {
            long double hu = 0.0L;
            for (int j = 0; j < 3; ++j) hu += (long double)H(i, j) * u[j];
            track(double(std::abs(hu - v[i])), tol * (std::abs(v[0]) + std::abs(v[1]) + std::abs(v[2])));
        }
        // Newton step H⁻¹∇f = x/2 (Euler: H·x = 2∇f for a cubic form).
        const auto g = grad(f, w);
        const auto step = hessian_solve(prog, f, w, {tensor(prog[g.of(a)]), tensor(prog[g.of(b)]), tensor(prog[g.of(c)])});
        const tensor step_t = {{step[0](0, 0), step[1](0, 0), step[2](0, 0)}};
        track(rel_error(step_t, tensor{{x[0] / 2, x[1] / 2, x[2] / 2}}), tol);
    }
}

namespace {

// ½‖XΘ − Y‖² (or its mean) with n inputs and m outputs: programs for the exact B-operator
// (B ≤ n), the per-unit fallback (any B) with the dense block solve, and the reference.
template <dim N, dim M, bool Mean = false>
struct regression {
    static constexpr auto X = input<"X", N>;
    static constexpr auto Y = target<"Y", M>;
    static constexpr auto Theta = param<"Θ", N, M>;
    static constexpr auto w = wrt(Theta);
    static constexpr auto loss = [] {
        if constexpr (Mean)
            return mse(X * Theta, Y);
        else
            return sum(squared_error(X * Theta, Y));
    }();
    static constexpr auto g = grad(loss, w);
    static constexpr auto s = newton_step(loss, w);
    static constexpr auto s_unit = newton_step(loss, w, output_per_unit);
    decltype(compile(loss, g, s)) exact;
    decltype(compile(loss, g, hvp(loss, w), s_unit)) per_unit;

    // Θ − Δ against the least-squares solution nearest Θ: X⁺Y + (I − X⁺X)Θ (lstsq gives X⁺·).
    static tensor nearest_solution(const tensor& x, const tensor& y, const tensor& theta) {
        const tensor xy = std::get<0>(xt::linalg::lstsq(x, y));
        const tensor xxt = std::get<0>(xt::linalg::lstsq(x, tensor(xt::linalg::dot(x, theta))));
        return xy + theta - xxt;
    }

    void run(std::size_t batch, std::uint64_t seed, tracker& track) {
        rng gen(seed);
        tensor x = wellcond(batch, N, gen), y = gaussian(batch, M, gen), theta = gaussian(N, M, gen);
        const tensor want = nearest_solution(x, y, theta);
        // cond(H) = cond(XᵀX) ≤ 4 for singular values of X in [0.7, 1.4]; the step is Θ − Θ*,
        // so an error of 100·eps·cond(H)·‖Δ‖ in it is (‖Δ‖/‖Θ*‖) relative to Θ*.
        const double cond_h = std::pow(cond2(x), 2);  // on the range of H when B < n
        const double scale = oracle::norm(tensor(theta - want)) / oracle::norm(want);
        const double tol = 100 * eps * cond_h * (1.0 + scale);
        INFO("n = " << N << ", m = " << M << (Mean ? ", mse" : ", sum") << ", B = " << batch << ", seed " << seed
                    << ", cond(H) = " << cond_h);
        per_unit.bind(X, x).bind(Y, y).bind(Theta, theta);
        tensor v = xt::zeros<double>({std::size_t(N), std::size_t(M)});
        per_unit.bind(direction(Theta), v).run();
        track(rel_error(tensor(theta - per_unit[s_unit.of(Theta)]), want), tol);
        track(rel_error(tensor(theta - dense_newton_step(per_unit, loss, w)[0]), want), tol);

        exact.bind(X, x).bind(Y, y).bind(Theta, theta);
        if (batch > N) {
            // Documented: the exact B-operator and the functional inverse need B ≤ n; the error
            // names the input and points to the fallback.
            CHECK_THROWS_WITH(exact.run(), Catch::Contains("input of Θ") && Catch::Contains("output_per_unit"));
            CHECK_THROWS_AS(fd_newton_step(exact, loss, w, 1e-4), rank_error);
            return;
        }
        exact.run();
        const tensor step = exact[s.of(Theta)];
        track(rel_error(tensor(theta - step), want), tol);
        // B ≤ n: the new Θ interpolates, XΘ′ = Y.
        track(rel_error(tensor(xt::linalg::dot(x, tensor(theta - step))), y), tol);
        // From Θ = 0 the step lands on X⁺Y, lstsq's minimum-norm solution.
        {
            tensor zero = xt::zeros<double>({std::size_t(N), std::size_t(M)});
            exact.bind(Theta, zero).run();
            const tensor min_norm = std::get<0>(xt::linalg::lstsq(x, y));
            track(rel_error(tensor(-exact[s.of(Theta)]), min_norm), 100 * eps * cond_h);
            exact.bind(Theta, theta).run();
        }
        // The finite-difference step at r = 1e-4: the per-sample map δ = net − y is
        // linear, so rounding only.
        const double r = 1e-4;
        const tensor fd = fd_newton_step(exact, loss, w, r)[0];
        const double fd_tol = fd_rounding_bound(cond_h, oracle::norm(theta), oracle::norm(step), oracle::norm(step), r);
        track(rel_error(fd, step), fd_tol);
        track(rel_error(tensor(theta - fd), want), tol + fd_tol * scale);
    }
};

template <class R>
void run_sizes(R& r, std::size_t n, std::uint64_t seed, tracker& track) {
    for (std::size_t batch : {std::size_t(1), n - 1, n, n + 1, 3 * n, std::size_t(40)}) r.run(batch, seed++, track);
}

}  // namespace

TEST_CASE("closed form: one Newton step on linear regression reaches the least-squares solution",
          "[symbolic][bop][closed_form][regression]") {
    regression<3, 1> r31;
    regression<5, 2> r52;
    regression<8, 4> r84;
    regression<4, 3, true> r43_mean;
    tracker track{"linear regression: newton_step, output_per_unit, dense_newton_step, fd_newton_step against lstsq"};
    run_sizes(r31, 3, 100, track);
    run_sizes(r52, 5, 200, track);
    run_sizes(r84, 8, 300, track);
    run_sizes(r43_mean, 4, 400, track);
}
