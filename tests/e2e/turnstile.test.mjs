// Turnstile drop-in: a login site written for Cloudflare Turnstile with the stock, unmodified
// `django-turnstile` library (PyPI; tests/e2e/turnstile-django/), pointed at Tollgate by its own
// settings only — TURNSTILE_JS_API_URL (the script URL → Tollgate's turnstile.js) and
// TURNSTILE_VERIFY_URL (→ Tollgate's /turnstile/v0/siteverify). The library renders Turnstile's
// markup (`<div class="cf-turnstile" data-sitekey data-action>`), reads `cf-turnstile-response`
// and checks only `success`; the site uses the default `success_when = "allow"` (and a lower allow
// threshold, see CONFIG).
//
// (a) headless Playwright typing like a human: the verifier blocks it (automation), so the stock
//     library refuses the login;
// (b) a recorded person's login: a plain Chromium (no driver, no remote debugging) under Xvfb,
//     driven only through the X server (XTEST) by a replay of real people's recorded input, the
//     way the OS-level capture rig does it (xtest.mjs, shared with oslevel.test.mjs): a SapiMouse
//     subject's approach to the first field and click-to-click paths to the next field and "Sign
//     in", Aalto key timings — the library
//     accepts it;
// (c) the window.turnstile shim answers on the page (render/getResponse/reset/remove/isExpired).
//
// Needs target/py-venv (scripts/setup.sh --test: pip install -r tests/e2e/turnstile-django/
// requirements.txt) and, for (b), Xvfb, /usr/bin/python3 with python3-xlib and the trace files in
// ../shared/data/traces/ (or $TOLLGATE_TRACES): missing ones fail under CI=true and skip loudly
// otherwise.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  ASSETS_DIR,
  ROOT,
  VERIFIER_BIN,
  launchBrowser,
  moveMouseTo,
  randomB64,
  sleep,
  startServer,
  tempDir,
  typeLikeAHuman,
  watchPage,
} from './harness.mjs';
import { humanSample, humanSession, killGroup, launchChromium, mulberry32, startPlayer, startXvfb, toEvents, typedTexts, xtestPrerequisites } from './xtest.mjs';

const PYTHON = join(ROOT, 'target', 'py-venv', 'bin', 'python');
const SITE = join(ROOT, 'tests', 'e2e', 'turnstile-django', 'site.py');
const SITEKEY = 'tg-e2e-turnstile';
const SECRET = `e2e-turnstile-${randomB64().replace(/[^A-Za-z0-9]/g, '')}`;
// (b): the screen (kiosk window) and the site's fixed layout (site.py's CSS), page coordinates.
const SCREEN = { w: 1280, h: 900 };
const LAYOUT = {
  inner: [SCREEN.w, SCREEN.h],
  boxes: { username: { x: 100, y: 100, w: 300, h: 30 }, password: { x: 100, y: 170, w: 300, h: 30 }, login: { x: 100, y: 240, w: 120, h: 36 } },
};
// (b): recorded people tried, at most (one accepted login is required).
const ATTEMPTS = 3;

const CONFIG = `
[[keys]]
id = 5
seed = "${randomB64()}"
mac_secret = "${randomB64()}"

# success_when left at its default ("allow"): stock Turnstile code reads only \`success\`.
# The allow threshold is lower than the default 0.6: this test is about the drop-in wiring, not
# the behaviour model's calibration (the recorded person (b) replays first scored 0.68 when it was
# written). Automation is blocked whatever the thresholds (score 0). Each run prints its verdicts.
[[sites]]
sitekey = "${SITEKEY}"
secret = "${SECRET}"
allowed_origins = ["http://127.0.0.1:*"]
policy = { allow = 0.3, block = 0.2 }
`;

