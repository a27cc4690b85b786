//! Deterministic telemetry sessions (synthetic fixtures, not training data).

use tollgate_protocol::telemetry::{
    Probe, ProbeValue, SUBPIXEL, TargetBox, Telemetry, TelemetryBuilder, field_kind, key_class,
    key_flags, pointer_flags, pointer_kind, pointer_type, role,
};

use crate::Rng;

/// The seed of [`TelemetrySpec::human_login`].
pub const HUMAN_LOGIN_SEED: u64 = 0x2545_f491_4f6c_dd1d;

#[derive(Debug, Clone)]
enum Shape {
    None,
    ShortHuman {
        dx: f64,
        click: bool,
    },
    Human {
        seed: u64,
    },
    Bow {
        offset: f64,
    },
    TimerLogin {
        period_ms: f64,
        coalesced: bool,
    },
    LongLogin {
        seed: u64,
        /// The credential fields' and the button's boxes in `targets`.
        boxed: bool,
        /// The password field focused with no press on it (`unprompted-focus`).
        scripted_focus: bool,
        /// Each field filled by one keyless insertion instead of typed (`inserted-text`).
        filled: bool,
        /// Move samples per ~16 ms frame: 1 (a 60 Hz mouse) or 2 (125 Hz, coalesced).
        per_frame: u32,
    },
    BotLinear {
        moves: u16,
        step_ms: f64,
    },
    BotKeys {
        keys: u16,
        gap_ms: f64,
        trusted: bool,
    },
}

/// A telemetry session to build: one of the shapes below, then optionally a fingerprint and
/// environment probes. [`TelemetrySpec::build`] is deterministic (same spec, same records).
///
/// ```
/// use tollgate_protocol::telemetry::{ProbeValue, probe};
/// let t = tollgate_testkit::TelemetrySpec::short_human(0.0)
///     .fingerprint(vec![1; 16])
///     .probe(probe::WEBDRIVER, ProbeValue::Bool(false))
///     .build();
/// assert_eq!((t.pointer.len(), t.keys.len(), t.probes.len()), (27, 6, 1));
/// ```
#[derive(Debug, Clone)]
pub struct TelemetrySpec {
    shape: Shape,
    fingerprint: Option<Vec<u8>>,
    probes: Vec<Probe>,
}

impl TelemetrySpec {
    fn of(shape: Shape) -> Self {
        Self {
            shape,
            fingerprint: None,
            probes: Vec::new(),
        }
    }

    /// No behaviour at all (what a page without interaction sends).
    pub fn none() -> Self {
        Self::of(Shape::None)
    }

    /// A short human-looking session: 25 trusted mouse moves at jittered ~16 ms frames along a
    /// gentle diagonal shifted right by `dx` px (so sessions do not share a trace shape unless
    /// the caller wants them to), a click with a 90 ms dwell, then six typed keys.
    pub fn short_human(dx: f64) -> Self {
        Self::of(Shape::ShortHuman { dx, click: true })
    }

    /// A human-like login: two aimed mouse movements with bell-shaped (minimum-jerk) speed,
    /// a slight arc and frame-locked timing with jitter and the odd dropped frame; a click with
    /// a realistic dwell; fourteen keys with varied holds and flights (one long pause). The
    /// noise comes from `seed`.
    pub fn human(seed: u64) -> Self {
        Self::of(Shape::Human { seed })
    }

    /// [`TelemetrySpec::human`] with [`HUMAN_LOGIN_SEED`]: the login the scoring and API tests
    /// expect to be allowed (62 pointer records, 14 keys).
    pub fn human_login() -> Self {
        Self::human(HUMAN_LOGIN_SEED)
    }

    /// [`TelemetrySpec::human_login`]'s movements, click and keys, but every move sample
    /// `period_ms` after the previous one (± 0.1 ms, on a 0.1 ms clock), as OS-level input
    /// injected from a timer produces (xdotool / XTEST at 60–125 Hz); the moves carry the
    /// coalesced-sample flag when `coalesced` (Chromium's `getCoalescedEvents`), else they are
    /// dispatched events (a browser without coalesced events).
    pub fn timer_login(period_ms: f64, coalesced: bool) -> Self {
        Self::of(Shape::TimerLogin {
            period_ms,
            coalesced,
        })
    }

