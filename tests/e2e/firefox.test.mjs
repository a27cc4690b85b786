// Firefox ESR (Debian's firefox-esr), next to the Chromium suites (issue 12, item 7):
// (a) a login on the demo driven by puppeteer-core over WebDriver BiDi: automation reasons
//     expected (navigator.webdriver), and the page shows nothing the site did not draw: the
//     viewport height (`window.innerHeight`, with no emulated viewport) is the same before the
//     loader ran and after every probe finished. An info bar (Firefox's "Speech Dispatcher library
//     is missing" for `speechSynthesis.getVoices()` on Linux) takes its height from the viewport;
//     the control at the end shows this check sees it when the page itself asks for voices.
// (b) Firefox started with no automation at all (no remote agent, no driver: a plain
//     `firefox-esr --headless URL`), whose page gets its own token and posts it to this test's
//     server: no automation or tampering reasons, and the viewport unchanged as well.
// Needs /usr/bin/firefox-esr (scripts/setup.sh installs it): skipped loudly without it, failed
// under CI=true. Nothing is downloaded: puppeteer-core drives the installed browser.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import puppeteer from 'puppeteer-core';

import { DEV_SECRET, missingPrerequisite, servePages, siteverify, sleep, startStack, tempDir, verdictLine, waitForTollgate } from './harness.mjs';

const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Firefox is there, or the test is skipped loudly (failed under CI=true). */
function requireFirefox(t) {
  if (existsSync(FIREFOX)) return true;
  t.skip(missingPrerequisite('firefox', `${FIREFOX} (firefox-esr) not installed`));
  return false;
}

/** Quiet profile prefs: no first-run pages, updates, telemetry or other network calls. */
const PREFS = {
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.aboutwelcome.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.newtabpage.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'extensions.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.region.network.url': '',
  'browser.search.update': false,
};

describe('Firefox ESR', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('(a) BiDi-driven login: automation reasons, and no info bar or other browser UI', { timeout: 180_000 }, async (t) => {
    if (!requireFirefox(t)) return;
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      protocol: 'webDriverBiDi',
      headless: true,
      defaultViewport: null,
      extraPrefsFirefox: PREFS,
      timeout: 60_000,
    });
    try {
      const page = await browser.newPage();
      await page.evaluateOnNewDocument(() => {
        window.__tgHeight0 = window.innerHeight;
      });
      await page.goto(`${stack.demo.url}/`, { waitUntil: 'load' });
      await waitForTollgate(page);
      // The idle probe groups, then the voices probe a second after the last one.
      await sleep(8000);
      const [h0, h1] = await page.evaluate(() => [window.__tgHeight0, window.innerHeight]);
      assert.ok(h0 > 0, 'height recorded before the loader ran');
      assert.equal(h1, h0, `the viewport lost ${h0 - h1} px to browser UI after the collector ran`);

      await page.type('#username', 'firefox.user', { delay: 60 });
      await page.type('#password', 'correct horse', { delay: 60 });
      await Promise.all([page.waitForNavigation({ timeout: 90_000 }), page.click('#login')]);
      await page.waitForSelector('#verdict', { timeout: 30_000 });
      const verdict = JSON.parse(await page.$eval('#verdict', (el) => el.textContent));
      const line = verdictLine('firefox-esr-bidi', verdict, null);
      process.stdout.write(`${line}\n`);
      assert.equal(verdict.success, true, JSON.stringify(verdict));
      assert.ok(verdict.tollgate.reasons.includes('automation'), line);
      assert.ok(verdict.tollgate.reasons.includes('webdriver'), line);

      // Control: the same check sees an info bar when the page itself asks for voices (only where
      // Firefox shows one, i.e. without speech-dispatcher; elsewhere it is just reported).
      const page2 = await browser.newPage();
      await page2.goto(`${stack.demo.url}/`, { waitUntil: 'load' });
      const c0 = await page2.evaluate(() => window.innerHeight);
      await page2.evaluate(() => window.speechSynthesis && window.speechSynthesis.getVoices().length);
      await sleep(3000);
      const c1 = await page2.evaluate(() => window.innerHeight);
      process.stderr.write(`firefox control: getVoices() by the page itself changed innerHeight ${c0} -> ${c1}\n`);
    } finally {
      await browser.close();
    }
  });

  test('(b) Firefox with no automation: no automation reasons, no browser UI', { timeout: 180_000 }, async (t) => {
    if (!requireFirefox(t)) return;
    /** @type {(r: any) => void} */
    let gotReport;
    const report = new Promise((r) => {
      gotReport = r;
    });
    const server = await servePages('report-token.html', (req, res, path) => {
      if (req.method !== 'POST' || path !== '/report') return false;
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204).end();
        gotReport(JSON.parse(Buffer.concat(chunks).toString()));
      });
      return true;
    });
    const profile = tempDir('firefox-profile');
    writeFileSync(join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
    const url = `http://127.0.0.1:${server.address().port}/?api=${encodeURIComponent(stack.verifier.url)}&wait=8000`;
    // Plain Firefox: no --remote-debugging-port, no --marionette, no driver of any kind.
    const child = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile, '--width', '1280', '--height', '900', url], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      let timer;
      const r = await Promise.race([report, new Promise((res) => { timer = setTimeout(() => res(null), 120_000); })]);
      clearTimeout(timer);
      assert.ok(r, 'the page never reported a token (120 s)');
      assert.ok(r.token, `execute() failed: ${r.error}`);
      assert.equal(r.after, r.before, `the viewport lost ${r.before - r.after} px to browser UI after the collector ran`);
      const { json } = await siteverify(stack.verifier.url, { secret: DEV_SECRET, response: r.token });
      const line = verdictLine('firefox-esr-no-automation', json, null);
      process.stdout.write(`${line}\n`);
      assert.equal(json.success, true, JSON.stringify(json));
      for (const reason of ['automation', 'webdriver', 'tampered']) assert.ok(!json.tollgate.reasons.includes(reason), line);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      let killTimer;
      const gone = await Promise.race([exited.then(() => true), new Promise((res) => { killTimer = setTimeout(() => res(false), 10_000); })]);
      clearTimeout(killTimer);
      if (!gone) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      server.closeAllConnections();
      server.close();
    }
  });
});
