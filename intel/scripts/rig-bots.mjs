#!/usr/bin/env node
// Offline estimate of the OS-level rig's bot figures (tests/e2e/oslevel.test.mjs, issue 14).
//
// The rig plays 10 bot logins per family through Xvfb, XTEST and a real Chromium: too few to tell
// a 10 % allow rate from a 30 % one. This script builds many more sessions with the rig's own
// generators (tests/e2e/osbots.mjs: same code, same seeds scheme, the rig page's layout), writes
// them as trace records and scores them with `tollgate-intel eval` (the compiled-in model, or
// --model FILE), then prints bots allowed per family and per sampling rate.
//
// What it does not reproduce: delivery through the X server and Chromium (timer jitter, coalesced
// samples, 4 ms thinning). The rig's faithfulness check bounds that difference for recorded
// humans; bots are scored on the rows as generated. Compare it with the rig's own counts.
//
// Offline it also scores `ghost-eased` (ghost-cursor's curves re-timed to ease in and out, the
// adversary of the start and arrival rules), which the rig does not play.
//
//   node intel/scripts/rig-bots.mjs                  # 300 sessions per family, compiled-in model
//   node intel/scripts/rig-bots.mjs --n 600 --model model/models/behaviour-v3.json
//
// Needs `cargo build --release -p tollgate-intel` (or TOLLGATE_INTEL_BIN) and `npm ci`.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { RATES, RIG_BOTS, attemptSeed, botSession } from '../../tests/e2e/osbots.mjs';
import { centreOf, mulberry32 } from '../../tests/e2e/xtest.mjs';
import { requireBin, scoreRecords } from './eval-records.mjs';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    model: { type: 'string' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'string' },
    rig: { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
requireBin();

// tests/e2e/pages/oslevel.html: a 360 px form at (420, 180), 40 px fields 24 px apart, a 160 px button.
const LAYOUT = {
  boxes: {
    username: { x: 420, y: 180, w: 360, h: 40 },
    password: { x: 420, y: 244, w: 360, h: 40 },
    login: { x: 420, y: 308, w: 160, h: 40 },
  },
  inner: [1280, 800],
};
// The rig's six families, and offline only `ghost-eased` (ghost-cursor's curve re-timed to ease in
// and out: the adversary of the start and arrival rules, osbots.mjs). `sleep-loop` (one point per
// 0.1 s) is judged by the sparse-moves rule here as in the rig (traces too, since session 12);
// `teleport` (the pointer warped onto each target) is not: the teleport-clicks rule judges only
// tokens, so its figure here is the model's alone (the rig's is with the rule). `pyautogui` (50–62.5 ms
// steps) is judged here with 50 ms as a cadence (a throttled trace recorder's), in the rig without (a
// capture of device samples, `MoveClock::device_clock`).
const RIG_FAMILIES = RIG_BOTS.map((b) => b.family);
const FAMILIES = args.rig ? RIG_FAMILIES : [...RIG_FAMILIES, 'ghost-eased'];

const dir = args.keep ? (mkdirSync(args.keep, { recursive: true }), args.keep) : mkdtempSync(join(tmpdir(), 'rig-bots-'));
// --rig: exactly the rig's bot attempts (its plan order and per-attempt seeds; 10 humans come first,
// so the first bot starts near the button where the last person's login ended).
const plan = args.rig
  ? RIG_BOTS.flatMap(({ family, attempts }) => Array.from({ length: attempts }, (_, i) => ({ family, i }))).map((a, k) => ({ ...a, seed: attemptSeed(10 + k) }))
  : FAMILIES.flatMap((family) => Array.from({ length: N }, (_, i) => ({ family, i, seed: (Number(args.seed) * 0x9e3779b1 + i * 7919 + family.length * 104729) >>> 0 })));
const lines = [];
let last = { x: LAYOUT.boxes.login.x + LAYOUT.boxes.login.w / 2, y: LAYOUT.boxes.login.y + LAYOUT.boxes.login.h / 2 };
for (const { family, i, seed } of plan) {
  const rng = mulberry32(seed);
  // The rig's cursor starts where the previous login ended (the button) or at its calibration point.
  const start = args.rig ? last : i % 5 === 0 ? { x: 640, y: 700 } : centreOf(LAYOUT.boxes.login, rng);
  const s = botSession(family, start, LAYOUT, rng);
  const end = s.pointer[s.pointer.length - 1];
  last = { x: end[2], y: end[3] };
  lines.push(
    JSON.stringify({
      id: `rig-bots/${family}/${s.hz}/${i}`,
      source: 'rig-bots',
      subject: `${family}-${i}`,
      label: 'bot',
      generator: `rig-${family}`,
      device: 'mouse',
      screen: null,
      pointer: s.pointer.map(([t, kind, x, y, b]) => [t, kind, x, y, b]),
      keys: s.keys.map(([d, u, c]) => [d, u, c]),
    }),
  );
}
const rows = scoreRecords(lines, dir, args.model);
const pct = (k, n) => `${((100 * k) / Math.max(n, 1)).toFixed(1)} %`;
if (args.rig) {
  console.log(`rig-bots --rig: the rig's own bot attempts, ${args.model ?? 'compiled-in model'}`);
  for (const r of rows) console.log(`${r.id.split('/')[1]}#${r.id.split('/')[3]}@${r.id.split('/')[2]}Hz ${r.decision} ${r.score}`);
  process.exit(0);
}
console.log(`rig-bots: ${N} logins per family, ${args.model ?? 'compiled-in model'}; allowed / challenged / blocked`);
for (const family of FAMILIES) {
  const fam = rows.filter((r) => r.id.split('/')[1] === family);
  const count = (rs, d) => rs.filter((r) => r.decision === d).length;
  console.log(`${family.padEnd(13)} all     n=${String(fam.length).padStart(4)}  ${pct(count(fam, 'allow'), fam.length).padStart(7)} ${pct(count(fam, 'challenge'), fam.length).padStart(7)} ${pct(count(fam, 'block'), fam.length).padStart(7)}`);
  for (const hz of family === 'sleep-loop' ? [10] : RATES) {
    const rs = fam.filter((r) => Number(r.id.split('/')[2]) === hz);
    console.log(`${''.padEnd(13)} ${String(hz).padStart(3)} Hz  n=${String(rs.length).padStart(4)}  ${pct(count(rs, 'allow'), rs.length).padStart(7)} ${pct(count(rs, 'challenge'), rs.length).padStart(7)} ${pct(count(rs, 'block'), rs.length).padStart(7)}`);
  }
}
if (!args.keep) rmSync(dir, { recursive: true, force: true });