    /// One long curved stroke (a bow) moved by `offset` px on both axes, plus six typed keys:
    /// the same shape whatever the offset, as a replayed recorded trace would be.
    pub fn bow(offset: f64) -> Self {
        Self::of(Shape::Bow { offset })
    }

    /// A 20-second login's worth of telemetry: nine mouse strokes between three targets at
    /// ~60 Hz (≈ 580 samples), a click after each, 26 typed keys in two fields with their field
    /// events, a submit and a 16-byte fingerprint; noise and timing from `seed`. The load
    /// benchmarks' realistic token.
    pub fn long_login(seed: u64) -> Self {
        Self::of(Shape::LongLogin {
            seed,
            boxed: false,
            scripted_focus: false,
            filled: false,
            per_frame: 1,
        })
    }

    /// [`TelemetrySpec::long_login`] with a 125 Hz mouse: the same strokes over the same time, two
    /// coalesced samples per frame 8 ms apart (1,146 pointer records for seed 1), the token whose
    /// strokes feature extraction reads at frame spacing (`features::pointer::frame_view`).
    pub fn with_fast_mouse(mut self) -> Self {
        if let Shape::LongLogin { per_frame, .. } = &mut self.shape {
            *per_frame = 2;
        }
        self
    }

    /// [`TelemetrySpec::long_login`] with the boxes of its username and password fields and its
    /// button (roles in `targets`, as the collector captures them; no click lands on a centre),
    /// so the field-event rules judge its focuses.
    pub fn with_field_boxes(mut self) -> Self {
        if let Shape::LongLogin { boxed, .. } = &mut self.shape {
            *boxed = true;
        }
        self
    }

    /// [`TelemetrySpec::with_field_boxes`] without the press on the password field: the field
    /// gains the focus while the last press is the username's last key, as when a script
    /// focuses it to type into it (`unprompted-focus`).
    pub fn password_focused_by_script(mut self) -> Self {
        if let Shape::LongLogin {
            boxed,
            scripted_focus,
            ..
        } = &mut self.shape
        {
            (*boxed, *scripted_focus) = (true, true);
        }
        self
    }

    /// [`TelemetrySpec::with_field_boxes`] with each field's text inserted in one go and no key
    /// pressed (an INSERTED record and its `input`), as Playwright's `fill()` enters it after the
    /// click on the field (`inserted-text`).
    pub fn filled_without_keys(mut self) -> Self {
        if let Shape::LongLogin { boxed, filled, .. } = &mut self.shape {
            (*boxed, *filled) = (true, true);
        }
        self
    }

    /// A scripted pointer: `moves` trusted moves one pixel apart in a straight line, `step_ms`
    /// apart in time, then a click at the end with no pressure and no dwell.
    pub fn bot_linear(moves: u16, step_ms: f64) -> Self {
        Self::of(Shape::BotLinear { moves, step_ms })
    }

    /// Scripted typing: `keys` character keys `gap_ms` apart with zero hold time, trusted or not.
    pub fn bot_keys(keys: u16, gap_ms: f64, trusted: bool) -> Self {
        Self::of(Shape::BotKeys {
            keys,
            gap_ms,
            trusted,
        })
    }

    /// Keep the click out of a [`TelemetrySpec::short_human`] session (moves and keys only).
    pub fn without_click(mut self) -> Self {
        if let Shape::ShortHuman { click, .. } = &mut self.shape {
            *click = false;
        }
        self
    }

