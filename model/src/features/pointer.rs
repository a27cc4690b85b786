//! Pointer features: sampling/timing regularity, per-stroke kinematics, click physics.
//!
//! A *stroke* is a run of `move` samples (hover or drag) of one pointer type with gaps of at most
//! [`STROKE_GAP_MS`]. *Long* strokes (at least [`LONG_MIN_POINTS`] samples and
//! [`LONG_MIN_PATH_PX`] of path) carry the kinematic features.

use super::stats::{
    median, median_and_mad, median_in_place, quantile_in_place, quantile_sorted, sd, share,
    sort_total,
};
use super::{F, Features, MoveClock, Pt, Session, is_mouse_like, is_move, replay};
use std::ops::Range;
use tollgate_protocol::telemetry::pointer_kind;

/// Largest gap inside a stroke.
pub const STROKE_GAP_MS: f64 = 100.0;
pub const LONG_MIN_POINTS: usize = 8;
pub const LONG_MIN_PATH_PX: f64 = 50.0;
/// Resampling step for speed profiles (makes peak counts independent of the device rate).
pub const RESAMPLE_MS: f64 = 10.0;
/// Display frame period that a stroke sampled faster than frames is read at for its kinematics
/// ([`frame_view`]): what a browser dispatches on a 60 Hz display without coalesced events, which
/// is how nearly every person in the training data was recorded.
pub const FRAME_VIEW_MS: f64 = 1000.0 / 60.0;
/// A stroke is read at frame spacing when its median interval is in this range (ms): faster than
/// display frames, and not a burst (0–2 ms apart, a script's back-to-back moves).
pub const FRAME_VIEW_MEDIAN_MS: Range<f64> = 3.0..12.0;
/// Faster than this (px/ms) a step is a burst, not hand motion.
pub const FAST_PX_PER_MS: f64 = 10.0;
/// Intervals at the start of each stroke left out of its interval spread (`pt_dt_sd_log`).
pub const SD_START_SKIP: usize = 2;
/// A long stroke is "parametrically smooth" below both of these (hand motion sampled by a
/// browser has sensor jitter: curvature flips sign often and step lengths vary).
pub const SMOOTH_SIGN_CHANGE: f64 = 0.2;
pub const SMOOTH_STEP_RATIO: f64 = 0.15;
/// A stroke is judged for ruler straightness ([`Features::ruler_straight`]) when its chord is at
/// least this long ...
pub const RULER_MIN_CHORD_PX: f64 = 100.0;
/// ... in at least this many samples; it is ruler-straight when no sample is farther than
/// [`RULER_MAX_DEV_PX`] from the chord (whole-pixel rounding of a line stays within 0.71 px).
pub const RULER_MIN_POINTS: usize = 6;
pub const RULER_MAX_DEV_PX: f64 = 1.0;
/// Chords within this many degrees of horizontal or vertical are not judged: people do draw
/// ruler-straight lines along the axes (a mouse's angle snapping, a hand sliding sideways below
/// one count of vertical motion): 25 of the 29 ruler-straight SapiMouse strokes were such.
pub const RULER_AXIS_DEG: f64 = 3.0;
/// A ruler-straight stroke at least this long in at least this many samples is strong evidence:
/// none of the 14,645 off-axis SapiMouse strokes that large is ruler-straight (the four ruler-
/// straight ones span 156 px in 7 samples, or 111–114 px).
pub const RULER_STRONG_CHORD_PX: f64 = 120.0;
pub const RULER_STRONG_POINTS: usize = 8;
/// A click lands "dead centre" ([`Features::dead_centre_clicks`]) within this distance (px, each
/// axis) of its captured target box's centre ...
pub const CENTRE_MAX_PX: f64 = 1.5;
/// ... on a box at least this large in both dimensions (on a small checkbox the centre is where
/// anyone clicks).
pub const CENTRE_MIN_BOX_PX: f64 = 24.0;
/// A stroke that sets off from rest after a click ([`Features::jump_start`]) is judged when its
/// chord is at least this long ...
pub const JUMP_MIN_CHORD_PX: f64 = 40.0;
/// ... in at least this many samples after the rest point (moves onto the rest point itself,
/// which browsers emit after layout changes, are skipped);
pub const JUMP_MIN_POINTS: usize = 5;
/// it jump-starts when its first step from the rest point covers at least this share of the
/// stroke's peak speed times its sampling period: a hand at rest needs tens of milliseconds to
/// build up speed, so its first sample after a click moves a few percent of a peak step
/// (SapiMouse: 61 % of 13,032 judged post-click strokes start with under 2 px, 99th percentile
/// 0.45).
pub const JUMP_RATIO: f64 = 0.5;
/// ... and is at least this long: a first step of one sensor count (1 px, or 1.4 px diagonally)
/// is a hand settling, whatever the stroke's speed.
pub const JUMP_MIN_STEP_PX: f64 = 2.0;
/// A first step over this many peak steps is not a start but a discontinuity, and the stroke is
/// not judged: the pointer left the window after the click and came back elsewhere, or the
/// events in between were lost. Point-per-tick injectors start at 0.5–1.6 peak steps
/// (ghost-cursor's `path()` is fastest at its ends).
pub const JUMP_MAX_RATIO: f64 = 3.0;
/// Peak speed is measured over windows of at least this many milliseconds (coalesced 1 ms
/// samples of a fast mouse would make single-interval speeds noisy).
pub const JUMP_PEAK_WINDOW_MS: f64 = 8.0;
/// Strokes sampled more coarsely than this (median interval, ms) are not judged for starts
/// (arrivals: [`ARRIVAL_MAX_PERIOD_MS`]): within a long interval a hand has time to build up speed. Without this bound,
/// SapiMouse thinned to every 2nd / 3rd / 4th move (≈ 30 / 20 / 15 Hz) met the start rule in
/// 0.36 / 0.8 / 1.8 % of three-stroke runs, against 0.12 % as recorded (≈ 60 Hz). Browsers
/// deliver moves at the display's 60 Hz or faster; a 125 Hz person thinned to ≈ 62 Hz meets
/// neither rule in any run.
pub const JUMP_MAX_PERIOD_MS: f64 = 20.0;
/// A stroke that ends in a click ([`Features::full_speed_arrivals`]) is judged with the same
/// chord and sample minimums as a start ([`JUMP_MIN_CHORD_PX`], [`JUMP_MIN_POINTS`] + 1) and
/// arrives at full speed when its last step is at least this share of a peak step: a hand homes in
/// on a target and slows down before it presses (SapiMouse: 99th percentile 0.33 over 12,595
/// judged strokes ending in a click, 0.35 % reach 0.5).
pub const ARRIVAL_RATIO: f64 = 0.5;
/// Strokes ending in a click are judged up to this median sampling interval (ms), coarser than
/// starts ([`JUMP_MAX_PERIOD_MS`]): a hand's homing phase is long enough that a coarser sample
/// stream still shows it slowing (SapiMouse thinned to every 2nd move, ≈ 30 Hz: 1 of 1,841
/// windows meets the rule, none as recorded; every 3rd move, ≈ 50 ms apart, is beyond the
/// bound and not judged), while a point-per-tick injector on a 20 ms or slower timer
/// (`page.mouse.move` plus `sleep(16)` through Playwright measured 19.8–20.1 ms) arrives with
/// a whole step.
pub const ARRIVAL_MAX_PERIOD_MS: f64 = 40.0;
/// The sparse-moves rule ([`Features::sparse_moves`]) reads the intervals between consecutive
/// mouse move samples that moved at least this far (px) ...
pub const SPARSE_MIN_STEP_PX: f64 = 1.0;
/// ... and came at most this long after the previous one (longer: the pointer was at rest) ...
pub const SPARSE_MAX_GAP_MS: f64 = 1000.0;
/// ... and needs at least this many intervals;
pub const SPARSE_MIN_INTERVALS: usize = 12;
/// it fires when their median is at least this long (≤ 12.5 Hz: where the 100 ms stroke gap
/// leaves the kinematic features nothing to read) ...
pub const SPARSE_MIN_MEDIAN_MS: f64 = 80.0;
/// ... and their 10th percentile at least this long (no run of device-rate samples at all).
/// Pointing devices typically report at 80–1000 Hz (a figure from the field, not measured
/// here): any hand movement gives runs of samples about 1–12 ms apart, however slow the page.
pub const SPARSE_MIN_P10_MS: f64 = 40.0;
/// The sparse-steps rule ([`Features::sparse_steps`]) counts steps between consecutive mouse
/// moves at least this long (px) ...
pub const SPARSE_STEP_PX: f64 = 10.0;
/// ... that came at most this long after the previous sample (longer: the pointer rested or
/// left the page) ...
pub const SPARSE_STEP_MAX_GAP_MS: f64 = 250.0;
/// ... and, of them, those that came at least this long after it (two 60 Hz frames and more
/// with no report while the pointer travelled);
pub const SPARSE_STEP_GAP_MS: f64 = 45.0;
/// it fires with at least this many such gapped steps ...
pub const SPARSE_STEP_MIN: usize = 3;
/// ... making at least this share of the long steps ...
pub const SPARSE_STEP_MIN_SHARE: f64 = 0.3;
/// ... when the 10th percentile of the move intervals ([`MoveClock::p10_ms`]) is at least this
/// (ms): no run of device-rate samples or forwarded batches at all, as for sparse moves.
pub const SPARSE_STEP_MIN_P10_MS: f64 = SPARSE_MIN_P10_MS;
/// The off-frame-clock rule ([`Features::off_frame_clock`]) reads the same intervals as the
/// sparse-moves rule and finds their mode: the densest window this wide (ms; a timer with 1 ms
/// of Gaussian scheduling jitter puts 68 % of its intervals in one) ...
pub const CLOCK_WINDOW_MS: f64 = 2.0;
/// ... holding at least this share of the intervals (a timer's clock, not a spread; DELBOT's
/// person on a VM, modes at 48–56 ms, never puts more than 45.5 % in one window) ...
pub const CLOCK_MIN_SHARE: f64 = 0.55;
/// ... with the mean of that window in `[CLOCK_MIN_MS, SPARSE_MIN_MEDIAN_MS)` (shorter modes sit
/// among device report periods, longer ones are the sparse-moves rule's) ...
pub const CLOCK_MIN_MS: f64 = 10.0;
/// ... and at least this far (ms) from every cadence of [`PERSON_CADENCES_MS`] (and of
/// [`THROTTLED_CADENCES_MS`] where they apply, [`cadence_misfit`]).
pub const CLOCK_MIN_MISFIT_MS: f64 = 1.5;
/// Where the mode of a person's move intervals lies (ms): a browser dispatches a hand's moves once
/// per display frame, stamped with the device report they carry, so the mode is a refresh period
/// (30 Hz: Chrome's energy saver, 4K over HDMI 1.4; 50 Hz; 60–360 Hz panels), within a report
/// period of it, or a mouse's report period when its samples are captured coalesced (≤ 8 ms, under
/// [`CLOCK_MIN_MS`]). 24 ms: a 125 Hz mouse on a display under 60 Hz stamps frames 16 and 24 ms
/// apart. Not listed: 48 Hz (laptop power-saving modes), 24 and 25 Hz (film modes of TVs),
/// throttles other than [`THROTTLED_CADENCES_MS`]; a person there whose moves form a sharp clock
/// is challenged (measured: none in the development traces).
pub const PERSON_CADENCES_MS: &[f64] = &[
    1000.0 / 360.0,
    1000.0 / 240.0,
    1000.0 / 180.0,
    1000.0 / 165.0,
    1000.0 / 144.0,
    1000.0 / 120.0,
    1000.0 / 100.0,
    1000.0 / 90.0,
    1000.0 / 85.0,
    1000.0 / 75.0,
    1000.0 / 72.0,
    1000.0 / 60.0,
    1000.0 / 50.0,
    24.0,
    1000.0 / 30.0,
];

/// Cadences of a person's moves in a log throttled to every third or fourth 60 Hz frame (50 and
/// 66.7 ms): what a recorder that throttles its move log (a 40–60 ms throttle, common in analytics
/// scripts) keeps of a person's moves, and what a browser under a steady main-thread load that
/// only draws every third frame dispatches. Listed for every session except the collector's
/// captures of device samples ([`MoveClock::device_clock`]: the collector logs every move, and
/// `getCoalescedEvents()` hands it each device report with its own time, whatever the frame
/// rate), where no person's stream has such a clock and a script's does: `pyautogui.moveTo` with
/// a duration steps every 50 ms plus its call overhead (its `MINIMUM_SLEEP`), and ChromeDriver's
/// 33–40 ms pointer actions land on 50.0 ms (measured, session 14). Elsewhere listing them gives
/// those up (the model alone does not allow 95 % of the ChromeDriver ones; the pyautogui tweens,
/// `probes.mjs`, 58 % pointer only).
pub const THROTTLED_CADENCES_MS: &[f64] = &[3.0 * 1000.0 / 60.0, 4.0 * 1000.0 / 60.0];

/// A share of a session's mouse move samples at least this large came from
/// `getCoalescedEvents()` in a collector capture: the move clock is the device's
/// ([`MoveClock::device_clock`]).
pub const DEVICE_CLOCK_MIN_SHARE: f64 = 0.5;

/// The off-grid-clock rule ([`Features::off_grid_clock`]) reads the same intervals once more and
/// asks how many of them sit on a person's grid: within this many ms of a whole multiple of one
/// cadence (a hand that slows skips frames, so its intervals are one, two or three frames; a
/// 125 Hz mouse's are multiples of 8 ms) ...
pub const GRID_TOL_MS: f64 = 1.0;
/// ... for the best of these grids: every cadence of [`PERSON_CADENCES_MS`] and
/// [`THROTTLED_CADENCES_MS`] from 144 Hz down is a whole multiple of one of them (60 and 30 Hz and the 50 / 66.7 ms frames of 120 Hz's 8.33 ms; 72
/// and 48 Hz of 144 Hz's 6.94 ms; 50 Hz of 100 Hz's 10 ms; 24 ms of 8 ms), so reading a grid's
/// multiples reads theirs; shorter periods' multiples, 1 ms either side, would cover most of the
/// line. Two clocks of pointers that are not frame-locked are added: a 125 Hz mouse logged as it
/// reports (8 ms; DELBOT's people on PCs) and the 15.6 ms tick of Windows' default timer (remote
/// desktop). Most likely first: a person's stream usually ends the search at the first grid ...
pub const GRID_CADENCES_MS: &[f64] = &[
    1000.0 / 120.0,
    1000.0 / 144.0,
    8.0,
    1000.0 / 100.0,
    1000.0 / 90.0,
    1000.0 / 85.0,
    1000.0 / 75.0,
    15.625,
];
/// ... and the rule fires when fewer than this share lie on any of them ...
pub const GRID_MIN_SHARE: f64 = 0.4;
/// ... when their median is in `[CLOCK_MIN_MS, GRID_MAX_MEDIAN_MS)`: a pointer that moves faster
/// than 22 Hz. Input forwarded through a virtual machine comes on a coarse, irregular clock
/// (DELBOT's person on a VM: window medians 49–55 ms, on-grid shares 0.24–0.6), left to the model.
pub const GRID_MAX_MEDIAN_MS: f64 = 45.0;

/// Does the off-grid-clock rule judge a move clock with this median interval (ms)? Only then is
/// its grid computed ([`move_clock`]).
pub fn grid_judged(median_ms: f64) -> bool {
    (CLOCK_MIN_MS..GRID_MAX_MEDIAN_MS).contains(&median_ms)
}

/// A grid for sorted intervals `gaps` ([`GRID_TOL_MS`]): the share of them within the tolerance
/// of a whole multiple of one of [`GRID_CADENCES_MS`], and that cadence. The first grid, in list
/// order, that holds at least [`GRID_MIN_SHARE`] of them (the rule's question is answered), else
/// the best (`(0, 0)` when none holds any).
pub fn grid_fit(gaps: &[f64]) -> (f64, f64) {
    let mut best = (0.0, 0.0);
    if gaps.is_empty() {
        return best;
    }
    for &c in GRID_CADENCES_MS {
        let on = gaps
            .iter()
            .filter(|&&g| (g - (g / c).round().max(1.0) * c).abs() <= GRID_TOL_MS)
            .count();
        let share = on as f64 / gaps.len() as f64;
        if share >= GRID_MIN_SHARE {
            return (share, c);
        }
        if share > best.0 {
            best = (share, c);
        }
    }
    best
}

/// Distance (ms) from `mode_ms` to the nearest of [`PERSON_CADENCES_MS`] and, unless the clock is
/// the device's (`device_clock`, [`MoveClock::device_clock`]), [`THROTTLED_CADENCES_MS`].
pub fn cadence_misfit(mode_ms: f64, device_clock: bool) -> f64 {
    let throttled: &[f64] = if device_clock {
        &[]
    } else {
        THROTTLED_CADENCES_MS
    };
    PERSON_CADENCES_MS
        .iter()
        .chain(throttled)
        .map(|c| (mode_ms - c).abs())
        .fold(f64::INFINITY, f64::min)
}

/// The densest window of [`CLOCK_WINDOW_MS`] over sorted `gaps`: the mean of its intervals and
/// the share of all intervals in it (`(0, 0)` without intervals).
fn clock_mode(sorted: &[f64]) -> (f64, f64) {
    let mut best = (0usize, 0usize);
    let mut j = 0;
    for i in 0..sorted.len() {
        j = j.max(i);
        while j < sorted.len() && sorted[j] <= sorted[i] + CLOCK_WINDOW_MS {
            j += 1;
        }
        if j - i > best.1 {
            best = (i, j - i);
        }
    }
    let (i, n) = best;
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = sorted[i..i + n].iter().sum::<f64>() / n as f64;
    (mean, n as f64 / sorted.len() as f64)
}

