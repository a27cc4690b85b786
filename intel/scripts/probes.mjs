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
// - keys-typo          a `keys-iid` login whose typist corrects typos: before 8 % of the characters one or
//                      two wrong keys, a 150–600 ms pause, as many Backspaces (session 20).
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
// - driver-eased       ghost-cursor's path re-timed under a minimum-jerk course, sent by a patched
//                      ChromeDriver (`batch`: its measured action-batch clock), on display frames
//                      (`frame`, assumed), or by Playwright's `mouse.move` with a 16 ms sleep
//                      (`cdp-sleep`, measured); see `EASED_CLOCKS`. The Selenium suite's
//                      `patched-eased` and the undetected suite's `pr-eased-*` live.
//
//   node intel/scripts/probes.mjs                 # 200 logins per family, compiled-in model
//   node intel/scripts/probes.mjs --n 500 --model model/models/behaviour-v3.json
//   node intel/scripts/probes.mjs --keep /tmp/probes   # keep records.jsonl and scored.jsonl
//   node intel/scripts/probes.mjs --families hlisa,humancursor   # only these (same seeds)
//
// Needs `cargo build --release -p tollgate-intel` (or TOLLGATE_INTEL_BIN).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { easedGhostPoints, gauss, gaussianTyping } from '../../tests/e2e/osbots.mjs';
import { mulberry32, readTraces, SAPI } from '../../tests/e2e/xtest.mjs';
import { requireBin, scoreRecords } from './eval-records.mjs';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '200' }, model: { type: 'string' }, seed: { type: 'string', default: '1' }, keep: { type: 'string' }, families: { type: 'string' } },
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

/** `driver-eased` clocks: the k-th move of a reach after `k` earlier ones, in ms. `batch` is a
 * patched ChromeDriver's pointer actions of duration 0, one perform() per reach (measured in
 * session 17, tests/e2e/selenium.test.mjs): the first two moves back to back, 1.4–2.6 ms, then a
 * partial frame of 3–19 ms, then 16.0–17.6 ms frames. `frame`: every move on the 60 Hz clock, a
 * client whose moves land on display frames (assumed, not measured: the Runtime-free CDP client of
 * tests/e2e/rawcdp.test.mjs paces its moves with a timer, which lands on no frame grid). */
const EASED_CLOCKS = {
  batch: (k, u) => (k === 0 ? 0 : k === 1 ? u(1.4, 2.6) : k === 2 ? u(3, 18.7) : 16.67 + u(-0.8, 0.8)),
  frame: (k, u) => (k === 0 ? 0 : 16.67 + u(-0.8, 0.8)),
  // `page.mouse.move` then a 16 ms sleep, Playwright (patchright) over CDP: measured in session 21
  // over 2,581 intervals of the undetected suite's tokens, 18.5-21.6 ms (p5-p95, median 19.4), and
  // 9.2 % of the steps 30.8-37.6 ms (p10-p90) where the move waited for a frame.
  'cdp-sleep': (k, u) => (k === 0 ? 0 : u(0, 1) < 0.092 ? u(30.8, 37.6) : u(18.5, 21.6)),
};

/** `driver-eased`: ghost-cursor's path re-timed under a minimum-jerk course (the OS-level rig's
 * `ghost-eased`, tests/e2e/osbots.mjs), dispatched on one of `EASED_CLOCKS` (the live counterpart is
 * the Selenium suite's `patched-eased`), a humanised press 120–320 ms after the last move, and half
 * the time Gaussian typing in the two fields. */
