// Proves the compile-fail harness itself; uses no gateaux header.
// A real case looks the same: include the header, build the valid variant by
// default and the mistake under GATEAUX_SHOULD_FAIL, and name the fragment of
// the static_assert message the user must see first.
// expect: sample: N must be positive
// max-bytes: 2048

template <int N>
struct positive {
    static_assert(N > 0, "sample: N must be positive");
    static constexpr int value = N;
};

int main() {
#ifdef GATEAUX_SHOULD_FAIL
    return positive<0>::value;
#else
    return positive<1>::value - 1;
#endif
}
