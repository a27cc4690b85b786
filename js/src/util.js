// @ts-check
// Small helpers without state of their own.

/**
 * base64url → bytes (the wasm works on bytes).
 * @param {unknown} s
 */
export function unb64(s) {
  const bin = atob(String(s).replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * bytes → base64url without padding.
 * @param {Uint8Array} bytes
 */
export function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, /** @type {any} */ (bytes.subarray(i, i + 8192)));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A ring buffer of fixed-stride `f64` records (layouts: collector-wasm/src/ingest.rs). */
export class Ring {
  /**
   * @param {number} stride values per record
   * @param {number} cap records kept (the oldest are overwritten)
   */
  constructor(stride, cap) {
    this.s = stride;
    this.c = cap;
    this.a = new Float64Array(stride * cap);
    this.h = 0; // next slot
    this.n = 0; // filled slots
    this.d = 0; // overwritten (dropped) records
  }

  /** @param {...number} v one record (missing or non-numeric values are 0) */
  push(...v) {
    const o = this.h * this.s;
    for (let k = 0; k < this.s; k++) this.a[o + k] = +v[k] || 0;
    this.h = (this.h + 1) % this.c;
    if (this.n < this.c) this.n++;
    else this.d++;
  }

  /** Records oldest first. */
  dump() {
    const start = (this.h - this.n + this.c) % this.c, s = this.s;
    const out = new Float64Array(this.n * s);
    const first = Math.min(this.n, this.c - start);
    out.set(this.a.subarray(start * s, (start + first) * s), 0);
    out.set(this.a.subarray(0, (this.n - first) * s), first * s);
    return out;
  }
}

/** @param {() => void} fn */
export function idle(fn) {
  if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: 1500 });
  else setTimeout(fn, 50);
}

/**
 * Run `fn` after first paint, in idle time when the browser offers it.
 * @param {() => void} fn
 */
export function afterPaint(fn) {
  requestAnimationFrame(() => {
    setTimeout(() => {
      idle(fn);
    }, 0);
  });
}
