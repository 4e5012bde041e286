#!/usr/bin/env bash
# bench_mpi_scaling at 1, 2 and 4 ranks (RANKS overrides), one BLAS thread per rank, in one run:
#   bench/mpi_scaling.sh [BUILD_DIR]      (default build-bench; configure it with -DGATEAUX_BUILD_BENCH=ON)
# More ranks than cores are oversubscribed (their waits then take cores from the work).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-bench}
exe=$build/bench/bench_mpi_scaling
[[ -x $exe ]] || { echo "mpi_scaling.sh: $exe not found (cmake --build $build --target bench_mpi_scaling)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
for np in ${RANKS:-1 2 4}; do
  mpirun -np "$np" "$exe" ${ROUNDS:+--rounds $ROUNDS}
  echo
done