/// A click is reached in a jump ([`Features::teleport_clicks`]) when the pointer's last sample
/// away from the press point (more than [`TELEPORT_SAME_PX`]) is at least this far (px) from where
/// it arrived there: a hand slowing down to press moves a pixel or two per sample at 60 Hz or
/// faster (SapiMouse: the last step into a press has a median of 1 px and a 99th percentile of
/// 12 px; 88 of its 20,832 are 30 px or more, 84 of them after a gap of 248 ms or more in which
/// the recorder saw nothing). Stacked form fields are close (the OS-level rig page's are 64 px
/// apart), so a warp from one to the next can be short ([`teleport_click`] has both kinds of
/// jump) ...
pub const TELEPORT_MIN_PX: f64 = 30.0;
/// ... samples within this distance (px) of the press count as being at its point ...
pub const TELEPORT_SAME_PX: f64 = 1.0;
/// In a trace (not a collector capture), whose recorder may have seen only part of the page, a
/// jump counts only when its press is also released within this many ms: a physical button is
/// held tens of milliseconds (SapiMouse: 4 of its 15,765 judged presses are held under 5 ms, none
/// of them after a jump; DELBOT's people never), while Selenium's `click()` (2 ms, measured with
/// ChromeDriver 156), Puppeteer's and pyautogui's release at once. Touchpad tap-to-click can be
/// that short, but a touchpad moves the pointer there in samples: it does not jump.
pub const TELEPORT_TRACE_DWELL_MS: f64 = 5.0;
/// ... a jump out of rest counts when the next step is shorter than the jump divided by this ...
pub const TELEPORT_SLOWER: f64 = 3.0;
/// ... and at most this many rows before the press are looked at (a pointer resting longer at the
/// press point is not judged).
pub const TELEPORT_LOOKBACK: usize = 64;
/// A clean click: released within this time ...
pub const CLICK_MAX_MS: f64 = 1500.0;
/// ... and this distance.
pub const CLICK_MAX_PX: f64 = 10.0;

/// Split move samples into strokes (runs with gaps <= [`STROKE_GAP_MS`], one pointer type).
pub fn strokes(pointer: &[Pt]) -> Vec<Vec<Pt>> {
    let moves: Vec<Pt> = pointer.iter().copied().filter(is_move).collect();
    stroke_ranges(&moves)
        .into_iter()
        .map(|r| moves[r].to_vec())
        .collect()
}

/// [`strokes`] as index ranges into the move samples (no per-stroke copies).
fn stroke_ranges(moves: &[Pt]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..moves.len() {
        let (last, p) = (&moves[i - 1], &moves[i]);
        if p.t_ms - last.t_ms > STROKE_GAP_MS || p.ptype != last.ptype {
            out.push(start..i);
            start = i;
        }
    }
    if start < moves.len() {
        out.push(start..moves.len());
    }
    out
}

pub(crate) fn path_len(st: &[Pt]) -> f64 {
    st.windows(2).map(|w| dist(&w[0], &w[1])).sum()
}

fn dist(a: &Pt, b: &Pt) -> f64 {
    norm(b.x - a.x, b.y - a.y)
}

/// Euclidean length. Not `f64::hypot`: libm's hypot guards against overflow at ~10× the cost,
/// and it was the single largest item of a siteverify profile (bench/README.md); pointer
/// coordinates and speeds are far from overflow.
#[inline]
pub(crate) fn norm(dx: f64, dy: f64) -> f64 {
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
pub(crate) fn is_long(st: &[Pt]) -> bool {
    long_enough(st, path_len(st))
}

/// Is a stroke with this [`path_len`] long (carries the kinematic features)?
fn long_enough(st: &[Pt], path: f64) -> bool {
    st.len() >= LONG_MIN_POINTS && path >= LONG_MIN_PATH_PX
}

pub(crate) fn extract(s: &Session, f: &mut Features) {
    // Sized up front: collecting a filter would grow (and copy) the buffer a dozen times.
    let mut moves: Vec<Pt> = Vec::with_capacity(s.pointer.len());
    moves.extend(s.pointer.iter().copied().filter(is_move));
    let ranges = stroke_ranges(&moves);
    let strokes: Vec<&[Pt]> = ranges.iter().map(|r| &moves[r.clone()]).collect();
    f.n_strokes = strokes.len();
    // Path length of every stroke, computed once (long-stroke test, kinematics).
    let paths = timing(&strokes, f);
    if moves.len() >= 10 {
        let frac = |v: f64| (v - v.round()).abs() > 1e-6;
        f.set(F::PtFrac, share(&moves, |p| frac(p.x) || frac(p.y)));
        f.set(F::KinDragShare, share(&moves, |p| p.buttons != 0));
    }
    kinematics(&strokes, &paths, s.collector, f);
    ruler(&strokes, f);
    let measured = jump_starts(&s.pointer, f);
    arrivals(&s.pointer, f, &measured);
    f.move_clock = move_clock(&s.pointer, s.collector);
    // In a trace a jump counts only with an instant release, unless the pointer never moved in
    // a way the features could read (no stroke anywhere: nothing but the jumps).
    let trace_dwell = !s.collector && f.has_pointer_motion();
    teleport_clicks(
        &s.pointer,
        f,
        trace_dwell.then_some(TELEPORT_TRACE_DWELL_MS),
    );
    clicks(s, f);
    // Replay hashes segment the moves themselves (re-timing-invariant gaps, see `replay`).
    f.stroke_hashes = replay::session_hashes(&moves);
}

/// Is a stroke ruler-straight (`Some(true)`), not (`Some(false)`), or not judged (`None`: too
/// short, too few samples, or along an axis)? See [`RULER_MIN_CHORD_PX`].
pub fn ruler_stroke(st: &[Pt]) -> Option<bool> {
    let (a, b) = (st.first()?, st.last()?);
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let chord = norm(dx, dy);
    if st.len() < RULER_MIN_POINTS || chord.is_nan() || chord < RULER_MIN_CHORD_PX {
        return None;
    }
    let off_axis = dx.abs().min(dy.abs()) / chord;
    if off_axis < RULER_AXIS_DEG.to_radians().sin() {
        return None;
    }
    Some(
        st.iter()
            .all(|p| (dx * (a.y - p.y) - dy * (a.x - p.x)).abs() / chord <= RULER_MAX_DEV_PX),
    )
}

/// Count judged and ruler-straight strokes ([`Features::n_ruler_strokes`]). Mouse-like strokes
/// only: touch digitisers and pens smooth their output, and a fast thumb flick is the gesture
/// least like a hand on a mouse.
fn ruler(strokes: &[&[Pt]], f: &mut Features) {
    for st in strokes {
        if !st.first().is_some_and(|p| is_mouse_like(p.ptype)) {
            continue;
        }
        if let Some(r) = ruler_stroke(st) {
            f.n_chord_strokes += 1;
            f.n_ruler_strokes += usize::from(r);
            let (a, b) = (st[0], st[st.len() - 1]);
            let strong = st.len() >= RULER_STRONG_POINTS
                && norm(b.x - a.x, b.y - a.y) >= RULER_STRONG_CHORD_PX;
            f.n_ruler_strong += usize::from(r && strong);
        }
    }
    if f.n_chord_strokes > 0 {
        f.set(
            F::KinRuler,
            Some(f.n_ruler_strokes as f64 / f.n_chord_strokes as f64),
        );
    }
}

/// Strokes that set off from rest after a mouse-like button release: `(rest point, moves)`. The
/// moves run until a gap over [`STROKE_GAP_MS`], a button press, a wheel notch, a held button
/// or another pointer type. Leading moves onto the rest point itself are skipped.
fn rest_strokes(pointer: &[Pt]) -> Vec<(Pt, Range<usize>)> {
    let mut out = Vec::new();
    // (rest point, index of the first move of the current stroke) while one is open.
    let mut open: Option<(Pt, Option<usize>)> = None;
    let mut last_t = f64::NEG_INFINITY;
    let close = |open: &mut Option<(Pt, Option<usize>)>, end: usize, out: &mut Vec<_>| {
        if let Some((rest, Some(start))) = open.take() {
            out.push((rest, start..end));
        }
    };
    for (i, p) in pointer.iter().enumerate() {
        if p.kind == pointer_kind::UP {
            close(&mut open, i, &mut out);
            if is_mouse_like(p.ptype) {
                open = Some((*p, None));
                last_t = p.t_ms;
            }
            continue;
        }
        let Some((rest, start)) = open.as_mut() else {
            continue;
        };
        let breaks = !is_move(p)
            || p.buttons != 0
            || p.ptype != rest.ptype
            || (start.is_some() && p.t_ms - last_t > STROKE_GAP_MS);
        if breaks {
            close(&mut open, i, &mut out);
            continue;
        }
        if start.is_none() && p.x == rest.x && p.y == rest.y {
            last_t = p.t_ms;
            continue;
        }
        start.get_or_insert(i);
        last_t = p.t_ms;
    }
    close(&mut open, pointer.len(), &mut out);
    out
}

/// Does a stroke that sets off from `rest` jump-start (`Some(true)`), start like a hand
/// (`Some(false)`), or is it not judged (`None`: too short or too few samples)? See
/// [`JUMP_RATIO`].
pub fn jump_start_stroke(rest: &Pt, st: &[Pt]) -> Option<bool> {
    jump_start_with(rest, st, || period_and_peak(st))
}

/// [`jump_start_stroke`] with the stroke's [`period_and_peak`] from `measure` (called only when
/// the stroke is long enough to be judged).
fn jump_start_with(
    rest: &Pt,
    st: &[Pt],
    measure: impl FnOnce() -> Option<(f64, f64)>,
) -> Option<bool> {
    let (first, last) = (st.first()?, st.last()?);
    if st.len() < JUMP_MIN_POINTS || norm(last.x - rest.x, last.y - rest.y) < JUMP_MIN_CHORD_PX {
        return None;
    }
    step_at_speed(
        measure()?,
        dist(rest, first),
        JUMP_RATIO,
        JUMP_MAX_PERIOD_MS,
    )
}

/// Is `step` (px, one sample interval at an end of a stroke with this [`period_and_peak`]) at
/// least `ratio` of a full step at the stroke's peak speed (`Some(true)`), less (`Some(false)`),
/// or not judged (`None`: the stroke is sampled more coarsely than `max_period` or never moves,
/// or the step is a discontinuity of more than [`JUMP_MAX_RATIO`] full steps)? Steps under
/// [`JUMP_MIN_STEP_PX`] are never at speed.
fn step_at_speed(
    (period, peak): (f64, f64),
    step: f64,
    ratio: f64,
    max_period: f64,
) -> Option<bool> {
    if period > max_period || !(peak > 0.0 && peak.is_finite()) {
        return None;
    }
    let full = peak * period;
    if step > JUMP_MAX_RATIO * full {
        return None;
    }
    Some(step >= JUMP_MIN_STEP_PX && step >= ratio * full)
}

/// The clock of a session's mouse movement ([`Features::sparse_moves`],
/// [`Features::off_frame_clock`], [`Features::off_grid_clock`]): intervals between
/// consecutive mouse move samples (hovering or dragging) that moved at least
/// [`SPARSE_MIN_STEP_PX`] within [`SPARSE_MAX_GAP_MS`]. `None` when the session has no mouse
/// move. Collector captures and traces alike (session 12; session 11 judged only captures with
/// coalesced samples): a browser without coalesced events still dispatches a move per frame
/// while a hand moves the pointer, and a trace recorder that throttled people's moves to this
/// spacing would leave the kinematic features nothing to read for everyone.
pub fn move_clock(pointer: &[Pt], collector: bool) -> Option<MoveClock> {
    let mouse_move = |p: &Pt| is_move(p) && is_mouse_like(p.ptype);
    let (moves, coalesced) = pointer
        .iter()
        .filter(|p| mouse_move(p))
        .fold((0usize, 0usize), |(n, c), p| {
            (n + 1, c + usize::from(p.coalesced))
        });
    if moves == 0 {
        return None;
    }
    let device_clock = collector && coalesced as f64 >= DEVICE_CLOCK_MIN_SHARE * moves as f64;
    let mut gaps: Vec<f64> = Vec::with_capacity(moves);
    let (mut long_steps, mut gapped_steps) = (0, 0);
    for w in pointer.windows(2) {
        if !(mouse_move(&w[0]) && mouse_move(&w[1]) && w[0].ptype == w[1].ptype) {
            continue;
        }
        let (step, gap) = (dist(&w[0], &w[1]), w[1].t_ms - w[0].t_ms);
        if step >= SPARSE_MIN_STEP_PX && gap > 0.0 && gap <= SPARSE_MAX_GAP_MS {
            gaps.push(gap);
        }
        if step >= SPARSE_STEP_PX && gap <= SPARSE_STEP_MAX_GAP_MS {
            long_steps += 1;
            gapped_steps += usize::from(gap >= SPARSE_STEP_GAP_MS);
        }
    }
    // Values equal under `total_cmp` are bit-identical, so an unstable sort gives the same
    // sequence as a stable one.
    sort_total(&mut gaps);
    let (mode_ms, mode_share) = clock_mode(&gaps);
    let median_ms = quantile_sorted(&gaps, 0.5).unwrap_or(0.0);
    // Only where the off-grid-clock rule judges (device-rate samples, coalesced, are many).
    let grid = grid_judged(median_ms).then(|| grid_fit(&gaps));
    Some(MoveClock {
        intervals: gaps.len(),
        median_ms,
        p10_ms: quantile_sorted(&gaps, 0.1).unwrap_or(0.0),
        mode_ms,
        mode_share,
        grid,
        device_clock,
        long_steps,
        gapped_steps,
    })
}

/// Was the mouse press at `pointer[i]` reached by a jump (`Some(true)`), over samples
/// (`Some(false)`), or is it not judged (`None`: not a mouse press, or no sample of its pointer
/// away from the press point in its approach)? The approach is the pointer's samples before the
/// press, back to its previous press or [`TELEPORT_LOOKBACK`] rows. A jump is either
/// - the pointer appearing at the press point (within [`TELEPORT_SAME_PX`]) from
///   [`TELEPORT_MIN_PX`] or more away: a warp onto the target; or
/// - a step of [`TELEPORT_MIN_PX`] or more after the pointer was still (or unseen) for over
///   [`STROKE_GAP_MS`], followed by slower motion (the next step, if within the stroke gap, under
///   1 / [`TELEPORT_SLOWER`] of it): a warp near the target, then a few small moves onto it. A hand
///   at rest sets off with a step of a pixel or two.
///
/// See [`Features::teleport_clicks`].
pub fn teleport_click(pointer: &[Pt], i: usize) -> Option<bool> {
    let down = pointer.get(i)?;
    if down.kind != pointer_kind::DOWN || !is_mouse_like(down.ptype) {
        return None;
    }
    // The approach in time order, then the press itself.
    let mut seq: Vec<&Pt> = Vec::with_capacity(TELEPORT_LOOKBACK + 1);
    for p in pointer[..i].iter().rev().take(TELEPORT_LOOKBACK) {
        if p.ptype != down.ptype {
            continue;
        }
        if p.kind == pointer_kind::DOWN {
            break;
        }
        seq.push(p);
    }
    seq.reverse();
    seq.push(down);
    // Arrival: the last sample away from the press point, and the one that came after it.
    let away = seq.iter().rposition(|p| dist(p, down) > TELEPORT_SAME_PX)?;
    if dist(seq[away], seq[away + 1]) >= TELEPORT_MIN_PX {
        return Some(true);
    }
    // A jump out of rest followed by slower motion, anywhere in the approach: (from, to) and
    // the sample after `to`.
    let jumped = seq.windows(2).enumerate().any(|(k, w)| {
        let (from, to) = (w[0], w[1]);
        // The pause first: most steps follow the previous sample closely, and need no length.
        if to.t_ms - from.t_ms <= STROKE_GAP_MS {
            return false;
        }
        let step = dist(from, to);
        if step < TELEPORT_MIN_PX {
            return false;
        }
        let next = seq
            .get(k + 2)
            .filter(|n| n.t_ms - to.t_ms <= STROKE_GAP_MS)
            .map_or(0.0, |n| dist(to, n));
        next * TELEPORT_SLOWER < step
    });
    Some(jumped)
}

/// Count the mouse presses judged and reached in a jump ([`Features::teleport_clicks`]); with
/// `max_dwell` (traces: [`TELEPORT_TRACE_DWELL_MS`]) a jump counts only when its press is released
/// within that many ms.
fn teleport_clicks(pointer: &[Pt], f: &mut Features, max_dwell: Option<f64>) {
    for i in 0..pointer.len() {
        if let Some(jump) = teleport_click(pointer, i) {
            f.n_reached_clicks += 1;
            let counts =
                jump && max_dwell.is_none_or(|d| press_dwell(pointer, i).is_some_and(|h| h < d));
            f.n_teleport_clicks += usize::from(counts);
        }
    }
}

/// The release of the press at `pointer[i]`: the next button row, when it is an `up` (`None`
/// when another press or the end of the session comes first).
fn release_of(pointer: &[Pt], i: usize) -> Option<&Pt> {
    pointer
        .get(i + 1..)?
        .iter()
        .find(|p| p.kind == pointer_kind::UP || p.kind == pointer_kind::DOWN)
        .filter(|p| p.kind == pointer_kind::UP)
}

/// How long (ms) the press at `pointer[i]` was held ([`release_of`]).
fn press_dwell(pointer: &[Pt], i: usize) -> Option<f64> {
    Some(release_of(pointer, i)?.t_ms - pointer[i].t_ms)
}

/// A stroke measured by [`period_and_peak`]: its range in the pointer stream and the measure.
type MeasuredStroke = (Range<usize>, Option<(f64, f64)>);

/// Count post-click strokes judged and jump-started ([`Features::jump_start`]). Returns the
/// strokes measured on the way: a hovering stroke from one click to the next is usually also a
/// stroke ending in a click ([`arrivals`]), with the same samples and so the same measure. They
/// are in increasing order.
fn jump_starts(pointer: &[Pt], f: &mut Features) -> Vec<MeasuredStroke> {
    let mut measured = Vec::new();
    for (rest, r) in rest_strokes(pointer) {
        let st = &pointer[r.clone()];
        let judged = jump_start_with(&rest, st, || {
            let m = period_and_peak(st);
            measured.push((r, m));
            m
        });
        if let Some(j) = judged {
            f.n_rest_strokes += 1;
            f.n_jump_starts += usize::from(j);
        }
    }
    measured
}

/// Hovering strokes that end in a mouse-like button press: the moves back to a gap over
/// [`STROKE_GAP_MS`], a button event, a held button or another pointer type, without trailing
/// moves onto the same point.
fn arrival_strokes(pointer: &[Pt]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, p) in pointer.iter().enumerate() {
        if p.kind == pointer_kind::DOWN {
            if let Some(b) = start.take()
                && is_mouse_like(p.ptype)
                && pointer[b].ptype == p.ptype
            {
                let mut end = i;
                while end > b + 1
                    && pointer[end - 1].x == pointer[end - 2].x
                    && pointer[end - 1].y == pointer[end - 2].y
                {
                    end -= 1;
                }
                out.push(b..end);
            }
            continue;
        }
        if !is_move(p) || p.buttons != 0 {
            start = None;
            continue;
        }
        let breaks = start.is_some_and(|b| {
            let last = &pointer[i - 1];
            pointer[b].ptype != p.ptype || p.t_ms - last.t_ms > STROKE_GAP_MS
        });
        if breaks || start.is_none() {
            start = Some(i);
        }
    }
    out
}

