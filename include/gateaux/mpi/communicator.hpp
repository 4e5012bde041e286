#pragma once
// MPI for gateaux: the process environment, and a communicator whose one collective keeps every
// rank in step when one of them fails.
//
//   int main(int argc, char** argv) {
//       gateaux::mpi::environment env(argc, argv);   // MPI_Init … MPI_Finalize
//       gateaux::mpi::communicator world;            // MPI_COMM_WORLD
//       ...
//   }
//
// Failure. A rank that throws inside an exchange (a shard it cannot use, a non-finite value
// refused by set_data, any exception of its local work) still takes part in the collective, with a
// flag instead of its data; then every rank throws distributed_error naming the failing rank and
// its message, at the same point of the run: no rank waits for one that left. An exception that
// escapes main on any rank ends the run through std::terminate, which the environment turns into
// MPI_Abort: every rank stops, mpirun returns non-zero, and the message names the rank.
//
// Agreement. Each exchange also carries a checksum of the caller's parameters (the point x the
// objective is evaluated at); ranks whose x differ throw distributed_error rather than go on
// with different iterates.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "../core/errors.hpp"
#include "../core/param_set.hpp"

namespace gateaux::mpi {

// Every rank throws this together when one rank failed in an exchange, or the ranks disagree.
struct distributed_error : error {
    distributed_error(std::string what, int failed) : error(std::move(what)), rank(failed) {}
    int rank;  // the first failing rank, or −1 where the ranks disagree
};

namespace detail {
inline int world_rank() {
    int init = 0, fin = 0, r = -1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}
// What std::terminate does under an environment: say which rank failed and why, then end every rank.
[[noreturn]] inline void abort_all() {
    std::string why = "unknown reason";
    if (std::exception_ptr e = std::current_exception()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            why = x.what();
        } catch (...) {
            why = "an exception of a type not derived from std::exception";
        }
    } else {
        why = "std::terminate without an active exception";
    }
    std::fprintf(stderr, "gateaux::mpi: rank %d ends the run: %s\n", world_rank(), why.c_str());
    std::fflush(stderr);
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
}
}  // namespace detail

