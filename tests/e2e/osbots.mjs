// OS-level bot sessions of the capture rig (`oslevel.test.mjs`, issue 14): ghost-cursor's `path()`
// points, WindMouse (the Python port's defaults) and constant-speed straight lines, each played by a
// sleep-driven loop at 60–125 Hz, ghost-cursor's points on a 0.1 s sleep, teleports and pyautogui's
// tweens, with Gaussian typing. Also used offline by
// `intel/scripts/rig-bots.mjs`, which scores many more of them than the rig can play.

import { path as ghostPath } from 'ghost-cursor';
import { centreOf } from './xtest.mjs';

// Sessions are trace rows in page coordinates (see xtest.mjs); recorded humans come from xtest.mjs.

export function gauss(rng, mean, sd) {
  const u = Math.max(rng(), 1e-12);
  const v = rng();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Gaussian typing of `text` starting at `t`: holds N(95, 20), press-to-press N(185, 55) ms. A
 * capital is typed as an OS-level script types it (`pyautogui.keyDown('shift')` then the key,
 * `xdotool keydown shift a`): Shift down, the key 0.4 ms later, Shift up 0.4 ms after the key.
 */
export function gaussianTyping(text, t, rng, keys) {
  const sym = (ch) => ({ '.': 'period', ' ': 'space' })[ch] ?? ch;
  for (const ch of text) {
    const hold = Math.max(35, gauss(rng, 95, 20));
    if (ch !== ch.toLowerCase()) {
      keys.push([t, t + hold + 0.8, 'shift', 'Shift_L'], [t + 0.4, t + hold + 0.4, 'char', ch.toLowerCase()]);
    } else {
      keys.push([t, t + hold, ch === ' ' ? 'space' : 'char', sym(ch)]);
    }
    t += Math.max(60, gauss(rng, 185, 55));
  }
  return t;
}

/** ghost-cursor's `path()` with a seeded Math.random (it draws its own randomness from it). */
export function ghostPoints(from, to, rng) {
  const saved = Math.random;
  Math.random = rng;
  try {
    return ghostPath(from, to).map((p) => ({ x: p.x, y: p.y }));
  } finally {
    Math.random = saved;
  }
}

/** WindMouse (Benjamin J. Land): gravity towards the target plus a random "wind". */
export function windPoints(from, to, rng, { G0 = 9, W0 = 3, M0 = 15, D0 = 12 } = {}) {
  const pts = [];
  let x = from.x;
  let y = from.y;
  let vx = 0;
  let vy = 0;
  let wx = 0;
  let wy = 0;
  let m = M0;
  const s3 = Math.sqrt(3);
  const s5 = Math.sqrt(5);
  for (let i = 0; i < 5000; i++) {
    const dist = Math.hypot(to.x - x, to.y - y);
    if (dist < 1) break;
    const w = Math.min(W0, dist);
    if (dist >= D0) {
      wx = wx / s3 + ((2 * rng() - 1) * w) / s5;
      wy = wy / s3 + ((2 * rng() - 1) * w) / s5;
    } else {
      wx /= s3;
      wy /= s3;
      if (m < 3) m = rng() * 3 + 3;
      else m /= s5;
    }
    vx += wx + (G0 * (to.x - x)) / dist;
    vy += wy + (G0 * (to.y - y)) / dist;
    const v = Math.hypot(vx, vy);
    if (v > m) {
      const clip = m / 2 + (rng() * m) / 2;
      vx = (vx / v) * clip;
      vy = (vy / v) * clip;
    }
    x += vx;
    y += vy;
    pts.push({ x, y });
  }
  pts.push({ x: to.x, y: to.y });
  return pts;
}

export function straightPoints(from, to, rng, hz) {
  const dist = Math.hypot(to.x - from.x, to.y - from.y);
  const pxPerMs = 0.6 + rng() * 0.8;
  const steps = Math.max(2, Math.round(dist / pxPerMs / (1000 / hz)));
  return Array.from({ length: steps }, (_, i) => ({ x: from.x + ((to.x - from.x) * (i + 1)) / steps, y: from.y + ((to.y - from.y) * (i + 1)) / steps }));
}

/**
 * ghost-cursor's path re-timed to ease in and out: the same curve, one point per tick, the
 * distance along it following a minimum-jerk profile (10u³ − 15u⁴ + 6u⁵) over as many ticks as
 * the path has points. The adversary of the `jump-start` and `full-speed-arrival` rules: it sets
 * off from rest and homes in like a hand (scored offline by `intel/scripts/rig-bots.mjs`, not
 * played by the rig).
 */
export function easedGhostPoints(from, to, rng) {
  // ghost-cursor's path starts at `from`.
  const pts = ghostPoints(from, to, rng);
  const cum = [0];
  for (let i = 1; i < pts.length; i++) cum.push(cum[i - 1] + Math.hypot(pts[i].x - pts[i - 1].x, pts[i].y - pts[i - 1].y));
  const total = cum[cum.length - 1];
  const n = Math.max(2, pts.length - 1);
  const out = [];
  let k = 1;
  for (let i = 1; i <= n; i++) {
    const u = i / n;
    const want = total * (10 * u ** 3 - 15 * u ** 4 + 6 * u ** 5);
    while (k < cum.length - 1 && cum[k] < want) k++;
    const seg = cum[k] - cum[k - 1];
    const f = seg > 0 ? Math.min(1, Math.max(0, (want - cum[k - 1]) / seg)) : 1;
    out.push({ x: pts[k - 1].x + (pts[k].x - pts[k - 1].x) * f, y: pts[k - 1].y + (pts[k].y - pts[k - 1].y) * f });
  }
  return out;
}

/**
 * `teleport`: the pointer warped onto the target (`xdotool mousemove X Y`, `pyautogui.click(x, y)`),
 * or half the time 10–25 px off it and then 4–8 eased steps onto it (a warp made to look aimed).
 */
export function teleportPoints(to, rng) {
  if (rng() < 0.5) return [to];
  const a = rng() * 2 * Math.PI;
  const r = 10 + 15 * rng();
  const near = { x: to.x + r * Math.cos(a), y: to.y + r * Math.sin(a) };
  const n = 4 + Math.floor(rng() * 5);
  const out = [near];
  for (let i = 1; i <= n; i++) {
    const u = i / n;
    const e = u * u * (3 - 2 * u);
    out.push({ x: near.x + (to.x - near.x) * e, y: near.y + (to.y - near.y) * e });
  }
  return out;
}

/** pytweening easings a `pyautogui.moveTo(..., tween=...)` script passes: linear (the default),
 * easeOutQuad, easeInOutQuad. */
const PYAUTOGUI_TWEENS = [(x) => x, (x) => -x * (x - 2), (x) => (x < 0.5 ? 2 * x * x : -2 * x * x + 4 * x - 1)];

/**
 * `pyautogui.moveTo(x, y, duration=d, tween=...)` with d = 0.5 s or a humanised 0.3–0.8 s, as
 * pyautogui's `_mouseMoveDrag` steps it: max(|dx|, |dy|) steps, fewer when a step's sleep would be
 * under `MINIMUM_SLEEP` (0.05 s): then floor(d / 0.05) steps of d / that many seconds each (50 ms
 * up to 58.3 ms, 0.35 s / 6), positions on the straight line at tween(n / steps) for n = 0 … steps − 1, then the target.
 * Each step is a `time.sleep` and a move; the first lands where the pointer already is. Returns
 * the points with the time before each (ms): the sleep plus 0.3–1.5 ms of call overhead
 * (`failSafeCheck`'s position query and the XTEST request).
 */
export function pyautoguiSteps(from, to, rng) {
  // Half the scripts pass a fixed 0.5 s (ten 50 ms steps), half draw one.
  const d = rng() < 0.5 ? 0.5 : 0.3 + 0.5 * rng();
  const tween = PYAUTOGUI_TWEENS[Math.floor(rng() * PYAUTOGUI_TWEENS.length)];
  let steps = Math.max(Math.abs(to.x - from.x), Math.abs(to.y - from.y));
  let sleep = d / steps;
  if (sleep < 0.05) {
    steps = Math.floor(d / 0.05);
    sleep = d / steps;
  }
  // Already there: nothing to move.
  if (steps === 0) return [];
  const at = (u) => ({ x: from.x + (to.x - from.x) * u, y: from.y + (to.y - from.y) * u });
  const out = [];
  let wait = 0;
  for (let n = 0; n <= steps; n++) {
    wait += 1000 * sleep + 0.3 + 1.2 * rng();
    // n = 0 is where the pointer is: no motion reaches the page, only the time passes.
    if (n === 0) continue;
    out.push({ ...(n === steps ? to : at(tween(n / steps))), dt: wait });
    wait = 0;
  }
  return out;
}

/**
 * The rig's bot families in plan order, with their default attempts and the variable that overrides
 * them (`tests/e2e/oslevel.test.mjs`; `intel/scripts/rig-bots.mjs --rig` replays the defaults).
 */
export const RIG_BOTS = [
  { family: 'ghost-cursor', attempts: 10, env: 'OSLEVEL_ATTEMPTS' },
  { family: 'windmouse', attempts: 10, env: 'OSLEVEL_ATTEMPTS' },
  { family: 'straight', attempts: 4, env: 'OSLEVEL_STRAIGHT_ATTEMPTS' },
  { family: 'sleep-loop', attempts: 4, env: 'OSLEVEL_SLEEP_ATTEMPTS' },
  { family: 'teleport', attempts: 4, env: 'OSLEVEL_TELEPORT_ATTEMPTS' },
  { family: 'pyautogui', attempts: 4, env: 'OSLEVEL_PYAUTOGUI_ATTEMPTS' },
];

/** Seed of the rig's attempt `n` (plan order: humans, ghost-cursor, WindMouse, straight lines). */
export function attemptSeed(n) {
  return 0x0511 + n * 7919;
}

export const RATES = [60, 75, 90, 100, 125];

/** `sleep-loop`'s pause between moves (ms): `pyautogui.moveTo` per point with its default 0.1 s pause. */
export const SLEEP_LOOP_MS = 100;

export function botSession(family, start, layout, rng) {
  // `sleep-loop` (ghost-cursor's points, one per 0.1 s sleep) draws a rate too, so every family
  // consumes the generator alike.
  const drawn = RATES[Math.floor(rng() * RATES.length)];
  const hz = family === 'sleep-loop' ? 1000 / SLEEP_LOOP_MS : drawn;
  const pointer = [];
  const keys = [];
  let t = 0;
  let at = start;
  // pyautogui's script types a capitalised name and password (`instant-shift`); the others type
  // lower case, so that their logins measure the pointer.
  const texts = family === 'pyautogui' ? { username: 'Alice.Walker', password: 'Horse Battery' } : { username: 'alice.walker', password: 'horse battery' };
  for (const field of ['username', 'password', 'login']) {
    const to = centreOf(layout.boxes[field], rng);
    const pts =
      family === 'ghost-cursor' || family === 'sleep-loop'
        ? ghostPoints(at, to, rng)
        : family === 'ghost-eased'
          ? easedGhostPoints(at, to, rng)
          : family === 'windmouse'
            ? windPoints(at, to, rng)
            : family === 'teleport'
              ? teleportPoints(to, rng)
              : family === 'pyautogui'
                ? pyautoguiSteps(at, to, rng)
                : straightPoints(at, to, rng, hz);
    for (const p of pts) {
      // A sleep-driven loop at `hz`: the nominal interval with a little scheduling jitter (a
      // 0.1 s sleep also pays for the call around it: a few ms late, more spread). pyautogui's
      // steps carry their own.
      t +=
        p.dt ??
        (family === 'sleep-loop'
          ? SLEEP_LOOP_MS + Math.abs(gauss(rng, 2, 3))
          : Math.max(2, gauss(rng, 1000 / hz, family === 'straight' ? 0 : 1.5)));
      pointer.push([t, 'move', Math.round(p.x), Math.round(p.y), 0]);
    }
    t += Math.max(20, gauss(rng, 140, 50));
    pointer.push([t, 'down', to.x, to.y, 1]);
    t += Math.max(30, gauss(rng, 85, 15));
    pointer.push([t, 'up', to.x, to.y, 0]);
    at = to;
    if (field !== 'login') t = gaussianTyping(texts[field], t + Math.max(80, gauss(rng, 300, 80)), rng, keys) + 250;
  }
  return { pointer, keys, hz };
}

