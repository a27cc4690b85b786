// Recorded humans replayed through X11 XTEST: shared by the OS-level capture rig
// (oslevel.test.mjs) and the Turnstile drop-in's headful login (turnstile.test.mjs).
//
// - Traces: SapiMouse pointer windows and Aalto keystrokes from `../shared/data/traces/` (or
//   $TOLLGATE_TRACES), read in place. `humanSample(count)` picks subjects deterministically (file
//   order); `humanSession` places one subject's recorded approach to its first click so it lands
//   in the first field, then from each click a recorded click-to-click path of the same person
//   whose click lands in the next field (translated, mirrored or turned by a quarter: exact
//   kinematics, and no jump of the cursor between a click and the next reach), and types Aalto key
//   timings.
// - Playing: `startXvfb` (own display, SCHED_FIFO where allowed), `startPlayer` (xtest-play.py on
//   Debian's /usr/bin/python3 with python3-xlib, SCHED_FIFO where allowed), `toEvents` (a session in
//   page coordinates → the player's schedule in screen coordinates, given the page→screen offset),
//   `calibrationMove` (a small move the page can read screenX - clientX from before any loader runs).
// - `launchChromium`: a plain headful Chromium (no driver, no CDP) on that display, at nice -10
//   where allowed.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createInterface } from 'node:readline';

import { after, before } from 'node:test';

import { CHROMIUM, ROOT, mailbox, serveOwnBrowserAttempts, sleep } from './harness.mjs';

export const XVFB = process.env.XVFB_PATH ?? '/usr/bin/Xvfb';
// Debian's interpreter: python3-xlib is installed for it (not for a pyenv/venv python on PATH).
export const PYTHON = process.env.TOLLGATE_PYTHON ?? '/usr/bin/python3';
export const TRACES = process.env.TOLLGATE_TRACES ?? join(ROOT, '..', 'shared', 'data', 'traces');
export const SAPI = join(TRACES, 'sapimouse-dev.jsonl.gz');
export const AALTO = join(TRACES, 'aalto-dev.jsonl.gz');

// Pointer segment of a recorded window: this long before its final click.
const SEGMENT_MS = 1200;
// A recorded path from one click to the next: at most this long.
const PATH_MAX_MS = 4000;
// Recorded keys typed into each field.
export const KEYS_PER_FIELD = 7;

/** What replaying recorded humans through XTEST needs (human-readable, empty when all there). */
export function xtestPrerequisites() {
  const missing = [];
  if (!existsSync(XVFB)) missing.push(`${XVFB} (Debian package xvfb)`);
  if (!existsSync(PYTHON)) missing.push(PYTHON);
  else if (spawnSync(PYTHON, ['-c', 'import Xlib.ext.xtest']).status !== 0) missing.push(`python3-xlib for ${PYTHON} (Debian package python3-xlib)`);
  if (!existsSync(CHROMIUM)) missing.push(CHROMIUM);
  if (!existsSync(SAPI) || !existsSync(AALTO)) missing.push(`trace files in ${TRACES}`);
  return missing;
}

// --- deterministic randomness -----------------------------------------------------------------

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- recorded humans --------------------------------------------------------------------------

