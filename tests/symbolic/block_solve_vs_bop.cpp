// Where the functional inverse is exact (bop's chain or master formula, batch within the layer
// input's width), the exact layer block solve without damping must give the same H_l⁺·v: the
// random biased networks of tests/symbolic/bias_networks.hpp, joint blocks of every layer, at
// batches 1, the limit and between, to 1e-10 (relative).
#include <catch2/catch.hpp>

#include "symbolic/bias_networks.hpp"

namespace {

using namespace gateaux;
using bias_networks::random_net;

struct tally {
    std::size_t configurations = 0, checks = 0;
    double worst = 0.0;
    std::string where;
};

template <class Net>
void check(tally& t, std::size_t batch, std::uint64_t seed) {
    constexpr auto loss = Net::loss;
    constexpr auto by_bop = bop(loss, Net::every, accept_newton_solution);
    constexpr auto by_block = block_solve(loss, Net::every);
    auto prog = compile(loss, by_bop, by_block);
    bias_networks::instance<Net> data(batch, seed);  // its data, weights and directions
    data.bind(prog);
    prog.run();
    ++t.configurations;
    bias_networks::instance<Net>::each([&]<std::size_t k>() {
        constexpr auto f = Net::template formula<k>;
        if constexpr (f == detail::bop::formula::chain || f == detail::bop::formula::master) {
            for (const auto& [got, want] : {std::pair{prog[by_block.of(Net::template W<k>)], prog[by_bop.of(Net::template W<k>)]},
                                            std::pair{prog[by_block.of(Net::template b<k>)], prog[by_bop.of(Net::template b<k>)]}}) {
                const double err = oracle::rel_error(got, want);
                INFO(Net::describe() << " | B = " << batch << " | seed " << seed << " | layer " << k << " | "
                                     << bias_networks::formula_name(f));
                CHECK(oracle::sci{err} <= oracle::sci{1e-10});
                ++t.checks;
                if (err > t.worst) t.worst = err, t.where = Net::describe() + " | layer " + std::to_string(k);
            }
        }
    });
}

template <std::uint64_t... S>
void check_seeds(tally& t) {
    (
        [&] {
            using Net = random_net<S>;
            if constexpr (Net::usable) {
                std::size_t limit = std::size_t(Net::n[0]);
                for (std::size_t k = 0; k < Net::depth; ++k) limit = std::min(limit, std::size_t(Net::n[k]));
                for (std::size_t b : {std::size_t(1), limit, (limit + 2) / 2}) check<Net>(t, b, 31 * S + b);
            }
        }(),
        ...);
}

}  // namespace

TEST_CASE("block_solve without damping equals bop where the functional inverse is exact", "[symbolic][block_solve][bop]") {
    tally t;
    check_seeds<0, 2, 3, 7, 9, 12, 13, 15, 19, 22, 25, 27, 30, 32, 33, 39, 43, 46, 47, 52, 53, 54>(t);
    std::printf("block_solve against bop: %zu configurations, %zu blocks; largest difference %.3g at %s\n", t.configurations,
                t.checks, t.worst, t.where.c_str());
    CHECK(t.checks >= 60);
}
