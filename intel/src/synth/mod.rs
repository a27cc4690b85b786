//! Synthetic bot sessions, implemented by the project from the published descriptions of common
//! tools (see `shared/notes/behaviour.md` §3). Deterministic for a seed; every record is tagged
//! `source = "synthetic"` and `generator = <name>[:<variant>]`.
//!
//! Pointer generators (each drives a whole login-like session — moves to the username field,
//! password field and submit button with clicks and typing pauses — or a circle drag like the
//! DELBOT task, so the task shape itself is not what separates them from humans):
//! - `linear-burst`: Puppeteer/Playwright `mouse.move(x, y, {steps})`: collinear equal steps sent
//!   back-to-back (~0–2 ms apart).
//! - `linear-steps`: the same path with constant synthetic delays (8–33 ms).
//! - `bezier-eased`: cubic Bézier with random two-sided anchors, eased parameter, constant or
//!   Gaussian frame-like delays ("humanized" libraries).
//! - `ghost-cursor`: one-sided cubic Bézier anchors (spread up to 200 px), points uniform in the
//!   curve parameter, Fitts-based point count, overshoot + corrective curve beyond 500 px, no
//!   delay between events.
//! - `ghost-cursor-timed`: the same paths with synthetic even timestamps.
//! - `retimed-human:<mode>`: a recorded human trajectory with its timing replaced.
//! - `replay-human[-rounded]`: the same human trace reused in several sessions, rotated, scaled,
//!   translated and re-timed (optionally rounded to whole px). Not trainable: only the
//!   cross-session hash store can catch it.
//!
//! Keystroke generators: `type-const` (Puppeteer `type` with a constant or zero delay),
//! `type-gauss` (Gaussian holds and gaps, sequential or overlapping), `type-uniform`,
//! `type-skewed` (independent right-skewed delays: shifted-exponential, log-normal or Erlang
//! gaps, log-normal holds; session 13's adversarial round against the `keys-iid` probes). Key-only
//! sessions (these and `type-digraph`) are half logins (two fields, a pause between them, Tab and
//! Enter on some) and half one text (`key_shape`).
//!
//! Stronger generators (what attackers who hide the automation use; [`STRONG_POINTER_GENERATORS`]
//! plus the two built from human recordings), each its own LOFO family:
//! - `windmouse`: Benjamin Land's WindMouse (gravity + wind, max step, target area; whole
//!   pixels), timed by SRL's step-proportional waits or a fixed OS tick ([`kinematic`]); a third
//!   of them with the widely copied Python port's defaults (G₀ 9, W₀ 3, M₀ 15, D₀ 12) in a sleep
//!   loop, the configuration the OS-level rig plays and the one the session-7 model let through
//!   most at 60 Hz (an adversarial round, session 8);
//! - `min-jerk`: superposed minimum-jerk sub-movements (a primary that under- or overshoots,
//!   one or two corrections), Fitts'-law durations, sensor noise and 8–12 Hz tremor;
//! - `ghost-cursor-os`: ghost-cursor paths (overshoot + correction beyond 500 px) driven through
//!   OS-level input: whole pixels, random per-step delays or a fixed 60–125 Hz tick with
//!   scheduler jitter up to 2 ms SD (a sleep loop on a loaded machine), humanised clicks;
//! - `human-splice:<keep|warp|resample>`: strokes of one recorded human mapped onto the new start
//!   and target (similarity transform), with the human's intervals, a monotone time warp, or
//!   resampled at a new clock ([`human`]);
//! - `type-digraph`: keystroke timing drawn from one recorded typist's key-class-pair
//!   (press-to-press, hold) samples;
//! - `reading-lines`: Iliou et al.'s "advanced" Selenium web bots (behaviour.md §3): the cursor
//!   "reads" the page along text lines in constant steps (6–12 px; 16–24 px on the way back to
//!   the next line's start), lines ending at random offsets, then approaches the form fields
//!   the same way; near-constant delays (Gaussian, SD 0.3–1.5 ms, around 5–50 ms) — an
//!   `ActionChains.move_by_offset` loop.
//!
//! The new pointer generators time their samples with one of: a fixed OS tick (60–125 Hz,
//! Gaussian jitter 0.02–0.5 ms), frame-like Gaussian intervals (16.7 ms, SD 1–5 ms), random
//! uniform per-step delays, log-normal delays, or (since session 21) a clock whose spread reads
//! as a person's: a sleep loop with hiccups or frame-locked steps with skipped frames
//! (`Timing::humanlike`; a fifth of `bezier-eased` sessions too) — drawn per session.
//!
//! Click styles: instant (down→up ≤ 2 ms, no hesitation) or humanised (40–150 ms dwell).
//! Timer resolution (0.1 ms or 1 ms; keys sometimes 16 ms) and integer vs fractional
//! coordinates are drawn per session so neither becomes a shortcut.

pub mod human;
pub mod kinematic;

use tollgate_model::features::{Key, Pt, Session};
use tollgate_protocol::telemetry::{key_class, pointer_kind, pointer_type};

use super::rng::Rng;
use super::{Label, Record};
use human::{DigraphTable, Warp};
use kinematic::{MinJerkPlan, WindParams};

/// How many sessions of each kind to make.
#[derive(Debug, Clone, Copy)]
pub struct SynthOptions {
    pub seed: u64,
    /// Pointer-only sessions (login or circle task).
    pub pointer: usize,
    /// Keystroke-only sessions (one typed sentence).
    pub keys: usize,
    /// Sessions with both pointer and keystrokes (login form).
    pub both: usize,
    /// Human pointer traces with replaced timing.
    pub retimed: usize,
    /// Human pointer traces replayed (each reused in 3 sessions).
    pub replays: usize,
    /// Sessions of the stronger pointer generators ([`STRONG_POINTER_GENERATORS`]); a third of
    /// them with typing.
    pub strong: usize,
    /// Sessions of spliced human strokes (`human-splice`).
    pub splice: usize,
    /// Keystroke-only sessions timed from a human typist's digraphs (`type-digraph`).
    pub digraph: usize,
    /// Selenium "reading" sessions (`reading-lines`), a third with typing.
    pub reading: usize,
}

impl SynthOptions {
    /// Default mix; `scale` multiplies every count.
    pub fn scaled(seed: u64, scale: f64) -> SynthOptions {
        let n = |x: f64| (x * scale).round().max(0.0) as usize;
        SynthOptions {
            seed,
            pointer: n(1500.0),
            keys: n(1200.0),
            both: n(500.0),
            retimed: n(600.0),
            replays: n(150.0),
            strong: n(900.0),
            splice: n(300.0),
            digraph: n(300.0),
            reading: n(300.0),
        }
    }
}

pub const POINTER_GENERATORS: [&str; 5] = [
    "linear-burst",
    "linear-steps",
    "bezier-eased",
    "ghost-cursor",
    "ghost-cursor-timed",
];
pub const KEY_GENERATORS: [&str; 4] = ["type-const", "type-gauss", "type-uniform", "type-skewed"];
/// Stronger pointer generators (see the module docs); `human-splice` and `type-digraph` need
/// human recordings and are generated from them.
pub const STRONG_POINTER_GENERATORS: [&str; 3] = ["windmouse", "min-jerk", "ghost-cursor-os"];

#[derive(Debug, Clone, Copy)]
enum Timing {
    /// Back-to-back dispatch: 0.15 ms + exponential(mean).
    Burst(f64),
    Even(f64),
    Gauss(f64, f64),
    Uniform(f64, f64),
    /// Fixed OS-level tick (`period` ms) with Gaussian scheduler jitter (SD ms).
    Tick(f64, f64),
    /// Log-normal delay: median ms, σ.
    LogNormal(f64, f64),
    /// Frame-locked, as a browser dispatches a hand's moves: whole `period`s (ms) with Gaussian
    /// jitter (SD ms), one or two frames skipped with probability `skip` per step. The timing a
    /// person's trace has, so that timing alone cannot buy a scripted path back (session 21).
    Frames {
        period: f64,
        skip: f64,
        jitter: f64,
    },
    /// A sleep loop between CDP or OS-level moves: `period` ms with Gaussian jitter (SD ms), and
    /// with probability `p` a hiccup that adds 0.6–1.0 of a period (a missed frame or scheduler
    /// slice). Measured live (session 21): patchright's `mouse.move` plus a 16 ms sleep comes
    /// 18.5–21.6 ms apart with 9 % of the steps at 31–38 ms, a spread the model read as a person's.
    Hiccup {
        period: f64,
        sd: f64,
        p: f64,
    },
}

