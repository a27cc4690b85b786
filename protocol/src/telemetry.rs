//! Telemetry carried in the token: behavioural events (timings and deltas only — never key
//! contents) and environment probe results. Encoded with postcard, whose varints make the
//! delta-encoded integers below small (typically 1–2 bytes each).
//!
//! Clock: every time is in units of [`TICK_MS`] (0.1 ms) relative to the collector's start
//! (`performance.now()` when the loader ran). Within each list, `dt` is the delta from the
//! previous record of the same list (the first record's delta is from the collector's start).
//! Coordinates are CSS pixels in units of 1/[`SUBPIXEL`] px, delta-encoded the same way.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;

/// Defines a module of constants and, from the same list, its table `ALL` of `(name, value)`
/// pairs in definition order, so that the table cannot drift from the constants. The tables are
/// what `cargo xtask gen-js` writes into the loader's generated contract
/// (`js/src/generated/contract.js`).
#[macro_export]
macro_rules! const_table {
    ($(#[$m:meta])* $vis:vis mod $name:ident: $ty:ty { $($(#[$cm:meta])* $c:ident = $v:expr;)* }) => {
        $(#[$m])*
        $vis mod $name {
            $($(#[$cm])* pub const $c: $ty = $v;)*
            /// Every constant of this module as `(name, value)`, in definition order.
            pub const ALL: &[(&str, $ty)] = &[$((stringify!($c), $c)),*];
        }
    };
}

/// Telemetry schema version (bump when record semantics change).
/// 2: `pointer_aux` and `scroll` lists, field kind `CLICK_NO_POINTER`, key pairing by physical key.
pub const SCHEMA: u16 = 2;
/// Probe schema written by the current collector (the verifier interprets [`probe`] ids by it).
/// 1: ids 1–13; 2: ids 14– (tiers A4, B, C, D and the worker re-read; ids appended later, such as
/// 52, are additive: absent from older loaders, never a changed meaning).
pub const PROBE_SCHEMA: u16 = 2;
/// Duration of one time tick in milliseconds.
pub const TICK_MS: f64 = 0.1;
/// Sub-pixel resolution of coordinates.
pub const SUBPIXEL: f64 = 8.0;

/// Hard caps enforced by the collector (ring buffers) and re-checked by the verifier.
pub const MAX_POINTER: usize = 1500;
pub const MAX_KEYS: usize = 400;
pub const MAX_FIELD_EVENTS: usize = 200;
pub const MAX_TARGETS: usize = 16;
pub const MAX_PROBES: usize = 256;
pub const MAX_PROBE_STR: usize = 512;
pub const MAX_POINTER_AUX: usize = 1500;
pub const MAX_SCROLL: usize = 300;

const_table! {
    /// Pointer record kinds.
    pub mod pointer_kind: u8 {
        MOVE = 0;
        DOWN = 1;
        UP = 2;
        WHEEL = 3;
        SCROLL = 4;
        CANCEL = 5;
    }
}

const_table! {
    /// `pointerType` codes.
    pub mod pointer_type: u8 {
        UNKNOWN = 0;
        MOUSE = 1;
        PEN = 2;
        TOUCH = 3;
    }
}

const_table! {
    /// Pointer record flags.
    pub mod pointer_flags: u8 {
        /// `event.isTrusted` was true.
        TRUSTED = 1;
        /// Sample came from `getCoalescedEvents()` rather than the dispatched event.
        COALESCED = 2;
    }
}

const_table! {
    /// Key classes (the only thing recorded about a key).
    pub mod key_class: u8 {
        CHAR = 0;
        SPACE = 1;
        BACKSPACE = 2;
        ENTER = 3;
        TAB = 4;
        SHIFT = 5;
        MODIFIER = 6;
        OTHER = 7;
    }
}

const_table! {
    /// Key record flags.
    pub mod key_flags: u8 {
        TRUSTED = 1;
        /// At least one auto-repeat keydown was seen while the key was held.
        REPEAT = 2;
        /// The key was still held when the token was built (hold is then measured up to that moment).
        UNRELEASED = 4;
        /// A capital letter typed with no Shift key (only the bit is kept, never the key): no
        /// Shift key held, pressed or released, and no loss of focus, in the 2 s before, and
        /// CapsLock off; keys without a physical `code` are not judged. A keyboard cannot type it;
        /// DevTools' `Input.dispatchKeyEvent` typing (Puppeteer's and Playwright's
        /// `keyboard.type`) and ChromeDriver's W3C key actions do.
        SHIFT_MISMATCH = 8;
    }
}

const_table! {
    /// Field event kinds.
    pub mod field_kind: u8 {
        FOCUS = 0;
        BLUR = 1;
        PASTE = 2;
        /// The field gained a value with no keystrokes (autofill / password manager).
        AUTOFILL = 3;
        /// An `input` event.
        INPUT = 4;
        VISIBILITY_HIDDEN = 5;
        VISIBILITY_VISIBLE = 6;
        SUBMIT = 7;
        /// A `click` with `detail` 0 (no pointer behind it): keyboard or assistive-technology
        /// activation (Enter/Space on a button), or a script's `el.click()`. Schema 2.
        CLICK_NO_POINTER = 8;
        /// The field gained text through a trusted `insertText` input event with no keystroke
        /// behind it: what DevTools' `Input.insertText` produces (Playwright's `fill()`,
        /// Puppeteer's `sendCharacter`), recorded once per field instead of AUTOFILL. A
        /// keystroke's own `input` is `insertText` too, but follows its keydown; browser
        /// autofill, paste and drop carry other input types. Schema 2 (older verifiers ignore
        /// the kind).
        INSERTED = 9;
    }
}

const_table! {
    /// [`ScrollRec`] kinds.
    pub mod scroll_kind: u8 {
        /// The window's scroll position changed; `dx`/`dy` are the change since the previous
        /// `SCROLL` record (the first one: from 0,0), in 1/[`super::SUBPIXEL`] px.
        SCROLL = 0;
        /// A `wheel` event's `deltaX`/`deltaY` in 1/[`super::SUBPIXEL`] units of its `deltaMode`:
        WHEEL_PIXEL = 1;
        WHEEL_LINE = 2;
        WHEEL_PAGE = 3;
    }
}

const_table! {
    /// Roles of recorded target elements and fields.
    pub mod role: u8 {
        OTHER = 0;
        USERNAME = 1;
        PASSWORD = 2;
        SUBMIT = 3;
        PAGE = 4;
    }
}

/// One pointer sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PointerRec {
    pub dt: u32,
    pub kind: u8,
    pub dx: i32,
    pub dy: i32,
    /// `PointerEvent.buttons` after the event.
    pub buttons: u8,
    pub ptype: u8,
    /// `pressure` × 255, rounded.
    pub pressure: u8,
    pub flags: u8,
}

/// One physical key press (down and its up). Never the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KeyRec {
    /// Ticks since the previous key's press.
    pub dt: u32,
    /// Ticks from press to release.
    pub hold: u32,
    pub class: u8,
    /// Index into [`Telemetry::targets`] of the focused field, or 255.
    pub field: u8,
    pub flags: u8,
}

/// A form/field lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FieldRec {
    pub dt: u32,
    pub kind: u8,
    /// Index into [`Telemetry::targets`], or 255.
    pub field: u8,
}

/// Box of a field or button in CSS px at submit time (client coordinates, same units as pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TargetBox {
    pub role: u8,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

/// Pointer details that rarely change, recorded only when they differ from the previous
/// record's (schema 2): for a mouse typically one record per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PointerAux {
    /// Index of the pointer record this applies from, as a delta from the previous aux record's
    /// index (the first one: from 0). Applies until the next aux record.
    pub di: u32,
    /// `screenX − clientX` and `screenY − clientY` in 1/[`SUBPIXEL`] px (the window's content
    /// origin on the screen; changes when the window moves).
    pub sx: i32,
    pub sy: i32,
    /// Contact geometry `width`/`height` in 1/[`SUBPIXEL`] px (1 px for a mouse).
    pub w: u32,
    pub h: u32,
}