function driverEasedSession(u, g, rng) {
  const names = Object.keys(EASED_CLOCKS);
  const name = names[Math.floor(rng() * names.length)];
  const clock = EASED_CLOCKS[name];
  const typing = rng() < 0.5;
  const P = [];
  const K = [];
  let t = 0;
  let at = { x: u(200, 1000), y: u(550, 700) };
  P.push([0, 'move', Math.round(at.x), Math.round(at.y), 0]);
  const fields = [
    [640 + u(-100, 100), 300 + u(-8, 8)],
    [640 + u(-100, 100), 370 + u(-8, 8)],
    [640 + u(-60, 60), 450 + u(-10, 10)],
  ];
  fields.forEach(([x, y], j) => {
    t += u(300, 1000);
    const to = { x: Math.round(x), y: Math.round(y) };
    easedGhostPoints(at, to, rng).forEach((p, k) => {
      t += clock(k, u);
      P.push([r1(t), 'move', Math.round(p.x), Math.round(p.y), 0]);
    });
    t += u(120, 320);
    P.push([r1(t), 'down', to.x, to.y, 1]);
    t += Math.max(40, gauss(rng, 90, 18));
    P.push([r1(t), 'up', to.x, to.y, 0]);
    at = to;
    if (j < 2 && typing) {
      const typed = [];
      t = gaussianTyping(j === 0 ? 'maria.lopez' : 'correct horse', t + u(250, 650), rng, typed);
      for (const [d, up, c] of typed) K.push([r1(d), r1(up), c]);
    }
  });
  return { pointer: P, keys: K, variant: name };
}

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
const KEY_FAMILIES = {
  'keys-iid': KEY_DISTS,
  'keys-iid-ood': KEY_DISTS_OOD,
  'keys-click': KEY_DISTS,
  // `keys-iid` logins with typos corrected after a pause (session 20): no training typist pauses
  // before its Backspaces.
  'keys-typo': KEY_DISTS,
  // HLISA's `send_keys` within a word (session 16): holds std_positive(60, 35, 13) ms and pauses
  // std_positive(210, 30, 11) ms, each `.pause()` 1.3-2.5 ms longer through ChromeDriver, key
  // actions ~1 ms.
  'keys-hlisa': {
    hlisa: (u, g, rng) => [stdPositive(g, rng, 0.06, 0.035, 0.013) + u(1.3, 2.5) + u(0.3, 1.5), stdPositive(g, rng, 0.21, 0.03, 0.011) + u(1.3, 2.5) + u(0.3, 1.5)],
  },
};

/** Python's round(): halves to even (HLISA and HumanCursor round with it). */
const pyRound = (v) => {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};
/** HLISA's `std_positive`: a normal draw, raised by random fractions of (mean - min) until >= min (s → ms). */
const stdPositive = (g, rng, mean, sd, min) => {
  let s = g(mean, sd);
  while (s < min) s += rng() * (mean - min);
  return 1000 * s;
};
/** The two fields and the button of the probes' login form, whole pixels. */
function loginTargets(u) {
  return [
    [640 + u(-100, 100), 300 + u(-8, 8)],
    [640 + u(-100, 100), 370 + u(-8, 8)],
    [640 + u(-60, 60), 450 + u(-10, 10)],
  ].map(([x, y]) => [Math.round(x), Math.round(y)]);
}
/** The login of the OS-level library probes (`pyclick`, `stroke-library`): the pointer starts
 * anywhere on the page, reaches each target 0.3–1.2 s after the last click (`reach(pos, target, t, P)`
 * pushes the moves and returns the pointer's position and the time), presses after `hover` ms and
 * releases after `dwell` ms (ranges), and half the logins type into both fields. */
