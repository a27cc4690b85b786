//! Generators built from recorded human input: stroke splicing / time-warping onto new start
//! and target points, and keystroke timing sampled from one typist's digraph (key-class pair)
//! distribution. Bots made this way keep the source human's subject (so subject-wise CV never
//! scores them with a model that saw their source).

use std::collections::HashMap;

use tollgate_model::features::{Key, Pt};
use tollgate_protocol::telemetry::{key_class, pointer_kind};

use super::P2;
use crate::rng::Rng;

/// Strokes for splicing: runs of moves with gaps ≤ 100 ms, at least 8 samples and a chord of at
/// least 50 px (the stroke definition of the behaviour notes).
pub fn strokes(pointer: &[Pt]) -> Vec<Vec<Pt>> {
    let mut out = Vec::new();
    let mut cur: Vec<Pt> = Vec::new();
    let mut flush = |cur: &mut Vec<Pt>| {
        if cur.len() >= 8 {
            let (a, b) = (cur[0], cur[cur.len() - 1]);
            if (b.x - a.x).hypot(b.y - a.y) >= 50.0 {
                out.push(std::mem::take(cur));
            }
        }
        cur.clear();
    };
    for p in pointer.iter().filter(|p| p.kind == pointer_kind::MOVE) {
        if let Some(l) = cur.last()
            && p.t_ms - l.t_ms > 100.0
        {
            flush(&mut cur);
        }
        cur.push(*p);
    }
    flush(&mut cur);
    out
}

/// How a spliced stroke is timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warp {
    /// The human's own sample intervals, unchanged.
    Keep,
    /// Monotone time warp `t' = T·s·((1−λ)u + λu^γ)` of the relative time `u` (duration scaled
    /// by `s`).
    Warp { scale: f64, lambda: f64, gamma: f64 },
    /// Resampled at a new clock (`period` ms ± Gaussian `jitter`), positions interpolated along
    /// the human's own timing (so its speed profile is kept).
    Resample { period: f64, jitter: f64 },
}

impl Warp {
    pub fn random(rng: &mut Rng) -> (Warp, &'static str) {
        match rng.int(0, 2) {
            0 => (Warp::Keep, "keep"),
            1 => (
                Warp::Warp {
                    scale: rng.range(0.7, 1.4),
                    lambda: rng.range(0.2, 1.0),
                    gamma: rng.range(0.6, 1.6),
                },
                "warp",
            ),
            _ => (
                Warp::Resample {
                    period: *rng.pick(&[8.0, 10.0, 16.67]).unwrap_or(&16.67),
                    jitter: rng.range(0.0, 2.0),
                },
                "resample",
            ),
        }
    }
}

