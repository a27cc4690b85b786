// A CDP client that never enables the Runtime domain, against the whole product: what the
// "undetectable" stacks (nodriver, patchright, rebrowser-patches) do to stay unseen. Playwright,
// Puppeteer and ChromeDriver enable Runtime on every page, which the collector sees
// (`cdp-console`); a client that only attaches to the page and sends `Input.*` (and `DOM.*`) leaves
// no automation trace in the page, so behaviour and the field-event rules are what decide.
//
// Debian's Chromium runs headful under its own Xvfb with `--remote-debugging-port=0` and
// `--disable-blink-features=AutomationControlled` (as nodriver starts it), on the OS-level rig's
// page (`pages/oslevel.html`: the real loader and collector; the page posts its token to this
// test's server, which redeems it at siteverify). Every attempt gets a fresh profile and a FRESH
// verifier. The client (`ws` over the browser's DevTools endpoint) sends nothing but
// `Target.attachToTarget`, `Input.dispatchMouseEvent`, `Input.dispatchKeyEvent` and, for the
// focus family, `DOM.getDocument`/`DOM.querySelector`/`DOM.focus`.
//
// Families (RAWCDP_ATTEMPTS each, default 2):
// - `cdp-ghost`: ghost-cursor's `path()` points, one move per ~16 ms timer tick, a held click on each
//   field and the button, Gaussian typing → asserted not allowed (behaviour alone).
// - `cdp-eased`: the same points re-spaced to a minimum-jerk time course (`easedGhostPoints`) →
//   measured and printed, not asserted (frame-locked eased curves are behaviour's known weak spot);
//   `cdp-eased-stamped` the same with each move's `timestamp` forged onto an exact 60 Hz grid.
// - `cdp-focus`: no pointer; `DOM.focus` on each field, Gaussian typing, Enter → asserted to carry
//   `unprompted-focus` and not allowed.
// - `cdp-touch`: a phone's gestures injected into the desktop browser (`Input.dispatchTouchEvent`,
//   no touch emulation): a finger swipe along ghost-cursor's points toward each field, a tap on
//   it, Gaussian typing. Touch input is judged by the lenient generic knots and its typing counts
//   as an on-screen keyboard's (timing unread), but this browser reports no touch points →
//   asserted to carry `touch-no-touch-points` (tier C) and not allowed.
// Every attempt asserts the token shows no `cdp-console` (the client kept Runtime off) and prints an
// E2E-RAWCDP line (decision, score, behaviour score, reasons, automation tells).
// Needs Chromium and Xvfb: skipped loudly without them, failed under CI=true.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { WebSocket } from 'ws';

import { easedGhostPoints, gauss, ghostPoints } from './osbots.mjs';
import { CHROMIUM, missingPrerequisite, redeemAttempt, sleep, startVerifier, tempDir } from './harness.mjs';
import { centreOf, clampTo, mulberry32, ownBrowserPrerequisites, ownBrowserRig, printDecisionTable } from './xtest.mjs';

const N = Number(process.env.RAWCDP_ATTEMPTS ?? 2);
/** The default site policy's allow threshold (verifier/README.md, "Scoring"). */
const ALLOW = 0.6;
const SCREEN = { w: 1280, h: 800 };


