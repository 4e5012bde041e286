// Element-wise activation kernels: gateaux's leaky_relu and relu nodes (elementwise_op<F, K>::value,
// exactly what a program runs) against branch-free loops computing the same values, on inputs
// with random signs. Each is measured on one fixed input (what a benchmark loop repeats: the
// branch predictor can learn the sign pattern of a small matrix) and cycling through 32 different
// inputs (what training sees: a new batch every step), so the cost of a mispredicted branch per
// entry shows.
//   bench_activation [--rounds N] [--reps M] [--warmup K]      (defaults 10 × 100, warm-up 10)
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <gateaux/gateaux.hpp>

#include "support.hpp"

namespace {

using namespace bench;

constexpr double slope = 0.1;
using leaky = gateaux::elementwise_op<gateaux::leaky_relu_fn<slope>, 0>;
using leaky_d = gateaux::elementwise_op<gateaux::leaky_relu_fn<slope>, 1>;
using relu = gateaux::elementwise_op<gateaux::relu_fn, 0>;

// The same functions without a conditional branch under g++ 12 -O2 (checked in the disassembly).
void leaky_branch_free(tensor& out, const tensor& a) {
    const double* p = a.data();
    double* q = out.data();
    for (std::size_t i = 0, n = a.size(); i < n; ++i) q[i] = std::max(p[i], slope * p[i]);
}
// g++ turns every spelling of max(x, 0) with a literal 0 we tried into a branch; clearing x when
// its sign bit is set is branch-free (and equals relu_fn::f for all but negative-signed NaNs).
void relu_branch_free(tensor& out, const tensor& a) {
    const double* p = a.data();
    double* q = out.data();
    for (std::size_t i = 0, n = a.size(); i < n; ++i) {
        const auto bits = std::bit_cast<std::int64_t>(p[i]);
        q[i] = std::bit_cast<double>(bits & ~(bits >> 63));
    }
}

void run(std::size_t n, const options& opt) {
    constexpr std::size_t n_inputs = 32;
    std::vector<tensor> inputs;
    for (std::size_t k = 0; k < n_inputs; ++k) inputs.push_back(random_tensor(n, n, 100 + k));
    tensor out = tensor::from_shape({n, n}), ref = tensor::from_shape({n, n});

    // Same values (bit for bit) before timing.
    leaky::value(ref, inputs[0]);
    leaky_branch_free(out, inputs[0]);
    require_close("leaky_relu " + std::to_string(n) + "²", out, ref, 0.0);
    relu::value(ref, inputs[0]);
    relu_branch_free(out, inputs[0]);
    require_close("relu " + std::to_string(n) + "²", out, ref, 0.0);

    std::size_t next = 0;
    auto cycling = [&] { return std::cref(inputs[next++ % n_inputs]); };
    const comparison c = interleave(
        {
            {"gateaux leaky_relu, fixed", [&] { leaky::value(out, inputs[0]); }},
            {"branch-free, fixed", [&] { leaky_branch_free(out, inputs[0]); }},
            {"gateaux leaky_relu, cycling", [&] { leaky::value(out, cycling()); }},
            {"branch-free, cycling", [&] { leaky_branch_free(out, cycling()); }},
            {"gateaux leaky_relu′, cycling", [&] { leaky_d::value(out, cycling()); }},
            {"gateaux relu, cycling", [&] { relu::value(out, cycling()); }},
            {"branch-free relu, cycling", [&] { relu_branch_free(out, cycling()); }},
        },
        opt.rounds, opt.reps, opt.warmup);
    std::printf("%zu×%zu (%zu entries, half of them negative)\n", n, n, n * n);
    print_time_header();
    for (const auto& name : c.names) print_time(name, c.of(name));
    std::printf("  leaky_relu gateaux / branch-free: fixed input %.2f, cycling inputs %.2f\n\n",
                summarize(c.ratios("gateaux leaky_relu, fixed", "branch-free, fixed")).median,
                summarize(c.ratios("gateaux leaky_relu, cycling", "branch-free, cycling")).median);
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse_options(argc, argv, {10, 100, 10});
    print_environment("bench_activation: element-wise activation kernels, gateaux vs branch-free loops");
    run(64, opt);
    run(256, opt);
    std::printf("load average  %s at end\n", load_average().c_str());
    return 0;
}
