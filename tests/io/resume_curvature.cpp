// Optimizers that keep curvature between steps (K-FAC, Shampoo, Adagrad, AdaHessian, natural
// gradient, and K-FAC as Hessian-free's preconditioner) resume from a checkpoint with
// bit-identical iterates, history and counts: on full batches, minibatches and curvature samples
// with sampled targets, interrupted at a random iteration with enough iterations left to cross
// their refresh intervals (factor inverses, roots, Hessian estimates, γ's comparisons). A
// checkpoint whose blocks are preconditioned otherwise is refused, and K-FAC's preconditioner
// carries its factors over a save and load.
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <gateaux/gateaux.hpp>
#include <gateaux/optim/minimize.hpp>

#include "io/resume_support.hpp"
#include "optim/fisher_networks.hpp"

using namespace gateaux;
using namespace resume_support;
namespace fs = std::filesystem;

namespace {

// The two-layer classifier of the Fisher tests, and a softmax regression (one layer whose net is
// the loss's output: where the exact estimates are available), on the same data.
struct two_layers {
    static constexpr auto x = fisher_networks::cls::x;
    static constexpr auto y = fisher_networks::cls::y;
    static constexpr auto loss = fisher_networks::cls::loss;
    static constexpr auto w = fisher_networks::cls::w;
    static param_set start(fisher_networks::rng& g) {
        return param_set({fisher_networks::gaussian(4, 6, g, 0.5), fisher_networks::gaussian(1, 6, g, 0.1),
                          fisher_networks::gaussian(6, 3, g, 0.5), fisher_networks::gaussian(1, 3, g, 0.1)});
    }
};

namespace one {
constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W = param<"W", 4, 3>;
constexpr auto b = bias<"b", 3>;
constexpr auto loss = mean(cross_entropy(x * W + b, y));
constexpr auto w = wrt(W, b);
}  // namespace one

struct one_layer {
    static constexpr auto x = one::x;
    static constexpr auto y = one::y;
    static constexpr auto loss = one::loss;
    static constexpr auto w = one::w;
    static param_set start(fisher_networks::rng& g) {
        return param_set({fisher_networks::gaussian(4, 3, g, 0.5), fisher_networks::gaussian(1, 3, g, 0.1)});
    }
};

enum class rows_mode { full, minibatch, curvature_sample };

struct setup {
    tensor X, Y;
    param_set x0;
    template <class Net>
    setup(Net, std::uint64_t seed, std::size_t rows = 40) {
        fisher_networks::rng g(seed);
        X = fisher_networks::gaussian(rows, 4, g);
        Y = fisher_networks::one_hot(rows, 3, g);
        x0 = Net::start(g);
    }
};

template <class Net>
auto make(const setup& s, rows_mode mode, std::uint64_t seed) {
    auto f = make_objective(Net::loss, Net::w);
    f.set_data(Net::x, s.X).set_data(Net::y, s.Y);
    if (mode == rows_mode::minibatch) f.use_minibatches(16, seed);
    if (mode == rows_mode::curvature_sample) f.use_curvature_sample(16, seed).use_fisher(fisher_estimate::sampled, seed + 1);
    return f;
}

// An optimizer for a run on the setup's data (the given Gauss–Newton factor binds to it).
using factory = std::function<std::unique_ptr<optimizer>(const setup&)>;

template <class Net>
trace run(const setup& s, rows_mode mode, std::uint64_t seed, const factory& make_opt, std::size_t iterations,
          const std::string& dir = "", param_set start = {}) {
    auto f = make<Net>(s, mode, seed);
    auto opt = make_opt(s);
    param_set x = start.size() != 0 ? start : s.x0;
    return record(f, x, *opt, iterations, dir);
}

// Run N iterations straight; run k, save, and resume to N in new objects; compare. k leaves at
// least four iterations, so that every interval of 3 below is crossed after the resume.
template <class Net>
void check_resume(const std::string& label, const factory& make_opt, rows_mode mode, std::uint64_t seed) {
    const std::size_t N = 12;
    const setup s(Net{}, seed);
    const trace straight = run<Net>(s, mode, seed, make_opt, N);
    INFO(label << ", seed " << seed << ", mode " << int(mode) << ": " << straight.res.message);
    REQUIRE(straight.res.reason == stop_reason::max_iterations);
    REQUIRE(straight.iterates.size() == N);
    std::uint64_t mix = seed;
    for (const char c : label) mix = mix * 131 + std::uint64_t(static_cast<unsigned char>(c));
    std::mt19937_64 g(mix);
    const std::size_t k = std::uniform_int_distribution<std::size_t>(1, N - 4)(g);
    INFO("interrupted after iteration " << k);
    scratch_dir dir("resume-curvature-" + label + "-" + std::to_string(seed) + "-" + std::to_string(int(mode)));
    const trace first = run<Net>(s, mode, seed, make_opt, k, dir.path);
    // The resumed run starts from other parameters: the checkpoint's must replace them.
    param_set elsewhere = s.x0;
    elsewhere.scale(-3.0);
    const trace rest = run<Net>(s, mode, seed, make_opt, N, dir.path, elsewhere);
    require_continues(straight, first, rest, k, N);
}

struct variant {
    std::string label;
    factory make;
    bool curvature;  // uses the objective's curvature: run on a curvature sample too
};

template <class Opt, class Options>
factory with(Options o) {
    return [o](const setup&) { return std::make_unique<Opt>(o); };
}

kfac::options kfac_with(auto&& set) {
    kfac::options o;
    set(o);
    return o;
}

const std::vector<variant>& two_layer_variants() {
    static const std::vector<variant> list = [] {
        std::vector<variant> v;
        v.push_back({"kfac", with<kfac>(kfac::options{}), true});
        v.push_back({"kfac-interval", with<kfac>(kfac_with([](kfac::options& o) { o.inverse_interval = 3; })), true});
        v.push_back({"kfac-adapt-gamma", with<kfac>(kfac_with([](kfac::options& o) {
                         o.adapt_gamma = true, o.gamma_interval = 3, o.inverse_interval = 2, o.weight_decay = 1e-3;
                     })),
                     true});
        v.push_back({"kfac-unscaled", with<kfac>(kfac_with([](kfac::options& o) { o.rescale = false, o.inverse_interval = 3; })), true});
        v.push_back({"kfac-no-momentum", with<kfac>(kfac_with([](kfac::options& o) { o.momentum = false, o.decay = 0.5; })), true});
        v.push_back({"kfac-cholesky", with<kfac>(kfac_with([](kfac::options& o) {
                         o.inverse = kfac_inverse::cholesky, o.inverse_interval = 3;
                     })),
                     true});
        v.push_back({"kfac-cholesky-adapt-gamma", with<kfac>(kfac_with([](kfac::options& o) {
                         o.inverse = kfac_inverse::cholesky, o.adapt_gamma = true, o.gamma_interval = 3, o.inverse_interval = 2;
                     })),
                     true});
        v.push_back({"kfac-empirical", with<kfac>(kfac_with([](kfac::options& o) {
                         o.estimate = kfac_estimate::empirical, o.inverse_interval = 3;
                     })),
                     true});
        v.push_back({"shampoo", with<shampoo>(shampoo_options{}), false});
        {
            shampoo_options o;
            o.root_every = 3, o.vectors = shampoo_vectors::full;
            v.push_back({"shampoo-full-roots", with<shampoo>(o), false});
        }
        {
            shampoo_options o;
            o.graft = shampoo_graft::adagrad, o.root_every = 3;
            v.push_back({"shampoo-adagrad", with<shampoo>(o), false});
        }
        {
            shampoo_options o;
            o.graft = shampoo_graft::adam, o.root_every = 2, o.learning_rate = 0.05;
            v.push_back({"shampoo-adam", with<shampoo>(o), false});
        }
        v.push_back({"adagrad", with<adagrad>(adagrad_options{.learning_rate = 0.1}), false});
        v.push_back({"adahessian", with<adahessian>(adahessian_options{}), true});
        v.push_back({"adahessian-delayed", with<adahessian>(adahessian_options{.update_every = 3, .probes = 2, .seed = 5}), true});
        v.push_back({"natural-gradient", with<natural_gradient>(natural_gradient::options{}), true});
        v.push_back({"natural-gradient-empirical",
                     with<natural_gradient>(natural_gradient::options{.estimate = natural_gradient_estimate::empirical}), true});
        v.push_back({"natural-gradient-search", with<natural_gradient>(natural_gradient::options{.line_search = true}), true});
        v.push_back({"natural-gradient-fixed",
                     with<natural_gradient>(natural_gradient::options{.initial_damping = 3.0, .adapt_damping = false}), true});
        v.push_back({"natural-gradient-given",
                     [](const setup& s) {
                         using gn_t = decltype(make_gauss_newton_factors(two_layers::loss, two_layers::w));
                         auto gn = std::make_shared<gn_t>(make_gauss_newton_factors(two_layers::loss, two_layers::w));
                         gn->bind(two_layers::x, s.X).bind(two_layers::y, s.Y);
                         return std::make_unique<natural_gradient>(
                             natural_gradient::options{.factor = [gn](const param_set& x) { return gn->compute(x); }});
                     },
                     false});
        {
            hessian_free::options ho;
            ho.curvature = curvature_matrix::gauss_newton;
            kfac_preconditioner::options po;
            po.decay = 0.5, po.inverse_interval = 3;
            v.push_back({"hf-pcg-kfac", [ho, po](const setup&) { return std::make_unique<hessian_free>(ho, kfac_preconditioner(po)); },
                         true});
        }
        return v;
    }();
    return list;
}

const std::vector<variant>& one_layer_variants() {
    static const std::vector<variant> list = [] {
        std::vector<variant> v;
        v.push_back({"kfac-exact", with<kfac>(kfac_with([](kfac::options& o) {
                         o.estimate = kfac_estimate::exact, o.inverse_interval = 3;
                     })),
                     true});
        v.push_back({"natural-gradient-exact",
                     with<natural_gradient>(natural_gradient::options{.estimate = natural_gradient_estimate::exact}), true});
        return v;
    }();
    return list;
}

template <class Net>
void check_all(const std::vector<variant>& variants) {
    for (const variant& v : variants)
        for (std::uint64_t seed : {1u, 2u, 3u}) {
            check_resume<Net>(v.label, v.make, rows_mode::full, seed);
            check_resume<Net>(v.label, v.make, rows_mode::minibatch, seed);
            if (v.curvature) check_resume<Net>(v.label, v.make, rows_mode::curvature_sample, seed);
        }
}

}  // namespace

