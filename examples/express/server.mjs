// A login endpoint protected by `requireTollgate` (the examples' runner starts it).
// Env: TOLLGATE_SECRET, TOLLGATE_VERIFIER_URL, TOLLGATE_EXPECTED_ACTION (default `login`; empty: any),
// LISTEN (default 127.0.0.1:0). Prints `listening on http://HOST:PORT` once bound.
import express from 'express';
import { requireTollgate } from './tollgate.mjs';

const app = express();
app.post(
  '/login',
  express.urlencoded({ extended: false }),
  requireTollgate({
    secret: process.env.TOLLGATE_SECRET,
    verifierUrl: process.env.TOLLGATE_VERIFIER_URL ?? 'http://127.0.0.1:8787',
    expectedAction: (process.env.TOLLGATE_EXPECTED_ACTION ?? 'login') || undefined,
  }),
  (req, res) => {
    // Tollgate let the attempt through: check the password here; on `challenge`, ask for a
    // second factor first.
    res.json({ ok: true, decision: req.tollgate.decision, score: req.tollgate.score, id: req.tollgate.id });
  },
);

const [host, port] = (process.env.LISTEN ?? '127.0.0.1:0').split(':');
const server = app.listen(Number(port), host, () => {
  const { address, port: bound } = server.address();
  console.log(`listening on http://${address}:${bound}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => server.close(() => process.exit(0)));
