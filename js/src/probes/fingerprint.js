// @ts-check
// Fingerprint sources (hashed in wasm with the token key; never sent raw) and the flags saying
// which were used or skipped (protocol `fp_flags`), plus the WebGL renderer/vendor probes.
import {
  FP_FLAGS_AUDIO, FP_FLAGS_AUDIO_SKIPPED, FP_FLAGS_CANVAS, FP_FLAGS_CANVAS_RANDOMISED, FP_FLAGS_FONTS,
  FP_FLAGS_SCREEN, FP_FLAGS_SCREEN_SKIPPED, FP_FLAGS_WEBGL, PROBE_WEBGL_RENDERER, PROBE_WEBGL_VENDOR,
} from "../generated/contract.js";
import { nav } from "../env.js";
import { probe, put, rec } from "./record.js";
import { dropRealm, engine } from "./realm.js";

/** Probe group: audio (async; its source is appended last when it settles). */
export function audioFp() {
  // Audio: an OfflineAudioContext renders on the audio thread (the main thread only builds a
  // 3-node graph). Rendered twice: noise added per render (extensions) leaves it out; skipped
  // where the engine randomises it natively (Safari 17+, Firefox RFP: non-V8; Brave; Samsung).
  const A = window.OfflineAudioContext;
  if (engine !== "v8" || "brave" in nav || /SamsungBrowser/.test(nav.userAgent) || !A) {
    rec.fpFlags |= FP_FLAGS_AUDIO_SKIPPED;
    return;
  }
  const render = () => {
    const c = new A(1, 5000, 44100), o = c.createOscillator(), k = c.createDynamicsCompressor();
    o.type = "triangle";
    o.frequency.value = 1e4;
    o.connect(k);
    k.connect(c.destination);
    o.start(0);
    return c.startRendering().then((b) => {
      let s = 0;
      for (let d = b.getChannelData(0), i = 4500; i < 5000; i++) s += Math.abs(d[i]);
      return s;
    });
  };
  Promise.all([render(), render()]).then((r) => {
    if (r[0] === r[1]) {
      rec.audio = "|au|" + r[0];
      rec.fpFlags |= FP_FLAGS_AUDIO;
    } else rec.fpFlags |= FP_FLAGS_AUDIO_SKIPPED;
  }, () => {
    rec.fpFlags |= FP_FLAGS_AUDIO_SKIPPED;
  });
}

/** Probe group: WebGL renderer (probe and source) and vendor. */
export function webgl() {
  let flags = 0;
  probe(PROBE_WEBGL_RENDERER, () => {
    const c = document.createElement("canvas");
    const g = c.getContext("webgl");
    if (!g) return undefined;
    const x = g.getExtension("WEBGL_debug_renderer_info");
    const r = g.getParameter(x ? x.UNMASKED_RENDERER_WEBGL : g.RENDERER);
    put(PROBE_WEBGL_VENDOR, g.getParameter(x ? x.UNMASKED_VENDOR_WEBGL : g.VENDOR));
    rec.FP.push("gl", r, g.getParameter(g.MAX_TEXTURE_SIZE), g.getParameter(g.MAX_RENDERBUFFER_SIZE), (g.getSupportedExtensions() || []).length);
    flags |= FP_FLAGS_WEBGL;
    const lose = g.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
    return r;
  });
  rec.fpFlags |= flags;
}

/** Probe group: canvas and screen sources. */
export function canvas() {
  let flags = 0;
  const brave = "brave" in nav;
  try {
    // Canvas: skipped where the engine randomises it natively (Safari 17+, Firefox, Brave).
    if (engine === "v8" && !brave) {
      const draw = () => {
        const c = document.createElement("canvas");
        c.width = 200;
        c.height = 24;
        const x = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
        x.textBaseline = "top";
        x.font = "14px Arial";
        x.fillStyle = "#f60";
        x.fillRect(100, 1, 60, 18);
        x.fillStyle = "#069";
        x.fillText("Tollgate,\ud83d\ude03 fp", 2, 4);
        x.fillStyle = "rgba(102,204,0,0.7)";
        x.arc(50, 12, 10, 0, 6.3);
        x.fill();
        return c.toDataURL();
      };
      const a = draw();
      if (a === draw()) {
        rec.FP.push("cv", a);
        flags |= FP_FLAGS_CANVAS;
      } else flags |= FP_FLAGS_CANVAS_RANDOMISED;
    } else flags |= FP_FLAGS_CANVAS_RANDOMISED;
  } catch (e) {}
  if (engine !== "jsc") {
    rec.FP.push("scr", screen.width, screen.height, screen.colorDepth, devicePixelRatio);
    flags |= FP_FLAGS_SCREEN;
  } else flags |= FP_FLAGS_SCREEN_SKIPPED;
  rec.fpFlags |= flags;
}

/** Probe group: installed fonts and the environment source; drops the pristine realm. */
export function fonts() {
  // Installed fonts: width of a test string against the generic fallback.
  const list = ["Arial", "Helvetica Neue", "Segoe UI", "Roboto", "Ubuntu", "DejaVu Sans", "Liberation Sans",
    "Noto Sans", "Calibri", "Consolas", "Menlo", "Tahoma", "Verdana", "Georgia", "MS Gothic", "PingFang SC"];
  try {
    // Canvas text metrics: no DOM layout.
    const x = /** @type {CanvasRenderingContext2D} */ (document.createElement("canvas").getContext("2d")), txt = "mmmmmmmmmmlli10OQ";
    /** @type {number[]} */
    const bits = [];
    x.font = "48px monospace";
    const base = x.measureText(txt).width;
    list.forEach((f) => {
      x.font = "48px '" + f + "',monospace";
      bits.push(x.measureText(txt).width !== base ? 1 : 0);
    });
    rec.FP.push("fonts", bits.join(""));
    rec.fpFlags |= FP_FLAGS_FONTS;
  } catch (e) {}
  const n = /** @type {any} */ (nav);
  rec.FP.push("env", nav.userAgent, nav.platform, nav.hardwareConcurrency, n.deviceMemory, nav.maxTouchPoints,
    Array.prototype.join.call(nav.languages || [], ","), new Date().getTimezoneOffset(), engine,
    Math.tan(-1e300), Math.acosh(1e300), Math.expm1(1), Math.sinh(1));
  dropRealm();
}