export function readTraces(file) {
  return gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/**
 * The approach to a SapiMouse window's final clean click: the trailing run of button-free moves
 * within SEGMENT_MS before it (at least 12 moves and 120 px of chord), and the click. Rows are
 * rebased to the run's first move, positions relative to the click.
 */
function clickSegment(rec) {
  const p = rec.pointer;
  const n = p.length;
  if (n < 3 || p[n - 2][1] !== 'down' || p[n - 1][1] !== 'up') return null;
  const down = p[n - 2];
  let first = n - 2;
  while (first > 0 && p[first - 1][1] === 'move' && p[first - 1][4] === 0 && p[first - 1][0] >= down[0] - SEGMENT_MS) first--;
  const rows = p.slice(first);
  if (rows.length - 2 < 12 || Math.hypot(rows[0][2] - down[2], rows[0][3] - down[3]) < 120) return null;
  const t0 = rows[0][0];
  return rows.map(([t, kind, x, y]) => [t - t0, kind, x - down[2], y - down[3]]);
}

/**
 * A window's paths from one clean click to the next: the button release, the button-free moves
 * after it (at least 8, within PATH_MAX_MS) and the next click. The hand is at rest where it
 * released the button, so a path replayed from the previous click's point is a whole reach from
 * rest (`clickSegment` starts wherever its window's time cut falls). Rows are rebased to the
 * release, positions relative to it.
 */
function clickPaths(rec) {
  const p = rec.pointer;
  const out = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i][1] !== 'up') continue;
    const up = p[i];
    let j = i + 1;
    while (j < p.length && p[j][1] === 'move' && p[j][4] === 0) j++;
    if (j + 1 >= p.length || p[j][1] !== 'down' || p[j + 1][1] !== 'up') continue;
    const moves = j - i - 1;
    if (moves < 8 || p[j][0] - up[0] > PATH_MAX_MS) continue;
    // The press and release where the last move left the pointer (a clean click).
    const last = p[j - 1];
    if (p[j][2] !== last[2] || p[j][3] !== last[3] || p[j + 1][2] !== last[2] || p[j + 1][3] !== last[3]) continue;
    if (Math.hypot(last[2] - up[2], last[3] - up[3]) < 40) continue;
    out.push(p.slice(i + 1, j + 2).map(([t, kind, x, y]) => [t - up[0], kind, x - up[2], y - up[3]]));
  }
  return out;
}

// The square's eight symmetries (mirrors and quarter turns): they keep every distance, speed,
// curvature magnitude and timing of a movement.
const SYMMETRIES = [[1, 0, 0, 1], [-1, 0, 0, 1], [1, 0, 0, -1], [-1, 0, 0, -1], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, -1, 0], [0, -1, -1, 0]];

/** Place a segment so its click lands on `target`, mirrored or turned if it would leave the viewport. */
function placeSegment(seg, target, [w, h]) {
  for (const [a, b, c, d] of SYMMETRIES) {
    const rows = seg.map(([t, kind, x, y]) => [t, kind, target.x + a * x + b * y, target.y + c * x + d * y]);
    if (rows.every(([, , x, y]) => x >= 4 && y >= 4 && x < w - 4 && y < h - 4)) return rows;
  }
  return null;
}

/**
 * Place a click-to-click path from `from` (the previous click) so that its click lands inside
 * `box` (4 px in) and every row stays in the viewport, under one of the eight symmetries (a path
 * keeps its exact kinematics: translated, mirrored or turned by a quarter). Null if none fits.
 */
function placePath(path, from, box, [w, h]) {
  const end = path[path.length - 1];
  for (const [a, b, c, d] of SYMMETRIES) {
    const ex = from.x + a * end[2] + b * end[3];
    const ey = from.y + c * end[2] + d * end[3];
    if (ex < box.x + 4 || ex > box.x + box.w - 4 || ey < box.y + 4 || ey > box.y + box.h - 4) continue;
    const rows = path.map(([t, kind, x, y]) => [t, kind, from.x + a * x + b * y, from.y + c * x + d * y]);
    if (rows.every(([, , x, y]) => x >= 4 && y >= 4 && x < w - 4 && y < h - 4)) return rows;
  }
  return null;
}

/** The first KEYS_PER_FIELD * 2 keys of an Aalto sentence, when they are playable classes. */
function keyRuns(rec) {
  const keys = rec.keys.slice(0, KEYS_PER_FIELD * 2);
  if (keys.length < KEYS_PER_FIELD * 2) return null;
  if (keys.some(([, , c]) => !['char', 'space', 'shift'].includes(c))) return null;
  if (keys.filter(([, , c]) => c === 'char').length < KEYS_PER_FIELD) return null;
  // Two overlapping presses of the same non-letter key cannot be played on one keycode.
  for (let i = 1; i < keys.length; i++) {
    if (keys[i][2] !== 'char' && keys[i][2] === keys[i - 1][2] && keys[i][0] < keys[i - 1][1]) return null;
  }
  const rebase = (ks) => ks.map(([d, u, c]) => [d - ks[0][0], u - ks[0][0], c]);
  return [rebase(keys.slice(0, KEYS_PER_FIELD)), rebase(keys.slice(KEYS_PER_FIELD))];
}

