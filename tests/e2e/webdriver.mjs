// A minimal W3C WebDriver client for Debian's `chromedriver` — the wire Selenium speaks — shared by
// `selenium.test.mjs` and `intel/scripts/webdriver-timing.mjs`. Only what those need: start a driver on
// a free loopback port, open and close sessions, send W3C actions and a few commands.
//
// `patchChromeDriver(dir)` does what undetected-chromedriver's patcher does to a driver binary: the
// `cdc_…` global names ChromeDriver injects into every page (`window.cdc_adoQpoasnfa76pfcZLmcfl_Array`
// and its siblings, a tell every anti-bot reads) are renamed in a copy, byte for byte, so the driver
// works as before and the page sees no `cdc_` global.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

import { CHROMIUM } from './harness.mjs';

export const CHROMEDRIVER = process.env.CHROMEDRIVER_PATH ?? '/usr/bin/chromedriver';
/** The key ChromeDriver names its injected globals with (`cdc_<key>_Array`, …). */
export const CDC_KEY = 'cdc_adoQpoasnfa76pfcZLmcfl_';

async function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

/**
 * Start `binary` (a chromedriver) on a free 127.0.0.1 port; the browsers it launches inherit `env`
 * (e.g. `DISPLAY` for a headful Chromium under Xvfb). Resolves once `/status` answers.
 */
export async function startChromeDriver({ binary = CHROMEDRIVER, env = {} } = {}) {
  const port = await freePort();
  const child = spawn(binary, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d));
  const base = `http://127.0.0.1:${port}`;
  async function wd(method, path, body) {
    const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = await r.json();
    if (j.value && j.value.error) throw new Error(`WebDriver ${method} ${path}: ${j.value.error}: ${j.value.message}`);
    return j.value;
  }
  for (let i = 0; ; i++) {
    try {
      await wd('GET', '/status');
      break;
    } catch (e) {
      if (i > 100 || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`${binary} did not start: ${e.message} ${Buffer.concat(stderr)}`);
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
  return {
    wd,
    /**
     * A new browser session on Debian's Chromium. `headless`: `--headless` (else headful, on the
     * driver's `DISPLAY`); `stealth`: the options every "undetected Selenium" recipe sets —
     * `--disable-blink-features=AutomationControlled` (no `navigator.webdriver`),
     * `excludeSwitches: ['enable-automation']` (no infobar, no `--enable-automation`) and no
     * automation extension. Returns the session id.
     */
    async newSession({ headless = true, stealth = false, args = [] } = {}) {
      const opts = {
        binary: CHROMIUM,
        args: [...(headless ? ['--headless'] : []), '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', ...(stealth ? ['--disable-blink-features=AutomationControlled'] : []), ...args],
        ...(stealth ? { excludeSwitches: ['enable-automation'], useAutomationExtension: false } : {}),
      };
      const v = await wd('POST', '/session', { capabilities: { alwaysMatch: { browserName: 'chrome', 'goog:chromeOptions': opts } } });
      return v.sessionId;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => {
        if (child.exitCode !== null) return r();
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 3000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    },
  };
}

/**
 * A copy of `binary` in `dir` whose `cdc_` key is replaced by random letters of the same length
 * (undetected-chromedriver's patch). Throws when the binary holds no such key (a driver that
 * changed it would silently test nothing).
 */
export function patchChromeDriver(dir, binary = CHROMEDRIVER, rng = Math.random) {
  const bytes = readFileSync(binary);
  const key = Buffer.from(CDC_KEY);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const repl = Buffer.from(Array.from({ length: key.length }, () => letters[Math.floor(rng() * letters.length)]).join(''));
  let n = 0;
  for (let i = bytes.indexOf(key); i !== -1; i = bytes.indexOf(key, i + key.length)) {
    repl.copy(bytes, i);
    n++;
  }
  if (!n) throw new Error(`${binary} holds no ${CDC_KEY}: the patch has nothing to rename`);
  const out = join(dir, 'chromedriver-patched');
  writeFileSync(out, bytes);
  chmodSync(out, 0o755);
  return { path: out, renamed: n };
}

/** What the WebDriver tests need (human-readable, empty when all there). */
export function webdriverPrerequisites() {
  const missing = [];
  if (!existsSync(CHROMEDRIVER)) missing.push(`${CHROMEDRIVER} (Debian package chromium-driver)`);
  if (!existsSync(CHROMIUM)) missing.push(CHROMIUM);
  return missing;
}
