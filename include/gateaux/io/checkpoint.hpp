#pragma once
// Checkpoints: the state of a training run in a directory, written so that a crash at any moment
// leaves a loadable checkpoint, and read so that a damaged one is refused whole.
//
//   checkpoint ck;
//   ck.add("parameters", x).add("optimizer", opt).add("objective", f);
//   ck.save("run.ckpt");                  // every state entry, one .npy per matrix + a manifest
//   if (checkpoint::exists("run.ckpt")) ck.load("run.ckpt");   // all entries, or none
//
// minimize() does this itself with stopping::checkpoint (optim/minimize.hpp).
//
// Layout. The directory holds `manifest` and the matrices as `g<G>-<k>.npy`, G the generation of
// the save. The manifest lists every entry (reals as hexadecimal floats, so bit-exact; counts,
// flags, texts with spaces and other unprintable bytes escaped as %XX; matrices by file, shape,
// size and CRC-32) and ends with the CRC-32 of everything above it.
//
// Atomicity. A save writes the new generation's files beside the old ones (each flushed to the
// disk), then replaces the manifest atomically (io/file.hpp: temporary, fsync, rename), then
// deletes the files of other generations. The manifest is the commit: killed before its rename,
// the old manifest and its files are untouched; after it, the new ones are complete.
//
// Checks on load. The manifest's own checksum, its syntax, and for every matrix file its size, its
// CRC-32 and its shape against the manifest: any truncation or flipped byte is refused with an
// error naming the file. Only then are entries given to the objects, each of which checks names,
// kinds and shapes against itself; if any fails, every object is put back as it was.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/param_set.hpp"
#include "file.hpp"
#include "npy.hpp"
#include "state.hpp"

namespace gateaux {

namespace detail::ckpt {

inline constexpr std::string_view header = "gateaux checkpoint 1";

inline bool valid_name(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
              c == '/'))
            return false;
    return true;
}

// Text as one space-free token: printable bytes as they are, others (and '%') as %XX; the empty
// text (and only it) as "-".
inline std::string escape(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    if (s.empty()) return "-";
    std::string out;
    out.reserve(s.size() + 8);
    for (unsigned char c : s) {
        if (c > 0x20 && c < 0x7f && c != '%' && !(s.size() == 1 && c == '-')) out += char(c);
        else out += '%', out += digits[c >> 4], out += digits[c & 15];
    }
    return out;
}

inline std::string crc_text(std::uint32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", c);
    return buf;
}

// Whether n is a matrix file of a checkpoint, `g<G>-<k>.npy`, and its generation G.
inline bool matrix_file(std::string_view n, std::uint64_t& generation) {
    if (n.size() < 8 || n[0] != 'g' || n.substr(n.size() - 4) != ".npy") return false;
    const std::size_t dash = n.find('-');
    if (dash == std::string_view::npos || dash < 2 || dash + 1 >= n.size() - 4) return false;
    const auto digits = [](std::string_view d) { return !d.empty() && d.size() <= 19 && d.find_first_not_of("0123456789") == std::string_view::npos; };
    if (!digits(n.substr(1, dash - 1)) || !digits(n.substr(dash + 1, n.size() - 4 - dash - 1))) return false;
    generation = 0;
    for (char c : n.substr(1, dash - 1)) generation = generation * 10 + std::uint64_t(c - '0');
    return true;
}

// The generations of the matrix files in dir.
inline std::vector<std::uint64_t> generations(const std::filesystem::path& dir) {
    std::vector<std::uint64_t> gens;
    std::error_code ec;
    std::uint64_t g = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (matrix_file(e.path().filename().string(), g)) gens.push_back(g);
    return gens;
}

// Splits a manifest line into its space-separated fields.
inline std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    while (at <= line.size()) {
        std::size_t sp = line.find(' ', at);
        if (sp == std::string_view::npos) sp = line.size();
        out.push_back(line.substr(at, sp - at));
        at = sp + 1;
    }
    return out;
}

