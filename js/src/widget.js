// @ts-check
// Widgets and the public API (`window.tollgate`, typed by js/tollgate.d.ts): render, fetch and
// solve challenges ahead of need, build the token at submit or `execute`, callbacks and events.
import {
  CHALLENGE_OFFSET_EXPIRES_AT, CHALLENGE_OFFSET_ISSUED_AT, CHALLENGE_OFFSET_POW_BITS, CHALLENGE_OFFSET_POW_K,
  CHALLENGE_WIRE_LEN, MAX_TARGETS, ROLE_OTHER, ROLE_PASSWORD, ROLE_SUBMIT, ROLE_USERNAME,
} from "./generated/contract.js";
import { DEFAULT_API, NC, T0, mark, timings } from "./env.js";
import { E, EV_SUBMIT, elId } from "./listeners.js";
import { getPool } from "./pool.js";
import { frames } from "./probes/record.js";
import { scheduleProbes } from "./probes/schedule.js";
import { sealToken } from "./seal.js";
import { unb64 } from "./util.js";
import { wasm } from "./wasm.js";

/**
 * A solved challenge, or (`token` set) a ready-made token: a test key's dummy token or the
 * verifier's minimal no-collector token.
 * @typedef {import("./seal.js").SolvedChallenge & { localExpiry: number, token?: string }} Solution
 * @typedef {{
 *   id: string, n: number, el: Element, form: HTMLFormElement | null, opts: TollgateRenderOptions & Record<string, any>,
 *   sitekey: string, action: string, cdata: string, api: string,
 *   fields: Map<Element, number>, idx: Record<number, number>, roles: number[], input: HTMLInputElement | null,
 *   gen: number, solution: Solution | null, pending: Promise<Solution> | null, spent: boolean, token: string | null,
 *   state: string, timings: TollgateTimings, error?: Error, expiryTimer?: ReturnType<typeof setTimeout>,
 *   resubmitting?: boolean, waitingSubmit?: boolean,
 * }} Widget
 */

/** Deadline of one challenge request (four attempts at most, see `fetchChallenge`). */
const FETCH_MS = 10000;
/** Deadline of the wasm glue at submit / `execute` (its fetch and compile may hang). */
const WASM_MS = 20000;

/**
 * `p`, or a rejection with `what` once `ms` have passed (the watchdog of the widget's waits).
 * @template T
 * @param {Promise<T>} p
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function deadline(p, ms, what) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => { reject(new Error(what + ": timed out")); }, ms);
    }),
  ]).finally(() => {
    clearTimeout(t);
  });
}

/** Element id of a form control beyond the first 254 (listeners.js `elId`). */
const OTHER_EL = 255;

/** @type {Widget[]} */
export const widgets = [];
let seq = 0;

/**
 * @param {Element} el
 * @param {string} name
 */
function attr(el, name) {
  const v = el && el.getAttribute ? el.getAttribute(name) : null;
  return v === null ? undefined : v;
}

/** @param {Element} el */
function visibleInput(el) {
  const t = (el.getAttribute("type") || "text").toLowerCase();
  return ["hidden", "submit", "button", "reset", "image", "checkbox", "radio", "file"].indexOf(t) < 0;
}

/**
 * Register the form's fields with roles: username, password, submit button, then others
 * (at most protocol MAX_TARGETS).
 * @param {Widget} w
 */
function registerFields(w) {
  const form = w.form;
  if (!form) return;
  const inputs = Array.prototype.filter.call(form.querySelectorAll("input, textarea, select"), (/** @type {Element} */ el) =>
    el.tagName !== "INPUT" || visibleInput(el));
  const password = form.querySelector('input[type="password"]');
  let username = form.querySelector('input[autocomplete~="username"]');
  if (!username) {
    let before = null;
    for (let i = 0; i < inputs.length; i++) {
      const el = inputs[i];
      if (el === password) break;
      const t = (el.getAttribute("type") || "text").toLowerCase();
      if (el.tagName === "INPUT" && (t === "text" || t === "email" || t === "tel")) before = el;
    }
    username = before;
  }
  const submit = form.querySelector('button[type="submit"], input[type="submit"], button:not([type])');
  /**
   * @param {Element | null} el
   * @param {number} role
   */
  const add = (el, role) => {
    if (!el || w.fields.has(el) || w.roles.length >= MAX_TARGETS) return;
    w.fields.set(el, w.roles.length);
    const id = elId(el);
    if (id < OTHER_EL) w.idx[id] = w.roles.length;
    w.roles.push(role);
  };
  add(username, ROLE_USERNAME);
  add(password, ROLE_PASSWORD);
  add(submit, ROLE_SUBMIT);
  inputs.forEach((el) => {
    add(el, ROLE_OTHER);
  });
}

