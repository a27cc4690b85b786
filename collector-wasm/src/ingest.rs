//! The loader's typed-array logs → [`State`] → `Telemetry`.
//!
//! The loader's event listeners only append numbers to typed arrays (no wasm call per event);
//! when a token is built it hands them over in one call ([`crate::seal`]), packed into one
//! `Float64Array`: `[len(meta), len(ptr), len(ev), len(targets), len(probes), meta…, ptr…, ev…,
//! targets…, probes…]` ([`Logs::unpack`]). Layouts (all `f64`):
//!
//! - `meta`: `[start_ms, now_ms, solve_ms, workers, solver, hashes, ptr_dropped, ev_dropped]`.
//! - `ptr`, [`PTR_STRIDE`] values per pointer sample, oldest first:
//!   `[timeStamp, meta, clientX, clientY, screenX−clientX, screenY−clientY, pressure, width,
//!   height, 0]` with `meta = kind | ptype << 3 | flags << 5 | buttons << 8`.
//! - `ev`, [`EV_STRIDE`] values per event: `[timeStamp, type, a, b]`, types [`ev`].
//! - `targets`, [`TARGET_STRIDE`] values per registered field/button, in target-index order:
//!   `[role, x, y, w, h, has_value]`.
//! - `probes`, [`PROBE_STRIDE`] values per probe: `[id, kind, number]`, kinds [`probe_kind`];
//!   `Str`/`Error` probes take the next string of `strs`.
//! - `strs`: `origin ␀ action ␀ cdata ␀ fingerprint-source ␀ probe strings…`.

use alloc::string::String;
use alloc::vec::Vec;

use tollgate_protocol::telemetry::{MAX_PROBE_STR, ProbeValue, Telemetry, key_flags};

use crate::state::{PtrSample, State};

pub const PTR_STRIDE: usize = 10;
pub const EV_STRIDE: usize = 4;
pub const TARGET_STRIDE: usize = 6;
pub const PROBE_STRIDE: usize = 3;

/// The packed word of a pointer record (its second number): `kind | type << PTR_TYPE_SHIFT |
/// flags << PTR_FLAGS_SHIFT | buttons << PTR_BUTTONS_SHIFT` (3, 2, 3 and 8 bits).
pub const PTR_TYPE_SHIFT: u32 = 3;
pub const PTR_FLAGS_SHIFT: u32 = 5;
pub const PTR_BUTTONS_SHIFT: u32 = 8;
/// Key records carry a second byte: `a = class | key_flags << KEY_HI_SHIFT`, `b = field | slot <<
/// KEY_HI_SHIFT`.
pub const KEY_HI_SHIFT: u32 = 8;

/// Event types of the `ev` log.
pub mod ev {
    /// `a = class | flags << 8` (`key_flags` TRUSTED, REPEAT, SHIFT_MISMATCH), `b = field | slot << 8`
    /// ([`super::KEY_HI_SHIFT`]).
    pub const KEY_DOWN: u8 = 1;
    /// `a = class`, `b = slot << 8`.
    pub const KEY_UP: u8 = 2;
    /// Window blur / page hidden: close held keys.
    pub const RELEASE: u8 = 3;
    /// `a = field_kind`, `b = field`.
    pub const FIELD: u8 = 4;
    /// `input` event: `a` one of [`super::input_how`] (the collector records it as given), `b =
    /// field`.
    pub const INPUT: u8 = 5;
    /// Window scroll position: `a = scrollX`, `b = scrollY`.
    pub const SCROLL: u8 = 6;
    /// Wheel deltas in `deltaMode` 0, 1, 2: types 7, 8, 9; `a = deltaX`, `b = deltaY`.
    pub const WHEEL: u8 = 7;
}

/// What an `input` event (`ev::INPUT`) was, from its `inputType` and `isTrusted` (never its data):
/// the field kind to record when it changed the value with no keystroke just before it, or
/// `EXPLAINED`.
pub mod input_how {
    use tollgate_protocol::telemetry::field_kind;