/// Peak speed (px/ms, over windows of at least `window` ms) of a stroke; 0 when it never moves.
fn peak_speed(st: &[Pt], window: f64) -> f64 {
    let mut peak = 0.0f64;
    let mut j = 0;
    for i in 0..st.len() {
        j = j.max(i + 1);
        while j < st.len() && st[j].t_ms - st[i].t_ms < window {
            j += 1;
        }
        let Some(b) = st.get(j) else { break };
        let dt = b.t_ms - st[i].t_ms;
        if dt > 0.0 {
            peak = peak.max(dist(&st[i], b) / dt);
        }
    }
    peak
}

/// A stroke's median sampling interval (at least 1 ms) and peak speed (over windows of at least
/// that interval and [`JUMP_PEAK_WINDOW_MS`]), or `None` without an interval. Whatever the
/// caller's bound on the interval ([`step_at_speed`]), so that a stroke judged both as a start
/// and as an arrival is measured once.
fn period_and_peak(st: &[Pt]) -> Option<(f64, f64)> {
    let mut dts: Vec<f64> = st.windows(2).map(|w| w[1].t_ms - w[0].t_ms).collect();
    let period = median_in_place(&mut dts)?.max(1.0);
    Some((period, peak_speed(st, period.max(JUMP_PEAK_WINDOW_MS))))
}

/// Does a stroke that ends in a click arrive at full speed (`Some(true)`), home in like a hand
/// (`Some(false)`), or is it not judged (`None`)? See [`ARRIVAL_RATIO`].
pub fn full_speed_arrival(st: &[Pt]) -> Option<bool> {
    full_speed_arrival_with(st, || period_and_peak(st))
}

/// [`full_speed_arrival`] with the stroke's [`period_and_peak`] from `measure` (called only when
/// the stroke is long enough to be judged).
fn full_speed_arrival_with(
    st: &[Pt],
    measure: impl FnOnce() -> Option<(f64, f64)>,
) -> Option<bool> {
    let (first, last) = (st.first()?, st.last()?);
    if st.len() < JUMP_MIN_POINTS + 1 || dist(first, last) < JUMP_MIN_CHORD_PX {
        return None;
    }
    step_at_speed(
        measure()?,
        dist(&st[st.len() - 2], last),
        ARRIVAL_RATIO,
        ARRIVAL_MAX_PERIOD_MS,
    )
}

/// Count strokes ending in a click judged and arriving at full speed
/// ([`Features::full_speed_arrivals`]); `measured`: strokes already measured ([`jump_starts`]).
fn arrivals(pointer: &[Pt], f: &mut Features, measured: &[MeasuredStroke]) {
    for r in arrival_strokes(pointer) {
        let st = &pointer[r.clone()];
        let known = measured
            .binary_search_by_key(&r.start, |(m, _)| m.start)
            .ok()
            .map(|k| &measured[k])
            .filter(|(m, _)| m.end == r.end);
        let judged = match known {
            Some(&(_, m)) => full_speed_arrival_with(st, || m),
            None => full_speed_arrival(st),
        };
        if let Some(h) = judged {
            f.n_arrival_strokes += 1;
            f.n_full_speed_arrivals += usize::from(h);
        }
    }
}

/// Interval features of the strokes. Returns their [`path_len`]s, summed from the step lengths
/// read here anyway.
fn timing(strokes: &[&[Pt]], f: &mut Features) -> Vec<f64> {
    let n_dt: usize = strokes.iter().map(|st| st.len().saturating_sub(1)).sum();
    let mut dts = Vec::with_capacity(n_dt);
    let mut n_moving = 0usize;
    let mut n_sub = 0usize;
    let mut n_fast = 0usize;
    let mut per_stroke_sd = Vec::with_capacity(strokes.len());
    let mut paths = Vec::with_capacity(strokes.len());
    for st in strokes {
        let begin = dts.len();
        // -0.0 and the same order: `Iterator::sum`'s, so the value is exactly `path_len`'s.
        let mut path = -0.0;
        for w in st.windows(2) {
            let dt = w[1].t_ms - w[0].t_ms;
            dts.push(dt);
            let dd = dist(&w[0], &w[1]);
            path += dd;
            if dd > 0.0 {
                n_moving += 1;
                n_sub += usize::from(dt < 0.5);
                n_fast += usize::from(dd > FAST_PX_PER_MS * dt.max(0.0));
            }
        }
        // A stroke's spread is read after its first `SD_START_SKIP` intervals: where a movement
        // sets off, an automation's first moves of a batch arrive back to back (ChromeDriver
        // dispatches the first two of each W3C action sequence 1.5-2.5 ms apart, then one per
        // frame), and two such intervals gave a frame-locked injector a person's spread
        // (session 17).
        let d = &dts[(begin + SD_START_SKIP).min(dts.len())..];
        if d.len() >= 5
            && let Some(v) = sd(d)
        {
            per_stroke_sd.push(v);
        }
        paths.push(path);
    }
    if dts.len() < 10 {
        return paths;
    }
    let (med, dt_mad) = median_and_mad(&dts);
    let med = med.unwrap_or(0.0);
    f.set(F::PtDtMedian, Some((1.0 + med.max(0.0)).ln()));
    f.set(F::PtDtSd, median(&per_stroke_sd).map(|v| (0.1 + v).ln()));
    f.set(F::PtDtMadRel, dt_mad.map(|m| m / med.max(1.0)));
    if n_moving >= 5 {
        // Same value as `share` over the moving steps.
        f.set(F::PtSubMs, Some(n_sub as f64 / n_moving as f64));
        f.set(F::PtFast, Some(n_fast as f64 / n_moving as f64));
    }
    if let Some(p) = modal_period(&dts) {
        f.set(F::PtOffGrid, offgrid_share_with(&dts, p));
        f.set(F::PtFrameSkip, frame_skip_share(&dts, p));
    }
    f.set(F::PtDtEntropy, interval_entropy(&dts));
    paths
}

/// Share of intervals (>= 0.8 ms) spanning at least 1.5 modal periods `p`. A browser delivers a
/// move per animation frame only while the pointer actually moves, so a human hand that slows
/// or pauses inside a stroke leaves frames without a move (behaviour.md §2: 68 % of human
/// intervals at 15–18 ms, the rest spread over multiples and high-rate modes); an injector that
/// sends one point per tick (ghost-cursor or WindMouse over XTEST at 60 Hz, even synthetic
/// timestamps) never skips one. `None` below 8 such intervals.
pub fn frame_skip_share(dts: &[f64], p: f64) -> Option<f64> {
    if p.is_nan() || p <= 0.0 {
        return None;
    }
    let (mut n, mut skip) = (0usize, 0usize);
    for &d in dts.iter().filter(|d| **d >= 0.8) {
        n += 1;
        skip += usize::from(d >= 1.5 * p);
    }
    (n >= 8).then(|| skip as f64 / n as f64)
}

/// Shannon entropy (bits) of intervals in 1 ms bins (0–100 ms; longer ones share the last bin),
/// with the Miller–Madow bias correction `(bins used − 1) / (2 n ln 2)` so short sessions are
/// comparable with long ones. Timing regularity of the event stream: a timer-driven generator
/// uses one or two bins, frame-locked human input a few around the frame period plus skipped
/// frames, sleep-driven scripts many. `None` below 10 intervals.
pub fn interval_entropy(dts: &[f64]) -> Option<f64> {
    let mut bins = [0u32; 101];
    let mut n = 0usize;
    for &d in dts {
        if d.is_finite() && d >= 0.0 {
            bins[(d.round() as usize).min(100)] += 1;
            n += 1;
        }
    }
    if n < 10 {
        return None;
    }
    let nf = n as f64;
    let (mut h, mut used) = (0.0, 0usize);
    for &c in bins.iter().filter(|c| **c > 0) {
        let q = f64::from(c) / nf;
        h -= q * q.log2();
        used += 1;
    }
    Some(h + (used as f64 - 1.0) / (2.0 * nf * std::f64::consts::LN_2))
}

/// Estimate the modal sampling period (0.5 ms bins over 0.8–60 ms) and return the share of
/// intervals (>= 0.8 ms) that are not close to a whole multiple of it. Frame-locked browsers,
/// high-rate mice and 1-ms-quantised clocks all stay on their own grid; free-running sleeps,
/// generated timestamps and back-to-back bursts do not.
pub fn offgrid_share(dts: &[f64]) -> Option<f64> {
    offgrid_share_with(dts, modal_period(dts)?)
}

/// [`offgrid_share`] with the modal period `p` already known.
fn offgrid_share_with(dts: &[f64], p: f64) -> Option<f64> {
    // `share` over the intervals >= 0.8 ms, counted without collecting them.
    let (mut considered, mut off) = (0usize, 0usize);
    for &d in dts.iter().filter(|d| **d >= 0.8) {
        considered += 1;
        let k = (d / p).round().max(1.0);
        let tol = 1.2f64.max(0.12 * p) + 0.02 * k * p;
        off += usize::from((d - k * p).abs() > tol);
    }
    if considered == 0 {
        None
    } else {
        Some(off as f64 / considered as f64)
    }
}

/// Modal sampling period of intervals (0.5 ms bins over 0.8–60 ms, neighbouring bins pooled,
/// then the median of the intervals near the mode); `None` below 8 candidate intervals.
pub fn modal_period(dts: &[f64]) -> Option<f64> {
    // The candidates are counted into their bins, not collected: the median below reads a
    // multiset, whichever order it is gathered in.
    let candidate = |d: &f64| (0.8..=60.0).contains(d);
    let mut bins = [0u32; 120];
    let mut n_cand = 0usize;
    for d in dts.iter().filter(|d| candidate(d)) {
        let b = ((d / 0.5) as usize).min(119);
        bins[b] += 1;
        n_cand += 1;
    }
    if n_cand < 8 {
        return None;
    }
    // Smooth over neighbouring bins so 16/17 ms alternation forms one mode.
    let score = |i: usize| -> u32 {
        let lo = i.saturating_sub(1);
        let hi = (i + 1).min(119);
        bins[lo..=hi].iter().sum()
    };
    let best = (0..120).max_by_key(|&i| (score(i), std::cmp::Reverse(i)))?;
    let centre = (best as f64 + 0.5) * 0.5;
    let mut near: Vec<f64> = Vec::with_capacity(n_cand);
    near.extend(
        dts.iter()
            .copied()
            .filter(|d| candidate(d) && (d - centre).abs() <= 1.0f64.max(0.1 * centre)),
    );
    let p = median_in_place(&mut near)?;
    (p > 0.0).then_some(p)
}

/// Per-stroke kinematic summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StrokeKin {
    pub straightness: f64,
    pub peaks: Option<f64>,
    pub time_to_peak: Option<f64>,
    pub jerk: Option<f64>,
    pub turn: Option<f64>,
    pub sign_change: Option<f64>,
    pub step_ratio: Option<f64>,
    pub correction: Option<bool>,
    pub pause: Option<f64>,
    pub power_law: Option<f64>,
    pub decel_ratio: Option<f64>,
    pub turn_tail: Option<f64>,
    pub plateau: Option<f64>,
    pub start_speed: Option<f64>,
}

/// Buffers reused across the strokes of one session (the values are recomputed per stroke).
#[derive(Default)]
struct Scratch {
    steps: Vec<f64>,
    heads: Vec<f64>,
    ratios: Vec<f64>,
    pts: Vec<(f64, f64, f64)>,
    rs: Vec<(f64, f64)>,
    raw: Vec<f64>,
    v: Vec<f64>,
    xs: Vec<f64>,
    ys: Vec<f64>,
    turns: Vec<f64>,
}

impl Scratch {
    /// Buffers for strokes of up to `points` samples (they grow beyond that if need be): the
    /// per-sample ones at that size, the resampled ones ([`RESAMPLE_MS`]) at twice it, which
    /// covers strokes sampled every 5 ms or more.
    fn for_strokes_of(points: usize) -> Scratch {
        let per_sample = || Vec::with_capacity(points);
        let resampled = || Vec::with_capacity(2 * points);
        Scratch {
            steps: per_sample(),
            heads: per_sample(),
            ratios: per_sample(),
            pts: Vec::with_capacity(points),
            rs: Vec::with_capacity(2 * points),
            raw: resampled(),
            v: resampled(),
            xs: resampled(),
            ys: resampled(),
            turns: per_sample(),
        }
    }
}