/**
 * @param {Widget} w
 * @param {string} state
 */
function setState(w, state) {
  w.state = state;
  if (w.el && w.el.setAttribute) w.el.setAttribute("data-tollgate-state", state);
}

/**
 * Call the render option `name` and dispatch `tollgate:<event>` on the widget element.
 * @param {Widget} w
 * @param {string} name
 * @param {string} event
 * @param {unknown} [detail]
 */
function fire(w, name, event, detail) {
  const cb = w.opts[name];
  if (typeof cb === "function") {
    try {
      cb(detail);
    } catch (e) {
      setTimeout(() => { throw e; });
    }
  }
  if (w.el && w.el.dispatchEvent && typeof CustomEvent === "function") {
    w.el.dispatchEvent(new CustomEvent("tollgate:" + event, { detail: detail, bubbles: true }));
  }
}

/**
 * @param {Widget} w
 * @param {unknown} err
 */
export function fail(w, err) {
  w.error = err instanceof Error ? err : new Error(String(err));
  setState(w, "error");
  fire(w, "error-callback", "error", w.error.message);
}

/**
 * @param {Widget} w
 * @param {number} [attempt]
 * @returns {Promise<any>}
 */
function fetchChallenge(w, attempt) {
  mark("challenge-request");
  /** @type {Record<string, string | number>} */
  const body = { sitekey: w.sitekey, nc: NC }; // nc: 0, or what is missing (no collector)
  if (w.action) body.action = w.action;
  if (w.cdata) body.cdata = w.cdata;
  // No content-type header: the body goes as text/plain (the verifier reads JSON whatever the
  // type), so this is a CORS "simple" request and needs no preflight round trip. Each attempt has
  // a deadline (FETCH_MS; aborted where `AbortSignal.timeout` exists): a request that hangs fails
  // and is retried like a network error.
  return deadline(fetch(w.api.replace(/\/+$/, "") + "/v1/challenge", {
    method: "POST",
    mode: "cors",
    credentials: "omit",
    cache: "no-store",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout ? AbortSignal.timeout(FETCH_MS) : undefined,
  }), FETCH_MS + 1000, "challenge")
    .then((r) =>
      r.json().then(
        (j) => {
          if (!r.ok) throw Object.assign(new Error("challenge: " + (j && j.error ? j.error : r.status)), { fatal: r.status < 500 && r.status !== 429 });
          return j;
        },
        () => {
          throw new Error("challenge: HTTP " + r.status);
        },
      ))
    .catch((e) => {
      const a = attempt || 0;
      if (e.fatal || a >= 3) throw e;
      return new Promise((res) => {
        setTimeout(res, 500 * Math.pow(3, a));
      }).then(() => fetchChallenge(w, a + 1));
    });
}

/** @param {Widget} w */
function usable(w) {
  return !!(w.solution && !w.spent && performance.now() < w.solution.localExpiry);
}

/**
 * Fetch a fresh challenge and solve it. Returns the promise of the solution.
 * @param {Widget} w
 * @returns {Promise<Solution>}
 */