    /// Anything else: typing (whose keydown came first), composition, an untrusted event, a
    /// browser's autofill (a plain `Event` or another input type). Keyless: AUTOFILL.
    pub const OTHER: u8 = field_kind::AUTOFILL;
    /// A deletion, undo/redo, paste or drop: explained without a keystroke.
    pub const EXPLAINED: u8 = 1;
    /// A trusted `InputEvent` of type `insertText`: a keystroke's, or text inserted with none
    /// (DevTools' `Input.insertText`). Keyless: INSERTED.
    pub const INSERT_TEXT: u8 = field_kind::INSERTED;
}

/// Probe value kinds in the `probes` log.
pub mod probe_kind {
    pub const BOOL: u8 = 0;
    pub const INT: u8 = 1;
    pub const NUM: u8 = 2;
    pub const STR: u8 = 3;
    pub const ERROR: u8 = 4;
    pub const ABSENT: u8 = 5;
}

/// Truncate to the protocol's probe string cap on a char boundary.
pub fn clip(s: &str) -> String {
    let mut end = s.len().min(MAX_PROBE_STR);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    String::from(&s[..end])
}

/// `f64` → small integer field (saturating; NaN → 0).
fn b(v: f64) -> u8 {
    v as u8
}

/// The loader's logs.
#[derive(Debug, Clone, Copy)]
pub struct Logs<'a> {
    pub meta: &'a [f64],
    pub ptr: &'a [f64],
    pub ev: &'a [f64],
    pub targets: &'a [f64],
    pub probes: &'a [f64],
    pub strs: &'a str,
}

/// Context strings and the fingerprint source from `strs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    pub origin: &'a str,
    pub action: &'a str,
    pub cdata: &'a str,
}

impl<'a> Logs<'a> {
    /// Split the packed array (lengths first; a short or inconsistent array gives empty logs
    /// from the point where it stops adding up).
    pub fn unpack(packed: &'a [f64], strs: &'a str) -> Self {
        let (lens, mut rest) = packed.split_at(packed.len().min(5));
        let mut take = |i: usize| {
            let n = lens.get(i).map_or(0, |&n| n as usize).min(rest.len());
            let (a, b) = rest.split_at(n);
            rest = b;
            a
        };
        Logs {
            meta: take(0),
            ptr: take(1),
            ev: take(2),
            targets: take(3),
            probes: take(4),
            strs,
        }
    }

    pub fn meta(&self, i: usize) -> f64 {
        self.meta.get(i).copied().unwrap_or(0.0)
    }

    /// Replay everything into a [`State`]; also the context strings and the fingerprint (the
    /// keyed hash of the loader's fingerprint sources; empty without sources).
    pub fn state(&self) -> (State, Context<'_>, Vec<u8>) {
        let mut st = State::new(self.meta(0));
        for t in self.targets.chunks_exact(TARGET_STRIDE) {
            let i = st.register_target(b(t[0]));
            st.set_box(i, t[1], t[2], t[3], t[4], t[5] != 0.0);
        }
        for p in self.ptr.chunks_exact(PTR_STRIDE) {
            let m = p[1] as u32;
            st.pointer(PtrSample {
                t: p[0],
                kind: (m & ((1 << PTR_TYPE_SHIFT) - 1)) as u8,
                ptype: ((m >> PTR_TYPE_SHIFT) & ((1 << (PTR_FLAGS_SHIFT - PTR_TYPE_SHIFT)) - 1))
                    as u8,
                flags: ((m >> PTR_FLAGS_SHIFT) & ((1 << (PTR_BUTTONS_SHIFT - PTR_FLAGS_SHIFT)) - 1))
                    as u8,
                buttons: (m >> PTR_BUTTONS_SHIFT) as u8,
                x: p[2],
                y: p[3],
                sx: p[4],
                sy: p[5],
                pressure: p[6] as f32,
                w: p[7],
                h: p[8],
            });
        }
        for e in self.ev.chunks_exact(EV_STRIDE) {
            let (ts, a, bb) = (e[0], e[2] as u32, e[3] as u32);
            match b(e[1]) {
                ev::KEY_DOWN => st.key_down(
                    ts,
                    a as u8,
                    bb as u8,
                    (a >> KEY_HI_SHIFT) as u8
                        & (key_flags::TRUSTED | key_flags::REPEAT | key_flags::SHIFT_MISMATCH),
                    (bb >> KEY_HI_SHIFT) as u8,
                ),
                ev::KEY_UP => st.key_up(ts, a as u8, (bb >> KEY_HI_SHIFT) as u8),
                ev::RELEASE => st.release_all(ts),
                ev::FIELD => st.field_event(ts, a as u8, bb as u8),
                ev::INPUT => st.input(ts, bb as u8, a as u8),
                ev::SCROLL => st.scroll(ts, e[2], e[3]),
                t @ 7..=9 => st.wheel(ts, t - ev::WHEEL, e[2], e[3]),
                _ => {}
            }
        }
        st.add_dropped(self.meta(6) as u32, self.meta(7) as u32);

        // The strings, split on NUL by hand (`str::split` brings a slice-index panic path and with
        // it `core::fmt` into the browser build).
        let mut rest = self.strs;
        let mut next = || {
            let end = rest.bytes().position(|c| c == 0).unwrap_or(rest.len());
            let s = rest.get(..end).unwrap_or("");
            rest = rest.get(end + 1..).unwrap_or("");
            s
        };
        let ctx = Context {
            origin: next(),
            action: next(),
            cdata: next(),
        };
        let fp_source = next();
        for p in self.probes.chunks_exact(PROBE_STRIDE) {
            let n = p[2];
            let v = match b(p[1]) {
                probe_kind::BOOL => ProbeValue::Bool(n != 0.0),
                probe_kind::INT => ProbeValue::Int(n as i64),
                probe_kind::NUM => ProbeValue::Num(n),
                probe_kind::STR => ProbeValue::Str(clip(next())),
                probe_kind::ERROR => ProbeValue::Error(clip(next())),
                _ => ProbeValue::Absent,
            };
            st.set_probe(p[0] as u16, v);
        }
        let fingerprint = if fp_source.is_empty() {
            Vec::new()
        } else {
            let h = tollgate_protocol::sha::hmac_sha256(
                b"tollgate/fingerprint/v1",
                &[fp_source.as_bytes()],
            );
            h[..16].to_vec()
        };
        (st, ctx, fingerprint)
    }

