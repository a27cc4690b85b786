//! `verifier compare-models` and `verifier calibrate` over the audit trail.
//!
//! Rates are computed on labelled records only (labels resolved by
//! [`super::resolve_class`]; strong and weak both count, as in the trail), with decisions
//! re-derived from the recorded scores at the given thresholds (the site's current policy), so
//! both models are judged by the same rule. "Humans challenged" counts humans whose score is
//! below `allow` (challenged or blocked), "humans blocked" those below `block`, "bots allowed"
//! bots at or above `allow`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tollgate_model::Thresholds;

use super::{AuditRecord, Class, LabelRecord, resolve_class};

/// Rates of one model on the labelled records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    pub humans: usize,
    pub bots: usize,
    pub humans_challenged: usize,
    pub humans_blocked: usize,
    pub bots_allowed: usize,
}

impl Rates {
    fn add(&mut self, class: Class, score: f64, t: &Thresholds) {
        match class {
            Class::Human => {
                self.humans += 1;
                if score < t.allow {
                    self.humans_challenged += 1;
                }
                if score < t.block {
                    self.humans_blocked += 1;
                }
            }
            Class::Bot => {
                self.bots += 1;
                if score >= t.allow {
                    self.bots_allowed += 1;
                }
            }
        }
    }

    /// The line with Wilson 95 % intervals for the human rates.
    fn line_ci(&self) -> String {
        let (a, b) = wilson(self.humans_challenged, self.humans);
        let (c, d) = wilson(self.humans_blocked, self.humans);
        format!(
            "{} [95% CI humans challenged {:.1}–{:.1}%, blocked {:.1}–{:.1}%]",
            self.line(),
            100.0 * a,
            100.0 * b,
            100.0 * c,
            100.0 * d
        )
    }

    fn line(&self) -> String {
        let pct = |a: usize, b: usize| {
            if b == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * a as f64 / b as f64)
            }
        };
        format!(
            "humans {} (challenged {} {}, blocked {} {}), bots {} (allowed {} {})",
            self.humans,
            self.humans_challenged,
            pct(self.humans_challenged, self.humans),
            self.humans_blocked,
            pct(self.humans_blocked, self.humans),
            self.bots,
            self.bots_allowed,
            pct(self.bots_allowed, self.bots)
        )
    }
}

/// The answering model against one shadow model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub model: String,
    pub shadow: String,
    pub records: usize,
    pub agree: usize,
    /// (answer decision, shadow decision) → count, at the given thresholds.
    pub confusion: BTreeMap<(String, String), usize>,
    pub answer_rates: Rates,
    pub shadow_rates: Rates,
}

/// Compare every (model, shadow) pair seen in `records` at thresholds `t`.
pub fn compare(records: &[(AuditRecord, Vec<LabelRecord>)], t: &Thresholds) -> Vec<Comparison> {
    let mut out: BTreeMap<(String, String), Comparison> = BTreeMap::new();
    for (r, labels) in records {
        let Some(s) = &r.shadow else { continue };
        let c = out
            .entry((r.model_id.clone(), s.model_id.clone()))
            .or_insert_with(|| Comparison {
                model: r.model_id.clone(),
                shadow: s.model_id.clone(),
                ..Default::default()
            });
        c.records += 1;
        let (da, ds) = (t.decide(r.score), t.decide(s.score));
        if da == ds {
            c.agree += 1;
        }
        *c.confusion
            .entry((da.as_str().into(), ds.as_str().into()))
            .or_insert(0) += 1;
        if let Some((class, _)) = resolve_class(labels) {
            c.answer_rates.add(class, r.score, t);
            c.shadow_rates.add(class, s.score, t);
        }
    }
    out.into_values().collect()
}