function reachLogin(u, g, rng, hover, dwell, reach) {
  const P = [];
  const K = [];
  let t = u(300, 1200);
  let pos = [Math.round(u(100, 1200)), Math.round(u(100, 700))];
  P.push([r1(t), 'move', pos[0], pos[1], 0]);
  const typing = rng() < 0.5;
  loginTargets(u).forEach((tg, j) => {
    t += u(300, 1200);
    [pos, t] = reach(pos, tg, t, P);
    t += u(...hover);
    P.push([r1(t), 'down', pos[0], pos[1], 1]);
    t += u(...dwell);
    P.push([r1(t), 'up', pos[0], pos[1], 0]);
    if (j < 2 && typing) t = typeUniform(K, t + u(200, 600), u, g, rng);
  });
  return { pointer: P, keys: K, variant: K.length ? 'keys' : 'nokeys' };
}
/** HLISA's `TheoreticalCursor` (droefs/HLISA, `selenium_actions.py`): a quadratic curve through
 * (0.82 dx, 0.5 dy), sampled every ~11 px, the spacing growing 5 % per sample to 70 % of the way and
 * shrinking 10 % per sample after, with rounded N(0, 0.6) px of imperfection per pixel of the way and
 * a compensation that brings the path back onto the curve. The pointer positions it moves to, in
 * order (moves that would leave the viewport are skipped, as HLISA does). */
function hlisaPath(start, end, g, view) {
  const [sx, sy] = start;
  const [dx, dy] = [end[0] - sx, end[1] - sy];
  const [viaX, viaY] = [dx * 0.82, dy * 0.5];
  const n = Math.ceil(Math.hypot(dx, dy));
  const samples = new Set();
  let counter = 10;
  let next = counter;
  for (let i = 1; i < n; i++) {
    if (counter === 0) {
      samples.add(i);
      next = i / n <= 0.7 ? next * 1.05 : next / 1.1;
      counter = pyRound(next);
    }
    counter -= 1;
  }
  let [x, y, px, py] = [sx, sy, sx, sy];
  let [misX, misY, errX, errY, ranX, ranY] = [0, 0, 0, 0, 0, 0];
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = i === n - 1 ? 1 : i / n;
    const m = 1 - t;
    const [rx, ry] = [pyRound(g(0, 0.6)), pyRound(g(0, 0.6))];
    [ranX, ranY, misX, misY] = [ranX + rx, ranY + ry, misX + rx, misY + ry];
    const cx = m * (m * sx + t * (viaX + sx)) + t * (m * (viaX + sx) + t * end[0]);
    const cy = m * (m * sy + t * (viaY + sy)) + t * (m * (viaY + sy) + t * end[1]);
    if (!samples.has(i) && t !== 1) continue;
    const div = (1 - t) * Math.sqrt(n) + 1;
    const [compX, compY] = [-pyRound(misX / div), -pyRound(misY / div)];
    const mx = cx - px + ranX + compX - pyRound(errX);
    const my = cy - py + ranY + compY - pyRound(errY);
    const [nx, ny] = [x + pyRound(mx), y + pyRound(my)];
    if (nx < 0 || ny < 0 || nx >= view[0] || ny >= view[1]) continue;
    errX = errX - pyRound(errX) + pyRound(mx) - mx;
    errY = errY - pyRound(errY) + pyRound(my) - my;
    [px, py, ranX, ranY, x, y] = [cx, cy, 0, 0, nx, ny];
    [misX, misY] = [misX + compX, misY + compY];
    out.push([x, y]);
  }
  return out;
}
/** A login through HLISA (`HL_ActionChains`): click the user field, type, click the password field,
 * type, click the button. Every pointer move is a W3C action of 50 ms (HLISA patches Selenium's
 * 250 ms default): one move per action, 51.6–52.2 ms apart (ChromeDriver 156, measured); a
 * `.pause(d)` lasts d + 1.3–2.5 ms (measured), a key action ~1 ms. Clicks: press, pause N(92, 18)
 * ms, release; 0.3 s (std_positive) after every action; typing by HLISA's `send_keys` (sentence
 * and word openings, N(210, 30) ms between characters, holds std_positive(60, 35, 13) ms, Shift
 * held around capitals and symbols). */
