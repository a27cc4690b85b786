//! Collector state: the raw samples the loader's passive listeners logged, turned into
//! `protocol::telemetry::Telemetry` (via `TelemetryBuilder`) when a token is built.
//!
//! Pure Rust (no JS calls) so it can be unit-tested natively; [`crate::ingest`] replays the
//! loader's typed-array logs into it. Times passed in are `event.timeStamp` / `performance.now()`
//! values (ms since the time origin); the state keeps them relative to the collector's start.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use tollgate_protocol::compact::Writer;

use crate::ingest::input_how;
use tollgate_protocol::telemetry::{
    FieldRec, KeyRec, MAX_FIELD_EVENTS, MAX_KEYS, MAX_POINTER, MAX_POINTER_AUX, MAX_PROBES,
    MAX_SCROLL, MAX_TARGETS, PROBE_SCHEMA, PageTimes, PointerAux, PointerRec, Probe, ProbeValue,
    SCHEMA, ScrollRec, TargetBox, Telemetry, TelemetryBuilder, field_kind, key_flags, ms_to_ticks,
    px_to_units, scroll_kind,
};

/// Field index meaning "no registered field".
pub const NO_FIELD: u8 = 255;

/// `input` events stop being recorded once the field list holds this many records, keeping room
/// for focus/blur/paste/submit.
const INPUT_RECORD_LIMIT: usize = MAX_FIELD_EVENTS - 50;

/// A key event or paste this recent (ms) before an `input` event explains the new value.
const KEYED_INPUT_WINDOW_MS: f64 = 250.0;

/// One pointer sample as the loader logged it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PtrSample {
    /// `event.timeStamp`.
    pub t: f64,
    pub kind: u8,
    /// Client coordinates, CSS px.
    pub x: f64,
    pub y: f64,
    pub buttons: u8,
    pub ptype: u8,
    pub pressure: f32,
    pub flags: u8,
    /// `screenX − clientX`, `screenY − clientY`.
    pub sx: f64,
    pub sy: f64,
    /// Contact `width`/`height`.
    pub w: f64,
    pub h: f64,
}

#[derive(Debug, Clone, Copy)]
struct Press {
    down: f64,
    up: Option<f64>,
    class: u8,
    field: u8,
    flags: u8,
    /// Physical-key slot from the loader (0: unknown, pair by class).
    slot: u8,
}

#[derive(Debug, Clone, Copy)]
struct ScrollSample {
    t: f64,
    /// 255: scroll position; else the wheel's `deltaMode`.
    mode: u8,
    a: f64,
    b: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldSample {
    t: f64,
    kind: u8,
    field: u8,
}

#[derive(Debug, Clone, Default)]
struct Target {
    role: u8,
    /// x, y, w, h in CSS px at the last `set_box`.
    rect: Option<[f64; 4]>,
    has_value: bool,
    /// Last keydown or paste in this field (ms since start).
    last_typed: Option<f64>,
    /// Any keydown, paste or input event was seen on this field.
    touched: bool,
    /// An AUTOFILL or INSERTED record was written since the last keystroke in this field.
    fill_noted: bool,
}

/// Raw behavioural state of one widget.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// `performance.now()` when the collector started.
    start: f64,
    pointer: VecDeque<PtrSample>,
    pointer_dropped: u32,
    presses: Vec<Press>,
    scroll: Vec<ScrollSample>,
    keys_dropped: u32,
    fields: Vec<FieldSample>,
    fields_dropped: u32,
    targets: Vec<Target>,
    probes: Vec<Probe>,
    first_input: Option<f64>,
    submit: Option<f64>,
    visibility_changes: u16,
}

impl State {
    pub fn new(start: f64) -> Self {
        Self {
            start: if start.is_finite() { start } else { 0.0 },
            ..Default::default()
        }
    }

    fn rel(&self, ts: f64) -> f64 {
        let t = ts - self.start;
        if t.is_finite() && t > 0.0 { t } else { 0.0 }
    }

