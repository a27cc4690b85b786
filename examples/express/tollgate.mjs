// Express middleware for Tollgate: verifies the token a login form posts (`tollgate-response`)
// with the verifier's siteverify, and refuses the request unless Tollgate lets it through.
//
//   import { requireTollgate } from './tollgate.mjs';
//   app.post('/login', express.urlencoded({ extended: false }),
//     requireTollgate({ secret: process.env.TOLLGATE_SECRET, verifierUrl: 'http://127.0.0.1:8787' }),
//     (req, res) => { /* req.tollgate: { id, decision, score, reasons, ... } */ });
//
// Lets a request through when siteverify answers `success: true` and the decision is not `block`
// (a site configured with `success_when = "valid"` answers `success: true` for every genuine
// token, so the decision is checked here too). `req.tollgate.decision` is then `allow` or
// `challenge` (ask for a second factor). Everything else is refused with a JSON `{ error }`:
//
//   400 tollgate-missing         no token in the form (the widget could not make one)
//   403 tollgate-invalid         forged, malformed, or for another site/origin/action
//   403 tollgate-expired-or-used expired or already redeemed (the widget makes a new one)
//   403 tollgate-challenge       decision `challenge` refused by the site's `success_when = "allow"`
//   403 tollgate-blocked         decision `block`
//   500 tollgate-misconfigured   wrong secret or a request the verifier could not read
//   503 tollgate-unavailable     verifier down, slow, or answering anything but a verdict:
//                                FAIL CLOSED (a login is never let through unverified)

const REFUSALS = {
  'missing-input-response': [400, 'tollgate-missing'],
  'invalid-input-response': [403, 'tollgate-invalid'],
  'timeout-or-duplicate': [403, 'tollgate-expired-or-used'],
  'tollgate-decision-challenge': [403, 'tollgate-challenge'],
  'tollgate-decision-block': [403, 'tollgate-blocked'],
  'missing-input-secret': [500, 'tollgate-misconfigured'],
  'invalid-input-secret': [500, 'tollgate-misconfigured'],
  'bad-request': [500, 'tollgate-misconfigured'],
  'internal-error': [503, 'tollgate-unavailable'],
};

/** The status and error for a siteverify answer that is not a pass (unknown codes: 403). */
export function refusal(verdict) {
  const codes = Array.isArray(verdict['error-codes']) ? verdict['error-codes'] : [];
  for (const code of codes) {
    if (REFUSALS[code]) return REFUSALS[code];
  }
  if (verdict.tollgate?.decision === 'block') return REFUSALS['tollgate-decision-block'];
  return [403, 'tollgate-invalid'];
}

/**
 * @param {object} opts
 * @param {string} opts.secret the site's secret (never sent to browsers)
 * @param {string} opts.verifierUrl e.g. `http://127.0.0.1:8787` (the internal listener)
 * @param {number} [opts.timeoutMs=5000] siteverify deadline; past it the request fails closed
 * @param {string} [opts.expectedAction] refuse tokens made for another `data-action`
 * @param {string} [opts.field='tollgate-response'] form field holding the token
 * @param {(req) => string | undefined} [opts.account] the username tried (for campaign signals)
 */
export function requireTollgate({
  secret,
  verifierUrl,
  timeoutMs = 5000,
  expectedAction,
  field = 'tollgate-response',
  account = (req) => req.body?.username,
}) {
  if (!secret || !verifierUrl) throw new Error('requireTollgate: secret and verifierUrl are required');
  const endpoint = new URL('/v1/siteverify', verifierUrl).toString();
  return async function tollgate(req, res, next) {
    const token = typeof req.body?.[field] === 'string' ? req.body[field] : '';
    const fields = new URLSearchParams({ secret, response: token });
    if (req.ip) fields.set('remoteip', req.ip);
    const user = account(req);
    if (typeof user === 'string' && user) fields.set('account', user);
    let verdict;
    try {
      const resp = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (resp.status !== 200) throw new Error(`siteverify answered HTTP ${resp.status}`);
      verdict = await resp.json();
    } catch (err) {
      console.warn(`tollgate: verifier unavailable: ${err.message}`);
      res.status(503).json({ error: 'tollgate-unavailable' });
      return;
    }
    const t = verdict.tollgate ?? {};
    const pass =
      verdict.success === true &&
      (t.decision === 'allow' || t.decision === 'challenge') &&
      (expectedAction === undefined || verdict.action === expectedAction);
    if (!pass) {
      const [status, error] =
        verdict.success === true ? [403, t.decision === 'block' ? 'tollgate-blocked' : 'tollgate-invalid'] : refusal(verdict);
      res.status(status).json({ error, reasons: t.reasons ?? [] });
      return;
    }
    req.tollgate = {
      id: t.id,
      decision: t.decision,
      score: t.score,
      reasons: t.reasons ?? [],
      hostname: verdict.hostname,
      action: verdict.action,
      verdict,
    };
    next();
  };
}
