#pragma once
// Finite-difference twins of grad and hvp, for checking the symbolic derivatives.
//   fd_grad(prog, loss, wrt(W...), h)        central differences of the loss, entry by entry
//   fd_hvp(prog, loss, wrt(W...), v, h)      (∇L(θ + h·v) − ∇L(θ − h·v)) / 2h, from exact gradients
// They run the caller's compiled program with each parameter rebound to a private perturbed
// copy, and restore the original bindings on the way out (also on an exception): the caller's
// tensors are never written. The program's outputs afterwards belong to a perturbed run; call
// run() to refresh them. Results come in wrt(...) order.
#include <array>
#include <tuple>
#include <utility>
#include <string>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "wrt.hpp"

namespace gateaux {

namespace detail {
// Rebinds parameter P to a private copy for the guard's lifetime.
template <class Prog, class P>
class perturbed {
public:
    explicit perturbed(Prog& prog) : prog_(prog), original_(prog.bound(P{})) {
        if (original_ == nullptr)
            throw shape_error("gateaux: parameter '" + std::string(P::name.view()) + "' is not bound");
        copy_ = *original_;
        prog_.bind(P{}, copy_);
    }
    ~perturbed() { prog_.bind(P{}, *original_); }
    perturbed(const perturbed&) = delete;
    perturbed& operator=(const perturbed&) = delete;
    tensor& copy() { return copy_; }
    const tensor& original() const { return *original_; }

private:
    Prog& prog_;
    const tensor* original_;
    tensor copy_;
};

template <class P, class Prog>
Prog& pass(Prog& p) {
    return p;
}

// A tensor that must be shaped like parameter P's bound value.
template <class P>
void check_like(const tensor* bound, const tensor& t, const char* what) {
    if (bound == nullptr) throw shape_error("gateaux: parameter '" + std::string(P::name.view()) + "' is not bound");
    if (t.shape() != bound->shape())
        throw shape_error(std::string(what) + " for '" + std::string(P::name.view()) + "' must be " +
                          std::to_string(bound->shape(0)) + "×" + std::to_string(bound->shape(1)) + ", got " +
                          std::to_string(t.shape(0)) + "×" + std::to_string(t.shape(1)));
}
}  // namespace detail

template <class Prog, expression L, class... P>
std::array<tensor, sizeof...(P)> fd_grad(Prog& prog, L loss, params<P...>, double h = 1e-6) {
    if constexpr (!invalid_expr<L>)  // its op has reported the mistake
        static_assert(L::rows == 1 && L::cols == 1, "gateaux::fd_grad(prog, loss, ...) requires a scalar (1×1) loss");
    std::array<tensor, sizeof...(P)> out;
    std::size_t k = 0;
    auto one = [&]<class Q>(Q) {
        detail::perturbed<Prog, Q> guard(prog);
        tensor& w = guard.copy();
        tensor& g = out[k++];
        g = xt::zeros<double>(w.shape());
        for (std::size_t i = 0; i < w.size(); ++i) {
            const double saved = w.flat(i);
            w.flat(i) = saved + h;
            prog.run();
            const double up = prog.scalar(loss);
            w.flat(i) = saved - h;
            prog.run();
            const double down = prog.scalar(loss);
            w.flat(i) = saved;
            g.flat(i) = (up - down) / (2.0 * h);
        }
    };
    (one(P{}), ...);
    return out;
}

template <class Prog, expression L, class... P>
std::array<tensor, sizeof...(P)> fd_hvp(Prog& prog, L loss, params<P...> w, const std::array<tensor, sizeof...(P)>& v,
                                        double h = 1e-5) {
    using G = decltype(grad(loss, w));
    static_assert((Prog::computes(G::of(P{})) && ...),
                  "gateaux::fd_hvp(prog, loss, wrt(...), v): prog must compute grad(loss, wrt(...))");
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        (detail::check_like<P>(prog.bound(P{}), v[I], "gateaux::fd_hvp: the direction"), ...);
        std::tuple<detail::perturbed<Prog, P>...> guards(detail::pass<P>(prog)...);
        auto gradient_at = [&](double s) {
            ((std::get<I>(guards).copy() = std::get<I>(guards).original() + s * v[I]), ...);
            prog.run();
            return std::array<tensor, sizeof...(P)>{tensor(prog[G::of(P{})])...};
        };
        const auto up = gradient_at(h);
        const auto down = gradient_at(-h);
        return std::array<tensor, sizeof...(P)>{tensor((up[I] - down[I]) / (2.0 * h))...};
    }(std::index_sequence_for<P...>{});
}

}  // namespace gateaux
