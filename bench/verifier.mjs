#!/usr/bin/env node
// Verifier throughput: the RELEASE verifier on loopback, driven by the Rust load generator
// (tollgate-bench load: hyper/tokio, keep-alive, closed-loop sweep then a fixed-rate run at half
// the best rate), /v1/challenge and /v1/siteverify with distinct valid tokens; then the same load
// generator against a peer verifier (ALTCHA's altcha-lib in Node, bench/peer-verifier.mjs).
//
//   node bench/verifier.mjs [--secs 3] [--conc 1,8,32,128] [--tokens 300000]
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { BENCH } from "./lib/static.mjs";
import { benchBin, verifierBin, loadavg, opt } from "./lib/common.mjs";

const SECS = opt("--secs", "3");
const CONC = opt("--conc", "1,8,32,128");
const TOKENS = opt("--tokens", "300000");
const OUT = path.join(BENCH, "out");

/** Start `cmd args`, resolve with {child, url} on its `listening on URL` line. */
export function startServer(cmd, args, logFile, env = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    const log = fs.createWriteStream(logFile);
    child.stderr.pipe(log);
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error(`${cmd}: no listening line`)), 600000);
    rl.on("line", (l) => {
      const m = l.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1] });
      }
    });
    child.on("exit", (code) => fail(new Error(`${cmd} exited ${code} (log: ${logFile})`)));
  });
}

/** Run `cmd args`; `onErrLine(line, pid)` sees each stderr line as it arrives (the load
 *  generator prints one JSON line per step, right after the step). */
function spawnCapture(cmd, args, onErrLine = () => {}) {
  return new Promise((ok) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let partial = "";
    c.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    c.stderr.on("data", (d) => {
      err += d;
      const lines = (partial + d).split("\n");
      partial = lines.pop();
      for (const l of lines) onErrLine(l, c.pid);
    });
    c.on("exit", () => ok({ out, err }));
  });
}

/** Run the load generator. Besides its rows, returns its own CPU time over the timed steps:
 *  sampled when the warm-up row arrives (token generation is over) and when the last row arrives
 *  (the process then only exits), so `loadgen_us_per_req` is what driving one request cost. */
