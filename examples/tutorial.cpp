// A first training program: digits from a CSV file, a 64 → 32 → 10 tanh network with biases,
// trained by L-BFGS; prints the held-out accuracy and saves the model as a checkpoint.
//
//   example_tutorial [--data FILE] [--out DIR]    (from the repository root)
//
// FILE defaults to examples/data/digits.csv, DIR (the checkpoint) to build/tutorial.ckpt.
// Exits 1 if the held-out accuracy is below 90%.
#include <cstdio>
#include <string>

#include <gateaux/gateaux.hpp>

using namespace gateaux;

// The network and its loss are types: a shape mistake here is a compile error.
constexpr auto x = input<"x", 64>;    // a batch of 8×8 images, one per row
constexpr auto y = target<"y", 10>;   // their digits, one-hot
constexpr auto W1 = param<"W1", 64, 32>;
constexpr auto b1 = bias<"b1", 32>;
constexpr auto W2 = param<"W2", 32, 10>;
constexpr auto b2 = bias<"b2", 10>;
// One hidden layer; the same network as mlp<64, 32, 10>(x, act::tanh, act::identity, with_biases).
constexpr auto net = tanh(x * W1 + b1) * W2 + b2;
constexpr auto loss = mean(cross_entropy(net, y)) + l2<1e-3>(W1, W2);   // softmax cross-entropy, weight decay
constexpr auto w = wrt(W1, b1, W2, b2);

int main(int argc, char** argv) {
    std::string data_path = "examples/data/digits.csv", out_dir = "build/tutorial.ckpt";
    for (int i = 1; i < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--data" && i + 1 < argc) data_path = argv[i + 1];
        else if (a == "--out" && i + 1 < argc) out_dir = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: %s [--data FILE] [--out DIR]\n", argv[0]);
            return 2;
        }
    }

    // 1797 rows: 64 pixel intensities (0..16), then the digit (0..9).
    const tensor data = read_csv(data_path);
    const split s = train_test_split(cols(data, 0, 64), one_hot(cols(data, 64, 1), 10), 0.2, 42);
    standardizer scaler(s.train_x);   // mean and standard deviation of the training rows only
    const tensor X_train = scaler.apply(s.train_x), X_test = scaler.apply(s.test_x);
    std::printf("network: %s\n%zu training rows, %zu held out\n", to_string(net).c_str(), X_train.shape(0),
                X_test.shape(0));

    auto f = make_objective(loss, w);
    f.set_data(x, X_train).set_data(y, s.train_y);
    auto theta = initialize(net, w, init::glorot_normal, 7);   // seeded, biases zero; theta[W1] is W1's

    lbfgs opt;
    stopping stop;
    stop.max_iterations = 200;
    stop.gradient_tolerance = 1e-5;
    stop.print_every = 20;   // progress on a terminal, every 20 iterations
    const result r = minimize(f, theta, opt, stop);
    std::printf("%s: %s after %zu iterations, training loss %.4f\n", r.optimizer.c_str(), to_string(r.reason),
                r.iterations, r.final_loss);

    // The parameters and the scaler's statistics: checkpoint().add(...).load(out_dir) reads them back.
    checkpoint().add("parameters", theta).add("scaler", scaler).save(out_dir);
    std::printf("model saved in %s\n", out_dir.c_str());

    const double acc = accuracy(predict(net, w, theta, x, X_test), s.test_y);   // on the held-out rows
    const bool ok = acc >= 0.90;
    std::printf("%s held-out accuracy %.4f (at least 0.90)\n", ok ? "[ok]" : "[FAILED]", acc);
    return ok ? 0 : 1;
}
