//! Adversarial rounds (`tollgate-intel adversarial`): train, generate many candidate bots from
//! every generator (each session draws its own parameters), score them with the current model,
//! add the ones it finds most human to the training set, retrain; report every round.
//!
//! Per round the report gives, for a **fixed held-out batch** of generated bots (its own seed,
//! never trained on; the same batch every round, so rounds compare), the share each family's
//! bots the round's model allows; and humans blocked / challenged+blocked by subject-wise
//! cross-validation on the round's training set (so the hard bots' effect on people is measured
//! on people the model did not see). Candidates are drawn from fresh seeds each round; bots built
//! from human recordings (`human-splice`, `type-digraph`, `retimed-human`) keep their source's
//! subject, so the CV never scores a human with a model that trained on bots made from them.
//! Replayed copies (`replay-human*`) are never candidates: only the hash store catches them.
//!
//! Added bots get the source `<source>-adv` ([`SOURCE_SUFFIX`]): the class balancing
//! (`train::balance_weights`, weight ∝ 1/√n per source/label/family group) then gives the hard
//! examples a group of their own instead of diluting them among their generator's easy
//! sessions; LOFO still counts them in their generator's family.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tollgate_model::features::Features;
use tollgate_model::model::{Decision, ReplayEvidence};

use super::cli::{Dataset, features_parallel};
use super::eval::headline;
use super::lofo::families_of;
use super::synth::{SynthOptions, generate};
use super::train::{FitOptions, cross_validate, fit_calibrated};
use super::{IntelError, Label, Record};

/// Suffix of the source of the bots added by the rounds.
pub const SOURCE_SUFFIX: &str = "-adv";

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct AdversarialOptions {
    pub seed: u64,
    /// Rounds of "generate, pick the most human, retrain" (round 0 is the baseline model).
    pub rounds: usize,
    /// Candidate batch per round, as a multiplier of the default synthetic counts.
    pub candidate_scale: f64,
    /// Candidates added per round (the highest-scoring ones).
    pub keep: usize,
    /// Held-out evaluation batch, as a multiplier of the default synthetic counts.
    pub eval_scale: f64,
    /// Subject-wise folds for the human rates (< 2: no CV, human rates in-sample).
    pub folds: usize,
    pub fit: FitOptions,
}

/// One round's figures.
#[derive(Debug, Clone, Default)]
pub struct RoundRow {
    pub round: usize,
    /// Adversarial bots in the training set when this round's model was fitted.
    pub added: usize,
    /// Per family of the held-out batch: (bots, allowed).
    pub families: BTreeMap<String, (usize, usize)>,
    pub humans_blocked: f64,
    pub humans_challenged_or_blocked: f64,
    pub auc: Option<f64>,
    /// Whether the human rates are out-of-fold (CV) or in-sample.
    pub cv: bool,
}

impl RoundRow {
    pub fn bots_allowed(&self) -> f64 {
        let (n, a) = self
            .families
            .values()
            .fold((0, 0), |acc, (n, a)| (acc.0 + n, acc.1 + a));
        if n == 0 { 0.0 } else { a as f64 / n as f64 }
    }
}

/// Generated bots usable as candidates or evaluation: trainable ones only.
fn batch(seed: u64, scale: f64, humans: &[Record], tag: &str) -> Vec<Record> {
    generate(&SynthOptions::scaled(seed, scale), humans)
        .into_iter()
        .filter(|r| r.trainable)
        .map(|mut r| {
            r.id = format!("{tag}/{}", r.id);
            r
        })
        .collect()
}