impl Timing {
    fn dt(&self, rng: &mut Rng) -> f64 {
        match *self {
            Timing::Burst(mean) => 0.15 + rng.exponential(mean),
            Timing::Even(s) => s,
            Timing::Gauss(m, sd) => rng.gauss(m, sd).max(1.0),
            Timing::Uniform(a, b) => rng.range(a, b),
            Timing::Tick(p, sd) => rng.gauss(p, sd).max(0.5),
            Timing::LogNormal(m, s) => rng.log_normal(m, s).clamp(1.0, 200.0),
            Timing::Frames {
                period,
                skip,
                jitter,
            } => {
                let k = if rng.chance(skip) {
                    if rng.chance(0.75) { 2.0 } else { 3.0 }
                } else {
                    1.0
                };
                (k * period + rng.gauss(0.0, jitter)).max(0.5)
            }
            Timing::Hiccup { period, sd, p } => {
                let extra = if rng.chance(p) {
                    rng.range(0.6, 1.0) * period
                } else {
                    0.0
                };
                (rng.gauss(period, sd) + extra).max(0.5)
            }
        }
    }

    /// A sleep loop with hiccups (three in four sessions) or frame-locked steps with skipped
    /// frames ([`Timing::Hiccup`], [`Timing::Frames`]): the clocks whose spread reads as a
    /// person's, so that a scripted path cannot buy itself back with its timing. Until session 21
    /// no generator had them; trained, they took the measured patchright clock on eased
    /// ghost-cursor paths from 21 % to 3 % allowed offline. Frame-locked steps are the rarer
    /// draw: a pool where half the humanlike clocks were frame-locked also took a replayed
    /// person's login at the OS-level rig from 0.95 to 0.60 (that person's short strokes are
    /// smooth, and their frame-locked timing was what the model read as human).
    fn humanlike(rng: &mut Rng) -> Timing {
        if rng.chance(0.25) {
            Timing::Frames {
                period: *rng
                    .pick(&[1000.0 / 60.0, 1000.0 / 75.0, 1000.0 / 120.0, 1000.0 / 144.0])
                    .unwrap_or(&16.67),
                skip: rng.range(0.03, 0.3),
                jitter: rng.range(0.05, 0.6),
            }
        } else {
            Timing::Hiccup {
                period: rng.range(12.0, 25.0),
                sd: rng.range(0.2, 1.0),
                p: rng.range(0.03, 0.15),
            }
        }
    }

    /// Timing of the stronger generators, drawn per session.
    fn strong(rng: &mut Rng) -> Timing {
        match rng.int(0, 4) {
            4 => Timing::humanlike(rng),
            0 => Timing::Tick(
                1000.0 / *rng.pick(&[60.0, 75.0, 90.0, 100.0, 125.0]).unwrap_or(&60.0),
                rng.range(0.02, 2.0),
            ),
            1 => Timing::Gauss(16.67, rng.range(1.0, 5.0)),
            2 => {
                let hi = rng.range(10.0, 40.0);
                Timing::Uniform(rng.range(0.0, 0.5) * hi, hi)
            }
            _ => Timing::LogNormal(rng.range(9.0, 18.0), rng.range(0.15, 0.6)),
        }
    }
}

type P2 = (f64, f64);

fn lerp(a: P2, b: P2, u: f64) -> P2 {
    (a.0 + (b.0 - a.0) * u, a.1 + (b.1 - a.1) * u)
}

fn cubic(p0: P2, p1: P2, p2: P2, p3: P2, u: f64) -> P2 {
    let v = 1.0 - u;
    let (a, b, c, d) = (v * v * v, 3.0 * v * v * u, 3.0 * v * u * u, u * u * u);
    (
        a * p0.0 + b * p1.0 + c * p2.0 + d * p3.0,
        a * p0.1 + b * p1.1 + c * p2.1 + d * p3.1,
    )
}

fn ease(kind: usize, u: f64) -> f64 {
    match kind {
        0 => {
            if u < 0.5 {
                2.0 * u * u
            } else {
                1.0 - (-2.0 * u + 2.0).powi(2) / 2.0
            }
        }
        1 => {
            if u < 0.5 {
                4.0 * u * u * u
            } else {
                1.0 - (-2.0 * u + 2.0).powi(3) / 2.0
            }
        }
        2 => -((std::f64::consts::PI * u).cos() - 1.0) / 2.0,
        _ => 1.0 - (1.0 - u) * (1.0 - u),
    }
}

/// Points of one movement from `a` to `b` (excluding `a`, including `b`).
fn path(rng: &mut Rng, generator: &str, a: P2, b: P2) -> Vec<P2> {
    let d = (b.0 - a.0).hypot(b.1 - a.1).max(1.0);
    let (nx, ny) = (-(b.1 - a.1) / d, (b.0 - a.0) / d);
    match generator {
        "linear-burst" | "linear-steps" => {
            let n = rng.int(5, 60);
            (1..=n).map(|i| lerp(a, b, i as f64 / n as f64)).collect()
        }
        "bezier-eased" => {
            let off = |rng: &mut Rng| rng.gauss(0.0, 0.3 * d);
            let (u1, u2) = (rng.range(0.2, 0.4), rng.range(0.6, 0.8));
            let (o1, o2) = (off(rng), off(rng));
            let c1 = (
                a.0 + (b.0 - a.0) * u1 + nx * o1,
                a.1 + (b.1 - a.1) * u1 + ny * o1,
            );
            let c2 = (
                a.0 + (b.0 - a.0) * u2 + nx * o2,
                a.1 + (b.1 - a.1) * u2 + ny * o2,
            );
            let n = ((d / rng.range(8.0, 20.0)) as usize).clamp(15, 120);
            let e = rng.int(0, 3);
            (1..=n)
                .map(|i| cubic(a, c1, c2, b, ease(e, i as f64 / n as f64)))
                .collect()
        }
        _ => {
            // ghost-cursor
            let mut pts = Vec::new();
            let overshoot = d > 500.0;
            let target = if overshoot {
                let ang = rng.range(0.0, std::f64::consts::TAU);
                let r = rng.range(0.0, 120.0);
                (b.0 + r * ang.cos(), b.1 + r * ang.sin())
            } else {
                b
            };
            pts.extend(ghost_curve(rng, a, target, (d).clamp(2.0, 200.0)));
            if overshoot {
                pts.extend(ghost_curve(rng, target, b, 10.0));
            }
            pts
        }
    }
}

fn ghost_curve(rng: &mut Rng, a: P2, b: P2, spread: f64) -> Vec<P2> {
    let d = (b.0 - a.0).hypot(b.1 - a.1).max(1.0);
    let (nx, ny) = (-(b.1 - a.1) / d, (b.0 - a.0) / d);
    let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
    let anchor = |rng: &mut Rng| {
        let m = lerp(a, b, rng.f64());
        let o = side * rng.range(0.0, spread);
        (m.0 + nx * o, m.1 + ny * o)
    };
    let mut c = [anchor(rng), anchor(rng)];
    if c[0].0 > c[1].0 {
        c.swap(0, 1);
    }
    let fitts = 2.0 * (d / 100.0 + 1.0).log2();
    let base = rng.range(1.0, 25.0);
    let n = (((fitts + 1.0).log2() + base) * 3.0)
        .ceil()
        .clamp(3.0, 90.0) as usize;
    (1..=n)
        .map(|i| cubic(a, c[0], c[1], b, i as f64 / n as f64))
        .collect()
}

/// Per-session rendering options.
#[derive(Debug, Clone, Copy)]
struct Style {
    timing: Timing,
    round_px: bool,
    tick: f64,
    instant_click: bool,
}

/// Where a movement's samples come from besides the generator name.
#[derive(Debug, Clone, Copy)]
enum Src<'a> {
    /// The generator's own path (and the style's timing).
    Own,
    /// WindMouse with these parameters; `srl_waits`: SRL's step-proportional waits instead of
    /// the style's timing.
    Wind { p: WindParams, srl_waits: bool },
    /// Strokes of one human, spliced onto each movement.
    Strokes { pool: &'a [Vec<Pt>], warp: Warp },
}