// MPI_Init on construction, MPI_Finalize on destruction; meanwhile an exception that escapes main
// (std::terminate) aborts every rank with the message. A rank must not catch a distributed_error
// and return normally while others go on: let it reach main's end on every rank, or std::terminate. Where MPI is already initialised (by the
// caller), it neither initialises nor finalises.
class environment {
public:
    environment(int& argc, char**& argv) {
        int init = 0;
        MPI_Initialized(&init);
        if (!init) {
            MPI_Init(&argc, &argv);
            owns_ = true;
        }
        previous_ = std::set_terminate(detail::abort_all);
    }
    environment(const environment&) = delete;
    environment& operator=(const environment&) = delete;
    // Leaving by an exception (one rank caught a distributed_error above main's environment, or
    // threw past it) aborts every rank: the others may be waiting in an exchange, and
    // MPI_Finalize would wait for them.
    ~environment() {
        std::set_terminate(previous_);
        int fin = 0;
        MPI_Finalized(&fin);
        if (fin) return;
        if (std::uncaught_exceptions() > 0) {
            std::fprintf(stderr, "gateaux::mpi: rank %d leaves the MPI environment by an exception; every rank stops\n",
                         detail::world_rank());
            std::fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (owns_) MPI_Finalize();
    }

private:
    bool owns_ = false;
    std::terminate_handler previous_ = nullptr;
};

// A checksum of x's values (FNV-1a over the bytes of every block), to compare across ranks.
inline std::uint64_t checksum(const param_set& x) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const tensor& t : x) {
        const auto* p = reinterpret_cast<const unsigned char*>(t.data());
        for (std::size_t i = 0; i < t.size() * sizeof(double); ++i) h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

// Bytes and seconds of the exchanges, for benchmarks: compute is the local work between them.
struct traffic {
    std::size_t exchanges = 0;
    std::size_t bytes_sent = 0, bytes_received = 0;
    double seconds_communicating = 0.0;
};

class communicator {
public:
    communicator() : comm_(MPI_COMM_WORLD) {}
    explicit communicator(MPI_Comm c) : comm_(c) {}

    int rank() const {
        int r = 0;
        MPI_Comm_rank(comm_, &r);
        return r;
    }
    int size() const {
        int n = 0;
        MPI_Comm_size(comm_, &n);
        return n;
    }
    MPI_Comm native() const { return comm_; }

    // Every rank contributes `mine` (rank r's length is lengths[r], known to all ranks); `all`
    // receives the contributions in rank order. `failure` is this rank's error message (empty if
    // its local work succeeded); `check` its checksum of the shared state. Throws
    // distributed_error on every rank where any rank failed or the checks differ.
    // The lengths must be the same on every rank (mpi/objective.hpp computes them from what the
    // ranks agreed on at construction); they are counted in int, as MPI counts: a total beyond
    // that is a size_error on every rank, before any data moves.
    void gather(const std::vector<double>& mine, const std::vector<std::size_t>& lengths, std::vector<double>& all,
                std::string_view failure, std::uint64_t check, traffic& t) const {
        const int n = size(), me = rank();
        constexpr std::size_t header = 2;  // failed, check
        std::size_t total = 0;
        for (int r = 0; r < n; ++r) total += header + lengths[r];
        if (total > std::size_t(std::numeric_limits<int>::max()))
            throw size_error("gateaux::mpi: an exchange of " + std::to_string(total) + " doubles is more than MPI's int counts allow (" +
                             std::to_string(std::numeric_limits<int>::max()) + "); use fewer chunks or smaller batches");
        std::string own(failure);
        if (own.empty() && mine.size() != lengths[me])
            own = "gateaux::mpi: this rank's contribution has " + std::to_string(mine.size()) + " doubles, " +
                  std::to_string(lengths[me]) + " expected";
        send_.assign(header + lengths[me], 0.0);
        send_[0] = own.empty() ? 0.0 : 1.0;
        std::memcpy(&send_[1], &check, sizeof check);
        if (own.empty()) std::copy(mine.begin(), mine.end(), send_.begin() + header);
        counts_.resize(n);
        displs_.resize(n);
        std::size_t at = 0;
        for (int r = 0; r < n; ++r) {
            counts_[r] = int(header + lengths[r]);
            displs_[r] = int(at);
            at += header + lengths[r];
        }
        recv_.resize(total);
        const auto start = std::chrono::steady_clock::now();
        MPI_Allgatherv(send_.data(), int(send_.size()), MPI_DOUBLE, recv_.data(), counts_.data(), displs_.data(), MPI_DOUBLE,
                       comm_);
        t.seconds_communicating += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++t.exchanges;
        t.bytes_sent += send_.size() * sizeof(double);
        t.bytes_received += (total - send_.size()) * sizeof(double);

        bool failed = false, agree = true;
        std::uint64_t first = 0;
        for (int r = 0; r < n; ++r) {
            failed = failed || recv_[displs_[r]] != 0.0;
            std::uint64_t c = 0;
            std::memcpy(&c, &recv_[displs_[r] + 1], sizeof c);
            if (r == 0) first = c;
            agree = agree && c == first;
        }
        if (failed) throw_failure(own);
        if (!agree) {
            std::string which;
            for (int r = 0; r < n; ++r) {
                std::uint64_t c = 0;
                std::memcpy(&c, &recv_[displs_[r] + 1], sizeof c);
                if (c != first) which += (which.empty() ? "" : ", ") + std::to_string(r);
            }
            throw distributed_error("gateaux::mpi: the ranks hold different parameters (rank " + which +
                                        " differs from rank 0); every rank must start from the same x and run the "
                                        "same optimizer",
                                    -1);
        }
        all.resize(total - std::size_t(n) * header);
        at = 0;
        for (int r = 0; r < n; ++r) {
            std::copy(recv_.begin() + displs_[r] + header, recv_.begin() + displs_[r] + counts_[r], all.begin() + at);
            at += lengths[r];
        }
    }

    // Checks that every rank passed the same values (a fixed count of them, the same on every
    // rank); where not, every rank throws distributed_error naming `what` and the ranks that differ
    // from rank 0.
    void agree(const std::vector<std::uint64_t>& values, const std::string& what) const {
        const int n = size();
        std::vector<std::uint64_t> all(values.size() * std::size_t(n));
        MPI_Allgather(values.data(), int(values.size()), MPI_UINT64_T, all.data(), int(values.size()), MPI_UINT64_T, comm_);
        std::string which;
        for (int r = 1; r < n; ++r)
            if (!std::equal(values.size() * std::size_t(r) + all.begin(), values.size() * std::size_t(r + 1) + all.begin(), all.begin()))
                which += (which.empty() ? "" : ", ") + std::to_string(r);
        if (!which.empty())
            throw distributed_error("gateaux::mpi: the ranks disagree on " + what + " (rank " + which + " differs from rank 0)", -1);
    }

    // Runs work() on this rank, then checks with every rank that all succeeded (no data
    // exchanged): every rank throws distributed_error if one failed.
    template <class Work>
    void all_succeed(Work&& work, traffic& t) const {
        std::string failure = attempt(work);
        std::vector<double> none;
        std::vector<std::size_t> lengths(std::size_t(size()), 0);
        gather(none, lengths, none, failure, 0, t);
    }

    // Runs work(), returning its exception's message ("" if it returned normally).
    template <class Work>
    static std::string attempt(Work&& work) {
        try {
            work();
            return {};
        } catch (const std::exception& e) {
            std::string m = e.what();
            return m.empty() ? std::string("an exception with an empty message") : m;
        } catch (...) {
            return "an exception of a type not derived from std::exception";
        }
    }

private:
    // After a failed exchange: every rank sends its message (cut at a fixed length) and throws.
    [[noreturn]] void throw_failure(std::string_view mine) const {
        constexpr std::size_t width = 1024;
        const int n = size();
        std::vector<char> out(width, '\0'), in(width * std::size_t(n), '\0');
        std::memcpy(out.data(), mine.data(), std::min(mine.size(), width - 1));
        MPI_Allgather(out.data(), int(width), MPI_CHAR, in.data(), int(width), MPI_CHAR, comm_);
        std::string what;
        int first = -1;
        for (int r = 0; r < n; ++r) {
            const char* m = in.data() + std::size_t(r) * width;
            if (m[0] == '\0') continue;
            if (first < 0) first = r;
            what += (what.empty() ? "gateaux::mpi: " : "; ") + std::string("rank ") + std::to_string(r) + " failed: " + m;
        }
        throw distributed_error(what, first);
    }

    MPI_Comm comm_;
    mutable std::vector<double> send_, recv_;
    mutable std::vector<int> counts_, displs_;
};

}  // namespace gateaux::mpi