/**
 * A deterministic sample of recorded people: every SapiMouse subject (file order) with a usable
 * final-click segment, with its click-to-click paths (`pointers`), and the first `count` Aalto
 * subjects with a usable sentence (`keys`).
 */
export function humanSample(count) {
  const bySubject = new Map();
  const pathsOf = new Map();
  for (const rec of readTraces(SAPI)) {
    if (!pathsOf.has(rec.subject)) pathsOf.set(rec.subject, []);
    pathsOf.get(rec.subject).push(...clickPaths(rec));
    const seg = clickSegment(rec);
    if (!seg) continue;
    if (!bySubject.has(rec.subject)) bySubject.set(rec.subject, []);
    bySubject.get(rec.subject).push({ id: rec.id, seg });
  }
  const pointers = [...bySubject.entries()].filter(([, segs]) => segs.length >= 1);
  const keys = [];
  const seen = new Set();
  for (const rec of readTraces(AALTO)) {
    if (keys.length >= count) break;
    if (seen.has(rec.subject)) continue;
    const runs = keyRuns(rec);
    if (!runs) continue;
    seen.add(rec.subject);
    keys.push({ id: rec.id, subject: rec.subject, runs });
  }
  if (pointers.length < count || keys.length < count) throw new Error(`only ${pointers.length} pointer / ${keys.length} key subjects usable`);
  return { pointers: pointers.map(([subject, segs]) => ({ subject, segs, paths: pathsOf.get(subject) ?? [] })), keys };
}

// --- sessions ---------------------------------------------------------------------------------
//
// A session is built in page (client) coordinates as trace rows: pointer [t, kind, x, y, buttons]
// and keys [t_down, t_up, class, keysym]; `toEvents` turns it into the player's schedule.

const LETTERS = 'qwertyuiopasdfghjklzxcvbnm';

/** A point near the middle of `box` ({x, y, w, h}, page coordinates). */
export function centreOf(box, rng) {
  return { x: Math.round(box.x + box.w / 2 + (rng() - 0.5) * box.w * 0.5), y: Math.round(box.y + box.h / 2 + (rng() - 0.5) * box.h * 0.4) };
}

/** Rounds a point and keeps it inside a viewport of `inner` = [w, h] CSS px. */
export function clampTo(inner) {
  return (p) => ({ x: Math.min(inner[0] - 1, Math.max(0, Math.round(p.x))), y: Math.min(inner[1] - 1, Math.max(0, Math.round(p.y))) });
}

/**
 * A login by recorded person `h` ({segs, keys: {runs}}): approach and click `username`, type the
 * first key run, approach and click `password`, type the second, approach and click `login`.
 * `layout`: {boxes: {username, password, login}, inner: [w, h]} in page coordinates. Null when
 * this subject's segments do not all fit the page (the caller takes the next subject).
 */
export function humanSession(h, layout, rng) {
  const pointer = [];
  const keys = [];
  let t = 0;
  let letter = 0;
  const used = new Set();
  const fields = ['username', 'password', 'login'];
  const usedPaths = new Set();
  let placed = 0;
  fields.forEach((field, fi) => {
    let rows = null;
    if (fi === 0) {
      // The approach to the first field: a window's final approach (where the cursor was before
      // the page loaded is not recorded).
      const target = centreOf(layout.boxes[field], rng);
      for (let si = 0; si < h.segs.length && !rows; si++) {
        if (used.has(si)) continue;
        rows = placeSegment(h.segs[si].seg, target, layout.inner);
        if (rows) used.add(si);
      }
    } else if (pointer.length) {
      // From the previous click, a recorded click-to-click path whose click lands in this field:
      // the hand sets off from rest where it released the button, as a person's does.
      const up = pointer[pointer.length - 1];
      const from = { x: up[2], y: up[3] };
      for (let pi = 0; pi < h.paths.length && !rows; pi++) {
        if (usedPaths.has(pi)) continue;
        rows = placePath(h.paths[pi], from, layout.boxes[field], layout.inner);
        if (rows) {
          usedPaths.add(pi);
          // Start moving when the typing is done (the recorded pause after the click is dropped).
          const t0 = rows[0][0];
          rows = rows.map(([rt, ...rest]) => [rt - t0, ...rest]);
        }
      }
    }
    if (!rows) return;
    placed++;
    for (const [rt, kind, x, y] of rows) pointer.push([t + rt, kind, x, y, kind === 'down' ? 1 : 0]);
    t = pointer[pointer.length - 1][0] + 250;
    if (fi < 2) {
      const run = h.keys.runs[fi];
      let end = t;
      for (const [d, u, c] of run) {
        const sym = c === 'char' ? LETTERS[letter++ % LETTERS.length] : c === 'space' ? 'space' : 'Shift_L';
        keys.push([t + d, t + u, c, sym]);
        end = Math.max(end, t + u);
      }
      t = end + 300;
    }
  });
  return placed === fields.length ? { pointer, keys } : null;
}

