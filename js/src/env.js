// @ts-check
// Where the loader lives and what its <script> tag asks for: read once, synchronously, while the
// classic script runs (document.currentScript is only set then). Owns the public `timings`
// object and the debug timeline.

export const T0 = performance.now();
export const nav = navigator;

/** @returns {HTMLScriptElement | null} */
function findScript() {
  let script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  if (!script || !script.src) {
    const all = document.querySelectorAll("script[src]");
    for (let i = all.length - 1; i >= 0; i--) {
      const s = /** @type {HTMLScriptElement} */ (all[i]);
      if (/(^|\/)tollgate\.js(\?|#|$)/.test(s.src)) {
        script = s;
        break;
      }
    }
  }
  return script;
}

export const script = findScript();
const scriptUrl = new URL(script && script.src ? script.src : location.href, location.href);
/** The directory of this script: the workers and the wasm are loaded from there. */
export const BASE = new URL(".", scriptUrl).href;
export const DEFAULT_API = (script && script.getAttribute("data-api")) || scriptUrl.origin;
export const EXPLICIT = !!script && script.getAttribute("data-render") === "explicit";
/**
 * No collector possible (README "Browsers without WebAssembly or workers"): bit 1 no
 * `WebAssembly`, bit 2 no `Worker`. The challenge request then says `nc` and the verifier answers
 * a minimal token (verifier/src/nocollector.rs); nothing is recorded or solved.
 */
export const NC = (typeof WebAssembly != "object" ? 1 : 0) | (typeof Worker != "function" ? 2 : 0);
/** `data-simd="off"` on the script tag forces the scalar build (tests, diagnostics). */
export const SIMD_OFF = !!script && script.getAttribute("data-simd") === "off";

/** @type {TollgateTimings & {tasks: Array<[number, number]>}} */
export const timings = { loaderStart: T0, wasmReady: null, challengeReceived: null, solved: null, tokenReady: null, tasks: [] };

// Debug timeline: `data-debug` on the script tag or `tollgate-debug` in the page URL adds
// performance marks/measures named `tollgate:*` (DevTools Performance panel, bench/collector.mjs):
// module compiled, glue ready, workers started/ready, challenge requested/received, every
// sub-puzzle per worker, solved, each idle-time probe group. Off by default (no entries).
export const DBG = !!(script && script.hasAttribute("data-debug")) || /tollgate-debug/.test(location.search + location.hash);

/**
 * mark(name) now; mark(name, start, end) measures [start, end] (ms, this page's time origin).
 * @param {string} n
 * @param {number} [a]
 * @param {number} [b]
 * @param {unknown} [d]
 */
export function mark(n, a, b, d) {
  if (DBG) {
    try {
      if (a === undefined) performance.mark("tollgate:" + n);
      else performance.measure("tollgate:" + n, { start: a, end: b, detail: d });
    } catch (e) {}
  }
}
