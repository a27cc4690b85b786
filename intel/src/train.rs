//! Training: class-balanced, L2-regularised logistic regression fitted by Newton's method
//! (IRLS), optionally followed by boosted trees on its residual ([`super::boost`]),
//! subject-wise k-fold cross-validation, and policy calibration from cross-fitted human scores.

use std::collections::{BTreeMap, HashMap};

use tollgate_model::features::{DEFS, DeviceClass, F, Features, Modality};
use tollgate_model::model::{
    Calibration, LongKeys, Model, ModelFeature, ReplayEvidence, Scored, Thresholds,
};

use super::boost::{BoostOptions, fit_forest};
use super::rng::Rng;
use super::{IntelError, Label, Record};

/// Fitting options.
#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    /// L2 penalty per 1000 units of (normalised) record weight.
    pub l2: f64,
    pub clip: f64,
    pub max_iter: usize,
    /// A feature needs this many present values in the training set to become a term.
    pub min_present: usize,
    /// Human quantile mapped to the block threshold, per human source.
    pub block_quantile: f64,
    /// Ridge multiplier for the linear term of monotone (one-sided) features.
    pub monotone_l2_factor: f64,
    /// Per-feature presence offsets instead of per-modality intercepts (see [`fit`]).
    pub per_feature_offsets: bool,
    /// Human quantile mapped to the allow threshold, per human source.
    pub allow_quantile: f64,
    /// Band features also get one-sided hinges at these (weighted) quantiles of the training
    /// humans' values; `None`: no hinges. Hinge weights are constrained to ≤ 0.
    pub hinge_quantile: Option<f64>,
    /// Boosted trees on the regression's residual (`trees == 0`: regression only).
    pub boost: BoostOptions,
    /// Calibration knots from human logits cross-fitted over this many subject-wise folds of
    /// the training set (each human scored by a model that did not see its subject), so the
    /// thresholds do not inherit the fit's optimism on its own humans; < 2: in-sample logits.
    pub calib_folds: usize,
    /// Pointer knots per inferred device class ([`DeviceClass`]), each set by the human sources
    /// of that class only; a class without enough humans keeps the generic pointer knots.
    pub device_calibration: bool,
    /// Device-class block knots sit this many human logit IQRs (of the calibrating source)
    /// below that source's block quantile (allow knots: no margin).
    pub device_margin: f64,
    /// Share of the allow quantile that the pointer's pair knots take for sessions with both
    /// modalities (the keys take the rest): 0.5 splits the human tail budget evenly.
    pub pair_pointer_share: f64,
    /// Features left out of the fit (regression and trees): bit `F as usize` set
    /// ([`feature_mask`]); for ablations.
    pub exclude: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l2: 1.0,
            clip: 6.0,
            max_iter: 60,
            min_present: 20,
            block_quantile: 0.001,
            monotone_l2_factor: 0.1,
            per_feature_offsets: true,
            allow_quantile: 0.01,
            hinge_quantile: None,
            boost: BoostOptions::default(),
            calib_folds: 0,
            device_calibration: true,
            device_margin: 1.0,
            pair_pointer_share: 0.5,
            exclude: 0,
        }
    }
}

/// Key-only sessions with at least this many key presses get their own calibration knots
/// ([`LongKeys`]), set on the training humans that typed that much.
pub const LONG_KEYS: usize = 25;

/// Calibration bucket index of long key-only sessions (after the [`Modality::ALL`] indices).
const LONG_KEYS_BUCKET: usize = 2;

/// Calibration bucket of pointer-only sessions of a device class (after `LONG_KEYS_BUCKET`).
pub fn device_bucket(d: DeviceClass) -> usize {
    LONG_KEYS_BUCKET
        + 1
        + DeviceClass::ALL
            .iter()
            .position(|c| *c == d)
            .unwrap_or(DeviceClass::ALL.len())
}

/// Fewest human records of one source (and modality) for it to set calibration knots.
pub const MIN_CALIBRATION_RECORDS: usize = 100;

/// Class-balanced weights: each (label, source, generator family) group gets weight ∝ 1/√n, then
/// both classes are scaled to the same total (records in total).
pub fn balance_weights(records: &[&Record]) -> Vec<f64> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in records {
        *counts.entry(r.group()).or_insert(0) += 1;
    }
    let mut w: Vec<f64> = records
        .iter()
        .map(|r| 1.0 / (counts[&r.group()] as f64).sqrt())
        .collect();
    let total = |lab: Label, w: &[f64]| -> f64 {
        records
            .iter()
            .zip(w)
            .filter(|(r, _)| r.label == lab)
            .map(|(_, x)| x)
            .sum::<f64>()
    };
    let (th, tb) = (total(Label::Human, &w), total(Label::Bot, &w));
    let half = records.len() as f64 / 2.0;
    for (r, x) in records.iter().zip(w.iter_mut()) {
        let t = if r.label == Label::Human { th } else { tb };
        if t > 0.0 {
            *x *= half / t;
        }
    }
    w
}

