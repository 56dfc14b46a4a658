#!/usr/bin/env bash
# Every measurement of issue 7, in order, into one file:
#
#   bash bench/scripts/bench.sh
#
# 1. criterion (`cargo bench -p fedauth-bench --bench verify`), then
#    `bench-report` (the a/b/c/d table with ratios);
# 2. `keyset-load` (concurrent cold requests, random kids, rotation);
# 3. `token-rss` (resident set over 1,000,000 unique tokens: cache off,
#    default bounds, small bounds);
# 4. `scripts/load.sh` (wrk: baseline, repeated token, unique tokens;
#    with PROFILE=1 also where the example server's extra CPU per request
#    goes, from perf).
#
# Everything is tee'd into $CARGO_TARGET_DIR/bench-results.txt (default
# target/bench-results.txt). About 10-15 minutes on 2 cores. Run on a
# quiet machine. Extra criterion arguments: CRITERION_ARGS (e.g.
# "--quick"); token count: FEDAUTH_RSS_TOKENS; load.sh settings: see there.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$TARGET"
OUT="$TARGET/bench-results.txt"

step() {
  echo
  echo "# $*"
  echo
}

{
  echo "# fedauth benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -srm)"
  echo "- cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- toolchain: $(rustc --version)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  status=0

  step "1. per-request cost (criterion)"
  echo '$ cargo bench -p fedauth-bench --bench verify' "${CRITERION_ARGS:-}"
  # shellcheck disable=SC2086
  cargo bench -p fedauth-bench --bench verify -- ${CRITERION_ARGS:-} || status=1
  echo '$ cargo run --release -p fedauth-bench --bin bench-report'
  cargo run -q --release -p fedauth-bench --bin bench-report -- "$TARGET/criterion" || status=1

  step "2. key sets under load"
  echo '$ cargo run --release -p fedauth-bench --bin keyset-load'
  cargo run -q --release -p fedauth-bench --bin keyset-load || status=1

  step "3. memory with unique tokens"
  echo '$ cargo run --release -p fedauth-bench --bin token-rss'
  cargo run -q --release -p fedauth-bench --bin token-rss || status=1

  step "4. throughput"
  echo "\$ ${PROFILE:+PROFILE=$PROFILE }bash bench/scripts/load.sh"
  bash bench/scripts/load.sh || status=1

  echo
  if ((status == 0)); then
    echo "all steps finished"
  else
    echo "some steps FAILED (see above)"
  fi
  exit "$status"
} 2>&1 | tee "$OUT"
status=${PIPESTATUS[0]}
echo "results: $OUT"
exit "$status"