function hlisaSession(u, g, rng) {
  const view = [1280, 800];
  const P = [];
  const K = [];
  let t = 0;
  let pos = [0, 0]; // HLISA's cursor starts at the viewport's origin
  const pause = (mean, sd, min) => {
    t += stdPositive(g, rng, mean, sd, min) + u(1.3, 2.5);
  };
  const after = () => pause(0.3, 0.1, 0.025);
  const typing = rng() < 0.5;
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const word = (k) => Array.from({ length: k }, () => letters[Math.floor(rng() * 26)]).join('');
  const digits = (k) => Array.from({ length: k }, () => String(Math.floor(rng() * 10))).join('');
  const texts = [
    `${word(6 + Math.floor(rng() * 5))}${digits(2 + Math.floor(rng() * 3))}@mail.com`,
    `${word(1).toUpperCase()}${word(6 + Math.floor(rng() * 4))}${digits(2)}!`,
  ];
  const key = (c) => {
    const shifted = c !== c.toLowerCase() || '!@#$%^&*()_+{}|:<>?'.includes(c);
    let shiftDown = null;
    if (shifted) {
      shiftDown = t;
      t += u(0.3, 1.5);
      pause(0.06, 0.035, 0.005);
    }
    const down = t;
    t += u(0.3, 1.5);
    pause(0.06, 0.035, 0.013);
    K.push([r1(down), r1(t), c === ' ' ? 'space' : 'char']);
    t += u(0.3, 1.5);
    if (shifted) {
      pause(0.03, 0.015, 0.003);
      K.push([r1(shiftDown), r1(t), 'shift']);
      t += u(0.3, 1.5);
    }
  };
  const sendKeys = (text) => {
    pause(1.3, 1, 0.2); // opening a sentence
    pause(0.47, 0.21, 0.05); // opening a word
    [...text].forEach((c, i) => {
      if (i > 0) pause(0.21, 0.03, 0.011);
      key(c);
    });
    pause(0.2, 0.08, 0.01); // closing a word
    after();
  };
  const targets = loginTargets(u);
  t += u(300, 1200);
  targets.forEach((tg, j) => {
    for (const p of hlisaPath(pos, tg, g, view)) {
      t += u(51.6, 52.2);
      P.push([r1(t), 'move', p[0], p[1], 0]);
      pos = p;
    }
    after();
    t += u(0.3, 1.5);
    P.push([r1(t), 'down', pos[0], pos[1], 1]);
    t += Math.max(0, g(92, 18)) + u(1.3, 2.5);
    P.push([r1(t), 'up', pos[0], pos[1], 0]);
    after();
    if (j < 2 && typing) sendKeys(texts[j]);
  });
  if (P.length === 0) P.push([0, 'move', 0, 0, 0]);
  return { pointer: P, keys: K, variant: K.length ? 'keys' : 'nokeys' };
}
/** pytweening's easings that HumanCursor draws from (`generate_random_curve_parameters`). */
const TWEENS = [
  (x) => (x === 1 ? 1 : 1 - 2 ** (-10 * x)), // easeOutExpo
  (x) => (x < 0.5 ? 16 * x ** 5 : 1 - (-2 * x + 2) ** 5 / 2), // easeInOutQuint
  (x) => -(Math.cos(Math.PI * x) - 1) / 2, // easeInOutSine
  (x) => (x < 0.5 ? 8 * x ** 4 : 1 - (-2 * x + 2) ** 4 / 2), // easeInOutQuart
  (x) => (x === 0 || x === 1 ? x : x < 0.5 ? 2 ** (20 * x - 10) / 2 : (2 - 2 ** (-20 * x + 10)) / 2), // easeInOutExpo
  (x) => (x < 0.5 ? 4 * x ** 3 : 1 - (-2 * x + 2) ** 3 / 2), // easeInOutCubic
  (x) => (x < 0.5 ? (1 - Math.sqrt(1 - (2 * x) ** 2)) / 2 : (Math.sqrt(1 - (-2 * x + 2) ** 2) + 1) / 2), // easeInOutCirc
  (x) => x, // linear
  (x) => Math.sin((x * Math.PI) / 2), // easeOutSine
  (x) => 1 - (1 - x) ** 4, // easeOutQuart
  (x) => 1 - (1 - x) ** 5, // easeOutQuint
  (x) => 1 - (1 - x) ** 3, // easeOutCubic
  (x) => Math.sqrt(1 - (x - 1) ** 2), // easeOutCirc
];
/** A weighted choice (Python's `random.choices(items, weights)[0]`). */
const choose = (rng, items, weights) => {
  let r = rng() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < items.length; i++) if ((r -= weights[i]) < 0) return items[i];
  return items[items.length - 1];
};
/** HumanCursor's `HumanizeMouseTrajectory` with `generate_random_curve_parameters` for the web
 * (riflosnake/HumanCursor): a Bézier curve through 1–10 random knots in the box around the two
 * points widened by 20–100 px (no widening and one knot when either end lies outside the middle
 * 70 % of the window), max(|dx|, |dy|) points on it, N(0.8–1.1, 0.85–1.1) px added to y of 25–70 %
 * of them, then 35–79 of those picked under a random pytweening easing. */