/// Fit a model on `rows` (features, label, weight). Policy calibration is left unset.
pub fn fit(rows: &[(&Features, Label, f64)], opts: &FitOptions) -> Result<Model, IntelError> {
    let humans = rows.iter().filter(|r| r.1 == Label::Human).count();
    let bots = rows.len() - humans;
    if humans == 0 || bots == 0 {
        return Err(IntelError::OneClass { humans, bots });
    }
    // Terms: trainable features with enough present values and some spread.
    let mut terms: Vec<ModelFeature> = Vec::new();
    for d in DEFS
        .iter()
        .filter(|d| d.trainable && opts.exclude & (1u64 << (d.id as usize)) == 0)
    {
        let vals: Vec<f64> = rows.iter().filter_map(|r| r.0.get(d.id)).collect();
        if vals.len() < opts.min_present {
            continue;
        }
        // Standardise at the class-balanced centre (training weights), so that a missing value,
        // which contributes 0, sits between the classes rather than at the majority class.
        let wv: Vec<(f64, f64)> = rows
            .iter()
            .filter_map(|r| r.0.get(d.id).map(|v| (v, r.2)))
            .collect();
        let wsum: f64 = wv.iter().map(|(_, w)| w).sum();
        if wsum <= 0.0 {
            continue;
        }
        let mean = wv.iter().map(|(v, w)| v * w).sum::<f64>() / wsum;
        let var = wv
            .iter()
            .map(|(v, w)| w * (v - mean) * (v - mean))
            .sum::<f64>()
            / wsum;
        let sd = var.sqrt();
        if sd > 1e-9 && sd.is_finite() {
            let mut t = ModelFeature::plain(d.id, mean, sd, 0.0, 0.0, 0.0);
            if let (Some(q), true) = (opts.hinge_quantile, d.id.band()) {
                let mut hz: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.1 == Label::Human)
                    .filter_map(|r| {
                        r.0.get(d.id)
                            .map(|v| (((v - mean) / sd).clamp(-opts.clip, opts.clip), r.2))
                    })
                    .collect();
                if let (Some(lo), Some(hi)) = (
                    weighted_quantile(&mut hz, q),
                    weighted_quantile(&mut hz, 1.0 - q),
                ) {
                    t.lo = lo;
                    t.hi = hi.max(lo);
                }
            }
            terms.push(t);
        }
    }
    // Columns: one intercept per modality, then per term z, z²−1 (band features only) and a
    // presence indicator (its coefficient is the term's offset `b`). With per-feature offsets
    // (the default) the modality intercepts stay at 0: the baseline is spread over the features,
    // so a session that lacks a feature loses exactly that feature's share of it and thin
    // evidence stays near the neutral logit 0. There is no global intercept.
    const M: usize = Modality::ALL.len();
    const K: usize = 5;
    let dim = M + K * terms.len();
    let clip = opts.clip;
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![0.0; dim];
            if !opts.per_feature_offsets {
                for (k, m) in Modality::ALL.iter().enumerate() {
                    if r.0.has(*m) {
                        v[k] = 1.0;
                    }
                }
            }
            for (j, t) in terms.iter().enumerate() {
                if let Some(val) = r.0.get(t.feature) {
                    let z = ((val - t.mean) / t.sd).clamp(-clip, clip);
                    v[M + K * j] = z;
                    if t.feature.band() {
                        v[M + K * j + 1] = z * z - 1.0;
                    }
                    if opts.per_feature_offsets {
                        v[M + K * j + 2] = 1.0;
                    }
                    if t.feature.band() && opts.hinge_quantile.is_some() {
                        v[M + K * j + 3] = (t.lo - z).max(0.0);
                        v[M + K * j + 4] = (z - t.hi).max(0.0);
                    }
                }
            }
            v
        })
        .collect();
    let y: Vec<f64> = rows
        .iter()
        .map(|r| if r.1 == Label::Human { 1.0 } else { 0.0 })
        .collect();
    let wsum: f64 = rows.iter().map(|r| r.2).sum();
    let lambda = opts.l2 * wsum / 1000.0;
    // Monotone tells (bursts, missing rollover, ...) are rare in humans by construction: a
    // lighter ridge lets a clear tell outweigh the sum of weak human-looking terms.
    let mut penalty = vec![1.0; dim];
    for (j, t) in terms.iter().enumerate() {
        if !t.feature.band() {
            penalty[M + K * j] = opts.monotone_l2_factor;
        }
        // Hinges are one-sided tells like the monotone features.
        penalty[M + K * j + 3] = opts.monotone_l2_factor;
        penalty[M + K * j + 4] = opts.monotone_l2_factor;
    }
    // Columns that are identically 0 (unused hinge / quadratic slots) are left out of the
    // system; hinge columns whose fitted weight comes out positive (a tail read as *human*
    // evidence) are dropped and the fit repeated, so beyond-human values never help a session.
    let mut active: Vec<bool> = (0..dim)
        .map(|a| a < M || x.iter().any(|xi| xi[a] != 0.0))
        .collect();
    let mut beta = vec![0.0; dim];
    for _round in 0..4 {
        beta = irls(&x, &y, rows, &penalty, &active, lambda, dim, opts.max_iter)?;
        let mut changed = false;
        for j in 0..terms.len() {
            for c in [M + K * j + 3, M + K * j + 4] {
                if active[c] && beta[c] > 0.0 {
                    active[c] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for (a, b) in beta.iter_mut().enumerate() {
        if !active[a] {
            *b = 0.0;
        }
    }
    for (j, t) in terms.iter_mut().enumerate() {
        t.w = beta[M + K * j];
        t.w2 = beta[M + K * j + 1];
        t.b = beta[M + K * j + 2];
        t.wl = beta[M + K * j + 3].min(0.0);
        t.wh = beta[M + K * j + 4].min(0.0);
        if t.wl == 0.0 && t.wh == 0.0 {
            t.lo = 0.0;
            t.hi = 0.0;
        }
    }
    // Drop terms that ended up with no weight at all (keeps the file small and honest).
    terms.retain(|t| {
        t.w.abs() > 1e-6 || t.w2.abs() > 1e-6 || t.b.abs() > 1e-6 || t.wl < 0.0 || t.wh < 0.0
    });
    let mut model = Model {
        bias: 0.0,
        modality_bias: [beta[0], beta[1]],
        clip,
        features: terms,
        policy: Thresholds::default(),
        calibration: None,
        long_keys: None,
        device_knots: Vec::new(),
        pair_shift: [0.0; 2],
        reason_threshold: -1.0,
        notes: Vec::new(),
        forest: None,
    };
    // Boosted trees on the regression's residual: its logits are the starting margins.
    if opts.boost.trees > 0 {
        let base: Vec<f64> = rows.iter().map(|r| model.raw_logit(r.0)).collect();
        let boost = BoostOptions {
            exclude: opts.exclude | opts.boost.exclude,
            ..opts.boost
        };
        let forest = fit_forest(rows, &base, &boost);
        model.forest = (!forest.trees.is_empty()).then_some(forest);
    }
    Ok(model)
}

/// Weighted quantile of `(value, weight)` pairs (sorts in place).
fn weighted_quantile(v: &mut [(f64, f64)], q: f64) -> Option<f64> {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|p| p.1).sum();
    if v.is_empty() || total <= 0.0 {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total;
    let mut acc = 0.0;
    for (val, w) in v.iter() {
        acc += w;
        if acc >= target {
            return Some(*val);
        }
    }
    v.last().map(|p| p.0)
}

/// Newton / IRLS for ridge-penalised weighted logistic regression over the active columns.
#[allow(clippy::too_many_arguments)]
fn irls(
    x: &[Vec<f64>],
    y: &[f64],
    rows: &[(&Features, Label, f64)],
    penalty: &[f64],
    active: &[bool],
    lambda: f64,
    dim: usize,
    max_iter: usize,
) -> Result<Vec<f64>, IntelError> {
    const M: usize = Modality::ALL.len();
    let ridge = |a: usize| {
        if !active[a] {
            0.0
        } else if a >= M {
            lambda * penalty[a]
        } else {
            1e-6
        }
    };
    // Penalised weighted log-likelihood (to maximise).
    let objective = |beta: &[f64]| -> f64 {
        let mut ll = 0.0;
        for ((xi, yi), r) in x.iter().zip(y).zip(rows) {
            let eta: f64 = xi
                .iter()
                .zip(beta)
                .zip(active)
                .filter(|(_, on)| **on)
                .map(|((a, b), _)| a * b)
                .sum();
            // log(1 + e^eta), stable on both sides.
            let softplus = if eta > 0.0 {
                eta + (-eta).exp().ln_1p()
            } else {
                eta.exp().ln_1p()
            };
            ll += r.2 * (yi * eta - softplus);
        }
        ll - 0.5 * (0..dim).map(|a| ridge(a) * beta[a] * beta[a]).sum::<f64>()
    };
    let mut beta = vec![0.0; dim];
    for _ in 0..max_iter {
        let mut g = vec![0.0; dim];
        let mut h = vec![0.0; dim * dim];
        for ((xi, yi), r) in x.iter().zip(y).zip(rows) {
            let eta: f64 = xi.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-eta).exp());
            let wi = r.2;
            let resid = wi * (yi - p);
            let curv = wi * (p * (1.0 - p)).max(1e-9);
            for a in 0..dim {
                if xi[a] == 0.0 || !active[a] {
                    continue;
                }
                g[a] += resid * xi[a];
                let ca = curv * xi[a];
                for b in a..dim {
                    if active[b] {
                        h[a * dim + b] += ca * xi[b];
                    }
                }
            }
        }
        for a in 0..dim {
            for b in 0..a {
                h[a * dim + b] = h[b * dim + a];
            }
            if !active[a] {
                // Inactive column: pinned at 0 by an identity row.
                g[a] = 0.0;
                h[a * dim + a] = 1.0;
            } else if a >= M {
                let lam = lambda * penalty[a];
                g[a] -= lam * beta[a];
                h[a * dim + a] += lam;
            } else {
                // Intercepts: a whisper of ridge keeps an unused one at 0.
                g[a] -= 1e-6 * beta[a];
                h[a * dim + a] += 1e-6;
            }
        }
        let step = cholesky_solve(&h, &g, dim).ok_or(IntelError::Numeric)?;
        // Damped Newton: halve the step until the penalised likelihood does not drop. A full
        // step can overshoot on nearly separable one-sided tells (light ridge) and, unguarded,
        // diverge to weights in the thousands.
        let before = objective(&beta);
        let mut scale = 1.0;
        let mut next = beta.clone();
        for _ in 0..30 {
            for ((n, b), s) in next.iter_mut().zip(&beta).zip(&step) {
                *n = b + scale * s;
            }
            if objective(&next) >= before - 1e-9 * before.abs() {
                break;
            }
            scale *= 0.5;
        }
        let maxd = step.iter().fold(0.0f64, |m, s| m.max((scale * s).abs()));
        if !maxd.is_finite() {
            return Err(IntelError::Numeric);
        }
        beta = next;
        if maxd < 1e-7 {
            break;
        }
    }
    Ok(beta)
}

/// Solve `A x = b` for symmetric positive definite `A` (row-major `n × n`).
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * y[k];
        }
        y[i] = s / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    Some(x)
}

fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = (q * (v.len() - 1) as f64).clamp(0.0, (v.len() - 1) as f64);
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// Logit distance from the `q` quantile of `v` down to its `share × q` quantile, read off an
/// exponential fit of the lower tail: quantiles at q/4 … 4q regressed on ln p (slope b), distance
/// b·ln(1/share). A direct difference of two tail quantiles (the 10th and 5th lowest of 1 000
/// people) gave a pointer shift of 1.20 logits for session 6's model and 0.26 for the first
/// regularised fit, where this fit gives 1.15; it uses five quantiles instead of two. `None` with
/// too few values.
pub fn tail_shift(v: &mut [f64], q: f64, share: f64) -> Option<f64> {
    const SPAN: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
    if v.len() < 20 || !(share > 0.0 && share <= 1.0) {
        return None;
    }
    // Sorted once here; `quantile` re-sorts, which is linear on sorted input.
    v.sort_by(f64::total_cmp);
    let mut xy = [(0.0, 0.0); 5];
    for (slot, f) in xy.iter_mut().zip(SPAN) {
        *slot = ((f * q).ln(), quantile(v, (f * q).min(1.0))?);
    }
    let n = xy.len() as f64;
    let (mx, my) = (
        xy.iter().map(|p| p.0).sum::<f64>() / n,
        xy.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = (sxy / sxx).max(0.0);
    Some(b * (1.0 / share).ln())
}

/// Place the calibration knots at the given quantiles of human logits, per modality, taking the
/// lowest over human sources of that modality (so each source separately stays within the
/// targets). `human_logits` maps (bucket, source) to logits of single-modality humans; buckets
/// are the modality indices, `LONG_KEYS_BUCKET` and, per device class, [`device_bucket`]
/// (pointer-only humans of that class). With [`FitOptions::device_calibration`] each device
/// class with at least [`MIN_CALIBRATION_RECORDS`] humans of one source gets its own pointer
/// knots, the lowest over the sources *of that class*: a bot-like human source (a VM, a phone)
/// then sets the thresholds of its own class only.
pub fn calibrate(
    model: &mut Model,
    human_logits: &BTreeMap<(usize, String), Vec<f64>>,
    opts: &FitOptions,
) {
    let n_buckets = device_bucket(DeviceClass::None) + 1;
    let mut knots: Vec<Option<Calibration>> = vec![None; n_buckets];
    for (m, slot) in knots.iter_mut().enumerate() {
        let mut lb = f64::INFINITY;
        let mut la = f64::INFINITY;
        for ((mi, _), v) in human_logits {
            // A source with a handful of records has no meaningful 1% / 0.1% quantile (it would
            // just be its minimum); such sources still train, and are reported, but do not set
            // thresholds.
            if *mi != m || v.len() < MIN_CALIBRATION_RECORDS {
                continue;
            }
            let mut v = v.clone();
            // Long typing: half the quantiles, a margin for its narrower human spread.
            let f = if m == LONG_KEYS_BUCKET { 0.5 } else { 1.0 };
            // Device classes: the block knot is lowered by a margin in units of the source's
            // human logit IQR (a class is usually calibrated by one source, whose unseen people
            // may sit lower; a block is final, a challenge is not, so only the block knot gets
            // it).
            let margin = if m > LONG_KEYS_BUCKET {
                match (quantile(&mut v, 0.25), quantile(&mut v, 0.75)) {
                    (Some(a), Some(b)) => opts.device_margin * (b - a).max(0.0),
                    _ => 0.0,
                }
            } else {
                0.0
            };
            if let Some(q) = quantile(&mut v, f * opts.block_quantile) {
                lb = lb.min(q - margin);
            }
            if let Some(q) = quantile(&mut v, f * opts.allow_quantile) {
                la = la.min(q);
            }
        }
        if lb.is_finite() && la.is_finite() {
            *slot = Some(Calibration {
                block_logit: lb.min(la - 0.01),
                allow_logit: la,
            });
        }
    }
    // Sessions with both modalities take the lower of two scores: each modality's knots are
    // lowered to its share of the allow quantile (pointer `pair_pointer_share`, keys the rest;
    // the most any one source of it needs), so the union of the two human tails stays near the
    // single-modality quantile. Pointer: the hovering classes'
    // sources (`mouse`, `mouse-thin`: a login with typing hovers), else every pointer source.
    let hover = [
        device_bucket(DeviceClass::Mouse),
        device_bucket(DeviceClass::MouseThin),
    ];
    let shift = |buckets: &[usize], share: f64| {
        let mut out: Option<f64> = None;
        for ((m, _), v) in human_logits {
            if !buckets.contains(m) || v.len() < MIN_CALIBRATION_RECORDS {
                continue;
            }
            let mut v = v.clone();
            if let Some(d) = tail_shift(&mut v, opts.allow_quantile, share) {
                out = Some(out.unwrap_or(0.0).max(d));
            }
        }
        out
    };
    let ps = opts.pair_pointer_share.clamp(0.05, 0.95);
    let pointer_shift = if opts.device_calibration {
        shift(&hover, ps).or_else(|| shift(&[0], ps))
    } else {
        shift(&[0], ps)
    };
    model.pair_shift = [
        pointer_shift.unwrap_or(0.0),
        shift(&[1], 1.0 - ps).unwrap_or(0.0),
    ];
    model.policy = Thresholds::default();
    // Long typing: never more lenient than the key knots of all lengths.
    model.long_keys = match (knots[LONG_KEYS_BUCKET], knots[1]) {
        (Some(l), Some(k)) => Some(LongKeys {
            min_keys: LONG_KEYS,
            knots: Calibration {
                block_logit: l.block_logit.max(k.block_logit),
                allow_logit: l.allow_logit.max(k.allow_logit),
            },
        }),
        _ => None,
    };
    model.device_knots = if opts.device_calibration {
        DeviceClass::ALL
            .iter()
            .filter(|d| d.is_pointer())
            .filter_map(|d| knots[device_bucket(*d)].map(|k| (*d, k)))
            .collect()
    } else {
        Vec::new()
    };
    let knots = [knots[0], knots[1]];
    model.calibration = match knots {
        [Some(p), Some(k)] => Some([p, k]),
        [Some(p), None] => Some([p, p]),
        [None, Some(k)] => Some([k, k]),
        [None, None] => None,
    };
}

/// Assign each subject to one of `k` folds (a keyed hash of the subject id; see `folds_of`).
pub fn assign_folds(records: &[Record], k: usize, seed: u64) -> Vec<usize> {
    let subjects: Vec<&str> = records.iter().map(|r| r.subject.as_str()).collect();
    folds_of(&subjects, k, seed)
}

/// Fold of each entry of `per_record` (a subject id per record): a hash of the seed and the
/// subject id, modulo `k`. A subject's fold depends on nothing else, so adding or removing a
/// generator (whose subjects reshuffled every other subject's fold when the subjects were dealt
/// round-robin from a shuffled list, up to session 12) leaves the people's and DELBOT's folds
/// where they were, and a before/after comparison measures the change rather than a new split.
/// Folds are not exactly equal in size (SapiMouse's 72 people over 5 folds, seed 1: 10–19).
fn folds_of(per_record: &[&str], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1) as u64;
    per_record
        .iter()
        .map(|s| (Rng::derive(seed ^ 0xf01d, s).next_u64() % k) as usize)
        .collect()
}

