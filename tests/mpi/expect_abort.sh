#!/usr/bin/env bash
# expect_abort.sh SECONDS PATTERN COMMAND...: COMMAND (an mpirun) must exit non-zero within
# SECONDS, and its output must match the extended regular expression PATTERN.
set -uo pipefail
limit=$1 pattern=$2
shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
timeout --kill-after=5 "$limit" "$@" >"$log" 2>&1
rc=$?
elapsed=$((SECONDS - start))
cat "$log"
echo "expect_abort: exit status $rc after $elapsed s"
if [[ $rc -eq 124 || $rc -eq 137 ]]; then echo "expect_abort: FAILED: still running after $limit s"; exit 1; fi
if [[ $rc -eq 0 ]]; then echo "expect_abort: FAILED: exit status 0"; exit 1; fi
if ! grep -E -q "$pattern" "$log"; then echo "expect_abort: FAILED: no line matches '$pattern'"; exit 1; fi
echo "expect_abort: ok"
