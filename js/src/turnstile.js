// @ts-check
/*
 * Turnstile drop-in: js/dist/turnstile.js is the whole loader (main.js) plus this shim, one classic
 * script. A page written for Cloudflare Turnstile works with only its script URL changed:
 *
 *   <script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>
 *   → <script src="/tollgate/turnstile.js?api=https://verifier.example" async defer></script>
 *
 * - `<div class="cf-turnstile" data-sitekey data-action data-cdata data-callback
 *   data-expired-callback data-error-callback data-response-field-name>` inside a form is rendered
 *   as a Tollgate widget (unless the URL says `render=explicit`); the token goes into the hidden
 *   input `cf-turnstile-response`, which Turnstile backends read.
 * - `window.turnstile`: render, reset, getResponse, remove, execute, ready, isExpired.
 * - Script URL parameters: `onload=NAME` (called once the API is ready), `render=explicit`, and
 *   `api=URL` (the verifier; default: `data-api` on the script tag, else the script's origin).
 *
 * Token timing: Turnstile's `callback` gets a token as soon as the widget is ready (proof of work
 * solved, idle-time probes run) — built with the behaviour recorded so far — and again at submit, when the hidden input
 * gets a fresh token from the same challenge with the whole interaction. Only the one posted is
 * redeemed (both share a challenge, so only one can be).
 */
import "./main.js";
import { DEFAULT_API, EXPLICIT, script } from "./env.js";
import { probesPending } from "./probes/schedule.js";
import { idle } from "./util.js";
import { api, find, peek, removeWidget } from "./widget.js";

const q = new URL(script && script.src ? script.src : location.href, location.href).searchParams;
const API = q.get("api") || DEFAULT_API;

/**
 * A callback given as a function or as the name of a global function (Turnstile's `data-*`).
 * @param {unknown} v
 * @returns {((...a: any[]) => void) | undefined}
 */
function fn(v) {
  const f = typeof v === "string" ? /** @type {any} */ (window)[v] : v;
  return typeof f === "function" ? f : undefined;
}

/**
 * `turnstile.render(container, params)`: a Tollgate widget on `container` (element or selector,
 * inside the login form); returns its id.
 * @param {Element | string} container
 * @param {Record<string, any>} [params]
 * @returns {string}
 */
function render(container, params) {
  const el = typeof container === "string" ? document.querySelector(container) : container;
  if (!el) throw new Error("turnstile.render: no element " + container);
  const p = params || {};
  /** @param {string} n */
  const get = (n) => (p[n] !== undefined ? p[n] : el.getAttribute("data-" + n.toLowerCase()) || undefined);
  const expired = fn(get("expired-callback"));
  const error = fn(get("error-callback"));
  /** @type {string} */
  let id = "";
  id = api.render(el, {
    sitekey: get("sitekey"),
    action: get("action"),
    cdata: get("cData"),
    api: get("api") || API,
    "response-field-name": get("response-field-name") || "cf-turnstile-response",
    callback: fn(get("callback")),
    // Turnstile hands out a token once the widget is ready: here once the idle-time probes have
    // run too (sealing earlier would run them all at once on the main thread).
    "ready-callback": () => {
      const go = () => {
        const w = find(id);
        if (w) {
          if (probesPending()) idle(go);
          else peek(w);
        }
      };
      idle(go);
    },
    // Turnstile's default `refresh-expired: auto`: a new challenge right away.
    "expired-callback": () => {
      if (expired) expired();
      api.reset(id);
    },
    "error-callback": (m) => {
      if (error) error(m);
    },
  });
  return id;
}

/** @param {TollgateWidgetRef} [ref] */
function widgetOf(ref) {
  return find(ref);
}

/** Turnstile's global, mapped onto the Tollgate widget API. */
const turnstile = {
  render: render,
  /** @param {TollgateWidgetRef} [ref] */
  reset(ref) {
    if (widgetOf(ref)) api.reset(ref);
  },
  /** @param {TollgateWidgetRef} [ref] */
  getResponse(ref) {
    return api.getResponse(ref);
  },
  /** @param {TollgateWidgetRef} [ref] */
  isExpired(ref) {
    return api.isExpired(ref);
  },
  /** @param {TollgateWidgetRef} [ref] */
  remove(ref) {
    const w = widgetOf(ref);
    if (w) removeWidget(w);
  },
  /**
   * Turnstile's `execution: "execute"` mode: render if needed; the callback fires with a token
   * as soon as one is ready (at once if it already is).
   * @param {Element | string} container
   * @param {Record<string, any>} [params]
   */
  execute(container, params) {
    const w = widgetOf(container);
    if (!w) render(container, params);
    else peek(w);
  },
  /** @param {() => void} cb */
  ready(cb) {
    Promise.resolve().then(cb);
  },
};

/** Render every `.cf-turnstile` element not rendered yet. */
function autoRender() {
  const els = document.querySelectorAll(".cf-turnstile");
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

function start() {
  if (!(EXPLICIT || q.get("render") === "explicit")) autoRender();
  const onload = fn(q.get("onload"));
  if (onload) onload();
}

/** @type {any} */ (window).turnstile = turnstile;
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else setTimeout(start);
