#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, then runs every
# test in the workspace. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi

cargo test --workspace --all-targets
cargo run -q -p wsproto-core --example nonblocking_echo
cargo test --workspace --doc
