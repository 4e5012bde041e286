// Tests of the Fisher products of include/gateaux/optim/objective.hpp (fisher_products,
// graph_objective::use_fisher): F·v through the objective against
//   - the program's own fvp (symbolic/fisher.hpp) on the rows the objective says its curvature
//     sees (curvature_data), with the data's targets or the objective's drawn ones (sampled_targets);
//   - an independent reference, c·Σ_b g·∇ℓ_b·∇ℓ_bᵀ·v from per-sample gradients of grad on one-row
//     batches (tests/optim/fisher_networks.hpp),
// on full batches, minibatches and curvature samples, for a summed squared error (scale rows/k
// on a sample), a mean cross-entropy and a network with a layer without bias. Tolerance 1e-12.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "fisher_networks.hpp"

namespace {

using namespace gateaux;
using namespace fisher_networks;

struct setting {
    std::size_t rows, minibatch, sample;  // 0: none
    fisher_estimate estimate;
};

// Whether each row of a is a row of b.
bool rows_within(const tensor& a, const tensor& b) {
    for (std::size_t i = 0; i < a.shape(0); ++i) {
        bool found = false;
        for (std::size_t j = 0; j < b.shape(0) && !found; ++j)
            found = std::equal(a.data() + i * a.shape(1), a.data() + (i + 1) * a.shape(1), b.data() + j * b.shape(1));
        if (!found) return false;
    }
    return true;
}

template <class Loss, class... P, class XL, class YL>
void check(Loss loss, params<P...> w, XL xl, YL yl, bool classes, bool sums, const setting& s, std::uint64_t seed) {
    const problem pr(loss, w, s.rows, std::size_t(XL::cols), std::size_t(YL::cols), classes, seed);
    auto f = make_objective(loss, w);
    f.set_data(xl, pr.X).set_data(yl, pr.Y).use_fisher(s.estimate, seed + 17);
    if (s.minibatch != 0) f.use_minibatches(s.minibatch, seed + 1);
    if (s.sample != 0) f.use_curvature_sample(s.sample, seed + 2);
    const bool sampled = s.estimate == fisher_estimate::sampled;
    auto empirical_prog = compile(fvp(loss, w));
    auto sampled_prog = compile(fvp(with_sampled_targets(loss), w));
    const std::size_t batch = s.minibatch == 0 ? s.rows : std::min(s.minibatch, s.rows);
    const std::size_t k = s.sample == 0 ? batch : std::min(s.sample, batch);
    const double c = sums && s.sample != 0 ? double(batch) / double(k) : 1.0, g = sums ? 1.0 : 1.0 / double(k);
    for (std::size_t round = 0; round < 3; ++round) {
        INFO("round " << round);
        param_set out;
        f.fisher_vector(pr.theta, pr.v, out);
        CHECK(f.counts.fisher_vectors == round + 1);
        const tensor& Xc = f.curvature_data(xl);
        const tensor& Yc = f.curvature_data(yl);
        const tensor& T = sampled ? f.sampled_targets() : Yc;
        REQUIRE(Xc.shape(0) == k);
        REQUIRE(T.shape(0) == k);
        CHECK(rows_within(Xc, pr.X));
        CHECK(f.curvature_scale() == c);
        const std::vector<double> got = flatten(out);
        // The independent reference.
        const std::vector<double> ref = fisher_reference(per_sample_gradients(loss, w, xl, yl, Xc, T, pr.theta), flatten(pr.v), g, c);
        CHECK(rel_error(got, ref) <= 1e-12);
        // The program's fvp on the same rows and targets, times the objective's scale.
        std::vector<double> prog_out;
        auto collect = [&](auto& prog, auto group) {
            bind_all(prog, w, pr.theta);
            std::size_t i = 0;
            (prog.bind(direction(P{}), pr.v[i++]), ...);
            prog.run();
            ((prog_out.insert(prog_out.end(), prog[group.of(P{})].begin(), prog[group.of(P{})].end())), ...);
            for (double& u : prog_out) u *= c;
        };
        if (sampled) {
            sampled_prog.bind(xl, Xc).bind(sampled_target(yl), T);
            collect(sampled_prog, fvp(with_sampled_targets(loss), w));
        } else {
            empirical_prog.bind(xl, Xc).bind(yl, Yc);
            collect(empirical_prog, fvp(loss, w));
        }
        CHECK(rel_error(got, prog_out) <= 1e-12);
        f.resample_curvature();
        if (s.minibatch != 0) f.next_batch();
    }
    if (!sampled) CHECK(f.counts.target_draws == 0);
}

const std::vector<setting> full_batches = {
    {1, 0, 0, fisher_estimate::empirical}, {4, 0, 0, fisher_estimate::empirical}, {9, 0, 0, fisher_estimate::empirical},
    {1, 0, 0, fisher_estimate::sampled},   {4, 0, 0, fisher_estimate::sampled},   {9, 0, 0, fisher_estimate::sampled},
};
const std::vector<setting> row_subsets = {
    {12, 5, 0, fisher_estimate::empirical}, {12, 0, 4, fisher_estimate::empirical}, {12, 6, 3, fisher_estimate::empirical},
    {12, 5, 0, fisher_estimate::sampled},   {12, 0, 4, fisher_estimate::sampled},   {12, 6, 3, fisher_estimate::sampled},
};

template <class Run>
void each(const std::vector<setting>& settings, Run run) {
    for (const setting& s : settings)
        for (const std::uint64_t seed : {1, 2}) {
            INFO("rows " << s.rows << ", minibatch " << s.minibatch << ", sample " << s.sample << ", "
                         << (s.estimate == fisher_estimate::sampled ? "sampled" : "empirical") << ", seed " << seed);
            run(s, seed);
        }
}

TEST_CASE("objective fisher: F·v on a full batch equals the program's fvp and Σ_b g·∇ℓ_b∇ℓ_bᵀ·v",
          "[optim][objective][fisher]") {
    each(full_batches, [](const setting& s, std::uint64_t seed) {
        check(reg::loss, reg::w, reg::x, reg::y, reg::classes, true, s, seed);
        check(cls::loss, cls::w, cls::x, cls::y, cls::classes, false, s, seed);
        check(part::loss, part::w, part::x, part::y, part::classes, false, s, seed);
    });
}

TEST_CASE("objective fisher: on minibatches and curvature samples, the rows curvature_data names and the scale rows/k",
          "[optim][objective][fisher]") {
    each(row_subsets, [](const setting& s, std::uint64_t seed) {
        check(reg::loss, reg::w, reg::x, reg::y, reg::classes, true, s, seed);
        check(cls::loss, cls::w, cls::x, cls::y, cls::classes, false, s, seed);
    });
}

TEST_CASE("objective fisher: the empirical estimate is the default; use_fisher switches", "[optim][objective][fisher]") {
    const problem pr(reg::loss, reg::w, 6, 3, 2, false, 5);
    auto f = make_objective(reg::loss, reg::w);
    f.set_data(reg::x, pr.X).set_data(reg::y, pr.Y);
    CHECK(f.fisher() == fisher_estimate::empirical);
    param_set a, b;
    f.fisher_vector(pr.theta, pr.v, a);
    CHECK(f.counts.target_draws == 0);
    f.use_fisher(fisher_estimate::sampled, 3);
    CHECK(f.fisher() == fisher_estimate::sampled);
    f.fisher_vector(pr.theta, pr.v, b);
    CHECK(f.counts.target_draws == 1);
    CHECK(flatten(a) != flatten(b));
    f.use_fisher(fisher_estimate::empirical);
    f.fisher_vector(pr.theta, pr.v, b);
    CHECK(flatten(a) == flatten(b));
}

TEST_CASE("objective fisher: without the target's data the Fisher names it", "[optim][objective][fisher]") {
    const problem pr(reg::loss, reg::w, 4, 3, 2, false, 6);
    auto f = make_objective(reg::loss, reg::w);
    f.set_data(reg::x, pr.X);
    param_set out;
    CHECK_THROWS_WITH(f.fisher_vector(pr.theta, pr.v, out), Catch::Contains("set_data(y, ...)"));
}

}  // namespace
