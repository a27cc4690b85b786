#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`). Fails fast; prints a header and a timing per
# section. Runs non-interactively (stdin is not used) and works with CI=true.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A CI run builds once from scratch: incremental caches would only add gigabytes of disk.
if [[ ${CI:-} == true ]]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
SUITE_START=$SECONDS
CURRENT=""

on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ -n $CURRENT ]]; then
    printf '\n!!! FAILED: %s (exit %d, after %ds total)\n' "$CURRENT" "$rc" $((SECONDS - SUITE_START)) >&2
  fi
}
trap on_exit EXIT

section() {
  local name=$1
  shift
  CURRENT=$name
  printf '\n==> %s\n' "$name"
  local start=$SECONDS
  "$@"
  printf '<== %s: ok (%ds)\n' "$name" $((SECONDS - start))
  CURRENT=""
}

section "setup" scripts/setup.sh --test
section "cargo fmt --check" cargo fmt --all --check
section "clippy (native, all targets)" cargo clippy --workspace --all-targets -- -D warnings
section "rustdoc (intra-doc links, -D warnings)" \
  env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
section "clippy (wasm32 collector)" \
  cargo clippy --target wasm32-unknown-unknown -p tollgate-collector -- -D warnings
section "clippy (wasm32 collector, shipped no_std build)" \
  cargo clippy --target wasm32-unknown-unknown -p tollgate-collector --no-default-features -- -D warnings
section "cargo test (workspace)" cargo test --workspace
# Fuzz smoke: only where a nightly toolchain and cargo-fuzz exist (setup.sh installs cargo-fuzz
# when nightly is present). Never silently: say so when skipped.
toolchains=$(rustup toolchain list 2>/dev/null || true)
if grep -q '^nightly' <<<"$toolchains" && cargo fuzz --version >/dev/null 2>&1; then
  section "fuzz smoke (nightly, ${FUZZ_SECONDS:-15}s per target)" scripts/fuzz-smoke.sh
else
  printf '\n==> fuzz smoke: SKIPPED (needs a nightly toolchain and cargo-fuzz; see fuzz/README.md)\n'
fi
section "generated JS contract is fresh (cargo xtask gen-js --check)" cargo xtask gen-js --check
section "type-check the loader (tsc --noEmit)" npm run --silent tsc
section "build browser assets" scripts/build-assets.sh
section "wasm-bindgen tests (headless Chromium)" \
  env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  CHROMEDRIVER=/usr/bin/chromedriver \
  cargo test --target wasm32-unknown-unknown -p tollgate-collector
section "build verifier + demo-site + tollgate-intel" cargo build -p verifier -p demo-site -p tollgate-intel
section "deployment files (Dockerfile, compose, systemd, Caddy)" scripts/check-deploy.sh
# The OS-level rig replays recorded timing through the X server: it runs on its own, after the
# other browser suites (node --test runs files side by side on machines with more cores), so their
# load does not disturb its delivery (it still judges disturbed replays by medians only).
mapfile -t E2E < <(find tests/e2e -maxdepth 1 -name '*.test.mjs' ! -name 'oslevel.test.mjs' | sort)
section "e2e (node --test, Playwright + Chromium)" node --test --test-reporter=spec "${E2E[@]}"
section "e2e: OS-level rig (Xvfb + XTEST, alone)" node --test --test-reporter=spec tests/e2e/oslevel.test.mjs

printf '\nAll tests passed in %ds.\n' $((SECONDS - SUITE_START))
