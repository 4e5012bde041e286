// The three derivative laws (tests/support/laws.hpp) for every linear and bilinear op and every
// reduction/broadcast: matmul (plain and transposed operands, one operand used twice, input ×
// parameter), add, sub, bias add, hadamard, scale, negation, transpose, sum, mean, row_sum,
// col_sum, col_broadcast, row_broadcast, fill, fill_mean. One TEST_CASE per law, one row per op.
// Operands are parameters so the checkers can move them; data leaves get several batch sizes.
#include <catch2/catch.hpp>

#include <tuple>

#include <gateaux/gateaux.hpp>

#include "support/law_cases.hpp"

namespace {

using namespace gateaux;

constexpr auto A = param<"A", 3, 4>;
constexpr auto C = param<"C", 3, 4>;   // A's shape, for binary element-wise ops
constexpr auto B = param<"B", 4, 2>;
constexpr auto At = param<"At", 4, 3>;  // read transposed: Aᵀ is 3×4
constexpr auto Bt = param<"Bt", 2, 4>;  // read transposed: Bᵀ is 4×2
constexpr auto p = param<"p", 1, 1>;
constexpr auto q = param<"q", 1, 1>;
constexpr auto r = param<"r", 1, 5>;
constexpr auto s = param<"s", 5, 1>;
constexpr auto b = bias<"b", 4>;
constexpr auto g = param<"g", 3, 1>;    // a column, for col_broadcast
constexpr auto W = param<"W", 6, 4>;
constexpr auto x = input<"x", 6>;       // batch×6

laws::options batched() { return {.batches = {1, 3, 8}}; }

auto rows() {
    using laws::make_row;
    return std::tuple{
        make_row("matmul A·B", A * B, wrt(A, B)),
        make_row("matmul 1×1·1×1", p * q, wrt(p, q)),
        make_row("matmul row·column (inner product)", r * s, wrt(r, s)),
        make_row("matmul column·row (outer product)", s * r, wrt(r, s)),
        make_row("matmul Aᵀ·B", transpose(At) * B, wrt(At, B)),
        make_row("matmul A·Bᵀ", A * transpose(Bt), wrt(A, Bt)),
        make_row("matmul Aᵀ·Bᵀ", transpose(At) * transpose(Bt), wrt(At, Bt)),
        make_row("matmul A·Aᵀ (one parameter on both sides)", A * transpose(A), wrt(A)),
        make_row("matmul Aᵀ·A", transpose(A) * A, wrt(A)),
        make_row("matmul x·W (batch input)", x * W, wrt(W), batched()),
        make_row("matmul A·B w.r.t. B only", A * B, wrt(B)),
        make_row("add A + C", add(A, C), wrt(A, C)),
        make_row("add A + A", add(A, A), wrt(A)),
        make_row("sub A − C", sub(A, C), wrt(A, C)),
        make_row("sub A − (A·B)·Bt (A on both sides)", A - (A * B) * Bt, wrt(A, B, Bt)),
        make_row("bias add A + b", A + b, wrt(A, b)),
        make_row("bias add x·W + b (batch)", x * W + b, wrt(W, b), batched()),
        make_row("hadamard A ⊙ C", hadamard(A, C), wrt(A, C)),
        make_row("hadamard A ⊙ A", hadamard(A, A), wrt(A)),
        make_row("scale 2.5·A", scale<2.5>(A), wrt(A)),
        make_row("negation −A", -A, wrt(A)),
        make_row("transpose Aᵀ", transpose(A), wrt(A)),
        make_row("transpose (A·B)ᵀ", transpose(A * B), wrt(A, B)),
        make_row("sum", sum(A), wrt(A)),
        make_row("sum over a batch", sum(x * W), wrt(W), batched()),
        make_row("mean", mean(A), wrt(A)),
        make_row("mean over a batch", mean(x * W), wrt(W), batched()),
        make_row("row_sum", row_sum(A), wrt(A)),
        make_row("row_sum over a batch", row_sum(x * W), wrt(W), batched()),
        make_row("col_sum", col_sum(A), wrt(A)),
        make_row("col_sum over a batch", col_sum(x * W), wrt(W), batched()),
        make_row("col_broadcast<5>", col_broadcast<5>(g), wrt(g)),
        make_row("row_broadcast<3>", row_broadcast<3>(b), wrt(b)),
        make_row("fill<3, 4>", fill<3, 4>(p), wrt(p)),
        make_row("fill_mean<3, 4>", fill_mean<3, 4>(p), wrt(p)),
        make_row("fill_mean<3, 4> of a product", fill_mean<3, 4>(p * q), wrt(p, q)),
    };
}

}  // namespace

TEST_CASE("tangent law: jvp equals central differences of the value (linear ops)", "[symbolic][laws][tangent]") {
    laws::check_tangent_rows(rows());
}

TEST_CASE("adjoint law: <J v, u> = <v, Jᵀ u> (linear ops)", "[symbolic][laws][adjoint]") {
    laws::check_adjoint_rows(rows());
}

TEST_CASE("second-order law: hvp of sum(U ⊙ op) equals differences of the gradient, and is symmetric (linear ops)",
          "[symbolic][laws][hvp]") {
    laws::check_second_order_rows(rows());
}
