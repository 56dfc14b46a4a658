#!/usr/bin/env bash
# Run every fuzz target for FUZZ_SECONDS (default 600), one at a time, at the
# lowest CPU priority, seeded from fuzz/seeds/<target>. Logs go to
# fuzz/logs/<target>.log; new corpus entries to fuzz/corpus/<target>;
# crashes to fuzz/artifacts/<target>. Usage: fuzz/run.sh [target...]
set -u
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-600}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(token keyset registry verification_answer)
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: $(date -u +%FT%TZ)" | tee "logs/$t.log"
  RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    >>"logs/$t.log" 2>&1
  echo "== $t: exit $? at $(date -u +%FT%TZ)" | tee -a "logs/$t.log"
done
