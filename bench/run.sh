#!/usr/bin/env bash
# Tollgate benchmarks: ONE entry point (`make bench`). Builds what it needs, then prints every
# figure with the command that reproduces it. Benchmarks, not tests: medians and ratios measured in
# the same run, never a pass/fail on timing. Loopback only; every section is time-bounded and
# every server it starts is stopped. See bench/README.md.
#
#   bench/run.sh              everything (≈ 10 min on 2 cores)
#   bench/run.sh hashrate solve verifier collector criterion   any subset, in that order
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null

SECTIONS=("$@")
((${#SECTIONS[@]})) || SECTIONS=(hashrate solve verifier collector criterion)
LIMIT=${BENCH_SECTION_TIMEOUT:-1200}

banner() { printf '\n==> %s\n    $ %s\n' "$1" "$2"; }
run() { # title, command...
  local title=$1
  shift
  banner "$title" "$*"
  local start=$SECONDS
  if ! timeout "$LIMIT" "$@"; then
    echo "    ($title did not complete: exit $?)"
  fi
  printf '    (%ds; load average %s)\n' $((SECONDS - start)) "$(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "Tollgate benchmarks — $(date -u +%FT%TZ) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine skew absolute rates; ratios are measured in the same run)"

banner "build" "npm ci --prefix bench; scripts/build-assets.sh; cargo build --release -p verifier; (cd bench && cargo build --release)"
[[ -d bench/node_modules/playwright-core ]] || npm ci --prefix bench --no-audit --no-fund
scripts/build-assets.sh | tail -7
cargo build --release -p verifier 2>&1 | tail -1
(cd bench && cargo build --release 2>&1 | tail -1)

for s in "${SECTIONS[@]}"; do
  case $s in
    hashrate) run "PoW hash rate per worker: ours (simd128, scalar) vs Cap, ALTCHA, Friendly Captcha, native sha2" \
      node bench/hashrate.mjs --rounds 3 --secs 1.5 ;;
    solve) run "solve time at the default difficulty through the real loader + workers" \
      node bench/solve.mjs --n 60 ;;
    verifier) run "verifier throughput (release) and the ALTCHA peer verifier" \
      node bench/verifier.mjs --secs 3 --conc 1,8,32,128 --tokens 300000 ;;
    collector) run "collector size, time to first solved challenge, main-thread cost of a 20 s login" \
      node bench/collector.mjs --loads 5 ;;
    criterion)
      run "per-token cost breakdown (criterion): wire work (protocol crate)" \
        cargo bench -q -p tollgate-protocol --bench hot -- --warm-up-time 1 --measurement-time 3 --output-format bencher
      run "per-token cost breakdown (criterion): features and model score (model crate)" \
        cargo bench -q -p tollgate-model --bench features -- --warm-up-time 1 --measurement-time 3 --output-format bencher ;;
    *) echo "unknown section $s" >&2; exit 2 ;;
  esac
done
echo
echo "done. JSON lines of every figure: run a section's command with 2>file."
