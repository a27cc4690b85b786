#!/usr/bin/env node
// Collector cost: gzipped size of what a page loads, time from script load to the first solved
// challenge (with where it went: the loader's debug timeline, `tollgate-debug` in the page URL,
// performance marks/measures named `tollgate:*`), and main-thread CPU the collector uses during a
// scripted 20-second login (Chromium's sampling profiler through CDP, 100 µs interval: samples
// whose stack contains a frame of tollgate.js, the wasm-bindgen glue or the wasm module count as
// collector time).
//
//   node bench/collector.mjs [--loads 5]
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { execFileSync } from "node:child_process";
import { startStatic, BENCH, ROOT } from "./lib/static.mjs";
import { pages } from "./lib/pages.mjs";
import { launch, benchBin, verifierBin, median, loadavg, opt } from "./lib/common.mjs";
import { startServer } from "./verifier.mjs";

const LOADS = Number(opt("--loads", 5));
const SITEKEY = "bench-default-pow";

function sizes() {
  const dist = path.join(ROOT, "js/dist");
  const gz = (f) => zlib.gzipSync(fs.readFileSync(path.join(dist, f)), { level: 9 }).length;
  const files = ["tollgate.js", "tollgate-worker.js", "tollgate-probe-worker.js", "tollgate_collector.js", "tollgate_collector_simd_bg.wasm", "tollgate_collector_bg.wasm"]
    .filter((f) => fs.existsSync(path.join(dist, f)));
  const s = Object.fromEntries(files.map((f) => [f, { raw: fs.statSync(path.join(dist, f)).size, gz: gz(f) }]));
  const js = files.filter((f) => f.endsWith(".js")).reduce((a, f) => a + s[f].gz, 0);
  return { files: s, js, simdTotal: js + s["tollgate_collector_simd_bg.wasm"].gz, scalarTotal: js + s["tollgate_collector_bg.wasm"].gz };
}

const OURS = /\/dist\/tollgate|wasm:\/\//;

/** Collector self+callee time from a CDP profile (samples whose stack has one of our frames). */
function attribute(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const ours = new Map();
  const isOurs = (id) => {
    if (ours.has(id)) return ours.get(id);
    const n = byId.get(id);
    const url = n.callFrame.url || "";
    const r = OURS.test(url) || (parent.has(id) && isOurs(parent.get(id)));
    ours.set(id, r);
    return r;
  };
  let collector = 0;
  let busy = 0;
  let gc = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(samples[i]);
    const name = n.callFrame.functionName;
    if (name === "(idle)") continue;
    if (name === "(garbage collector)") gc += dt;
    if (name !== "(program)") busy += dt;
    if (isOurs(samples[i])) collector += dt;
  }
  return { collector, busy, gc };
}

/** Milestones of one load from the loader's debug timeline (ms since the loader started). */
function timeline(t, entries) {
  const t0 = t.loaderStart;
  const at = (name) => {
    const e = entries.find((x) => x[0] === name);
    return e ? e[1] - t0 : NaN;
  };
  const all = (re, end) => entries.filter((x) => re.test(x[0])).map((x) => x[1] + (end ? x[2] : 0) - t0);
  const firstIndex = Math.min(...all(/^w\d+:\d+$/));
  return {
    challengeRequest: at("challenge-request"),
    challenge: t.challengeReceived - t0,
    module: at("module"),
    pool: at("pool"),
    workerScript: Math.max(...all(/^w\d+:script$/)),
    workerReady: Math.max(...all(/^w\d+:init$/, true)),
    firstIndex,
    solved: t.solved - t0,
    solving: t.solved - t0 - firstIndex,
    probesBefore: t.tasks.filter((x) => x[0] < t.solved).reduce((a, x) => a + x[1], 0),
  };
}

async function scriptedLogin(page) {
  // ≈ 20 s: wander, go to the username field, type, go to password, type, wait, submit.
  const pause = (ms) => page.waitForTimeout(ms);
  const box = async (sel) => page.locator(sel).boundingBox();
  await page.mouse.move(600, 500);
  for (const [x, y] of [[500, 300], [200, 420], [700, 150]]) {
    await page.mouse.move(x, y, { steps: 40 });
    await pause(300);
  }
  const u = await box("#username");
  await page.mouse.move(u.x + 30, u.y + u.height / 2, { steps: 60 });
  await page.mouse.down();
  await pause(90);
  await page.mouse.up();
  await page.keyboard.type("alice.example", { delay: 140 });
  await pause(800);
  const p = await box("#password");
  await page.mouse.move(p.x + 40, p.y + p.height / 2, { steps: 50 });
  await page.mouse.down();
  await pause(80);
  await page.mouse.up();
  await page.keyboard.type("correct horse battery", { delay: 160 });
  for (let i = 0; i < 6; i++) {
    await page.mouse.move(300 + i * 40, 200 + (i % 2) * 80, { steps: 30 });
    await pause(700);
  }
  // The loader's own timing of each idle-time probe group (wall clock, [start, duration] ms).
  const tasks = await page.evaluate(() => window.tollgate.timings.tasks);
  const b = await box("#login");
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 50 });
  await pause(400);
  await page.mouse.down();
  await pause(100);
  await page.mouse.up();
  await page.waitForSelector("#done", { timeout: 20000 });
  return tasks;
}

