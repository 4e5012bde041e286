#pragma once
// Targets drawn from the model, for a graph objective's sampled Fisher and sampled layer deltas
// (optim/objective.hpp): one forward pass on the curvature rows at x, then
// sample_targets(loss, o, rng, y~) (symbolic/fisher.hpp: y~ ~ N(o, I) for the squared error,
// one-hot rows ~ Categorical(softmax(o)) for cross-entropy).
//
// When a draw is made. A sampled Fisher is an estimate with the draw as its randomness, and CG
// needs one fixed matrix for its whole run: so a draw is kept and reused while it can stand for
// the model it was drawn from, which is while
//
//   the rows are the same    a new minibatch, a new curvature sample (resample_curvature), new
//                            data or new settings forget it;
//   x is the same            the targets are the predictive distribution's at the parameters of
//                            the draw, and at other parameters they would be a sample from the
//                            wrong distribution (a biased estimate nobody asked for).
//
// The next use after either change draws again, at that use's x. Hessian-free CG calls
// resample_curvature() once per iteration and then multiplies at one x, so each CG run sees one
// draw and each iteration a new one: the practice of Martens & Grosse (2015, K-FAC) and Martens
// (2014, "New insights and perspectives on the natural gradient method"). Checking x costs one
// comparison of the parameters per use and a copy of them per draw.
#include <algorithm>
#include <cstdint>
#include <random>

#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../io/state.hpp"
#include "../symbolic/fisher.hpp"
#include "capabilities.hpp"
#include "param_set.hpp"

namespace gateaux::detail {

template <class Loss, class... P>
class target_draw {
    using O = decltype(output_of(Loss{}));

public:
    // Forgets the draw: the next use draws again (new rows, a resample, new settings).
    void forget() { valid_ = false; }
    void seed(std::uint64_t s) {
        rng_.seed(s);
        valid_ = false;
    }

    // A data tensor of the curvature rows (the forward pass's inputs); new rows forget the draw.
    template <class L>
    void bind_data(L, const tensor& t) {
        if constexpr (decltype(forward_)::computes(L{})) forward_.bind(L{}, t);
        valid_ = false;
    }

    // The targets for the curvature rows at x: the draw in hand, or a new one (counted).
    const tensor& at(const param_set& x, evaluation_counts& counts) {
        if (valid_ && same_point(x)) return drawn_;
        std::size_t i = 0;
        (forward_.bind(P{}, x[i++]), ...);
        forward_.run();
        ++counts.target_draws;
        sample_targets(Loss{}, forward_[O{}], rng_, drawn_);
        if (point_.same_shape(x))
            point_.assign(x);
        else
            point_ = x;
        valid_ = true;
        return drawn_;
    }

    // The generator, the draw in hand and where it was drawn; load after the data is bound (which
    // forgets the draw).
    void state(state_archive& a) {
        a("generator", rng_), a("drawn", drawn_), a("point", point_), a("valid", valid_);
    }

    // The targets of the last draw (rows of the curvature data × outputs), empty before the first.
    const tensor& last() const { return drawn_; }

private:
    bool same_point(const param_set& x) const {
        if (!point_.same_shape(x)) return false;
        for (std::size_t b = 0; b < x.size(); ++b)
            if (!std::equal(x[b].begin(), x[b].end(), point_[b].begin())) return false;
        return true;
    }

    decltype(compile(O{})) forward_;
    std::mt19937_64 rng_;
    tensor drawn_;
    param_set point_;  // x of the draw
    bool valid_ = false;
};

}  // namespace gateaux::detail
