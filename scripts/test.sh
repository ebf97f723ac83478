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

# Real interop peers for tests/tests/peers.rs: Python `websockets` in .venv, Node `ws` and
# playwright-core in tests/peers/node, the system Chromium, and the wsproto binary. Each step
# is a no-op (or close to one) when already done; the tests fail, naming what is missing,
# if the variables exported below are absent.
peers_start=$SECONDS
if ! command -v python3 >/dev/null 2>&1; then
  echo "error: python3 not found; install Python 3.11+ with venv (apt-get install python3-venv)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/peers/python/requirements.txt
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: node/npm not found; install Node.js 20 or later" >&2
  exit 1
fi
npm ci --prefix tests/peers/node --no-audit --no-fund --loglevel=error
# Debian packages the tests start themselves: the browser, the real proxies (tinyproxy for
# HTTP CONNECT, microsocks for SOCKS5) of tests/tests/proxies.rs, and iproute2's `ss`, which
# tests/tests/listen_backlog.rs reads listen backlogs with (program:package).
missing=()
for entry in chromium:chromium tinyproxy:tinyproxy microsocks:microsocks ss:iproute2; do
  command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: ${missing[*]} not found; install (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "interop peers ready in $((SECONDS - peers_start)) s"
# The binary's path as cargo reports it, wherever CARGO_TARGET_DIR (or a config) puts it.
WSPROTO_BIN=$(cargo build -p wsproto-cli --bin wsproto --message-format=json-render-diagnostics \
  | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable"):
        print(message["executable"])
' | tail -n 1)
if [ ! -x "$WSPROTO_BIN" ]; then
  echo "error: cargo did not report the wsproto binary it built" >&2
  exit 1
fi
export WSPROTO_BIN
export WSPROTO_PYTHON=$PWD/.venv/bin/python
export WSPROTO_NODE_DIR=$PWD/tests/peers/node
WSPROTO_CHROMIUM=$(command -v chromium)
WSPROTO_TINYPROXY=$(command -v tinyproxy)
WSPROTO_MICROSOCKS=$(command -v microsocks)
export WSPROTO_CHROMIUM WSPROTO_TINYPROXY WSPROTO_MICROSOCKS

# The supply-chain policy (deny.toml): licences, banned crates and sources. Advisories need a
# database download this machine cannot reach (see deny.toml).
command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny
cargo deny check licenses bans sources

cargo test --workspace --all-targets
cargo test --workspace --doc

# Every example runs a demo and exits 0 when started without arguments.
run_example() {
  local package=$1 example=$2
  shift 2
  echo "example $package/$example"
  timeout 60 cargo run -q -p "$package" "$@" --example "$example" >/dev/null
}
run_example wsproto-core nonblocking_echo
for example in echo_server client chat wss_echo stream_file reconnecting_client byte_tunnel; do
  run_example wsproto-tokio "$example"
done
for example in hyper_upgrade axum_chat; do run_example wsproto-tokio "$example" --features hyper; done
run_example wsproto-smol smol_echo
run_example wsproto-async-std async_std_echo
run_example wsproto-blocking blocking_echo
echo "examples: all demos passed"