/// Window scroll or wheel record (schema 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScrollRec {
    /// Ticks since the previous scroll record.
    pub dt: u32,
    /// [`scroll_kind`].
    pub kind: u8,
    pub dx: i32,
    pub dy: i32,
}

/// A probe result value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbeValue {
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    /// The probe threw; the message (truncated) is kept because a throwing probe is itself a signal.
    Error(String),
    /// The API does not exist here.
    Absent,
}

/// One environment fact. Ids are defined in [`probe`]; the verifier interprets them by
/// [`Telemetry::probe_schema`] so rules can change without shipping new WASM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub id: u16,
    pub value: ProbeValue,
}

const_table! {
    /// Probe ids (schema 1). Add new ids at the end; never reuse a number.
    pub mod probe: u16 {
        WEBDRIVER = 1;
        USER_AGENT = 2;
        WORKER_USER_AGENT = 3;
        PLATFORM = 4;
        LANGUAGES = 5;
        HARDWARE_CONCURRENCY = 6;
        DEVICE_MEMORY = 7;
        SCREEN = 8;
        WINDOW_GEOMETRY = 9;
        TIMEZONE = 10;
        WEBGL_RENDERER = 11;
        AUTOMATION_GLOBALS = 12;
        WEBDRIVER_IN_NAVIGATOR = 13;
        // ---- probe schema 2 (collected by the loader, js/src/probes/, and its probe worker) ----
        /// UA-CH `navigator.userAgentData.brands` as `brand/major` joined by `,` (in order).
        UACH_BRANDS = 14;
        UACH_MOBILE = 15;
        UACH_PLATFORM = 16;
        /// High-entropy `fullVersionList` as `brand/version` joined by `,`.
        UACH_FULL_VERSION_LIST = 17;
        UACH_UA_FULL_VERSION = 18;
        UACH_PLATFORM_VERSION = 19;
        APP_VERSION = 20;
        VENDOR = 21;
        MAX_TOUCH_POINTS = 22;
        /// A4: `prepare,name,ms` — `Error.prepareStackTrace` calls and `name` getter reads while a
        /// trap Error was logged through a pristine iframe's `console.debug`, and the call's duration.
        CDP_CONSOLE = 23;
        /// B1: lie probes on [`super::LIE_TARGETS`]: `index.mask` of every target with a failed
        /// check (mask bits: [`super::lie_check`]) joined by `,`; empty = no lies.
        LIES = 24;
        /// B1: number of targets present and probed.
        LIE_TARGETS_PROBED = 25;
        /// B2: bitmask of [`super::own_prop`] anomalies.
        OWN_PROPERTY_ANOMALIES = 26;
        /// B3: bitmask of [`super::identity`] anomalies.
        IDENTITY_ANOMALIES = 27;
        /// C3: measured engine facts `evalLen,errLen,engine,features,stackStyle`; `features` is the bit
        /// set of [`super::ENGINE_FEATURES`] (see `verifier` envrules).
        ENGINE = 28;
        /// C1: `ok` when the probe worker answered; `Error(…)` when it could not run (CSP, timeout).
        WORKER_STATUS = 29;
        WORKER_PLATFORM = 30;
        WORKER_HARDWARE_CONCURRENCY = 31;
        WORKER_DEVICE_MEMORY = 32;
        WORKER_TIMEZONE = 33;
        WORKER_LANGUAGES = 34;
        WORKER_UACH_BRANDS = 35;
        WORKER_UACH_PLATFORM = 36;
        WORKER_WEBGL_RENDERER = 37;
        /// Unmasked WebGL vendor (main thread); the renderer is [`WEBGL_RENDERER`].
        WEBGL_VENDOR = 38;
        MEDIA_DEVICES = 39;
        SPEECH_VOICES = 40;
        PREFERS_DARK = 41;
        /// Computed colour of CSS system colour `ActiveText`.
        ACTIVE_TEXT = 42;
        PLUGINS = 43;
        /// `Notification.permission` and the permissions API state for notifications: `perm/state`.
        NOTIFICATION_PERMISSION = 44;
        CONNECTION_RTT = 45;
        PDF_VIEWER = 46;
        /// Bitmask of [`super::fp_flags`]: which fingerprint sources were used or skipped.
        FINGERPRINT_FLAGS = 47;
        /// `navigator.brave` exists (Brave farbles canvas/audio natively: not a lie).
        BRAVE = 48;
        /// Main-thread time spent in the probes, ms.
        PROBE_MS = 49;
        /// `window.chrome` shape: `runtime`-less/with runtime etc. (`0` absent, `1` object, `2` with runtime).
        WINDOW_CHROME = 50;
        /// `matchMedia` facts: bitmask of [`super::display_mode`].
        DISPLAY_MODE = 51;
        /// A5: automation frames in the synchronous stack of the widget API (`tollgate.execute`), of
        /// the submit / no-pointer click handlers and of untrusted pointer/key/input events (a
        /// main-world `evaluate()` behind them), as a bitmask of [`super::automation_stack`]; 0 =
        /// none seen.
        /// Additive within probe schema 2 (absent from older loaders).
        AUTOMATION_STACK = 52;
    }
}