/// Kinematics of one stroke (assumed long; works on any), with the stroke's [`path_len`]
/// already known and scratch buffers reused across strokes.
fn stroke_kinematics_with(st: &[Pt], path: f64, sc: &mut Scratch) -> StrokeKin {
    let chord = match (st.first(), st.last()) {
        (Some(a), Some(b)) => dist(a, b),
        _ => 0.0,
    };
    let straightness = if path > 0.0 {
        (chord / path).min(1.0)
    } else {
        1.0
    };
    let mut k = StrokeKin {
        straightness,
        ..Default::default()
    };

    // Spatial: headings of steps of at least 0.5 px.
    let steps = &mut sc.steps;
    let heads = &mut sc.heads;
    steps.clear();
    heads.clear();
    if let Some(&first) = st.first() {
        let mut a = first;
        for p in &st[1..] {
            let dd = dist(&a, p);
            if dd >= 0.5 {
                steps.push(dd);
                heads.push((p.y - a.y).atan2(p.x - a.x));
                a = *p;
            }
        }
    }
    if heads.len() >= 5 {
        // Turns in one pass: mean |turn| (same summation order) and sign changes among the
        // significant ones.
        let n_turns = heads.len() - 1;
        let mut sum_abs = 0.0;
        let (mut n_sig, mut changes, mut last_sig) = (0usize, 0usize, 0.0f64);
        let turns = &mut sc.turns;
        turns.clear();
        for w in heads.windows(2) {
            let t = wrap_angle(w[1] - w[0]);
            sum_abs += t.abs();
            turns.push(t.abs());
            if t.abs() > 0.02 {
                if n_sig > 0 && last_sig.signum() != t.signum() {
                    changes += 1;
                }
                last_sig = t;
                n_sig += 1;
            }
        }
        k.turn_tail = turn_tail(turns);
        let mean_abs = sum_abs / n_turns as f64;
        k.turn = Some((0.001 + mean_abs).ln());
        k.sign_change = Some(if n_sig < 2 {
            0.0
        } else {
            changes as f64 / (n_sig - 1) as f64
        });
        let ratios = &mut sc.ratios;
        ratios.clear();
        ratios.extend(steps.windows(2).map(|w| (w[1] / w[0]).ln().abs()));
        k.step_ratio = median_of(ratios);
    }

    // Temporal: resample positions on a uniform clock (duplicated timestamps keep the last).
    let pts = &mut sc.pts;
    pts.clear();
    for p in st {
        match pts.last_mut() {
            Some(last) if p.t_ms <= last.0 => {
                last.1 = p.x;
                last.2 = p.y;
            }
            _ => pts.push((p.t_ms, p.x, p.y)),
        }
    }
    let (Some(first), Some(last)) = (pts.first().copied(), pts.last().copied()) else {
        return k;
    };
    let dur = last.0 - first.0;
    if pts.len() >= 3 && dur >= 3.0 * RESAMPLE_MS {
        let n = ((dur / RESAMPLE_MS).floor() as usize + 1).min(20_000);
        let rs = &mut sc.rs;
        rs.clear();
        rs.reserve(n);
        let mut j = 0usize;
        for i in 0..n {
            let t = first.0 + i as f64 * RESAMPLE_MS;
            while j + 1 < pts.len() - 1 && pts[j + 1].0 < t {
                j += 1;
            }
            let (a, b) = (pts[j], pts[(j + 1).min(pts.len() - 1)]);
            let u = if b.0 > a.0 {
                ((t - a.0) / (b.0 - a.0)).clamp(0.0, 1.0)
            } else {
                1.0
            };
            rs.push((a.1 + (b.1 - a.1) * u, a.2 + (b.2 - a.2) * u));
        }
        let raw = &mut sc.raw;
        raw.clear();
        raw.extend(
            rs.windows(2)
                .map(|w| norm(w[1].0 - w[0].0, w[1].1 - w[0].1) / RESAMPLE_MS),
        );
        let v = &mut sc.v;
        smooth_into(raw, v);
        let vmax = v.iter().copied().fold(0.0, f64::max);
        if vmax > 0.0 {
            let (count, last_peak_idx) = zigzag_peaks(v, 0.1 * vmax);
            k.peaks = Some((1.0 + count as f64).ln());
            let imax = v
                .iter()
                .enumerate()
                .fold(0, |bi, (i, x)| if *x > v[bi] { i } else { bi });
            let denom = (v.len().max(2) - 1) as f64;
            k.time_to_peak = Some(imax as f64 / denom);
            k.decel_ratio = Some(decel_ratio(v, imax, vmax));
            k.plateau = plateau_share(v, vmax);
            // Speed over the stroke's first 20 ms against its (smoothed) peak: a hand starts
            // from rest, a generator's first step is already a full one.
            let head = raw.iter().take(2).sum::<f64>() / raw.len().clamp(1, 2) as f64;
            k.start_speed = Some((head / vmax).min(2.0));
            k.pause = share(v, |x| *x < 0.02);
            if straightness >= 0.5 && chord >= LONG_MIN_PATH_PX {
                let (ux, uy) = ((last.1 - first.1) / chord, (last.2 - first.2) / chord);
                let maxproj = st
                    .iter()
                    .map(|p| (p.x - first.1) * ux + (p.y - first.2) * uy)
                    .fold(f64::MIN, f64::max);
                let overshoot = maxproj > chord + 2.0f64.max(0.02 * chord);
                let late_sub = count >= 2 && last_peak_idx.is_some_and(|i| i as f64 / denom >= 0.6);
                k.correction = Some(overshoot || late_sub);
            }
        }
        k.power_law = power_law_slope_with(rs, &mut sc.xs, &mut sc.ys);
        if rs.len() >= 6 && path > 0.0 {
            let dt3 = RESAMPLE_MS.powi(3);
            let sum_j2: f64 = rs
                .windows(4)
                .map(|w| {
                    let jx = (w[3].0 - 3.0 * w[2].0 + 3.0 * w[1].0 - w[0].0) / dt3;
                    let jy = (w[3].1 - 3.0 * w[2].1 + 3.0 * w[1].1 - w[0].1) / dt3;
                    (jx * jx + jy * jy) * RESAMPLE_MS
                })
                .sum();
            let dimless = sum_j2 * dur.powi(5) / (path * path);
            k.jerk = Some((1.0 + dimless).ln());
        }
    } else {
        k.peaks = Some(2f64.ln());
    }
    k
}

/// Log ratio of the deceleration to the acceleration time of a stroke's main speed pulse: from
/// the last sample below 10 % of the peak speed before the peak to the first one after it.
/// Aimed human movements decelerate longer than they accelerate (the lognormal velocity pulses
/// of Plamondon's Kinematic Theory; the "asymmetric bell" of behaviour.md §1), while eased,
/// Bézier-in-parameter and minimum-jerk generators are close to symmetric (ratio ~ 0).
pub fn decel_ratio(v: &[f64], imax: usize, vmax: f64) -> f64 {
    let thr = 0.1 * vmax;
    let i0 = v[..imax].iter().rposition(|x| *x < thr).unwrap_or(0);
    let i1 = v[imax..]
        .iter()
        .position(|x| *x < thr)
        .map_or(v.len().saturating_sub(1), |j| imax + j);
    ((i1 - imax) as f64 + 0.5).ln() - ((imax - i0) as f64 + 0.5).ln()
}

/// Share of a speed series' moving samples (>= 10 % of the peak speed `vmax`) that are near the
/// peak (>= 80 % of it). Aimed movements are lognormal speed pulses, bell-shaped, so little of the
/// movement is spent near the peak (a Gaussian bell: ≈ 0.31; Plamondon's Kinematic Theory,
/// behaviour.md §1); a generator whose step is capped (WindMouse's maximum step) or constant
/// (fixed steps on a timer, "reading" bots) cruises at its top speed (→ 1). `None` without motion.
pub fn plateau_share(v: &[f64], vmax: f64) -> Option<f64> {
    if vmax <= 0.0 {
        return None;
    }
    let moving = v.iter().filter(|x| **x >= 0.1 * vmax).count();
    let near = v.iter().filter(|x| **x >= 0.8 * vmax).count();
    (moving > 0).then(|| near as f64 / moving as f64)
}

/// Samples of the speed series used for the spectrum (cost bound).
pub const TREMOR_MAX_SAMPLES: usize = 256;

/// Share of the 2–25 Hz power of a speed series (uniform [`RESAMPLE_MS`] steps, i.e. 100 Hz)
/// that lies in the 8–12 Hz physiological-tremor band (Goertzel per DFT bin on the
/// mean-removed, Hann-windowed series; the first [`TREMOR_MAX_SAMPLES`] samples). A hand on a
/// mouse carries a little tremor and sensor jitter in that band; generated paths are smooth
/// there (their power sits in the slow bell). `None` below 30 samples (0.3 s) or without power.
/// `w`: scratch buffer.
///
/// Not a session feature: screened as the median over strokes sampled at >= 25 Hz
/// (`kin_tremor_log`), it tracked the recording set-up, gave no leave-one-family-out gain and
/// cost ~100 µs per 20 s login token (the Goertzel bins are O(n²) per stroke), so `extract`
/// does not compute it; it stays for offline analysis.
pub fn tremor_share(v: &[f64], w: &mut Vec<f64>) -> Option<f64> {
    let v = &v[..v.len().min(TREMOR_MAX_SAMPLES)];
    let n = v.len();
    if n < 30 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    w.clear();
    let nm1 = (n - 1) as f64;
    w.extend(v.iter().enumerate().map(|(i, x)| {
        let c = (std::f64::consts::PI * i as f64 / nm1).sin();
        (x - mean) * c * c
    }));
    let fs = 1000.0 / RESAMPLE_MS;
    let bin = |f: f64| f * n as f64 / fs;
    let (k_lo, k_hi) = (bin(2.0).ceil() as usize, bin(25.0).floor() as usize);
    let (t_lo, t_hi) = (bin(8.0), bin(12.0));
    let (mut band, mut total) = (0.0, 0.0);
    for k in k_lo.max(1)..=k_hi.min(n / 2) {
        let c = 2.0 * (2.0 * std::f64::consts::PI * k as f64 / n as f64).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for x in w.iter() {
            let s0 = x + c * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let pw = (s1 * s1 + s2 * s2 - c * s1 * s2).max(0.0);
        total += pw;
        if (t_lo..=t_hi).contains(&(k as f64)) {
            band += pw;
        }
    }
    (total > 1e-12).then(|| band / total)
}

/// Log ratio of the 90th to the 50th percentile of absolute heading changes (rad, + 0.01) of
/// one stroke: hand motion mixes many small heading changes with a few sharp corrections (a
/// heavy tail); parametric curves turn evenly. `None` below 8 turns. Reorders `turns`.
pub fn turn_tail(turns: &mut [f64]) -> Option<f64> {
    if turns.len() < 8 {
        return None;
    }
    // Two selections instead of a sort: each order statistic is unique under `total_cmp`
    // (whatever the values), so the quantiles are those of the sorted turns.
    let p50 = quantile_in_place(turns, 0.5)?;
    let p90 = quantile_in_place(turns, 0.9)?;
    Some(((p90 + 0.01) / (p50 + 0.01)).ln())
}

/// Median of the finite values of a scratch buffer (reorders it); same value as
/// [`median`] of it.
fn median_of(buf: &mut Vec<f64>) -> Option<f64> {
    buf.retain(|x| x.is_finite());
    median_in_place(buf)
}

/// Slope of log speed on log curvature over a uniformly resampled path (the "two-thirds power
/// law" of hand motion predicts about −1/3; parametric curves sampled uniformly in their
/// parameter, eased curves and noise generators land elsewhere). `None` below 10 usable points
/// or without curvature spread. `xs`, `ys`: scratch buffers.
fn power_law_slope_with(rs: &[(f64, f64)], xs: &mut Vec<f64>, ys: &mut Vec<f64>) -> Option<f64> {
    if rs.len() < 12 {
        return None;
    }
    xs.clear();
    ys.clear();
    for w in rs.windows(3) {
        let (vx, vy) = ((w[2].0 - w[0].0) / 2.0, (w[2].1 - w[0].1) / 2.0);
        let (ax, ay) = (
            w[2].0 - 2.0 * w[1].0 + w[0].0,
            w[2].1 - 2.0 * w[1].1 + w[0].1,
        );
        let v = norm(vx, vy);
        if v < 0.5 {
            continue; // under 0.05 px/ms: curvature is sensor noise
        }
        let kappa = (vx * ay - vy * ax).abs() / (v * v * v);
        if kappa > 1e-5 && kappa.is_finite() {
            xs.push(kappa.ln());
            ys.push(v.ln());
        }
    }
    if xs.len() < 10 {
        return None;
    }
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(ys.iter())
        .map(|(x, y)| (x - mx) * (y - my))
        .sum();
    if sxx <= 1e-9 {
        return None;
    }
    Some((sxy / sxx).clamp(-3.0, 3.0))
}

fn wrap_angle(a: f64) -> f64 {
    let mut a = a;
    while a > std::f64::consts::PI {
        a -= 2.0 * std::f64::consts::PI;
    }
    while a < -std::f64::consts::PI {
        a += 2.0 * std::f64::consts::PI;
    }
    a
}

/// 5-tap triangular smoothing (edges renormalised) of `v` into `out`.
fn smooth_into(v: &[f64], out: &mut Vec<f64>) {
    const K: [f64; 5] = [1.0, 2.0, 3.0, 2.0, 1.0];
    out.clear();
    out.extend((0..v.len()).map(|i| {
        let (mut s, mut w) = (0.0, 0.0);
        for (o, kw) in K.iter().enumerate() {
            let j = i as isize + o as isize - 2;
            if j >= 0 && (j as usize) < v.len() {
                s += kw * v[j as usize];
                w += kw;
            }
        }
        s / w
    }));
}

/// Count peaks with hysteresis `thr` (a peak must rise `thr` above the previous trough and fall
/// `thr` below itself, or end the signal). Returns the count and the index of the last peak.
pub fn zigzag_peaks(v: &[f64], thr: f64) -> (usize, Option<usize>) {
    let Some(&first) = v.first() else {
        return (0, None);
    };
    let (mut count, mut last) = (0usize, None);
    let mut rising = true;
    let (mut ext, mut ext_i) = (first, 0usize);
    let mut trough = first;
    for (i, &x) in v.iter().enumerate().skip(1) {
        if rising {
            if x > ext {
                ext = x;
                ext_i = i;
            } else if ext - x > thr && ext - trough > thr {
                count += 1;
                last = Some(ext_i);
                rising = false;
                ext = x;
            }
        } else if x < ext {
            ext = x;
        } else if x - ext > thr {
            rising = true;
            trough = ext;
            ext = x;
            ext_i = i;
        }
    }
    if rising && ext - trough > thr {
        count += 1;
        last = Some(ext_i);
    }
    (count, last)
}

/// A steadily sampled stroke faster than display frames (a 125–1000 Hz mouse captured through
/// coalesced events), read as a browser on a 60 Hz display dispatches it: the last sample of each
/// [`FRAME_VIEW_MS`] frame (frames counted from the stroke's first sample, which is kept, as is
/// its last). `None` for every other stroke: frame rate or slower, bursts, and irregular streams
/// (a VM's batches: fewer than 60 % of the intervals within ±30 % of their median). Kinematics
/// measured between consecutive samples (step ratios, turns, curvature sign changes, jerk)
/// otherwise measure the sampling rate: SapiMouse's people
/// recorded at 125 Hz had a step ratio of 0.21 against 0.36 at 60 Hz and sign-change shares of
/// 0.65 against 0.44, and were challenged 7.5 % of the time out of fold against 0.5 % at 60 Hz.
/// Applied to collector captures only ([`Session::collector`], strokes of mostly coalesced
/// samples): nearly every person in the training traces was recorded frame-locked, and reading the
/// few trace people at 125 Hz this way too, then retraining, moved the model onto timing
/// irregularity (screened: people at ≥ 19 ms, mostly DELBOT's VM, 2.2 → 16.3 % challenged+blocked),
/// as session 8's variant did. A capture is read at frame spacing instead, so a fast mouse in
/// production meets the model as the people it learned from.
pub fn frame_view(st: &[Pt]) -> Option<Vec<Pt>> {
    let mut out = Vec::new();
    frame_view_into(st, &mut Vec::new(), &mut out).then_some(out)
}

/// [`frame_view`] into `out` (`false`, `out` unspecified, where it gives `None`), with `gaps` a
/// scratch buffer: the session's strokes reuse both.
fn frame_view_into(st: &[Pt], gaps: &mut Vec<f64>, out: &mut Vec<Pt>) -> bool {
    if st.len() < 9 {
        return false;
    }
    gaps.clear();
    gaps.extend(st.windows(2).map(|w| w[1].t_ms - w[0].t_ms));
    let Some(m) = median_of(gaps) else {
        return false;
    };
    if !FRAME_VIEW_MEDIAN_MS.contains(&m) {
        return false;
    }
    // The count does not depend on the order `median_of` left.
    let near = gaps.iter().filter(|g| (**g - m).abs() <= 0.3 * m).count();
    if (near as f64) < 0.6 * gaps.len() as f64 {
        return false;
    }
    let t0 = st[0].t_ms;
    let frame = |p: &Pt| ((p.t_ms - t0) / FRAME_VIEW_MS).floor() as i64;
    out.clear();
    out.push(st[0]);
    // A sample is the last of its frame when the next one is in another frame (or there is
    // none); each sample's frame is computed once, and compared with its successor's.
    let mut prev = (st[1], frame(&st[1]));
    for p in &st[2..] {
        let here = frame(p);
        if here != prev.1 {
            out.push(prev.0);
        }
        prev = (*p, here);
    }
    out.push(prev.0);
    true
}

/// `collector`: the session is a collector capture ([`Session::collector`]); only its strokes of
/// device samples (mostly coalesced) are read through [`frame_view`].
fn kinematics(strokes: &[&[Pt]], paths: &[f64], collector: bool, f: &mut Features) {
    // Sized once for the longest stroke: grown push by push, they were reallocated dozens of
    // times per session.
    let longest = strokes.iter().map(|st| st.len()).max().unwrap_or(0);
    let mut sc = Scratch::for_strokes_of(longest);
    let (mut gaps, mut view) = (Vec::with_capacity(longest), Vec::with_capacity(longest));
    let mut kins: Vec<StrokeKin> = Vec::new();
    // Touch digitisers smooth their output: smoothness is only a tell for mouse-like pointers.
    let mut mouse_like: Vec<bool> = Vec::new();
    for (i, (st, &path)) in strokes.iter().zip(paths).enumerate() {
        if long_enough(st, path) {
            let device = collector && 2 * st.iter().filter(|p| p.coalesced).count() >= st.len();
            let framed = device && frame_view_into(st, &mut gaps, &mut view);
            let view_path = if framed { path_len(&view) } else { 0.0 };
            let (st, path) = if framed && long_enough(&view, view_path) {
                (view.as_slice(), view_path)
            } else {
                (*st, path)
            };
            let mut k = stroke_kinematics_with(st, path, &mut sc);
            // The session's first stroke may have begun outside the page (the cursor entered
            // moving): its start says nothing about the hand. Later strokes follow a >= 100 ms
            // stillness, so they start from rest. Hovering reaches only: a drag starts with the
            // press, often already moving (DELBOT's people draw their circles that way).
            if i == 0 || st.first().is_some_and(|p| p.buttons != 0) {
                k.start_speed = None;
            }
            kins.push(k);
            mouse_like.push(st.first().is_some_and(|p| is_mouse_like(p.ptype)));
        }
    }
    f.n_long_strokes = kins.len();
    if kins.is_empty() {
        return;
    }
    let mut buf = Vec::with_capacity(kins.len());
    let mut med = |g: &dyn Fn(&StrokeKin) -> Option<f64>| -> Option<f64> {
        buf.clear();
        buf.extend(kins.iter().filter_map(g));
        median_of(&mut buf)
    };
    f.set(F::KinStraight, med(&|k| Some(k.straightness)));
    f.set(F::KinPeaks, med(&|k| k.peaks));
    f.set(F::KinTtp, med(&|k| k.time_to_peak));
    f.set(F::KinJerk, med(&|k| k.jerk));
    f.set(F::KinTurn, med(&|k| k.turn));
    f.set(F::KinSignChg, med(&|k| k.sign_change));
    f.set(F::KinStepRatio, med(&|k| k.step_ratio));
    f.set(F::KinPause, med(&|k| k.pause));
    f.set(F::KinPowerLaw, med(&|k| k.power_law));
    f.set(F::KinDecelRatio, med(&|k| k.decel_ratio));
    f.set(F::KinTurnTail, med(&|k| k.turn_tail));
    f.set(F::KinPlateau, med(&|k| k.plateau));
    f.set(F::KinStart, med(&|k| k.start_speed));
    let smooth: Vec<bool> = kins
        .iter()
        .zip(&mouse_like)
        .filter(|(_, m)| **m)
        .filter_map(|(k, _)| {
            Some(k.sign_change? < SMOOTH_SIGN_CHANGE && k.step_ratio? < SMOOTH_STEP_RATIO)
        })
        .collect();
    f.set(F::KinSmoothShare, share(&smooth, |s| *s));
    let corr: Vec<bool> = kins.iter().filter_map(|k| k.correction).collect();
    f.set(F::KinCorrection, share(&corr, |c| *c));
}

/// A clean click found in the pointer stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Click {
    pub down: Pt,
    pub up: Pt,
    /// Move samples in the 500 ms before the down.
    pub moves_before: usize,
    /// Time from the last move to the down (ms), when a move came within [`CLICK_PAUSE_MAX_MS`].
    pub pause_ms: Option<f64>,
    /// First sample of the move run (gaps <= [`STROKE_GAP_MS`]) that ends at that last move: where
    /// the approach to the click started.
    pub approach_start: Option<Pt>,
}

