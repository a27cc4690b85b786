// The backend examples (`examples/express`, `examples/fastapi`, `examples/go`) against the REAL
// verifier binary on a free loopback port: each example's login endpoint is started as its own
// process (Node, Python in `target/py-venv`, a Go binary built here) and called over HTTP
// the way a browser form posts, with
//
// - real tokens: a `/v1/challenge` reply sealed by `testkit` (`mint_token`, a human-like or a
//   scripted session) → allow → 200; the same token again → refused (duplicate); the scripted
//   session → decision block → 403; a token for another action → 403;
// - the test keys (`tgtest-secret-always-*`, no token needed) → 200 / 403 challenge / 403 block /
//   403 duplicate; a wrong secret → 500; no token → 400;
// - the verifier down (a port nothing listens on) → 503: every example fails closed.
//
// Prerequisites come from `scripts/setup.sh --test` (npm `express`, the venv from
// `examples/fastapi/requirements.txt`, Debian's `golang-go`); a missing one fails under CI=true and
// is skipped loudly otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ROOT, missingPrerequisite, startServer, startVerifier, tempDir } from './harness.mjs';

const SITEKEY = 'examples-site';
const SECRET = `examples-secret-${randomBytes(12).toString('hex')}`;
const ORIGIN = 'http://127.0.0.1:3000';
const MINT = join(ROOT, 'target', 'debug', 'examples', 'mint_token');
const PYTHON = process.env.TOLLGATE_EXAMPLES_PYTHON ?? join(ROOT, 'target', 'py-venv', 'bin', 'python');
const GO = process.env.GO ?? 'go';

const b64 = (n) => randomBytes(n).toString('base64url');
const CONFIG = `
test_keys = true

[[keys]]
id = 1
seed = "${b64(32)}"
mac_secret = "${b64(32)}"

# success_when left at its default: "allow".
[[sites]]
sitekey = "${SITEKEY}"
secret = "${SECRET}"
allowed_origins = ["http://127.0.0.1:*"]
pow = { k = 4, bits = 8 }
`;


function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A loopback URL nothing listens on (a port just released). */
async function deadUrl() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return `http://127.0.0.1:${port}`;
}

let verifier;
let goBin;

