// Test sitekeys on the challenge side (README "Development keys"): a page whose widget uses a
// `tgtest-*` sitekey gets Turnstile's dummy token from /v1/challenge with no challenge and no proof
// of work, and siteverify with the matching test secret gives the fixed answer — here through the
// demo configured with `tgtest-always-block` / its secret: the login is refused.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, startDemo, startVerifier, typeLikeAHuman, watchPage } from './harness.mjs';

describe('test sitekeys in the browser', () => {
  let verifier;
  let demo;
  let browser;
  before(async () => {
    verifier = await startVerifier(); // development mode: test keys enabled
    demo = await startDemo({ verifierUrl: verifier.url, sitekey: 'tgtest-always-block', secret: 'tgtest-secret-always-block' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await demo?.stop();
    await verifier?.stop();
  });

  test('tgtest-always-block: the dummy token at once, the fixed block answer at siteverify', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    const lines = watchPage(page, 'testkey');
    try {
      // Responses are counted as they arrive and their bodies read afterwards: an async handler
      // that awaited each body could still be reading it when the widget is already ready.
      const isChallenge = (r) => new URL(r.url()).pathname === '/v1/challenge';
      const challenges = [];
      page.on('response', (r) => {
        if (isChallenge(r)) challenges.push(r);
      });
      const first = page.waitForResponse(isChallenge, { timeout: 30_000 });
      await page.goto(`${demo.url}/`);
      await page.waitForFunction(() => document.querySelector('.tollgate')?.getAttribute('data-tollgate-state') === 'ready', null, { timeout: 30_000 });
      const body = await (await first).json();
      assert.equal(challenges.length, 1, lines.join('\n'));
      assert.equal(body.token, 'XXXX.DUMMY.TOKEN.XXXX');
      assert.equal(body.challenge, undefined, 'no challenge, no work');

      let posted = null;
      page.on('request', (req) => {
        if (req.method() === 'POST' && new URL(req.url()).pathname === '/login') posted = new URLSearchParams(req.postData() ?? '');
      });
      await typeLikeAHuman(page, '#username', 'ci-user');
      await typeLikeAHuman(page, '#password', 'correct horse');
      await Promise.all([page.waitForURL('**/login', { timeout: 30_000 }), page.locator('#login').click()]);
      assert.equal(posted?.get('tollgate-response'), 'XXXX.DUMMY.TOKEN.XXXX');
      const verdict = JSON.parse(await page.locator('#verdict').textContent());
      assert.equal(verdict.success, false, JSON.stringify(verdict));
      assert.deepEqual(verdict['error-codes'], ['tollgate-decision-block']);
      assert.deepEqual(verdict.tollgate.reasons, ['test-key']);
    } finally {
      await page.close();
    }
  });
});
