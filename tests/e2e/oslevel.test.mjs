// OS-level capture rig (issue 14, "Capture faithfulness and real-browser bots").
//
// A plain headful Chromium (no --headless, no remote debugging, no driver: nothing speaks CDP to
// it) runs under its own Xvfb display and is driven only by OS-level input: X11 XTEST events
// from `tests/e2e/xtest-play.py` (python3-xlib), the path a real input device's events take
// through the X server. Its page (`pages/oslevel.html`) loads the real loader and collector,
// reports its layout, and posts the token the loader wrote into the form at submit to this
// test's server; the test redeems it at siteverify itself. Every attempt gets a FRESH verifier
// (new process, empty memory store, no outcome reports, no preceding logins), so campaign and
// correlation signals cannot decide anything: what is measured is behaviour alone.
//
// Families, each a login (move to the username field, click, type, move to the password field,
// click, type, move to "Sign in", click):
// - human: recorded people replayed. Pointer: three SapiMouse login-like windows of one subject
//   (the trailing button-free moves within 1.2 s before each final clean click, translated, and
//   mirrored or turned by a quarter if needed, so the click lands in the field); keys: Aalto
//   typing (the first 14 keys of a sentence: press and release times and key classes as
//   recorded; letters stand in for `char`). A fixed, deterministic sample (subjects in file
//   order) from `../shared/data/traces/` or $TOLLGATE_TRACES, read in place.
// - ghost-cursor: npm `ghost-cursor`'s `path()` points, played at 60–125 Hz, Gaussian typing.
// - windmouse: WindMouse (gravity + wind, B. Land's algorithm) at 60–125 Hz, Gaussian typing.
// - straight: constant-speed straight lines at 60–125 Hz, Gaussian typing.
// - sleep-loop: ghost-cursor's points one per 0.1 s sleep (`pyautogui.moveTo` per point with its
//   default pause), Gaussian typing: too sparse for strokes, judged by the sparse-moves rule.
// - teleport: the pointer warped onto each target in one motion (`xdotool mousemove X Y`,
//   `pyautogui.click(x, y)`), or half the time 10–25 px off it and then eased onto it in 4–8 steps;
//   a Gaussian click there, Gaussian typing: judged by teleport-clicks.
// - pyautogui: `pyautogui.moveTo(x, y, duration=d, tween=...)` stepped as pyautogui does (straight
//   lines, 50 ms steps for d = 0.5 s, 50–58.3 ms for a drawn 0.3–0.8 s), Gaussian clicks and typing:
//   judged by ruler-straight, sparse-steps and off-frame-clock (a capture of device samples has no
//   50 ms cadence).
//   Its name and password are capitalised, each capital typed Shift-then-key at once
//   (`pyautogui.keyDown('shift')`): asserted to carry `instant-shift`, through XTEST and Chromium,
//   and its 50 ms tween steps `sparse-steps`.
//
// Capture faithfulness: each human replay is also written as a trace record (exactly the rows
// played, in page coordinates) and scored offline by `tollgate-intel eval --with-features`; the
// features the verifier computed from the token must equal those within TOLERANCE per feature.
//
// The bot sessions are built by `osbots.mjs`, which `intel/scripts/rig-bots.mjs` also scores offline
// in hundreds (the rig's sample of 10 cannot tell 10 % from 30 %).
//
// Assertions: faithfulness; replayed humans allowed at >= OSLEVEL_HUMAN_ALLOW_MIN (default 0.8);
// ghost-cursor, WindMouse, straight-line, sleep-loop, teleport and pyautogui bots allowed at <= OSLEVEL_BOT_ALLOW_MAX each (default
// 0.1: at most one of 10; README.md lists the counts measured per model);
// OSLEVEL_BOT_ALLOW_MAX=off only prints them (OSLEVEL-TABLE).
// OSLEVEL_REALTIME=0 runs Xvfb and the player without SCHED_FIFO and Chromium without nice (to see
// what a loaded machine does to the capture: the faithfulness check then fails on timing
// features). OSLEVEL_SETTLE_MS: pause between "loader ready" and the first input (default 800).
// OSLEVEL_DUMP=PREFIX writes PREFIX-N.json per attempt (schedule, session, decoded token).
// Attempts per family: OSLEVEL_ATTEMPTS (default 10; straight lines OSLEVEL_STRAIGHT_ATTEMPTS, sleep
// loops OSLEVEL_SLEEP_ATTEMPTS, teleports OSLEVEL_TELEPORT_ATTEMPTS and pyautogui OSLEVEL_PYAUTOGUI_ATTEMPTS, default 4 each). Needs Xvfb, /usr/bin/python3 with python3-xlib, Chromium and the trace files:
// skipped loudly without them, failed under CI=true. Trace reading, the human sessions, the XTEST
// player, Xvfb and Chromium start-up live in `xtest.mjs` (shared with turnstile.test.mjs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CHROMIUM, DEV_SECRET, ROOT, attemptRoute, decodeToken, mailbox, missingPrerequisite, servePages, siteverify, sleep, startVerifier, tempDir } from './harness.mjs';
import {
  calibrationMove,
  humanSample,
  humanSession,
  killGroup,
  launchChromium,
  mulberry32,
  startPlayer,
  startXvfb,
  toEvents,
  xtestPrerequisites,
} from './xtest.mjs';
import { RIG_BOTS, attemptSeed, botSession } from './osbots.mjs';

