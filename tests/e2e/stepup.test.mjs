// The demo's second factor in a real browser: a Chromium login that Tollgate answers with
// `challenge` goes through the step-up, enrols an authenticator app (RFC 6238 TOTP, the key read
// from the enrolment page), and the next challenged login passes with a code computed here; the
// verifier receives the result (its outcome counter moves; the demo's log names the report).
//
// The browser is Chromium driven by Playwright but *headful* under Xvfb, with navigator.webdriver
// hidden, so that none of the hard automation tells fire (they block whatever the policy); the
// site's policy (`allow = 1.0, block = 0.0`) then makes every such login a `challenge`.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

import {
  CHROMIUM,
  moveMouseTo,
  randomB64,
  startDemo,
  startVerifier,
  tempDir,
  typeLikeAHuman,
  waitForTollgate,
  watchPage,
} from './harness.mjs';

const SITEKEY = 'tg-e2e-stepup';
const SECRET = `e2e-stepup-${randomB64().replace(/[^A-Za-z0-9]/g, '')}`;
const CONFIG = `
[[keys]]
id = 9
seed = "${randomB64()}"
mac_secret = "${randomB64()}"

[[sites]]
sitekey = "${SITEKEY}"
secret = "${SECRET}"
allowed_origins = ["http://127.0.0.1:*"]
success_when = "valid"
pow = { k = 8, bits = 8 }
policy = { allow = 1.0, block = 0.0 }
`;

/** RFC 4648 base32 (no padding) → bytes. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${text}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) at Unix time `secs`. */
export function totp(secret, secs) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(secs / 30)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(n % 1_000_000).padStart(6, '0');
}

/** Xvfb on a free display (it prints the number it picked on fd 1). */
async function startXvfb() {
  const child = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const display = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Xvfb did not report a display')), 10_000);
    child.stdout.on('data', (d) => {
      clearTimeout(timer);
      resolve(`:${d.toString().trim()}`);
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited ${code}`)));
  });
  return { display, stop: () => child.kill('SIGTERM') };
}

async function outcomeCount(verifierUrl, outcome) {
  const text = await (await fetch(`${verifierUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`tollgate_outcomes_total{outcome="${outcome}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('TOTP step-up in a real browser', () => {
  let verifier;
  let demo;
  let xvfb;
  let context;
  let skip = null;
  before(async () => {
    if (!existsSync('/usr/bin/Xvfb')) {
      if (process.env.CI === 'true') throw new Error('Xvfb is missing (scripts/setup.sh --test installs it)');
      skip = 'Xvfb not installed';
      return;
    }
    verifier = await startVerifier({ config: CONFIG });
    // TOTP secrets encrypted at rest (ChaCha20-Poly1305) in this demo's user database.
    const totpKey = randomBytes(32).toString('hex');
    demo = await startDemo({ verifierUrl: verifier.url, sitekey: SITEKEY, secret: SECRET, extraArgs: ['--totp-key', totpKey] });
    xvfb = await startXvfb();
    context = await chromium.launchPersistentContext(tempDir('stepup-profile'), {
      executablePath: CHROMIUM,
      headless: false,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-blink-features=AutomationControlled'],
      env: { ...process.env, DISPLAY: xvfb.display },
      viewport: { width: 1200, height: 800 },
      timeout: 60_000,
    });
  });
  after(async () => {
    await context?.close().catch(() => {});
    xvfb?.stop();
    await demo?.stop();
    await verifier?.stop();
  });

  /** Log in as `user` in the browser; returns the step-up page's factor (`sms` | `totp`). */
  async function challengedLogin(page, user) {
    await page.goto(`${demo.url}/`);
    await waitForTollgate(page);
    let mouse = await moveMouseTo(page, '#username');
    await typeLikeAHuman(page, '#username', user);
    mouse = await moveMouseTo(page, '#password', mouse);
    await typeLikeAHuman(page, '#password', 'correct horse');
    await moveMouseTo(page, '#login', mouse);
    await Promise.all([page.waitForURL('**/login', { timeout: 60_000 }), page.locator('#login').click({ delay: 70 })]);
    const outcome = await page.locator('[data-outcome]').getAttribute('data-outcome');
    const verdict = await page.locator('#verdict').textContent();
    assert.equal(outcome, 'challenge', `verdict: ${verdict}`);
    return page.locator('form[data-factor]').getAttribute('data-factor');
  }

  async function submitCode(page, code) {
    await page.locator('#code').fill(code);
    await Promise.all([page.waitForLoadState('load'), page.locator('#verify').click()]);
    await page.locator('[data-outcome]').waitFor();
    return page.locator('[data-outcome]').getAttribute('data-outcome');
  }

  test('challenge → enrol an authenticator → challenge → TOTP code → signed in, reported', { timeout: 120_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const page = await context.newPage();
    const lines = watchPage(page, 'stepup');
    try {
      // 1. Not enrolled: the stand-in code on the page, then the enrolment offer.
      assert.equal(await challengedLogin(page, 'carol'), 'sms', lines.join('\n'));
      const shown = await page.locator('#demo-code').textContent();
      assert.equal(await submitCode(page, shown), 'step-up-passed');
      await Promise.all([page.waitForURL('**/enroll'), page.locator('#enrol').click()]);
      assert.equal(await page.locator('#totp-qr').count(), 1, 'QR code drawn');
      const key = (await page.locator('#totp-secret').textContent()).trim();
      const uri = await page.locator('#totp-uri').textContent();
      assert.ok(uri.startsWith('otpauth://totp/Northwind%20Bank:carol?secret=' + key), uri);
      const secret = base32Decode(key);
      const now = Date.now() / 1000;
      await page.locator('#code').fill(totp(secret, now));
      await Promise.all([page.waitForURL('**/enroll/confirm'), page.locator('#confirm').click()]);
      assert.equal(await page.locator('[data-outcome]').getAttribute('data-outcome'), 'enrolled');

      // 2. Enrolled: the challenge asks for the app's code. A wrong code is refused; the next
      // step's code (within the ±1 step skew, later than the enrolment's) signs in.
      const before = await outcomeCount(verifier.url, 'success');
      assert.equal(await challengedLogin(page, 'carol'), 'totp');
      assert.equal(await page.locator('#demo-code').count(), 0);
      const code = totp(secret, Date.now() / 1000 + 30);
      assert.equal(await submitCode(page, code === '000000' ? '000001' : '000000'), 'challenge');
      assert.equal(await submitCode(page, code), 'step-up-passed');
      assert.match(await page.locator('h1').textContent(), /Welcome back, carol/);

      // 3. The verifier got the result: the demo's log names the report and its answer, and the
      // verifier's outcome counter moved.
      const log = await (await fetch(`${demo.url}/api/verdicts`)).json();
      const report = log[0].outcome_report;
      assert.equal(log[0].outcome, 'step-up-passed');
      assert.equal(report.report, 'stepup-passed', JSON.stringify(report));
      assert.equal(report.status, 200, JSON.stringify(report));
      if (report.endpoint === '/v1/outcome') {
        // A verifier without /v1/feedback: the demo fell back to /v1/outcome.
        assert.deepEqual(report.tried.map((x) => x.endpoint), ['/v1/feedback'], JSON.stringify(report));
        assert.equal(report.outcome, 'success');
        assert.equal(await outcomeCount(verifier.url, 'success'), before + 1);
      } else {
        assert.equal(report.endpoint, '/v1/feedback', JSON.stringify(report));
      }
      t.diagnostic(`report=${JSON.stringify(report)}`);
    } finally {
      await page.close();
    }
  });
});
