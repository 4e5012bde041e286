// Uses the installed package's gateaux::mpi target (built where MPI is found).
#include <gateaux/mpi/communicator.hpp>

#include <iostream>

int main(int argc, char** argv) {
    gateaux::mpi::environment env(argc, argv);
    const gateaux::mpi::communicator world;
    std::cout << "gateaux consumer: MPI rank " << world.rank() << " of " << world.size() << '\n';
}
