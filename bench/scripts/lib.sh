# Shell helpers of the load runs (load.sh, vs-jwt-authorizer.sh); sourced,
# not run. Expects TMP (a scratch directory) and PIDS (an array) to exist.

# need_wrk: install wrk (Debian package) if it is missing; curl is needed.
need_wrk() {
  if ! command -v wrk >/dev/null; then
    echo "wrk is missing; installing it (Debian package wrk)" >&2
    if [[ $(id -u) -eq 0 ]]; then
      apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    else
      sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
    fi
  fi
  command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
}

# build_servers: the release binaries of the load runs, unless SKIP_BUILD=1.
# Expects ROOT.
build_servers() {
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release -p fedauth-bench -p fedauth-examples \
      --bin idp --bin baseline-server --bin axum-server --bin jwt-authorizer-server)
  fi
}

# run_line: "- DATE, commit HASH" (and whether the tree has local changes),
# the first line of a run's report. Expects ROOT.
run_line() {
  echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)')"
}

# cleanup: stop what was started (the PIDS array), remove TMP.
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}

# wait_for FILE REGEX SECONDS: wait until a line of FILE matches.
wait_for() {
  local file=$1 regex=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    if grep -qE "$regex" "$file" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for /$regex/ in $file" >&2
  cat "$file" >&2 || true
  return 1
}

listen_addr() {
  sed -n 's#^listening on http://\(.*\)$#\1#p' "$1" | head -n1
}

# start NAME CMD...: start a server printing `listening on http://ADDR`,
# with its output in $TMP/NAME.out and .err; sets STARTED_PID and
# STARTED_ADDR.
start() {
  local name=$1
  shift
  RUST_LOG=${RUST_LOG:-warn} "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  wait_for "$TMP/$name.out" '^listening on http://' 30
  STARTED_ADDR=$(listen_addr "$TMP/$name.out")
}

rss_mib() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

# cpu_ticks PID: user + system CPU time of every thread of PID so far, in
# clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the
# command name, which may hold spaces).
cpu_ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

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

field() { # field NAME KEY: from wrk's output $TMP/NAME.wrk
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
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'; } # of stdin's lines

# wait_ready ADDR: until the example server's /ready answers 200 (30 s).
wait_ready() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$1/ready") == 200 ]] && return 0
    sleep 0.1
  done
  echo "http://$1/ready never answered 200" >&2
  return 1
}

# get_status OUT URL [TOKEN]: GET URL (with the benchmark's two auth
# headers when TOKEN is given), the body into OUT; prints the status.
get_status() {
  local out=$1 url=$2 token=${3:-}
  if [[ -n $token ]]; then
    curl -s -o "$out" -w '%{http_code}' -H "Authorization: Bearer $token" -H 'x-sc-auth: bench' "$url"
  else
    curl -s -o "$out" -w '%{http_code}' "$url"
  fi
}

# expect_200 WHAT OUT URL [TOKEN]: as get_status, and stop the run with
# the answer unless it is 200.
expect_200() {
  local what=$1 code
  code=$(get_status "${@:2}")
  if [[ $code != 200 ]]; then
    echo "$what: answered $code:" >&2
    cat "$2" >&2 2>/dev/null || true
    exit 1
  fi
}
