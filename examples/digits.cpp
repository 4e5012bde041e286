// gateaux in one minute: a network is a C++ expression; the compiler turns it, its gradient
// and its Hessian-vector product into one evaluation schedule. Here: the digits data set
// (8×8 images, 10 classes), a 64→32→10 tanh network, its loss, and one gradient step.
#include <iostream>
#include <random>

#include <gateaux/gateaux.hpp>

using namespace gateaux;

int main(int argc, char** argv) {
    // 1. The model, written as math. Widths are checked by the compiler.
    constexpr auto x = input<"x", 64>;
    constexpr auto y = target<"y", 10>;
    constexpr auto out = mlp<64, 32, 10>(x, act::tanh, act::identity, with_biases);
    constexpr auto loss = mse(out, y);  // (1/B) Σ_b ½‖out_b − y_b‖²
    std::cout << "network: " << to_string(out) << "\nloss:    " << to_string(loss) << "\n";

    // 2. Real data: pixels scaled to [0, 1], labels one-hot.
    const tensor data = read_csv(argc > 1 ? argv[1] : "examples/data/digits.csv");
    const tensor X = cols(data, 0, 64) / 16.0;
    const tensor Y = one_hot(cols(data, 64, 1), 10);
    std::cout << "data:    " << X.shape(0) << " digits, " << X.shape(1) << " pixels each\n";

    // 3. Parameters, initialised with a fixed seed.
    std::mt19937_64 rng(42);
    auto init = [&](std::size_t r, std::size_t c, double scale) {
        std::normal_distribution<double> n(0.0, scale);
        tensor t({r, c});
        for (double& v : t) v = n(rng);
        return t;
    };
    tensor W1 = init(64, 32, 1.0 / 8.0), b1 = init(1, 32, 0.0), W2 = init(32, 10, 1.0 / 5.7), b2 = init(1, 10, 0.0);

    // 4. Loss and gradient in one pass; bind tensors to the leaves by name.
    auto w = wrt(param<"W1", 64, 32>, bias<"b1", 32>, param<"W2", 32, 10>, bias<"b2", 10>);
    auto g = grad(loss, w);
    auto prog = compile(loss, g);
    prog.bind(x, X).bind(y, Y).bind("W1", W1).bind("b1", b1).bind("W2", W2).bind("b2", b2);
    prog.run();
    std::cout << "loss at the initial weights:   " << prog.scalar(loss) << "\n";

    // 5. One gradient-descent step on every parameter, then evaluate again.
    const double step = 0.1;
    W1 -= step * prog[get<0>(g)];
    b1 -= step * prog[get<1>(g)];
    W2 -= step * prog[get<2>(g)];
    b2 -= step * prog[get<3>(g)];
    prog.run();
    std::cout << "loss after one gradient step:  " << prog.scalar(loss) << "\n";
    std::cout << "BLAS kernels in use: " << blas_core() << "\n";
}
