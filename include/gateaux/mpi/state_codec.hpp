#pragma once
// A checkpoint's state (io/state.hpp: state_map) as doubles, so that ranks can exchange it with
// the communicator's gather (mpi/objective.hpp sends every chunk's state to every rank).
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "../core/tensor.hpp"
#include "../io/state.hpp"

namespace gateaux::mpi::detail {

// A state map as doubles, to exchange it: per entry its name, its kind and its value; texts by
// their bytes, counts and flags by their bits (a count may be a 64-bit checksum), matrices by
// shape and values.
inline void encode_text(const std::string& t, std::vector<double>& out) {
    out.push_back(double(t.size()));
    for (unsigned char c : t) out.push_back(double(c));
}
inline std::string decode_text(const double*& at) {
    std::string t(std::size_t(*at++), '\0');
    for (char& c : t) c = char(static_cast<unsigned char>(*at++));
    return t;
}
inline double bits_of(std::uint64_t v) {
    double d;
    std::memcpy(&d, &v, sizeof d);
    return d;
}
inline std::uint64_t bits_from(double d) {
    std::uint64_t v;
    std::memcpy(&v, &d, sizeof v);
    return v;
}
inline void encode(const state_map& m, std::vector<double>& out) {
    for (const auto& [name, value] : m) {
        encode_text(name, out);
        out.push_back(double(value.index()));
        if (const double* d = std::get_if<double>(&value)) out.push_back(*d);
        else if (const std::size_t* c = std::get_if<std::size_t>(&value)) out.push_back(bits_of(*c));
        else if (const bool* b = std::get_if<bool>(&value)) out.push_back(*b ? 1.0 : 0.0);
        else if (const std::string* t = std::get_if<std::string>(&value)) encode_text(*t, out);
        else {
            const tensor& x = std::get<tensor>(value);
            out.push_back(double(x.shape(0))), out.push_back(double(x.shape(1)));
            out.insert(out.end(), x.begin(), x.end());
        }
    }
}
inline void decode(const double* at, const double* end, state_map& m) {
    while (at < end) {
        std::string name = decode_text(at);
        const std::size_t kind = std::size_t(*at++);
        state_value v;
        if (kind == 0) v = *at++;
        else if (kind == 1) v = std::size_t(bits_from(*at++));
        else if (kind == 2) v = *at++ != 0.0;
        else if (kind == 3) v = decode_text(at);
        else {
            const std::size_t r = std::size_t(at[0]), c = std::size_t(at[1]);
            at += 2;
            tensor x = tensor::from_shape({r, c});
            std::copy(at, at + r * c, x.begin());
            at += r * c;
            v = std::move(x);
        }
        m.emplace(std::move(name), std::move(v));
    }
}

}  // namespace gateaux::mpi::detail
