// Per-sample curvature blocks T_b (Hessian and Gauss–Newton), layer inputs and deltas, the
// output curvature factors, and the Gauss–Newton and Fisher products
// (symbolic/layer_statistics.hpp, symbolic/fisher.hpp, symbolic/gauss_newton.hpp), against a
// reference written here: a forward pass per sample in plain loops that carries, for the chosen
// layer's net row z, the Jacobian A = ∂net_k/∂z and the second derivatives Q = ∂²net_k/∂z² up to
// the output (forward-over-forward, by the chain rule for second derivatives), then
//   T_b = g_b·(A_oᵀ·Λ_b·A_o + Σ_j s_bj·Q_o[j]),   T_b(GN) = g_b·A_oᵀ·Λ_b·A_o,   δ_b = g_b·s_bᵀ·A_o,
// with s_b = ∂ℓ_b/∂o and Λ_b = ∂²ℓ_b/∂o² written out for each loss. The products use the
// per-sample parameter Jacobians J_b assembled from A_o and the layer inputs, and the explicit
// P×P matrices Σ_b g_b·J_bᵀ·M_b·J_b. Networks: random_net (tests/symbolic/bias_networks.hpp),
// biases on every layer, several seeds and batches. Tolerance 1e-12 (relative, Frobenius).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "symbolic/bias_networks.hpp"

namespace {

using namespace gateaux;
using bias_networks::random_net;
using oracle::rng;
using oracle::sci;
using oracle::tensor;

using matrix = std::vector<std::vector<double>>;
matrix zeros(std::size_t r, std::size_t c) { return matrix(r, std::vector<double>(c, 0.0)); }

// What the reference computes for one sample and one layer l (z = net_l row).
struct per_sample {
    std::vector<double> o, s;       // output and ∂ℓ/∂o
    matrix lambda;                  // ∂²ℓ/∂o²
    matrix a_out;                   // ∂o/∂z (n_o × n_l)
    std::vector<matrix> q_out;      // ∂²o_j/∂z² (n_o of n_l × n_l)
    std::vector<double> h_in;       // h_{l−1}
};

template <class Net>
struct reference {
    static constexpr std::size_t D = Net::depth;
    const std::array<tensor, D>& w;
    const std::array<tensor, D>& b;

    template <std::size_t k>
    static double act(int order, double v) {
        using F = typename Net::template act<k>::function;
        return order == 0 ? F::f(v) : order == 1 ? F::df(v) : F::d2f(v);
    }
    static double act_k(std::size_t k, int order, double v) {
        double out = 0.0;
        [&]<std::size_t... J>(std::index_sequence<J...>) {
            ((J + 1 == k ? (void)(out = act<J + 1>(order, v)) : (void)0), ...);
        }(std::make_index_sequence<D>{});
        return out;
    }

