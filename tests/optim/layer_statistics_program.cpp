// Tests of the layer_statistics capability of a graph objective
// (include/gateaux/optim/layer_statistics_program.hpp, capabilities.hpp): on the rows the
// curvature sees (full batch, minibatch, curvature sample) the statistics
//   - equal the program's layer_inputs, layer_deltas (data and drawn targets) and
//     output_curvature_factors on those rows (symbolic/layer_statistics.hpp, fisher.hpp);
//   - give the gradient, G_W = hᵀ·δ and G_b = 1ᵀ·δ, against the objective's (1e-12);
//   - rebuild F·v as (c/g)·Σ_b (per-sample h̄_b ⊗ δ_b)(…)ᵀ·v, the capability's stated identity,
//     against the objective's fisher_vector, empirical and sampled (the same draw);
//   - give, through the output factors, Σ_b J_bᵀ·F_b·F_bᵀ·J_b·v = Gauss–Newton·v, with J_bᵀ·f
//     from per-sample gradients at targets chosen so that ∂ℓ_b/∂o = f (fisher_networks.hpp);
// and name each parameter's role and the other parameter of its layer.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "fisher_networks.hpp"

namespace {

using namespace gateaux;
using namespace fisher_networks;

struct setting {
    std::size_t rows, minibatch, sample;
};
const std::vector<setting> settings = {{1, 0, 0}, {5, 0, 0}, {9, 0, 0}, {12, 6, 0}, {12, 0, 4}, {12, 6, 3}};

// Runs `check(f, pr, st)` for each setting and seed on an objective of net (x, y, loss, w).
template <class Loss, class... P, class XL, class YL, class Check>
void each(Loss loss, params<P...> w, XL xl, YL yl, bool classes, Check check) {
    for (const setting& s : settings)
        for (const std::uint64_t seed : {1, 2}) {
            INFO("rows " << s.rows << ", minibatch " << s.minibatch << ", sample " << s.sample << ", seed " << seed);
            const problem pr(loss, w, s.rows, std::size_t(XL::cols), std::size_t(YL::cols), classes, seed);
            auto f = make_objective(loss, w);
            f.set_data(xl, pr.X).set_data(yl, pr.Y).use_fisher(fisher_estimate::sampled, seed + 3);
            if (s.minibatch != 0) f.use_minibatches(s.minibatch, seed);
            if (s.sample != 0) f.use_curvature_sample(s.sample, seed + 1);
            for (std::size_t round = 0; round < 2; ++round) {
                layer_statistics::result st;
                f.statistics(pr.theta, {.sampled_deltas = true, .output_factors = true}, st);
                const std::size_t batch = s.minibatch == 0 ? s.rows : std::min(s.minibatch, s.rows);
                CHECK(st.rows == (s.sample == 0 ? batch : std::min(s.sample, batch)));
                check(f, pr, st, s);
                f.resample_curvature();
                if (s.minibatch != 0) f.next_batch();
            }
        }
}

template <class Loss, class... P, class XL, class YL>
void check_against_program(Loss loss, params<P...> w, XL xl, YL yl, bool classes) {
    each(loss, w, xl, yl, classes, [&](auto& f, const auto& pr, const layer_statistics::result& st, const setting&) {
        using roles = detail::layer_roles<Loss, P...>;
        constexpr auto inputs = layer_inputs(loss, typename roles::weights{});
        constexpr auto deltas = layer_deltas(loss, w);
        constexpr auto sampled = layer_deltas(with_sampled_targets(loss), w);
        auto prog = compile(loss, inputs, deltas, sampled, output_curvature_factors(loss));
        prog.bind(xl, f.curvature_data(xl)).bind(yl, f.curvature_data(yl)).bind(sampled_target(yl), f.sampled_targets());
        bind_all(prog, w, pr.theta);
        prog.run();
        std::size_t i = 0;
        auto one = [&]<class Q>(Q) {
            const layer_statistics::block& b = st.blocks[i++];
            if constexpr (roles::template is_weight<Q>) {
                CHECK(b.kind == layer_statistics::role::weight);
                CHECK(rel_error(b.input, prog[inputs.of(Q{})]) <= 1e-12);
            } else {
                CHECK(b.kind == layer_statistics::role::bias);
                CHECK(b.input.size() == 0);
            }
            CHECK(rel_error(b.delta, prog[deltas.of(Q{})]) <= 1e-12);
            CHECK(rel_error(b.sampled_delta, prog[sampled.of(Q{})]) <= 1e-12);
        };
        (one(P{}), ...);
        CHECK(rel_error(st.output_factors, prog[output_curvature_factors(loss)]) <= 1e-12);
    });
}

TEST_CASE("layer statistics: equal the program's layer_inputs, layer_deltas and output factors on the curvature rows",
          "[optim][layer_statistics]") {
    check_against_program(reg::loss, reg::w, reg::x, reg::y, reg::classes);
    check_against_program(cls::loss, cls::w, cls::x, cls::y, cls::classes);
    check_against_program(part::loss, part::w, part::x, part::y, part::classes);
}

// G = hᵀ·δ (weights), 1ᵀ·δ (biases), block by block.
param_set gradient_from(const layer_statistics::result& st) {
    std::vector<tensor> g;
    for (const layer_statistics::block& b : st.blocks) {
        const std::size_t n = b.delta.shape(1);
        if (b.kind == layer_statistics::role::weight) {
            tensor t = xt::zeros<double>({b.input.shape(1), n});
            for (std::size_t r = 0; r < st.rows; ++r)
                for (std::size_t i = 0; i < t.shape(0); ++i)
                    for (std::size_t j = 0; j < n; ++j) t(i, j) += b.input(r, i) * b.delta(r, j);
            g.push_back(t);
        } else {
            tensor t = xt::zeros<double>({std::size_t(1), n});
            for (std::size_t r = 0; r < st.rows; ++r)
                for (std::size_t j = 0; j < n; ++j) t(0, j) += b.delta(r, j);
            g.push_back(t);
        }
    }
    return param_set(g);
}

template <class Loss, class... P, class XL, class YL>
void check_gradient(Loss loss, params<P...> w, XL xl, YL yl, bool classes) {
    each(loss, w, xl, yl, classes, [&](auto& f, const auto& pr, const layer_statistics::result& st, const setting& s) {
        const std::vector<double> from_deltas = flatten(gradient_from(st));
        CHECK(rel_error(from_deltas, flatten(st.gradient)) <= 1e-12);
        CHECK(st.sample_weight == (detail::sums_rows<Loss> ? 1.0 : 1.0 / double(st.rows)));
        CHECK(st.curvature_scale == f.curvature_scale());
        if (s.sample == 0) {  // the rows of value_and_gradient: the objective's own gradient
            param_set g;
            const double l = f.value_and_gradient(pr.theta, g);
            CHECK(rel_error(from_deltas, flatten(g)) <= 1e-12);
            CHECK(st.loss == Approx(l).epsilon(1e-14));
        }
    });
}

TEST_CASE("layer statistics: G_W = hᵀ·δ and G_b = 1ᵀ·δ, the objective's gradient where the rows are its own",
          "[optim][layer_statistics]") {
    check_gradient(reg::loss, reg::w, reg::x, reg::y, reg::classes);
    check_gradient(cls::loss, cls::w, cls::x, cls::y, cls::classes);
    check_gradient(part::loss, part::w, part::x, part::y, part::classes);
}

// (c/g)·Σ_b ∇ℓ_b·(∇ℓ_bᵀ·v) with the per-sample gradients of the statistics: h_b·δ_bᵀ/g for a
// weight, δ_b/g for a bias.
std::vector<double> fisher_from(const layer_statistics::result& st, const param_set& v, bool sampled) {
    std::vector<double> out;
    for (const tensor& t : v) out.resize(out.size() + t.size(), 0.0);
    for (std::size_t r = 0; r < st.rows; ++r) {
        std::vector<double> gb;
        for (const layer_statistics::block& b : st.blocks) {
            const tensor& d = sampled ? b.sampled_delta : b.delta;
            const std::size_t n = d.shape(1);
            if (b.kind == layer_statistics::role::weight) {
                for (std::size_t i = 0; i < b.input.shape(1); ++i)
                    for (std::size_t j = 0; j < n; ++j) gb.push_back(b.input(r, i) * d(r, j));
            } else {
                for (std::size_t j = 0; j < n; ++j) gb.push_back(d(r, j));
            }
        }
        const double a = st.curvature_scale / st.sample_weight * dot(gb, flatten(v));
        for (std::size_t i = 0; i < out.size(); ++i) out[i] += a * gb[i];
    }
    return out;
}

template <class Loss, class... P, class XL, class YL>
void check_fisher(Loss loss, params<P...> w, XL xl, YL yl, bool classes) {
    each(loss, w, xl, yl, classes, [&](auto& f, const auto& pr, const layer_statistics::result& st, const setting&) {
        for (const fisher_estimate e : {fisher_estimate::empirical, fisher_estimate::sampled}) {
            f.use_fisher(e, 0);  // a new seed forgets the draw: draw it again for both below
            layer_statistics::result again;
            f.statistics(pr.theta, {.sampled_deltas = true, .output_factors = false}, again);
            param_set fv;
            f.fisher_vector(pr.theta, pr.v, fv);
            CHECK(rel_error(fisher_from(again, pr.v, e == fisher_estimate::sampled), flatten(fv)) <= 1e-12);
        }
        (void)st;
    });
}

TEST_CASE("layer statistics: (c/g)·Σ_b (h̄_b ⊗ δ_b)(h̄_b ⊗ δ_b)ᵀ is the objective's Fisher, empirical and sampled",
          "[optim][layer_statistics][fisher]") {
    check_fisher(reg::loss, reg::w, reg::x, reg::y, reg::classes);
    check_fisher(cls::loss, cls::w, cls::x, cls::y, cls::classes);
    check_fisher(part::loss, part::w, part::x, part::y, part::classes);
}

// c·Σ_b Σ_j J_bᵀf_bj·(J_bᵀf_bj)ᵀ·v for the columns f_bj of F_b, with J_bᵀ·f = ∇ℓ_b at the target t
// for which ∂ℓ_b/∂o = f: t = o_b − f (squared error), t = p_b − f (cross-entropy: Σt = 1 as f sums to 0).
template <class Loss, class... P, class XL, class YL>
void check_factors(Loss loss, params<P...> w, XL xl, YL yl, bool classes) {
    each(loss, w, xl, yl, classes, [&](auto& f, const auto& pr, const layer_statistics::result& st, const setting&) {
        const tensor& X = f.curvature_data(xl);
        auto forward = compile(output_of(loss));
        forward.bind(xl, X);
        bind_all(forward, w, pr.theta);
        forward.run();
        const tensor& o = forward[output_of(loss)];
        const std::size_t B = X.shape(0), n = o.shape(1);
        std::vector<double> gn_ref(pr.v.count(), 0.0);
        const std::vector<double> vf = flatten(pr.v);
        for (std::size_t j = 0; j < n; ++j) {
            tensor T = tensor::from_shape({B, n});
            for (std::size_t b = 0; b < B; ++b) {
                double m = o(b, 0), z = 0.0;
                for (std::size_t i = 0; i < n; ++i) m = std::max(m, o(b, i));
                for (std::size_t i = 0; i < n; ++i) z += std::exp(o(b, i) - m);
                for (std::size_t i = 0; i < n; ++i) {
                    const double fij = st.output_factors(b * n + i, j);
                    T(b, i) = (classes ? std::exp(o(b, i) - m) / z : o(b, i)) - fij;
                }
            }
            const auto grads = per_sample_gradients(loss, w, xl, yl, X, T, pr.theta);
            for (std::size_t b = 0; b < B; ++b) {
                const double a = st.curvature_scale * dot(grads[b], vf);
                for (std::size_t i = 0; i < gn_ref.size(); ++i) gn_ref[i] += a * grads[b][i];
            }
        }
        param_set gn;
        f.gauss_newton_vector(pr.theta, pr.v, gn);
        CHECK(rel_error(flatten(gn), gn_ref) <= 1e-12);
    });
}

TEST_CASE("layer statistics: the output factors give Σ_b J_bᵀ·F_b·F_bᵀ·J_b·v = Gauss–Newton·v", "[optim][layer_statistics]") {
    check_factors(reg::loss, reg::w, reg::x, reg::y, reg::classes);
    check_factors(cls::loss, cls::w, cls::x, cls::y, cls::classes);
}

TEST_CASE("layer statistics: roles, the other parameter of each layer, and storage kept between calls",
          "[optim][layer_statistics]") {
    constexpr std::size_t none = layer_statistics::none;
    const problem pr(reg::loss, reg::w, 6, 3, 2, false, 1);
    auto f = make_objective(reg::loss, reg::w);  // W1, b1, W2, b2
    f.set_data(reg::x, pr.X).set_data(reg::y, pr.Y);
    layer_statistics::result st;
    f.statistics(pr.theta, {.sampled_deltas = true, .output_factors = true}, st);
    REQUIRE(st.blocks.size() == 4);
    CHECK(st.blocks[0].kind == layer_statistics::role::weight);
    CHECK(st.blocks[1].kind == layer_statistics::role::bias);
    CHECK(st.blocks[0].partner == 1);
    CHECK(st.blocks[1].partner == 0);
    CHECK(st.blocks[2].partner == 3);
    CHECK(st.blocks[3].partner == 2);
    CHECK(f.counts.layer_statistics == 1);
    // The same shapes: the same storage, filled again (no allocation in the steady state).
    std::vector<const double*> where;
    for (const auto& b : st.blocks) where.insert(where.end(), {b.input.data(), b.delta.data(), b.sampled_delta.data()});
    where.push_back(st.output_factors.data());
    param_set moved = pr.theta;
    moved[0](0, 0) += 0.5;
    f.statistics(moved, {.sampled_deltas = true, .output_factors = true}, st);
    std::vector<const double*> again;
    for (const auto& b : st.blocks) again.insert(again.end(), {b.input.data(), b.delta.data(), b.sampled_delta.data()});
    again.push_back(st.output_factors.data());
    CHECK(where == again);

    const problem pp(part::loss, part::w, 6, 3, 2, false, 1);
    auto h = make_objective(part::loss, part::w);  // b2, W1, W2: W1 has no bias
    h.set_data(part::x, pp.X).set_data(part::y, pp.Y);
    h.statistics(pp.theta, {}, st);
    REQUIRE(st.blocks.size() == 3);
    CHECK(st.blocks[0].kind == layer_statistics::role::bias);
    CHECK(st.blocks[0].partner == 2);
    CHECK(st.blocks[1].kind == layer_statistics::role::weight);
    CHECK(st.blocks[1].partner == none);
    CHECK(st.blocks[2].partner == 0);
    CHECK(h.counts.target_draws == 0);  // no sampled deltas asked for: nothing drawn
}

}  // namespace
