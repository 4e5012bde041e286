#pragma once
// The program behind a graph objective's layer_statistics capability (optim/capabilities.hpp):
// one pass on the curvature rows that computes the loss and its gradient and, from the same
// forward and backward values, each weight's layer input and each parameter's δ
// (symbolic/layer_statistics.hpp), δ under sampled targets and the output curvature factors
// (symbolic/fisher.hpp):
//
//   compile(loss, grad(loss, w), layer_inputs(loss, weights), layer_deltas(loss, w),
//           layer_deltas(with_sampled_targets(loss), w), output_curvature_factors(loss))
//
// The sampled deltas share the forward pass and are one more backward pass down the layers (no
// weight products). When they are not asked for, the sampled-target leaf is bound to the data's
// targets, so that no draw is made; what they then compute is not copied out.
#include <algorithm>

#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../symbolic/fisher.hpp"
#include "../symbolic/grad.hpp"
#include "../symbolic/layer_statistics.hpp"
#include "capabilities.hpp"
#include "graph_capabilities.hpp"
#include "param_set.hpp"

namespace gateaux::detail {

// dst = src, reshaping dst only when the shapes differ (no allocation in the steady state).
inline void copy_into(const tensor& src, tensor& dst) {
    if (dst.shape() != src.shape()) dst.resize(src.shape());
    std::copy(src.begin(), src.end(), dst.begin());
}

template <class Loss, class... P>
class statistics_program {
    using roles = layer_roles<Loss, P...>;
    using W = params<P...>;
    using sampled_target = sampled_target_t<typename curvature::loss_parts<Loss>::target>;
    using G = decltype(grad(Loss{}, W{}));
    using inputs = decltype(layer_inputs(Loss{}, typename roles::weights{}));
    using deltas = decltype(layer_deltas(Loss{}, W{}));
    using sampled_deltas = decltype(layer_deltas(with_sampled_targets(Loss{}), W{}));
    using factors = decltype(output_curvature_factors(Loss{}));
    using program_t = decltype(compile(Loss{}, G{}, inputs{}, deltas{}, sampled_deltas{}, factors{}));

public:
    template <class L>
    void bind_data(L, const tensor& t) {
        if constexpr (program_t::computes(L{})) prog_.bind(L{}, t);
    }

    // At x, with `targets` standing for the drawn ones (the data's when what.sampled_deltas is
    // false); scale is the objective's curvature scale.
    void run(const param_set& x, const tensor& targets, const layer_statistics::request& what, double scale,
             layer_statistics::result& out) {
        std::size_t i = 0;
        (prog_.bind(P{}, x[i++]), ...);
        prog_.bind(sampled_target{}, targets);
        prog_.run();
        constexpr std::size_t n = sizeof...(P);
        if (out.blocks.size() != n) out.blocks.resize(n);
        if (out.gradient.size() != n) out.gradient = param_set(std::vector<tensor>(n));
        i = 0;
        auto one = [&]<class Q>(Q) {
            layer_statistics::block& b = out.blocks[i];
            b.kind = roles::weight[i] ? layer_statistics::role::weight : layer_statistics::role::bias;
            b.partner = roles::partner[i];
            if constexpr (curvature::path_of<Loss, Q>::status == curvature::path_status::weight)
                copy_into(prog_[inputs::of(Q{})], b.input);
            copy_into(prog_[deltas::of(Q{})], b.delta);
            if (what.sampled_deltas) copy_into(prog_[sampled_deltas::of(Q{})], b.sampled_delta);
            copy_into(prog_[G::of(Q{})], out.gradient[i]);
            ++i;
        };
        (one(P{}), ...);
        if (what.output_factors) copy_into(prog_[factors{}], out.output_factors);
        out.rows = out.blocks.front().delta.shape(0);  // the batch, also where the data fix their rows
        out.sample_weight = sums_rows<Loss> ? 1.0 : 1.0 / double(out.rows);
        out.curvature_scale = scale;
        out.loss = prog_.scalar(Loss{});
    }

private:
    program_t prog_;
};

}  // namespace gateaux::detail
