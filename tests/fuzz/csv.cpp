// libFuzzer target: the CSV reader (io/csv.hpp) on arbitrary bytes. Every input either parses
// into a matrix whose shape accounts for its values, or is refused with gateaux::file_error;
// anything else (another exception, a crash, a sanitizer report) is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <gateaux/io/csv.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The first byte chooses the options, the rest is the file.
    gateaux::csv_options opt;
    opt.delimiter = (data[0] & 1) ? ';' : ',';
    opt.allow_non_finite = (data[0] & 2) != 0;
    opt.header_rows = (data[0] >> 2) & 3;
    opt.columns = (data[0] >> 4) & 3;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        const gateaux::tensor t = gateaux::parse_csv(text, "fuzz", opt);
        if (t.shape(0) == 0 || t.shape(1) == 0) std::abort();  // an empty table must be refused
        if (opt.columns != 0 && t.shape(1) != opt.columns) std::abort();
        if (!opt.allow_non_finite)
            for (double v : t)
                if (!std::isfinite(v)) std::abort();
    } catch (const gateaux::file_error&) {
    }
    return 0;
}