function humanCursorCurve(from, to, g, rng, win, fixed = null) {
  const pick = (lo, hi) => lo + Math.floor(rng() * (hi - lo));
  const inner = (p) => p[0] >= win[0] * 0.15 && p[0] <= win[0] * 0.85 && p[1] >= win[1] * 0.15 && p[1] <= win[1] * 0.85;
  let ox, oy, knots, mean, sd, freq, tween, targetPoints;
  if (fixed) {
    // pyclick's `HumanCurve` takes its parameters as given.
    ({ ox, oy, knots, mean, sd, freq, tween, targetPoints } = fixed);
  } else {
    tween = TWEENS[Math.floor(rng() * TWEENS.length)];
    const range = () => choose(rng, [[20, 45], [45, 75], [75, 100]], [0.2, 0.65, 15]);
    [ox, oy] = [pick(...range()), pick(...range())];
    knots = choose(rng, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0.15, 0.36, 0.17, 0.12, 0.08, 0.04, 0.03, 0.02, 0.015, 0.005]);
    [mean, sd, freq] = [pick(80, 110) / 100, pick(85, 110) / 100, pick(25, 70) / 100];
    targetPoints = pick(...choose(rng, [[35, 45], [45, 60], [60, 80]], [0.53, 0.32, 0.15]));
    if (!inner(from) || !inner(to)) [ox, oy, knots] = [0, 0, 1];
  }
  const [l, r] = [Math.floor(Math.min(from[0], to[0]) - ox), Math.floor(Math.max(from[0], to[0]) + ox)];
  const [d, up] = [Math.floor(Math.min(from[1], to[1]) - oy), Math.floor(Math.max(from[1], to[1]) + oy)];
  const ctrl = [from, ...Array.from({ length: knots }, () => [r > l ? pick(l, r) : l, up > d ? pick(d, up) : d]), to];
  const deg = ctrl.length - 1;
  const binom = (n, k) => {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    return c;
  };
  const mid = Math.max(Math.floor(Math.max(Math.abs(from[0] - to[0]), Math.abs(from[1] - to[1]))), 2);
  const pts = Array.from({ length: mid }, (_, i) => {
    const s = i / (mid - 1);
    let [x, y] = [0, 0];
    ctrl.forEach((c, k) => {
      const b = binom(deg, k) * s ** k * (1 - s) ** (deg - k);
      [x, y] = [x + c[0] * b, y + c[1] * b];
    });
    return [x, y];
  });
  for (let i = 1; i < pts.length - 1; i++) if (rng() < freq) pts[i] = [pts[i][0], pts[i][1] + g(mean, sd)];
  return Array.from({ length: targetPoints }, (_, i) => pts[Math.trunc(tween(i / (targetPoints - 1)) * (pts.length - 1))]);
}
/** 8–14 characters typed from `t` with W3C key actions (`KEY_DISTS.uniform`) into `K`; returns the
 * time after the last. The pointer families' typing. */
