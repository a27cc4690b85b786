// Production layout, end to end: nginx with TLS (the shipped deploy/nginx/tollgate.conf, ports and
// certificate paths rewritten to loopback) in front of the real demo site and the verifier's
// PUBLIC listener; the demo backend calls the verifier's INTERNAL listener directly. Headless
// Chromium opens https://login.example.com:PORT/ (names mapped to 127.0.0.1, the test
// certificate's key trusted by its SPKI hash only), the collector fetches its challenge from
// https://verifier.example.com:PORT, the form posts through nginx, and the result page shows the
// verifier's verdict. Through the proxy, siteverify, outcome and metrics do not exist.
//
// Needs nginx and openssl (scripts/setup.sh --test installs nginx, without starting it): skipped
// loudly without them, failed under CI=true.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

import {
  ROOT,
  VERIFIER_BIN,
  launchBrowser,
  missingPrerequisite,
  moveMouseTo,
  sleep,
  startDemo,
  startServer,
  tempDir,
  typeLikeAHuman,
  waitForTollgate,
  watchPage,
} from './harness.mjs';

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const SITE = 'proxy-site';
const SECRET = 'proxy-site-secret-0123456789';
const LOGIN_HOST = 'login.example.com';
const VERIFIER_HOST = 'verifier.example.com';

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const missing = [];
if (!existsSync(NGINX)) missing.push(`nginx (${NGINX})`);
if (!which('openssl')) missing.push('openssl');

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(50);
  }
}

