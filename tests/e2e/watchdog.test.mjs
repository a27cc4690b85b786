// The loader's watchdog (issue 12, item 6): whatever a probe or a worker does, the widget ends in
// a token or its documented error state within a bounded time.
// (a) async probes that never settle (enumerateDevices, permissions.query and UA-CH high-entropy
//     values replaced by never-resolving promises in an init script): a token is still produced,
//     and it records those probes as `TimeoutError` values (judged "unavailable" by the verifier).
// (b) a proof-of-work worker that never answers (the worker script routed to one that ignores
//     every message): the widget reaches `data-tollgate-state="error"`, `tollgate.execute()`
//     rejects and the `tollgate:error` event fires, within the pool's stall deadline
//     (`stallMs(15)` = 20.2 s at the demo's 15 bits) plus a generous margin for a loaded machine.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeToken, executeToken, startStack, waitForTollgate, watchPage } from './harness.mjs';

// Probe ids (protocol::telemetry::probe): media devices, notification permission, UA-CH full list.
const MEDIA_DEVICES = '39';
const NOTIFICATION_PERMISSION = '44';

describe('loader watchdog', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('(a) probes that never settle: a token anyway, with the timeouts recorded', { timeout: 120_000 }, async () => {
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'hung-probes');
    try {
      await page.addInitScript(() => {
        const never = () => new Promise(() => {});
        if (navigator.mediaDevices) navigator.mediaDevices.enumerateDevices = never;
        if (navigator.permissions) navigator.permissions.query = never;
        if (navigator.userAgentData) navigator.userAgentData.getHighEntropyValues = never;
      });
      await page.goto(`${stack.demo.url}/`, { waitUntil: 'load' });
      await waitForTollgate(page);
      // Let the probe schedule run past the 3 s probe deadline.
      await page.waitForTimeout(6000);
      const started = Date.now();
      const token = await executeToken(page, 60_000);
      assert.ok(typeof token === 'string' && token.length > 100, 'a token was produced');
      const d = await decodeToken(token);
      const ctx = `probes: ${JSON.stringify(d.decoded.probes)}\n${lines.join('\n')}`;
      for (const id of [MEDIA_DEVICES, NOTIFICATION_PERMISSION]) {
        assert.match(String(d.decoded.probes[id]?.error ?? ''), /^TimeoutError/, `probe ${id} recorded as a timeout\n${ctx}`);
      }
      assert.ok(!(d.env.tampered ?? []).includes('probe-errors'), `a timeout is not a lie\n${ctx}`);
      process.stderr.write(`watchdog (a): token ${Date.now() - started} ms after execute(), timeouts recorded\n`);
    } finally {
      await page.close();
    }
  });

  test('(b) a proof-of-work worker that never answers: the explicit error state', { timeout: 120_000 }, async () => {
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'dead-worker');
    try {
      await page.route('**/tollgate-worker.js', (route) =>
        route.fulfill({ contentType: 'text/javascript', body: 'self.onmessage = () => {};\n' }));
      await page.addInitScript(() => {
        window.__tgErrors = [];
        document.addEventListener('tollgate:error', (e) => window.__tgErrors.push(String(e.detail)));
      });
      const started = Date.now();
      await page.goto(`${stack.demo.url}/`, { waitUntil: 'load' });
      await waitForTollgate(page);
      const outcome = await page.evaluate(() =>
        window.tollgate.execute().then((t) => ({ token: t }), (e) => ({ error: String(e && e.message) })));
      const elapsed = Date.now() - started;
      const ctx = `outcome: ${JSON.stringify(outcome)}\n${lines.join('\n')}`;
      assert.ok(outcome.error, `execute() rejected\n${ctx}`);
      assert.match(outcome.error, /timed out|no proof-of-work worker/, ctx);
      const state = await page.evaluate(() => document.querySelector('[data-tollgate-state]')?.getAttribute('data-tollgate-state'));
      assert.equal(state, 'error', ctx);
      const events = await page.evaluate(() => window.__tgErrors);
      assert.ok(events.length >= 1, `tollgate:error fired\n${ctx}`);
      // Generous bound: the stall deadline is 20.2 s; the rest is slack for a loaded 2-core machine.
      assert.ok(elapsed < 60_000, `error state within 60 s (took ${elapsed} ms)`);
      process.stderr.write(`watchdog (b): error state after ${elapsed} ms (${outcome.error})\n`);
    } finally {
      await page.close();
    }
  });
});
