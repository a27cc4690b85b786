// @ts-check
// Behaviour logs. Listeners only append numbers to two ring buffers (layouts:
// collector-wasm/src/ingest.rs); widgets rendered later still see everything from page load. Key
// values are reduced to a class inside the listener; `event.code` is kept only while the key is
// held, to pair each press with its own release (rollover), and never recorded.
import {
  EV_FIELD, EV_INPUT, EV_KEY_DOWN, EV_KEY_UP, EV_RELEASE, EV_SCROLL, EV_STRIDE, EV_WHEEL,
  FIELD_KIND_BLUR, FIELD_KIND_CLICK_NO_POINTER, FIELD_KIND_FOCUS, FIELD_KIND_PASTE, FIELD_KIND_SUBMIT,
  FIELD_KIND_VISIBILITY_HIDDEN, FIELD_KIND_VISIBILITY_VISIBLE, INPUT_EXPLAINED, INPUT_INSERT_TEXT, INPUT_OTHER,
  KEY_CLASS_CHAR, KEY_CLASS_MODIFIER, KEY_CLASS_OTHER, KEY_CLASS_SHIFT, KEY_FLAGS_REPEAT, KEY_FLAGS_SHIFT_MISMATCH, KEY_FLAGS_TRUSTED, KEY_HI_SHIFT, NO_FIELD,
  POINTER_FLAGS_COALESCED, POINTER_FLAGS_TRUSTED, POINTER_KIND_CANCEL, POINTER_KIND_DOWN, POINTER_KIND_MOVE,
  POINTER_KIND_UP, POINTER_KIND_WHEEL, POINTER_TYPE_MOUSE, POINTER_TYPE_PEN, POINTER_TYPE_TOUCH, PTR_BUTTONS_SHIFT,
  PTR_FLAGS_SHIFT, PTR_STRIDE, PTR_TYPE_SHIFT,
} from "./generated/contract.js";
import { frames } from "./probes/record.js";
import { Ring } from "./util.js";

/** Submit of widget `a` in the ev log (loader-only: `evFor` turns it into a FIELD submit record). */
export const EV_SUBMIT = 10;
/** Element id of a form control beyond the first 254, or of any other element. */
const OTHER_EL = 255;
/** @type {Record<string, number>} */
const PTYPE = { mouse: POINTER_TYPE_MOUSE, pen: POINTER_TYPE_PEN, touch: POINTER_TYPE_TOUCH };
// Coalesced moves closer than this to the previous recorded one are skipped (the last sample of
// each dispatched event is always kept): caps 1 kHz mice at ~250 Hz so the buffer holds seconds
// of motion, while bursts of synthetic dispatched moves (one event each) are all kept.
const MIN_COALESCED_MS = 4;

/** Pointer samples (> protocol MAX_POINTER: the wasm keeps the newest). */
export const P = new Ring(PTR_STRIDE, 2048);
/** Keys, fields, input, scroll, wheel. */
export const E = new Ring(EV_STRIDE, 2048);

/** @type {Map<Element, number>} */
const elIds = new Map();
/**
 * Element ids for the log (1..254; 255 = some other element, 0 = none): form controls only.
 * @param {EventTarget | Element | null} el
 */
export function elId(el) {
  const e = /** @type {Element | null} */ (el);
  if (!e || !/^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(e.tagName)) return e ? OTHER_EL : 0;
  let id = elIds.get(e);
  if (id === undefined) {
    id = elIds.size < 254 ? elIds.size + 1 : OTHER_EL;
    elIds.set(e, id);
  }
  return id;
}

let lastMove = -1e9;
/** @param {number} kind */
function onPointer(kind) {
  return (/** @type {PointerEvent} */ e) => {
    const base = kind | (PTYPE[e.pointerType] || 0) << PTR_TYPE_SHIFT | (e.buttons & 255) << PTR_BUTTONS_SHIFT;
    const tr = e.isTrusted ? POINTER_FLAGS_TRUSTED : 0;
    if (!tr) frames();
    const sx = e.screenX - e.clientX, sy = e.screenY - e.clientY;
    const list = kind === POINTER_KIND_MOVE && e.getCoalescedEvents ? e.getCoalescedEvents() : null;
    if (list && list.length) {
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if (i < list.length - 1 && s.timeStamp - lastMove < MIN_COALESCED_MS) continue;
        lastMove = s.timeStamp;
        P.push(s.timeStamp, base | (tr | POINTER_FLAGS_COALESCED) << PTR_FLAGS_SHIFT, s.clientX, s.clientY, sx, sy, s.pressure, s.width, s.height);
      }
    } else {
      if (kind === POINTER_KIND_MOVE) lastMove = e.timeStamp;
      P.push(e.timeStamp, base | tr << PTR_FLAGS_SHIFT, e.clientX, e.clientY, sx, sy, e.pressure, e.width, e.height);
    }
  };
}

