// An element-wise product of a batch×10 and a batch×9 expression.
// expect: gateaux::hadamard(a, b) requires equal shapes
// max-bytes: 2048
#include <gateaux/gateaux.hpp>

int main() {
    using namespace gateaux;
    constexpr auto a = input<"a", 10>;
#ifdef GATEAUX_SHOULD_FAIL
    constexpr auto b = input<"b", 9>;
#else
    constexpr auto b = input<"b", 10>;
#endif
    auto c = hadamard(a, b);
    (void)c;
}
