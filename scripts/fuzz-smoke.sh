#!/usr/bin/env bash
# Short fuzz run of every target in fuzz/ (nightly + cargo-fuzz required; see fuzz/README.md).
# FUZZ_SECONDS per target (default 15). Exits non-zero on the first crash.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
exec </dev/null
SECS="${FUZZ_SECONDS:-15}"
cargo +nightly fuzz build -O
for t in $(cargo +nightly fuzz list); do
  printf -- '--- fuzz %s (%ss)\n' "$t" "$SECS"
  log=$(mktemp)
  rc=0
  cargo +nightly fuzz run -O "$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  # Only the summary lines; libFuzzer's progress output is noise here.
  grep -E 'stat::number_of_executed_units|ERROR|panicked|SUMMARY|Test unit written' "$log" || true
  if ((rc != 0)); then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "fuzz target $t failed (exit $rc; reproducer in fuzz/artifacts/$t)" >&2
    exit 1
  fi
  rm -f "$log"
done
