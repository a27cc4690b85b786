//! Keystroke timing features. Only key classes and times exist (never key contents).
//!
//! Press-to-press (p2p), flight (release → next press) and rollover use the *typing* keys
//! (characters, space, backspace, enter, tab); Shift and other modifiers are left out because
//! scripted `type()` calls usually send capitals without a Shift press, and a Shift wrapped
//! around a character is rollover by construction. Holds use characters and spaces only.
//! Paste and autofill produce no keys and are therefore neutral (all features missing).
//!
//! **On-screen keyboards are not keystroke dynamics.** When most pointer input is touch or pen
//! ([`Features::soft_keyboard`]) the keys come from a soft keyboard, whose key events carry no
//! press duration (iOS fires `keydown` and `keyup` together when the key is committed; Android
//! keyboards mostly send `Unidentified`, class `other`) and whose rhythm is thumbs on glass. The
//! training typists all used physical keyboards (Aalto), so nothing here is calibrated for it:
//! the timing features stay missing and the pointer decides, as for paste. A bot that fakes touch
//! input to hide scripted typing is left to the touch pointer's own evidence and to the
//! environment rules (touch points, user agent, geometry).

use super::stats::{self, median, quantile_sorted, share, sort_total, sorted};
use super::{F, Features, HOLD_FEATURES, INSTANT_SHIFT_MS, Key, Session};
use tollgate_protocol::telemetry::key_class;

/// Fewer typing keys than this: the timing features are missing (not zero).
pub const MIN_KEYS: usize = 8;
/// A press-to-press interval below this is faster than the human floor (~60 ms) allows often.
pub const FAST_MS: f64 = 30.0;

fn is_typing(k: &Key) -> bool {
    matches!(
        k.class,
        key_class::CHAR
            | key_class::SPACE
            | key_class::BACKSPACE
            | key_class::ENTER
            | key_class::TAB
    )
}

fn spread(v: &[f64], denom: Option<f64>) -> Option<f64> {
    let s = sorted(v);
    let iqr = quantile_sorted(&s, 0.75)? - quantile_sorted(&s, 0.25)?;
    let d = denom.or_else(|| quantile_sorted(&s, 0.5))?;
    Some(iqr / d.max(1.0))
}

/// Spearman rank correlation (average ranks for ties); `None` when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let ra = ranks(a);
    let rb = ranks(b);
    let n = a.len() as f64;
    let ma = ra.iter().sum::<f64>() / n;
    let mb = rb.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        None
    } else {
        Some(sab / (saa * sbb).sqrt())
    }
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// A key clock whose ticks are this long or longer (ms) is not timed for Shift leads: a clock
/// coarsened to 100 ms (Tor Browser, Firefox's `privacy.resistFingerprinting`) puts a person's
/// Shift and character on the same tick. A 16.7 ms clock still separates a person's lead of
/// more than 20 ms.
pub const SHIFT_CLOCK_MAX_TICK_MS: f64 = 20.0;

/// Does the key clock tick in steps of [`SHIFT_CLOCK_MAX_TICK_MS`] or more: every time, from the
/// earliest, a whole number of one such tick (within 0.5 ms)? The candidate ticks are the
/// smallest positive gap between two times and its fractions down to that bound. `times` sorted.
pub fn coarse_key_clock(times: &[f64]) -> bool {
    let Some(&t0) = times.first() else {
        return true;
    };
    let Some(gap) = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .min_by(f64::total_cmp)
    else {
        return true;
    };
    (1..=50)
        .map(|k| gap / f64::from(k))
        .take_while(|q| *q >= SHIFT_CLOCK_MAX_TICK_MS)
        .any(|q| {
            times.iter().all(|t| {
                let r = (t - t0) / q;
                (r - r.round()).abs() * q <= 0.5
            })
        })
}

