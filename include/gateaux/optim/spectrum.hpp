#pragma once
// Curvature diagnostics: how ill-conditioned or indefinite an objective's curvature matrix is at
// x, from its products alone (numeric/lanczos.hpp does the numerics):
//
//   auto s = spectrum(f, x, curvature_matrix::hessian, options);   // or gauss_newton, fisher
//   s.largest.value, s.smallest.value        Lanczos extremes λ_max, λ_min, with residuals
//   s.condition_estimate                     |λ|max/|λ|min over those two ends (lanczos::ratio_of_ends)
//   s.trace.value ± s.trace.standard_error   Hutchinson's estimate of tr C
//   s.density.grid / s.density.values        the spectral density by stochastic Lanczos quadrature
//   s.negative_mass                          the estimated fraction of eigenvalues below −cutoff·|λ|max (1e-3)
//
// The products are the objective's (curvature_operator::find), on the rows its curvature
// capabilities see now (the whole data, the minibatch or the curvature sample: data_batches), so
// the matrix is the one an optimizer would use at x. Coordinates are the blocks in names() order,
// each row-major: those of hessian_matrix's explicit Hessian.
//
// Cost in products C·v: iterations + 2 for the extremes (the residuals), trace_samples for the
// trace, density_starts × density_iterations for the density, each part optional but the extremes
// (result::products counts them; the objective's counts include them). Each part draws from its
// own generator, seeded from (seed, part), so changing one part's size leaves the others' draws.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../numeric/lanczos.hpp"
#include "capabilities.hpp"
#include "param_set.hpp"

