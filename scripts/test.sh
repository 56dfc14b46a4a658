#!/usr/bin/env bash
# The whole test suite, with its own set-up, on a fresh Debian machine.
# Usage: scripts/test.sh        (as root, or with the tools already present)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s  (%ds so far)\n' "$*" "$SECONDS"; }

# System packages: a C compiler for aws-lc-sys; the PostgreSQL server for
# the registry tests (they start a throwaway cluster on a free port; a
# missing PostgreSQL fails them, it never skips them).
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing system packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo is required (rustup.rs)" >&2; exit 1; }

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1
# A fresh machine compiles everything once. Incremental compilation only adds
# work there, and full debug info makes every test binary slower to build and
# link; line tables keep file:line in panics and backtraces. Set either
# variable yourself to override.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}

log "format"
cargo fmt --all -- --check

log "clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

log "docs (warnings are errors)"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace --locked

log "packaging (every crate that is not the test suite)"
cargo package --workspace --exclude fedauth-tests --exclude fedauth-bench --no-verify --allow-dirty --locked

log "tests (unit, integration, doctests)"
cargo test --workspace --locked

log "benches compile (not run: numbers come from bench/scripts/bench.sh, see BENCHMARKS.md)"
# Built in the test profile, on the dependencies the step above compiled:
# `cargo bench --no-run` would build the whole dependency tree a second
# time in the bench profile (target/release) to prove the same thing.
cargo test --workspace --benches --no-run --locked

log "tests with the rust-crypto backend (core crate)"
cargo test -p tower-fedauth --no-default-features --features rust-crypto,testkit --lib --locked

log "all passed"
