#pragma once
// Adagrad (Duchi, Hazan & Singer 2011), the diagonal form, element by element:
//     G ← G + g²,   x ← x − η·g/(√G + ε),   G₀ = initial_accumulator ≥ 0.
// Each coordinate's step shrinks with the gradients it has seen: steep coordinates slow down
// early, coordinates whose gradients are rare or small keep a large step. With a fixed η the
// effective step η/√G only decreases, which is what the method's regret bound needs and what
// makes it forgiving on minibatches (no schedule to tune), and also why it can stall on long runs.
//
// ε is added outside the square root, as in the paper's δ and in PyTorch; it matters only while
// G is near zero (the first steps, or with initial_accumulator = 0 a coordinate whose gradient has
// been zero). initial_accumulator > 0 (TensorFlow's 0.1) bounds the first steps by η·|g|/√G₀.
//
// One gradient per iteration; step() moves x with the gradient it holds and then evaluates the
// gradient at the new point on the current batch (optim/first_order.hpp).
#include <cmath>
#include <string>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux {

struct adagrad_options {
    double learning_rate = 1e-2;       // η
    double epsilon = 1e-10;            // ε > 0, outside the square root
    double initial_accumulator = 0.0;  // G₀ ≥ 0, every entry
};

namespace detail {
// Adagrad on one block: acc ← acc + g², step = −η·g/(√acc + ε). Returns ‖step‖². Shampoo's
// grafting (optim/shampoo.hpp) takes the norm of this step for each parameter.
inline double adagrad_block(const tensor& g, tensor& acc, double eta, double eps, tensor& step) {
    double sq = 0.0;
    const double* gp = g.data();
    double* ap = acc.data();
    double* sp = step.data();
    for (std::size_t k = 0, n = g.size(); k < n; ++k) {
        ap[k] += gp[k] * gp[k];
        sp[k] = -eta * gp[k] / (std::sqrt(ap[k]) + eps);
        sq += sp[k] * sp[k];
    }
    return sq;
}

inline void check_adagrad_options(const adagrad_options& o, const char* who) {
    if (!(o.learning_rate > 0.0 && std::isfinite(o.learning_rate)))
        throw error(std::string(who) + ": learning_rate (the learning rate) must be finite and > 0, got " +
                    number_string(o.learning_rate));
    if (!(o.epsilon > 0.0 && std::isfinite(o.epsilon)))
        throw error(std::string(who) + ": epsilon must be finite and > 0, got " + number_string(o.epsilon));
    if (!(o.initial_accumulator >= 0.0 && std::isfinite(o.initial_accumulator)))
        throw error(std::string(who) + ": initial_accumulator (the initial accumulator) must be finite and >= 0, got " +
                    number_string(o.initial_accumulator));
}
}  // namespace detail

class adagrad final : public optimizer {
public:
    explicit adagrad(adagrad_options o = {}) : o_(o) { detail::check_adagrad_options(o, "gateaux::adagrad"); }
    std::string name() const override { return "adagrad"; }

    // The accumulated squared gradients G, shaped like the parameters.
    const param_set& accumulator() const { return acc_; }

    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        step_ = x.zeros_like();
        acc_ = x.zeros_like();
        acc_.fill(o_.initial_accumulator);
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, o_.learning_rate, ""};
    }
    step_outcome step(objective& f, param_set& x) override {
        double moved = 0.0;
        for (std::size_t b = 0; b < x.size(); ++b) moved += detail::adagrad_block(g_[b], acc_[b], o_.learning_rate, o_.epsilon, step_[b]);
        x.axpy(1.0, step_);
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), std::sqrt(moved), o_.learning_rate, ""};
    }

    void state(state_archive& a) override { a("gradient", g_), a("accumulator", acc_); }

private:
    adagrad_options o_;
    param_set g_, step_, acc_;
};

}  // namespace gateaux
