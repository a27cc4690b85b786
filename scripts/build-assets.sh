#!/usr/bin/env bash
# Build the browser assets into js/dist/:
#   tollgate.js                  loader (classic script, copied from js/)
#   tollgate-worker.js           proof-of-work worker (ES module worker, copied from js/)
#   tollgate_collector.js        wasm-bindgen glue (ES module)
#   tollgate_collector_bg.wasm   the collector, scalar build (any engine with WebAssembly)
#   tollgate_collector_simd_bg.wasm  the same crate built with simd128: the proof-of-work kernel
#                                hashes 4 nonces per step (~3.5x faster); the loader picks it when
#                                `WebAssembly.validate` accepts a SIMD instruction. Same exports,
#                                so both share the glue (checked below).
#
# Pipeline: cargo (custom `wasm-release` profile) → wasm-bindgen. No wasm-pack, no wasm-opt (never
# Debian's binaryen: it writes broken externref tables). wasm-bindgen-cli must match the
# `wasm-bindgen` crate version in Cargo.lock exactly (scripts/setup.sh installs it).
#
# Why `--target web` (ES module glue) rather than `no-modules`: the same glue file serves both
# sides — the classic loader pulls it in with a dynamic `import()` (no global variable that could
# clash with a site's own wasm-bindgen code), and the worker is an ES module worker that imports it
# statically from the same origin (no importScripts, no blob: URL, nothing for CSP beyond 'self'
# and 'wasm-unsafe-eval'). Module workers need Chrome 80+, Safari 15+, Firefox 114+.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=js/dist
PROFILE=wasm-release
WASM=target/wasm32-unknown-unknown/$PROFILE/tollgate_collector.wasm

want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ -z $have ]]; then
  echo "build-assets: wasm-bindgen-cli not found (run scripts/setup.sh)" >&2
  exit 1
fi
if [[ -n $want && $want != "$have" ]]; then
  echo "build-assets: wasm-bindgen-cli $have does not match the crate version $want in Cargo.lock" >&2
  exit 1
fi

cargo build --target wasm32-unknown-unknown -p tollgate-collector --profile "$PROFILE"
# The simd128 build in its own target dir: target rustflags are not part of cargo's artifact
# hashes, so sharing target/ would rebuild the scalar artifacts on every run.
SIMD_TARGET_DIR=target/wasm-simd
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  cargo build --target wasm32-unknown-unknown -p tollgate-collector --profile "$PROFILE" \
  --target-dir "$SIMD_TARGET_DIR"
SIMD_WASM=$SIMD_TARGET_DIR/wasm32-unknown-unknown/$PROFILE/tollgate_collector.wasm

rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen "$WASM" \
  --target web \
  --remove-name-section \
  --remove-producers-section \
  --out-name tollgate_collector \
  --out-dir "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
wasm-bindgen "$SIMD_WASM" \
  --target web \
  --remove-name-section \
  --remove-producers-section \
  --out-name tollgate_collector \
  --out-dir "$TMP"
if ! cmp -s "$TMP/tollgate_collector.js" "$OUT/tollgate_collector.js"; then
  echo "build-assets: the simd128 and scalar builds need different glue; refusing to ship both" >&2
  exit 1
fi
cp "$TMP/tollgate_collector_bg.wasm" "$OUT/tollgate_collector_simd_bg.wasm"
# Keep only what the browser loads (wasm-bindgen also writes TypeScript declarations of the glue).
rm -f "$OUT"/*.d.ts
cp js/tollgate.js js/tollgate-worker.js "$OUT"/

echo "build-assets: $OUT"
for f in tollgate.js tollgate-worker.js tollgate_collector.js tollgate_collector_bg.wasm tollgate_collector_simd_bg.wasm; do
  raw=$(wc -c <"$OUT/$f")
  gz=$(gzip -9 -c "$OUT/$f" | wc -c)
  printf '  %-32s %8d B  %7d B gzipped\n' "$f" "$raw" "$gz"
done
total=$(cat "$OUT"/tollgate.js "$OUT"/tollgate-worker.js "$OUT"/tollgate_collector.js | gzip -9 -c | wc -c)
wgz=$(gzip -9 -c "$OUT/tollgate_collector_simd_bg.wasm" | wc -c)
printf '  %-32s %8s    %7d B gzipped: js (loader + worker + glue) + %d B wasm (one build is loaded)\n' \
  "a page loads" "" "$total" "$wgz"
