#!/usr/bin/env bash
# What each server of vs-jwt-authorizer.sh does per request, counted
# rather than timed (issue 21): the same three servers, the same tokens,
# the same wrk script, but
#
# 1. natively, with `perf stat` tracepoints (Debian: linux-perf): system
#    calls, context switches and migrations per request, distinct tokens;
# 2. under callgrind (Debian: valgrind): user-space instructions per
#    request, split by phase (inclusive): the auth layer, the signature
#    check inside it, the layer beside the signature, the /whoami handler,
#    and the rest (HTTP, routing, runtime), for no auth, the repeated
#    token and distinct tokens.
#
#   bash bench/scripts/server-instructions.sh
#
# Settings (environment): ALG (RS256; ES256, EdDSA, PS256), SECS (15, a
# callgrind run; ~1.5-7 k requests), TOKENS (30000 a file), DURATION
# (4s, a native run), CONNECTIONS (8), SKIP_BUILD=1, CARGO_TARGET_DIR;
# CG_KEEP=DIR keeps the callgrind dumps (DIR/CASE.callgrind); CACHE_SIM=1
# also simulates the caches (valgrind's model of this processor's, about
# twice as slow) and adds a table of first-level data-cache read misses
# per request by phase: how much memory a request touches that the work
# before it has pushed out.
#
# Per request means per response the server encoded between callgrind's
# zeroing and its dump (calls to hyper's `Http1Transaction::encode`), so
# a command valgrind acts on late does not skew the division.
#
# Instruction counts do not move with other load on the machine, which
# timings here do. In both parts a fresh server verifies far fewer tokens
# than fill fedauth's verified-token cache, so it keeps every distinct
# token at first sight: under callgrind its distinct-token count includes
# an insertion that a long-running server's full cache skips (second-sight
# admission), an upper bound on the layer's own work; natively the
# insertions' shard locks may add futex calls. Two more limits: valgrind
# reports its own CPU features, so the crypto libraries may take other code paths than natively (the
# signature's count is not its native cost: see vs-jwt-authorizer.sh's
# PROFILE=1 and the criterion benches for that); and the kernel's share
# (socket calls, loopback delivery, wake-ups) is not counted — part 1
# shows whether the two servers make the same calls.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPTS="$ROOT/bench/scripts"
ALG=${ALG:-RS256}
SECS=${SECS:-15}
TOKENS=${TOKENS:-30000}
DURATION=${DURATION:-4s}
CONNECTIONS=${CONNECTIONS:-8}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="$TARGET/release"

# shellcheck source=lib.sh
source "$SCRIPTS/lib.sh"
need_wrk
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
command -v callgrind_annotate >/dev/null || { echo "callgrind_annotate is needed (valgrind)" >&2; exit 1; }
build_servers

TMP=$(mktemp -d)
PIDS=()
trap cleanup EXIT

echo "## What a request does in each server: $ALG"
echo
run_line

# Files 1-2: the native runs (warm-up, measured); 3-4: under callgrind.
"$BIN/idp" --dir "$TMP" --alg "$ALG" --unique "$TOKENS" --files 4 \
  >"$TMP/idp.out" 2>"$TMP/idp.err" &
PIDS+=($!)
wait_for "$TMP/idp.out" '^idp ready ' 3600
ISSUER=$(sed -n 's/^idp ready \([^ ]*\).*$/\1/p' "$TMP/idp.out")
TOKEN=$(head -n1 "$TMP/token.txt")

# servers PREFIX...: start the three servers, each command prefixed with
# PREFIX (e.g. valgrind); sets FEDAUTH/JWT/BASELINE and their _PID.
servers() {
  start fedauth "$@" "$BIN/axum-server" --registry "$TMP/registry.toml" --allow-http \
    --allow-network 127.0.0.1/32 --listen 127.0.0.1:0
  FEDAUTH_PID=$STARTED_PID FEDAUTH=$STARTED_ADDR
  wait_ready "$FEDAUTH"
  expect_200 "fedauth, the repeated token" "$TMP/whoami.json" "http://$FEDAUTH/whoami" "$TOKEN"
  start baseline "$@" "$BIN/baseline-server" --listen 127.0.0.1:0 --body "$TMP/whoami.json"
  BASELINE_PID=$STARTED_PID BASELINE=$STARTED_ADDR
  start jwt "$@" "$BIN/jwt-authorizer-server" --pem "$TMP/public.pem" --alg "$ALG" \
    --issuer "$ISSUER" --body "$TMP/whoami.json" --listen 127.0.0.1:0
  JWT_PID=$STARTED_PID JWT=$STARTED_ADDR
  expect_200 "jwt-authorizer, the repeated token" "$TMP/jwt.json" "http://$JWT/whoami" "$TOKEN"
}
stop_servers() {
  kill "$FEDAUTH_PID" "$BASELINE_PID" "$JWT_PID"
  wait "$FEDAUTH_PID" "$BASELINE_PID" "$JWT_PID" 2>/dev/null || true
}
drive() { # drive NAME ADDR PATH TOKENS_FILE SECONDS
  wrk -t 1 -c "$CONNECTIONS" -d "$5" -s "$SCRIPTS/tokens.lua" "http://$2" -- "$4" 1 "$3" \
    >"$TMP/$1.wrk" 2>&1
  [[ $(field "$1" non2xx) == 0 ]] || { echo "$1: answers other than 2xx" >&2; cat "$TMP/$1.wrk" >&2; exit 1; }
}