/// One C3 version-gated feature of the [`probe::ENGINE`] bit set: a JavaScript built-in that the
/// loader looks up from the global object (generated into its contract by `cargo xtask gen-js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineFeature {
    /// Property path from the global object, `.`-separated (`Set.prototype.union`); a missing
    /// link anywhere on the path means the feature is absent (bit 0).
    pub path: &'static str,
    /// Chrome major that shipped it (a lower bound: a too-high value could flag real browsers);
    /// 0 = not used by the verifier's engine-version rule.
    pub chrome_major: u32,
    /// Trusted for the "absent although the claimed Chrome is newer" direction.
    pub sure: bool,
}

const fn feature(path: &'static str, chrome_major: u32, sure: bool) -> EngineFeature {
    EngineFeature {
        path,
        chrome_major,
        sure,
    }
}

/// The C3 version-gated features, oldest first: bit `i` of the fourth field of [`probe::ENGINE`]
/// is set when feature `i` is present. Append only (bit positions are wire format).
pub const ENGINE_FEATURES: &[EngineFeature] = &[
    feature("Array.prototype.at", 92, true),
    feature("Array.prototype.findLast", 97, true),
    feature("Array.prototype.toSorted", 110, true),
    feature("Object.groupBy", 117, true),
    feature("Promise.withResolvers", 119, true),
    feature("Set.prototype.union", 122, true),
    feature("Promise.try", 128, true),
    feature("Intl.DurationFormat", 129, true),
    feature("Float16Array", 135, true),
    feature("RegExp.escape", 136, true),
    feature("Error.isError", 134, true),
    feature("Uint8Array.fromBase64", 0, false),
    feature("Temporal", 144, false),
    feature("Math.sumPrecise", 0, false),
];