    /// With this fingerprint (replaces the shape's own, if any).
    pub fn fingerprint(mut self, fingerprint: Vec<u8>) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }

    /// With an environment probe (appended in call order).
    pub fn probe(mut self, id: u16, value: ProbeValue) -> Self {
        self.probes.push(Probe { id, value });
        self
    }

    /// The records, before fingerprint and probes (to add more records).
    pub fn builder(&self) -> TelemetryBuilder {
        match self.shape {
            Shape::None => TelemetryBuilder::new(),
            Shape::ShortHuman { dx, click } => short_human(dx, click),
            Shape::Human { seed } => human(seed),
            Shape::Bow { offset } => bow(offset),
            Shape::TimerLogin {
                period_ms,
                coalesced,
            } => timer_login(period_ms, coalesced),
            Shape::LongLogin {
                seed,
                boxed,
                scripted_focus,
                filled,
                per_frame,
            } => {
                long_login(
                    &mut Rng::new(seed),
                    boxed,
                    scripted_focus,
                    filled,
                    per_frame,
                )
                .0
            }
            Shape::BotLinear { moves, step_ms } => bot_linear(moves, step_ms),
            Shape::BotKeys {
                keys,
                gap_ms,
                trusted,
            } => bot_keys(keys, gap_ms, trusted),
        }
    }

    /// The session.
    pub fn build(&self) -> Telemetry {
        let (mut t, own_fingerprint) = match self.shape {
            Shape::LongLogin {
                seed,
                boxed,
                scripted_focus,
                filled,
                per_frame,
            } => {
                let (b, fp) = long_login(
                    &mut Rng::new(seed),
                    boxed,
                    scripted_focus,
                    filled,
                    per_frame,
                );
                (b.finish(), fp)
            }
            _ => (self.builder().finish(), Vec::new()),
        };
        t.fingerprint = self.fingerprint.clone().unwrap_or(own_fingerprint);
        t.probes.extend(self.probes.iter().cloned());
        t
    }
}

fn mouse(b: &mut TelemetryBuilder, t: f64, kind: u8, x: f64, y: f64, buttons: u8, pressure: f32) {
    b.pointer(
        t,
        kind,
        x,
        y,
        buttons,
        pointer_type::MOUSE,
        pressure,
        pointer_flags::TRUSTED,
    );
}

/// Six trusted character keys 150 ms apart from 900 ms, holds 80–104 ms.
fn six_keys(b: &mut TelemetryBuilder) {
    for i in 0..6 {
        let down = 900.0 + f64::from(i) * 150.0;
        b.key(
            down,
            down + 80.0 + f64::from(i * 9 % 25),
            key_class::CHAR,
            0,
            key_flags::TRUSTED,
        );
    }
}

fn short_human(dx: f64, click: bool) -> TelemetryBuilder {
    let mut b = TelemetryBuilder::new();
    for i in 0..25 {
        let t = 100.0 + f64::from(i) * 16.0 + f64::from(i % 4);
        let (x, y) = (20.0 + dx + f64::from(i) * 5.0, 40.0 + f64::from(i) * 2.0);
        mouse(&mut b, t, pointer_kind::MOVE, x, y, 0, 0.0);
    }
    if click {
        mouse(&mut b, 600.0, pointer_kind::DOWN, 145.0, 90.0, 1, 0.5);
        mouse(&mut b, 690.0, pointer_kind::UP, 145.0, 90.0, 0, 0.0);
    }
    six_keys(&mut b);
    b
}

fn bow(offset: f64) -> TelemetryBuilder {
    let mut b = TelemetryBuilder::new();
    for i in 0..40 {
        let u = f64::from(i) / 39.0;
        let x = 100.0 + offset + 500.0 * u;
        let y = 100.0 + offset + 250.0 * u + 90.0 * (std::f64::consts::PI * u).sin();
        let t = 50.0 + f64::from(i) * 16.0 + f64::from(i % 3);
        mouse(&mut b, t, pointer_kind::MOVE, x, y, 0, 0.0);
    }
    six_keys(&mut b);
    b
}

/// The end of [`human`] and [`timer_login`]: a click where the pointer stopped, then 14 keys
/// (a space at the 7th, a pause after the 10th) into field 0, timed by `rnd`.
fn click_and_type(
    b: &mut TelemetryBuilder,
    pos: (f64, f64),
    mut t: f64,
    rnd: &mut impl FnMut() -> f64,
) {
    let (x, y) = (pos.0.round(), pos.1.round());
    mouse(b, t, pointer_kind::DOWN, x, y, 1, 0.5);
    t += 95.0;
    mouse(b, t, pointer_kind::UP, x, y, 0, 0.0);
    let mut down = t + 900.0;
    for i in 0..14 {
        let hold = 70.0 + rnd() * 70.0;
        let class = if i == 6 {
            key_class::SPACE
        } else {
            key_class::CHAR
        };
        b.key(down, down + hold, class, 0, key_flags::TRUSTED);
        down += 90.0 + rnd() * 220.0 + if i == 9 { 600.0 } else { 0.0 };
    }
}