/// A click whose last move is older than this has no approach (keyboard focus, a still hand).
pub const CLICK_PAUSE_MAX_MS: f64 = 2000.0;
/// Fitts' law in Shannon form, `MT = a + b·log2(D/W + 1)`, with population values for mouse
/// pointing (Soukoreff & MacKenzie 2004: throughput ≈ 3.7–4.9 bit/s; intercepts 0–300 ms).
pub const FITTS_A_MS: f64 = 150.0;
pub const FITTS_B_MS: f64 = 200.0;

/// Clean clicks of mouse-like pointers (down, its up within 1.5 s and 10 px).
pub fn clicks_of(pointer: &[Pt]) -> Vec<Click> {
    let mut out = Vec::new();
    for (i, d) in pointer.iter().enumerate() {
        if d.kind != pointer_kind::DOWN || !is_mouse_like(d.ptype) {
            continue;
        }
        let Some(u) = release_of(pointer, i) else {
            continue;
        };
        if u.t_ms - d.t_ms > CLICK_MAX_MS || dist(d, u) > CLICK_MAX_PX {
            continue;
        }
        let moves_before = pointer[..i]
            .iter()
            .rev()
            .take_while(|p| p.t_ms >= d.t_ms - 500.0)
            .filter(|p| is_move(p))
            .count();
        let last = pointer[..i]
            .iter()
            .rposition(is_move)
            .filter(|&j| d.t_ms - pointer[j].t_ms <= CLICK_PAUSE_MAX_MS);
        let approach_start = last.map(|j| {
            let mut start = pointer[j];
            for p in pointer[..j].iter().rev() {
                if p.kind == pointer_kind::DOWN || p.kind == pointer_kind::UP {
                    break;
                }
                if is_move(p) {
                    if start.t_ms - p.t_ms > STROKE_GAP_MS {
                        break;
                    }
                    start = *p;
                }
            }
            start
        });
        out.push(Click {
            down: *d,
            up: *u,
            moves_before,
            pause_ms: last.map(|j| (d.t_ms - pointer[j].t_ms).max(0.0)),
            approach_start,
        });
    }
    out
}

/// `ln(MT / (a + b·ID))` of a click on a captured target box: movement time from the start of
/// the approach to the press against Fitts' prediction for the distance from the approach start
/// to the box centre and the box's smaller side (Fitts 1954; MacKenzie's Shannon form). Re-timed
/// replays and generators with a fixed duration per movement break the MT–ID relation
/// (behaviour.md §3, "replay tools"). `None` without a box under the press or an approach.
pub fn fitts_residual(c: &Click, targets: &[super::Target]) -> Option<f64> {
    let t = targets.iter().find(|b| {
        c.down.x >= b.x && c.down.x <= b.x + b.w && c.down.y >= b.y && c.down.y <= b.y + b.h
    })?;
    let start = c.approach_start?;
    let w = t.w.min(t.h);
    if w <= 0.0 {
        return None;
    }
    let d = norm(start.x - (t.x + t.w / 2.0), start.y - (t.y + t.h / 2.0));
    let id = (d / w + 1.0).log2();
    let mt = c.down.t_ms - start.t_ms;
    (mt > 0.0).then(|| (mt / (FITTS_A_MS + FITTS_B_MS * id)).ln())
}

