#pragma once
// Which BLAS kernels run our matrix products, and a one-time warning when
// OpenBLAS picked a slow fallback on a CPU that could do much better.
// Debian 12's OpenBLAS 0.3.21 does not recognise some recent CPUs and falls
// back to its 'Prescott' (SSE3) kernels: about 5x slower DGEMM on AVX-512
// hardware. OpenBLAS reads OPENBLAS_CORETYPE only when it is loaded, so all we
// can do from inside the process is say so (see docs/performance.md).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

// Weak: resolves to null when the program links a BLAS other than OpenBLAS.
extern "C" char* openblas_get_corename(void) __attribute__((weak));
// dgemm_, which every BLAS has, under a name of our own (no clash with any
// BLAS header's prototype). See blas_core() for why we refer to it.
extern "C" void gateaux_detail_blas_anchor(void) __asm__("dgemm_");

namespace gateaux {

namespace detail {

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

inline std::string recommended_core(bool avx2, bool avx512f) {
    if (avx512f) return "SkylakeX";
    if (avx2) return "Haswell";
    return "";
}

// OpenBLAS's generic and pre-AVX2 kernel sets: a waste on an AVX2/AVX-512 CPU.
// Sandybridge (AVX without FMA) only counts when AVX2 is present.
inline bool is_fallback_core(std::string_view core, bool avx2, bool avx512f) {
    if (!avx2 && !avx512f) return false;
    static constexpr std::array<std::string_view, 11> old_cores = {
        "Prescott", "Core2",      "Nehalem",   "Penryn",  "Dunnington", "Atom",
        "Katmai",   "Coppermine", "Northwood", "Banias",  "Generic"};
    for (auto name : old_cores)
        if (iequals(core, name)) return true;
    return avx2 && iequals(core, "Sandybridge");
}

// The warning text for this core and CPU, or "" when there is nothing to say.
inline std::string slow_blas_message(std::string_view core, bool avx2, bool avx512f) {
    if (!is_fallback_core(core, avx2, avx512f)) return "";
    std::string msg = "gateaux: OpenBLAS is using its '" + std::string(core) +
                      "' kernels on a CPU with " + (avx512f ? "AVX-512" : "AVX2") +
                      "; export OPENBLAS_CORETYPE=" + recommended_core(avx2, avx512f);
    msg += avx512f ? " for about 5x faster matrix products" : " for faster matrix products";
    return msg + " (see docs/performance.md)";
}

inline bool blas_warning_silenced() {
    const char* v = std::getenv("GATEAUX_NO_BLAS_WARNING");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

}  // namespace detail

// OpenBLAS's name for the kernels it runs ("Haswell", "SkylakeX", "Prescott", ...).
inline std::string blas_core() {
    // With --as-needed (the default of Debian's and Ubuntu's g++) a weak reference
    // alone does not keep the BLAS library linked, and a program that does no
    // matrix product yet would report "not OpenBLAS". One strong reference does.
    void (*volatile anchor)(void) = &gateaux_detail_blas_anchor;
    (void)anchor;
    if (openblas_get_corename == nullptr) return "unknown (not OpenBLAS)";
    const char* name = openblas_get_corename();
    return name != nullptr ? std::string(name) : std::string("unknown");
}

inline bool cpu_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

inline bool cpu_has_avx512f() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

// The OPENBLAS_CORETYPE that suits this CPU, or "" if none is better than the default.
inline std::string recommended_core() {
    return detail::recommended_core(cpu_has_avx2(), cpu_has_avx512f());
}

// True when OpenBLAS runs generic or pre-AVX2 kernels on an AVX2/AVX-512 CPU.
inline bool blas_core_is_fallback() {
    return detail::is_fallback_core(blas_core(), cpu_has_avx2(), cpu_has_avx512f());
}

// Prints the slow-BLAS warning to std::cerr at most once per process; silent
// when GATEAUX_NO_BLAS_WARNING is set (to anything but "" or "0"). Never
// changes the environment.
inline void warn_if_slow_blas() {
    static const bool done = [] {
        if (detail::blas_warning_silenced()) return true;
        const std::string msg =
            detail::slow_blas_message(blas_core(), cpu_has_avx2(), cpu_has_avx512f());
        if (!msg.empty()) std::cerr << msg << '\n';
        return true;
    }();
    (void)done;
}

}  // namespace gateaux
