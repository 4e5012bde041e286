#pragma once
// The state of a training run as named values, for checkpoints (io/checkpoint.hpp).
//
// Each class with state says once what it holds, in one function that both saves and loads:
//
//   void state(state_archive& a) { a("lambda", lambda_); a("moments", m_); a.nest("factors", factors_); }
//
// A state_writer reads the members into a state_map; a state_reader writes them back from one.
// The kinds of value are real (double, bit-exact), count (std::size_t), flag, text, and matrix
// (a tensor); param_set, std::vector<param_set>, std::vector<double>, std::vector<std::size_t>
// and std::mt19937_64 (a generator's full state) are built from them, and a member with its own
// state(state_archive&) is nested under a prefix. Names are paths ("optimizer/s/3/0"): letters,
// digits and _ . - separated by '/'.
//
// Reading checks that every name is present with the kind it is read as, and that a matrix read
// into a tensor that already has a size has that size; the error names the entry.
// load_state(obj, map) reads all of an object's state or none of it: the object's state is saved
// first, and put back if reading fails.
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../core/param_set.hpp"

namespace gateaux {

// A checkpoint or state that cannot be read back: missing, of the wrong kind or shape, written
// for another optimizer or network, or corrupt. The message names the entry or file.
struct checkpoint_error : error {
    using error::error;
};

// One saved value.
using state_value = std::variant<double, std::size_t, bool, std::string, tensor>;
using state_map = std::map<std::string, state_value, std::less<>>;

inline const char* kind_name(const state_value& v) {
    switch (v.index()) {
        case 0: return "real";
        case 1: return "count";
        case 2: return "flag";
        case 3: return "text";
        default: return "matrix";
    }
}

class state_archive;

template <class T>
concept has_state = requires(T& t, state_archive& a) { t.state(a); };

class state_archive {
public:
    virtual ~state_archive() = default;
    virtual bool loading() const = 0;
    // Whether a load checks block counts and shapes against the state in memory (off only when
    // load_state puts an object's own earlier state back).
    virtual bool strict() const { return true; }
    // Whether a load has an entry of this name (a count read from a checkpoint is checked against
    // the entries it counts before anything is allocated for them).
    virtual bool has(const std::string& name) const { (void)name; return true; }

    void operator()(std::string_view name, double& v) { real(path(name), v); }
    void operator()(std::string_view name, std::size_t& v) { count(path(name), v); }
    void operator()(std::string_view name, bool& v) { flag(path(name), v); }
    void operator()(std::string_view name, std::string& v) { text(path(name), v); }
    void operator()(std::string_view name, tensor& v) { matrix(path(name), v); }

    void operator()(std::string_view name, param_set& x) {
        std::size_t n = x.size();
        const std::string p = path(name);
        count(p + "/blocks", n);
        if (loading() && n != 0 && !has(p + "/" + std::to_string(n - 1)))
            throw checkpoint_error("gateaux::checkpoint: '" + p + "' counts " + std::to_string(n) + " blocks, but its block " +
                                   std::to_string(n - 1) + " is missing");
        if (loading() && n != x.size()) {
            if (x.size() != 0 && strict())
                throw checkpoint_error("gateaux::checkpoint: '" + p + "' has " + std::to_string(n) + " blocks, the state in memory " +
                                       std::to_string(x.size()));
            x = param_set(std::vector<tensor>(n));
        }
        for (std::size_t b = 0; b < n; ++b) matrix(p + "/" + std::to_string(b), x[b]);
    }
    void operator()(std::string_view name, std::vector<param_set>& xs) {
        std::size_t n = xs.size();
        const std::string p = path(name);
        count(p + "/count", n);
        if (loading() && n != 0 && !has(p + "/" + std::to_string(n - 1) + "/blocks"))
            throw checkpoint_error("gateaux::checkpoint: '" + p + "' counts " + std::to_string(n) + " sets, but its set " +
                                   std::to_string(n - 1) + " is missing");
        if (loading()) xs.resize(n);
        for (std::size_t i = 0; i < n; ++i) (*this)(std::string(name) + "/" + std::to_string(i), xs[i]);
    }
    void operator()(std::string_view name, std::vector<double>& v) {
        tensor t = xt::empty<double>({v.size(), std::size_t(1)});
        if (!loading()) std::copy(v.begin(), v.end(), t.begin());
        matrix(path(name), t);
        if (loading()) {
            if (t.shape(1) != 1 && t.size() != 0)
                throw checkpoint_error("gateaux::checkpoint: '" + path(name) + "' is " + shape_string(t) + ", expected a column");
            v.assign(t.begin(), t.end());
        }
    }
    void operator()(std::string_view name, std::vector<std::size_t>& v) {
        std::vector<double> d(v.begin(), v.end());
        (*this)(name, d);
        if (loading()) {
            v.resize(d.size());
            for (std::size_t i = 0; i < d.size(); ++i) {
                if (!(d[i] >= 0.0 && d[i] <= 9007199254740992.0 && d[i] == double(std::size_t(d[i]))))
                    throw checkpoint_error("gateaux::checkpoint: '" + path(name) + "' entry " + std::to_string(i) +
                                           " is not a count");
                v[i] = std::size_t(d[i]);
            }
        }
    }
    void operator()(std::string_view name, std::mt19937_64& g) {
        std::string s;
        if (!loading()) {
            std::ostringstream out;
            out << g;
            s = out.str();
        }
        text(path(name), s);
        if (loading()) {
            std::istringstream in(s);
            std::mt19937_64 read;
            in >> read;
            if (in.fail()) throw checkpoint_error("gateaux::checkpoint: '" + path(name) + "' is not a generator's state");
            g = read;
        }
    }
    template <has_state T>
    void operator()(std::string_view name, T& t) {
        nest(name, t);
    }
    // An entry that checkpoints of earlier versions lack: saved always, loaded where present
    // (v keeps its value where the checkpoint has no such entry).
    template <class T>
    void optional(std::string_view name, T& v) {
        if (!loading() || has(path(name))) (*this)(name, v);
    }

