#pragma once
// Whole files in and out, for the readers (io/csv.hpp, io/npy.hpp) and checkpoints
// (io/checkpoint.hpp):
//
//   read_file(path, what)             the bytes of a file; an error names `what` and the path;
//   write_file_atomic(path, bytes)    a file that is either the old one or the whole new one:
//                                     written to a temporary beside it, flushed to the disk
//                                     (fsync), renamed over the old name, and the directory
//                                     flushed, so that a crash at any moment leaves one of the two;
//   crc32(bytes)                      the CRC-32 (the zlib/PNG polynomial) of a byte string, by
//                                     Boost.CRC, which checkpoints use to detect corruption.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include <boost/crc.hpp>

#include "../core/errors.hpp"

namespace gateaux {

// A file that cannot be read or written, or whose content is not what it should be: the message
// names the file and, where one is known, the line and column or the byte.
struct file_error : error {
    using error::error;
};

inline std::uint32_t crc32(std::string_view bytes) {
    boost::crc_32_type c;
    c.process_bytes(bytes.data(), bytes.size());
    return c.checksum();
}

inline std::string read_file(const std::string& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error("gateaux::" + std::string(what) + ": cannot open '" + path + "'");
    std::string bytes;
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) throw file_error("gateaux::" + std::string(what) + ": cannot read '" + path + "'");
    bytes.resize(std::size_t(size));
    in.seekg(0);
    in.read(bytes.data(), size);
    if (in.gcount() != size) throw file_error("gateaux::" + std::string(what) + ": cannot read '" + path + "'");
    return bytes;
}

namespace detail {
inline void fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) return;  // nothing to flush through (e.g. a directory that cannot be opened)
    ::fsync(fd);
    ::close(fd);
}
}  // namespace detail

inline void write_file_atomic(const std::string& path, std::string_view bytes) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string tmp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
    const auto fail = [&](const char* doing) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw file_error("gateaux::write_file_atomic: cannot " + std::string(doing) + " '" + path + "': " + why);
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create a temporary file for");
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            fail("write");
        }
        done += std::size_t(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        fail("flush");
    }
    if (::close(fd) != 0) fail("close");
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename a temporary file to");
    detail::fsync_path(dir.string(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

}  // namespace gateaux
