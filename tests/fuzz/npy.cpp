// libFuzzer target: the .npy reader (io/npy.hpp) on arbitrary bytes. Every input either parses
// into a matrix that survives a round trip through the writer, or is refused with
// gateaux::file_error; anything else is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <gateaux/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    gateaux::npy_options opt;
    opt.allow_non_finite = size % 2 == 0;
    try {
        const gateaux::tensor t = gateaux::parse_npy(bytes, "fuzz", opt);
        const gateaux::tensor back = gateaux::parse_npy(gateaux::npy_bytes(t), "round trip", gateaux::npy_options{true});
        if (back.shape() != t.shape() || (t.size() != 0 && std::memcmp(back.data(), t.data(), t.size() * sizeof(double)) != 0))
            std::abort();
    } catch (const gateaux::file_error&) {
    }
    return 0;
}