const INTEL_BIN = process.env.TOLLGATE_INTEL_BIN ?? join(ROOT, 'target', 'debug', 'tollgate-intel');

const N = Number(process.env.OSLEVEL_ATTEMPTS ?? 10);
const BOTS = RIG_BOTS.map((b) => ({ ...b, n: Number(process.env[b.env] ?? b.attempts) }));
const HUMAN_ALLOW_MIN = Number(process.env.OSLEVEL_HUMAN_ALLOW_MIN ?? 0.8);
const BOT_ALLOW_MAX = process.env.OSLEVEL_BOT_ALLOW_MAX === 'off' ? null : Number(process.env.OSLEVEL_BOT_ALLOW_MAX ?? 0.1);

const SCREEN = { w: 1280, h: 800 };
// Pause between "the loader is ready" and the first input event. With 0, on this loaded 2-core
// machine a replay lost up to 9 of its first moves (the first ~300 ms) while the loader's start-up
// work ran; see README ("OS-level capture rig").
const SETTLE_MS = Number(process.env.OSLEVEL_SETTLE_MS ?? 800);
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--password-store=basic',
  '--disable-features=Translate,PasswordManagerOnboarding',
  `--window-position=0,0`,
  `--window-size=${SCREEN.w},${SCREEN.h}`,
];

/**
 * Capture faithfulness: per-feature tolerances of |token feature - offline feature| for features
 * present on either side. `median` binds the median over all replays: a systematic shift from
 * coalescing, the loader's 4 ms thinning or timestamps shows there, and most features match
 * exactly in most replays. `each` binds every replay the rig delivered cleanly (no event injected
 * later than CLEAN_LATE_MS, no pointer sample lost, every interval in the token within
 * CLEAN_DELIVERY_MS of the recorded one); what remains there is the X server's 1 ms
 * clock (recordings have integer ms, so an event that leaves a fraction of a ms late can land
 * 1 ms later), to which timing-jitter features react most (jerk is a third derivative; an
 * interval SD of 0.5 ms moves a lot in log space; a speed-peak count may gain one; a rank
 * correlation over 7 keys swaps a rank). Replays that are not clean (a scheduler hiccup even
 * under SCHED_FIFO, or Chromium's X11 input path folding queued motion events into the last one
 * on a loaded machine, see MAX_LOST_SHARE) count only towards the medians.
 */