/// Per source: how many of its labels agree / disagree with the class the *other* sources'
/// strong labels give the same verdict (a poisoning check: a source that often disagrees with
/// strong labels should be trusted less, or its labels removed — they are append-only and carry
/// their source, so a bad batch can be dropped before the next export).
pub fn source_agreement(
    records: &[(AuditRecord, Vec<LabelRecord>)],
) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (_, labels) in records {
        for l in labels {
            let Some((class, _)) = l.feedback.evidence() else {
                continue;
            };
            let others: Vec<LabelRecord> = labels
                .iter()
                .filter(|o| o.source != l.source)
                .cloned()
                .collect();
            if let Some((c, super::Strength::Strong)) = resolve_class(&others) {
                let e = out.entry(l.source.clone()).or_insert((0, 0));
                if c == class {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
    }
    out
}

/// Labelled records per answered decision (labels arrive mostly for what was let through:
/// read the rates with this selection in mind).
pub fn labelled_by_decision(
    records: &[(AuditRecord, Vec<LabelRecord>)],
) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (r, labels) in records {
        let e = out.entry(r.decision.clone()).or_insert((0, 0));
        e.1 += 1;
        if resolve_class(labels).is_some() {
            e.0 += 1;
        }
    }
    out
}

/// Wilson 95 % interval of `k` successes in `n`.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let z = 1.96f64;
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * ((p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

/// The selection and source sections of the compare-models report.
pub fn labels_report(records: &[(AuditRecord, Vec<LabelRecord>)]) -> String {
    let mut s = String::from("labelled records per answered decision:\n");
    for (d, (l, n)) in labelled_by_decision(records) {
        let _ = writeln!(s, "  {d:9} {l} of {n}");
    }
    let agree = source_agreement(records);
    if !agree.is_empty() {
        s.push_str("label sources vs other sources' strong labels (agree / disagree):\n");
        for (src, (a, d)) in agree {
            let _ = writeln!(s, "  {src:12} {a} / {d}");
        }
    }
    s
}

/// Population stability index of two score samples over ten equal bins of [0, 1] (each bin
/// floored at 0.5 / n so an empty bin stays finite). Below 0.1: stable; 0.1–0.25: a shift worth a
/// look; above 0.25: the population or the model's behaviour changed.
pub fn psi(before: &[f64], after: &[f64]) -> f64 {
    let hist = |xs: &[f64]| {
        let mut h = [0f64; 10];
        for &x in xs {
            h[((x.clamp(0.0, 1.0) * 10.0) as usize).min(9)] += 1.0;
        }
        let n = xs.len().max(1) as f64;
        h.map(|c| (c / n).max(0.5 / n))
    };
    let (a, b) = (hist(before), hist(after));
    a.iter().zip(&b).map(|(p, q)| (q - p) * (q / p).ln()).sum()
}

/// Drift between the older and the newer half of the records (by time): score PSI overall and
/// per browser family (at least 20 records in each half), and each reason's rate in both halves.
pub fn drift_report(records: &[(AuditRecord, Vec<LabelRecord>)]) -> String {
    let mut s = String::new();
    if records.len() < 40 {
        let _ = writeln!(
            s,
            "drift: too few records ({}) to compare halves",
            records.len()
        );
        return s;
    }
    let mut sorted: Vec<&AuditRecord> = records.iter().map(|(r, _)| r).collect();
    sorted.sort_by_key(|r| r.time_ms);
    let (old, new) = sorted.split_at(sorted.len() / 2);
    let scores = |rs: &[&AuditRecord], f: &dyn Fn(&AuditRecord) -> bool| -> Vec<f64> {
        rs.iter().filter(|r| f(r)).map(|r| r.score).collect()
    };
    let all = |_: &AuditRecord| true;
    let _ = writeln!(
        s,
        "drift (older {} vs newer {} records): score PSI {:.3}",
        old.len(),
        new.len(),
        psi(&scores(old, &all), &scores(new, &all))
    );
    let families: std::collections::BTreeSet<&str> =
        sorted.iter().map(|r| r.browser.as_str()).collect();
    for f in families {
        let is = |r: &AuditRecord| r.browser == f;
        let (a, b) = (scores(old, &is), scores(new, &is));
        if a.len() >= 20 && b.len() >= 20 {
            let _ = writeln!(
                s,
                "  browser {f:16} PSI {:.3} ({} / {})",
                psi(&a, &b),
                a.len(),
                b.len()
            );
        }
    }
    let rate = |rs: &[&AuditRecord], reason: &str| {
        rs.iter()
            .filter(|r| r.reasons.iter().any(|x| x == reason))
            .count() as f64
            / rs.len().max(1) as f64
    };
    let reasons: std::collections::BTreeSet<&str> = sorted
        .iter()
        .flat_map(|r| r.reasons.iter().map(String::as_str))
        .collect();
    for r in reasons {
        let _ = writeln!(
            s,
            "  reason {r:24} {:.1}% -> {:.1}%",
            100.0 * rate(old, r),
            100.0 * rate(new, r)
        );
    }
    s
}

/// A printable report of [`compare`].
pub fn comparison_report(cs: &[Comparison], t: &Thresholds) -> String {
    let mut s = String::new();
    if cs.is_empty() {
        s.push_str("no records with a shadow score\n");
    }
    for c in cs {
        let _ = writeln!(
            s,
            "model {} vs shadow {}: {} records, agreement {:.1}% at allow {} / block {}",
            c.model,
            c.shadow,
            c.records,
            100.0 * c.agree as f64 / c.records.max(1) as f64,
            t.allow,
            t.block
        );
        for ((a, b), n) in &c.confusion {
            let _ = writeln!(s, "  answer {a:9} shadow {b:9} {n}");
        }
        let _ = writeln!(
            s,
            "  labelled, answer {}: {}",
            c.model,
            c.answer_rates.line()
        );
        let _ = writeln!(
            s,
            "  labelled, shadow {}: {}",
            c.shadow,
            c.shadow_rates.line()
        );
    }
    s
}

/// Which recorded score to calibrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Answer,
    Shadow,
}

/// The operator's targets.
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    /// Largest share of labelled humans scored below `allow` (challenged or blocked).
    pub humans_challenged: f64,
    /// Largest share of labelled humans scored below `block`.
    pub humans_blocked: f64,
    /// Fewest labelled humans to calibrate on.
    pub min_humans: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("only {have} labelled humans (need at least {need}): label more traffic first")]
    TooFew { have: usize, need: usize },
    #[error("targets must satisfy 0 <= humans_blocked <= humans_challenged < 1")]
    Targets,
}

