#!/usr/bin/env node
// Solve time at the default difficulty (k = 32, bits = 15: verifier/src/config/mod.rs, DEFAULT_POW) through the real
// loader (js/dist/tollgate.js) and its workers, against the real release verifier on loopback:
// each round is `tollgate.reset()` (fetch a fresh challenge, solve it in the worker pool) then
// `tollgate.execute()` (the token); every token is then redeemed at /v1/siteverify.
//
//   node bench/solve.mjs [--n 60] [--simd on|off]
import path from "node:path";
import { execFileSync } from "node:child_process";
import { startStatic, BENCH } from "./lib/static.mjs";
import { pages } from "./lib/pages.mjs";
import { launch, benchBin, verifierBin, median, quantile, loadavg, opt } from "./lib/common.mjs";
import { startServer } from "./verifier.mjs";

const N = Number(opt("--n", 60));
const SIMD = opt("--simd", "on");
const SITEKEY = "bench-default-pow";
const SECRET = "bench-default-pow-secret-0123456789";

export async function solveBench({ n = N, simd = SIMD } = {}) {
  const OUT = path.join(BENCH, "out");
  execFileSync(benchBin(), ["verifier-config", path.join(OUT, "verifier")]);
  const v = await startServer(verifierBin(), ["serve", "--config", path.join(OUT, "verifier/verifier.toml"), "--listen", "127.0.0.1:0"], path.join(OUT, "verifier-solve.log"));
  const { server, origin } = await startStatic(pages);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/login?api=${encodeURIComponent(v.url)}&sitekey=${SITEKEY}${simd === "off" ? "&simd=off" : ""}`);
    await page.waitForFunction(() => window.tollgate && window.tollgate.timings.solved !== null, null, { timeout: 60000 });
    const first = await page.evaluate(() => ({ ...window.tollgate.timings }));
    const rounds = await page.evaluate(async (count) => {
      const out = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        window.tollgate.reset();
        const token = await window.tollgate.execute();
        const t = window.tollgate.timings;
        out.push({ solveMs: t.solveMs, hashes: t.hashes, workers: t.workers, totalMs: performance.now() - t0, token });
      }
      return out;
    }, n);
    let ok = 0;
    for (const r of rounds) {
      const res = await fetch(`${v.url}/v1/siteverify`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ secret: SECRET, response: r.token }),
      });
      if ((await res.json()).success === true) ok++;
    }
    const solve = rounds.map((r) => r.solveMs);
    const total = rounds.map((r) => r.totalMs);
    const hashes = rounds.map((r) => r.hashes);
    const rate = rounds.map((r) => r.hashes / r.solveMs / 1000);
    console.log(`\n## Solve time, k=32 bits=15 (default), real loader + ${rounds[0].workers} workers (${simd === "off" ? "scalar" : "simd128"} build) vs release verifier; load average ${loadavg()}`);
    console.log(`   first solve after page load (cold workers): ${first.solveMs.toFixed(0)} ms (${first.hashes} hashes)`);
    console.log(`   ${n} challenges: solve p50 ${median(solve).toFixed(0)} ms, p95 ${quantile(solve, 0.95).toFixed(0)} ms, max ${Math.max(...solve).toFixed(0)} ms (target p50 ≤ 300 ms)`);
    console.log(`   challenge fetch + solve + token: p50 ${median(total).toFixed(0)} ms, p95 ${quantile(total, 0.95).toFixed(0)} ms`);
    console.log(`   hashes per solve p50 ${median(hashes).toFixed(0)} (expected 32·2^15 = 1048576); aggregate rate p50 ${median(rate).toFixed(2)} MH/s over all workers`);
    console.log(`   siteverify accepted ${ok}/${rounds.length} tokens`);
    console.error(JSON.stringify({ bench: "solve", simd, n, p50: median(solve), p95: quantile(solve, 0.95), totalP50: median(total), totalP95: quantile(total, 0.95), first: first.solveMs, accepted: ok }));
    return { p50: median(solve), p95: quantile(solve, 0.95) };
  } finally {
    await browser.close();
    server.close();
    v.child.kill("SIGTERM");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`# reproduce: node bench/solve.mjs --n ${N} --simd ${SIMD}`);
  await solveBench();
}
