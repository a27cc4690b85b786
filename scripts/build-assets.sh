#!/usr/bin/env bash
# Build the browser assets into js/dist/ (what a site serves same-origin, e.g. under /tollgate/):
#   tollgate.js                      loader (classic script: js/src/main.js and its modules
#                                    bundled by esbuild as an IIFE, then terser)
#   turnstile.js                     the same loader plus the Turnstile drop-in shim
#                                    (js/src/turnstile.js: cf-turnstile markup, window.turnstile);
#                                    a page loads one of tollgate.js / turnstile.js, never both
#   tollgate.mjs                     ES module entry of the package (js/package.json): adds the
#                                    tollgate.js tag with its SRI hash, resolves with `tollgate`
#   sri.json                         Subresource Integrity hashes (sha384) of every file above and
#                                    below, also printed at the end (README "Subresource Integrity")
#   tollgate-worker.js               proof-of-work worker (ES module worker: js/src/workers/pow-worker.js)
#   tollgate-probe-worker.js         environment re-read worker (classic worker: js/src/workers/probe-worker.js)
#   tollgate_collector.js            wasm-bindgen glue (ES module; minified)
#   tollgate_collector_bg.wasm       the collector, scalar build (any engine with WebAssembly)
#   tollgate_collector_simd_bg.wasm  the same crate built with simd128: the proof-of-work kernel
#                                    hashes 4 nonces per step (~3.5x faster); the loader picks it
#                                    when `WebAssembly.validate` accepts a SIMD instruction. Same
#                                    exports, so both share the glue (checked below).
#
# A browser downloads the loader, the glue, both workers and ONE wasm build. Budget: 30 KB
# gzipped for that set (tests/e2e/size.test.mjs fails above it; this script prints the figures).
#
# Pipeline: cargo (custom `wasm-release` profile, `--no-default-features`: the collector is then
# no_std with a trapping panic handler and lol_alloc, so no std panic/fmt code is linked) →
# wasm-bindgen → wasm-opt -Oz from the npm `binaryen` package (v132; never Debian's binaryen: it
# writes broken externref tables; the optimised module is what the browser tests exercise) →
# esbuild (bundle + minify the JS sources in js/src/, whose shared constants are generated from the
# Rust definitions by `cargo xtask gen-js`) → terser (a second minification pass: it still saves
# ~400 B gzipped on the loader after esbuild's). wasm-bindgen-cli must match the `wasm-bindgen`
# crate version in Cargo.lock exactly; binaryen, esbuild and terser come from package-lock.json
# (scripts/setup.sh installs them).
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
# Honour CARGO_TARGET_DIR (a shared build cache, e.g. several worktrees of this repository).
TARGET=${CARGO_TARGET_DIR:-target}
WASM=$TARGET/wasm32-unknown-unknown/$PROFILE/tollgate_collector.wasm
BIN=node_modules/.bin

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
for tool in wasm-opt esbuild terser; do
  if [[ ! -x $BIN/$tool ]]; then
    echo "build-assets: $BIN/$tool not found (run scripts/setup.sh, or npm ci)" >&2
    exit 1
  fi
done
if ! "$BIN/wasm-opt" --version | grep -q 'version 132'; then
  echo "build-assets: expected binaryen's wasm-opt version 132 from npm, got: $("$BIN/wasm-opt" --version)" >&2
  exit 1
fi

CARGO_FLAGS=(--target wasm32-unknown-unknown -p tollgate-collector --profile "$PROFILE" --no-default-features)
cargo build "${CARGO_FLAGS[@]}"
# The simd128 build in its own target dir: target rustflags are not part of cargo's artifact
# hashes, so sharing target/ would rebuild the scalar artifacts on every run.
SIMD_TARGET_DIR=$TARGET/wasm-simd
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  cargo build "${CARGO_FLAGS[@]}" --target-dir "$SIMD_TARGET_DIR"
SIMD_WASM=$SIMD_TARGET_DIR/wasm32-unknown-unknown/$PROFILE/tollgate_collector.wasm

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
bindgen() {
  wasm-bindgen "$1" --target web --remove-name-section --remove-producers-section \
    --out-name tollgate_collector --out-dir "$2"
}
bindgen "$WASM" "$TMP/scalar"
bindgen "$SIMD_WASM" "$TMP/simd"
if ! cmp -s "$TMP/simd/tollgate_collector.js" "$TMP/scalar/tollgate_collector.js"; then
  echo "build-assets: the simd128 and scalar builds need different glue; refusing to ship both" >&2
  exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
# -Oz --converge for size (converging saves another ~1.2 KB gzipped over one -Oz round); features
# come from the module's target_features section (the scalar build stays free of SIMD), which is
# then stripped. --low-memory-unused lets wasm-opt fold constant offsets into loads and stores
# (134 B gzipped on the simd build): rustc links wasm32 with the stack first, growing down from
# 1 MiB to 0 with the data above it, so the low 1 KiB is only ever the far end of a stack that is
# about to overflow, which this collector (no deep recursion) never comes near. Both run in
# parallel (~20-40 s each).
WASM_OPT=("$BIN/wasm-opt" -Oz --converge --low-memory-unused --strip-target-features)
"${WASM_OPT[@]}" "$TMP/scalar/tollgate_collector_bg.wasm" -o "$OUT/tollgate_collector_bg.wasm" &
"${WASM_OPT[@]}" "$TMP/simd/tollgate_collector_bg.wasm" -o "$OUT/tollgate_collector_simd_bg.wasm" &
wait %1
wait %2