function refresh(w) {
  const gen = ++w.gen;
  w.solution = null;
  w.spent = false;
  setState(w, "loading");
  const p = fetchChallenge(w)
    .then((reply) => {
      const received = performance.now();
      if (gen === w.gen) w.timings.challengeReceived = timings.challengeReceived = received;
      mark("challenge-received");
      // A ready-made token (test site key, or no collector): no proof of work, no telemetry.
      if (reply.token) return /** @type {any} */ ({ token: reply.token, localExpiry: received + (reply.expires_at - reply.issued_at) * 0.9 });
      return deadline(wasm.ready, WASM_MS, "wasm").then(() => {
        // Fixed layout (protocol/src/challenge.rs, offsets in the generated contract): issued /
        // expires (u64 BE), k (u16 BE). The workers read the difficulty and validate the rest.
        const bytes = unb64(reply.challenge);
        if (bytes.length !== CHALLENGE_WIRE_LEN) throw new Error("challenge: malformed");
        const dv = new DataView(bytes.buffer);
        const info = { bytes: bytes, k: dv.getUint16(CHALLENGE_OFFSET_POW_K), bits: dv.getUint8(CHALLENGE_OFFSET_POW_BITS) };
        const ttl = Number(dv.getBigUint64(CHALLENGE_OFFSET_EXPIRES_AT) - dv.getBigUint64(CHALLENGE_OFFSET_ISSUED_AT));
        if (gen !== w.gen) throw new Error("superseded");
        setState(w, "solving");
        return getPool()
          .solve(info, w)
          .then((res) => {
            if (gen !== w.gen) throw new Error("superseded");
            const now = performance.now();
            return {
              challenge: bytes,
              tokenKey: unb64(reply.token_key),
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
    .then((sol) => {
      if (gen !== w.gen) return /** @type {Promise<Solution>} */ (w.pending);
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
      const left = sol.localExpiry - performance.now();
      clearTimeout(w.expiryTimer);
      w.expiryTimer = setTimeout(() => {
        if (w.solution === sol && !w.spent) {
          setState(w, "expired");
          fire(w, "expired-callback", "expired");
        }
      }, Math.max(0, left));
      return sol;
    });
  p.catch((e) => {
    if (gen === w.gen && !(e && e.message === "superseded")) fail(w, e);
  });
  w.pending = p;
  return p;
}

/** @param {Widget} w */
function ensureSolved(w) {
  if (usable(w)) return Promise.resolve(/** @type {Solution} */ (w.solution));
  if (w.pending && w.state !== "error" && !w.spent && !w.solution) return w.pending;
  return refresh(w);
}

/**
 * Start solving for the widget unless a usable or pending solution exists.
 * @param {Widget} w
 */
function prefetch(w) {
  if (!usable(w) && !(w.pending && !w.solution && w.state !== "error")) refresh(w).catch(() => {});
}

/**
 * A focus landed on `target`: widgets owning it get a challenge ready.
 * @param {EventTarget | null} target
 */
export function onFocus(target) {
  for (let i = 0; i < widgets.length; i++) if (widgets[i].fields.has(/** @type {Element} */ (target))) prefetch(widgets[i]);
}

/**
 * Build the token now (telemetry snapshot at this moment) and put it into the form.
 * @param {Widget} w
 */
function makeToken(w) {
  const sol = /** @type {Solution} */ (w.solution);
  const token = sol.token || sealToken(w, sol);
  w.token = token;
  if (w.input) w.input.value = token;
  if (w.timings.tokenReady === null) w.timings.tokenReady = performance.now();
  timings.tokenReady = w.timings.tokenReady;
  fire(w, "callback", "token", token);
  return token;
}

/**
 * @param {Widget} w
 * @param {SubmitEvent} e
 */
function onSubmit(w, e) {
  if (w.resubmitting) return; // our own re-submit: token already in place
  frames();
  const submitter = e.submitter || null;
  E.push(e.timeStamp, EV_SUBMIT, w.n, submitter && w.fields.has(submitter) ? elId(submitter) : 0);
  if (usable(w) && (wasm.glue || /** @type {Solution} */ (w.solution).token)) {
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
    .then(() => deadline(wasm.ready, WASM_MS, "wasm"))
    .then(
      () => {
        makeToken(w);
      },
      (err) => {
        // Fail open at the browser: the site's backend gets an empty response and decides.
        if (w.input) w.input.value = "";
        fail(w, err);
      },
    )
    .then(() => {
      w.waitingSubmit = false;
      w.spent = true;
      const form = /** @type {HTMLFormElement} */ (w.form);
      w.resubmitting = true;
      try {
        if (typeof form.requestSubmit === "function") {
          const s = /** @type {HTMLButtonElement | null} */ (submitter);
          form.requestSubmit(s && s.form === form ? s : undefined);
        } else {
          form.submit();
        }
      } finally {
        w.resubmitting = false;
      }
    });
}

/**
 * @param {Element | string} el
 * @param {TollgateRenderOptions} [opts]
 * @returns {string}
 */
function render(el, opts) {
  const target = typeof el === "string" ? document.querySelector(el) : el;
  if (!target || !target.nodeType) throw new Error("tollgate.render: no element");
  const existing = find(target);
  if (existing && existing.el === target) return existing.id;
  const o = /** @type {Widget["opts"]} */ (opts || {});
  const form = target.tagName === "FORM" ? /** @type {HTMLFormElement} */ (target) : target.closest ? target.closest("form") : null;
  const sitekey = o.sitekey || attr(target, "data-sitekey") || (target.tagName === "FORM" ? attr(target, "data-tollgate") : undefined);
  if (!sitekey) throw new Error("tollgate.render: missing sitekey");
  /** @type {Widget} */
  const w = {
    id: "tg" + ++seq,
    n: seq,
    el: target,
    form: form,
    opts: o,
    sitekey: sitekey,
    action: o.action !== undefined ? String(o.action) : attr(target, "data-action") || "",
    cdata: o.cdata !== undefined ? String(o.cdata) : attr(target, "data-cdata") || "",
    api: o.api || attr(target, "data-api") || DEFAULT_API,
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
  target.setAttribute("data-tollgate-id", w.id);
  if (form) {
    const name = o["response-field-name"] || "tollgate-response";
    let input = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="' + name + '"]'));
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      (target.tagName === "FORM" ? form : target).appendChild(input);
    }
    w.input = input;
    form.addEventListener("submit", (e) => { onSubmit(w, e); }, true);
  }
  registerFields(w);
  widgets.push(w);
  if (!NC) getPool(); // start the workers now (if the loader did not) so they are warm when the challenge arrives
  refresh(w).catch(() => {});
  wasm.ready.then(() => {
    w.timings.wasmReady = timings.wasmReady;
  }, () => {});
  if (!NC) scheduleProbes(/** @type {Promise<Solution>} */ (w.pending));
  return w.id;
}

/**
 * @param {TollgateWidgetRef | null | undefined} ref
 * @returns {Widget | null}
 */
function find(ref) {
  if (ref === undefined || ref === null) return widgets[0] || null;
  if (typeof ref === "string") {
    for (let i = 0; i < widgets.length; i++) if (widgets[i].id === ref) return widgets[i];
    ref = document.querySelector(ref);
    if (!ref) return null;
  }
  const r = ref;
  for (let j = 0; j < widgets.length; j++) {
    const w = widgets[j];
    if (w.el === r || w.form === r || (r.contains && r.contains(w.el))) return w;
  }
  return null;
}

/**
 * For the Turnstile shim (js/src/turnstile.js; tree-shaken out of tollgate.js): a token now, with
 * the telemetry so far, without spending the solved challenge (a submit builds a fresh one from
 * the same challenge), or null when none is ready.
 * @param {Widget} w
 */
export function peek(w) {
  return usable(w) && (wasm.glue || /** @type {Solution} */ (w.solution).token) ? makeToken(w) : null;
}

/**
 * For the Turnstile shim: forget the widget (timers, pending work, state attributes; its submit
 * listener stays but does nothing; the hidden input stays, emptied).
 * @param {Widget} w
 */
export function removeWidget(w) {
  w.gen++;
  w.resubmitting = true; // onSubmit's early return, for good
  clearTimeout(w.expiryTimer);
  if (w.input) w.input.value = "";
  widgets.splice(widgets.indexOf(w), 1);
  w.el.removeAttribute("data-tollgate-id");
  w.el.removeAttribute("data-tollgate-state");
}

export { find };

/** @param {TollgateWidgetRef | undefined} ref */
function need(ref) {
  const w = find(ref);
  if (!w) throw new Error("tollgate: no widget for " + ref);
  return w;
}

/** Render every widget element on the page not rendered yet. */
export function autoRender() {
  const els = document.querySelectorAll(".tollgate[data-sitekey], form[data-tollgate]");
  for (let i = 0; i < els.length; i++) {
    if (!els[i].hasAttribute("data-tollgate-id")) {
      try {
        render(els[i]);
      } catch (e) {
        if (window.console) console.error(e);
      }
    }
  }
}

/**
 * The global `tollgate` (checked against js/tollgate.d.ts; `__loader` marks this loader so a
 * second copy of the script does nothing).
 * @type {Tollgate & { __loader: true }}
 */
export const api = {
  __loader: true,
  timings: timings,
  render: render,
  execute(ref) {
    /** @type {Widget} */
    let w;
    frames();
    try {
      w = need(ref);
    } catch (e) {
      return Promise.reject(e);
    }
    return ensureSolved(w)
      .then(() => deadline(wasm.ready, WASM_MS, "wasm"))
      .then(() => {
        const t = makeToken(w);
        w.spent = true;
        return t;
      });
  },
  reset(ref) {
    const w = need(ref);
    w.token = null;
    if (w.input) w.input.value = "";
    clearTimeout(w.expiryTimer);
    refresh(w).catch(() => {});
  },
  getResponse(ref) {
    const w = find(ref);
    return w ? w.token || undefined : undefined;
  },
  isExpired(ref) {
    const w = find(ref);
    return !!w && !!w.solution && performance.now() >= w.solution.localExpiry;
  },
};