    /// The telemetry a token built from these logs carries (tests and tools; the browser build
    /// encodes straight from the [`State`]).
    pub fn telemetry(&self) -> (Telemetry, Context<'_>) {
        let (st, ctx, fingerprint) = self.state();
        let mut t = st.snapshot(self.meta(1));
        t.fingerprint = fingerprint;
        (t, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_protocol::telemetry::{field_kind, key_flags, pointer_kind, probe, role};

    #[test]
    fn logs_replay_into_telemetry() {
        let meta = [1000.0, 2000.0, 0.0, 0.0, 0.0, 0.0, 3.0, 1.0];
        // move (mouse, trusted) then a press with pressure 0.5
        let ptr = [
            1100.0,
            f64::from(1 | 1 << 5),
            10.0,
            20.0,
            8.0,
            80.0,
            0.0,
            1.0,
            1.0,
            0.0, //
            1200.0,
            f64::from(1 | 1 | 1 << 5 | 1 << 8),
            12.0,
            22.0,
            8.0,
            80.0,
            0.5,
            1.0,
            1.0,
            0.0,
        ];
        let ev = [
            1150.0,
            4.0,
            f64::from(field_kind::FOCUS),
            0.0, //
            1300.0,
            1.0,
            f64::from(0x100 | u32::from(key_flags::SHIFT_MISMATCH) << 8),
            f64::from(7 << 8), // key down (trusted, Shift mismatch), field 0, slot 7
            1301.0,
            5.0,
            f64::from(input_how::OTHER),
            0.0, // input, typed
            1380.0,
            2.0,
            0.0,
            f64::from(7 << 8), // key up slot 7
            1390.0,
            6.0,
            0.0,
            40.0, // scroll
            1391.0,
            8.0,
            0.0,
            3.0, // wheel in lines
            1395.0,
            5.0,
            f64::from(input_how::INSERT_TEXT),
            1.0, // keyless insertText into field 1: INSERTED, then INPUT
            1400.0,
            4.0,
            f64::from(field_kind::CLICK_NO_POINTER),
            1.0, //
        ];
        let targets = [
            f64::from(role::USERNAME),
            1.0,
            2.0,
            100.0,
            20.0,
            1.0, //
            f64::from(role::SUBMIT),
            1.0,
            30.0,
            50.0,
            20.0,
            0.0,
        ];
        let probes = [
            f64::from(probe::WEBDRIVER),
            0.0,
            1.0, //
            f64::from(probe::USER_AGENT),
            3.0,
            0.0, //
            f64::from(probe::PLATFORM),
            4.0,
            0.0, //
            f64::from(probe::HARDWARE_CONCURRENCY),
            1.0,
            8.0, //
            f64::from(probe::DEVICE_MEMORY),
            5.0,
            0.0,
        ];
        let strs = "http://x\0login\0\0canvas|webgl\0Mozilla/5.0 é\0TypeError: nope";
        let logs = Logs {
            meta: &meta,
            ptr: &ptr,
            ev: &ev,
            targets: &targets,
            probes: &probes,
            strs,
        };
        let (t, ctx) = logs.telemetry();
        assert_eq!(
            (ctx.origin, ctx.action, ctx.cdata),
            ("http://x", "login", "")
        );
        let ps = t.pointer_samples();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[1].kind, pointer_kind::DOWN);
        assert_eq!(ps[1].buttons, 1);
        assert!((ps[1].pressure - 0.5).abs() < 0.01);
        assert!(ps[0].trusted);
        assert_eq!(t.pointer_aux_per_record()[1], Some((8.0, 80.0, 1.0, 1.0)));
        let ks = t.key_samples();
        assert_eq!(ks.len(), 1);
        assert!((ks[0].t_up_ms - ks[0].t_down_ms - 80.0).abs() < 1e-9);
        assert_ne!(ks[0].flags & key_flags::TRUSTED, 0);
        assert_ne!(ks[0].flags & key_flags::SHIFT_MISMATCH, 0);
        assert_eq!(t.scroll.len(), 2);
        let kinds: Vec<(u8, u8)> = t
            .fields
            .iter()
            .rev()
            .take(3)
            .map(|f| (f.kind, f.field))
            .collect();
        assert_eq!(
            kinds,
            [
                (field_kind::CLICK_NO_POINTER, 1),
                (field_kind::INPUT, 1),
                (field_kind::INSERTED, 1)
            ]
        );
        assert_eq!(t.probe(probe::WEBDRIVER), Some(&ProbeValue::Bool(true)));
        assert_eq!(
            t.probe(probe::USER_AGENT),
            Some(&ProbeValue::Str("Mozilla/5.0 é".into()))
        );
        assert_eq!(
            t.probe(probe::PLATFORM),
            Some(&ProbeValue::Error("TypeError: nope".into()))
        );
        assert_eq!(
            t.probe(probe::HARDWARE_CONCURRENCY),
            Some(&ProbeValue::Int(8))
        );
        assert_eq!(t.probe(probe::DEVICE_MEMORY), Some(&ProbeValue::Absent));
        assert_eq!(t.fingerprint.len(), 16);
        assert_eq!((t.dropped[0], t.dropped[2]), (3, 1));
        assert_eq!(t.targets.len(), 2);
        t.check_limits().unwrap();
    }

    /// The streaming encoder (`State::encode`, used by the browser build) writes exactly the
    /// bytes of the reference path (snapshot → `Telemetry` → postcard) on pseudo-random logs.
    #[test]
    fn streaming_encoder_matches_the_reference() {
        use crate::solver::tests::challenge;
        use crate::token::{TokenInput, seal_state, seal_token};
        use tollgate_protocol::SolveStats;
        let wire = challenge(2, 4);
        let sols = tollgate_protocol::pow::solve_all(
            &wire,
            tollgate_protocol::challenge::PowParams { k: 2, bits: 4 },
        )
        .unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..60 {
            let n_ptr = [0, 3, 40, 1600][round % 4];
            let mut ptr = Vec::new();
            let mut t = 1000.0;
            for _ in 0..n_ptr {
                t += rnd(300) as f64 / 10.0;
                let meta = rnd(6) | rnd(4) << 3 | rnd(4) << 5 | rnd(3) << 8;
                let sy = if rnd(10) == 0 { 90.0 } else { 80.0 };
                ptr.extend_from_slice(&[
                    t,
                    meta as f64,
                    (rnd(1600) as f64 - 800.0) / 8.0 + 400.0,
                    rnd(900) as f64 / 16.0,
                    8.0,
                    sy,
                    rnd(100) as f64 / 99.0,
                    if rnd(20) == 0 { 2.0 } else { 1.0 },
                    1.0,
                    0.0,
                ]);
            }
            let mut ev = Vec::new();
            let mut t = 900.0;
            for _ in 0..rnd(500) {
                t += rnd(2000) as f64 / 10.0;
                let ty = 1 + rnd(9);
                let (a, b) = match ty {
                    1 => (rnd(8) | rnd(4) << 8, rnd(4) | rnd(5) << 8),
                    2 => (rnd(8), rnd(5) << 8),
                    4 => (rnd(9), if rnd(3) == 0 { 255 } else { rnd(4) }),
                    5 => (rnd(2), rnd(4)),
                    _ => (rnd(2000), rnd(2000)),
                };
                ev.extend_from_slice(&[t, ty as f64, a as f64, b as f64]);
            }
            let mut targets = Vec::new();
            for i in 0..rnd(5) {
                targets.extend_from_slice(&[i as f64, 1.0, 2.5, 100.0, 20.0, rnd(2) as f64]);
            }
            let probes = [
                1.0, 0.0, 1.0, 2.0, 3.0, 0.0, 6.0, 1.0, 8.0, 7.0, 2.0, 0.5, 3.0, 4.0, 0.0, 7.0,
                5.0, 0.0,
            ];
            let strs = if round % 2 == 0 {
                "o\0a\0c\0fp\0ua\0err"
            } else {
                "o\0a\0c\0\0ua\0err"
            };
            let meta = [
                950.0,
                t + 10.0,
                12.0,
                2.0,
                1.0,
                999.0,
                rnd(3) as f64,
                rnd(3) as f64,
            ];
            let logs = Logs {
                meta: &meta,
                ptr: &ptr,
                ev: &ev,
                targets: &targets,
                probes: &probes,
                strs,
            };
            let (st, ctx, fp) = logs.state();
            let input = TokenInput {
                challenge: &wire,
                token_key: &[7; 32],
                solutions: &sols,
                solve: SolveStats {
                    duration_ms: 12,
                    workers: 2,
                    solver: 1,
                    hashes: 999,
                },
                origin: ctx.origin,
                action: ctx.action,
                cdata: ctx.cdata,
            };
            let mut t = st.snapshot(meta[1]);
            t.fingerprint = fp.clone();
            let reference = seal_token(&input, t);
            assert_eq!(
                seal_state(&input, &st, meta[1], &fp),
                reference,
                "round {round}"
            );
            if round % 4 != 3 {
                assert!(reference.is_ok(), "round {round}");
            }
        }
    }

    #[test]
    fn unpack_splits_by_the_leading_lengths() {
        let packed = [
            2.0, 1.0, 0.0, 3.0, 9.0, 10.0, 11.0, 20.0, 40.0, 41.0, 42.0, 50.0,
        ];
        let l = Logs::unpack(&packed, "");
        assert_eq!(l.meta, &[10.0, 11.0]);
        assert_eq!(l.ptr, &[20.0]);
        assert!(l.ev.is_empty());
        assert_eq!(l.targets, &[40.0, 41.0, 42.0]);
        assert_eq!(l.probes, &[50.0]); // claimed 9, only 1 left
        for junk in [
            &[][..],
            &[f64::NAN; 3][..],
            &[1e300, -5.0, 2.0, 0.0, 0.0, 1.0][..],
        ] {
            let l = Logs::unpack(junk, "x");
            let (t, _) = l.telemetry();
            t.check_limits().unwrap();
        }
    }

    #[test]
    fn garbage_does_not_panic() {
        let junk = [
            f64::NAN,
            f64::INFINITY,
            -1e300,
            1e300,
            -0.0,
            255.0,
            9.0,
            7.0,
            1.0,
            2.0,
            3.0,
        ];
        for n in 0..junk.len() {
            let s = &junk[..n];
            let logs = Logs {
                meta: s,
                ptr: s,
                ev: s,
                targets: s,
                probes: s,
                strs: "\0\0",
            };
            let (t, _) = logs.telemetry();
            t.check_limits().unwrap();
        }
        assert_eq!(clip(&"é".repeat(MAX_PROBE_STR)).len(), MAX_PROBE_STR);
    }
}