/// Who types in a login session.
#[derive(Debug, Clone, Copy)]
enum Typist<'a> {
    /// A synthetic key generator (picked per session from [`KEY_GENERATORS`]).
    Synthetic,
    /// A human typist's digraph table, with extra Gaussian jitter (ms).
    Digraph(&'a DigraphTable, f64),
}

fn quant(t: f64, tick: f64) -> f64 {
    (t / tick).floor() * tick
}

struct Builder<'a> {
    rng: &'a mut Rng,
    style: Style,
    generator: &'a str,
    src: Src<'a>,
    t: f64,
    pos: P2,
    buttons: u8,
    out: Vec<Pt>,
}

impl Builder<'_> {
    fn push(&mut self, kind: u8, p: P2) {
        let (x, y) = if self.style.round_px {
            (p.0.round(), p.1.round())
        } else {
            (p.0, p.1)
        };
        self.out.push(Pt {
            t_ms: quant(self.t, self.style.tick),
            kind,
            x,
            y,
            buttons: self.buttons,
            ptype: pointer_type::MOUSE,
            pressure: None,
            trusted: None,
            coalesced: false,
        });
    }

    fn move_to(&mut self, b: P2) {
        let a = self.pos;
        let timing = self.style.timing;
        let timed: Vec<(f64, P2)> = match self.src {
            Src::Wind { p, srl_waits } => {
                let mut v = kinematic::windmouse(self.rng, a, b, &p);
                if !srl_waits {
                    for s in &mut v {
                        s.0 = timing.dt(self.rng);
                    }
                }
                v
            }
            Src::Strokes { pool, warp } => {
                let spliced = self
                    .rng
                    .pick(pool)
                    .and_then(|st| human::splice(st, a, b, warp, self.rng));
                match spliced {
                    Some(v) => v,
                    None => vec![(timing.dt(self.rng), b)],
                }
            }
            Src::Own if self.generator == "min-jerk" => {
                let w = self.rng.range(20.0, 200.0);
                MinJerkPlan::random(self.rng, a, b, w).sample(self.rng, |r| timing.dt(r))
            }
            Src::Own => {
                let pts = path(self.rng, self.generator, a, b);
                pts.into_iter().map(|p| (timing.dt(self.rng), p)).collect()
            }
        };
        for (dt, p) in timed {
            self.t += dt;
            self.push(pointer_kind::MOVE, p);
        }
        self.pos = b;
    }

    fn click(&mut self) {
        let (hes, dwell) = if self.style.instant_click {
            (self.rng.range(0.0, 2.0), self.rng.range(0.05, 2.0))
        } else {
            (self.rng.range(30.0, 300.0), self.rng.range(40.0, 150.0))
        };
        self.t += hes;
        self.buttons = 1;
        self.push(pointer_kind::DOWN, self.pos);
        self.t += dwell;
        self.buttons = 0;
        self.push(pointer_kind::UP, self.pos);
    }
}

fn pick_style(rng: &mut Rng, generator: &str) -> Style {
    if matches!(
        generator,
        "windmouse" | "min-jerk" | "ghost-cursor-os" | "human-splice"
    ) {
        // Attackers who hide the automation also humanise clicks and use OS-level input
        // (whole pixels) more often than not.
        let timing = if generator == "ghost-cursor-os" && rng.chance(0.5) {
            // ghost-cursor's `moveDelay` with `randomizeMoveDelay`: uniform in 0..moveDelay.
            Timing::Uniform(0.0, rng.range(5.0, 40.0))
        } else {
            Timing::strong(rng)
        };
        return Style {
            timing,
            round_px: generator != "min-jerk" || rng.chance(0.5),
            tick: if rng.chance(0.7) { 0.1 } else { 1.0 },
            instant_click: rng.chance(0.15),
        };
    }
    let timing = match generator {
        "linear-burst" | "ghost-cursor" => Timing::Burst(rng.range(0.2, 1.5)),
        "linear-steps" | "ghost-cursor-timed" => Timing::Even(
            *rng.pick(&[8.0, 10.0, 15.0, 16.0, 16.67, 20.0, 25.0, 33.3])
                .unwrap_or(&16.0),
        ),
        _ => match rng.int(0, 4) {
            0 | 1 => Timing::Even(*rng.pick(&[8.0, 16.0, 16.67, 20.0]).unwrap_or(&16.0)),
            2 | 3 => Timing::Gauss(rng.range(8.0, 20.0), rng.range(0.5, 4.0)),
            _ => Timing::humanlike(rng),
        },
    };
    Style {
        timing,
        round_px: rng.chance(0.5),
        tick: if rng.chance(0.5) { 0.1 } else { 1.0 },
        instant_click: rng.chance(0.6),
    }
}

/// Per-session typo rate of a synthetic typist: half type cleanly (Puppeteer's `type`, a
/// `send_keys` loop), half make and correct typos at 3–12 % of the characters, as "humanised
/// typing" libraries do ([`with_typos`]). Until session 20 no generator pressed Backspace, so
/// the model read any correction as a person's: the `key_backspace` term was worth about 1.9
/// logits between none and one Backspace in 20 keys, for a tell any script can add.
fn typo_rate(rng: &mut Rng) -> f64 {
    if rng.chance(0.5) {
        0.0
    } else {
        rng.range(0.03, 0.12)
    }
}

/// `classes` with typos corrected on the spot: before a character, with probability `rate`, a
/// wrong key and up to two more characters, then as many Backspaces (the right key follows).
fn with_typos(rng: &mut Rng, classes: Vec<u8>, rate: f64) -> Vec<u8> {
    if rate <= 0.0 {
        return classes;
    }
    let mut out = Vec::with_capacity(classes.len() + 8);
    for c in classes {
        if c == key_class::CHAR && rng.chance(rate) {
            let m = 1 + usize::from(rng.chance(0.3)) + usize::from(rng.chance(0.1));
            out.extend(std::iter::repeat_n(key_class::CHAR, m));
            out.extend(std::iter::repeat_n(key_class::BACKSPACE, m));
        }
        out.push(c);
    }
    out
}

/// Key class sequence of typed text: words of characters separated by spaces, an optional Shift
/// press before a capital.
fn text_classes(rng: &mut Rng, len: usize, with_shift: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        let w = rng.int(2, 9);
        for i in 0..w {
            if i == 0 && with_shift && rng.chance(0.15) {
                out.push(key_class::SHIFT);
            }
            out.push(key_class::CHAR);
        }
        out.push(key_class::SPACE);
    }
    out.pop();
    out
}

#[derive(Debug, Clone, Copy)]
enum KeyTiming {
    /// Puppeteer `type(text, {delay})`: hold = delay, next press right after the release.
    Const {
        hold: f64,
        gap: f64,
    },
    /// Sequential down/sleep/up/sleep with Gaussian sleeps.
    GaussSeq {
        mh: f64,
        sh: f64,
        mg: f64,
        sg: f64,
    },
    /// Independent Gaussian press-to-press interval and hold (overlaps possible).
    GaussP2p {
        mp: f64,
        sp: f64,
        mh: f64,
        sh: f64,
    },
    Uniform {
        h: (f64, f64),
        g: (f64, f64),
    },
    /// Independent right-skewed delays per key, the shape of human press-to-press timing
    /// without its dependence on the key, the rhythm or the hand: a log-normal hold (median,
    /// σ) and a gap drawn by `gap`, either release-to-press (sequential) or press-to-press
    /// (overlaps possible).
    Skewed {
        hold: (f64, f64),
        gap: SkewedGap,
        p2p: bool,
    },
}

/// The gap distributions of [`KeyTiming::Skewed`] (ms).
#[derive(Debug, Clone, Copy)]
enum SkewedGap {
    /// `shift` + exponential(`mean`): `sleep(c + random.expovariate(…))`.
    ShiftedExp { shift: f64, mean: f64 },
    /// Log-normal: median, σ.
    LogNormal { median: f64, sigma: f64 },
    /// Erlang (gamma with integer shape `k`) of mean `mean`.
    Erlang { k: usize, mean: f64 },
}

impl SkewedGap {
    fn draw(self, rng: &mut Rng) -> f64 {
        match self {
            SkewedGap::ShiftedExp { shift, mean } => shift + rng.exponential(mean),
            SkewedGap::LogNormal { median, sigma } => rng.log_normal(median, sigma),
            SkewedGap::Erlang { k, mean } => (0..k).map(|_| rng.exponential(mean / k as f64)).sum(),
        }
    }
}