/// Shift leads of a session's keys: `(judged, instant)`. A Shift press is judged when the first
/// key pressed at or after it (by press time; another Shift or a modifier is skipped) is a
/// character pressed while the Shift is still held; its lead is the character's press minus the
/// Shift's, instant at or below [`INSTANT_SHIFT_MS`]. Nothing is judged on a key clock coarser
/// than [`SHIFT_CLOCK_MAX_TICK_MS`] ([`coarse_key_clock`]). Keys are sorted by press time ([`Session::sanitize`]).
pub fn shift_leads(keys: &[Key]) -> (usize, usize) {
    if !keys.iter().any(|k| k.class == key_class::SHIFT) {
        return (0, 0);
    }
    let mut times: Vec<f64> = keys.iter().flat_map(|k| [k.down_ms, k.up_ms]).collect();
    sort_total(&mut times);
    if coarse_key_clock(&times) {
        return (0, 0);
    }
    let (mut judged, mut instant) = (0, 0);
    for (i, sh) in keys.iter().enumerate() {
        if sh.class != key_class::SHIFT {
            continue;
        }
        // Keys pressed on the Shift's own tick may sort before it.
        let from = keys.partition_point(|k| k.down_ms < sh.down_ms);
        let next = keys
            .iter()
            .enumerate()
            .skip(from)
            .find(|&(j, k)| j != i && !matches!(k.class, key_class::SHIFT | key_class::MODIFIER))
            .map(|(_, k)| k);
        let Some(c) = next else { continue };
        if c.class != key_class::CHAR || (!sh.unreleased && c.down_ms > sh.up_ms) {
            continue;
        }
        judged += 1;
        if c.down_ms - sh.down_ms <= INSTANT_SHIFT_MS {
            instant += 1;
        }
    }
    (judged, instant)
}

pub(crate) fn extract(s: &Session, f: &mut Features) {
    if f.soft_keyboard {
        return;
    }
    (f.n_judged_shifts, f.n_instant_shifts) = shift_leads(&s.keys);
    f.n_shift_mismatches = s.shift_mismatches;
    let typing: Vec<Key> = s.keys.iter().copied().filter(is_typing).collect();
    if typing.len() < MIN_KEYS {
        return;
    }
    let holds: Vec<f64> = s
        .keys
        .iter()
        .filter(|k| matches!(k.class, key_class::CHAR | key_class::SPACE) && !k.unreleased)
        .map(|k| k.up_ms - k.down_ms)
        .collect();
    if holds.len() >= MIN_KEYS / 2 {
        f.median_key_hold_ms = median(&holds).and_then(stats::finite);
        f.set(
            F::KeyHold,
            f.median_key_hold_ms.map(|h| (1.0 + h.max(0.0)).ln()),
        );
        f.set(F::KeyHoldSpread, spread(&holds, None));
    }
    let p2p: Vec<f64> = typing
        .windows(2)
        .map(|w| w[1].down_ms - w[0].down_ms)
        .collect();
    let released: Vec<(&Key, &Key)> = typing
        .windows(2)
        .filter(|w| !w[0].unreleased)
        .map(|w| (&w[0], &w[1]))
        .collect();
    let flight: Vec<f64> = released.iter().map(|(a, b)| b.down_ms - a.up_ms).collect();
    let p2p_med = median(&p2p);
    f.set(F::KeyP2p, p2p_med.map(|m| (1.0 + m.max(0.0)).ln()));
    f.set(F::KeyP2pSpread, spread(&p2p, None));
    let sp = sorted(&p2p);
    if let (Some(p10), Some(p50), Some(p90)) = (
        quantile_sorted(&sp, 0.1),
        quantile_sorted(&sp, 0.5),
        quantile_sorted(&sp, 0.9),
    ) {
        f.set(
            F::KeyP2pSkew,
            Some(((p90 - p50).max(0.0) + 1.0).ln() - ((p50 - p10).max(0.0) + 1.0).ln()),
        );
    }
    if flight.len() >= MIN_KEYS / 2 {
        f.set(F::KeyFlightSpread, spread(&flight, p2p_med));
        f.set(F::KeyRollover, share(&flight, |x| *x < 0.0));
    }
    f.set(F::KeyFast, share(&p2p, |x| *x < FAST_MS));
    if let Some(m) = p2p_med.filter(|m| *m > 0.0) {
        f.set(F::KeyPause, share(&p2p, |x| *x > 2.5 * m));
    }
    f.set(
        F::KeyBackspace,
        share(&typing, |k| k.class == key_class::BACKSPACE),
    );
    // Class dependence: intervals touching a space vs between two characters.
    let mut around_space = Vec::new();
    let mut char_char = Vec::new();
    for w in typing.windows(2) {
        let d = w[1].down_ms - w[0].down_ms;
        if w[0].class == key_class::SPACE || w[1].class == key_class::SPACE {
            around_space.push(d);
        } else if w[0].class == key_class::CHAR && w[1].class == key_class::CHAR {
            char_char.push(d);
        }
    }
    if around_space.len() >= 3
        && char_char.len() >= 3
        && let (Some(a), Some(c)) = (median(&around_space), median(&char_char))
    {
        f.set(
            F::KeyClassDep,
            Some(((a.max(0.0) + 10.0) / (c.max(0.0) + 10.0)).ln().abs()),
        );
    }
    f.set(F::KeyWordOnset, word_onset(&typing));
    f.set(F::KeyWordLength, word_length_dep(&typing));
    // Hold vs the following interval (sequential "down, sleep, up, sleep" scripts couple them).
    let (mut h, mut nxt) = (Vec::new(), Vec::new());
    for w in typing.windows(2) {
        if matches!(w[0].class, key_class::CHAR | key_class::SPACE) && !w[0].unreleased {
            h.push(w[0].up_ms - w[0].down_ms);
            nxt.push(w[1].down_ms - w[0].down_ms);
        }
    }
    if h.len() >= MIN_KEYS {
        f.set(
            F::KeyHoldFlightCorr,
            Some(spearman(&h, &nxt).unwrap_or(0.0)),
        );
    }
    f.set(F::KeyTransition, transition_eta2(&typing));
    if p2p.len() >= MIN_KEYS {
        f.set(
            F::KeyAutocorr,
            Some(spearman(&p2p[..p2p.len() - 1], &p2p[1..]).unwrap_or(0.0)),
        );
    }
    // Holds shorter than a finger's (the `short-key-holds` rule): the features read from them are
    // left missing, in training as in scoring (`Features::median_key_hold_ms`).
    if f.implausible_key_holds() {
        for h in HOLD_FEATURES {
            f.set(h, None);
        }
    }
}