async function token({ shape = 'human', action = 'login' } = {}) {
  const resp = await fetch(`${verifier.url}/v1/challenge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({ sitekey: SITEKEY, action }),
  });
  assert.equal(resp.status, 200, await resp.clone().text());
  const reply = await resp.json();
  return run(MINT, [reply.challenge, reply.token_key, ORIGIN, action, shape]).trim();
}

async function login(app, fields) {
  const resp = await fetch(`${app.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await resp.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  // Express and Go answer `{ error }`, FastAPI `{ detail: { error } }`.
  return { status: resp.status, body, error: body.error ?? body.detail?.error };
}

const EXAMPLES = [
  {
    name: 'express',
    prerequisite: () => (existsSync(join(ROOT, 'node_modules', 'express')) ? null : 'npm package express missing'),
    command: () => [process.execPath, [join(ROOT, 'examples', 'express', 'server.mjs')]],
  },
  {
    name: 'fastapi',
    prerequisite: () => (existsSync(PYTHON) ? null : `${PYTHON} missing`),
    command: () => [PYTHON, [join(ROOT, 'examples', 'fastapi', 'app.py')]],
  },
  {
    name: 'go',
    prerequisite: () => (goBin ? null : 'go toolchain (golang-go) missing'),
    command: () => [goBin, []],
  },
];

before(async () => {
  run('cargo', ['build', '-q', '-p', 'tollgate-testkit', '--example', 'mint_token']);
  const go = spawnSync(GO, ['version'], { encoding: 'utf8' });
  if (!go.error && go.status === 0) {
    goBin = join(tempDir('examples-go'), 'tollgate-go-example');
    // Standard library only: nothing to download (GOPROXY=off, GOFLAGS=-mod=mod).
    const goEnv = { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod' };
    const cwd = join(ROOT, 'examples', 'go');
    assert.equal(run('gofmt', ['-l', '.'], { cwd }), '', 'examples/go is not gofmt-formatted');
    run(GO, ['vet', './...'], { cwd, env: goEnv });
    run(GO, ['build', '-o', goBin, '.'], { cwd, env: goEnv });
  }
  verifier = await startVerifier({ config: CONFIG });
});

after(async () => {
  await verifier?.stop();
});

test('the served /openapi.json is docs/openapi.json, a valid OpenAPI document, and every example maps every siteverify error code', async (t) => {
  const resp = await fetch(`${verifier.url}/openapi.json`);
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get('content-type'), 'application/json');
  const served = await resp.text();
  assert.equal(served, readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8'));
  // An independent validator (openapi-spec-validator, from tests/requirements.txt).
  if (existsSync(PYTHON)) {
    const out = run(PYTHON, [
      '-c',
      'import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint("valid")',
      join(ROOT, 'docs', 'openapi.json'),
    ]);
    assert.equal(out.trim(), 'valid');
  } else {
    t.diagnostic(missingPrerequisite('examples', `${PYTHON} missing: docs/openapi.json not validated`));
  }
  const codes = JSON.parse(served).components.schemas.SiteverifyErrorCode.enum;
  assert.ok(codes.includes('timeout-or-duplicate') && codes.includes('tollgate-decision-block'), codes.join());
  for (const file of ['express/tollgate.mjs', 'fastapi/tollgate_dep.py', 'go/tollgate/tollgate.go']) {
    const source = readFileSync(join(ROOT, 'examples', file), 'utf8');
    for (const code of codes) {
      assert.ok(source.includes(`'${code}'`) || source.includes(`"${code}"`), `examples/${file} does not map ${code}`);
    }
  }
});

for (const ex of EXAMPLES) {
  describe(`${ex.name} example`, () => {
    const apps = [];
    let skip = null;
    const start = async (label, secret, { verifierUrl = verifier.url, action = 'login' } = {}) => {
      const [bin, args] = ex.command();
      const app = await startServer(`${ex.name}-${label}`, bin, args, {
        env: {
          TOLLGATE_SECRET: secret,
          TOLLGATE_VERIFIER_URL: verifierUrl,
          TOLLGATE_EXPECTED_ACTION: action,
          LISTEN: '127.0.0.1:0',
          PYTHONDONTWRITEBYTECODE: '1',
        },
      });
      apps.push(app);
      return app;
    };

    before(() => {
      const why = ex.prerequisite();
      if (why) skip = missingPrerequisite('examples', why);
    });
    after(async () => {
      await Promise.all(apps.map((a) => a.stop()));
    });

    test('real tokens: human → 200 allow, replay → refused, scripted → 403 block, other action → 403', async (t) => {
      if (skip) return t.skip(skip);
      const app = await start('site', SECRET);
      const human = await token();
      const ok = await login(app, { username: 'alice', password: 'pw', 'tollgate-response': human });
      assert.equal(ok.status, 200, `${JSON.stringify(ok.body)}\n${app.logs()}\n${verifier.logs()}`);
      assert.equal(ok.body.decision, 'allow');
      assert.match(ok.body.id, /^[0-9a-f]{32}$/);

      const replay = await login(app, { username: 'alice', password: 'pw', 'tollgate-response': human });
      assert.equal(replay.status, 403, JSON.stringify(replay.body));
      assert.equal(replay.error, 'tollgate-expired-or-used');

      const bot = await login(app, { username: 'alice', password: 'pw', 'tollgate-response': await token({ shape: 'bot' }) });
      assert.equal(bot.status, 403, JSON.stringify(bot.body));
      assert.equal(bot.error, 'tollgate-blocked');

      const other = await login(app, { username: 'alice', 'tollgate-response': await token({ action: 'signup' }) });
      assert.equal(other.status, 403, JSON.stringify(other.body));
      assert.equal(other.error, 'tollgate-invalid');

      const none = await login(app, { username: 'alice', password: 'pw' });
      assert.equal(none.status, 400, JSON.stringify(none.body));
      assert.equal(none.error, 'tollgate-missing');

      const forged = await login(app, { username: 'alice', 'tollgate-response': b64(600) });
      assert.equal(forged.status, 403, JSON.stringify(forged.body));
      assert.equal(forged.error, 'tollgate-invalid');
    });

    test('test keys and a wrong secret: no browser, fixed answers', async (t) => {
      if (skip) return t.skip(skip);
      const cases = [
        ['allow', 'tgtest-secret-always-allow', 200, undefined],
        ['challenge', 'tgtest-secret-always-challenge', 403, 'tollgate-challenge'],
        ['block', 'tgtest-secret-always-block', 403, 'tollgate-blocked'],
        ['duplicate', 'tgtest-secret-always-duplicate', 403, 'tollgate-expired-or-used'],
        ['wrong-secret', 'not-the-secret', 500, 'tollgate-misconfigured'],
      ];
      // The test keys answer action "": no expected action for these instances.
      const started = await Promise.all(cases.map(([label, secret]) => start(label, secret, { action: '' })));
      for (const [i, [label, , status, error]] of cases.entries()) {
        const r = await login(started[i], { username: 'bob', 'tollgate-response': 'XXXX.DUMMY.TOKEN.XXXX' });
        assert.equal(r.status, status, `${label}: ${JSON.stringify(r.body)}\n${started[i].logs()}`);
        if (error) assert.equal(r.error, error, label);
        else assert.equal(r.body.decision, 'allow', label);
      }
    });

    test('verifier down → 503, fails closed', async (t) => {
      if (skip) return t.skip(skip);
      const app = await start('down', SECRET, { verifierUrl: await deadUrl() });
      const r = await login(app, { username: 'carol', 'tollgate-response': 'XXXX.DUMMY.TOKEN.XXXX' });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.error, 'tollgate-unavailable');
    });
  });
}