/// A 60 Hz display frame (ms).
const FRAME_MS: f64 = 1000.0 / 60.0;

fn human(seed: u64) -> TelemetryBuilder {
    let mut b = TelemetryBuilder::new();
    let mut rng = Rng::new(seed);
    let mut rnd = move || rng.unit();
    let mut t = 80.0;
    let mut pos = (40.0f64, 60.0f64);
    // Two reaches, each a primary sub-movement that stops short of the target and a corrective
    // one, with a low-frequency wobble of the hand; one move event per 60 Hz frame, as a browser
    // dispatches them (about a millisecond of jitter, the odd dropped frame).
    for &(tx, ty, n) in &[(420.0f64, 210.0f64, 30), (455.0, 330.0, 15)] {
        let (sx, sy) = pos;
        let reach = 0.9 + 0.05 * rnd();
        let (mx, my) = (
            sx + (tx - sx) * reach,
            sy + (ty - sy) * reach + 6.0 * (rnd() - 0.5),
        );
        let phase = rnd() * std::f64::consts::TAU;
        for (from, to, steps) in [((sx, sy), (mx, my), n), ((mx, my), (tx, ty), n / 3)] {
            for i in 1..=steps {
                let u = f64::from(i) / f64::from(steps);
                let p = 10.0 * u.powi(3) - 15.0 * u.powi(4) + 6.0 * u.powi(5);
                let wob = 4.0 * (phase + 9.0 * u).sin() + 2.0 * (phase * 2.0 + 23.0 * u).sin();
                let arc = 18.0 * (std::f64::consts::PI * p).sin();
                let x = from.0 + (to.0 - from.0) * p - arc * 0.3 + wob * 0.5 + (rnd() - 0.5) * 2.0;
                let y = from.1
                    + (to.1 - from.1) * p
                    + arc * (to.0 - from.0).signum()
                    + wob
                    + (rnd() - 0.5) * 2.0;
                let frames = if rnd() < 0.06 { 2.0 } else { 1.0 };
                t += FRAME_MS * frames + (rnd() - 0.5) * 2.0;
                mouse(&mut b, t, pointer_kind::MOVE, x.round(), y.round(), 0, 0.0);
                pos = (x, y);
            }
            t += 60.0 + rnd() * 140.0;
        }
        t += 120.0 + rnd() * 200.0;
    }
    click_and_type(&mut b, pos, t, &mut rnd);
    b
}

fn timer_login(period_ms: f64, coalesced: bool) -> TelemetryBuilder {
    let mut b = TelemetryBuilder::new();
    let mut rng = Rng::new(HUMAN_LOGIN_SEED);
    let mut rnd = move || rng.unit();
    let flags = pointer_flags::TRUSTED
        | if coalesced {
            pointer_flags::COALESCED
        } else {
            0
        };
    let mut t = 80.0;
    let mut pos = (40.0f64, 60.0f64);
    for &(tx, ty, n) in &[(420.0f64, 210.0f64, 38), (455.0, 330.0, 22)] {
        let (sx, sy) = pos;
        for i in 1..=n {
            let u = f64::from(i) / f64::from(n);
            let p = 10.0 * u.powi(3) - 15.0 * u.powi(4) + 6.0 * u.powi(5);
            let p = p * (1.0 + 0.03 * (std::f64::consts::PI * u).sin());
            let arc = 25.0 * (std::f64::consts::PI * p).sin();
            let x = sx + (tx - sx) * p - arc * 0.3 + (rnd() - 0.5) * 1.5;
            let y = sy + (ty - sy) * p + arc + (rnd() - 0.5) * 1.5;
            t += period_ms + (rnd() - 0.5) * 0.2;
            b.pointer(
                t,
                pointer_kind::MOVE,
                x.round(),
                y.round(),
                0,
                pointer_type::MOUSE,
                0.0,
                flags,
            );
            pos = (x, y);
        }
        t += 180.0 + rnd() * 200.0;
    }
    click_and_type(&mut b, pos, t, &mut rnd);
    b
}

