#pragma once
// The program behind a graph objective's Fisher products (optim/objective.hpp): F·v from fvp
// (symbolic/fisher.hpp) of the loss with the sampled-target leaf y~ in place of its target y,
//
//   compile(fvp(with_sampled_targets(loss), wrt(...)))
//
// one graph for both estimates: y~ is bound to targets drawn from the model for the sampled
// Fisher (optim/sampled_targets.hpp), and to the data's own targets for the empirical one, which
// is then fvp(loss, wrt(...)) itself, leaf for leaf.
#include <algorithm>

#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../symbolic/fisher.hpp"
#include "../symbolic/wrt.hpp"
#include "param_set.hpp"

namespace gateaux::detail {

template <class Loss, class... P>
class fisher_program {
    using sampled_target = sampled_target_t<typename curvature::loss_parts<Loss>::target>;
    using FV = decltype(fvp(with_sampled_targets(Loss{}), params<P...>{}));
    using program_t = decltype(compile(FV{}));

public:
    template <class L>
    void bind_data(L, const tensor& t) {
        if constexpr (program_t::computes(L{})) prog_.bind(L{}, t);
    }

    // out = F(x)·v with the targets `targets` (of the rows the data leaves are bound to).
    void run(const param_set& x, const param_set& v, const tensor& targets, param_set& out) {
        std::size_t i = 0;
        (prog_.bind(P{}, x[i++]), ...);
        i = 0;
        (prog_.bind(direction(P{}), v[i++]), ...);
        prog_.bind(sampled_target{}, targets);
        prog_.run();
        if (out.size() != sizeof...(P)) out = param_set(std::vector<tensor>(sizeof...(P)));
        i = 0;
        auto one = [&](const tensor& t) {
            if (out[i].shape() != t.shape()) out[i].resize(t.shape());
            std::copy(t.begin(), t.end(), out[i].begin());
            ++i;
        };
        (one(prog_[FV::of(P{})]), ...);
    }

private:
    program_t prog_;
};

}  // namespace gateaux::detail
