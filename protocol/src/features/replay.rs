//! Replay detection: a shape-normalised similarity hash per stroke.
//!
//! Replay tools take a recorded human trajectory, rotate/scale/translate it onto a new start and
//! end, and re-time it. The hash ignores exactly those: the stroke is resampled by arc length to
//! [`POINTS`] points (time and sampling rate drop out), translated to start at the origin,
//! rotated so the reference direction (start → end, or start → farthest point for loops such as
//! circles) is +x, scaled by the reference length, mirrored never, and quantised to a
//! 1/[`GRID`] grid before hashing. Straight-ish strokes carry no shape and would collide across
//! unrelated people, so they are not hashed. Counting hashes across sessions needs a store and
//! lives in the verifier; this module only computes them.
//!
//! Before resampling the stroke is decimated (samples closer than [`DECIMATE`] of its size to the
//! last kept one are skipped), so whole-pixel rounding after a rescale does not inflate the path.
//! Known limit: a replayer that adds noise can still move a point across a grid line and change
//! the hash; the coarse grid and the decimation make that uncommon, not impossible.

use super::Pt;
use super::pointer::path_len;

/// Resampled points per stroke.
pub const POINTS: usize = 16;
/// Quantisation grid (cells per reference length).
pub const GRID: f64 = 24.0;
/// Strokes shorter than this (px of path) are not hashed.
pub const MIN_PATH_PX: f64 = 150.0;
/// Minimum samples in a hashed stroke.
pub const MIN_SAMPLES: usize = 16;
/// Samples closer than this share of the stroke's size to the last kept one are skipped before
/// resampling (see [`stroke_hash`]).
pub const DECIMATE: f64 = 0.02;
/// A stroke must bend by at least this share of its reference length.
pub const MIN_BEND: f64 = 0.1;

/// Shape hash of a stroke, or `None` when it is too short or too straight to be distinctive.
pub fn stroke_hash(st: &[Pt]) -> Option<u64> {
    if st.len() < MIN_SAMPLES {
        return None;
    }
    stroke_hash_with_path(st, path_len(st))
}

/// [`stroke_hash`] with the stroke's [`path_len`] already known.
pub(crate) fn stroke_hash_with_path(st: &[Pt], path: f64) -> Option<u64> {
    if st.len() < MIN_SAMPLES {
        return None;
    }
    if !(path.is_finite() && path >= MIN_PATH_PX) {
        return None;
    }
    // Pixel rounding after a rescale adds ±0.5 px of jitter to every sample, which lengthens the
    // path unevenly (most where the hand was slow) and shifts arc-length resampling across grid
    // lines. Decimating first (keep a sample only once it is a small share of the stroke's size
    // away from the last kept one) makes the path length a property of the shape, not of the
    // sampling noise. The threshold is relative to the largest distance from the start, which
    // rotation, scale and translation preserve.
    let (sx, sy) = (st[0].x, st[0].y);
    let size = st
        .iter()
        .map(|p| (p.x - sx).hypot(p.y - sy))
        .fold(0.0, f64::max);
    let min_step = DECIMATE * size;
    let mut dec: Vec<Pt> = Vec::with_capacity(st.len());
    for p in st {
        match dec.last() {
            Some(l) if (p.x - l.x).hypot(p.y - l.y) < min_step => {}
            _ => dec.push(*p),
        }
    }
    if let (Some(l), Some(last)) = (dec.last().copied(), st.last())
        && (l.x != last.x || l.y != last.y)
    {
        dec.push(*last);
    }
    let path = path_len(&dec);
    if !(path.is_finite() && path > 0.0) {
        return None;
    }
    let rs = resample(&dec, path, POINTS)?;
    let (x0, y0) = rs[0];
    let chord_end = rs[POINTS - 1];
    let chord = (chord_end.0 - x0).hypot(chord_end.1 - y0);
    let (rx, ry) = if chord >= 0.3 * path {
        chord_end
    } else {
        // Loops: farthest resampled point from the start (first one on ties).
        *rs.iter().fold(&rs[0], |best, p| {
            if (p.0 - x0).hypot(p.1 - y0) > (best.0 - x0).hypot(best.1 - y0) {
                p
            } else {
                best
            }
        })
    };
    let refl = (rx - x0).hypot(ry - y0);
    if refl <= 1e-6 {
        return None;
    }
    let (c, s) = ((rx - x0) / refl, (ry - y0) / refl);
    let mut q = [0i8; 2 * POINTS];
    let mut bend: f64 = 0.0;
    for (i, (x, y)) in rs.iter().enumerate() {
        let (dx, dy) = ((x - x0) / refl, (y - y0) / refl);
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        bend = bend.max(v.abs());
        q[2 * i] = (u * GRID).round().clamp(-127.0, 127.0) as i8;
        q[2 * i + 1] = (v * GRID).round().clamp(-127.0, 127.0) as i8;
    }
    if bend < MIN_BEND {
        return None;
    }
    let bytes: [u8; 2 * POINTS] = q.map(|v| v as u8);
    let h = crate::sha256_parts(b"tollgate/stroke-shape/v1", &[&bytes[..]]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h[..8]);
    Some(u64::from_be_bytes(out))
}

