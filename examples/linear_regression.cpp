// The seed's linear-regression experiment: gradient descent against the per-layer Newton step of
// the functional inverse, computed by finite differences (the seed's own method).
//
//   data      X, Y (n×n) and the start Θ₀ (n×n), all standard normal (mt19937_64 seeded 2024,
//             libstdc++'s normal_distribution)
//   loss      L(Θ) = ½‖XΘ − Y‖²  (a sum over samples, not the mean)
//   GD        Θ ← Θ − 10⁻³·∇L
//   Newton    Θ ← Θ − 0.1·Δ, Δ = H⁻¹∇L from central differences of the inverse gradient map at
//             G(1 ± r/2), r = 10⁻⁸ (fd_block_newton: fixed step, no line search)
//   oracle    L* = ½‖XΘ* − Y‖² with Θ* from xt::linalg::lstsq (LAPACK gelsd), computed
//             independently of gateaux; progress is the relative gap (L − L*)/(L₀ − L*)
//
// For a square X, L* is zero up to rounding, so "relative to L*" means relative to the initial
// gap L₀ − L*. The loss is quadratic with H = XᵀX ⊗ I, so both trajectories are also predicted in
// closed form from the SVD X = U·S·Vᵀ: with E₀ = Θ₀ − Θ*, GD's gap after k steps is
// ½·Σᵢ σᵢ²(1 − ησᵢ²)^{2k}·‖(VᵀE₀)ᵢ‖², and exact Newton with step 0.1 multiplies the gap by
// 0.9² = 0.81 per step. The example checks both, and exits non-zero if a claim fails:
//   1. Newton reaches a relative gap ≤ 1e-8 within its iteration budget (500);
//   2. GD is still far from L* at the end of its budget: relative gap ≥ 1e-5, a thousand times
//      what Newton reached (the closed form also says how many iterations GD would need);
//   3. GD's gap agrees with the closed form to 1e-6 relative, Newton's with 0.81^k to 1e-3 relative
//      while the gap is above 1e-8 (the finite-difference step is H⁻¹G up to ≈ eps/r·cond(X)).
// Newton stops once the gap is below 1e-10. Further on, a finite-difference step mostly measures
// rounding (g⁻¹ is evaluated at G(1 ± r/2) with G near zero), and it becomes about 30 times
// dearer: inverse_gradient's per-sample Newton solve no longer meets its 1e-14 relative residual
// (rounding in net is eps·|net|, far above 1e-14·|δ*| once δ* is small) and runs to its limit.
//
//   example_linear_regression           reduced: n = 30, GD 5 000 iterations (ctest)
//   example_linear_regression --full    the seed's size: n = 100, GD 50 000 iterations
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

using namespace gateaux;