/// Run the loop on a loaded dataset (trace records + default synthetic bots). Prints one line per
/// round to stderr as it goes and returns the rows.
pub fn run(mut ds: Dataset, opts: &AdversarialOptions) -> Result<Vec<RoundRow>, IntelError> {
    if opts.keep == 0 && opts.rounds > 0 {
        return Err(IntelError::Option("--keep must be at least 1".into()));
    }
    let humans: Vec<Record> = ds
        .records
        .iter()
        .filter(|r| r.label == Label::Human && !r.derived)
        .cloned()
        .collect();
    let eval = batch(
        opts.seed ^ 0x00e7_a1ba_7c4e,
        opts.eval_scale,
        &humans,
        "heldout",
    );
    let eval_feats = features_parallel(&eval);
    let eval_fams: Vec<Vec<String>> = eval.iter().map(families_of).collect();
    let mut rows = Vec::new();
    let mut added = 0;
    for round in 0..=opts.rounds {
        let all: Vec<usize> = (0..ds.records.len()).collect();
        let model = fit_calibrated(&ds.records, &ds.feats, &all, &opts.fit)?;
        let mut row = RoundRow {
            round,
            added,
            cv: opts.folds >= 2,
            ..Default::default()
        };
        for (f, fams) in eval_feats.iter().zip(&eval_fams) {
            let allowed = model.score(f, ReplayEvidence::default()).decision == Decision::Allow;
            for fam in fams {
                let e = row.families.entry(fam.clone()).or_default();
                e.0 += 1;
                e.1 += usize::from(allowed);
            }
        }
        let scored = if opts.folds >= 2 {
            cross_validate(
                &ds.records,
                &ds.feats,
                &ds.replay,
                opts.folds,
                opts.seed,
                &opts.fit,
            )?
            .0
        } else {
            ds.feats
                .iter()
                .zip(&ds.replay)
                .map(|(f, r)| model.score(f, *r))
                .collect()
        };
        let (auc, hb, hc, _) = headline(&ds.records, &scored);
        row.auc = auc;
        row.humans_blocked = hb;
        row.humans_challenged_or_blocked = hc;
        eprintln!(
            "  round {round}: {} adversarial bots in training, held-out bots allowed {:.2}%, humans blocked {:.3}% ch+bl {:.3}%",
            added,
            100.0 * row.bots_allowed(),
            100.0 * hb,
            100.0 * hc
        );
        rows.push(row);
        if round == opts.rounds {
            break;
        }
        // Candidates from a fresh seed per round, scored by this round's model.
        let cand = batch(
            opts.seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(round as u64 + 1),
            opts.candidate_scale,
            &humans,
            &format!("adv{}", round + 1),
        );
        let feats: Vec<Features> = features_parallel(&cand);
        let scores: Vec<f64> = feats
            .iter()
            .map(|f| model.score(f, ReplayEvidence::default()).p_human)
            .collect();
        let take = most_human(&scores, opts.keep);
        for ((r, f), t) in cand.into_iter().zip(feats).zip(take) {
            if t {
                let mut r = r;
                r.source = format!("{}{SOURCE_SUFFIX}", r.source);
                ds.records.push(r);
                ds.feats.push(f);
                ds.replay.push(ReplayEvidence::default());
                ds.replay_other_subject.push(0);
                added += 1;
            }
        }
    }
    Ok(rows)
}

/// Which candidates to add: the `keep` highest scores (ties: the earlier candidate).
pub fn most_human(scores: &[f64], keep: usize) -> Vec<bool> {
    let mut order: Vec<(f64, usize)> = scores.iter().copied().zip(0..).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut take = vec![false; scores.len()];
    for (_, i) in order.iter().take(keep) {
        take[*i] = true;
    }
    take
}

