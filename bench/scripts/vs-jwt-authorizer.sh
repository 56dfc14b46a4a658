#!/usr/bin/env bash
# fedauth's axum example server against jwt-authorizer 0.15 on axum 0.7
# (issue 21), on loopback with wrk: what each server's CPU spends per
# request with no auth, one repeated token, and tokens it has never seen.
#
#   bash bench/scripts/vs-jwt-authorizer.sh [--quick]
#
# 1. builds the release binaries (idp, axum-server, baseline-server,
#    jwt-authorizer-server);
# 2. starts `idp` (a mock IdP on a free port): registry.toml, public.pem,
#    one token, and ROUNDS + 1 files of TOKENS distinct tokens each
#    (tokens-1.txt warms the servers up, tokens-R+1.txt is round R's), no
#    token in two files, all minted before the rounds;
# 3. starts the example server (`axum-server --registry registry.toml`:
#    FedAuthLayer, default verified-token cache, Prometheus recorder),
#    `baseline-server` (its routes without the layer, answering the
#    example server's own /whoami body: fedauth's "no auth"), and
#    `jwt-authorizer-server` (the same public key, issuer and audience;
#    /whoami behind the layer, /public/whoami with no layer answering the
#    same body as the baseline: jwt-authorizer's "no auth");
# 4. in each round, for each case (no auth, repeated token, distinct
#    tokens), runs wrk against fedauth then jwt-authorizer — the other
#    way round every other round, so a drift over the minutes favours
#    neither — and reads each server's user + system CPU time from
#    /proc/PID/stat before and after the run;
# 5. prints, per run, req/s, p50, p99 and server CPU µs per request
#    (CPU time / requests answered), then the median of the rounds and
#    the ratios fedauth / jwt-authorizer, and fedauth's repeated-token
#    throughput against its no-auth route.
#
# The distinct-token runs send each token once: round R's file is sent to
# both servers (jwt-authorizer keeps nothing between requests; fedauth
# never sees a token of it again). A run that sends more requests than
# the file holds is flagged (its tokens came round again): raise TOKENS or
# shorten DURATION.
#
# wrk and the servers share this machine's cores, and other processes may
# too: req/s moves with them; CPU µs per request much less so. The load
# average is printed before and after.
#
# Settings (environment): ALG (RS256; ES256, EdDSA, PS256), ROUNDS (3),
# DURATION (5s), WARMUP (2s of no auth and of the repeated token on each
# server before round 1, then DURATION of distinct tokens), THREADS (1),
# CONNECTIONS (32), TOKENS (per file, more than a distinct-token run
# sends: up to ~20 k requests/s with RS256 here; 130000 for RS256 and
# PS256, whose signing takes 0.4-0.8 ms of a core a token, 150000
# otherwise), SKIP_BUILD=1, CARGO_TARGET_DIR.
# --quick: DURATION=2s WARMUP=1s ROUNDS=1 TOKENS=30000.
# PROFILE=1 (needs perf, Debian's linux-perf): after the rounds, one more
# distinct-token run of each server under `perf record -e cpu-clock
# --call-graph dwarf` (PERF_HZ, 999; one more token file), and where each
# server's CPU goes per request: by phase (the layer, the signature check,
# the token's parse, the cache insert, the handler, the socket calls;
# phases.awk), by shared object, and the PERF_TOP (20) costliest symbols;
# PERF_KEEP=DIR keeps the recordings (DIR/fedauth.perf, DIR/jwt.perf) for
# `perf report -i`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPTS="$ROOT/bench/scripts"
if [[ "${1:-}" == "--quick" ]]; then
  DURATION=${DURATION:-2s}
  WARMUP=${WARMUP:-1s}
  ROUNDS=${ROUNDS:-1}
  TOKENS=${TOKENS:-30000}
fi
ALG=${ALG:-RS256}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
case $ALG in
  RS256 | PS256) TOKENS=${TOKENS:-130000} ;;
  *) TOKENS=${TOKENS:-150000} ;;
esac
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET/release"
CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=lib.sh
source "$SCRIPTS/lib.sh"
need_wrk
if [[ "${PROFILE:-0}" == 1 ]] && ! command -v perf >/dev/null; then
  echo "PROFILE=1 needs perf (Debian package linux-perf)" >&2
  exit 1
