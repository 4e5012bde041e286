#pragma once
// Data-parallel training over MPI (the optional gateaux::mpi target): the environment and
// communicator, the partition of rows into chunks and shards, and the distributed objective.
// Not part of <gateaux/gateaux.hpp>, which needs no MPI.
#include "gateaux.hpp"
#include "mpi/communicator.hpp"
#include "mpi/objective.hpp"
#include "mpi/partition.hpp"