/** Chromium with a DevTools endpoint, opened on `url`; resolves to `{ child, ws }`. */
async function launch(url, display) {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--password-store=basic',
    '--disable-blink-features=AutomationControlled',
    `--user-data-dir=${tempDir('rawcdp-profile')}`,
    '--remote-debugging-port=0',
    '--window-position=0,0',
    `--window-size=${SCREEN.w},${SCREEN.h}`,
    url,
  ];
  const child = spawn(CHROMIUM, args, { env: { ...process.env, DISPLAY: display }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const endpoint = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no DevTools endpoint within 30 s:\n${buf}`)), 30_000);
    child.stderr.on('data', (d) => {
      buf += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`Chromium exited (${code}):\n${buf}`)));
  });
  const ws = new WebSocket(endpoint, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { child, ws };
}

/** A minimal CDP client on one browser connection: `send(method, params, sessionId)`. */
function client(ws) {
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    const p = msg.id !== undefined && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  return (method, params = {}, sessionId = undefined) =>
    new Promise((resolve, reject) => {
      const msg = { id: ++id, method, params, ...(sessionId ? { sessionId } : {}) };
      pending.set(msg.id, { resolve, reject, method });
      ws.send(JSON.stringify(msg));
    });
}

/** Key events of one character, Tab or Enter, as a keyboard sends them. */
function keyEvents(ch) {
  if (ch === '\t') return { key: 'Tab', code: 'Tab', windowsVirtualKeyCode: 9, down: 'rawKeyDown' };
  if (ch === '\r') return { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r', down: 'keyDown' };
  const upper = ch.toUpperCase();
  const code = /[a-z]/i.test(ch) ? `Key${upper}` : ch === ' ' ? 'Space' : ch === '.' ? 'Period' : '';
  const vk = /[a-z]/i.test(ch) ? upper.charCodeAt(0) : ch === ' ' ? 32 : ch === '.' ? 190 : 0;
  return { key: ch, code, windowsVirtualKeyCode: vk, text: ch, down: 'keyDown' };
}

/** Types `text` with Gaussian holds and gaps (`osbots.mjs`'s typing). */
async function type(send, session, text, rng) {
  for (const ch of text) {
    const { down, ...k } = keyEvents(ch);
    await send('Input.dispatchKeyEvent', { type: down, ...k }, session);
    const hold = Math.max(35, gauss(rng, 95, 20));
    await sleep(hold);
    await send('Input.dispatchKeyEvent', { type: 'keyUp', key: k.key, code: k.code, windowsVirtualKeyCode: k.windowsVirtualKeyCode }, session);
    await sleep(Math.max(20, gauss(rng, 185, 55) - hold));
  }
}

/**
 * Pointer login: `points` to each field and the button, one move per ~16 ms tick, held clicks.
 * `stamped`: each move carries a `timestamp` on an exact 60 Hz grid (±0.3 ms) from the stroke's
 * start, forging a display's clock instead of the timer's.
 */
async function pointerLogin(send, session, ready, rng, points, stamped = false) {
  const clamp = clampTo(ready.inner);
  let at = clamp({ x: 200 + rng() * 800, y: 550 + rng() * 150 });
  await send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...at }, session);
  for (const [id, text] of [['username', 'maria.lopez'], ['password', 'correct horse'], ['login', null]]) {
    await sleep(300 + rng() * 700);
    const to = clamp(centreOf(ready.boxes[id], rng));
    const t0 = Date.now() / 1000;
    for (const [k, p] of points(at, to, rng).map(clamp).entries()) {
      const timestamp = stamped ? { timestamp: t0 + (k * 16.667 + (rng() - 0.5) * 0.6) / 1000 } : {};
      await send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...p, ...timestamp }, session);
      await sleep(16);
    }
    at = to;
    await sleep(120 + rng() * 200);
    await send('Input.dispatchMouseEvent', { type: 'mousePressed', ...to, button: 'left', buttons: 1, clickCount: 1, force: 0.5 }, session);
    await sleep(Math.max(40, gauss(rng, 90, 18)));
    await send('Input.dispatchMouseEvent', { type: 'mouseReleased', ...to, button: 'left', buttons: 0, clickCount: 1 }, session);
    if (!text) break;
    await sleep(250 + rng() * 400);
    await type(send, session, text, rng);
  }
}

/** Touch login: a swipe toward each field along `ghostPoints`, a tap on it, typing. */
async function touchLogin(send, session, ready, rng) {
  const clamp = clampTo(ready.inner);
  const touch = (type, p) => send('Input.dispatchTouchEvent', { type, touchPoints: p ? [{ x: p.x, y: p.y, radiusX: 6, radiusY: 6, force: 0.5 }] : [] }, session);
  let at = clamp({ x: 200 + rng() * 800, y: 550 + rng() * 150 });
  for (const [id, text] of [['username', 'maria.lopez'], ['password', 'correct horse'], ['login', null]]) {
    await sleep(300 + rng() * 700);
    const to = clamp(centreOf(ready.boxes[id], rng));
    const points = ghostPoints(at, to, rng).map(clamp);
    await touch('touchStart', points[0]);
    for (const p of points.slice(1)) {
      await sleep(16);
      await touch('touchMove', p);
    }
    await touch('touchEnd');
    await sleep(150 + rng() * 250);
    await touch('touchStart', to);
    await sleep(Math.max(40, gauss(rng, 90, 18)));
    await touch('touchEnd');
    at = to;
    if (!text) break;
    await sleep(250 + rng() * 400);
    await type(send, session, text, rng);
  }
}

/** Keyboard login with the focus set through the DOM domain: no pointer, no Tab. */
async function focusLogin(send, session, ready, rng) {
  const { root } = await send('DOM.getDocument', { depth: 0 }, session);
  for (const [css, text] of [['#username', 'maria.lopez'], ['#password', 'correct horse']]) {
    const { nodeId } = await send('DOM.querySelector', { nodeId: root.nodeId, selector: css }, session);
    await send('DOM.focus', { nodeId }, session);
    await sleep(200 + rng() * 300);
    await type(send, session, text, rng);
    await sleep(300 + rng() * 500);
  }
  await type(send, session, '\r', rng);
}

describe('a Runtime-free CDP client against the product, fresh verifier per attempt', () => {
  const { mail, rig } = ownBrowserRig(SCREEN);
  const rows = [];

  let attempt = 0;
  async function login(family, drive) {
    const n = 2 * attempt++;
    const verifier = await startVerifier();
    let browser = null;
    try {
      browser = await launch(`http://127.0.0.1:${rig.server.address().port}/oslevel.html?n=${n}`, rig.xvfb.display);
      const send = client(browser.ws);
      const { json, decoded } = await redeemAttempt(mail, n, verifier, family, async (ready) => {
        const { targetInfos } = await send('Target.getTargets');
        const page = targetInfos.find((t) => t.type === 'page' && t.url.includes('oslevel.html'));
        assert.ok(page, `no page target: ${JSON.stringify(targetInfos)}`);
        const { sessionId } = await send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
        await sleep(800);
        await drive(send, sessionId, ready, mulberry32(0xcd9 + n));
      });
      const tg = json.tollgate;
      const row = { family, decision: tg.decision, score: tg.score, behaviour: tg.features.behaviour_score ?? null, reasons: tg.reasons, automation: decoded.env.automation, inconsistent: decoded.env.inconsistent ?? [] };
      rows.push(row);
      process.stdout.write(`E2E-RAWCDP ${family}: decision=${tg.decision} score=${tg.score} behaviour_score=${row.behaviour ?? 'n/a'} reasons=[${tg.reasons.join(' ')}] automation=[${decoded.env.automation.join(' ')}] inconsistent=[${row.inconsistent.join(' ')}]\n`);
      return row;
    } finally {
      browser?.ws.close();
      if (browser) {
        try {
          process.kill(-browser.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await verifier.stop();
    }
  }

  test('ghost-cursor and eased paths, DOM focus and touch, through CDP with Runtime off', { timeout: 600_000 }, async (t) => {
    const missing = ownBrowserPrerequisites();
    if (missing.length) return t.skip(missingPrerequisite('rawcdp', `missing: ${missing.join('; ')}`));
    const families = [
      ['cdp-ghost', (send, s, ready, rng) => pointerLogin(send, s, ready, rng, ghostPoints)],
      ['cdp-eased', (send, s, ready, rng) => pointerLogin(send, s, ready, rng, easedGhostPoints)],
      ['cdp-eased-stamped', (send, s, ready, rng) => pointerLogin(send, s, ready, rng, easedGhostPoints, true)],
      ['cdp-focus', focusLogin],
      ['cdp-touch', touchLogin],
    ];
    for (const [family, drive] of families) for (let i = 0; i < N; i++) await login(family, drive);
    printDecisionTable('E2E-RAWCDP-TABLE', families.map(([x]) => x), rows);
    for (const r of rows) {
      assert.ok(!r.automation.includes('cdp-console'), `the client enabled Runtime after all: ${JSON.stringify(r)}`);
      if (r.family.startsWith('cdp-eased')) continue;
      assert.notEqual(r.decision, 'allow', `a Runtime-free CDP login was allowed: ${JSON.stringify(r)}`);
      if (r.family === 'cdp-touch') {
        assert.ok(r.inconsistent.includes('touch-no-touch-points'), JSON.stringify(r));
        continue;
      }
      assert.ok(r.behaviour !== null && r.behaviour < ALLOW, `behaviour alone allowed it: ${JSON.stringify(r)}`);
      if (r.family === 'cdp-focus') assert.ok(r.reasons.includes('unprompted-focus'), JSON.stringify(r));
    }
  });
});
