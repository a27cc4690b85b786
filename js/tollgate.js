/*! Tollgate loader (self-hosted; Apache-2.0) */
/*
 * Classic script: <script src="/tollgate/tollgate.js" data-api="https://verifier.example" async></script>
 * Widgets:        <div class="tollgate" data-sitekey="…" data-action="login"></div> inside a form,
 *                 or <form data-tollgate data-sitekey="…"> (data-tollgate="sitekey" works too).
 *
 * What it does: fetches a challenge from the verifier early, solves the proof of work in Web Workers
 * (tollgate-worker.js + the wasm, loaded from this script's own directory), records behaviour from
 * passive listeners that only append numbers to typed arrays (pointer samples, key *classes* and
 * timings, field events, scroll), runs environment probes after first paint in idle time (here and
 * in tollgate-probe-worker.js), and at submit hands everything to the wasm `seal()`, which encodes
 * the telemetry, hashes the fingerprint sources and MACs the token into
 * <input type="hidden" name="tollgate-response">. Raw fingerprint values, key values and typed text
 * never leave the page; the verifier judges the probe results (rules change without new wasm).
 *
 * CSP: needs only `script-src 'self' 'wasm-unsafe-eval'`, `worker-src 'self'` and `connect-src` for
 * the verifier. No eval, no inline script or style, no blob: workers, no cookies or storage, no
 * network call besides the verifier's challenge endpoint (and the assets themselves).
 *
 * js/dist/tollgate.js is this file minified by scripts/build-assets.sh (terser).
 */
