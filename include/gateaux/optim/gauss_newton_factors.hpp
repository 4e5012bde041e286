#pragma once
// The exact Gauss–Newton factor of a graph at any depth, as a low_rank_curvature
// (optim/low_rank_curvature.hpp): for natural_gradient's options::factor.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>  // brings xblas and xlapack, in the order they need

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../ops/squared_error.hpp"
#include "../ops/sum.hpp"
#include "../symbolic/fisher.hpp"
#include "../symbolic/layer_statistics.hpp"
#include "capabilities.hpp"
#include "graph_capabilities.hpp"
#include "newton_common.hpp"
#include "param_set.hpp"

#include "low_rank_curvature.hpp"

namespace gateaux {

// The exact Gauss–Newton factor at any depth, from a graph: row (b, j) of J̃ is F_b[:, j]ᵀ·J_b,
// F_b the output curvature factor (F_b·F_bᵀ = g·Λ_b, symbolic/fisher.hpp), J_b = ∂o_b/∂θ. Per
// layer that row is h_b ⊗ δ_b^(j), δ^(j) the back-propagation of the seed whose row b is F_b[:, j]
// (one backward pass of all B rows per column j, k in all). The seed enters through the layer
// deltas of the surrogate loss sum(squared_error(o, s)), whose output derivative is o − s: s =
// o − t·seed, the deltas then divided by t (t scales the seed to the size of o, so that the
// rounding of o − s costs no more than a few ulps of the seed). C = c·J̃ᵀJ̃ = c·Σ_b J_bᵀ·g·Λ_b·J_b,
// the objective's gauss_newton_vector (without the l2 penalties of the loss, which add to λ).
//
//   auto gn = make_gauss_newton_factors(loss, wrt(W1, b1, W2, b2));
//   gn.bind(x, X).bind(y, Y);                          // the rows the curvature is taken on
//   low_rank_curvature c = gn.compute(theta);          // N = B·k rows
//
// Two programs: the output with its curvature factors, and the surrogate's layer inputs and deltas.
template <class Loss, class... P>
class gauss_newton_factors {
    using parts = detail::curvature::loss_parts<Loss>;
    static_assert(parts::ok, "gateaux::gauss_newton_factors: the loss must be sum(...) or mean(...) of squared_error or cross_entropy");
    using O = typename parts::output;
    using Y = typename parts::target;
    using S = leaf<target_kind, concat<Y::name, "^">(), Y::rows, Y::cols>;
    using surrogate = decltype(sum(squared_error(O{}, S{})));
    using roles = detail::layer_roles<surrogate, P...>;
    static_assert(roles::found, "gateaux::gauss_newton_factors: every parameter must be a layer weight h·W or bias x + b on the "
                                "one path to the loss's output");
    using W = params<P...>;
    using inputs = decltype(layer_inputs(surrogate{}, typename roles::weights{}));
    using deltas = decltype(layer_deltas(surrogate{}, W{}));
    using factors = decltype(output_curvature_factors(Loss{}));
    using output_program = decltype(compile(O{}, factors{}));
    using seed_program = decltype(compile(surrogate{}, inputs{}, deltas{}));

public:
    // Binds a data leaf (an input or the loss's target) of the loss.
    template <class K, fixed_string N, dim R, dim C>
    gauss_newton_factors& bind(leaf<K, N, R, C>, const tensor& t) {
        static_assert(K::is_data, "gateaux::gauss_newton_factors::bind(leaf, tensor): the leaf must be an input or a target");
        using L = leaf<K, N, R, C>;
        if constexpr (output_program::computes(L{})) out_.bind(L{}, t);
        if constexpr (seed_program::computes(L{})) seed_.bind(L{}, t);
        return *this;
    }

    // The factor at x, the curvature scaled by `scale` (c: rows/sample for a sum on a subsample).
    low_rank_curvature compute(const param_set& x, double scale = 1.0) {
        if (x.size() != sizeof...(P))
            throw shape_error("gateaux::gauss_newton_factors: expected " + std::to_string(sizeof...(P)) + " parameter blocks, got " +
                              std::to_string(x.size()));
        if (!(scale > 0.0) || !std::isfinite(scale))
            throw error("gateaux::gauss_newton_factors: the curvature scale must be a finite number > 0, not " + number_string(scale));
        std::size_t i = 0;
        (out_.bind(P{}, x[i++]), ...);
        i = 0;
        (seed_.bind(P{}, x[i++]), ...);
        out_.run();
        const tensor o = out_[O{}];
        const tensor& F = out_[factors{}];
        const std::size_t B = o.shape(0), k = o.shape(1), N = B * k;
        const double r = std::sqrt(scale);
        double omax = 0.0, fmax = 0.0;
        for (double v : o) omax = std::max(omax, std::abs(v));
        for (double v : F) fmax = std::max(fmax, std::abs(v));
        const double t = fmax > 0.0 ? std::max(1.0, omax / fmax) : 1.0;
        std::vector<low_rank_curvature::block> blocks(sizeof...(P));
        tensor s = tensor::from_shape({B, k});
        for (std::size_t j = 0; j < k; ++j) {
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t q = 0; q < k; ++q) s(b, q) = o(b, q) - t * F(b * k + q, j);
            seed_.bind(S{}, s);
            seed_.run();
            i = 0;
            auto one = [&]<class Q>(Q) {
                low_rank_curvature::block& out = blocks[i];
                out.param = i;
                const tensor& d = seed_[deltas::of(Q{})];
                const std::size_t m = d.shape(1);
                if (j == 0) out.delta = tensor::from_shape({N, m});
                for (std::size_t b = 0; b < B; ++b)
                    for (std::size_t q = 0; q < m; ++q) out.delta(b * k + j, q) = r * d(b, q) / t;
                if constexpr (detail::curvature::path_of<surrogate, Q>::status == detail::curvature::path_status::weight) {
                    if (j == 0) {
                        const tensor& h = seed_[inputs::of(Q{})];
                        const std::size_t n = h.shape(1);
                        out.input = tensor::from_shape({N, n});
                        for (std::size_t b = 0; b < B; ++b)
                            for (std::size_t jj = 0; jj < k; ++jj) std::copy_n(h.data() + b * n, n, out.input.data() + (b * k + jj) * n);
                    }
                }
                ++i;
            };
            (one(P{}), ...);
        }
        return low_rank_curvature::from_blocks(N, std::move(blocks));
    }

private:
    output_program out_;
    seed_program seed_;
};

template <expression Loss, class... P>
gauss_newton_factors<Loss, P...> make_gauss_newton_factors(Loss, params<P...>) {
    return {};
}

}  // namespace gateaux
