// (d) A page served from an origin that is not in the site's allowlist cannot get a challenge:
// the verifier refuses it (4xx, no CORS grant) and the widget never produces a token.
// The development site allows http://localhost:* and http://127.0.0.1:*; 127.0.0.2 is loopback
// on Linux but a different origin.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEV_SITEKEY, executeToken, startDemo, startStack, waitForTollgate, watchPage } from './harness.mjs';

async function postChallenge(verifierUrl, origin) {
  return fetch(`${verifierUrl}/v1/challenge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ sitekey: DEV_SITEKEY, action: 'login' }),
  });
}

describe('origin allowlist', () => {
  let stack;
  let foreign;
  before(async () => {
    stack = await startStack();
    foreign = await startDemo({ verifierUrl: stack.verifier.url, listen: '127.0.0.2:0' });
    stack.adopt(foreign);
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('(d) the verifier grants challenges to allowed origins only', async () => {
    const allowedOrigin = new URL(stack.demo.url).origin;
    const foreignOrigin = new URL(foreign.url).origin;
    assert.match(foreignOrigin, /^http:\/\/127\.0\.0\.2:\d+$/);

    const ok = await postChallenge(stack.verifier.url, allowedOrigin);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), allowedOrigin);
    const body = await ok.json();
    assert.equal(typeof body.challenge, 'string');
    assert.equal(typeof body.token_key, 'string');

    const refused = await postChallenge(stack.verifier.url, foreignOrigin);
    assert.ok(refused.status >= 400 && refused.status < 500, `status ${refused.status}`);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    const err = await refused.json();
    assert.equal(typeof err.error, 'string');
    assert.equal(err.challenge, undefined);

    // CORS preflight from the foreign origin is not granted either.
    const preflight = await fetch(`${stack.verifier.url}/v1/challenge`, {
      method: 'OPTIONS',
      headers: {
        origin: foreignOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });

  test('(d) in the browser, a page on the foreign origin never gets a token', async () => {
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'foreign');
    const challengeResponses = [];
    const challengeFailures = [];
    page.on('response', (r) => {
      if (r.url().includes('/v1/challenge')) challengeResponses.push(r.status());
    });
    page.on('requestfailed', (r) => {
      if (r.url().includes('/v1/challenge')) challengeFailures.push(r.failure()?.errorText ?? 'failed');
    });
    try {
      await page.goto(`${foreign.url}/`);
      await waitForTollgate(page);
      let token = null;
      let error = null;
      try {
        token = await executeToken(page, 20_000);
      } catch (e) {
        error = e;
      }
      const ctx = `token=${token} error=${error?.message}\n${lines.join('\n')}`;
      assert.ok(!token, `the foreign origin got a token\n${ctx}`);
      assert.ok(error, ctx);
      assert.doesNotMatch(error.message, /timed out/, `execute() hung instead of failing\n${ctx}`);
      // The browser did try, and the challenge was not granted (CORS failure or 4xx).
      assert.ok(
        challengeFailures.length > 0 || challengeResponses.some((s) => s >= 400),
        `no refused challenge request seen: responses=${challengeResponses} failures=${challengeFailures}\n${ctx}`,
      );
      assert.ok(!challengeResponses.includes(200), ctx);
      const hidden = await page.locator('input[name="tollgate-response"]').evaluateAll((els) => els.map((e) => e.value));
      assert.ok(hidden.every((v) => v === ''), `hidden input filled: ${hidden}`);
    } finally {
      await page.close();
    }
  });
});
