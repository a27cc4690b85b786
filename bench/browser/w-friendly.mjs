// Friendly Captcha's solver (friendly-pow's AssemblyScript wasm through its own getWasmSolver, as
// friendly-challenge's worker uses it). threshold 0 never matches, so each call hashes exactly
// `chunk` candidates: one BLAKE2b-256 of the 128-byte puzzle buffer (one BLAKE2b compression).
import { getWasmSolver } from "/nm/friendly-pow/api/wasm.js";

self.onmessage = async (e) => {
  const { secs, chunk, warmMs } = e.data;
  const module = await WebAssembly.compileStreaming(fetch("/nm/friendly-pow/wasm/optimized.wasm"));
  const solve = await getWasmSolver(module);
  const buf = new Uint8Array(128);
  crypto.getRandomValues(buf.subarray(0, 120));
  const view = new DataView(buf.buffer);
  let start = 0;
  const run = (ms) => {
    let hashes = 0;
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      view.setUint32(124, start >>> 0, true);
      solve(buf, 0, chunk);
      hashes += chunk;
      start += chunk;
      calls++;
      t = performance.now();
    } while (t - t0 < ms);
    return { hashes, ms: t - t0, calls };
  };
  run(warmMs);
  const r = run(secs * 1000);
  self.postMessage({ hashes: r.hashes, ms: r.ms, chunkMs: r.ms / r.calls });
};