namespace {

template <dim N>
struct regression {
    static constexpr auto x = input<"x", N>;
    static constexpr auto y = target<"y", N>;
    static constexpr auto theta = param<"Theta", N, N>;
    static constexpr auto loss = sum(squared_error(act::identity(x * theta), y));  // ½‖XΘ − Y‖²
};

struct settings {
    std::size_t gd_iterations, newton_iterations;
    double gd_step = 1e-3, newton_step = 0.1, r = 1e-8;
    double newton_target = 1e-10;  // Newton stops at this gap (see below)
};

// ½‖XΘ − Y‖², in long double: the oracle's own evaluation.
double half_residual(const tensor& X, const tensor& T, const tensor& Y) {
    const tensor res = xt::linalg::dot(X, T) - Y;
    long double s = 0.0L;
    for (double v : res) s += (long double)v * v;
    return double(0.5L * s);
}

// The closed-form GD gap after k steps: ½·Σᵢ σᵢ²(1 − ησᵢ²)^{2k}·‖(VᵀE₀)ᵢ‖².
struct gd_prediction {
    std::vector<double> sigma2, weight;  // σᵢ², ‖row i of VᵀE₀‖²
    double gap(std::size_t k, double eta) const {
        long double s = 0.0L;
        for (std::size_t i = 0; i < sigma2.size(); ++i)
            s += 0.5L * sigma2[i] * std::pow((long double)(1.0 - eta * sigma2[i]), 2.0L * k) * weight[i];
        return double(s);
    }
    // The first k with gap(k) ≤ target (the gap decreases in k while ησᵢ² < 2).
    std::size_t iterations_to(double target, double eta) const {
        std::size_t hi = 1;
        while (gap(hi, eta) > target && hi < (std::size_t(1) << 50)) hi *= 2;
        std::size_t lo = 0;
        while (hi - lo > 1) {
            const std::size_t mid = lo + (hi - lo) / 2;
            (gap(mid, eta) > target ? lo : hi) = mid;
        }
        return hi;
    }
};

bool claim(bool ok, const std::string& text) {
    std::printf("  [%s] %s\n", ok ? "ok" : "FAILED", text.c_str());
    return ok;
}

template <dim N>
int experiment(const settings& s) {
    using P = regression<N>;
    const std::size_t n = std::size_t(N);
    std::mt19937_64 gen(2024);
    std::normal_distribution<double> normal;
    auto gaussian = [&] {
        tensor t = tensor::from_shape({n, n});
        for (double& v : t) v = normal(gen);
        return t;
    };
    const tensor X = gaussian(), Y = gaussian(), theta0 = gaussian();

    // The oracle: least squares by LAPACK, and the SVD for the closed-form trajectories.
    auto [theta_star_, residuals, rank, sv] = xt::linalg::lstsq(X, Y);
    (void)residuals;
    const tensor theta_star = theta_star_;
    const double l_star = half_residual(X, theta_star, Y), l0 = half_residual(X, theta0, Y);
    auto [u, sigma, vt] = xt::linalg::svd(X, false, true);
    (void)u;
    gd_prediction gd_pred;
    const tensor e0 = xt::linalg::dot(vt, tensor(theta0 - theta_star));
    for (std::size_t i = 0; i < n; ++i) {
        gd_pred.sigma2.push_back(sigma(i) * sigma(i));
        double w = 0.0;
        for (std::size_t j = 0; j < n; ++j) w += e0(i, j) * e0(i, j);
        gd_pred.weight.push_back(w);
    }
    std::printf("linear regression, X, Y, Theta %zux%zu ~ N(0, 1), loss %s = 1/2 |X Theta - Y|^2\n", n, n,
                to_string(P::loss).c_str());
    std::printf("  rank(X) = %d, singular values %.3g .. %.3g (cond %.3g); GD step %g: slowest mode contracts by %.8f per step\n",
                int(rank), sigma(n - 1), sigma(0), sigma(0) / sigma(n - 1), s.gd_step,
                1.0 - s.gd_step * sigma(n - 1) * sigma(n - 1));
    std::printf("  L0 = %.6e, L* (lstsq) = %.3e; gap = (L - L*)/(L0 - L*)\n\n", l0, l_star);
    const auto gap = [&](double l) { return (l - l_star) / (l0 - l_star); };

    auto f = make_objective(P::loss, wrt(P::theta));
    f.set_data(P::x, X).set_data(P::y, Y);
    stopping stop;
    stop.gradient_tolerance = 0.0;

    // Gradient descent.
    param_set theta({theta0});
    gradient_descent gd(s.gd_step);
    stop.max_iterations = s.gd_iterations;
    const result rg = minimize(f, theta, gd, stop);

    // Newton through the finite-difference functional inverse.
    param_set theta_n({theta0});
    fd_block_newton::options o;
    o.line_search = false;
    o.step_size = s.newton_step;
    o.r = s.r;
    fd_block_newton newton(o);
    stop.max_iterations = s.newton_iterations;
    stop.target_loss = l_star + s.newton_target * (l0 - l_star);
    const result rn = minimize(f, theta_n, newton, stop);

    // Both trajectories every 10 % of their budgets, with the closed-form predictions.
    double gd_model_error = 0.0, newton_model_error = 0.0;
    std::size_t newton_reached = 0;
    for (const iteration_record& r : rg.history)
        gd_model_error = std::max(gd_model_error, std::abs(gap(r.loss) / (gd_pred.gap(r.iteration, s.gd_step) / (l0 - l_star)) - 1.0));
    const double contraction = (1.0 - s.newton_step) * (1.0 - s.newton_step);
    for (const iteration_record& r : rn.history) {
        const double g = gap(r.loss);
        if (g > 1e-8) newton_model_error = std::max(newton_model_error, std::abs(g / std::pow(contraction, double(r.iteration)) - 1.0));
        if (newton_reached == 0 && g <= 1e-8) newton_reached = r.iteration;
    }
    auto table = [&](const char* title, const result& r, auto predicted) {
        std::printf("%s (%s, %.2f s, stop: %s)\n  %9s  %14s  %11s  %11s  %10s\n", title, r.optimizer.c_str(), r.seconds,
                    to_string(r.reason), "iteration", "loss", "gap", "predicted", "|g|");
        const std::size_t last = r.history.back().iteration;
        for (std::size_t tenth = 0; tenth <= 10; ++tenth) {
            const iteration_record& h = r.history[tenth * last / 10];
            std::printf("  %9zu  %14.6e  %11.3e  %11.3e  %10.3e\n", h.iteration, h.loss, gap(h.loss), predicted(h.iteration),
                        h.gradient_norm);
        }
    };
    table("gradient descent, step 1e-3", rg, [&](std::size_t k) { return gd_pred.gap(k, s.gd_step) / (l0 - l_star); });
    table("\nNewton by the finite-difference functional inverse, step 0.1, r = 1e-8", rn,
          [&](std::size_t k) { return std::pow(contraction, double(k)); });

    const double gd_gap = gap(rg.final_loss), newton_gap = gap(rn.final_loss);
    char buf[256];
    std::printf("\nclaims:\n");
    bool ok = true;
    std::snprintf(buf, sizeof buf, "Newton reaches gap <= 1e-8 within %zu iterations: first at iteration %zu, final gap %.2e",
                  s.newton_iterations, newton_reached, newton_gap);
    ok &= claim(newton_reached > 0 && newton_gap <= 1e-8, buf);
    const std::size_t gd_needed = gd_pred.iterations_to(1e-8 * (l0 - l_star), s.gd_step);
    std::snprintf(buf, sizeof buf,
                  "GD is still far from L* after %zu iterations: gap %.3e >= 1e-5 (1000x Newton's 1e-8); by its closed "
                  "form it would need %.3g iterations to reach 1e-8",
                  rg.iterations, gd_gap, double(gd_needed));
    ok &= claim(rg.iterations == s.gd_iterations && gd_gap >= 1e-5 && gd_needed > s.gd_iterations, buf);
    std::snprintf(buf, sizeof buf, "GD follows its closed form (SVD of X): largest relative deviation %.2e <= 1e-6", gd_model_error);
    ok &= claim(gd_model_error <= 1e-6, buf);
    std::snprintf(buf, sizeof buf, "Newton follows exact Newton's 0.81^k while gap > 1e-8: largest relative deviation %.2e <= 1e-3",
                  newton_model_error);
    ok &= claim(newton_model_error <= 1e-3, buf);
    std::printf("%s\n", ok ? "all claims hold" : "SOME CLAIMS FAILED");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    bool full = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--full") {
            full = true;
        } else {
            std::fprintf(stderr, "usage: %s [--full]\n", argv[0]);
            return 2;
        }
    }
    try {
        return full ? experiment<100>({50000, 500}) : experiment<30>({5000, 500});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "example_linear_regression: %s\n", e.what());
        return 1;
    }
}