async function loadAsync(url, endpoint, extra) {
  let cpuWarm = NaN;
  let cpuLast = NaN;
  const r = await spawnCapture(benchBin(), ["load", "--url", url, "--endpoint", endpoint, "--secs", SECS, "--conc", CONC, ...extra], (l, pid) => {
    if (!l.startsWith("{")) return;
    const c = cpuSecs(pid);
    if (l.includes('"mode":"warm-up"')) cpuWarm = c;
    else cpuLast = c;
  });
  const rows = r.err
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const timed = rows.filter((x) => x.mode !== "warm-up").reduce((a, x) => a + x.ok + x.failed, 0);
  rows.loadgen_us_per_req = timed ? ((cpuLast - cpuWarm) / timed) * 1e6 : NaN;
  return rows;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSecs(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {}

/** Run the load generator and measure the server's CPU time per answered request (warm-up
 *  included on both sides): a figure other processes on the machine skew far less than req/s. */
async function loadWithCpu(pid, url, endpoint, extra) {
  const c0 = cpuSecs(pid);
  const rows = await loadAsync(url, endpoint, extra);
  const cpu = cpuSecs(pid) - c0;
  const n = rows.reduce((a, r) => a + r.ok + r.failed, 0);
  rows.cpu_us_per_req = n ? (cpu / n) * 1e6 : NaN;
  rows.cpu_secs = cpu;
  return rows;
}

const best = (rows) => rows.filter((r) => r.mode === "closed-loop").reduce((a, b) => (b.rps > a.rps ? b : a), { rps: 0 });
const fixed = (rows) => rows.find((r) => r.mode === "fixed-rate");

export async function verifierBench() {
  fs.mkdirSync(OUT, { recursive: true });
  execFileSync(benchBin(), ["verifier-config", path.join(OUT, "verifier")]);
  console.log(`\n## Verifier throughput (release build, loopback; load generator shares the 2 cores; load average ${loadavg()})`);
  const v = await startServer(verifierBin(), ["serve", "--config", path.join(OUT, "verifier/verifier.toml"), "--listen", "127.0.0.1:0"], path.join(OUT, "verifier.log"));
  let ch, sv;
  try {
    console.log(`  verifier ${v.url} (log: bench/out/verifier.log)`);
    ch = await loadWithCpu(v.child.pid, v.url, "challenge", ["--label", "challenge"]);
    sv = await loadWithCpu(v.child.pid, v.url, "siteverify", ["--label", "siteverify", "--tokens", TOKENS]);
  } finally {
    v.child.kill("SIGTERM");
  }
  console.log(`\n  peer: ALTCHA (altcha-lib verifySolution + used-nonce map, node:http, one event loop)`);
  const bodies = path.join(OUT, "altcha-bodies.txt");
  const peerN = Math.min(Number(TOKENS), 200000);
  const p = await startServer(process.execPath, [path.join(BENCH, "peer-verifier.mjs"), "--payloads", String(peerN), "--out", bodies, "--max-secs", "600"], path.join(OUT, "peer.log"));
  let pr;
  try {
    pr = await loadWithCpu(p.child.pid, p.url, "bodies", ["--label", "altcha-lib (node)", "--bodies", bodies, "--path", "/", "--expect", '"success":true']);
  } finally {
    p.child.kill("SIGTERM");
  }
  const b = { challenge: best(ch), siteverify: best(sv), peer: best(pr) };
  console.log(`\n  best closed-loop: challenge ${b.challenge.rps.toFixed(0)} req/s (target ≥ 20 000), siteverify ${b.siteverify.rps.toFixed(0)} req/s (target ≥ 10 000)`);
  const f = fixed(sv);
  if (f) console.log(`  siteverify at ${f.target_rps} req/s fixed rate (half the best): p50 ${f.p50_ms.toFixed(3)} ms, p99 ${f.p99_ms.toFixed(3)} ms (target p99 < 5 ms at 5 000 req/s)`);
  console.log(`  siteverify / ALTCHA verify (best closed-loop req/s): ${(b.siteverify.rps / b.peer.rps).toFixed(2)}× (${b.siteverify.rps.toFixed(0)} vs ${b.peer.rps.toFixed(0)})`);
  const us = (r) => r.cpu_us_per_req.toFixed(0);
  console.log(`  server CPU per answered request (user+sys, /proc): challenge ${us(ch)} µs, siteverify ${us(sv)} µs, ALTCHA peer ${us(pr)} µs → siteverify CPU efficiency vs ALTCHA ${(pr.cpu_us_per_req / sv.cpu_us_per_req).toFixed(2)}×`);
  console.log(`  (at that CPU cost one dedicated core would answer ≈ ${(1e6 / sv.cpu_us_per_req).toFixed(0)} siteverify/s, ≈ ${(1e6 / ch.cpu_us_per_req).toFixed(0)} challenge/s; load average ${loadavg()})`);
  const lg = (r) => r.loadgen_us_per_req.toFixed(0);
  // Server + generator CPU per request bounds what the 2 shared cores can drive at all.
  const cores = os.availableParallelism();
  const cap = (r) => ((cores * 1e6) / (r.cpu_us_per_req + r.loadgen_us_per_req)).toFixed(0);
  console.log(`  load generator CPU per request (timed steps): challenge ${lg(ch)} µs, siteverify ${lg(sv)} µs, ALTCHA ${lg(pr)} µs → server + generator on ${cores} cores cap ≈ ${cap(ch)} challenge/s, ≈ ${cap(sv)} siteverify/s`);
  console.error(JSON.stringify({ bench: "verifier-cpu", challenge_us: ch.cpu_us_per_req, siteverify_us: sv.cpu_us_per_req, peer_us: pr.cpu_us_per_req, loadgen_challenge_us: ch.loadgen_us_per_req, loadgen_siteverify_us: sv.loadgen_us_per_req, loadgen_peer_us: pr.loadgen_us_per_req, loadavg: loadavg() }));
  return { challenge: ch, siteverify: sv, peer: pr };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`# reproduce: node bench/verifier.mjs --secs ${SECS} --conc ${CONC} --tokens ${TOKENS}`);
  await verifierBench();
}
