#pragma once
// Gradient descent with a fixed step: x ← x − η·∇L(x). One gradient per iteration. The baseline
// every other optimizer is measured against (and the seed's linear-regression comparison).
#include "minimize.hpp"

namespace gateaux {

struct gradient_descent_options {
    double learning_rate = 0.01;  // η
};

class gradient_descent final : public optimizer {
public:
    explicit gradient_descent(gradient_descent_options o = {}) : gradient_descent(o.learning_rate) {}
    // The same, the step size alone: gradient_descent(0.1).
    explicit gradient_descent(double learning_rate) : eta_(learning_rate) {
        if (!(learning_rate > 0.0 && std::isfinite(learning_rate)))
            throw error("gateaux::gradient_descent: the learning rate must be > 0 and finite, got " + number_string(learning_rate));
    }
    std::string name() const override { return "gd"; }
    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, eta_, ""};
    }
    step_outcome step(objective& f, param_set& x) override {
        x.axpy(-eta_, g_);
        const double step = eta_ * g_.norm();
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), step, eta_, ""};
    }

    void state(state_archive& a) override { a("gradient", g_); }

private:
    double eta_;
    param_set g_;
};

}  // namespace gateaux
