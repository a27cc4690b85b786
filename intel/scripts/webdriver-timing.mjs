#!/usr/bin/env node
// How does ChromeDriver deliver W3C pointer and key actions to a page? (issue 14, session 12)
//
// Starts Debian's `chromedriver` on a free loopback port (`tests/e2e/webdriver.mjs`), opens a page
// that logs `pointermove`, `pointerdown`/`pointerup` and `keydown`/`keyup` time stamps, performs the
// action shapes Selenium bots use (its `ActionChains` default pointer-move duration is 250 ms) and prints the spacing the
// page saw. The figures behind `intel/scripts/probes.mjs`'s Selenium families and the
// `sparse-moves` rule's note in verifier/README.md.
//
//   node intel/scripts/webdriver-timing.mjs     # needs /usr/bin/chromedriver and /usr/bin/chromium
//   DISPLAY=:99 node intel/scripts/webdriver-timing.mjs   # headful, on a running X server (Xvfb :99)

import { startChromeDriver } from '../../tests/e2e/webdriver.mjs';

const driver = await startChromeDriver();
const { wd } = driver;
let sid;
try {
  sid = await driver.newSession({ headless: !process.env.DISPLAY, args: ['--window-size=1200,900'] });
  const html = `<input id=i style="position:absolute;left:50px;top:50px"><script>window.ev=[];
for (const k of ['pointermove','pointerdown','pointerup','keydown','keyup']) addEventListener(k, (e) => ev.push([k, e.timeStamp]));</script>`;
  await wd('POST', `/session/${sid}/url`, { url: 'data:text/html,' + encodeURIComponent(html) });
  const pointer = (actions) => ({ actions: [{ type: 'pointer', id: 'm', parameters: { pointerType: 'mouse' }, actions }] });
  const move = (x, y, duration) => ({ type: 'pointerMove', x, y, duration });
  const report = async (label) => {
    const ev = await wd('POST', `/session/${sid}/execute/sync`, { script: 'const e = window.ev; window.ev = []; return e', args: [] });
    const gaps = (kind) => {
      const ts = ev.filter((e) => e[0] === kind).map((e) => e[1]);
      return ts.slice(1).map((t, i) => t - ts[i]);
    };
    const span = (v) => {
      if (!v.length) return '-';
      const s = [...v].sort((a, b) => a - b);
      const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
      return `${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)} ms (p10 ${q(0.1)}, median ${q(0.5)}, p90 ${q(0.9)})`;
    };
    const moves = ev.filter((e) => e[0] === 'pointermove').length;
    const holds = [];
    ev.forEach((e, i) => {
      if (e[0] === 'keydown') {
        const up = ev.slice(i + 1).find((f) => f[0] === 'keyup');
        if (up) holds.push(up[1] - e[1]);
      }
    });
    // The clock rules' statistics (model/src/features/pointer.rs): the densest 2 ms window's share
    // of the intervals (off-frame-clock), and the share on the first of the eight person grids
    // holding 40 % of them, else the best (off-grid-clock, GRID_CADENCES_MS, judged when the
    // median is 10-45 ms and there are at least 12).
    const g = gaps('pointermove').sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; i < g.length; i++) {
      while (j < g.length && g[j] <= g[i] + 2) j++;
      best = Math.max(best, j - i);
    }
    let grid = 0;
    for (const c of [1000 / 120, 1000 / 144, 8, 10, 1000 / 90, 1000 / 85, 1000 / 75, 15.625]) {
      grid = Math.max(grid, g.filter((x) => Math.abs(x - Math.max(1, Math.round(x / c)) * c) <= 1).length / Math.max(g.length, 1));
      if (grid >= 0.4) break;
    }
    const median = g[Math.floor(g.length / 2)];
    const judged = g.length >= 12 && median >= 10 && median < 45;
    const mode = g.length > 2 ? `  2 ms window ${Math.round((100 * best) / g.length)} %` : '';
    const onGrid = judged ? `  on grid ${Math.round(100 * grid)} %${grid < 0.4 ? ' (off-grid-clock)' : ''}` : '';
    console.log(`${label.padEnd(44)} moves ${String(moves).padStart(3)}  move spacing ${span(g)}${mode}${onGrid}${holds.length ? `  key holds ${span(holds)}` : ''}`);
  };
  await wd('POST', `/session/${sid}/actions`, pointer([move(100, 100, 0)]));
  await report('one move, duration 0');
  await wd('POST', `/session/${sid}/actions`, pointer([move(400, 300, 250)]));
  await report('one move, duration 250 ms');
  await wd('POST', `/session/${sid}/actions`, pointer([move(100, 100, 1000)]));
  await report('one move, duration 1000 ms');
  await wd('POST', `/session/${sid}/actions`, pointer(Array.from({ length: 20 }, (_, i) => move(100 + 10 * i, 100 + 5 * i, 250))));
  await report('20 moves of 250 ms, one perform');
  await wd('POST', `/session/${sid}/actions`, pointer(Array.from({ length: 20 }, (_, i) => move(300 - 10 * i, 200 - 5 * i, 0))));
  await report('20 moves of 0 ms, one perform');
  for (const d of [8, 16, 20, 25, 33, 40, 50, 100]) {
    await wd('POST', `/session/${sid}/actions`, pointer(Array.from({ length: 40 }, (_, i) => move(100 + 10 * i, 100 + 5 * i, d))));
    await report(`40 moves of ${d} ms, one perform`);
  }
  for (const p of [5, 10, 20, 30]) {
    await wd('POST', `/session/${sid}/actions`, pointer(Array.from({ length: 40 }, (_, i) => [move(100 + 10 * i, 100 + 5 * i, 0), { type: 'pause', duration: p }]).flat()));
    await report(`40 moves of 0 ms + pause ${p} ms, one perform`);
  }
  {
    let x = 1;
    const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647);
    await wd('POST', `/session/${sid}/actions`, pointer(Array.from({ length: 60 }, (_, i) => [move(100 + 5 * i, 100 + 3 * i, 0), { type: 'pause', duration: Math.round(5 + 25 * rnd()) }]).flat()));
    await report('60 moves of 0 ms + pause 5–30 ms, one perform');
  }
  for (let i = 0; i < 10; i++) await wd('POST', `/session/${sid}/actions`, pointer([{ type: 'pointerMove', origin: 'pointer', x: 7, y: 3, duration: 250 }]));
  await report('10 moves of 250 ms, one perform each');
  for (let i = 0; i < 20; i++) await wd('POST', `/session/${sid}/actions`, pointer([{ type: 'pointerMove', origin: 'pointer', x: 7, y: 3, duration: 0 }]));
  await report('20 moves of 0 ms, one perform each');
  // A script's own sleep loop: one perform per step (duration 0 or d), then a fixed sleep, as
  // `for p in path: ActionChains(driver, duration=d).move_by_offset(..).perform(); time.sleep(s)`.
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
  for (const [k, [d, s]] of [[0, 10], [0, 15], [0, 20], [0, 25], [0, 30], [0, 40], [10, 10], [20, 0]].entries()) {
    const dir = k % 2 ? -1 : 1;
    for (let i = 0; i < 40; i++) {
      await wd('POST', `/session/${sid}/actions`, pointer([{ type: 'pointerMove', origin: 'pointer', x: dir * (3 + (i % 3)), y: dir * 2, duration: d }]));
      if (s) await sleep(s);
    }
    await report(`40 performs of ${d} ms, sleep ${s} ms after each`);
  }
  const el = Object.values(await wd('POST', `/session/${sid}/element`, { using: 'css selector', value: '#i' }))[0];
  await wd('POST', `/session/${sid}/element/${el}/value`, { text: 'hello' });
  await report('element send_keys');
  await wd('POST', `/session/${sid}/actions`, {
    actions: [{ type: 'key', id: 'k', actions: [{ type: 'keyDown', value: 'x' }, { type: 'pause', duration: 90 }, { type: 'keyUp', value: 'x' }] }],
  });
  await report('key actions, 90 ms pause between down and up');
} finally {
  if (sid) await wd('DELETE', `/session/${sid}`).catch(() => {});
  await driver.stop();
}
