#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, then runs every
# test in the workspace and every example's self-contained demo. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi

# 1000-connection tests need more descriptors than some defaults allow.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo test --workspace --all-targets
cargo test --workspace --doc

# Every example runs a demo and exits 0 when started without arguments.
run_example() {
  local package=$1 example=$2
  echo "example $package/$example"
  timeout 60 cargo run -q -p "$package" --example "$example" >/dev/null
}
run_example wsproto-core nonblocking_echo
for example in echo_server client chat hyper_upgrade; do run_example wsproto-tokio "$example"; done
run_example wsproto-smol smol_echo
run_example wsproto-async-std async_std_echo
run_example wsproto-blocking blocking_echo
echo "examples: all demos passed"
