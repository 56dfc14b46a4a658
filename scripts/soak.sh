#!/usr/bin/env bash
# The soak run of issue 8: the release axum-server under load on loopback
# while a mock IdP rotates keys and goes down once (see tests/src/bin/soak/).
# Usage: scripts/soak.sh [soak args...]     (default: --duration 300 --connections 200)
#   e.g. scripts/soak.sh --duration 40 --connections 50 --rotate-every 8 --outage-at 15 --outage-for 6
# The binaries are built in $CARGO_TARGET_DIR (default target/). The markdown
# report goes to stdout and to target/soak-report.md ($SOAK_REPORT overrides);
# progress goes to stderr. Exit status is
# the driver's: non-zero on a wrongly accepted token, an unexcused 5xx, a
# wrong subject or a server that did not exit 0 on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo build --release -p fedauth-examples --bin axum-server -p fedauth-tests --bin soak

if [ $# -eq 0 ]; then
  set -- --duration 300 --connections 200
fi
# 200 connections for the load plus the server's: make sure descriptors suffice.
soft=$(ulimit -n)
if [ "$soft" != unlimited ] && [ "$soft" -lt 4096 ]; then ulimit -n 4096 2>/dev/null || true; fi

report="${SOAK_REPORT:-target/soak-report.md}"
mkdir -p "$(dirname "$report")"
set +e
"$target/release/soak" --server "$target/release/axum-server" "$@" | tee "$report"
status=${PIPESTATUS[0]}
set -e
echo "report: $report (exit status $status)" >&2
exit "$status"
