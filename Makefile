# Tollgate developer entry points. See README.md.
.PHONY: demo test setup e2e bench

## Set up, build and run the verifier and the demo site (http://127.0.0.1:8080/).
demo:
	scripts/demo.sh

## Full test suite (what CI runs).
test:
	scripts/test.sh

## Install missing dependencies only (the full set for make test; scripts/setup.sh --demo for the demo only).
setup:
	scripts/setup.sh --test

## Only the browser end-to-end tests (assumes assets and binaries are built).
e2e:
	cargo build -p verifier -p demo-site -p tollgate-intel
	node --test --test-reporter=spec tests/e2e/

## Benchmarks (not tests): PoW hash rates vs peers, solve time, verifier throughput, collector cost.
bench:
	bench/run.sh
