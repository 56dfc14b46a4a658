#!/usr/bin/env bash
# Throughput of the axum example server with and without FedAuthLayer
# (issue 7, measure 3), on loopback with wrk.
#
#   bash bench/scripts/load.sh [--quick]
#
# 1. builds the release binaries (idp, baseline-server, axum-server);
# 2. starts `idp` (a mock IdP on a free port; writes registry.toml, one
#    token and UNIQUE unique tokens into a temp dir);
# 3. starts `axum-server --registry registry.toml --allow-http --allow-network 127.0.0.1/32 --listen
#    127.0.0.1:0` and waits for /ready, and `baseline-server` answering
#    /whoami with the example server's own answer for the token (same body);
# 4. runs wrk (THREADS threads, CONNECTIONS connections, DURATION, --latency)
#    against the baseline and the example server with one repeated token,
#    alternately for ROUNDS rounds (in reverse order every other round),
#    then the example server with unique tokens (tokens.lua cycles
#    through the file; every run uses the same script, so the load
#    generator does the same work in each);
# 5. prints req/s, p50, p99, non-2xx and each round's ratio to its
#    baseline, and the median ratio: the result.
#
# Settings (environment): DURATION (15s), WARMUP (2s, before each
# server's run in round 1), ROUNDS (3), THREADS (2),
# CONNECTIONS (64), UNIQUE (200000; a token met again after 200,000
# requests has long left the verified-token cache, which holds ~20,000 of
# them, so it is verified in full again; with 600,000 the server did the
# same work at the same rate but wrk's p99 jumped from 5 ms to 37-146 ms,
# most likely wrk's own stalls over a 600,000-line file held in Lua),
# ALG (EdDSA; RS256 minting is slow), SKIP_BUILD=1, CARGO_TARGET_DIR.
# --quick: DURATION=3s WARMUP=1s UNIQUE=20000 ROUNDS=1.
# WORK_NS="500 1000" (say): also a baseline-server doing that many ns of
# busy CPU per request, in every round after the other two: what that
# much work of any kind costs this run, to read the layer's ratio against.
# PROFILE=1 (needs perf, Debian's linux-perf): after the rounds, one more
# repeated-token run of each server under `perf record -e cpu-clock`
# (PERF_HZ, 4999), and where the example server's extra CPU per request
# goes: kernel, user space, fedauth's own functions (tower_fedauth,
# fedauth_axum, its caches and metrics), and the symbols that grew most.
#
# wrk and the servers share this machine's cores: the numbers are a ratio
# between runs under the same handicap, not a server's capacity.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPTS="$ROOT/bench/scripts"
if [[ "${1:-}" == "--quick" ]]; then
  DURATION=${DURATION:-3s}
  WARMUP=${WARMUP:-1s}
  UNIQUE=${UNIQUE:-20000}
  ROUNDS=${ROUNDS:-1}
fi
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
UNIQUE=${UNIQUE:-200000}
ROUNDS=${ROUNDS:-3}
ALG=${ALG:-EdDSA}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET/release"

# shellcheck source=lib.sh
source "$SCRIPTS/lib.sh"
need_wrk
if [[ "${PROFILE:-0}" == 1 ]] && ! command -v perf >/dev/null; then
  echo "load.sh: PROFILE=1 needs perf (Debian package linux-perf)" >&2
  exit 1
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$ROOT" && cargo build --release -p fedauth-bench -p fedauth-examples \
    --bin idp --bin baseline-server --bin axum-server)
fi

TMP=$(mktemp -d)
PIDS=()
trap cleanup EXIT

echo "## Throughput (wrk $THREADS threads, $CONNECTIONS connections, $DURATION each; $ALG tokens; $(nproc) cores shared by wrk and the server)"
echo

"$BIN/idp" --dir "$TMP" --alg "$ALG" --unique "$UNIQUE" >"$TMP/idp.out" 2>"$TMP/idp.err" &
PIDS+=($!)
wait_for "$TMP/idp.out" '^idp ready ' 600