/// B1 lie-probe targets of probe schema 2, by index (the loader resolves them from this list,
/// generated into its contract by `cargo xtask gen-js`).
pub const LIE_TARGETS: &[&str] = &[
    "Navigator.webdriver",
    "Navigator.userAgent",
    "Navigator.appVersion",
    "Navigator.platform",
    "Navigator.languages",
    "Navigator.hardwareConcurrency",
    "Navigator.deviceMemory",
    "Navigator.plugins",
    "Navigator.mimeTypes",
    "Navigator.vendor",
    "Screen.width",
    "Screen.height",
    "Screen.availWidth",
    "Screen.availHeight",
    "Screen.colorDepth",
    "WebGLRenderingContext.getParameter",
    "WebGL2RenderingContext.getParameter",
    "HTMLMediaElement.canPlayType",
    "Permissions.query",
    "Notification.permission",
    "NavigatorUAData.getHighEntropyValues",
    "Document.createElement",
    "Function.toString",
    "Intl.DateTimeFormat",
    "Navigator.getBattery",
    "HTMLCanvasElement.toDataURL",
    "CanvasRenderingContext2D.getImageData",
    "AudioBuffer.getChannelData",
];

const_table! {
    /// Bits of a B1 lie mask (one target).
    pub mod lie_check: u32 {
        /// `Function.prototype.toString` (pristine realm) is not the native shape.
        TO_STRING = 1;
        /// Own keys are not exactly `length,name`.
        OWN_KEYS = 2;
        /// Has a `prototype`.
        PROTOTYPE = 4;
        /// `new f()` did not throw a TypeError.
        CONSTRUCT = 8;
        /// Assigning a cyclic `__proto__` did not throw a TypeError (Proxy).
        CYCLIC_PROTO = 16;
        /// `Object.create(f).toString()` did not throw a TypeError with a native top frame.
        CREATE_TO_STRING = 32;
        /// The probe itself threw unexpectedly.
        PROBE_THREW = 64;
    }
}

const_table! {
    /// B2 own-property anomaly bits.
    pub mod own_prop: u32 {
        /// `document.createElement` is an own property of `document`.
        DOCUMENT_CREATE_ELEMENT = 1;
        /// A window dimension (`outerWidth`, `outerHeight`, `innerWidth`, `innerHeight`, `screenX`)
        /// is an own *data* property of `window`.
        WINDOW_DIMENSION_DATA = 2;
        /// `SharedArrayBuffer` is present but `undefined` (not cross-origin isolated).
        SHARED_ARRAY_BUFFER_UNDEFINED = 4;
        /// An `<iframe srcdoc>` exposes `contentWindow` before insertion.
        IFRAME_CONTENT_WINDOW = 8;
        /// `navigator.webdriver` is an own property of `navigator` (not on `Navigator.prototype`).
        NAVIGATOR_OWN_WEBDRIVER = 16;
    }
}

const_table! {
    /// B3 identity anomaly bits.
    pub mod identity: u32 {
        /// `navigator.plugins` is not a `PluginArray`.
        PLUGINS = 1;
        /// `navigator.mimeTypes` is not a `MimeTypeArray`.
        MIME_TYPES = 2;
        /// `getBattery()` did not resolve to a `BatteryManager`.
        BATTERY = 4;
        /// `permissions.query()` did not resolve to a `PermissionStatus`.
        PERMISSION_STATUS = 8;
        /// `chrome.runtime.sendMessage`/`connect` have a `prototype` or are constructible (fakes).
        CHROME_RUNTIME = 16;
    }
}