/** A self-signed certificate for both names; returns paths and the SPKI SHA-256 (base64). */
function makeCertificate(dir) {
  const cert = join(dir, 'fullchain.pem');
  const key = join(dir, 'privkey.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=tollgate e2e',
    '-addext', `subjectAltName=DNS:${LOGIN_HOST},DNS:${VERIFIER_HOST}`,
  ], { stdio: 'pipe' });
  const pub = execFileSync('openssl', ['x509', '-in', cert, '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  const spki = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
  return { cert, key, spki };
}

/** deploy/nginx/tollgate.conf with loopback ports, upstreams and the test certificate. */
function nginxSiteConfig({ httpPort, loginPort, verifierPort, demoAddr, verifierAddr, cert, key }) {
  let conf = readFileSync(join(ROOT, 'deploy', 'nginx', 'tollgate.conf'), 'utf8');
  const replaceOnce = (from, to) => {
    assert.ok(conf.includes(from), `deploy/nginx/tollgate.conf no longer contains ${JSON.stringify(from)}`);
    conf = conf.replace(from, to);
  };
  replaceOnce('server 127.0.0.1:8080;', `server ${demoAddr};`);
  replaceOnce('server 127.0.0.1:8787;', `server ${verifierAddr};`);
  replaceOnce('listen 80;', `listen 127.0.0.1:${httpPort};`);
  // The first TLS server is the site, the second the verifier.
  replaceOnce('listen 443 ssl http2;', `listen 127.0.0.1:${loginPort} ssl http2;`);
  replaceOnce('listen 443 ssl http2;', `listen 127.0.0.1:${verifierPort} ssl http2;`);
  conf = conf.replace(/^\s*listen \[::\]:\d+.*$/gm, '');
  conf = conf.replaceAll('/etc/ssl/tollgate/fullchain.pem', cert).replaceAll('/etc/ssl/tollgate/privkey.pem', key);
  assert.ok(!/listen (80|443)\b/.test(conf), 'a listen directive was not rewritten');
  return conf;
}

async function startNginx(dir, siteConf, ports) {
  const temp = join(dir, 'temp');
  mkdirSync(temp, { recursive: true });
  // Workers run as an unprivileged user when nginx starts as root: they must reach the temp dir.
  chmodSync(dir, 0o755);
  chmodSync(temp, 0o777);
  writeFileSync(join(dir, 'tollgate.conf'), siteConf);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_buffer_size 64k;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  include ${join(dir, 'tollgate.conf')};
}
`,
  );
  const conf = join(dir, 'nginx.conf');
  execFileSync(NGINX, ['-t', '-q', '-p', dir, '-e', 'stderr', '-c', conf], { stdio: 'pipe' });
  const child = spawn(NGINX, ['-p', dir, '-e', 'stderr', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d.toString()));
  const exited = new Promise((res) => child.once('exit', res));
  for (const p of ports) await waitForPort(p);
  return {
    logs: () => stderr.join(''),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGQUIT');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** An HTTPS request to nginx on 127.0.0.1:port as `host` (SNI and Host), trusting only `ca`. */
function viaProxy({ port, host, ca, method = 'GET', path, body, headers = {} }) {
  return new Promise((res, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: host, ca, method, path, headers: { host: `${host}:${port}`, ...headers } },
      (resp) => {
        let text = '';
        resp.setEncoding('utf8');
        resp.on('data', (c) => (text += c));
        resp.on('end', () => res({ status: resp.statusCode, text }));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

describe('behind nginx with TLS (deploy/nginx/tollgate.conf)', () => {
  const cleanups = [];
  let env = null;

  before(async () => {
    if (missing.length) return;
    const dir = tempDir('proxy');
    // nginx workers run as an unprivileged user when the test runs as root: they must reach
    // the temp directory below this one.
    chmodSync(dir, 0o755);
    const { cert, key, spki } = makeCertificate(dir);
    chmodSync(key, 0o600);
    const [httpPort, loginPort, verifierPort] = [await freePort(), await freePort(), await freePort()];
    const verifierConfig = join(dir, 'verifier.toml');
    const seed = Buffer.alloc(32, 7).toString('base64url');
    const mac = Buffer.alloc(32, 9).toString('base64url');
    writeFileSync(
      verifierConfig,
      `[[keys]]
id = 1
seed = "${seed}"
mac_secret = "${mac}"

[[sites]]
sitekey = "${SITE}"
secret = "${SECRET}"
allowed_origins = ["https://${LOGIN_HOST}:*"]
success_when = "valid"

[server]
internal_listen = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1"]
`,
      { mode: 0o600 },
    );
    const verifier = await startServer('verifier', VERIFIER_BIN, ['serve', '--listen', '127.0.0.1:0', '--config', verifierConfig]);
    cleanups.push(verifier);
    // Second line: `internal listening on http://IP:PORT`.
    const end = Date.now() + 10_000;
    while (verifier.stdoutLines.length < 2 && Date.now() < end) await sleep(20);
    const m = /^internal listening on (http:\/\/\S+)$/.exec(verifier.stdoutLines[1] ?? '');
    assert.ok(m, `no internal listener line:\n${verifier.logs()}`);
    const internalUrl = m[1];
    const demo = await startDemo({
      verifierUrl: `https://${VERIFIER_HOST}:${verifierPort}`,
      sitekey: SITE,
      secret: SECRET,
      extraArgs: ['--verifier-backend-url', internalUrl],
    });
    cleanups.push(demo);
    const nginx = await startNginx(
      join(dir, 'nginx'),
      nginxSiteConfig({
        httpPort,
        loginPort,
        verifierPort,
        demoAddr: new URL(demo.url).host,
        verifierAddr: new URL(verifier.url).host,
        cert,
        key,
      }),
      [httpPort, loginPort, verifierPort],
    ).catch((e) => {
      throw new Error(`nginx did not start: ${e.stderr?.toString() ?? e.message}`);
    });
    cleanups.push(nginx);
    const browser = await launchBrowser({
      extraArgs: [
        `--host-resolver-rules=MAP ${LOGIN_HOST} 127.0.0.1, MAP ${VERIFIER_HOST} 127.0.0.1`,
        `--ignore-certificate-errors-spki-list=${spki}`,
      ],
    });
    cleanups.push({ stop: () => browser.close() });
    env = {
      browser,
      ca: readFileSync(cert),
      loginPort,
      verifierPort,
      httpPort,
      diagnostics: () => [verifier.logs(), demo.logs(), `--- nginx ---\n${nginx.logs()}`].join('\n'),
    };
  });

  after(async () => {
    while (cleanups.length) await cleanups.pop().stop().catch(() => {});
  });

  test('a login through the TLS proxy is verified on the internal listener', async (t) => {
    if (missing.length) return t.skip(missingPrerequisite('proxy', `needs ${missing.join(' and ')}`));
    const page = await env.browser.newPage();
    const lines = watchPage(page, 'proxy');
    const challengeUrls = [];
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/v1/challenge') challengeUrls.push(req.url());
    });
    const origin = `https://${LOGIN_HOST}:${env.loginPort}`;
    const ctx = () => `${lines.join('\n')}\n${env.diagnostics()}`;
    try {
      await page.goto(`${origin}/`, { waitUntil: 'load' });
      await waitForTollgate(page);
      let mouse = await moveMouseTo(page, '#username');
      await typeLikeAHuman(page, '#username', 'carol');
      mouse = await moveMouseTo(page, '#password', mouse);
      await typeLikeAHuman(page, '#password', 'correct horse');
      await moveMouseTo(page, '#login', mouse);
      await Promise.all([page.waitForURL('**/login', { timeout: 90_000 }), page.locator('#login').click({ delay: 60 })]);
      await page.locator('#verdict').waitFor({ timeout: 30_000 });
      const verdict = JSON.parse(await page.locator('#verdict').textContent());
      assert.equal(page.url(), `${origin}/login`, ctx());
      assert.equal(verdict.success, true, `${JSON.stringify(verdict)}\n${ctx()}`);
      assert.equal(verdict.hostname, LOGIN_HOST, JSON.stringify(verdict));
      assert.equal(verdict.action, 'login');
      assert.ok(['allow', 'challenge', 'block'].includes(verdict.tollgate?.decision), JSON.stringify(verdict));
      assert.ok(challengeUrls.length >= 1, 'no challenge request seen');
      for (const u of challengeUrls) {
        assert.equal(new URL(u).origin, `https://${VERIFIER_HOST}:${env.verifierPort}`, u);
      }
    } finally {
      await page.close();
    }
  });

  test('through the proxy only the public routes exist; plain HTTP redirects to https', async (t) => {
    if (missing.length) return t.skip(missingPrerequisite('proxy', `needs ${missing.join(' and ')}`));
    const v = { port: env.verifierPort, host: VERIFIER_HOST, ca: env.ca };
    const keys = await viaProxy({ ...v, path: '/v1/keys' });
    assert.equal(keys.status, 200, keys.text);
    assert.equal(JSON.parse(keys.text).keys[0].alg, 'Ed25519');
    assert.equal((await viaProxy({ ...v, path: '/healthz' })).status, 200);
    const form = new URLSearchParams({ secret: SECRET, response: 'x'.repeat(40) }).toString();
    for (const path of ['/v1/siteverify', '/turnstile/v0/siteverify', '/v1/outcome']) {
      const r = await viaProxy({
        ...v,
        method: 'POST',
        path,
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(r.status, 404, `${path} reachable through the proxy: ${r.status} ${r.text}`);
    }
    assert.equal((await viaProxy({ ...v, path: '/metrics' })).status, 404);
    // Port 80 only redirects.
    const redirect = await new Promise((res, reject) => {
      const s = connect(env.httpPort, '127.0.0.1', () => {
        s.write(`GET /x HTTP/1.1\r\nHost: ${LOGIN_HOST}\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('end', () => res(text));
      s.on('error', reject);
    });
    assert.match(redirect, /^HTTP\/1\.1 301/);
    assert.match(redirect, new RegExp(`Location: https://${LOGIN_HOST}/x`, 'i'));
  });
});
