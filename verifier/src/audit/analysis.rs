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
        c.after.line(),
        sitekey,
        c.thresholds.allow,
        c.thresholds.block
    )
}