const_table! {
    /// Fingerprint source flags ([`probe::FINGERPRINT_FLAGS`]).
    pub mod fp_flags: u32 {
        CANVAS = 1;
        WEBGL = 2;
        SCREEN = 4;
        FONTS = 8;
        /// Canvas was left out: the engine randomises it (Safari 17+, Firefox RFP, Brave) or two
        /// reads differed.
        CANVAS_RANDOMISED = 16;
        /// Screen was left out (Safari 17+ / RFP report noisy or fixed values).
        SCREEN_SKIPPED = 32;
        /// An `OfflineAudioContext` render (triangle oscillator through a compressor) is in the hash.
        AUDIO = 64;
        /// Audio was left out: not V8 (Safari 17+ and Firefox RFP randomise it), Brave or Samsung
        /// Internet (farbling), no `OfflineAudioContext`, or two renders differed (noise per render).
        /// Neither bit: the render had not finished when the token was built.
        AUDIO_SKIPPED = 128;
    }
}

const_table! {
    /// Bits of [`probe::DISPLAY_MODE`] (`matchMedia` facts).
    pub mod display_mode: u32 {
        /// `(display-mode: fullscreen)`.
        FULLSCREEN = 1;
        /// `(display-mode: standalone)`.
        STANDALONE = 2;
        /// `(hover: none)`.
        HOVER_NONE = 4;
        /// `(pointer: coarse)`.
        POINTER_COARSE = 8;
    }
}

const_table! {
    /// Bits of [`probe::AUTOMATION_STACK`]: automation frames seen in a synchronous stack.
    pub mod automation_stack: u32 {
        /// Puppeteer: a `pptr:` sourceURL or `__puppeteer_evaluation_script__`.
        PUPPETEER = 1;
        /// Playwright: `UtilityScript.`.
        PLAYWRIGHT = 2;
    }
}

/// Page-level timings (ticks since collector start; 0 = not observed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PageTimes {
    /// `performance.now()` at collector start, in ticks since navigation start.
    pub start_since_nav: u32,
    pub first_input: u32,
    pub submit: u32,
    pub visibility_changes: u16,
}

/// Everything the collector reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Telemetry {
    pub schema: u16,
    pub probe_schema: u16,
    pub page: PageTimes,
    pub pointer: Vec<PointerRec>,
    pub keys: Vec<KeyRec>,
    pub fields: Vec<FieldRec>,
    pub targets: Vec<TargetBox>,
    pub probes: Vec<Probe>,
    /// Stable device fingerprint hash (16 bytes) or empty.
    pub fingerprint: Vec<u8>,
    /// Number of records dropped because a buffer was full (pointer, keys, fields).
    pub dropped: [u32; 3],
    /// Schema 2: screen offset and contact size, recorded when they change.
    pub pointer_aux: Vec<PointerAux>,
    /// Schema 2: window scroll position changes and wheel deltas.
    pub scroll: Vec<ScrollRec>,
}

impl Telemetry {
    /// Check the documented caps (the collector enforces them; a forged token might not).
    pub fn check_limits(&self) -> Result<(), ProtocolError> {
        if self.pointer.len() > MAX_POINTER {
            return Err(ProtocolError::TelemetryLimit("pointer"));
        }
        if self.keys.len() > MAX_KEYS {
            return Err(ProtocolError::TelemetryLimit("keys"));
        }
        if self.fields.len() > MAX_FIELD_EVENTS {
            return Err(ProtocolError::TelemetryLimit("fields"));
        }
        if self.targets.len() > MAX_TARGETS {
            return Err(ProtocolError::TelemetryLimit("targets"));
        }
        if self.probes.len() > MAX_PROBES {
            return Err(ProtocolError::TelemetryLimit("probes"));
        }
        if self.pointer_aux.len() > MAX_POINTER_AUX {
            return Err(ProtocolError::TelemetryLimit("pointer aux"));
        }
        if self.scroll.len() > MAX_SCROLL {
            return Err(ProtocolError::TelemetryLimit("scroll"));
        }
        if self.fingerprint.len() > 32 {
            return Err(ProtocolError::TelemetryLimit("fingerprint"));
        }
        for p in &self.probes {
            if let ProbeValue::Str(s) | ProbeValue::Error(s) = &p.value
                && s.len() > MAX_PROBE_STR
            {
                return Err(ProtocolError::TelemetryLimit("probe string"));
            }
        }
        Ok(())
    }

    /// First value of probe `id`, if present.
    pub fn probe(&self, id: u16) -> Option<&ProbeValue> {
        self.probes.iter().find(|p| p.id == id).map(|p| &p.value)
    }