/**
 * The text a session's keys type into the fields, in order (one string per field): letters, upper
 * case while a Shift is held, spaces. Keys are split into fields by the clicks between them.
 */
export function typedTexts(session) {
  const clicks = session.pointer.filter(([, kind]) => kind === 'down').map(([t]) => t);
  const texts = clicks.map(() => '');
  const ev = [];
  for (const [d, u, , sym] of session.keys) ev.push([d, 1, sym], [u, 0, sym]);
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let shift = 0;
  for (const [t, down, sym] of ev) {
    if (sym === 'Shift_L') {
      shift += down ? 1 : -1;
      continue;
    }
    if (!down) continue;
    const field = clicks.filter((c) => c <= t).length - 1;
    if (field < 0) continue;
    texts[field] += sym === 'space' ? ' ' : shift > 0 ? sym.toUpperCase() : sym;
  }
  return texts;
}

/** The player's schedule (screen coordinates) for a session. */
export function toEvents(session, offset) {
  const ev = [];
  let at = null;
  for (const [t, kind, x, y] of session.pointer) {
    // A button press happens where the pointer is; move first only if it is elsewhere.
    if (kind === 'move' || at === null || at[0] !== x || at[1] !== y) ev.push([t, 'move', x + offset.dx, y + offset.dy]);
    at = [x, y];
    if (kind === 'down' || kind === 'up') ev.push([t, kind, 1]);
  }
  for (const [d, u, , sym] of session.keys) {
    ev.push([d, 'kdown', sym]);
    ev.push([u, 'kup', sym]);
  }
  // Stable: equal times keep their order (a move before its button, a press before its release).
  return ev.map((e, i) => [e, i]).sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1]).map(([e]) => [Math.round(e[0] * 1000) / 1000, ...e.slice(1)]);
}

/**
 * Page→screen calibration, before any loader runs: a small move from `cursor` (screen
 * coordinates) that a page reads `screenX - clientX` / `screenY - clientY` from. Resolves to the
 * cursor's new screen position.
 */
export async function calibrationMove(player, cursor) {
  await player.play([[0, 'move', cursor.x, cursor.y], [40, 'move', cursor.x + 3, cursor.y + 2]]);
  await sleep(150);
  return { x: cursor.x + 3, y: cursor.y + 2 };
}

// --- processes ----------------------------------------------------------------------------------

// Children of this module's users, ended also when the runner exits early.
const children = new Set();
process.on('exit', () => {
  for (const c of children) killGroup(c);
});

/** End a child started here (its process group when it has one). */
export function killGroup(child) {
  if (!child || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Xvfb on the first free display (`-displayfd`), screen `{w, h}`. */
export async function startXvfb(screen) {
  // The X server stamps each event with its own clock when it processes the XTEST request: run it
  // SCHED_FIFO where allowed (root), like the player, so a loaded machine does not shift them.
  const args = ['-displayfd', '3', '-screen', '0', `${screen.w}x${screen.h}x24`, '-nolisten', 'tcp'];
  const rt = process.env.OSLEVEL_REALTIME !== '0' && spawnSync('chrt', ['-f', '10', 'true']).status === 0;
  const child = rt
    ? spawn('chrt', ['-f', '10', XVFB, ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] })
    : spawn(XVFB, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  children.add(child);
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d));
  const display = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb gave no display within 20 s: ${Buffer.concat(stderr)}`)), 20_000);
    child.stdio[3].on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${buf.trim()}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}): ${Buffer.concat(stderr)}`));
    });
  });
  return { child, display, policy: rt ? 'fifo' : 'normal' };
}