fn key_timing(rng: &mut Rng, generator: &str) -> (KeyTiming, String) {
    match generator {
        "type-const" => {
            let d = *rng
                .pick(&[0.0, 1.0, 5.0, 10.0, 20.0, 50.0, 75.0, 100.0, 150.0, 200.0])
                .unwrap_or(&0.0);
            if rng.chance(0.5) {
                (
                    KeyTiming::Const {
                        hold: d,
                        gap: rng.range(0.1, 1.0),
                    },
                    "type-const:hold".into(),
                )
            } else {
                (
                    KeyTiming::Const {
                        hold: rng.range(0.0, 1.0),
                        gap: d,
                    },
                    "type-const:gap".into(),
                )
            }
        }
        "type-gauss" => {
            let (mh, sh) = (rng.range(50.0, 130.0), rng.range(5.0, 30.0));
            if rng.chance(0.5) {
                let (mg, sg) = (rng.range(40.0, 250.0), rng.range(10.0, 80.0));
                (
                    KeyTiming::GaussSeq { mh, sh, mg, sg },
                    "type-gauss:seq".into(),
                )
            } else {
                let (mp, sp) = (rng.range(120.0, 320.0), rng.range(20.0, 90.0));
                (
                    KeyTiming::GaussP2p { mp, sp, mh, sh },
                    "type-gauss:p2p".into(),
                )
            }
        }
        "type-skewed" => {
            let hold = (rng.range(60.0, 130.0), rng.range(0.1, 0.4));
            let p2p = rng.chance(0.3);
            // Gap scale: release-to-press 40–220 ms typical; press-to-press 120–350 ms.
            let m = if p2p {
                rng.range(120.0, 350.0)
            } else {
                rng.range(40.0, 220.0)
            };
            let (gap, variant) = match rng.int(0, 2) {
                0 => {
                    let shift = rng.range(0.1, 0.6) * m;
                    (
                        SkewedGap::ShiftedExp {
                            shift,
                            mean: m - shift,
                        },
                        "exp",
                    )
                }
                1 => (
                    SkewedGap::LogNormal {
                        median: m,
                        sigma: rng.range(0.25, 0.8),
                    },
                    "lognormal",
                ),
                _ => (
                    SkewedGap::Erlang {
                        k: rng.int(2, 4),
                        mean: m,
                    },
                    "erlang",
                ),
            };
            (
                KeyTiming::Skewed { hold, gap, p2p },
                format!("type-skewed:{variant}"),
            )
        }
        _ => {
            let h0 = rng.range(20.0, 90.0);
            let g0 = rng.range(20.0, 150.0);
            (
                KeyTiming::Uniform {
                    h: (h0, h0 + rng.range(20.0, 100.0)),
                    g: (g0, g0 + rng.range(50.0, 250.0)),
                },
                "type-uniform".into(),
            )
        }
    }
}

/// Type `classes` starting at `t0`; returns keys and the end time.
fn type_keys(rng: &mut Rng, kt: KeyTiming, classes: &[u8], t0: f64, tick: f64) -> (Vec<Key>, f64) {
    let mut keys = Vec::with_capacity(classes.len());
    let mut t = t0;
    let mut shift_pending: Option<f64> = None;
    for &c in classes {
        let (hold, next) = match kt {
            KeyTiming::Const { hold, gap } => (hold, hold + gap),
            KeyTiming::GaussSeq { mh, sh, mg, sg } => {
                let h = rng.gauss(mh, sh).max(5.0);
                (h, h + rng.gauss(mg, sg).max(0.0))
            }
            KeyTiming::GaussP2p { mp, sp, mh, sh } => {
                (rng.gauss(mh, sh).max(5.0), rng.gauss(mp, sp).max(20.0))
            }
            KeyTiming::Uniform { h, g } => {
                let hh = rng.range(h.0, h.1);
                (hh, hh + rng.range(g.0, g.1))
            }
            KeyTiming::Skewed { hold, gap, p2p } => {
                let h = rng.log_normal(hold.0, hold.1).max(5.0);
                let g = gap.draw(rng);
                if p2p { (h, g.max(20.0)) } else { (h, h + g) }
            }
        };
        if c == key_class::SHIFT {
            shift_pending = Some(t);
            t += rng.range(0.1, 2.0).min(next);
            continue;
        }
        keys.push(Key {
            down_ms: quant(t, tick),
            up_ms: quant(t + hold, tick),
            class: c,
            unreleased: false,
        });
        if let Some(sd) = shift_pending.take() {
            keys.push(Key {
                down_ms: quant(sd, tick),
                up_ms: quant(t + hold + 0.5, tick),
                class: key_class::SHIFT,
                unreleased: false,
            });
        }
        t += next;
    }
    keys.sort_by(|a, b| a.down_ms.total_cmp(&b.down_ms));
    (keys, t)
}

fn record(
    generator: &str,
    i: usize,
    session: Session,
    trainable: bool,
    subject: Option<String>,
) -> Record {
    let family = generator.split(':').next().unwrap_or(generator);
    Record {
        id: format!("synthetic/{generator}/{i}"),
        source: "synthetic".into(),
        // Ten pseudo-subjects per family, dealt so that every generator of the family spreads
        // over all ten (the generators are interleaved `i % n`, so `i % 10` would pin each to
        // two subjects, and a CV fold would then hide a generator entirely instead of testing
        // unseen sessions of known generators; DELBOT's bots, one subject per tool, are the
        // unseen-generator test).
        subject: subject.unwrap_or_else(|| format!("synth-{family}-{}", (i / 8) % 10)),
        label: Label::Bot,
        generator: Some(generator.to_string()),
        session,
        trainable,
        derived: false,
    }
}

/// A pointer session (login form or circle drag), optionally with typing in the fields.
fn pointer_session(rng: &mut Rng, generator: &str, with_keys: bool) -> (Session, String) {
    pointer_session_with(rng, generator, with_keys, Src::Own, Typist::Synthetic)
}

fn pointer_session_with(
    rng: &mut Rng,
    generator: &str,
    with_keys: bool,
    src: Src<'_>,
    typist: Typist<'_>,
) -> (Session, String) {
    let style = pick_style(rng, generator);
    let (w, h) = (rng.range(1024.0, 1920.0), rng.range(640.0, 1080.0));
    let start = (rng.range(0.0, w), rng.range(0.0, h));
    let mut b = Builder {
        rng,
        style,
        generator,
        src,
        t: 0.0,
        pos: start,
        buttons: 0,
        out: Vec::new(),
    };
    let circle = !with_keys && b.rng.chance(0.3);
    let mut name = generator.to_string();
    let keys = if circle {
        name.push_str(":circle");
        let (cx, cy, r) = (
            w / 2.0 + b.rng.range(-200.0, 200.0),
            h / 2.0,
            b.rng.range(80.0, 300.0),
        );
        b.pos = (cx + r, cy);
        b.t = b.rng.range(0.0, 50.0);
        b.buttons = 1;
        b.push(pointer_kind::DOWN, b.pos);
        let k = b.rng.int(8, 16);
        let turn = b.rng.range(0.9, 1.1) * std::f64::consts::TAU;
        for i in 1..=k {
            let a = turn * i as f64 / k as f64;
            b.move_to((cx + r * a.cos(), cy + r * a.sin()));
        }
        b.buttons = 0;
        b.t += b.style.timing.dt(b.rng);
        b.push(pointer_kind::UP, b.pos);
        Vec::new()
    } else {
        name.push_str(":login");
        // The typing draws from its own stream (one draw of the pointer's), so the key
        // generators can change without moving any pointer path.
        let mut krng = Rng::new(b.rng.next_u64());
        let (kt, kname) = match typist {
            Typist::Synthetic => {
                let kgen = krng.pick(&KEY_GENERATORS).copied().unwrap_or("type-const");
                key_timing(&mut krng, kgen)
            }
            Typist::Digraph(..) => (
                KeyTiming::Const {
                    hold: 0.0,
                    gap: 0.0,
                },
                "type-digraph".into(),
            ),
        };
        if with_keys {
            name = format!("{name}+{kname}");
        }
        b.t = b.rng.range(100.0, 2500.0);
        let x0 = w / 2.0 + b.rng.range(-150.0, 150.0);
        let y0 = h * b.rng.range(0.3, 0.45);
        let gap = b.rng.range(45.0, 70.0);
        let targets = [
            (x0, y0),
            (x0, y0 + gap),
            (x0 + b.rng.range(-60.0, 60.0), y0 + 2.0 * gap + 10.0),
        ];
        if b.rng.chance(0.3) {
            for _ in 0..b.rng.int(1, 2) {
                let p = (b.rng.range(0.0, w), b.rng.range(0.0, h));
                b.move_to(p);
                b.t += b.rng.range(0.0, 800.0);
            }
        }
        type_into_fields(
            &mut b,
            &mut krng,
            &targets,
            with_keys,
            kt,
            typist,
            |b, tg| {
                let exact = b.rng.chance(0.5);
                let p = if exact {
                    tg
                } else {
                    (
                        tg.0 + b.rng.range(-40.0, 40.0),
                        tg.1 + b.rng.range(-8.0, 8.0),
                    )
                };
                b.move_to(p);
            },
        )
    };
    let mut s = Session {
        pointer: b.out,
        keys,
        ..Default::default()
    };
    s.sanitize();
    (s, name)
}

