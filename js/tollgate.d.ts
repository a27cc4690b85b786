// Type declarations for the global installed by tollgate.js (a classic script).
//
//   <script src="/tollgate/tollgate.js" data-api="https://verifier.example" async></script>
//   <form …><div class="tollgate" data-sitekey="…" data-action="login"></div></form>
//
// Script attributes: `data-api` (verifier base URL; default: the script's origin),
// `data-render="explicit"` (no automatic rendering; call `tollgate.render`), `data-simd="off"`
// (use the scalar wasm build even where wasm SIMD is available).
// Widget attributes: `data-sitekey`, `data-action`, `data-cdata`, `data-api`; or `data-tollgate`
// (optionally holding the site key) on a <form>.
// The widget element gets `data-tollgate-state` = "loading" | "solving" | "ready" | "expired" | "error"
// and dispatches bubbling CustomEvents "tollgate:ready", "tollgate:token" (detail: token),
// "tollgate:expired", "tollgate:error" (detail: message).
// Liveness: every wait has a deadline (challenge request, wasm, proof-of-work workers, async
// probes), so a widget always ends in a token or in the error state: data-tollgate-state="error",
// "error-callback", "tollgate:error" and a rejected `execute()` (README, "Adding Tollgate to a
// login form"). A probe that did not answer in time is sent as a TimeoutError value.

/** Options of the ES module entry's `load` (js/src/esm.js). */
export interface TollgateLoadOptions {
  /** Verifier base URL (the script tag's `data-api`). */
  api?: string;
  /** No automatic rendering (`data-render="explicit"`). */
  explicit?: boolean;
  /** `false`: no Subresource Integrity attribute on the added script tag. */
  integrity?: boolean;
}

/**
 * The ES module entry (`import load from "tollgate-loader"`): adds the classic loader
 * (tollgate.js from the module's directory, with its SRI hash) once and resolves with `tollgate`.
 */
export declare function load(options?: TollgateLoadOptions): Promise<Tollgate>;
export default load;

declare global {
  /** A widget: its id (as returned by `render`), its element, its form, or a CSS selector. */
  type TollgateWidgetRef = string | Element;

  interface TollgateRenderOptions {
    sitekey?: string;
    action?: string;
    cdata?: string;
    /** Verifier base URL (overrides data-api). */
    api?: string;
    /** Name of the hidden input that receives the token (default `tollgate-response`). */
    "response-field-name"?: string;
    /** Called with each token built (at submit or `execute`). */
    callback?: (token: string) => void;
    /** Called when the proof of work is solved and a token can be built without waiting. */
    "ready-callback"?: () => void;
    /** Called when the solved challenge expired unused (a new one is fetched on demand). */
    "expired-callback"?: () => void;
    /** Called when a challenge could not be fetched or solved (the error state; see above). */
    "error-callback"?: (message: string) => void;
  }

  /** Milestones as `performance.now()` values (ms since navigation start), null until reached. */
  interface TollgateTimings {
    loaderStart: number;
    wasmReady: number | null;
    challengeReceived: number | null;
    /** All sub-puzzles solved: a token can be built at once. */
    solved: number | null;
    /** First token built (submit or `execute`). */
    tokenReady: number | null;
    /** Challenge received → solved, ms. */
    solveMs?: number;
    /** Candidate hashes tried. */
    hashes?: number;
    /** Workers used. */
    workers?: number;
    /**
     * The collector's recent main-thread tasks (probe groups run in idle time, token sealing) as
     * `[start, duration]` in ms (`performance.now()` clock); none should exceed 50 ms.
     */
    tasks?: Array<[number, number]>;
  }

  interface Tollgate {
    /** Render a widget on `el` (a `.tollgate` element inside a form, or a form); returns its id. */
    render(el: Element | string, opts?: TollgateRenderOptions): string;
    /**
     * Resolve with a fresh single-use token (waits for the proof of work, snapshots telemetry now,
     * writes the hidden `tollgate-response` input). Defaults to the first widget.
     */
    execute(el?: TollgateWidgetRef): Promise<string>;
    /** Forget the current token and start on a new challenge. */
    reset(el?: TollgateWidgetRef): void;
    /** The last token built for the widget, if any. */
    getResponse(el?: TollgateWidgetRef): string | undefined;
    /** Whether the widget's solved challenge has expired. */
    isExpired(el?: TollgateWidgetRef): boolean;
    /** Milestones of the most recent widget activity (for tests and diagnostics). */
    readonly timings: TollgateTimings;
  }

  interface Window {
    tollgate: Tollgate;
  }

  var tollgate: Tollgate;
}
