// @ts-check
// The proof-of-work workers (js/src/workers/pow-worker.js, shipped as tollgate-worker.js): started
// once, each instantiates the main thread's compiled wasm module; jobs (all k sub-puzzles of one
// challenge) run one at a time, sub-puzzles handed out a few at a time per worker.
import { BASE, DBG, mark } from "./env.js";
import { wasm } from "./wasm.js";

/**
 * @typedef {{ bytes: Uint8Array, k: number, bits: number }} ChallengeInfo
 * @typedef {{ solutions: BigUint64Array, hashes: number, workers: number, ms: number }} Solved
 * @typedef {{ w: Worker, alive: boolean, ready: boolean, used?: boolean, outstanding: number[], last: number }} WorkerRec
 * @typedef {{ info: ChallengeInfo, owner: object, resolve: (s: Solved) => void, reject: (e: Error) => void }} Queued
 * @typedef {{ id: number, owner: object, feed: (r: WorkerRec) => void, message: (r: WorkerRec, m: any) => void,
 *   lost: (r: WorkerRec, why?: string) => void, cancel: (why: string) => void }} Job
 */

const DEPTH = 2; // indices queued per worker, so it never idles waiting for the next one

/**
 * Watchdog: a worker that owes an answer (not ready yet, or holding sub-puzzles) and has sent
 * nothing for this long is killed; its sub-puzzles go to the others, and with none left the job
 * fails (the widget's error state). 15 s covers start-up on a slow device; on top, 16 times the
 * average work of one sub-puzzle (a worker reports each one) at 100k hashes/s, a slow phone
 * without SIMD: a live worker overruns that with probability e^-16, so only a dead or wedged one
 * reaches it. 20.2 s at 15 bits.
 * @param {number} bits
 */
export function stallMs(bits) {
  return 15000 + (16 * Math.pow(2, bits)) / 100;
}

export class Pool {
  constructor() {
    const n = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
    /** @type {WorkerRec[]} */
    this.workers = [];
    this.job = 0;
    /** @type {Job | null} */
    this.current = null;
    /** @type {Queued[]} */
    this.queue = [];
    for (let slot = 0; slot < n; slot++) {
      /** @type {WorkerRec} */
      const rec = { w: /** @type {Worker} */ (/** @type {unknown} */ (null)), alive: true, ready: false, outstanding: [], last: performance.now() };
      try {
        rec.w = new Worker(BASE + "tollgate-worker.js", { type: "module", name: "tollgate-pow" });
      } catch (e) {
        continue;
      }
      rec.w.onmessage = (ev) => {
        const m = ev.data || {};
        rec.last = performance.now();
        // Debug: worker times come as absolute ms (timeOrigin + now).
        const at = (/** @type {number} */ x) => x - performance.timeOrigin;
        if (m.at) {
          if (m.t === "ready") {
            mark("w" + slot + ":script", at(m.at[0]), at(m.at[0]));
            mark("w" + slot + ":init", at(m.at[1]), at(m.at[2]));
          } else mark("w" + slot + ":" + m.index, at(m.s), at(m.at), m.hashes);
        }
        if (m.t === "ready") {
          rec.ready = true;
          if (this.current) this.current.feed(rec);
        } else if (m.t === "error") {
          this.kill(rec, m.error);
        } else if (this.current && m.job === this.current.id) {
          this.current.message(rec, m);
        }
      };
      rec.w.onerror = (ev) => {
        this.kill(rec, (ev && ev.message) || "worker error");
      };
      this.workers[slot] = rec;
    }
    this.workers = this.workers.filter(Boolean);
    mark("pool");
    wasm.module.then(
      (module) => {
        this.workers.forEach((r) => {
          r.w.postMessage({ t: "init", module: module, dbg: DBG });
        });
      },
      () => {
        this.workers.forEach((r) => {
          r.w.postMessage({ t: "init", url: wasm.url, dbg: DBG });
        });
      },
    );
  }

  /**
   * @param {WorkerRec} rec
   * @param {string} [why]
   */
  kill(rec, why) {
    if (!rec.alive) return;
    rec.alive = false;
    try {
      rec.w.terminate();
    } catch (e) {}
    if (this.current) this.current.lost(rec, why);
  }