/// Map a human stroke onto `a → b` by the similarity transform taking its first sample to `a`
/// and its last to `b` (rotation + uniform scale + translation), timed per `warp`. Returns
/// `(dt, position)` per sample after the first (the first would sit on `a`, where the cursor
/// already is). `None` for a stroke without a chord.
pub fn splice(stroke: &[Pt], a: P2, b: P2, warp: Warp, rng: &mut Rng) -> Option<Vec<(f64, P2)>> {
    let (first, last) = (stroke.first()?, stroke.last()?);
    let (cx, cy) = (last.x - first.x, last.y - first.y);
    let c2 = cx * cx + cy * cy;
    if c2.is_nan() || c2 <= 1.0 {
        return None;
    }
    let (tx, ty) = (b.0 - a.0, b.1 - a.1);
    // (tx + i·ty) / (cx + i·cy)
    let (re, im) = ((tx * cx + ty * cy) / c2, (ty * cx - tx * cy) / c2);
    let map = |p: &Pt| {
        let (dx, dy) = (p.x - first.x, p.y - first.y);
        (a.0 + dx * re - dy * im, a.1 + dx * im + dy * re)
    };
    let t0 = first.t_ms;
    let dur = (last.t_ms - t0).max(0.0);
    let mut out = Vec::with_capacity(stroke.len());
    match warp {
        Warp::Keep => {
            for w in stroke.windows(2) {
                out.push((w[1].t_ms - w[0].t_ms, map(&w[1])));
            }
        }
        Warp::Warp {
            scale,
            lambda,
            gamma,
        } => {
            let f = |t: f64| {
                let u = if dur > 0.0 { (t - t0) / dur } else { 1.0 };
                dur * scale * ((1.0 - lambda) * u + lambda * u.powf(gamma))
            };
            for w in stroke.windows(2) {
                out.push((f(w[1].t_ms) - f(w[0].t_ms), map(&w[1])));
            }
        }
        Warp::Resample { period, jitter } => {
            let mut t = t0;
            let mut j = 0;
            loop {
                let step = rng.gauss(period, jitter).max(1.0);
                if t + step >= last.t_ms || out.len() > 5000 {
                    out.push(((last.t_ms - t).max(0.0), map(last)));
                    break;
                }
                t += step;
                while j + 1 < stroke.len() && stroke[j + 1].t_ms < t {
                    j += 1;
                }
                let (p, q) = (stroke[j], stroke[(j + 1).min(stroke.len() - 1)]);
                let u = if q.t_ms > p.t_ms {
                    ((t - p.t_ms) / (q.t_ms - p.t_ms)).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let (pa, pb) = (map(&p), map(&q));
                out.push((step, (pa.0 + (pb.0 - pa.0) * u, pa.1 + (pb.1 - pa.1) * u)));
            }
        }
    }
    Some(out)
}

/// One typist's keystroke timing: per key-class pair (previous, next) the observed
/// (press-to-press interval, hold of the next key) samples, plus all samples pooled.
#[derive(Debug, Clone)]
pub struct DigraphTable {
    by_pair: HashMap<(u8, u8), Vec<(f64, f64)>>,
    all: Vec<(f64, f64)>,
}

/// Press-to-press intervals above this are pauses, not digraphs.
const MAX_DIGRAPH_MS: f64 = 1500.0;
/// Fewest samples of a class pair before it is used instead of the pooled samples.
const MIN_PAIR_SAMPLES: usize = 3;

impl DigraphTable {
    /// Build from a human's keys (at least 20 released digraphs), or `None`.
    pub fn from_keys(keys: &[Key]) -> Option<DigraphTable> {
        let mut k: Vec<&Key> = keys.iter().filter(|k| !k.unreleased).collect();
        k.sort_by(|a, b| a.down_ms.total_cmp(&b.down_ms));
        let mut by_pair: HashMap<(u8, u8), Vec<(f64, f64)>> = HashMap::new();
        let mut all = Vec::new();
        for w in k.windows(2) {
            let p2p = w[1].down_ms - w[0].down_ms;
            let hold = w[1].up_ms - w[1].down_ms;
            if !((0.0..=MAX_DIGRAPH_MS).contains(&p2p) && hold > 0.0 && hold < 2000.0) {
                continue;
            }
            by_pair
                .entry((w[0].class, w[1].class))
                .or_default()
                .push((p2p, hold));
            all.push((p2p, hold));
        }
        (all.len() >= 20).then_some(DigraphTable { by_pair, all })
    }

    /// Draw (press-to-press, hold) for the transition `prev → next`.
    pub fn draw(&self, rng: &mut Rng, prev: u8, next: u8) -> (f64, f64) {
        let pool = self
            .by_pair
            .get(&(prev, next))
            .filter(|v| v.len() >= MIN_PAIR_SAMPLES)
            .unwrap_or(&self.all);
        rng.pick(pool).copied().unwrap_or((150.0, 90.0))
    }

    /// Type `classes` from `t0`: each key's press-to-press interval and hold drawn jointly for
    /// its class transition (so hold–flight dependence and rollover come from the human), with
    /// optional Gaussian `jitter` (ms) on both. Returns the keys and the end time.
    pub fn type_keys(
        &self,
        rng: &mut Rng,
        classes: &[u8],
        t0: f64,
        tick: f64,
        jitter: f64,
    ) -> (Vec<Key>, f64) {
        let mut keys = Vec::with_capacity(classes.len());
        let mut t = t0;
        let mut prev = key_class::OTHER;
        for (i, &c) in classes.iter().enumerate() {
            let (p2p, hold) = self.draw(rng, prev, c);
            if i > 0 {
                t += (p2p + rng.gauss(0.0, jitter)).max(1.0);
            }
            let hold = (hold + rng.gauss(0.0, jitter)).max(5.0);
            keys.push(Key {
                down_ms: super::quant(t, tick),
                up_ms: super::quant(t + hold, tick),
                class: c,
                unreleased: false,
            });
            prev = c;
        }
        let end = keys.last().map_or(t0, |k| k.up_ms.max(t));
        (keys, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_protocol::telemetry::pointer_type;

    fn mv(t: f64, x: f64, y: f64) -> Pt {
        Pt {
            t_ms: t,
            kind: pointer_kind::MOVE,
            x,
            y,
            buttons: 0,
            ptype: pointer_type::MOUSE,
            pressure: None,
            trusted: None,
            coalesced: false,
        }
    }

    fn human_stroke() -> Vec<Pt> {
        // A bowed stroke with irregular, frame-like intervals.
        let dts = [
            16.2, 17.1, 15.9, 16.8, 33.4, 16.6, 8.2, 16.9, 17.3, 16.1, 16.7, 15.8,
        ];
        let mut t = 1000.0;
        let mut v = vec![mv(t, 100.0, 200.0)];
        for (i, dt) in dts.iter().enumerate() {
            t += dt;
            let u = (i + 1) as f64 / dts.len() as f64;
            v.push(mv(
                t,
                100.0 + 300.0 * u,
                200.0 + 60.0 * (std::f64::consts::PI * u).sin(),
            ));
        }
        v
    }

    #[test]
    fn strokes_split_at_pauses_and_skip_short_ones() {
        let mut s = human_stroke();
        let t = s.last().unwrap().t_ms;
        // A pause, then a 5-sample wiggle (too short), then the stroke again.
        s.extend((0..5).map(|i| mv(t + 500.0 + i as f64 * 16.0, 400.0 + i as f64, 200.0)));
        s.extend(human_stroke().into_iter().map(|p| Pt {
            t_ms: p.t_ms + t + 1000.0,
            ..p
        }));
        let st = strokes(&s);
        assert_eq!(st.len(), 2);
        assert!(st.iter().all(|x| x.len() == 13));
    }

    #[test]
    fn splice_keeps_the_human_sample_intervals_and_lands_on_target() {
        let st = human_stroke();
        let mut rng = Rng::new(2);
        let (a, b) = ((700.0, 500.0), (320.0, 180.0));
        let out = splice(&st, a, b, Warp::Keep, &mut rng).unwrap();
        assert_eq!(out.len(), st.len() - 1);
        for (o, w) in out.iter().zip(st.windows(2)) {
            assert_eq!(o.0, w[1].t_ms - w[0].t_ms);
        }
        let end = out.last().unwrap().1;
        assert!((end.0 - b.0).abs() < 1e-9 && (end.1 - b.1).abs() < 1e-9);
        // Shape preserved: the bow's relative height (max lateral / chord) is unchanged.
        let lateral = |pts: &[(f64, f64)], a: P2, b: P2| {
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let c = dx.hypot(dy);
            pts.iter()
                .map(|p| ((p.0 - a.0) * dy - (p.1 - a.1) * dx).abs() / c / c)
                .fold(0.0, f64::max)
        };
        let src: Vec<P2> = st.iter().map(|p| (p.x, p.y)).collect();
        let dst: Vec<P2> = out.iter().map(|o| o.1).collect();
        let (h0, h1) = (
            lateral(&src, src[0], *src.last().unwrap()),
            lateral(&dst, a, b),
        );
        assert!((h0 - h1).abs() < 1e-9, "{h0} vs {h1}");
    }

    #[test]
    fn warp_is_monotone_and_resample_uses_the_new_clock() {
        let st = human_stroke();
        let mut rng = Rng::new(4);
        let dur = st.last().unwrap().t_ms - st[0].t_ms;
        let w = Warp::Warp {
            scale: 1.3,
            lambda: 0.8,
            gamma: 1.5,
        };
        let out = splice(&st, (0.0, 0.0), (100.0, 0.0), w, &mut rng).unwrap();
        assert!(out.iter().all(|o| o.0 > 0.0));
        let total: f64 = out.iter().map(|o| o.0).sum();
        assert!((total - 1.3 * dur).abs() < 1e-9);
        let r = Warp::Resample {
            period: 10.0,
            jitter: 0.0,
        };
        let out = splice(&st, (0.0, 0.0), (100.0, 0.0), r, &mut rng).unwrap();
        assert!(out[..out.len() - 1].iter().all(|o| o.0 == 10.0));
        let total: f64 = out.iter().map(|o| o.0).sum();
        assert!((total - dur).abs() < 1e-9);
        assert_eq!(out.last().unwrap().1, (100.0, 0.0));
    }

    #[test]
    fn digraph_typing_draws_from_the_typists_class_pairs() {
        // A typist whose space → char transitions are slow (300 ms) and char → char fast (120).
        let mut keys = Vec::new();
        let mut t = 0.0;
        let mut prev = key_class::CHAR;
        for i in 0..60 {
            let c = if i % 5 == 4 {
                key_class::SPACE
            } else {
                key_class::CHAR
            };
            t += if prev == key_class::SPACE {
                300.0
            } else {
                120.0
            };
            keys.push(Key {
                down_ms: t,
                up_ms: t + if c == key_class::SPACE { 70.0 } else { 95.0 },
                class: c,
                unreleased: false,
            });
            prev = c;
        }
        let table = DigraphTable::from_keys(&keys).unwrap();
        assert!(DigraphTable::from_keys(&keys[..10]).is_none());
        let mut rng = Rng::new(9);
        let classes = [
            key_class::CHAR,
            key_class::CHAR,
            key_class::SPACE,
            key_class::CHAR,
            key_class::CHAR,
        ];
        let (typed, _) = table.type_keys(&mut rng, &classes, 50.0, 0.1, 0.0);
        assert_eq!(typed.len(), 5);
        let p2p: Vec<f64> = typed
            .windows(2)
            .map(|w| w[1].down_ms - w[0].down_ms)
            .collect();
        assert!((p2p[0] - 120.0).abs() < 0.2, "{p2p:?}");
        assert!((p2p[2] - 300.0).abs() < 0.2, "{p2p:?}");
        assert!((typed[2].up_ms - typed[2].down_ms - 70.0).abs() < 0.2);
    }
}