    // Sample x (row), target y (row), layer l.
    per_sample run(const std::vector<double>& x, const std::vector<double>& y, std::size_t l) const {
        per_sample r;
        std::vector<double> h = x;
        std::size_t nz = 0;
        matrix a;              // ∂h/∂z after the layer l (rows: units)
        std::vector<matrix> q;  // ∂²h_i/∂z²
        for (std::size_t k = 1; k <= D; ++k) {
            const tensor& wk = w[k - 1];
            const std::size_t nin = wk.shape(0), nout = wk.shape(1);
            std::vector<double> net(nout);
            for (std::size_t j = 0; j < nout; ++j) {
                double v = b[k - 1](0, j);
                for (std::size_t i = 0; i < nin; ++i) v += h[i] * wk(i, j);
                net[j] = v;
            }
            matrix an = zeros(nout, k == l ? nout : nz);
            std::vector<matrix> qn;
            if (k == l) {
                r.h_in = h;
                nz = nout;
                for (std::size_t j = 0; j < nout; ++j) an[j][j] = 1.0;
                qn.assign(nout, zeros(nz, nz));
            } else if (k > l) {  // net = h·W + b: A_net = Wᵀ·A_h, Q_net[j] = Σ_i W_ij·Q_h[i]
                qn.assign(nout, zeros(nz, nz));
                for (std::size_t j = 0; j < nout; ++j)
                    for (std::size_t i = 0; i < nin; ++i) {
                        for (std::size_t c = 0; c < nz; ++c) an[j][c] += wk(i, j) * a[i][c];
                        for (std::size_t c = 0; c < nz; ++c)
                            for (std::size_t e = 0; e < nz; ++e) qn[j][c][e] += wk(i, j) * q[i][c][e];
                    }
            }
            // h = f(net): ∂h_i = f′·∂net_i, ∂²h_i = f′·∂²net_i + f″·∂net_iᵀ∂net_i.
            h.assign(nout, 0.0);
            for (std::size_t j = 0; j < nout; ++j) h[j] = act_k(k, 0, net[j]);
            if (k >= l) {
                a = zeros(nout, nz);
                q.assign(nout, zeros(nz, nz));
                for (std::size_t j = 0; j < nout; ++j) {
                    const double d1 = act_k(k, 1, net[j]), d2 = act_k(k, 2, net[j]);
                    for (std::size_t c = 0; c < nz; ++c) a[j][c] = d1 * an[j][c];
                    for (std::size_t c = 0; c < nz; ++c)
                        for (std::size_t e = 0; e < nz; ++e) q[j][c][e] = d1 * qn[j][c][e] + d2 * an[j][c] * an[j][e];
                }
            }
        }
        r.o = h;
        r.a_out = a;
        r.q_out = q;
        const std::size_t no = h.size();
        r.s.assign(no, 0.0);
        r.lambda = zeros(no, no);
        if constexpr (Net::ce) {
            double m = *std::max_element(h.begin(), h.end()), z = 0.0, ysum = 0.0;
            std::vector<double> p(no);
            for (std::size_t j = 0; j < no; ++j) z += p[j] = std::exp(h[j] - m);
            for (std::size_t j = 0; j < no; ++j) p[j] /= z, ysum += y[j];
            for (std::size_t j = 0; j < no; ++j) {
                r.s[j] = ysum * p[j] - y[j];
                for (std::size_t i = 0; i < no; ++i) r.lambda[j][i] = ysum * ((i == j ? p[j] : 0.0) - p[j] * p[i]);
            }
        } else {
            for (std::size_t j = 0; j < no; ++j) r.s[j] = h[j] - y[j], r.lambda[j][j] = 1.0;
        }
        return r;
    }
};

std::vector<double> row_of(const tensor& t, std::size_t b) {
    return std::vector<double>(t.data() + b * t.shape(1), t.data() + (b + 1) * t.shape(1));
}

template <class Net>
void check(std::size_t batch, std::uint64_t seed) {
    constexpr std::size_t D = Net::depth;
    constexpr auto loss = Net::loss;
    constexpr auto sampled = with_sampled_targets(loss);
    constexpr auto every = Net::every;
    constexpr auto tb = curvature_blocks(loss, every);
    constexpr auto gb = gauss_newton_blocks(loss, every);
    constexpr auto inputs = layer_inputs(loss, Net::weights);
    constexpr auto deltas = layer_deltas(loss, every);
    constexpr auto gn = gnvp(loss, every);
    constexpr auto fe = fvp(loss, every);
    constexpr auto fs = fvp(sampled, every);
    constexpr auto factors = output_curvature_factors(loss);
    auto prog = compile(loss, tb, gb, inputs, deltas, gn, fe, fs, factors);

    rng gen(seed);
    tensor x = oracle::gaussian(batch, std::size_t(Net::n[0]), gen);
    const std::size_t no = std::size_t(Net::n[D]);
    tensor y = Net::ce ? oracle::distributions(batch, no, gen) : oracle::gaussian(batch, no, gen);
    tensor ys = xt::zeros<double>({batch, no});
    std::array<tensor, D> w, b, vw, vb;
    for (std::size_t k = 0; k < D; ++k) {
        w[k] = oracle::gaussian(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen, 0.8);
        b[k] = oracle::gaussian(1, std::size_t(Net::n[k + 1]), gen, 0.3);
        vw[k] = oracle::gaussian(std::size_t(Net::n[k]), std::size_t(Net::n[k + 1]), gen);
        vb[k] = oracle::gaussian(1, std::size_t(Net::n[k + 1]), gen);
    }
    prog.bind(Net::x, x).bind(Net::y, y).bind(sampled_target(Net::y), ys);
    bias_networks::instance<Net>::each([&]<std::size_t k>() {
        prog.bind(Net::template W<k>, w[k - 1]).bind(Net::template b<k>, b[k - 1]);
        prog.bind(direction(Net::template W<k>), vw[k - 1]).bind(direction(Net::template b<k>), vb[k - 1]);
    });
    prog.run();
    sample_targets(loss, prog[output_of(loss)], gen, ys);
    prog.run();

    const reference<Net> ref{w, b};
    const double g = std::is_same_v<typename std::remove_const_t<decltype(loss)>::op, sum_op> ? 1.0 : 1.0 / double(batch);
    INFO(Net::describe() << " | B = " << batch << " | seed " << seed);

    // Parameters in wrt order (W1..WD, b1..bD), flattened; per-sample Jacobians J_b (n_o × P).
    std::vector<std::size_t> offset_w(D), offset_b(D);
    std::size_t p_count = 0;
    for (std::size_t k = 0; k < D; ++k) offset_w[k] = p_count, p_count += w[k].size();
    for (std::size_t k = 0; k < D; ++k) offset_b[k] = p_count, p_count += b[k].size();
    std::vector<double> v(p_count);
    for (std::size_t k = 0; k < D; ++k) {
        std::copy(vw[k].begin(), vw[k].end(), v.begin() + std::ptrdiff_t(offset_w[k]));
        std::copy(vb[k].begin(), vb[k].end(), v.begin() + std::ptrdiff_t(offset_b[k]));
    }
    std::vector<double> gn_ref(p_count, 0.0), fe_ref(p_count, 0.0), fs_ref(p_count, 0.0);

    for (std::size_t bi = 0; bi < batch; ++bi) {
        matrix jac = zeros(no, p_count);
        std::vector<double> s_sampled;
        per_sample last;
        for (std::size_t l = 1; l <= D; ++l) {
            const per_sample r = ref.run(row_of(x, bi), row_of(y, bi), l);
            const std::size_t nl = r.a_out[0].size();
            // T_b (Hessian and Gauss–Newton) and δ_b against the program's rows for this sample.
            double err_t = 0, norm_t = 0, err_gn = 0, norm_gn = 0, err_d = 0, norm_d = 0;
            bias_networks::instance<Net>::each([&]<std::size_t k>() {
                if (k != l) return;
                const tensor& t_lib = prog[tb.of(Net::template W<k>)];
                const tensor& g_lib = prog[gb.of(Net::template W<k>)];
                const tensor& d_lib = prog[deltas.of(Net::template W<k>)];
                CHECK(oracle::rel_error(prog[tb.of(Net::template b<k>)], t_lib) == 0.0);  // one stack per layer
                for (std::size_t i = 0; i < nl; ++i) {
                    double dref = 0;
                    for (std::size_t j = 0; j < no; ++j) dref += g * r.s[j] * r.a_out[j][i];
                    err_d += std::pow(d_lib(bi, i) - dref, 2), norm_d += dref * dref;
                    for (std::size_t c = 0; c < nl; ++c) {
                        double gn_ic = 0, second = 0;
                        for (std::size_t j = 0; j < no; ++j) {
                            second += r.s[j] * r.q_out[j][i][c];
                            for (std::size_t e = 0; e < no; ++e) gn_ic += r.a_out[j][i] * r.lambda[j][e] * r.a_out[e][c];
                        }
                        const double t_ref = g * (gn_ic + second), gn_ref_ic = g * gn_ic;
                        err_t += std::pow(t_lib(bi * nl + i, c) - t_ref, 2), norm_t += t_ref * t_ref;
                        err_gn += std::pow(g_lib(bi * nl + i, c) - gn_ref_ic, 2), norm_gn += gn_ref_ic * gn_ref_ic;
                    }
                }
                // h_{l−1}
                const tensor& h_lib = prog[inputs.of(Net::template W<k>)];
                double err_h = 0, norm_h = 0;
                for (std::size_t i = 0; i < r.h_in.size(); ++i)
                    err_h += std::pow(h_lib(bi, i) - r.h_in[i], 2), norm_h += r.h_in[i] * r.h_in[i];
                CHECK(sci{std::sqrt(err_h / std::max(norm_h, 1e-300))} <= sci{1e-12});
                // J_b's columns for W_l (∂o/∂W_ij = A_o[:, j]·h_i) and b_l (A_o[:, j]).
                for (std::size_t i = 0; i < r.h_in.size(); ++i)
                    for (std::size_t j = 0; j < nl; ++j)
                        for (std::size_t e = 0; e < no; ++e) jac[e][offset_w[k - 1] + i * nl + j] = r.a_out[e][j] * r.h_in[i];
                for (std::size_t j = 0; j < nl; ++j)
                    for (std::size_t e = 0; e < no; ++e) jac[e][offset_b[k - 1] + j] = r.a_out[e][j];
            });
            CHECK(sci{std::sqrt(err_t / std::max(norm_t, 1e-300))} <= sci{1e-12});
            CHECK(sci{std::sqrt(err_gn / std::max(norm_gn, 1e-300))} <= sci{1e-12});
            CHECK(sci{std::sqrt(err_d / std::max(norm_d, 1e-300))} <= sci{1e-12});
            last = r;
        }
        // s under the drawn targets.
        s_sampled = ref.run(row_of(x, bi), row_of(ys, bi), 1).s;
        // The factor F_b: F_b·F_bᵀ = g·Λ_b.
        const tensor& f = prog[factors];
        double err_f = 0, norm_f = 0;
        for (std::size_t i = 0; i < no; ++i)
            for (std::size_t j = 0; j < no; ++j) {
                double ff = 0;
                for (std::size_t e = 0; e < no; ++e) ff += f(bi * no + i, e) * f(bi * no + j, e);
                err_f += std::pow(ff - g * last.lambda[i][j], 2), norm_f += std::pow(g * last.lambda[i][j], 2);
            }
        CHECK(sci{std::sqrt(err_f / std::max(norm_f, 1e-300))} <= sci{1e-12});
        // Σ_b g·J_bᵀ·M·J_b·v for M = Λ_b, s·sᵀ and ŝ·ŝᵀ.
        std::vector<double> jv(no, 0.0);
        for (std::size_t e = 0; e < no; ++e)
            for (std::size_t c = 0; c < p_count; ++c) jv[e] += jac[e][c] * v[c];
        std::vector<double> lam_jv(no, 0.0);
        double s_jv = 0, ss_jv = 0;
        for (std::size_t e = 0; e < no; ++e) {
            for (std::size_t c = 0; c < no; ++c) lam_jv[e] += last.lambda[e][c] * jv[c];
            s_jv += last.s[e] * jv[e], ss_jv += s_sampled[e] * jv[e];
        }
        for (std::size_t c = 0; c < p_count; ++c)
            for (std::size_t e = 0; e < no; ++e) {
                gn_ref[c] += g * jac[e][c] * lam_jv[e];
                fe_ref[c] += g * jac[e][c] * last.s[e] * s_jv;
                fs_ref[c] += g * jac[e][c] * s_sampled[e] * ss_jv;
            }
    }
    auto product_error = [&](auto group, const std::vector<double>& want) {
        double err = 0, norm = 0;
        bias_networks::instance<Net>::each([&]<std::size_t k>() {
            const tensor& pw = prog[group.of(Net::template W<k>)];
            const tensor& pb = prog[group.of(Net::template b<k>)];
            for (std::size_t i = 0; i < pw.size(); ++i) err += std::pow(pw.flat(i) - want[offset_w[k - 1] + i], 2);
            for (std::size_t i = 0; i < pb.size(); ++i) err += std::pow(pb.flat(i) - want[offset_b[k - 1] + i], 2);
        });
        for (double u : want) norm += u * u;
        return std::sqrt(err / std::max(norm, 1e-300));
    };
    CHECK(sci{product_error(gn, gn_ref)} <= sci{1e-12});
    CHECK(sci{product_error(fe, fe_ref)} <= sci{1e-12});
    CHECK(sci{product_error(fs, fs_ref)} <= sci{1e-12});
}

template <std::uint64_t... S>
void check_seeds() {
    (
        [] {
            using Net = random_net<S>;
            for (std::size_t batch : {1, 3, 7}) check<Net>(batch, S * 31 + batch);
        }(),
        ...);
}

}  // namespace