fn long_login(
    rng: &mut Rng,
    boxed: bool,
    scripted_focus: bool,
    filled: bool,
    per_frame: u32,
) -> (TelemetryBuilder, Vec<u8>) {
    let mut tb = TelemetryBuilder::new();
    if boxed {
        // Left of the clicks (420-430 px), as text fields are: no click near a centre.
        for (role, y) in [
            (role::USERNAME, 240.0),
            (role::PASSWORD, 310.0),
            (role::SUBMIT, 380.0),
        ] {
            let px = |v: f64| (v * SUBPIXEL) as i32;
            tb.telemetry.targets.push(TargetBox {
                role,
                x: px(300.0),
                y: px(y),
                w: px(360.0),
                h: px(40.0),
            });
        }
    }
    let mut t = 300.0 + rng.unit() * 200.0;
    let (mut x, mut y) = (100.0 + rng.unit() * 600.0, 80.0 + rng.unit() * 400.0);
    let targets = [(420.0, 260.0), (420.0, 330.0), (430.0, 400.0)];
    let mut key_t: f64 = 0.0;
    for (stroke, &(tx, ty)) in targets.iter().cycle().take(9).enumerate() {
        let n = (50 + rng.below(30) as usize) * per_frame as usize;
        let (sx, sy) = (x, y);
        let (cx, cy) = (
            (sx + tx) / 2.0 + (rng.unit() - 0.5) * 160.0,
            (sy + ty) / 2.0 + (rng.unit() - 0.5) * 160.0,
        );
        for i in 1..=n {
            let s = i as f64 / n as f64;
            let e = s * s * (3.0 - 2.0 * s); // ease in/out
            let u = 1.0 - e;
            x = u * u * sx + 2.0 * u * e * cx + e * e * tx + (rng.unit() - 0.5) * 1.5;
            y = u * u * sy + 2.0 * u * e * cy + e * e * ty + (rng.unit() - 0.5) * 1.5;
            t += (16.0 + rng.unit() * 1.4) / f64::from(per_frame);
            tb.pointer(
                t,
                pointer_kind::MOVE,
                x,
                y,
                0,
                pointer_type::MOUSE,
                0.0,
                pointer_flags::TRUSTED | pointer_flags::COALESCED,
            );
        }
        t += 80.0 + rng.unit() * 120.0;
        let down = if scripted_focus && stroke == 1 {
            pointer_kind::MOVE
        } else {
            pointer_kind::DOWN
        };
        mouse(&mut tb, t, down, x, y, 1, 0.5);
        t += 70.0 + rng.unit() * 60.0;
        mouse(&mut tb, t, pointer_kind::UP, x, y, 0, 0.0);
        if stroke < 2 {
            let field = stroke as u8;
            tb.field(t, field_kind::FOCUS, field);
            key_t = key_t.max(t + 300.0);
            if filled {
                tb.field(key_t, field_kind::INSERTED, field);
                tb.field(key_t, field_kind::INPUT, field);
            }
            for k in (0..13).filter(|_| !filled) {
                let down = key_t + 90.0 + rng.unit() * 160.0;
                let up = down + 60.0 + rng.unit() * 60.0;
                let class = if k % 5 == 4 {
                    key_class::BACKSPACE
                } else {
                    key_class::SPACE
                };
                tb.key(down, up, class, field, key_flags::TRUSTED);
                tb.field(down + 1.0, field_kind::INPUT, field);
                key_t = down;
            }
            t = t.max(key_t + 400.0);
            tb.field(t, field_kind::BLUR, field);
        }
        t += 200.0 + rng.unit() * 900.0;
    }
    tb.field(t + 5.0, field_kind::SUBMIT, 2);
    (tb, rng.bytes(16))
}