/// Fewest intervals on each side of a space before [`word_onset`] is read.
pub const WORD_ONSET_MIN: usize = 2;

/// Word onset: log ratio of the median press-to-press interval out of a space (a word's first
/// character) to the median into a space (a word's last character), each plus 10 ms. People
/// start a word more slowly than they end it: the space is struck while the word's last letters
/// are still under way, the next word's first letter waits for the word to be recalled (the
/// word-initiation effect: Salthouse 1986, "Perceptual, cognitive, and motoric aspects of
/// transcription typing"). Aalto's 5,994 sentences with two of each: median 0.51, positive in
/// 90 %. Independent per-key delays give 0 ± noise, and signed, unlike [`F::KeyClassDep`]'s
/// |ratio| against char→char intervals. `None` with fewer than [`WORD_ONSET_MIN`] of either;
/// login fields (e-mail addresses, passwords) seldom hold a space, so it is mostly missing there.
pub fn word_onset(typing: &[Key]) -> Option<f64> {
    let (mut into, mut out) = (Vec::new(), Vec::new());
    for w in typing.windows(2) {
        let d = w[1].down_ms - w[0].down_ms;
        match (w[0].class, w[1].class) {
            (key_class::CHAR, key_class::SPACE) => into.push(d),
            (key_class::SPACE, key_class::CHAR) => out.push(d),
            _ => {}
        }
    }
    if into.len() < WORD_ONSET_MIN || out.len() < WORD_ONSET_MIN {
        return None;
    }
    let (i, o) = (median(&into)?, median(&out)?);
    Some(((o.max(0.0) + 10.0) / (i.max(0.0) + 10.0)).ln())
}

/// Fewest char-to-char intervals inside words before [`word_length_dep`] is read.
pub const WORD_LENGTH_MIN: usize = 10;
/// Intervals this long or longer inside a word are pauses, not digraphs.
pub const WORD_LENGTH_MAX_MS: f64 = 1500.0;

