// The deep autoencoder of examples/autoencoder.cpp and examples/mpi/autoencoder.cpp (after Martens
// 2010 and Martens & Grosse 2015): 64 → 128 → 32 → 8 → 32 → 128 → 64 with biases, tanh hidden
// layers, a linear 8-unit code layer, identity output; the mean over rows of ½‖out − x‖², the
// inputs being the targets (25 480 parameters).
#pragma once
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

namespace autoencoder {

using namespace gateaux;

constexpr auto x = input<"x", 64>;
constexpr auto y = target<"y", 64>;  // bound to the same pixels as x
constexpr auto W1 = param<"W1", 64, 128>;
constexpr auto W2 = param<"W2", 128, 32>;
constexpr auto W3 = param<"W3", 32, 8>;
constexpr auto W4 = param<"W4", 8, 32>;
constexpr auto W5 = param<"W5", 32, 128>;
constexpr auto W6 = param<"W6", 128, 64>;
constexpr auto b1 = bias<"b1", 128>;
constexpr auto b2 = bias<"b2", 32>;
constexpr auto b3 = bias<"b3", 8>;
constexpr auto b4 = bias<"b4", 32>;
constexpr auto b5 = bias<"b5", 128>;
constexpr auto b6 = bias<"b6", 64>;
constexpr auto code = tanh(tanh(x * W1 + b1) * W2 + b2) * W3 + b3;  // linear code layer
constexpr auto out = tanh(tanh(code * W4 + b4) * W5 + b5) * W6 + b6;
constexpr auto loss = mse(out, y);
constexpr auto w = wrt(W1, b1, W2, b2, W3, b3, W4, b4, W5, b5, W6, b6);

// The error of the best constant output, the mean image: ½·mean_b ‖x_b − x̄‖².
inline double mean_image_error(const tensor& X) {
    double e = 0.0;
    for (std::size_t j = 0; j < X.shape(1); ++j) {
        double m = 0.0, s = 0.0;
        for (std::size_t i = 0; i < X.shape(0); ++i) m += X(i, j);
        m /= double(X.shape(0));
        for (std::size_t i = 0; i < X.shape(0); ++i) s += (X(i, j) - m) * (X(i, j) - m);
        e += 0.5 * s / double(X.shape(0));
    }
    return e;
}

// Weights N(0, 1/fan-in), biases 0, from std::mt19937_64(7), in the order of f's parameters.
template <class F>
param_set initial_weights(const F& f) {
    param_set p = f.parameters_like();
    const std::vector<std::string> names = f.names();
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i < p.size(); ++i) {
        tensor& t = p[i];
        if (names[i][0] == 'b') {
            std::fill(t.begin(), t.end(), 0.0);
            continue;
        }
        std::normal_distribution<double> n(0.0, 1.0 / std::sqrt(double(t.shape(0))));
        for (double& v : t) v = n(rng);
    }
    return p;
}

}  // namespace autoencoder
