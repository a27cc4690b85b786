//! Replay detection: shape-normalised similarity hashes per stroke.
//!
//! Replay tools take a recorded human trajectory, rotate/scale/translate it onto a new start and
//! end, re-time it and often round it to whole pixels. The descriptor ignores exactly those: the
//! stroke is resampled by arc length to [`POINTS`] points (time and sampling rate drop out),
//! translated to start at the origin, rotated so the reference direction (start → end, or start
//! → farthest point for loops such as circles) is +x, scaled by the reference length, mirrored
//! never. Straight-ish strokes carry no shape and would collide across unrelated people, so they
//! are not hashed. Counting hashes across sessions needs a store and lives in the verifier; this
//! module computes them and holds the counting rule both the live store and the offline
//! evaluation use ([`select`], [`stroke_seen`]).
//!
//! **Locality-sensitive bands.** One exact hash of a quantised descriptor breaks whenever any of
//! its coordinates crosses a grid line, which ±0.5 px rounding does for about half of the
//! strokes. Each stroke therefore gets [`BANDS`] hashes ([`StrokeHash`]), each band with its own
//! fixed pseudo-random grid offset per coordinate, and a stroke counts as seen elsewhere when
//! at least [`SEEN_MIN_BANDS`] of its bands were seen before ([`stroke_seen`]; see "Two bands"
//! below):
//! - [`SHAPE_BANDS`] shape-only bands on a fine 1/[`GRID`] grid (finer than the old single hash's
//!   1/24: different people's smooth aimed strokes often agree at 1/24);
//! - the other bands quantise the shape coarsely (1/[`TIMED_GRID`]) together with the relative
//!   time at each resampled point (time since the stroke start / stroke duration, on a
//!   1/[`TIME_GRID`] grid). A uniform re-timing (clock offset and stretch) leaves the relative
//!   timing unchanged, and people's speed profiles differ far more than their stroke shapes, so
//!   these bands tolerate pixel noise without colliding across people. A replayer that re-times
//!   each stroke non-uniformly defeats them and is left with the shape-only bands.
//!
//! **Segmentation.** The feature extractor splits strokes at fixed 100 ms gaps; a re-timed copy
//! (clock stretched by 0.8–1.2) moves gaps across that line and splits strokes differently. The
//! hash segments the moves itself at a gap relative to the session's median move interval
//! ([`GAP_MEDIANS`] × median, clamped to [`GAP_MIN_MS`]–[`GAP_MAX_MS`]), which a uniform re-timing
//! does not change.
//!
//! **Keyed selection (replay decoys).** A session is counted with at most [`MAX_STROKES`] of
//! its strokes ([`select`]). The choice is keyed by a server secret ([`SelectKey`]): every
//! stroke is ranked by the minimum over its bands of SipHash-2-4(key, band ‖ band hash) — a
//! MinHash over bands, so a near-copy that keeps most bands keeps its rank — and the lowest ranks
//! are counted. Band hashes are public (anyone can compute them from a trajectory), so an
//! unkeyed, content-derived order would let a replayer add fresh "decoy" strokes that sort first
//! and push every replayed stroke out of the counted set; with the key the selection is a
//! pseudo-random subset the sender cannot predict, and with `r` replayed among `n` hashed strokes
//! each counted stroke is a replayed one with probability `r/n` whatever the decoys look like.
//!
//! **Trimmed view.** Where a stroke starts depends on where the sampling began, and a replayer
//! that maps a recorded stroke onto a cursor already at its start point emits every sample but
//! the first. Dropping that one sample moves the arc-length origin, the reference direction and
//! the time origin by one step, which crosses grid lines: measured on 2,009 SapiMouse strokes
//! mapped onto random start and target points (whole pixels, the recorded intervals), with one
//! view and the old any-band rule a copy without its first sample was taken for its source in
//! 38 % of the strokes (one sample added: 31 %), against 88 % for the whole copy. So every stroke
//! is hashed twice ([`VIEWS`]): as sampled and without its first sample, [`VIEW_BANDS`] bands
//! each, and a band of either view matching a band of either view of a stored stroke counts. A
//! copy that lost (or gained) one leading sample then meets its source in the other view: 83 % of
//! those copies are now taken for it (88 % of whole copies). The cost is twice the band hashes per
//! stroke in the store, and more chances that two people's strokes share a band (next).
//!
//! **Two bands.** Two people's strokes share a band by chance more often than a copy and its
//! source share none, and the chance grows with the store: a stroke is compared with every
//! stroke of the window. Compared pairwise over SapiMouse's 6,465 hashable strokes, 37 share one
//! distinct band hash (either view) with a stroke of another person and none shares two; with one
//! view, 14 shared a band. Of the copies above that lost their first sample, 83 % share two
//! distinct band hashes with their source (88 % one or more). A stroke therefore counts as seen
//! elsewhere only when [`SEEN_MIN_BANDS`] (two) of its distinct band hashes were.
//!
//! Before resampling the stroke is decimated (samples closer than [`DECIMATE`] of its size to the
//! last kept one are skipped), so whole-pixel rounding after a rescale does not inflate the path.