# 1. Natively: system calls and scheduling per distinct-token request.
if command -v perf >/dev/null; then
  servers env
  PERF_EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,context-switches,cpu-migrations
  for server in fedauth jwt; do
    case $server in
      fedauth) addr=$FEDAUTH pid=$FEDAUTH_PID ;;
      jwt) addr=$JWT pid=$JWT_PID ;;
    esac
    drive "warm-$server" "$addr" /whoami "$TMP/tokens-1.txt" "$DURATION"
    perf stat -x, -e "$PERF_EVENTS" -p "$pid" -o "$TMP/$server.stat" -- sleep "${DURATION%s}" &
    stat_pid=$!
    drive "native-$server" "$addr" /whoami "$TMP/tokens-2.txt" "$DURATION"
    wait "$stat_pid"
    awk -F, -v n="$(field "native-$server" requests)" '$1 ~ /^[0-9]+$/ { printf "%s\t%.3f\n", $3, $1 / n }' \
      "$TMP/$server.stat" >"$TMP/$server.calls"
  done
  stop_servers
  echo
  echo "### Per distinct-token request, natively (perf stat, $DURATION, wrk -c$CONNECTIONS)"
  echo
  echo "| event | fedauth | jwt-authorizer |"
  echo "|---|---:|---:|"
  paste "$TMP/fedauth.calls" "$TMP/jwt.calls" | awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $4 }'
  echo
  echo "(requests: fedauth $(field native-fedauth requests), jwt-authorizer $(field native-jwt requests))"
else
  echo
  echo "(perf missing: the native system-call counts are skipped)"
fi

# 2. Under callgrind: user-space instructions per request, by phase.
VG=(valgrind --tool=callgrind --dump-instr=no)
EVENTS=(Ir)
if [[ "${CACHE_SIM:-0}" == 1 ]]; then
  VG+=(--cache-sim=yes)
  EVENTS+=(D1mr)
fi
servers "${VG[@]}" --callgrind-out-file="$TMP/cg.%p"
# count NAME PID ADDR PATH WARM_TOKENS TOKENS: a callgrind dump of SECS
# of wrk sending TOKENS after 3 s sending WARM_TOKENS (for distinct
# tokens, another file: none of the measured tokens is met twice); each
# event's inclusive costs in $TMP/NAME.EVENT.
count() {
  local name=$1 pid=$2 addr=$3 path=$4 warm=$5 tokens=$6 dump i event
  drive "warm-$name" "$addr" "$path" "$warm" 3s
  callgrind_control -z "$pid" >/dev/null
  drive "$name" "$addr" "$path" "$tokens" "${SECS}s"
  callgrind_control -d "$name" "$pid" >/dev/null
  for ((i = 0; i < 600; i++)); do
    dump=$(grep -l "^desc: Trigger: dump $name\$" "$TMP"/cg.* 2>/dev/null | head -n1 || true)
    [[ -n $dump ]] && grep -q '^totals:' "$dump" && break
    sleep 0.1
  done
  [[ -n $dump ]] || { echo "no callgrind dump for $name" >&2; exit 1; }
  for event in "${EVENTS[@]}"; do
    callgrind_annotate --inclusive=yes --show="$event" "$dump" >"$TMP/$name.$event" 2>/dev/null
  done
  # Responses the server encoded inside the dump's window: the divisor.
  awk '/^c?fn=\(/ {
      id = $1; sub(/^c?fn=/, "", id)
      if (index($0, ") ") > 0) { fn = $0; sub(/^c?fn=\([0-9]+\) /, "", fn); names[id] = fn }
      if ($0 ~ /^cfn=/) callee = id
      next }
    /^calls=/ { split($1, a, "="); if (names[callee] ~ /Http1Transaction>::encode$/) n += a[2] }
    END { print n + 0 }' "$dump" >"$TMP/$name.responses"
  if [[ -n "${CG_KEEP:-}" ]]; then
    mkdir -p "$CG_KEEP" && cp "$dump" "$CG_KEEP/$name.callgrind"
  fi
}
ONE="$TMP/token.txt"
count fedauth-noauth "$BASELINE_PID" "$BASELINE" /whoami "$ONE" "$ONE"
count fedauth-repeated "$FEDAUTH_PID" "$FEDAUTH" /whoami "$ONE" "$ONE"
count fedauth-distinct "$FEDAUTH_PID" "$FEDAUTH" /whoami "$TMP/tokens-3.txt" "$TMP/tokens-4.txt"
count jwt-noauth "$JWT_PID" "$JWT" /public/whoami "$ONE" "$ONE"
count jwt-repeated "$JWT_PID" "$JWT" /whoami "$ONE" "$ONE"
count jwt-distinct "$JWT_PID" "$JWT" /whoami "$TMP/tokens-3.txt" "$TMP/tokens-4.txt"
stop_servers