export const TOLERANCE = {
  default: { each: 0.08, median: 0.01 },
  pt_dt_sd_log: { each: 0.5, median: 0.1 },
  pt_dt_mad_rel: { each: 0.25, median: 0.05 },
  // 1 ms clock shifts move intervals across the frame-grid band (|d| 0.107 on a 199-row replay delivered
  // within 1 ms).
  pt_offgrid_share: { each: 0.2, median: 0.03 },
  kin_jerk_log: { each: 0.7, median: 0.1 },
  kin_power_law: { each: 0.15, median: 0.03 },
  kin_time_to_peak: { each: 0.15, median: 0.03 },
  kin_speed_peaks_log: { each: 0.7, median: 0.1 },
  kin_pause_share: { each: 0.1, median: 0.02 },
  kin_end_correction: { each: 0.34, median: 0.05 },
  kin_turn_log: { each: 0.12, median: 0.01 },
  kin_sign_change: { each: 0.12, median: 0.01 },
  kin_step_ratio: { each: 0.12, median: 0.01 },
  key_hold_flight_corr: { each: 0.15, median: 0.02 },
  // Lag-1 rank autocorrelation over ~13 press-to-press intervals: a sub-ms shift swaps the ranks of
  // two near-equal intervals (measured |d| up to 0.08 on clean replays).
  key_p2p_autocorr: { each: 0.15, median: 0.02 },
  // Report-only features (computed and returned, not trained on; model/src/features): the 1 ms-bin
  // interval entropy rises with the X server's sub-millisecond jitter (token above offline in every
  // replay, |d| up to 0.43, and 0.74 on a replay delivered within 1 ms: no per-replay bound holds at
  // a 1 ms clock, so median only), and the deceleration/acceleration phase ratio is a ratio of two short
  // durations that one sample landing 1 ms later near the speed peak can double (one subject's
  // short strokes: |d| 0.87–1.04, and 2.18 in a replay delivered within 1 ms; the others ≤ 0.25),
  // so no per-replay bound is meaningful at the X server's 1 ms clock: only its median is held
  // (`each: null`; it is reported, never trained or scored).
  pt_dt_entropy: { each: null, median: 0.3 },
  kin_decel_ratio: { each: null, median: 0.1 },
};
/** A replay with an event injected later than this (or a lost sample) is judged by the medians only. */
const CLEAN_LATE_MS = 2;
/**
 * End to end, the player's clock is not the browser's: Xvfb or Chromium descheduled on a loaded
 * machine delivers on-time injections in a burst, which the player cannot see. A replay is clean
 * only when every interval between successive pointer samples in the token is within this many ms
 * of the recorded interval (the X server's 1 ms clock plus a fraction of a ms of injection lateness).
 */
const CLEAN_DELIVERY_MS = 2.5;
/**
 * The largest |token interval - recorded interval| over successive pointer samples, or null when
 * the token does not hold exactly the rows played (a lost or folded sample).
 */
function deliveryJitter(played, got) {
  if (played.length !== got.length) return null;
  let worst = 0;
  for (let i = 1; i < played.length; i++) {
    worst = Math.max(worst, Math.abs(got[i].t - got[i - 1].t - (played[i][0] - played[i - 1][0])));
  }
  return worst;
}
/**
 * Pointer rows played but missing from the token: at most this share per replay, and a quarter of
 * it overall (measured on this loaded machine: 0.4–1.9 % overall per run, at worst 21 of 199 rows
 * in one replay). A collector that lost coalesced samples or thinned wrongly loses far more.
 */
const MAX_LOST_SHARE = 0.2;
const NOT_COMPARED = new Set(['ses_first_input_log', 'ses_submit_log', 'ses_idle_max_log', 'ses_events_log', 'click_target_offset', 'click_pressure_zero']);

/** Missing prerequisite: skip loudly, or fail under CI=true (the project's rule). */
function missingPrerequisites() {
  const missing = xtestPrerequisites();
  if (!existsSync(INTEL_BIN)) missing.push(`${INTEL_BIN} (cargo build -p tollgate-intel)`);
  return missing;
}

/** The session as a trace record (data README format) for `tollgate-intel`. */
function toRecord(id, subject, session) {
  return {
    id,
    source: 'oslevel',
    subject,
    label: 'human',
    generator: null,
    device: 'mouse',
    screen: null,
    pointer: session.pointer.map(([t, kind, x, y, b]) => [t, kind, x, y, b]),
    keys: session.keys.map(([d, u, c]) => [d, u, c]),
  };
}

// --- the test -------------------------------------------------------------------------------------