function typeUniform(K, t, u, g, rng) {
  for (let c = 0, n = 8 + Math.floor(rng() * 7); c < n; c++) {
    const [h, gap] = KEY_DISTS.uniform(u, g, rng);
    K.push([r1(t), r1(t + h), 'char']);
    t += h + gap;
  }
  return t;
}
/** pyclick's `HumanClicker.move(to, duration)` (OS-level, pyautogui underneath): `HumanCurve` with
 * its defaults (two knots in the box around the points widened by 100 px, y distortion N(1, 1) on
 * half the points, 100 points under easeOutQuad), `pyautogui.PAUSE = duration / 100` and one
 * `pyautogui.moveTo(point)` per point: a move every PAUSE plus 0.3–1.5 ms of call overhead, none
 * where the rounded point repeats (easeOutQuad's slow end). Duration 0.5–2 s per reach (its README
 * passes 2); the page sees OS-level events at the script's time. Clicks humanised (pyclick's
 * `click()` is pyautogui's, press and release back to back: the model knows those). */
function pyclickSession(u, g, rng) {
  const win = [1280, 800];
  const easeOutQuad = (x) => -x * (x - 2);
  return reachLogin(u, g, rng, [50, 300], [50, 150], (pos, tg, t, P) => {
    const pause = (1000 * u(0.5, 2)) / 100;
    const curve = humanCursorCurve(pos, tg, g, rng, win, { ox: 100, oy: 100, knots: 2, mean: 1, sd: 1, freq: 0.5, tween: easeOutQuad, targetPoints: 100 });
    for (const p of curve) {
      t += pause + u(0.3, 1.5);
      const q = [Math.round(p[0]), Math.round(p[1])];
      if (q[0] === pos[0] && q[1] === pos[1]) continue;
      P.push([r1(t), 'move', q[0], q[1], 0]);
      pos = q;
    }
    return [pos, t];
  });
}
/** `stroke-library`'s library: 50 recorded strokes of SapiMouse people (hovering runs of ≥ 15 moves under
 * 100 ms apart spanning ≥ 150 px), drawn once with a fixed seed, like the recorded-movement libraries
 * humanlike-mouse packages ship. */
let library = null;
function strokeLibrary() {
  if (library) return library;
  sapi ??= readTraces(SAPI);
  const rng = mulberry32(0x5eed);
  const strokes = [];
  for (const rec of sapi) {
    let run = [];
    const flush = () => {
      const [a, b] = [run[0], run[run.length - 1]];
      if (run.length >= 15 && Math.hypot(b[2] - a[2], b[3] - a[3]) >= 150) strokes.push(run);
      run = [];
    };
    for (const e of rec.pointer) {
      const last = run[run.length - 1];
      if (e[1] !== 'move' || e[4] !== 0 || (last && e[0] - last[0] > 100)) flush();
      if (e[1] === 'move' && e[4] === 0) run.push(e);
    }
    flush();
  }
  library = Array.from({ length: 50 }, () => strokes[Math.floor(rng() * strokes.length)]);
  return library;
}
/** A login whose every reach is a library stroke (`strokeLibrary`) rotated and scaled onto the reach
 * (start onto the pointer, end onto the target), whole pixels, on the stroke's own recorded timing
 * stretched by 0.8–1.25; a humanised click after each. Every login draws from the same 50 strokes,
 * as every user of one package does. */
