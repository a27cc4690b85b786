// No-collector path (README "Browsers without WebAssembly or workers"): Chromium with
// `WebAssembly` and/or `Worker` deleted by an init script before the loader runs. The widget asks
// the verifier for a minimal token (`nc` in the challenge request), never loads the wasm or a
// worker, and the demo's login posts that token: siteverify answers decision `challenge` with
// reason `no-collector` (+ `no-wasm` / `no-workers`) — never `block` on its own — and the demo
// shows its one-time-code step. Also through the Turnstile shim with explicit rendering
// (`?render=explicit&onload=…`, `turnstile.render` with a callback).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEV_SECRET, DEV_SITEKEY, servePages, siteverify, startStack, typeLikeAHuman, watchPage } from './harness.mjs';

describe('browsers without WebAssembly or workers', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  for (const [label, remove, reasons] of [
    ['no WebAssembly, no workers', ['WebAssembly', 'Worker'], ['no-collector', 'no-wasm', 'no-workers']],
    ['no workers', ['Worker'], ['no-collector', 'no-workers']],
  ]) {
    test(`${label}: minimal token, verdict challenge with reason no-collector`, { timeout: 90_000 }, async () => {
      const page = await stack.browser.newPage();
      const lines = watchPage(page, 'nc');
      try {
        await page.addInitScript((names) => {
          for (const n of names) delete window[n];
        }, remove);
        const fetched = [];
        page.on('request', (req) => fetched.push(new URL(req.url()).pathname));
        await page.goto(`${stack.demo.url}/`);
        await page.waitForFunction(() => document.querySelector('.tollgate')?.getAttribute('data-tollgate-state') === 'ready', null, { timeout: 30_000 });
        assert.equal(await page.evaluate(() => typeof window.Worker), remove.includes('Worker') ? 'undefined' : 'function');

        await typeLikeAHuman(page, '#username', `nc-${remove.length}`);
        await typeLikeAHuman(page, '#password', 'correct horse');
        const [resp] = await Promise.all([
          page.waitForResponse((r) => new URL(r.url()).pathname === '/login' && r.request().method() === 'POST', { timeout: 30_000 }),
          page.locator('#login').click(),
        ]);
        assert.equal(resp.headers()['x-demo-outcome'], 'challenge', lines.join('\n'));
        await page.locator('#verdict').waitFor({ timeout: 30_000 });
        const verdict = JSON.parse(await page.locator('#verdict').textContent());
        const ctx = JSON.stringify(verdict);
        assert.equal(verdict.success, true, ctx); // the development site: success_when = "valid"
        assert.equal(verdict.tollgate.decision, 'challenge', ctx);
        assert.deepEqual(verdict.tollgate.reasons, reasons, ctx);
        assert.equal(verdict.action, 'login', ctx);
        assert.equal(verdict.hostname, '127.0.0.1', ctx);

        // Nothing of the collector was loaded: no wasm, no glue, no worker script.
        const collector = fetched.filter((p) => /\.wasm$|tollgate_collector\.js$|tollgate-(probe-)?worker\.js$/.test(p));
        assert.deepEqual(collector, [], `fetched: ${fetched.join(' ')}`);
      } finally {
        await page.close();
      }
    });
  }

  test('Turnstile page with explicit rendering, no WebAssembly: the callback gets the minimal token', { timeout: 60_000 }, async () => {
    // A page written for Turnstile's explicit rendering; only the script URL is Tollgate's.
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>ts</title></head><body>
<form method="post" action="#"><input id="username" autocomplete="username"><input id="password" type="password">
<div id="ts"></div><button type="submit">Sign in</button></form>
<script>
window.tsLoaded = function () {
  window.turnstile.render('#ts', { sitekey: '${DEV_SITEKEY}', action: 'login', callback: function (t) { window.tsToken = t; } });
};
</script>
<script src="/tollgate/turnstile.js?render=explicit&onload=tsLoaded&api=${encodeURIComponent(stack.verifier.url)}" async defer></script>
</body></html>`;
    const server = await servePages('none.html', (req, res, path) => {
      if (path !== '/') return false;
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      return true;
    });
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'nc-turnstile');
    try {
      await page.addInitScript(() => {
        delete window.WebAssembly;
      });
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      await page.waitForFunction(() => window.tsToken, null, { timeout: 30_000 });
      const { token, input } = await page.evaluate(() => ({
        token: window.tsToken,
        input: document.querySelector('input[name="cf-turnstile-response"]')?.value,
      }));
      assert.equal(input, token, lines.join('\n'));
      const { json } = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: token });
      assert.equal(json.tollgate.decision, 'challenge', JSON.stringify(json));
      assert.deepEqual(json.tollgate.reasons, ['no-collector', 'no-wasm']);
    } finally {
      await page.close();
      server.close();
    }
  });
});