/// Fit on the given record indices (trainable ones only) and calibrate on their humans.
pub fn fit_calibrated(
    records: &[Record],
    feats: &[Features],
    idx: &[usize],
    opts: &FitOptions,
) -> Result<Model, IntelError> {
    let train: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| records[i].trainable)
        .collect();
    let recs: Vec<&Record> = train.iter().map(|&i| &records[i]).collect();
    let w = balance_weights(&recs);
    let rows: Vec<(&Features, Label, f64)> = train
        .iter()
        .zip(&w)
        .map(|(&i, &wi)| (&feats[i], records[i].label, wi))
        .collect();
    let model = fit(&rows, opts)?;
    // Human logits for the calibration knots: cross-fitted (each subject scored by a model fitted
    // without it) unless `calib_folds < 2`.
    let mut logits: Vec<Option<f64>> = vec![None; train.len()];
    if opts.calib_folds >= 2 {
        let subjects: Vec<&str> = train.iter().map(|&i| records[i].subject.as_str()).collect();
        let folds = folds_of(&subjects, opts.calib_folds, opts.boost.seed ^ 0xca1b);
        for k in 0..opts.calib_folds {
            let inner: Vec<(&Features, Label, f64)> = rows
                .iter()
                .zip(&folds)
                .filter(|(_, f)| **f != k)
                .map(|(r, _)| *r)
                .collect();
            let held = |j: usize| folds[j] == k && records[train[j]].label == Label::Human;
            if inner.is_empty() || !(0..train.len()).any(held) {
                continue;
            }
            // A fold whose training part lacks a class cannot be fitted; its humans fall back
            // to the full model's (in-sample) logits below.
            let Ok(m) = fit(&inner, opts) else { continue };
            for (j, slot) in logits.iter_mut().enumerate() {
                if held(j) {
                    *slot = Some(m.raw_logit(&feats[train[j]]));
                }
            }
        }
    }
    let mut by_source: BTreeMap<(usize, String), Vec<f64>> = BTreeMap::new();
    for (j, &i) in train.iter().enumerate() {
        let f = &feats[i];
        let m = match (f.has(Modality::Pointer), f.has(Modality::Keys)) {
            (true, false) => 0,
            (false, true) => 1,
            _ => continue,
        };
        if records[i].label == Label::Human {
            let l = logits[j].unwrap_or_else(|| model.raw_logit(f));
            by_source
                .entry((m, records[i].source.clone()))
                .or_default()
                .push(l);
            if m == 1 && f.n_keys >= LONG_KEYS {
                by_source
                    .entry((LONG_KEYS_BUCKET, records[i].source.clone()))
                    .or_default()
                    .push(l);
            }
            if m == 0 && f.knots_class.is_pointer() {
                by_source
                    .entry((device_bucket(f.knots_class), records[i].source.clone()))
                    .or_default()
                    .push(l);
            }
        }
    }
    let mut model = model;
    calibrate(&mut model, &by_source, opts);
    Ok(model)
}