use super::Pt;
use super::pointer::{norm, path_len};

/// Resampled points per stroke.
pub const POINTS: usize = 16;
/// Quantisation grid (cells per reference length) of the shape-only bands.
pub const GRID: f64 = 56.0;
/// Shape-only bands per view (the first bands of each view of a [`StrokeHash`]).
pub const SHAPE_BANDS: usize = 2;
/// Shape grid of the timed bands (coarser: the relative timing carries the distinctiveness).
pub const TIMED_GRID: f64 = 12.0;
/// Grid of the relative time (cells per stroke duration) in the timed bands.
pub const TIME_GRID: f64 = 12.0;
/// Bands per view: [`SHAPE_BANDS`] shape-only, the rest shape + relative timing.
pub const VIEW_BANDS: usize = 8;
/// Views per stroke: the stroke as sampled, and without its first sample (see the module doc,
/// "Trimmed view").
pub const VIEWS: usize = 2;
/// Hashes (bands) per stroke: [`VIEW_BANDS`] of each of the [`VIEWS`], view by view.
pub const BANDS: usize = VIEW_BANDS * VIEWS;
/// Strokes shorter than this (px of path) are not hashed.
pub const MIN_PATH_PX: f64 = 150.0;
/// Minimum samples in a hashed stroke.
pub const MIN_SAMPLES: usize = 16;
/// Samples closer than this share of the stroke's size to the last kept one are skipped before
/// resampling (see [`stroke_hash`]).
pub const DECIMATE: f64 = 0.02;
/// A stroke must bend by at least this share of its reference length.
pub const MIN_BEND: f64 = 0.1;
/// Hash segmentation: a gap longer than this many median move intervals ends a stroke...
pub const GAP_MEDIANS: f64 = 6.0;
/// ...but never shorter than this...
pub const GAP_MIN_MS: f64 = 30.0;
/// ...nor longer than this.
pub const GAP_MAX_MS: f64 = 300.0;
/// Strokes counted per session ([`select`]): bounds the store operations per siteverify.
pub const MAX_STROKES: usize = 4;

/// The [`BANDS`] hashes of one stroke (band `i` is always at index `i`).
pub type StrokeHash = [u64; BANDS];

/// A stroke counts as seen elsewhere when at least this many of its band hashes were (see the
/// module doc, "Two bands").
pub const SEEN_MIN_BANDS: usize = 2;

/// A stroke's distinct band hashes, in band order: a value both views carry (a band the first
/// sample did not move) comes once. The store counts a stroke by these.
pub fn distinct_bands(hash: &StrokeHash) -> impl Iterator<Item = u64> + '_ {
    hash.iter()
        .enumerate()
        .filter(|(i, h)| !hash[..*i].contains(h))
        .map(|(_, h)| *h)
}