/// The per-round table and the per-family matrix (held-out bots allowed, % per round).
pub fn table(rows: &[RoundRow]) -> String {
    let mut o = String::new();
    let cv = rows.first().is_some_and(|r| r.cv);
    let _ = writeln!(
        o,
        "== adversarial rounds (held-out generated batch, fixed seed; humans {}) ==",
        if cv {
            "out-of-fold by subject-wise CV"
        } else {
            "in-sample"
        }
    );
    let _ = writeln!(
        o,
        "{:>5} {:>9} {:>12} {:>9} {:>9} {:>7}",
        "round", "adv.bots", "bots allowed", "h.block", "h.ch+bl", "AUC"
    );
    for r in rows {
        let _ = writeln!(
            o,
            "{:>5} {:>9} {:>11.2}% {:>8.3}% {:>8.3}% {:>7}",
            r.round,
            r.added,
            100.0 * r.bots_allowed(),
            100.0 * r.humans_blocked,
            100.0 * r.humans_challenged_or_blocked,
            r.auc.map_or("-".into(), |a| format!("{a:.4}"))
        );
    }
    let fams: Vec<&String> = rows
        .first()
        .map(|r| r.families.keys().collect())
        .unwrap_or_default();
    let _ = write!(o, "{:<28} {:>6}", "held-out bots allowed", "bots");
    for r in rows {
        let _ = write!(o, " {:>8}", format!("r{}", r.round));
    }
    let _ = writeln!(o);
    for f in fams {
        let n = rows[0].families[f].0;
        let _ = write!(o, "{f:<28} {n:>6}");
        for r in rows {
            let (n, a) = r.families.get(f).copied().unwrap_or_default();
            let v = if n == 0 { 0.0 } else { a as f64 / n as f64 };
            let _ = write!(o, " {:>7.2}%", 100.0 * v);
        }
        let _ = writeln!(o);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::generate_strong;

    /// Humans the generators cannot imitate exactly: long Gaussian-jittered frame timing, bowed
    /// paths, human typing timing; bots: the default synthetic mix.
    fn toy_dataset() -> Dataset {
        use crate::rng::Rng;
        use tollgate_model::features::{Key, Pt, Session};
        use tollgate_protocol::telemetry::{key_class, pointer_kind, pointer_type};
        let mut rng = Rng::new(17);
        let mut records = Vec::new();
        for i in 0..60 {
            let mut pointer = Vec::new();
            let mut t = 0.0;
            for s in 0..4 {
                let (x0, y0) = (rng.range(0.0, 800.0), rng.range(0.0, 600.0));
                let (dx, dy) = (rng.range(150.0, 500.0), rng.range(-200.0, 200.0));
                let bow = rng.range(-80.0, 80.0);
                for k in 0..30 {
                    t += rng.gauss(16.7, 5.0).max(4.0);
                    let u = k as f64 / 29.0;
                    let e = u * u * (3.0 - 2.0 * u);
                    pointer.push(Pt {
                        t_ms: t,
                        kind: pointer_kind::MOVE,
                        x: x0 + dx * e + bow * (std::f64::consts::PI * e).sin(),
                        y: y0 + dy * e + rng.gauss(0.0, 0.7),
                        buttons: 0,
                        ptype: pointer_type::MOUSE,
                        pressure: None,
                        trusted: None,
                        coalesced: false,
                    });
                }
                t += rng.range(200.0, 900.0) + f64::from(s);
            }
            let mut keys = Vec::new();
            let mut kt = t;
            for k in 0..30 {
                kt += rng.range(60.0, 400.0);
                keys.push(Key {
                    down_ms: kt,
                    up_ms: kt + rng.range(60.0, 160.0),
                    class: if k % 6 == 5 {
                        key_class::SPACE
                    } else {
                        key_class::CHAR
                    },
                    unreleased: false,
                });
            }
            let mut session = Session {
                pointer,
                keys,
                ..Default::default()
            };
            session.sanitize();
            records.push(Record {
                id: format!("toy/{i}"),
                source: "toy".into(),
                subject: format!("p{}", i % 20),
                label: Label::Human,
                generator: None,
                session,
                trainable: true,
                derived: false,
            });
        }
        let humans = records.clone();
        records.extend(generate(&SynthOptions::scaled(2, 0.02), &humans));
        records.extend(generate_strong(&SynthOptions::scaled(3, 0.02), &humans));
        let feats = features_parallel(&records);
        let n = records.len();
        Dataset {
            records,
            feats,
            replay: vec![ReplayEvidence::default(); n],
            replay_other_subject: vec![0; n],
        }
    }

    #[test]
    fn the_most_human_scored_candidates_are_kept() {
        let s = [0.2, 0.9, 0.5, 0.9, 0.1, 0.7];
        assert_eq!(most_human(&s, 3), [false, true, false, true, false, true]);
        assert_eq!(most_human(&s, 0), [false; 6]);
        assert_eq!(most_human(&s, 10), [true; 6]);
        assert_eq!(most_human(&[0.5, 0.5], 1), [true, false]);
    }

    #[test]
    fn rounds_add_the_most_human_candidates_and_report_each_round() {
        let ds = toy_dataset();
        let n0 = ds.records.len();
        let opts = AdversarialOptions {
            seed: 5,
            rounds: 2,
            candidate_scale: 0.01,
            keep: 7,
            eval_scale: 0.01,
            folds: 0,
            fit: FitOptions {
                boost: crate::boost::BoostOptions {
                    trees: 5,
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        let rows = run(ds, &opts).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.iter().map(|r| r.added).collect::<Vec<_>>(), [0, 7, 14]);
        // The held-out batch is the same every round and covers the strong families.
        let counts = |r: &RoundRow| -> Vec<(String, usize)> {
            r.families.iter().map(|(k, v)| (k.clone(), v.0)).collect()
        };
        for r in &rows {
            assert_eq!(counts(r), counts(&rows[0]));
        }
        for f in [
            "synthetic/windmouse",
            "synthetic/min-jerk",
            "synthetic/human-splice",
        ] {
            assert!(rows[0].families.contains_key(f), "{f}");
        }
        let t = table(&rows);
        assert!(
            t.contains("synthetic/windmouse") && t.lines().count() > 6,
            "{t}"
        );
        assert!(n0 > 0);
        let bad = AdversarialOptions { keep: 0, ..opts };
        assert!(run(toy_dataset(), &bad).is_err());
    }
}
