// Terms of the loss besides the data term (symbolic/curvature_path.hpp, penalty_of): l2
// penalties c·½‖P‖² of either sign, through +, − and scale. Checked against the loss's own
// H·v (which differentiates the penalty like any term) and explicit blocks:
//   gnvp and fvp add the penalty's c·v (on a linear squared-error model Gauss–Newton is H);
//   block_solve and block_step include it in D, also a negative one on a bias solved alone;
//   bop's output_damped damps an output bias requested alone.
#include <catch2/catch.hpp>

#include "support/oracle.hpp"

namespace {

using namespace gateaux;
using oracle::rng;
using oracle::sci;

constexpr auto x = input<"x", 4>;
constexpr auto y = target<"y", 3>;
constexpr auto W = param<"W", 4, 3>;
constexpr auto b = bias<"b", 3>;
constexpr auto V = param<"V", 3, 3>;

// [a; b] as one column, a's entries then b's (the order of hessian over wrt(W, b)).
tensor stacked(const tensor& a, const tensor& c) {
    tensor s = tensor::from_shape({a.size() + c.size(), 1});
    std::copy(a.begin(), a.end(), s.begin());
    std::copy(c.begin(), c.end(), s.begin() + std::ptrdiff_t(a.size()));
    return s;
}

}  // namespace

TEST_CASE("gnvp and fvp add an l2 penalty's c·v, of either sign", "[symbolic][penalty]") {
    // Linear output under a sum of squared errors: Gauss–Newton equals the Hessian, penalties included.
    constexpr auto data = sum(squared_error(x * W + b, y));
    constexpr auto loss = data + l2<0.3>(W) - scale<0.5>(l2<1.0>(b));
    constexpr auto w = wrt(W, b);
    CHECK(detail::curvature::penalty_of<std::remove_const_t<decltype(loss)>, std::remove_const_t<decltype(W)>> == 0.3);
    CHECK(detail::curvature::penalty_of<std::remove_const_t<decltype(loss)>, std::remove_const_t<decltype(b)>> == -0.5);
    auto prog = compile(loss, hvp(loss, w), gnvp(loss, w), fvp(loss, w), fvp(data, w));
    rng g(5);
    tensor X = oracle::gaussian(6, 4, g), Y = oracle::gaussian(6, 3, g), w0 = oracle::gaussian(4, 3, g), b0 = oracle::gaussian(1, 3, g);
    tensor vw = oracle::gaussian(4, 3, g), vb = oracle::gaussian(1, 3, g);
    prog.bind(x, X).bind(y, Y).bind(W, w0).bind(b, b0).bind(direction(W), vw).bind(direction(b), vb);
    prog.run();
    CHECK(oracle::rel_error(prog[gnvp(loss, w).of(W)], prog[hvp(loss, w).of(W)]) <= 1e-14);
    CHECK(oracle::rel_error(prog[gnvp(loss, w).of(b)], prog[hvp(loss, w).of(b)]) <= 1e-14);
    const tensor fw = prog[fvp(data, w).of(W)] + 0.3 * vw, fb = prog[fvp(data, w).of(b)] - 0.5 * vb;
    CHECK(oracle::rel_error(prog[fvp(loss, w).of(W)], fw) <= 1e-14);
    CHECK(oracle::rel_error(prog[fvp(loss, w).of(b)], fb) <= 1e-14);
}

TEST_CASE("block_solve includes penalties of either sign, on a bias alone too", "[symbolic][penalty][block_solve]") {
    // tanh hidden layer: the blocks are dense and indefinite; the penalty on b is negative.
    constexpr auto loss = mean(squared_error(tanh(x * W + b) * V, y)) + l2<0.3>(W) - l2<0.05>(b);
    constexpr auto joint = block_solve(loss, wrt(W, b), damped);
    constexpr auto alone = block_solve(loss, wrt(b), damped);
    constexpr auto step = block_step(loss, wrt(W, b), damped);
    constexpr auto w = wrt(W, b);
    auto prog = compile(loss, grad(loss, w), hvp(loss, w), joint, alone, step);
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        rng g(seed);
        const std::size_t batch = 2 + 3 * seed;
        tensor X = oracle::gaussian(batch, 4, g), Y = oracle::gaussian(batch, 3, g), w0 = oracle::wellcond(4, 3, g),
               b0 = oracle::gaussian(1, 3, g, 0.3), v0 = oracle::wellcond(3, 3, g);
        tensor vw = oracle::gaussian(4, 3, g), vb = oracle::gaussian(1, 3, g), lambda = {{seed % 2 == 0 ? 0.0 : 0.2}};
        prog.bind(x, X).bind(y, Y).bind(W, w0).bind(b, b0).bind(V, v0).bind(direction(W), vw).bind(direction(b), vb);
        prog.bind(damping, lambda);
        prog.run();
        const tensor got_joint = stacked(prog[joint.of(W)], prog[joint.of(b)]);
        const tensor got_alone = prog[alone.of(b)];
        const tensor got_step = stacked(prog[step.of(W)], prog[step.of(b)]);
        const tensor grad_joint = stacked(prog[grad(loss, w).of(W)], prog[grad(loss, w).of(b)]);
        tensor h = hessian(prog, loss, w);  // the loss's own Hessian over (W, b): the penalties are in it
        for (std::size_t i = 0; i < h.shape(0); ++i) h(i, i) += lambda(0, 0);
        const oracle::pseudo_inverse hp(h);
        const double tol = std::max(1e-9, 100 * oracle::eps * hp.cond);
        INFO("seed " << seed << " B = " << batch << " λ = " << lambda(0, 0) << " cond " << hp.cond);
        CHECK(sci{oracle::rel_error(got_joint, hp.solve(stacked(vw, vb)))} <= sci{tol});
        CHECK(sci{oracle::rel_error(got_step, hp.solve(grad_joint))} <= sci{tol});
        const tensor hb = xt::view(h, xt::range(12, 15), xt::range(12, 15));
        const oracle::pseudo_inverse hbp(hb);
        CHECK(sci{oracle::rel_error(got_alone, hbp.solve(vb))} <= sci{std::max(1e-9, 100 * oracle::eps * hbp.cond)});
    }
}

TEST_CASE("bop's output_damped damps an output bias requested alone", "[symbolic][penalty][bop]") {
    constexpr auto loss = sum(squared_error(tanh(x * W + b), y));
    constexpr auto d = bop(loss, wrt(b), output_damped);
    constexpr auto w = wrt(W, b);
    auto prog = compile(loss, hvp(loss, w), d);
    rng g(9);
    tensor X = oracle::gaussian(5, 4, g), Y = oracle::gaussian(5, 3, g, 0.3), w0 = oracle::wellcond(4, 3, g), b0 = oracle::gaussian(1, 3, g);
    tensor vw = xt::zeros<double>({4, 3}), vb = oracle::gaussian(1, 3, g), lambda = {{0.7}};
    prog.bind(x, X).bind(y, Y).bind(W, w0).bind(b, b0).bind(direction(W), vw).bind(direction(b), vb).bind(damping, lambda);
    prog.run();
    const tensor got = prog[d.of(b)];
    tensor hb = hessian_block(prog, loss, w, b);
    for (std::size_t i = 0; i < 3; ++i) hb(i, i) += 0.7;
    const oracle::pseudo_inverse hp(hb);
    CHECK(sci{oracle::rel_error(got, hp.solve(vb))} <= sci{std::max(1e-12, 100 * oracle::eps * hp.cond)});
}