inline bool parse_u64(std::string_view s, std::uint64_t& v, int base = 10) {
    if (s.empty() || s.size() > 20) return false;
    v = 0;
    for (char c : s) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
        if (d >= base) return false;
        const std::uint64_t next = v * std::uint64_t(base) + std::uint64_t(d);
        if (next / std::uint64_t(base) != v) return false;
        v = next;
    }
    return true;
}

}  // namespace detail::ckpt

// Writes the entries to dir (created if missing), replacing the checkpoint there atomically.
inline void write_checkpoint(const std::string& dir, const state_map& entries) {
    namespace fs = std::filesystem;
    using namespace detail::ckpt;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) throw file_error("gateaux::checkpoint: cannot create the directory '" + dir + "'");
    const std::vector<std::uint64_t> old = generations(dir);
    const std::uint64_t gen = old.empty() ? 1 : *std::max_element(old.begin(), old.end()) + 1;

    std::string manifest(header);
    manifest += "\ngeneration " + std::to_string(gen) + "\n";
    std::size_t files = 0;
    for (const auto& [name, value] : entries) {
        if (!valid_name(name)) throw error("gateaux::checkpoint: the entry name '" + name + "' has characters other than [A-Za-z0-9_./-]");
        if (const double* r = std::get_if<double>(&value)) {
            // Hexadecimal, by std::to_chars: exact, and the same in every locale.
            char buf[64];
            const auto end = std::to_chars(buf, buf + sizeof buf, *r, std::chars_format::hex).ptr;
            manifest += "real " + name + " " + std::string(buf, end) + "\n";
        } else if (const std::size_t* c = std::get_if<std::size_t>(&value)) {
            manifest += "count " + name + " " + std::to_string(*c) + "\n";
        } else if (const bool* f = std::get_if<bool>(&value)) {
            manifest += "flag " + name + " " + (*f ? "1" : "0") + "\n";
        } else if (const std::string* t = std::get_if<std::string>(&value)) {
            manifest += "text " + name + " " + escape(*t) + "\n";
        } else {
            const tensor& m = std::get<tensor>(value);
            const std::string file = "g" + std::to_string(gen) + "-" + std::to_string(files++) + ".npy";
            const std::string bytes = npy_bytes(m);
            write_file_atomic((fs::path(dir) / file).string(), bytes);
            manifest += "matrix " + name + " " + file + " " + std::to_string(m.shape(0)) + " " + std::to_string(m.shape(1)) + " " +
                        std::to_string(bytes.size()) + " " + crc_text(crc32(bytes)) + "\n";
        }
    }
    manifest += "crc32 " + crc_text(crc32(manifest)) + "\n";
    write_file_atomic((fs::path(dir) / "manifest").string(), manifest);

    // The new generation is committed: the old files are no longer referenced.
    // Only the checkpoint's own names: matrix files of other generations, and temporaries of its
    // files left by a process killed while writing (".<name>.tmp-<pid>").
    std::vector<fs::path> stale;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        std::uint64_t g = 0;
        const std::size_t tmp = n.rfind(".tmp-");
        const std::string target = n.size() > 1 && n[0] == '.' && tmp != std::string::npos ? n.substr(1, tmp - 1) : "";
        const bool temporary = !target.empty() && n.find_first_not_of("0123456789", tmp + 5) == std::string::npos &&
                               (target == "manifest" || matrix_file(target, g));
        if ((matrix_file(n, g) && g != gen) || temporary) stale.push_back(e.path());
    }
    for (const fs::path& p : stale) fs::remove(p, ec);
}

inline bool checkpoint_exists(const std::string& dir) { return std::filesystem::exists(std::filesystem::path(dir) / "manifest"); }