/// Resample by arc length to `n` points.
fn resample(st: &[Pt], path: f64, n: usize) -> Option<Vec<(f64, f64)>> {
    if n < 2 || st.is_empty() || path <= 0.0 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    let mut acc = 0.0;
    let mut j = 0usize;
    for k in 0..n {
        let target = path * k as f64 / (n - 1) as f64;
        loop {
            if j + 1 >= st.len() {
                let p = st[st.len() - 1];
                out.push((p.x, p.y));
                break;
            }
            let (a, b) = (st[j], st[j + 1]);
            let seg = (b.x - a.x).hypot(b.y - a.y);
            if acc + seg >= target && seg > 0.0 {
                let u = ((target - acc) / seg).clamp(0.0, 1.0);
                out.push((a.x + (b.x - a.x) * u, a.y + (b.y - a.y) * u));
                break;
            }
            acc += seg;
            j += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::pointer::tests::{human_stroke_bow, mv};
    use super::*;

    fn transform(st: &[Pt], angle: f64, scale: f64, tx: f64, ty: f64, time_scale: f64) -> Vec<Pt> {
        let (c, s) = (angle.cos(), angle.sin());
        st.iter()
            .enumerate()
            .map(|(i, p)| {
                let (x, y) = (p.x * scale, p.y * scale);
                // Re-timed: stretched clock plus a non-uniform wobble.
                let t = 5000.0 + p.t_ms * time_scale + (i % 3) as f64 * 2.0;
                mv(t, x * c - y * s + tx, x * s + y * c + ty)
            })
            .collect()
    }

    #[test]
    fn rotated_scaled_translated_retimed_copy_hashes_equal() {
        let a = human_stroke_bow(0.0, (100.0, 100.0), (600.0, 350.0), 42, 60.0);
        let h = stroke_hash(&a).expect("a curved human stroke is hashed");
        for (angle, scale) in [(0.7, 1.3), (-2.1, 0.6), (3.0, 2.0)] {
            let b = transform(&a, angle, scale, 321.5, -77.25, 0.6);
            assert_eq!(stroke_hash(&b), Some(h), "angle {angle} scale {scale}");
        }
    }

    #[test]
    fn whole_pixel_rounded_copies_mostly_hash_equal() {
        let a = human_stroke_bow(0.0, (100.0, 100.0), (600.0, 350.0), 42, 60.0);
        let h = stroke_hash(&a).unwrap();
        let mut same = 0;
        let cases = [
            (0.3, 1.1),
            (-0.2, 0.9),
            (0.1, 1.2),
            (-0.35, 0.85),
            (0.25, 1.05),
        ];
        for (angle, scale) in cases {
            let b: Vec<Pt> = transform(&a, angle, scale, 40.0, -30.0, 1.1)
                .into_iter()
                .map(|p| mv(p.t_ms, p.x.round(), p.y.round()))
                .collect();
            same += usize::from(stroke_hash(&b) == Some(h));
        }
        assert!(same >= 4, "{same} of {}", cases.len());
    }

    #[test]
    fn different_human_strokes_hash_differently() {
        let a = stroke_hash(&human_stroke_bow(
            0.0,
            (100.0, 100.0),
            (600.0, 350.0),
            42,
            60.0,
        ))
        .unwrap();
        // Same endpoints, a different bow; and a different movement altogether.
        let b = stroke_hash(&human_stroke_bow(
            0.0,
            (100.0, 100.0),
            (600.0, 350.0),
            43,
            -80.0,
        ))
        .unwrap();
        let c = stroke_hash(&human_stroke_bow(
            0.0,
            (50.0, 400.0),
            (300.0, 60.0),
            44,
            60.0,
        ))
        .unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn straight_and_short_strokes_are_not_hashed() {
        let line: Vec<Pt> = (0..30)
            .map(|i| mv(i as f64 * 16.7, i as f64 * 10.0, i as f64 * 3.0))
            .collect();
        assert_eq!(stroke_hash(&line), None);
        let short: Vec<Pt> = (0..30)
            .map(|i| mv(i as f64 * 16.7, i as f64, (i as f64).sin() * 3.0))
            .collect();
        assert_eq!(stroke_hash(&short), None);
    }

    #[test]
    fn circles_use_the_farthest_point() {
        let circle: Vec<Pt> = (0..60)
            .map(|i| {
                let a = i as f64 / 59.0 * 6.0;
                mv(
                    i as f64 * 16.0,
                    200.0 + 100.0 * a.cos(),
                    200.0 + 80.0 * a.sin(),
                )
            })
            .collect();
        let h = stroke_hash(&circle).unwrap();
        assert_eq!(
            stroke_hash(&transform(&circle, 1.0, 0.5, 10.0, 10.0, 1.5)),
            Some(h)
        );
    }
}
