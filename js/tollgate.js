/*! Tollgate loader (self-hosted; Apache-2.0)
 *
 * Classic script: <script src="/tollgate/tollgate.js" data-api="https://verifier.example" async></script>
 * Widgets:        <div class="tollgate" data-sitekey="…" data-action="login"></div> inside a form,
 *                 or <form data-tollgate data-sitekey="…"> (data-tollgate="sitekey" works too).
 *
 * What it does: fetches a challenge from the verifier early, solves the proof of work in Web Workers
 * (tollgate-worker.js + tollgate_collector_bg.wasm, loaded from this script's own directory), feeds a
 * wasm Collector from passive listeners (pointer samples, key *classes* and timings, field events),
 * runs environment probes in idle time, and at submit builds the sealed token into
 * <input type="hidden" name="tollgate-response">.
 *
 * CSP: needs only `script-src 'self' 'wasm-unsafe-eval'` (plus `connect-src` for the verifier).
 * No eval, no inline script or style, no blob: workers, no cookies or storage.
 */
(function () {
  "use strict";

  if (window.tollgate && window.tollgate.__loader) return;

  var T0 = performance.now();

  // --- protocol constants (protocol/src/telemetry.rs) ------------------------------------------
  var PK_MOVE = 0, PK_DOWN = 1, PK_UP = 2, PK_WHEEL = 3, PK_CANCEL = 5;
  var PF_TRUSTED = 1, PF_COALESCED = 2;
  var FK_FOCUS = 0, FK_BLUR = 1, FK_PASTE = 2, FK_INPUT = 4, FK_HIDDEN = 5, FK_VISIBLE = 6, FK_SUBMIT = 7;
  var ROLE_OTHER = 0, ROLE_USERNAME = 1, ROLE_PASSWORD = 2, ROLE_SUBMIT = 3;
  var PROBE_WORKER_UA = 3;
  var NO_FIELD = 255;
  var PTYPE = { mouse: 1, pen: 2, touch: 3 };

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
  modulePromise.catch(function () {});

  var glue = null; // the wasm-bindgen module once initialised
  var gluePromise = Promise.all([import(BASE + "tollgate_collector.js"), modulePromise]).then(function (r) {
    return r[0].default({ module_or_path: r[1] }).then(function () {
      glue = r[0];
      timings.wasmReady = performance.now();
      flushEarlyKeys();
      return glue;
    });
  });
  var glueFailed = false;
  gluePromise.catch(function (e) {
    glueFailed = true;
    earlyKeys.forEach(function (k) {
      k.key = null;
    });
    earlyKeys.length = 0;
    widgets.forEach(function (w) {
      fail(w, e);
    });
  });

  // --- event log ------------------------------------------------------------------------------
  // Every listener appends an entry; live collectors get it at once, widgets rendered later replay
  // the log. Key values are reduced to their class as soon as the wasm is ready (before that the
  // raw key of at most a few early events waits in `earlyKeys`, never longer).
  var LOG_MAX = 4000;
  var log = [];
  var earlyKeys = [];
  var widgets = [];

  function emit(entry) {
    log.push(entry);
    if (log.length > LOG_MAX) log.shift();
    for (var i = 0; i < widgets.length; i++) if (widgets[i].collector) apply(widgets[i], entry);
  }

  function flushEarlyKeys() {
    for (var i = 0; i < earlyKeys.length; i++) {
      var e = earlyKeys[i];
      e.cls = glue.keyClass(e.key);
      e.key = null;
    }
    earlyKeys.length = 0;
    // Entries waiting for their class are in the log already; hand them to live collectors now.
    for (var j = 0; j < log.length; j++) {
      if (log[j].held) {
        log[j].held = false;
        for (var k = 0; k < widgets.length; k++) if (widgets[k].collector) apply(widgets[k], log[j]);
      }
    }
  }

  function apply(w, e) {
    if (e.held || (e.only && e.only !== w)) return;
    var c = w.collector;
    try {
      switch (e.m) {
        case "p":
          c.pointer(e.ts, e.kind, e.x, e.y, e.buttons, e.ptype, e.pressure, e.flags, e.last);
          break;
        case "kd":
          c.keyDown(e.ts, e.cls, fieldIndex(w, e.el), e.trusted, e.repeat);
          break;
        case "ku":
          c.keyUp(e.ts, e.cls);
          break;
        case "rel":
          c.releaseKeys(e.ts);
          break;
        case "f":
          var idx = e.el ? fieldIndex(w, e.el) : NO_FIELD;
          if (e.el && idx === NO_FIELD) break; // focus/blur/paste outside this widget's fields
          c.fieldEvent(e.ts, e.kind, idx);
          break;
        case "i":
          var fi = fieldIndex(w, e.el);
          if (fi !== NO_FIELD) c.input(e.ts, fi, e.inputType);
          break;
      }
    } catch (err) {
      // A collector error must never break the page.
    }
  }

  function fieldIndex(w, el) {
    if (!el || !w.fields) return NO_FIELD;
    var i = w.fields.get(el);
    return i === undefined ? NO_FIELD : i;
  }

  var OPT = { capture: true, passive: true };

  function onPointer(kind) {
    return function (e) {
      var base = { buttons: e.buttons & 255, ptype: PTYPE[e.pointerType] || 0 };
      var list = kind === PK_MOVE && typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : null;
      if (list && list.length) {
        var flags = (e.isTrusted ? PF_TRUSTED : 0) | PF_COALESCED;
        for (var i = 0; i < list.length; i++) {
          var s = list[i];
          emit({
            m: "p", kind: kind, ts: s.timeStamp, x: s.clientX, y: s.clientY, buttons: base.buttons,
            ptype: base.ptype, pressure: s.pressure || 0, flags: flags, last: i === list.length - 1,
          });
        }
      } else {
        emit({
          m: "p", kind: kind, ts: e.timeStamp, x: e.clientX, y: e.clientY, buttons: base.buttons,
          ptype: base.ptype, pressure: e.pressure || 0, flags: e.isTrusted ? PF_TRUSTED : 0, last: true,
        });
      }
    };
  }

  function keyEntry(m, e) {
    var entry = { m: m, ts: e.timeStamp, el: e.target, trusted: e.isTrusted, repeat: !!e.repeat, cls: 0, held: false };
    if (glue) {
      entry.cls = glue.keyClass(String(e.key));
    } else if (glueFailed || earlyKeys.length >= 500) {
      entry.cls = 7; // OTHER: the key is not kept
    } else {
      entry.key = String(e.key);
      entry.held = true;
      earlyKeys.push(entry);
    }
    return entry;
  }

  function installListeners() {
    addEventListener("pointermove", onPointer(PK_MOVE), OPT);
    addEventListener("pointerdown", onPointer(PK_DOWN), OPT);
    addEventListener("pointerup", onPointer(PK_UP), OPT);
    addEventListener("pointercancel", onPointer(PK_CANCEL), OPT);
    addEventListener(
      "wheel",
      function (e) {
        emit({
          m: "p", kind: PK_WHEEL, ts: e.timeStamp, x: e.clientX, y: e.clientY, buttons: e.buttons & 255,
          ptype: PTYPE.mouse, pressure: 0, flags: e.isTrusted ? PF_TRUSTED : 0, last: true,
        });
      },
      OPT,
    );
    addEventListener("keydown", function (e) { emit(keyEntry("kd", e)); }, OPT);
    addEventListener("keyup", function (e) { emit(keyEntry("ku", e)); }, OPT);
    addEventListener("focusin", function (e) {
      emit({ m: "f", ts: e.timeStamp, kind: FK_FOCUS, el: e.target });
      for (var i = 0; i < widgets.length; i++) {
        if (fieldIndex(widgets[i], e.target) !== NO_FIELD) prefetch(widgets[i]);
      }
    }, OPT);
    addEventListener("focusout", function (e) { emit({ m: "f", ts: e.timeStamp, kind: FK_BLUR, el: e.target }); }, OPT);
    addEventListener("paste", function (e) { emit({ m: "f", ts: e.timeStamp, kind: FK_PASTE, el: e.target }); }, OPT);
    addEventListener("input", function (e) {
      emit({ m: "i", ts: e.timeStamp, el: e.target, inputType: typeof e.inputType === "string" ? e.inputType : "" });
    }, OPT);
    addEventListener("blur", function (e) {
      if (e.target === window) emit({ m: "rel", ts: e.timeStamp });
    }, OPT);
    document.addEventListener("visibilitychange", function (e) {
      var hidden = document.visibilityState === "hidden";
      if (hidden) emit({ m: "rel", ts: e.timeStamp });
      emit({ m: "f", ts: e.timeStamp, kind: hidden ? FK_HIDDEN : FK_VISIBLE, el: null });
    }, OPT);
  }
  installListeners();

  // --- worker pool ----------------------------------------------------------------------------
  var pool = null;

  function Pool() {
    var self = this;
    var n = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
    this.workers = [];
    this.ua = null; // first worker's navigator.userAgent
    this.uaError = null;
    this.job = 0;
    this.current = null;
    this.queue = [];
    var uaWaiters = [];
    this.onUa = function (fn) {
      if (self.ua !== null || self.uaError !== null) fn(self.ua, self.uaError);
      else uaWaiters.push(fn);
    };
    function settleUa(ua, err) {
      if (self.ua !== null || self.uaError !== null) return;
      if (ua) self.ua = ua;
      else self.uaError = err || "worker unavailable";
      uaWaiters.splice(0).forEach(function (fn) {
        fn(self.ua, self.uaError);
      });
    }
    for (var i = 0; i < n; i++) {
      (function (slot) {
        var rec = { w: null, alive: true, ready: false, outstanding: [] };
        try {
          rec.w = new Worker(BASE + "tollgate-worker.js", { type: "module", name: "tollgate-pow" });
        } catch (e) {
          rec.alive = false;
          settleUa(null, "Worker: " + ((e && e.message) || e));
          return;
        }
        rec.w.onmessage = function (ev) {
          var m = ev.data || {};
          if (m.t === "ready") {
            rec.ready = true;
            settleUa(m.ua, null);
            if (self.current) self.current.feed(rec);
          } else if (m.t === "error") {
            if (m.ua) settleUa(m.ua, null);
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
    modulePromise.then(
      function (module) {
        self.workers.forEach(function (r) {
          r.w.postMessage({ t: "init", module: module });
        });
      },
      function () {
        self.workers.forEach(function (r) {
          r.w.postMessage({ t: "init", url: wasmUrl });
        });
      },
    );
    this.kill = function (rec, why) {
      if (!rec.alive) return;
      rec.alive = false;
      try {
        rec.w.terminate();
      } catch (e) {}
      if (!self.workers.some(function (r) { return r.alive; })) settleUa(null, "worker failed: " + why);
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

  // Register the form's fields with roles: username, password, submit button, then others.
  function registerFields(w) {
    w.fields = new Map();
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
    var c = w.collector;
    var add = function (el, role) {
      if (!el || w.fields.has(el)) return;
      var idx = c.registerTarget(role);
      if (idx !== NO_FIELD) w.fields.set(el, idx);
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
    var body = { sitekey: w.sitekey };
    if (w.action) body.action = w.action;
    if (w.cdata) body.cdata = w.cdata;
    return fetch(w.api.replace(/\/+$/, "") + "/v1/challenge", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      headers: { "content-type": "application/json" },
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
        return gluePromise.then(function (g) {
          var info = g.parseChallenge(String(reply.challenge));
          var ttl = info.expiresAtMs - info.issuedAtMs;
          if (gen !== w.gen) throw new Error("superseded");
          setState(w, "solving");
          return getPool()
            .solve(info, w)
            .then(function (res) {
              if (gen !== w.gen) throw new Error("superseded");
              var now = performance.now();
              return {
                challenge: String(reply.challenge),
                tokenKey: String(reply.token_key),
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

  function runProbes(w) {
    if (w.collector && !w.collector.probesDone) {
      try {
        w.collector.runProbes();
      } catch (e) {}
    }
  }

  // Build the token now (telemetry snapshot at this moment) and put it into the form.
  function makeToken(w) {
    var sol = w.solution;
    runProbes(w);
    w.fields.forEach(function (idx, el) {
      var r = el.getBoundingClientRect();
      var hasValue = el.tagName !== "BUTTON" && typeof el.value === "string" && el.value.length > 0;
      w.collector.setTargetBox(idx, r.left, r.top, r.width, r.height, hasValue);
    });
    var token = w.collector.buildToken(
      sol.challenge, sol.tokenKey, sol.solutions, sol.durationMs, sol.workers, glue.solverKind(), sol.hashes,
      location.origin, w.action || "", w.cdata || "", performance.now()
    );
    w.token = token;
    if (w.input) w.input.value = token;
    if (w.timings.tokenReady === null) w.timings.tokenReady = performance.now();
    timings.tokenReady = w.timings.tokenReady;
    fire(w, "callback", "token", token);
    return token;
  }

  function onSubmit(w, e) {
    if (w.resubmitting) return; // our own re-submit: token already in place
    var submitter = e.submitter || null;
    emit({ m: "f", ts: e.timeStamp, kind: FK_SUBMIT, el: submitter && w.fields.has(submitter) ? submitter : null, only: w });
    if (usable(w) && w.collector) {
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
      el: el,
      form: form,
      opts: opts,
      sitekey: sitekey,
      action: opts.action !== undefined ? String(opts.action) : attr(el, "data-action") || "",
      cdata: opts.cdata !== undefined ? String(opts.cdata) : attr(el, "data-cdata") || "",
      api: opts.api || attr(el, "data-api") || DEFAULT_API,
      collector: null,
      fields: new Map(),
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
    widgets.push(w);
    getPool(); // start the workers now so they are warm when the challenge arrives
    refresh(w).catch(function () {});
    gluePromise.then(function (g) {
      w.collector = new g.Collector(T0);
      w.timings.wasmReady = timings.wasmReady;
      registerFields(w);
      for (var i = 0; i < log.length; i++) apply(w, log[i]);
      getPool().onUa(function (ua, err) {
        if (ua) w.collector.setWorkerUserAgent(ua);
        else w.collector.setProbeError(PROBE_WORKER_UA, String(err));
      });
      afterPaint(function () {
        runProbes(w);
      });
    }).catch(function () {}); // reported through fail() by gluePromise's own handler
    return w.id;
  }

  // Run `fn` after first paint, in idle time when the browser offers it.
  function afterPaint(fn) {
    requestAnimationFrame(function () {
      setTimeout(function () {
        if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: 1500 });
        else setTimeout(fn, 50);
      }, 0);
    });
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
