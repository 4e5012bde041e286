#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md, under each OpenBLAS kernel choice, one log per program
# and choice:
#   bench/run_all.sh [BUILD_DIR] [OUT_DIR]      (defaults build-bench, bench-results)
#   CORES="default SkylakeX" bench/run_all.sh   (which runs; "default" = OPENBLAS_CORETYPE unset)
#   MAX_EXPLICIT=64 bench/run_all.sh            (skip bench_newton's 2 GiB explicit block at n = 128)
# It configures and builds BUILD_DIR first (-DGATEAUX_BUILD_BENCH=ON, -j2 at most).
# OPENBLAS_NUM_THREADS is 1 unless you set it: the figures are ratios of single-threaded code,
# and on a machine whose cores are shared a threaded BLAS call waits for its slowest thread.
# Other OPENBLAS_* variables are inherited as they are; every log prints them, with the load
# average (uptime) before and after each program.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
out=${2:-bench-results}
CORES=${CORES:-default SkylakeX}
MAX_EXPLICIT=${MAX_EXPLICIT:-128}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
programs=(gemm activation forward derivatives newton master block_solve train_digits iteration_cost)

cmake -S "$root" -B "$build" -DGATEAUX_BUILD_BENCH=ON -DGATEAUX_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target "${programs[@]/#/bench_}"
mkdir -p "$out"

for core in $CORES; do
  if [[ $core == default ]]; then
    run=(env -u OPENBLAS_CORETYPE)
  else
    run=(env OPENBLAS_CORETYPE="$core")
  fi
  for b in "${programs[@]}"; do
    args=()
    [[ $b == derivatives ]] && args=(--profile)
    [[ $b == newton ]] && args=(--profile --max-explicit "$MAX_EXPLICIT")
    [[ $b == train_digits ]] && args=(--data "$root/examples/data/digits.csv" --export "$out/digits-export")
    echo "== $core: bench_$b ${args[*]}"
    {
      echo "uptime before: $(uptime)"
      "${run[@]}" "$build/bench/bench_$b" "${args[@]}"
      echo "uptime after: $(uptime)"
    } | tee "$out/$core-$b.txt"
  done
done

if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import scipy' 2>/dev/null; then
  echo "== peer: scipy L-BFGS-B on the exported digits objective"
  env -u OPENBLAS_CORETYPE /usr/bin/python3 "$root/bench/train_digits_scipy.py" "$out/digits-export" 3 | tee "$out/scipy-train_digits.txt"
else
  echo "== peer: scipy not installed (apt-get install python3-scipy); skipped"
fi

echo "== compile time"
{
  echo "uptime before: $(uptime)"
  "$root/bench/compile/run.sh"
  echo "uptime after: $(uptime)"
} | tee "$out/compile.txt"
