// @ts-check
// Tollgate proof-of-work worker.
//
// Shipped as js/dist/tollgate-worker.js (esbuild, ES module; the glue import stays external).
// An ES module worker (started by the loader, js/src/pool.js, with `{ type: "module" }` from the same origin as the
// page, so no `blob:` URL is needed under a strict CSP). It imports the wasm-bindgen glue built
// with `--target web` and instantiates the wasm module the loader already compiled (posted in the
// `init` message; the compiled code, including V8's optimised tier, is shared) or, failing that,
// fetches the wasm file the loader chose (simd128 or scalar build) itself.
//
// Protocol (main ⇄ worker):
//   → {t: "init", module?: WebAssembly.Module, url?: string}
//   ← {t: "ready", ua}                          first message: carries this worker's navigator.userAgent
//   ← {t: "error", error, ua}                   init failed
//   → {t: "solve", job, challenge: Uint8Array, indices: number[]}
//   ← {t: "found", job, index, nonce: bigint, hashes}
//   → {t: "stop"}                               drop queued work (the current chunk finishes)
//   ← {t: "failed", job, index, error}           the solver threw
import { NOT_FOUND } from "../generated/contract.js";
import init, { solve_chunk } from "./tollgate_collector.js";

// Nonces per wasm call: 32 k is 3–15 ms, short enough for V8 to swap in optimised code between
// calls and to notice a `stop` quickly, long enough that call overhead is negligible. A fresh
// worker starts at 4 k and doubles per call: its first calls run V8's baseline code (the kernel
// is compiled lazily, tiered up in the background), and shorter calls pick up the optimised
// code sooner.
const CHUNK = 32768;
let chunk = 4096;
// Yield to the event loop at least this often (ms) so `stop` / new jobs are seen.
const YIELD_MS = 30;

// Debug timeline (the loader's `dbg` flag): absolute times (timeOrigin + now) in `ready` / `found`.
const now = () => performance.timeOrigin + performance.now();
const T = now();
let dbg = false;
/** @type {Promise<unknown> | null} */
let ready = null;
let job = -1;
/** @type {Uint8Array | null} */
let challenge = null;
/** @type {number[]} */
const queue = [];
let running = false;

const post = (/** @type {object} */ m) => self.postMessage(m);
const ua = () => {
  try {
    return String(self.navigator.userAgent);
  } catch (e) {
    return "";
  }
};

// A macrotask yield without setTimeout's nested-timer clamping.
const channel = new MessageChannel();
/** @type {Array<(v?: unknown) => void>} */
const waiting = [];
channel.port1.onmessage = () => {
  const r = waiting.shift();
  if (r) r();
};
const yieldTask = () =>
  new Promise((r) => {
    waiting.push(r);
    channel.port2.postMessage(0);
  });

async function pump() {
  if (running) return;
  running = true;
  try {
    await ready;
    let last = performance.now();
    while (queue.length) {
      const myJob = job;
      const ch = /** @type {Uint8Array} */ (challenge);
      const index = /** @type {number} */ (queue.shift());
      let start = 0n;
      let hashes = 0;
      const s = dbg ? now() : 0;
      for (;;) {
        let nonce;
        try {
          nonce = solve_chunk(ch, index, index + 1, start, chunk)[0];
        } catch (e) {
          post({ t: "failed", job: myJob, index, error: String((e && /** @type {any} */ (e).message) || e) });
          break;
        }
        if (nonce !== NOT_FOUND) {
          hashes += Number(nonce - start) + 1;
          post({ t: "found", job: myJob, index, nonce, hashes, ...(dbg && { s, at: now() }) });
          break;
        }
        hashes += chunk;
        start += BigInt(chunk);
        chunk = Math.min(CHUNK, chunk * 2);
        if (performance.now() - last > YIELD_MS) {
          await yieldTask();
          last = performance.now();
          if (job !== myJob) break; // stopped or superseded
        }
      }
    }
  } finally {
    running = false;
  }
}

self.onmessage = (e) => {
  const m = e.data || {};
  if (m.t === "init") {
    if (ready) return;
    dbg = !!m.dbg;
    const t = now();
    const source = m.module || m.url || new URL("tollgate_collector_bg.wasm", import.meta.url);
    ready = init({ module_or_path: source });
    ready.then(
      () => post({ t: "ready", ua: ua(), ...(dbg && { at: [T, t, now()] }) }),
      (/** @type {any} */ err) => post({ t: "error", error: String((err && err.message) || err), ua: ua() }),
    );
  } else if (m.t === "solve") {
    if (!ready) return;
    if (m.job !== job) {
      job = m.job;
      queue.length = 0;
    }
    challenge = m.challenge;
    for (const i of m.indices) queue.push(i);
    pump().catch((err) => post({ t: "failed", job, index: -1, error: String(err) }));
  } else if (m.t === "stop") {
    job = -1;
    queue.length = 0;
  }
};
