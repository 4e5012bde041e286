#pragma once
// First-order methods with fixed steps: momentum (heavy ball or Nesterov) and Adam. One gradient
// per iteration, so they suit minibatches: like gradient_descent, step() moves x with the
// gradient it holds and then evaluates the gradient at the new point on the current batch.
#include <cmath>
#include <string>

#include "../core/errors.hpp"
#include "minimize.hpp"
#include "param_set.hpp"

namespace gateaux {

enum class momentum_kind { heavy_ball, nesterov };

struct momentum_options {
    double learning_rate = 1e-2;  // η
    double beta = 0.9;            // β, 0 ≤ β < 1
    momentum_kind kind = momentum_kind::heavy_ball;
};

// Heavy ball (Polyak):  v ← β·v − η·∇f(x),  x ← x + v.
// Nesterov, written at the look-ahead point y = x + β·v (Sutskever et al. 2013), so the one
// gradient per step is taken where the loss is reported:  v ← β·v − η·∇f(y),  y ← y + β·v − η·∇f(y).
class momentum final : public optimizer {
public:
    explicit momentum(momentum_options o = {}) : o_(o) {
        if (!(o.learning_rate > 0.0 && std::isfinite(o.learning_rate)))
            throw error("gateaux::momentum: the learning rate must be > 0 and finite, got learning_rate = " +
                        number_string(o.learning_rate));
        if (!(o.beta >= 0.0 && o.beta < 1.0)) throw error("gateaux::momentum: beta must be in [0, 1), got " + number_string(o.beta));
    }
    std::string name() const override { return o_.kind == momentum_kind::nesterov ? "nesterov" : "momentum"; }
    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        v_ = x.zeros_like();
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, o_.learning_rate, ""};
    }
    step_outcome step(objective& f, param_set& x) override {
        const double eta = o_.learning_rate, beta = o_.beta;
        const bool nesterov = o_.kind == momentum_kind::nesterov;
        double moved = 0.0;  // ‖Δx‖²
        for (std::size_t b = 0; b < x.size(); ++b) {
            double* xp = x[b].data();
            double* vp = v_[b].data();
            const double* gp = g_[b].data();
            for (std::size_t k = 0, n = x[b].size(); k < n; ++k) {
                vp[k] = beta * vp[k] - eta * gp[k];
                const double dx = nesterov ? beta * vp[k] - eta * gp[k] : vp[k];
                xp[k] += dx;
                moved += dx * dx;
            }
        }
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), std::sqrt(moved), eta, ""};
    }

    void state(state_archive& a) override { a("gradient", g_), a("velocity", v_); }

private:
    momentum_options o_;
    param_set g_, v_;
};

struct adam_options {
    double learning_rate = 1e-3;  // η
    double beta1 = 0.9;           // decay of the first moment, 0 ≤ β1 < 1
    double beta2 = 0.999;         // decay of the second moment, 0 ≤ β2 < 1
    double epsilon = 1e-8;        // ε > 0
    bool bias_correction = true;
};

// Adam (Kingma & Ba 2015), element by element, at iteration t = 1, 2, ...:
//     m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²,
//     x ← x − η·m̂/(√v̂ + ε),   m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ)   (m̂ = m, v̂ = v without bias correction).
// Each coordinate moves by about η at most, whatever the scale of the gradient.
class adam final : public optimizer {
public:
    explicit adam(adam_options o = {}) : o_(o) {
        if (!(o.learning_rate > 0.0 && std::isfinite(o.learning_rate)))
            throw error("gateaux::adam: the learning rate must be > 0 and finite, got learning_rate = " + number_string(o.learning_rate));
        if (!(o.beta1 >= 0.0 && o.beta1 < 1.0 && o.beta2 >= 0.0 && o.beta2 < 1.0))
            throw error("gateaux::adam: beta1 and beta2 must be in [0, 1), got beta1 = " + number_string(o.beta1) +
                        ", beta2 = " + number_string(o.beta2));
        if (!(o.epsilon > 0.0 && std::isfinite(o.epsilon)))
            throw error("gateaux::adam: epsilon must be > 0 and finite, got " + number_string(o.epsilon));
    }
    std::string name() const override { return "adam"; }
    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        m_ = x.zeros_like();
        v_ = x.zeros_like();
        t_ = 0;
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, o_.learning_rate, ""};
    }
    step_outcome step(objective& f, param_set& x) override {
        ++t_;
        const double b1 = o_.beta1, b2 = o_.beta2, eps = o_.epsilon;
        const double c1 = o_.bias_correction ? 1.0 - std::pow(b1, double(t_)) : 1.0;
        const double c2 = o_.bias_correction ? 1.0 - std::pow(b2, double(t_)) : 1.0;
        const double eta = o_.learning_rate / c1, root_c2 = std::sqrt(c2);
        double moved = 0.0;
        for (std::size_t b = 0; b < x.size(); ++b) {
            double* xp = x[b].data();
            double* mp = m_[b].data();
            double* vp = v_[b].data();
            const double* gp = g_[b].data();
            for (std::size_t k = 0, n = x[b].size(); k < n; ++k) {
                mp[k] = b1 * mp[k] + (1.0 - b1) * gp[k];
                vp[k] = b2 * vp[k] + (1.0 - b2) * gp[k] * gp[k];
                // η·(m/c1)/(√(v/c2) + ε), with the corrections folded into η and ε.
                const double dx = -eta * mp[k] * root_c2 / (std::sqrt(vp[k]) + eps * root_c2);
                xp[k] += dx;
                moved += dx * dx;
            }
        }
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), std::sqrt(moved), o_.learning_rate, ""};
    }

    void state(state_archive& a) override { a("gradient", g_), a("first_moment", m_), a("second_moment", v_), a("t", t_); }

private:
    adam_options o_;
    param_set g_, m_, v_;
    std::size_t t_ = 0;
};

}  // namespace gateaux