/// How many of `a`'s distinct band hashes `b` has. The store keys a band by its hash alone, so a
/// band of one view matches the same band of the other view.
pub fn shared_bands(a: &StrokeHash, b: &StrokeHash) -> usize {
    distinct_bands(a).filter(|x| b.contains(x)).count()
}

/// Would the store take `b` for a copy of `a` ([`SEEN_MIN_BANDS`] shared bands)?
pub fn matches(a: &StrokeHash, b: &StrokeHash) -> bool {
    shared_bands(a, b) >= SEEN_MIN_BANDS
}

/// The server secret that keys [`select`] (a SipHash-2-4 key; the verifier derives it from its
/// key material). Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SelectKey {
    k0: u64,
    k1: u64,
}

impl SelectKey {
    /// From 16 or more secret bytes (the first 16 are used).
    pub fn new(secret: &[u8; 32]) -> SelectKey {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&secret[..8]);
        b.copy_from_slice(&secret[8..16]);
        SelectKey {
            k0: u64::from_le_bytes(a),
            k1: u64::from_le_bytes(b),
        }
    }

    /// Rank of a stroke: min over bands of SipHash(key, band index ‖ band hash).
    pub fn rank(&self, h: &StrokeHash) -> u64 {
        h.iter()
            .enumerate()
            .map(|(b, x)| {
                let mut m = [0u8; 16];
                m[..8].copy_from_slice(&(b as u64).to_le_bytes());
                m[8..].copy_from_slice(&x.to_le_bytes());
                siphash24(self.k0, self.k1, &m)
            })
            .min()
            .unwrap_or(u64::MAX)
    }
}

impl std::fmt::Debug for SelectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelectKey([redacted])")
    }
}

