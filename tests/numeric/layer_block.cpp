// numeric/layer_block.hpp: every route of the layer block solve against the explicit block
// H = Σ_b (h_bᵀ·h_b) ⊗ T_b written out entry by entry here and solved by LAPACK (gesv through
// xt::linalg::solve, or the SVD pseudo-inverse for λ = 0), on random shapes: batches below, at and
// above the input width, indefinite and singular T_b, damping on all rows or on all but the last
// (a bias row; singular blocks then give the minimum-norm solution), and λ = 0. Also: the route
// chosen, and the refusals.
#include <catch2/catch.hpp>

#include <random>

#include <xtensor-blas/xlinalg.hpp>

#include <gateaux/numeric/layer_block.hpp>

namespace {

using gateaux::tensor;
using namespace gateaux::numeric;
using rng = std::mt19937_64;

tensor gaussian(std::size_t r, std::size_t c, rng& g) {
    std::normal_distribution<double> d;
    tensor t = tensor::from_shape({r, c});
    for (double& v : t) v = d(g);
    return t;
}

// T_b = Q·diag(e)·Qᵀ with eigenvalues e of both signs; `nullity` of them zero.
tensor curvature_stack(std::size_t b, std::size_t m, std::size_t nullity, rng& g) {
    tensor t = tensor::from_shape({b * m, m});
    std::uniform_real_distribution<double> mag(0.5, 2.0);
    std::bernoulli_distribution sign(0.3);
    for (std::size_t s = 0; s < b; ++s) {
        const tensor q = std::get<0>(xt::linalg::qr(gaussian(m, m, g)));
        std::vector<double> e(m);
        for (std::size_t i = 0; i < m; ++i) e[i] = i < nullity ? 0.0 : (sign(g) ? -1.0 : 1.0) * mag(g);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < m; ++j) {
                double v = 0;
                for (std::size_t k = 0; k < m; ++k) v += q(i, k) * e[k] * q(j, k);
                t(s * m + i, j) = v;
            }
    }
    return t;
}

tensor explicit_block(const tensor& h, const tensor& t, const block_damping& d) {
    const std::size_t b = h.shape(0), n = h.shape(1), m = t.shape(1);
    tensor a = xt::zeros<double>({n * m, n * m});
    for (std::size_t s = 0; s < b; ++s)
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < m; ++j)
                for (std::size_t k = 0; k < n; ++k)
                    for (std::size_t l = 0; l < m; ++l) a(i * m + j, k * m + l) += h(s, i) * h(s, k) * t(s * m + j, l);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) a(i * m + j, i * m + j) += i + d.last_rows >= n ? d.last : d.rows;
    return a;
}

double rel(const tensor& got, const tensor& want) {
    double e = 0, w = 0;
    for (std::size_t k = 0; k < want.size(); ++k) e += std::pow(got.flat(k) - want.flat(k), 2), w += want.flat(k) * want.flat(k);
    return std::sqrt(e / w);
}

// σ_max/σ_min over the numerical range (σ > 1e-10·σ_max), or over all of σ.
double cond(const tensor& a, bool on_range = true) {
    const auto s = std::get<1>(xt::linalg::svd(a, false, false));
    std::size_t r = 0;
    while (r < s.size() && (!on_range || s(r) > 1e-10 * s(0))) ++r;
    return s(0) / s(r - 1);
}

}  // namespace