    /// Pointer samples with absolute times (ms since collector start) and positions (px).
    pub fn pointer_samples(&self) -> Vec<PointerSample> {
        let mut t: u64 = 0;
        let (mut x, mut y): (i64, i64) = (0, 0);
        self.pointer
            .iter()
            .map(|r| {
                t += u64::from(r.dt);
                x += i64::from(r.dx);
                y += i64::from(r.dy);
                PointerSample {
                    t_ms: t as f64 * TICK_MS,
                    kind: r.kind,
                    x: x as f64 / SUBPIXEL,
                    y: y as f64 / SUBPIXEL,
                    buttons: r.buttons,
                    ptype: r.ptype,
                    pressure: f32::from(r.pressure) / 255.0,
                    trusted: r.flags & pointer_flags::TRUSTED != 0,
                    coalesced: r.flags & pointer_flags::COALESCED != 0,
                }
            })
            .collect()
    }

    /// Key presses with absolute times (ms since collector start).
    pub fn key_samples(&self) -> Vec<KeySample> {
        let mut t: u64 = 0;
        self.keys
            .iter()
            .map(|k| {
                t += u64::from(k.dt);
                let down = t as f64 * TICK_MS;
                KeySample {
                    t_down_ms: down,
                    t_up_ms: down + f64::from(k.hold) * TICK_MS,
                    class: k.class,
                    field: k.field,
                    flags: k.flags,
                }
            })
            .collect()
    }

    /// Scroll/wheel records with absolute times (ms since collector start); `SCROLL` records get
    /// the absolute scroll position (px), wheel records their deltas (in units of their mode).
    pub fn scroll_samples(&self) -> Vec<(f64, u8, f64, f64)> {
        let mut t: u64 = 0;
        let (mut x, mut y): (i64, i64) = (0, 0);
        self.scroll
            .iter()
            .map(|r| {
                t += u64::from(r.dt);
                let (dx, dy) = (f64::from(r.dx) / SUBPIXEL, f64::from(r.dy) / SUBPIXEL);
                if r.kind == scroll_kind::SCROLL {
                    x += i64::from(r.dx);
                    y += i64::from(r.dy);
                    (
                        t as f64 * TICK_MS,
                        r.kind,
                        x as f64 / SUBPIXEL,
                        y as f64 / SUBPIXEL,
                    )
                } else {
                    (t as f64 * TICK_MS, r.kind, dx, dy)
                }
            })
            .collect()
    }

    /// The [`PointerAux`] in force for each pointer record, resolved (screen offset in px,
    /// contact width/height in px); `None` before the first aux record.
    pub fn pointer_aux_per_record(&self) -> Vec<Option<(f64, f64, f64, f64)>> {
        let mut out = alloc::vec![None; self.pointer.len()];
        let mut idx: u64 = 0;
        let mut marks: Vec<(usize, PointerAux)> = Vec::new();
        for a in &self.pointer_aux {
            idx += u64::from(a.di);
            marks.push((usize::try_from(idx).unwrap_or(usize::MAX), *a));
        }
        let mut m = 0;
        let mut cur = None;
        for (i, slot) in out.iter_mut().enumerate() {
            while m < marks.len() && marks[m].0 <= i {
                let a = marks[m].1;
                cur = Some((
                    f64::from(a.sx) / SUBPIXEL,
                    f64::from(a.sy) / SUBPIXEL,
                    f64::from(a.w) / SUBPIXEL,
                    f64::from(a.h) / SUBPIXEL,
                ));
                m += 1;
            }
            *slot = cur;
        }
        out
    }

    /// Field events with absolute times (ms since collector start).
    pub fn field_samples(&self) -> Vec<(f64, FieldRec)> {
        let mut t: u64 = 0;
        self.fields
            .iter()
            .map(|f| {
                t += u64::from(f.dt);
                (t as f64 * TICK_MS, *f)
            })
            .collect()
    }
}

/// A decoded pointer sample (absolute time and position).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointerSample {
    pub t_ms: f64,
    pub kind: u8,
    pub x: f64,
    pub y: f64,
    pub buttons: u8,
    pub ptype: u8,
    pub pressure: f32,
    pub trusted: bool,
    pub coalesced: bool,
}

/// A decoded key press.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeySample {
    pub t_down_ms: f64,
    pub t_up_ms: f64,
    pub class: u8,
    pub field: u8,
    pub flags: u8,
}

/// `f64::round` (half away from zero) without std's float math, for the `no_std` build.
fn round(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() || x.abs() >= 4_503_599_627_370_496.0 {
        return x; // already integral (or not a number)
    }
    let t = x as i64 as f64; // truncates toward zero
    let diff = x - t;
    if diff >= 0.5 {
        t + 1.0
    } else if diff <= -0.5 {
        t - 1.0
    } else {
        t
    }
}

