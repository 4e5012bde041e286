// Tests include/gateaux/core/blas_info.hpp: the fallback-core logic on made-up
// CPUs, its consistency with this machine, and the once-per-process warning.
#include <gateaux/core/blas_info.hpp>

#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>
#include <string>

namespace {

// Redirects std::cerr into a string for the lifetime of the object.
struct capture_cerr {
    std::ostringstream text;
    std::streambuf* saved = std::cerr.rdbuf(text.rdbuf());
    ~capture_cerr() { std::cerr.rdbuf(saved); }
};

std::size_t count_of(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size()))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("recommended core follows the widest vector unit", "[core][blas_info]") {
    using gateaux::detail::recommended_core;
    CHECK(recommended_core(true, true) == "SkylakeX");
    CHECK(recommended_core(true, false) == "Haswell");
    CHECK(recommended_core(false, false).empty());
}

TEST_CASE("recommended core agrees with this CPU's flags", "[core][blas_info]") {
    const std::string core = gateaux::recommended_core();
    if (gateaux::cpu_has_avx512f())
        CHECK(core == "SkylakeX");
    else if (gateaux::cpu_has_avx2())
        CHECK(core == "Haswell");
    else
        CHECK(core.empty());
}

TEST_CASE("old kernels are a fallback only on AVX2 or AVX-512 CPUs", "[core][blas_info]") {
    using gateaux::detail::is_fallback_core;
    for (const char* old : {"Prescott", "Core2", "Nehalem", "Penryn", "Dunnington", "Atom",
                            "Katmai", "Coppermine", "Northwood", "Banias", "Generic", "generic",
                            "PRESCOTT"}) {
        INFO(old);
        CHECK(is_fallback_core(old, true, true));
        CHECK(is_fallback_core(old, true, false));
        CHECK_FALSE(is_fallback_core(old, false, false));
    }
}

TEST_CASE("Sandybridge is a fallback only when AVX2 is present", "[core][blas_info]") {
    using gateaux::detail::is_fallback_core;
    CHECK(is_fallback_core("Sandybridge", true, false));
    CHECK(is_fallback_core("Sandybridge", true, true));
    CHECK_FALSE(is_fallback_core("Sandybridge", false, false));
    CHECK_FALSE(is_fallback_core("Sandybridge", false, true));
}

TEST_CASE("current kernels are never a fallback", "[core][blas_info]") {
    using gateaux::detail::is_fallback_core;
    for (const char* good : {"Haswell", "SkylakeX", "Cooperlake", "Zen", "SapphireRapids",
                             "unknown (not OpenBLAS)"}) {
        INFO(good);
        CHECK_FALSE(is_fallback_core(good, true, true));
    }
}

TEST_CASE("the warning names the core, the CPU and the fix", "[core][blas_info]") {
    using gateaux::detail::slow_blas_message;
    const std::string avx512 = slow_blas_message("Prescott", true, true);
    CHECK(avx512.find("'Prescott'") != std::string::npos);
    CHECK(avx512.find("AVX-512") != std::string::npos);
    CHECK(avx512.find("OPENBLAS_CORETYPE=SkylakeX") != std::string::npos);
    CHECK(avx512.find("docs/performance.md") != std::string::npos);

    const std::string avx2 = slow_blas_message("Nehalem", true, false);
    CHECK(avx2.find("AVX2") != std::string::npos);
    CHECK(avx2.find("OPENBLAS_CORETYPE=Haswell") != std::string::npos);

    CHECK(slow_blas_message("SkylakeX", true, true).empty());
    CHECK(slow_blas_message("Prescott", false, false).empty());
}

TEST_CASE("blas_core_is_fallback agrees with the pure rule", "[core][blas_info]") {
    const std::string core = gateaux::blas_core();
    INFO("BLAS core: " << core);
    CHECK_FALSE(core.empty());
    CHECK(gateaux::blas_core_is_fallback() ==
          gateaux::detail::is_fallback_core(core, gateaux::cpu_has_avx2(),
                                            gateaux::cpu_has_avx512f()));
}

TEST_CASE("warn_if_slow_blas warns at most once per process", "[core][blas_info]") {
    const std::string expected = gateaux::detail::slow_blas_message(
        gateaux::blas_core(), gateaux::cpu_has_avx2(), gateaux::cpu_has_avx512f());
    const bool should_warn = !expected.empty() && !gateaux::detail::blas_warning_silenced();

    capture_cerr captured;
    gateaux::warn_if_slow_blas();
    gateaux::warn_if_slow_blas();
    gateaux::warn_if_slow_blas();
    const std::string out = captured.text.str();

    if (should_warn) {
        CHECK(out == expected + "\n");
    } else {
        CHECK(out.empty());
    }
    CHECK(count_of(out, "gateaux: OpenBLAS") <= 1);
}
