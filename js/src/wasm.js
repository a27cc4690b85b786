// @ts-check
// The collector wasm on the main thread: which build, its compiled module (shared with every
// proof-of-work worker) and the wasm-bindgen glue (`seal`, `solverKind`).
import { BASE, SIMD_OFF, mark, timings } from "./env.js";

/** @typedef {typeof import("./workers/tollgate_collector.js")} Glue */

// Two builds of the same crate: simd128 (4 nonces per step, ~3.5x faster proof of work) and a
// scalar baseline for engines without wasm SIMD (Safari < 16.4). Same exports, same glue. One
// compiled module serves the page and every worker.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** The main thread's wasm state (set by `startModule` and `startGlue`). */
export const wasm = {
  /** URL of the chosen build. */
  url: "",
  /** Compiling the chosen build (set by `startModule`). */
  module: /** @type {Promise<WebAssembly.Module>} */ (/** @type {unknown} */ (null)),
  /** The glue, initialised (set by `startGlue`). */
  ready: /** @type {Promise<Glue>} */ (/** @type {unknown} */ (null)),
  /** The glue once initialised. @type {Glue | null} */
  glue: null,
};

/** Pick the build and start compiling it. */
export function startModule() {
  let hasSimd = false;
  try {
    hasSimd = !SIMD_OFF && WebAssembly.validate(SIMD_PROBE);
  } catch (e) {}
  const url = (wasm.url = BASE + (hasSimd ? "tollgate_collector_simd_bg.wasm" : "tollgate_collector_bg.wasm"));
  const fromBytes = () =>
    fetch(url, { credentials: "same-origin" })
      .then((r) => {
        if (!r.ok) throw new Error("wasm: HTTP " + r.status);
        return r.arrayBuffer();
      })
      .then((b) => WebAssembly.compile(b));
  wasm.module = !WebAssembly.compileStreaming
    ? fromBytes()
    : // Wrong MIME type from a static server: compile from bytes instead.
      WebAssembly.compileStreaming(fetch(url, { credentials: "same-origin" })).catch(fromBytes);
  wasm.module.then(() => {
    mark("module");
  }, () => {});
}

/** Import the glue (same directory) and initialise it with the compiled module. */
export function startGlue() {
  wasm.ready = Promise.all([import(BASE + "tollgate_collector.js"), wasm.module]).then((r) => {
    const g = /** @type {Glue} */ (r[0]);
    return g.default({ module_or_path: r[1] }).then(() => {
      wasm.glue = g;
      timings.wasmReady = performance.now();
      mark("glue");
      return g;
    });
  });
  return wasm.ready;
}
