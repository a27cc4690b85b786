// Shared harness for the browser end-to-end tests (node:test + playwright-core on Debian's Chromium).
//
// Spawns the real binaries (`verifier serve`, `demo-site`) on loopback port 0, waits for their
// `listening on http://IP:PORT` line, drives /usr/bin/chromium headless with a fresh profile, and
// tears everything down afterwards — also when a test fails or the runner is interrupted.
//
// Overrides: TOLLGATE_VERIFIER_BIN, TOLLGATE_DEMO_BIN, CHROMIUM_PATH, TOLLGATE_E2E_DEBUG=1 (echo
// child stderr and browser console).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VERIFIER_BIN = process.env.TOLLGATE_VERIFIER_BIN ?? join(ROOT, 'target', 'debug', 'verifier');
export const DEMO_BIN = process.env.TOLLGATE_DEMO_BIN ?? join(ROOT, 'target', 'debug', 'demo-site');
export const ASSETS_DIR = process.env.TOLLGATE_ASSETS ?? join(ROOT, 'js', 'dist');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const DEBUG = process.env.TOLLGATE_E2E_DEBUG === '1';

export const DEV_SITEKEY = 'tgdev-localhost-sitekey';
export const DEV_SECRET = 'tgdev-localhost-secret-not-for-production';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LISTENING = /^listening on (http:\/\/\S+)$/;

// Every child still alive, so that an interrupted run leaves nothing behind.
const live = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(130));
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-e2e-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** A spawned server: `url` from its `listening on` line, `stop()` to end it, `logs()` for diagnostics. */
export async function startServer(name, bin, args, { timeoutMs = 30_000, env = {} } = {}) {
  if (!existsSync(bin)) {
    throw new Error(`${name}: ${bin} does not exist (build it first: cargo build -p verifier -p demo-site)`);
  }
  const child = spawn(bin, args, {
    cwd: ROOT,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const stdout = [];
  const stderr = [];
  let exited = null;
  const exitPromise = new Promise((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolveExit(exited);
    });
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 500) stderr.shift();
    if (DEBUG) process.stderr.write(`[${name}] ${line}\n`);
  });
  const logs = () =>
    `--- ${name} stdout ---\n${stdout.join('\n')}\n--- ${name} stderr (last lines) ---\n${stderr.slice(-60).join('\n')}`;

  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name}: no "listening on" line within ${timeoutMs} ms\n${logs()}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      stdout.push(line);
      const m = LISTENING.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name}: cannot start ${bin}: ${err.message}`));
    });
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) before listening\n${logs()}`));
    });
  });

  const stop = async () => {
    if (exited) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const result = await exitPromise;
    clearTimeout(timer);
    return result;
  };
  return { name, url, child, stop, logs, stdoutLines: stdout };
}

/** `verifier serve` on 127.0.0.1:0; `config` (TOML text) is written to a temp file and passed with --config. */
export async function startVerifier({ config, listen = '127.0.0.1:0' } = {}) {
  const args = ['serve', '--listen', listen];
  if (config !== undefined) {
    const file = join(tempDir('verifier-config'), 'verifier.toml');
    writeFileSync(file, config, { mode: 0o600 });
    args.push('--config', file);
  }
  return startServer('verifier', VERIFIER_BIN, args);
}

export async function startDemo({ verifierUrl, listen = '127.0.0.1:0', sitekey, secret, extraArgs = [] }) {
  // Each demo gets its own user database (created with the demo users), removed afterwards.
  const db = join(tempDir('demo-db'), 'users.sqlite3');
  const args = ['--listen', listen, '--verifier-url', verifierUrl, '--assets', ASSETS_DIR, '--db', db, ...extraArgs];
  if (sitekey) args.push('--sitekey', sitekey);
  if (secret) args.push('--secret', secret);
  return startServer('demo-site', DEMO_BIN, args);
}

/**
 * Headless Chromium with a fresh profile. Returns the persistent context; close() also removes the profile.
 * `extraArgs` are appended to the usual flags (e.g. host-resolver rules for a TLS proxy test).
 */
