#!/usr/bin/env bash
# Compile-time cost of parameters by name (symbolic/named_params.hpp, a Boost.Hana lookup).
#
# One training program (a 64→32→16→10 MLP with biases, six parameters: make_objective, L-BFGS,
# minimize, then every block read) is compiled in three forms, each REPEATS times (-c, the
# build's Release flags), against two copies of the headers:
#   positional    theta[0] ... theta[5] through a param_set (no names)
#   named         theta[W1] ... theta[b3] through named_params (the library as it is: Hana)
#   named, fold   the same source against a copy of include/ whose named_params.hpp finds the
#                 position with gateaux's own fold (meta::position) instead of Hana: the
#                 hand-written reference, and the library as it would be without Boost.Hana
# plus two bare TUs: the five Hana headers named_params.hpp includes, and an empty one. The table
# shows the median CPU time (user + system, less disturbed than wall time when the cores are
# shared) and the largest peak memory; the last lines give the Hana headers' cost and the named
# program's cost against the positional one and against the fold.
#
#   bench/compile/named.sh                 # REPEATS=5
#   REPEATS=3 CXX=g++ bench/compile/named.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CXX=${CXX:-g++}
CXXFLAGS=${CXXFLAGS:--std=c++20 -O2 -DNDEBUG -Wall -Wextra -Wpedantic}
REPEATS=${REPEATS:-5}
TIME=/usr/bin/time
[[ -x $TIME ]] || { echo "named.sh: needs GNU time at $TIME (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gateaux-named-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The headers without Hana: named_params.hpp's lookup replaced by meta::position.
mkdir -p "$work/fold"
cp -r "$root/include" "$work/fold/"
perl -0pi -e 's/#include <boost\/hana\/[a-z_]+\.hpp>\n//g;
  s/constexpr auto found = boost::hana::index_if\(.*?\);\n\s*if constexpr \(boost::hana::is_nothing\(found\)\)\n\s*return npos;\n\s*else\n\s*return boost::hana::value\(\*found\);/constexpr std::size_t p = meta::position<meta::list<P...>, L>::value;\n        return p == meta::npos ? npos : p;/s' \
  "$work/fold/include/gateaux/symbolic/named_params.hpp"
if grep -q "boost::hana\|boost/hana" "$work/fold/include/gateaux/symbolic/named_params.hpp"; then
  echo "named.sh: could not replace the Hana lookup in the copy of named_params.hpp" >&2
  exit 1
fi

# gen_program positional|named
gen_program() {
  cat <<'EOF'
#include <gateaux/gateaux.hpp>

#include <cstdio>

using namespace gateaux;

int main() {
    constexpr auto x = input<"x", 64>;
    constexpr auto y = target<"y", 10>;
    constexpr auto W1 = param<"W1", 64, 32>;
    constexpr auto b1 = bias<"b1", 32>;
    constexpr auto W2 = param<"W2", 32, 16>;
    constexpr auto b2 = bias<"b2", 16>;
    constexpr auto W3 = param<"W3", 16, 10>;
    constexpr auto b3 = bias<"b3", 10>;
    constexpr auto out = tanh(tanh(x * W1 + b1) * W2 + b2) * W3 + b3;
    constexpr auto loss = mse(out, y);
    constexpr auto w = wrt(W1, b1, W2, b2, W3, b3);
    auto f = make_objective(loss, w);
    tensor X = xt::zeros<double>({std::size_t(50), std::size_t(64)}), Y = xt::zeros<double>({std::size_t(50), std::size_t(10)});
    for (std::size_t i = 0; i < 50; ++i) X(i, i % 64) = 1.0, Y(i, i % 10) = 1.0;
    f.set_data(x, X).set_data(y, Y);
    auto theta = initialize(w, init::glorot_normal, 1);
    lbfgs opt;
    stopping stop;
    stop.max_iterations = 5;
    minimize(f, theta, opt, stop);
EOF
  if [[ $1 == positional ]]; then
    cat <<'EOF'
    const param_set& p = theta;
    const double s = p[0](0, 0) + p[1](0, 0) + p[2](0, 0) + p[3](0, 0) + p[4](0, 0) + p[5](0, 0);
EOF
  else
    cat <<'EOF'
    const double s = theta[W1](0, 0) + theta[b1](0, 0) + theta[W2](0, 0) + theta[b2](0, 0) + theta[W3](0, 0) + theta[b3](0, 0);
EOF
  fi
  cat <<'EOF'
    std::printf("%.17g\n", s);
}
EOF
}

gen_program positional >"$work/positional.cpp"
gen_program named >"$work/named.cpp"
printf '#include <boost/hana/equal.hpp>\n#include <boost/hana/index_if.hpp>\n#include <boost/hana/optional.hpp>\n#include <boost/hana/tuple.hpp>\n#include <boost/hana/type.hpp>\nint main() {}\n' >"$work/hana.cpp"
printf 'int main() {}\n' >"$work/empty.cpp"

# stats SRC INCLUDE_DIR -> "median_cpu_s max_mib"
stats() {
  local src=$1 inc=$2 cpus=() mem=0 r u s m
  for ((r = 0; r < REPEATS; r++)); do
    # shellcheck disable=SC2086  # CXXFLAGS is a list of words
    $TIME -f "%U %S %M" -o "$work/time.txt" $CXX $CXXFLAGS -I"$inc" -c "$src" -o "$work/out.o" 2>"$work/cc.err" ||
      { echo "named.sh: $src does not compile:" >&2; cat "$work/cc.err" >&2; exit 1; }
    read -r u s m <"$work/time.txt"
    cpus+=("$(echo "$u + $s" | bc -l)")
    ((m > mem)) && mem=$m
  done
  printf '%s %s\n' "$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "$(((REPEATS + 1) / 2))p")" "$((mem / 1024))"
}

echo "compiler: $($CXX --version | head -1)"
echo "flags:    $CXXFLAGS   repeats: $REPEATS (median CPU time)"
printf '%-34s %10s %10s\n' "translation unit" "CPU s" "peak MiB"
declare -A cpu
row() {  # row KEY LABEL SRC INCLUDE_DIR
  local c m
  read -r c m < <(stats "$3" "$4")
  cpu[$1]=$c
  printf '%-34s %10.2f %10s\n' "$2" "$c" "$m"
}
row positional "program, positional" "$work/positional.cpp" "$root/include"
row named "program, named (Hana)" "$work/named.cpp" "$root/include"
row fold "program, named (fold, no Hana)" "$work/named.cpp" "$work/fold/include"
row hana "the five Hana headers alone" "$work/hana.cpp" "$root/include"
row empty "empty" "$work/empty.cpp" "$root/include"
pct() { echo "scale=1; 100 * ($1) / ($2)" | bc -l; }
echo
echo "Hana headers: $(echo "${cpu[hana]} - ${cpu[empty]}" | bc -l) s of CPU per TU that includes gateaux.hpp"
echo "named (Hana) vs positional: $(pct "${cpu[named]} - ${cpu[positional]}" "${cpu[positional]}") %"
echo "named (Hana) vs named (fold): $(pct "${cpu[named]} - ${cpu[fold]}" "${cpu[fold]}") %"
