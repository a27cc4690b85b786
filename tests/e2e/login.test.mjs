// The demo login flow in a real (headless) Chromium against the real verifier and demo site:
// (a) a Playwright login is recognised as automation and blocked, with the full verdict shown;
// (b) a token is single use (replay → timeout-or-duplicate), idempotency_key retries are stable;
// (c) a wrong secret is refused (invalid-input-secret) and does not burn the token.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DEV_SECRET,
  executeToken,
  moveMouseTo,
  siteverify,
  startDemo,
  startStack,
  typeLikeAHuman,
  waitForTollgate,
  watchPage,
} from './harness.mjs';

/**
 * `window.tollgate.timings` holds `performance.now()` marks (ms since navigation start):
 * loaderStart, wasmReady, challengeReceived, solved (the widget can hand out a token from then
 * on), tokenReady (the token was actually built, i.e. at submit). "Page load → token ready" is
 * `solved`; `tokenReady` also includes the time the user spent typing.
 */
function round(v) {
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : 'n/a';
}

describe('demo login in headless Chromium', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('(a) Playwright login is blocked as automation, verdict shown on the result page', async (t) => {
    const page = await stack.browser.newPage();
    const console = watchPage(page, 'demo');
    try {
      const loadStart = Date.now();
      await page.goto(`${stack.demo.url}/`, { waitUntil: 'load' });
      await waitForTollgate(page);

      // Capture the form post (with the token) without intercepting it, and keep the loader's
      // timings across the navigation: a submit listener copies them into sessionStorage (the
      // loader's own listener runs first and builds the token before the real submit).
      let posted = null;
      page.on('request', (req) => {
        if (req.method() === 'POST' && new URL(req.url()).pathname === '/login' && posted === null) {
          posted = new URLSearchParams(req.postData() ?? '');
        }
      });
      await page.evaluate(() => {
        window.addEventListener('submit', () => {
          sessionStorage.setItem('e2e-timings', JSON.stringify(window.tollgate?.timings ?? null));
        });
      });

      let mouse = await moveMouseTo(page, '#username');
      await typeLikeAHuman(page, '#username', 'alice.walker');
      mouse = await moveMouseTo(page, '#password', mouse);
      await typeLikeAHuman(page, '#password', 'correct horse');
      await moveMouseTo(page, '#login', mouse);
      await Promise.all([
        page.waitForURL('**/login', { timeout: 90_000 }),
        page.locator('#login').click({ delay: 70 }),
      ]);
      await page.locator('#verdict').waitFor({ timeout: 30_000 });
      const elapsed = Date.now() - loadStart;
      const timings = JSON.parse((await page.evaluate(() => sessionStorage.getItem('e2e-timings'))) ?? 'null');

      const verdict = JSON.parse(await page.locator('#verdict').textContent());
      const ctx = `verdict: ${JSON.stringify(verdict)}\n${console.join('\n')}`;
      assert.equal(verdict.success, true, ctx);
      assert.deepEqual(verdict['error-codes'] ?? [], [], ctx);
      assert.equal(verdict.hostname, '127.0.0.1', ctx);
      assert.equal(verdict.action, 'login', ctx);
      assert.equal(typeof verdict.challenge_ts, 'string', ctx);
      assert.equal(verdict.tollgate?.decision, 'block', ctx);
      assert.ok(verdict.tollgate.reasons.includes('automation'), ctx);
      assert.equal(typeof verdict.tollgate.score, 'number', ctx);

      // The page, loader, workers and wasm ran under the demo's strict CSP without violations.
      const csp = console.filter((l) => /Content Security Policy|Refused to/i.test(l));
      assert.deepEqual(csp, [], csp.join('\n'));

      // The demo applied the decision: refusal page, not signed in.
      assert.equal(await page.locator('[data-outcome]').getAttribute('data-outcome'), 'block');
      assert.equal(await page.getByText('Welcome back').count(), 0);

      // The token the form carried.
      assert.ok(posted, 'the login form post was not seen');
      assert.equal(posted.get('username'), 'alice.walker');
      const token = posted.get('tollgate-response') ?? '';
      assert.ok(token.length > 0, 'no tollgate-response in the form post');
      // protocol::token::MAX_TOKEN_CHARS. Note: Turnstile caps responses at 2048 characters; Tollgate
      // tokens carry telemetry and are larger (reported in the metric line below).
      assert.ok(token.length <= 32 * 1024, `token is ${token.length} chars (> 32 KiB cap)`);
      assert.match(token, /^[A-Za-z0-9_-]+$/, 'token is not base64url');

      // Replaying the token the demo just redeemed is refused.
      const replay = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: token });
      assert.equal(replay.json.success, false);
      assert.deepEqual(replay.json['error-codes'], ['timeout-or-duplicate']);

      // The demo's verdict log has it, newest first.
      const log = await (await fetch(`${stack.demo.url}/api/verdicts`)).json();
      assert.equal(log[0].outcome, 'block');
      assert.equal(log[0].username, 'alice.walker');
      assert.equal(log[0].siteverify.tollgate.decision, 'block');

      assert.ok(timings && typeof timings.solved === 'number', `window.tollgate.timings: ${JSON.stringify(timings)}`);
      assert.ok(timings.tokenReady >= timings.solved, JSON.stringify(timings));
      const line =
        `E2E-METRIC token_chars=${token.length} token_ready_ms=${round(timings.solved)}` +
        ` solve_ms=${round(timings.solveMs)} token_built_ms=${round(timings.tokenReady)}` +
        ` workers=${timings.workers ?? 'n/a'} hashes=${timings.hashes ?? 'n/a'}`;
      process.stdout.write(`${line}\n`);
      t.diagnostic(`window.tollgate.timings=${JSON.stringify(timings)} page_load_to_result_ms=${elapsed}`);
    } finally {
      await page.close();
    }
  });

  test('(b) a token is single use; idempotency_key retries get the same answer', async () => {
    const page = await stack.browser.newPage();
    const console = watchPage(page, 'demo');
    try {
      await page.goto(`${stack.demo.url}/`);
      await waitForTollgate(page);
      await typeLikeAHuman(page, '#username', 'bob');
      await typeLikeAHuman(page, '#password', 'hunter22');

      const token = await executeToken(page);
      assert.equal(typeof token, 'string', console.join('\n'));
      assert.ok(token.length > 0);
      // The hidden input carries the same token.
      const hidden = await page.locator('input[name="tollgate-response"]').inputValue();
      assert.equal(hidden, token);

      const first = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: token });
      assert.equal(first.status, 200);
      assert.equal(first.json.success, true, JSON.stringify(first.json));
      const second = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: token });
      assert.equal(second.status, 200);
      assert.equal(second.json.success, false);
      assert.deepEqual(second.json['error-codes'], ['timeout-or-duplicate']);

      // Turnstile semantics: the same idempotency_key gets the same result again.
      const fresh = await executeFresh(page);
      const key = crypto.randomUUID();
      const a = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: fresh, idempotency_key: key });
      const b = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: fresh, idempotency_key: key });
      assert.equal(a.json.success, true, JSON.stringify(a.json));
      assert.equal(b.json.success, true, JSON.stringify(b.json));
      assert.equal(b.json.tollgate?.id, a.json.tollgate?.id);
      const c = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: fresh });
      assert.deepEqual(c.json['error-codes'], ['timeout-or-duplicate']);
    } finally {
      await page.close();
    }
  });

  test('(c) a wrong secret is refused and does not burn the token', async () => {
    // A second demo instance configured with the wrong secret, same verifier.
    const badDemo = await startDemo({ verifierUrl: stack.verifier.url, secret: 'not-the-secret-0123456789' });
    stack.adopt(badDemo);
    const page = await stack.browser.newPage();
    watchPage(page, 'bad-demo');
    try {
      await page.goto(`${badDemo.url}/`);
      await waitForTollgate(page);
      await typeLikeAHuman(page, '#username', 'carol');
      await typeLikeAHuman(page, '#password', 'pw');
      const token = await executeToken(page);

      // Through the demo backend (JSON mode).
      const resp = await fetch(`${badDemo.url}/login`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'carol', password: 'pw', 'tollgate-response': token }).toString(),
      });
      const json = await resp.json();
      assert.equal(resp.status, 403);
      assert.equal(resp.headers.get('x-demo-outcome'), 'rejected');
      assert.equal(json.success, false);
      assert.deepEqual(json['error-codes'], ['invalid-input-secret']);

      // Directly, and with an empty secret.
      const direct = await siteverify(stack.verifier.url, { secret: 'wrong', response: token });
      assert.equal(direct.status, 200);
      assert.deepEqual(direct.json['error-codes'], ['invalid-input-secret']);
      const missing = await siteverify(stack.verifier.url, { response: token });
      assert.deepEqual(missing.json['error-codes'], ['missing-input-secret']);

      // The failed attempts did not burn the token: the right secret still redeems it once.
      const good = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: token });
      assert.equal(good.json.success, true, JSON.stringify(good.json));
    } finally {
      await page.close();
    }
  });
});

/** A new token after the previous one was handed out (reset, then execute). */
async function executeFresh(page) {
  await page.evaluate(() => window.tollgate.reset());
  return executeToken(page);
}
