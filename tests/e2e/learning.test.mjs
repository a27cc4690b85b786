// The learning loop's first half with a real browser: a login on the demo page in headless
// Chromium → siteverify writes an audit record with the decoded telemetry (site opted in) to an
// SQLite trail → an analyst labels the verdict through /v1/feedback → `verifier export` writes it
// as a trace line (docs/trace-format.md) with the browser's pointer and key timings; the analyst
// console served by the verifier draws that session's trajectory and labels it. (The rest of
// the loop — train, shadow, compare, calibrate, promote — is `verifier/tests/learning_loop.rs`.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  VERIFIER_BIN,
  moveMouseTo,
  randomB64,
  startStack,
  tempDir,
  typeLikeAHuman,
  waitForTollgate,
  watchPage,
} from './harness.mjs';

const SITEKEY = 'tg-e2e-learning';
const SECRET = `e2e-learning-${randomB64().replace(/[^A-Za-z0-9]/g, '')}`;
const ANALYST_KEY = `analyst-${randomB64().replace(/[^A-Za-z0-9]/g, '')}`;
const ADMIN_TOKEN = `console-${randomB64().replace(/[^A-Za-z0-9]/g, '')}`;
const DIR = tempDir('learning');
const CONFIG = `
[[keys]]
id = 9
seed = "${randomB64()}"
mac_secret = "${randomB64()}"

[[sites]]
sitekey = "${SITEKEY}"
secret = "${SECRET}"
allowed_origins = ["http://127.0.0.1:*"]
pow = { k = 8, bits = 8 }
success_when = "valid"
store_telemetry = true
feedback_sources = [{ name = "analyst", key = "${ANALYST_KEY}" }]

[audit]
backend = "sqlite"
path = "${join(DIR, 'audit.db')}"
admin_token = "${ADMIN_TOKEN}"
`;

describe('learning loop in headless Chromium', () => {
  let stack;
  before(async () => {
    stack = await startStack({ verifierConfig: CONFIG, sitekey: SITEKEY, secret: SECRET });
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('a browser login reaches the audit trail, is labelled and exported as a trace', async () => {
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'learning');
    try {
      await page.goto(`${stack.demo.url}/`, { waitUntil: 'load' });
      await waitForTollgate(page);
      let mouse = await moveMouseTo(page, '#username');
      await typeLikeAHuman(page, '#username', 'carol');
      mouse = await moveMouseTo(page, '#password', mouse);
      await typeLikeAHuman(page, '#password', 'correct horse');
      await moveMouseTo(page, '#login', mouse);
      await Promise.all([page.waitForURL('**/login', { timeout: 90_000 }), page.locator('#login').click({ delay: 70 })]);
      await page.locator('#verdict').waitFor({ timeout: 30_000 });
      const verdict = JSON.parse(await page.locator('#verdict').textContent());
      const ctx = () => `verdict: ${JSON.stringify(verdict)}\n${lines.join('\n')}\n${stack.diagnostics()}`;
      const id = verdict.tollgate?.id;
      assert.match(id ?? '', /^[0-9a-f]{32}$/, ctx());
      assert.match(verdict.tollgate.model ?? '', /^sha256-[0-9a-f]{16}$/, ctx());

      // The browser was driven by Playwright: an analyst labels it a bot.
      const resp = await fetch(`${stack.verifier.url}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ secret: SECRET, id, label: 'bot', source: 'analyst', source_key: ANALYST_KEY }),
      });
      const body = await resp.json();
      assert.equal(resp.status, 200, `${JSON.stringify(body)}\n${ctx()}`);
      assert.equal(body.source, 'analyst');

      // A wrong analyst key is refused.
      const bad = await fetch(`${stack.verifier.url}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ secret: SECRET, id, label: 'human', source: 'analyst', source_key: 'not-the-key-0123456789' }),
      });
      assert.equal(bad.status, 403);

      // verifier export (a second process reading the serving verifier's SQLite file).
      const cfg = join(DIR, 'verifier.toml');
      writeFileSync(cfg, CONFIG, { mode: 0o600 });
      const out = join(DIR, 'site.jsonl');
      const run = spawnSync(VERIFIER_BIN, ['export', '--config', cfg, '--site', SITEKEY, '--out', out], {
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, `${run.stderr}\n${ctx()}`);
      const rows = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.equal(rows.length, 1, run.stderr);
      const row = rows[0];
      assert.equal(row.id, id);
      assert.equal(row.label, 'bot');
      assert.equal(row.source, `site:${SITEKEY}`);
      assert.ok(row.feedback.includes('bot'), JSON.stringify(row.feedback));
      assert.equal(row.model_id, verdict.tollgate.model);
      // The browser's own timings: pointer moves, the click, and one key row per key typed
      // ("carol" + "correct horse", plus any Tab/Enter) — never which keys.
      assert.ok(row.pointer.filter((p) => p[1] === 'move').length >= 20, JSON.stringify(row.pointer.length));
      assert.ok(row.pointer.some((p) => p[1] === 'down'), 'a pointer down');
      assert.ok(row.keys.length >= 18, JSON.stringify(row.keys));
      assert.ok(row.keys.every((k) => typeof k[2] === 'string' && k[2].length > 1), 'key classes, not keys');

      // The analyst console, served by the verifier: the session view draws the login's
      // trajectory, and a label button reaches the trail.
      const con = await stack.browser.newPage();
      const conLines = watchPage(con, 'console');
      try {
        await con.goto(`${stack.verifier.url}/admin/`, { waitUntil: 'load' });
        await con.locator('#token').fill(ADMIN_TOKEN);
        await con.locator('#load').click();
        const rowSel = `tr.row[data-id="${id}"]`;
        await con.locator(rowSel).waitFor({ timeout: 10_000 });
        const chartPixels = await con.evaluate(() => {
          const c = document.getElementById('chart');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        });
        assert.ok(chartPixels > 50, `verdicts-over-time chart drawn (${chartPixels} pixels)`);
        await con.locator(rowSel).waitFor({ timeout: 10_000 });
        await con.locator(rowSel).click();
        await con.waitForFunction(() => Number(document.getElementById('trajectory').dataset.segments) > 0, null, {
          timeout: 10_000,
        });
        const painted = await con.evaluate(() => {
          const c = document.getElementById('trajectory');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        });
        assert.ok(painted > 200, `trajectory pixels ${painted}\n${conLines.join('\n')}`);
        const contributions = await con.locator('#s-features tbody tr').evaluateAll((rows) =>
          rows.filter((r) => r.children[2].textContent !== '').length,
        );
        // As many contribution cells as the verdict had (none when automation blocked it before
        // the model ran; the router tests check a scored session's).
        assert.equal(contributions, Object.keys(verdict.tollgate.contributions ?? {}).length);
        await con.locator('.labels button[data-label="account-takeover"]').click();
        await con.locator('#s-labels', { hasText: 'account-takeover (console)' }).waitFor({ timeout: 10_000 });
        const check = await fetch(`${stack.verifier.url}/admin/api/verdicts/${id}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }).then((r) => r.json());
        assert.deepEqual(
          check.labels.map((l) => [l.feedback, l.source]).filter(([, s]) => s !== 'backend'),
          [
            ['bot', 'analyst'],
            ['account-takeover', 'console'],
          ],
          JSON.stringify(check.labels),
        );
        assert.deepEqual(conLines.filter((l) => l.includes('pageerror')), []);
      } finally {
        await con.close();
      }
    } finally {
      await page.close();
    }
  });
});
