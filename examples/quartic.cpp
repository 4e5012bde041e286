// A 2-D quartic, and the paths seven optimizers take across it:
//
//   loss(x, y) = Σᵢ₌₁⁴ cᵢ·x′ⁱ + Σᵢ₌₁⁴ dᵢ·y′ⁱ + 0.1·x′·y′,   x′ = 0.8x − 0.5,  y′ = 2y,
//   c = (0.05, 0.2, 1.0, 1), d = (0.02, 0.25, 0.95, 1), started from (−0.9, 0.4).
//
// The coefficients are fixed (c₄ = d₄ = 1, the others chosen in [0, 1]) so that the loss has two
// local minima, near (−0.16, 0.03) and (0.61, −0.23), with a saddle between them. The loss is
// built from the library's ops (scale, hadamard for the powers, +), so every optimizer gets its
// gradient, H·v and explicit Hessian from the same graph. Optimizers: gradient descent (step
// 0.02), Newton (naive_newton: explicit Hessian, |H| where indefinite, Armijo), damped Newton
// (Levenberg–Marquardt), trust region (|H|), BFGS, L-BFGS (m = 10) and diagonal Newton.
//
// Output, in --out DIR: one CSV per optimizer (iteration,x,y,loss,gradient_norm, starting at
// iteration 0), stationary.csv (x,y,loss,kind) and grid.dat (x y loss on a grid, blank lines
// between rows, for contours).
// scripts/plot_quartic DIR draws them with gnuplot as DIR/quartic.png.
//
// Claims (exit code 1 if one fails): the library's loss and gradient at the start equal the
// hand-written formulas to 1e-14; the stationary points found by an independent Newton solve of
// the hand-written gradient are two minima and a saddle; every optimizer ends with ‖g‖ ≤ 1e-8
// within 1e-6 of one of the two minima (which one is printed).
//
//   example_quartic            a 61×61 grid; writes to a temporary directory (ctest)
//   example_quartic --full     a 201×201 grid; writes to ./quartic-out/
//   --out DIR                  write there instead
// The trajectories are the same in both: the problem has two parameters and runs in milliseconds.
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/diagonal_newton.hpp>

using namespace gateaux;

namespace {

constexpr double c1 = 0.05, c2 = 0.2, c3 = 1.0;
constexpr double d1 = 0.02, d2 = 0.25, d3 = 0.95;

constexpr auto px = param<"x", 1, 1>;
constexpr auto py = param<"y", 1, 1>;
constexpr auto xs = scale<0.8>(px) - scale<0.5>(ones<1, 1>{});  // x′
constexpr auto ys = scale<2.0>(py);                             // y′
constexpr auto x2 = hadamard(xs, xs);
constexpr auto y2 = hadamard(ys, ys);
constexpr auto loss = scale<c1>(xs) + scale<c2>(x2) + scale<c3>(hadamard(x2, xs)) + hadamard(x2, x2) +  //
                      scale<d1>(ys) + scale<d2>(y2) + scale<d3>(hadamard(y2, ys)) + hadamard(y2, y2) +  //
                      scale<0.1>(hadamard(xs, ys));

const std::array<double, 2> start{-0.9, 0.4};

// The same function written out by hand: the oracle for the claims.
struct by_hand {
    double x, y;
    double t() const { return 0.8 * x - 0.5; }
    double s() const { return 2 * y; }
    double value() const {
        const double t_ = t(), s_ = s();
        return c1 * t_ + c2 * t_ * t_ + c3 * t_ * t_ * t_ + t_ * t_ * t_ * t_ + d1 * s_ + d2 * s_ * s_ + d3 * s_ * s_ * s_ +
               s_ * s_ * s_ * s_ + 0.1 * t_ * s_;
    }
    std::array<double, 2> gradient() const {
        const double t_ = t(), s_ = s();
        return {0.8 * (c1 + 2 * c2 * t_ + 3 * c3 * t_ * t_ + 4 * t_ * t_ * t_ + 0.1 * s_),
                2.0 * (d1 + 2 * d2 * s_ + 3 * d3 * s_ * s_ + 4 * s_ * s_ * s_ + 0.1 * t_)};
    }
    std::array<double, 3> hessian() const {  // h_xx, h_xy, h_yy
        const double t_ = t(), s_ = s();
        return {0.64 * (2 * c2 + 6 * c3 * t_ + 12 * t_ * t_), 0.8 * 2.0 * 0.1, 4.0 * (2 * d2 + 6 * d3 * s_ + 12 * s_ * s_)};
    }
};

struct stationary_point {
    double x, y, loss;
    const char* kind;
};

// Newton's method on the hand-written gradient from a grid of starts; distinct points only.
std::vector<stationary_point> stationary_points() {
    std::vector<stationary_point> found;
    for (int i = -15; i <= 15; ++i)
        for (int j = -10; j <= 10; ++j) {
            double x = i / 10.0, y = j / 10.0;
            for (int it = 0; it < 100 && std::abs(x) < 10 && std::abs(y) < 10; ++it) {
                const by_hand p{x, y};
                const auto g = p.gradient();
                const auto h = p.hessian();
                const double det = h[0] * h[2] - h[1] * h[1];
                if (det == 0.0) break;
                x -= (h[2] * g[0] - h[1] * g[1]) / det;
                y -= (h[0] * g[1] - h[1] * g[0]) / det;
            }
            const by_hand p{x, y};
            const auto g = p.gradient();
            if (!(std::hypot(g[0], g[1]) <= 1e-12)) continue;
            bool known = false;
            for (const auto& q : found) known |= std::hypot(q.x - x, q.y - y) < 1e-8;
            if (known) continue;
            const auto h = p.hessian();
            const double det = h[0] * h[2] - h[1] * h[1];
            found.push_back({x, y, p.value(), det < 0 ? "saddle" : h[0] > 0 ? "minimum" : "maximum"});
        }
    return found;
}

struct contender {
    std::string file;  // CSV name
    std::string label;
    std::function<std::unique_ptr<optimizer>()> make;
    std::size_t max_iterations;
};

}  // namespace