function strokeLibrarySession(u, g, rng) {
  const lib = strokeLibrary();
  return reachLogin(u, g, rng, [80, 300], [60, 140], (pos, tg, t, P) => {
    const st = lib[Math.floor(rng() * lib.length)];
    const [a, b] = [st[0], st[st.length - 1]];
    const [sx, sy] = [b[2] - a[2], b[3] - a[3]];
    const [dx, dy] = [tg[0] - pos[0], tg[1] - pos[1]];
    // The similarity transform taking (a → b) onto (pos → target): z ↦ pos + (z − a)·k, k complex.
    const den = sx * sx + sy * sy;
    const [kr, ki] = [(dx * sx + dy * sy) / den, (dy * sx - dx * sy) / den];
    const stretch = u(0.8, 1.25);
    const t0 = t;
    let last = pos;
    for (const e of st.slice(1)) {
      const [zx, zy] = [e[2] - a[2], e[3] - a[3]];
      const q = [Math.round(pos[0] + zx * kr - zy * ki), Math.round(pos[1] + zx * ki + zy * kr)];
      t = t0 + (e[0] - a[0]) * stretch;
      if (q[0] === last[0] && q[1] === last[1]) continue;
      P.push([r1(t), 'move', q[0], q[1], 0]);
      last = q;
    }
    return [last, t];
  });
}
/** A login through HumanCursor's `WebCursor.click_on` (Selenium, `ActionChains(duration=0)`): the
 * curve's points sent as `move_by_offset` of truncated offsets (plus a move of the carried
 * fractions whenever they pass a pixel), one perform() per reach, so each move waits for a frame
 * (15.3–17.8 ms, measured as `selenium-zero`); then `click()` (press, release 1–3 ms later, measured
 * for Selenium's click) and a 0.2–0.3 s pause. The cursor starts at the viewport's origin. */
function humanCursorSession(u, g, rng) {
  const win = [1280, 800];
  const P = [];
  const K = [];
  let t = u(300, 1200);
  let origin = [0, 0]; // where the curve says the cursor is (fractional)
  let at = [0, 0]; // where it is (whole pixels)
  const typing = rng() < 0.5;
  const boxes = [
    [640 - 150 + u(-100, 100), 280 + u(-8, 8), 300, 40],
    [640 - 150 + u(-100, 100), 350 + u(-8, 8), 300, 40],
    [640 - 60 + u(-60, 60), 430 + u(-10, 10), 120, 40],
  ];
  boxes.forEach(([bx, by, bw, bh], j) => {
    const rect = [Math.round(bx), Math.round(by)];
    const to = [rect[0] + bw * (20 + Math.floor(rng() * 60)) / 100, rect[1] + bh * (20 + Math.floor(rng() * 60)) / 100];
    const move = (mx, my) => {
      t += u(15.3, 17.8);
      if (mx === 0 && my === 0) return;
      at = [at[0] + mx, at[1] + my];
      P.push([r1(t), 'move', at[0], at[1], 0]);
    };
    const extra = [0, 0];
    for (const p of humanCursorCurve([...origin], to, g, rng, win)) {
      const [xo, yo] = [p[0] - origin[0], p[1] - origin[1]];
      extra[0] += xo - Math.trunc(xo);
      extra[1] += yo - Math.trunc(yo);
      const [ex, ey] = [Math.abs(extra[0]) > 1, Math.abs(extra[1]) > 1];
      if (ex || ey) {
        move(ex ? Math.trunc(extra[0]) : 0, ey ? Math.trunc(extra[1]) : 0);
        if (ex) extra[0] -= Math.trunc(extra[0]);
        if (ey) extra[1] -= Math.trunc(extra[1]);
      }
      origin = p;
      move(Math.trunc(xo), Math.trunc(yo));
    }
    move(Math.trunc(extra[0]), Math.trunc(extra[1]));
    origin = [...at];
    t += u(2, 10); // the script's round trip to the click's perform()
    P.push([r1(t), 'down', at[0], at[1], 1]);
    t += u(1, 3);
    P.push([r1(t), 'up', at[0], at[1], 0]);
    t += u(200, 300);
    if (j < 2 && typing) t = typeUniform(K, t + u(200, 600), u, g, rng);
  });
  return { pointer: P, keys: K, variant: K.length ? 'keys' : 'nokeys' };
}