    fn note_input(&mut self, t: f64) {
        if self.first_input.is_none() {
            self.first_input = Some(t);
        }
    }

    /// Register a field/button with a `role`; returns its index (or [`NO_FIELD`] when full).
    pub fn register_target(&mut self, role: u8) -> u8 {
        if self.targets.len() >= MAX_TARGETS {
            return NO_FIELD;
        }
        self.targets.push(Target {
            role,
            ..Default::default()
        });
        (self.targets.len() - 1) as u8
    }

    /// Box (CSS px, client coordinates) of a registered target and whether it holds a value
    /// (only the fact, never the value). Called at token time.
    pub fn set_box(&mut self, index: u8, x: f64, y: f64, w: f64, h: f64, has_value: bool) {
        if let Some(t) = self.targets.get_mut(usize::from(index)) {
            t.rect = Some([x, y, w, h]);
            t.has_value = has_value;
        }
    }

    /// A pointer sample (the loader already thinned high-rate coalesced moves).
    pub fn pointer(&mut self, mut s: PtrSample) {
        s.t = self.rel(s.t);
        // Ring buffer: keep the newest samples (the approach to the submit button matters most).
        if self.pointer.len() >= MAX_POINTER {
            self.pointer.pop_front();
            self.pointer_dropped = self.pointer_dropped.saturating_add(1);
        }
        self.pointer.push_back(s);
    }

    /// Number of pointer samples held.
    pub fn pointer_len(&self) -> usize {
        self.pointer.len()
    }

    /// Drop the `n` oldest pointer samples (counted as dropped): used when a token would exceed
    /// the protocol's size cap (e.g. a long touch session, where every sample changes the contact
    /// size and so carries an aux record).
    pub fn drop_oldest_pointer(&mut self, n: usize) {
        let n = n.min(self.pointer.len());
        self.pointer.drain(..n);
        self.pointer_dropped = self.pointer_dropped.saturating_add(n as u32);
    }

    /// Samples the loader's own ring buffer dropped before they reached the state.
    pub fn add_dropped(&mut self, pointer: u32, other: u32) {
        self.pointer_dropped = self.pointer_dropped.saturating_add(pointer);
        self.fields_dropped = self.fields_dropped.saturating_add(other);
    }

    /// Window scroll position (px).
    pub fn scroll(&mut self, ts: f64, x: f64, y: f64) {
        self.push_scroll(ts, 255, x, y);
    }

    /// A wheel event's deltas in units of `mode` (`deltaMode`).
    pub fn wheel(&mut self, ts: f64, mode: u8, dx: f64, dy: f64) {
        self.push_scroll(ts, mode.min(2), dx, dy);
    }

    fn push_scroll(&mut self, ts: f64, mode: u8, a: f64, b: f64) {
        let t = self.rel(ts);
        if self.scroll.len() < MAX_SCROLL {
            self.scroll.push(ScrollSample { t, mode, a, b });
        }
    }

    /// `keydown`, already reduced to its key class by the loader. `slot` identifies the physical
    /// key while it is held (assigned by the loader from `event.code`, which is never stored) so
    /// presses pair with their own release even with rollover; 0 = unknown (pair by class).
    /// `flags`: the loader's [`key_flags`] of the event (TRUSTED; REPEAT, an auto-repeat, which
    /// flags the held press instead of adding one; SHIFT_MISMATCH, kept on the press).
    pub fn key_down(&mut self, ts: f64, class: u8, field: u8, flags: u8, slot: u8) {
        let t = self.rel(ts);
        self.note_input(t);
        if let Some(tg) = self.targets.get_mut(usize::from(field)) {
            tg.last_typed = Some(t);
            tg.touched = true;
            tg.fill_noted = false;
        }
        if flags & key_flags::REPEAT != 0 {
            // Auto-repeat of a held key: flag the held press instead of adding one.
            if let Some(p) = self
                .presses
                .iter_mut()
                .rev()
                .find(|p| p.up.is_none() && Self::same_key(p, class, slot))
            {
                p.flags |= key_flags::REPEAT;
                return;
            }
        }
        if self.presses.len() >= MAX_KEYS {
            self.keys_dropped = self.keys_dropped.saturating_add(1);
            return;
        }
        let flags = flags & (key_flags::TRUSTED | key_flags::SHIFT_MISMATCH);
        self.presses.push(Press {
            down: t,
            up: None,
            class,
            field,
            flags,
            slot,
        });
    }

