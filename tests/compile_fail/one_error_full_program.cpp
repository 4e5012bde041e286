// A whole training program (the tutorial's 64 → 32 → 10 network) with one mistake, a bias of the
// wrong width: the objective, its data, the initial parameters, L-BFGS, a compiled program with
// every leaf bound, its scalar and predict all accept the invalid loss and network silently, so the
// one message is the bias add's.
// expect: gateaux::bias_add(a, b) requires
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

using namespace gateaux;

constexpr auto x = input<"x", 64>;
constexpr auto y = target<"y", 10>;
constexpr auto W1 = param<"W1", 64, 32>;
#ifdef GATEAUX_SHOULD_FAIL
constexpr auto b1 = bias<"b1", 23>;
#else
constexpr auto b1 = bias<"b1", 32>;
#endif
constexpr auto W2 = param<"W2", 32, 10>;
constexpr auto b2 = bias<"b2", 10>;
constexpr auto net = tanh(x * W1 + b1) * W2 + b2;
constexpr auto loss = mean(cross_entropy(net, y)) + l2<1e-3>(W1, W2);
constexpr auto w = wrt(W1, b1, W2, b2);

int main() {
    const tensor X = xt::zeros<double>({std::size_t{5}, std::size_t{64}});
    const tensor Y = xt::zeros<double>({std::size_t{5}, std::size_t{10}});

    auto f = make_objective(loss, w);
    f.set_data(x, X).set_data(y, Y);
    auto theta = initialize(net, w, init::glorot_normal, 7);
    lbfgs opt;
    stopping stop;
    stop.max_iterations = 1;
    const result r = minimize(f, theta, opt, stop);

    auto prog = compile(loss, grad(loss, w));
    const tensor W1v = xt::zeros<double>({std::size_t{64}, std::size_t{32}});
    const tensor b1v = xt::zeros<double>({std::size_t{1}, std::size_t{32}});
    const tensor W2v = xt::zeros<double>({std::size_t{32}, std::size_t{10}});
    const tensor b2v = xt::zeros<double>({std::size_t{1}, std::size_t{10}});
    prog.bind(x, X).bind(y, Y).bind(W1, W1v).bind(b1, b1v).bind(W2, W2v).bind(b2, b2v);
    prog.run();
    const double l = prog.scalar(loss);

    const tensor P = predict(net, w, theta, x, X);
    return r.iterations + l + P.size() > 0 ? 0 : 1;
}
