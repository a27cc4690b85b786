//! Physics- and model-based movement generators: WindMouse and minimum-jerk paths with
//! sub-movements. Both return timed samples (`dt` since the previous sample, position), so the
//! caller only renders them.

use super::P2;
use crate::rng::Rng;

/// Parameters of Benjamin Land's WindMouse ("gravity + wind"; as published for SCAR/SRL and the
/// widely copied Python port).
#[derive(Debug, Clone, Copy)]
pub struct WindParams {
    /// Pull towards the target per step (G₀, default 9).
    pub gravity: f64,
    /// Random wind magnitude (W₀, default 3).
    pub wind: f64,
    /// Maximum step length in px (M₀, default 15; SRL: 10 × speed).
    pub max_step: f64,
    /// Distance below which the wind dies down and the step shrinks (D₀, default 12; SRL's
    /// `targetArea`).
    pub target_area: f64,
    /// SRL timing: `wait = (max_wait − min_wait) × step/max_step + min_wait` ms, rounded to whole
    /// ms like SCAR's `Wait`.
    pub min_wait: f64,
    pub max_wait: f64,
}

impl WindParams {
    /// The widely copied Python port's defaults (G₀ 9, W₀ 3, M₀ 15, D₀ 12), driven by a sleep loop
    /// (the caller's timing; the waits here are unused).
    pub fn python_defaults() -> WindParams {
        WindParams {
            gravity: 9.0,
            wind: 3.0,
            max_step: 15.0,
            target_area: 12.0,
            min_wait: 10.0,
            max_wait: 15.0,
        }
    }

    /// Randomised like SRL's `MMouse`: `speed = (random(mouse_speed)/2 + mouse_speed)/10`,
    /// gravity 9 and wind 3 jittered ±30 % (the Python port's users vary them).
    pub fn random(rng: &mut Rng) -> WindParams {
        let mouse_speed = rng.range(10.0, 25.0);
        let s = (rng.range(0.0, mouse_speed) / 2.0 + mouse_speed) / 10.0;
        WindParams {
            gravity: 9.0 * rng.range(0.7, 1.3),
            wind: 3.0 * rng.range(0.7, 1.3),
            max_step: 10.0 * s,
            target_area: 10.0 * s,
            min_wait: 10.0 / s,
            max_wait: 15.0 / s,
        }
    }
}

/// Hard cap on WindMouse iterations (the algorithm converges in a few hundred steps; the cap
/// only guards against pathological parameters).
const WIND_MAX_STEPS: usize = 20_000;

/// One WindMouse movement from `a` to `b`: whole-pixel positions, emitted only when the rounded
/// position changes (as the original does), each with the SRL wait before it. Ends exactly at
/// `b` rounded.
pub fn windmouse(rng: &mut Rng, a: P2, b: P2, p: &WindParams) -> Vec<(f64, P2)> {
    let (s3, s5) = (3f64.sqrt(), 5f64.sqrt());
    let dest = (b.0.round(), b.1.round());
    let (mut x, mut y) = a;
    let (mut vx, mut vy, mut wx, mut wy) = (0.0, 0.0, 0.0, 0.0);
    let mut m0 = p.max_step.max(1.0);
    let mut cur = (a.0.round(), a.1.round());
    let mut out = Vec::new();
    for _ in 0..WIND_MAX_STEPS {
        let dist = (dest.0 - x).hypot(dest.1 - y);
        if dist < 1.0 {
            break;
        }
        let wmag = p.wind.min(dist);
        if dist >= p.target_area {
            wx = wx / s3 + (2.0 * rng.f64() - 1.0) * wmag / s5;
            wy = wy / s3 + (2.0 * rng.f64() - 1.0) * wmag / s5;
        } else {
            wx /= s3;
            wy /= s3;
            if m0 < 3.0 {
                m0 = rng.f64() * 3.0 + 3.0;
            } else {
                m0 /= s5;
            }
        }
        vx += wx + p.gravity * (dest.0 - x) / dist;
        vy += wy + p.gravity * (dest.1 - y) / dist;
        let vmag = vx.hypot(vy);
        if vmag > m0 {
            let clip = m0 / 2.0 + rng.f64() * m0 / 2.0;
            vx = vx / vmag * clip;
            vy = vy / vmag * clip;
        }
        x += vx;
        y += vy;
        let step = vx.hypot(vy);
        let m = (x.round(), y.round());
        if m != cur {
            cur = m;
            let wait = ((p.max_wait - p.min_wait) * (step / p.max_step.max(1e-9)) + p.min_wait)
                .round()
                .max(0.0);
            out.push((wait, m));
        }
    }
    if cur != dest {
        out.push((p.min_wait.round().max(1.0), dest));
    }
    out
}