/// The login form's three targets in turn (username field, password field, submit button):
/// `reach` moves the cursor to a target (drawing its own aim), then a click; in each field the
/// typist types a short text (its timing drawn from `krng`), or, `!with_keys`, a pause stands in
/// for typing. Returns the keys.
fn type_into_fields(
    b: &mut Builder<'_>,
    krng: &mut Rng,
    targets: &[P2; 3],
    with_keys: bool,
    kt: KeyTiming,
    typist: Typist<'_>,
    mut reach: impl FnMut(&mut Builder<'_>, P2),
) -> Vec<Key> {
    let mut keys = Vec::new();
    let typos = typo_rate(krng);
    for (i, tg) in targets.iter().enumerate() {
        reach(b, *tg);
        b.click();
        if i < 2 {
            if with_keys {
                let n = b.rng.int(6, 20);
                let shift = b.rng.chance(0.5);
                let classes = with_typos(krng, text_classes(b.rng, n, shift), typos);
                let t0 = b.t + b.rng.range(0.0, 400.0);
                let (ks, end) = match typist {
                    Typist::Synthetic => type_keys(krng, kt, &classes, t0, b.style.tick),
                    Typist::Digraph(table, jitter) => {
                        table.type_keys(krng, &classes, t0, b.style.tick, jitter)
                    }
                };
                keys.extend(ks);
                b.t = end + b.rng.range(0.0, 600.0);
            } else {
                b.t += b.rng.range(800.0, 4000.0);
            }
        }
    }
    keys
}

/// The keys of a key-only session, in the shape [`key_shape`] draws, typed by `typer` (classes,
/// start time → keys, end time).
fn type_shaped(
    rng: &mut Rng,
    shift: bool,
    mut typer: impl FnMut(&mut Rng, &[u8], f64) -> (Vec<Key>, f64),
) -> Vec<Key> {
    let typos = typo_rate(rng);
    let text = |rng: &mut Rng, n: usize| {
        let c = text_classes(rng, n, shift);
        with_typos(rng, c, typos)
    };
    match key_shape(rng) {
        KeyShape::Text(n) => {
            let classes = text(rng, n);
            typer(rng, &classes, 0.0).0
        }
        KeyShape::Login {
            user,
            tab,
            pause,
            pass,
            enter,
        } => {
            let classes = text(rng, user);
            let (mut keys, mut t) = typer(rng, &classes, 0.0);
            if tab {
                let (k, end) = typer(rng, &[key_class::TAB], t);
                keys.extend(k);
                t = end;
            }
            let classes = text(rng, pass);
            let (k, end) = typer(rng, &classes, t + pause);
            keys.extend(k);
            if let Some(wait) = enter {
                keys.extend(typer(rng, &[key_class::ENTER], end + wait).0);
            }
            keys
        }
    }
}

/// Shape of a key-only synthetic session.
enum KeyShape {
    /// One text of this many keys.
    Text(usize),
    /// A login: a username, a Tab (or a click, which a key-only session does not show), a pause
    /// (ms), a password, and Enter after a wait (ms) or a click on the button.
    Login {
        user: usize,
        tab: bool,
        pause: f64,
        pass: usize,
        enter: Option<f64>,
    },
}

/// Half the key-only sessions are a login (a username and a password of 6–20 keys each, a Tab
/// on half of them, a 0.3–2.5 s pause between the fields, Enter on 70 %), half one text of
/// 10–20 or 25–75 keys. Until session 12 every one was a text typed without a pause, while
/// people pause between fields and hesitate in text: the model learned a pause as human
/// evidence (a keyboard-only probe, `intel/scripts/probes.mjs` `keys-iid`, went from 22.5 % to
/// 68.5 % allowed with one 0.4–1.5 s pause between its two fields).
fn key_shape(rng: &mut Rng) -> KeyShape {
    if rng.chance(0.5) {
        KeyShape::Login {
            user: rng.int(6, 20),
            tab: rng.chance(0.5),
            pause: rng.range(300.0, 2500.0),
            pass: rng.int(6, 20),
            enter: rng.chance(0.7).then(|| rng.range(100.0, 1200.0)),
        }
    } else if rng.chance(0.5) {
        KeyShape::Text(rng.int(10, 20))
    } else {
        KeyShape::Text(rng.int(25, 75))
    }
}

fn key_session(rng: &mut Rng, generator: &str) -> (Session, String) {
    let (kt, name) = key_timing(rng, generator);
    let shift = rng.chance(0.5);
    let tick = *rng.pick(&[0.1, 1.0, 1.0, 16.0]).unwrap_or(&1.0);
    let keys = type_shaped(rng, shift, |rng, classes, t0| {
        type_keys(rng, kt, classes, t0, tick)
    });
    let mut s = Session {
        keys,
        ..Default::default()
    };
    s.sanitize();
    (s, name)
}

/// Replace the timing of a human pointer trace (pauses over 100 ms are kept).
pub fn retime(rng: &mut Rng, human: &Session) -> (Session, &'static str) {
    let (timing, mode) = match rng.int(0, 4) {
        0 => (Timing::Even(16.67), "even-60hz"),
        1 => (
            Timing::Even(*rng.pick(&[8.0, 10.0, 20.0]).unwrap_or(&10.0)),
            "even",
        ),
        2 => (Timing::Gauss(16.7, rng.range(1.0, 4.0)), "gauss"),
        3 => (Timing::Uniform(5.0, 30.0), "uniform"),
        _ => (Timing::Burst(rng.range(0.2, 1.5)), "burst"),
    };
    // Even 60 Hz timestamps on a 1 ms clock are 16/17 ms alternations, i.e. exactly what a
    // frame-locked human trace already looks like: labelling that "bot" would teach the model to
    // distrust real human timing. Even timing is therefore rendered at full (0.1 ms) resolution,
    // where its missing jitter is the tell.
    let tick = if matches!(timing, Timing::Even(_)) || rng.chance(0.5) {
        0.1
    } else {
        1.0
    };
    let mut out = Vec::with_capacity(human.pointer.len());
    let mut t = 0.0;
    let mut prev_orig: Option<f64> = None;
    for p in &human.pointer {
        let gap = prev_orig.map(|q| p.t_ms - q).unwrap_or(0.0);
        t += if gap > 100.0 {
            gap
        } else if prev_orig.is_some() {
            timing.dt(rng)
        } else {
            0.0
        };
        prev_orig = Some(p.t_ms);
        out.push(Pt {
            t_ms: quant(t, tick),
            ..*p
        });
    }
    let mut s = Session {
        pointer: out,
        ..Default::default()
    };
    s.sanitize();
    (s, mode)
}

/// A replayed copy: rotation, scale, translation, new clock (stretched), optional rounding.
pub fn replay_copy(rng: &mut Rng, human: &Session, round_px: bool) -> Session {
    let ang = rng.range(-0.4, 0.4);
    let sc = rng.range(0.8, 1.25);
    let (tx, ty) = (rng.range(-300.0, 300.0), rng.range(-200.0, 200.0));
    let stretch = rng.range(0.8, 1.2);
    let t0 = rng.range(0.0, 3000.0);
    let (c, s) = (ang.cos(), ang.sin());
    let pointer = human
        .pointer
        .iter()
        .map(|p| {
            let (x, y) = (p.x * sc, p.y * sc);
            let (mut nx, mut ny) = (x * c - y * s + tx, x * s + y * c + ty);
            if round_px {
                nx = nx.round();
                ny = ny.round();
            }
            Pt {
                t_ms: t0 + p.t_ms * stretch,
                x: nx,
                y: ny,
                ..*p
            }
        })
        .collect();
    let mut out = Session {
        pointer,
        ..Default::default()
    };
    out.sanitize();
    out
}

/// Generate the synthetic bot set. `humans` supplies trajectories for the re-timed and replayed
/// generators (their records keep the human's subject so they stay in the same CV fold).
pub fn generate(opts: &SynthOptions, humans: &[Record]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut rng = Rng::derive(opts.seed, "synthetic/pointer");
    for i in 0..opts.pointer {
        let generator = POINTER_GENERATORS[i % POINTER_GENERATORS.len()];
        let (s, name) = pointer_session(&mut rng, generator, false);
        out.push(record(&name, i, s, true, None));
    }
    let mut rng = Rng::derive(opts.seed, "synthetic/keys");
    for i in 0..opts.keys {
        let generator = KEY_GENERATORS[i % KEY_GENERATORS.len()];
        let (s, name) = key_session(&mut rng, generator);
        out.push(record(&name, i, s, true, None));
    }
    let mut rng = Rng::derive(opts.seed, "synthetic/both");
    for i in 0..opts.both {
        let generator = POINTER_GENERATORS[i % POINTER_GENERATORS.len()];
        let (s, name) = pointer_session(&mut rng, generator, true);
        out.push(record(&name, i, s, true, None));
    }
    let pointer_humans: Vec<&Record> = humans
        .iter()
        .filter(|r| r.label == Label::Human && !r.derived && r.session.pointer.len() >= 20)
        .collect();
    if !pointer_humans.is_empty() {
        let mut rng = Rng::derive(opts.seed, "synthetic/retimed");
        for i in 0..opts.retimed {
            let Some(h) = rng.pick(&pointer_humans).copied() else {
                break;
            };
            let (s, mode) = retime(&mut rng, &h.session);
            out.push(record(
                &format!("retimed-human:{mode}"),
                i,
                s,
                true,
                Some(h.subject.clone()),
            ));
        }
        let mut rng = Rng::derive(opts.seed, "synthetic/replay");
        for i in 0..opts.replays {
            let Some(h) = rng.pick(&pointer_humans).copied() else {
                break;
            };
            let round_px = i % 2 == 1;
            let generator = if round_px {
                "replay-human-rounded"
            } else {
                "replay-human"
            };
            for j in 0..3 {
                let s = replay_copy(&mut rng, &h.session, round_px);
                out.push(record(
                    generator,
                    i * 3 + j,
                    s,
                    false,
                    Some(h.subject.clone()),
                ));
            }
        }
    }
    out.extend(generate_strong(opts, humans));
    out
}

/// Points from `a` (excluded) to `b` (included) in steps of `step` px (the last one shorter).
fn constant_steps(a: P2, b: P2, step: f64) -> Vec<P2> {
    let d = (b.0 - a.0).hypot(b.1 - a.1);
    let n = (d / step.max(0.5)).ceil().max(1.0) as usize;
    (1..=n)
        .map(|i| lerp(a, b, ((i as f64 * step) / d.max(1e-9)).min(1.0)))
        .collect()
}

/// One `reading-lines` session (module docs): 2–12 "read" lines, then the login form (two
/// fields, optionally typed into by a synthetic key generator, and the submit button).
fn reading_session(rng: &mut Rng, with_keys: bool) -> (Session, String) {
    let mean = *rng
        .pick(&[5.0, 8.0, 10.0, 16.0, 20.0, 30.0, 50.0])
        .unwrap_or(&16.0);
    let style = Style {
        timing: Timing::Gauss(mean, rng.range(0.3, 1.5)),
        round_px: rng.chance(0.8),
        tick: if rng.chance(0.5) { 0.1 } else { 1.0 },
        instant_click: rng.chance(0.5),
    };
    let (step, back) = (rng.range(6.0, 12.0), rng.range(16.0, 24.0));
    let (w, h) = (rng.range(1024.0, 1920.0), rng.range(640.0, 1080.0));
    let x0 = rng.range(40.0, 0.3 * w);
    let mut b = Builder {
        rng,
        style,
        generator: "reading-lines",
        src: Src::Own,
        t: 0.0,
        pos: (x0, h * 0.15),
        buttons: 0,
        out: Vec::new(),
    };
    b.t = b.rng.range(100.0, 1500.0);
    fn walk(b: &mut Builder, to: P2, step: f64) {
        for p in constant_steps(b.pos, to, step) {
            b.t += b.style.timing.dt(b.rng);
            b.push(pointer_kind::MOVE, p);
        }
        b.pos = to;
    }
    for _ in 0..b.rng.int(2, 12) {
        let end = (
            x0 + b.rng.range(250.0, 0.6 * w),
            b.pos.1 + b.rng.range(-3.0, 3.0),
        );
        walk(&mut b, end, step);
        b.t += b.rng.range(50.0, 600.0);
        let next = (
            x0 + b.rng.range(-10.0, 10.0),
            b.pos.1 + b.rng.range(18.0, 40.0),
        );
        walk(&mut b, next, back);
    }
    let mut name = "reading-lines".to_string();
    let mut krng = Rng::new(b.rng.next_u64());
    let kgen = krng.pick(&KEY_GENERATORS).copied().unwrap_or("type-gauss");
    let (kt, kname) = key_timing(&mut krng, kgen);
    if with_keys {
        name = format!("{name}+{kname}");
    }
    let fx = w / 2.0 + b.rng.range(-150.0, 150.0);
    let fy = h * b.rng.range(0.4, 0.55);
    let targets = [(fx, fy), (fx, fy + 55.0), (fx, fy + 120.0)];
    let keys = type_into_fields(
        &mut b,
        &mut krng,
        &targets,
        with_keys,
        kt,
        Typist::Synthetic,
        |b, tg| {
            let p = (
                tg.0 + b.rng.range(-40.0, 40.0),
                tg.1 + b.rng.range(-6.0, 6.0),
            );
            walk(b, p, step);
        },
    );
    let mut s = Session {
        pointer: b.out,
        keys,
        ..Default::default()
    };
    s.sanitize();
    (s, name)
}

/// The stronger generators' sessions ([`SynthOptions::strong`], `splice`, `digraph`); each
/// section has its own random stream, so adding them left the older generators' sessions
/// unchanged.
pub fn generate_strong(opts: &SynthOptions, humans: &[Record]) -> Vec<Record> {
    let mut out = Vec::new();
    let source = |r: &&Record| r.label == Label::Human && !r.derived;
    let pointer_humans: Vec<&Record> = humans
        .iter()
        .filter(|r| source(r) && r.session.pointer.len() >= 20)
        .collect();
    let key_humans: Vec<&Record> = humans
        .iter()
        .filter(|r| source(r) && r.session.keys.len() > 20)
        .collect();
    // A typist's table, trying a few recordings (some have too few clean digraphs).
    let typist = |rng: &mut Rng| -> Option<(DigraphTable, &Record)> {
        (0..8).find_map(|_| {
            let h = rng.pick(&key_humans).copied()?;
            DigraphTable::from_keys(&h.session.keys).map(|t| (t, h))
        })
    };
    let mut rng = Rng::derive(opts.seed, "synthetic/strong");
    for i in 0..opts.strong {
        let generator = STRONG_POINTER_GENERATORS[i % STRONG_POINTER_GENERATORS.len()];
        let with_keys = i % 3 == 2;
        let src = if generator == "windmouse" {
            if rng.chance(1.0 / 3.0) {
                Src::Wind {
                    p: WindParams::python_defaults(),
                    srl_waits: false,
                }
            } else {
                Src::Wind {
                    p: WindParams::random(&mut rng),
                    srl_waits: rng.chance(0.5),
                }
            }
        } else {
            Src::Own
        };
        let table = if with_keys { typist(&mut rng) } else { None };
        let (s, name, subject) = match &table {
            Some((t, h)) => {
                let jitter = rng.range(0.0, 8.0);
                let (s, n) = pointer_session_with(
                    &mut rng,
                    generator,
                    true,
                    src,
                    Typist::Digraph(t, jitter),
                );
                (s, n, Some(h.subject.clone()))
            }
            None => {
                let (s, n) =
                    pointer_session_with(&mut rng, generator, with_keys, src, Typist::Synthetic);
                (s, n, None)
            }
        };
        out.push(record(&name, i, s, true, subject));
    }
    let mut rng = Rng::derive(opts.seed, "synthetic/splice");
    let mut made = 0;
    for _ in 0..opts.splice * 4 {
        if made == opts.splice {
            break;
        }
        let Some(h) = rng.pick(&pointer_humans).copied() else {
            break;
        };
        let pool = human::strokes(&h.session.pointer);
        if pool.len() < 2 {
            continue;
        }
        let (warp, mode) = Warp::random(&mut rng);
        let src = Src::Strokes { pool: &pool, warp };
        let (s, _) = pointer_session_with(&mut rng, "human-splice", false, src, Typist::Synthetic);
        out.push(record(
            &format!("human-splice:{mode}"),
            made,
            s,
            true,
            Some(h.subject.clone()),
        ));
        made += 1;
    }
    let mut rng = Rng::derive(opts.seed, "synthetic/digraph");
    for i in 0..opts.digraph {
        let Some((table, h)) = typist(&mut rng) else {
            break;
        };
        let shift = rng.chance(0.5);
        let tick = *rng.pick(&[0.1, 1.0, 1.0, 16.0]).unwrap_or(&1.0);
        let jitter = rng.range(0.0, 8.0);
        let keys = type_shaped(&mut rng, shift, |rng, classes, t0| {
            table.type_keys(rng, classes, t0, tick, jitter)
        });
        let mut s = Session {
            keys,
            ..Default::default()
        };
        s.sanitize();
        out.push(record("type-digraph", i, s, true, Some(h.subject.clone())));
    }
    let mut rng = Rng::derive(opts.seed, "synthetic/reading");
    for i in 0..opts.reading {
        let (s, name) = reading_session(&mut rng, i % 3 == 2);
        out.push(record(&name, i, s, true, None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::features::{F, extract, replay};

    #[test]
    fn humanlike_clocks_skip_frames_or_hiccup() {
        let mut rng = Rng::new(7);
        let frames = Timing::Frames {
            period: 1000.0 / 60.0,
            skip: 0.2,
            jitter: 0.1,
        };
        let dts: Vec<f64> = (0..4000).map(|_| frames.dt(&mut rng)).collect();
        // Whole frames only, one in five skipping one or two.
        for d in &dts {
            let k = (d / (1000.0 / 60.0)).round();
            assert!((1.0..=3.0).contains(&k), "{d}");
            assert!((d - k * 1000.0 / 60.0).abs() < 0.6, "{d}");
        }
        let skipped = dts.iter().filter(|d| **d > 25.0).count() as f64 / 4000.0;
        assert!((0.17..0.23).contains(&skipped), "{skipped}");
        // The live patchright clock: ~19.6 ms, 7 % of the steps 0.6-1 period longer.
        let hiccup = Timing::Hiccup {
            period: 19.6,
            sd: 0.6,
            p: 0.07,
        };
        let dts: Vec<f64> = (0..4000).map(|_| hiccup.dt(&mut rng)).collect();
        let long: Vec<&f64> = dts.iter().filter(|d| **d > 27.0).collect();
        let share = long.len() as f64 / 4000.0;
        assert!((0.055..0.085).contains(&share), "{share}");
        assert!(long.iter().all(|d| (29.0..42.0).contains(*d)), "{long:?}");
        let mut short: Vec<f64> = dts.iter().copied().filter(|d| *d <= 27.0).collect();
        short.sort_by(f64::total_cmp);
        assert!((short[short.len() / 2] - 19.6).abs() < 0.1);
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = generate(&SynthOptions::scaled(3, 0.02), &[]);
        let b = generate(&SynthOptions::scaled(3, 0.02), &[]);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.id, y.id);
            assert_eq!(x.session, y.session);
        }
        let c = generate(&SynthOptions::scaled(4, 0.02), &[]);
        assert!(a.iter().zip(&c).any(|(x, y)| x.session != y.session));
    }

    #[test]
    fn skewed_typing_is_right_skewed() {
        // Pooled press-to-press intervals of `type-skewed` sessions: a long right tail (the
        // log-quantile skew of human typing is > 1), positive holds, keys in order; and each
        // variant occurs.
        let mut rng = Rng::new(5);
        let mut variants = std::collections::BTreeSet::new();
        let mut skews = Vec::new();
        for _ in 0..60 {
            let (s, name) = key_session(&mut rng, "type-skewed");
            variants.insert(name.clone());
            let mut p2p: Vec<f64> = s
                .keys
                .windows(2)
                .map(|w| w[1].down_ms - w[0].down_ms)
                .filter(|d| *d < 600.0)
                .collect();
            assert!(s.keys.iter().all(|k| k.up_ms - k.down_ms >= 4.9), "{name}");
            assert!(p2p.iter().all(|d| *d >= 0.0), "{name}");
            p2p.sort_by(f64::total_cmp);
            let q = |f: f64| p2p[((p2p.len() - 1) as f64 * f) as usize];
            if p2p.len() >= 10 {
                skews.push((q(0.9) - q(0.5)) / (q(0.5) - q(0.1)).max(1.0));
            }
        }
        assert_eq!(variants.len(), 3, "{variants:?}");
        skews.sort_by(f64::total_cmp);
        let median = skews[skews.len() / 2];
        assert!(median > 1.0, "median skew {median}");
    }

    #[test]
    fn key_only_sessions_are_logins_or_texts() {
        // Half logins (two fields with a pause of 0.3-2.5 s between them, Tab on half, Enter on
        // 70 %), half texts typed without a pause: a pause must not be a class shortcut.
        let mut rng = Rng::new(3);
        let (mut logins, mut tabs, mut enters) = (0, 0, 0);
        for _ in 0..400 {
            if let KeyShape::Login {
                user,
                tab,
                pause,
                pass,
                enter,
            } = key_shape(&mut rng)
            {
                logins += 1;
                tabs += usize::from(tab);
                enters += usize::from(enter.is_some());
                assert!((300.0..2500.0).contains(&pause) && (6..=20).contains(&user));
                assert!((6..=20).contains(&pass));
            }
        }
        assert!((160..=240).contains(&logins), "{logins} logins of 400");
        assert!(
            tabs > logins / 3 && tabs < 2 * logins / 3,
            "{tabs} of {logins}"
        );
        assert!(
            enters > logins / 2 && enters < 9 * logins / 10,
            "{enters} of {logins}"
        );
        // Typed with a metronome (a key every 100 ms, 50 ms holds): a login shows its pause
        // between the fields and only there.
        let metronome = |_: &mut Rng, classes: &[u8], t0: f64| {
            let keys: Vec<Key> = (0..classes.len())
                .map(|i| Key {
                    down_ms: t0 + 100.0 * i as f64,
                    up_ms: t0 + 100.0 * i as f64 + 50.0,
                    class: classes[i],
                    unreleased: false,
                })
                .collect();
            let end = keys.last().map_or(t0, |k| k.up_ms);
            (keys, end)
        };
        let mut seen_login = false;
        for seed in 0..20 {
            let mut rng = Rng::new(seed);
            let keys = type_shaped(&mut rng, false, metronome);
            let long = keys
                .windows(2)
                .filter(|w| w[1].down_ms - w[0].up_ms > 60.0)
                .count();
            let extra = keys
                .iter()
                .filter(|k| k.class == key_class::TAB || k.class == key_class::ENTER)
                .count();
            // Texts: none; logins: the field switch, and the wait before Enter when there is one.
            assert!(
                long <= 2 && (long > 0 || extra == 0),
                "seed {seed}: {long} {extra}"
            );
            seen_login |= long > 0;
        }
        assert!(seen_login);
    }

    #[test]
    fn generators_produce_their_tells() {
        let mut rng = Rng::new(1);
        for _ in 0..20 {
            let (s, name) = pointer_session(&mut rng, "ghost-cursor", false);
            let f = extract(&s);
            // Back-to-back dispatch: median move interval of a few ms at most.
            let dt = f.get(F::PtDtMedian).map(|v| v.exp() - 1.0);
            assert!(dt.is_some_and(|d| d < 4.0), "{name}: {dt:?}");
            let (s, _) = key_session(&mut rng, "type-const");
            let f = extract(&s);
            // No rollover, or holds too short to read at all (`Features::implausible_key_holds`).
            let want = if f.implausible_key_holds() {
                None
            } else {
                Some(0.0)
            };
            assert_eq!(f.get(F::KeyRollover), want);
        }
        let (s, name) = pointer_session(&mut rng, "bezier-eased", true);
        assert!(name.contains('+') && !s.keys.is_empty() && !s.pointer.is_empty());
    }

    /// Stand-in "humans" for the generators that need recordings: Gaussian-timed Bézier
    /// pointer sessions and digraph-rich typing, each its own subject.
    fn fake_humans() -> Vec<Record> {
        let mut rng = Rng::new(21);
        (0..6)
            .map(|i| {
                let (mut s, _) = pointer_session(&mut rng, "bezier-eased", false);
                let (k, _) = key_session(&mut rng, "type-gauss");
                s.keys = k.keys;
                Record {
                    id: format!("h/{i}"),
                    source: "test".into(),
                    subject: format!("person{i}"),
                    label: Label::Human,
                    generator: None,
                    session: s,
                    trainable: true,
                    derived: false,
                }
            })
            .collect()
    }

    #[test]
    fn strong_generators_make_every_family_deterministically() {
        let humans = fake_humans();
        let opts = SynthOptions::scaled(5, 0.05);
        let a = generate_strong(&opts, &humans);
        let b = generate_strong(&opts, &humans);
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.session == y.session && x.id == y.id)
        );
        let fams: std::collections::BTreeSet<String> =
            a.iter().flat_map(crate::lofo::families_of).collect();
        for f in [
            "synthetic/windmouse",
            "synthetic/min-jerk",
            "synthetic/ghost-cursor-os",
            "synthetic/human-splice",
            "synthetic/type-digraph",
        ] {
            assert!(fams.contains(f), "{f} missing: {fams:?}");
        }
        for r in &a {
            assert!(r.trainable && r.label == Label::Bot);
            assert!(
                !r.session.pointer.is_empty() || !r.session.keys.is_empty(),
                "{}",
                r.id
            );
            let g = r.generator.as_deref().unwrap_or("");
            // Bots built from a recording keep its subject (CV folds).
            if g.starts_with("human-splice") || g.contains("type-digraph") {
                assert!(r.subject.starts_with("person"), "{}: {}", r.id, r.subject);
            } else {
                assert!(r.subject.starts_with("synth-"), "{}", r.id);
            }
            // OS-level generators move in whole pixels.
            if g.starts_with("windmouse") || g.starts_with("ghost-cursor-os") {
                assert!(r.session.pointer.iter().all(|p| p.x.fract() == 0.0));
            }
        }
        // Adding the strong generators left the older ones' sessions unchanged.
        let old = SynthOptions {
            strong: 0,
            splice: 0,
            digraph: 0,
            reading: 0,
            ..opts
        };
        let with = generate(&opts, &humans);
        let without = generate(&old, &humans);
        assert_eq!(with.len(), without.len() + a.len());
        assert!(
            without
                .iter()
                .zip(&with)
                .all(|(x, y)| x.session == y.session)
        );
    }

    #[test]
    fn reading_lines_move_in_constant_steps_at_near_constant_delays() {
        let mut rng = Rng::new(5);
        for i in 0..30 {
            let (s, name) = reading_session(&mut rng, i % 3 == 2);
            assert_eq!(name.contains('+'), i % 3 == 2, "{name}");
            assert_eq!(s.keys.is_empty(), i % 3 != 2);
            let moves: Vec<&Pt> = s
                .pointer
                .iter()
                .filter(|p| p.kind == pointer_kind::MOVE)
                .collect();
            assert!(moves.len() > 50, "{}", moves.len());
            // Step lengths take a handful of values (line step, return step, the short last
            // step of each walk), never a hand's continuum.
            let mut lens: Vec<i64> = moves
                .windows(2)
                .map(|w| ((w[1].x - w[0].x).hypot(w[1].y - w[0].y)).round() as i64)
                .collect();
            lens.sort_unstable();
            let modal = lens
                .chunk_by(|a, b| a == b)
                .map(|c| c.len())
                .max()
                .unwrap_or(0);
            assert!(
                modal * 3 > lens.len(),
                "modal step share {modal}/{}",
                lens.len()
            );
            // Within-stroke delays: SD at most a few ms (Gaussian, SD <= 1.5 ms, 1 ms ticks).
            let mut all: Vec<f64> = moves.windows(2).map(|w| w[1].t_ms - w[0].t_ms).collect();
            all.sort_by(f64::total_cmp);
            let median = all[all.len() / 2];
            // Pauses at line ends and before clicks are not within-stroke delays.
            let dts: Vec<f64> = all.into_iter().filter(|d| *d < 2.0 * median).collect();
            let m = dts.iter().sum::<f64>() / dts.len() as f64;
            let sd = (dts.iter().map(|d| (d - m).powi(2)).sum::<f64>() / dts.len() as f64).sqrt();
            assert!(sd < 3.0, "dt SD {sd}");
            let f = extract(&s);
            // Rounded to whole px a step of 6-12 px alternates between its floor and ceiling:
            // at most |log(7 / 6)| = 0.154 (9.4 px: 9 / 10, 0.105); humans ~0.26.
            assert!(
                f.get(F::KinStepRatio).is_some_and(|v| v < 0.16),
                "{:?}",
                f.get(F::KinStepRatio)
            );
        }
    }

    #[test]
    fn typos_are_corrected_on_the_spot() {
        let mut rng = Rng::new(11);
        let clean = text_classes(&mut rng, 40, true);
        assert_eq!(with_typos(&mut rng, clean.clone(), 0.0), clean);
        let typed = with_typos(&mut rng, clean.clone(), 0.5);
        let bs = typed.iter().filter(|c| **c == key_class::BACKSPACE).count();
        assert!(bs > 0, "{typed:?}");
        // Each run of Backspaces erases exactly the characters typed just before it, so the
        // text left is the clean one.
        let mut left: Vec<u8> = Vec::new();
        for &c in &typed {
            if c == key_class::BACKSPACE {
                assert_eq!(left.pop(), Some(key_class::CHAR), "{typed:?}");
            } else {
                left.push(c);
            }
        }
        assert_eq!(left, clean);
        assert_eq!(typed.len(), clean.len() + 2 * bs);
    }

    #[test]
    fn about_half_the_synthetic_typists_correct_typos() {
        // Key-only sessions and logins with typing alike: until session 20 no synthetic typist
        // pressed Backspace, so a correction read as a person's.
        let mut rng = Rng::new(12);
        let (mut with_bs, mut n) = (0, 0);
        for g in ["type-gauss", "type-skewed", "type-const"] {
            for _ in 0..40 {
                let (s, _) = key_session(&mut rng, g);
                n += 1;
                with_bs += usize::from(s.keys.iter().any(|k| k.class == key_class::BACKSPACE));
            }
        }
        for _ in 0..40 {
            let (s, name) = pointer_session(&mut rng, "windmouse", true);
            assert!(!s.keys.is_empty(), "{name}");
            n += 1;
            with_bs += usize::from(s.keys.iter().any(|k| k.class == key_class::BACKSPACE));
        }
        assert!(
            with_bs * 4 > n && with_bs * 4 < 3 * n,
            "{with_bs} of {n} sessions with a Backspace"
        );
    }

    #[test]
    fn ghost_cursor_os_ticks_are_not_bursts() {
        // The OS-level variant is never the back-to-back CDP burst of `ghost-cursor`.
        let mut rng = Rng::new(8);
        for _ in 0..30 {
            let (s, name) = pointer_session(&mut rng, "ghost-cursor-os", true);
            let f = extract(&s);
            let dt = f.get(F::PtDtMedian).map(|v| v.exp() - 1.0);
            assert!(dt.is_some_and(|d| d >= 2.0), "{name}: {dt:?}");
        }
    }

    #[test]
    fn replayed_copies_share_stroke_hashes() {
        let mut rng = Rng::new(5);
        let (human, _) = pointer_session(&mut rng, "bezier-eased", false);
        let base = extract(&human).stroke_hashes;
        assert!(!base.is_empty());
        let copy = extract(&replay_copy(&mut rng, &human, false)).stroke_hashes;
        let shared = copy
            .iter()
            .filter(|h| base.iter().any(|b| replay::matches(b, h)))
            .count();
        assert!(
            2 * shared >= copy.len() && shared > 0,
            "{shared}/{}",
            copy.len()
        );
    }
}
