#!/usr/bin/env node
// Blind-spot probes (issue 14): what does the model do with input no training source contains?
//
// Each family is a way real automation drives a login form, built from a measurement or a tool's
// documented defaults rather than from the training generators, written as trace records and scored
// by `tollgate-intel eval` (the compiled-in model, or --model FILE). None of them is trained on: this
// is an out-of-distribution check, read next to the leave-one-family-out CV. Half of each pointer
// family's logins also type into the two fields (W3C key actions: holds 50–150 ms, gaps 50–250 ms).
//
// - selenium-default   `ActionChains.move_by_offset` along a cubic Bézier (20–50 integer points per
//                      reach) at Selenium's default 250 ms action duration, one perform(): ChromeDriver
//                      156 dispatches one `pointermove` per action, 252.4–253.3 ms apart (measured).
// - selenium-perstep   the same, one perform() per point: 259–265 ms apart (measured).
// - selenium-pause     default duration plus `.pause(10–60 ms)` per point.
// - selenium-zero      `ActionChains(driver, duration=0)`: frame-locked, 15.3–17.8 ms (measured).
// - selenium-sleep     duration 0, one perform() per point with `time.sleep(0.01–0.05)` between: the
//                      sleep plus 2–6 ms of round trip; a step shorter than a frame waits for the next
//                      one (measured in session 14: moves slower than a frame are dispatched as they
//                      come; session 12's version put every step on the 16.7 ms grid).
// - pyautogui-tween    `pyautogui.moveTo(x, y, duration=0.1–0.4)`: duration / 0.05 s steps (at least 2),
//                      linear or ease-out, each 50 ms plus 0.3–3 ms of call overhead.
// - warp               the pointer warped onto each target (`element.click()`, xdotool), a humanised
//                      press 50–200 ms later.
// - selenium-click     `ActionChains.move_to_element(field).click()` (or `element.click()`): the pointer
//                      appears at the target, presses 0.5–2 ms later and releases 1–3 ms after that
//                      (measured with ChromeDriver 156: 1 ms, then a 2 ms dwell).
// - keys-iid           keyboard only (Tab and a 0.4–1.5 s pause between the fields, Enter to submit),
//                      holds and gaps drawn independently per key from one of five distributions
//                      (uniform, Gaussian, exponential gaps, log-normal). Since session 13 the
//                      training family `type-skewed` draws exponential and log-normal shapes too.
// - keys-iid-ood       the same login, right-skewed shapes no training family draws: Weibull (k 1.6)
//                      or Pareto (α 2.5) gaps, a burst mixture (80 % fast, 20 % 250–700 ms), gamma holds.
// - selenium-duration  a humanlike reach (curved path, minimum-jerk time course, 2–8 % overshoot and
//                      a correction, 0.5 px noise) executed with `ActionChains(driver, duration=d)`,
//                      d 16–100 ms: ChromeDriver 156 dispatches a move every d + 1.3–2.5 ms once d
//                      is longer than a frame (`webdriver-timing.mjs`, headless and headful; 20 and
//                      25 ms fall back onto a longer step part of the time, 33 and 40 ms land on
//                      50.0 ms).
// - keys-click         a `keys-iid` login submitted with `element.click()` on the button (one warped
//                      press, released 1–3 ms later) instead of Enter.
// - selenium-replay    pointer only: a recorded SapiMouse window (a person's path and clicks, read from
//                      ../shared/data/traces) replayed on one of those measured clocks, or on random
//                      `.pause(5–30 ms)` steps (+ 2–6 ms), or on a free-running jittered loop
//                      (`jitter-loop`, session 15: a fixed 10–40 ms sleep per session plus 2 ms and an
//                      exponential 6 ms per step; an assumed shape, not a measurement: what an OS-level
//                      injector's loop on a busy machine gives, whose events the page sees at the
//                      script's time; ChromeDriver couples such loops to frames, see
//                      webdriver-timing.mjs: `perform-sleep20` is that measured pattern); variant
//                      `frame` is the control, the same
//                      replay on a 60 Hz frame clock. The windows are training people's, so the model
//                      has seen the paths (and the replay hashes may know them): this measures what
//                      the clock alone gives away.
//
//   node intel/scripts/probes.mjs                 # 200 logins per family, compiled-in model
//   node intel/scripts/probes.mjs --n 500 --model model/models/behaviour-v3.json
//   node intel/scripts/probes.mjs --keep /tmp/probes   # keep records.jsonl and scored.jsonl
//
// Needs `cargo build --release -p tollgate-intel` (or TOLLGATE_INTEL_BIN).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { mulberry32, readTraces, SAPI } from '../../tests/e2e/xtest.mjs';
import { requireBin, scoreRecords } from './eval-records.mjs';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '200' }, model: { type: 'string' }, seed: { type: 'string', default: '1' }, keep: { type: 'string' } },
});
const N = Number(args.n);
requireBin();

