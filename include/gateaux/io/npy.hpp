#pragma once
// NumPy .npy files: a matrix in, a matrix out.
//
//   write_npy(path, t)           the tensor as a little-endian float64 C-order .npy (version 1.0),
//                                written by xtensor (xt::dump_npy) and stored atomically;
//   npy_bytes(t)                 the same bytes, in memory (checkpoints checksum them);
//   read_npy(path)               a .npy file as a rows×cols tensor;
//   parse_npy(bytes, source)     the same from bytes in memory, `source` naming them in errors.
//
// What the reader accepts: format versions 1.0, 2.0 and 3.0; dtypes float64, float32, int64,
// int32, int16, int8 and the unsigned ones, little-endian or single-byte, converted to float64
// (an integer beyond 2⁵³ is refused, since it would not survive the conversion); C or Fortran
// order; shapes (), (n,) (read as an n×1 column) and (r, c). Everything else is refused with an
// error naming the source and the offending byte or header field: a wrong magic string or
// version, a header that is not a Python dict literal with exactly the keys descr, fortran_order
// and shape, a big-endian, complex, string or object dtype, more than two dimensions, a size that
// overflows, and data shorter or longer than the shape says. NaN and ±inf are refused unless
// npy_options::allow_non_finite.
//
// Why not xt::load_npy for reading: it reads the data with an unchecked stream.read (a file cut
// short leaves the rest of the tensor uninitialised), does not check that the shape's product
// fits in memory or matches the file, and its header parser reads past the end of empty fields
// (std::string::back() on an empty string) on malformed headers. This reader is fuzzed
// (tests/fuzz/npy.cpp).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "file.hpp"

namespace gateaux {

struct npy_options {
    bool allow_non_finite = false;  // accept NaN and ±inf entries
};

inline std::string npy_bytes(const tensor& t) { return xt::dump_npy(t); }

namespace detail::npy {

// The header's Python dict literal: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
class header_parser {
public:
    header_parser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

    void parse(std::string& descr, bool& fortran, std::vector<std::uint64_t>& shape) {
        bool have_descr = false, have_fortran = false, have_shape = false;
        expect('{');
        for (;;) {
            skip();
            if (peek() == '}') break;
            const std::string key = quoted();
            expect(':');
            if (key == "descr") {
                if (have_descr) fail("the key 'descr' appears twice");
                descr = quoted(), have_descr = true;
            } else if (key == "fortran_order") {
                if (have_fortran) fail("the key 'fortran_order' appears twice");
                fortran = boolean(), have_fortran = true;
            } else if (key == "shape") {
                if (have_shape) fail("the key 'shape' appears twice");
                shape = tuple(), have_shape = true;
            } else {
                fail("unknown key '" + key + "' (expected descr, fortran_order and shape)");
            }
            skip();
            if (peek() == ',') {
                ++i_;
                continue;
            }
            if (peek() != '}') fail("expected ',' or '}'");
        }
        ++i_;
        skip();
        if (i_ != s_.size()) fail("text after the closing '}'");
        if (!have_descr || !have_fortran || !have_shape)
            fail(std::string("the key '") + (!have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape") + "' is missing");
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw file_error("gateaux::read_npy: '" + source_ + "': malformed header at character " + std::to_string(i_) + ": " +
                         what);
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
    }
    void expect(char c) {
        skip();
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++i_;
    }
    std::string quoted() {
        skip();
        const char q = peek();
        if (q != '\'' && q != '"') fail("expected a quoted string");
        const std::size_t from = ++i_;
        while (i_ < s_.size() && s_[i_] != q) ++i_;
        if (i_ == s_.size()) fail("unterminated string");
        return std::string(s_.substr(from, i_++ - from));
    }
    bool boolean() {
        skip();
        if (s_.substr(i_, 4) == "True") return i_ += 4, true;
        if (s_.substr(i_, 5) == "False") return i_ += 5, false;
        fail("fortran_order is neither True nor False");
    }
    std::vector<std::uint64_t> tuple() {
        expect('(');
        std::vector<std::uint64_t> dims;
        for (;;) {
            skip();
            if (peek() == ')') break;
            if (peek() < '0' || peek() > '9') fail("expected a dimension");
            std::uint64_t v = 0;
            while (peek() >= '0' && peek() <= '9') {
                const std::uint64_t digit = std::uint64_t(peek() - '0');
                if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) fail("a dimension overflows 64 bits");
                v = v * 10 + digit, ++i_;
            }
            if (peek() == 'L') ++i_;  // Python 2's long suffix
            dims.push_back(v);
            if (dims.size() > 2) fail("more than two dimensions");
            skip();
            if (peek() == ',') {
                ++i_;
                continue;
            }
            if (peek() != ')') fail("expected ',' or ')' in the shape");
        }
        ++i_;
        return dims;
    }

    std::string_view s_;
    const std::string& source_;
    std::size_t i_ = 0;
};

template <class T>
T raw(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <class T>
double element(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
}

}  // namespace detail::npy

inline tensor parse_npy(std::string_view bytes, const std::string& source, const npy_options& opt = {}) {
    const auto fail = [&](const std::string& what) -> tensor { throw file_error("gateaux::read_npy: '" + source + "': " + what); };
    static constexpr char magic[] = "\x93NUMPY";
    if (bytes.size() < 10) return fail("too short for a .npy file (" + std::to_string(bytes.size()) + " bytes; the preamble alone is 10)");
    if (bytes.substr(0, 6) != std::string_view(magic, 6)) return fail("not a .npy file (the first 6 bytes are not \\x93NUMPY)");
    const unsigned major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
    if (!((major == 1 || major == 2 || major == 3) && minor == 0))
        return fail("format version " + std::to_string(major) + "." + std::to_string(minor) + " is not 1.0, 2.0 or 3.0");
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    if (bytes.size() < 8 + length_bytes) return fail("too short for its header length");
    std::uint64_t header_length = 0;
    for (std::size_t k = 0; k < length_bytes; ++k) header_length |= std::uint64_t(static_cast<unsigned char>(bytes[8 + k])) << (8 * k);
    const std::size_t data_at = 8 + length_bytes + header_length;
    if (header_length > bytes.size() || data_at > bytes.size())
        return fail("the header says it is " + std::to_string(header_length) + " bytes long, but the file has " +
                    std::to_string(bytes.size()) + " bytes");

    std::string descr;
    bool fortran = false;
    std::vector<std::uint64_t> shape;
    detail::npy::header_parser(bytes.substr(8 + length_bytes, header_length), source).parse(descr, fortran, shape);

    // dtype: byte order, kind, size
    if (descr.size() < 3) return fail("dtype '" + descr + "' is not a numeric dtype");
    const char order = descr[0], kind = descr[1];
    const std::string size_text = descr.substr(2);
    const std::size_t item = size_text == "1" ? 1 : size_text == "2" ? 2 : size_text == "4" ? 4 : size_text == "8" ? 8 : 0;
    if (order == '>' && item > 1) return fail("dtype '" + descr + "' is big-endian; only little-endian data is read");
    if (!(order == '<' || order == '|' || order == '=') || item == 0 || !(kind == 'f' || kind == 'i' || kind == 'u') ||
        (kind == 'f' && item < 4))
        return fail("dtype '" + descr + "' is not one of float64, float32 or an integer type");

    // shape and size
    std::uint64_t rows = 1, cols = 1;
    if (shape.size() == 1) rows = shape[0];
    if (shape.size() == 2) rows = shape[0], cols = shape[1];
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() / 8;
    if (cols != 0 && rows > limit / cols) return fail("the shape's size overflows");
    const std::uint64_t count = rows * cols, expected = count * item;
    const std::uint64_t present = bytes.size() - data_at;
    if (present != expected)
        return fail("the shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") of " + descr + " needs " +
                    std::to_string(expected) + " bytes of data, the file has " + std::to_string(present));