    fn same_key(p: &Press, class: u8, slot: u8) -> bool {
        if slot != 0 && p.slot != 0 {
            p.slot == slot
        } else {
            p.class == class
        }
    }

    /// `keyup`: releases the held press of the same physical-key slot, or (slot 0) the oldest
    /// held press of the same class. No key identity is ever kept.
    pub fn key_up(&mut self, ts: f64, class: u8, slot: u8) {
        let t = self.rel(ts);
        if let Some(p) = self
            .presses
            .iter_mut()
            .find(|p| p.up.is_none() && Self::same_key(p, class, slot))
        {
            p.up = Some(t.max(p.down));
        }
    }

    /// Window lost focus or the page was hidden: keyups will not arrive, so close every held
    /// press now (flagged UNRELEASED).
    pub fn release_all(&mut self, ts: f64) {
        let t = self.rel(ts);
        for p in self.presses.iter_mut().filter(|p| p.up.is_none()) {
            p.up = Some(t.max(p.down));
            p.flags |= key_flags::UNRELEASED;
        }
    }

    fn push_field(&mut self, t: f64, kind: u8, field: u8) {
        let limit = if kind == field_kind::INPUT {
            INPUT_RECORD_LIMIT
        } else {
            MAX_FIELD_EVENTS
        };
        if self.fields.len() >= limit {
            self.fields_dropped = self.fields_dropped.saturating_add(1);
            return;
        }
        self.fields.push(FieldSample { t, kind, field });
    }

    /// focus, blur, paste, submit and visibility events (`protocol::telemetry::field_kind`).
    pub fn field_event(&mut self, ts: f64, kind: u8, field: u8) {
        let t = self.rel(ts);
        match kind {
            field_kind::PASTE => {
                self.note_input(t);
                if let Some(tg) = self.targets.get_mut(usize::from(field)) {
                    tg.last_typed = Some(t);
                    tg.touched = true;
                }
            }
            field_kind::SUBMIT => self.submit = Some(t),
            field_kind::VISIBILITY_HIDDEN | field_kind::VISIBILITY_VISIBLE => {
                self.visibility_changes = self.visibility_changes.saturating_add(1);
            }
            _ => {}
        }
        self.push_field(t, kind, field);
    }

    /// An `input` event, `how` one of [`crate::ingest::input_how`]. A value that changes with no
    /// keystroke or paste just before it (and is not a deletion, drop or undo: `EXPLAINED`) is
    /// recorded once per field as `how`'s kind: INSERTED when it came as a trusted `insertText`
    /// (DevTools' `Input.insertText`: Playwright's `fill()`), else AUTOFILL (password managers,
    /// browser autofill, a script setting the value).
    pub fn input(&mut self, ts: f64, field: u8, how: u8) {
        let t = self.rel(ts);
        self.note_input(t);
        let mut filled = false;
        if let Some(tg) = self.targets.get_mut(usize::from(field)) {
            let keyed = tg
                .last_typed
                .is_some_and(|k| t - k <= KEYED_INPUT_WINDOW_MS)
                || self
                    .presses
                    .iter()
                    .rev()
                    .take(8)
                    .any(|p| p.up.is_none() && p.field == field);
            tg.touched = true;
            if !keyed && how != input_how::EXPLAINED && !tg.fill_noted {
                tg.fill_noted = true;
                filled = true;
            }
        }
        if filled {
            // `how` is the kind to record (AUTOFILL or INSERTED; a page can forge any record).
            self.push_field(t, how, field);
        }
        self.push_field(t, field_kind::INPUT, field);
    }

