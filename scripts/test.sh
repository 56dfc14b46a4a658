#!/usr/bin/env bash
# The whole test suite, with its own set-up, on a fresh Debian machine.
# Usage: scripts/test.sh        (as root, or with the tools already present)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

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
# Unoptimised: CI proves they build; optimising them here would double the
# build time and measure nothing.
CARGO_PROFILE_BENCH_OPT_LEVEL=0 CARGO_PROFILE_BENCH_DEBUG=false \
  cargo bench -p fedauth-bench --no-run --locked

log "tests with the rust-crypto backend (core crate)"
cargo test -p tower-fedauth --no-default-features --features rust-crypto,testkit --lib --locked
