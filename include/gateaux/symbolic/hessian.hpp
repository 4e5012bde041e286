#pragma once
// Explicit Hessians for small problems, assembled column by column from the R-operator:
// column j of H is H·e_j. Parameters are flattened row-major and concatenated in wrt(...) order.
//   auto prog = compile(loss, hvp(loss, wrt(W1, W2)));  ...bind data and parameters...
//   tensor H  = hessian(prog, loss, wrt(W1, W2));            // n×n, n = |W1| + |W2|
//   tensor H1 = hessian_block(prog, loss, wrt(W1, W2), W1);  // the W1 block, other layers fixed
// Both refuse, with a size_error stating the memory needed, above max_bytes (default 256 MiB);
// pass a larger max_bytes to allow more. The program's direction bindings are restored after.
#include <cstdio>
#include <string>
#include <tuple>

#include <xtensor-blas/xlinalg.hpp>

#include "../core/errors.hpp"
#include "../core/tolerance.hpp"
#include "../core/tensor.hpp"
#include "grad.hpp"
#include "fd.hpp"
#include "hvp.hpp"
#include "wrt.hpp"

namespace gateaux {

inline constexpr std::size_t default_hessian_bytes = std::size_t(256) << 20;

namespace detail {

inline std::string megabytes(double bytes) {
    const char* unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) bytes /= 1024.0, ++u;
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[u]);
    return buf;
}

inline void check_hessian_size(const char* what, std::size_t n, std::size_t max_bytes) {
    const double need = double(n) * double(n) * sizeof(double);
    if (need > double(max_bytes))
        throw size_error(std::string(what) + ": " + std::to_string(n) + " parameters need a " + std::to_string(n) + "×" +
                         std::to_string(n) + " matrix of " + megabytes(need) + ", over the limit of " +
                         megabytes(double(max_bytes)) + "; pass a larger max_bytes, or use hvp() products instead");
}

// Binds private direction tensors (zero) for P..., restoring the previous bindings afterwards.
template <class Prog, class... P>
class direction_slots {
public:
    explicit direction_slots(Prog& prog)
        : prog_(prog), previous_{prog.bound(direction_t<P>{})...}, v_{tensor(xt::zeros<double>({std::size_t(P::rows), std::size_t(P::cols)}))...} {
        bind_all(std::index_sequence_for<P...>{});
    }
    ~direction_slots() { restore(std::index_sequence_for<P...>{}); }
    direction_slots(const direction_slots&) = delete;
    direction_slots& operator=(const direction_slots&) = delete;
    tensor& operator[](std::size_t i) { return v_[i]; }

private:
    template <std::size_t... I>
    void bind_all(std::index_sequence<I...>) {
        (prog_.bind(direction_t<P>{}, v_[I]), ...);
    }
    template <std::size_t... I>
    void restore(std::index_sequence<I...>) {
        ((previous_[I] != nullptr ? (void)prog_.bind(direction_t<P>{}, *previous_[I]) : (void)prog_.unbind(direction_t<P>{})), ...);
    }
    Prog& prog_;
    std::array<const tensor*, sizeof...(P)> previous_;
    std::array<tensor, sizeof...(P)> v_;
};

template <class... P>
inline constexpr std::array<std::size_t, sizeof...(P) + 1> offsets = [] {
    std::array<std::size_t, sizeof...(P) + 1> o{};
    std::size_t k = 0;
    ((o[k + 1] = o[k] + std::size_t(P::rows * P::cols), ++k), ...);
    return o;
}();

}  // namespace detail

template <class Prog, expression L, class... P>
tensor hessian(Prog& prog, L loss, params<P...> w, std::size_t max_bytes = default_hessian_bytes) {
    using HV = decltype(hvp(loss, w));
    static_assert((Prog::computes(HV::of(P{})) && ...),
                  "gateaux::hessian(prog, loss, wrt(...)): prog must compute hvp(loss, wrt(...))");
    constexpr auto off = detail::offsets<P...>;
    constexpr std::size_t n = off.back();
    detail::check_hessian_size("gateaux::hessian", n, max_bytes);
    tensor H = xt::zeros<double>({n, n});
    detail::direction_slots<Prog, P...> v(prog);
    for (std::size_t q = 0; q < sizeof...(P); ++q) {
        for (std::size_t i = 0; i < off[q + 1] - off[q]; ++i) {
            const std::size_t col = off[q] + i;
            v[q].flat(i) = 1.0;
            prog.run();
            [&]<std::size_t... K>(std::index_sequence<K...>) {
                ([&] {
                    const tensor& hv = prog[HV::of(P{})];
                    for (std::size_t t = 0; t < hv.size(); ++t) H(off[K] + t, col) = hv.flat(t);
                }(), ...);
            }(std::index_sequence_for<P...>{});
            v[q].flat(i) = 0.0;
        }
    }
    return H;
}

