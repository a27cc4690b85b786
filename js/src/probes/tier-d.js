// @ts-check
// Tier D, environment: plain navigator/screen/window reads, UA client hints, media queries and
// other facts the verifier checks for plausibility. The first two groups also start the tier A,
// B and C probes that belong to the same idle slot (the order of records is part of the contract:
// the wasm replays the log in order).
import {
  DISPLAY_MODE_FULLSCREEN, DISPLAY_MODE_HOVER_NONE, DISPLAY_MODE_POINTER_COARSE, DISPLAY_MODE_STANDALONE,
  PROBE_ACTIVE_TEXT, PROBE_APP_VERSION, PROBE_BRAVE, PROBE_CONNECTION_RTT, PROBE_DEVICE_MEMORY, PROBE_DISPLAY_MODE,
  PROBE_HARDWARE_CONCURRENCY, PROBE_LANGUAGES, PROBE_MAX_TOUCH_POINTS, PROBE_MEDIA_DEVICES, PROBE_PDF_VIEWER,
  PROBE_PLATFORM, PROBE_PLUGINS, PROBE_PREFERS_DARK, PROBE_SCREEN, PROBE_SPEECH_VOICES, PROBE_UACH_BRANDS,
  PROBE_UACH_FULL_VERSION_LIST, PROBE_UACH_MOBILE, PROBE_UACH_PLATFORM, PROBE_UACH_PLATFORM_VERSION,
  PROBE_UACH_UA_FULL_VERSION, PROBE_USER_AGENT, PROBE_VENDOR, PROBE_WEBDRIVER, PROBE_WINDOW_CHROME,
  PROBE_WINDOW_GEOMETRY,
} from "../generated/contract.js";
import { nav } from "../env.js";
import { later, probe, put } from "./record.js";
import { brands, engine, mq } from "./realm.js";
import { automationGlobals, webdriverIn } from "./tier-a.js";
import { identity, ownProps } from "./tier-b.js";
import { engineFacts } from "./tier-c.js";

/** @type {any} */
const n = nav;
/** @type {any} */
const win = window;

/** Probe group: navigator basics, screen, window geometry, automation globals. */
export function basics() {
  // Plain navigator reads: [probe id, property].
  /** @type {Array<[number, string]>} */
  const reads = [[PROBE_WEBDRIVER, "webdriver"], [PROBE_USER_AGENT, "userAgent"], [PROBE_PLATFORM, "platform"],
    [PROBE_HARDWARE_CONCURRENCY, "hardwareConcurrency"], [PROBE_DEVICE_MEMORY, "deviceMemory"],
    [PROBE_APP_VERSION, "appVersion"], [PROBE_VENDOR, "vendor"], [PROBE_MAX_TOUCH_POINTS, "maxTouchPoints"],
    [PROBE_PDF_VIEWER, "pdfViewerEnabled"]];
  reads.forEach((p) => {
    probe(p[0], () => n[p[1]]);
  });
  webdriverIn();
  probe(PROBE_LANGUAGES, () => Array.prototype.join.call(nav.languages || [], ","));
  probe(PROBE_SCREEN, () => {
    const s = screen;
    return s.width + "×" + s.height + " avail " + s.availWidth + "×" + s.availHeight + " " + s.colorDepth;
  });
  probe(PROBE_WINDOW_GEOMETRY, () => {
    const w = window;
    return "inner " + w.innerWidth + "×" + w.innerHeight + " outer " + w.outerWidth + "×" + w.outerHeight +
      " dpr " + w.devicePixelRatio + " at " + w.screenX + "," + w.screenY;
  });
  automationGlobals();
}

/** Probe group: UA client hints, media queries, engine facts, B2/B3, media devices. */
export function basics2() {
  const d = n.userAgentData;
  if (d) {
    probe(PROBE_UACH_BRANDS, () => brands(d.brands));
    probe(PROBE_UACH_MOBILE, () => d.mobile);
    probe(PROBE_UACH_PLATFORM, () => d.platform);
    later(PROBE_UACH_FULL_VERSION_LIST, () =>
      d.getHighEntropyValues(["fullVersionList", "uaFullVersion", "platformVersion"]).then((/** @type {any} */ h) => {
        put(PROBE_UACH_UA_FULL_VERSION, h.uaFullVersion);
        put(PROBE_UACH_PLATFORM_VERSION, h.platformVersion);
        return brands(h.fullVersionList);
      }));
  }
  probe(PROBE_PLUGINS, () => nav.plugins.length);
  probe(PROBE_CONNECTION_RTT, () => n.connection ? n.connection.rtt : undefined);
  probe(PROBE_BRAVE, () => "brave" in nav);
  probe(PROBE_PREFERS_DARK, () => mq("(prefers-color-scheme: dark)"));
  probe(PROBE_DISPLAY_MODE, () =>
    (mq("(display-mode: fullscreen)") ? DISPLAY_MODE_FULLSCREEN : 0) | (mq("(display-mode: standalone)") ? DISPLAY_MODE_STANDALONE : 0) |
      (mq("(hover: none)") ? DISPLAY_MODE_HOVER_NONE : 0) | (mq("(pointer: coarse)") ? DISPLAY_MODE_POINTER_COARSE : 0));
  probe(PROBE_WINDOW_CHROME, () => {
    const c = win.chrome;
    return c ? (c.runtime ? 2 : 1) : 0;
  });
  engineFacts();
  ownProps();
  identity();
  if (n.mediaDevices && n.mediaDevices.enumerateDevices) {
    later(PROBE_MEDIA_DEVICES, () => n.mediaDevices.enumerateDevices().then((/** @type {unknown[]} */ l) => l.length));
  }
}

/** Probe group: the computed colour of CSS system colour `ActiveText`. */
export function style() {
  probe(PROBE_ACTIVE_TEXT, () => {
    const s = document.createElement("span");
    s.style.color = "ActiveText";
    document.documentElement.appendChild(s);
    const c = getComputedStyle(s).color;
    s.remove();
    return c;
  });
}

/**
 * Speech synthesis voices (a second after the last group: the list loads lazily). Not on Gecko:
 * Firefox on Linux without speech-dispatcher shows an info bar ("Speech Dispatcher library is
 * missing") on first use of `speechSynthesis`, pushing the page down; the verifier's voices rule
 * is for desktop Chromium only, so nothing is lost.
 */
export function speechVoices() {
  if (engine === "sm") return;
  probe(PROBE_SPEECH_VOICES, () => window.speechSynthesis ? speechSynthesis.getVoices().length : undefined);
}
