// Tollgate's solver as the PoW worker calls it: solve_chunk() on 32 k nonces per call (see
// js/tollgate-worker.js), after a warm-up so V8's optimising tier is in place.
import init, { solve_chunk, solverKind } from "/dist/tollgate_collector.js";

const NOT_FOUND = 0xffffffffffffffffn;
self.onmessage = async (e) => {
  const { wasmUrl, challenge, secs, chunk, warmMs } = e.data;
  await init({ module_or_path: wasmUrl });
  let start = 0n;
  const run = (ms) => {
    let hashes = 0;
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      const n = solve_chunk(challenge, 0, 1, start, chunk)[0];
      hashes += n === NOT_FOUND ? chunk : Number(n - start) + 1;
      start += BigInt(chunk);
      calls++;
      t = performance.now();
    } while (t - t0 < ms);
    return { hashes, ms: t - t0, calls };
  };
  run(warmMs);
  const r = run(secs * 1000);
  self.postMessage({ kind: solverKind(), hashes: r.hashes, ms: r.ms, chunkMs: r.ms / r.calls });
};