template <class Prog, expression L, class... P, expression Q>
tensor hessian_block(Prog& prog, L loss, params<P...> w, Q, std::size_t max_bytes = default_hessian_bytes) {
    using HV = decltype(hvp(loss, w));
    constexpr std::size_t q = meta::index_of<Q>(meta::list<P...>{});
    static_assert(q != meta::npos, "gateaux::hessian_block(prog, loss, wrt(...), param): param must be one of wrt(...)");
    static_assert(Prog::computes(HV::of(Q{})),
                  "gateaux::hessian_block(prog, loss, wrt(...), param): prog must compute hvp(loss, wrt(...))");
    constexpr std::size_t n = std::size_t(Q::rows * Q::cols);
    detail::check_hessian_size("gateaux::hessian_block", n, max_bytes);
    tensor H = xt::zeros<double>({n, n});
    detail::direction_slots<Prog, P...> v(prog);
    for (std::size_t i = 0; i < n; ++i) {
        v[q].flat(i) = 1.0;
        prog.run();
        const tensor& hv = prog[HV::of(Q{})];
        for (std::size_t t = 0; t < n; ++t) H(t, i) = hv.flat(t);
        v[q].flat(i) = 0.0;
    }
    return H;
}

// The dense fallback of the B-operator, for small blocks and for any loss (not only layer
// chains): each block H_P assembled from R-operator columns and solved by LAPACK (SVD least
// squares, so the minimum-norm H_P⁺·v_P; singular values below inverse_tolerance() × the largest
// are dropped). prog must compute hvp(loss, wrt(...)); v in wrt(...) order.
template <class Prog, expression L, class... P>
std::array<tensor, sizeof...(P)> dense_bop(Prog& prog, L loss, params<P...> w, const std::array<tensor, sizeof...(P)>& v,
                                           std::size_t max_bytes = default_hessian_bytes) {
    std::array<tensor, sizeof...(P)> out;
    std::size_t i = 0;
    // Every vector's shape first, before any block is assembled.
    auto check = [&]<class Q>(Q) {
        if (v[i].shape(0) != std::size_t(Q::rows) || v[i].shape(1) != std::size_t(Q::cols))
            throw shape_error("gateaux::dense_bop: the vector for '" + std::string(Q::name.view()) + "' must be " +
                              std::to_string(Q::rows) + "×" + std::to_string(Q::cols) + ", got " + std::to_string(v[i].shape(0)) +
                              "×" + std::to_string(v[i].shape(1)));
        ++i;
    };
    (check(P{}), ...);
    i = 0;
    auto one = [&]<class Q>(Q) {
        const tensor h = hessian_block(prog, loss, w, Q{}, max_bytes);
        xt::xtensor<double, 1> rhs = xt::flatten(v[i]);
        auto [x, res, rank, sv] = xt::linalg::lstsq(h, rhs, inverse_tolerance());
        (void)res, (void)rank, (void)sv;
        out[i] = xt::reshape_view(x, {std::size_t(Q::rows), std::size_t(Q::cols)});
        ++i;
    };
    (one(P{}), ...);
    return out;
}

// H⁺·v with the full Hessian over all of wrt(...) (not block by block): the exact Newton
// direction for small problems, assembled by hessian() and solved by LAPACK least squares.
template <class Prog, expression L, class... P>
std::array<tensor, sizeof...(P)> hessian_solve(Prog& prog, L loss, params<P...> w, const std::array<tensor, sizeof...(P)>& v,
                                               std::size_t max_bytes = default_hessian_bytes) {
    constexpr auto off = detail::offsets<P...>;
    const tensor h = hessian(prog, loss, w, max_bytes);
    xt::xtensor<double, 1> rhs = xt::zeros<double>({off.back()});
    std::size_t i = 0;
    ((detail::check_like<P>(prog.bound(P{}), v[i], "gateaux::hessian_solve: the vector"),
      std::copy(v[i].begin(), v[i].end(), rhs.begin() + std::ptrdiff_t(off[i])), ++i),
     ...);
    auto [x, res, rank, sv] = xt::linalg::lstsq(h, rhs, inverse_tolerance());
    (void)res, (void)rank, (void)sv;
    std::array<tensor, sizeof...(P)> out;
    i = 0;
    ((out[i] = tensor({std::size_t(P::rows), std::size_t(P::cols)}),
      std::copy(x.begin() + std::ptrdiff_t(off[i]), x.begin() + std::ptrdiff_t(off[i + 1]), out[i].begin()), ++i),
     ...);
    return out;
}

// The dense per-block Newton step H_P⁺·G_P; prog must compute grad and hvp for wrt(...).
template <class Prog, expression L, class... P>
std::array<tensor, sizeof...(P)> dense_newton_step(Prog& prog, L loss, params<P...> w, std::size_t max_bytes = default_hessian_bytes) {
    using G = decltype(grad(loss, w));
    prog.run();
    return dense_bop(prog, loss, w, std::array<tensor, sizeof...(P)>{tensor(prog[G::of(P{})])...}, max_bytes);
}

}  // namespace gateaux