/// Minimum-jerk position profile (Flash & Hogan 1985): 10τ³ − 15τ⁴ + 6τ⁵, τ clamped to 0..1.
pub fn min_jerk(tau: f64) -> f64 {
    let t = tau.clamp(0.0, 1.0);
    t * t * t * (10.0 + t * (-15.0 + 6.0 * t))
}

/// One sub-movement: displacement `d` starting at `t0` lasting `dur` (ms).
#[derive(Debug, Clone, Copy)]
pub struct SubMovement {
    pub t0: f64,
    pub dur: f64,
    pub d: P2,
}

/// A movement as superposed minimum-jerk sub-movements (Flash & Henis 1991; Meyer's optimized
/// sub-movement model): a primary ballistic one that under- or overshoots with a lateral error,
/// then one or two corrective ones that start before the previous has ended.
#[derive(Debug, Clone)]
pub struct MinJerkPlan {
    pub start: P2,
    pub subs: Vec<SubMovement>,
    /// Sensor noise (px, Gaussian per sample) and tremor (px amplitude, Hz).
    pub noise_px: f64,
    pub tremor: (f64, f64),
}

impl MinJerkPlan {
    /// Plan a movement from `a` to `b` with a target of width `w` px: duration from Fitts' law
    /// (`a + b·log2(D/W + 1)` with per-session coefficients), primary amplitude 0.85–1.08 of the
    /// distance with a lateral error, corrections aimed at the target (the last one exactly).
    pub fn random(rng: &mut Rng, a: P2, b: P2, w: f64) -> MinJerkPlan {
        let d = (b.0 - a.0).hypot(b.1 - a.1);
        let (nx, ny) = if d > 0.0 {
            (-(b.1 - a.1) / d, (b.0 - a.0) / d)
        } else {
            (0.0, 0.0)
        };
        let id = (d / w.max(1.0) + 1.0).log2();
        let t1 = (rng.range(80.0, 200.0) + rng.range(80.0, 160.0) * id).max(60.0);
        let amp = if rng.chance(0.75) {
            rng.range(0.85, 0.98)
        } else {
            rng.range(1.0, 1.08)
        };
        let lat = rng.gauss(0.0, 0.04 * d);
        let p1 = (
            a.0 + (b.0 - a.0) * amp + nx * lat,
            a.1 + (b.1 - a.1) * amp + ny * lat,
        );
        let mut subs = vec![SubMovement {
            t0: 0.0,
            dur: t1,
            d: (p1.0 - a.0, p1.1 - a.1),
        }];
        let mut at = p1;
        let mut end = t1;
        let corrections = if d < 30.0 {
            0
        } else if rng.chance(0.3) {
            2
        } else {
            1
        };
        for k in 0..corrections {
            let last = k + 1 == corrections;
            let rem = (b.0 - at.0, b.1 - at.1);
            // A non-final correction leaves a small residual of its own.
            let aim = if last { 1.0 } else { rng.range(0.8, 0.95) };
            let d2 = (rem.0 * aim, rem.1 * aim);
            let prev = subs.last().map_or(t1, |s| s.dur);
            let t0 = end - prev * rng.range(0.05, 0.4);
            let dur = rng.range(100.0, 250.0);
            subs.push(SubMovement { t0, dur, d: d2 });
            at = (at.0 + d2.0, at.1 + d2.1);
            end = t0 + dur;
        }
        MinJerkPlan {
            start: a,
            subs,
            noise_px: if rng.chance(0.7) {
                rng.range(0.1, 0.8)
            } else {
                0.0
            },
            tremor: (rng.range(0.0, 0.6), rng.range(8.0, 12.0)),
        }
    }

    pub fn duration(&self) -> f64 {
        self.subs.iter().map(|s| s.t0 + s.dur).fold(0.0, f64::max)
    }

    /// Noise-free position at time `t` (ms).
    pub fn at(&self, t: f64) -> P2 {
        let mut p = self.start;
        for s in &self.subs {
            let u = min_jerk((t - s.t0) / s.dur.max(1e-9));
            p.0 += s.d.0 * u;
            p.1 += s.d.1 * u;
        }
        p
    }

