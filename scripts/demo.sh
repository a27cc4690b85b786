#!/usr/bin/env bash
# `make demo`: set up, build, and run the verifier and the Northwind Bank demo site on their
# default ports. Ctrl-C stops both.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERIFIER_ADDR=${VERIFIER_ADDR:-127.0.0.1:8787}
DEMO_ADDR=${DEMO_ADDR:-127.0.0.1:8080}

scripts/setup.sh
scripts/build-assets.sh
cargo build -p verifier -p demo-site

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  echo "[demo] stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

target/debug/verifier serve --listen "$VERIFIER_ADDR" &
PIDS+=($!)
target/debug/demo-site --listen "$DEMO_ADDR" --verifier-url "http://$VERIFIER_ADDR" --assets js/dist &
PIDS+=($!)

port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# Wait until both accept connections (or one of them dies).
for _ in $(seq 1 100); do
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "[demo] a process exited early" >&2; exit 1; }
  done
  if port_open "$VERIFIER_ADDR" && port_open "$DEMO_ADDR"; then
    break
  fi
  sleep 0.1
done

cat <<MSG

  Northwind Bank demo:  http://$DEMO_ADDR/
  Verifier:             http://$VERIFIER_ADDR/
  Recent verdicts:      http://$DEMO_ADDR/api/verdicts

  Sign in with any username and the password "correct horse". Press Ctrl-C to stop.

MSG
wait -n "${PIDS[@]}"