fi
FILES=$((ROUNDS + 1))
[[ "${PROFILE:-0}" == 1 ]] && FILES=$((ROUNDS + 2))

build_servers

TMP=$(mktemp -d)
PIDS=()
trap cleanup EXIT

echo "## fedauth against jwt-authorizer 0.15: $ALG"
echo
run_line
echo "- wrk: $THREADS thread(s), $CONNECTIONS connections, $DURATION a run, $ROUNDS rounds; $(nproc) cores shared by wrk and the servers"
echo "- load before: $(uptime | sed 's/.*load average/load average/')"

"$BIN/idp" --dir "$TMP" --alg "$ALG" --unique "$TOKENS" --files "$FILES" \
  >"$TMP/idp.out" 2>"$TMP/idp.err" &
PIDS+=($!)
wait_for "$TMP/idp.out" '^idp ready ' 3600
echo "- tokens: $FILES files of $TOKENS distinct $ALG tokens, $(sed -n 's/^idp ready [^ ]* (\(.*\))$/\1/p' "$TMP/idp.out")"
ISSUER=$(sed -n 's/^idp ready \([^ ]*\).*$/\1/p' "$TMP/idp.out")
TOKEN=$(head -n1 "$TMP/token.txt")
FRESH=$(head -n1 "$TMP/tokens-1.txt")

start fedauth "$BIN/axum-server" --registry "$TMP/registry.toml" --allow-http \
  --allow-network 127.0.0.1/32 --listen 127.0.0.1:0
FEDAUTH_PID=$STARTED_PID
FEDAUTH=$STARTED_ADDR
wait_ready "$FEDAUTH"
expect_200 "fedauth, the repeated token" "$TMP/whoami.json" "http://$FEDAUTH/whoami" "$TOKEN"
expect_200 "fedauth, a distinct token" "$TMP/fedauth-fresh.json" "http://$FEDAUTH/whoami" "$FRESH"

start baseline "$BIN/baseline-server" --listen 127.0.0.1:0 --body "$TMP/whoami.json"
BASELINE_PID=$STARTED_PID
BASELINE=$STARTED_ADDR
expect_200 "the no-auth baseline" "$TMP/baseline.json" "http://$BASELINE/whoami"

start jwt "$BIN/jwt-authorizer-server" --pem "$TMP/public.pem" --alg "$ALG" \
  --issuer "$ISSUER" --body "$TMP/whoami.json" --listen 127.0.0.1:0
JWT_PID=$STARTED_PID
JWT=$STARTED_ADDR
expect_200 "jwt-authorizer, the repeated token" "$TMP/jwt.json" "http://$JWT/whoami" "$TOKEN"
expect_200 "jwt-authorizer, a distinct token" "$TMP/jwt-fresh.json" "http://$JWT/whoami" "$FRESH"
expect_200 "jwt-authorizer, no auth" "$TMP/jwt-public.json" "http://$JWT/public/whoami"
# A signature with one character changed mid-way must be refused.
at=$((${#TOKEN} - 20))
flipped=${TOKEN:0:at}$([[ ${TOKEN:at:1} == A ]] && echo B || echo A)${TOKEN:at+1}
code=$(get_status /dev/null "http://$JWT/whoami" "$flipped")
[[ $code == 401 ]] || { echo "jwt-authorizer accepted a forged signature ($code)" >&2; exit 1; }
echo "- /whoami bodies: fedauth $(wc -c <"$TMP/whoami.json") bytes, jwt-authorizer $(wc -c <"$TMP/jwt.json"), no auth $(wc -c <"$TMP/baseline.json") and $(wc -c <"$TMP/jwt-public.json")"
echo

# run NAME ADDR PATH TOKENS PID [SECONDS]: one wrk run; results in
# $TMP/NAME.wrk, the server's CPU ticks during it in $TMP/NAME.ticks.
run() {
  local name=$1 addr=$2 path=$3 tokens=$4 pid=$5 secs=${6:-$DURATION} before
  before=$(cpu_ticks "$pid")
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$secs" --latency -s "$SCRIPTS/tokens.lua" \
    "http://$addr" -- "$tokens" "$THREADS" "$path" >"$TMP/$name.wrk" 2>&1
  echo $(($(cpu_ticks "$pid") - before)) >"$TMP/$name.ticks"
}

# The two servers' address, path and PID for each case.
target() { # target SERVER CASE
  case $1-$2 in
    fedauth-noauth) echo "$BASELINE /whoami $BASELINE_PID" ;;
    fedauth-*) echo "$FEDAUTH /whoami $FEDAUTH_PID" ;;
    jwt-noauth) echo "$JWT /public/whoami $JWT_PID" ;;
    jwt-*) echo "$JWT /whoami $JWT_PID" ;;
  esac
}
tokens_of() { # tokens_of CASE ROUND
  case $1 in
    distinct) echo "$TMP/tokens-$(($2 + 1)).txt" ;;
    *) echo "$TMP/token.txt" ;;
  esac
}