/** A prerequisite: missing → fail under CI=true, skip loudly otherwise. */
function need(t, ok, what) {
  if (ok) return true;
  const msg = `${what} is missing (scripts/setup.sh --test installs it)`;
  if (process.env.CI === 'true') throw new Error(msg);
  process.stderr.write(`SKIP turnstile.test.mjs: ${msg}\n`);
  t.skip(msg);
  return false;
}

async function results(site) {
  return (await fetch(`${site.url}/results`)).json();
}

/** The first login recorded after the first `count`. */
async function waitForNewResult(site, count, ms = 90_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = (await results(site))[count];
    if (r) return r;
    await sleep(250);
  }
  throw new Error(`no new login within ${ms} ms`);
}

async function waitForResult(site, username, ms = 90_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = (await results(site)).find((e) => e.username === username);
    if (r) return r;
    await sleep(250);
  }
  throw new Error(`no login from ${username} within ${ms} ms`);
}

describe('Turnstile drop-in with the stock django-turnstile library', () => {
  let verifier;
  let site;
  before(async () => {
    if (!existsSync(PYTHON)) return;
    // Debug lines of siteverify carry each verdict's score and decision (printed below).
    const file = join(tempDir('turnstile-config'), 'verifier.toml');
    writeFileSync(file, CONFIG, { mode: 0o600 });
    verifier = await startServer('verifier', VERIFIER_BIN, ['serve', '--listen', '127.0.0.1:0', '--config', file], {
      env: { RUST_LOG: 'info,verifier::siteverify=debug' },
    });
    site = await startServer('django-turnstile-site', PYTHON, [SITE], {
      env: {
        TURNSTILE_JS_API_URL: `/tollgate/turnstile.js?api=${encodeURIComponent(verifier.url)}`,
        TURNSTILE_VERIFY_URL: `${verifier.url}/turnstile/v0/siteverify`,
        TURNSTILE_SITEKEY: SITEKEY,
        TURNSTILE_SECRET: SECRET,
        TOLLGATE_ASSETS: ASSETS_DIR,
      },
    });
  });
  after(async () => {
    await site?.stop();
    await verifier?.stop();
  });

  test('(a)+(c) headless Playwright login: blocked by the verifier, refused by the stock library; the shim answers', { timeout: 120_000 }, async (t) => {
    if (!need(t, existsSync(PYTHON), 'target/py-venv (Django + django-turnstile)')) return;
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const lines = watchPage(page, 'django');
      await page.goto(`${site.url}/`);
      // The page is the library's: Turnstile markup, only the script URL is Tollgate's.
      const html = await (await fetch(`${site.url}/`)).text();
      assert.match(html, /<div class="cf-turnstile"[^>]*data-sitekey="tg-e2e-turnstile"/, html);
      assert.match(html, /<script src="\/tollgate\/turnstile\.js\?api=[^"]+" async defer><\/script>/, html);
      await page.waitForFunction(() => document.querySelector('.cf-turnstile')?.getAttribute('data-tollgate-state') === 'ready', null, { timeout: 60_000 });

      // (c) window.turnstile: a token in the Turnstile input once the widget is ready (and the
      // idle-time probes ran).
      await page.waitForFunction(() => window.turnstile.getResponse(), null, { timeout: 30_000 });
      const shim = await page.evaluate(() => {
        const t = window.turnstile;
        const input = document.querySelector('input[name="cf-turnstile-response"]');
        return {
          api: ['render', 'reset', 'getResponse', 'remove', 'execute', 'ready', 'isExpired'].filter((m) => typeof t?.[m] === 'function'),
          early: t.getResponse() ?? '',
          input: input?.value ?? '',
          expired: t.isExpired(),
          tollgateInput: !!document.querySelector('input[name="tollgate-response"]'),
        };
      });
      assert.deepEqual(shim.api, ['render', 'reset', 'getResponse', 'remove', 'execute', 'ready', 'isExpired'], lines.join('\n'));
      assert.ok(shim.early.length > 100, `no early token: ${JSON.stringify(shim)}`);
      assert.equal(shim.input, shim.early);
      assert.equal(shim.expired, false);
      assert.equal(shim.tollgateInput, false, 'only the Turnstile input name is used');

      let posted = null;
      page.on('request', (req) => {
        if (req.method() === 'POST' && new URL(req.url()).pathname === '/login') posted = new URLSearchParams(req.postData() ?? '');
      });
      const user = `headless-${process.pid}`;
      let mouse = await moveMouseTo(page, '#username');
      await typeLikeAHuman(page, '#username', user);
      mouse = await moveMouseTo(page, '#password', mouse);
      await typeLikeAHuman(page, '#password', 'correct horse');
      await moveMouseTo(page, '#login', mouse);
      await Promise.all([page.waitForURL('**/login', { timeout: 60_000 }), page.locator('#login').click({ delay: 70 })]);
      assert.equal(await page.locator('#outcome').getAttribute('data-outcome'), 'refused');
      const r = await waitForResult(site, user);
      assert.equal(r.accepted, false, JSON.stringify(r));
      assert.equal(r.errors.turnstile?.[0]?.code, 'invalid_turnstile', JSON.stringify(r));
      // The form carried a fresh token (built at submit), not the early one.
      const token = posted?.get('cf-turnstile-response') ?? '';
      assert.ok(token.length > 100 && token !== shim.early, 'the submit built a fresh token');

      // The same token at siteverify now: spent (the library redeemed it, the verdict was block).
      const again = await fetch(`${verifier.url}/turnstile/v0/siteverify`, {
        method: 'POST',
        body: new URLSearchParams({ secret: SECRET, response: token }),
      }).then((x) => x.json());
      assert.deepEqual(again['error-codes'], ['timeout-or-duplicate'], JSON.stringify(again));

      // remove / render / reset on a fresh page.
      const p2 = await browser.newPage();
      await p2.goto(`${site.url}/`);
      await p2.waitForFunction(() => document.querySelector('.cf-turnstile')?.getAttribute('data-tollgate-state') === 'ready', null, { timeout: 60_000 });
      const cycle = await p2.evaluate(async () => {
        const el = document.querySelector('.cf-turnstile');
        const first = el.getAttribute('data-tollgate-id');
        window.turnstile.remove(first);
        const removed = !el.hasAttribute('data-tollgate-id');
        let got = null;
        const id = window.turnstile.render(el, { sitekey: el.getAttribute('data-sitekey'), action: 'login', callback: (tok) => { got = tok; } });
        const end = Date.now() + 30000;
        while (!got && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        window.turnstile.reset(id);
        const afterReset = window.turnstile.getResponse(id);
        return { removed, id, first, got: (got ?? '').length, afterReset: afterReset ?? null };
      });
      assert.ok(cycle.removed && cycle.id !== cycle.first && cycle.got > 100 && cycle.afterReset === null, JSON.stringify(cycle));
      await p2.close();
    } finally {
      await browser.close();
    }
  });

  test('(b) recorded human replayed through XTEST into a plain Chromium under Xvfb: accepted by the stock library', { timeout: 300_000 }, async (t) => {
    if (!need(t, existsSync(PYTHON), 'target/py-venv (Django + django-turnstile)')) return;
    const missing = xtestPrerequisites();
    if (!need(t, missing.length === 0, missing.join('; '))) return;
    const xvfb = await startXvfb(SCREEN);
    let player = null;
    let chromium = null;
    try {
      player = await startPlayer(xvfb.display);
      // Kiosk mode: the page fills the screen, so page (CSS) pixels are screen pixels; the username
      // each replay types arriving at the site shows its clicks landed in the fields.
      const offset = { dx: 0, dy: 0 };
      const sample = humanSample(ATTEMPTS);
      let nextSubject = 0;
      const verdicts = [];
      // A replay of one recorded person can be challenged (the model is not certain of every real
      // person), so up to ATTEMPTS fixed subjects (file order, deterministic) are tried in turn, each
      // in a fresh Chromium; one accepted login is required. Every attempt's decision is printed.
      for (let k = 0; k < ATTEMPTS; k++) {
        const rng = mulberry32(0x7e57 + k * 7919);
        let h = null;
        let session = null;
        let texts = null;
        // The next recorded person (file order) whose strokes fit the page and whose keys type a
        // non-blank username and password.
        while (!session && nextSubject < sample.pointers.length) {
          h = { ...sample.pointers[nextSubject++], keys: sample.keys[k] };
          session = humanSession(h, LAYOUT, rng);
          texts = session && typedTexts(session);
          if (session && !(texts.length === 3 && texts[0].trim() && texts[1].trim())) session = null;
        }
        assert.ok(session, `only ${k} recorded subjects fit the page`);

        const hitsBefore = (await (await fetch(`${site.url}/hits`)).json()).length;
        const resultsBefore = (await results(site)).length;
        // Plain Chromium: no --remote-debugging-*, no driver, no CDP client anywhere.
        chromium = launchChromium(
          ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--password-store=basic', '--disable-features=Translate,PasswordManagerOnboarding',
            `--user-data-dir=${tempDir('turnstile-headful')}`, '--kiosk', '--window-position=0,0', `--window-size=${SCREEN.w},${SCREEN.h}`,
            '--force-device-scale-factor=1', `${site.url}/`],
          xvfb.display,
        );
        // Wait for the page's loader, workers and wasm to have been fetched, then a little more.
        const end = Date.now() + 60_000;
        for (;;) {
          const hits = (await (await fetch(`${site.url}/hits`)).json()).slice(hitsBefore);
          if (hits.includes('turnstile.js') && hits.includes('tollgate-worker.js') && hits.some((x) => x.endsWith('.wasm'))) break;
          if (Date.now() > end) throw new Error(`the headful page did not load its assets: ${JSON.stringify(hits)}`);
          await sleep(200);
        }
        await sleep(2500);

        const played = await player.play(toEvents(session, offset));
        const r = await waitForNewResult(site, resultsBefore);
        // The verifier's debug line for this verdict (ANSI colours stripped).
        const line =
          verifier
            .logs()
            .replace(/\x1b\[[0-9;]*m/g, '')
            .split('\n')
            .filter((l) => l.includes('siteverify ok') || l.includes('siteverify rejected'))
            .at(-1) ?? 'no verdict line';
        const score = /score=([0-9.]+)/.exec(line)?.[1] ?? '?';
        const decision = /decision="?([a-z]+)/.exec(line)?.[1] ?? (line.includes('rejected') ? 'rejected' : '?');
        verdicts.push({ subject: `${h.subject}+${h.keys.subject}`, decision, score, accepted: r.accepted });
        process.stdout.write(
          `E2E-TURNSTILE recorded human ${k + 1}/${ATTEMPTS} (SapiMouse ${h.subject} + Aalto ${h.keys.subject}, typed ${JSON.stringify(texts.slice(0, 2))}): ` +
            `decision=${decision} score=${score} accepted=${r.accepted} late p90=${played.late_ms.p90}ms max=${played.late_ms.max}ms result=${JSON.stringify(r)}\n`,
        );
        killGroup(chromium);
        chromium = null;
        assert.ok(r.response_chars > 100, `no Turnstile response posted: ${JSON.stringify(r)}`);
        assert.equal(r.username, texts[0], `the replay's username did not arrive as typed: ${JSON.stringify(r)}`);
        if (r.accepted) break;
      }
      assert.ok(verdicts.some((v) => v.accepted), `the stock library refused every recorded human: ${JSON.stringify(verdicts)}\n${verifier.logs()}`);
    } finally {
      killGroup(chromium);
      player?.stop();
      xvfb.child.kill('SIGTERM');
    }
  });
});