/// Word length dependence: Spearman correlation between each char-to-char press-to-press
/// interval inside a word (a run of character keys between spaces, corrections or other keys)
/// and that word's length in characters. People type the letters of longer words more slowly:
/// over Aalto's 5,790 sentences with enough intervals the median is +0.146. A bot that draws each
/// interval from a typist's own class-pair samples (`type-digraph`) keeps the word onsets
/// ([`word_onset`]) but not this: the same sentences with their intervals permuted within class
/// pairs give 0.00 at the median (AUC 0.687 against the originals), and so do independent
/// delays. `None` without a space in the typing (login fields split by Tab are not words),
/// with fewer than [`WORD_LENGTH_MIN`] intervals or with words of one length only: mostly
/// missing on a login page.
pub fn word_length_dep(typing: &[Key]) -> Option<f64> {
    // Words are read only in text with spaces: login fields split by Tab or Enter are not
    // words, and which field is typed faster says nothing about word length.
    if !typing.iter().any(|k| k.class == key_class::SPACE) {
        return None;
    }
    let (mut len, mut gap) = (Vec::new(), Vec::new());
    for word in typing
        .split(|k| k.class != key_class::CHAR)
        .filter(|w| w.len() >= 2)
    {
        for w in word.windows(2) {
            let d = w[1].down_ms - w[0].down_ms;
            if d < WORD_LENGTH_MAX_MS {
                len.push(word.len() as f64);
                gap.push(d);
            }
        }
    }
    if gap.len() < WORD_LENGTH_MIN {
        return None;
    }
    spearman(&len, &gap)
}

/// Class transition of a digraph: 0 char→char, 1 into a space, 2 out of a space, 3 into a
/// backspace, 4 out of a backspace, 5 anything else (enter, tab, …).
fn transition(a: u8, b: u8) -> usize {
    match (a, b) {
        (key_class::CHAR, key_class::CHAR) => 0,
        (_, key_class::SPACE) => 1,
        (key_class::SPACE, _) => 2,
        (_, key_class::BACKSPACE) => 3,
        (key_class::BACKSPACE, _) => 4,
        _ => 5,
    }
}

