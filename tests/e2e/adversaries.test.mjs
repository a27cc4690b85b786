// Adversaries against the environment rules (verifier/src/envrules/), each on Debian's
// Chromium: plain headless Playwright; Puppeteer (puppeteer-core) with puppeteer-extra-plugin-
// stealth; Playwright with fingerprint-injector (fingerprint-generator); and, as the control, a
// headful Chromium under Xvfb started with no automation at all (no remote debugging), whose page
// submits its own token. Every verdict is printed as an E2E-ADVERSARY line.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import puppeteerCore from 'puppeteer-core';
import { addExtra } from 'puppeteer-extra';
import StealthPlugin from 'puppeteer-extra-plugin-stealth';
import { newInjectedContext } from 'fingerprint-injector';
import { chromium } from 'playwright-core';

import {
  CHROMIUM,
  DEV_SECRET,
  decodeToken,
  executeToken,
  siteverify,
  sleep,
  startStack,
  tempDir,
  verdictLine,
  waitForTollgate,
  servePages,
} from './harness.mjs';

const ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('adversaries', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  /** Open the demo in `page`, let the idle-time probes finish, redeem a token, print the verdict. */
  async function verdictOf(label, page) {
    await page.goto(`${stack.demo.url}/`);
    await waitForTollgate(page);
    await sleep(2500);
    const token = await executeToken(page);
    const decoded = await decodeToken(token);
    const { json } = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: token });
    const line = verdictLine(label, json, decoded);
    process.stdout.write(`${line}\n`);
    assert.equal(json.success, true, JSON.stringify(json));
    return { reasons: json.tollgate.reasons, decision: json.tollgate.decision, decoded, line };
  }

  test('plain headless Playwright: automation (webdriver, headless UA, CDP console, evaluate frames)', async () => {
    const page = await stack.browser.newPage();
    try {
      const v = await verdictOf('playwright-headless', page);
      for (const r of ['automation', 'webdriver', 'headless-ua', 'cdp-console', 'automation-stack']) assert.ok(v.reasons.includes(r), v.line);
      assert.equal(v.decision, 'block');
      // A clean engine tells no lies: no tampering on plain Chromium.
      assert.ok(!v.reasons.includes('tampered'), v.line);
    } finally {
      await page.close();
    }
  });

  test('Puppeteer + puppeteer-extra-plugin-stealth: automation, tampered, inconsistent', async () => {
    const puppeteer = addExtra(puppeteerCore);
    puppeteer.use(StealthPlugin());
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, userDataDir: tempDir('stealth') });
    try {
      const v = await verdictOf('puppeteer-stealth', await browser.newPage());
      for (const r of ['automation', 'cdp-console', 'automation-stack', 'tampered', 'lie-probes', 'inconsistent']) assert.ok(v.reasons.includes(r), v.line);
      assert.ok(!v.reasons.includes('webdriver') && !v.reasons.includes('headless-ua'), `stealth hid A1/A2: ${v.line}`);
      assert.equal(v.decision, 'block');
    } finally {
      await browser.close();
    }
  });

  test('Playwright + fingerprint-injector: automation, tampered, inconsistent', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const context = await newInjectedContext(browser, {
        fingerprintOptions: { devices: ['desktop'], operatingSystems: ['windows'], browsers: ['chrome'] },
      });
      const v = await verdictOf('playwright-fingerprint-injector', await context.newPage());
      for (const r of ['automation', 'cdp-console', 'automation-stack', 'tampered', 'inconsistent']) assert.ok(v.reasons.includes(r), v.line);
      assert.ok(v.reasons.some((r) => r.startsWith('worker-')), `worker re-read: ${v.line}`);
      assert.equal(v.decision, 'block');
    } finally {
      await browser.close();
    }
  });

  test('headful Chromium under Xvfb without automation: no automation reasons', { timeout: 90_000 }, async (t) => {
    if (!existsSync('/usr/bin/xvfb-run')) return t.skip('xvfb-run not installed');
    // Same-origin static server for the test page and the assets (workers need same origin).
    const server = await servePages('self-submit.html');
    const user = `headful-${process.pid}`;
    const url = `http://127.0.0.1:${server.address().port}/?api=${encodeURIComponent(stack.verifier.url)}&demo=${encodeURIComponent(stack.demo.url)}&user=${user}`;
    // Plain Chromium: no --remote-debugging-*, no driver, no CDP client anywhere.
    const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1600x1000x24', CHROMIUM, ...ARGS, `--user-data-dir=${tempDir('headful')}`, '--window-size=1280,900', url], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      let entry = null;
      for (let i = 0; i < 120 && !entry; i++) {
        await sleep(500);
        const log = await (await fetch(`${stack.demo.url}/api/verdicts`)).json();
        entry = log.find((e) => e.username === user) ?? null;
      }
      assert.ok(entry, 'the headful page never posted a token');
      const sv = entry.siteverify;
      const line = verdictLine('headful-xvfb-no-automation', sv, null);
      process.stdout.write(`${line}\n`);
      assert.equal(sv.success, true, JSON.stringify(sv));
      assert.ok(!sv.tollgate.reasons.includes('automation'), line);
      assert.ok(!sv.tollgate.reasons.includes('tampered'), line);
    } finally {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      server.close();
    }
  });
});
