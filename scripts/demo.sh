#!/usr/bin/env bash
# `make demo`: set up, build, and run the verifier and the Northwind Bank demo site on their
# default ports. Ctrl-C stops both.
#
# Environment (all optional):
#   DEMO_ADDR        demo site bind address (default 127.0.0.1:8080)
#   VERIFIER_ADDR    verifier bind address (default 127.0.0.1:8787)
#   VERIFIER_URL     the verifier's URL as the browser and the demo backend reach it
#                    (default http://$VERIFIER_ADDR)
#   VERIFIER_CONFIG  a verifier config file (verifier serve --config); without it the development
#                    site runs, which only allows the origins http://localhost:* and http://127.0.0.1:*.
#                    With a config, set TOLLGATE_SITEKEY / TOLLGATE_SECRET for the demo site too.
# Reaching the demo from another machine: README.md, "Reaching the demo from another machine".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERIFIER_ADDR=${VERIFIER_ADDR:-127.0.0.1:8787}
DEMO_ADDR=${DEMO_ADDR:-127.0.0.1:8080}
VERIFIER_URL=${VERIFIER_URL:-http://$VERIFIER_ADDR}
VERIFIER_ARGS=(serve --listen "$VERIFIER_ADDR")
if [[ -n ${VERIFIER_CONFIG:-} ]]; then
  VERIFIER_ARGS+=(--config "$VERIFIER_CONFIG")
fi

# Only what the demo needs (no browsers, Redis or Xvfb: those are for `make test`).
scripts/setup.sh --demo
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

target/debug/verifier "${VERIFIER_ARGS[@]}" &
PIDS+=($!)
target/debug/demo-site --listen "$DEMO_ADDR" --verifier-url "$VERIFIER_URL" --assets js/dist &
PIDS+=($!)

# A wildcard bind (0.0.0.0, [::]) is probed on loopback.
port_open() {
  local host=${1%:*}
  case $host in 0.0.0.0) host=127.0.0.1 ;; "[::]") host=::1 ;; esac
  host=${host#[}
  host=${host%]}
  (exec 3<>"/dev/tcp/$host/${1##*:}") 2>/dev/null
}

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
  Verifier:             $VERIFIER_URL/  (listening on $VERIFIER_ADDR)
  Recent verdicts:      http://$DEMO_ADDR/api/verdicts

  Sign in as alice, bob, carol, dave or erin with the password "correct horse"
  (users: data/demo-site.sqlite3). Press Ctrl-C to stop.

MSG
wait -n "${PIDS[@]}"