int main(int argc, char** argv) {
    bool full = false;
    std::string out;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--full") {
            full = true;
        } else if (a == "--out" && i + 1 < argc) {
            out = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--full] [--out DIR]\n", argv[0]);
            return 2;
        }
    }
    if (out.empty()) out = full ? "quartic-out" : (std::filesystem::temp_directory_path() / "gateaux-quartic").string();
    bool ok = true;
    auto claim = [&](bool holds, const std::string& text) {
        std::printf("  [%s] %s\n", holds ? "ok" : "FAILED", text.c_str());
        ok &= holds;
    };
    char buf[320];
    try {
        std::filesystem::create_directories(out);
        std::printf("quartic: loss(x, y) = sum_i c_i x'^i + sum_i d_i y'^i + 0.1 x'y', x' = 0.8x - 0.5, y' = 2y\n");
        std::printf("  c = (%g, %g, %g, 1), d = (%g, %g, %g, 1), start (%g, %g)\n", c1, c2, c3, d1, d2, d3, start[0], start[1]);
        std::printf("  as a graph: %s\n\n", to_string(loss).c_str());

        // The library's loss and gradient against the hand-written formulas at the start.
        constexpr auto w = wrt(px, py);
        auto f = make_objective(loss, w);
        auto x0 = zeros(w), g0 = zeros(w);
        x0[px](0, 0) = start[0], x0[py](0, 0) = start[1];
        const double l0 = f.value_and_gradient(x0, g0);
        const by_hand h0{start[0], start[1]};
        const double err_l = std::abs(l0 - h0.value()) / std::abs(h0.value());
        const double err_g = std::hypot(g0[px](0, 0) - h0.gradient()[0], g0[py](0, 0) - h0.gradient()[1]) /
                             std::hypot(h0.gradient()[0], h0.gradient()[1]);
        std::printf("stationary points (Newton on the hand-written gradient):\n");
        const auto points = stationary_points();
        std::vector<stationary_point> minima;
        std::size_t saddles = 0;
        for (const auto& p : points) {
            std::printf("  (%9.6f, %9.6f)  loss %10.6f  %s\n", p.x, p.y, p.loss, p.kind);
            if (std::string(p.kind) == "minimum") minima.push_back(p);
            saddles += std::string(p.kind) == "saddle";
        }

        // The optimizers.
        std::vector<contender> runs = {
            {"gradient_descent", "gradient descent (0.02)", [] { return std::make_unique<gradient_descent>(0.02); }, 20000},
            {"newton", "Newton (naive, |H|)", [] { return std::make_unique<naive_newton>(); }, 200},
            {"damped_newton", "damped Newton (LM)", [] { return std::make_unique<damped_newton>(); }, 200},
            {"trust_region", "trust region (|H|)", [] { return std::make_unique<trust_region>(); }, 200},
            {"bfgs", "BFGS", [] { return std::make_unique<bfgs>(); }, 200},
            {"lbfgs", "L-BFGS (m = 10)", [] { return std::make_unique<lbfgs>(); }, 200},
            {"diagonal_newton", "diagonal Newton", [] { return std::make_unique<diagonal_newton>(); }, 2000},
        };
        std::printf("\n%-24s %10s %8s %12s %12s %14s %10s  %s\n", "optimizer", "iterations", "evals", "x", "y", "loss", "|g|",
                    "ends at");
        std::vector<std::string> verdicts;
        for (const contender& c : runs) {
            auto opt = c.make();
            auto fc = make_objective(loss, w);
            auto x = x0;
            std::ofstream csv(std::filesystem::path(out) / (c.file + ".csv"));
            if (!csv) throw error("cannot write " + out + "/" + c.file + ".csv");
            csv.precision(17);
            csv << "iteration,x,y,loss,gradient_norm\n";
            stopping stop;
            stop.max_iterations = c.max_iterations;
            stop.gradient_tolerance = 1e-10;
            std::size_t written = 0;
            auto row = [&](std::size_t it, double l, double gn) {  // at the iterate x
                csv << it << ',' << x[px](0, 0) << ',' << x[py](0, 0) << ',' << l << ',' << gn << '\n';
                written = it;
            };
            row(0, l0, g0.norm());
            const result r = minimize(fc, x, *opt, stop, [&](const iteration_record& rec, const param_set&) {
                row(rec.iteration, rec.loss, rec.gradient_norm);
                return true;
            });
            // The callback does not run for the iteration at which a stopping rule ends the run.
            if (written < r.history.back().iteration) row(r.history.back().iteration, r.final_loss, r.gradient_norm);
            std::string where = "no minimum";
            for (const auto& m : minima)
                if (std::hypot(x[px](0, 0) - m.x, x[py](0, 0) - m.y) <= 1e-6) {
                    std::snprintf(buf, sizeof buf, "the minimum at (%.3f, %.3f)", m.x, m.y);
                    where = buf;
                }
            std::printf("%-24s %10zu %8zu %12.8f %12.8f %14.10f %10.2e  %s (%s)\n", c.label.c_str(), r.iterations,
                        r.counts.total(), x[px](0, 0), x[py](0, 0), r.final_loss, r.gradient_norm, where.c_str(),
                        to_string(r.reason));
            std::snprintf(buf, sizeof buf, "%s: |g| = %.1e <= 1e-8, at %s", c.label.c_str(), r.gradient_norm, where.c_str());
            verdicts.push_back((r.gradient_norm <= 1e-8 && where != "no minimum" ? "" : "!") + std::string(buf));
        }

        // The contour grid, from the library's loss.
        const std::size_t n = full ? 201 : 61;
        auto value = compile(loss);
        tensor gx = tensor::from_shape({1, 1}), gy = tensor::from_shape({1, 1});
        value.bind(px, gx).bind(py, gy);
        std::ofstream grid(std::filesystem::path(out) / "grid.dat");
        if (!grid) throw error("cannot write " + out + "/grid.dat");
        grid << "# x y loss\n";
        grid.precision(10);
        for (std::size_t i = 0; i < n; ++i) {
            gx(0, 0) = -1.2 + 2.4 * double(i) / double(n - 1);
            for (std::size_t j = 0; j < n; ++j) {
                gy(0, 0) = -0.6 + 1.2 * double(j) / double(n - 1);
                value.run();
                grid << gx(0, 0) << ' ' << gy(0, 0) << ' ' << value.scalar(loss) << '\n';
            }
            grid << '\n';
        }
        std::ofstream sp(std::filesystem::path(out) / "stationary.csv");
        sp << "x,y,loss,kind\n";
        sp.precision(17);
        for (const auto& p : points) sp << p.x << ',' << p.y << ',' << p.loss << ',' << p.kind << '\n';
        std::printf("\nwrote %s/{%s, ...}.csv, stationary.csv and grid.dat (%zux%zu); plot: scripts/plot_quartic %s\n",
                    out.c_str(), runs.front().file.c_str(), n, n, out.c_str());

        std::printf("\nclaims:\n");
        std::snprintf(buf, sizeof buf, "loss and gradient at the start equal the hand-written ones (relative %.1e, %.1e <= 1e-14)",
                      err_l, err_g);
        claim(err_l <= 1e-14 && err_g <= 1e-14, buf);
        std::snprintf(buf, sizeof buf, "two minima and a saddle between them (minima: %zu, saddles: %zu, stationary points: %zu)",
                      minima.size(), saddles, points.size());
        claim(minima.size() == 2 && saddles == 1 && points.size() == 3, buf);
        for (const std::string& v : verdicts) claim(v[0] != '!', v[0] == '!' ? v.substr(1) : v);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "example_quartic: %s\n", e.what());
        return 1;
    }
    std::printf("%s\n", ok ? "all claims hold" : "SOME CLAIMS FAILED");
    return ok ? 0 : 1;
}
