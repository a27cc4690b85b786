//! Behaviour intelligence, the offline workbench: trace adapter, synthetic bot generators, model
//! training and evaluation, plots. Scoring itself is `tollgate_model::features` +
//! `tollgate_model::model` (what the verifier runs); [`score_session`] is the one code path used
//! both for live telemetry ([`score_telemetry`]) and by `eval`. The `tollgate-intel` binary
//! (`src/main.rs`) maps its command line onto [`cli`].
//!
//! Evaluation data (the developer trace files) is read from wherever the caller points; nothing
//! from it is ever written into the repository.
//!
//! ```text
//! D=../shared/data/traces
//! cargo run --release -p tollgate-intel -- train \
//!     --traces $D/sapimouse-dev.jsonl.gz $D/aalto-dev.jsonl.gz $D/delbot.jsonl.gz \
//!     --out model/models/behaviour-v3.json          # seed 1; prints subject-wise 5-fold CV
//! tollgate-intel eval --traces ... --cv 5 --out cv.jsonl --plot cv.svg   # headline numbers
//! tollgate-intel eval --traces ...                  # compiled-in model, live code path
//! ```
//!
//! Live integration: `score_telemetry(&token.body.telemetry, Model::default_model(), evidence)`
//! where `evidence` comes from a cross-session store of `Features::stroke_hashes` (see
//! [`ReplayStore`] for the semantics; a persistent one belongs to the verifier's store). The
//! score is on the site-policy scale (block < 0.2 ≤ challenge < 0.6 ≤ allow by default) and a
//! session without behaviour scores exactly 0.5 (`Scored::evidence == false`).
//!
//! Known gap: the training corpora log *dispatched* `mousemove` events (frame-locked), while the
//! collector records `getCoalescedEvents()` samples (device rate, throttled to ≥ 4 ms) and does
//! not mark which sample was the dispatched one; timing features on live data can therefore
//! differ from training. A flag for the dispatched sample would let the adapter use the same view.

pub mod adversarial;
pub mod boost;
pub mod cli;
pub mod eval;
pub mod lofo;
pub mod plot;
pub mod rng;
pub mod synth;
pub mod traces;
pub mod train;

use std::collections::HashMap;

use tollgate_model::features::replay::{self, StrokeHash};
use tollgate_model::features::{self, Features, Session};
use tollgate_model::model::{Model, ReplayEvidence, Scored};
use tollgate_protocol::Telemetry;

/// Errors of the offline tooling (library side; binaries wrap them in `anyhow`).
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("model file {path}: {source}")]
    Model {
        path: String,
        source: tollgate_model::model::ModelError,
    },
    #[error("no usable records in {0}")]
    NoRecords(String),
    #[error("training needs both human and bot records (humans {humans}, bots {bots})")]
    OneClass { humans: usize, bots: usize },
    #[error("training diverged or the system is singular")]
    Numeric,
    #[error("invalid option: {0}")]
    Option(String),
}

/// Ground-truth label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    Human,
    Bot,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Human => "human",
            Label::Bot => "bot",
        }
    }
}

/// One labelled session (from a trace file or a generator).
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub source: String,
    /// Split unit: never split a subject across train and test.
    pub subject: String,
    pub label: Label,
    pub generator: Option<String>,
    pub session: Session,
    /// Replayed copies of human traces have human features by construction: they are only
    /// caught by the cross-session hash store, so training must not see them.
    pub trainable: bool,
    /// Derived from another record in memory (a window of it): trained on and reported like any
    /// record, but never entered in the replay store (it shares strokes with its origin by
    /// construction).
    pub derived: bool,
}

impl Record {
    /// Summary group: `source/label[/generator family]`.
    pub fn group(&self) -> String {
        match &self.generator {
            Some(g) => format!(
                "{}/{}/{}",
                self.source,
                self.label.as_str(),
                g.split(':').next().unwrap_or(g)
            ),
            None => format!("{}/{}", self.source, self.label.as_str()),
        }
    }
}

/// Score a session: features → model → decision. Live scoring and `eval` both come here.
pub fn score_session(
    session: &Session,
    model: &Model,
    replay: ReplayEvidence,
) -> (Features, Scored) {
    let f = features::extract(session);
    let s = model.score(&f, replay);
    (f, s)
}

/// Live entry point for a decoded token's telemetry (replay evidence from the caller's store).
pub fn score_telemetry(t: &Telemetry, model: &Model, replay: ReplayEvidence) -> (Features, Scored) {
    score_session(&Session::from_telemetry(t), model, replay)
}