/// Out-of-fold scores: for each fold, fit on the other folds' subjects (thresholds from their
/// own humans), score this fold. No subject is ever scored by a model that saw it.
pub fn cross_validate(
    records: &[Record],
    feats: &[Features],
    replay: &[ReplayEvidence],
    k: usize,
    seed: u64,
    opts: &FitOptions,
) -> Result<(Vec<Scored>, Vec<usize>), IntelError> {
    let folds = assign_folds(records, k, seed);
    let mut out: Vec<Option<Scored>> = vec![None; records.len()];
    for fold in 0..k {
        let train: Vec<usize> = (0..records.len()).filter(|&i| folds[i] != fold).collect();
        let model = fit_calibrated(records, feats, &train, opts)?;
        for i in (0..records.len()).filter(|&i| folds[i] == fold) {
            out[i] = Some(model.score(&feats[i], replay[i]));
        }
        eprintln!(
            "  fold {}/{k}: {} terms, trained on {} records",
            fold + 1,
            model.features.len(),
            train.len()
        );
    }
    let scored = out
        .into_iter()
        .map(|s| s.ok_or(IntelError::Numeric))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((scored, folds))
}

/// Bit mask of features (by stable name, comma-separated) for [`FitOptions::exclude`].
pub fn feature_mask(names: &str) -> Result<u64, IntelError> {
    const _: () = assert!(F::COUNT <= 64, "feature masks are u64");
    let mut m = 0u64;
    for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let f =
            F::by_name(n).ok_or_else(|| IntelError::Option(format!("unknown feature {n:?}")))?;
        m |= 1u64 << (f as usize);
    }
    Ok(m)
}

