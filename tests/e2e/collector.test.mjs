// The collector in a real page (headless Chromium, demo site, real verifier):
// (a) faithfulness: a known sequence of Playwright pointer and key events comes out of the token
//     (decoded by `verifier decode-token`) with the same count, order, classes and timing;
// (b) a realistic ~20 s login: token size and main-thread cost (longest collector task reported, not
//     asserted: timing budgets live in `make bench`)
//     (PerformanceObserver 'longtask' alongside the loader's own task log);
// (c) the device fingerprint hash is the same on two loads of the page, with the audio source
//     (OfflineAudioContext) in it; the A5 stack probe sees the Playwright frames of `execute()`;
// (d) A5 also through events: an input event dispatched from `page.evaluate` marks the token that a
//     real (CDP) click on the submit button posts; a page without such a script is not marked.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism, loadavg } from 'node:os';

import {
  decodeToken,
  executeToken,
  moveMouseTo,
  sleep,
  startStack,
  typeLikeAHuman,
  waitForTollgate,
  watchPage,
} from './harness.mjs';

// protocol::telemetry codes
const PK = { MOVE: 0, DOWN: 1, UP: 2 };
const KC = { CHAR: 0, ENTER: 3, TAB: 4, SHIFT: 5 };
const FP = { CANVAS: 1, SCREEN: 4, FONTS: 8, AUDIO: 64, AUDIO_SKIPPED: 128 }; // telemetry::fp_flags
// Sync probe groups in js/src/probes/schedule.js (`groups`); each run is one entry of timings.tasks.
const PROBE_GROUPS = 13;

/** Record what the page really dispatched (timeStamp, type, key class hints), before the loader. */
function recorder() {
  window.__rec = [];
  for (const type of ['pointermove', 'pointerdown', 'pointerup', 'keydown', 'keyup']) {
    window.addEventListener(
      type,
      (e) => {
        const coalesced = type === 'pointermove' && e.getCoalescedEvents ? e.getCoalescedEvents().length : 1;
        window.__rec.push({ type, t: e.timeStamp, key: e.key, repeat: !!e.repeat, coalesced });
      },
      { capture: true, passive: true },
    );
  }
}

