#!/usr/bin/env bash
# The whole test suite, with its own set-up, on a fresh Debian machine.
# Usage: scripts/test.sh        (as root, or with the tools already present)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s  (%ds so far)\n' "$*" "$SECONDS"; }

# System packages: a C compiler for aws-lc-sys; the PostgreSQL server for
# the registry tests (they start a throwaway cluster on a free port; a
# missing PostgreSQL fails them, it never skips them); Node.js and npm for
# the test OpenID provider (tests/oidc-provider), likewise.
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
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

# The test OpenID provider: node oidc-provider 9 wants Node.js 20 or later
# (Debian 12's nodejs is 18: take Debian 13's, or NodeSource's). Installed
# from its lock file, and again only when the lock file changes.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js 20 or later is required by tests/oidc-provider (found $(node --version))" >&2
  exit 1
fi
oidc_lock=$(sha256sum tests/oidc-provider/package-lock.json | cut -d' ' -f1)
oidc_stamp=tests/oidc-provider/node_modules/.package-lock.sha256
if [ "$(cat "$oidc_stamp" 2>/dev/null)" != "$oidc_lock" ]; then
  log "npm ci (tests/oidc-provider: the test OpenID provider)"
  npm ci --prefix tests/oidc-provider --no-audit --no-fund
  printf '%s\n' "$oidc_lock" >"$oidc_stamp"
fi

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1
# A fresh machine compiles everything once. Incremental compilation only adds
# work there, and full debug info makes every test binary slower to build and
# link; line tables keep file:line in panics and backtraces. Set either
# variable yourself to override.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}

# Supply chain: every locked dependency against the RustSec advisory
# database. The build machines cannot fetch it, so the database is the
# snapshot ../shared/advisory-db.bundle, read offline. Any advisory fails:
# vulnerabilities, unmaintained, unsound, yanked, and notices too (cargo
# audit prints those as allowed warnings, so any `warning:`/`error:` line
# fails the step: that also catches a yanked check that could not run);
# only a wait for a lock another cargo process holds is not a finding.
# Accepted advisories: .cargo/audit.toml, each explained in docs/advisories.md.
# The version is pinned: the output rule above depends on how it reports.
cargo_audit_version=0.22.2
if [ "$(cargo audit --version 2>/dev/null | awk '{print $NF}')" != "$cargo_audit_version" ]; then
  log "installing cargo-audit $cargo_audit_version (once per machine)"
  cargo install --locked --version "$cargo_audit_version" cargo-audit
fi
advisory_bundle=../shared/advisory-db.bundle
[ -f "$advisory_bundle" ] || { echo "missing $advisory_bundle (the RustSec snapshot)" >&2; exit 1; }
advisory_tmp=$(mktemp -d)
trap 'rm -rf "$advisory_tmp"' EXIT
git -c init.defaultBranch=main clone --quiet "$advisory_bundle" "$advisory_tmp/advisory-db"
log "cargo audit (RustSec snapshot of $(git -C "$advisory_tmp/advisory-db" log -1 --format=%cs))"
# The yanked check reads cargo's local crates.io index; a dry-run update
# refreshes it for every locked package without writing either lock file.
cargo update --dry-run --quiet
cargo update --dry-run --quiet --manifest-path fuzz/Cargo.toml
for lock in Cargo.lock fuzz/Cargo.lock; do
  # --no-fetch: read the snapshot as it is; --stale: its age is known (the
  # date above) and must not fail the run.
  if ! audit_out=$(cargo audit --color never --db "$advisory_tmp/advisory-db" --no-fetch --stale \
      --deny warnings --file "$lock" 2>&1) \
    || grep -E '^[[:space:]]*(warning|error):' <<<"$audit_out" \
      | grep -vq 'is locked, waiting for up to'; then
    printf '%s\n' "$audit_out" >&2
    echo "cargo audit: $lock has an advisory or could not be fully checked (see docs/advisories.md)" >&2
    exit 1
  fi
  printf '%s\n' "$audit_out"
done
rm -rf "$advisory_tmp"
trap - EXIT

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