    tensor t = xt::empty<double>({std::size_t(rows), std::size_t(cols)});
    const char* p = bytes.data() + data_at;
    for (std::uint64_t k = 0; k < count; ++k, p += item) {
        double v = 0.0;
        if (kind == 'f') v = item == 8 ? detail::npy::element<double>(p) : detail::npy::element<float>(p);
        else if (kind == 'i')
            v = item == 8 ? detail::npy::element<std::int64_t>(p)
                : item == 4 ? detail::npy::element<std::int32_t>(p)
                : item == 2 ? detail::npy::element<std::int16_t>(p)
                            : detail::npy::element<std::int8_t>(p);
        else
            v = item == 8 ? detail::npy::element<std::uint64_t>(p)
                : item == 4 ? detail::npy::element<std::uint32_t>(p)
                : item == 2 ? detail::npy::element<std::uint16_t>(p)
                            : detail::npy::element<std::uint8_t>(p);
        // element k in file order: row-major, or column-major under fortran_order
        const std::uint64_t r = fortran ? k % rows : k / cols, c = fortran ? k / rows : k % cols;
        // The integer itself, before its conversion rounds 2⁵³ + 1 to 2⁵³.
        constexpr std::uint64_t exact = std::uint64_t(1) << 53;
        const bool beyond = kind == 'i' && item == 8 ? [&] {
            const std::int64_t i = detail::npy::raw<std::int64_t>(p);
            return i > std::int64_t(exact) || i < -std::int64_t(exact);
        }()
                                  : kind == 'u' && item == 8 && detail::npy::raw<std::uint64_t>(p) > exact;
        if (beyond)
            return fail("element (" + std::to_string(r) + ", " + std::to_string(c) + ") is an integer beyond 2^53, which float64 cannot hold exactly");
        if (!opt.allow_non_finite && !std::isfinite(v))
            return fail("element (" + std::to_string(r) + ", " + std::to_string(c) + ") is " + number_string(v) +
                        " (allow_non_finite is off)");
        t(std::size_t(r), std::size_t(c)) = v;
    }
    return t;
}

inline tensor read_npy(const std::string& path, const npy_options& opt = {}) {
    return parse_npy(read_file(path, "read_npy"), path, opt);
}

inline void write_npy(const std::string& path, const tensor& t) { write_file_atomic(path, npy_bytes(t)); }

}  // namespace gateaux