const r1 = (v) => Math.round(v * 10) / 10;
/** Move spacing (ms) per pointer family; `null`: the family has its own path. */
const SPACING = {
  'selenium-default': (u) => u(252.4, 253.3),
  'selenium-perstep': (u) => u(259, 265),
  'selenium-pause': (u) => u(252.4, 253.3) + u(10, 60),
  'selenium-zero': (u) => u(15.3, 17.8),
  'pyautogui-tween': (u) => 50 + u(0.3, 3),
  warp: null,
  'selenium-click': null,
  // A step slower than a frame reaches the page when it is sent, a faster one on the next frame
  // (session 14's measurement; session 12 had put every step on the frame grid).
  'selenium-sleep': (u) => {
    const s = u(10, 50) + u(2, 6);
    return s < 16.67 ? 16.67 + u(-0.8, 0.8) : s;
  },
  'selenium-duration': null,
};
/** `selenium-duration`: the pointer-move durations a script may pass (`ActionChains(driver,
 * duration=d)`) and the spacing ChromeDriver 156 gave each, measured by webdriver-timing.mjs (40
 * moves per perform, two runs): d + 1.3–2.2 ms, except 20 and 25 ms, which fall back onto a 3-frame
 * clock a share of the time, and 33 and 40 ms, which land on it (50.0 ms). */
const DURATION_SPACING = {
  16: (u) => u(17.1, 18.1),
  20: (u, rng) => (rng() < 0.8 ? u(21.2, 22.0) : u(35.0, 38.8)),
  25: (u, rng) => (rng() < 0.35 ? u(26.3, 26.8) : u(38.5, 40.8)),
  33: (u) => u(49.6, 50.4),
  40: (u) => u(49.7, 50.4),
  50: (u) => u(51.6, 52.2),
  100: (u) => u(101.6, 102.7),
};
/** `selenium-replay` clocks, each made per session (`(u) => (u, rng) => step ms`): the measured
 * durations above, random pauses, a free-running jittered loop (assumed), ChromeDriver's measured
 * one-perform-per-step loop, and the 60 Hz control. */
const REPLAY_CLOCKS = {
  d16: () => DURATION_SPACING[16],
  d20: () => DURATION_SPACING[20],
  d25: () => DURATION_SPACING[25],
  d33: () => DURATION_SPACING[33],
  d50: () => DURATION_SPACING[50],
  'pause-random': () => (u) => u(5, 30) + u(2, 6),
  // A free-running loop: a fixed sleep s (10–40 ms per session) plus 2 ms and an exponential
  // 6 ms of per-step overhead (assumed). An OS-level injector's events reach the page at the
  // script's time (the OS-level rig's faithfulness check); ChromeDriver instead couples one
  // perform() per step to frames (webdriver-timing.mjs, session 15: a 20 ms sleep gives pairs of
  // ~26 and ~40 ms that sum to four 60 Hz frames). A step shorter than a frame waits for the next.
  'jitter-loop': (u) => {
    const s = u(10, 40);
    return (u2, rng) => {
      const step = s + 2 + 6 * -Math.log(1 - rng());
      return step < 16.67 ? 16.67 + u2(-0.8, 0.8) : step;
    };
  },
  // One perform() per step and a 20 ms sleep through ChromeDriver 156, as measured: ~26 and ~40 ms
  // in turn (24.4–27.9 and 35.5–44.2 ms, headless; their pairs sum to four 60 Hz frames).
  'perform-sleep20': () => {
    let k = 0;
    return (u) => (k++ % 2 ? u(35.5, 44.2) : u(24.4, 27.9));
  },
  frame: () => (u) => 16.67 + u(-0.4, 0.4),
};
let sapi = null;

