// @ts-check
// Tier B, tampering and lies: B1 lie probes on protocol `LIE_TARGETS` (spread over idle slots),
// B2 own-property anomalies, B3 identity anomalies (partly async).
import {
  IDENTITY_BATTERY, IDENTITY_CHROME_RUNTIME, IDENTITY_MIME_TYPES, IDENTITY_PERMISSION_STATUS, IDENTITY_PLUGINS,
  LIE_CHECK_CONSTRUCT, LIE_CHECK_CREATE_TO_STRING, LIE_CHECK_CYCLIC_PROTO, LIE_CHECK_OWN_KEYS, LIE_CHECK_PROBE_THREW,
  LIE_CHECK_PROTOTYPE, LIE_CHECK_TO_STRING, LIE_TARGETS, OWN_PROP_DOCUMENT_CREATE_ELEMENT,
  OWN_PROP_IFRAME_CONTENT_WINDOW, OWN_PROP_NAVIGATOR_OWN_WEBDRIVER, OWN_PROP_SHARED_ARRAY_BUFFER_UNDEFINED,
  OWN_PROP_WINDOW_DIMENSION_DATA, PROBE_IDENTITY_ANOMALIES, PROBE_LIE_TARGETS_PROBED, PROBE_LIES,
  PROBE_NOTIFICATION_PERMISSION, PROBE_OWN_PROPERTY_ANOMALIES,
} from "../generated/contract.js";
import { nav } from "../env.js";
import { later, probe, put } from "./record.js";
import { engine, gd, realm } from "./realm.js";

/** @type {any} */
const win = window;

/**
 * B1: the function behind one `LIE_TARGETS` name (`Class.member`): an instance's own getter or
 * the prototype's for Navigator/Screen, the static `Notification.permission`, `document`'s own
 * `createElement` (a wrapper) or the prototype's, and the functions themselves for
 * `Function.toString` and `Intl.DateTimeFormat`.
 * @param {string} name
 */
function lieTarget(name) {
  const dot = name.indexOf("."), c = name.slice(0, dot), k = name.slice(dot + 1);
  /** @param {string} c */
  const proto = (c) => gd(win[c] && win[c].prototype, k);
  if (c === "Navigator") return gd(nav, k) || proto(c);
  if (c === "Screen") return gd(screen, k) || proto(c);
  if (c === "Notification") return gd(win.Notification, k);
  if (c === "Document") return gd(document, k) || proto(c);
  if (c === "Function") return Function.prototype.toString;
  if (c === "Intl") return win.Intl && Intl.DateTimeFormat;
  return proto(c);
}
const NATIVE = /^function [\w$ ]*\(\) \{\s*\[native code\]\s*\}$/;
// B1 over targets [a, b) (spread over idle slots), results in lieOut/lieN.
/** @type {string[]} */
const lieOut = [];
let lieN = 0;
/** @type {unknown[] | null} */
let lieList = null;
/**
 * @param {number} a
 * @param {number} b
 */
function lies(a, b) {
  try {
    const iw = realm();
    lieList = lieList || LIE_TARGETS.map(lieTarget);
    for (let i = a; i < Math.min(b, lieList.length); i++) {
      const f = lieList[i];
      if (typeof f !== "function") continue;
      lieN++;
      const m = lieMask(f, iw, LIE_TARGETS[i] === "Intl.DateTimeFormat");
      if (m) lieOut.push(i + "." + m);
    }
  } catch (e) {
    lieOut.push(a + "." + LIE_CHECK_PROBE_THREW);
  }
}
/**
 * Lie mask of one native function (protocol `telemetry::lie_check` bits), checked from the
 * pristine realm `iw`. Never leaves a target changed: the prototype is always restored.
 * Constructors (`ctor`, e.g. Intl.DateTimeFormat) legitimately have a prototype and more keys
 * and can be called with `new`: only the shape-independent checks apply to them.
 * @param {any} f
 * @param {any} iw
 * @param {boolean} ctor
 */
