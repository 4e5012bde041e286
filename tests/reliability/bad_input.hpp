// Shared by tests/reliability/bad_input_a.cpp and bad_input_b.cpp: what every check of a refusal
// asserts. A call on bad input must throw exactly the documented gateaux error type (not a
// derived or base one, not an exception from xtensor), its message must contain the facts named
// (assert substrings, never the whole text), and the caller's tensors must be bit-for-bit what
// they were before the call.
#pragma once

#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include <catch2/catch.hpp>

#include <gateaux/gateaux.hpp>

namespace bad_input {

using gateaux::param_set;
using gateaux::tensor;

// The message of the exception f throws, which must be exactly of type Error. Any other
// exception, or none, is a test failure (and "" is returned).
template <class Error, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        INFO("thrown: " << typeid(e).name() << ": " << e.what());
        CHECK(typeid(e) == typeid(Error));
        return e.what();
    } catch (const std::exception& e) {
        FAIL_CHECK("another exception than the documented one: " << typeid(e).name() << ": " << e.what());
        return "";
    }
    FAIL_CHECK("no exception was thrown");
    return "";
}

// Every part must occur in the message.
inline void says(const std::string& what, std::initializer_list<std::string> parts) {
    for (const std::string& p : parts) {
        INFO("message: " << what);
        INFO("expected to contain: " << p);
        CHECK(what.find(p) != std::string::npos);
    }
}

// Bit for bit (NaN included), shape included.
inline bool same_bits(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}
inline bool same_bits(const param_set& a, const param_set& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same_bits(a[i], b[i])) return false;
    return true;
}

// A caller's tensors and parameter sets, copied when a test starts; unchanged() compares them
// bit for bit with what they hold now.
class snapshot {
public:
    snapshot(std::initializer_list<const tensor*> tensors, std::initializer_list<const param_set*> sets = {})
        : tensors_(tensors), sets_(sets) {
        for (const tensor* t : tensors_) tensor_copies_.push_back(*t);
        for (const param_set* s : sets_) set_copies_.push_back(*s);
    }
    bool unchanged() const {
        for (std::size_t i = 0; i < tensors_.size(); ++i)
            if (!same_bits(*tensors_[i], tensor_copies_[i])) return false;
        for (std::size_t i = 0; i < sets_.size(); ++i)
            if (!same_bits(*sets_[i], set_copies_[i])) return false;
        return true;
    }

private:
    std::vector<const tensor*> tensors_;
    std::vector<const param_set*> sets_;
    std::vector<tensor> tensor_copies_;
    std::vector<param_set> set_copies_;
};

inline tensor normal(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale = 1.0) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> n(0.0, scale);
    tensor t = tensor::from_shape({rows, cols});
    for (double& v : t) v = n(g);
    return t;
}

// A square matrix with singular values in [0.7, 1.4]: I + small noise, for well-conditioned
// weights (the functional inverse accepts them).
inline tensor well_conditioned(std::size_t n, std::uint64_t seed) {
    tensor t = normal(n, n, seed, 0.1);
    for (std::size_t i = 0; i < n; ++i) t(i, i) += 1.0;
    return t;
}

inline constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
inline constexpr double inf_v = std::numeric_limits<double>::infinity();

}  // namespace bad_input
