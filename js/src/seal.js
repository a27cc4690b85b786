// @ts-check
// Token sealing glue: packs the loader's logs (collector-wasm/src/ingest.rs `Logs::unpack`) and
// hands them with the solved challenge to the wasm `seal()`, which encodes the telemetry, hashes
// the fingerprint sources and MACs the token.
import { TARGET_STRIDE, TOKEN_KEY_LEN } from "./generated/contract.js";
import { T0 } from "./env.js";
import { E, P, evFor } from "./listeners.js";
import { probeArrays, timed } from "./probes/record.js";
import { finishProbes } from "./probes/schedule.js";
import { b64 } from "./util.js";
import { wasm } from "./wasm.js";

/**
 * @typedef {{ challenge: Uint8Array, tokenKey: Uint8Array, solutions: BigUint64Array, durationMs: number,
 *   workers: number, hashes: number }} SolvedChallenge
 * @typedef {{ n: number, idx: Record<number, number>, roles: number[], fields: Map<Element, number>,
 *   action: string, cdata: string }} SealWidget
 */

/**
 * The token for widget `w` now (telemetry snapshot at this moment), base64url.
 * @param {SealWidget} w
 * @param {SolvedChallenge} sol
 */
export function sealToken(w, sol) {
  const glue = /** @type {import("./wasm.js").Glue} */ (wasm.glue);
  finishProbes();
  const targets = new Float64Array(w.roles.length * TARGET_STRIDE);
  w.fields.forEach((i, el) => {
    const r = el.getBoundingClientRect();
    const v = /** @type {any} */ (el).value;
    const hasValue = el.tagName !== "BUTTON" && typeof v === "string" && v.length > 0;
    targets.set([w.roles[i], r.left, r.top, r.width, r.height, hasValue ? 1 : 0], i * TARGET_STRIDE);
  });
  const pr = probeArrays();
  const meta = new Float64Array([T0, performance.now(), sol.durationMs, sol.workers, glue.solverKind(), sol.hashes, P.d, E.d]);
  const strs = [location.origin, w.action || "", w.cdata || "", pr.fp].concat(pr.strs).map((s) => String(s).replace(/\0/g, " "));
  // One packed array (collector-wasm/src/ingest.rs `Logs::unpack`): lengths, then the logs.
  const parts = [meta, P.dump(), evFor(w), targets, pr.nums];
  let n = 5;
  const packed = new Float64Array(5 + parts.reduce((a, p) => a + p.length, 0));
  parts.forEach((p, i) => {
    packed[i] = p.length;
    packed.set(p, n);
    n += p.length;
  });
  // collector-wasm `seal()`: the token key (TOKEN_KEY_LEN bytes) ‖ the challenge.
  const kc = new Uint8Array(TOKEN_KEY_LEN + sol.challenge.length);
  kc.set(sol.tokenKey);
  kc.set(sol.challenge, TOKEN_KEY_LEN);
  return timed(() => b64(glue.seal(kc, sol.solutions, packed, strs.join("\0"))), "seal");
}
