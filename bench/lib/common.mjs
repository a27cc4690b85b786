// Shared helpers of the node benchmark drivers.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "./static.mjs";

export function opt(name, def) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.round((s.length - 1) * q)))];
}

export function loadavg() {
  try {
    return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/** The bench tool binary (bench/ is its own cargo workspace; target dir target/bench). */
export function benchBin() {
  const p = process.env.TOLLGATE_BENCH_BIN || path.join(ROOT, "target/bench/release/tollgate-bench");
  if (!fs.existsSync(p)) throw new Error(`${p} missing: run (cd bench && cargo build --release)`);
  return p;
}

export function verifierBin() {
  const p = process.env.TOLLGATE_VERIFIER_BIN || path.join(ROOT, "target/release/verifier");
  if (!fs.existsSync(p)) throw new Error(`${p} missing: run cargo build --release -p verifier`);
  return p;
}

/** Headless Chromium (Debian's /usr/bin/chromium); nothing is downloaded. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