/** A recorded window's pointer rows replayed on `clock`: the position the person's path had at
 * each tick (linear between samples under 100 ms apart, else where it rested), a move whenever
 * the rounded position changed; presses and releases at their recorded times and the pointer's
 * position then. */
function replayOn(rec, clock, u, rng) {
  const P = rec.pointer;
  const moves = P.filter((e) => e[1] === 'move');
  const buttons = P.filter((e) => e[1] !== 'move');
  const out = [];
  const end = P[P.length - 1][0];
  let last = null;
  let j = 0;
  let bi = 0;
  for (let t = moves[0][0]; t <= end; t += clock(u, rng)) {
    while (bi < buttons.length && buttons[bi][0] <= t) {
      const b = buttons[bi++];
      out.push([b[0], b[1], last ? last[0] : b[2], last ? last[1] : b[3], b[4]]);
    }
    while (j + 1 < moves.length && moves[j + 1][0] <= t) j++;
    const [a, b] = [moves[j], moves[j + 1]];
    let [x, y] = [a[2], a[3]];
    if (b && b[0] > a[0] && b[0] - a[0] <= 100) {
      const s = (t - a[0]) / (b[0] - a[0]);
      [x, y] = [a[2] + (b[2] - a[2]) * s, a[3] + (b[3] - a[3]) * s];
    }
    const p = [Math.round(x), Math.round(y)];
    if (!last || p[0] !== last[0] || p[1] !== last[1]) {
      out.push([r1(t), 'move', p[0], p[1], bi > 0 ? buttons[bi - 1][4] : 0]);
      last = p;
    }
  }
  for (const b of buttons.slice(bi)) out.push([b[0], b[1], last ? last[0] : b[2], last ? last[1] : b[3], b[4]]);
  return out.sort((a, b) => a[0] - b[0]);
}
/** Key timing of `keys-iid` (and of the pointer families' typing: `uniform`): [hold, gap] per key. */
const KEY_DISTS = {
  uniform: (u) => [u(50, 150), u(50, 250)],
  'gauss-hold': (u, g) => [Math.max(20, g(90, 15)), u(100, 300)],
  gauss: (u, g) => [Math.max(20, g(100, 30)), Math.max(10, g(150, 50))],
  'exp-gap': (u, g, rng) => [u(80, 120), 30 - 150 * Math.log(1 - rng())],
  lognormal: (u, g) => [Math.exp(g(4.5, 0.25)), Math.exp(g(4.8, 0.5))],
};
/** `keys-iid-ood`: right-skewed shapes that `type-skewed` (session 13's training family: shifted
 * exponential, log-normal, Erlang gaps; log-normal holds) does not draw from. */
const KEY_DISTS_OOD = {
  weibull: (u, g, rng) => [u(70, 130), 40 + 160 * (-Math.log(1 - rng())) ** (1 / 1.6)],
  pareto: (u, g, rng) => [Math.max(20, g(95, 20)), 60 * (1 - rng()) ** (-1 / 2.5)],
  'burst-mix': (u, g, rng) => [u(60, 120), rng() < 0.8 ? Math.max(15, g(90, 25)) : u(250, 700)],
  'gamma-hold': (u, g, rng) => [20 + 20 * -Math.log((1 - rng()) * (1 - rng()) * (1 - rng())), Math.exp(g(4.9, 0.35))],
};
/** The keyboard-only families and their timing tables (`keys-click`: `keys-iid` logins submitted
 * with Selenium's `element.click()` on the button instead of Enter). */
const KEY_FAMILIES = { 'keys-iid': KEY_DISTS, 'keys-iid-ood': KEY_DISTS_OOD, 'keys-click': KEY_DISTS };