    // t.state(*this) with every name under prefix/.
    template <class T>
    void nest(std::string_view prefix, T& t) {
        const std::size_t keep = prefix_.size();
        prefix_ += std::string(prefix) + "/";
        try {
            t.state(*this);
        } catch (...) {
            prefix_.resize(keep);
            throw;
        }
        prefix_.resize(keep);
    }

protected:
    virtual void real(const std::string& name, double& v) = 0;
    virtual void count(const std::string& name, std::size_t& v) = 0;
    virtual void flag(const std::string& name, bool& v) = 0;
    virtual void text(const std::string& name, std::string& v) = 0;
    virtual void matrix(const std::string& name, tensor& v) = 0;

private:
    std::string path(std::string_view name) const { return prefix_ + std::string(name); }
    std::string prefix_;
};

// Reads members into a map.
class state_writer final : public state_archive {
public:
    explicit state_writer(state_map& out) : out_(out) {}
    bool loading() const override { return false; }

protected:
    void real(const std::string& n, double& v) override { put(n, v); }
    void count(const std::string& n, std::size_t& v) override { put(n, v); }
    void flag(const std::string& n, bool& v) override { put(n, v); }
    void text(const std::string& n, std::string& v) override { put(n, v); }
    void matrix(const std::string& n, tensor& v) override { put(n, v); }

private:
    template <class T>
    void put(const std::string& n, const T& v) {
        if (!out_.emplace(n, v).second) throw error("gateaux::state_writer: the entry '" + n + "' is written twice");
    }
    state_map& out_;
};

// Writes members from a map.
class state_reader final : public state_archive {
public:
    explicit state_reader(const state_map& in, bool strict = true) : in_(in), strict_(strict) {}
    bool loading() const override { return true; }
    bool strict() const override { return strict_; }
    bool has(const std::string& name) const override { return in_.find(name) != in_.end(); }

protected:
    void real(const std::string& n, double& v) override { v = get<double>(n); }
    void count(const std::string& n, std::size_t& v) override { v = get<std::size_t>(n); }
    void flag(const std::string& n, bool& v) override { v = get<bool>(n); }
    void text(const std::string& n, std::string& v) override { v = get<std::string>(n); }
    void matrix(const std::string& n, tensor& v) override {
        const tensor& t = get<tensor>(n);
        if (strict_ && v.size() != 0 && (v.shape(0) != t.shape(0) || v.shape(1) != t.shape(1)))
            throw checkpoint_error("gateaux::checkpoint: '" + n + "' is " + shape_string(t) + ", the state in memory is " +
                                   shape_string(v));
        v = t;
    }

private:
    template <class T>
    const T& get(const std::string& n) const {
        const auto it = in_.find(n);
        if (it == in_.end()) throw checkpoint_error("gateaux::checkpoint: the entry '" + n + "' is missing");
        const T* v = std::get_if<T>(&it->second);
        if (v == nullptr) {
            const state_value want = T{};
            throw checkpoint_error("gateaux::checkpoint: the entry '" + n + "' is a " + kind_name(it->second) + ", expected a " +
                                   kind_name(want));
        }
        return *v;
    }
    const state_map& in_;
    bool strict_;
};

// The state of t under prefix, added to out.
template <class T>
void save_state(T& t, state_map& out, std::string_view prefix) {
    state_writer w(out);
    w.nest(prefix, t);
}

// Reads t's state under prefix from in: all of it, or (on any error, which is rethrown) none.
template <class T>
void load_state(T& t, const state_map& in, std::string_view prefix) {
    state_map backup;
    save_state(t, backup, prefix);
    try {
        state_reader r(in);
        r.nest(prefix, t);
    } catch (...) {
        state_reader undo(backup, false);
        undo.nest(prefix, t);
        throw;
    }
}

}  // namespace gateaux
