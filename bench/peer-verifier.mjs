#!/usr/bin/env node
// A minimal peer verifier for the throughput comparison: ALTCHA's own server library (altcha-lib
// v2 `verifySolution`, HMAC-signed deterministic challenges: signature HMAC + key-signature HMAC, no
// KDF re-run — its fastest path) behind node:http, plus the used-nonce map ALTCHA tells integrators
// to keep (single use). One process, one event loop (how altcha-lib is deployed by default).
//
//   node bench/peer-verifier.mjs --payloads N --out FILE
// writes N distinct request bodies to FILE (one JSON per line), then serves POST / and prints
// `listening on http://127.0.0.1:PORT`. Stops by itself after --max-secs (default 300).
import http from "node:http";
import fs from "node:fs";
import { createChallenge, verifySolution } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/sha";
import { opt } from "./lib/common.mjs";

const N = Number(opt("--payloads", 50000));
const OUT = opt("--out", "bench/out/altcha-bodies.txt");
const HMAC = "bench-altcha-hmac-secret-0123456789";
const HMAC_KEY = "bench-altcha-key-secret-0123456789";

const lines = [];
for (let i = 0; i < N; i++) {
  const counter = 1000 + (i % 5000);
  const ch = await createChallenge({
    algorithm: "SHA-256",
    cost: 1,
    counter,
    deriveKey,
    hmacSignatureSecret: HMAC,
    hmacKeySignatureSecret: HMAC_KEY,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  });
  // The derived key for `counter` (what a solver returns): recompute it like the widget would.
  const { derivedKey } = await deriveKey(ch.parameters, Buffer.from(ch.parameters.salt, "hex"), (() => {
    const b = Buffer.alloc(ch.parameters.nonce.length / 2 + 4);
    Buffer.from(ch.parameters.nonce, "hex").copy(b);
    b.writeUInt32BE(counter, b.length - 4);
    return b;
  })());
  const payload = Buffer.from(JSON.stringify({ challenge: ch, solution: { counter, derivedKey: Buffer.from(derivedKey).toString("hex") } })).toString("base64");
  lines.push(JSON.stringify({ payload }));
}
fs.writeFileSync(OUT, lines.join("\n") + "\n");

const used = new Map(); // nonce → expiresAt (s); single use
setInterval(() => {
  const now = Date.now() / 1000;
  for (const [k, exp] of used) if (exp < now) used.delete(k);
}, 10000).unref();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    let ok = false;
    let error = null;
    try {
      const { payload } = JSON.parse(Buffer.concat(chunks).toString());
      const { challenge, solution } = JSON.parse(Buffer.from(payload, "base64").toString());
      const r = await verifySolution({ challenge, solution, deriveKey, hmacSignatureSecret: HMAC, hmacKeySignatureSecret: HMAC_KEY });
      if (!r.verified) error = "invalid";
      else if (used.has(challenge.parameters.nonce)) error = "duplicate";
      else {
        used.set(challenge.parameters.nonce, challenge.parameters.expiresAt || Date.now() / 1000 + 600);
        ok = true;
      }
    } catch (e) {
      error = "malformed";
    }
    const body = JSON.stringify(ok ? { success: true } : { success: false, error });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
setTimeout(() => process.exit(0), Number(opt("--max-secs", 300)) * 1000).unref();