export async function launchBrowser({ extraArgs = [] } = {}) {
  const profile = tempDir('chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  return context;
}

/** Attach console/page-error collection to a page; returns the collected lines. */
export function watchPage(page, label = 'page') {
  const lines = [];
  page.on('console', (msg) => {
    const line = `[${label} console.${msg.type()}] ${msg.text()}`;
    lines.push(line);
    if (DEBUG) process.stderr.write(`${line}\n`);
  });
  page.on('pageerror', (err) => {
    const line = `[${label} pageerror] ${err.message}`;
    lines.push(line);
    if (DEBUG) process.stderr.write(`${line}\n`);
  });
  page.on('requestfailed', (req) => {
    const line = `[${label} requestfailed] ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`;
    lines.push(line);
    if (DEBUG) process.stderr.write(`${line}\n`);
  });
  return lines;
}

/**
 * Start a verifier (optionally with a config), a demo site in front of it and a browser.
 * `cleanup()` stops everything and is safe to call twice.
 */
export async function startStack({ verifierConfig, sitekey, secret } = {}) {
  const started = [];
  let browser = null;
  const cleanup = async () => {
    const errors = [];
    if (browser) {
      const b = browser;
      browser = null;
      await b.close().catch((e) => errors.push(e));
    }
    while (started.length) {
      await started.pop().stop().catch((e) => errors.push(e));
    }
    if (errors.length) throw errors[0];
  };
  try {
    const verifier = await startVerifier({ config: verifierConfig });
    started.push(verifier);
    const demo = await startDemo({ verifierUrl: verifier.url, sitekey, secret });
    started.push(demo);
    browser = await launchBrowser();
    const diagnostics = () => [verifier.logs(), demo.logs()].join('\n');
    return { verifier, demo, browser, cleanup, diagnostics, adopt: (server) => started.push(server) };
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
}

/** POST form-encoded fields to the verifier's siteverify; returns the parsed JSON and HTTP status. */
export async function siteverify(verifierUrl, fields) {
  const resp = await fetch(`${verifierUrl}/v1/siteverify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await resp.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`siteverify answered HTTP ${resp.status} with non-JSON: ${text.slice(0, 300)}`);
  }
  return { status: resp.status, json };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** Human-ish typing: per-key delays with jitter. */
export async function typeLikeAHuman(page, selector, text) {
  await page.locator(selector).click({ delay: 40 + Math.floor(Math.random() * 60) });
  for (const ch of text) {
    await page.keyboard.type(ch, { delay: 50 + Math.floor(Math.random() * 70) });
    await sleep(40 + Math.floor(Math.random() * 120));
  }
}

/** Move the mouse along a slightly curved path to the centre of `selector`. */
export async function moveMouseTo(page, selector, from = { x: 200, y: 150 }) {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} has no bounding box`);
  const to = { x: box.x + box.width / 2 + (Math.random() * 10 - 5), y: box.y + box.height / 2 + (Math.random() * 6 - 3) };
  const steps = 25;
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    const ease = t * t * (3 - 2 * t);
    const bow = Math.sin(Math.PI * t) * 40;
    await page.mouse.move(from.x + (to.x - from.x) * ease + bow * 0.3, from.y + (to.y - from.y) * ease - bow * 0.2);
    await sleep(8 + Math.floor(Math.random() * 14));
  }
  return to;
}

/**
 * Wait until `window.tollgate.execute` exists on the page (the loader has run). Polls with
 * `page.evaluate`, so it works with Playwright and Puppeteer pages alike.
 */
export async function waitForTollgate(page, timeout = 30_000) {
  const end = Date.now() + timeout;
  while (!(await page.evaluate(() => typeof window.tollgate?.execute === 'function'))) {
    if (Date.now() > end) throw new Error(`window.tollgate did not appear within ${timeout} ms`);
    await sleep(50);
  }
}

/** Ask the widget for a token through the public API (with a timeout). */
export async function executeToken(page, timeout = 60_000) {
  return page.evaluate(
    (ms) =>
      Promise.race([
        window.tollgate.execute(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`tollgate.execute() timed out after ${ms} ms`)), ms)),
      ]),
    timeout,
  );
}

/** Fresh 32 random bytes, base64 (standard alphabet, padded) — for test key material. */
export function randomB64() {
  return randomBytes(32).toString('base64');
}

/**
 * Decode a token with `verifier decode-token` (no keys; never redeems it): telemetry, resolved
 * samples (`decoded.pointer/keys/fields`, ms since the collector started), probes by id and the
 * environment rules' findings (`env`).
 */