// Every entry of a checkpoint whose manifest is `text`, after checking the manifest and every
// file, read by read_matrix_file(name) (names as the manifest gives them; errors name them
// under dir).
inline state_map parse_checkpoint(std::string_view text, const std::string& dir,
                                  const std::function<std::string(const std::string&)>& read_matrix_file) {
    namespace fs = std::filesystem;
    using namespace detail::ckpt;
    const std::string manifest_path = (fs::path(dir) / "manifest").string();
    const auto fail = [&](const std::string& what) -> state_map {
        throw checkpoint_error("gateaux::checkpoint: '" + manifest_path + "': " + what);
    };
    // The last line is the checksum of everything before it.
    if (text.empty() || text.back() != '\n') return fail("truncated (no final newline)");
    const std::size_t last = text.size() < 2 ? std::string_view::npos : text.rfind('\n', text.size() - 2);
    const std::size_t body_end = last == std::string::npos ? 0 : last + 1;
    const std::string_view tail = std::string_view(text).substr(body_end, text.size() - 1 - body_end);
    if (tail.substr(0, 6) != "crc32 ") return fail("truncated or corrupt (the last line is not its checksum)");
    std::uint64_t stated = 0;
    if (!parse_u64(tail.substr(6), stated, 16)) return fail("corrupt checksum line");
    const std::uint32_t actual = crc32(std::string_view(text).substr(0, body_end));
    if (stated != actual) return fail("corrupt: its CRC-32 is " + crc_text(actual) + ", it states " + crc_text(std::uint32_t(stated)));

    state_map out;
    std::size_t line_no = 0, at = 0;
    while (at < body_end) {
        const std::size_t end = text.find('\n', at);
        const std::string_view line = std::string_view(text).substr(at, end - at);
        at = end + 1;
        ++line_no;
        const std::string where = "line " + std::to_string(line_no) + ": ";
        if (line_no == 1) {
            if (line != header) return fail("not a gateaux checkpoint, or another version (line 1 is '" + std::string(line.substr(0, 40)) + "')");
            continue;
        }
        const auto f = fields(line);
        if (f.size() == 2 && f[0] == "generation") continue;
        if (f.size() < 3 || !valid_name(f[1])) return fail(where + "malformed entry");
        const std::string name(f[1]);
        bool fresh = true;
        if (f[0] == "real" && f.size() == 3) {
            double r = 0.0;
            const auto [end, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), r, std::chars_format::hex);
            if (f[2].empty() || ec != std::errc() || end != f[2].data() + f[2].size()) return fail(where + "'" + name + "' is not a real");
            fresh = out.emplace(name, r).second;
        } else if (f[0] == "count" && f.size() == 3) {
            std::uint64_t c = 0;
            if (!parse_u64(f[2], c)) return fail(where + "'" + name + "' is not a count");
            fresh = out.emplace(name, std::size_t(c)).second;
        } else if (f[0] == "flag" && f.size() == 3 && (f[2] == "0" || f[2] == "1")) {
            fresh = out.emplace(name, f[2] == "1").second;
        } else if (f[0] == "text" && f.size() == 3) {
            std::string t;
            if (f[2] != "-") {
                for (std::size_t i = 0; i < f[2].size(); ++i) {
                    std::uint64_t byte = 0;
                    if (f[2][i] != '%') t += f[2][i];
                    else if (i + 2 < f[2].size() && parse_u64(f[2].substr(i + 1, 2), byte, 16)) t += char(byte), i += 2;
                    else return fail(where + "'" + name + "' is not escaped text");
                }
            }
            fresh = out.emplace(name, std::move(t)).second;
        } else if (f[0] == "matrix" && f.size() == 7) {
            std::uint64_t rows = 0, cols = 0, size = 0, crc = 0;
            if (!parse_u64(f[3], rows) || !parse_u64(f[4], cols) || !parse_u64(f[5], size) || !parse_u64(f[6], crc, 16) ||
                !valid_name(f[2]) || f[2].find('/') != std::string_view::npos)
                return fail(where + "malformed matrix entry '" + name + "'");
            const std::string file = (fs::path(dir) / std::string(f[2])).string();
            const std::string bytes = read_matrix_file(std::string(f[2]));
            if (bytes.size() != size)
                throw checkpoint_error("gateaux::checkpoint: '" + file + "' (entry '" + name + "') has " + std::to_string(bytes.size()) +
                                       " bytes, the manifest says " + std::to_string(size));
            if (crc32(bytes) != crc)
                throw checkpoint_error("gateaux::checkpoint: '" + file + "' (entry '" + name + "') is corrupt: its CRC-32 is " +
                                       crc_text(crc32(bytes)) + ", the manifest says " + crc_text(std::uint32_t(crc)));
            npy_options any;
            any.allow_non_finite = true;  // state may hold ±inf (a loss before the first step)
            tensor m = parse_npy(bytes, file, any);
            if (m.shape(0) != rows || m.shape(1) != cols)
                throw checkpoint_error("gateaux::checkpoint: '" + file + "' is " + shape_string(m) + ", the manifest says " +
                                       std::to_string(rows) + "×" + std::to_string(cols));
            fresh = out.emplace(name, std::move(m)).second;
        } else {
            return fail(where + "malformed entry");
        }
        if (!fresh) return fail(where + "the entry '" + name + "' appears twice");
    }
    return out;
}

