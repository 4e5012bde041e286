// What the MPI examples report at the end of a run: whether every rank holds bitwise the same
// parameters, and each rank's exchanges, bytes and time, printed by rank 0 in rank order.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <gateaux/mpi.hpp>

namespace example {

// Whether theta's checksum is the same on every rank (a collective: every rank calls it).
inline bool same_on_every_rank(const gateaux::mpi::communicator& world, const gateaux::param_set& theta) {
    const std::uint64_t mine = gateaux::mpi::checksum(theta);
    std::vector<std::uint64_t> all(std::size_t(world.size()));
    MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, world.native());
    return std::all_of(all.begin(), all.end(), [&](std::uint64_t c) { return c == all[0]; });
}

// One line per rank about f's exchanges, gathered to rank 0, which prints them (a collective).
template <class F>
void print_traffic(const gateaux::mpi::communicator& world, const F& f) {
    const gateaux::mpi::traffic& t = f.communication();
    char line[200];
    std::snprintf(line, sizeof line, "rank %d: %zu exchanges, %.1f KiB sent, %.1f KiB received; %.3f s computing, %.3f s in exchanges",
                  world.rank(), t.exchanges, double(t.bytes_sent) / 1024.0, double(t.bytes_received) / 1024.0,
                  f.seconds_computing(), t.seconds_communicating);
    const bool root = world.rank() == 0;
    std::vector<char> lines(root ? sizeof line * std::size_t(world.size()) : 0);
    MPI_Gather(line, int(sizeof line), MPI_CHAR, lines.data(), int(sizeof line), MPI_CHAR, 0, world.native());
    for (int k = 0; root && k < world.size(); ++k) std::printf("%s\n", lines.data() + std::size_t(k) * sizeof line);
}

}  // namespace example