# The shipped kinds: the loader and the probe worker are classic scripts (IIFE), the PoW worker an
# ES module worker that imports the glue from its own directory (kept external).
ESBUILD=("$BIN/esbuild" --bundle --minify --target=es2020 --legal-comments=inline --log-level=warning)
"${ESBUILD[@]}" js/src/main.js --format=iife --outfile="$TMP/tollgate.js" \
  "--banner:js=/*! Tollgate loader (self-hosted; Apache-2.0) */"
"${ESBUILD[@]}" js/src/turnstile.js --format=iife --outfile="$TMP/turnstile.js" \
  "--banner:js=/*! Tollgate loader with the Turnstile drop-in shim (self-hosted; Apache-2.0) */"
"${ESBUILD[@]}" js/src/workers/probe-worker.js --format=iife --outfile="$TMP/tollgate-probe-worker.js"
"${ESBUILD[@]}" js/src/workers/pow-worker.js --format=esm --external:./tollgate_collector.js \
  --outfile="$TMP/tollgate-worker.js"
TERSER=("$BIN/terser" --compress passes=2 --mangle --comments '/^!/')
"${TERSER[@]}" "$TMP/tollgate.js" -o "$OUT/tollgate.js"
"${TERSER[@]}" "$TMP/turnstile.js" -o "$OUT/turnstile.js"
"${TERSER[@]}" "$TMP/tollgate-probe-worker.js" -o "$OUT/tollgate-probe-worker.js"
"${TERSER[@]}" --module "$TMP/tollgate-worker.js" -o "$OUT/tollgate-worker.js"
"${TERSER[@]}" --module "$TMP/scalar/tollgate_collector.js" -o "$OUT/tollgate_collector.js"

echo "build-assets: $OUT"
# Gzipped size as tests/e2e/size.test.mjs counts it (node's zlib, level 9; `gzip -9` gives ~80 B
# less on this set, which once hid a budget overrun until the test ran).
gzsize() {
  node -e 'process.stdout.write(String(require("zlib").gzipSync(require("fs").readFileSync(process.argv[1]), { level: 9 }).length))' "$1"
}
JS=(tollgate.js tollgate_collector.js tollgate-worker.js tollgate-probe-worker.js)
for f in "${JS[@]}" turnstile.js tollgate_collector_bg.wasm tollgate_collector_simd_bg.wasm; do
  raw=$(wc -c <"$OUT/$f")
  gz=$(gzsize "$OUT/$f")
  printf '  %-32s %8d B  %7d B gzipped\n' "$f" "$raw" "$gz"
done
total=0
for f in "${JS[@]}" tollgate_collector_simd_bg.wasm; do
  total=$((total + $(gzsize "$OUT/$f")))
done
printf '  %-32s %8s    %7d B gzipped (loader + glue + both workers + the simd wasm; budget 30720)\n' \
  "one browser downloads" "" "$total"
ts=$((total - $(gzsize "$OUT/tollgate.js") + $(gzsize "$OUT/turnstile.js")))
printf '  %-32s %8s    %7d B gzipped (turnstile.js instead of tollgate.js; budget 31744)\n' \
  "a Turnstile drop-in page" "" "$ts"

# The package's ES module entry (js/src/esm.js → tollgate.mjs): adds the classic loader's tag with
# the loader's SRI hash, substituted here.
sri_of() { node -e 'process.stdout.write("sha384-" + require("node:crypto").createHash("sha384").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$1"; }
"${ESBUILD[@]}" js/src/esm.js --format=esm "--define:TOLLGATE_SRI=\"$(sri_of "$OUT/tollgate.js")\"" \
  --outfile="$OUT/tollgate.mjs" "--banner:js=/*! Tollgate loader, ES module entry (self-hosted; Apache-2.0) */"

# Subresource Integrity: sha384 of every shipped file, into sri.json and on stdout. A page that
# loads the loader with <script integrity=… crossorigin> gets exactly these bytes.
node -e '
const { createHash } = require("node:crypto");
const { readFileSync, readdirSync, writeFileSync } = require("node:fs");
const dir = process.argv[1];
const files = readdirSync(dir).filter((f) => /\.(m?js|wasm)$/.test(f)).sort();
const sri = {};
for (const f of files) sri[f] = "sha384-" + createHash("sha384").update(readFileSync(dir + "/" + f)).digest("base64");
writeFileSync(dir + "/sri.json", JSON.stringify(sri, null, 2) + "\n");
console.log("build-assets: Subresource Integrity (" + dir + "/sri.json)");
for (const f of files) console.log("  " + f.padEnd(32) + " " + sri[f]);
' "$OUT"