    /// Sample the plan: intervals from `dt` until the plan's end, then one last sample at its
    /// end point (noise and tremor added on every sample but the last, so it ends on target).
    pub fn sample(&self, rng: &mut Rng, mut dt: impl FnMut(&mut Rng) -> f64) -> Vec<(f64, P2)> {
        let end = self.duration();
        let phase = rng.range(0.0, std::f64::consts::TAU);
        let mut out = Vec::new();
        let mut t = 0.0;
        loop {
            let step = dt(rng).max(0.0);
            if t + step >= end || out.len() >= 5000 {
                out.push(((end - t).max(0.0), self.at(end)));
                break;
            }
            t += step;
            let p = self.at(t);
            let tr =
                self.tremor.0 * (std::f64::consts::TAU * self.tremor.1 * t / 1000.0 + phase).sin();
            out.push((
                step,
                (
                    p.0 + rng.gauss(0.0, self.noise_px) + tr,
                    p.1 + rng.gauss(0.0, self.noise_px) - tr,
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windmouse_ends_within_the_target() {
        let mut rng = Rng::new(11);
        for i in 0..200 {
            let p = WindParams::random(&mut rng);
            let a = (rng.range(0.0, 1900.0), rng.range(0.0, 1000.0));
            // The click point is drawn inside a 200×40 box around the target's centre.
            let c = (rng.range(100.0, 1800.0), rng.range(50.0, 950.0));
            let b = (c.0 + rng.range(-100.0, 100.0), c.1 + rng.range(-20.0, 20.0));
            let pts = windmouse(&mut rng, a, b, &p);
            let (_, last) = *pts.last().expect("a movement has samples");
            assert!(
                (last.0 - b.0).abs() <= 0.5 && (last.1 - b.1).abs() <= 0.5,
                "{i}"
            );
            assert!((last.0 - c.0).abs() <= 100.5 && (last.1 - c.1).abs() <= 20.5);
            // Whole pixels, no zero steps, SRL waits within [min_wait, max_wait] (+ rounding).
            for w in pts.windows(2) {
                assert_ne!(w[0].1, w[1].1);
            }
            for (dt, q) in &pts {
                assert_eq!(q.0.fract(), 0.0);
                assert!(*dt >= p.min_wait.round() - 1.0 && *dt <= p.max_wait.round() + 1.0);
            }
            // Wind makes it wander: not a straight line for long movements.
            let d = (b.0 - a.0).hypot(b.1 - a.1);
            if d > 400.0 {
                assert!(pts.len() > 10);
            }
        }
    }

    #[test]
    fn min_jerk_velocity_profile_is_bell_shaped() {
        // One sub-movement, no noise, sampled every ms: speed rises monotonically to a single
        // peak at the middle and falls monotonically after it, symmetric.
        let plan = MinJerkPlan {
            start: (0.0, 0.0),
            subs: vec![SubMovement {
                t0: 0.0,
                dur: 400.0,
                d: (300.0, 100.0),
            }],
            noise_px: 0.0,
            tremor: (0.0, 10.0),
        };
        let mut rng = Rng::new(1);
        let pts = plan.sample(&mut rng, |_| 1.0);
        let speed: Vec<f64> = pts
            .windows(2)
            .map(|w| (w[1].1.0 - w[0].1.0).hypot(w[1].1.1 - w[0].1.1))
            .collect();
        let (peak, _) = speed
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        let rel = peak as f64 / speed.len() as f64;
        assert!((0.47..=0.53).contains(&rel), "peak at {rel}");
        assert!(speed[..peak].windows(2).all(|w| w[1] >= w[0] - 1e-9));
        assert!(speed[peak..].windows(2).all(|w| w[1] <= w[0] + 1e-9));
        let last = pts.last().unwrap().1;
        assert!((last.0 - 300.0).abs() < 1e-9 && (last.1 - 100.0).abs() < 1e-9);
        // Peak speed of a minimum-jerk movement: 1.875 × mean speed.
        let mean = 316.227_766 / 400.0;
        assert!((speed[peak] / mean - 1.875).abs() < 0.01);
    }

    #[test]
    fn min_jerk_plans_correct_onto_the_target() {
        let mut rng = Rng::new(3);
        let mut two_peaks = 0;
        for _ in 0..100 {
            let a = (rng.range(0.0, 800.0), rng.range(0.0, 600.0));
            let b = (rng.range(900.0, 1800.0), rng.range(0.0, 900.0));
            let plan = MinJerkPlan::random(&mut rng, a, b, 40.0);
            assert!(plan.subs.len() >= 2, "long movements get a correction");
            let end = plan.at(plan.duration());
            assert!((end.0 - b.0).abs() < 1e-6 && (end.1 - b.1).abs() < 1e-6);
            // The noise-free speed profile has a primary peak and a later corrective one.
            let sp: Vec<f64> = (0..plan.duration() as usize)
                .map(|t| {
                    let (p, q) = (plan.at(t as f64), plan.at(t as f64 + 1.0));
                    (q.0 - p.0).hypot(q.1 - p.1)
                })
                .collect();
            let peaks = sp
                .windows(3)
                .filter(|w| w[1] > w[0] && w[1] >= w[2] && w[1] > 0.02)
                .count();
            two_peaks += usize::from(peaks >= 2);
        }
        assert!(two_peaks >= 50, "{two_peaks}");
    }
}