describe('OS-level capture rig (Xvfb + XTEST + headful Chromium, fresh verifier per attempt)', () => {
  let xvfb;
  let player;
  let chromium;
  let server;
  const mail = mailbox();
  const results = [];
  const started = Date.now();

  before(async () => {
    const missing = missingPrerequisites();
    if (missing.length) return;
    xvfb = await startXvfb(SCREEN);
    player = await startPlayer(xvfb.display);
    server = await servePages('oslevel.html', attemptRoute(mail));
    const url = `http://127.0.0.1:${server.address().port}/oslevel.html?n=0`;
    chromium = launchChromium([...CHROMIUM_ARGS, `--user-data-dir=${tempDir('oslevel-chromium')}`, `--app=${url}`], xvfb.display);
  });

  after(async () => {
    killGroup(chromium);
    player?.child.stdin.end();
    killGroup(player?.child);
    xvfb?.child.kill('SIGTERM');
    server?.closeAllConnections();
    server?.close();
  });

  test('humans replayed through XTEST: token features match offline features; bots measured', { timeout: 600_000 }, async (t) => {
    const missing = missingPrerequisites();
    if (missing.length) return t.skip(missingPrerequisite('oslevel', `missing: ${missing.join('; ')}`));
    process.stdout.write(`OSLEVEL rig: Xvfb ${xvfb.display} (${xvfb.policy}), XTEST player (${player.policy}), ${CHROMIUM} headful --app, fresh verifier per attempt\n`);
    const sample = humanSample(N);
    let nextSubject = 0;
    const plan = [
      ...Array.from({ length: N }, (_, i) => ({ family: 'human', i })),
      ...BOTS.flatMap(({ family, n }) => Array.from({ length: n }, (_, i) => ({ family, i }))),
    ];
    let offset = null;
    let cursor = { x: 640, y: 700 };
    const records = [];

    for (let n = 0; n <= plan.length; n++) {
      const res = await mail.take(`attempt:${n}`, 60_000);
      if (n === plan.length) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}');
        break;
      }
      if (n === 0) {
        // Calibration before the loader exists: the page notes screen - client offsets.
        cursor = await calibrationMove(player, cursor);
      }
      const verifier = await startVerifier();
      try {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ api: verifier.url }));
        const ready = await mail.take(`ready:${n}`, 60_000);
        if (n === 0) {
          assert.ok(ready.offset, `no calibration offset: ${JSON.stringify(ready)}`);
          offset = ready.offset;
        } else if (ready.offset) {
          assert.deepEqual(ready.offset, offset, 'the window moved between attempts');
        }
        const a = plan[n];
        const rng = mulberry32(attemptSeed(n));
        const pageCursor = { x: cursor.x - offset.dx, y: cursor.y - offset.dy };
        let session = null;
        if (a.family === 'human') {
          // The next recorded person (file order) whose segments fit this page: deterministic.
          while (!session && nextSubject < sample.pointers.length) {
            a.h = { ...sample.pointers[nextSubject++], keys: sample.keys[a.i] };
            session = humanSession(a.h, ready, rng);
          }
          assert.ok(session, `only ${a.i} recorded subjects fit the page`);
        } else {
          session = botSession(a.family, pageCursor, ready, rng);
        }
        const events = toEvents(session, offset);
        await sleep(SETTLE_MS);
        const played = await player.play(events);
        const last = session.pointer[session.pointer.length - 1];
        cursor = { x: last[2] + offset.dx, y: last[3] + offset.dy };
        const report = await mail.take(`report:${n}`, 60_000);
        assert.ok(report.token, `attempt ${n} (${a.family}): the page posted no token`);
        const { json } = await siteverify(verifier.url, { secret: DEV_SECRET, response: report.token });
        assert.equal(json['error-codes']?.length ?? 0, 0, JSON.stringify(json));
        const tg = json.tollgate;
        const row = { n, family: a.family, hz: session.hz, decision: tg.decision, score: tg.score, reasons: tg.reasons, features: tg.features, late: played.late_ms, session };
        if (a.family === 'human') {
          row.id = `oslevel/${a.h.subject}+${a.h.keys.subject}/${n}`;
          row.decoded = await decodeToken(report.token);
          records.push(toRecord(row.id, `${a.h.subject}+${a.h.keys.subject}`, session));
        }
        results.push(row);
        if (process.env.OSLEVEL_DUMP) writeFileSync(`${process.env.OSLEVEL_DUMP}-${n}.json`, JSON.stringify({ events, session, decoded: row.decoded ?? (await decodeToken(report.token)), features: tg.features }));
        process.stdout.write(
          `OSLEVEL ${a.family}#${a.i}${session.hz ? `@${session.hz}Hz` : ''}: decision=${tg.decision} score=${tg.score} reasons=[${tg.reasons.join(' ')}] late p90=${played.late_ms.p90}ms max=${played.late_ms.max}ms\n`,
        );
      } finally {
        await verifier.stop();
      }
    }
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);

    // Offline features of exactly the rows played, through the same extraction the model trains on,
    // read as a capture of coalesced samples (`--as-captures`) as the verifier reads the token: a
    // recording faster than display frames is then read at frame spacing on both sides
    // (`features::pointer::frame_view`), so what is compared is the capture, not that reading.
    const dir = tempDir('oslevel-records');
    const recFile = join(dir, 'records.jsonl');
    const outFile = join(dir, 'features.jsonl');
    writeFileSync(recFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await promisify(execFile)(INTEL_BIN, ['eval', '--traces', recFile, '--synthetic-scale', '0', '--as-captures', '--with-features', '--out', outFile], { cwd: ROOT, maxBuffer: 64 << 20 });
    const offline = new Map(
      readFileSync(outFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l))
        .filter((l) => !l.eval)
        .map((l) => [l.id, l]),
    );

    // Faithfulness: per feature, |token - offline| over the human replays. The feature names are
    // the offline extraction's (siteverify's `features` also holds counters that are not features).
    const names = new Set([...offline.values()].flatMap((o) => Object.keys(o.features)));
    const devs = new Map();
    const failures = [];
    // Per-replay excesses over `each`. One clean replay may exceed it by less than twice (a 1 ms
    // clock event the rig cannot see); two replays, or twice the bound anywhere, fail.
    const excess = [];
    const humanRows = results.filter((r) => r.family === 'human');
    for (const row of humanRows) {
      const off = offline.get(row.id);
      assert.ok(off, `offline record ${row.id} missing`);
      row.offline = off;
      // `each` binds replays the rig delivered cleanly: no event left the player more than
      // CLEAN_LATE_MS late, the token holds as many pointer samples as rows were played, and
      // their intervals are the recorded ones within CLEAN_DELIVERY_MS.
      row.delivery = deliveryJitter(row.session.pointer, row.decoded.decoded.pointer);
      row.clean = row.late.max <= CLEAN_LATE_MS && row.delivery !== null && row.delivery <= CLEAN_DELIVERY_MS;
      for (const name of names) {
        if (NOT_COMPARED.has(name)) continue;
        const a = row.features[name];
        const b = off.features[name];
        if (a === undefined && b === undefined) continue;
        if (a === undefined || b === undefined) {
          failures.push(`${row.id} ${name}: token ${a} vs offline ${b} (present on one side only)`);
          continue;
        }
        const diff = Math.abs(a - b);
        if (!devs.has(name)) devs.set(name, []);
        devs.get(name).push({ diff, clean: row.clean });
        const tol = TOLERANCE[name] ?? TOLERANCE.default;
        if (row.clean && tol.each !== null && diff > tol.each) {
          excess.push({ id: row.id, far: diff > 2 * tol.each, text: `${row.id} ${name}: token ${a.toFixed(4)} vs offline ${b.toFixed(4)} (|d| ${diff.toFixed(4)} > ${tol.each})` });
        }
      }
    }
    const excessReplays = new Set(excess.map((e) => e.id));
    for (const e of excess) process.stdout.write(`OSLEVEL-FAITHFULNESS over each-tolerance: ${e.text}\n`);
    if (excessReplays.size > 1 || excess.some((e) => e.far)) failures.push(...excess.map((e) => e.text));
    process.stdout.write('OSLEVEL-FAITHFULNESS feature | tolerance each / median | max |d| clean replays | max |d| all | median |d| all | replays compared\n');
    for (const [name, ds] of [...devs.entries()].sort()) {
      const sorted = ds.map((d) => d.diff).sort((x, y) => x - y);
      const median = sorted[Math.floor((sorted.length - 1) / 2)];
      const cleanMax = Math.max(0, ...ds.filter((d) => d.clean).map((d) => d.diff));
      const tol = TOLERANCE[name] ?? TOLERANCE.default;
      if (median > tol.median) failures.push(`${name}: median |d| ${median.toFixed(4)} > ${tol.median} over ${ds.length} replays`);
      process.stdout.write(`OSLEVEL-FAITHFULNESS ${name} | ${tol.each} / ${tol.median} | ${cleanMax.toFixed(4)} | ${sorted[sorted.length - 1].toFixed(4)} | ${median.toFixed(4)} | ${ds.length}\n`);
    }
    // Samples: every key must arrive; pointer rows only with Chromium's occasional X11 motion folding.
    let played = 0;
    let lost = 0;
    for (const row of results.filter((r) => r.family === 'human')) {
      const rows = row.session.pointer.length;
      const got = row.decoded.decoded.pointer.length;
      played += rows;
      lost += Math.max(0, rows - got);
      if (row.decoded.decoded.keys.length !== row.session.keys.length) failures.push(`${row.id}: ${row.session.keys.length} keys played, ${row.decoded.decoded.keys.length} in the token`);
      if (rows - got > MAX_LOST_SHARE * rows) failures.push(`${row.id}: ${rows - got} of ${rows} pointer rows missing from the token`);
    }
    process.stdout.write(`OSLEVEL-FAITHFULNESS pointer rows missing from tokens: ${lost} of ${played} (${((100 * lost) / played).toFixed(2)} %)\n`);
    const clean = humanRows.filter((r) => r.clean).length;
    process.stdout.write(`OSLEVEL-FAITHFULNESS clean replays (each-tolerances apply): ${clean} of ${humanRows.length}\n`);
    if (clean * 2 < humanRows.length) failures.push(`only ${clean} of ${humanRows.length} replays were delivered cleanly: the rig itself is too disturbed to judge`);
    if (lost > (MAX_LOST_SHARE / 4) * played) failures.push(`${lost} of ${played} pointer rows missing from the tokens overall`);
    for (const row of results.filter((r) => r.family === 'human')) {
      process.stdout.write(
        `OSLEVEL-HUMAN ${row.id}: live ${row.decision} ${row.score} / offline ${row.offline.decision} ${row.offline.score}; rows played ${row.session.pointer.length} pointer + ${row.session.keys.length} keys, token ${row.decoded.decoded.pointer.length} pointer (${row.decoded.decoded.pointer.filter((p) => p.coalesced).length} from getCoalescedEvents) + ${row.decoded.decoded.keys.length} keys; injection late p90 ${row.late.p90} ms, max ${row.late.max} ms; delivery jitter ${row.delivery === null ? 'n/a' : `${row.delivery.toFixed(2)} ms`}${row.clean ? ' (clean)' : ''}\n`,
      );
    }

    // Decision table.
    process.stdout.write(`OSLEVEL-TABLE family | attempts | allow | challenge | block | allowed | score median (min–max)  [${elapsed} s]\n`);
    const families = ['human', ...BOTS.map((b) => b.family)];
    const rate = {};
    for (const f of families) {
      const rows = results.filter((r) => r.family === f);
      if (!rows.length) continue;
      const c = (d) => rows.filter((r) => r.decision === d).length;
      const scores = rows.map((r) => r.score).sort((a, b) => a - b);
      rate[f] = c('allow') / rows.length;
      process.stdout.write(
        `OSLEVEL-TABLE ${f} | ${rows.length} | ${c('allow')} | ${c('challenge')} | ${c('block')} | ${(100 * rate[f]).toFixed(0)} % | ${scores[Math.floor(scores.length / 2)].toFixed(3)} (${scores[0].toFixed(3)}–${scores[scores.length - 1].toFixed(3)})\n`,
      );
    }

    assert.deepEqual(failures, [], `capture faithfulness:\n${failures.join('\n')}`);
    assert.ok(rate.human >= HUMAN_ALLOW_MIN, `replayed humans allowed ${(100 * rate.human).toFixed(0)} % < ${100 * HUMAN_ALLOW_MIN} %`);
    // pyautogui's capitals, Shift and key sent at once over XTEST, reach the page < 10 ms apart;
    // the replayed people's Shifts lead by their recorded tens of milliseconds.
    for (const r of results) {
      assert.equal(r.reasons.includes('instant-shift'), r.family === 'pyautogui', `instant-shift ${r.family === 'pyautogui' ? 'missing' : 'raised'}: ${r.family} ${r.score} [${r.reasons.join(' ')}]`);
      // pyautogui's tween moves the pointer in steps at least 50 ms apart, one XTEST motion each:
      // long steps with no report between (`sparse-steps`). A replayed person's moves come at the
      // recording's pace.
      if (r.family === 'pyautogui' || r.family === 'human') {
        assert.equal(r.reasons.includes('sparse-steps'), r.family === 'pyautogui', `sparse-steps ${r.family === 'pyautogui' ? 'missing' : 'raised'}: ${r.family} ${r.score} [${r.reasons.join(' ')}]`);
      }
    }
    if (BOT_ALLOW_MAX !== null) {
      for (const { family: f } of BOTS) {
        if (rate[f] !== undefined) assert.ok(rate[f] <= BOT_ALLOW_MAX, `${f} bots allowed ${(100 * rate[f]).toFixed(0)} % > ${100 * BOT_ALLOW_MAX} %`);
      }
    } else {
      process.stdout.write('OSLEVEL bot allow rates are measured, not asserted (OSLEVEL_BOT_ALLOW_MAX=off)\n');
    }
  });
});
