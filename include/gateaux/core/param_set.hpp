#pragma once
// A set of parameter tensors (one per parameter block, in wrt(...) order) that acts like a
// vector: dot, norm, axpy, scale, in place and without temporaries. Optimizers work on these.
#include <cmath>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace gateaux {

class param_set {
public:
    param_set() = default;
    explicit param_set(std::vector<tensor> blocks) : blocks_(std::move(blocks)) {}

    std::size_t size() const { return blocks_.size(); }
    tensor& operator[](std::size_t i) { return blocks_[i]; }
    const tensor& operator[](std::size_t i) const { return blocks_[i]; }
    auto begin() { return blocks_.begin(); }
    auto end() { return blocks_.end(); }
    auto begin() const { return blocks_.begin(); }
    auto end() const { return blocks_.end(); }

    // Total number of scalars.
    std::size_t count() const {
        std::size_t n = 0;
        for (const tensor& t : blocks_) n += t.size();
        return n;
    }
    // Same shapes, zero values.
    param_set zeros_like() const {
        param_set z;
        z.blocks_.reserve(blocks_.size());
        for (const tensor& t : blocks_) z.blocks_.push_back(xt::zeros<double>(t.shape()));
        return z;
    }
    bool same_shape(const param_set& o) const {
        if (o.size() != size()) return false;
        for (std::size_t i = 0; i < size(); ++i)
            if (o[i].shape() != blocks_[i].shape()) return false;
        return true;
    }
    // this = other (values only; shapes must agree, no allocation).
    void assign(const param_set& o) {
        check(o, "assign");
        for (std::size_t i = 0; i < size(); ++i) std::copy(o[i].begin(), o[i].end(), blocks_[i].begin());
    }
    // this += a·x
    void axpy(double a, const param_set& x) {
        check(x, "axpy");
        for (std::size_t i = 0; i < size(); ++i) {
            double* p = blocks_[i].data();
            const double* q = x[i].data();
            for (std::size_t k = 0; k < blocks_[i].size(); ++k) p[k] += a * q[k];
        }
    }
    // this = a·this + x
    void scale_add(double a, const param_set& x) {
        check(x, "scale_add");
        for (std::size_t i = 0; i < size(); ++i) {
            double* p = blocks_[i].data();
            const double* q = x[i].data();
            for (std::size_t k = 0; k < blocks_[i].size(); ++k) p[k] = a * p[k] + q[k];
        }
    }
    void scale(double a) {
        for (tensor& t : blocks_)
            for (double& v : t) v *= a;
    }
    void fill(double v) {
        for (tensor& t : blocks_) t.fill(v);
    }
    double dot(const param_set& x) const {
        check(x, "dot");
        double s = 0.0;
        for (std::size_t i = 0; i < size(); ++i) {
            const double* p = blocks_[i].data();
            const double* q = x[i].data();
            for (std::size_t k = 0; k < blocks_[i].size(); ++k) s += p[k] * q[k];
        }
        return s;
    }
    double norm() const { return std::sqrt(dot(*this)); }
    double max_abs() const {
        double m = 0.0;
        for (const tensor& t : blocks_)
            for (double v : t) m = std::max(m, std::abs(v));
        return m;
    }
    bool finite() const {
        for (const tensor& t : blocks_)
            for (double v : t)
                if (!std::isfinite(v)) return false;
        return true;
    }

private:
    // Names the first difference: the block counts, or the first block whose shapes differ.
    void check(const param_set& o, const char* what) const {
        if (same_shape(o)) return;
        const std::string who = std::string("gateaux::param_set::") + what + ": the two sets have different shapes: ";
        if (o.size() != size())
            throw shape_error(who + "this set has " + std::to_string(size()) + " blocks, the argument " + std::to_string(o.size()));
        std::size_t i = 0;
        while (o[i].shape() == blocks_[i].shape()) ++i;
        throw shape_error(who + "block " + std::to_string(i) + " is " + std::to_string(blocks_[i].shape(0)) + "×" +
                          std::to_string(blocks_[i].shape(1)) + " here, " + std::to_string(o[i].shape(0)) + "×" +
                          std::to_string(o[i].shape(1)) + " in the argument");
    }
    std::vector<tensor> blocks_;
};

inline double dot(const param_set& a, const param_set& b) { return a.dot(b); }
inline double norm(const param_set& a) { return a.norm(); }

}  // namespace gateaux
