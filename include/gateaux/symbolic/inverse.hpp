#pragma once
// The functional inverse of the gradient map, and the finite-difference B-operator built on it.
//
//   inverse_gradient(prog, loss, W2, G)   the W2 whose block gradient is G, the other layers held
//                                         fixed (round trip: inverse_gradient(prog, loss, W2, ∇₂L) = W2
//                                         for B = n; for B < n, h⁺·h·W2, the minimum-norm preimage)
//   fd_bop(prog, loss, wrt(W...), v, r)   (g⁻¹(G + r/2·v) − g⁻¹(G − r/2·v))/r ≈ H_l⁻¹·v, block by block
//   fd_newton_step(prog, loss, wrt(W...), r)   the same along v = G: the seed's G(1 ± r/2) scheme
// With fd_scheme::richardson the central difference is extrapolated, (4·D(r/2) − D(r))/3.
//
// How the inverse is computed, for layer l with input h (B×n, B ≤ n): the gradient G = hᵀ·δ gives
// the per-sample targets δ* = h⁺ᵀ·G (matmul's inverse rule; G must lie in the range of hᵀ). Each
// sample's net row then solves δ_b(net_b) = δ*_b by Newton's method from the current point, with
// the Jacobian T_b — the same per-sample curvature block as bop's master formula — and finally
// W = h⁺·net. Where bop's chain is exact (piecewise-linear activations) one Newton step is exact
// while no kink is crossed; for smooth activations it converges quadratically. A step that does
// not reduce a sample's residual is halved (backtracking), so plain Newton's overshoot from a
// distant start does not end the search. Still a descent method cannot cross a fold (tanh's δ is
// not monotone) or a jump (leaky ReLU's δ jumps at a kink) of the per-sample map: a target beyond
// one, like a target outside the map's range (e.g. beyond what a saturating activation can
// produce), is a domain_error. The program must have been run at the current parameters; it is
// only read.
#include <cmath>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../eval/program.hpp"
#include "../numeric/row_newton.hpp"
#include "curvature_path.hpp"
#include "fd.hpp"
#include "substitute.hpp"