TEST_CASE("layer block solve: every route against the explicit block", "[numeric][layer_block]") {
    std::size_t cases = 0;
    const block_route all[] = {block_route::reduced, block_route::dense, block_route::master};
    std::size_t seen[3] = {0, 0, 0};
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        rng g(seed);
        const std::size_t n = 1 + seed % 7, m = 1 + (seed / 3) % 5;
        const std::size_t batches[] = {1, n, n + 1, 3 * n + 2};
        for (std::size_t b : batches) {
            const tensor h = gaussian(b, n, g);
            const std::size_t nullity = seed % 4 == 0 ? std::min<std::size_t>(1, m - 1) : 0;
            const tensor t = curvature_stack(b, m, nullity, g);
            const tensor v = gaussian(n, m, g);
            // The last two: a negative l2 penalty on the last row (λ_s < 0), and on every row.
            const block_damping dampings[] = {{0.0, 0.0, 0}, {0.7, 0.7, 0},  {1.3, 0.0, 1},
                                              {0.9, 0.2, 1}, {0.3, 0.9, 1}, {0.8, -0.4, 1}, {-0.6, -0.6, 0}};
            for (const block_damping& d : dampings) {
                const tensor a = explicit_block(h, t, d);
                tensor rhs = v, want;
                rhs.reshape({n * m, 1});
                if (!d.all_damped()) {  // the minimum-norm solution where coordinates are undamped
                    want = xt::linalg::dot(xt::linalg::pinv(a, 1e-10), rhs);
                } else {
                    // A damped block may still be singular or ill-conditioned (indefinite T_b):
                    // then the library must refuse, which is checked below.
                    if (!(cond(a, false) <= 1e8)) continue;
                    want = xt::linalg::solve(a, rhs);
                }
                want.reshape({n, m});
                tensor x;
                const block_route r = solve_layer_block(h, t, v, d, x, "W");
                ++seen[int(r)];
                ++cases;
                const double c = cond(a), tol = std::max(1e-10, 100 * 2.2e-16 * c);
                INFO("seed " << seed << " B = " << b << " n = " << n << " m = " << m << " λ = " << d.rows << "/" << d.last
                              << " route " << to_string(r) << " cond " << c);
                const double err = rel(x, want);
                CHECK(err <= tol);
            }
        }
    }
    INFO("cases " << cases);
    CHECK(cases >= 400);
    for (block_route r : all) CHECK(seen[int(r)] > 20);
}

TEST_CASE("layer block solve: the route follows the shapes", "[numeric][layer_block]") {
    const block_damping damped{1.0, 1.0, 0}, none{};
    CHECK(choose_route(4, 64, 64, damped) == block_route::reduced);    // B·m = 256 against n·m = 4096
    CHECK(choose_route(256, 8, 8, damped) == block_route::dense);      // B·m = 2048 against n·m = 64
    CHECK(choose_route(4, 64, 64, none) == block_route::master);
    CHECK(choose_route(65, 64, 10, none) == block_route::dense);
}

TEST_CASE("layer block solve: a singular fully damped block is refused, the data left as it was", "[numeric][layer_block]") {
    // T_b = −c·I with c·Σ_b h_b² = λ: H = (Σ_b h_bᵀh_b) ⊗ T_b has eigenvalue −λ, so H + λI is
    // singular though every coordinate is damped. One sample and n = 3 takes the reduced route,
    // five samples and n = 1 the dense one.
    for (const auto& [b, n] : {std::pair<std::size_t, std::size_t>{1, 3}, {5, 1}}) {
        rng g(3 + b);
        tensor h = gaussian(b, n, g);
        for (std::size_t s = 1; s < b; ++s) xt::row(h, s) = xt::row(h, 0);  // rank 1: one direction h_0
        double hh = 0;
        for (double e : h) hh += e * e;
        tensor t = xt::zeros<double>({std::size_t(2 * b), std::size_t(2)});
        for (std::size_t s = 0; s < b; ++s) t(2 * s, 0) = t(2 * s + 1, 1) = -1.0 / hh;
        const tensor v = gaussian(n, 2, g), v0 = v, h0 = h, t0 = t;
        const block_damping d{1.0, 1.0, 0};
        INFO("B = " << b << ", n = " << n << ", route " << to_string(choose_route(b, n, 2, d)));
        tensor x;
        CHECK_THROWS_AS(solve_layer_block(h, t, v, d, x, "W"), gateaux::rank_error);
        CHECK(bool(v == v0));
        CHECK(bool(h == h0));
        CHECK(bool(t == t0));
        // A damping may be negative (a negative l2 penalty), not NaN; its last rows lie in the block.
        CHECK_THROWS_AS(solve_layer_block(h, t, v, {std::nan(""), 0.0, 0}, x, "W"), gateaux::value_error);
        CHECK_THROWS_AS(solve_layer_block(h, t, v, {1.0, 1.0, n + 1}, x, "W"), gateaux::shape_error);
    }
    CHECK(choose_route(1, 3, 2, {1.0, 1.0, 0}) == block_route::reduced);
    CHECK(choose_route(5, 1, 2, {1.0, 1.0, 0}) == block_route::dense);
}