TEST_CASE("optimizers with curvature state resume bit-identically on a two-layer network") {
    check_all<two_layers>(two_layer_variants());
}

TEST_CASE("optimizers with exact curvature estimates resume bit-identically on one layer") {
    check_all<one_layer>(one_layer_variants());
}

TEST_CASE("a Shampoo checkpoint whose vectors are preconditioned otherwise is refused, and x is left as it was") {
    const setup s(two_layers{}, 4);
    scratch_dir dir("resume-curvature-shampoo-form");
    shampoo_options full;
    full.vectors = shampoo_vectors::full;
    run<two_layers>(s, rows_mode::full, 4, with<shampoo>(full), 3, dir.path);

    auto f = make<two_layers>(s, rows_mode::full, 4);
    shampoo opt;  // vectors = diagonal
    param_set x = s.x0;
    stopping stop;
    stop.max_iterations = 5;
    stop.checkpoint.directory = dir.path;
    try {
        minimize(f, x, opt, stop);
        FAIL("the checkpoint was accepted");
    } catch (const checkpoint_error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find("block 1 is a 1×6 vector with the full factor, this run's a 1×6 vector with the diagonal") !=
              std::string::npos);
    }
    CHECK(identical(x, s.x0));
}

TEST_CASE("kfac_preconditioner continues bit-identically after its state is saved and loaded") {
    // Factors averaged over CG runs (decay > 0) and decomposed every third run: the loaded copy
    // must hold the averages, the decompositions of the last refresh and the run count. The
    // objective's draws of sampled targets are carried over with it. A checkpoint of an earlier
    // version, without the entries of the damped inverses (kfac_inverse::cholesky), loads too.
    for (const bool earlier : {false, true}) {
        INFO((earlier ? "without" : "with") << " the damped inverses' entries");
        const setup s(two_layers{}, 6);
        kfac_preconditioner::options o;
        o.decay = 0.7, o.inverse_interval = 3;
        auto fa = make<two_layers>(s, rows_mode::curvature_sample, 6);
        auto fb = make<two_layers>(s, rows_mode::curvature_sample, 6);
        const curvature_operator ca = curvature_operator::find(fa, curvature_matrix::gauss_newton);
        const curvature_operator cb = curvature_operator::find(fb, curvature_matrix::gauss_newton);
        kfac_preconditioner a(o), b(o);
        const auto point = [&](std::size_t i) {
            param_set x = s.x0;
            x.scale(1.0 + 0.1 * double(i));
            return x;
        };
        for (std::size_t i = 0; i < 4; ++i) {
            fa.resample_curvature();
            a.prepare(fa, point(i), ca, 0.1 * double(i + 1));
        }
        state_map m;
        save_state(a, m, "preconditioner");
        save_state(fa, m, "objective");
        if (earlier) {
            std::size_t erased = 0;
            for (auto it = m.begin(); it != m.end();) {
                const std::string& k = it->first;
                const bool added = k.ends_with("/inverted") || k.ends_with("/inverse_gamma") || k.ends_with("/Ainv") ||
                                   k.ends_with("/Ginv") || k.ends_with("/inverse_pi");
                erased += added;
                it = added ? m.erase(it) : std::next(it);
            }
            REQUIRE(erased >= 5);
        }
        load_state(b, m, "preconditioner");
        load_state(fb, m, "objective");
        const param_set r = s.x0;
        for (std::size_t i = 4; i < 9; ++i) {
            INFO("CG run " << i);
            fa.resample_curvature(), fb.resample_curvature();
            a.prepare(fa, point(i), ca, 0.1 * double(i + 1));
            b.prepare(fb, point(i), cb, 0.1 * double(i + 1));
            param_set za, zb;
            a.apply(fa, point(i), r, za);
            b.apply(fb, point(i), r, zb);
            REQUIRE(identical(za, zb));
            REQUIRE(a.factors().updates() == b.factors().updates());
        }
    }
}
