// Tests for optim/line_search.hpp: Armijo backtracking and strong Wolfe on 1-D functions (a
// quadratic, a cubic, a quartic, steps far too long or far too short, values that turn NaN or
// +inf, values whose differences are below rounding) and along directions of the shared n = 50
// quadratic and of Rosenbrock. At every accepted step the conditions are checked anew from a
// fresh evaluation of f, as are x_trial and g_trial; interpolation on exact quadratics and cubics
// lands on the minimiser; failures come back as statuses with reasons, bad options throw.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/gateaux.hpp>

#include "../support/problems.hpp"
#include <gateaux/optim/line_search.hpp>

namespace {

using namespace gateaux;
using namespace gateaux::testing;

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();

// A function of one variable with its derivative, searched from x = 0 along d = +1.
struct function_1d {
    const char* name;
    std::function<double(double)> f, df;
};

auto objective_of(const function_1d& fn) {
    return make_function_objective(1, [fn](const tensor& x, tensor& g) {
        g(0, 0) = fn.df(x(0, 0));
        return fn.f(x(0, 0));
    });
}

// One search from x along d; x_trial and g_trial as the search left them.
struct search_run {
    line_search_result r;
    param_set x, d, x_trial, g_trial;
    double phi0 = 0.0, dphi0 = 0.0;
};

template <class Search>
search_run run_search(const Search& ls, objective& f, const param_set& x, const param_set& d, double step0) {
    search_run s{{}, x, d, x.zeros_like(), x.zeros_like()};
    param_set g = x.zeros_like();
    s.phi0 = f.value_and_gradient(x, g);
    s.dphi0 = g.dot(d);
    s.r = ls.search(f, x, d, s.phi0, s.dphi0, step0, s.x_trial, s.g_trial);
    return s;
}

template <class Search>
search_run run_search(const Search& ls, const function_1d& fn, double step0) {
    auto f = objective_of(fn);
    return run_search(ls, f, param_set({tensor{{0.0}}}), param_set({tensor{{1.0}}}), step0);
}

bool same(const param_set& a, const param_set& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

// What an accepted step promises, checked from a fresh evaluation of f at x + α·d: x_trial is that
// point, g_trial its gradient, loss and slope are φ(α) and φ′(α); sufficient decrease with c1 (or,
// for an approximate acceptance, the approximate Wolfe conditions with tolerance eps); and, with
// c2 > 0, the strong curvature condition |φ′(α)| ≤ c2·|φ′(0)|.
void check_accepted(objective& f, const search_run& s, double c1, double c2, double eps = 0.0) {
    const line_search_result& r = s.r;
    INFO("α = " << r.step << ", " << r.evaluations << " evaluations, " << r.reason);
    REQUIRE(r.ok());
    CHECK(r.reason.empty());
    CHECK(r.step > 0.0);
    param_set at = s.x;
    at.axpy(r.step, s.d);
    param_set g = at.zeros_like();
    const double phi = f.value_and_gradient(at, g);
    CHECK(same(s.x_trial, at));
    CHECK(same(s.g_trial, g));
    CHECK(r.loss == phi);
    CHECK(r.slope == g.dot(s.d));
    if (r.approximate) {
        CHECK(eps > 0.0);
        CHECK(phi <= s.phi0 + eps * std::abs(s.phi0));
        CHECK(r.slope <= (2.0 * c1 - 1.0) * s.dphi0);
    } else {
        CHECK(phi <= s.phi0 + c1 * r.step * s.dphi0);
    }
    if (c2 > 0.0) CHECK(std::abs(r.slope) <= c2 * std::abs(s.dphi0));
}

// The 1-D test functions. Minimisers: quadratic 3, cubic 2 (φ′ = (x − 2)(x + 1)), quartic 2,
// far_too_long 1e-4 (curvature 2e6), pseudo_huber 1e-3, far_too_short 1000, nan_wall and inf_wall 1
// with no finite value beyond x = 1.5.
const std::vector<function_1d>& functions() {
    static const std::vector<function_1d> all{
        {"quadratic", [](double x) { return (x - 3) * (x - 3); }, [](double x) { return 2 * (x - 3); }},
        {"cubic", [](double x) { return x * x * x / 3 - x * x / 2 - 2 * x; }, [](double x) { return (x - 2) * (x + 1); }},
        {"quartic", [](double x) { return std::pow(x - 2, 4) + (x - 2) * (x - 2); },
         [](double x) { return 4 * std::pow(x - 2, 3) + 2 * (x - 2); }},
        {"far_too_long", [](double x) { return 1e6 * (x - 1e-4) * (x - 1e-4); }, [](double x) { return 2e6 * (x - 1e-4); }},
        {"pseudo_huber", [](double x) { return std::sqrt(1 + 1e6 * (x - 1e-3) * (x - 1e-3)); },
         [](double x) { return 1e6 * (x - 1e-3) / std::sqrt(1 + 1e6 * (x - 1e-3) * (x - 1e-3)); }},
        {"far_too_short", [](double x) { return (x - 1000) * (x - 1000); }, [](double x) { return 2 * (x - 1000); }},
        {"nan_wall", [](double x) { return x < 1.5 ? (x - 1) * (x - 1) : nan_v; },
         [](double x) { return x < 1.5 ? 2 * (x - 1) : nan_v; }},
        {"inf_wall", [](double x) { return x < 1.5 ? (x - 1) * (x - 1) : inf_v; },
         [](double x) { return x < 1.5 ? 2 * (x - 1) : inf_v; }},
    };
    return all;
}
const function_1d& named(const std::string& name) {
    for (const function_1d& fn : functions())
        if (fn.name == name) return fn;
    throw std::logic_error("no test function " + name);
}

}  // namespace

// ================================================================ conditions at the accepted step

TEST_CASE("armijo_backtracking: sufficient decrease at the first α₀ρᵏ that has it", "[optim][line_search][armijo]") {
    for (const function_1d& fn : functions())
        for (double step0 : {1e-3, 1.0, 1e3})
            for (const armijo_backtracking ls : {armijo_backtracking{}, armijo_backtracking{.c1 = 0.3, .shrink = 0.1}}) {
                INFO(fn.name << " from α₀ = " << step0 << ", c1 = " << ls.c1 << ", ρ = " << ls.shrink);
                auto f = objective_of(fn);
                const search_run s = run_search(ls, f, param_set({tensor{{0.0}}}), param_set({tensor{{1.0}}}), step0);
                check_accepted(f, s, ls.c1, 0.0);
                // α = α₀·ρᵏ with k = evaluations − 1, and the trial before it had no sufficient decrease.
                CHECK(s.r.step == Approx(step0 * std::pow(ls.shrink, double(s.r.evaluations - 1))).epsilon(1e-12));
                if (s.r.evaluations > 1) {
                    const double before = s.r.step / ls.shrink;
                    const double phi = fn.f(before);
                    CHECK(!(phi <= s.phi0 + ls.c1 * before * s.dphi0));
                }
            }
}

TEST_CASE("strong_wolfe: sufficient decrease and |φ′(α)| ≤ c2·|φ′(0)| at the accepted step", "[optim][line_search][wolfe]") {
    for (const function_1d& fn : functions())
        for (double step0 : {1e-3, 1.0, 1e3})
            for (const strong_wolfe ls : {strong_wolfe{}, strong_wolfe::for_cg(), strong_wolfe{.c1 = 0.3, .c2 = 0.4}}) {
                INFO(fn.name << " from α₀ = " << step0 << ", c1 = " << ls.c1 << ", c2 = " << ls.c2);
                auto f = objective_of(fn);
                const search_run s = run_search(ls, f, param_set({tensor{{0.0}}}), param_set({tensor{{1.0}}}), step0);
                check_accepted(f, s, ls.c1, ls.c2, ls.approximate_tolerance);
                CHECK(s.r.evaluations <= ls.max_trials);
            }
}

TEST_CASE("strong_wolfe: accepts α₀ in one evaluation when it already meets both conditions", "[optim][line_search][wolfe]") {
    // quadratic (x − 3)² from 0: φ′(α) = 2(α − 3), so |φ′(α)| ≤ 0.9·6 for α ∈ [0.3, 5.7].
    for (double step0 : {0.5, 1.0, 3.0, 5.0}) {
        const search_run s = run_search(strong_wolfe{}, named("quadratic"), step0);
        CHECK(s.r.ok());
        CHECK(s.r.evaluations == 1);
        CHECK(s.r.step == step0);
    }
}

TEST_CASE("strong_wolfe: interpolation lands on the minimiser of an exact quadratic or cubic", "[optim][line_search][wolfe]") {
    // One trial past the minimiser brackets it; the cubic through both ends (the quadratic is a
    // cubic too) is then φ itself, so the second trial is the minimiser and φ′ = 0 there (when it
    // lies in the inner 80 % of the bracket, where zoom takes the interpolant as it is).
    struct row {
        function_1d fn;
        double step0, minimiser;
    };
    for (const row& c : {row{named("quadratic"), 5.0, 3.0}, row{named("quadratic"), 20.0, 3.0}, row{named("cubic"), 4.0, 2.0},
                         row{named("cubic"), 2.5, 2.0}, row{named("far_too_long"), 5e-4, 1e-4}}) {
        INFO(c.fn.name << " from α₀ = " << c.step0);
        const search_run s = run_search(strong_wolfe::for_cg(), c.fn, c.step0);
        REQUIRE(s.r.ok());
        CHECK(s.r.evaluations == 2);
        CHECK(s.r.step == Approx(c.minimiser).epsilon(1e-10));
        CHECK(std::abs(s.r.slope) <= 1e-9 * std::abs(s.dphi0));
    }
}

TEST_CASE("a first step far too long: strong_wolfe interpolates down, Armijo halves", "[optim][line_search]") {
    // 1e6·(x − 1e-4)² from α₀ = 1, 1e4 times the minimiser: the interpolant, clamped into the inner
    // 80 % of the bracket, divides the step by up to 10 per trial; halving takes 14 trials.
    const search_run w = run_search(strong_wolfe{}, named("far_too_long"), 1.0);
    REQUIRE(w.r.ok());
    CHECK(w.r.evaluations <= 6);
    const search_run a = run_search(armijo_backtracking{}, named("far_too_long"), 1.0);
    REQUIRE(a.r.ok());
    CHECK(a.r.evaluations == 14);  // the first 2⁻ᵏ ≤ 2e-4·(1 − c1)
    std::printf("far too long (α₀ = 1e4·α*): strong_wolfe %zu evaluations, armijo_backtracking %zu\n", w.r.evaluations,
                a.r.evaluations);
}

TEST_CASE("strong_wolfe: a first step far too short is expanded until the bracket holds a minimiser",
          "[optim][line_search][wolfe]") {
    // (x − 1000)² from 0 with α₀ = 1e-3: the curvature condition needs α ≥ 100 (c2 = 0.9) or
    // α ∈ [900, 1100] (c2 = 0.1), so the search doubles α about 17 times before it can accept.
    for (const strong_wolfe ls : {strong_wolfe{}, strong_wolfe::for_cg(), strong_wolfe{.expand = 10.0}}) {
        INFO("c2 = " << ls.c2 << ", expand = " << ls.expand);
        auto f = objective_of(named("far_too_short"));
        const search_run s = run_search(ls, f, param_set({tensor{{0.0}}}), param_set({tensor{{1.0}}}), 1e-3);
        check_accepted(f, s, ls.c1, ls.c2);
        const double expansions = std::ceil(std::log(100.0 / 1e-3) / std::log(ls.expand));
        CHECK(double(s.r.evaluations) >= expansions);
    }
}

TEST_CASE("line searches back off from NaN and +inf beyond a wall", "[optim][line_search]") {
    // (x − 1)² for x < 1.5, non-finite beyond: from α₀ = 4 both searches halve (there is nothing
    // to interpolate through a non-finite end) to α = 1, the minimiser, in three evaluations.
    for (const function_1d& fn : {named("nan_wall"), named("inf_wall")}) {
        INFO(fn.name);
        auto f = objective_of(fn);
        const param_set x({tensor{{0.0}}}), d({tensor{{1.0}}});
        const armijo_backtracking a{};
        const search_run sa = run_search(a, f, x, d, 4.0);
        check_accepted(f, sa, a.c1, 0.0);
        const strong_wolfe w{};
        const search_run sw = run_search(w, f, x, d, 4.0);
        check_accepted(f, sw, w.c1, w.c2);
        for (const search_run* s : {&sa, &sw}) {
            CHECK(s->r.step == 1.0);
            CHECK(s->r.evaluations == 3);
        }
    }
}

TEST_CASE("strong_wolfe: values below rounding, slopes exact: the slopes decide", "[optim][line_search][wolfe]") {
    // φ = 1000 + 1e-14·(α − 0.4)² cannot be resolved next to 1000 (one ulp is 1.1e-13). Its
    // rounding error is modelled as +3e-13 on (0, 0.99) and −5e-13 from 0.99 on, so α = 1 looks
    // better than 0 and everything between looks worse, while φ′(1) > 0.9·|φ′(0)|. Comparing
    // values sends zoom towards α = 1 for ever; with the approximate rule the slopes bracket and
    // the secant of φ′ finds α = 0.4 in one more trial, accepted by the approximate conditions.
    const function_1d flat{"flat",
                           [](double x) {
                               return 1000.0 + 1e-14 * (x - 0.4) * (x - 0.4) + (x >= 0.99 ? -5e-13 : x > 0.0 ? 3e-13 : 0.0);
                           },
                           [](double x) { return 2e-14 * (x - 0.4); }};
    auto f = objective_of(flat);
    const param_set x({tensor{{0.0}}}), d({tensor{{1.0}}});
    const strong_wolfe ls{};
    const search_run s = run_search(ls, f, x, d, 1.0);
    check_accepted(f, s, ls.c1, ls.c2, ls.approximate_tolerance);
    CHECK(s.r.step == Approx(0.4).epsilon(1e-12));
    CHECK(s.r.evaluations == 2);
    CHECK(s.r.approximate);

    const search_run exact = run_search(strong_wolfe{.approximate_tolerance = 0.0}, f, x, d, 1.0);
    CHECK(exact.r.status == line_search_status::max_trials);
}

// ================================================================ n-D, through graph objectives

TEST_CASE("strong_wolfe on the n = 50 quadratic along −g: the exact step gᵀg / gᵀAg", "[optim][line_search][wolfe]") {
    for (std::uint64_t seed : {1, 2, 3}) {
        const quadratic_problem qp(seed);
        auto f = qp.objective();
        // Start somewhere other than 0, so that g is not just −b.
        rng gen(seed + 100);
        const param_set x({gaussian(1, quad::n, gen)});
        param_set g = x.zeros_like();
        f.value_and_gradient(x, g);
        param_set d = g;
        d.scale(-1.0);
        const tensor ga = xt::linalg::dot(g[0], qp.A);  // A symmetric: gᵀA = (Ag)ᵀ
        const double exact = g.dot(g) / xt::sum(ga * g[0])();
        for (double factor : {8.0, 1.5}) {  // first trial past the minimiser: one interpolation
            INFO("seed " << seed << ", α₀ = " << factor << "·α*");
            const search_run s = run_search(strong_wolfe::for_cg(), f, x, d, factor * exact);
            check_accepted(f, s, 1e-4, 0.1);
            CHECK(s.r.evaluations == 2);
            CHECK(s.r.step == Approx(exact).epsilon(1e-9));
        }
        for (double factor : {0.3, 0.01}) {  // before it: expansion, then one interpolation
            INFO("seed " << seed << ", α₀ = " << factor << "·α*");
            const search_run s = run_search(strong_wolfe::for_cg(), f, x, d, factor * exact);
            check_accepted(f, s, 1e-4, 0.1);
            const double doublings = std::ceil(std::log2(1.0 / factor));
            CHECK(double(s.r.evaluations) <= doublings + 2.0);
        }
    }
}

TEST_CASE("both searches on Rosenbrock along −g from scattered points", "[optim][line_search]") {
    auto f = rosenbrock_objective();
    rng gen(7);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    for (int k = 0; k < 12; ++k) {
        const param_set x = rosenbrock_start(u(gen), u(gen));
        param_set g = x.zeros_like();
        f.value_and_gradient(x, g);
        param_set d = g;
        d.scale(-1.0 / g.norm());  // unit length: α is the distance moved
        for (double step0 : {1e-4, 1.0}) {
            INFO("x = (" << x[0](0, 0) << ", " << x[1](0, 0) << "), α₀ = " << step0);
            const strong_wolfe w{};
            check_accepted(f, run_search(w, f, x, d, step0), w.c1, w.c2, w.approximate_tolerance);
            const strong_wolfe cg = strong_wolfe::for_cg();
            check_accepted(f, run_search(cg, f, x, d, step0), cg.c1, cg.c2, cg.approximate_tolerance);
            const armijo_backtracking a{};
            check_accepted(f, run_search(a, f, x, d, step0), a.c1, 0.0);
        }
    }
}

// ================================================================ statuses and reasons

TEST_CASE("not a descent direction: status not_descent, no evaluation, a reason", "[optim][line_search]") {
    // quadratic (x − 3)² from 0 along d = −1 (uphill), and from its minimiser (φ′(0) = 0).
    for (double x0 : {0.0, 3.0}) {
        auto f = objective_of(named("quadratic"));
        const param_set x({tensor{{x0}}}), d({tensor{{-1.0}}});
        for (int which = 0; which < 2; ++which) {
            const search_run s =
                which == 0 ? run_search(armijo_backtracking{}, f, x, d, 1.0) : run_search(strong_wolfe{}, f, x, d, 1.0);
            INFO(s.r.reason);
            CHECK(s.r.status == line_search_status::not_descent);
            CHECK(s.r.evaluations == 0);
            CHECK(s.r.reason.find(which == 0 ? "armijo_backtracking: " : "strong_wolfe: ") == 0);
            CHECK(s.r.reason.find("not a descent direction") != std::string::npos);
            CHECK(s.r.loss == s.phi0);
        }
    }
}

TEST_CASE("too few trials: status max_trials with the numbers in the reason", "[optim][line_search]") {
    const search_run a =
        run_search(armijo_backtracking{.max_trials = 3}, named("far_too_long"), 1.0);  // needs about 13 halvings
    INFO(a.r.reason);
    CHECK(a.r.status == line_search_status::max_trials);
    CHECK(a.r.evaluations == 3);
    CHECK(a.r.reason == "armijo_backtracking: no sufficient decrease in 3 trials (α from 1 down to 0.25)");

    const search_run w = run_search(strong_wolfe{.max_trials = 3}, named("far_too_short"), 1e-3);  // needs about 17 doublings
    INFO(w.r.reason);
    CHECK(w.r.status == line_search_status::max_trials);
    CHECK(w.r.evaluations == 3);
    CHECK(w.r.reason.find(
              "strong_wolfe: no step with sufficient decrease (c1 = 0.0001) and |φ′(α)| ≤ 0.9·|φ′(0)| in 3 evaluations") == 0);
}

TEST_CASE("only non-finite values: status non_finite, also at the start", "[optim][line_search]") {
    const function_1d nowhere{"nowhere", [](double x) { return x > 0 ? nan_v : x * x - x; },
                              [](double x) { return x > 0 ? nan_v : 2 * x - 1; }};
    for (int which = 0; which < 2; ++which) {
        const search_run s =
            which == 0 ? run_search(armijo_backtracking{}, nowhere, 1.0) : run_search(strong_wolfe{}, nowhere, 1.0);
        INFO(s.r.reason);
        CHECK(s.r.status == line_search_status::non_finite);
        CHECK(s.r.reason.find("every value non-finite") != std::string::npos);
    }
    const function_1d broken{"broken", [](double) { return nan_v; }, [](double) { return 1.0; }};
    for (int which = 0; which < 2; ++which) {
        const search_run s =
            which == 0 ? run_search(armijo_backtracking{}, broken, 1.0) : run_search(strong_wolfe{}, broken, 1.0);
        INFO(s.r.reason);
        CHECK(s.r.status == line_search_status::non_finite);
        CHECK(s.r.evaluations == 0);
        CHECK(s.r.reason.find("at the start") != std::string::npos);
    }
}

TEST_CASE("bad options are programming errors and throw gateaux::error", "[optim][line_search]") {
    auto f = objective_of(named("quadratic"));
    const param_set x({tensor{{0.0}}}), d({tensor{{1.0}}}), ascent({tensor{{-1.0}}});
    // Options are checked before anything else, even when d is not a descent direction.
    auto throws = [&](const auto& ls, double step0, const char* words) {
        for (const param_set* dir : {&d, &ascent}) {
            param_set xt = x.zeros_like(), gt = x.zeros_like();
            const double slope = dir == &d ? -6.0 : 6.0;
            CHECK_THROWS_AS(ls.search(f, x, *dir, 9.0, slope, step0, xt, gt), gateaux::error);
            CHECK_THROWS_WITH(ls.search(f, x, *dir, 9.0, slope, step0, xt, gt), Catch::Contains(words));
        }
    };
    struct armijo_row {
        armijo_backtracking ls;
        double step0;
        const char* words;
    };
    for (const armijo_row& c : {armijo_row{{.c1 = 0.0}, 1.0, "c1 must be in (0, 1)"},
                                armijo_row{{.c1 = 1.0}, 1.0, "c1 must be in (0, 1)"},
                                armijo_row{{.c1 = nan_v}, 1.0, "c1 must be in (0, 1)"},
                                armijo_row{{.shrink = 1.0}, 1.0, "shrink must be in (0, 1)"},
                                armijo_row{{.shrink = 0.0}, 1.0, "shrink must be in (0, 1)"},
                                armijo_row{{.max_trials = 0}, 1.0, "max_trials must be > 0"},
                                armijo_row{{}, 0.0, "the first step"},
                                armijo_row{{}, -1.0, "the first step"},
                                armijo_row{{}, nan_v, "the first step"}})
        throws(c.ls, c.step0, c.words);
    struct wolfe_row {
        strong_wolfe ls;
        double step0;
        const char* words;
    };
    const char* order = "requires 0 < c1 < c2 < 1";
    for (const wolfe_row& c : {wolfe_row{{.c1 = 0.5, .c2 = 0.5}, 1.0, order},
                               wolfe_row{{.c1 = 1e-4, .c2 = 1e-9}, 1.0, order},
                               wolfe_row{{.c1 = 0.0}, 1.0, order},
                               wolfe_row{{.c2 = 1.0}, 1.0, order},
                               wolfe_row{{.c2 = nan_v}, 1.0, order},
                               wolfe_row{{.max_trials = 0}, 1.0, "max_trials > 0"},
                               wolfe_row{{.expand = 1.0}, 1.0, "expand must be > 1"},
                               wolfe_row{{.max_step = 10.0}, 20.0, "the first step must be in (0, max_step]"},
                               wolfe_row{{}, 0.0, "the first step must be in (0, max_step]"},
                               wolfe_row{{.approximate_tolerance = -1e-12}, 1.0, "approximate_tolerance must be ≥ 0"}})
        throws(c.ls, c.step0, c.words);
    CHECK(f.counts.gradients == 0);
}
