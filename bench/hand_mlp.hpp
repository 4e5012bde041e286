#pragma once
// The reference computation written by hand for speed, against which gateaux is timed:
// a 3-layer MLP  out = a(a(x·W1)·W2)·W3,  a = leaky ReLU (slope 0.1) on the hidden layers,
// identity output, loss ½‖out − y‖² summed over the batch.
//
// Written as one would for a hot loop: every buffer allocated once, matrix products by
// xt::blas::gemm straight into them (sums of two products accumulate with beta = 1),
// activations and masks applied in place by plain loops, the residual and the loss in one loop.
// The math is that of docs/theory.md, with a″ = 0 (leaky ReLU) and a′ = 1 (identity output):
//   forward   h_l = a(h_{l−1} W_l), e = out − y
//   gradient  δ3 = e, δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ a′_l, G_l = h_{l−1}ᵀ δ_l
//   R-forward R{net_l} = R{h_{l−1}} W_l + h_{l−1} V_l, R{h_l} = a′_l ⊙ R{net_l}, R{e} = R{out}
//   R-backward R{δ_l} = (R{δ_{l+1}} W_{l+1}ᵀ + δ_{l+1} V_{l+1}ᵀ) ⊙ a′_l
//   H·v       (Hv)_l = R{h_{l−1}}ᵀ δ_l + h_{l−1}ᵀ R{δ_l}     (R{h_0} = R{x} = 0)
// a′_l is read from h_l's sign: leaky ReLU with a positive slope keeps the sign of its input.
//   Newton step (square nets only, B = n0 = n1 = n2 = n3; the chain of docs/theory.md with h⁺ = h⁻¹):
//             dnet3 = e, dnet_l = (dnet_{l+1} W_{l+1}⁻¹) ⊘ a′_l, Δ_l = h_{l−1}⁻¹ dnet_l,
//             by LAPACK LU (dgetrf/dgetrs), with no condition checks.
#include <algorithm>
#include <cstddef>
#include <vector>

#include <xtensor-blas/xblas.hpp>
#include <xtensor-blas/xlapack.hpp>

#include <gateaux/core/tensor.hpp>

namespace bench {

using gateaux::tensor;

struct hand_mlp {
    static constexpr double slope = 0.1;

    // Bound data (not owned, as gateaux's bind): input, target, weights, directions.
    const tensor *x, *y, *W1, *W2, *W3, *V1 = nullptr, *V2 = nullptr, *V3 = nullptr;
    // Buffers.
    tensor h1, h2, e;           // activations (hidden values, then the residual out − y)
    tensor d2, d1;              // deltas δ2, δ1
    tensor G1, G2, G3;          // gradient
    tensor Rh1, Rh2, Re;        // R{h1}, R{h2}, R{out} = R{e}
    tensor Rd2, Rd1;            // R{δ2}, R{δ1}
    tensor HV1, HV2, HV3;       // H·v
    tensor D1, D2, D3;          // Newton step
    tensor dn, lu, t;           // dnet, an LU factor, a transposed right-hand side
    std::vector<int> piv;
    double loss = 0;
    double flops = 0;  // GEMM flops since the last reset: shows the hand code does the same products

    hand_mlp(const tensor& x_, const tensor& y_, const tensor& w1, const tensor& w2, const tensor& w3)
        : x(&x_), y(&y_), W1(&w1), W2(&w2), W3(&w3) {
        const std::size_t b = x->shape(0), n1 = W1->shape(1), n2 = W2->shape(1), n3 = W3->shape(1);
        for (tensor* t : {&h1, &d1, &Rh1, &Rd1}) t->resize({b, n1});
        for (tensor* t : {&h2, &d2, &Rh2, &Rd2}) t->resize({b, n2});
        for (tensor* t : {&e, &Re}) t->resize({b, n3});
        G1.resize(W1->shape()), G2.resize(W2->shape()), G3.resize(W3->shape());
        HV1.resize(W1->shape()), HV2.resize(W2->shape()), HV3.resize(W3->shape());
        if (b == x->shape(1) && b == n1 && b == n2 && b == n3) {  // square: the Newton step exists
            for (tensor* t_ : {&D1, &D2, &D3, &dn, &lu, &t}) t_->resize({b, b});
            piv.resize(b);
        }
    }
    void directions(const tensor& v1, const tensor& v2, const tensor& v3) { V1 = &v1, V2 = &v2, V3 = &v3; }

