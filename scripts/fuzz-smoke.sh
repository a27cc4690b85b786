#!/usr/bin/env bash
# Short fuzz run (nightly + cargo-fuzz required; see fuzz/README.md), FUZZ_SECONDS per target
# (default 15). Exits non-zero on the first crash.
#
# By default only the wire decoders that take attacker input (token, challenge, telemetry; built
# without the `verifier` feature, so without the whole service's dependency tree: fast enough for
# every CI run). FUZZ_FULL=1 adds the scorer to token_decode and the trace_adapter target (a cold
# sanitizer build of the verifier's dependencies takes 15+ minutes on a 2-core machine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
exec </dev/null
SECS="${FUZZ_SECONDS:-15}"
if [[ ${FUZZ_FULL:-0} == 1 ]]; then
  feats=()
  targets=$(cargo +nightly fuzz list)
else
  feats=(--no-default-features)
  targets="token_decode challenge_decode telemetry_decode"
fi
printf 'targets: %s\n' "$(echo $targets)"
cargo +nightly fuzz build -O "${feats[@]}"
for t in $targets; do
  printf -- '--- fuzz %s (%ss)\n' "$t" "$SECS"
  log=$(mktemp)
  rc=0
  cargo +nightly fuzz run -O "${feats[@]}" "$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
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