/// Convert milliseconds to ticks (saturating, never negative).
pub fn ms_to_ticks(ms: f64) -> u32 {
    let t = round(ms / TICK_MS);
    if t.is_nan() || t <= 0.0 {
        0
    } else if t >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        t as u32
    }
}

/// Convert px to sub-pixel units (saturating).
pub fn px_to_units(px: f64) -> i32 {
    let v = round(px * SUBPIXEL);
    if v.is_nan() {
        0
    } else {
        v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }
}

/// Incremental builder used by the collector: takes absolute times/positions and produces the
/// delta encoding, enforcing the caps (newest records beyond the cap are counted in `dropped`).
#[derive(Debug, Clone, Default)]
pub struct TelemetryBuilder {
    pub telemetry: Telemetry,
    last_ptr_t: u32,
    last_x: i32,
    last_y: i32,
    last_key_t: u32,
    last_field_t: u32,
    last_scroll_t: u32,
    scroll_x: i32,
    scroll_y: i32,
    last_aux: Option<(u32, PointerAux)>,
}

impl TelemetryBuilder {
    pub fn new() -> Self {
        Self {
            telemetry: Telemetry {
                schema: SCHEMA,
                probe_schema: PROBE_SCHEMA,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Append a pointer sample (`t_ms` since collector start, client px).
    #[allow(clippy::too_many_arguments)]
    pub fn pointer(
        &mut self,
        t_ms: f64,
        kind: u8,
        x: f64,
        y: f64,
        buttons: u8,
        ptype: u8,
        pressure: f32,
        flags: u8,
    ) {
        if self.telemetry.pointer.len() >= MAX_POINTER {
            self.telemetry.dropped[0] = self.telemetry.dropped[0].saturating_add(1);
            return;
        }
        let t = ms_to_ticks(t_ms).max(self.last_ptr_t);
        let (ux, uy) = (px_to_units(x), px_to_units(y));
        self.telemetry.pointer.push(PointerRec {
            dt: t - self.last_ptr_t,
            kind,
            dx: ux.wrapping_sub(self.last_x),
            dy: uy.wrapping_sub(self.last_y),
            buttons,
            ptype,
            pressure: round(f64::from(pressure.clamp(0.0, 1.0)) * 255.0) as u8,
            flags,
        });
        self.last_ptr_t = t;
        self.last_x = ux;
        self.last_y = uy;
    }

    /// Append a key press (absolute down/up in ms since collector start).
    pub fn key(&mut self, t_down_ms: f64, t_up_ms: f64, class: u8, field: u8, flags: u8) {
        if self.telemetry.keys.len() >= MAX_KEYS {
            self.telemetry.dropped[1] = self.telemetry.dropped[1].saturating_add(1);
            return;
        }
        let t = ms_to_ticks(t_down_ms).max(self.last_key_t);
        let hold = ms_to_ticks(t_up_ms - t_down_ms);
        self.telemetry.keys.push(KeyRec {
            dt: t - self.last_key_t,
            hold,
            class,
            field,
            flags,
        });
        self.last_key_t = t;
    }

    /// Append a field event.
    pub fn field(&mut self, t_ms: f64, kind: u8, field: u8) {
        if self.telemetry.fields.len() >= MAX_FIELD_EVENTS {
            self.telemetry.dropped[2] = self.telemetry.dropped[2].saturating_add(1);
            return;
        }
        let t = ms_to_ticks(t_ms).max(self.last_field_t);
        self.telemetry.fields.push(FieldRec {
            dt: t - self.last_field_t,
            kind,
            field,
        });
        self.last_field_t = t;
    }

    /// Screen offset (`screenX − clientX`, px) and contact size (px) of the pointer record
    /// appended last; stored only when they differ from the previous values.
    pub fn pointer_aux(&mut self, sx: f64, sy: f64, w: f64, h: f64) {
        let Some(index) = self.telemetry.pointer.len().checked_sub(1) else {
            return;
        };
        let index = index as u32;
        let units = |v: f64| px_to_units(v).max(0) as u32;
        let aux = PointerAux {
            di: 0,
            sx: px_to_units(sx),
            sy: px_to_units(sy),
            w: units(w),
            h: units(h),
        };
        let prev_index = match self.last_aux {
            Some((_, p)) if (p.sx, p.sy, p.w, p.h) == (aux.sx, aux.sy, aux.w, aux.h) => return,
            Some((i, _)) => i,
            None => 0,
        };
        if self.telemetry.pointer_aux.len() >= MAX_POINTER_AUX {
            return;
        }
        self.telemetry.pointer_aux.push(PointerAux {
            di: index - prev_index,
            ..aux
        });
        self.last_aux = Some((index, aux));
    }

    /// Window scroll position (px, absolute) at `t_ms`.
    pub fn scroll(&mut self, t_ms: f64, x: f64, y: f64) {
        let (ux, uy) = (px_to_units(x), px_to_units(y));
        let (dx, dy) = (
            ux.wrapping_sub(self.scroll_x),
            uy.wrapping_sub(self.scroll_y),
        );
        if self.push_scroll(t_ms, scroll_kind::SCROLL, dx, dy) {
            self.scroll_x = ux;
            self.scroll_y = uy;
        }
    }

    /// A wheel event's deltas (`mode` = `deltaMode` 0 px, 1 lines, 2 pages).
    pub fn wheel(&mut self, t_ms: f64, mode: u8, dx: f64, dy: f64) {
        let kind = scroll_kind::WHEEL_PIXEL + mode.min(2);
        self.push_scroll(t_ms, kind, px_to_units(dx), px_to_units(dy));
    }

    fn push_scroll(&mut self, t_ms: f64, kind: u8, dx: i32, dy: i32) -> bool {
        if self.telemetry.scroll.len() >= MAX_SCROLL {
            return false;
        }
        let t = ms_to_ticks(t_ms).max(self.last_scroll_t);
        self.telemetry.scroll.push(ScrollRec {
            dt: t - self.last_scroll_t,
            kind,
            dx,
            dy,
        });
        self.last_scroll_t = t;
        true
    }

    pub fn finish(self) -> Telemetry {
        self.telemetry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_features_fit_the_loader_bit_set() {
        // The loader sets bit `i` with `1 << i` (a 32-bit signed int): at most 31 features.
        assert!(ENGINE_FEATURES.len() <= 31);
        for (i, f) in ENGINE_FEATURES.iter().enumerate() {
            assert!(f.path.split('.').all(|k| !k.is_empty()), "{}", f.path);
            assert!(!ENGINE_FEATURES[..i].iter().any(|g| g.path == f.path));
            assert!(
                !f.sure || f.chrome_major > 0,
                "{}: sure needs a major",
                f.path
            );
        }
    }

    #[test]
    fn builder_roundtrips_times_and_positions() {
        let mut b = TelemetryBuilder::new();
        b.pointer(
            10.0,
            pointer_kind::MOVE,
            100.5,
            200.25,
            0,
            pointer_type::MOUSE,
            0.0,
            pointer_flags::TRUSTED,
        );
        b.pointer(
            26.7,
            pointer_kind::MOVE,
            90.0,
            210.0,
            0,
            pointer_type::MOUSE,
            0.0,
            pointer_flags::TRUSTED,
        );
        b.pointer(
            100.0,
            pointer_kind::DOWN,
            90.0,
            210.0,
            1,
            pointer_type::MOUSE,
            0.5,
            pointer_flags::TRUSTED,
        );
        b.key(500.0, 590.0, key_class::CHAR, 1, key_flags::TRUSTED);
        b.key(650.0, 700.0, key_class::SPACE, 1, 0);
        let t = b.finish();
        let ps = t.pointer_samples();
        assert_eq!(ps.len(), 3);
        assert!((ps[1].t_ms - 26.7).abs() < 1e-9);
        assert!((ps[0].x - 100.5).abs() < 1e-9 && (ps[0].y - 200.25).abs() < 1e-9);
        assert_eq!(ps[2].buttons, 1);
        assert!((ps[2].pressure - 0.5).abs() < 0.01);
        let ks = t.key_samples();
        assert!((ks[1].t_down_ms - 650.0).abs() < 1e-9 && (ks[1].t_up_ms - 700.0).abs() < 1e-9);
    }

    #[test]
    fn caps_count_dropped() {
        let mut b = TelemetryBuilder::new();
        for i in 0..(MAX_POINTER + 5) {
            b.pointer(i as f64, 0, 0.0, 0.0, 0, 1, 0.0, 0);
        }
        let t = b.finish();
        assert_eq!(t.pointer.len(), MAX_POINTER);
        assert_eq!(t.dropped[0], 5);
        t.check_limits().unwrap();
    }

    #[test]
    fn time_never_goes_backwards() {
        let mut b = TelemetryBuilder::new();
        b.pointer(50.0, 0, 0.0, 0.0, 0, 1, 0.0, 0);
        b.pointer(40.0, 0, 0.0, 0.0, 0, 1, 0.0, 0);
        b.pointer(f64::NAN, 0, f64::INFINITY, -1e300, 0, 1, f32::NAN, 0);
        assert_eq!(b.finish().pointer[1].dt, 0);
    }
}