    // c = op(a)·op(b) + beta·c
    void gemm(const tensor& a, const tensor& b, tensor& c, bool ta = false, bool tb = false, double beta = 0.0) {
        flops += 2.0 * double(c.shape(0)) * double(c.shape(1)) * double(ta ? a.shape(0) : a.shape(1));
        xt::blas::gemm(a, b, c, ta, tb, 1.0, beta);
    }
    // Both loops are written so that g++ 12 -O2 emits no conditional branch: it compiles
    // `v > 0 ? v : slope·v` and `p *= (q > 0 ? 1 : slope)` to a jump around the multiply, which
    // on random signs mispredicts about half the time (bench_activation measures it: ~15× slower
    // at 256×256). max(v, slope·v) is leaky ReLU for 0 < slope < 1.
    static void leaky_in_place(tensor& t) {
        for (double& v : t.storage()) v = std::max(v, slope * v);
    }
    // t ⊙= a′, with a′ read from the activation h.
    static void mask_in_place(tensor& t, const tensor& h) {
        double* p = t.data();
        const double* q = h.data();
        for (std::size_t i = 0, n = t.size(); i < n; ++i) {
            const double d = q[i] > 0.0 ? 1.0 : slope;
            p[i] = d * p[i];
        }
    }
    // e = out − y in place, returns ½‖e‖².
    double residual_in_place(tensor& out) const {
        double* p = out.data();
        const double* q = y->data();
        double s = 0.0;
        for (std::size_t i = 0, n = out.size(); i < n; ++i) {
            p[i] -= q[i];
            s += p[i] * p[i];
        }
        return 0.5 * s;
    }

    // Each step runs through `at(label, step)`: by default it just runs it (and compiles away);
    // the benchmark's profile passes an observer that times each step.
    struct untimed {
        template <class F>
        void operator()(const char*, F&& step) const {
            step();
        }
    };

    // Forward pass and loss; leaves h1, h2 and the residual e.
    template <class At = untimed>
    double forward(At&& at = {}) {
        at("x·W1", [&] { gemm(*x, *W1, h1); });
        at("a(net1), in place", [&] { leaky_in_place(h1); });
        at("h1·W2", [&] { gemm(h1, *W2, h2); });
        at("a(net2), in place", [&] { leaky_in_place(h2); });
        at("h2·W3", [&] { gemm(h2, *W3, e); });
        at("e = out − y, ½‖e‖²", [&] { loss = residual_in_place(e); });
        return loss;
    }

    // Loss and gradient G1, G2, G3.
    template <class At = untimed>
    void loss_grad(At&& at = {}) {
        forward(at);
        at("G3 = h2ᵀ·e", [&] { gemm(h2, e, G3, true, false); });
        at("e·W3ᵀ", [&] { gemm(e, *W3, d2, false, true); });
        at("δ2 = ·⊙a′2, in place", [&] { mask_in_place(d2, h2); });
        at("G2 = h1ᵀ·δ2", [&] { gemm(h1, d2, G2, true, false); });
        at("δ2·W2ᵀ", [&] { gemm(d2, *W2, d1, false, true); });
        at("δ1 = ·⊙a′1, in place", [&] { mask_in_place(d1, h1); });
        at("G1 = xᵀ·δ1", [&] { gemm(*x, d1, G1, true, false); });
    }

    // out = z·W⁻¹ (z B×n, W n×n). Row-major buffers are the column-major transposes, and
    // out·W = z ⟺ Wᵀ·outᵀ = zᵀ: getrs on the LU of W's buffer (the column-major Wᵀ).
    void right_solve(const tensor& z, const tensor& W, tensor& out) {
        const int n = int(W.shape(0)), b = int(z.shape(0));
        std::copy(W.begin(), W.end(), lu.begin());
        cxxlapack::getrf<int>(n, n, lu.data(), n, piv.data());
        std::copy(z.begin(), z.end(), out.begin());
        cxxlapack::getrs<int>('N', n, b, lu.data(), n, piv.data(), out.data(), n);
    }
    // out = h⁻¹·d (h B×B): with h's buffer (the column-major hᵀ) factorised, getrs('T') solves
    // h·Y = R for a column-major R, i.e. the row-major dᵀ; Y comes back as the row-major outᵀ.
    void left_solve(const tensor& h, const tensor& d, tensor& out) {
        const int b = int(h.shape(0)), m = int(d.shape(1));
        std::copy(h.begin(), h.end(), lu.begin());
        cxxlapack::getrf<int>(b, b, lu.data(), b, piv.data());
        transpose(d, t);
        cxxlapack::getrs<int>('T', b, m, lu.data(), b, piv.data(), t.data(), b);
        transpose(t, out);
    }
    static void transpose(const tensor& a, tensor& out) {
        for (std::size_t i = 0; i < a.shape(0); ++i)
            for (std::size_t j = 0; j < a.shape(1); ++j) out(j, i) = a(i, j);
    }
    // dn ⊘= a′, with a′ read from the activation h.
    static void unmask_in_place(tensor& t, const tensor& h) {
        double* p = t.data();
        const double* q = h.data();
        for (std::size_t i = 0, n = t.size(); i < n; ++i) p[i] /= q[i] > 0.0 ? 1.0 : slope;
    }