function session(family, rng) {
  const u = (a, b) => a + (b - a) * rng();
  const g = (m, sd) => m + sd * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const P = [];
  const K = [];
  let t = 0;
  const typeField = (dist, n) => {
    const press = (cls) => {
      const [h, gap] = dist(u, g, rng);
      K.push([r1(t), r1(t + h), cls]);
      t += h + gap;
    };
    for (let c = 0; c < n; c++) {
      // `keys-typo`: before 8 % of the characters, one or two wrong keys, a 150-600 ms pause
      // (the typist "notices"), as many Backspaces, then the right key.
      if (family === 'keys-typo' && c > 0 && rng() < 0.08) {
        const wrong = rng() < 0.7 ? 1 : 2;
        for (let w = 0; w < wrong; w++) press('char');
        t += u(150, 600);
        for (let w = 0; w < wrong; w++) press('backspace');
      }
      press('char');
    }
  };
  if (family === 'hlisa') return hlisaSession(u, g, rng);
  if (family === 'humancursor') return humanCursorSession(u, g, rng);
  if (family === 'pyclick') return pyclickSession(u, g, rng);
  if (family === 'stroke-library') return strokeLibrarySession(u, g, rng);
  if (family === 'driver-eased') return driverEasedSession(u, g, rng);
  if (family === 'replay-typed') {
    // A person's recorded path replayed on a 60 Hz frame clock, with both fields typed on a
    // `keys-iid` timing (W3C key actions) after its first click: the login whose pointer is human
    // and whose typing is not (the pair thresholds' other side).
    sapi ??= readTraces(SAPI);
    const rec = sapi[Math.floor(rng() * sapi.length)];
    const P0 = replayOn(rec, REPLAY_CLOCKS.frame(u), u, rng);
    const names = Object.keys(KEY_DISTS);
    const name = names[Math.floor(rng() * names.length)];
    const dist = KEY_DISTS[name];
    const cut = P0.findIndex((e) => e[1] === 'up');
    const at = cut < 0 ? P0.length - 1 : cut;
    t = P0[at][0] + u(200, 600);
    const t0 = t;
    typeField(dist, 8 + Math.floor(rng() * 7));
    const [h, gap] = dist(u, g, rng);
    K.push([r1(t), r1(t + h), 'tab']);
    t += h + gap + u(400, 1500);
    typeField(dist, 8 + Math.floor(rng() * 7));
    const shift = t - t0 + u(300, 900);
    const pointer = P0.map((e, i) => (i > at ? [r1(e[0] + shift), ...e.slice(1)] : e));
    return { pointer, keys: K, variant: name };
  }
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
const FAMILIES = ['selenium-default', 'selenium-perstep', 'selenium-pause', 'selenium-zero', 'pyautogui-tween', 'warp', 'keys-iid', 'selenium-sleep', 'keys-iid-ood', 'selenium-click', 'selenium-duration', 'selenium-replay', 'keys-click', 'hlisa', 'humancursor', 'pyclick', 'keys-hlisa', 'replay-typed', 'stroke-library', 'driver-eased', 'keys-typo'];
const dir = args.keep ? (mkdirSync(args.keep, { recursive: true }), args.keep) : mkdtempSync(join(tmpdir(), 'probes-'));
const lines = [];
// `--families a,b`: only those (each keeps its seeds).
const only = args.families ? new Set(args.families.split(',')) : null;
for (const [f, family] of FAMILIES.entries()) {
  if (only && !only.has(family)) continue;
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
for (const family of FAMILIES.filter((x) => !only || only.has(x))) {
  // Families listed per variant: the keyboard-only ones (and all of them), the replay clocks.
  const table = KEY_FAMILIES[family] ?? { 'selenium-replay': REPLAY_CLOCKS, 'replay-typed': KEY_DISTS, 'driver-eased': EASED_CLOCKS }[family] ?? null;
  const byVariant = Boolean(table);
  const variants = KEY_FAMILIES[family] || family === 'replay-typed' ? ['all', ...Object.keys(table)] : table ? Object.keys(table) : ['nokeys', 'keys'];
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