TEST_CASE("T_b, layer inputs and deltas, output factors, Gauss-Newton and Fisher products match the per-sample reference",
          "[symbolic][curvature][statistics]") {
    // Depth 1-4, squared error and cross-entropy under sum and mean, smooth and piecewise-linear.
    check_seeds<0, 1, 4, 7, 9, 14, 21, 33, 47, 51>();
}

TEST_CASE("sample_targets draws from the model's predictive distribution", "[symbolic][fisher]") {
    // Squared error: y~ = o + N(0, I); cross-entropy: one-hot rows with P(class j) = softmax(o)_j.
    // 20000 draws per row; bounds of 6 standard deviations.
    constexpr auto xo = input<"x", 3>;
    constexpr auto yo = target<"y", 3>;
    rng gen(11);
    const tensor o = {{0.5, -1.0, 2.0}, {0.0, 0.0, 0.0}};
    const std::size_t draws = 20000;
    tensor ys;
    std::vector<double> avg(6, 0.0), var(6, 0.0), count(6, 0.0);
    for (std::size_t d = 0; d < draws; ++d) {
        sample_targets(sum(squared_error(xo, yo)), o, gen, ys);
        for (std::size_t k = 0; k < 6; ++k) {
            const double e = ys.flat(k) - o.flat(k);
            avg[k] += e / double(draws), var[k] += e * e / double(draws);
        }
        sample_targets(mean(cross_entropy(xo, yo)), o, gen, ys);
        for (std::size_t k = 0; k < 6; ++k) count[k] += ys.flat(k);
        for (std::size_t r = 0; r < 2; ++r) CHECK(ys(r, 0) + ys(r, 1) + ys(r, 2) == 1.0);
    }
    for (std::size_t k = 0; k < 6; ++k) {
        CHECK(std::abs(avg[k]) <= 6.0 / std::sqrt(double(draws)));
        CHECK(std::abs(var[k] - 1.0) <= 6.0 * std::sqrt(2.0 / double(draws)));
    }
    for (std::size_t r = 0; r < 2; ++r) {
        double z = 0;
        for (std::size_t j = 0; j < 3; ++j) z += std::exp(o(r, j));
        for (std::size_t j = 0; j < 3; ++j) {
            const double p = std::exp(o(r, j)) / z, freq = count[r * 3 + j] / double(draws);
            CHECK(std::abs(freq - p) <= 6.0 * std::sqrt(p * (1 - p) / double(draws)));
        }
    }
}