/// The proposed thresholds and what they would have done.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub thresholds: Thresholds,
    pub before: Rates,
    pub after: Rates,
}

fn scores(records: &[(AuditRecord, Vec<LabelRecord>)], which: Which) -> Vec<(Class, f64)> {
    records
        .iter()
        .filter_map(|(r, l)| {
            let (class, _) = resolve_class(l)?;
            let score = match which {
                Which::Answer => r.score,
                Which::Shadow => r.shadow.as_ref()?.score,
            };
            Some((class, score))
        })
        .collect()
}

/// Largest threshold (3 decimals, rounded down) below which at most `k` of the sorted scores
/// fall.
fn threshold_at(sorted: &[f64], k: usize) -> f64 {
    let v = if k >= sorted.len() { 1.0 } else { sorted[k] };
    ((v * 1000.0).floor() / 1000.0).clamp(0.0, 1.0)
}

/// Thresholds from the labelled humans' scores: `block` at the `humans_blocked` quantile,
/// `allow` at the `humans_challenged` quantile, both rounded down so the targets hold on this
/// data.
pub fn calibrate(
    records: &[(AuditRecord, Vec<LabelRecord>)],
    current: &Thresholds,
    which: Which,
    targets: Targets,
) -> Result<Calibration, CalibrateError> {
    if !(0.0..1.0).contains(&targets.humans_challenged)
        || !(0.0..=targets.humans_challenged).contains(&targets.humans_blocked)
    {
        return Err(CalibrateError::Targets);
    }
    let s = scores(records, which);
    let mut humans: Vec<f64> = s
        .iter()
        .filter(|(c, _)| *c == Class::Human)
        .map(|(_, v)| *v)
        .collect();
    if humans.len() < targets.min_humans.max(1) {
        return Err(CalibrateError::TooFew {
            have: humans.len(),
            need: targets.min_humans.max(1),
        });
    }
    humans.sort_by(f64::total_cmp);
    let n = humans.len() as f64;
    let block = threshold_at(&humans, (targets.humans_blocked * n).floor() as usize);
    let allow = threshold_at(&humans, (targets.humans_challenged * n).floor() as usize).max(block);
    let thresholds = Thresholds { allow, block };
    let mut before = Rates::default();
    let mut after = Rates::default();
    for (c, v) in &s {
        before.add(*c, *v, current);
        after.add(*c, *v, &thresholds);
    }
    Ok(Calibration {
        thresholds,
        before,
        after,
    })
}

