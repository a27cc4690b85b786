//! Leave-one-family-out cross-validation: how the model does on a bot *family* it has never seen.
//!
//! Every bot family (see [`FAMILIES`]) is held out in turn. For each held-out family `F` the
//! records are dealt into the same subject-wise folds as the subject-wise CV
//! ([`train::assign_folds`](crate::train::assign_folds), same seed); for each fold `j` a model
//! is fitted — through the same [`train::fit_calibrated`](crate::train::fit_calibrated) as
//! subject-wise CV and `train`, so its calibration thresholds are cross-fitted on its own
//! training humans — on
//! - every record not of family `F`, except those whose subject is a human subject of fold `j`
//!   (the held-out humans, their derived windows, and bots made from their traces:
//!   `retimed-human`, `replay-human*`), and
//! - it scores the humans of fold `j` and the family-`F` bots of fold `j`.
//!
//! So every human is scored once per held-out family by a model that saw neither that human nor
//! that family, and every family-`F` bot exactly once by a model that never saw family `F`. Other
//! families' bots stay in training whatever their fold (a DELBOT tool is one "subject", so a fold
//! rule would silently drop a second tool from some folds); only bots built from held-out humans
//! are removed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use tollgate_model::features::Features;
use tollgate_model::model::{Decision, ReplayEvidence, Scored};

use super::eval::auc;
use super::train::{FitOptions, assign_folds, fit_calibrated};
use super::{IntelError, Label, Record};

/// One bot family: generator tools of one source that share their mechanism and differ only in
/// a parameter (usually the timing), so holding out one member while training on another would
/// not test an *unseen* generator.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    pub name: &'static str,
    pub source: &'static str,
    /// Tool names: the generator's prefix before `:` (each `+`-joined part of a combined
    /// pointer+keys generator name is looked up separately).
    pub members: &'static [&'static str],
}

