// @ts-check
/*! Tollgate probe worker (Apache-2.0) */
// Cross-context re-read (signals tier C1): a dedicated worker runs outside the page's realm, where
// script injected into pages (stealth plugins, fingerprint injectors) usually does not reach. The
// loader starts it once, after first paint, from the same origin (classic worker, no blob: URL),
// posts any message and terminates it after the single answer (js/src/probes/tier-c.js maps the
// answer's keys to probe ids). Shipped as js/dist/tollgate-probe-worker.js (esbuild, IIFE). Raw values go back to the page
// only; the verifier compares them with the main thread's.
self.onmessage = function () {
  var n = /** @type {any} */ (self.navigator), r = /** @type {Record<string, unknown>} */ ({});
  /**
   * @param {string} k
   * @param {() => unknown} f
   */
  function t(k, f) {
    try {
      r[k] = f();
    } catch (/** @type {any} */ e) {
      r[k] = { name: String((e && e.name) || "Error"), message: String((e && e.message) || e) };
    }
  }
  t("ua", function () { return n.userAgent; });
  t("platform", function () { return n.platform; });
  t("hwc", function () { return n.hardwareConcurrency; });
  t("mem", function () { return n.deviceMemory; });
  t("tz", function () { return Intl.DateTimeFormat().resolvedOptions().timeZone; });
  t("lang", function () { return Array.prototype.join.call(n.languages || [], ","); });
  var d = n.userAgentData;
  if (d) {
    t("brands", function () {
      return d.brands.map(function (/** @type {{brand: string, version: string}} */ b) { return b.brand + "/" + b.version; }).join(",");
    });
    t("uaplat", function () { return d.platform; });
  }
  t("gl", function () {
    if (typeof OffscreenCanvas === "undefined") return undefined;
    var g = new OffscreenCanvas(1, 1).getContext("webgl");
    if (!g) return undefined;
    var x = g.getExtension("WEBGL_debug_renderer_info");
    var v = g.getParameter(x ? x.UNMASKED_RENDERER_WEBGL : g.RENDERER);
    var lose = g.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
    return v;
  });
  self.postMessage(r);
};