/** The XTEST player; `play(events)` resolves to its report line. */
export async function startPlayer(display) {
  const child = spawn(PYTHON, [join(ROOT, 'tests', 'e2e', 'xtest-play.py')], { env: { ...process.env, DISPLAY: display }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d));
  const lines = [];
  let waiter = null;
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(JSON.parse(l));
    if (waiter) waiter();
  });
  const next = async (ms) => {
    const end = Date.now() + ms;
    while (!lines.length) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`xtest player: no answer (${Buffer.concat(stderr)})`);
      await new Promise((r) => {
        waiter = r;
        setTimeout(r, 200);
      });
    }
    return lines.shift();
  };
  const hello = await next(20_000);
  if (!hello.ready) throw new Error(`xtest player: ${JSON.stringify(hello)}`);
  return {
    child,
    policy: hello.policy,
    async play(events) {
      child.stdin.write(`${JSON.stringify({ events })}\n`);
      const last = events.length ? events[events.length - 1][0] : 0;
      const out = await next(last + 30_000);
      if (out.error) throw new Error(`xtest player: ${out.error}`);
      return out;
    },
    /** End the player (end of input, then its process). */
    stop() {
      child.stdin.end();
      killGroup(child);
    },
  };
}

/**
 * A plain headful Chromium (no --headless, no remote debugging, no driver) on `display`, in its
 * own process group. Chromium's X11 input path folds motion events still queued when it reads
 * them into the last one: on a loaded machine that loses samples a real device would not. A
 * higher priority than the rest of the machine (nice -10, where allowed) keeps it reading promptly.
 */
export function launchChromium(args, display) {
  const niced = process.env.OSLEVEL_REALTIME !== '0' && spawnSync('nice', ['-n', '-10', 'true']).status === 0;
  const child = spawn(niced ? 'nice' : CHROMIUM, niced ? ['-n', '-10', CHROMIUM, ...args] : args, {
    env: { ...process.env, DISPLAY: display },
    detached: true,
    stdio: 'ignore',
  });
  children.add(child);
  return child;
}

/** Chromium and Xvfb, which the suites that drive a browser of their own need; the missing ones. */
export function ownBrowserPrerequisites() {
  const missing = [];
  if (!existsSync(CHROMIUM)) missing.push(CHROMIUM);
  if (!existsSync(XVFB)) missing.push(`${XVFB} (Debian package xvfb)`);
  return missing;
}

/**
 * The set-up that the suites opening each attempt in a browser of their own share (rawcdp,
 * undetected): called inside `describe`, it starts an Xvfb of `screen` and the OS-level page's
 * server (`serveOwnBrowserAttempts`) before the tests, unless a prerequisite is missing, and stops
 * both after them. `{ mail, rig }`: `rig.xvfb` and `rig.server` once started.
 * @param {{ w: number, h: number }} screen
 */
export function ownBrowserRig(screen) {
  const mail = mailbox();
  /** @type {{ xvfb: any, server: any }} */
  const rig = { xvfb: null, server: null };
  before(async () => {
    if (ownBrowserPrerequisites().length) return;
    rig.xvfb = await startXvfb(screen);
    rig.server = await serveOwnBrowserAttempts(mail);
  });
  after(async () => {
    rig.xvfb?.child.kill('SIGTERM');
    rig.server?.closeAllConnections();
    rig.server?.close();
  });
  return { mail, rig };
}

/**
 * Print `PREFIX family | attempts | allow | challenge | block | behaviour scores` for each of
 * `families` over `rows` ({ family, decision, behaviour }).
 * @param {string} prefix
 * @param {string[]} families
 * @param {{ family: string, decision: string, behaviour: number | null }[]} rows
 */
export function printDecisionTable(prefix, families, rows) {
  const table = [`${prefix} family | attempts | allow | challenge | block | behaviour scores`];
  for (const f of families) {
    const rs = rows.filter((r) => r.family === f);
    const c = (/** @type {string} */ d) => rs.filter((r) => r.decision === d).length;
    table.push(`${prefix} ${f} | ${rs.length} | ${c('allow')} | ${c('challenge')} | ${c('block')} | ${rs.map((r) => r.behaviour ?? '-').join(' ')}`);
  }
  process.stdout.write(`${table.join('\n')}\n`);
}