export async function decodeToken(token) {
  const child = spawn(VERIFIER_BIN, ['decode-token'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  child.stdin.end(token);
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`decode-token exited ${code}: ${Buffer.concat(err).toString()}`);
  return JSON.parse(Buffer.concat(out).toString());
}

/** A compact summary line of a siteverify answer and its decoded environment findings. */
export function verdictLine(label, sv, decoded) {
  const tg = sv.tollgate ?? {};
  const lies = (decoded?.env?.lies ?? []).map((l) => l.target).join(',');
  return `E2E-ADVERSARY ${label}: decision=${tg.decision} score=${tg.score} reasons=[${(tg.reasons ?? []).join(' ')}]${lies ? ` lies=[${lies}]` : ''}`;
}

/**
 * A same-origin static server on 127.0.0.1 for a test page in `tests/e2e/pages/` and the built
 * assets under `/tollgate/` (workers need the same origin). `route(req, res, path)` may answer a
 * request first (return true when it did). Resolves to the listening `http.Server`.
 */
export async function servePages(defaultPage, route = () => false) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (route(req, res, path)) return;
    const file = path.startsWith('/tollgate/')
      ? join(ASSETS_DIR, path.slice('/tollgate/'.length))
      : join(ROOT, 'tests', 'e2e', 'pages', path === '/' ? defaultPage : path.slice(1));
    if (!file.startsWith(ROOT) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' }[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Messages from the page: `take(kind, n)` waits for one (`/attempt` keeps its response open). */
export function mailbox() {
  const box = new Map();
  const waiting = new Map();
  return {
    put(key, value) {
      const w = waiting.get(key);
      if (w) {
        waiting.delete(key);
        w(value);
      } else box.set(key, value);
    },
    take(key, ms) {
      if (box.has(key)) {
        const v = box.get(key);
        box.delete(key);
        return Promise.resolve(v);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(`the page did not send ${key} within ${ms} ms`));
        }, ms);
        waiting.set(key, (v) => {
          clearTimeout(timer);
          resolve(v);
        });
      });
    },
  };
}

/**
 * The test-server side of `pages/oslevel.html` (a login form whose script asks `GET /attempt?n=`
 * which verifier to use, posts `/ready` with the form's layout and `/report` with the token): the
 * open `/attempt` response and the posted bodies go to `mail` as `attempt:n`, `ready:n`, `report:n`.
 * For `servePages`.
 */
export function attemptRoute(mail) {
  return (req, res, path) => {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? '-1');
    if (req.method === 'GET' && path === '/attempt') {
      mail.put(`attempt:${n}`, res);
      return true;
    }
    if (req.method === 'POST' && (path === '/ready' || path === '/report')) {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204).end();
        const body = JSON.parse(Buffer.concat(chunks).toString());
        mail.put(`${path.slice(1)}:${body.n}`, body);
      });
      return true;
    }
    return false;
  };
}

/**
 * `pages/oslevel.html` served with `attemptRoute` for suites that open each attempt in a browser
 * of its own at an even `n`: the page's follow-up request for attempt `n + 1` is told it is done.
 */
export function serveOwnBrowserAttempts(mail) {
  const route = attemptRoute(mail);
  return servePages('oslevel.html', (req, res, path) => {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? '-1');
    if (req.method === 'GET' && path === '/attempt' && n % 2 === 1) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}');
      return true;
    }
    return route(req, res, path);
  });
}

/**
 * One attempt on `serveOwnBrowserAttempts`'s page, its browser already opened on attempt `n`:
 * tells the page to use `verifier`, waits for its layout, runs `drive(ready)`, then redeems the
 * token the page posted at siteverify (which must not refuse it). `{ ready, json, decoded }`.
 */
export async function redeemAttempt(mail, n, verifier, label, drive) {
  const res = await mail.take(`attempt:${n}`, 60_000);
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ api: verifier.url }));
  const ready = await mail.take(`ready:${n}`, 60_000);
  await drive(ready);
  const report = await mail.take(`report:${n}`, 60_000);
  assert.ok(report.token, `${label}: the page posted no token`);
  const { json } = await siteverify(verifier.url, { secret: DEV_SECRET, response: report.token });
  assert.equal(json['error-codes']?.length ?? 0, 0, JSON.stringify(json));
  return { ready, json, decoded: await decodeToken(report.token) };
}

/**
 * A missing prerequisite (a binary, a package, a built artefact): under CI=true the test fails (the
 * project's rule: CI never passes by skipping), elsewhere it is skipped loudly. Returns the message
 * for `t.skip`.
 */
export function missingPrerequisite(suite, what) {
  const msg = `${what} (scripts/setup.sh --test installs it)`;
  if (process.env.CI === 'true') assert.fail(`${suite}: ${msg}`);
  process.stderr.write(`SKIP ${suite}: ${msg}\n`);
  return msg;
}