# Warm-up: every server, WARMUP of no auth and of the repeated token,
# then DURATION of the first file (which fills fedauth's verified-token
# cache, so the rounds meet a full cache, as a long-running server's is).
for server in fedauth jwt; do
  for case in noauth repeated distinct; do
    read -r addr path pid <<<"$(target "$server" "$case")"
    secs=$WARMUP
    [[ $case == distinct ]] && secs=$DURATION
    run "warm-$server-$case" "$addr" "$path" "$(tokens_of "$case" 0)" "$pid" "$secs"
  done
done

CASES=(noauth repeated distinct)
for ((round = 1; round <= ROUNDS; round++)); do
  order=(fedauth jwt)
  ((round % 2 == 0)) && order=(jwt fedauth)
  for case in "${CASES[@]}"; do
    for server in "${order[@]}"; do
      read -r addr path pid <<<"$(target "$server" "$case")"
      run "$server-$case-$round" "$addr" "$path" "$(tokens_of "$case" "$round")" "$pid"
    done
  done
done
echo "- load after: $(uptime | sed 's/.*load average/load average/')"
echo

cpu_us() { # cpu_us NAME: server CPU µs per request of a run
  awk -v t="$(cat "$TMP/$1.ticks")" -v hz="$CLK_TCK" -v n="$(field "$1" requests)" \
    'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "n/a" }'
}
label() {
  case $1 in
    fedauth) echo "fedauth" ;;
    jwt) echo "jwt-authorizer" ;;
  esac
}
case_label() {
  case $1 in
    noauth) echo "no auth" ;;
    repeated) echo "repeated token" ;;
    distinct) echo "distinct tokens" ;;
  esac
}

echo "### Every run"
echo
echo "| round | case | server | req/s | p50 ms | p99 ms | CPU µs/request | requests | non-2xx | socket errors |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---|"
repeats=()
for ((round = 1; round <= ROUNDS; round++)); do
  for case in "${CASES[@]}"; do
    for server in fedauth jwt; do
      name=$server-$case-$round
      echo "| $round | $(case_label "$case") | $(label "$server") | $(field "$name" rps) | $(field "$name" p50) | $(field "$name" p99) | $(cpu_us "$name") | $(field "$name" requests) | $(field "$name" non2xx) | $(field "$name" errors) |"
      if [[ $case == distinct ]] && (($(field "$name" requests) > TOKENS)); then
        repeats+=("$name: $(($(field "$name" requests) - TOKENS)) requests repeated a token")
      fi
    done
  done
done
echo

# per_round CASE KIND: one value a round. KIND: cpu-SERVER, rps-SERVER,
# cpu-ratio (fedauth / jwt-authorizer), rps-vs-noauth (fedauth's req/s
# against its no-auth run of the same round).
per_round() {
  local case=$1 kind=$2 round
  for ((round = 1; round <= ROUNDS; round++)); do
    case $kind in
      cpu-ratio) ratio "$(cpu_us "fedauth-$case-$round")" "$(cpu_us "jwt-$case-$round")" ;;
      rps-vs-noauth) ratio "$(field "fedauth-$case-$round" rps)" "$(field "fedauth-noauth-$round" rps)" ;;
      cpu-*) cpu_us "${kind#cpu-}-$case-$round" ;;
      rps-*) field "${kind#rps-}-$case-$round" rps ;;
    esac
    echo
  done
}
summary() { # summary KIND: "median (range)" for each case
  local line="" case values
  for case in "${CASES[@]}"; do
    values=$(per_round "$case" "$1" | grep -v '^$')
    line+=" $(echo "$values" | median) ($(echo "$values" | range)) |"
  done
  echo "$line"
}

