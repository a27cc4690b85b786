// Subresource Integrity (README "Subresource Integrity"): the asset build writes sha384 hashes of
// every shipped file to js/dist/sri.json. (a) The demo's login page loads the loader with that
// `integrity` (and `crossorigin`) and works; (b) a demo serving a changed tollgate.js under the
// same hash gets no loader at all (the browser refuses it); (c) the package's ES module entry
// (tollgate.mjs) adds the tag with the loader's hash itself and yields a token.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ASSETS_DIR, DEMO_BIN, servePages, sleep, startServer, startStack, tempDir, waitForTollgate, watchPage } from './harness.mjs';

const sri = JSON.parse(readFileSync(join(ASSETS_DIR, 'sri.json'), 'utf8'));

describe('Subresource Integrity', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('sri.json covers every shipped file with sha384', () => {
    for (const f of ['tollgate.js', 'tollgate.mjs', 'turnstile.js', 'tollgate-worker.js', 'tollgate-probe-worker.js', 'tollgate_collector.js', 'tollgate_collector_bg.wasm', 'tollgate_collector_simd_bg.wasm']) {
      assert.match(sri[f] ?? '', /^sha384-[A-Za-z0-9+/]{64}$/, f);
    }
  });

  test('js/package.json: every export, the types and every listed file exist after the build', () => {
    const dir = join(ASSETS_DIR, '..');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const targets = [pkg.types, ...Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)))]
      .filter((p) => !p.includes('*'));
    for (const p of [...targets, ...pkg.files]) assert.ok(existsSync(join(dir, p)), `${p} missing`);
    assert.equal(pkg.exports['.'].import, './dist/tollgate.mjs');
    assert.equal(pkg.exports['.'].default, './dist/tollgate.js');
    assert.equal(pkg.exports['.'].types, './tollgate.d.ts');
  });

  test('(a) the demo loads the loader with its integrity hash', async () => {
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'sri');
    try {
      await page.goto(`${stack.demo.url}/`);
      const tag = await page.evaluate(() => {
        const s = document.querySelector('script[src="/tollgate/tollgate.js"]');
        return { integrity: s?.getAttribute('integrity'), crossorigin: s?.getAttribute('crossorigin') };
      });
      assert.deepEqual(tag, { integrity: sri['tollgate.js'], crossorigin: 'anonymous' });
      await waitForTollgate(page);
      await page.waitForFunction(() => document.querySelector('.tollgate')?.getAttribute('data-tollgate-state') === 'ready', null, { timeout: 30_000 });
      assert.ok(!lines.some((l) => /integrity/i.test(l)), lines.join('\n'));
    } finally {
      await page.close();
    }
  });

  test('(b) a changed loader under the recorded hash does not run', { timeout: 60_000 }, async () => {
    const dir = tempDir('sri-tampered');
    cpSync(ASSETS_DIR, dir, { recursive: true });
    appendFileSync(join(dir, 'tollgate.js'), '\n/* changed after the build */\n');
    const demo = await startServer('demo-site-tampered', DEMO_BIN, ['--listen', '127.0.0.1:0', '--verifier-url', stack.verifier.url, '--assets', dir]);
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'tampered');
    try {
      await page.goto(`${demo.url}/`, { waitUntil: 'load' });
      await sleep(1500);
      assert.equal(await page.evaluate(() => typeof window.tollgate), 'undefined', 'the changed loader ran');
      assert.ok(lines.some((l) => /integrity/i.test(l)), `no integrity error reported:\n${lines.join('\n')}`);
    } finally {
      await page.close();
      await demo.stop();
    }
  });

  test('(c) the ES module entry adds the loader with its hash and yields a token', { timeout: 60_000 }, async () => {
    const server = await servePages('esm.html');
    const page = await stack.browser.newPage();
    const lines = watchPage(page, 'esm');
    try {
      await page.goto(`http://127.0.0.1:${server.address().port}/?api=${encodeURIComponent(stack.verifier.url)}`);
      await page.waitForFunction(() => document.body.dataset.esm, null, { timeout: 45_000 });
      assert.equal(await page.evaluate(() => document.body.dataset.esm), 'token', lines.join('\n'));
      const integrity = await page.evaluate(() => document.querySelector('script[src$="/tollgate/tollgate.js"]')?.integrity);
      assert.equal(integrity, sri['tollgate.js']);
    } finally {
      await page.close();
      server.close();
    }
  });
});