/**
 * Key classes by key value; the index of each is its class: protocol `key_class` SPACE (1),
 * BACKSPACE, ENTER, TAB, SHIFT (5), wire values that never change (a literal is smaller than the
 * assignments; tests/e2e/collector.test.mjs checks the classes).
 */
const KEY_NAMES = ["", " ", "Backspace", "Enter", "Tab", "Shift"];
/**
 * KeyboardEvent.key → key class (protocol `key_class`; same rules as collector-wasm/src/keys.rs).
 * @param {string} k
 */
function keyClass(k) {
  const i = KEY_NAMES.indexOf(k);
  if (i > 0) return i;
  if (/^(Control|Alt(Graph)?|Meta|OS|Super|Hyper|Fn(Lock)?|(Caps|Num|Scroll)Lock|Symbol(Lock)?)$/.test(k)) return KEY_CLASS_MODIFIER;
  if (k === "Dead" || k === "Process") return KEY_CLASS_CHAR;
  if (!k || /[\0-\x1f\x7f-\x9f]/.test(k) || /^[A-Za-z0-9]{2,}$/.test(k)) return KEY_CLASS_OTHER;
  return KEY_CLASS_CHAR;
}
/** @type {Record<string, number>} event.code → slot, only while the key is down */
let held = {};
let nextSlot = 0;
/**
 * When the Shift key was last released or the window lost focus (Infinity while a Shift is down).
 * A capital letter typed more than 2 s after that with CapsLock off contradicts the Shift key
 * (protocol `key_flags::SHIFT_MISMATCH`): DevTools' key events type it so (Puppeteer's and
 * Playwright's `keyboard.type`: no Shift, `shiftKey` false), and so do ChromeDriver's W3C key
 * actions (no Shift key, `shiftKey` true); a keyboard cannot. Keys without a physical `code`
 * (Unicode injection by dictation or auto-type tools) are not judged; the key value is looked at
 * here and dropped.
 */
let lastShift = -1e9;
/** @param {boolean} down */
function onKey(down) {
  return (/** @type {KeyboardEvent} */ e) => {
    const k = String(e.key), cls = keyClass(k), code = e.code ? String(e.code) : "";
    let slot = held[code] || 0;
    if (cls === KEY_CLASS_SHIFT) lastShift = down ? 1 / 0 : e.timeStamp;
    if (down) {
      if (!e.isTrusted) frames();
      const mismatch = cls === KEY_CLASS_CHAR && code && e.timeStamp - lastShift > 2e3 && k.length < 2 && k !== k.toLowerCase() && !e.getModifierState("CapsLock");
      if (code && !slot) slot = held[code] = nextSlot = nextSlot % 250 + 1;
      E.push(e.timeStamp, EV_KEY_DOWN, cls | (e.isTrusted ? KEY_FLAGS_TRUSTED << KEY_HI_SHIFT : 0) | (e.repeat ? KEY_FLAGS_REPEAT << KEY_HI_SHIFT : 0) | (mismatch ? KEY_FLAGS_SHIFT_MISMATCH << KEY_HI_SHIFT : 0), elId(e.target) | slot << KEY_HI_SHIFT);
    } else {
      delete held[code];
      E.push(e.timeStamp, EV_KEY_UP, cls, slot << KEY_HI_SHIFT);
    }
  };
}
/** @param {Event} e */
function release(e) {
  held = {};
  lastShift = e.timeStamp;
  E.push(e.timeStamp, EV_RELEASE, 0, 0);
}

const OPT = { capture: true, passive: true };
let lastScroll = -1e9;

/**
 * Install the passive capture listeners (once, at load).
 * @param {(target: EventTarget | null) => void} onFocus a focus landed on `target` (widgets prefetch)
 */