start server "$BIN/axum-server" --registry "$TMP/registry.toml" --allow-http \
  --allow-network 127.0.0.1/32 --listen 127.0.0.1:0
SERVER_PID=$STARTED_PID
SERVER=$STARTED_ADDR
wait_ready "$SERVER"

TOKEN=$(head -n1 "$TMP/token.txt")
expect_200 "the example server, the benchmark token" "$TMP/whoami.json" "http://$SERVER/whoami" "$TOKEN"
expect_200 "the example server, a unique token" "$TMP/unique.json" "http://$SERVER/whoami" \
  "$(head -n1 "$TMP/tokens.txt")"

start baseline "$BIN/baseline-server" --listen 127.0.0.1:0 --body "$TMP/whoami.json"
BASELINE_PID=$STARTED_PID
BASELINE=$STARTED_ADDR
expect_200 "the baseline" "$TMP/baseline.json" "http://$BASELINE/whoami"
# One more baseline per WORK_NS value, busy that long per request.
declare -A WORK_ADDR WORK_PID
for ns in ${WORK_NS:-}; do
  start "work-$ns" "$BIN/baseline-server" --listen 127.0.0.1:0 --body "$TMP/whoami.json" --work-ns "$ns"
  WORK_PID[$ns]=$STARTED_PID
  WORK_ADDR[$ns]=$STARTED_ADDR
done
echo "response body: $(wc -c <"$TMP/whoami.json") bytes (example server), $(wc -c <"$TMP/baseline.json") bytes (baseline)"
echo

# run NAME ADDR TOKENS_FILE PID [WARMUP]: one wrk run, after WARMUP of the
# same tokens if given; results in $TMP/NAME.*
run() {
  local name=$1 addr=$2 tokens=$3 pid=$4 warm=${5:-}
  if [[ -n $warm ]]; then
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$warm" -s "$SCRIPTS/tokens.lua" \
      "http://$addr" -- "$tokens" "$THREADS" >/dev/null
  fi
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency -s "$SCRIPTS/tokens.lua" \
    "http://$addr" -- "$tokens" "$THREADS" >"$TMP/$name.wrk" 2>&1
  rss_mib "$pid" >"$TMP/$name.rss"
  echo "### wrk: $name"
  echo '```'
  cat "$TMP/$name.wrk"
  echo '```'
  echo
}