function session(family, rng) {
  const u = (a, b) => a + (b - a) * rng();
  const g = (m, sd) => m + sd * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const P = [];
  const K = [];
  let t = 0;
  const typeField = (dist, n) => {
    for (let c = 0; c < n; c++) {
      const [h, gap] = dist(u, g, rng);
      K.push([r1(t), r1(t + h), 'char']);
      t += h + gap;
    }
  };
  if (family === 'selenium-replay') {
    sapi ??= readTraces(SAPI);
    const names = Object.keys(REPLAY_CLOCKS);
    const name = names[Math.floor(rng() * names.length)];
    const rec = sapi[Math.floor(rng() * sapi.length)];
    return { pointer: replayOn(rec, REPLAY_CLOCKS[name](u), u, rng), keys: [], variant: name };
  }
  if (KEY_FAMILIES[family]) {
    const names = Object.keys(KEY_FAMILIES[family]);
    const name = names[Math.floor(rng() * names.length)];
    const dist = KEY_FAMILIES[family][name];
    typeField(dist, 8 + Math.floor(rng() * 7));
    const [h, gap] = dist(u, g, rng);
    K.push([r1(t), r1(t + h), 'tab']);
    t += h + gap + u(400, 1500);
    typeField(dist, 8 + Math.floor(rng() * 7));
    const [h2] = dist(u, g, rng);
    if (family === 'keys-click') {
      // The pointer appears on the button, pressed 0.5-2 ms later, released 1-3 ms after that.
      t += u(300, 900);
      const [x, y] = [Math.round(640 + u(-60, 60)), Math.round(450 + u(-10, 10))];
      P.push([r1(t), 'move', x, y, 0]);
      t += u(0.5, 2);
      P.push([r1(t), 'down', x, y, 1]);
      P.push([r1(t + u(1, 3)), 'up', x, y, 0]);
    } else {
      K.push([r1(t), r1(t + h2), 'enter']);
    }
    return { pointer: P, keys: K, variant: name };
  }
  const typing = rng() < 0.5;
  // Drawn only for its own family, so the other families' streams stay as they were.
  const durations = Object.keys(DURATION_SPACING);
  const duration = family === 'selenium-duration' ? durations[Math.floor(rng() * durations.length)] : null;
  let pos = [Math.round(u(100, 1200)), Math.round(u(100, 700))];
  P.push([0, 'move', pos[0], pos[1], 0]);
  const targets = [
    [640 + u(-100, 100), 300 + u(-8, 8)],
    [640 + u(-100, 100), 370 + u(-8, 8)],
    [640 + u(-60, 60), 450 + u(-10, 10)],
  ];
  targets.forEach((tg, j) => {
    t += u(300, 1200);
    let pts;
    let times = null;
    if (family === 'warp' || family === 'selenium-click') {
      pts = [tg];
    } else if (family === 'selenium-duration') {
      // A humanlike reach: a curved path under a minimum-jerk time course, overshooting the
      // target by 2-8 % and correcting back, with 0.5 px of hand noise, at a constant action
      // duration through ChromeDriver.
      const step = DURATION_SPACING[duration];
      const T = u(450, 1100);
      const over = 1 + u(0.02, 0.08);
      const [dx, dy] = [tg[0] - pos[0], tg[1] - pos[1]];
      const bend = u(-0.25, 0.25);
      const at = (s) => [pos[0] + dx * s - dy * bend * Math.sin(Math.PI * Math.min(s, 1)), pos[1] + dy * s + dx * bend * Math.sin(Math.PI * Math.min(s, 1))];
      pts = [];
      times = [];
      // From path parameter s0 to s1 in `dur` ms under a minimum-jerk time course, from t0 on.
      const sweep = (s0, s1, dur, t0) => {
        for (let tt = 0; tt < dur; ) {
          tt += step(u, rng);
          const x = Math.min(tt / dur, 1);
          pts.push(at(s0 + (s1 - s0) * (10 * x ** 3 - 15 * x ** 4 + 6 * x ** 5)).map((v) => v + g(0, 0.5)));
          times.push(t0 + tt);
        }
      };
      sweep(0, over, T, 0);
      sweep(over, 1, u(150, 300), T);
    } else if (family === 'pyautogui-tween') {
      const n = Math.max(2, Math.floor(u(0.1, 0.4) / 0.05));
      const easeOut = rng() < 0.5;
      pts = Array.from({ length: n }, (_, i) => {
        const s = easeOut ? 1 - (1 - (i + 1) / n) ** 2 : (i + 1) / n;
        return [pos[0] + (tg[0] - pos[0]) * s, pos[1] + (tg[1] - pos[1]) * s];
      });
    } else {
      const [dx, dy] = [tg[0] - pos[0], tg[1] - pos[1]];
      const c1 = [pos[0] + dx * u(0.2, 0.5) + u(-80, 80), pos[1] + dy * u(0.2, 0.5) + u(-80, 80)];
      const c2 = [pos[0] + dx * u(0.5, 0.8) + u(-80, 80), pos[1] + dy * u(0.5, 0.8) + u(-80, 80)];
      const n = 20 + Math.floor(rng() * 31);
      pts = Array.from({ length: n }, (_, i) => {
        const s = (i + 1) / n;
        const v = 1 - s;
        const b = [v * v * v, 3 * v * v * s, 3 * v * s * s, s * s * s];
        return [0, 1].map((k) => b[0] * pos[k] + b[1] * c1[k] + b[2] * c2[k] + b[3] * tg[k]);
      });
    }
    const t0 = t;
    pts.forEach((p, k) => {
      t = times ? t0 + times[k] : t + (SPACING[family] ? SPACING[family](u) : 0);
      P.push([r1(t), 'move', Math.round(p[0]), Math.round(p[1]), 0]);
    });
    pos = P[P.length - 1].slice(2, 4);
    const seleniumClick = family === 'selenium-click';
    t += family === 'warp' ? u(50, 200) : seleniumClick ? u(0.5, 2) : u(1, 5);
    P.push([r1(t), 'down', pos[0], pos[1], 1]);
    t += seleniumClick ? u(1, 3) : u(50, 150);
    P.push([r1(t), 'up', pos[0], pos[1], 0]);
    if (j < 2 && typing) {
      t += u(200, 600);
      typeField(KEY_DISTS.uniform, 8 + Math.floor(rng() * 7));
    }
  });
  return { pointer: P, keys: K, variant: K.length ? 'keys' : 'nokeys', duration };
}