/// A printable report of [`calibrate`] with the config snippet (never applied automatically).
pub fn calibration_report(sitekey: &str, current: &Thresholds, c: &Calibration) -> String {
    format!(
        "current allow {} / block {}: {}\nproposed allow {} / block {}: {}\n\n# review, then put this under the site's [[sites]] entry and reload (SIGHUP):\n# [[sites]]\n# sitekey = {:?}\npolicy = {{ allow = {}, block = {} }}\n",
        current.allow,
        current.block,
        c.before.line(),
        c.thresholds.allow,
        c.thresholds.block,
        c.after.line_ci(),
        sitekey,
        c.thresholds.allow,
        c.thresholds.block
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Feedback, KeyedHashes, ShadowScore};

    fn rec(
        id: u8,
        score: f64,
        shadow: f64,
        labels: &[(Feedback, &str)],
    ) -> (AuditRecord, Vec<LabelRecord>) {
        let t = Thresholds::default();
        let r = AuditRecord {
            id: format!("{id:032x}"),
            time_ms: u64::from(id),
            site: "s".into(),
            action: String::new(),
            decision: t.decide(score).as_str().into(),
            score,
            reasons: Vec::new(),
            model_id: "a".into(),
            shadow: Some(ShadowScore {
                model_id: "b".into(),
                score: shadow,
                decision: t.decide(shadow).as_str().into(),
            }),
            allow_threshold: t.allow,
            block_threshold: t.block,
            features: BTreeMap::new(),
            contributions: BTreeMap::new(),
            hashes: KeyedHashes::default(),
            browser: "other".into(),
            telemetry: None,
            telemetry_until_ms: None,
        };
        let l = labels
            .iter()
            .map(|(f, src)| LabelRecord {
                id: r.id.clone(),
                site: "s".into(),
                time_ms: 0,
                feedback: *f,
                source: (*src).into(),
            })
            .collect();
        (r, l)
    }

    #[test]
    fn labels_resolve_by_strength_and_conflicts_drop_out() {
        let (_, l) = rec(
            1,
            0.9,
            0.9,
            &[(Feedback::Success, "backend"), (Feedback::Bot, "analyst")],
        );
        assert_eq!(
            resolve_class(&l),
            Some((Class::Bot, crate::audit::Strength::Strong))
        );
        let (_, l) = rec(1, 0.9, 0.9, &[(Feedback::Human, "a"), (Feedback::Bot, "b")]);
        assert_eq!(resolve_class(&l), None);
        let (_, l) = rec(1, 0.9, 0.9, &[(Feedback::Locked, "backend")]);
        assert_eq!(resolve_class(&l), None);
    }

    #[test]
    fn compare_counts_rates_at_the_thresholds() {
        let recs = vec![
            rec(1, 0.9, 0.3, &[(Feedback::Human, "analyst")]),
            rec(2, 0.7, 0.1, &[(Feedback::Bot, "analyst")]),
            rec(3, 0.1, 0.1, &[]),
        ];
        let t = Thresholds::default();
        let c = &compare(&recs, &t)[0];
        assert_eq!((c.records, c.agree), (3, 1));
        assert_eq!(c.answer_rates.bots_allowed, 1);
        assert_eq!(c.shadow_rates.bots_allowed, 0);
        assert_eq!(c.shadow_rates.humans_challenged, 1);
        assert_eq!(c.shadow_rates.humans_blocked, 0);
        assert_eq!(c.confusion[&("allow".to_string(), "block".to_string())], 1);
    }

    #[test]
    fn calibrate_meets_the_targets_on_its_data_and_refuses_thin_data() {
        let mut recs: Vec<_> = (0..100u8)
            .map(|i| {
                rec(
                    i,
                    0.3 + f64::from(i) * 0.007,
                    0.5,
                    &[(Feedback::Human, "analyst")],
                )
            })
            .collect();
        recs.extend((100..120u8).map(|i| rec(i, 0.35, 0.5, &[(Feedback::Bot, "analyst")])));
        let t = Thresholds::default();
        let targets = Targets {
            humans_challenged: 0.1,
            humans_blocked: 0.02,
            min_humans: 50,
        };
        let c = calibrate(&recs, &t, Which::Answer, targets).unwrap();
        assert!(c.after.humans_challenged <= 10, "{c:?}");
        assert!(c.after.humans_blocked <= 2, "{c:?}");
        assert!(c.thresholds.block <= c.thresholds.allow);
        // The default allow (0.6) challenges 43 of these humans; the proposal far fewer.
        assert_eq!(c.before.humans_challenged, 43);
        assert_eq!(c.after.bots, 20);
        assert!(matches!(
            calibrate(&recs[..40], &t, Which::Answer, targets),
            Err(CalibrateError::TooFew { have: 40, need: 50 })
        ));
        let bad = Targets {
            humans_blocked: 0.5,
            ..targets
        };
        assert_eq!(
            calibrate(&recs, &t, Which::Answer, bad),
            Err(CalibrateError::Targets)
        );
    }

    #[test]
    fn psi_is_zero_for_equal_and_large_for_shifted_scores() {
        let a: Vec<f64> = (0..200).map(|i| f64::from(i) / 200.0).collect();
        assert!(psi(&a, &a).abs() < 1e-12);
        let b: Vec<f64> = a.iter().map(|x| (x * 0.5 + 0.5).min(1.0)).collect();
        assert!(psi(&a, &b) > 0.25, "{}", psi(&a, &b));
        assert!(psi(&[], &[]).is_finite());
        let mut recs: Vec<_> = (0..60u8).map(|i| rec(i, 0.9, 0.9, &[])).collect();
        for (r, _) in recs.iter_mut().skip(30) {
            r.score = 0.1;
            r.reasons = vec!["automation".into()];
        }
        let d = drift_report(&recs);
        assert!(d.contains("reason automation"), "{d}");
        assert!(d.contains("0.0% -> 100.0%"), "{d}");
        assert!(d.contains("browser other"), "{d}");
    }

    #[test]
    fn a_source_disagreeing_with_strong_labels_shows() {
        let recs = vec![
            rec(
                1,
                0.9,
                0.9,
                &[(Feedback::Bot, "analyst"), (Feedback::Success, "crowd")],
            ),
            rec(
                2,
                0.9,
                0.9,
                &[(Feedback::Bot, "analyst"), (Feedback::BadPassword, "crowd")],
            ),
        ];
        let a = source_agreement(&recs);
        assert_eq!(a["crowd"], (1, 1));
        assert!(!a.contains_key("analyst"), "only weak labels elsewhere");
        let (lo, hi) = wilson(0, 20);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.161).abs() < 0.001, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }
}