(function () {
  "use strict";

  if (window.tollgate && window.tollgate.__loader) return;

  var T0 = performance.now();
  var nav = navigator;

  // --- protocol constants (protocol/src/telemetry.rs, collector-wasm/src/ingest.rs) ------------
  var PK_MOVE = 0, PK_DOWN = 1, PK_UP = 2, PK_WHEEL = 3, PK_CANCEL = 5;
  var FK_FOCUS = 0, FK_BLUR = 1, FK_PASTE = 2, FK_HIDDEN = 5, FK_VISIBLE = 6, FK_SUBMIT = 7, FK_CLICK_NO_POINTER = 8;
  var ROLE_OTHER = 0, ROLE_USERNAME = 1, ROLE_PASSWORD = 2, ROLE_SUBMIT = 3;
  // ev log types (ingest.rs `ev`), plus 10 = submit of widget `a` (translated per widget).
  var EV_KEY_DOWN = 1, EV_KEY_UP = 2, EV_RELEASE = 3, EV_FIELD = 4, EV_INPUT = 5, EV_SCROLL = 6, EV_WHEEL = 7, EV_SUBMIT = 10;
  var NO_FIELD = 255, OTHER_EL = 255;
  var PTYPE = { mouse: 1, pen: 2, touch: 3 };
  // Coalesced moves closer than this to the previous recorded one are skipped (the last sample of
  // each dispatched event is always kept): caps 1 kHz mice at ~250 Hz so the buffer holds seconds
  // of motion, while bursts of synthetic dispatched moves (one event each) are all kept.
  var MIN_COALESCED_MS = 4;

  // --- where we live --------------------------------------------------------------------------
  var script = document.currentScript;
  if (!script || !script.src) {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/(^|\/)tollgate\.js(\?|#|$)/.test(all[i].src)) {
        script = all[i];
        break;
      }
    }
  }
  var scriptUrl = new URL(script && script.src ? script.src : location.href, location.href);
  var BASE = new URL(".", scriptUrl).href;
  var DEFAULT_API = (script && script.getAttribute("data-api")) || scriptUrl.origin;
  var EXPLICIT = script && script.getAttribute("data-render") === "explicit";

  var timings = { loaderStart: T0, wasmReady: null, challengeReceived: null, solved: null, tokenReady: null };

  // Debug timeline: `data-debug` on the script tag or `tollgate-debug` in the page URL adds
  // performance marks/measures named `tollgate:*` (DevTools Performance panel, bench/collector.mjs):
  // module compiled, glue ready, workers started/ready, challenge requested/received, every
  // sub-puzzle per worker, solved, each idle-time probe group. Off by default (no entries).
  var DBG = !!(script && script.hasAttribute("data-debug")) || /tollgate-debug/.test(location.search + location.hash);
  // mark(name) now; mark(name, start, end) measures [start, end] (ms, this page's time origin).
  function mark(n, a, b, d) {
    if (DBG) {
      try {
        if (a === undefined) performance.mark("tollgate:" + n);
        else performance.measure("tollgate:" + n, { start: a, end: b, detail: d });
      } catch (e) {}
    }
  }
  mark("start");

  // --- wasm (main thread) ---------------------------------------------------------------------
  // Two builds of the same crate: simd128 (4 nonces per step, ~3.5x faster proof of work) and a
  // scalar baseline for engines without wasm SIMD (Safari < 16.4). Same exports, same glue. One
  // compiled module serves the page and every worker.
  var SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  var hasSimd = false;
  try {
    // data-simd="off" on the script tag forces the scalar build (tests, diagnostics).
    hasSimd = !(script && script.getAttribute("data-simd") === "off") && WebAssembly.validate(SIMD_PROBE);
  } catch (e) {}
  var wasmUrl = BASE + (hasSimd ? "tollgate_collector_simd_bg.wasm" : "tollgate_collector_bg.wasm");
  var modulePromise = (function () {
    function fromBytes() {
      return fetch(wasmUrl, { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error("wasm: HTTP " + r.status);
          return r.arrayBuffer();
        })
        .then(function (b) {
          return WebAssembly.compile(b);
        });
    }
    if (!WebAssembly.compileStreaming) return fromBytes();
    // Wrong MIME type from a static server: compile from bytes instead.
    return WebAssembly.compileStreaming(fetch(wasmUrl, { credentials: "same-origin" })).catch(fromBytes);
  })();
  modulePromise.then(function () {
    mark("module");
  }, function () {});

  // The proof-of-work workers, started here when the page already has a widget (else at the
  // first render): a worker needs its script fetched, a new isolate and its own import of the
  // glue before it can solve, the longest step before the first solved challenge.
  var pool = null;
  if (!EXPLICIT && document.querySelector(".tollgate[data-sitekey], form[data-tollgate]")) getPool();

  var glue = null; // the wasm-bindgen module once initialised
  var gluePromise = Promise.all([import(BASE + "tollgate_collector.js"), modulePromise]).then(function (r) {
    return r[0].default({ module_or_path: r[1] }).then(function () {
      glue = r[0];
      timings.wasmReady = performance.now();
      mark("glue");
      return glue;
    });
  });
  gluePromise.catch(function (e) {
    widgets.forEach(function (w) {
      fail(w, e);
    });
  });

  // base64url <-> bytes (the wasm works on bytes).
  function unb64(s) {
    var bin = atob(String(s).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function b64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // --- behaviour logs -------------------------------------------------------------------------
  // Listeners only append numbers to two ring buffers (layouts: collector-wasm/src/ingest.rs);
  // widgets rendered later still see everything from page load. Key values are reduced to a class
  // inside the listener; `event.code` is kept only while the key is held, to pair each press with
  // its own release (rollover), and never recorded.
  function Ring(stride, cap) {
    this.s = stride;
    this.c = cap;
    this.a = new Float64Array(stride * cap);
    this.h = 0; // next slot
    this.n = 0; // filled slots
    this.d = 0; // overwritten (dropped) records
  }
  Ring.prototype.push = function () {
    var o = this.h * this.s;
    for (var k = 0; k < this.s; k++) this.a[o + k] = +arguments[k] || 0;
    this.h = (this.h + 1) % this.c;
    if (this.n < this.c) this.n++;
    else this.d++;
  };
  // Records oldest first.
  Ring.prototype.dump = function () {
    var start = (this.h - this.n + this.c) % this.c, s = this.s;
    var out = new Float64Array(this.n * s);
    var first = Math.min(this.n, this.c - start);
    out.set(this.a.subarray(start * s, (start + first) * s), 0);
    out.set(this.a.subarray(0, (this.n - first) * s), first * s);
    return out;
  };
  var P = new Ring(10, 2048); // pointer samples (> protocol MAX_POINTER: the wasm keeps the newest)
  var E = new Ring(4, 2048); // keys, fields, input, scroll, wheel

  // Element ids for the log (1..254; 255 = some other element, 0 = none): form controls only.
  var elIds = new Map();
  function elId(el) {
    if (!el || !/^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName)) return el ? OTHER_EL : 0;
    var id = elIds.get(el);
    if (id === undefined) {
      id = elIds.size < 254 ? elIds.size + 1 : OTHER_EL;
      elIds.set(el, id);
    }
    return id;
  }

  var lastMove = -1e9;
  function onPointer(kind) {
    return function (e) {
      var base = kind | (PTYPE[e.pointerType] || 0) << 3 | (e.buttons & 255) << 8;
      var tr = e.isTrusted ? 1 : 0;
      if (!tr) frames();
      var sx = e.screenX - e.clientX, sy = e.screenY - e.clientY;
      var list = kind === PK_MOVE && e.getCoalescedEvents ? e.getCoalescedEvents() : null;
      if (list && list.length) {
        for (var i = 0; i < list.length; i++) {
          var s = list[i];
          if (i < list.length - 1 && s.timeStamp - lastMove < MIN_COALESCED_MS) continue;
          lastMove = s.timeStamp;
          P.push(s.timeStamp, base | (tr | 2) << 5, s.clientX, s.clientY, sx, sy, s.pressure, s.width, s.height);
        }
      } else {
        if (kind === PK_MOVE) lastMove = e.timeStamp;
        P.push(e.timeStamp, base | tr << 5, e.clientX, e.clientY, sx, sy, e.pressure, e.width, e.height);
      }
    };
  }

  var KEY_NAMES = ["", " ", "Backspace", "Enter", "Tab", "Shift"];
  // KeyboardEvent.key -> key class (protocol `key_class`; same rules as collector-wasm/src/keys.rs).
  function keyClass(k) {
    var i = KEY_NAMES.indexOf(k);
    if (i > 0) return i;
    if (/^(Control|Alt|AltGraph|Meta|OS|Super|Hyper|Fn|FnLock|CapsLock|NumLock|ScrollLock|Symbol|SymbolLock)$/.test(k)) return 6;
    if (k === "Dead" || k === "Process") return 0;
    if (!k || /[\0-\x1f\x7f-\x9f]/.test(k) || /^[A-Za-z0-9]{2,}$/.test(k)) return 7;
    return 0;
  }
  var held = {}; // event.code -> slot, only while the key is down
  var nextSlot = 0;
  function onKey(down) {
    return function (e) {
      var cls = keyClass(String(e.key)), code = e.code ? String(e.code) : "", slot = held[code] || 0;
      if (down) {
        if (!e.isTrusted) frames();
        if (code && !slot) slot = held[code] = nextSlot = nextSlot % 250 + 1;
        E.push(e.timeStamp, EV_KEY_DOWN, cls | (e.isTrusted ? 256 : 0) | (e.repeat ? 512 : 0), elId(e.target) | slot << 8);
      } else {
        delete held[code];
        E.push(e.timeStamp, EV_KEY_UP, cls, slot << 8);
      }
    };
  }
  function release(e) {
    held = {};
    E.push(e.timeStamp, EV_RELEASE, 0, 0);
  }

  var OPT = { capture: true, passive: true };
  var lastScroll = -1e9;
  function installListeners() {
    var on = function (t, fn, target) {
      (target || window).addEventListener(t, fn, OPT);
    };
    on("pointermove", onPointer(PK_MOVE));
    on("pointerdown", onPointer(PK_DOWN));
    on("pointerup", onPointer(PK_UP));
    on("pointercancel", onPointer(PK_CANCEL));
    on("wheel", function (e) {
      P.push(e.timeStamp, PK_WHEEL | 1 << 3 | (e.buttons & 255) << 8 | (e.isTrusted ? 1 : 0) << 5, e.clientX, e.clientY, e.screenX - e.clientX, e.screenY - e.clientY, 0, 1, 1);
      E.push(e.timeStamp, EV_WHEEL + Math.min(2, e.deltaMode | 0), e.deltaX, e.deltaY);
    });
    on("scroll", function (e) {
      if (e.timeStamp - lastScroll < 30) return; // at most ~33 records/s
      lastScroll = e.timeStamp;
      E.push(e.timeStamp, EV_SCROLL, window.scrollX, window.scrollY);
    });
    on("keydown", onKey(true));
    on("keyup", onKey(false));
    on("focusin", function (e) {
      E.push(e.timeStamp, EV_FIELD, FK_FOCUS, elId(e.target));
      for (var i = 0; i < widgets.length; i++) if (widgets[i].fields.has(e.target)) prefetch(widgets[i]);
    });
    on("focusout", function (e) { E.push(e.timeStamp, EV_FIELD, FK_BLUR, elId(e.target)); });
    on("paste", function (e) { E.push(e.timeStamp, EV_FIELD, FK_PASTE, elId(e.target)); });
    on("click", function (e) {
      // No pointer behind it: Enter/Space on a button, assistive technology, or el.click().
      if (e.detail === 0) {
        frames();
        E.push(e.timeStamp, EV_FIELD, FK_CLICK_NO_POINTER, elId(e.target));
      }
    });
    on("input", function (e) {
      // Only the input *type* matters (typed vs deleted/undone/pasted/dropped); never the data.
      var explained = /^(delete|history|insertFromPaste|insertFromDrop)/.test(e.inputType || "");
      if (!e.isTrusted) frames();
      E.push(e.timeStamp, EV_INPUT, explained ? 1 : 0, elId(e.target));
    });
    on("blur", function (e) {
      if (e.target === window) release(e);
    });
    on("visibilitychange", function (e) {
      var hidden = document.visibilityState === "hidden";
      if (hidden) release(e);
      E.push(e.timeStamp, EV_FIELD, hidden ? FK_HIDDEN : FK_VISIBLE, 0);
    }, document);
  }
  installListeners();

  // The event log as one widget sees it: element ids -> its field indices, other widgets' submits
  // dropped, focus/blur/paste/input on elements outside its fields dropped.
  function evFor(w) {
    var src = E.dump(), out = new Float64Array(src.length), n = 0;
    for (var o = 0; o < src.length; o += 4) {
      var ty = src[o + 1], a = src[o + 2], b = src[o + 3];
      if (ty === EV_SUBMIT) {
        if (a !== w.n) continue;
        ty = EV_FIELD;
        a = FK_SUBMIT;
      }
      if (ty === EV_KEY_DOWN || ty === EV_FIELD || ty === EV_INPUT) {
        var el = b & 255, f = el ? w.idx[el] : NO_FIELD;
        if (f === undefined) {
          if (ty !== EV_KEY_DOWN) continue;
          f = NO_FIELD;
        }
        b = b - el + f;
      }
      out[n] = src[o];
      out[n + 1] = ty;
      out[n + 2] = a;
      out[n + 3] = b;
      n += 4;
    }
    return out.subarray(0, n);
  }

  var widgets = [];

  // --- environment probes ---------------------------------------------------------------------
  // Raw facts only; the verifier judges them (verifier/src/envrules.rs). Ids: protocol
  // `telemetry::probe` (probe schema 2). Every probe is wrapped: a throwing probe is recorded as
  // an Error value (itself a signal). Sync groups run one per idle callback after first paint
  // (each well under 50 ms); async ones settle whenever they do, and a token carries what is done.
  var PN = []; // [id, kind, number] per probe (kinds: 0 bool, 1 int, 2 num, 3 str, 4 error, 5 absent)
  var PSTR = []; // strings of Str/Error probes, in order
  var FP = []; // fingerprint sources (hashed in wasm; never sent raw)
  var fpFlags = 0; // protocol `telemetry::fp_flags`
  var audio = ""; // the audio source once rendered (async: appended last, so arrival order never changes the hash)
  var probeMs = 0;
  // A5: automation frames in the synchronous stack of the widget API, of submit / no-pointer click
  // handlers and of untrusted pointer/key/input events: Puppeteer's `pptr:` sourceURL (1),
  // Playwright's `UtilityScript.` (2), i.e. a main-world `evaluate()` that calls the API, clicks,
  // submits or dispatches events. A page's own calls and real input have only page frames (or none).
  var stackHits = 0;
  function frames() {
    try {
      var s = String(new Error().stack);
      if (/pptr:|__puppeteer_evaluation_script__/.test(s)) stackHits |= 1;
      if (/UtilityScript\./.test(s)) stackHits |= 2;
    } catch (e) {}
  }

  function put(id, v) {
    var t = typeof v;
    if (t === "boolean") PN.push(id, 0, v ? 1 : 0);
    else if (t === "number") PN.push(id, Number.isInteger(v) && Math.abs(v) < 9e15 ? 1 : 2, v);
    else if (v === undefined) PN.push(id, 5, 0);
    else {
      PN.push(id, 3, 0);
      PSTR.push(v === null ? "null" : t === "string" ? v : "[" + t + "]");
    }
  }
  function putErr(id, e) {
    PN.push(id, 4, 0);
    PSTR.push(String((e && e.name) || "Error") + ": " + String((e && e.message) || e));
  }
  function probe(id, fn) {
    try {
      put(id, fn());
    } catch (e) {
      putErr(id, e);
    }
  }
  function later(id, promiseFn) {
    try {
      Promise.resolve(promiseFn()).then(function (v) { put(id, v); }, function (e) { putErr(id, e); });
    } catch (e) {
      putErr(id, e);
    }
  }
  function mq(q) {
    return matchMedia(q).matches;
  }
  function brands(list) {
    return (list || []).map(function (b) { return b.brand + "/" + b.version; }).join(",");
  }
  function gd(o, k) {
    var d = o && Object.getOwnPropertyDescriptor(o, k);
    return d && (d.get || d.value);
  }

  // Pristine same-origin realm for reference natives (page wrappers do not reach it).
  var frame = null;
  function realm() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.style.display = "none";
      frame.setAttribute("aria-hidden", "true");
      document.documentElement.appendChild(frame);
    }
    return frame.contentWindow;
  }

  // Engine: `v8`, `sm` (SpiderMonkey), `jsc` or `?`, from error shapes (a UA string cannot change them).
  var engine = "?";
  var errMsg = "";
  try {
    null[0];
  } catch (e) {
    errMsg = String(e.message);
  }
  if (/^Cannot read prop/.test(errMsg)) engine = "v8";
  else if (/has no properties/.test(errMsg)) engine = "sm";
  else if (/is not an object/.test(errMsg)) engine = "jsc";

  // C3: version-gated features, oldest first (verifier: envrules FEATURE_MAJORS, same order).
  function featureBits() {
    var f = [
      [].at, [].findLast, [].toSorted, Object.groupBy, Promise.withResolvers, new Set().union, Promise.try,
      Intl.DurationFormat, window.Float16Array, RegExp.escape, Error.isError, Uint8Array.fromBase64,
      window.Temporal, Math.sumPrecise,
    ];
    var bits = 0;
    for (var i = 0; i < f.length; i++) if (f[i] !== undefined) bits |= 1 << i;
    return bits;
  }

  // A3: driver globals (exact names; also looked up through prototypes) and prefixes.
  var AUTOMATION_NAMES = ["domAutomation", "domAutomationController", "__playwright__binding__", "callPhantom", "_phantom", "__nightmare"];
  var AUTOMATION = new RegExp("^(\\$?cdc_|__webdriver_|__driver_|__selenium_|__fxdriver_)|^(" + AUTOMATION_NAMES.join("|") + ")$");

  // B1 targets: same order as protocol `telemetry::LIE_TARGETS`.
  function lieTargets() {
    var N = window.Navigator && Navigator.prototype, S = window.Screen && Screen.prototype;
    var ni = function (k) { return gd(nav, k) || gd(N, k); };
    var si = function (k) { return gd(screen, k) || gd(S, k); };
    var p = function (c, k) { return gd(window[c] && window[c].prototype, k); };
    return [
      ni("webdriver"), ni("userAgent"), ni("appVersion"), ni("platform"), ni("languages"), ni("hardwareConcurrency"),
      ni("deviceMemory"), ni("plugins"), ni("mimeTypes"), ni("vendor"),
      si("width"), si("height"), si("availWidth"), si("availHeight"), si("colorDepth"),
      p("WebGLRenderingContext", "getParameter"), p("WebGL2RenderingContext", "getParameter"),
      p("HTMLMediaElement", "canPlayType"), p("Permissions", "query"), gd(window.Notification, "permission"),
      p("NavigatorUAData", "getHighEntropyValues"), gd(document, "createElement") || p("Document", "createElement"),
      Function.prototype.toString, window.Intl && Intl.DateTimeFormat, ni("getBattery"),
      p("HTMLCanvasElement", "toDataURL"), p("CanvasRenderingContext2D", "getImageData"), p("AudioBuffer", "getChannelData"),
    ];
  }
  var NATIVE = /^function [\w$ ]*\(\) \{\s*\[native code\]\s*\}$/;
  // B1 over targets [a, b) (spread over idle slots), results in lieOut/lieN.
  var lieOut = [], lieN = 0, lieList = null;
  function lies(a, b) {
    try {
      var iw = realm();
      lieList = lieList || lieTargets();
      for (var i = a; i < Math.min(b, lieList.length); i++) {
        if (typeof lieList[i] !== "function") continue;
        lieN++;
        var m = lieMask(lieList[i], iw, i === 23);
        if (m) lieOut.push(i + "." + m);
      }
    } catch (e) {
      lieOut.push(a + ".64");
    }
  }
  // Lie mask of one native function (protocol `telemetry::lie_check` bits), checked from the
  // pristine realm `iw`. Never leaves a target changed: the prototype is always restored.
  // Constructors (`ctor`, e.g. Intl.DateTimeFormat) legitimately have a prototype and more keys
  // and can be called with `new`: only the shape-independent checks apply to them.
  function lieMask(f, iw, ctor) {
    var m = 0, O = iw.Object;
    var te = function (e) { return e && e.name === "TypeError"; };
    try {
      if (!NATIVE.test(iw.Function.prototype.toString.call(f))) m |= 1;
      if (!ctor) {
        if (iw.Reflect.ownKeys(f).join() !== "length,name") m |= 2;
        if ("prototype" in f) m |= 4;
        try {
          new f();
          m |= 8;
        } catch (e) {
          if (!te(e)) m |= 8;
        }
      }
      var proto = O.getPrototypeOf(f);
      try {
        O.setPrototypeOf(f, O.create(f));
        m |= 16; // a Proxy lets the cycle through
      } catch (e) {
        if (!te(e)) m |= 16;
      } finally {
        try {
          O.setPrototypeOf(f, proto);
        } catch (e) {}
      }
      try {
        O.create(f).toString();
        m |= 32;
      } catch (e) {
        // V8 stacks carry the message first and show the native frame as `(<anonymous>)`; a JS
        // wrapper (Proxy trap, patched toString) adds a frame with a line:column position.
        var top = engine === "v8" ? String(e.stack).split("\n")[1] || "" : "";
        if (!te(e) || /:\d+:\d+\)?$/.test(top)) m |= 32;
      }
    } catch (e) {
      m |= 64;
    }
    return m;
  }

  var groups = [
    function basics() {
      // Plain navigator reads: [probe id, property].
      [[1, "webdriver"], [2, "userAgent"], [4, "platform"], [6, "hardwareConcurrency"], [7, "deviceMemory"],
        [20, "appVersion"], [21, "vendor"], [22, "maxTouchPoints"], [46, "pdfViewerEnabled"]].forEach(function (p) {
        probe(p[0], function () { return nav[p[1]]; });
      });
      probe(13, function () { return "webdriver" in nav; });
      probe(5, function () { return Array.prototype.join.call(nav.languages || [], ","); });
      probe(8, function () {
        var s = screen;
        return s.width + "×" + s.height + " avail " + s.availWidth + "×" + s.availHeight + " " + s.colorDepth;
      });
      probe(9, function () {
        var w = window;
        return "inner " + w.innerWidth + "×" + w.innerHeight + " outer " + w.outerWidth + "×" + w.outerHeight +
          " dpr " + w.devicePixelRatio + " at " + w.screenX + "," + w.screenY;
      });
      probe(12, function () {
        var found = [];
        [[window, ""], [document, "document."]].forEach(function (p) {
          Object.getOwnPropertyNames(p[0]).forEach(function (k) {
            if (AUTOMATION.test(k)) found.push(p[1] + k);
          });
        });
        AUTOMATION_NAMES.forEach(function (k) {
          if (k in window && found.indexOf(k) < 0) found.push(k);
        });
        ["webdriver", "selenium", "driver"].forEach(function (a) {
          if (document.documentElement.hasAttribute(a)) found.push("html@" + a);
        });
        return found.join(",");
      });
    },
    function basics2() {
      var d = nav.userAgentData;
      if (d) {
        probe(14, function () { return brands(d.brands); });
        probe(15, function () { return d.mobile; });
        probe(16, function () { return d.platform; });
        later(17, function () {
          return d.getHighEntropyValues(["fullVersionList", "uaFullVersion", "platformVersion"]).then(function (h) {
            put(18, h.uaFullVersion);
            put(19, h.platformVersion);
            return brands(h.fullVersionList);
          });
        });
      }
      probe(43, function () { return nav.plugins.length; });
      probe(45, function () { return nav.connection ? nav.connection.rtt : undefined; });
      probe(48, function () { return "brave" in nav; });
      probe(41, function () { return mq("(prefers-color-scheme: dark)"); });
      probe(51, function () {
        return (mq("(display-mode: fullscreen)") ? 1 : 0) | (mq("(display-mode: standalone)") ? 2 : 0) |
          (mq("(hover: none)") ? 4 : 0) | (mq("(pointer: coarse)") ? 8 : 0);
      });
      probe(50, function () {
        var c = window.chrome;
        return c ? (c.runtime ? 2 : 1) : 0;
      });
      probe(28, function () {
        var stack = "";
        try {
          stack = /^Error/.test(new Error("x").stack) ? "v8" : "other";
        } catch (e) {}
        return eval.toString().length + "," + errMsg.length + "," + engine + "," + featureBits() + "," + stack;
      });
      probe(26, function () {
        var m = 0;
        if (Object.getOwnPropertyDescriptor(document, "createElement")) m |= 1;
        ["outerWidth", "outerHeight", "innerWidth", "innerHeight", "screenX"].forEach(function (k) {
          var dd = Object.getOwnPropertyDescriptor(window, k);
          if (dd && "value" in dd) m |= 2;
        });
        if ("SharedArrayBuffer" in window && window.SharedArrayBuffer === undefined && !window.crossOriginIsolated) m |= 4;
        var f = document.createElement("iframe");
        f.srcdoc = "<p>";
        if (f.contentWindow) m |= 8;
        if (Object.getOwnPropertyDescriptor(nav, "webdriver")) m |= 16;
        return m;
      });
      // B3 (identity), partly async: plugins/mimeTypes/chrome.runtime now, battery/permissions later.
      var b3 = 0;
      try {
        if (nav.plugins && window.PluginArray && !(nav.plugins instanceof PluginArray)) b3 |= 1;
        if (nav.mimeTypes && window.MimeTypeArray && !(nav.mimeTypes instanceof MimeTypeArray)) b3 |= 2;
        var r = window.chrome && window.chrome.runtime;
        if (r && [r.sendMessage, r.connect].some(function (f) { return typeof f === "function" && "prototype" in f; })) b3 |= 16;
      } catch (e) {}
      var waits = [];
      if (nav.getBattery) {
        waits.push(nav.getBattery().then(function (b) {
          if (!(window.BatteryManager && b instanceof BatteryManager)) b3 |= 4;
        }, function () {}));
      }
      if (nav.permissions) {
        later(44, function () {
          return nav.permissions.query({ name: "notifications" }).then(function (st) {
            if (!(window.PermissionStatus && st instanceof PermissionStatus)) b3 |= 8;
            return (window.Notification ? Notification.permission : "-") + "/" + st.state;
          });
        });
      }
      later(27, function () {
        return Promise.all(waits).then(function () { return b3; });
      });
      if (nav.mediaDevices && nav.mediaDevices.enumerateDevices) {
        later(39, function () {
          return nav.mediaDevices.enumerateDevices().then(function (l) { return l.length; });
        });
      }
    },
    function style() {
      probe(42, function () {
        var s = document.createElement("span");
        s.style.color = "ActiveText";
        document.documentElement.appendChild(s);
        var c = getComputedStyle(s).color;
        s.remove();
        return c;
      });
    },
    function cdp() {
      var iw = realm();
      // A4: a CDP client (Runtime domain enabled) previews logged errors and so formats the stack,
      // calling `Error.prepareStackTrace` of the error's realm; without one it is never called.
      probe(23, function () {
        var calls = 0, names = 0, IE = iw.Error, had = "prepareStackTrace" in IE, old = IE.prepareStackTrace;
        var e = new IE("tollgate");
        Object.defineProperty(e, "name", { get: function () { names++; return "Error"; } });
        var t = performance.now();
        IE.prepareStackTrace = function () {
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
    },
    function lies1() {
      lies(0, 7);
    },
    function lies2() {
      lies(7, 14);
    },
    function lies3() {
      lies(14, 21);
    },
    function lies4() {
      lies(21, 99);
      put(24, lieOut.join(","));
      put(25, lieN);
    },
    function audioFp() {
      // Audio: an OfflineAudioContext renders on the audio thread (the main thread only builds a
      // 3-node graph). Rendered twice: noise added per render (extensions) leaves it out; skipped
      // where the engine randomises it natively (Safari 17+, Firefox RFP: non-V8; Brave; Samsung).
      var A = window.OfflineAudioContext;
      if (engine !== "v8" || "brave" in nav || /SamsungBrowser/.test(nav.userAgent) || !A) return fpFlags |= 128;
      var render = function () {
        var c = new A(1, 5000, 44100), o = c.createOscillator(), k = c.createDynamicsCompressor();
        o.type = "triangle";
        o.frequency.value = 1e4;
        o.connect(k);
        k.connect(c.destination);
        o.start(0);
        return c.startRendering().then(function (b) {
          for (var d = b.getChannelData(0), s = 0, i = 4500; i < 5000; i++) s += Math.abs(d[i]);
          return s;
        });
      };
      Promise.all([render(), render()]).then(function (r) {
        if (r[0] === r[1]) {
          audio = "|au|" + r[0];
          fpFlags |= 64;
        } else fpFlags |= 128;
      }, function () {
        fpFlags |= 128;
      });
    },
    function webgl() {
      var flags = 0;
      probe(11, function () {
        var c = document.createElement("canvas");
        var g = c.getContext("webgl");
        if (!g) return undefined;
        var x = g.getExtension("WEBGL_debug_renderer_info");
        var r = g.getParameter(x ? x.UNMASKED_RENDERER_WEBGL : g.RENDERER);
        put(38, g.getParameter(x ? x.UNMASKED_VENDOR_WEBGL : g.VENDOR));
        FP.push("gl", r, g.getParameter(g.MAX_TEXTURE_SIZE), g.getParameter(g.MAX_RENDERBUFFER_SIZE), (g.getSupportedExtensions() || []).length);
        flags |= 2;
        var lose = g.getExtension("WEBGL_lose_context");
        if (lose) lose.loseContext();
        return r;
      });
      fpFlags |= flags;
    },
    function canvas() {
      var flags = 0;
      var brave = "brave" in nav;
      try {
        // Canvas: skipped where the engine randomises it natively (Safari 17+, Firefox, Brave).
        if (engine === "v8" && !brave) {
          var draw = function () {
            var c = document.createElement("canvas");
            c.width = 200;
            c.height = 24;
            var x = c.getContext("2d");
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
          var a = draw();
          if (a === draw()) {
            FP.push("cv", a);
            flags |= 1;
          } else flags |= 16;
        } else flags |= 16;
      } catch (e) {}
      if (engine !== "jsc") {
        FP.push("scr", screen.width, screen.height, screen.colorDepth, devicePixelRatio);
        flags |= 4;
      } else flags |= 32;
      fpFlags |= flags;
    },
    function fonts() {
      // Installed fonts: width of a test string against the generic fallback.
      var list = ["Arial", "Helvetica Neue", "Segoe UI", "Roboto", "Ubuntu", "DejaVu Sans", "Liberation Sans",
        "Noto Sans", "Calibri", "Consolas", "Menlo", "Tahoma", "Verdana", "Georgia", "MS Gothic", "PingFang SC"];
      try {
        // Canvas text metrics: no DOM layout.
        var x = document.createElement("canvas").getContext("2d"), txt = "mmmmmmmmmmlli10OQ", bits = [];
        x.font = "48px monospace";
        var base = x.measureText(txt).width;
        list.forEach(function (f) {
          x.font = "48px '" + f + "',monospace";
          bits.push(x.measureText(txt).width !== base ? 1 : 0);
        });
        FP.push("fonts", bits.join(""));
        fpFlags |= 8;
      } catch (e) {}
      FP.push("env", nav.userAgent, nav.platform, nav.hardwareConcurrency, nav.deviceMemory, nav.maxTouchPoints,
        Array.prototype.join.call(nav.languages || [], ","), new Date().getTimezoneOffset(), engine,
        Math.tan(-1e300), Math.acosh(1e300), Math.expm1(1), Math.sinh(1));
      if (frame) {
        frame.remove();
        frame = null;
      }
    },
    function intl() {
      // Last, after the probe worker answered: the first Intl use in a renderer process loads
      // ICU's locale and time-zone data (20–45 ms); the worker has paid that off the main thread
      // (process-wide), so this main-thread read, which the verifier compares with the
      // worker's, takes well under a millisecond.
      probe(10, function () { return Intl.DateTimeFormat().resolvedOptions().timeZone; });
    },
  ];

  // C1: re-read in a dedicated worker (same-origin file, no blob:). Unavailable (CSP, extension,
  // timeout) is recorded as an error, which the verifier treats as "unavailable", not as a lie.
  function workerProbe(settled) {
    var done = false, w = null;
    var finish = function (err, r) {
      if (done) return;
      done = true;
      settled();
      if (w) w.terminate();
      if (err) return putErr(29, err);
      put(29, "ok");
      var map = { ua: 3, platform: 30, hwc: 31, mem: 32, tz: 33, lang: 34, brands: 35, uaplat: 36, gl: 37 };
      for (var k in map) {
        var v = r[k];
        if (v && typeof v === "object") putErr(map[k], v);
        else put(map[k], v);
      }
    };
    try {
      w = new Worker(BASE + "tollgate-probe-worker.js", { name: "tollgate-probe" });
      w.onmessage = function (e) { finish(null, e.data || {}); };
      w.onerror = function (e) {
        finish({ name: "WorkerError", message: (e && e.message) || "failed to start" });
      };
      w.postMessage(0);
      setTimeout(function () { finish({ name: "TimeoutError", message: "no answer in 5 s" }); }, 5000);
    } catch (e) {
      finish(e);
    }
  }

  var probeState = 0; // groups run so far
  // Main-thread tasks of the collector: [start, duration] (window.tollgate.timings.tasks, for
  // tests and diagnostics; the e2e long-task test checks none exceeds 50 ms).
  var tasks = (timings.tasks = []);
  function timed(fn, name) {
    var t = performance.now();
    try {
      return fn();
    } finally {
      var d = performance.now() - t;
      tasks.push([Math.round(t), Math.round(d * 10) / 10]);
      mark(name || "task", t, t + d);
      if (tasks.length > 50) tasks.shift();
      probeMs += d;
    }
  }
  function runGroup() {
    if (probeState >= groups.length) return false;
    var i = probeState++;
    timed(function () {
      try {
        groups[i]();
      } catch (e) {}
    }, "group" + i);
    return true;
  }
  // Idle-time schedule, one group per idle callback after first paint, starting once the first
  // challenge is solved (or failed; at most 3 s after render): on a 2-core device the probes'
  // main-thread tasks would otherwise delay the proof-of-work workers' start (which needs the
  // main thread) and take a core from their solve. The probe worker starts first (C1 re-read;
  // it also warms ICU for the `intl` group, which waits for its answer). A submit before the
  // schedule finished runs the remaining sync groups at once (finishProbes).
  var scheduled = false;
  function scheduleProbes(first) {
    if (scheduled) return;
    scheduled = true;
    var started = false;
    var start = function () {
      if (started) return;
      started = true;
      afterPaint(function () {
        var answered = false, wait = null;
        workerProbe(function () {
          answered = true;
          if (wait) wait();
        });
        (function step() {
          if (probeState === groups.length - 1 && !answered) return (wait = function () { idle(step); });
          if (runGroup()) idle(step);
          else {
            setTimeout(function () {
              probe(40, function () { return window.speechSynthesis ? speechSynthesis.getVoices().length : undefined; });
            }, 1000);
          }
        })();
      });
    };
    first.then(start, start);
    setTimeout(start, 3000);
  }
  // Submit before the idle schedule finished: run the remaining sync groups now.
  function finishProbes() {
    while (runGroup()) {}
  }
  function probeArrays() {
    // Settled at token time: the fingerprint flags (audio is async) and the A5 stack hits.
    var pn = PN.concat([49, 1, Math.round(probeMs), 47, 1, fpFlags, 52, 1, stackHits]);
    return { nums: new Float64Array(pn), strs: PSTR.slice(), fp: FP.join("|") + audio };
  }

  function idle(fn) {
    if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: 1500 });
    else setTimeout(fn, 50);
  }
  // Run `fn` after first paint, in idle time when the browser offers it.
  function afterPaint(fn) {
    requestAnimationFrame(function () {
      setTimeout(function () {
        idle(fn);
      }, 0);
    });
  }

  // --- worker pool ----------------------------------------------------------------------------

  function Pool() {
    var self = this;
    var n = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
    this.workers = [];
    this.job = 0;
    this.current = null;
    this.queue = [];
    for (var i = 0; i < n; i++) {
      (function (slot) {
        var rec = { w: null, alive: true, ready: false, outstanding: [] };
        try {
          rec.w = new Worker(BASE + "tollgate-worker.js", { type: "module", name: "tollgate-pow" });
        } catch (e) {
          return;
        }
        rec.w.onmessage = function (ev) {
          var m = ev.data || {};
          // Debug: worker times come as absolute ms (timeOrigin + now).
          var at = function (x) {
            return x - performance.timeOrigin;
          };
          if (m.at) {
            if (m.t === "ready") {
              mark("w" + slot + ":script", at(m.at[0]), at(m.at[0]));
              mark("w" + slot + ":init", at(m.at[1]), at(m.at[2]));
            } else mark("w" + slot + ":" + m.index, at(m.s), at(m.at), m.hashes);
          }
          if (m.t === "ready") {
            rec.ready = true;
            if (self.current) self.current.feed(rec);
          } else if (m.t === "error") {
            self.kill(rec, m.error);
          } else if (self.current && m.job === self.current.id) {
            self.current.message(rec, m);
          }
        };
        rec.w.onerror = function (ev) {
          self.kill(rec, (ev && ev.message) || "worker error");
        };
        self.workers[slot] = rec;
      })(i);
    }
    this.workers = this.workers.filter(Boolean);
    mark("pool");
    modulePromise.then(
      function (module) {
        self.workers.forEach(function (r) {
          r.w.postMessage({ t: "init", module: module, dbg: DBG });
        });
      },
      function () {
        self.workers.forEach(function (r) {
          r.w.postMessage({ t: "init", url: wasmUrl, dbg: DBG });
        });
      },
    );
    this.kill = function (rec, why) {
      if (!rec.alive) return;
      rec.alive = false;
      try {
        rec.w.terminate();
      } catch (e) {}
      if (self.current) self.current.lost(rec, why);
    };
  }

  // Solve all k sub-puzzles of `info` (a ChallengeInfo) for `owner` (a widget); resolves
  // {solutions: BigUint64Array, hashes, workers, ms}. Jobs run one at a time; a newer request from
  // the same owner replaces its queued or running one.
  Pool.prototype.solve = function (info, owner) {
    var self = this;
    this.queue = (this.queue || []).filter(function (q) {
      if (q.owner !== owner) return true;
      q.reject(new Error("superseded"));
      return false;
    });
    if (this.current && this.current.owner === owner) this.current.cancel("superseded");
    return new Promise(function (resolve, reject) {
      self.queue.push({ info: info, owner: owner, resolve: resolve, reject: reject });
      self.startNext();
    });
  };

  Pool.prototype.startNext = function () {
    if (this.current || !this.queue.length) return;
    var self = this;
    var q = this.queue.shift();
    var id = ++this.job;
    var k = q.info.k;
    var bytes = q.info.bytes;
    var next = 0;
    var found = 0;
    var pending = []; // indices handed back by dead workers
    var solutions = new BigUint64Array(k);
    var have = new Uint8Array(k);
    var hashes = 0;
    var used = 0;
    var start = performance.now();
    var DEPTH = 2; // indices queued per worker, so it never idles waiting for the next one
    function done() {
      self.current = null;
      self.workers.forEach(function (r) {
        r.outstanding = [];
        r.used = false;
      });
      setTimeout(function () {
        self.startNext();
      }, 0);
    }
    var job = {
      id: id,
      owner: q.owner,
      feed: function (rec) {
        if (!rec.alive || !rec.ready || self.current !== job) return;
        var give = [];
        while (rec.outstanding.length + give.length < DEPTH) {
          var idx = pending.length ? pending.shift() : next < k ? next++ : -1;
          if (idx < 0) break;
          give.push(idx);
        }
        if (give.length) {
          if (!rec.used) {
            rec.used = true;
            used++;
          }
          rec.outstanding = rec.outstanding.concat(give);
          rec.w.postMessage({ t: "solve", job: id, challenge: bytes, indices: give });
        }
      },
      message: function (rec, m) {
        if (m.t === "found") {
          rec.outstanding = rec.outstanding.filter(function (x) {
            return x !== m.index;
          });
          hashes += m.hashes;
          if (!have[m.index]) {
            have[m.index] = 1;
            solutions[m.index] = BigInt(m.nonce);
            found++;
          }
          if (found === k) {
            mark("solve", start, performance.now());
            done();
            q.resolve({ solutions: solutions, hashes: hashes, workers: Math.max(1, used), ms: performance.now() - start });
            return;
          }
          job.feed(rec);
        } else if (m.t === "failed") {
          self.kill(rec, m.error);
        }
      },
      lost: function (rec) {
        pending = pending.concat(rec.outstanding);
        rec.outstanding = [];
        var alive = self.workers.filter(function (r) {
          return r.alive;
        });
        if (!alive.length) return job.cancel("no proof-of-work worker could run");
        alive.forEach(job.feed);
      },
      cancel: function (why) {
        if (self.current !== job) return;
        self.workers.forEach(function (r) {
          if (r.alive) r.w.postMessage({ t: "stop" });
        });
        done();
        q.reject(new Error(why));
      },
    };
    this.current = job;
    var alive = this.workers.filter(function (r) {
      return r.alive;
    });
    if (!alive.length) return job.cancel("no proof-of-work worker could run");
    alive.forEach(job.feed);
  };

  function getPool() {
    if (!pool) pool = new Pool();
    return pool;
  }

  // --- widgets --------------------------------------------------------------------------------
  var seq = 0;

  function attr(el, name) {
    var v = el && el.getAttribute ? el.getAttribute(name) : null;
    return v === null ? undefined : v;
  }

  function visibleInput(el) {
    var t = (el.getAttribute("type") || "text").toLowerCase();
    return ["hidden", "submit", "button", "reset", "image", "checkbox", "radio", "file"].indexOf(t) < 0;
  }

  // Register the form's fields with roles: username, password, submit button, then others
  // (at most 16: protocol MAX_TARGETS).
  function registerFields(w) {
    var form = w.form;
    if (!form) return;
    var inputs = Array.prototype.filter.call(form.querySelectorAll("input, textarea, select"), function (el) {
      return el.tagName !== "INPUT" || visibleInput(el);
    });
    var password = form.querySelector('input[type="password"]');
    var username = form.querySelector('input[autocomplete~="username"]');
    if (!username) {
      var before = null;
      for (var i = 0; i < inputs.length; i++) {
        var el = inputs[i];
        if (el === password) break;
        var t = (el.getAttribute("type") || "text").toLowerCase();
        if (el.tagName === "INPUT" && (t === "text" || t === "email" || t === "tel")) before = el;
      }
      username = before;
    }
    var submit = form.querySelector('button[type="submit"], input[type="submit"], button:not([type])');
    var add = function (el, role) {
      if (!el || w.fields.has(el) || w.roles.length >= 16) return;
      w.fields.set(el, w.roles.length);
      var id = elId(el);
      if (id < OTHER_EL) w.idx[id] = w.roles.length;
      w.roles.push(role);
    };
    add(username, ROLE_USERNAME);
    add(password, ROLE_PASSWORD);
    add(submit, ROLE_SUBMIT);
    inputs.forEach(function (el) {
      add(el, ROLE_OTHER);
    });
  }

  function setState(w, state) {
    w.state = state;
    if (w.el && w.el.setAttribute) w.el.setAttribute("data-tollgate-state", state);
  }

  // Call the render option `name` and dispatch `tollgate:<event>` on the widget element.
  function fire(w, name, event, detail) {
    var cb = w.opts[name];
    if (typeof cb === "function") {
      try {
        cb(detail);
      } catch (e) {
        setTimeout(function () { throw e; });
      }
    }
    if (w.el && w.el.dispatchEvent && typeof CustomEvent === "function") {
      w.el.dispatchEvent(new CustomEvent("tollgate:" + event, { detail: detail, bubbles: true }));
    }
  }

  function fail(w, err) {
    w.error = err instanceof Error ? err : new Error(String(err));
    setState(w, "error");
    fire(w, "error-callback", "error", w.error.message);
  }

  function fetchChallenge(w, attempt) {
    mark("challenge-request");
    var body = { sitekey: w.sitekey };
    if (w.action) body.action = w.action;
    if (w.cdata) body.cdata = w.cdata;
    // No content-type header: the body goes as text/plain (the verifier reads JSON whatever the
    // type), so this is a CORS "simple" request and needs no preflight round trip.
    return fetch(w.api.replace(/\/+$/, "") + "/v1/challenge", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().then(
          function (j) {
            if (!r.ok) throw Object.assign(new Error("challenge: " + (j && j.error ? j.error : r.status)), { fatal: r.status < 500 && r.status !== 429 });
            return j;
          },
          function () {
            throw new Error("challenge: HTTP " + r.status);
          },
        );
      })
      .catch(function (e) {
        attempt = attempt || 0;
        if (e.fatal || attempt >= 3) throw e;
        return new Promise(function (res) {
          setTimeout(res, 500 * Math.pow(3, attempt));
        }).then(function () {
          return fetchChallenge(w, attempt + 1);
        });
      });
  }

  function usable(w) {
    return !!(w.solution && !w.spent && performance.now() < w.solution.localExpiry);
  }

  // Fetch a fresh challenge and solve it. Returns the promise of the solution.
  function refresh(w) {
    var gen = ++w.gen;
    w.solution = null;
    w.spent = false;
    setState(w, "loading");
    var p = fetchChallenge(w)
      .then(function (reply) {
        var received = performance.now();
        if (gen === w.gen) w.timings.challengeReceived = timings.challengeReceived = received;
        mark("challenge-received");
        return gluePromise.then(function (g) {
          // Fixed layout (protocol/src/challenge.rs): issued/expires at 37/45 (u64 BE), k at 53
          // (u16 BE), bits at 55; 217 bytes with the signature. The workers validate the rest.
          var bytes = unb64(reply.challenge);
          if (bytes.length !== 217) throw new Error("challenge: malformed");
          var dv = new DataView(bytes.buffer);
          var info = { bytes: bytes, k: dv.getUint16(53), bits: bytes[55] };
          var ttl = Number(dv.getBigUint64(45) - dv.getBigUint64(37));
          if (gen !== w.gen) throw new Error("superseded");
          setState(w, "solving");
          return getPool()
            .solve(info, w)
            .then(function (res) {
              if (gen !== w.gen) throw new Error("superseded");
              var now = performance.now();
              return {
                challenge: bytes,
                tokenKey: unb64(reply.token_key),
                info: info,
                solutions: res.solutions,
                hashes: res.hashes,
                workers: res.workers,
                durationMs: now - received,
                // Expire locally a little early (clock-independent: uses the challenge's lifetime).
                localExpiry: received + ttl - Math.min(10000, ttl * 0.1),
              };
            });
        });
      })
      .then(function (sol) {
        if (gen !== w.gen) return w.pending;
        w.solution = sol;
        w.timings.solved = timings.solved = performance.now();
        w.timings.solveMs = sol.durationMs;
        w.timings.hashes = sol.hashes;
        w.timings.workers = sol.workers;
        timings.solveMs = sol.durationMs;
        timings.hashes = sol.hashes;
        timings.workers = sol.workers;
        setState(w, "ready");
        fire(w, "ready-callback", "ready");
        var left = sol.localExpiry - performance.now();
        clearTimeout(w.expiryTimer);
        w.expiryTimer = setTimeout(function () {
          if (w.solution === sol && !w.spent) {
            setState(w, "expired");
            fire(w, "expired-callback", "expired");
          }
        }, Math.max(0, left));
        return sol;
      });
    p.catch(function (e) {
      if (gen === w.gen && !(e && e.message === "superseded")) fail(w, e);
    });
    w.pending = p;
    return p;
  }

  function ensureSolved(w) {
    if (usable(w)) return Promise.resolve(w.solution);
    if (w.pending && w.state !== "error" && !w.spent && !w.solution) return w.pending;
    return refresh(w);
  }

  function prefetch(w) {
    if (!usable(w) && !(w.pending && !w.solution && w.state !== "error")) refresh(w).catch(function () {});
  }


  // Build the token now (telemetry snapshot at this moment) and put it into the form.
  function makeToken(w) {
    var sol = w.solution;
    finishProbes();
    var targets = new Float64Array(w.roles.length * 6);
    w.fields.forEach(function (i, el) {
      var r = el.getBoundingClientRect();
      var hasValue = el.tagName !== "BUTTON" && typeof el.value === "string" && el.value.length > 0;
      targets.set([w.roles[i], r.left, r.top, r.width, r.height, hasValue ? 1 : 0], i * 6);
    });
    var pr = probeArrays();
    var meta = new Float64Array([T0, performance.now(), sol.durationMs, sol.workers, glue.solverKind(), sol.hashes, P.d, E.d]);
    var strs = [location.origin, w.action || "", w.cdata || "", pr.fp].concat(pr.strs).map(function (s) {
      return String(s).replace(/\0/g, " ");
    });
    // One packed array (collector-wasm/src/ingest.rs `Logs::unpack`): lengths, then the logs.
    var parts = [meta, P.dump(), evFor(w), targets, pr.nums], n = 5;
    var packed = new Float64Array(5 + parts.reduce(function (a, p) { return a + p.length; }, 0));
    parts.forEach(function (p, i) {
      packed[i] = p.length;
      packed.set(p, n);
      n += p.length;
    });
    var kc = new Uint8Array(32 + sol.challenge.length);
    kc.set(sol.tokenKey);
    kc.set(sol.challenge, 32);
    var token = timed(function () {
      return b64(glue.seal(kc, sol.solutions, packed, strs.join("\0")));
    }, "seal");
    w.token = token;
    if (w.input) w.input.value = token;
    if (w.timings.tokenReady === null) w.timings.tokenReady = performance.now();
    timings.tokenReady = w.timings.tokenReady;
    fire(w, "callback", "token", token);
    return token;
  }

  function onSubmit(w, e) {
    if (w.resubmitting) return; // our own re-submit: token already in place
    frames();
    var submitter = e.submitter || null;
    E.push(e.timeStamp, EV_SUBMIT, w.n, submitter && w.fields.has(submitter) ? elId(submitter) : 0);
    if (usable(w) && glue) {
      try {
        makeToken(w);
      } catch (err) {
        fail(w, err);
      }
      w.spent = true;
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
    if (w.waitingSubmit) return;
    w.waitingSubmit = true;
    ensureSolved(w)
      .then(function () {
        return gluePromise;
      })
      .then(
        function () {
          makeToken(w);
        },
        function (err) {
          // Fail open at the browser: the site's backend gets an empty response and decides.
          if (w.input) w.input.value = "";
          fail(w, err);
        },
      )
      .then(function () {
        w.waitingSubmit = false;
        w.spent = true;
        var form = w.form;
        w.resubmitting = true;
        try {
          if (typeof form.requestSubmit === "function") {
            form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
          } else {
            form.submit();
          }
        } finally {
          w.resubmitting = false;
        }
      });
  }


  function render(el, opts) {
    if (typeof el === "string") el = document.querySelector(el);
    if (!el || !el.nodeType) throw new Error("tollgate.render: no element");
    var existing = find(el);
    if (existing && existing.el === el) return existing.id;
    opts = opts || {};
    var form = el.tagName === "FORM" ? el : el.closest ? el.closest("form") : null;
    var sitekey = opts.sitekey || attr(el, "data-sitekey") || (el.tagName === "FORM" ? attr(el, "data-tollgate") : undefined);
    if (!sitekey) throw new Error("tollgate.render: missing sitekey");
    var w = {
      id: "tg" + ++seq,
      n: seq,
      el: el,
      form: form,
      opts: opts,
      sitekey: sitekey,
      action: opts.action !== undefined ? String(opts.action) : attr(el, "data-action") || "",
      cdata: opts.cdata !== undefined ? String(opts.cdata) : attr(el, "data-cdata") || "",
      api: opts.api || attr(el, "data-api") || DEFAULT_API,
      fields: new Map(),
      idx: {},
      roles: [],
      input: null,
      gen: 0,
      solution: null,
      pending: null,
      spent: false,
      token: null,
      state: "new",
      timings: { loaderStart: T0, wasmReady: null, challengeReceived: null, solved: null, tokenReady: null },
    };
    el.setAttribute("data-tollgate-id", w.id);
    if (form) {
      var input = form.querySelector('input[name="tollgate-response"]');
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = "tollgate-response";
        (el.tagName === "FORM" ? form : el).appendChild(input);
      }
      w.input = input;
      form.addEventListener("submit", function (e) { onSubmit(w, e); }, true);
    }
    registerFields(w);
    widgets.push(w);
    getPool(); // start the workers now (if the loader did not) so they are warm when the challenge arrives
    refresh(w).catch(function () {});
    gluePromise.then(function () {
      w.timings.wasmReady = timings.wasmReady;
    }, function () {});
    scheduleProbes(w.pending);
    return w.id;
  }

  function find(ref) {
    if (ref === undefined || ref === null) return widgets[0] || null;
    if (typeof ref === "string") {
      for (var i = 0; i < widgets.length; i++) if (widgets[i].id === ref) return widgets[i];
      ref = document.querySelector(ref);
      if (!ref) return null;
    }
    for (var j = 0; j < widgets.length; j++) {
      var w = widgets[j];
      if (w.el === ref || w.form === ref || (ref.contains && ref.contains(w.el))) return w;
    }
    return null;
  }

  function need(ref) {
    var w = find(ref);
    if (!w) throw new Error("tollgate: no widget for " + ref);
    return w;
  }

  function autoRender() {
    var els = document.querySelectorAll(".tollgate[data-sitekey], form[data-tollgate]");
    for (var i = 0; i < els.length; i++) {
      if (!els[i].hasAttribute("data-tollgate-id")) {
        try {
          render(els[i]);
        } catch (e) {
          if (window.console) console.error(e);
        }
      }
    }
  }

  window.tollgate = {
    __loader: true,
    timings: timings,
    render: render,
    execute: function (ref) {
      var w;
      frames();
      try {
        w = need(ref);
      } catch (e) {
        return Promise.reject(e);
      }
      return ensureSolved(w)
        .then(function () {
          return gluePromise;
        })
        .then(function () {
          var t = makeToken(w);
          w.spent = true;
          return t;
        });
    },
    reset: function (ref) {
      var w = need(ref);
      w.token = null;
      if (w.input) w.input.value = "";
      clearTimeout(w.expiryTimer);
      refresh(w).catch(function () {});
    },
    getResponse: function (ref) {
      var w = find(ref);
      return w ? w.token || undefined : undefined;
    },
    isExpired: function (ref) {
      var w = find(ref);
      return !!w && !!w.solution && performance.now() >= w.solution.localExpiry;
    },
  };

  if (!EXPLICIT) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoRender);
    else autoRender();
  }
})();