    // Loss, gradient and the per-layer Newton step D1, D2, D3 (square nets, see the top).
    template <class At = untimed>
    void loss_grad_step(At&& at = {}) {
        loss_grad(at);
        at("Δ3 = h2⁻¹·e", [&] { left_solve(h2, e, D3); });
        at("dnet2 = e·W3⁻¹", [&] { right_solve(e, *W3, dn); });
        at("⊘ a′2", [&] { unmask_in_place(dn, h2); });
        at("Δ2 = h1⁻¹·dnet2", [&] { left_solve(h1, dn, D2); });
        at("dnet1 = dnet2·W2⁻¹", [&] { right_solve(dn, *W2, t); });
        at("⊘ a′1", [&] { unmask_in_place(t, h1); });
        at("Δ1 = x⁻¹·dnet1", [&] { std::swap(t, dn); left_solve(*x, dn, D1); });
    }

    // Loss and H·v (HV1, HV2, HV3) along V1, V2, V3; the gradient itself is not formed.
    template <class At = untimed>
    void loss_hvp(At&& at = {}) {
        forward(at);
        // R-forward
        at("x·V1", [&] { gemm(*x, *V1, Rh1); });
        at("R{h1} = ·⊙a′1, in place", [&] { mask_in_place(Rh1, h1); });
        at("R{h1}·W2", [&] { gemm(Rh1, *W2, Rh2); });
        at("+= h1·V2", [&] { gemm(h1, *V2, Rh2, false, false, 1.0); });
        at("R{h2} = ·⊙a′2, in place", [&] { mask_in_place(Rh2, h2); });
        at("R{out} = R{h2}·W3", [&] { gemm(Rh2, *W3, Re); });
        at("+= h2·V3", [&] { gemm(h2, *V3, Re, false, false, 1.0); });
        // the one backward delta H·v needs, δ2 (δ1 is not: R{x} = 0)
        at("e·W3ᵀ", [&] { gemm(e, *W3, d2, false, true); });
        at("δ2 = ·⊙a′2, in place", [&] { mask_in_place(d2, h2); });
        // R-backward
        at("R{out}·W3ᵀ", [&] { gemm(Re, *W3, Rd2, false, true); });
        at("+= e·V3ᵀ", [&] { gemm(e, *V3, Rd2, false, true, 1.0); });
        at("R{δ2} = ·⊙a′2, in place", [&] { mask_in_place(Rd2, h2); });
        at("R{δ2}·W2ᵀ", [&] { gemm(Rd2, *W2, Rd1, false, true); });
        at("+= δ2·V2ᵀ", [&] { gemm(d2, *V2, Rd1, false, true, 1.0); });
        at("R{δ1} = ·⊙a′1, in place", [&] { mask_in_place(Rd1, h1); });
        // H·v = R{G}
        at("Hv1 = xᵀ·R{δ1}", [&] { gemm(*x, Rd1, HV1, true, false); });
        at("Hv2 = R{h1}ᵀ·δ2", [&] { gemm(Rh1, d2, HV2, true, false); });
        at("+= h1ᵀ·R{δ2}", [&] { gemm(h1, Rd2, HV2, true, false, 1.0); });
        at("Hv3 = R{h2}ᵀ·e", [&] { gemm(Rh2, e, HV3, true, false); });
        at("+= h2ᵀ·R{out}", [&] { gemm(h2, Re, HV3, true, false, 1.0); });
    }
};

}  // namespace bench