    /// Set (replace) a probe result.
    pub fn set_probe(&mut self, id: u16, value: ProbeValue) {
        if let Some(p) = self.probes.iter_mut().find(|p| p.id == id) {
            p.value = value;
        } else if self.probes.len() < MAX_PROBES {
            self.probes.push(Probe { id, value });
        }
    }

    /// Telemetry as of `now` (ms since the time origin). Does not change the state, so a token
    /// can be rebuilt later with more data.
    pub fn snapshot(&self, now: f64) -> Telemetry {
        let now = self.rel(now);
        let mut b = TelemetryBuilder::new();
        for s in &self.pointer {
            b.pointer(
                s.t, s.kind, s.x, s.y, s.buttons, s.ptype, s.pressure, s.flags,
            );
            b.pointer_aux(s.sx, s.sy, s.w, s.h);
        }
        for s in &self.scroll {
            if s.mode == 255 {
                b.scroll(s.t, s.a, s.b);
            } else {
                b.wheel(s.t, s.mode, s.a, s.b);
            }
        }
        for p in &self.presses {
            let (up, flags) = match p.up {
                Some(up) => (up, p.flags),
                None => (now.max(p.down), p.flags | key_flags::UNRELEASED),
            };
            b.key(p.down, up, p.class, p.field, flags);
        }
        let (fields, fields_dropped) = self.field_records(now);
        for f in &fields {
            b.field(f.t, f.kind, f.field);
        }
        let mut t = b.finish();
        t.dropped[0] = t.dropped[0].saturating_add(self.pointer_dropped);
        t.dropped[1] = t.dropped[1].saturating_add(self.keys_dropped);
        t.dropped[2] = t.dropped[2].saturating_add(fields_dropped);
        t.targets = self
            .targets
            .iter()
            .map(|tg| {
                let [x, y, w, h] = tg.rect.unwrap_or_default();
                TargetBox {
                    role: tg.role,
                    x: px_to_units(x),
                    y: px_to_units(y),
                    w: px_to_units(w),
                    h: px_to_units(h),
                }
            })
            .collect();
        t.probes = self.probes.clone();
        let opt_ticks = |v: Option<f64>| v.map_or(0, |ms| ms_to_ticks(ms).max(1));
        t.page = PageTimes {
            start_since_nav: ms_to_ticks(self.start),
            first_input: opt_ticks(self.first_input),
            submit: opt_ticks(self.submit),
            visibility_changes: self.visibility_changes,
        };
        t
    }
}

impl State {
    /// Field records as [`Self::snapshot`] lists them (recorded events, then AUTOFILL for fields
    /// holding a value nobody typed, pasted or input: filled before the listeners ran), capped,
    /// and how many were dropped.
    fn field_records(&self, now: f64) -> (Vec<FieldSample>, u32) {
        let mut out = self.fields.clone();
        for (i, tg) in self.targets.iter().enumerate() {
            if tg.has_value && !tg.touched {
                out.push(FieldSample {
                    t: now,
                    kind: field_kind::AUTOFILL,
                    field: i as u8,
                });
            }
        }
        let over = out.len().saturating_sub(MAX_FIELD_EVENTS);
        out.truncate(MAX_FIELD_EVENTS);
        (out, self.fields_dropped.saturating_add(over as u32))
    }