  /**
   * Solve all k sub-puzzles of `info` for `owner` (a widget). Jobs run one at a time; a newer
   * request from the same owner replaces its queued or running one.
   * @param {ChallengeInfo} info
   * @param {object} owner
   * @returns {Promise<Solved>}
   */
  solve(info, owner) {
    this.queue = (this.queue || []).filter((q) => {
      if (q.owner !== owner) return true;
      q.reject(new Error("superseded"));
      return false;
    });
    if (this.current && this.current.owner === owner) this.current.cancel("superseded");
    return new Promise((resolve, reject) => {
      this.queue.push({ info: info, owner: owner, resolve: resolve, reject: reject });
      this.startNext();
    });
  }

  startNext() {
    if (this.current || !this.queue.length) return;
    const self = this;
    const q = /** @type {Queued} */ (this.queue.shift());
    const id = ++this.job;
    const k = q.info.k;
    const bytes = q.info.bytes;
    let next = 0;
    let found = 0;
    /** @type {number[]} indices handed back by dead workers */
    let pending = [];
    const solutions = new BigUint64Array(k);
    const have = new Uint8Array(k);
    let hashes = 0;
    let used = 0;
    const start = performance.now();
    const stall = stallMs(q.info.bits);
    self.workers.forEach((r) => {
      r.last = Math.max(r.last, start);
    });
    const watch = setInterval(() => {
      const now = performance.now();
      self.workers.forEach((r) => {
        if (r.alive && (!r.ready || r.outstanding.length) && now - r.last > stall) self.kill(r, "worker timed out");
      });
    }, 1000);
    function done() {
      clearInterval(watch);
      self.current = null;
      self.workers.forEach((r) => {
        r.outstanding = [];
        r.used = false;
      });
      setTimeout(() => {
        self.startNext();
      }, 0);
    }
    /** @type {Job} */
    const job = {
      id: id,
      owner: q.owner,
      feed(rec) {
        if (!rec.alive || !rec.ready || self.current !== job) return;
        const give = [];
        while (rec.outstanding.length + give.length < DEPTH) {
          const idx = pending.length ? /** @type {number} */ (pending.shift()) : next < k ? next++ : -1;
          if (idx < 0) break;
          give.push(idx);
        }
        if (give.length) {
          if (!rec.used) {
            rec.used = true;
            used++;
          }
          rec.outstanding = rec.outstanding.concat(give);
          rec.w.postMessage({ t: "solve", job: id, challenge: bytes, indices: give });
        }
      },
      message(rec, m) {
        if (m.t === "found") {
          rec.outstanding = rec.outstanding.filter((x) => x !== m.index);
          hashes += m.hashes;
          if (!have[m.index]) {
            have[m.index] = 1;
            solutions[m.index] = BigInt(m.nonce);
            found++;
          }
          if (found === k) {
            mark("solve", start, performance.now());
            done();
            q.resolve({ solutions: solutions, hashes: hashes, workers: Math.max(1, used), ms: performance.now() - start });
            return;
          }
          job.feed(rec);
        } else if (m.t === "failed") {
          self.kill(rec, m.error);
        }
      },
      lost(rec) {
        pending = pending.concat(rec.outstanding);
        rec.outstanding = [];
        const alive = self.workers.filter((r) => r.alive);
        if (!alive.length) return job.cancel("no proof-of-work worker could run");
        alive.forEach(job.feed);
      },
      cancel(why) {
        if (self.current !== job) return;
        self.workers.forEach((r) => {
          if (r.alive) r.w.postMessage({ t: "stop" });
        });
        done();
        q.reject(new Error(why));
      },
    };
    this.current = job;
    const alive = this.workers.filter((r) => r.alive);
    if (!alive.length) return job.cancel("no proof-of-work worker could run");
    alive.forEach(job.feed);
  }
}

/** @type {Pool | null} */
let pool = null;
/** The pool, started on first use (and again once every worker died, e.g. killed by the watchdog). */
export function getPool() {
  if (!pool || !pool.workers.some((r) => r.alive)) pool = new Pool();
  return pool;
}