export function installListeners(onFocus) {
  /**
   * @param {string} t
   * @param {(e: any) => void} fn
   * @param {EventTarget} [target]
   */
  const on = (t, fn, target) => {
    (target || window).addEventListener(t, fn, OPT);
  };
  on("pointermove", onPointer(POINTER_KIND_MOVE));
  on("pointerdown", onPointer(POINTER_KIND_DOWN));
  on("pointerup", onPointer(POINTER_KIND_UP));
  on("pointercancel", onPointer(POINTER_KIND_CANCEL));
  on("wheel", (/** @type {WheelEvent} */ e) => {
    P.push(e.timeStamp, POINTER_KIND_WHEEL | POINTER_TYPE_MOUSE << PTR_TYPE_SHIFT | (e.buttons & 255) << PTR_BUTTONS_SHIFT | (e.isTrusted ? POINTER_FLAGS_TRUSTED : 0) << PTR_FLAGS_SHIFT, e.clientX, e.clientY, e.screenX - e.clientX, e.screenY - e.clientY, 0, 1, 1);
    E.push(e.timeStamp, EV_WHEEL + Math.min(2, e.deltaMode | 0), e.deltaX, e.deltaY);
  });
  on("scroll", (/** @type {Event} */ e) => {
    if (e.timeStamp - lastScroll < 30) return; // at most ~33 records/s
    lastScroll = e.timeStamp;
    E.push(e.timeStamp, EV_SCROLL, window.scrollX, window.scrollY);
  });
  on("keydown", onKey(true));
  on("keyup", onKey(false));
  on("focusin", (/** @type {FocusEvent} */ e) => {
    E.push(e.timeStamp, EV_FIELD, FIELD_KIND_FOCUS, elId(e.target));
    onFocus(e.target);
  });
  on("focusout", (/** @type {FocusEvent} */ e) => { E.push(e.timeStamp, EV_FIELD, FIELD_KIND_BLUR, elId(e.target)); });
  on("paste", (/** @type {ClipboardEvent} */ e) => { E.push(e.timeStamp, EV_FIELD, FIELD_KIND_PASTE, elId(e.target)); });
  on("click", (/** @type {MouseEvent} */ e) => {
    // No pointer behind it: Enter/Space on a button, assistive technology, or el.click().
    if (e.detail === 0) {
      frames();
      E.push(e.timeStamp, EV_FIELD, FIELD_KIND_CLICK_NO_POINTER, elId(e.target));
    }
  });
  on("input", (/** @type {InputEvent} */ e) => {
    // Only the input *type* matters (typed vs deleted/undone/pasted/dropped, and a trusted
    // insertText, which DevTools' Input.insertText sends with no keydown); never the data.
    // (An absent inputType tests as "undefined": INPUT_OTHER.)
    const type = e.inputType;
    if (!e.isTrusted) frames();
    E.push(e.timeStamp, EV_INPUT, /^(del|his|insertFrom[PD])/.test(type) ? INPUT_EXPLAINED
      : e.isTrusted && type == "insertText" ? INPUT_INSERT_TEXT : INPUT_OTHER, elId(e.target));
  });
  on("blur", (/** @type {FocusEvent} */ e) => {
    if (e.target === window) release(e);
  });
  on("visibilitychange", (/** @type {Event} */ e) => {
    const hidden = document.visibilityState === "hidden";
    if (hidden) release(e);
    E.push(e.timeStamp, EV_FIELD, hidden ? FIELD_KIND_VISIBILITY_HIDDEN : FIELD_KIND_VISIBILITY_VISIBLE, 0);
  }, document);
}

/**
 * The event log as one widget sees it: element ids → its field indices, other widgets' submits
 * dropped, focus/blur/paste/input on elements outside its fields dropped.
 * @param {{ n: number, idx: Record<number, number> }} w
 */
export function evFor(w) {
  const src = E.dump(), out = new Float64Array(src.length);
  let n = 0;
  for (let o = 0; o < src.length; o += 4) {
    let ty = src[o + 1], a = src[o + 2], b = src[o + 3];
    if (ty === EV_SUBMIT) {
      if (a !== w.n) continue;
      ty = EV_FIELD;
      a = FIELD_KIND_SUBMIT;
    }
    if (ty === EV_KEY_DOWN || ty === EV_FIELD || ty === EV_INPUT) {
      const el = b & 255;
      let f = el ? w.idx[el] : NO_FIELD;
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