describe('collector in headless Chromium', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('(a) dispatched pointer and key events are decoded faithfully', async () => {
    const page = await stack.browser.newPage();
    const logs = watchPage(page, 'faithfulness');
    try {
      await page.addInitScript(recorder);
      await page.goto(`${stack.demo.url}/`);
      await waitForTollgate(page);
      const box = await page.locator('#username').boundingBox();
      await page.mouse.move(40, 40);
      await page.mouse.move(box.x + 20, box.y + box.height / 2, { steps: 12 });
      await page.mouse.down();
      await sleep(90);
      await page.mouse.up();
      for (const ch of 'ab') {
        await page.keyboard.down(ch);
        await sleep(70);
        await page.keyboard.up(ch);
        await sleep(60);
      }
      // Rollover: Shift held across X, released first (pairs by physical key, not by order).
      await page.keyboard.down('Shift');
      await sleep(40);
      await page.keyboard.down('X');
      await sleep(50);
      await page.keyboard.up('Shift');
      await sleep(30);
      await page.keyboard.up('X');
      await sleep(40);
      await page.keyboard.press('Tab', { delay: 55 });
      // A capital the way DevTools types it (`keyboard.type`): no Shift, `shiftKey` false. Judged
      // against the Shift key only after 2 s without a Shift event.
      await sleep(2100);
      await page.keyboard.type('Q', { delay: 60 });
      await sleep(50);

      const token = await executeToken(page);
      const rec = await page.evaluate(() => window.__rec);
      const d = await decodeToken(token);
      const ctx = `${JSON.stringify(d.decoded.keys)}\n${JSON.stringify(rec)}\n${logs.join('\n')}`;
      const t0 = d.decoded.start_since_nav_ms; // collector clock → page clock
      const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 1, `${what}: decoded ${a} vs dispatched ${b}\n${ctx}`);

      // Pointer: every dispatched move (one coalesced sample each here), down and up, in order.
      const ptr = d.decoded.pointer;
      const want = rec.filter((r) => r.type.startsWith('pointer'));
      assert.ok(want.every((r) => r.coalesced === 1), 'expected one coalesced sample per move');
      assert.equal(ptr.length, want.length, ctx);
      for (let i = 0; i < want.length; i++) {
        const kind = { pointermove: PK.MOVE, pointerdown: PK.DOWN, pointerup: PK.UP }[want[i].type];
        assert.equal(ptr[i].kind, kind, `pointer ${i}`);
        near(ptr[i].t + t0, want[i].t, `pointer ${i} time`);
        assert.equal(ptr[i].trusted, true);
        assert.equal(ptr[i].ptype, 1); // mouse
      }
      const down = ptr.find((p) => p.kind === PK.DOWN);
      assert.equal(down.buttons, 1);
      assert.ok(down.pressure > 0.4 && down.pressure < 0.6, `pressure ${down.pressure}`);
      assert.ok(Math.abs(down.x - (box.x + 20)) < 0.2 && Math.abs(down.y - (box.y + box.height / 2)) < 0.2);
      assert.ok(Array.isArray(down.screen_offset) && Array.isArray(down.size), JSON.stringify(down));

      // Keys: one record per physical press, in press order, class only, hold = keyup − keydown.
      const downs = rec.filter((r) => r.type === 'keydown' && !r.repeat);
      const ups = rec.filter((r) => r.type === 'keyup');
      const keys = d.decoded.keys;
      assert.equal(keys.length, downs.length, ctx);
      assert.deepEqual(keys.map((k) => k.class), [KC.CHAR, KC.CHAR, KC.SHIFT, KC.CHAR, KC.TAB, KC.CHAR]);
      for (let i = 0; i < keys.length; i++) near(keys[i].down + t0, downs[i].t, `key ${i} down`);
      const upOf = (key) => ups.find((u) => u.key === key).t;
      near(keys[2].up + t0, upOf('Shift'), 'Shift up');
      near(keys[3].up + t0, upOf('X'), 'X up (released after Shift)');
      near(keys[4].up + t0, upOf('Tab'), 'Tab up');
      assert.ok(keys.every((k) => (k.flags & 1) === 1), 'trusted');
      // key_flags::SHIFT_MISMATCH: only the capital typed without Shift (X came with its Shift).
      assert.deepEqual(keys.map((k) => (k.flags & 8) === 8), [false, false, false, false, false, true], ctx);
      // Field events: focus into the username, then blur on Tab; no key values anywhere.
      const kinds = d.decoded.fields.map((f) => f.kind);
      assert.ok(kinds.includes(0) && kinds.includes(1), JSON.stringify(d.decoded.fields));
      assert.ok(!JSON.stringify(d.telemetry).includes('"X"'));
    } finally {
      await page.close();
    }
  });

  test('(b) a ~20 s login: token size, collector task durations reported', async (t) => {
    const page = await stack.browser.newPage();
    watchPage(page, 'login20');
    try {
      await page.addInitScript(() => {
        window.__long = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) window.__long.push([Math.round(e.startTime), Math.round(e.duration)]);
        }).observe({ type: 'longtask', buffered: true });
      });
      const start = Date.now();
      await page.goto(`${stack.demo.url}/`);
      await waitForTollgate(page);
      await sleep(1500); // reading the page
      let mouse = await moveMouseTo(page, '#username');
      await typeLikeAHuman(page, '#username', 'alice.walker@example.org');
      await sleep(800);
      mouse = await moveMouseTo(page, '#password', mouse);
      await typeLikeAHuman(page, '#password', 'correct horse battery');
      await page.mouse.wheel(0, 120);
      await sleep(600);
      await moveMouseTo(page, '#login', mouse);
      while (Date.now() - start < 19_000) await sleep(250);
      const token = await executeToken(page);
      const { tasks, long } = await page.evaluate(() => ({ tasks: window.tollgate.timings.tasks, long: window.__long }));
      const d = await decodeToken(token);
      const worst = Math.max(...tasks.map((x) => x[1]));
      // Long tasks that overlap a collector task (the page's own work is not ours to judge).
      const ours = long.filter(([s, dur]) => tasks.some(([ts, td]) => ts < s + dur && s < ts + td && td > 50));
      const line =
        `E2E-METRIC login20s token_chars=${token.length} token_bytes=${d.token_bytes} pointer=${d.decoded.pointer.length}` +
        ` keys=${d.decoded.keys.length} fields=${d.decoded.fields.length} probes=${Object.keys(d.decoded.probes).length}` +
        ` collector_tasks=${tasks.length} max_task_ms=${worst} longtasks=${JSON.stringify(long)} collector_longtasks=${ours.length}` +
        ` load_per_core=${(loadavg()[0] / availableParallelism()).toFixed(1)}`;
      process.stdout.write(`${line}\n`);
      t.diagnostic(line);
      assert.ok(d.decoded.keys.length >= 40, `keys ${d.decoded.keys.length}`);
      assert.ok(token.length < 12 * 1024, `token ${token.length} chars`);
      // The 50 ms long-task budget is a performance target: it is measured and reported (here and in
      // `make bench`), never asserted — task durations are wall-clock, and a shared 2-core machine
      // inflates them several times over (a CI run at load 1.5 per core saw one 58.9 ms group).
      // What is asserted is that every idle group ran and was timed.
      assert.ok(tasks.length >= PROBE_GROUPS, `collector tasks ${tasks.length}`);
      assert.ok(tasks.every(([, dur]) => Number.isFinite(dur) && dur >= 0), JSON.stringify(tasks));
      if (worst > 50 || ours.length) t.diagnostic(`over the 50 ms budget: ${JSON.stringify(tasks)}`);
    } finally {
      await page.close();
    }
  });

  test('(c) the fingerprint hash is stable across page loads, audio included', async (t) => {
    const page = await stack.browser.newPage();
    const logs = watchPage(page, 'fingerprint');
    try {
      const load = async (first) => {
        if (first) await page.goto(`${stack.demo.url}/`);
        else await page.reload();
        await waitForTollgate(page);
        // Every idle-time group ran, then a moment for the async audio render to settle.
        await page.waitForFunction((n) => window.tollgate.timings.tasks.length >= n, PROBE_GROUPS, { timeout: 60_000 });
        await sleep(1000);
        const d = await decodeToken(await executeToken(page));
        const fp = Buffer.from(d.telemetry.fingerprint).toString('hex');
        return { fp, flags: d.decoded.probes['47'], stack: d.decoded.probes['52'], automation: d.env.automation };
      };
      const a = await load(true);
      const b = await load(false);
      const line = `E2E-METRIC fingerprint load1=${a.fp} flags=${a.flags} load2=${b.fp} flags=${b.flags} stack=${a.stack}`;
      process.stdout.write(`${line}\n`);
      t.diagnostic(line);
      const ctx = `${line}\n${logs.join('\n')}`;
      assert.match(a.fp, /^[0-9a-f]{32}$/, ctx);
      assert.ok(/[1-9a-f]/.test(a.fp), ctx);
      for (const bit of [FP.CANVAS, FP.SCREEN, FP.FONTS, FP.AUDIO]) assert.ok((a.flags & bit) !== 0, `flag ${bit}: ${ctx}`);
      assert.equal(a.flags & FP.AUDIO_SKIPPED, 0, ctx);
      assert.equal(b.flags, a.flags, ctx);
      assert.equal(b.fp, a.fp, ctx);
      // A5: `executeToken` calls tollgate.execute() through page.evaluate (Playwright frames).
      assert.equal(a.stack, 2, ctx);
      assert.ok(a.automation.includes('automation-stack'), ctx);
    } finally {
      await page.close();
    }
  });

  test('(d) A5: evaluate()-dispatched events mark the posted token, CDP input alone does not', async () => {
    const post = async (scripted) => {
      const page = await stack.browser.newPage();
      const logs = watchPage(page, `a5-${scripted}`);
      try {
        await page.goto(`${stack.demo.url}/`);
        await waitForTollgate(page);
        let posted = null;
        page.on('request', (req) => {
          if (req.method() === 'POST' && new URL(req.url()).pathname === '/login' && posted === null) {
            posted = new URLSearchParams(req.postData() ?? '');
          }
        });
        if (scripted) {
          await page.evaluate(() => {
            const u = document.querySelector('#username');
            u.value = 'mallory';
            u.dispatchEvent(new Event('input', { bubbles: true }));
          });
        } else {
          await page.locator('#username').fill('alice');
        }
        await page.locator('#password').fill('hunter2');
        await Promise.all([page.waitForURL('**/login', { timeout: 90_000 }), page.locator('#login').click()]);
        assert.ok(posted, `no form post\n${logs.join('\n')}`);
        const d = await decodeToken(posted.get('tollgate-response') ?? '');
        return { stack: d.decoded.probes['52'], automation: d.env.automation };
      } finally {
        await page.close();
      }
    };
    const scripted = await post(true);
    assert.equal(scripted.stack, 2, JSON.stringify(scripted));
    assert.ok(scripted.automation.includes('automation-stack'), JSON.stringify(scripted));
    // fill() and click() run in Playwright's isolated world / over CDP: no main-world frames.
    const plain = await post(false);
    assert.equal(plain.stack, 0, JSON.stringify(plain));
    assert.ok(!plain.automation.includes('automation-stack'), JSON.stringify(plain));
  });
});
