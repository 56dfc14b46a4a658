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

if ! command -v wrk >/dev/null; then
  echo "load.sh: wrk is missing; installing it (Debian package wrk)" >&2
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
  fi
fi
command -v curl >/dev/null || { echo "load.sh: curl is needed" >&2; exit 1; }
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
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

# wait_for FILE REGEX SECONDS: wait until a line of FILE matches.
wait_for() {
  local file=$1 regex=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    if grep -qE "$regex" "$file" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "load.sh: timed out waiting for /$regex/ in $file" >&2
  cat "$file" >&2 || true
  return 1
}

listen_addr() {
  sed -n 's#^listening on http://\(.*\)$#\1#p' "$1" | head -n1
}

rss_mib() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

echo "## Throughput (wrk $THREADS threads, $CONNECTIONS connections, $DURATION each; $ALG tokens; $(nproc) cores shared by wrk and the server)"
echo

"$BIN/idp" --dir "$TMP" --alg "$ALG" --unique "$UNIQUE" >"$TMP/idp.out" 2>"$TMP/idp.err" &
PIDS+=($!)
wait_for "$TMP/idp.out" '^idp ready ' 600

RUST_LOG=${RUST_LOG:-warn} "$BIN/axum-server" --registry "$TMP/registry.toml" --allow-http --allow-network 127.0.0.1/32 \
  --listen 127.0.0.1:0 >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_for "$TMP/server.out" '^listening on http://' 30
SERVER=$(listen_addr "$TMP/server.out")
for ((i = 0; i < 300; i++)); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$SERVER/ready") == 200 ]] && break
  sleep 0.1
done

TOKEN=$(head -n1 "$TMP/token.txt")
code=$(curl -s -o "$TMP/whoami.json" -w '%{http_code}' \
  -H "Authorization: Bearer $TOKEN" -H 'x-sc-auth: bench' "http://$SERVER/whoami")
if [[ $code != 200 ]]; then
  echo "load.sh: the example server answered $code to the benchmark token:" >&2
  cat "$TMP/whoami.json" >&2
  exit 1
fi
code=$(curl -s -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $(head -n1 "$TMP/tokens.txt")" -H 'x-sc-auth: bench' "http://$SERVER/whoami")
[[ $code == 200 ]] || { echo "load.sh: a unique token got $code" >&2; exit 1; }

RUST_LOG=${RUST_LOG:-warn} "$BIN/baseline-server" --listen 127.0.0.1:0 --body "$TMP/whoami.json" \
  >"$TMP/baseline.out" 2>"$TMP/baseline.err" &
BASELINE_PID=$!
PIDS+=("$BASELINE_PID")
wait_for "$TMP/baseline.out" '^listening on http://' 30
BASELINE=$(listen_addr "$TMP/baseline.out")
code=$(curl -s -o "$TMP/baseline.json" -w '%{http_code}' "http://$BASELINE/whoami")
[[ $code == 200 ]] || { echo "load.sh: the baseline answered $code" >&2; exit 1; }
# One more baseline per WORK_NS value, busy that long per request.
declare -A WORK_ADDR WORK_PID
for ns in ${WORK_NS:-}; do
  RUST_LOG=${RUST_LOG:-warn} "$BIN/baseline-server" --listen 127.0.0.1:0 \
    --body "$TMP/whoami.json" --work-ns "$ns" >"$TMP/work-$ns.out" 2>"$TMP/work-$ns.err" &
  WORK_PID[$ns]=$!
  PIDS+=("${WORK_PID[$ns]}")
  wait_for "$TMP/work-$ns.out" '^listening on http://' 30
  WORK_ADDR[$ns]=$(listen_addr "$TMP/work-$ns.out")
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

to_ms() { # wrk latency (e.g. 530.00us, 1.23ms, 1.02s) in ms
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000
    else if (v ~ /ms$/) n = n
    else if (v ~ /m$/) n = n * 60000
    else if (v ~ /s$/) n = n * 1000
    printf "%.3f", n
  }'
}
field() { # field NAME KEY
  local f="$TMP/$1.wrk"
  case $2 in
    rps) awk '/^Requests\/sec:/ { print $2 }' "$f" ;;
    p50) to_ms "$(awk '$1 == "50%" { print $2; exit }' "$f")" ;;
    p99) to_ms "$(awk '$1 == "99%" { print $2; exit }' "$f")" ;;
    non2xx) awk '/Non-2xx or 3xx responses:/ { print $NF; found = 1 } END { if (!found) print 0 }' "$f" ;;
    errors) awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print; found = 1 } END { if (!found) print "none" }' "$f" ;;
    requests) awk '/requests in/ { print $1; exit }' "$f" ;;
    tokens) awk -F'[ =]' '/^lua: tokens=/ { print $3 }' "$f" ;;
  esac
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; } # of stdin's lines
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