function lieMask(f, iw, ctor) {
  let m = 0;
  const O = iw.Object;
  const te = (/** @type {any} */ e) => e && e.name === "TypeError";
  try {
    if (!NATIVE.test(iw.Function.prototype.toString.call(f))) m |= LIE_CHECK_TO_STRING;
    if (!ctor) {
      if (iw.Reflect.ownKeys(f).join() !== "length,name") m |= LIE_CHECK_OWN_KEYS;
      if ("prototype" in f) m |= LIE_CHECK_PROTOTYPE;
      try {
        new f();
        m |= LIE_CHECK_CONSTRUCT;
      } catch (e) {
        if (!te(e)) m |= LIE_CHECK_CONSTRUCT;
      }
    }
    const proto = O.getPrototypeOf(f);
    try {
      O.setPrototypeOf(f, O.create(f));
      m |= LIE_CHECK_CYCLIC_PROTO; // a Proxy lets the cycle through
    } catch (e) {
      if (!te(e)) m |= LIE_CHECK_CYCLIC_PROTO;
    } finally {
      try {
        O.setPrototypeOf(f, proto);
      } catch (e) {}
    }
    try {
      O.create(f).toString();
      m |= LIE_CHECK_CREATE_TO_STRING;
    } catch (e) {
      // V8 stacks carry the message first and show the native frame as `(<anonymous>)`; a JS
      // wrapper (Proxy trap, patched toString) adds a frame with a line:column position.
      const top = engine === "v8" ? String(/** @type {any} */ (e).stack).split("\n")[1] || "" : "";
      if (!te(e) || /:\d+:\d+\)?$/.test(top)) m |= LIE_CHECK_CREATE_TO_STRING;
    }
  } catch (e) {
    m |= LIE_CHECK_PROBE_THREW;
  }
  return m;
}

/** Probe groups: B1 in four idle slots; the last records the results. */
export const lies1 = () => lies(0, 7);
export const lies2 = () => lies(7, 14);
export const lies3 = () => lies(14, 21);
export function lies4() {
  lies(21, 99);
  put(PROBE_LIES, lieOut.join(","));
  put(PROBE_LIE_TARGETS_PROBED, lieN);
}

/** B2: own-property anomalies (protocol `own_prop`). */
export function ownProps() {
  probe(PROBE_OWN_PROPERTY_ANOMALIES, () => {
    let m = 0;
    if (Object.getOwnPropertyDescriptor(document, "createElement")) m |= OWN_PROP_DOCUMENT_CREATE_ELEMENT;
    ["outerWidth", "outerHeight", "innerWidth", "innerHeight", "screenX"].forEach((k) => {
      const dd = Object.getOwnPropertyDescriptor(window, k);
      if (dd && "value" in dd) m |= OWN_PROP_WINDOW_DIMENSION_DATA;
    });
    if ("SharedArrayBuffer" in window && win.SharedArrayBuffer === undefined && !window.crossOriginIsolated) m |= OWN_PROP_SHARED_ARRAY_BUFFER_UNDEFINED;
    const f = document.createElement("iframe");
    f.srcdoc = "<p>";
    if (f.contentWindow) m |= OWN_PROP_IFRAME_CONTENT_WINDOW;
    if (Object.getOwnPropertyDescriptor(nav, "webdriver")) m |= OWN_PROP_NAVIGATOR_OWN_WEBDRIVER;
    return m;
  });
}

/**
 * B3 (identity, protocol `identity`), partly async: plugins/mimeTypes/chrome.runtime now,
 * battery/permissions later; also records the notification permission (which it checks).
 */
export function identity() {
  const n = /** @type {any} */ (nav);
  let b3 = 0;
  try {
    if (n.plugins && win.PluginArray && !(n.plugins instanceof PluginArray)) b3 |= IDENTITY_PLUGINS;
    if (n.mimeTypes && win.MimeTypeArray && !(n.mimeTypes instanceof MimeTypeArray)) b3 |= IDENTITY_MIME_TYPES;
    const r = win.chrome && win.chrome.runtime;
    if (r && [r.sendMessage, r.connect].some((f) => typeof f === "function" && "prototype" in f)) b3 |= IDENTITY_CHROME_RUNTIME;
  } catch (e) {}
  /** @type {Promise<void>[]} */
  const waits = [];
  if (n.getBattery) {
    waits.push(n.getBattery().then((/** @type {unknown} */ b) => {
      if (!(win.BatteryManager && b instanceof win.BatteryManager)) b3 |= IDENTITY_BATTERY;
    }, () => {}));
  }
  if (n.permissions) {
    later(PROBE_NOTIFICATION_PERMISSION, () =>
      n.permissions.query({ name: "notifications" }).then((/** @type {PermissionStatus} */ st) => {
        if (!(win.PermissionStatus && st instanceof PermissionStatus)) b3 |= IDENTITY_PERMISSION_STATUS;
        return (win.Notification ? Notification.permission : "-") + "/" + st.state;
      }));
  }
  later(PROBE_IDENTITY_ANOMALIES, () => Promise.all(waits).then(() => b3));
}
