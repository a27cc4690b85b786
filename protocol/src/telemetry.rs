//! Telemetry carried in the token: behavioural events (timings and deltas only — never key
//! contents) and environment probe results. Encoded with postcard, whose varints make the
//! delta-encoded integers below small (typically 1–2 bytes each).
//!
//! Clock: every time is in units of [`TICK_MS`] (0.1 ms) relative to the collector's start
//! (`performance.now()` when the loader ran). Within each list, `dt` is the delta from the
//! previous record of the same list (the first record's delta is from the collector's start).
//! Coordinates are CSS pixels in units of 1/[`SUBPIXEL`] px, delta-encoded the same way.

use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;

/// Telemetry schema version (bump when record semantics change).
pub const SCHEMA: u16 = 1;
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

/// Pointer record kinds.
pub mod pointer_kind {
    pub const MOVE: u8 = 0;
    pub const DOWN: u8 = 1;
    pub const UP: u8 = 2;
    pub const WHEEL: u8 = 3;
    pub const SCROLL: u8 = 4;
    pub const CANCEL: u8 = 5;
}

/// `pointerType` codes.
pub mod pointer_type {
    pub const UNKNOWN: u8 = 0;
    pub const MOUSE: u8 = 1;
    pub const PEN: u8 = 2;
    pub const TOUCH: u8 = 3;
}

/// Pointer record flags.
pub mod pointer_flags {
    /// `event.isTrusted` was true.
    pub const TRUSTED: u8 = 1;
    /// Sample came from `getCoalescedEvents()` rather than the dispatched event.
    pub const COALESCED: u8 = 2;
}

/// Key classes (the only thing recorded about a key).
pub mod key_class {
    pub const CHAR: u8 = 0;
    pub const SPACE: u8 = 1;
    pub const BACKSPACE: u8 = 2;
    pub const ENTER: u8 = 3;
    pub const TAB: u8 = 4;
    pub const SHIFT: u8 = 5;
    pub const MODIFIER: u8 = 6;
    pub const OTHER: u8 = 7;
}

/// Key record flags.
pub mod key_flags {
    pub const TRUSTED: u8 = 1;
    /// At least one auto-repeat keydown was seen while the key was held.
    pub const REPEAT: u8 = 2;
    /// The key was still held when the token was built (hold is then measured up to that moment).
    pub const UNRELEASED: u8 = 4;
}

/// Field event kinds.
pub mod field_kind {
    pub const FOCUS: u8 = 0;
    pub const BLUR: u8 = 1;
    pub const PASTE: u8 = 2;
    /// The field gained a value with no keystrokes (autofill / password manager).
    pub const AUTOFILL: u8 = 3;
    /// An `input` event.
    pub const INPUT: u8 = 4;
    pub const VISIBILITY_HIDDEN: u8 = 5;
    pub const VISIBILITY_VISIBLE: u8 = 6;
    pub const SUBMIT: u8 = 7;
}

/// Roles of recorded target elements and fields.
pub mod role {
    pub const OTHER: u8 = 0;
    pub const USERNAME: u8 = 1;
    pub const PASSWORD: u8 = 2;
    pub const SUBMIT: u8 = 3;
    pub const PAGE: u8 = 4;
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

/// Probe ids (schema 1). Add new ids at the end; never reuse a number.
pub mod probe {
    pub const WEBDRIVER: u16 = 1;
    pub const USER_AGENT: u16 = 2;
    pub const WORKER_USER_AGENT: u16 = 3;
    pub const PLATFORM: u16 = 4;
    pub const LANGUAGES: u16 = 5;
    pub const HARDWARE_CONCURRENCY: u16 = 6;
    pub const DEVICE_MEMORY: u16 = 7;
    pub const SCREEN: u16 = 8;
    pub const WINDOW_GEOMETRY: u16 = 9;
    pub const TIMEZONE: u16 = 10;
    pub const WEBGL_RENDERER: u16 = 11;
    pub const AUTOMATION_GLOBALS: u16 = 12;
    pub const WEBDRIVER_IN_NAVIGATOR: u16 = 13;
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

/// Convert milliseconds to ticks (saturating, never negative).
pub fn ms_to_ticks(ms: f64) -> u32 {
    let t = (ms / TICK_MS).round();
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
    let v = (px * SUBPIXEL).round();
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
}

impl TelemetryBuilder {
    pub fn new() -> Self {
        Self {
            telemetry: Telemetry {
                schema: SCHEMA,
                probe_schema: 1,
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
            pressure: (pressure.clamp(0.0, 1.0) * 255.0).round() as u8,
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

    pub fn finish(self) -> Telemetry {
        self.telemetry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