/// Look a feature up by name (for tests and reports).
pub fn feature(name: &str) -> Option<F> {
    F::by_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subjects_fold_does_not_depend_on_the_other_subjects() {
        let people: Vec<String> = (1..=72).map(|i| format!("user{i}")).collect();
        let ids: Vec<&str> = people.iter().map(String::as_str).collect();
        let alone = folds_of(&ids, 5, 1);
        let mut sizes = [0usize; 5];
        for f in &alone {
            sizes[*f] += 1;
        }
        assert!(sizes.iter().all(|&n| n >= 8), "{sizes:?}");
        // New generators' subjects, and records repeated, change nothing for the people.
        let mut more = ids.clone();
        more.extend(["synth-x-0", "synth-x-1", "bot_new", "user3", "user3"]);
        let with = folds_of(&more, 5, 1);
        assert_eq!(&with[..72], &alone[..]);
        assert_eq!(with[75], with[2]);
        // The seed does move them.
        assert_ne!(folds_of(&ids, 5, 2), alone);
    }

    #[test]
    fn device_classes_get_their_own_knots_and_the_block_margin() {
        // Pointer humans of two sources: a lenient one (logits around -5) in the drag class,
        // a tight one (around +2) in the mouse class. Generic pointer knots follow the lenient
        // source; the mouse class keeps its own.
        let spread = |c: f64| (0..200).map(|i| c + i as f64 / 100.0).collect::<Vec<_>>();
        let mut h: BTreeMap<(usize, String), Vec<f64>> = BTreeMap::new();
        h.insert((0, "a".into()), spread(2.0));
        h.insert((0, "b".into()), spread(-5.0));
        h.insert((1, "k".into()), spread(0.0));
        h.insert((device_bucket(DeviceClass::Mouse), "a".into()), spread(2.0));
        h.insert(
            (device_bucket(DeviceClass::MouseDrag), "b".into()),
            spread(-5.0),
        );
        // Too few records: no knots of its own.
        h.insert(
            (device_bucket(DeviceClass::Touch), "c".into()),
            vec![-20.0; 50],
        );
        let mut m = Model::neutral();
        let opts = FitOptions {
            device_margin: 0.0,
            ..Default::default()
        };
        calibrate(&mut m, &h, &opts);
        let [p, _] = m.calibration.unwrap();
        assert!(p.allow_logit < -4.9);
        let mouse = m.device_pointer_knots(DeviceClass::Mouse).unwrap();
        assert!((mouse.allow_logit - (2.0 + 0.01 * 199.0 * 0.01)).abs() < 1e-9);
        assert_eq!(m.device_pointer_knots(DeviceClass::Touch), Some(p));
        assert_eq!(m.device_knots.len(), 2);
        // A margin of one IQR (1.0 logit here) lowers the block knot only.
        let mut m2 = Model::neutral();
        calibrate(
            &mut m2,
            &h,
            &FitOptions {
                device_margin: 1.0,
                ..Default::default()
            },
        );
        let mouse2 = m2.device_pointer_knots(DeviceClass::Mouse).unwrap();
        assert_eq!(mouse2.allow_logit, mouse.allow_logit);
        assert!((mouse.block_logit - mouse2.block_logit - 0.995).abs() < 1e-9);
        // Off: one set of pointer knots for every device.
        let mut m3 = Model::neutral();
        calibrate(
            &mut m3,
            &h,
            &FitOptions {
                device_calibration: false,
                ..Default::default()
            },
        );
        assert!(m3.device_knots.is_empty());
        // Pair knots: the pointer's and the keys' shares of the allow quantile add up to it
        // (0.5 each by default; a larger pointer share lowers the pointer's knots less).
        assert!(m.pair_shift[0] > 0.0 && m.pair_shift[1] > 0.0);
        let mut m4 = Model::neutral();
        calibrate(
            &mut m4,
            &h,
            &FitOptions {
                pair_pointer_share: 0.8,
                ..Default::default()
            },
        );
        assert!(m4.pair_shift[0] < m.pair_shift[0] && m4.pair_shift[1] > m.pair_shift[1]);
        let (p2, p8) = (0.5f64.ln(), 0.8f64.ln());
        assert!((m4.pair_shift[0] / m.pair_shift[0] - p8 / p2).abs() < 1e-9);
        assert_eq!(feature_mask("").unwrap(), 0);
        assert_eq!(
            feature_mask("key_hold_log, key_rollover").unwrap(),
            (1 << F::KeyHold as usize) | (1 << F::KeyRollover as usize)
        );
        assert!(feature_mask("nope").is_err());
    }

    #[test]
    fn tail_shift_reads_an_exponential_tail() {
        // Logits whose lower tail is exactly exponential: q(p) = 3 + 0.8 ln p.
        let n = 20_000;
        let mut v: Vec<f64> = (0..n)
            .map(|i| 3.0 + 0.8 * ((i as f64 + 0.5) / n as f64).ln())
            .collect();
        let d = tail_shift(&mut v, 0.01, 0.5).unwrap();
        assert!((d - 0.8 * 2f64.ln()).abs() < 0.01, "{d}");
        // One odd value among the lowest moves it little (a direct quantile difference jumps).
        v[40] = v[0] - 5.0;
        let d2 = tail_shift(&mut v, 0.01, 0.5).unwrap();
        assert!((d2 - d).abs() < 0.05, "{d} vs {d2}");
        assert_eq!(tail_shift(&mut [1.0; 5], 0.01, 0.5), None);
        assert_eq!(tail_shift(&mut [1.0; 50], 0.01, 0.5), Some(0.0));
    }

    #[test]
    fn cholesky_solves() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&a, &[2.0, 1.0], 2).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(cholesky_solve(&[0.0], &[1.0], 1).is_none());
    }

    #[test]
    fn fit_stays_bounded_on_separable_tells() {
        // Two one-sided tells (light ridge) that together separate the classes. (The divergence
        // the damped step fixes was seen on real data, in an inner calibration fold, with
        // weights in the thousands; this toy converges either way and guards the outcome.)
        let mut rng = Rng::new(3);
        let mut feats = Vec::new();
        let mut labels = Vec::new();
        for i in 0..400 {
            let human = i % 2 == 0;
            let mut f = tollgate_model::features::extract(&Default::default());
            let a = if human { rng.range(0.05, 0.4) } else { 0.0 };
            let b = if human || rng.chance(0.3) {
                rng.range(0.0, 0.2)
            } else {
                0.0
            };
            f.values[F::KeyRollover as usize] = Some(a);
            f.values[F::KeyPause as usize] = Some(b);
            f.values[F::KeyHold as usize] = Some(rng.gauss(4.5, 0.3));
            feats.push(f);
            labels.push(if human { Label::Human } else { Label::Bot });
        }
        let rows: Vec<(&Features, Label, f64)> = feats
            .iter()
            .zip(&labels)
            .map(|(f, l)| (f, *l, 1.0))
            .collect();
        let m = fit(
            &rows,
            &FitOptions {
                min_present: 10,
                l2: 0.01,
                ..Default::default()
            },
        )
        .unwrap();
        for t in &m.features {
            let size = t.w.abs() + t.w2.abs() + t.b.abs();
            assert!(size.is_finite() && size < 200.0, "{:?}", t);
        }
        let right = feats
            .iter()
            .zip(&labels)
            .filter(|(f, l)| (m.raw_logit(f) > 0.0) == (**l == Label::Human))
            .count();
        assert!(right >= 390, "{right}");
    }

    #[test]
    fn fits_a_separable_toy_problem() {
        let mk = |v: f64| {
            let mut f = tollgate_model::features::extract(&Default::default());
            f.values[F::KeyRollover as usize] = Some(v);
            f
        };
        let feats: Vec<Features> = (0..200)
            .map(|i| mk(if i % 2 == 0 { 0.3 } else { 0.0 } + (i as f64) * 1e-4))
            .collect();
        let rows: Vec<(&Features, Label, f64)> = feats
            .iter()
            .enumerate()
            .map(|(i, f)| (f, if i % 2 == 0 { Label::Human } else { Label::Bot }, 1.0))
            .collect();
        let m = fit(
            &rows,
            &FitOptions {
                min_present: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(m.features.len(), 1);
        assert!(m.raw_logit(&feats[0]) > 0.0 && m.raw_logit(&feats[1]) < 0.0);
        let missing = tollgate_model::features::extract(&Default::default());
        assert_eq!(m.raw_logit(&missing), 0.0);
    }
}