fn clicks(s: &Session, f: &mut Features) {
    let cl = clicks_of(&s.pointer);
    if !cl.is_empty() {
        let dwell: Vec<f64> = cl.iter().map(|c| c.up.t_ms - c.down.t_ms).collect();
        f.set(
            F::ClickDwell,
            median(&dwell).map(|d| (1.0 + d.max(0.0)).ln()),
        );
        f.set(F::ClickApproach, share(&cl, |c| c.moves_before < 3));
        let pauses: Vec<f64> = cl.iter().filter_map(|c| c.pause_ms).collect();
        f.set(F::ClickPause, median(&pauses).map(|p| (1.0 + p).ln()));
        let fitts: Vec<f64> = cl
            .iter()
            .filter_map(|c| fitts_residual(c, &s.targets))
            .collect();
        f.set(F::ClickFitts, median(&fitts));
        // Each click's captured target box, found once; offsets from its centre (px).
        let hits: Vec<(f64, f64, &super::Target)> = cl
            .iter()
            .filter_map(|c| {
                let t = s.targets.iter().find(|b| {
                    c.down.x >= b.x
                        && c.down.x <= b.x + b.w
                        && c.down.y >= b.y
                        && c.down.y <= b.y + b.h
                })?;
                Some((c.down.x - t.x - t.w / 2.0, c.down.y - t.y - t.h / 2.0, t))
            })
            .collect();
        let offs: Vec<f64> = hits
            .iter()
            .filter(|(_, _, t)| t.w > 0.0 && t.h > 0.0)
            .map(|(dx, dy, t)| (dx / (t.w / 2.0)).hypot(dy / (t.h / 2.0)))
            .collect();
        f.set(F::ClickOffset, median(&offs));
        for (dx, dy, t) in &hits {
            if t.w < CENTRE_MIN_BOX_PX || t.h < CENTRE_MIN_BOX_PX {
                continue;
            }
            f.n_box_clicks += 1;
            f.n_centre_clicks +=
                usize::from(dx.abs() <= CENTRE_MAX_PX && dy.abs() <= CENTRE_MAX_PX);
        }
    }
    let downs: Vec<&Pt> = s
        .pointer
        .iter()
        .filter(|p| p.kind == pointer_kind::DOWN && is_mouse_like(p.ptype) && p.buttons != 0)
        .collect();
    let pressures: Vec<f32> = downs.iter().filter_map(|p| p.pressure).collect();
    if !pressures.is_empty() && pressures.len() == downs.len() {
        f.set(F::ClickPressure0, share(&pressures, |p| *p == 0.0));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::extract;
    use super::*;
    use tollgate_protocol::telemetry::pointer_type;

    pub(crate) fn mv(t: f64, x: f64, y: f64) -> Pt {
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

    fn ev(kind: u8, t: f64, x: f64, y: f64, buttons: u8) -> Pt {
        Pt {
            kind,
            buttons,
            ..mv(t, x, y)
        }
    }

    /// One smooth curved reach sampled every `dt` ms (integer pixels, ±1 px of hand noise): the
    /// same movement at any device rate.
    fn reach_at(dt: f64, dur: f64) -> Vec<Pt> {
        let n = (dur / dt) as usize + 1;
        (0..n)
            .map(|i| {
                let u = (i as f64 * dt / dur).min(1.0);
                let s = u * u * u * (10.0 - 15.0 * u + 6.0 * u * u);
                Pt {
                    coalesced: true,
                    ..mv(
                        i as f64 * dt + 0.05 * noise(i, 1),
                        (100.0 + 500.0 * s + noise(i, 3)).round(),
                        (400.0 - 80.0 * (std::f64::consts::PI * s).sin() + noise(i, 9)).round(),
                    )
                }
            })
            .collect()
    }

    #[test]
    fn a_125hz_token_is_read_at_frame_spacing() {
        // The criterion bench's fast token (`features_extract_125hz`): every long stroke of it is
        // read through the frame view, at about half its samples.
        let t = tollgate_testkit::TelemetrySpec::long_login(1)
            .with_fast_mouse()
            .build();
        let s = crate::features::Session::from_telemetry(&t);
        assert!(s.collector);
        let long: Vec<Vec<Pt>> = strokes(&s.pointer)
            .into_iter()
            .filter(|st| long_enough(st, path_len(st)))
            .collect();
        assert!(long.len() >= 8, "{}", long.len());
        for st in &long {
            let v = frame_view(st).expect("a 125 Hz stroke");
            assert!(
                (st.len() / 3..st.len() * 2 / 3).contains(&v.len()),
                "{} -> {}",
                st.len(),
                v.len()
            );
        }
    }

    #[test]
    fn fast_devices_are_read_at_frame_spacing() {
        // 125 Hz and 250 Hz (a 1 kHz mouse as the loader thins it) are read at ~60 Hz frames.
        for dt in [8.0, 4.0] {
            let fast = reach_at(dt, 700.0);
            let v = frame_view(&fast).expect("a steady fast stroke");
            assert_eq!(v.first(), fast.first());
            assert_eq!(v.last(), fast.last());
            let gaps: Vec<f64> = v.windows(2).map(|w| w[1].t_ms - w[0].t_ms).collect();
            let inner = &gaps[..gaps.len() - 1];
            assert!(
                inner
                    .iter()
                    .all(|g| (FRAME_VIEW_MS - dt - 0.2..FRAME_VIEW_MS + dt + 0.2).contains(g)),
                "{dt} ms: {gaps:?}"
            );
        }
        // Frame rate or slower, bursts and a VM's batches are read as they are.
        assert!(frame_view(&reach_at(FRAME_VIEW_MS, 700.0)).is_none());
        assert!(frame_view(&reach_at(1.0, 60.0)).is_none());
        let mut t = 0.0;
        let batched: Vec<Pt> = (0..40)
            .map(|i| {
                t = if i % 4 == 0 {
                    (i / 4) as f64 * 40.0
                } else {
                    t + 2.5 + 4.0 * noise(i, 5)
                };
                mv(t, 3.0 * i as f64, 0.0)
            })
            .collect();
        assert!(frame_view(&batched).is_none());
    }

    #[test]
    fn step_geometry_does_not_measure_the_device_rate() {
        // The same reach at 60 Hz and at 125 Hz: read at frame spacing, the 125 Hz copy's
        // curvature sign changes and jerk match the 60 Hz ones; read at every sample they do not.
        let kin = |st: &[Pt]| stroke_kinematics_with(st, path_len(st), &mut Scratch::default());
        let feats = |st: Vec<Pt>| {
            extract(&Session {
                pointer: st,
                collector: true,
                ..Default::default()
            })
        };
        let (slow, fast) = (reach_at(FRAME_VIEW_MS, 700.0), reach_at(8.0, 700.0));
        let (fs, ff, raw) = (feats(slow), feats(fast.clone()), kin(&fast));
        for (id, raw) in [(F::KinSignChg, raw.sign_change), (F::KinJerk, raw.jerk)] {
            let (a, b, r) = (
                fs.get(id).unwrap_or(f64::NAN),
                ff.get(id).unwrap_or(f64::NAN),
                raw.unwrap_or(f64::NAN),
            );
            assert!(
                (a - b).abs() <= 0.1 * a.abs(),
                "{id:?}: 60 Hz {a}, 125 Hz {b}"
            );
            assert!(
                (a - r).abs() > 2.0 * (a - b).abs(),
                "{id:?}: 60 Hz {a}, every sample {r}"
            );
        }
        // A trace (or a capture of dispatched events only) is read as it is.
        let trace = extract(&Session {
            pointer: fast.clone(),
            ..Default::default()
        });
        assert_eq!(trace.get(F::KinSignChg), raw.sign_change);
        let dispatched: Vec<Pt> = fast
            .iter()
            .map(|p| Pt {
                coalesced: false,
                ..*p
            })
            .collect();
        let capture = extract(&Session {
            pointer: dispatched,
            collector: true,
            ..Default::default()
        });
        assert_eq!(capture.get(F::KinSignChg), raw.sign_change);
    }

    /// Deterministic pseudo-noise for hand-made traces (no RNG in this crate).
    fn noise(i: usize, salt: u64) -> f64 {
        let mut z = (i as u64)
            .wrapping_add(salt)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z ^= z >> 31;
        z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^= z >> 29;
        (z % 10_000) as f64 / 10_000.0 - 0.5
    }

    /// A hand-shaped human-like aimed movement: minimum-jerk bell speed profile with a small
    /// secondary correction, lateral tremor, frame-locked ~16.7 ms sampling with ±1 ms jitter,
    /// integer pixels.
    pub(crate) fn human_stroke(t0: f64, from: (f64, f64), to: (f64, f64), salt: u64) -> Vec<Pt> {
        human_stroke_bow(t0, from, to, salt, 12.0)
    }

    /// [`human_stroke`] with a chosen lateral bow (px).
    pub(crate) fn human_stroke_bow(
        t0: f64,
        from: (f64, f64),
        to: (f64, f64),
        salt: u64,
        bow: f64,
    ) -> Vec<Pt> {
        let n = 45;
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let len = dx.hypot(dy);
        let (nx, ny) = (-dy / len, dx / len);
        (0..n)
            .map(|i| {
                let u = i as f64 / (n - 1) as f64;
                let main = 10.0 * u.powi(3) - 15.0 * u.powi(4) + 6.0 * u.powi(5);
                let s = 0.97 * main + 0.03 * (u * 1.2).min(1.0);
                let lat = bow * (std::f64::consts::PI * u).sin() + 1.5 * noise(i, salt);
                let t = t0 + i as f64 * 16.7 + 1.0 * noise(i, salt + 7);
                mv(
                    t,
                    (from.0 + dx * s + nx * lat).round(),
                    (from.1 + dy * s + ny * lat).round(),
                )
            })
            .collect()
    }

    fn linear_burst(t0: f64, from: (f64, f64), to: (f64, f64), n: usize) -> Vec<Pt> {
        (0..n)
            .map(|i| {
                let u = i as f64 / (n - 1) as f64;
                mv(
                    t0 + i as f64 * 0.2,
                    from.0 + (to.0 - from.0) * u,
                    from.1 + (to.1 - from.1) * u,
                )
            })
            .collect()
    }

    fn session(pointer: Vec<Pt>) -> Session {
        Session {
            pointer,
            ..Default::default()
        }
    }

    #[test]
    fn interval_spread_skips_a_batch_start() {
        // ChromeDriver's 0 ms pointer actions: the first two moves of a batch 1.8 and 2.5 ms apart,
        // then one per 60 Hz frame (0.4 ms of jitter). Three reaches, 300 ms apart.
        let reach = |t0: f64, y: f64, start: bool| -> Vec<Pt> {
            let mut t = t0;
            (0..30)
                .map(|i| {
                    t += match (start, i) {
                        (_, 0) => 0.0,
                        (true, 1) => 1.8,
                        (true, 2) => 2.5,
                        _ => 16.67 + 0.4 * noise(i, 3),
                    };
                    mv(t, 100.0 + 10.0 * i as f64, y + i as f64)
                })
                .collect()
        };
        let sd_of = |start: bool| {
            let p: Vec<Pt> = (0..3)
                .flat_map(|k| reach(1000.0 * k as f64, 100.0 * k as f64, start))
                .collect();
            extract(&session(p)).get(F::PtDtSd).unwrap()
        };
        let (with, without) = (sd_of(true), sd_of(false));
        // Read from the third interval on, the batch start does not lift the spread.
        assert!((with - without).abs() < 0.05, "{with} vs {without}");
        assert!(without < (0.1f64 + 0.5).ln(), "{without}");
    }

    /// An eased straight move on a 20 Hz loop in whole pixels (pyautogui `moveTo` with a tween).
    fn eased_line(t0: f64, from: (f64, f64), to: (f64, f64), n: usize) -> Vec<Pt> {
        (1..=n)
            .map(|i| {
                let u = i as f64 / n as f64;
                let e = if u < 0.5 {
                    2.0 * u * u
                } else {
                    1.0 - (2.0 - 2.0 * u).powi(2) / 2.0
                };
                mv(
                    t0 + i as f64 * 50.3,
                    (from.0 + (to.0 - from.0) * e).round(),
                    (from.1 + (to.1 - from.1) * e).round(),
                )
            })
            .collect()
    }

    #[test]
    fn ruler_straight_strokes() {
        // Whole-pixel rounding of a line stays within a pixel; a hand's bow does not.
        assert_eq!(
            ruler_stroke(&eased_line(0.0, (37.0, 611.0), (512.0, 203.0), 12)),
            Some(true)
        );
        assert_eq!(
            ruler_stroke(&human_stroke_bow(
                0.0,
                (37.0, 611.0),
                (512.0, 203.0),
                3,
                4.0
            )),
            Some(false)
        );
        // Too few samples or too short a chord: not judged.
        assert_eq!(
            ruler_stroke(&eased_line(0.0, (0.0, 0.0), (400.0, 90.0), 5)),
            None
        );
        assert_eq!(
            ruler_stroke(&eased_line(0.0, (0.0, 0.0), (60.0, 70.0), 12)),
            None
        );
        let with = |strokes: Vec<Vec<Pt>>| {
            let mut p = Vec::new();
            for (k, st) in strokes.into_iter().enumerate() {
                let t0 = 3000.0 * k as f64;
                p.extend(st.into_iter().map(|q| Pt {
                    t_ms: q.t_ms + t0,
                    ..q
                }));
            }
            super::super::extract(&session(p))
        };
        // One strong ruler stroke (>= 120 px, >= 8 samples) and nothing else judged: the rule.
        let f = with(vec![eased_line(0.0, (37.0, 611.0), (512.0, 203.0), 12)]);
        assert_eq!(
            (f.n_chord_strokes, f.n_ruler_strokes, f.n_ruler_strong),
            (1, 1, 1)
        );
        assert!(f.ruler_straight());
        assert_eq!(f.get(F::KinRuler), Some(1.0));
        // One weak one (121 px in 7 samples): not enough on its own; two are.
        let weak = || eased_line(0.0, (200.0, 300.0), (310.0, 350.0), 7);
        let f = with(vec![weak()]);
        assert_eq!(
            (f.n_chord_strokes, f.n_ruler_strokes, f.n_ruler_strong),
            (1, 1, 0)
        );
        assert!(!f.ruler_straight());
        assert!(with(vec![weak(), weak()]).ruler_straight());
        // A person's bowed reaches around one straight one: under half, no rule.
        let f = with(vec![
            human_stroke(0.0, (0.0, 0.0), (300.0, 100.0), 1),
            eased_line(0.0, (37.0, 611.0), (512.0, 203.0), 12),
            human_stroke(0.0, (300.0, 100.0), (100.0, 400.0), 2),
        ]);
        assert_eq!((f.n_chord_strokes, f.n_ruler_strokes), (3, 1));
        assert!(!f.ruler_straight());
        // Along an axis (angle snapping, a screen edge): not judged, straight or not.
        let edge: Vec<Pt> = (0..20)
            .map(|i| mv(f64::from(i) * 16.7, 0.0, 100.0 + 15.0 * f64::from(i)))
            .collect();
        assert_eq!(ruler_stroke(&edge), None);
        assert_eq!(
            ruler_stroke(&eased_line(0.0, (10.0, 300.0), (400.0, 318.0), 12)),
            None
        );
        assert_eq!(
            ruler_stroke(&eased_line(0.0, (10.0, 300.0), (400.0, 323.0), 12)),
            Some(true)
        );
        let f = with(vec![
            edge.clone(),
            edge,
            human_stroke(0.0, (300.0, 100.0), (100.0, 400.0), 2),
        ]);
        assert_eq!((f.n_chord_strokes, f.n_ruler_strokes), (1, 0));
        assert!(!f.ruler_straight());
        // Touch and pen strokes are not judged.
        let touch = |st: Vec<Pt>| -> Vec<Pt> {
            st.into_iter()
                .map(|q| Pt {
                    ptype: pointer_type::TOUCH,
                    ..q
                })
                .collect()
        };
        let f = with(vec![
            touch(eased_line(0.0, (37.0, 611.0), (512.0, 203.0), 12)),
            touch(eased_line(0.0, (37.0, 611.0), (512.0, 203.0), 12)),
        ]);
        assert_eq!((f.n_chord_strokes, f.n_ruler_strokes), (0, 0));
        assert!(!f.ruler_straight());
    }

    #[test]
    fn strokes_split_on_gaps() {
        let mut p = human_stroke(0.0, (0.0, 0.0), (300.0, 100.0), 1);
        p.extend(human_stroke(2000.0, (300.0, 100.0), (100.0, 400.0), 2));
        assert_eq!(strokes(&p).len(), 2);
        assert!(strokes(&p).iter().all(|s| is_long(s)));
    }

    #[test]
    fn human_like_stroke_has_human_timing_and_kinematics() {
        let f = extract(&session(human_stroke(0.0, (10.0, 10.0), (500.0, 300.0), 3)));
        let dt = f.get(F::PtDtMedian).unwrap().exp() - 1.0;
        assert!((15.0..18.5).contains(&dt), "{dt}");
        assert!(f.get(F::PtOffGrid).unwrap() < 0.1);
        assert_eq!(f.get(F::PtSubMs), Some(0.0));
        assert_eq!(f.get(F::PtFast), Some(0.0));
        let peaks = f.get(F::KinPeaks).unwrap().exp() - 1.0;
        assert!((1.0..=3.0).contains(&peaks), "{peaks}");
        assert!(
            f.get(F::KinSignChg).unwrap() > 0.2,
            "tremor gives curvature sign changes"
        );
        assert!(f.get(F::KinStepRatio).unwrap() > 0.05);
        assert_eq!(f.get(F::PtFrac), Some(0.0));
        assert!(
            f.get(F::KeyHold).is_none(),
            "no keys: key features missing, not zero"
        );
    }

    #[test]
    fn linear_burst_is_flagged_by_timing_and_geometry() {
        let f = extract(&session(linear_burst(
            0.0,
            (10.0, 10.0),
            (500.0, 300.0),
            30,
        )));
        assert!(f.get(F::PtSubMs).unwrap() > 0.9);
        assert!(f.get(F::PtFast).unwrap() > 0.9);
        assert_eq!(f.get(F::KinSignChg), Some(0.0));
        assert!(f.get(F::KinStepRatio).unwrap() < 1e-6);
        assert!(f.get(F::KinStraight).unwrap() > 0.999);
    }

    #[test]
    fn offgrid_detects_free_running_timestamps() {
        let frame: Vec<f64> = (0..60)
            .map(|i| if i % 3 == 0 { 17.0 } else { 16.0 })
            .collect();
        assert!(offgrid_share(&frame).unwrap() < 0.05);
        let hi_rate: Vec<f64> = (0..60).map(|i| 1.0 + 0.05 * noise(i, 3)).collect();
        assert!(
            offgrid_share(&hi_rate).unwrap() < 0.05,
            "1000 Hz mice stay on their grid"
        );
        let free: Vec<f64> = (0..60).map(|i| 5.0 + 20.0 * (noise(i, 9) + 0.5)).collect();
        assert!(offgrid_share(&free).unwrap() > 0.4);
    }

    #[test]
    fn frame_skips_and_interval_entropy() {
        // A fixed-rate injector: a move every 16.7 ms, never a skipped frame, one or two bins.
        let fixed: Vec<f64> = (0..60).map(|_| 16.7).collect();
        assert_eq!(frame_skip_share(&fixed, 16.7), Some(0.0));
        let h_fixed = interval_entropy(&fixed).unwrap();
        assert!(h_fixed < 0.1, "{h_fixed}");
        // Frame-locked human input: 16/17 ms with some skipped frames (33, 50 ms).
        let human: Vec<f64> = (0..60)
            .map(|i| match i % 10 {
                3 => 33.0,
                7 => 50.0,
                k if k % 2 == 0 => 16.0,
                _ => 17.0,
            })
            .collect();
        let p = modal_period(&human).unwrap();
        assert!((16.0..=17.0).contains(&p), "{p}");
        assert!((frame_skip_share(&human, p).unwrap() - 0.2).abs() < 1e-12);
        let h_human = interval_entropy(&human).unwrap();
        assert!(h_human > h_fixed + 1.0, "{h_human}");
        // Sleep-driven timing spreads over many bins.
        let free: Vec<f64> = (0..60).map(|i| 5.0 + 40.0 * (noise(i, 4) + 0.5)).collect();
        assert!(interval_entropy(&free).unwrap() > h_human);
        assert_eq!(interval_entropy(&fixed[..5]), None);
        assert_eq!(frame_skip_share(&fixed, f64::NAN), None);
        // The session feature: a frame-locked human stroke vs the same path at a fixed rate.
        let st = human_stroke(0.0, (10.0, 10.0), (500.0, 300.0), 3);
        let even: Vec<Pt> = st
            .iter()
            .enumerate()
            .map(|(i, q)| Pt {
                t_ms: i as f64 * 16.7,
                ..*q
            })
            .collect();
        let f = extract(&session(even));
        assert_eq!(f.get(F::PtFrameSkip), Some(0.0));
        assert!(f.get(F::PtDtEntropy).unwrap() < 1.2);
    }

    #[test]
    fn speed_plateau_share() {
        // A Gaussian bell spends ≈ 0.31 of its moving time (>= 10 % of the peak) above 80 %.
        let bell: Vec<f64> = (0..401)
            .map(|i| (-((i as f64 - 200.0) / 40.0).powi(2) / 2.0).exp())
            .collect();
        let p = plateau_share(&bell, 1.0).unwrap();
        assert!((p - 0.31).abs() < 0.02, "{p}");
        // A speed-capped cruise: ramps of 5 samples, 40 at the cap.
        let capped: Vec<f64> = (0..5)
            .map(|i| (i + 1) as f64 / 5.0)
            .chain(std::iter::repeat_n(1.0, 40))
            .chain((0..5).rev().map(|i| (i + 1) as f64 / 5.0))
            .collect();
        assert!(plateau_share(&capped, 1.0).unwrap() > 0.8);
        assert_eq!(plateau_share(&[0.0; 10], 0.0), None);
        // Session level: a straight constant-speed line vs the human-like stroke.
        let line: Vec<Pt> = (0..60)
            .map(|i| mv(i as f64 * 16.7, 10.0 + 8.0 * i as f64, 200.0))
            .collect();
        let f = extract(&session(line));
        assert!(f.get(F::KinPlateau).unwrap() > 0.9);
        let f = extract(&session(human_stroke(0.0, (10.0, 10.0), (500.0, 300.0), 3)));
        assert!(f.get(F::KinPlateau).unwrap() < 0.5, "{f:?}");
    }

    #[test]
    fn start_speed_from_rest() {
        // Two strokes each: a hand's bell-shaped reaches start from rest; constant-speed lines
        // start with a full step. The session's first stroke never counts (it may have begun
        // outside the page).
        let two = |a: Vec<Pt>, b: Vec<Pt>| {
            let mut p = a;
            p.extend(b.into_iter().map(|q| Pt {
                t_ms: q.t_ms + 5000.0,
                ..q
            }));
            extract(&session(p))
        };
        let line = |y: f64| -> Vec<Pt> {
            (0..40)
                .map(|i| mv(i as f64 * 16.7, 10.0 + 9.0 * i as f64, y + 3.0 * i as f64))
                .collect()
        };
        let hand = two(
            human_stroke(0.0, (10.0, 10.0), (500.0, 300.0), 3),
            human_stroke(0.0, (500.0, 300.0), (120.0, 420.0), 4),
        );
        let v = hand.get(F::KinStart).unwrap();
        assert!(v < 0.2, "{v}");
        let bot = two(line(100.0), line(300.0));
        let v = bot.get(F::KinStart).unwrap();
        assert!(v > 0.8, "{v}");
        // A line first, then a hand's reach: only the reach counts.
        let v = two(
            line(100.0),
            human_stroke(0.0, (500.0, 300.0), (120.0, 420.0), 4),
        )
        .get(F::KinStart)
        .unwrap();
        assert!(v < 0.2, "{v}");
        // One stroke only: nothing to judge.
        assert_eq!(extract(&session(line(100.0))).get(F::KinStart), None);
    }

    /// 21 samples at an even pace on a 16.7 ms loop, whole pixels (a point-per-tick injector).
    fn even_line(from: (f64, f64), to: (f64, f64)) -> Vec<Pt> {
        (0..=20)
            .map(|i| {
                let u = f64::from(i) / 20.0;
                mv(
                    f64::from(i) * 16.7,
                    (from.0 + (to.0 - from.0) * u).round(),
                    (from.1 + (to.1 - from.1) * u).round(),
                )
            })
            .collect()
    }

    /// A login: for each stroke, a click where it starts (the rest point), then the stroke's
    /// samples after its first point, 2 s apart per stroke.
    fn clicks_then(strokes: Vec<Vec<Pt>>) -> Vec<Pt> {
        let mut p = Vec::new();
        for (k, st) in strokes.into_iter().enumerate() {
            let t0 = 2000.0 * k as f64;
            let (x, y) = (st[0].x, st[0].y);
            p.push(ev(pointer_kind::DOWN, t0, x, y, 1));
            p.push(ev(pointer_kind::UP, t0 + 90.0, x, y, 0));
            let base = st[0].t_ms;
            p.extend(st.into_iter().skip(1).map(|q| Pt {
                t_ms: t0 + 400.0 + q.t_ms - base,
                ..q
            }));
        }
        p
    }

    #[test]
    fn teleport_clicks_in_captures_and_instant_ones_in_traces() {
        let press = |t: f64, x: f64, y: f64, kind: u8| Pt {
            kind,
            buttons: u8::from(kind == pointer_kind::DOWN),
            ..mv(t, x, y)
        };
        // Warp onto each target, press and release there.
        let mut warped = vec![mv(0.0, 900.0, 600.0)];
        for (k, (x, y)) in [(430.0, 210.0), (610.0, 330.0), (500.0, 420.0)]
            .into_iter()
            .enumerate()
        {
            let t = 1000.0 * (k + 1) as f64;
            warped.push(mv(t, x, y));
            warped.push(press(t + 150.0, x, y, pointer_kind::DOWN));
            warped.push(press(t + 235.0, x, y, pointer_kind::UP));
        }
        let judge = |pointer: &[Pt], collector: bool| {
            let f = extract(&Session {
                pointer: pointer.to_vec(),
                collector,
                ..Default::default()
            });
            (f.n_reached_clicks, f.n_teleport_clicks, f.teleport_clicks())
        };
        assert_eq!(judge(&warped, true), (3, 3, true));
        // Traces: the recorder's scope is unknown, so where the pointer also moved in strokes a
        // jump counts only with a press released within 5 ms (Selenium's `click()`); these are
        // held 85 ms. A trace with nothing but the jumps counts them whatever the hold.
        assert_eq!(judge(&warped, false), (3, 3, true));
        let mut moved = human_stroke(-3000.0, (100.0, 100.0), (900.0, 600.0), 3);
        assert!(moved.last().unwrap().t_ms < 0.0);
        moved.extend(warped.iter().copied());
        assert_eq!(judge(&moved, false), (3, 0, false));
        let instant: Vec<Pt> = moved
            .iter()
            .map(|p| match p.kind {
                // Held 2 ms instead of 85.
                pointer_kind::UP => Pt {
                    t_ms: p.t_ms - 83.0,
                    ..*p
                },
                _ => *p,
            })
            .collect();
        assert_eq!(judge(&instant, false), (3, 3, true));
        let at = moved.len() - warped.len() + 2;
        assert_eq!(press_dwell(&instant, at), Some(2.0));
        // A press that is never released, or pressed again first, has no dwell.
        assert_eq!(press_dwell(&instant[..at + 1], at), None);
        // A press with no move onto its point (CDP `mousePressed` elsewhere) is a jump too.
        assert_eq!(teleport_click(&warped, 2), Some(true));
        let no_move: Vec<Pt> = warped
            .iter()
            .copied()
            .filter(|p| p.kind != pointer_kind::MOVE || p.t_ms == 0.0)
            .collect();
        assert_eq!(judge(&no_move, true), (3, 3, true));
        // Warped near each target, then a few small moves onto it (`xdotool mousemove` to an
        // offset point, then a short eased glide): the jump out of rest gives it away.
        let mut near = vec![mv(0.0, 900.0, 600.0)];
        for (k, (x, y)) in [(430.0, 210.0), (610.0, 330.0), (500.0, 420.0)]
            .into_iter()
            .enumerate()
        {
            let t = 1000.0 * (k + 1) as f64;
            near.push(mv(t, x + 18.0, y - 9.0));
            for j in 1..=5 {
                let u = f64::from(j) / 5.0;
                near.push(mv(
                    t + 16.7 * f64::from(j),
                    (x + 18.0 * (1.0 - u)).round(),
                    (y - 9.0 * (1.0 - u)).round(),
                ));
            }
            near.push(press(t + 250.0, x, y, pointer_kind::DOWN));
            near.push(press(t + 335.0, x, y, pointer_kind::UP));
        }
        assert_eq!(judge(&near, true), (3, 3, true));
        // The same glide from where the pointer rested (no jump into it) is a small correction.
        let mut close = near.clone();
        close[0] = mv(0.0, 448.0, 201.0);
        assert_eq!(teleport_click(&close, 7), Some(false));
        // Stacked fields: a warp of 40 px to the next field is a jump, 25 px is not judged one.
        for (dy, jump) in [(40.0, true), (25.0, false)] {
            let v = [
                mv(0.0, 500.0, 200.0),
                mv(600.0, 500.0, 200.0 + dy),
                press(750.0, 500.0, 200.0 + dy, pointer_kind::DOWN),
            ];
            assert_eq!(teleport_click(&v, 2), Some(jump), "{dy}");
        }
        // A hand's approach: the last step into the press is a pixel or two.
        let mut hand = human_stroke(0.0, (900.0, 600.0), (430.0, 210.0), 3);
        let end = *hand.last().unwrap();
        hand.push(press(end.t_ms + 120.0, end.x, end.y, pointer_kind::DOWN));
        hand.push(press(end.t_ms + 200.0, end.x, end.y, pointer_kind::UP));
        assert_eq!(judge(&hand, true), (1, 0, false));
        // The first press of a session has nothing to come from; a pointer resting at the press
        // point for longer than the look-back is not judged either.
        assert_eq!(teleport_click(&warped[1..3], 1), None);
        let mut resting: Vec<Pt> = (0..=TELEPORT_LOOKBACK)
            .map(|i| mv(i as f64 * 8.0, 5.0, 5.0))
            .collect();
        resting.insert(0, mv(-500.0, 400.0, 400.0));
        resting.push(press(600.0, 5.0, 5.0, pointer_kind::DOWN));
        assert_eq!(teleport_click(&resting, resting.len() - 1), None);
    }

    #[test]
    fn sparse_steps_count_long_steps_with_no_report_between() {
        let judge = |v: Vec<Pt>| {
            let f = extract(&Session {
                pointer: v,
                ..Default::default()
            });
            let c = f.move_clock.expect("a clock");
            ((c.long_steps, c.gapped_steps), f.sparse_steps())
        };
        // `pyautogui.moveTo(x, y, duration=0.2)` to three targets: 4 linear steps each, 50 ms
        // plus call overhead apart, a pause before each reach.
        let mut tween = Vec::new();
        let mut t = 0.0;
        for reach in 0..3usize {
            t += 600.0;
            for k in 1..=4usize {
                t += 50.0 + 2.0 * noise(reach * 4 + k, 1);
                let s = k as f64 / 4.0;
                tween.push(mv(
                    t,
                    100.0 + 300.0 * s,
                    200.0 + 40.0 * reach as f64 + 60.0 * s,
                ));
            }
        }
        // 12 long steps; the first of each reach comes after the pause (not judged).
        assert_eq!(judge(tween.clone()), ((9, 9), true));
        // The same reaches as a browser reports a hand's: a move per 60 Hz frame.
        let framed: Vec<Pt> = (0..3usize)
            .flat_map(|reach| {
                (1..=12usize).map(move |k| {
                    let s = k as f64 / 12.0;
                    let t = 600.0 * (reach + 1) as f64 + 16.7 * k as f64;
                    mv(t, 100.0 + 300.0 * s, 200.0 + 40.0 * reach as f64 + 60.0 * s)
                })
            })
            .collect();
        assert_eq!(judge(framed.clone()), ((33, 0), false));
        // A virtual machine's forwarded batches: the same gapped steps, each batch's samples
        // 2 ms apart, so the 10th percentile is a few milliseconds.
        let batched: Vec<Pt> = tween
            .iter()
            .flat_map(|p| [mv(p.t_ms - 2.0, p.x - 1.0, p.y), *p])
            .collect();
        let ((_, gapped), hit) = judge(batched);
        assert!(gapped >= 9 && !hit);
        // Two gapped steps are not enough; nor are three among many long steps on frames.
        assert_eq!(judge(tween[..3].to_vec()), ((2, 2), false));
        let mut mixed = tween[..4].to_vec();
        mixed.extend(framed.iter().map(|p| mv(p.t_ms + 1000.0, p.x, p.y)));
        assert_eq!(judge(mixed), ((36, 3), false));
    }

    #[test]
    fn sparse_moves_read_the_move_clock() {
        let coalesced = |v: &[Pt]| -> Vec<Pt> {
            v.iter()
                .map(|p| Pt {
                    coalesced: true,
                    ..*p
                })
                .collect()
        };
        let judge = |v: &[Pt]| {
            let f = extract(&Session {
                pointer: v.to_vec(),
                ..Default::default()
            });
            (f.move_clock, f.sparse_moves())
        };
        // A sleep loop at 10 Hz with scheduler jitter: one sample per step.
        let sleepy: Vec<Pt> = (0..30usize)
            .map(|i| {
                let u = i as f64;
                mv(u * 100.0 + 3.0 * noise(i, 2), 100.0 + 9.0 * u, 200.0)
            })
            .collect();
        let (c, hit) = judge(&coalesced(&sleepy));
        let c = c.expect("judged");
        assert_eq!(c.intervals, 29);
        assert!(
            (c.median_ms - 100.0).abs() < 6.0 && c.p10_ms > 90.0,
            "{c:?}"
        );
        assert!(hit);
        // The same rows from a trace or a browser without coalesced events: the same clock.
        assert_eq!(judge(&sleepy), (Some(c), true));
        // Selenium's default 250 ms pointer actions (ChromeDriver dispatches one move at the
        // end of each action's duration: 252.4-253.3 ms apart, measured).
        let actions: Vec<Pt> = (0..20usize)
            .map(|i| mv(i as f64 * 252.8, 300.0 + 7.0 * i as f64, 200.0))
            .collect();
        assert!(judge(&actions).1);
        // Too few intervals to judge; no moves at all: no clock.
        assert!(!judge(&coalesced(&sleepy[..12])).1);
        assert_eq!(judge(&[]), (None, false));
        // A hand: a sample per frame or device report while it moves, pauses between reaches.
        let mut hand = human_stroke(0.0, (100.0, 100.0), (400.0, 260.0), 3);
        hand.extend(human_stroke(1500.0, (400.0, 260.0), (150.0, 420.0), 4));
        let (c, hit) = judge(&coalesced(&hand));
        assert!(!hit && c.is_some_and(|c| c.median_ms < 20.0), "{c:?}");
        // A VM flushing moves on a ~52 ms clock with the odd batch (DELBOT's person on a VM):
        // under the median bound, and its batches keep the 10th percentile down.
        let mut t = 0.0;
        let vm: Vec<Pt> = (0..40usize)
            .map(|i| {
                t += if i % 8 == 7 { 2.0 } else { 52.0 + noise(i, 4) };
                mv(t, 100.0 + 5.0 * i as f64, 300.0)
            })
            .collect();
        let (c, hit) = judge(&coalesced(&vm));
        assert!(
            !hit && c.is_some_and(|c| c.median_ms < SPARSE_MIN_MEDIAN_MS),
            "{c:?}"
        );
    }

    /// Moves along a line, one per interval of `gaps(i)` ms: the move clock, and whether `rule`
    /// fires.
    fn paced_line(gaps: &dyn Fn(usize) -> f64, rule: fn(&Features) -> bool) -> (MoveClock, bool) {
        paced_capture(gaps, rule, false, false)
    }

    /// [`paced_line`] as a collector capture (`collector`) whose samples came from
    /// `getCoalescedEvents()` (`coalesced`) or not.
    fn paced_capture(
        gaps: &dyn Fn(usize) -> f64,
        rule: fn(&Features) -> bool,
        collector: bool,
        coalesced: bool,
    ) -> (MoveClock, bool) {
        let mut t = 0.0;
        let v: Vec<Pt> = (0..60usize)
            .map(|i| {
                t += gaps(i);
                Pt {
                    coalesced,
                    ..mv(t, 100.0 + 4.0 * i as f64, 300.0 + (i % 3) as f64)
                }
            })
            .collect();
        let f = extract(&Session {
            pointer: v,
            collector,
            ..Default::default()
        });
        (f.move_clock.expect("a clock"), rule(&f))
    }

    #[test]
    fn off_frame_clock_reads_the_mode_of_the_move_clock() {
        let judge = |gaps: &dyn Fn(usize) -> f64| paced_line(gaps, Features::off_frame_clock);
        // ChromeDriver with a 20 ms pointer-action duration: 21.2-22.0 ms, a fifth of them on a
        // 35-39 ms fallback (measured); and with 50 ms: 51.6-52.2 ms.
        let (c, hit) = judge(&|i| {
            if i % 5 == 4 {
                37.0 + 2.0 * noise(i, 1)
            } else {
                21.6 + 0.8 * noise(i, 1)
            }
        });
        assert!(hit, "{c:?}");
        assert!(
            (c.mode_ms - 21.6).abs() < 0.3 && c.mode_share > 0.7,
            "{c:?}"
        );
        assert!(judge(&|i| 51.9 + 0.6 * noise(i, 2)).1);
        // People: frame-locked 60 Hz with report jitter, integer-millisecond recorders (16 / 17),
        // a 125 Hz mouse on a 50 Hz display (16 / 24), 30 Hz (energy saver), 144 Hz.
        for (name, gaps) in [
            (
                "60 Hz",
                &(|i| 16.67 + 1.6 * noise(i, 3)) as &dyn Fn(usize) -> f64,
            ),
            ("16/17", &|i| if i % 3 == 0 { 16.0 } else { 17.0 }),
            ("16/24", &|i| if i % 2 == 0 { 16.0 } else { 24.0 }),
            ("24/16", &|i| if i % 3 == 0 { 16.0 } else { 24.0 }),
            ("30 Hz", &|i| 33.3 + 1.0 * noise(i, 4)),
            ("144 Hz, slow hand", &|i| {
                if i % 4 == 0 { 6.94 } else { 13.9 }
            }),
            ("a 50 ms log throttle at 60 Hz", &|i| {
                if i % 5 == 0 { 66.7 } else { 50.0 }
            }),
        ] {
            let (c, hit) = judge(gaps);
            assert!(!hit, "{name}: {c:?}");
        }
        // A VM flushing on a ~52 ms clock with batches (DELBOT's person on a VM): no sharp mode.
        let (c, hit) = judge(&|i| {
            if i % 8 == 7 {
                2.0
            } else {
                52.0 + 8.0 * noise(i, 5)
            }
        });
        assert!(!hit && c.mode_share < CLOCK_MIN_SHARE, "{c:?}");
        // A random pause per move: no mode (left to the model); 100 ms: the sparse-moves rule's.
        assert!(!judge(&|i| 20.0 + 25.0 * noise(i, 6)).1);
        let (_, hit) = judge(&|i| 101.0 + 0.5 * noise(i, 7));
        assert!(!hit);
        // Coalesced device reports (8 ms) sit under the judged range.
        assert!(!judge(&|i| 8.0 + 0.2 * noise(i, 8)).1);
        assert!(cadence_misfit(16.0, false) < 0.7 && cadence_misfit(20.0, false) < 1e-9);
        assert!((cadence_misfit(21.6, false) - 1.6).abs() < 1e-9);
        assert!(cadence_misfit(50.0, false) < 1e-9 && cadence_misfit(40.0, false) > 6.0);
        assert!(cadence_misfit(50.0, true) > 16.0 && cadence_misfit(33.3, true) < 0.1);
    }

    #[test]
    fn device_clocks_drop_the_throttled_cadences() {
        let rule = Features::off_frame_clock;
        // pyautogui.moveTo's tween: 50 ms steps plus 0.3-3 ms of call overhead; ChromeDriver's 33
        // and 40 ms actions: 49.6-50.4 ms.
        let pyautogui = |i| 51.0 + 1.2 * noise(i, 11);
        let chromedriver = |i| 50.0 + 0.4 * noise(i, 12);
        for gaps in [&pyautogui as &dyn Fn(usize) -> f64, &chromedriver] {
            // In a trace, or a capture whose moves the frame rate spaced, a 50 ms clock may be a
            // person's moves throttled to every third 60 Hz frame: not judged.
            assert!(!paced_line(gaps, rule).1);
            let (c, hit) = paced_capture(gaps, rule, true, false);
            assert!(!hit && !c.device_clock, "{c:?}");
            // A capture of device samples: no person's device reports every 50 ms.
            let (c, hit) = paced_capture(gaps, rule, true, true);
            assert!(hit && c.device_clock, "{c:?}");
            // Coalesced flags outside a collector capture mean nothing.
            assert!(!paced_capture(gaps, rule, false, true).0.device_clock);
        }
        // People's device clocks stay on their cadences in a capture too: frame-locked 60 Hz,
        // 30 Hz, a 125 Hz mouse on a 50 Hz display.
        for gaps in [
            &(|i| 16.67 + 1.6 * noise(i, 3)) as &dyn Fn(usize) -> f64,
            &|i| 33.3 + 1.0 * noise(i, 4),
            &|i| if i % 2 == 0 { 16.0 } else { 24.0 },
        ] {
            assert!(!paced_capture(gaps, rule, true, true).1);
        }
        // A VM flushing on a ~52 ms clock with batches: still no sharp mode.
        let vm = |i| {
            if i % 8 == 7 {
                2.0
            } else {
                52.0 + 8.0 * noise(i, 5)
            }
        };
        assert!(!paced_capture(&vm, rule, true, true).1);
    }

    #[test]
    fn off_grid_clock_reads_the_grid_of_the_move_clock() {
        let judge = |gaps: &dyn Fn(usize) -> f64| paced_line(gaps, Features::off_grid_clock);
        // An exponential overhead of mean `mean` ms, from `noise` (uniform in ±0.5).
        let expo = |i: usize, salt: u64, mean: f64| -mean * (0.5 - noise(i, salt)).max(1e-4).ln();
        // A free-running loop: a 20 ms sleep plus 2 ms and an exponential 8 ms per step (an OS-level
        // injector on a busy machine), and random pauses of 5-30 ms per step (+ 2-6 ms).
        let (c, hit) = judge(&|i| 20.0 + 2.0 + expo(i, 1, 8.0));
        assert!(hit && c.grid.is_some_and(|g| g.0 < GRID_MIN_SHARE), "{c:?}");
        assert!(c.mode_share < CLOCK_MIN_SHARE, "no sharp mode: {c:?}");
        let (c, hit) = judge(&|i| 17.5 + 25.0 * noise(i, 2) + 4.0 + 4.0 * noise(i, 3));
        assert!(hit, "{c:?}");
        // People: frame-locked 60 Hz with skipped frames and 1 ms of report jitter, integer-ms
        // recorders, a 500 Hz mouse stamped per 60 Hz frame (16/16/18), 144 Hz with skips, a
        // 125 Hz mouse logged as it reports (8 ms multiples), a remote desktop's 15.6 ms tick.
        for (name, gaps) in [
            (
                "60 Hz, skips",
                &(|i| (1.0 + (i % 4 == 3) as usize as f64) * 16.67 + 1.6 * noise(i, 4))
                    as &dyn Fn(usize) -> f64,
            ),
            ("16/17", &|i| if i % 3 == 0 { 16.0 } else { 17.0 }),
            ("500 Hz at 60 Hz", &|i| if i % 3 == 2 { 18.0 } else { 16.0 }),
            ("144 Hz, slow hand", &|i| {
                6.94 * (2 + i % 3) as f64 + 0.8 * noise(i, 5)
            }),
            ("125 Hz logged", &|i| {
                8.0 * (2 + i % 3) as f64 + 0.6 * noise(i, 6)
            }),
            ("remote desktop", &|i| {
                15.625 * (1 + i % 2) as f64 + noise(i, 7)
            }),
        ] {
            let (c, hit) = judge(gaps);
            assert!(
                !hit && c.grid.is_some_and(|g| g.0 >= GRID_MIN_SHARE),
                "{name}: {c:?}"
            );
        }
        // A VM forwarding input on a coarse, irregular clock: not judged (median over 45 ms), so
        // its grid is not even computed.
        let (c, hit) = judge(&|i| 52.0 + 16.0 * noise(i, 8));
        assert!(!hit && c.grid.is_none(), "{c:?}");
        // Coalesced 1 kHz reports: under the judged range.
        assert!(!judge(&|i| 1.0 + 0.3 * noise(i, 9)).1);
        assert_eq!(grid_fit(&[]), (0.0, 0.0));
        // 60 Hz frames: all on the first grid, 120 Hz's, whose multiples include them.
        let (share, ms) = grid_fit(&[16.0, 33.0, 50.5, 17.0]);
        assert!(
            share == 1.0 && (ms - 1000.0 / 120.0).abs() < 1e-9,
            "{share} {ms}"
        );
        // No grid holds the rule's share: the best is reported (17.5 ms is 0.83 ms from two
        // 120 Hz frames and over 1 ms from every other grid's multiples; 3.5 ms is on none).
        let mut gaps = vec![3.5; 7];
        gaps.extend([17.5; 3]);
        let (share, ms) = grid_fit(&gaps);
        assert!(
            (share - 0.3).abs() < 1e-9 && (ms - 1000.0 / 120.0).abs() < 1e-9,
            "{share} {ms}"
        );
        assert_eq!(grid_fit(&[3.5]), (0.0, 0.0));
        // Every listed person cadence from 144 Hz down is a whole multiple of a grid.
        for &p in PERSON_CADENCES_MS
            .iter()
            .chain(THROTTLED_CADENCES_MS)
            .filter(|p| **p > 6.9)
        {
            let on = |c: &f64| (p / c).round() >= 1.0 && (p - (p / c).round() * c).abs() < 1e-9;
            assert!(GRID_CADENCES_MS.iter().any(on), "{p}");
        }
    }

    #[test]
    fn jump_starts_after_clicks() {
        // Constant 16.7 ms steps from the click on (ghost-cursor points, WindMouse, lines played
        // by a sleep loop): the first sample moves a whole step.
        let rest = mv(0.0, 100.0, 100.0);
        assert_eq!(
            jump_start_stroke(&rest, &even_line((100.0, 100.0), (400.0, 260.0))[1..]),
            Some(true)
        );
        // A hand's reach from rest moves a sliver in its first frame.
        let hand = human_stroke(0.0, (100.0, 100.0), (400.0, 260.0), 5);
        assert_eq!(jump_start_stroke(&rest, &hand[1..]), Some(false));
        // A first step of many peak steps is a discontinuity (the pointer left the window and
        // came back elsewhere), not a start: not judged.
        let far = mv(0.0, 100.0, 600.0);
        assert_eq!(
            jump_start_stroke(&far, &even_line((100.0, 100.0), (400.0, 260.0))[1..]),
            None
        );
        // A one-count first step is a hand settling, however slow the stroke.
        let slow: Vec<Pt> = (1..=40)
            .map(|i| {
                mv(
                    f64::from(i) * 16.7,
                    100.0 + f64::from(i),
                    100.0 + f64::from(i),
                )
            })
            .collect();
        assert_eq!(jump_start_stroke(&rest, &slow), Some(false));
        // Sampled at 20 Hz: a hand has time to speed up within one interval; not judged.
        let coarse: Vec<Pt> = even_line((100.0, 100.0), (400.0, 260.0))
            .into_iter()
            .map(|q| Pt {
                t_ms: q.t_ms * 3.0,
                ..q
            })
            .collect();
        assert_eq!(jump_start_stroke(&rest, &coarse[1..]), None);
        assert_eq!(full_speed_arrival(&coarse), None);
        // Too short a chord, or too few samples: not judged.
        assert_eq!(
            jump_start_stroke(&rest, &even_line((100.0, 100.0), (125.0, 120.0))[1..]),
            None
        );
        assert_eq!(
            jump_start_stroke(&rest, &even_line((100.0, 100.0), (400.0, 260.0))[1..4]),
            None
        );

        let login = |strokes: Vec<Vec<Pt>>| extract(&session(clicks_then(strokes)));
        let f = login(vec![
            even_line((600.0, 200.0), (300.0, 420.0)),
            even_line((300.0, 420.0), (700.0, 300.0)),
            even_line((700.0, 300.0), (350.0, 600.0)),
        ]);
        assert_eq!((f.n_rest_strokes, f.n_jump_starts), (3, 3));
        assert!(f.jump_start());
        let f = login(vec![
            human_stroke(0.0, (600.0, 200.0), (300.0, 420.0), 1),
            human_stroke(0.0, (300.0, 420.0), (700.0, 300.0), 2),
            human_stroke(0.0, (700.0, 300.0), (350.0, 600.0), 3),
        ]);
        assert_eq!((f.n_rest_strokes, f.n_jump_starts), (3, 0));
        assert!(!f.jump_start());
        // One jump of three judged strokes is not the rule (a browser can drop the first events).
        let f = login(vec![
            even_line((600.0, 200.0), (300.0, 420.0)),
            human_stroke(0.0, (300.0, 420.0), (700.0, 300.0), 2),
            human_stroke(0.0, (700.0, 300.0), (350.0, 600.0), 3),
        ]);
        assert_eq!((f.n_rest_strokes, f.n_jump_starts), (3, 1));
        assert!(!f.jump_start());

        // Moves onto the rest point itself (a browser's synthetic move after layout) are skipped.
        let mut p = clicks_then(vec![
            even_line((600.0, 200.0), (300.0, 420.0)),
            even_line((300.0, 420.0), (700.0, 300.0)),
        ]);
        let up = p.iter().position(|q| q.kind == pointer_kind::UP).unwrap();
        let at = p[up];
        p.insert(up + 1, mv(at.t_ms + 30.0, at.x, at.y));
        let f = extract(&session(p));
        assert_eq!((f.n_rest_strokes, f.n_jump_starts), (2, 2));

        // Drags (a button held) and touch strokes are not judged; nor is a move with no click
        // before it (its rest point is unknown).
        let mut drag = clicks_then(vec![even_line((600.0, 200.0), (400.0, 300.0))]);
        for q in drag.iter_mut().filter(|q| is_move(q)) {
            q.buttons = 1;
        }
        assert_eq!(extract(&session(drag)).n_rest_strokes, 0);
        let mut touch = clicks_then(vec![
            even_line((600.0, 200.0), (400.0, 300.0)),
            even_line((400.0, 300.0), (600.0, 500.0)),
        ]);
        for q in &mut touch {
            q.ptype = pointer_type::TOUCH;
        }
        assert_eq!(extract(&session(touch)).n_rest_strokes, 0);
        assert_eq!(
            extract(&session(even_line((600.0, 200.0), (400.0, 300.0)))).n_rest_strokes,
            0
        );
    }

    #[test]
    fn full_speed_arrivals_at_clicks() {
        // An even pace up to the target: the last step is a full one. A hand slows down.
        assert_eq!(
            full_speed_arrival(&even_line((100.0, 100.0), (400.0, 260.0))),
            Some(true)
        );
        let hand = human_stroke(0.0, (100.0, 100.0), (400.0, 260.0), 5);
        assert_eq!(full_speed_arrival(&hand), Some(false));
        // A coarser clock (`page.mouse.move` plus a 16 ms sleep: ~20 ms; a busy 30 Hz page):
        // arrivals are still judged up to ARRIVAL_MAX_PERIOD_MS, starts only up to
        // JUMP_MAX_PERIOD_MS.
        let paced = |line: Vec<Pt>, dt: f64| -> Vec<Pt> {
            line.into_iter()
                .enumerate()
                .map(|(i, q)| Pt {
                    t_ms: i as f64 * dt,
                    ..q
                })
                .collect()
        };
        for (dt, judged) in [(21.0, true), (33.0, true), (45.0, false)] {
            let line = paced(even_line((100.0, 100.0), (400.0, 260.0)), dt);
            assert_eq!(full_speed_arrival(&line), judged.then_some(true), "{dt}");
        }
        // The hand's stroke read at 30 Hz (every 2nd sample, 33 ms apart) still homes in.
        let thinned: Vec<Pt> = hand.iter().step_by(2).copied().collect();
        assert_eq!(full_speed_arrival(&thinned), Some(false));
        assert_eq!(
            full_speed_arrival(&even_line((100.0, 100.0), (120.0, 125.0))),
            None
        );
        assert_eq!(
            full_speed_arrival(&even_line((100.0, 100.0), (400.0, 260.0))[..5]),
            None
        );

        // A login: each stroke then a click where it ended (a trailing move onto the same point
        // is dropped).
        let login = |strokes: Vec<Vec<Pt>>| {
            let mut p = Vec::new();
            for (k, st) in strokes.into_iter().enumerate() {
                let t0 = 3000.0 * k as f64;
                let last = st[st.len() - 1];
                p.extend(st.into_iter().map(|q| Pt {
                    t_ms: t0 + q.t_ms,
                    ..q
                }));
                let t = p[p.len() - 1].t_ms;
                p.push(mv(t + 8.0, last.x, last.y));
                p.push(ev(pointer_kind::DOWN, t + 120.0, last.x, last.y, 1));
                p.push(ev(pointer_kind::UP, t + 210.0, last.x, last.y, 0));
            }
            extract(&session(p))
        };
        let f = login(vec![
            even_line((600.0, 200.0), (300.0, 420.0)),
            even_line((300.0, 420.0), (700.0, 300.0)),
            human_stroke(0.0, (700.0, 300.0), (350.0, 600.0), 3),
        ]);
        assert_eq!((f.n_arrival_strokes, f.n_full_speed_arrivals), (3, 2));
        assert!(f.full_speed_arrivals());
        let f = login(vec![
            human_stroke(0.0, (600.0, 200.0), (300.0, 420.0), 1),
            human_stroke(0.0, (300.0, 420.0), (700.0, 300.0), 2),
            even_line((700.0, 300.0), (350.0, 600.0)),
        ]);
        assert_eq!((f.n_arrival_strokes, f.n_full_speed_arrivals), (3, 1));
        assert!(!f.full_speed_arrivals());
        // Touch strokes are not judged.
        let mut p = even_line((600.0, 200.0), (300.0, 420.0));
        p.push(ev(pointer_kind::DOWN, 400.0, 300.0, 420.0, 1));
        for q in &mut p {
            q.ptype = pointer_type::TOUCH;
        }
        assert_eq!(extract(&session(p)).n_arrival_strokes, 0);
    }

    #[test]
    fn velocity_asymmetry_tremor_and_turn_tail() {
        // Symmetric pulse vs one that decelerates three times longer.
        let sym: Vec<f64> = (0..41)
            .map(|i| (std::f64::consts::PI * i as f64 / 40.0).sin())
            .collect();
        assert!(decel_ratio(&sym, 20, 1.0).abs() < 0.1);
        let skew: Vec<f64> = (0..41)
            .map(|i| {
                let u = i as f64;
                if u <= 10.0 {
                    u / 10.0
                } else {
                    1.0 - (u - 10.0) / 30.0
                }
            })
            .collect();
        assert!(decel_ratio(&skew, 10, 1.0) > 0.8);
        // 10 Hz ripple on a slow bell: most of the 2–25 Hz power is in the tremor band.
        let mut w = Vec::new();
        let bell: Vec<f64> = (0..100)
            .map(|i| (std::f64::consts::PI * i as f64 / 99.0).sin())
            .collect();
        let ripple: Vec<f64> = bell
            .iter()
            .enumerate()
            .map(|(i, b)| b + 0.2 * (2.0 * std::f64::consts::PI * 10.0 * i as f64 / 100.0).sin())
            .collect();
        let smooth = tremor_share(&bell, &mut w).unwrap();
        let shaky = tremor_share(&ripple, &mut w).unwrap();
        assert!(smooth < 0.05 && shaky > 0.5, "{smooth} {shaky}");
        assert_eq!(tremor_share(&bell[..20], &mut w), None);
        assert_eq!(tremor_share(&[1.0; 50], &mut w), None);
        // Even turns have no tail; one sharp correction among small turns does.
        let mut even = [0.1; 12];
        assert!(turn_tail(&mut even).unwrap().abs() < 1e-12);
        let mut tail = [0.02, 0.01, 0.03, 0.02, 0.9, 0.02, 0.01, 0.8, 0.02, 0.03];
        assert!(turn_tail(&mut tail).unwrap() > 1.0);
        assert_eq!(turn_tail(&mut [0.1; 5]), None);
        // Session level: a human-like stroke has all three.
        let f = extract(&session(human_stroke(0.0, (10.0, 10.0), (600.0, 300.0), 5)));
        for id in [F::KinDecelRatio, F::KinTurnTail] {
            assert!(f.get(id).is_some(), "{:?}", id);
        }
        assert_eq!(f.n_long_strokes, 1);
    }

    #[test]
    fn pause_before_click_and_fitts_residual() {
        let mut p = human_stroke(0.0, (10.0, 10.0), (400.0, 200.0), 6);
        let end = *p.last().unwrap();
        p.push(ev(pointer_kind::DOWN, end.t_ms + 180.0, end.x, end.y, 1));
        p.push(ev(pointer_kind::UP, end.t_ms + 270.0, end.x, end.y, 0));
        let mut s = session(p.clone());
        let f = extract(&s);
        let pause = f.get(F::ClickPause).unwrap().exp() - 1.0;
        assert!((pause - 180.0).abs() < 1e-9, "{pause}");
        assert_eq!(f.get(F::ClickFitts), None, "no target box: missing");
        // A 40 px button centred on the end point, ~440 px away: ID ≈ 3.6 bits.
        s.targets.push(super::super::Target {
            role: 3,
            x: end.x - 20.0,
            y: end.y - 20.0,
            w: 40.0,
            h: 40.0,
        });
        let f = extract(&s);
        let d = (end.x - 10.0).hypot(end.y - 10.0);
        let id = (d / 40.0 + 1.0).log2();
        let mt = end.t_ms + 180.0 - p[0].t_ms;
        let want = (mt / (FITTS_A_MS + FITTS_B_MS * id)).ln();
        assert!((f.get(F::ClickFitts).unwrap() - want).abs() < 1e-9);
        // A click with no move in the 2 s before it has no pause and no approach.
        let lone = session(vec![
            mv(0.0, 5.0, 5.0),
            ev(pointer_kind::DOWN, 5000.0, 5.0, 5.0, 1),
            ev(pointer_kind::UP, 5090.0, 5.0, 5.0, 0),
        ]);
        assert_eq!(extract(&lone).get(F::ClickPause), None);
    }

    #[test]
    fn zigzag_counts_peaks_with_hysteresis() {
        let v = [0.0, 1.0, 2.0, 1.0, 0.2, 1.5, 0.1];
        assert_eq!(zigzag_peaks(&v, 0.2).0, 2);
        let tiny = [0.0, 1.0, 0.95, 1.0, 0.0];
        assert_eq!(zigzag_peaks(&tiny, 0.2).0, 1);
        assert_eq!(zigzag_peaks(&[], 0.1).0, 0);
    }

    #[test]
    fn click_physics() {
        let mut p = human_stroke(0.0, (10.0, 10.0), (200.0, 100.0), 4);
        let end = *p.last().unwrap();
        p.push(ev(pointer_kind::DOWN, end.t_ms + 120.0, end.x, end.y, 1));
        p.push(ev(
            pointer_kind::UP,
            end.t_ms + 215.0,
            end.x + 1.0,
            end.y,
            0,
        ));
        let f = extract(&session(p.clone()));
        let dwell = f.get(F::ClickDwell).unwrap().exp() - 1.0;
        assert!((94.0..96.0).contains(&dwell));
        assert_eq!(f.get(F::ClickApproach), Some(0.0));
        assert_eq!(
            f.get(F::ClickPressure0),
            None,
            "pressure unknown -> missing"
        );

        // Scripted click: no approach, ~0 ms dwell, pressure 0 with the button down.
        let mut d = ev(pointer_kind::DOWN, 5000.0, 640.0, 400.0, 1);
        d.pressure = Some(0.0);
        let mut u = ev(pointer_kind::UP, 5000.3, 640.0, 400.0, 0);
        u.pressure = Some(0.0);
        let mut s = session(vec![mv(4999.0, 640.0, 400.0), d, u]);
        s.targets.push(super::super::Target {
            role: 3,
            x: 600.0,
            y: 380.0,
            w: 80.0,
            h: 40.0,
        });
        let f = extract(&s);
        assert!(f.get(F::ClickDwell).unwrap() < 0.5);
        assert_eq!(f.get(F::ClickApproach), Some(1.0));
        assert_eq!(f.get(F::ClickPressure0), Some(1.0));
        assert!(f.get(F::ClickOffset).unwrap() < 1e-9, "exact centre");
        assert_eq!((f.n_box_clicks, f.n_centre_clicks), (1, 1));
    }

    #[test]
    fn dead_centre_clicks() {
        // Three boxes (two fields, a button) and a click on each at `off` from its centre.
        let boxes = [
            (420.0, 180.0, 360.0, 40.0),
            (420.0, 244.0, 360.0, 40.0),
            (420.0, 308.0, 160.0, 40.0),
        ];
        let login = |offs: [(f64, f64); 3]| {
            let mut s = session(Vec::new());
            for (k, (&(x, y, w, h), (ox, oy))) in boxes.iter().zip(offs).enumerate() {
                let t = 2000.0 * k as f64;
                let (cx, cy) = (x + w / 2.0 + ox, y + h / 2.0 + oy);
                s.pointer.push(mv(t, cx - 30.0, cy - 20.0));
                s.pointer.push(mv(t + 300.0, cx, cy));
                s.pointer.push(ev(pointer_kind::DOWN, t + 500.0, cx, cy, 1));
                s.pointer.push(ev(pointer_kind::UP, t + 590.0, cx, cy, 0));
                s.targets.push(super::super::Target {
                    role: k as u8,
                    x,
                    y,
                    w,
                    h,
                });
            }
            super::super::extract(&s)
        };
        let f = login([(0.0, 0.0), (1.0, -1.5), (0.5, 0.0)]);
        assert_eq!((f.n_box_clicks, f.n_centre_clicks), (3, 3));
        assert!(f.dead_centre_clicks());
        // Two of three dead centre: still the rule; one of three, or 2 px off: not.
        assert!(login([(0.0, 0.0), (60.0, 7.0), (0.5, 0.0)]).dead_centre_clicks());
        let f = login([(0.0, 0.0), (60.0, 7.0), (-25.0, 4.0)]);
        assert_eq!((f.n_box_clicks, f.n_centre_clicks), (3, 1));
        assert!(!f.dead_centre_clicks());
        assert!(!login([(2.0, 0.0), (0.0, 2.0), (-2.0, -2.0)]).dead_centre_clicks());
        // Clicks off every box, or boxes too small to aim off-centre: not counted.
        let mut s = session(vec![
            ev(pointer_kind::DOWN, 0.0, 5.0, 5.0, 1),
            ev(pointer_kind::UP, 90.0, 5.0, 5.0, 0),
        ]);
        s.targets.push(super::super::Target {
            role: 0,
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
        });
        let f = super::super::extract(&s);
        assert_eq!((f.n_box_clicks, f.n_centre_clicks), (0, 0));
    }

    #[test]
    fn drags_are_not_clicks_and_touch_is_gated() {
        let mut p = vec![ev(pointer_kind::DOWN, 0.0, 0.0, 0.0, 1)];
        p.extend(
            human_stroke(10.0, (0.0, 0.0), (300.0, 0.0), 5)
                .into_iter()
                .map(|mut q| {
                    q.buttons = 1;
                    q
                }),
        );
        p.push(ev(pointer_kind::UP, 800.0, 300.0, 0.0, 0));
        assert!(extract(&session(p)).get(F::ClickDwell).is_none());
        let mut tap = ev(pointer_kind::DOWN, 0.0, 5.0, 5.0, 1);
        tap.ptype = pointer_type::TOUCH;
        let mut up = ev(pointer_kind::UP, 0.1, 5.0, 5.0, 0);
        up.ptype = pointer_type::TOUCH;
        assert!(
            extract(&session(vec![tap, up]))
                .get(F::ClickDwell)
                .is_none()
        );
    }
}
