// @ts-check
// Tier A, automation: driver globals (A3), `navigator.webdriver` presence, a CDP client's console
// preview (A4). (A5, the automation stack frames, is `frames` in record.js.)
import { PROBE_AUTOMATION_GLOBALS, PROBE_CDP_CONSOLE, PROBE_WEBDRIVER_IN_NAVIGATOR } from "../generated/contract.js";
import { nav } from "../env.js";
import { probe } from "./record.js";
import { realm } from "./realm.js";

// A3: driver globals (exact names; also looked up through prototypes) and prefixes.
const AUTOMATION_NAMES = ["domAutomation", "domAutomationController", "__playwright__binding__", "callPhantom", "_phantom", "__nightmare"];
const AUTOMATION = new RegExp("^(\\$?cdc_|__webdriver_|__driver_|__selenium_|__fxdriver_)|^(" + AUTOMATION_NAMES.join("|") + ")$");

/** `"webdriver" in navigator` (A). */
export function webdriverIn() {
  probe(PROBE_WEBDRIVER_IN_NAVIGATOR, () => "webdriver" in nav);
}

/** A3: automation globals and attributes, joined by `,`. */
export function automationGlobals() {
  probe(PROBE_AUTOMATION_GLOBALS, () => {
    /** @type {string[]} */
    const found = [];
    /** @type {Array<[object, string]>} */
    const where = [[window, ""], [document, "document."]];
    where.forEach((p) => {
      Object.getOwnPropertyNames(p[0]).forEach((k) => {
        if (AUTOMATION.test(k)) found.push(p[1] + k);
      });
    });
    AUTOMATION_NAMES.forEach((k) => {
      if (k in window && found.indexOf(k) < 0) found.push(k);
    });
    ["webdriver", "selenium", "driver"].forEach((a) => {
      if (document.documentElement.hasAttribute(a)) found.push("html@" + a);
    });
    return found.join(",");
  });
}

/** Probe group: A4 CDP console preview. */
export function cdp() {
  const iw = realm();
  // A4: a CDP client (Runtime domain enabled) previews logged errors and so formats the stack,
  // calling `Error.prepareStackTrace` of the error's realm; without one it is never called.
  probe(PROBE_CDP_CONSOLE, () => {
    let calls = 0, names = 0;
    const IE = iw.Error, had = "prepareStackTrace" in IE, old = IE.prepareStackTrace;
    const e = new IE("tollgate");
    Object.defineProperty(e, "name", { get() { names++; return "Error"; } });
    const t = performance.now();
    IE.prepareStackTrace = () => {
      calls++;
      return "";
    };
    try {
      iw.console.debug(e);
    } finally {
      if (had) IE.prepareStackTrace = old;
      else delete IE.prepareStackTrace;
    }
    return calls + "," + names + "," + (performance.now() - t).toFixed(1);
  });
}