// Every entry of the checkpoint in dir, after checking the manifest and every file.
inline state_map read_checkpoint(const std::string& dir) {
    const std::string text = read_file((std::filesystem::path(dir) / "manifest").string(), "checkpoint");
    return parse_checkpoint(text, dir, [&](const std::string& name) {
        return read_file((std::filesystem::path(dir) / name).string(), "checkpoint");
    });
}

// A set of objects saved and loaded together. Each item is a param_set or an object with
// state(state_archive&); the checkpoint keeps references, so they must outlive it.
class checkpoint {
public:
    checkpoint& add(std::string name, param_set& x) {
        return add_item(std::move(name), [&x](state_archive& a) { a("values", x); });
    }
    template <has_state T>
    checkpoint& add(std::string name, T& t) {
        return add_item(std::move(name), [&t](state_archive& a) { t.state(a); });
    }
    // A further state function under name (for state that is not an object's).
    checkpoint& add(std::string name, std::function<void(state_archive&)> fn) { return add_item(std::move(name), std::move(fn)); }

    state_map collect() {
        state_map m;
        for (item& i : items_) save_state(i, m, i.name);
        return m;
    }
    void save(const std::string& dir) { write_checkpoint(dir, collect()); }
    static bool exists(const std::string& dir) { return checkpoint_exists(dir); }

    // Every item from dir, or (on any error, which is rethrown) none: each keeps its state.
    void load(const std::string& dir) { apply(read_checkpoint(dir)); }
    void apply(const state_map& m) {
        state_map backup;
        for (item& i : items_) save_state(i, backup, i.name);
        try {
            for (item& i : items_) {
                state_reader r(m);
                r.nest(i.name, i);
            }
        } catch (...) {
            for (item& i : items_) {
                state_reader undo(backup, false);
                undo.nest(i.name, i);
            }
            throw;
        }
    }

private:
    struct item {
        std::string name;
        std::function<void(state_archive&)> fn;
        void state(state_archive& a) { fn(a); }
    };
    checkpoint& add_item(std::string name, std::function<void(state_archive&)> fn) {
        if (!detail::ckpt::valid_name(name)) throw error("gateaux::checkpoint::add: the name '" + name + "' has characters other than [A-Za-z0-9_.-]");
        for (const item& i : items_)
            if (i.name == name) throw error("gateaux::checkpoint::add: '" + name + "' is added twice");
        items_.push_back({std::move(name), std::move(fn)});
        return *this;
    }
    std::vector<item> items_;
};

}  // namespace gateaux