/// The grouping, explicit. Synthetic (`intel::synth`):
/// - `linear`: `linear-burst` + `linear-steps` — Puppeteer `mouse.move(…, {steps})`, the same
///   collinear equal steps, back-to-back or with constant delays (same pairing as ghost-cursor);
/// - `bezier-eased`: two-sided Bézier with easing ("humanized" libraries);
/// - `ghost-cursor`: `ghost-cursor` + `ghost-cursor-timed` — the same paths, timing only differs;
/// - `human-derived`: `retimed-human` + `replay-human` + `replay-human-rounded` — recorded human
///   trajectories reused (re-timed, or replayed rotated/scaled); replays are never trained on
///   anyway (caught only by the hash store), retimed ones are;
/// - `type-const`: Puppeteer `keyboard.type` with a constant or zero delay (a different tool
///   from the humanisers);
/// - `type-random`: `type-gauss` + `type-uniform` — "humanized typing" add-ons drawing an
///   independent random delay per key; Gaussian vs uniform is a parameter of the same tool;
/// - `type-skewed`: the same kind of tool with right-skewed delays (shifted-exponential,
///   log-normal, Erlang). Its own family, so that LOFO measures whether symmetric delays teach
///   the model anything about skewed ones.
///
/// The stronger generators (`intel::synth` module docs), one family each:
/// - `windmouse`: WindMouse paths (SRL waits or an OS tick);
/// - `min-jerk`: superposed minimum-jerk sub-movements with noise;
/// - `ghost-cursor-os`: ghost-cursor geometry through OS-level input (random per-step delays or
///   a 60–125 Hz tick). It shares its path geometry with `ghost-cursor`, which stays in training
///   when it is held out: its row measures whether the *timing* generalises;
/// - `human-splice`: one human's strokes spliced / time-warped onto new targets;
/// - `type-digraph`: keystroke timing drawn from one typist's class-pair samples;
/// - `reading-lines`: Selenium "reading" bots (constant steps along text lines, near-constant
///   delays).
///
/// DELBOT's four real tools (`gan`, `pynput`, `naturalmousemotion`, `pyhm`) are one family
/// each. A synthetic login session with typing (`<pointer>:login+<keys>:<variant>`) belongs to
/// both its pointer and its key family. A tool in no entry here becomes its own family
/// (`<source>/<tool>`), so nothing is silently left out.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "synthetic/linear",
        source: "synthetic",
        members: &["linear-burst", "linear-steps"],
    },
    Family {
        name: "synthetic/bezier-eased",
        source: "synthetic",
        members: &["bezier-eased"],
    },
    Family {
        name: "synthetic/ghost-cursor",
        source: "synthetic",
        members: &["ghost-cursor", "ghost-cursor-timed"],
    },
    Family {
        name: "synthetic/human-derived",
        source: "synthetic",
        members: &["retimed-human", "replay-human", "replay-human-rounded"],
    },
    Family {
        name: "synthetic/type-const",
        source: "synthetic",
        members: &["type-const"],
    },
    Family {
        name: "synthetic/type-random",
        source: "synthetic",
        members: &["type-gauss", "type-uniform"],
    },
    Family {
        name: "synthetic/type-skewed",
        source: "synthetic",
        members: &["type-skewed"],
    },
    Family {
        name: "synthetic/windmouse",
        source: "synthetic",
        members: &["windmouse"],
    },
    Family {
        name: "synthetic/min-jerk",
        source: "synthetic",
        members: &["min-jerk"],
    },
    Family {
        name: "synthetic/ghost-cursor-os",
        source: "synthetic",
        members: &["ghost-cursor-os"],
    },
    Family {
        name: "synthetic/human-splice",
        source: "synthetic",
        members: &["human-splice"],
    },
    Family {
        name: "synthetic/reading-lines",
        source: "synthetic",
        members: &["reading-lines"],
    },
    Family {
        name: "synthetic/type-digraph",
        source: "synthetic",
        members: &["type-digraph"],
    },
    Family {
        name: "delbot/gan",
        source: "delbot",
        members: &["gan"],
    },
    Family {
        name: "delbot/pynput",
        source: "delbot",
        members: &["pynput"],
    },
    Family {
        name: "delbot/naturalmousemotion",
        source: "delbot",
        members: &["naturalmousemotion"],
    },
    Family {
        name: "delbot/pyhm",
        source: "delbot",
        members: &["pyhm"],
    },
];

