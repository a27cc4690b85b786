// (e) Tokens expire: with a site whose token lifetime is 1 s, a token redeemed a few seconds after
// it was made is refused with timeout-or-duplicate.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { executeToken, randomB64, siteverify, sleep, startStack, waitForTollgate, watchPage } from './harness.mjs';

const SITEKEY = 'tg-e2e-short-lived';
const SECRET = `e2e-short-lived-${randomB64().replace(/[^A-Za-z0-9]/g, '')}`;
const LIFETIME_SECS = 1;

const CONFIG = `
[[keys]]
id = 7
seed = "${randomB64()}"
mac_secret = "${randomB64()}"

[[sites]]
sitekey = "${SITEKEY}"
secret = "${SECRET}"
allowed_origins = ["http://127.0.0.1:*"]
token_lifetime_secs = ${LIFETIME_SECS}
pow = { k = 8, bits = 8 }
`;

describe('token lifetime', () => {
  let stack;
  before(async () => {
    stack = await startStack({ verifierConfig: CONFIG, sitekey: SITEKEY, secret: SECRET });
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('(e) an expired token gets timeout-or-duplicate', async () => {
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'short');
    try {
      await page.goto(`${stack.demo.url}/`);
      await waitForTollgate(page);
      const token = await executeToken(page);
      assert.ok(typeof token === 'string' && token.length > 0, lines.join('\n'));

      // The challenge expiry the verifier stated is at most LIFETIME_SECS after issue.
      const challenge = await (
        await fetch(`${stack.verifier.url}/v1/challenge`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: new URL(stack.demo.url).origin },
          body: JSON.stringify({ sitekey: SITEKEY, action: 'login' }),
        })
      ).json();
      assert.ok(challenge.expires_at - challenge.issued_at <= LIFETIME_SECS * 1000, JSON.stringify(challenge));

      await sleep(LIFETIME_SECS * 1000 + 2500);
      const late = await siteverify(stack.verifier.url, { secret: SECRET, response: token });
      assert.equal(late.status, 200);
      assert.equal(late.json.success, false, JSON.stringify(late.json));
      assert.deepEqual(late.json['error-codes'], ['timeout-or-duplicate']);
    } finally {
      await page.close();
    }
  });
});