    /// Write the telemetry of [`Self::snapshot`] (with `fingerprint`) straight into a postcard
    /// writer: the browser build never materialises a `Telemetry` (no builder, no record
    /// vectors, no drop glue). `encode_matches_snapshot` checks byte equality.
    pub fn encode(&self, now: f64, fingerprint: &[u8], w: &mut Writer) {
        let now = self.rel(now);
        let opt_ticks = |v: Option<f64>| v.map_or(0, |ms| ms_to_ticks(ms).max(1));
        w.u16(SCHEMA);
        w.u16(PROBE_SCHEMA);
        w.page(&PageTimes {
            start_since_nav: ms_to_ticks(self.start),
            first_input: opt_ticks(self.first_input),
            submit: opt_ticks(self.submit),
            visibility_changes: self.visibility_changes,
        });
        // Pointer records, collecting the aux records on the way (written after `dropped`).
        let mut aux = Writer::default();
        let mut n_aux = 0u64;
        let mut last_aux: Option<(u32, [u32; 4])> = None;
        let (mut lt, mut lx, mut ly) = (0u32, 0i32, 0i32);
        w.varint(self.pointer.len() as u64);
        for (i, s) in self.pointer.iter().enumerate() {
            let t = ms_to_ticks(s.t).max(lt);
            let (ux, uy) = (px_to_units(s.x), px_to_units(s.y));
            w.pointer(&PointerRec {
                dt: t - lt,
                kind: s.kind,
                dx: ux.wrapping_sub(lx),
                dy: uy.wrapping_sub(ly),
                buttons: s.buttons,
                ptype: s.ptype,
                pressure: (f64::from(s.pressure.clamp(0.0, 1.0)) * 255.0 + 0.5) as u8,
                flags: s.flags,
            });
            (lt, lx, ly) = (t, ux, uy);
            let units = |v: f64| px_to_units(v).max(0) as u32;
            let a = [
                px_to_units(s.sx) as u32,
                px_to_units(s.sy) as u32,
                units(s.w),
                units(s.h),
            ];
            let prev = match last_aux {
                Some((_, p)) if p == a => continue,
                Some((pi, _)) => pi,
                None => 0,
            };
            if n_aux < MAX_POINTER_AUX as u64 {
                aux.aux(&PointerAux {
                    di: i as u32 - prev,
                    sx: a[0] as i32,
                    sy: a[1] as i32,
                    w: a[2],
                    h: a[3],
                });
                n_aux += 1;
                last_aux = Some((i as u32, a));
            }
        }
        w.varint(self.presses.len() as u64);
        let mut lt = 0u32;
        for p in &self.presses {
            let (up, flags) = match p.up {
                Some(up) => (up, p.flags),
                None => (now.max(p.down), p.flags | key_flags::UNRELEASED),
            };
            let t = ms_to_ticks(p.down).max(lt);
            w.key(&KeyRec {
                dt: t - lt,
                hold: ms_to_ticks(up - p.down),
                class: p.class,
                field: p.field,
                flags,
            });
            lt = t;
        }
        let (fields, fields_dropped) = self.field_records(now);
        w.varint(fields.len() as u64);
        let mut lt = 0u32;
        for f in &fields {
            let t = ms_to_ticks(f.t).max(lt);
            w.field(&FieldRec {
                dt: t - lt,
                kind: f.kind,
                field: f.field,
            });
            lt = t;
        }
        w.varint(self.targets.len() as u64);
        for tg in &self.targets {
            let [x, y, bw, bh] = tg.rect.unwrap_or_default();
            w.target(&TargetBox {
                role: tg.role,
                x: px_to_units(x),
                y: px_to_units(y),
                w: px_to_units(bw),
                h: px_to_units(bh),
            });
        }
        w.varint(self.probes.len() as u64);
        for p in &self.probes {
            w.probe(p);
        }
        w.bytes(fingerprint);
        w.u32(self.pointer_dropped);
        w.u32(self.keys_dropped);
        w.u32(fields_dropped);
        w.varint(n_aux);
        w.out.extend_from_slice(&aux.out);
        w.varint(self.scroll.len() as u64);
        let (mut lt, mut sx, mut sy) = (0u32, 0i32, 0i32);
        for s in &self.scroll {
            let t = ms_to_ticks(s.t).max(lt);
            let (kind, dx, dy) = if s.mode == 255 {
                let (ux, uy) = (px_to_units(s.a), px_to_units(s.b));
                let d = (ux.wrapping_sub(sx), uy.wrapping_sub(sy));
                (sx, sy) = (ux, uy);
                (scroll_kind::SCROLL, d.0, d.1)
            } else {
                (
                    scroll_kind::WHEEL_PIXEL + s.mode,
                    px_to_units(s.a),
                    px_to_units(s.b),
                )
            };
            w.scroll(&ScrollRec {
                dt: t - lt,
                kind,
                dx,
                dy,
            });
            lt = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_class_of as kc;
    use tollgate_protocol::telemetry::{
        key_class, pointer_flags, pointer_kind, pointer_type, role,
    };

    fn ptr(t: f64, kind: u8, x: f64) -> PtrSample {
        PtrSample {
            t,
            kind,
            x,
            ptype: pointer_type::MOUSE,
            flags: pointer_flags::TRUSTED,
            w: 1.0,
            h: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn keys_pair_by_slot_or_class_and_keep_no_key_values() {
        let mut s = State::new(1000.0);
        let user = s.register_target(role::USERNAME);
        s.key_down(1100.0, kc("a"), user, key_flags::TRUSTED, 1);
        s.key_down(1150.0, kc("b"), user, key_flags::TRUSTED, 2);
        s.key_up(1180.0, kc("b"), 2); // rollover, released in reverse order: slots pair them
        s.key_up(1230.0, kc("a"), 1);
        s.key_down(1300.0, kc("Shift"), user, key_flags::TRUSTED, 3);
        s.key_down(
            1310.0,
            kc("Shift"),
            user,
            key_flags::TRUSTED | key_flags::REPEAT,
            3,
        ); // auto-repeat
        s.key_down(1320.0, kc("Enter"), user, key_flags::TRUSTED, 4); // submit before keyup
        // Unknown slots (soft keyboards): first down, first up within a class.
        s.key_down(1330.0, kc("x"), user, key_flags::TRUSTED, 0);
        s.key_down(1335.0, kc("y"), user, key_flags::TRUSTED, 0);
        s.key_up(1340.0, kc("y"), 0);
        let t = s.snapshot(1400.0);
        let ks = t.key_samples();
        assert_eq!(ks.len(), 6);
        assert!((ks[0].t_down_ms - 100.0).abs() < 1e-9 && (ks[0].t_up_ms - 230.0).abs() < 1e-9);
        assert!((ks[1].t_down_ms - 150.0).abs() < 1e-9 && (ks[1].t_up_ms - 180.0).abs() < 1e-9);
        assert_eq!(ks[2].class, key_class::SHIFT);
        assert_ne!(ks[2].flags & key_flags::REPEAT, 0);
        assert_ne!(ks[3].flags & key_flags::UNRELEASED, 0);
        assert!((ks[3].t_up_ms - 400.0).abs() < 1e-9);
        assert!((ks[4].t_up_ms - 340.0).abs() < 1e-9, "{:?}", ks[4]);
        assert_ne!(ks[5].flags & key_flags::UNRELEASED, 0);
        assert_eq!(t.page.first_input, 1000);
        // The snapshot did not consume anything.
        assert_eq!(s.snapshot(1500.0).keys.len(), 6);
    }

    #[test]
    fn autofill_detection() {
        let mut s = State::new(0.0);
        let user = s.register_target(role::USERNAME);
        let pass = s.register_target(role::PASSWORD);
        let other = s.register_target(role::OTHER);
        // typed input is not autofill
        s.key_down(10.0, kc("x"), user, key_flags::TRUSTED, 1);
        s.input(12.0, user, input_how::INSERT_TEXT);
        s.key_up(40.0, kc("x"), 1);
        // value appearing with no key press is
        s.input(500.0, pass, input_how::OTHER);
        s.input(501.0, pass, input_how::OTHER); // noted once
        // paste is not
        s.field_event(700.0, field_kind::PASTE, user);
        s.input(701.0, user, input_how::EXPLAINED);
        // a value present at token time in an untouched field is
        s.set_box(other, 1.0, 2.0, 3.0, 4.0, true);
        let t = s.snapshot(900.0);
        let kinds = |kind: u8| -> Vec<u8> {
            t.field_samples()
                .iter()
                .filter(|(_, f)| f.kind == kind)
                .map(|(_, f)| f.field)
                .collect()
        };
        assert_eq!(kinds(field_kind::AUTOFILL), alloc::vec![pass, other]);
        assert!(kinds(field_kind::INSERTED).is_empty());
        assert_eq!(t.targets[2].w, 24);
    }

    #[test]
    fn inserted_text_without_a_keystroke() {
        let mut s = State::new(0.0);
        let user = s.register_target(role::USERNAME);
        let pass = s.register_target(role::PASSWORD);
        // `fill()`: the whole value in one trusted insertText, no keydown; noted once per field.
        s.input(100.0, user, input_how::INSERT_TEXT);
        s.input(101.0, user, input_how::INSERT_TEXT);
        // a keystroke's own insertText is typing
        s.key_down(300.0, kc("x"), pass, key_flags::TRUSTED, 1);
        s.input(302.0, pass, input_how::INSERT_TEXT);
        s.key_up(330.0, kc("x"), 1);
        // after typing in it, a later keyless insertion is noted again
        s.input(2000.0, pass, input_how::INSERT_TEXT);
        let t = s.snapshot(3000.0);
        let inserted: Vec<(u8, f64)> = t
            .field_samples()
            .iter()
            .filter(|(_, f)| f.kind == field_kind::INSERTED)
            .map(|(at, f)| (f.field, *at))
            .collect();
        assert_eq!(inserted, alloc::vec![(user, 100.0), (pass, 2000.0)]);
        assert!(
            !t.field_samples()
                .iter()
                .any(|(_, f)| f.kind == field_kind::AUTOFILL)
        );
    }

    #[test]
    fn pointer_ring_keeps_newest_aux_and_scroll() {
        let mut s = State::new(0.0);
        for i in 0..(MAX_POINTER + 10) {
            let mut p = ptr(i as f64 * 10.0, pointer_kind::MOVE, i as f64);
            p.sx = 5.0;
            p.sy = if i < MAX_POINTER { 80.0 } else { 90.0 };
            s.pointer(p);
        }
        s.scroll(20.0, 0.0, 100.0);
        s.wheel(21.0, 0, 0.0, 53.0);
        s.scroll(30.0, 0.0, 150.0);
        let t = s.snapshot(1e9);
        assert_eq!(t.pointer.len(), MAX_POINTER);
        assert_eq!(t.dropped[0], 10);
        let ps = t.pointer_samples();
        assert!((ps[0].x - 10.0).abs() < 1e-9);
        // Screen offset and contact size: one aux record, plus one where the offset changed.
        assert_eq!(t.pointer_aux.len(), 2, "{:?}", t.pointer_aux);
        let aux = t.pointer_aux_per_record();
        assert_eq!(aux[0], Some((5.0, 80.0, 1.0, 1.0)));
        assert_eq!(aux[MAX_POINTER - 1], Some((5.0, 90.0, 1.0, 1.0)));
        let sc = t.scroll_samples();
        assert_eq!(sc.len(), 3);
        assert_eq!((sc[2].2, sc[2].3), (0.0, 150.0));
        assert_eq!((sc[1].2, sc[1].3), (0.0, 53.0));
        t.check_limits().unwrap();
    }

    #[test]
    fn caps_hold() {
        let mut s = State::new(0.0);
        for i in 0..(MAX_KEYS + 3) {
            s.key_down(i as f64, kc("a"), NO_FIELD, key_flags::TRUSTED, 0);
        }
        for i in 0..(MAX_FIELD_EVENTS + 3) {
            s.input(i as f64, NO_FIELD, input_how::OTHER);
        }
        for i in 0..(MAX_SCROLL + 3) {
            s.scroll(i as f64, 0.0, i as f64);
        }
        s.field_event(1e6, field_kind::SUBMIT, NO_FIELD);
        for i in 0..20 {
            assert!(s.register_target(role::OTHER) != NO_FIELD || i >= MAX_TARGETS);
        }
        for id in 0..300 {
            s.set_probe(id, ProbeValue::Int(1));
        }
        let t = s.snapshot(2e6);
        t.check_limits().unwrap();
        assert_eq!(t.dropped[1], 3);
        assert_eq!(t.fields.last().unwrap().kind, field_kind::SUBMIT);
        assert!(t.page.submit > 0);
    }
}