/// Eta squared (between-group share of the variance) of log press-to-press intervals grouped by
/// the digraph's class transition (`transition`). People's timing depends on the key pair —
/// word boundaries and corrections are slower (Dhakal et al. 2018; behaviour.md §3: humaniser
/// add-ons draw "random delays per key … independent of the key pair"). Only groups with at least
/// two intervals count; `None` unless two such groups exist. Key contents are never known, so
/// classes stand in for digraphs.
pub fn transition_eta2(typing: &[Key]) -> Option<f64> {
    let mut groups: [Vec<f64>; 6] = Default::default();
    for w in typing.windows(2) {
        let d = w[1].down_ms - w[0].down_ms;
        groups[transition(w[0].class, w[1].class)].push((1.0 + d.max(0.0)).ln());
    }
    let used: Vec<&Vec<f64>> = groups.iter().filter(|g| g.len() >= 2).collect();
    if used.len() < 2 {
        return None;
    }
    let n: usize = used.iter().map(|g| g.len()).sum();
    let mean = used.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let (mut between, mut total) = (0.0, 0.0);
    for g in &used {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        between += g.len() as f64 * (m - mean) * (m - mean);
        total += g.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
    }
    Some(if total > 1e-12 { between / total } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::super::extract;
    use super::*;

    fn key(down: f64, hold: f64, class: u8) -> Key {
        Key {
            down_ms: down,
            up_ms: down + hold,
            class,
            unreleased: false,
        }
    }

    /// Features of a session with these keys and nothing else.
    fn typed(keys: Vec<Key>) -> Features {
        extract(&Session {
            keys,
            ..Default::default()
        })
    }

    fn noise(i: usize) -> f64 {
        let z = (i as u64 + 11).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        (z % 1000) as f64 / 1000.0
    }

    /// Hand-made human-like typing: right-skewed intervals, holds ~100 ms, some rollover,
    /// longer gaps around spaces, one correction.
    fn human_typing() -> Vec<Key> {
        let mut t = 0.0;
        let mut out = Vec::new();
        for i in 0..40 {
            let class = if i % 6 == 5 {
                key_class::SPACE
            } else if i == 16 {
                key_class::BACKSPACE
            } else {
                key_class::CHAR
            };
            let u = noise(i);
            let gap =
                90.0 + 120.0 * u * u * u * 4.0 + if class == key_class::SPACE { 80.0 } else { 0.0 };
            out.push(key(t, 80.0 + 50.0 * noise(i + 100), class));
            t += gap;
        }
        out
    }

    #[test]
    fn holds_shorter_than_a_finger_are_flagged_and_left_out() {
        let with_holds = |ms: f64| {
            human_typing()
                .into_iter()
                .map(|k| Key {
                    up_ms: k.down_ms + ms,
                    ..k
                })
                .collect::<Vec<_>>()
        };
        // A person's holds: read, not flagged.
        for ms in [20.0, 56.0, 120.0] {
            let f = typed(with_holds(ms));
            assert!(!f.implausible_key_holds(), "{ms}");
            assert!(f.get(F::KeyHold).is_some(), "{ms}");
            assert!(f.get(F::KeyHoldFlightCorr).is_some(), "{ms}");
        }
        // A script's: flagged, and every hold feature missing (the press-to-press ones stay).
        let person = typed(with_holds(56.0));
        for ms in [0.0, 2.5, 19.5] {
            let f = typed(with_holds(ms));
            assert!(f.implausible_key_holds(), "{ms}");
            assert_eq!(
                f.median_key_hold_ms,
                Some(ms),
                "kept for the reason's detail"
            );
            for h in HOLD_FEATURES {
                assert_eq!(f.get(h), None, "{ms}: {h:?}");
            }
            for k in [F::KeyP2p, F::KeyP2pSpread, F::KeyAutocorr] {
                assert_eq!(f.get(k), person.get(k), "{ms}: {k:?}");
            }
        }
        // Too few keys to read holds: nothing to judge.
        let f = typed(with_holds(1.0)[..MIN_KEYS - 1].to_vec());
        assert!(!f.implausible_key_holds());
    }

    /// `HOLD_FEATURES` is a hand list: it must name exactly the model's (trainable) features that
    /// read the holds. Changing only when each key is released (every hold a person's) must move
    /// each of them and no other trainable feature.
    #[test]
    fn hold_features_are_exactly_those_that_read_holds() {
        let base = human_typing();
        let reheld: Vec<Key> = base
            .iter()
            .enumerate()
            .map(|(i, k)| Key {
                up_ms: k.down_ms + 40.0 + 150.0 * noise(i + 500),
                ..*k
            })
            .collect();
        let (a, b) = (typed(base), typed(reheld));
        assert!(!a.implausible_key_holds() && !b.implausible_key_holds());
        for d in crate::features::DEFS.iter().filter(|d| d.trainable) {
            let moved = a.get(d.id) != b.get(d.id);
            assert_eq!(
                moved,
                HOLD_FEATURES.contains(&d.id),
                "{}: {:?} vs {:?}",
                d.name,
                a.get(d.id),
                b.get(d.id)
            );
        }
    }

    #[test]
    fn shift_leads_time_shift_against_its_character() {
        let shift = |down: f64, up: f64| key(down, up - down, key_class::SHIFT);
        // A person: Shift 80 ms before the character, released before the character is.
        let human = [
            key(0.0, 90.0, key_class::CHAR),
            shift(200.0, 330.0),
            key(280.0, 100.0, key_class::CHAR),
            shift(600.0, 760.0),
            key(650.0, 80.0, key_class::CHAR),
        ];
        assert_eq!(shift_leads(&human), (2, 0));
        // Software: Shift, its character 0.1 ms later, released together; one pressed on the
        // Shift's own tick and sorted before it; a modifier in between is skipped.
        let script = [
            key(0.0, 90.0, key_class::CHAR),
            shift(200.0, 300.2),
            key(200.1, 100.0, key_class::CHAR),
            key(500.0, 90.0, key_class::CHAR),
            shift(500.0, 600.0),
            shift(800.0, 900.0),
            key(800.5, 2.0, key_class::MODIFIER),
            key(801.0, 90.0, key_class::CHAR),
        ];
        assert_eq!(shift_leads(&script), (3, 3));
        // Not judged: a Shift released before the next key, a Shift over a space, a Shift at
        // the end, and any Shift on a clock coarsened to 100 ms.
        let loose = [
            shift(0.0, 50.0),
            key(50.5, 90.0, key_class::CHAR),
            shift(300.0, 400.0),
            key(300.5, 90.0, key_class::SPACE),
            shift(900.0, 950.0),
        ];
        assert_eq!(shift_leads(&loose), (0, 0));
        let coarse = [
            key(0.0, 100.0, key_class::CHAR),
            shift(200.0, 400.0),
            key(200.0, 100.0, key_class::CHAR),
            shift(500.0, 700.0),
            key(500.0, 100.0, key_class::CHAR),
        ];
        assert_eq!(shift_leads(&coarse), (0, 0));
        let f = typed(script.to_vec());
        assert!(f.instant_shifts());
        let f = typed(human.to_vec());
        assert_eq!((f.n_judged_shifts, f.n_instant_shifts), (2, 0));
        assert!(!f.instant_shifts());
    }

    #[test]
    fn human_typing_features() {
        let f = typed(human_typing());
        let hold = f.get(F::KeyHold).unwrap().exp() - 1.0;
        assert!((80.0..130.0).contains(&hold), "{hold}");
        assert!(f.get(F::KeyRollover).unwrap() > 0.0);
        assert!(f.get(F::KeyP2pSkew).unwrap() > 0.3, "right-skewed");
        assert!(f.get(F::KeyClassDep).unwrap() > 0.2);
        assert!(f.get(F::KeyBackspace).unwrap() > 0.0);
        assert!(
            f.get(F::PtDtMedian).is_none(),
            "no pointer: pointer features missing"
        );
    }

    #[test]
    fn constant_delay_typing_features() {
        let keys: Vec<Key> = (0..40)
            .map(|i| key(i as f64 * 100.0, 100.0, key_class::CHAR))
            .collect();
        let f = typed(keys);
        assert_eq!(f.get(F::KeyP2pSpread), Some(0.0));
        assert_eq!(f.get(F::KeyHoldSpread), Some(0.0));
        assert_eq!(f.get(F::KeyRollover), Some(0.0));
        assert_eq!(f.get(F::KeyP2pSkew), Some(0.0));
        let zero: Vec<Key> = (0..40)
            .map(|i| key(i as f64 * 0.3, 0.0, key_class::CHAR))
            .collect();
        let f = typed(zero);
        assert_eq!(f.get(F::KeyFast), Some(1.0));
        // Zero holds: flagged, not read.
        assert!(f.implausible_key_holds());
        assert_eq!(f.get(F::KeyHold), None);
    }

    #[test]
    fn soft_keyboard_keys_on_a_touch_device_are_not_scored() {
        use crate::features::Pt;
        use tollgate_protocol::telemetry::{pointer_kind, pointer_type};
        // An on-screen keyboard: key events without press duration, fields tapped first.
        let keys: Vec<Key> = (0..20)
            .map(|i| {
                key(
                    1000.0 + i as f64 * 230.0 + 40.0 * noise(i),
                    0.0,
                    key_class::CHAR,
                )
            })
            .collect();
        let tap = |t: f64, kind: u8, ptype: u8| Pt {
            kind,
            buttons: u8::from(kind == pointer_kind::DOWN),
            ptype,
            ..super::super::pointer::tests::mv(t, 40.0, 300.0)
        };
        let taps = |ptype: u8| {
            vec![
                tap(100.0, pointer_kind::DOWN, ptype),
                tap(180.0, pointer_kind::UP, ptype),
                tap(6000.0, pointer_kind::DOWN, ptype),
                tap(6090.0, pointer_kind::UP, ptype),
            ]
        };
        for ptype in [pointer_type::TOUCH, pointer_type::PEN] {
            let f = extract(&Session {
                pointer: taps(ptype),
                keys: keys.clone(),
                ..Default::default()
            });
            assert!(f.soft_keyboard, "{ptype}");
            assert!(!f.has(crate::features::Modality::Keys), "{ptype}: {f:?}");
            assert_eq!(f.n_keys, 20, "the keys are still counted");
            // A soft keyboard's auto-capitalised letter comes without a Shift key: not judged.
            let f = extract(&Session {
                pointer: taps(ptype),
                keys: keys.clone(),
                shift_mismatches: 1,
                ..Default::default()
            });
            assert!(!f.shift_mismatch(), "{ptype}");
        }
        // The same keys with a mouse (or no pointer): instant holds are a scripted-typing tell,
        // and so is a capital without Shift.
        for pointer in [taps(pointer_type::MOUSE), Vec::new()] {
            let f = extract(&Session {
                pointer,
                keys: keys.clone(),
                shift_mismatches: 1,
                ..Default::default()
            });
            assert!(!f.soft_keyboard);
            assert!(f.implausible_key_holds());
            assert!(f.shift_mismatch());
        }
    }

    #[test]
    fn few_keys_are_missing_not_zero() {
        let keys: Vec<Key> = (0..5)
            .map(|i| key(i as f64 * 100.0, 80.0, key_class::CHAR))
            .collect();
        let f = typed(keys);
        assert!(f.get(F::KeyHold).is_none() && f.get(F::KeyRollover).is_none());
    }

    #[test]
    fn digraph_and_burst_structure() {
        // Human-like: slower around spaces and corrections, slow and fast phases.
        let f = typed(human_typing());
        let eta = f.get(F::KeyTransition).unwrap();
        assert!(eta > 0.1, "{eta}");
        // Independent delays, the same classes: the transition explains little.
        let mut t = 0.0;
        let flat: Vec<Key> = human_typing()
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let d = t;
                t += 100.0 + 100.0 * noise(i + 500);
                key(d, 90.0, k.class)
            })
            .collect();
        let g = typed(flat);
        assert!(g.get(F::KeyTransition).unwrap() < eta);
        let ac = g.get(F::KeyAutocorr).unwrap();
        assert!(ac.abs() < 0.5, "{ac}");
        // Slow then fast halves: strongly autocorrelated intervals.
        let mut t = 0.0;
        let phases: Vec<Key> = (0..30)
            .map(|i| {
                let d = t;
                t += if i < 15 { 250.0 } else { 110.0 } + 20.0 * noise(i);
                key(d, 90.0, key_class::CHAR)
            })
            .collect();
        let p = typed(phases);
        assert!(p.get(F::KeyAutocorr).unwrap() > 0.5);
        assert_eq!(
            p.get(F::KeyTransition),
            None,
            "one transition class: undefined"
        );
    }

    #[test]
    fn word_length_dependence_reads_slower_long_words() {
        // Words of 3, 5 and 7 letters; each letter of a word of n letters follows the previous
        // one after `per(n)` ms, a space after 200 ms.
        let sentence = |per: &dyn Fn(usize) -> f64, lens: &[usize]| -> Vec<Key> {
            let mut t = 0.0;
            let mut keys = Vec::new();
            for &n in lens {
                for i in 0..n {
                    if i > 0 {
                        t += per(n);
                    }
                    keys.push(key(t, 80.0, key_class::CHAR));
                }
                t += 200.0;
                keys.push(key(t, 80.0, key_class::SPACE));
                t += 200.0;
            }
            keys
        };
        let lens = [3, 5, 7, 3, 5, 7];
        // Slower per letter in longer words: every interval ranks with its word's length.
        let mut keys = sentence(&|n| 100.0 + 20.0 * n as f64, &lens);
        // A 2 s pause inside the first (shortest) word is a pause, not a digraph: left out.
        for k in &mut keys[1..] {
            k.down_ms += 1900.0;
            k.up_ms += 1900.0;
        }
        let slow_long = typed(keys);
        let r = slow_long.get(F::KeyWordLength).unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
        // The reverse, and no dependence (the same interval everywhere: no ranks, missing).
        let fast_long = typed(sentence(&|n| 300.0 - 20.0 * n as f64, &lens));
        assert!((fast_long.get(F::KeyWordLength).unwrap() + 1.0).abs() < 1e-9);
        assert_eq!(
            typed(sentence(&|_| 150.0, &lens)).get(F::KeyWordLength),
            None
        );
        // Exactly: words of 2, 3 and 4 letters (1 + 2 + 3 intervals: 100; 90, 120; 110, 105,
        // 95), split by a space and a correction; too few intervals once, read when typed twice:
        // Spearman of the word lengths against the intervals.
        let (c, sp, bs) = (key_class::CHAR, key_class::SPACE, key_class::BACKSPACE);
        let at = [
            (0.0, c),
            (100.0, c),
            (300.0, sp),
            (500.0, c),
            (590.0, c),
            (710.0, c),
            (900.0, bs),
            (1100.0, c),
            (1210.0, c),
            (1315.0, c),
            (1410.0, c),
            (1600.0, sp),
        ];
        let exact: Vec<Key> = at.iter().map(|&(t, k)| key(t, 50.0, k)).collect();
        assert_eq!(
            super::word_length_dep(&exact),
            None,
            "6 intervals < WORD_LENGTH_MIN"
        );
        let twice: Vec<Key> = [0.0, 2000.0]
            .iter()
            .flat_map(|&dt| at.iter().map(move |&(t, k)| key(t + dt, 50.0, k)))
            .collect();
        let got = super::word_length_dep(&twice).unwrap();
        let want_twice = spearman(
            &[2.0, 3.0, 3.0, 4.0, 4.0, 4.0].repeat(2),
            &[100.0, 90.0, 120.0, 110.0, 105.0, 95.0].repeat(2),
        )
        .unwrap();
        assert!((got - want_twice).abs() < 1e-12, "{got} {want_twice}");
        // No space: fields split by Tab (a username and a password) are not words.
        let fields: Vec<Key> = (0..22)
            .map(|i| {
                let class = if i == 8 {
                    key_class::TAB
                } else {
                    key_class::CHAR
                };
                key(
                    f64::from(i) * 150.0 + if i > 8 { f64::from(i) * 9.0 } else { 0.0 },
                    80.0,
                    class,
                )
            })
            .collect();
        assert!(typed(fields.clone()).get(F::KeyP2p).is_some());
        assert_eq!(typed(fields).get(F::KeyWordLength), None);
        // Words of one length only (a passphrase of four-letter words), however the intervals
        // vary: no ranks on that side, missing.
        let passphrase = sentence(&|_| 150.0, &[4, 4, 4, 4, 4]);
        let jittered: Vec<Key> = passphrase
            .iter()
            .enumerate()
            .map(|(i, k)| key(k.down_ms + (i % 3) as f64 * 7.0, 80.0, k.class))
            .collect();
        assert!(typed(jittered.clone()).get(F::KeyP2p).is_some());
        assert_eq!(typed(jittered).get(F::KeyWordLength), None);
    }

    #[test]
    fn word_onset_is_signed_and_needs_two_spaces() {
        // Slower out of a space than into it (`human_typing` adds 80 ms after each space).
        let f = typed(human_typing());
        let w = f.get(F::KeyWordOnset).unwrap();
        assert!(w > 0.3, "{w}");
        // The mirror image: slow into the space, fast out of it.
        let words = |into: f64, out: f64, n: usize| -> Vec<Key> {
            let mut t = 0.0;
            (0..n)
                .map(|i| {
                    let class = if i % 6 == 5 {
                        key_class::SPACE
                    } else {
                        key_class::CHAR
                    };
                    let d = t;
                    t += match i % 6 {
                        4 => into,
                        5 => out,
                        _ => 140.0,
                    };
                    key(d, 80.0, class)
                })
                .collect()
        };
        let m = typed(words(250.0, 110.0, 24));
        let wm = m.get(F::KeyWordOnset).unwrap();
        assert!((wm - (120.0f64 / 260.0).ln()).abs() < 1e-9, "{wm}");
        // Equal sides: 0.
        let e = typed(words(140.0, 140.0, 24));
        assert_eq!(e.get(F::KeyWordOnset), Some(0.0));
        // One space (one interval each side), or none (an e-mail address, a password): missing.
        for keys in [
            words(250.0, 110.0, 10),
            (0..20)
                .map(|i| key(f64::from(i) * 150.0, 80.0, key_class::CHAR))
                .collect(),
        ] {
            let g = typed(keys);
            assert!(g.get(F::KeyP2p).is_some());
            assert_eq!(g.get(F::KeyWordOnset), None);
        }
    }

    #[test]
    fn spearman_basics() {
        assert!(
            (spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]).unwrap() - 1.0).abs()
                < 1e-12
        );
        assert!(
            (spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12
        );
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }
}