echo "### Median of $ROUNDS rounds (range)"
echo
echo "| | no auth | repeated token | distinct tokens |"
echo "|---|---:|---:|---:|"
echo "| jwt-authorizer, CPU µs/request |$(summary cpu-jwt)"
echo "| fedauth, CPU µs/request |$(summary cpu-fedauth)"
echo "| **fedauth / jwt-authorizer, CPU per request** |$(summary cpu-ratio)"
echo "| jwt-authorizer, req/s |$(summary rps-jwt)"
echo "| fedauth, req/s |$(summary rps-fedauth)"
echo "| fedauth req/s / its no-auth req/s |$(summary rps-vs-noauth)"
echo
echo "Targets (issue 21): distinct RS256 CPU ratio ≤ 0.80, ES256 and EdDSA ≤ 0.90; repeated token ≤ 0.35 and fedauth's repeated-token req/s ≥ 0.85 × its no-auth req/s."
for line in "${repeats[@]}"; do
  echo "WARNING: $line (raise TOKENS or shorten DURATION)"
done

[[ "${PROFILE:-0}" == 1 ]] || exit 0

# profile SERVER: a distinct-token run (the last file) with perf sampling
# the server's stacks; its samples by shared object and symbol (self) in
# $TMP/SERVER.dso and .sym, by phase (inclusive) in .phases.
profile() {
  local server=$1 addr path pid
  read -r addr path pid <<<"$(target "$server" distinct)"
  perf record -q -e cpu-clock -F "$HZ" --call-graph dwarf,16384 -p "$pid" -o "$TMP/$server.perf" \
    -- sleep "${DURATION%s}" 2>"$TMP/$server.perf-err" &
  local perf_pid=$!
  run "prof-$server" "$addr" "$path" "$TMP/tokens-$FILES.txt" "$pid"
  wait "$perf_pid"
  local sort
  for sort in dso sym; do
    perf report -i "$TMP/$server.perf" --no-children --sort "$sort" -q -n -g none \
      -F "sample,$sort" 2>/dev/null | awk '$1 ~ /^[0-9]+$/' >"$TMP/$server.$sort"
  done
  perf script -i "$TMP/$server.perf" -F ip,sym 2>/dev/null | awk -f "$SCRIPTS/phases.awk" >"$TMP/$server.phases"
  if [[ -n "${PERF_KEEP:-}" ]]; then
    mkdir -p "$PERF_KEEP" && cp "$TMP/$server.perf" "$PERF_KEEP/"
  fi
}
# per_request SERVER: samples (first column of stdin) as µs per request.
per_request() {
  awk -v hz="$HZ" -v n="$(field "prof-$1" requests)" '{
    samples = $1; $1 = ""; sub(/^ +/, "")
    gsub(/\|/, "\\|")
    printf "%.2f\t%s\n", samples / hz / n * 1e6, substr($0, 1, 120) }'
}
# top SERVER KIND N: the N costliest lines of $TMP/SERVER.KIND.
top() {
  per_request "$1" <"$TMP/$1.$2" | sort -t$'\t' -k1,1 -gr | head -n "$3" |
    awk -F'\t' '{ printf "| %s | `%s` |\n", $1, $2 }'
}
HZ=${PERF_HZ:-999}
profile fedauth
profile jwt
echo "### Where each server's CPU goes, distinct tokens (perf, $HZ Hz, call graphs)"
echo
echo "fedauth: $(field prof-fedauth requests) requests, $(cpu_us prof-fedauth) µs/request; jwt-authorizer: $(field prof-jwt requests) requests, $(cpu_us prof-jwt) µs/request (perf's sampling adds its own cost)."
echo
echo "| phase (inclusive), µs/request | fedauth | jwt-authorizer |"
echo "|---|---:|---:|"
paste <(awk -F'\t' '{ print $2 "\t" $1 }' "$TMP/fedauth.phases" | per_request fedauth) \
  <(awk -F'\t' '{ print $2 "\t" $1 }' "$TMP/jwt.phases" | per_request jwt) |
  awk -F'\t' '{ printf "| %s | %s | %s |\n", $2, $1, $3 }'
for server in fedauth jwt; do
  echo
  echo "$(label "$server"), µs/request by shared object, then the ${PERF_TOP:-20} costliest symbols (self):"
  echo
  echo "| µs/request | where |"
  echo "|---:|---|"
  top "$server" dso 6
  top "$server" sym "${PERF_TOP:-20}"
done