namespace gateaux {

struct spectrum_options {
    std::size_t iterations = 40;          // Lanczos steps for the extremes (capped at the dimension)
    std::size_t trace_samples = 20;       // Hutchinson probes; 0 skips the trace
    std::size_t density_starts = 4;       // stochastic Lanczos quadrature starts; 0 skips the density
    std::size_t density_iterations = 30;  // Lanczos steps per start (nodes per rule)
    lanczos::density_options density{};   // grid points and Gaussian broadening
    // Eigenvalues below −negative_cutoff·max(|λ_max|, |λ_min|) count as negative. A Gauss rule of
    // k nodes resolves the density only on a scale of about ‖C‖/k, and a network's Hessian holds a
    // large cluster of eigenvalues of both signs within 1e-4·‖H‖ of zero, whose split no rule of
    // tens of nodes sees: on examples/spectrum.cpp's network (P = 1210) the fraction below
    // −1e-8·‖H‖ is 0.36 and SLQ (16 starts) gives 0.33, 0.71, 0.36 at k = 30, 60, 150; below
    // −1e-3·‖H‖ it is 0.125 and SLQ gives 0.33, 0.10, 0.13. Hence 1e-3: the fraction of clearly
    // negative eigenvalues. (Broadening would be worse: it puts half of a cluster at 0 below 0.)
    double negative_cutoff = 1e-3;
    std::uint64_t seed = 0;
};

struct spectrum_result {
    curvature_matrix kind = curvature_matrix::hessian;
    std::size_t dimension = 0;  // P, the number of parameters
    lanczos::ritz_value largest, smallest, largest_magnitude;
    double condition_estimate = std::numeric_limits<double>::quiet_NaN();
    std::size_t iterations = 0;  // Lanczos steps taken for the extremes
    bool exact = false;          // iterations = P: the extremes are eigenvalues (to rounding)
    lanczos::trace_estimate trace;                // samples = 0 where skipped
    std::vector<lanczos::quadrature> quadrature;  // one Gauss rule per density start
    lanczos::density density;                     // empty where skipped
    double negative_mass = std::numeric_limits<double>::quiet_NaN();  // from the rules' nodes, before broadening
    std::size_t products = 0;
};

namespace detail {
inline const char* curvature_product_text(curvature_matrix k) {
    switch (k) {
        case curvature_matrix::hessian: return "the Hessian product H·v";
        case curvature_matrix::gauss_newton: return "the Gauss–Newton product G·v";
        case curvature_matrix::fisher: return "the Fisher product F·v";
    }
    return "the curvature product";
}

// The objective's curvature at x as a product on flat vectors; counts the products and refuses a
// non-finite one, naming the product.
class flat_curvature {
public:
    flat_curvature(curvature_operator op, const param_set& x) : op_(std::move(op)), x_(x), v_(x.zeros_like()), out_(x.zeros_like()) {}
    void operator()(std::span<const double> v, std::span<double> out) {
        std::size_t at = 0;
        for (tensor& t : v_) std::copy_n(v.data() + std::exchange(at, at + t.size()), t.size(), t.data());
        op_(x_, v_, out_);
        ++products;
        if (!out_.finite())
            throw value_error(std::string("gateaux::spectrum: ") + curvature_product_text(op_.kind()) +
                              " holds NaN or ±inf at this x");
        at = 0;
        for (const tensor& t : out_) std::copy_n(t.data(), t.size(), out.data() + std::exchange(at, at + t.size()));
    }
    std::size_t products = 0;

private:
    curvature_operator op_;
    const param_set& x_;
    param_set v_, out_;
};

inline std::mt19937_64 spectrum_stream(std::uint64_t seed, std::uint64_t part) {
    std::seed_seq s{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(part)};
    return std::mt19937_64(s);
}
}  // namespace detail

// The extremes, condition estimate, trace and density of f's curvature matrix of kind `kind` at x.
// Throws gateaux::error naming the capability where f lacks those products, or the option that
// asks for nothing (0 Lanczos steps, 1 trace probe, 0 density steps) or is out of range (a density
// grid of fewer than 2 points, a negative or non-finite width, tails or cutoff), before any
// product; shape_error where x is not shaped like f's parameters (naming the block and both
// shapes); value_error where a product is NaN or ±inf.
inline spectrum_result spectrum(objective& f, const param_set& x, curvature_matrix kind, const spectrum_options& o = {}) {
    const curvature_operator op = curvature_operator::find(f, kind);
    if (!op) throw error("gateaux::spectrum: " + op.lacking());
    if (o.iterations == 0)
        throw error("gateaux::spectrum: spectrum_options::iterations is 0; the extremes need at least one Lanczos step");
    if (o.trace_samples == 1)
        throw error("gateaux::spectrum: spectrum_options::trace_samples is 1; a standard error needs at least 2 (0 skips the trace)");
    if (o.density_starts > 0 && o.density_iterations == 0)
        throw error("gateaux::spectrum: spectrum_options::density_iterations is 0 with density_starts > 0; each start "
                    "needs at least one Lanczos step (density_starts = 0 skips the density)");
    // The density's grid and broadening, before any product is spent (lanczos::broaden checks them only at the end).
    if (o.density_starts > 0) {
        const lanczos::density_options& d = o.density;
        if (d.points < 2)
            throw error("gateaux::spectrum: spectrum_options::density.points must be ≥ 2 (a grid needs two ends), got " +
                        std::to_string(d.points));
        if (!(d.sigma >= 0.0 && std::isfinite(d.sigma)))
            throw error("gateaux::spectrum: spectrum_options::density.sigma must be ≥ 0 and finite (0: relative_sigma), got " +
                        number_string(d.sigma));
        if (d.sigma == 0.0 && !(d.relative_sigma > 0.0 && std::isfinite(d.relative_sigma)))
            throw error("gateaux::spectrum: spectrum_options::density.relative_sigma must be > 0 and finite, got " +
                        number_string(d.relative_sigma));
        if (!(d.tails >= 0.0 && std::isfinite(d.tails)))
            throw error("gateaux::spectrum: spectrum_options::density.tails must be ≥ 0 and finite, got " + number_string(d.tails));
    }
    if (!(o.negative_cutoff >= 0.0 && std::isfinite(o.negative_cutoff)))
        throw error("gateaux::spectrum: spectrum_options::negative_cutoff must be ≥ 0 and finite, got " + number_string(o.negative_cutoff));
    if (const param_set like = f.parameters_like(); !x.same_shape(like)) {
        std::string why = std::to_string(like.size()) + " blocks expected, x has " + std::to_string(x.size());
        for (std::size_t i = 0; i < std::min(x.size(), like.size()); ++i)
            if (x[i].shape() != like[i].shape()) {
                const std::vector<std::string> names = f.names();
                why = "block " + std::to_string(i) + (i < names.size() ? " ('" + names[i] + "')" : std::string()) + " must be " +
                      shape_string(like[i]) + ", x's is " + shape_string(x[i]);
                break;
            }
        throw shape_error("gateaux::spectrum: x is not shaped like the objective's parameters: " + why);
    }

    detail::flat_curvature c(op, x);
    const lanczos::product a = [&c](std::span<const double> v, std::span<double> out) { c(v, out); };
    spectrum_result r;
    r.kind = kind;
    r.dimension = x.count();
    const std::size_t n = r.dimension;

    // Extremes from a Rademacher start.
    {
        std::mt19937_64 rng = detail::spectrum_stream(o.seed, 0);
        std::vector<double> start(n);
        lanczos::rademacher(rng, start);
        const lanczos::extremes_result e = lanczos::extremes(a, start, o.iterations, rng);
        r.largest = e.largest;
        r.smallest = e.smallest;
        r.largest_magnitude = e.largest_magnitude;
        r.condition_estimate = e.condition_estimate;
        r.iterations = e.steps;
        r.exact = e.exact;
    }
    if (o.trace_samples > 0) {
        std::mt19937_64 rng = detail::spectrum_stream(o.seed, 1);
        r.trace = lanczos::hutchinson(a, n, o.trace_samples, rng);
    }
    if (o.density_starts > 0) {
        std::mt19937_64 rng = detail::spectrum_stream(o.seed, 2);
        r.quadrature = lanczos::slq(a, n, o.density_starts, o.density_iterations, rng);
        r.density = lanczos::broaden(r.quadrature, o.density);
        const double scale = std::abs(r.largest_magnitude.value);
        r.negative_mass = lanczos::mass_below(r.quadrature, -o.negative_cutoff * scale);
    }
    r.products = c.products;
    return r;
}

}  // namespace gateaux