/// SipHash-2-4 (Aumasson & Bernstein 2012), a keyed PRF for short inputs.
pub fn siphash24(k0: u64, k1: u64, msg: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut chunks = msg.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = msg.len() as u8;
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    round(&mut v);
    round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// The strokes a session is counted with: duplicates dropped, at most [`MAX_STROKES`], the ones
/// of lowest keyed rank ([`SelectKey::rank`]; see the module doc, "Keyed selection"). Returned in
/// rank order.
pub fn select(hashes: &[StrokeHash], key: &SelectKey) -> Vec<StrokeHash> {
    let mut v = hashes.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut ranked: Vec<(u64, StrokeHash)> = v.into_iter().map(|h| (key.rank(&h), h)).collect();
    ranked.sort_unstable();
    ranked.truncate(MAX_STROKES);
    ranked.into_iter().map(|(_, h)| h).collect()
}

/// Was a stroke seen in another session? `sessions_per_band[i]` = distinct sessions that carried
/// the stroke's `i`-th distinct band hash ([`distinct_bands`]), this one included. At least
/// [`SEEN_MIN_BANDS`] of them must have been (the locality-sensitive rule; see the module doc,
/// "Two bands").
pub fn stroke_seen(sessions_per_band: &[u64]) -> bool {
    sessions_per_band.iter().filter(|&&n| n >= 2).count() >= SEEN_MIN_BANDS
}

/// Sessions a stroke was seen in, for campaign counting: the second-highest count of its
/// distinct band hashes (as in [`stroke_seen`]), so that one band shared by chance does not make
/// a campaign (a replayed stroke repeats in most bands).
pub fn stroke_sessions(sessions_per_band: &[u64]) -> u64 {
    let mut v = sessions_per_band.to_vec();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.get(1).or(v.first()).copied().unwrap_or(0)
}

/// Band hashes of every hashable stroke of a session's move samples (in time order), segmented
/// at the session-relative gap (see the module doc).
pub fn session_hashes(moves: &[Pt]) -> Vec<StrokeHash> {
    let gap = hash_gap_ms(moves);
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=moves.len() {
        let split = i == moves.len()
            || moves[i].t_ms - moves[i - 1].t_ms > gap
            || moves[i].ptype != moves[i - 1].ptype;
        if split {
            if let Some(h) = stroke_hash(&moves[start..i]) {
                out.push(h);
            }
            start = i;
        }
    }
    out
}

/// The segmentation gap: [`GAP_MEDIANS`] × the median positive move interval, clamped.
fn hash_gap_ms(moves: &[Pt]) -> f64 {
    let mut dts: Vec<f64> = Vec::with_capacity(moves.len());
    dts.extend(
        moves
            .windows(2)
            .map(|w| w[1].t_ms - w[0].t_ms)
            .filter(|d| *d > 0.0),
    );
    if dts.is_empty() {
        return GAP_MAX_MS;
    }
    let mid = dts.len() / 2;
    let (_, med, _) = dts.select_nth_unstable_by(mid, f64::total_cmp);
    (GAP_MEDIANS * *med).clamp(GAP_MIN_MS, GAP_MAX_MS)
}

/// Shape hashes of a stroke, or `None` when it is too short or too straight to be distinctive.
pub fn stroke_hash(st: &[Pt]) -> Option<StrokeHash> {
    if st.len() < MIN_SAMPLES {
        return None;
    }
    let path = path_len(st);
    if !(path.is_finite() && path >= MIN_PATH_PX) {
        return None;
    }
    let whole = band_hashes(&descriptor(st)?);
    // The trimmed view; where it has no descriptor (it lost the bend), the whole one stands in.
    let trimmed = descriptor(&st[1..]).map_or(whole, |d| band_hashes(&d));
    let mut out = [0u64; BANDS];
    out[..VIEW_BANDS].copy_from_slice(&whole);
    out[VIEW_BANDS..].copy_from_slice(&trimmed);
    Some(out)
}

/// Shape coordinates of a descriptor: (u, v) of resampled points 1.. (point 0 is the origin).
const SHAPE_COORDS: usize = 2 * (POINTS - 1);
/// Descriptor length: shape coordinates, then the relative time of resampled points 1..=POINTS-2.
const COORDS: usize = SHAPE_COORDS + POINTS - 2;

/// Normalised descriptor (see [`SHAPE_COORDS`], [`COORDS`]).
fn descriptor(st: &[Pt]) -> Option<[f64; COORDS]> {
    // Pixel rounding after a rescale adds ±0.5 px of jitter to every sample, which lengthens the
    // path unevenly (most where the hand was slow) and shifts arc-length resampling. Decimating
    // first (keep a sample only once it is a small share of the stroke's size away from the last
    // kept one) makes the path length a property of the shape, not of the sampling noise. The
    // threshold is relative to the largest distance from the start, which rotation, scale and
    // translation preserve.
    let (sx, sy) = (st[0].x, st[0].y);
    // The root of the largest square: `sqrt` is correctly rounded, so monotonic, and this is
    // exactly the largest `norm`.
    let size = st
        .iter()
        .map(|p| (p.x - sx) * (p.x - sx) + (p.y - sy) * (p.y - sy))
        .fold(0.0, f64::max)
        .sqrt();
    let min_step = DECIMATE * size;
    let mut dec: Vec<Pt> = Vec::with_capacity(st.len());
    for p in st {
        match dec.last() {
            Some(l) if norm(p.x - l.x, p.y - l.y) < min_step => {}
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
    let (rs, ts) = resample(&dec, path, POINTS)?;
    let (x0, y0) = rs[0];
    let chord_end = rs[POINTS - 1];
    let chord = norm(chord_end.0 - x0, chord_end.1 - y0);
    let (rx, ry) = if chord >= 0.3 * path {
        chord_end
    } else {
        // Loops: farthest resampled point from the start (first one on ties).
        *rs.iter().fold(&rs[0], |best, p| {
            if norm(p.0 - x0, p.1 - y0) > norm(best.0 - x0, best.1 - y0) {
                p
            } else {
                best
            }
        })
    };
    let refl = norm(rx - x0, ry - y0);
    if refl <= 1e-6 {
        return None;
    }
    let (c, s) = ((rx - x0) / refl, (ry - y0) / refl);
    let mut d = [0.0; COORDS];
    let mut bend: f64 = 0.0;
    for (i, (x, y)) in rs.iter().enumerate().skip(1) {
        let (dx, dy) = ((x - x0) / refl, (y - y0) / refl);
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        bend = bend.max(v.abs());
        d[2 * (i - 1)] = u;
        d[2 * (i - 1) + 1] = v;
    }
    // Relative time at each resampled point: unchanged by a uniform re-timing (a clock offset and
    // stretch). A stroke without duration (every event at one timestamp: only bots) falls back
    // to the arc fraction.
    let dur = ts[POINTS - 1] - ts[0];
    for k in 1..POINTS - 1 {
        d[SHAPE_COORDS + k - 1] = if dur > 0.0 && dur.is_finite() {
            (ts[k] - ts[0]) / dur
        } else {
            k as f64 / (POINTS - 1) as f64
        };
    }
    (bend >= MIN_BEND).then_some(d)
}

/// Fixed grid offset of coordinate `i` in band `b`, in cells, within [0.1, 0.9) (a constant
/// coordinate such as the chord end's u = 1 never sits on a grid line).
const fn offset(b: usize, i: usize) -> f64 {
    let mut z = ((b as u64) << 32 | i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    0.1 + 0.8 * ((z >> 11) as f64 / (1u64 << 53) as f64)
}

/// [`offset`] of every band and coordinate, computed at compile time (constant evaluation
/// rounds floating-point arithmetic as at run time, so the values are the same).
const OFFSETS: [[f64; COORDS]; VIEW_BANDS] = {
    let mut t = [[0.0; COORDS]; VIEW_BANDS];
    let mut b = 0;
    while b < VIEW_BANDS {
        let mut i = 0;
        while i < COORDS {
            t[b][i] = offset(b, i);
            i += 1;
        }
        b += 1;
    }
    t
};

/// 64-bit hash of a band's quantised cells: FNV-1a over the bytes, then a SplitMix64 finaliser
/// for avalanche. Not cryptographic, and it need not be: the cells are public and deterministic,
/// so anyone can compute a band's hash whatever the function; what matters is that unrelated
/// cell vectors do not collide by chance (64 bits), and speed (16 bands per stroke on every
/// siteverify: SHA-256 here took ~15 % of feature extraction).
fn cell_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ 0x746f_6c6c_6761_7465; // FNV offset ^ "tollgate"
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The [`VIEW_BANDS`] hashes of one view's descriptor. A band's hash depends on its index within
/// the view, not on the view, so the same descriptor hashes alike in either view.
fn band_hashes(d: &[f64; COORDS]) -> [u64; VIEW_BANDS] {
    let mut out = [0u64; VIEW_BANDS];
    for (b, (h, offsets)) in out.iter_mut().zip(&OFFSETS).enumerate() {
        // Shape-only bands quantise the shape finely; timed bands quantise it coarsely and add
        // the relative timing.
        let timed = b >= SHAPE_BANDS;
        let n = if timed { COORDS } else { SHAPE_COORDS };
        let mut q = [0u8; COORDS + 1];
        q[0] = b as u8;
        for (i, (x, off)) in d[..n].iter().zip(offsets).enumerate() {
            let grid = match (timed, i < SHAPE_COORDS) {
                (false, _) => GRID,
                (true, true) => TIMED_GRID,
                (true, false) => TIME_GRID,
            };
            let cell = (x * grid + off).floor().clamp(-127.0, 127.0) as i8;
            q[i + 1] = cell as u8;
        }
        *h = cell_hash(&q[..=n]);
    }
    out
}

/// Resampled positions and their (interpolated) times.
type Resampled = (Vec<(f64, f64)>, Vec<f64>);

/// Resample by arc length to `n` points: positions and (interpolated) times.
fn resample(st: &[Pt], path: f64, n: usize) -> Option<Resampled> {
    if n < 2 || st.is_empty() || path <= 0.0 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    let mut acc = 0.0;
    let mut j = 0usize;
    for k in 0..n {
        let target = path * k as f64 / (n - 1) as f64;
        loop {
            if j + 1 >= st.len() {
                let p = st[st.len() - 1];
                out.push((p.x, p.y));
                ts.push(p.t_ms);
                break;
            }
            let (a, b) = (st[j], st[j + 1]);
            let seg = norm(b.x - a.x, b.y - a.y);
            if acc + seg >= target && seg > 0.0 {
                let u = ((target - acc) / seg).clamp(0.0, 1.0);
                out.push((a.x + (b.x - a.x) * u, a.y + (b.y - a.y) * u));
                ts.push(a.t_ms + (b.t_ms - a.t_ms) * u);
                break;
            }
            acc += seg;
            j += 1;
        }
    }
    Some((out, ts))
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

    fn same_bands(a: &StrokeHash, b: &StrokeHash) -> usize {
        a.iter().zip(b).filter(|(x, y)| x == y).count()
    }

    #[test]
    fn rotated_scaled_translated_retimed_copy_shares_the_shape_bands() {
        let a = human_stroke_bow(0.0, (100.0, 100.0), (600.0, 350.0), 42, 60.0);
        let h = stroke_hash(&a).expect("a curved human stroke is hashed");
        for (angle, scale) in [(0.7, 1.3), (-2.1, 0.6), (3.0, 2.0)] {
            let b = stroke_hash(&transform(&a, angle, scale, 321.5, -77.25, 0.6)).unwrap();
            // Exact copies differ only by float rounding in shape: the shape-only bands agree.
            // The test clock wobbles by up to 4 ms (a non-uniform re-timing), which may move a
            // timed band.
            assert_eq!(
                h[..SHAPE_BANDS],
                b[..SHAPE_BANDS],
                "angle {angle} scale {scale}"
            );
        }
    }

    #[test]
    fn whole_pixel_rounded_copies_share_a_band() {
        let a = human_stroke_bow(0.0, (100.0, 100.0), (600.0, 350.0), 42, 60.0);
        let h = stroke_hash(&a).unwrap();
        let mut same = 0;
        let mut n = 0;
        for k in 0..20 {
            let (angle, scale) = (-0.4 + 0.04 * k as f64, 0.8 + 0.022 * k as f64);
            let b: Vec<Pt> = transform(&a, angle, scale, 40.0 + k as f64, -30.0, 1.1)
                .into_iter()
                .map(|p| mv(p.t_ms, p.x.round(), p.y.round()))
                .collect();
            n += 1;
            same += usize::from(stroke_hash(&b).is_some_and(|b| matches(&h, &b)));
        }
        assert!(same >= 18, "{same} of {n}");
    }

    /// A replayer that maps a recorded stroke onto a cursor already at its start emits every
    /// sample but the first; one that starts a step early emits one more. Either copy, rounded
    /// to whole pixels after a rotation and rescale, is still taken for the source.
    #[test]
    fn a_copy_that_lost_or_gained_its_first_sample_still_matches() {
        let (mut lost, mut gained, mut n) = (0, 0, 0);
        for seed in 0..20u64 {
            // Sampling began mid-reach (after a pause the segmentation cut at): the first step
            // is already a long one.
            let a = &human_stroke_bow(0.0, (100.0, 100.0), (600.0, 350.0), seed, 120.0)[8..];
            let h = stroke_hash(a).expect("a curved human stroke is hashed");
            let b: Vec<Pt> = transform(a, 0.3, 1.4, 40.0, -30.0, 1.0)
                .into_iter()
                .map(|p| mv(p.t_ms, p.x.round(), p.y.round()))
                .collect();
            let (p0, p1) = (b[0], b[1]);
            let mut early = vec![mv(
                p0.t_ms - (p1.t_ms - p0.t_ms),
                p0.x - (p1.x - p0.x),
                p0.y - (p1.y - p0.y),
            )];
            early.extend_from_slice(&b);
            n += 1;
            lost += usize::from(stroke_hash(&b[1..]).is_some_and(|c| matches(&h, &c)));
            gained += usize::from(stroke_hash(&early).is_some_and(|c| matches(&h, &c)));
        }
        assert!(lost >= 16, "{lost} of {n}");
        // One view alone (before session 26) matched 18 and 2 of these 20 by any one band.
        assert!(gained >= 12, "{gained} of {n}");
    }

    #[test]
    fn different_human_strokes_share_no_band() {
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
        assert_eq!(shared_bands(&a, &b), 0);
        assert_eq!(shared_bands(&a, &c), 0);
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
        let b = stroke_hash(&transform(&circle, 1.0, 0.5, 10.0, 10.0, 1.5)).unwrap();
        // Exact copy: the shape-only bands agree; the timed ones may not (the clock wobbles).
        assert_eq!(h[..SHAPE_BANDS], b[..SHAPE_BANDS]);
    }

    #[test]
    fn segmentation_survives_a_uniform_retiming() {
        // Two strokes 110 ms apart at a 16 ms frame rate: a 0.85x re-timing turns the gap into
        // 93.5 ms, under the feature extractor's fixed 100 ms, but the hash gap scales with the
        // median interval, so both copies split the same way.
        let mut s = human_stroke_bow(0.0, (100.0, 100.0), (600.0, 350.0), 42, 60.0);
        let t1 = s.last().unwrap().t_ms + 110.0;
        s.extend(human_stroke_bow(
            t1,
            (600.0, 350.0),
            (200.0, 500.0),
            7,
            -70.0,
        ));
        let a = session_hashes(&s);
        assert_eq!(a.len(), 2);
        for stretch in [0.85, 1.15] {
            let b: Vec<Pt> = s.iter().map(|p| mv(p.t_ms * stretch, p.x, p.y)).collect();
            let b = session_hashes(&b);
            assert_eq!(b.len(), 2, "stretch {stretch}");
            assert!(a.iter().zip(&b).all(|(x, y)| same_bands(x, y) >= BANDS - 1));
        }
    }

    #[test]
    fn counting_rule() {
        assert!(!stroke_seen(&[1; BANDS]));
        let mut one = [1; BANDS];
        one[3] = 2;
        // One band shared by chance is not a copy; two are.
        assert!(!stroke_seen(&one));
        let mut two = one;
        two[VIEW_BANDS + 6] = 2;
        assert!(stroke_seen(&two));
        // A band hash both views share is one distinct band, counted and matched once.
        let hash: StrokeHash = std::array::from_fn(|i| 100 + i as u64);
        let mut twice = hash;
        twice[VIEW_BANDS + 3] = hash[3];
        assert_eq!(distinct_bands(&twice).count(), BANDS - 1);
        assert!(
            distinct_bands(&twice).eq(hash[..VIEW_BANDS + 3]
                .iter()
                .chain(&hash[VIEW_BANDS + 4..])
                .copied())
        );
        assert_eq!(shared_bands(&twice, &hash), BANDS - 1);
        // One band shared by chance is not a campaign; two bands are.
        assert_eq!(stroke_sessions(&one), 1);
        one[5] = 4;
        assert_eq!(stroke_sessions(&one), 2);
        let mut many = vec![[0u64; BANDS]; 2 * MAX_STROKES];
        for (i, m) in many.iter_mut().enumerate() {
            m[0] = (i / 2) as u64;
        }
        let key = SelectKey::new(&[9; 32]);
        assert_eq!(select(&many, &key).len(), MAX_STROKES);
        assert_eq!(select(&many[..2], &key).len(), 1);
    }

    #[test]
    fn siphash_matches_the_reference_vector() {
        // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e.
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash24(k0, k1, &msg), 0xa129_ca61_49be_45e5);
        assert_eq!(siphash24(k0, k1, &[]), 0x726f_db47_dd0e_0e31);
        assert_eq!(
            format!("{:?}", SelectKey::new(&[1; 32])),
            "SelectKey([redacted])"
        );
    }

    /// `n` distinct pseudo-random strokes.
    fn strokes(seed: u64, n: usize) -> Vec<StrokeHash> {
        (0..n as u64)
            .map(|i| std::array::from_fn(|b| siphash24(seed, i, &(b as u64).to_le_bytes())))
            .collect()
    }

    fn key(i: u64) -> SelectKey {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&i.to_le_bytes());
        k[8..16].copy_from_slice(&(i ^ 0x5555).to_le_bytes());
        SelectKey::new(&k)
    }

    #[test]
    fn different_keys_select_differently_and_the_public_order_does_not_predict_it() {
        let s = strokes(1, 12);
        let mut distinct = std::collections::HashSet::new();
        let mut first_is_band0_min = 0;
        let band0_min = *s.iter().min_by_key(|h| h[0]).unwrap();
        for i in 0..300 {
            let sel = select(&s, &key(i));
            assert_eq!(sel.len(), MAX_STROKES);
            // Same key, same selection (the store counts consistently across sessions) and
            // independent of the input order.
            let mut rev = s.clone();
            rev.reverse();
            assert_eq!(sel, select(&rev, &key(i)));
            let mut ids: Vec<usize> = sel
                .iter()
                .map(|h| s.iter().position(|x| x == h).unwrap())
                .collect();
            ids.sort_unstable();
            distinct.insert(ids);
            first_is_band0_min += usize::from(sel[0] == band0_min);
        }
        // C(12, 4) = 495 subsets: 300 keys hit many different ones.
        assert!(distinct.len() > 150, "{}", distinct.len());
        // The stroke an unkeyed (band-0) order would put first leads in about 1/12 of the keys.
        assert!(first_is_band0_min < 60, "{first_is_band0_min}");
    }

    #[test]
    fn replay_with_decoy_strokes_mixed_in_is_still_counted() {
        // A replayer's library: 4 recorded strokes, stored by the first (replayed) session.
        // The next session replays them again and mixes in fresh decoys chosen the way the old
        // public order invited: the ones with the smallest band-0 hash out of many candidates.
        let library = strokes(7, 4);
        let mut candidates = strokes(8, 200);
        candidates.sort_unstable_by_key(|h| h[0]);
        let count = |decoys: usize, k: &SelectKey| -> usize {
            let stored = select(&library, k);
            let mut session = library.clone();
            session.extend_from_slice(&candidates[..decoys]);
            select(&session, k)
                .iter()
                .filter(|h| stored.contains(h))
                .count()
        };
        let (mut two_decoys, mut four_decoys) = (0, 0);
        for i in 0..400 {
            let k = key(i);
            // 2 decoys: at least 2 of the 4 counted strokes are replayed, always.
            let seen = count(2, &k);
            assert!(seen >= 2, "key {i}: {seen}");
            two_decoys += usize::from(seen >= 2);
            four_decoys += usize::from(count(4, &k) >= 2);
        }
        assert_eq!(two_decoys, 400);
        // 4 decoys against 4 replayed strokes: ≥ 2 replayed counted with probability
        // 1 − (1 + 16)/70 ≈ 0.76 per key (hypergeometric), not 0 as with the public order.
        assert!((260..=350).contains(&four_decoys), "{four_decoys}");
    }
}