namespace gateaux {

enum class fd_scheme { central, richardson };

namespace detail {

// W's layer net = h·W (curvature_path.hpp), and δ and T_b as expressions of a free net.
template <class Loss, class W>
struct inverse_setup {
    using path = curvature::path_of<Loss, W>;
    static_assert(path::status == curvature::path_status::weight,
                  "gateaux::inverse_gradient(prog, loss, W, G): W must be one of the network's layer weights");
    using H = curvature::layer_input<path>;
    using Net = typename path::at;
    using ctx = curvature::context<Loss, curvature_kind::hessian>;
    using free_net = leaf<input_kind, "gateaux.net", Net::rows, Net::cols>;
    using delta = substitute_t<decltype(ctx::template cotangent<Net>()), Net, free_net>;
    using blocks = substitute_t<decltype(path::form::stack()), Net, free_net>;
};

}  // namespace detail

template <class Prog, expression Loss, expression W>
tensor inverse_gradient(Prog& prog, Loss, W, const tensor& target) {
    using setup = detail::inverse_setup<Loss, W>;
    using H = typename setup::H;
    using Net = typename setup::Net;
    static_assert(Prog::computes(Net{}), "gateaux::inverse_gradient(prog, loss, ...): prog must compute the loss");
    const std::string name(W::name.view());
    if (target.shape(0) != std::size_t(W::rows) || target.shape(1) != std::size_t(W::cols))
        throw shape_error("gateaux::inverse_gradient: the gradient for '" + name + "' must be " + std::to_string(W::rows) + "×" +
                          std::to_string(W::cols) + ", got " + std::to_string(target.shape(0)) + "×" + std::to_string(target.shape(1)));
    const tensor& h = prog[H{}];
    const std::size_t batch = h.shape(0);
    if (batch > h.shape(1))
        throw rank_error("h (input of " + name + ")",
                         "the batch (" + std::to_string(batch) + " rows) exceeds the width " + std::to_string(h.shape(1)) +
                             "; the gradient does not determine the per-sample errors",
                         double(batch) / double(h.shape(1)));

    // δ* = h⁺ᵀ·G: the least-squares solution of hᵀ·δ = G.
    const auto [delta_star, rank1] = numeric::lstsq(tensor(xt::transpose(h)), target);
    if (rank1 < batch)
        throw rank_error("h (input of " + name + ")", "numerically rank-deficient (rank " + std::to_string(rank1) + " < batch " +
                                                          std::to_string(batch) + ")",
                         double(rank1));

    // The inner program: δ and T_b as functions of a free net.
    auto inner = compile(typename setup::delta{}, typename setup::blocks{});
    decltype(inner)::for_each_leaf([&](auto l) {
        using L = decltype(l);
        if constexpr (!std::same_as<L, typename setup::free_net>) {
            const tensor* t = prog.bound(l);
            if (t == nullptr) throw shape_error("gateaux::inverse_gradient: '" + std::string(L::name.view()) + "' is not bound");
            inner.bind(l, *t);
        }
    });
    tensor net = prog[Net{}];
    inner.bind(typename setup::free_net{}, net);
    const double scale = std::max(numeric::max_abs(delta_star), 1e-300);
    tensor r;
    const double residual = numeric::row_newton(
        net, [&] { inner.run(); }, [&] { return tensor(inner[typename setup::delta{}] - delta_star); },
        [&] { return inner[typename setup::blocks{}]; }, scale, r);
    if (!(residual <= 1e-9)) {
        std::size_t worst = 0;
        for (std::size_t b = 1; b < batch; ++b)
            if (numeric::max_abs(xt::view(r, b, xt::all())) > numeric::max_abs(xt::view(r, worst, xt::all()))) worst = b;
        throw domain_error("gateaux::inverse_gradient: no value of '" + name +
                           "' near the current one produces the requested gradient (relative residual " + number_string(residual) +
                           " at sample " + std::to_string(worst) +
                           " after Newton's method with backtracking on each sample); the target is outside the gradient "
                           "map's range, or beyond a fold or a kink of it from the current point");
    }
    return numeric::lstsq(h, net).first;  // W = h⁺·net
}

namespace detail {
template <class Prog, class Loss, class W>
tensor central_inverse_difference(Prog& prog, Loss loss, W w, const tensor& g, const tensor& v, double r) {
    const tensor up = inverse_gradient(prog, loss, w, tensor(g + 0.5 * r * v));
    const tensor down = inverse_gradient(prog, loss, w, tensor(g - 0.5 * r * v));
    return (up - down) / r;
}
template <class Prog, class Loss, class W>
tensor inverse_difference(Prog& prog, Loss loss, W w, const tensor& g, const tensor& v, double r, fd_scheme scheme) {
    if (scheme == fd_scheme::central) return central_inverse_difference(prog, loss, w, g, v, r);
    const tensor coarse = central_inverse_difference(prog, loss, w, g, v, r);
    const tensor fine = central_inverse_difference(prog, loss, w, g, v, 0.5 * r);
    return (4.0 * fine - coarse) / 3.0;
}
}  // namespace detail

// H_l⁻¹·v_l by differences of the inverse gradient map; prog must compute grad(loss, wrt(...)).
template <class Prog, expression Loss, class... P>
std::array<tensor, sizeof...(P)> fd_bop(Prog& prog, Loss loss, params<P...> w, const std::array<tensor, sizeof...(P)>& v,
                                        double r = 1e-4, fd_scheme scheme = fd_scheme::central) {
    using G = decltype(grad(loss, w));
    static_assert((Prog::computes(G::of(P{})) && ...), "gateaux::fd_bop(prog, loss, wrt(...), v): prog must compute grad(loss, wrt(...))");
    std::size_t i = 0;
    (detail::check_like<P>(prog.bound(P{}), v[i++], "gateaux::fd_bop: the direction"), ...);  // xtensor would broadcast a row
    i = 0;
    return {detail::inverse_difference(prog, loss, P{}, prog[G::of(P{})], v[i++], r, scheme)...};
}

// The per-layer Newton step H_l⁻¹·G_l by differences of the inverse map at G(1 ± r/2).
template <class Prog, expression Loss, class... P>
std::array<tensor, sizeof...(P)> fd_newton_step(Prog& prog, Loss loss, params<P...> w, double r = 1e-4,
                                                fd_scheme scheme = fd_scheme::central) {
    using G = decltype(grad(loss, w));
    static_assert((Prog::computes(G::of(P{})) && ...), "gateaux::fd_newton_step(prog, loss, wrt(...)): prog must compute grad(loss, wrt(...))");
    return {detail::inverse_difference(prog, loss, P{}, prog[G::of(P{})], prog[G::of(P{})], r, scheme)...};
}

}  // namespace gateaux