// A family's seeds follow its place in this list: add new families at the end, so that the figures
// of the others stay reproducible.
const FAMILIES = ['selenium-default', 'selenium-perstep', 'selenium-pause', 'selenium-zero', 'pyautogui-tween', 'warp', 'keys-iid', 'selenium-sleep', 'keys-iid-ood', 'selenium-click', 'selenium-duration', 'selenium-replay', 'keys-click'];
const dir = args.keep ? (mkdirSync(args.keep, { recursive: true }), args.keep) : mkdtempSync(join(tmpdir(), 'probes-'));
const lines = [];
for (const [f, family] of FAMILIES.entries()) {
  for (let i = 0; i < N; i++) {
    const rng = mulberry32((Number(args.seed) * 0x9e3779b1 + i * 7919 + f * 104729) >>> 0);
    const { pointer, keys, variant } = session(family, rng);
    const id = `probes/${family}/${variant}/${i}`;
    lines.push(JSON.stringify({ id, source: 'probes', subject: `${family}-${i}`, label: 'bot', generator: family, device: 'mouse', screen: null, pointer, keys }));
  }
}
const rows = scoreRecords(lines, dir, args.model);
const pct = (k, n) => `${((100 * k) / Math.max(n, 1)).toFixed(1)} %`.padStart(7);
console.log(`probes: ${N} logins per family, ${args.model ?? 'compiled-in model'}; allowed / challenged / blocked, median score, top reasons`);
for (const family of FAMILIES) {
  // Families listed per variant: the keyboard-only ones (and all of them), the replay clocks.
  const table = KEY_FAMILIES[family] ?? (family === 'selenium-replay' ? REPLAY_CLOCKS : null);
  const byVariant = Boolean(table);
  const variants = KEY_FAMILIES[family] ? ['all', ...Object.keys(table)] : table ? Object.keys(table) : ['nokeys', 'keys'];
  for (const typed of variants) {
    const rs = rows.filter((r) => r.id.split('/')[1] === family && (typed === 'all' || r.id.split('/')[2] === typed));
    const count = (d) => rs.filter((r) => r.decision === d).length;
    const scores = rs.map((r) => r.score).sort((a, b) => a - b);
    const reasons = {};
    for (const r of rs) for (const x of r.reasons) reasons[x] = (reasons[x] ?? 0) + 1;
    const top = Object.entries(reasons)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const label = byVariant ? `${family}${typed === 'all' ? '' : ` ${typed}`}` : `${family} ${typed === 'keys' ? '+typing' : ''}`;
    console.log(`${label.padEnd(26)} n=${String(rs.length).padStart(4)} ${pct(count('allow'), rs.length)} ${pct(count('challenge'), rs.length)} ${pct(count('block'), rs.length)}  ${(scores[scores.length >> 1] ?? NaN).toFixed(3)}  ${top}`);
  }
}
if (!args.keep) rmSync(dir, { recursive: true, force: true });
