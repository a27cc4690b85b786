// In-page driver of the hash-rate benchmark: each solver runs in a fresh dedicated Worker, one at a
// time (so "per worker" means one uncontended core), rounds interleaved across solvers.
const hex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
const once = (w, msg, transfer) =>
  new Promise((ok, fail) => {
    w.onmessage = (e) => ok(e.data);
    w.onerror = (e) => fail(new Error(e.message || "worker error"));
    w.postMessage(msg, transfer || []);
  });

async function sha256hex(text) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

const runners = {
  // Ours: simd128 and scalar builds, the real solve_chunk entry point.
  async ours(cfg, variant) {
    const w = new Worker("/b/w-ours.mjs", { type: "module" });
    try {
      const wasmUrl =
        variant === "simd" ? "/dist/tollgate_collector_simd_bg.wasm" : variant === "scalar" ? "/dist/tollgate_collector_bg.wasm" : `/x/${variant}.wasm`;
      const r = await once(w, { wasmUrl, challenge: hex(cfg.fixture), secs: cfg.secs, chunk: 32768, warmMs: cfg.warmMs });
      return { hps: (r.hashes / r.ms) * 1000, compressionsPerUnit: 1, unitsPerSec: (r.hashes / r.ms) * 1000, detail: `solverKind=${r.kind}, ${r.chunkMs.toFixed(1)} ms per 32k chunk` };
    } finally {
      w.terminate();
    }
  },
  // Cap: the widget's own worker (src/worker.js) with @cap.js/wasm's module, one solve_pow call per
  // sub-challenge as the widget does. Fixed work: the target is the first 8 hex digits of
  // SHA-256(salt ‖ N), so the solver scans nonces 0..=N (an earlier 32-bit match has p ≈ N/2^32).
  async cap(cfg) {
    const module = await WebAssembly.compileStreaming(fetch("/nm/@cap.js/wasm/browser/cap_wasm_bg.wasm"));
    const w = new Worker("/nm/@cap.js/widget/src/worker.js");
    try {
      const salt = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      const job = async (n) => {
        const s = salt();
        const target = (await sha256hex(s + n)).slice(0, 8);
        const r = await once(w, { salt: s, target, wasmModule: module });
        if (!r.found) throw new Error("cap: " + r.error);
        return { hashes: r.nonce + 1, ms: Number(r.durationMs) };
      };
      // Warm-up: a few sub-challenge-sized solves (Cap's default is 50 of ~65 k hashes).
      const warmEnd = performance.now() + cfg.warmMs;
      while (performance.now() < warmEnd) await job(65536);
      let hashes = 0;
      let ms = 0;
      while (ms < cfg.secs * 1000) {
        const r = await job(cfg.capWork);
        hashes += r.hashes;
        ms += r.ms;
      }
      return { hps: (hashes / ms) * 1000, compressionsPerUnit: 1, unitsPerSec: (hashes / ms) * 1000, detail: `salt 32 hex + decimal nonce (≤ 55 B: one compression), ${cfg.capWork} hashes per call` };
    } finally {
      w.terminate();
    }
  },
  async friendly(cfg) {
    const w = new Worker("/b/w-friendly.mjs", { type: "module" });
    try {
      const r = await once(w, { secs: cfg.secs, chunk: 1 << 16, warmMs: cfg.warmMs });
      const ups = (r.hashes / r.ms) * 1000;
      return { hps: null, unitsPerSec: ups, unit: "BLAKE2b-256 (128 B)", detail: `${r.chunkMs.toFixed(1)} ms per 64k call` };
    } finally {
      w.terminate();
    }
  },
  // ALTCHA: the widget's own PBKDF2 worker (dist/workers/pbkdf2.js, WebCrypto deriveKey) on a
  // deterministic altcha-lib challenge whose answer is counter N: exactly N+1 PBKDF2 derivations of
  // `cost` HMAC-SHA-256 iterations (2 SHA-256 compressions each with precomputed pads).
  async altcha(cfg) {
    const w = new Worker("/nm/altcha/dist/workers/pbkdf2.js");
    try {
      let iters = 0;
      let ms = 0;
      for (const ch of cfg.altcha.pbkdf2) {
        const r = await once(w, { type: "work", challenge: ch.challenge, counterStart: 0, counterStep: 1 });
        if (!r || r.counter !== ch.counter) throw new Error("altcha: unexpected answer " + JSON.stringify(r));
        if (ch.warm) continue;
        iters += (r.counter + 1) * ch.challenge.parameters.cost;
        ms += r.time;
      }
      const ups = (iters / ms) * 1000;
      return { hps: ups * 2, unitsPerSec: ups, unit: "PBKDF2-HMAC-SHA-256 iteration", compressionsPerUnit: 2, detail: `cost ${cfg.altcha.pbkdf2[0].challenge.parameters.cost}` };
    } finally {
      w.terminate();
    }
  },
  // ALTCHA's SHA-256 mode (dist/workers/sha.js: one crypto.subtle.digest per candidate).
  async altchaSha(cfg) {
    const w = new Worker("/nm/altcha/dist/workers/sha.js");
    try {
      let n = 0;
      let ms = 0;
      for (const ch of cfg.altcha.sha) {
        const r = await once(w, { type: "work", challenge: ch.challenge, counterStart: 0, counterStep: 1 });
        if (!r || r.counter !== ch.counter) throw new Error("altcha sha: unexpected answer " + JSON.stringify(r));
        if (ch.warm) continue;
        n += r.counter + 1;
        ms += r.time;
      }
      const ups = (n / ms) * 1000;
      return { hps: ups, unitsPerSec: ups, compressionsPerUnit: 1, detail: "nonce 16 B + salt 16 B + u32 counter: one compression per digest() call" };
    } finally {
      w.terminate();
    }
  },
};

window.runSolver = async (name, cfg, variant) => {
  try {
    return { ok: true, ...(await runners[name](cfg, variant)) };
  } catch (e) {
    return { ok: false, error: String((e && e.message) || e) };
  }
};
window.benchReady = true;