export async function collectorBench({ loads = LOADS } = {}) {
  const s = sizes();
  const OUT = path.join(BENCH, "out");
  execFileSync(benchBin(), ["verifier-config", path.join(OUT, "verifier")]);
  const v = await startServer(verifierBin(), ["serve", "--config", path.join(OUT, "verifier/verifier.toml"), "--listen", "127.0.0.1:0"], path.join(OUT, "verifier-collector.log"));
  const { server, origin } = await startStatic(pages);
  const browser = await launch();
  const url = `${origin}/login?api=${encodeURIComponent(v.url)}&sitekey=${SITEKEY}`;
  try {
    // Time to first solved challenge, fresh context (no cache) per load, with the debug timeline.
    const loadsOut = [];
    const steps = [];
    for (let i = 0; i < loads; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${url}&tollgate-debug`);
      await page.waitForFunction(() => window.tollgate && window.tollgate.timings.solved !== null, null, { timeout: 60000 });
      const r = await page.evaluate(() => ({
        t: { ...window.tollgate.timings },
        e: performance.getEntries().filter((e) => e.name.startsWith("tollgate:")).map((e) => [e.name.slice(9), e.startTime, e.duration]),
      }));
      loadsOut.push(r.t);
      steps.push(timeline(r.t, r.e));
      await ctx.close();
    }
    // Scripted login under the profiler.
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${origin}/blank`);
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp.send("Profiler.start");
    const t0 = Date.now();
    await page.goto(url);
    const tasks = await scriptedLogin(page);
    const durs = tasks.map((x) => x[1]).sort((x, y) => x - y);
    const wall = (Date.now() - t0) / 1000;
    const { profile } = await cdp.send("Profiler.stop");
    const a = attribute(profile);
    await ctx.close();

    const f = s.files;
    console.log(`\n## Collector cost (load average ${loadavg()})`);
    const js = Object.entries(f).filter(([n]) => n.endsWith(".js")).map(([n, v]) => `${n} ${v.gz} B`).join(" + ");
    console.log(`   gzipped (gzip -9): ${js} = JS ${s.js} B; wasm simd128 ${f["tollgate_collector_simd_bg.wasm"].gz} B (raw ${f["tollgate_collector_simd_bg.wasm"].raw}) / scalar ${f["tollgate_collector_bg.wasm"].gz} B`);
    console.log(`   a page loads ${s.simdTotal} B gzipped with simd128 (${s.scalarTotal} B with the scalar build)`);
    const sinceLoader = loadsOut.map((t) => t.solved - t.loaderStart);
    const sinceNav = loadsOut.map((t) => t.solved);
    const wasm = loadsOut.map((t) => t.wasmReady - t.loaderStart);
    const solveMs = loadsOut.map((t) => t.solveMs);
    console.log(`   script load → first challenge solved (k=32 bits=15, ${loads} fresh loads, median): ${median(sinceLoader).toFixed(0)} ms (page's own wasm instance ready ${median(wasm).toFixed(0)} ms; in-page solve, challenge received → solved, ${median(solveMs).toFixed(0)} ms); since navigation start ${median(sinceNav).toFixed(0)} ms`);
    const st = (k) => median(steps.map((x) => x[k])).toFixed(0);
    console.log(`   where it went (medians, ms since the loader started): challenge request ${st("challengeRequest")} → received ${st("challenge")}; wasm compiled ${st("module")}; workers created ${st("pool")}, last worker's script running ${st("workerScript")}, last worker ready ${st("workerReady")}; first sub-puzzle started ${st("firstIndex")}, solved ${st("solved")} (sub-puzzles: first started → solved ${st("solving")} ms); probe-group main-thread time before solved ${st("probesBefore")} ms`);
    console.log(`   per load [solved, challenge received, last worker ready, first sub-puzzle started]: ${JSON.stringify(steps.map((x) => [x.solved, x.challenge, x.workerReady, x.firstIndex].map(Math.round)))}`);
    console.log(`   scripted login (${wall.toFixed(1)} s wall, page load → submit): collector main-thread CPU ${a.collector.toFixed(1)} ms (${((100 * a.collector) / (wall * 1000)).toFixed(2)} % of wall); whole main thread busy ${a.busy.toFixed(0)} ms, GC ${a.gc.toFixed(1)} ms`);
    const sum = durs.reduce((x, y) => x + y, 0);
    console.log(`   collector idle-time probe groups during that login (loader timer, wall clock, includes native work such as WebGL/canvas/ICU set-up that the JS profile above files under "(program)"): ${durs.length} groups, total ${sum.toFixed(1)} ms, median ${median(durs).toFixed(1)} ms, longest ${durs[durs.length - 1].toFixed(1)} ms (budget 50 ms; other load on the machine inflates wall time)`);
    console.log(`   groups in schedule order [start ms, duration ms]: ${JSON.stringify(tasks)}`);
    console.error(JSON.stringify({ bench: "collector", longestTaskMs: durs[durs.length - 1], probeGroupsMs: sum, sizes: s, firstSolvedSinceLoaderMs: median(sinceLoader), collectorMainThreadMs: a.collector, busyMs: a.busy, wallS: wall }));
    return { sizes: s, a, wall };
  } finally {
    await browser.close();
    server.close();
    v.child.kill("SIGTERM");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`# reproduce: node bench/collector.mjs --loads ${LOADS}`);
  await collectorBench();
}
