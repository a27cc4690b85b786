// @ts-check
// Tier C, consistency: C1 the re-read in a dedicated worker (compared by the verifier with the
// main thread's values), C3 engine facts and version-gated features, and the main thread's time
// zone (read last, after the worker warmed ICU).
import {
  ENGINE_FEATURES, PROBE_ENGINE, PROBE_TIMEZONE, PROBE_WORKER_DEVICE_MEMORY, PROBE_WORKER_HARDWARE_CONCURRENCY, PROBE_WORKER_LANGUAGES,
  PROBE_WORKER_PLATFORM, PROBE_WORKER_STATUS, PROBE_WORKER_TIMEZONE, PROBE_WORKER_UACH_BRANDS, PROBE_WORKER_UACH_PLATFORM,
  PROBE_WORKER_USER_AGENT, PROBE_WORKER_WEBGL_RENDERER,
} from "../generated/contract.js";
import { BASE } from "../env.js";
import { probe, put, putErr } from "./record.js";
import { engine, errMsg } from "./realm.js";

/** @type {any} */
const win = window;

/**
 * C3: version-gated features, bit i = protocol `ENGINE_FEATURES[i]` (a property path from the
 * global object) is defined; a missing link on the path (or a throwing getter) leaves the bit 0.
 */
function featureBits() {
  let bits = 0;
  ENGINE_FEATURES.forEach((path, i) => {
    /** @type {any} */
    let o = win;
    try {
      path.split(".").forEach((k) => { o = o == null ? undefined : o[k]; });
    } catch (e) {
      o = undefined;
    }
    if (o !== undefined) bits |= 1 << i;
  });
  return bits;
}

/** C3: measured engine facts `evalLen,errLen,engine,features,stackStyle`. */
export function engineFacts() {
  probe(PROBE_ENGINE, () => {
    let stack = "";
    try {
      stack = /^Error/.test(String(new Error("x").stack)) ? "v8" : "other";
    } catch (e) {}
    return eval.toString().length + "," + errMsg.length + "," + engine + "," + featureBits() + "," + stack;
  });
}

/** Probe worker answer key → probe id (js/src/workers/probe-worker.js). */
const WORKER_KEYS = {
  ua: PROBE_WORKER_USER_AGENT, platform: PROBE_WORKER_PLATFORM, hwc: PROBE_WORKER_HARDWARE_CONCURRENCY,
  mem: PROBE_WORKER_DEVICE_MEMORY, tz: PROBE_WORKER_TIMEZONE, lang: PROBE_WORKER_LANGUAGES,
  brands: PROBE_WORKER_UACH_BRANDS, uaplat: PROBE_WORKER_UACH_PLATFORM, gl: PROBE_WORKER_WEBGL_RENDERER,
};

/**
 * C1: re-read in a dedicated worker (same-origin file, no blob:). Unavailable (CSP, extension,
 * timeout) is recorded as an error, which the verifier treats as "unavailable", not as a lie.
 * @param {() => void} settled called once, when the worker answered or could not
 */
export function workerProbe(settled) {
  let done = false;
  /** @type {Worker | null} */
  let w = null;
  /**
   * @param {any} err
   * @param {any} [r]
   */
  const finish = (err, r) => {
    if (done) return;
    done = true;
    settled();
    if (w) w.terminate();
    if (err) return putErr(PROBE_WORKER_STATUS, err);
    put(PROBE_WORKER_STATUS, "ok");
    for (const k in WORKER_KEYS) {
      const id = WORKER_KEYS[/** @type {keyof typeof WORKER_KEYS} */ (k)];
      const v = r[k];
      if (v && typeof v === "object") putErr(id, v);
      else put(id, v);
    }
  };
  try {
    w = new Worker(BASE + "tollgate-probe-worker.js", { name: "tollgate-probe" });
    w.onmessage = (e) => { finish(null, e.data || {}); };
    w.onerror = (e) => {
      finish({ name: "WorkerError", message: (e && e.message) || "failed to start" });
    };
    w.postMessage(0);
    setTimeout(() => { finish({ name: "TimeoutError", message: "no answer in 5 s" }); }, 5000);
  } catch (e) {
    finish(e);
  }
}

/**
 * Probe group, last, after the probe worker answered: the first Intl use in a renderer process
 * loads ICU's locale and time-zone data (20–45 ms); the worker has paid that off the main thread
 * (process-wide), so this main-thread read, which the verifier compares with the worker's, takes
 * well under a millisecond.
 */
export function intl() {
  probe(PROBE_TIMEZONE, () => Intl.DateTimeFormat().resolvedOptions().timeZone);
}
