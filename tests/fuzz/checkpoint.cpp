// libFuzzer target: the checkpoint reader (io/checkpoint.hpp). The input is the manifest, then
// after each NUL byte the bytes of one matrix file (g1-0.npy, g1-1.npy, ...; a file past the last
// segment does not exist). Every input is either read into entries that agree with the manifest,
// or refused with a gateaux::error; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <gateaux/io/checkpoint.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    std::vector<std::string_view> parts;
    std::size_t at = 0;
    for (;;) {
        const std::size_t nul = all.find('\0', at);
        parts.push_back(all.substr(at, nul == std::string_view::npos ? std::string_view::npos : nul - at));
        if (nul == std::string_view::npos) break;
        at = nul + 1;
    }
    const auto read = [&](const std::string& name) -> std::string {
        // g1-<k>.npy is part k + 1.
        if (name.size() > 7 && name.compare(0, 3, "g1-") == 0 && name.compare(name.size() - 4, 4, ".npy") == 0) {
            std::size_t k = 0;
            for (std::size_t i = 3; i < name.size() - 4; ++i) {
                if (name[i] < '0' || name[i] > '9' || k > 1000) throw gateaux::file_error("no file '" + name + "'");
                k = k * 10 + std::size_t(name[i] - '0');
            }
            if (k + 1 < parts.size()) return std::string(parts[k + 1]);
        }
        throw gateaux::file_error("gateaux::checkpoint: no file '" + name + "'");
    };
    try {
        const gateaux::state_map m = gateaux::parse_checkpoint(parts[0], "fuzz", read);
        for (const auto& [name, value] : m)
            if (name.empty()) std::abort();
    } catch (const gateaux::error&) {
    }
    return 0;
}
