#!/usr/bin/env bash
# Load test of the RELEASE verifier on loopback: valid tokens, replays and garbage mixed, against
# (1) one instance on the embedded store and (2) two instances sharing one redis-server.
# Bounded: each run stops after --duration seconds or when its token pool is used up.
# Fails if any replay or garbage is accepted, any valid token refused, or any 5xx / internal-error.
#
#   scripts/loadtest.sh                      # defaults: 20000 tokens, 20 s, 32 workers per run
#   TOKENS=5000 DURATION=10 CONCURRENCY=16 scripts/loadtest.sh
#   TELEMETRY=long scripts/loadtest.sh       # 20 s logins whose strokes the replay store counts
#   CORRELATION=off scripts/loadtest.sh      # campaign counters and replay store off (a baseline)
#   MODE=burst CONCURRENCY=2000 DURATION=20 scripts/loadtest.sh   # issue 12: one Redis-backed
#       instance, N clients each looping challenge -> siteverify; shed answers are counted, any
#       other internal-error fails
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null

TOKENS="${TOKENS:-20000}"
DURATION="${DURATION:-20}"
CONCURRENCY="${CONCURRENCY:-32}"
STORES="${STORES:-memory redis}"
TELEMETRY="${TELEMETRY:-short}"
CORRELATION="${CORRELATION:-on}"

cargo build --release -p verifier --bin verifier --example loadtest
BIN=target/release/verifier
LOADTEST=target/release/examples/loadtest

if [[ ${MODE:-mix} == burst ]]; then
  echo "==> burst: $CONCURRENCY clients, one redis-backed instance"
  exec timeout $((DURATION + 600)) "$LOADTEST" --verifier "$BIN" --store redis --mode burst \
    --duration "$DURATION" --concurrency "$CONCURRENCY"
fi

for store in $STORES; do
  if [[ $store == redis && -z ${TOLLGATE_REDIS_BIN:-} ]] && ! command -v redis-server >/dev/null; then
    echo "!!! redis-server missing: skipping the Redis run (scripts/setup.sh installs it)" >&2
    continue
  fi
  echo "==> $store"
  timeout $((DURATION + 600)) "$LOADTEST" --verifier "$BIN" --store "$store" \
    --tokens "$TOKENS" --duration "$DURATION" --concurrency "$CONCURRENCY" \
    --telemetry "$TELEMETRY" --correlation "$CORRELATION"
done
