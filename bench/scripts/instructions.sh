#!/usr/bin/env bash
# Instructions per request on the cache-hit path, counted by callgrind
# (Debian: valgrind), for comparing builds on a machine too busy for
# wall-clock medians. Parts: c (layer, hit), e (no layer), f
# (authenticate_now), g (extensions), r (the request alone); and the
# throughput run's two servers in process, x (the example server's router,
# a hit) and y (the baseline's router, same answer, no layer).
#
#   bash bench/scripts/instructions.sh [ALGS] [ITERATIONS]
#
# ALGS defaults to "RS256 EdDSA", ITERATIONS to 20000. Also counts b (a
# full verification, token cache off) over ITERATIONS / 50.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
ALGS=${1:-RS256 EdDSA}
N=${2:-20000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release -p fedauth-bench --bin hit-instructions
BIN="$TARGET/release/hit-instructions"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

count() { # alg part [iterations] -> instructions per iteration
  local n=${3:-$N}
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$1.$2" \
    --toggle-collect='*hit_instructions*measured*' "$BIN" "$1" "$2" "$n" \
    >/dev/null 2>"$OUT/log.$1.$2" || { cat "$OUT/log.$1.$2" >&2; exit 1; }
  awk -v n="$n" '/^summary:/ { printf "%.0f", $2 / n }' "$OUT/cg.$1.$2"
}

echo "instructions per request ($N iterations, callgrind), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
echo
echo "| alg | b | c | e | c − e | f − r | g − r | r | x | y | x − y |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for alg in $ALGS; do
  c=$(count "$alg" c); e=$(count "$alg" e); f=$(count "$alg" f)
  g=$(count "$alg" g); r=$(count "$alg" r); b=$(count "$alg" b $((N / 50)))
  x=$(count "$alg" x); y=$(count "$alg" y)
  echo "| $alg | $b | $c | $e | $((c - e)) | $((f - r)) | $((g - r)) | $r | $x | $y | $((x - y)) |"
done
