// @ts-check
// Shared by the probe tiers: the engine (from error shapes), a pristine same-origin realm for
// reference natives, and small read helpers.

/** Message of `null[0]` in this engine. */
export let errMsg = "";
try {
  // @ts-ignore: the TypeError is the point
  null[0];
} catch (e) {
  errMsg = String(/** @type {Error} */ (e).message);
}
/**
 * `v8`, `sm` (SpiderMonkey), `jsc` or `?`, from error shapes (a UA string cannot change them).
 * SpiderMonkey said "null has no properties" up to Firefox 72 or so, "can't access property 0 of
 * null" since (Firefox ESR 153 here).
 */
export const engine = /^Cannot read prop/.test(errMsg) ? "v8" : /has no properties|^can't access property/.test(errMsg) ? "sm" : /is not an object/.test(errMsg) ? "jsc" : "?";

/** @type {HTMLIFrameElement | null} */
let frame = null;
/**
 * Pristine same-origin realm for reference natives (page wrappers do not reach it).
 * @returns {any}
 */
export function realm() {
  if (!frame) {
    frame = document.createElement("iframe");
    frame.style.display = "none";
    frame.setAttribute("aria-hidden", "true");
    document.documentElement.appendChild(frame);
  }
  return frame.contentWindow;
}
/** Remove the realm's iframe (after the last group that uses it). */
export function dropRealm() {
  if (frame) {
    frame.remove();
    frame = null;
  }
}

/** @param {string} q */
export function mq(q) {
  return matchMedia(q).matches;
}
/** @param {Array<{brand: string, version: string}> | undefined} list */
export function brands(list) {
  return (list || []).map((b) => b.brand + "/" + b.version).join(",");
}
/**
 * The getter (or value) of own property `k` of `o`.
 * @param {any} o
 * @param {PropertyKey} k
 * @returns {any}
 */
export function gd(o, k) {
  const d = o && Object.getOwnPropertyDescriptor(o, k);
  return d && (d.get || d.value);
}
