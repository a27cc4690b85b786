// @ts-check
// The probe results and fingerprint sources, owned here: every probe module records through
// `probe`/`later`/`put`/`putErr`; `probeArrays` hands them to the token (collector-wasm/src/ingest.rs
// `probes` log, kinds: protocol-side `ingest::probe_kind`). Raw facts only; the verifier judges
// them (verifier/src/envrules/). Every probe is wrapped: a throwing probe is recorded as an
// Error value (itself a signal).
import {
  AUTOMATION_STACK_PLAYWRIGHT, AUTOMATION_STACK_PUPPETEER, PROBE_AUTOMATION_STACK, PROBE_FINGERPRINT_FLAGS, PROBE_KIND_ABSENT, PROBE_KIND_BOOL, PROBE_KIND_ERROR,
  PROBE_KIND_INT, PROBE_KIND_NUM, PROBE_KIND_STR, PROBE_PROBE_MS,
} from "../generated/contract.js";
import { mark, timings } from "../env.js";

export const rec = {
  /** @type {number[]} [id, kind, number] per probe */
  PN: [],
  /** @type {string[]} strings of Str/Error probes, in order */
  PSTR: [],
  /** @type {unknown[]} fingerprint sources (hashed in wasm; never sent raw) */
  FP: [],
  /** protocol `telemetry::fp_flags` */
  fpFlags: 0,
  /** the audio source once rendered (async: appended last, so arrival order never changes the hash) */
  audio: "",
  /** main-thread time spent in `timed` tasks, ms */
  ms: 0,
  /** A5 bits, see `frames` */
  stackHits: 0,
};

/**
 * A5: automation frames in the synchronous stack of the widget API, of submit / no-pointer click
 * handlers and of untrusted pointer/key/input events (protocol `telemetry::automation_stack` bits):
 * Puppeteer's `pptr:` sourceURL, Playwright's `UtilityScript.`, i.e. a main-world `evaluate()` that calls the API, clicks,
 * submits or dispatches events. A page's own calls and real input have only page frames (or none).
 */
export function frames() {
  try {
    const s = String(new Error().stack);
    if (/pptr:|__puppeteer_evaluation_script__/.test(s)) rec.stackHits |= AUTOMATION_STACK_PUPPETEER;
    if (/UtilityScript\./.test(s)) rec.stackHits |= AUTOMATION_STACK_PLAYWRIGHT;
  } catch (e) {}
}

/**
 * @param {number} id
 * @param {unknown} v
 */
export function put(id, v) {
  const t = typeof v;
  if (t === "boolean") rec.PN.push(id, PROBE_KIND_BOOL, v ? 1 : 0);
  else if (t === "number") rec.PN.push(id, Number.isInteger(v) && Math.abs(/** @type {number} */ (v)) < 9e15 ? PROBE_KIND_INT : PROBE_KIND_NUM, /** @type {number} */ (v));
  else if (v === undefined) rec.PN.push(id, PROBE_KIND_ABSENT, 0);
  else {
    rec.PN.push(id, PROBE_KIND_STR, 0);
    rec.PSTR.push(v === null ? "null" : t === "string" ? /** @type {string} */ (v) : "[" + t + "]");
  }
}

/**
 * @param {number} id
 * @param {any} e
 */
export function putErr(id, e) {
  rec.PN.push(id, PROBE_KIND_ERROR, 0);
  rec.PSTR.push(String((e && e.name) || "Error") + ": " + String((e && e.message) || e));
}

/**
 * @param {number} id
 * @param {() => unknown} fn
 */
export function probe(id, fn) {
  try {
    put(id, fn());
  } catch (e) {
    putErr(id, e);
  }
}

/**
 * Deadline of an async probe, ms. One that has not settled by then is recorded as a
 * `TimeoutError` value (the verifier treats errors of these probes as "unavailable", never as a
 * lie) and its late answer is dropped; a token sealed before the deadline carries the same record
 * for every probe still pending (`probeArrays`), so a token never waits for a probe.
 */
export const PROBE_DEADLINE_MS = 3000;
const TIMEOUT = { name: "TimeoutError", message: "late" };
/** Async probes not settled yet. @type {Set<number>} */
const pending = new Set();

/**
 * @param {number} id
 * @param {() => unknown} promiseFn
 */
export function later(id, promiseFn) {
  let done = false;
  /** @param {() => void} f */
  const settle = (f) => {
    if (done) return;
    done = true;
    pending.delete(id);
    f();
  };
  try {
    Promise.resolve(promiseFn()).then((v) => { settle(() => { put(id, v); }); }, (e) => { settle(() => { putErr(id, e); }); });
  } catch (e) {
    settle(() => { putErr(id, e); });
  }
  if (!done) {
    pending.add(id);
    setTimeout(() => { settle(() => { putErr(id, TIMEOUT); }); }, PROBE_DEADLINE_MS);
  }
}

/**
 * Run a main-thread task of the collector and record it as [start, duration] in
 * `timings.tasks` (for tests and diagnostics; the e2e long-task test checks none exceeds 50 ms).
 * @template T
 * @param {() => T} fn
 * @param {string} [name]
 * @returns {T}
 */
export function timed(fn, name) {
  const t = performance.now();
  try {
    return fn();
  } finally {
    const d = performance.now() - t;
    const tasks = timings.tasks;
    tasks.push([Math.round(t), Math.round(d * 10) / 10]);
    mark(name || "task", t, t + d);
    if (tasks.length > 50) tasks.shift();
    rec.ms += d;
  }
}

/** The probe log at token time, with the values settled then (fingerprint flags, A5 stack hits). */
export function probeArrays() {
  /** @type {number[]} */
  const late = [];
  /** @type {string[]} */
  const lateStr = [];
  pending.forEach((id) => {
    late.push(id, PROBE_KIND_ERROR, 0);
    lateStr.push("TimeoutError: pending");
  });
  const pn = rec.PN.concat(late, [PROBE_PROBE_MS, PROBE_KIND_INT, Math.round(rec.ms), PROBE_FINGERPRINT_FLAGS, PROBE_KIND_INT, rec.fpFlags, PROBE_AUTOMATION_STACK, PROBE_KIND_INT, rec.stackHits]);
  return { nums: new Float64Array(pn), strs: rec.PSTR.concat(lateStr), fp: rec.FP.join("|") + rec.audio };
}