/// In-memory stroke-hash store with the semantics of the live one (`correlate::on_verify`): the
/// session's strokes are chosen with [`replay::select`] (keyed: [`ReplayStore::with_key`]; the
/// default is a fixed offline key, since the figures do not depend on which key), and a stroke
/// counts as "seen elsewhere"
/// when *earlier* sessions (different ids) carried [`replay::SEEN_MIN_BANDS`] of its distinct
/// band hashes ([`replay::stroke_seen`]).
#[derive(Debug)]
pub struct ReplayStore {
    key: replay::SelectKey,
    /// Per band hash: sessions that carried it, and the distinct subjects among them (interned
    /// ids, at most [`SUBJECTS_KEPT`]; only for the collision report).
    seen: HashMap<u64, (u32, Vec<u32>)>,
    subjects: HashMap<String, u32>,
}

impl Default for ReplayStore {
    fn default() -> Self {
        Self::with_key(replay::SelectKey::new(&[0x5e; 32]))
    }
}

/// Distinct subjects remembered per band hash (enough to tell "another subject" apart).
const SUBJECTS_KEPT: usize = 4;

/// [`ReplayStore::observe_from`] result: the live evidence plus how many of the session's
/// strokes matched a band of a session of *another* subject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayObservation {
    pub evidence: ReplayEvidence,
    pub seen_other_subject: usize,
}

impl ReplayStore {
    /// A store whose stroke selection is keyed by `key` (the verifier's is secret).
    pub fn with_key(key: replay::SelectKey) -> Self {
        ReplayStore {
            key,
            seen: HashMap::new(),
            subjects: HashMap::new(),
        }
    }

    /// Look a session's strokes up, then record them.
    pub fn observe(&mut self, hashes: &[StrokeHash]) -> ReplayEvidence {
        self.observe_from(hashes, "").evidence
    }

    /// [`ReplayStore::observe`] for a session of `subject` (collision accounting).
    pub fn observe_from(&mut self, hashes: &[StrokeHash], subject: &str) -> ReplayObservation {
        let next = self.subjects.len() as u32;
        let sid = *self.subjects.entry(subject.to_string()).or_insert(next);
        let uniq = replay::select(hashes, &self.key);
        let (mut seen, mut other) = (0, 0);
        for st in &uniq {
            // One lookup per distinct band hash: its sessions, this one included (as the live
            // distinct sets count), and whether another subject carried it.
            let (mut bands, mut other_bands) = (Vec::with_capacity(replay::BANDS), 0);
            for h in replay::distinct_bands(st) {
                let e = self.seen.get(&h);
                bands.push(u64::from(e.map_or(0, |e| e.0)) + 1);
                other_bands += usize::from(e.is_some_and(|e| e.1.iter().any(|s| *s != sid)));
            }
            seen += usize::from(replay::stroke_seen(&bands));
            other += usize::from(other_bands >= replay::SEEN_MIN_BANDS);
        }
        let mut all: Vec<u64> = uniq.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        for h in all {
            let e = self.seen.entry(h).or_default();
            e.0 += 1;
            if e.1.len() < SUBJECTS_KEPT && !e.1.contains(&sid) {
                e.1.push(sid);
            }
        }
        ReplayObservation {
            evidence: ReplayEvidence {
                hashed: uniq.len(),
                seen_elsewhere: seen,
            },
            seen_other_subject: other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_store_counts_like_the_live_correlator() {
        // Same scenario as `correlate::tests::a_stroke_sharing_two_bands_was_seen_elsewhere`.
        let stroke = |seed: u64| -> StrokeHash { std::array::from_fn(|i| seed * 100 + i as u64) };
        let ev = |hashed, seen_elsewhere| ReplayEvidence {
            hashed,
            seen_elsewhere,
        };
        let mut s = ReplayStore::default();
        let e = s.observe_from(&[stroke(1), stroke(2)], "a");
        assert_eq!(e.evidence, ev(2, 0));
        let mut one = stroke(7);
        one[5] = stroke(1)[5];
        let mut twice = stroke(8);
        twice[4] = stroke(1)[4];
        twice[replay::VIEW_BANDS + 4] = stroke(1)[4];
        let e = s.observe_from(&[one, twice, stroke(3), stroke(3)], "a");
        assert_eq!(e.evidence, ev(3, 0));
        let mut two = stroke(9);
        two[5] = stroke(1)[5];
        two[replay::VIEW_BANDS + 3] = stroke(1)[3];
        let e = s.observe_from(&[two, stroke(4)], "a");
        assert_eq!(e.evidence, ev(2, 1));
        assert_eq!(e.seen_other_subject, 0, "same subject");
        let e = s.observe_from(&[stroke(2)], "b");
        assert_eq!((e.evidence.seen_elsewhere, e.seen_other_subject), (1, 1));
        assert!(e.evidence.is_replay());
    }
}