# phases NAME EVENT: "total layer signature handler responses", EVENT
# per request.
phases() {
  awk -v n="$(cat "$TMP/$1.responses")" '
    function num(s) { gsub(",", "", s); return s + 0 }
    /PROGRAM TOTALS/ { total = num($1) }
    # fedauth: the synchronous decision, then the verification it may leave.
    /tower_fedauth::authenticator::path::<impl tower_fedauth::authenticator::Authenticator>::authenticate_now / {
      if (num($1) > now) now = num($1) }
    /FedAuthService<S> as tower_service::Service<.*>>::call::\{\{closure\}\} / ||
    /AuthorizationService<S,C> as jwt_authorizer::layer::Authorize<B>>::authorize::\{\{closure\}\} / {
      if (num($1) > later) later = num($1) }
    /tower_fedauth::keys::signature::SignatureKey::verifies / ||
    /jsonwebtoken::crypto::verify / { if (num($1) > sig) sig = num($1) }
    /axum::handler::Handler<.*>>::call::\{\{closure\}\} / { if (num($1) > handler) handler = num($1) }
    END { layer = now + later
      printf "%.1f %.1f %.1f %.1f %d\n", total / n, layer / n, sig / n, handler / n, n }' "$TMP/$1.$2"
}
CASES=(fedauth-noauth jwt-noauth fedauth-repeated jwt-repeated fedauth-distinct jwt-distinct)
row() { # row LABEL FIELD EVENT: one line of a table, FIELD of phases' output
  local line="| $1 |" name
  for name in "${CASES[@]}"; do
    line+=" $(awk -v f="$2" '{ v = $f; printf (v >= 100 || v == 0 ? "%d" : "%.1f"), v }' "$TMP/$name.$3.phases") |"
  done
  echo "$line"
}
table() { # table EVENT TITLE
  local name
  for name in "${CASES[@]}"; do
    phases "$name" "$1" | awk '{ print $0, $1 - $2 - $4, $2 - $3 }' >"$TMP/$name.$1.phases"
  done
  echo
  echo "### $2 per request (callgrind, ${SECS} s a case, wrk -c$CONNECTIONS)"
  echo
  echo "| phase (inclusive) | fedauth, no auth | jwt-authorizer, no auth | fedauth, repeated | jwt-authorizer, repeated | fedauth, distinct | jwt-authorizer, distinct |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  row "total" 1 "$1"
  row "the auth layer" 2 "$1"
  row "&nbsp;&nbsp;its signature check" 3 "$1"
  row "&nbsp;&nbsp;the layer beside the signature" 7 "$1"
  row "the /whoami handler" 4 "$1"
  row "the rest (HTTP, routing, runtime)" 6 "$1"
  row "responses counted (calls of hyper's encode)" 5 "$1"
}
table Ir "User-space instructions"
if [[ "${CACHE_SIM:-0}" == 1 ]]; then
  table D1mr "Simulated first-level data-cache read misses"
fi
echo
echo "fedauth's no auth is baseline-server (its routes without the layer); jwt-authorizer's is its /public/whoami. Signature: SignatureKey::verifies (fedauth), jsonwebtoken::crypto::verify (jwt-authorizer), under valgrind's CPU features."