fn bot_linear(moves: u16, step_ms: f64) -> TelemetryBuilder {
    let mut b = TelemetryBuilder::new();
    let mut t = 100.0;
    for i in 0..moves {
        t = 100.0 + f64::from(i) * step_ms;
        mouse(&mut b, t, pointer_kind::MOVE, f64::from(i), 0.0, 0, 0.0);
    }
    let x = f64::from(moves);
    mouse(&mut b, t, pointer_kind::DOWN, x, 0.0, 1, 0.0);
    mouse(&mut b, t, pointer_kind::UP, x, 0.0, 0, 0.0);
    b
}

fn bot_keys(keys: u16, gap_ms: f64, trusted: bool) -> TelemetryBuilder {
    let mut b = TelemetryBuilder::new();
    let flags = if trusted { key_flags::TRUSTED } else { 0 };
    for i in 0..keys {
        let t = f64::from(i) * gap_ms;
        b.key(t, t, key_class::CHAR, 0, flags);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_protocol::telemetry::{MAX_POINTER, probe};

    #[test]
    fn shapes_have_their_records() {
        let count = |s: TelemetrySpec| {
            let t = s.build();
            (
                t.pointer.len(),
                t.keys.len(),
                t.fields.len(),
                t.fingerprint.len(),
            )
        };
        assert_eq!(count(TelemetrySpec::none()), (0, 0, 0, 0));
        assert_eq!(count(TelemetrySpec::short_human(3.0)), (27, 6, 0, 0));
        assert_eq!(
            count(TelemetrySpec::short_human(3.0).without_click()),
            (25, 6, 0, 0)
        );
        assert_eq!(count(TelemetrySpec::human_login()), (62, 14, 0, 0));
        assert_eq!(count(TelemetrySpec::bow(1.0)), (40, 6, 0, 0));
        assert_eq!(count(TelemetrySpec::bot_linear(20, 0.0)), (22, 0, 0, 0));
        assert_eq!(count(TelemetrySpec::bot_keys(5, 50.0, false)), (0, 5, 0, 0));
        let (p, k, f, fp) = count(TelemetrySpec::long_login(7));
        assert!((500..800).contains(&p), "{p}");
        assert_eq!((k, f, fp), (26, 2 * (1 + 13 + 1) + 1, 16));
        // Twice the samples over the same strokes, under the token's pointer cap.
        let (p, k, ..) = count(TelemetrySpec::long_login(7).with_fast_mouse());
        assert!((1000..MAX_POINTER).contains(&p), "{p}");
        assert_eq!(k, 26);
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(
            TelemetrySpec::human(5).build(),
            TelemetrySpec::human(5).build()
        );
        assert_ne!(
            TelemetrySpec::human(5).build(),
            TelemetrySpec::human(6).build()
        );
        assert_eq!(
            TelemetrySpec::long_login(1).build(),
            TelemetrySpec::long_login(1).build()
        );
        assert_ne!(
            TelemetrySpec::long_login(1).build().fingerprint,
            TelemetrySpec::long_login(2).build().fingerprint
        );
    }

    #[test]
    fn fingerprint_and_probes() {
        let t = TelemetrySpec::long_login(1)
            .fingerprint(vec![9; 4])
            .probe(probe::WEBDRIVER, ProbeValue::Bool(true))
            .probe(probe::USER_AGENT, ProbeValue::Str("UA".into()))
            .build();
        assert_eq!(t.fingerprint, [9; 4]);
        assert_eq!(t.probe(probe::WEBDRIVER), Some(&ProbeValue::Bool(true)));
        assert_eq!(t.probes.len(), 2);
        t.check_limits().unwrap();
    }

    #[test]
    fn shifted_sessions_differ_only_in_position() {
        let (a, b) = (
            TelemetrySpec::short_human(0.0).build(),
            TelemetrySpec::short_human(10.0).build(),
        );
        assert_ne!(a, b);
        let (pa, pb) = (a.pointer_samples(), b.pointer_samples());
        assert!((pb[0].x - pa[0].x - 10.0).abs() < 1e-9);
        assert_eq!(pa[1].t_ms, pb[1].t_ms);
    }
}