# Round 1 warms both servers up with the repeated token (the unique run
# has no warm-up, so its tokens are all new to the server). The baseline
# and the repeated token alternate for ROUNDS rounds, so that a
# neighbour's load on this machine falls on both alike; the result is the
# median round's ratio.
# Even rounds run the servers in the reverse order (A B, B A, A B, ...), so
# a drift over the minutes (the baseline often runs slower in its first
# minute) does not favour whichever server runs second.
for ((round = 1; round <= ROUNDS; round++)); do
  warm=""
  ((round == 1)) && warm=$WARMUP
  order=("baseline $BASELINE $BASELINE_PID" "repeated $SERVER $SERVER_PID")
  for ns in ${WORK_NS:-}; do
    order+=("work-$ns ${WORK_ADDR[$ns]} ${WORK_PID[$ns]}")
  done
  if ((round % 2 == 0)); then
    for ((i = 0, j = ${#order[@]} - 1; i < j; i++, j--)); do
      swap=${order[i]}; order[i]=${order[j]}; order[j]=$swap
    done
  fi
  for entry in "${order[@]}"; do
    read -r name addr pid <<<"$entry"
    run "$name-$round" "$addr" "$TMP/token.txt" "$pid" "$warm"
  done
done
run unique "$SERVER" "$TMP/tokens.txt" "$SERVER_PID"

# profile NAME ADDR PID: a repeated-token run with perf sampling the
# server; its samples by symbol in $TMP/NAME.syms ("count [k|.] symbol").
profile() {
  local name=$1 addr=$2 pid=$3
  perf record -q -e cpu-clock -F "${PERF_HZ:-4999}" -p "$pid" -o "$TMP/$name.perf" \
    -- sleep "$DURATION" 2>"$TMP/$name.perf-err" &
  local perf_pid=$!
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s "$SCRIPTS/tokens.lua" \
    "http://$addr" -- "$TMP/token.txt" "$THREADS" >"$TMP/$name.wrk" 2>&1
  wait "$perf_pid"
  perf report -i "$TMP/$name.perf" --no-children --sort sym -q -n -F sample,sym \
    2>/dev/null >"$TMP/$name.syms"
}
if [[ "${PROFILE:-0}" == 1 ]]; then
  profile profile-baseline "$BASELINE" "$BASELINE_PID"
  profile profile-fedauth "$SERVER" "$SERVER_PID"
fi

row() { # row NAME LABEL BASELINE_RPS
  local rps
  rps=$(field "$1" rps)
  echo "| $2 | $rps | $(field "$1" p50) | $(field "$1" p99) | $(field "$1" non2xx) | $(field "$1" errors) | $(ratio "$rps" "$3") | $(cat "$TMP/$1.rss") |"
}
echo "| run | req/s | p50 ms | p99 ms | non-2xx | socket errors | ratio to baseline | server RSS MiB |"
echo "|---|---:|---:|---:|---:|---|---:|---:|"
ratios=()
for ((round = 1; round <= ROUNDS; round++)); do
  base=$(field "baseline-$round" rps)
  row "baseline-$round" "no-auth baseline, round $round" "$base"
  row "repeated-$round" "fedauth, one repeated token, round $round" "$base"
  ratios+=("$(ratio "$(field "repeated-$round" rps)" "$base")")
  for ns in ${WORK_NS:-}; do
    row "work-$ns-$round" "no-auth baseline + $ns ns of busy CPU per request, round $round" "$base"
  done
done
MEDIAN_BASE=$(for ((round = 1; round <= ROUNDS; round++)); do field "baseline-$round" rps; done | median)
row unique "fedauth, unique tokens ($(field unique tokens) in the file)" "$MEDIAN_BASE"
echo
MEDIAN_RATIO=$(printf '%s\n' "${ratios[@]}" | median)
echo "repeated token / baseline, by round: ${ratios[*]}; median **$MEDIAN_RATIO** (the unique-token run is compared with the median baseline)."
for ns in ${WORK_NS:-}; do
  work_ratios=$(for ((round = 1; round <= ROUNDS; round++)); do
    ratio "$(field "work-$ns-$round" rps)" "$(field "baseline-$round" rps)"
    echo
  done)
  echo "baseline + $ns ns per request / baseline, by round: $(echo $work_ratios); median $(echo "$work_ratios" | median)."
done
requests=$(field unique requests)
tokens=$(field unique tokens)
if [[ -n $requests && -n $tokens ]] && ((requests > tokens)); then
  echo "note: the unique-token run sent $requests requests for $tokens tokens: $((requests - tokens)) were repeats, verified in full again unless still in the token cache."
fi
echo "target: repeated-token req/s ≥ 0.85 × baseline. wrk and the server share $(nproc) cores."

[[ "${PROFILE:-0}" == 1 ]] || exit 0
echo
echo "## Where the example server's extra CPU goes (perf, ${PERF_HZ:-4999} Hz, one more $DURATION repeated-token run of each)"
echo
awk -v hz="${PERF_HZ:-4999}" \
  -v base_requests="$(field profile-baseline requests)" \
  -v fedauth_requests="$(field profile-fedauth requests)" \
  -f "$SCRIPTS/profile-diff.awk" "$TMP/profile-baseline.syms" "$TMP/profile-fedauth.syms"
