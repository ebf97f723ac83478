#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/ on nightly, for MINUTES each (default 1):
#
#   scripts/fuzz.sh [MINUTES] [TARGET...]
#
# Prints one summary line per target (runs, exec/s, coverage, corpus size, findings) and exits
# non-zero if any target found a crash, a hang or an out-of-memory input. Targets run
# FUZZ_JOBS at a time (default 1, so a build can share the machine). New corpus entries land
# in fuzz/corpus/TARGET (ignored by git), findings in fuzz/artifacts/TARGET. CI does not run
# this (it needs nightly); `cargo test` runs the stable smoke in tests/tests/fuzz_corpus.rs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

minutes=${1:-1}
shift || true
case $minutes in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [MINUTES] [TARGET...]" >&2; exit 2 ;;
esac
jobs=${FUZZ_JOBS:-1}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "error: cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Runs one target and leaves its libFuzzer output in $logs/TARGET.log and the number of new
# artifacts in $logs/TARGET.found.
run_target() {
  local target=$1 before after
  mkdir -p "corpus/$target" "artifacts/$target"
  before=$(find "artifacts/$target" -type f | wc -l)
  local extra=()
  [ -d "regressions/$target" ] && extra+=("regressions/$target")
  cargo +nightly fuzz run "$target" "corpus/$target" "${extra[@]}" -- \
    -max_total_time=$((minutes * 60)) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$logs/$target.log" 2>&1 || true
  after=$(find "artifacts/$target" -type f | wc -l)
  echo $((after - before)) >"$logs/$target.found"
}

running=0
for target in "${targets[@]}"; do
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-18s %10s %8s %7s %7s %7s %s\n' target runs exec/s cov ft corpus findings
for target in "${targets[@]}"; do
  log=$logs/$target.log
  found=$(cat "$logs/$target.found")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  # The last status line: "#N  DONE|pulse|NEW  cov: C ft: F corp: K/..."
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [ -z "$runs" ] || [ "$found" -gt 0 ] || grep -qE '^==[0-9]+== ERROR|deadly signal|panicked' "$log"; then
    status=1
    [ "$found" -gt 0 ] || found="crashed"
    echo "---- $target: last lines of its log" >&2
    tail -30 "$log" >&2
  fi
  printf '%-18s %10s %8s %7s %7s %7s %s\n' "$target" "${runs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found"
done
echo "$(date -u +%F) commit $(git rev-parse --short HEAD), $minutes min per target"
exit $status