/// The families a record belongs to (empty for humans; a bot without a generator is its own
/// `<source>/unknown` family).
pub fn families_of(r: &Record) -> Vec<String> {
    if r.label != Label::Bot {
        return Vec::new();
    }
    let g = r.generator.as_deref().unwrap_or("unknown");
    // Bots added by adversarial rounds (`<source>-adv`) belong to their generator's family.
    let source = r
        .source
        .strip_suffix(crate::adversarial::SOURCE_SUFFIX)
        .unwrap_or(&r.source);
    let mut out: Vec<String> = Vec::new();
    for part in g.split('+') {
        let tool = part.split(':').next().unwrap_or(part);
        let name = FAMILIES
            .iter()
            .find(|f| f.source == source && f.members.contains(&tool))
            .map(|f| f.name.to_string())
            .unwrap_or_else(|| format!("{source}/{tool}"));
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// One fit of the LOFO plan: held-out `family`, subject fold `fold`; `train` record indices (the
/// fit keeps only trainable ones) and `test` record indices (fold humans + fold family bots).
#[derive(Debug, Clone)]
pub struct Job {
    pub family: String,
    pub fold: usize,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Build the plan: every family present among the bots × `k` subject folds (see the module
/// docs for who trains and who is scored).
pub fn plan(records: &[Record], k: usize, seed: u64) -> Result<Vec<Job>, IntelError> {
    if k < 2 {
        return Err(IntelError::Option("LOFO needs at least 2 folds".into()));
    }
    let folds = assign_folds(records, k, seed);
    let fams: Vec<Vec<String>> = records.iter().map(families_of).collect();
    let all: BTreeSet<&String> = fams.iter().flatten().collect();
    let humans: HashSet<&str> = records
        .iter()
        .filter(|r| r.label == Label::Human)
        .map(|r| r.subject.as_str())
        .collect();
    let mut jobs = Vec::new();
    for family in all {
        for fold in 0..k {
            let held_human_subject =
                |i: usize| folds[i] == fold && humans.contains(records[i].subject.as_str());
            let in_family = |i: usize| fams[i].contains(family);
            let train = (0..records.len())
                .filter(|&i| !in_family(i) && !held_human_subject(i))
                .collect();
            let test = (0..records.len())
                .filter(|&i| {
                    folds[i] == fold
                        && match records[i].label {
                            Label::Human => true,
                            Label::Bot => in_family(i),
                        }
                })
                .collect();
            jobs.push(Job {
                family: family.clone(),
                fold,
                train,
                test,
            });
        }
    }
    Ok(jobs)
}

/// One out-of-family score.
#[derive(Debug, Clone)]
pub struct LofoScore {
    pub family: String,
    pub fold: usize,
    pub record: usize,
    pub scored: Scored,
}

/// Run the plan: one calibrated fit per job (jobs in parallel on up to `threads` threads; each
/// fit is single-threaded and deterministic, so the result does not depend on `threads`).
pub fn run(
    records: &[Record],
    feats: &[Features],
    replay: &[ReplayEvidence],
    k: usize,
    seed: u64,
    opts: &FitOptions,
    threads: usize,
) -> Result<Vec<LofoScore>, IntelError> {
    let jobs = plan(records, k, seed)?;
    let total = jobs.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    let results: Vec<Result<Vec<LofoScore>, IntelError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.clamp(1, total.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(n) else { break };
                        let model = fit_calibrated(records, feats, &job.train, opts)?;
                        for &i in &job.test {
                            out.push(LofoScore {
                                family: job.family.clone(),
                                fold: job.fold,
                                record: i,
                                scored: model.score(&feats[i], replay[i]),
                            });
                        }
                        eprintln!(
                            "  lofo {}/{total}: held out {} fold {}/{k}, trained on {} records, scored {} ({:.0} s)",
                            n + 1,
                            job.family,
                            job.fold + 1,
                            job.train.len(),
                            job.test.len(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(IntelError::Numeric)))
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    // Plan order, independent of thread scheduling.
    all.sort_by(|a, b| {
        (a.family.as_str(), a.fold, a.record).cmp(&(b.family.as_str(), b.fold, b.record))
    });
    Ok(all)
}

/// Per held-out family: its bots (allowed, challenged, blocked), the out-of-fold humans of the
/// same runs (blocked, challenged+blocked), AUC (family bots vs those humans) and TPR at the
/// operating point (bots not allowed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyRow {
    pub family: String,
    pub bots: usize,
    pub bots_allow: usize,
    pub bots_challenge: usize,
    pub bots_block: usize,
    pub humans: usize,
    pub humans_block: usize,
    pub humans_challenge: usize,
    pub auc: Option<f64>,
}

impl FamilyRow {
    fn rate(a: usize, n: usize) -> Option<f64> {
        (n > 0).then(|| a as f64 / n as f64)
    }
    pub fn bots_allowed(&self) -> Option<f64> {
        Self::rate(self.bots_allow, self.bots)
    }
    /// TPR at the operating point: bots challenged or blocked.
    pub fn tpr(&self) -> Option<f64> {
        Self::rate(self.bots - self.bots_allow, self.bots)
    }
    pub fn humans_blocked(&self) -> Option<f64> {
        Self::rate(self.humans_block, self.humans)
    }
    pub fn humans_challenged_or_blocked(&self) -> Option<f64> {
        Self::rate(self.humans_block + self.humans_challenge, self.humans)
    }
}

/// Aggregate LOFO scores into one row per family (name order).
pub fn rows(records: &[Record], scores: &[LofoScore]) -> Vec<FamilyRow> {
    let mut m: BTreeMap<&str, (FamilyRow, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in scores {
        let e = m.entry(s.family.as_str()).or_insert_with(|| {
            (
                FamilyRow {
                    family: s.family.clone(),
                    ..Default::default()
                },
                Vec::new(),
                Vec::new(),
            )
        });
        let (row, h, b) = e;
        match records[s.record].label {
            Label::Human => {
                row.humans += 1;
                row.humans_block += usize::from(s.scored.decision == Decision::Block);
                row.humans_challenge += usize::from(s.scored.decision == Decision::Challenge);
                h.push(s.scored.p_human);
            }
            Label::Bot => {
                row.bots += 1;
                match s.scored.decision {
                    Decision::Allow => row.bots_allow += 1,
                    Decision::Challenge => row.bots_challenge += 1,
                    Decision::Block => row.bots_block += 1,
                }
                b.push(s.scored.p_human);
            }
        }
    }
    m.into_values()
        .map(|(mut row, h, b)| {
            row.auc = auc(&h, &b);
            row
        })
        .collect()
}

/// The LOFO table (printed by `tollgate-intel eval --lofo`).
pub fn table(rows: &[FamilyRow], k: usize) -> String {
    let p = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.2}%", 100.0 * v));
    let mut o = String::new();
    let _ = writeln!(
        o,
        "== leave-one-family-out CV (each family held out in turn; humans in subject-wise {k} folds; thresholds from each fit's training humans) =="
    );
    let _ = writeln!(
        o,
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>9} {:>7} {:>8}",
        "held-out family",
        "bots",
        "allowed",
        "chall",
        "blocked",
        "humans",
        "h.block",
        "h.ch+bl",
        "AUC",
        "TPR@op"
    );
    let _ = writeln!(o, "{}", "-".repeat(106));
    for r in rows {
        let _ = writeln!(
            o,
            "{:<28} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>9} {:>7} {:>8}",
            r.family,
            r.bots,
            p(r.bots_allowed()),
            p(FamilyRow::rate(r.bots_challenge, r.bots)),
            p(FamilyRow::rate(r.bots_block, r.bots)),
            r.humans,
            p(r.humans_blocked()),
            p(r.humans_challenged_or_blocked()),
            r.auc.map_or("-".to_string(), |v| format!("{v:.4}")),
            p(r.tpr()),
        );
    }
    let worst = rows
        .iter()
        .filter_map(|r| r.bots_allowed().map(|a| (a, r.family.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let over: Vec<&str> = rows
        .iter()
        .filter(|r| r.bots_allowed().is_some_and(|a| a > 0.10))
        .map(|r| r.family.as_str())
        .collect();
    if let Some((a, f)) = worst {
        let _ = writeln!(
            o,
            "worst held-out family: {f} ({:.2}% allowed); over the 10% target: {}",
            100.0 * a,
            if over.is_empty() {
                "none".to_string()
            } else {
                over.join(", ")
            }
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(source: &str, subject: &str, label: Label, generator: Option<&str>) -> Record {
        Record {
            id: format!("{source}/{subject}/{}", generator.unwrap_or("h")),
            source: source.into(),
            subject: subject.into(),
            label,
            generator: generator.map(str::to_string),
            session: Default::default(),
            trainable: true,
            derived: false,
        }
    }

    /// Small mixed set: 12 human subjects (2 sources, derived windows), every synthetic and
    /// DELBOT family, combined pointer+keys sessions, bots built from human traces, an unknown
    /// tool.
    fn sample() -> Vec<Record> {
        let mut v = Vec::new();
        for s in 0..8 {
            for w in 0..3 {
                let mut r = rec("sapimouse", &format!("user{s}"), Label::Human, None);
                r.id = format!("{}/{w}", r.id);
                v.push(r);
            }
            let mut d = rec("sapimouse-sparse", &format!("user{s}"), Label::Human, None);
            d.derived = true;
            v.push(d);
        }
        for s in ["human_pc1", "human_pc2", "human_vm", "human_tel"] {
            v.push(rec("delbot", s, Label::Human, None));
        }
        for (i, g) in [
            "linear-burst:login",
            "linear-steps:circle",
            "bezier-eased:login",
            "ghost-cursor:circle",
            "ghost-cursor-timed:login",
            "ghost-cursor:login+type-gauss:seq",
            "bezier-eased:login+type-const:hold",
            "type-const:gap",
            "type-uniform",
            "type-gauss:p2p",
            "type-skewed:lognormal",
            "windmouse:login",
            "min-jerk:circle",
            "ghost-cursor-os:login",
            "reading-lines",
            "mystery-tool",
        ]
        .iter()
        .enumerate()
        {
            for j in 0..4 {
                v.push(rec(
                    "synthetic",
                    &format!("synth-x-{}", (i + j) % 10),
                    Label::Bot,
                    Some(g),
                ));
            }
        }
        for (j, g) in [
            "retimed-human:even",
            "replay-human",
            "replay-human-rounded",
            "human-splice:warp",
            "type-digraph",
            "min-jerk:login+type-digraph",
        ]
        .iter()
        .enumerate()
        {
            for s in 0..8 {
                let mut r = rec("synthetic", &format!("user{s}"), Label::Bot, Some(g));
                r.trainable = j == 0 || j > 2;
                v.push(r);
            }
        }
        for t in ["gan", "pynput", "naturalmousemotion", "pyhm"] {
            for _ in 0..3 {
                v.push(rec("delbot", &format!("bot_{t}"), Label::Bot, Some(t)));
            }
        }
        v
    }

    #[test]
    fn family_grouping_is_explicit() {
        let f = |src: &str, g: &str| families_of(&rec(src, "s", Label::Bot, Some(g)));
        assert_eq!(
            f("synthetic", "ghost-cursor-timed:login"),
            ["synthetic/ghost-cursor"]
        );
        assert_eq!(
            f("synthetic", "replay-human-rounded"),
            ["synthetic/human-derived"]
        );
        assert_eq!(
            f("synthetic", "retimed-human:gauss"),
            ["synthetic/human-derived"]
        );
        assert_eq!(f("synthetic", "linear-steps:circle"), ["synthetic/linear"]);
        assert_eq!(f("synthetic", "type-uniform"), ["synthetic/type-random"]);
        assert_eq!(
            f("synthetic", "type-skewed:erlang"),
            ["synthetic/type-skewed"]
        );
        assert_eq!(
            f("synthetic", "ghost-cursor:login+type-const:gap"),
            ["synthetic/ghost-cursor", "synthetic/type-const"]
        );
        assert_eq!(f("delbot", "pyhm"), ["delbot/pyhm"]);
        assert_eq!(f("synthetic", "windmouse:login"), ["synthetic/windmouse"]);
        assert_eq!(
            f("synthetic-adv", "windmouse:login"),
            ["synthetic/windmouse"]
        );
        assert_eq!(
            f("synthetic", "ghost-cursor-os:circle"),
            ["synthetic/ghost-cursor-os"]
        );
        assert_eq!(
            f("synthetic", "human-splice:resample"),
            ["synthetic/human-splice"]
        );
        assert_eq!(
            f("synthetic", "min-jerk:login+type-digraph"),
            ["synthetic/min-jerk", "synthetic/type-digraph"]
        );
        assert_eq!(f("delbot", "brand-new"), ["delbot/brand-new"]);
        assert!(families_of(&rec("delbot", "human_pc1", Label::Human, None)).is_empty());
    }

    #[test]
    fn plan_holds_out_each_family_once_and_keeps_humans_subject_disjoint() {
        let records = sample();
        let k = 4;
        let jobs = plan(&records, k, 7).unwrap();
        let fams: Vec<Vec<String>> = records.iter().map(families_of).collect();
        let expected: BTreeSet<String> = fams.iter().flatten().cloned().collect();
        // All ten named families plus the unknown tool.
        assert_eq!(expected.len(), FAMILIES.len() + 1);
        // Every family held out exactly once, over exactly the k folds.
        let mut seen: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for j in &jobs {
            seen.entry(j.family.as_str()).or_default().push(j.fold);
        }
        assert_eq!(
            seen.keys().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
            expected
        );
        for folds in seen.values() {
            assert_eq!(*folds, (0..k).collect::<Vec<_>>());
        }
        let humans: HashSet<&str> = records
            .iter()
            .filter(|r| r.label == Label::Human)
            .map(|r| r.subject.as_str())
            .collect();
        for family in &expected {
            let jobs: Vec<&Job> = jobs.iter().filter(|j| &j.family == family).collect();
            let mut tested = vec![0usize; records.len()];
            for j in &jobs {
                // No held-out-family bot ever trains.
                assert!(j.train.iter().all(|&i| !fams[i].contains(family)));
                // Humans subject-disjoint: no training record carries a tested human's subject
                // (so neither the human, its derived windows, nor bots made from its traces).
                let test_subjects: HashSet<&str> = j
                    .test
                    .iter()
                    .filter(|&&i| records[i].label == Label::Human)
                    .map(|&i| records[i].subject.as_str())
                    .collect();
                assert!(!test_subjects.is_empty());
                assert!(
                    j.train
                        .iter()
                        .all(|&i| !test_subjects.contains(records[i].subject.as_str()))
                );
                // Tested bots are of the held-out family only; train and test are disjoint.
                for &i in &j.test {
                    assert!(records[i].label == Label::Human || fams[i].contains(family));
                    assert!(!j.train.contains(&i));
                    tested[i] += 1;
                }
                // Training keeps both classes and the other families' bots.
                assert!(j.train.iter().any(|&i| records[i].label == Label::Human));
                for other in expected.iter().filter(|f| *f != family) {
                    let only_human_derived = other == "synthetic/human-derived";
                    let present = j.train.iter().any(|&i| fams[i].contains(other));
                    assert!(present || only_human_derived, "{family}: {other} missing");
                }
            }
            // Every human scored exactly once per family, every family bot exactly once, no
            // other bot ever.
            for (i, r) in records.iter().enumerate() {
                let want = usize::from(r.label == Label::Human || fams[i].contains(family));
                assert_eq!(tested[i], want, "{family}: {}", r.id);
            }
        }
        assert!(humans.len() >= k);
        // Deterministic for a seed.
        let again = plan(&records, k, 7).unwrap();
        assert!(
            jobs.iter()
                .zip(&again)
                .all(|(a, b)| a.train == b.train && a.test == b.test)
        );
        assert!(plan(&records, 1, 7).is_err());
    }

    #[test]
    fn rows_count_decisions_and_rank() {
        let records = vec![
            rec("a", "h1", Label::Human, None),
            rec("a", "h2", Label::Human, None),
            rec("synthetic", "s", Label::Bot, Some("type-const")),
            rec("synthetic", "s", Label::Bot, Some("type-const")),
        ];
        let sc = |p: f64, decision| Scored {
            evidence: true,
            p_human: p,
            p_raw: p,
            logit: 0.0,
            contributions: Vec::new(),
            groups: Vec::new(),
            reasons: Vec::new(),
            decision,
        };
        let scores: Vec<LofoScore> = [
            (0, sc(0.9, Decision::Allow)),
            (1, sc(0.1, Decision::Block)),
            (2, sc(0.05, Decision::Block)),
            (3, sc(0.7, Decision::Allow)),
        ]
        .into_iter()
        .map(|(record, scored)| LofoScore {
            family: "synthetic/type-const".into(),
            fold: 0,
            record,
            scored,
        })
        .collect();
        let r = rows(&records, &scores);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].bots, r[0].bots_allow, r[0].bots_block), (2, 1, 1));
        assert_eq!((r[0].humans, r[0].humans_block), (2, 1));
        assert_eq!(r[0].tpr(), Some(0.5));
        assert_eq!(r[0].auc, Some(0.75));
        assert!(table(&r, 2).contains("synthetic/type-const"));
    }
}
