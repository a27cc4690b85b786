// @ts-check
/*
 * Tollgate loader (self-hosted; Apache-2.0). build-assets.sh adds that line as the bundle's license banner.
 *
 * Classic script: <script src="/tollgate/tollgate.js" data-api="https://verifier.example" async></script>
 * Widgets:        <div class="tollgate" data-sitekey="…" data-action="login"></div> inside a form,
 *                 or <form data-tollgate data-sitekey="…"> (data-tollgate="sitekey" works too).
 *
 * What it does: fetches a challenge from the verifier early, solves the proof of work in Web Workers
 * (tollgate-worker.js + the wasm, loaded from this script's own directory), records behaviour from
 * passive listeners that only append numbers to typed arrays (pointer samples, key *classes* and
 * timings, field events, scroll), runs environment probes after first paint in idle time (here and
 * in tollgate-probe-worker.js), and at submit hands everything to the wasm `seal()`, which encodes
 * the telemetry, hashes the fingerprint sources and MACs the token into
 * <input type="hidden" name="tollgate-response">. Raw fingerprint values, key values and typed text
 * never leave the page; the verifier judges the probe results (rules change without new wasm).
 *
 * CSP: needs only `script-src 'self' 'wasm-unsafe-eval'`, `worker-src 'self'` and `connect-src` for
 * the verifier. No eval, no inline script or style, no blob: workers, no cookies or storage, no
 * network call besides the verifier's challenge endpoint (and the assets themselves).
 *
 * Entry point of the loader. scripts/build-assets.sh bundles js/src/ into js/dist/tollgate.js
 * (esbuild, IIFE: a classic script). Modules: env (script tag, timings, debug marks), wasm
 * (module + glue), pool (proof-of-work workers), listeners (behaviour logs), probes/ (tiers A–D,
 * fingerprint, schedule, record), seal (token glue), widget (widgets and the public API);
 * generated/contract.js holds every constant shared with Rust (`cargo xtask gen-js`).
 */
import { EXPLICIT, NC, mark } from "./env.js";
import { installListeners } from "./listeners.js";
import { getPool } from "./pool.js";
import { startGlue, startModule, wasm } from "./wasm.js";
import { api, autoRender, fail, onFocus, widgets } from "./widget.js";

function start() {
  mark("start");
  if (NC) wasm.ready = Promise.resolve(/** @type {any} */ (null));
  else {
    startModule();
    // The proof-of-work workers, started here when the page already has a widget (else at the
    // first render): a worker needs its script fetched, a new isolate and its own import of the
    // glue before it can solve, the longest step before the first solved challenge.
    if (!EXPLICIT && document.querySelector(".tollgate[data-sitekey], form[data-tollgate]")) getPool();
    startGlue().catch((e) => {
      widgets.forEach((w) => {
        fail(w, e);
      });
    });
  }
  installListeners(onFocus);
  window.tollgate = api;
  if (!EXPLICIT) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoRender);
    else autoRender();
  }
}

const existing = /** @type {{ tollgate?: { __loader?: boolean } }} */ (/** @type {unknown} */ (window)).tollgate;
if (!(existing && existing.__loader)) start();
