#!/usr/bin/env node
// Browser proof-of-work hash rates, ours vs peers, in one headless Chromium run, plus native sha2 on
// one core measured in the same run. A benchmark, not a test: prints medians and ratios, never fails
// on a number.
//
//   node bench/hashrate.mjs [--rounds 3] [--secs 1.5]
//
// Needs js/dist (scripts/build-assets.sh), the bench tool (cd bench && cargo build --release) and
// bench/node_modules (cd bench && npm ci).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createChallenge } from "altcha-lib";
import { deriveKey as pbkdf2Key } from "altcha-lib/algorithms/pbkdf2";
import { deriveKey as shaKey } from "altcha-lib/algorithms/sha";
import { startStatic, ROOT } from "./lib/static.mjs";
import { launch, loadavg, benchBin, median, opt } from "./lib/common.mjs";

const ROUNDS = Number(opt("--rounds", 3));
const SECS = Number(opt("--secs", 1.5));
// Extra builds of our solver to A/B (bench/out/variants/NAME.wasm, same glue as js/dist).
const VARIANTS = String(opt("--variants", "")).split(",").filter(Boolean);

const M = (x) => (x / 1e6).toFixed(2);

async function altchaChallenges() {
  const mk = async (algorithm, cost, counter, warm) => ({
    counter,
    warm,
    challenge: await createChallenge({ algorithm, cost, counter, deriveKey: algorithm.startsWith("PBKDF2") ? pbkdf2Key : shaKey }),
  });
  // PBKDF2 cost 5 000 (altcha-lib's documented example); counter N ⇒ N+1 derivations.
  const pbkdf2 = [await mk("PBKDF2/SHA-256", 5000, 40, true)];
  for (let i = 0; i < 2; i++) pbkdf2.push(await mk("PBKDF2/SHA-256", 5000, 250, false));
  const sha = [await mk("SHA-256", 1, 2000, true)];
  for (let i = 0; i < 2; i++) sha.push(await mk("SHA-256", 1, 15000, false));
  return { pbkdf2, sha };
}

export async function hashrate() {
  if (!fs.existsSync(`${ROOT}/js/dist/tollgate_collector_simd_bg.wasm`)) throw new Error("js/dist missing: run scripts/build-assets.sh");
  const fixture = execFileSync(benchBin(), ["fixture"]).toString().trim();
  const cfg = { fixture, secs: SECS, warmMs: 400, capWork: 2_000_000, altcha: await altchaChallenges() };
  const { server, origin } = await startStatic();
  const browser = await launch();
  const consoleErrors = [];
  const results = {};
  const native = [];
  const load = [loadavg()];
  try {
    const page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") consoleErrors.push(m.text());
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.benchReady === true);
    const ua = await page.evaluate(() => navigator.userAgent);
    const solvers = [
      ["ours-simd128", "ours", "simd"],
      ["ours-scalar", "ours", "scalar"],
      ...VARIANTS.map((v) => [`ours-variant-${v}`, "ours", v]),
      ["cap", "cap"],
      ["altcha-pbkdf2", "altcha"],
      ["altcha-sha256", "altchaSha"],
      ["friendly", "friendly"],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      native.push(JSON.parse(execFileSync(benchBin(), ["native", "--secs", "1"]).toString()));
      for (const [label, name, variant] of solvers) {
        const r = await page.evaluate(([n, c, v]) => window.runSolver(n, c, v), [name, cfg, variant]);
        if (!r.ok) {
          console.log(`  ${label}: FAILED ${r.error}`);
          continue;
        }
        (results[label] ||= []).push(r);
      }
      load.push(loadavg());
    }
    const nat = median(native.map((n) => n.sha2_compress_hps));
    const natBlake = median(native.map((n) => n.blake2b256_128B_hps));
    const med = (label, key = "hps") => (results[label] ? median(results[label].map((r) => r[key])) : NaN);
    const ours = med("ours-simd128");
    const scalar = med("ours-scalar");
    console.log(`\n## PoW hash rate per worker (${ROUNDS} rounds × ${SECS}s, medians; ${ua.match(/Chrom\S+/)?.[0]})`);
    console.log(`   load average during the run: ${load.join(" → ")}`);
    console.log(`   native sha2 (target-cpu=native, SHA-NI=${native[0].sha_ni}) one core: ${M(nat)} MH/s   native BLAKE2b-256/128B: ${M(natBlake)} MH/s`);
    console.log(`   native our kernel (portable lanes, x86): 1 lane ${M(median(native.map((n) => n.kernel_1lane_hps)))} MH/s, 4-lane array ${M(median(native.map((n) => n.kernel_4lane_array_hps)))} MH/s`);
    console.log(`   ${"solver".padEnd(16)} ${"unit/s".padStart(12)} ${"SHA-256 compr/s".padStart(16)}  ours-simd ÷ it   it ÷ native   detail`);
    const rows = [];
    for (const [label] of solvers) {
      if (!results[label]) continue;
      const r0 = results[label][0];
      const ups = med(label, "unitsPerSec");
      let hps = med(label, "hps");
      let note = r0.detail || "";
      let nativeRatio;
      if (label === "friendly") {
        // Different hash: map to SHA-256 compressions by the native cost ratio on this CPU.
        hps = ups * (nat / natBlake);
        note = `${r0.unit}; SHA-256-equivalent = BLAKE2b/s × native(sha2/blake2b)=${(nat / natBlake).toFixed(2)}; ${note}`;
        nativeRatio = ups / natBlake;
      } else {
        nativeRatio = hps / nat;
      }
      rows.push({ label, ups, hps, ratio: ours / hps, nativeRatio });
      console.log(
        `   ${label.padEnd(16)} ${M(ups).padStart(9)} M ${M(hps).padStart(13)} M  ${(ours / hps).toFixed(2).padStart(12)}×  ${(100 * nativeRatio).toFixed(1).padStart(9)} %   ${note}`,
      );
      console.error(JSON.stringify({ bench: "hashrate", label, unitsPerSec: ups, sha256CompressionsPerSec: hps, oursOverIt: ours / hps, ofNative: nativeRatio, samples: results[label].map((r) => r.unitsPerSec) }));
    }
    const peers = rows.filter((r) => !r.label.startsWith("ours"));
    const fastest = peers.reduce((a, b) => (b.hps > a.hps ? b : a), peers[0]);
    console.log(`   ours simd128 / scalar: ${(ours / scalar).toFixed(2)}×;  ours / native sha2: ${(100 * ours / nat).toFixed(1)} % (target ≥ 25 %)`);
    if (fastest) console.log(`   ours / fastest peer (${fastest.label}): ${(ours / fastest.hps).toFixed(2)}× (target ≥ 1.5×)`);
    if (consoleErrors.length) console.log(`   browser console warnings/errors: ${[...new Set(consoleErrors)].slice(0, 5).join(" | ")}`);
    return { ours, scalar, native: nat, rows };
  } finally {
    await browser.close();
    server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`# reproduce: node bench/hashrate.mjs --rounds ${ROUNDS} --secs ${SECS}`);
  await hashrate();
}
