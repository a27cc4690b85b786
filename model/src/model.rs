//! Behaviour model: logistic regression over standardised [`crate::features`] plus an optional
//! forest of boosted trees fitted on the regression's residual ([`crate::forest`]), evaluated in
//! pure Rust, stored as a small versioned JSON file (`model/models/behaviour-v3.json`,
//! compiled in as the default model).
//!
//! Each present regression feature contributes `w·z + w2·(z² − 1) + b` logits, where `z` is the
//! feature standardised with the model's own mean/SD and clipped to ±`clip`. The quadratic term
//! lets a linear model express "human band" features (too regular *and* too erratic are both
//! unusual). Format version 2 adds optional one-sided hinges `wl·max(0, lo − z) + wh·max(0, z − hi)`
//! (weights ≤ 0: beyond the human range is only ever bot evidence; absent = 0, so version-1
//! files load unchanged) and optional stricter key knots for long typing ([`LongKeys`]).
//! Version 3 adds `forest` (absent or `null` in older files): shallow trees whose summed output
//! is added to the logit; it captures interactions a linear model cannot (a timing pattern that
//! is human on a mouse and synthetic on touch, say), and its split credits are added to the
//! per-feature contributions (see [`crate::forest`]).
//! In the regression a **missing feature contributes exactly 0**: the baseline is spread over the
//! features as per-feature offsets `b` (added only when the feature is present), so a session
//! without keystrokes is scored on its pointer evidence alone (and vice versa), and thin evidence
//! stays near the neutral logit 0 instead of inheriting a modality-wide intercept. (Per-modality
//! intercepts exist in the format for other trainers; `tollgate-intel train` leaves them at 0.) The
//! forest routes a missing feature along the direction it learned for absence, so it can
//! credit a missing feature; such credits are reported with no value.
//! A session with no behavioural evidence at all gets [`NEUTRAL_SCORE`] (no bot evidence, no
//! human evidence); what to do with it is site policy.
//!
//! Contributions are summed per [`Group`] into stable reason codes. A replayed trace (stroke
//! shape hashes already seen in other sessions, counted by the caller's store) caps the score
//! below the block threshold with reason [`REASON_REPLAY`] when two or more strokes show it, and
//! at mid-challenge when a session's only hashed stroke does (a lone collision must not block).
//! Typing whose median key hold is shorter than any person's ([`Features::implausible_key_holds`])
//! caps the score at mid-challenge with reason [`REASON_SHORT_HOLDS`], whatever the trees make of
//! the rest: the training data has no such person and no such bot with human-like gaps, so the
//! learned part cannot be trusted out there (measured: Aalto sentences with their holds set to
//! 0.5–4 ms were allowed 66 % of the time by the model alone). For the same reason such typing
//! has no hold features ([`HOLD_FEATURES`](crate::features::HOLD_FEATURES), left missing at
//! extraction, in training as in scoring): the learned part reads it from the intervals between
//! presses alone (session 29: a depth-4 forest extrapolated 2.5 ms holds to a block). Challenge, not block, on the holds' evidence: desktop on-screen keyboards and
//! dictation software also type with near-zero holds. Shifted characters
//! pressed within a few milliseconds of their Shift ([`Features::instant_shifts`], reason
//! [`REASON_INSTANT_SHIFT`]: software typing a capital, where a hand leads by tens of
//! milliseconds) are capped the same way.
//! Likewise a pointer that moved along ruler-straight lines ([`Features::ruler_straight`]) is
//! capped at mid-challenge with reason [`REASON_RULER`] (measured: pyautogui-style eased straight
//! moves at 20 Hz were allowed 66 % of the time by the model alone), and so are clicks on the
//! exact centres of their captured targets ([`Features::dead_centre_clicks`], reason
//! [`REASON_CENTRE`]), and so is a pointer that set off from its clicks at full speed
//! ([`Features::jump_start`], reason [`REASON_JUMP_START`]) or reached them at full speed
//! ([`Features::full_speed_arrivals`], reason [`REASON_FULL_SPEED_ARRIVAL`]) (measured, both
//! together: the offline copy of the OS-level rig's ghost-cursor and WindMouse logins went from
//! 10.3 % and 12.0 % allowed to 1.3 % and 1.0 %). So are mouse moves sampled more coarsely than
//! any device reports ([`Features::sparse_moves`], reason [`REASON_SPARSE_MOVES`]), long steps
//! with no sample in between ([`Features::sparse_steps`], reason [`REASON_SPARSE_STEPS`]), or on a
//! timer's clock that no display or device runs at ([`Features::off_frame_clock`], reason
//! [`REASON_OFF_FRAME_CLOCK`]) or on a script's soft clock whose intervals fit no display's or
//! device's grid ([`Features::off_grid_clock`], reason [`REASON_OFF_GRID_CLOCK`]), and clicks the
//! pointer reached by a jump
//! ([`Features::teleport_clicks`], reason [`REASON_TELEPORT`]; in a trace, whose recorder's scope
//! is unknown, only when the press is also released within a few milliseconds or the pointer never
//! moved in a readable stroke) (measured through
//! XTEST and Chromium: 0.1 s sleep-loop logins and warped logins, each 5 of 10 allowed without
//! the rule, 0 of 10 with it).

use crate::features::{
    DeviceClass, F, Features, Group, Modality, REASON_CENTRE, REASON_FULL_SPEED_ARRIVAL,
    REASON_INSERTED_TEXT, REASON_INSTANT_SHIFT, REASON_JUMP_START, REASON_OFF_FRAME_CLOCK,
    REASON_OFF_GRID_CLOCK, REASON_REPLAY, REASON_RULER, REASON_SHIFT_MISMATCH, REASON_SHORT_HOLDS,
    REASON_SPARSE_MOVES, REASON_SPARSE_STEPS, REASON_TELEPORT, REASON_UNPROMPTED_FOCUS,
    REASON_UNPROMPTED_SUBMIT,
};
use crate::forest::Forest;
pub use crate::policy::{Decision, Thresholds};

/// Score of a session with no behavioural evidence (same as the provisional scorer's
/// `no-behaviour`).
pub const NEUTRAL_SCORE: f64 = 0.5;

/// Model file format name.
pub const FORMAT: &str = "tollgate-behaviour-model";
/// Model format version this code reads and writes.
pub const VERSION: u32 = 3;
/// The compiled-in default model.
pub const DEFAULT_MODEL_JSON: &str = include_str!("../models/behaviour-v3.json");

/// Why a model file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("model JSON is malformed: {0}")]
    Json(String),
    #[error("model file is larger than {0} bytes")]
    TooLarge(usize),
    #[error("model field missing, of the wrong type or not finite: {0}")]
    Field(String),
    #[error("not a {FORMAT} file")]
    Format,
    #[error("unsupported model version {0}")]
    Version(u64),
    #[error("model uses unknown feature `{0}`")]
    UnknownFeature(String),
    #[error("model parameter out of range: {0}")]
    Range(&'static str),
}

/// One model term.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFeature {
    pub feature: F,
    pub mean: f64,
    pub sd: f64,
    pub w: f64,
    pub w2: f64,
    /// Offset added when the feature is present (0 when missing), so a session missing a
    /// feature loses exactly that feature's share of the baseline, nothing more.
    pub b: f64,
    /// Lower hinge knot (in z units): `wl·max(0, lo − z)` is added below it.
    pub lo: f64,
    /// Upper hinge knot (in z units): `wh·max(0, z − hi)` is added above it.
    pub hi: f64,
    /// Hinge weights (≤ 0: beyond the human range on either side is only ever bot evidence).
    pub wl: f64,
    pub wh: f64,
}

impl ModelFeature {
    /// A term with no hinges.
    pub fn plain(feature: F, mean: f64, sd: f64, w: f64, w2: f64, b: f64) -> ModelFeature {
        ModelFeature {
            feature,
            mean,
            sd,
            w,
            w2,
            b,
            lo: 0.0,
            hi: 0.0,
            wl: 0.0,
            wh: 0.0,
        }
    }
}

/// Monotone map from the model's logit to the policy scale: `block_logit` maps to the policy's
/// `block_below`, `allow_logit` to `allow_at_or_above`, linearly in between, and logistic tails
/// outside. Training places the knots at low quantiles of human scores, separately per evidence
/// modality (pointer-only and key-only logits live on different scales), so the same site
/// thresholds (default 0.2 / 0.6) keep their meaning whatever the model's raw scale. Sessions
/// with both modalities use the lower knots of the two.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub block_logit: f64,
    pub allow_logit: f64,
}

/// Key calibration for long typing (see [`Model::long_keys`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongKeys {
    pub min_keys: usize,
    pub knots: Calibration,
}

/// A loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub bias: f64,
    /// Intercept added per present modality, in [`Modality::ALL`] order.
    pub modality_bias: [f64; 2],
    pub clip: f64,
    pub features: Vec<ModelFeature>,
    /// The thresholds the calibration maps onto (`policy` in the file).
    pub policy: Thresholds,
    /// Knots per modality in [`Modality::ALL`] order; `None`: the score is the raw logistic
    /// probability.
    pub calibration: Option<[Calibration; 2]>,
    /// Stricter key knots for sessions with at least `min_keys` key presses (long typing is
    /// stronger evidence, so its human score spread is narrower than a login field's); `None`:
    /// the key knots apply to any length.
    pub long_keys: Option<LongKeys>,
    /// Pointer knots per inferred device class and evidence length
    /// ([`crate::features::device`]), sorted by class; a class without an entry uses the
    /// pointer knots of `calibration` (the most lenient human source of any device).
    pub device_knots: Vec<(DeviceClass, Calibration)>,
    /// Logits by which each modality's knots (pointer, keys) are lowered when a session has
    /// both and is scored on the lower of the two ([`Model::score`]): the union of two human
    /// tails is about twice as likely as one, so each modality alone is held to half the human
    /// quantile. `[0, 0]` in files that predate it.
    pub pair_shift: [f64; 2],
    /// A group whose contributions sum to at most this (logits) is reported as a reason.
    pub reason_threshold: f64,
    /// Free-form provenance (training command, data summary); informational only.
    pub notes: Vec<(String, String)>,
    /// Boosted trees whose output is added to the logit (format version 3; `None`: the
    /// regression alone).
    pub forest: Option<Forest>,
}

/// Replay evidence from the caller's hash store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayEvidence {
    /// Stroke hashes this session has.
    pub hashed: usize,
    /// How many of them were already seen in other sessions.
    pub seen_elsewhere: usize,
}

impl ReplayEvidence {
    /// Replayed when at least two hashes, and at least half of them, were seen elsewhere (one
    /// shared stroke among several can be chance between two people; a reused trace repeats
    /// all its strokes), or when the session's only hashed stroke was seen elsewhere (a single
    /// long, curved gesture such as a drawn circle: its 16-point shape on a 1/24 grid does not
    /// repeat by chance, and requiring two strokes would make single-gesture replays invisible).
    pub fn is_replay(&self) -> bool {
        self.is_multi_stroke_replay() || (self.hashed == 1 && self.seen_elsewhere == 1)
    }

    /// A replay shown by at least two strokes: blocked. A single-stroke match is only
    /// challenged (see [`Model::score`]): one chance collision of a lone stroke's band hashes
    /// between two people, whose rate grows with traffic, must not block anyone, and a
    /// challenge still keeps the replayed gesture from being allowed.
    pub fn is_multi_stroke_replay(&self) -> bool {
        self.seen_elsewhere >= 2 && 2 * self.seen_elsewhere >= self.hashed
    }
}

/// Per-feature contribution (logits, relative to the no-evidence score).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contribution {
    pub feature: F,
    /// The feature's value (`None`: missing; a forest split can still route on absence).
    pub value: Option<f64>,
    pub logit: f64,
}

/// Output of [`Model::score`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Whether any behavioural evidence was present (otherwise the score is [`NEUTRAL_SCORE`]).
    pub evidence: bool,
    /// Human-likeness score in [0, 1] on the policy scale (calibrated; 1 = human). Equal to
    /// `p_raw` when the model has no calibration.
    pub p_human: f64,
    /// Raw logistic-regression probability of human (class-balanced training).
    pub p_raw: f64,
    pub logit: f64,
    pub contributions: Vec<Contribution>,
    /// Sum of contributions per group, in [`Group::ALL`] order (only groups with a model term).
    pub groups: Vec<(Group, f64)>,
    /// Stable reason codes, most bot-like first.
    pub reasons: Vec<&'static str>,
    pub decision: Decision,
}

/// One evaluation of the model on a feature vector (see [`Model::score`]).
struct Evaluated {
    logit: f64,
    per: [f64; F::COUNT],
    used: [bool; F::COUNT],
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Model {
    /// The compiled-in default model (parsed once).
    pub fn default_model() -> &'static Model {
        static M: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
        M.get_or_init(|| Model::from_json(DEFAULT_MODEL_JSON).unwrap_or_else(|_| Model::neutral()))
    }

    /// A model with no terms: every session scores 0.5 and is allowed.
    pub fn neutral() -> Model {
        Model {
            bias: 0.0,
            modality_bias: [0.0; 2],
            clip: 6.0,
            features: Vec::new(),
            policy: Thresholds {
                allow: 0.0,
                block: 0.0,
            },
            calibration: None,
            long_keys: None,
            device_knots: Vec::new(),
            pair_shift: [0.0; 2],
            reason_threshold: -1.0,
            notes: Vec::new(),
            forest: None,
        }
    }

    /// Knots for a session with the given modalities present.
    pub fn knots(&self, pointer: bool, keys: bool) -> Option<Calibration> {
        let [p, k] = self.calibration?;
        Some(match (pointer, keys) {
            (true, false) => p,
            (false, true) => k,
            _ => Calibration {
                block_logit: p.block_logit.min(k.block_logit),
                allow_logit: p.allow_logit.min(k.allow_logit),
            },
        })
    }

    /// Pointer knots of a device class: its own entry, else the pointer knots of
    /// `calibration`.
    pub fn device_pointer_knots(&self, d: DeviceClass) -> Option<Calibration> {
        self.device_knots
            .iter()
            .find(|(c, _)| *c == d)
            .map(|(_, k)| *k)
            .or_else(|| self.calibration.map(|[p, _]| p))
    }

    /// Knots for a session's features: [`Model::knots`], with the pointer knots of the class the
    /// session is judged by ([`Features::knots_class`], [`Model::device_knots`]) and the
    /// long-typing key knots when the session has at least `min_keys` key presses. With both
    /// modalities, the lower of the two.
    pub fn knots_for(&self, f: &Features) -> Option<Calibration> {
        self.knots_masked(f, None)
    }

    /// [`Model::knots_for`] with only modality `only`'s evidence (`None`: all evidence). The
    /// device class and key count need no masking: without pointer evidence the pointer knots
    /// are not chosen, without key evidence the key knots are not.
    fn knots_masked(&self, f: &Features, only: Option<Modality>) -> Option<Calibration> {
        let pointer = f.has_masked(Modality::Pointer, only);
        let keys = f.has_masked(Modality::Keys, only);
        let base = self.knots(pointer, keys)?;
        let p = self.device_pointer_knots(f.knots_class).unwrap_or(base);
        let k = match self.long_keys {
            Some(l) if f.n_keys >= l.min_keys => l.knots,
            _ => self.knots(false, true).unwrap_or(base),
        };
        Some(match (pointer, keys) {
            (true, false) => p,
            (false, true) => k,
            (true, true) => Calibration {
                block_logit: p.block_logit.min(k.block_logit),
                allow_logit: p.allow_logit.min(k.allow_logit),
            },
            (false, false) => base,
        })
    }

    /// The middle of the challenge band: where the plausibility rules and a single-stroke
    /// replay cap the score (below allow, never into block on that evidence alone).
    pub fn mid_challenge(&self) -> f64 {
        0.5 * (self.policy.block + self.policy.allow)
    }

    /// Logit → score on the policy scale with the given knots (`None`: logistic).
    pub fn calibrate(&self, logit: f64, knots: Option<Calibration>) -> f64 {
        let Some(c) = knots else {
            return sigmoid(logit);
        };
        let (lb, la) = (c.block_logit, c.allow_logit.max(c.block_logit + 1e-6));
        let (sb, sa) = (self.policy.block, self.policy.allow);
        let v = if logit < lb {
            // Logistic tail through (lb, sb) reaching 0 at -inf.
            2.0 * sb * sigmoid(logit - lb)
        } else if logit < la {
            sb + (sa - sb) * (logit - lb) / (la - lb)
        } else {
            sa + (1.0 - sa) * (2.0 * sigmoid(logit - la) - 1.0)
        };
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Standardised, clipped value of one term.
    fn z(&self, m: &ModelFeature, x: f64) -> f64 {
        ((x - m.mean) / m.sd).clamp(-self.clip, self.clip)
    }

    /// Contribution in logits of value `x` (or 0 when missing).
    pub fn term(&self, m: &ModelFeature, x: Option<f64>) -> f64 {
        match x {
            Some(x) if x.is_finite() => {
                let z = self.z(m, x);
                m.w * z
                    + m.w2 * (z * z - 1.0)
                    + m.b
                    + m.wl * (m.lo - z).max(0.0)
                    + m.wh * (z - m.hi).max(0.0)
            }
            _ => 0.0,
        }
    }

    /// Raw logit of a feature vector: bias, modality intercepts, regression terms and forest
    /// (no calibration, no replay).
    pub fn raw_logit(&self, f: &Features) -> f64 {
        let mut logit = self.bias;
        for (m, b) in Modality::ALL.iter().zip(self.modality_bias) {
            if f.has(*m) {
                logit += b;
            }
        }
        logit += self
            .features
            .iter()
            .map(|m| self.term(m, f.get(m.feature)))
            .sum::<f64>();
        if let Some(fo) = &self.forest {
            logit += fo.logit(f);
        }
        logit
    }

    /// Logit of a feature vector with the per-feature split of it (regression term plus forest
    /// credits) and which features the model touched; with `only`, the other modality's
    /// features are treated as missing ([`Features::masked_values`]).
    fn evaluate_masked(&self, f: &Features, only: Option<Modality>) -> Evaluated {
        let has = Modality::ALL.map(|m| f.has_masked(m, only));
        match only {
            None => self.evaluate_values(has, &f.values),
            Some(m) => self.evaluate_values(has, &f.masked_values(m)),
        }
    }

    /// [`Model::evaluate_masked`] on feature values indexed by [`F`], with evidence of the
    /// modalities in [`Modality::ALL`] order present as `has` says.
    fn evaluate_values(&self, has: [bool; 2], values: &[Option<f64>]) -> Evaluated {
        let mut logit = self.bias;
        for (present, b) in has.into_iter().zip(self.modality_bias) {
            if present {
                logit += b;
            }
        }
        // Per-feature logits: the regression term plus the forest's split credits.
        let mut per = [0.0f64; F::COUNT];
        let mut used = [false; F::COUNT];
        for m in &self.features {
            let c = self.term(m, values.get(m.feature as usize).copied().flatten());
            logit += c;
            per[m.feature as usize] += c;
            used[m.feature as usize] = true;
        }
        if let Some(fo) = &self.forest {
            logit += fo.eval_values(values, |feat, d| {
                per[feat as usize] += d;
                used[feat as usize] = true;
            });
        }
        Evaluated { logit, per, used }
    }

    /// Score a session's features.
    ///
    /// A session with both pointer and keystroke evidence is scored on each modality alone
    /// (the other one's features set missing, exactly as a pointer-only or key-only session),
    /// each against its own calibration knots (lowered by [`Model::pair_shift`]), and gets the
    /// **lower** of the two scores: an
    /// automation must look human on every channel it presents, so human-like typing (a recorded
    /// person's timing replayed into the password field) cannot buy back a scripted cursor, nor
    /// the reverse. Summing the two modalities' logits let one mask the other (measured: pointer
    /// bots allowed 5 % alone, 61 % with a recorded human's typing added). When one modality
    /// is below the block threshold and the other at or above allow, the session is challenged,
    /// not blocked: blocking takes evidence that does not disagree with itself. Contributions then
    /// come from each modality's own evaluation; `logit` and `p_raw` are the deciding
    /// modality's. Clicks with no movement read on the way to them
    /// ([`Features::has_pointer_motion`] false) are not a second modality: such a session is scored
    /// as its typing alone.
    pub fn score(&self, f: &Features, replay: ReplayEvidence) -> Scored {
        // Holds shorter than a finger's: the rule below caps the score; the hold features are
        // already missing (left out at extraction, `Features::median_key_hold_ms`), so the
        // learned part does not extrapolate from them.
        let short_holds = f.implausible_key_holds();
        // Physical-plausibility rules (each caps the score at mid-challenge below), with the
        // modality whose evidence each judges (`None`: the form's fields).
        let (kb, pt) = (Some(Modality::Keys), Some(Modality::Pointer));
        let rules = [
            (short_holds, REASON_SHORT_HOLDS, kb),
            (f.instant_shifts(), REASON_INSTANT_SHIFT, kb),
            (f.shift_mismatch(), REASON_SHIFT_MISMATCH, kb),
            (f.ruler_straight(), REASON_RULER, pt),
            (f.dead_centre_clicks(), REASON_CENTRE, pt),
            (f.jump_start(), REASON_JUMP_START, pt),
            (f.full_speed_arrivals(), REASON_FULL_SPEED_ARRIVAL, pt),
            (f.sparse_moves(), REASON_SPARSE_MOVES, pt),
            (f.sparse_steps(), REASON_SPARSE_STEPS, pt),
            (f.off_frame_clock(), REASON_OFF_FRAME_CLOCK, pt),
            (f.off_grid_clock(), REASON_OFF_GRID_CLOCK, pt),
            (f.teleport_clicks(), REASON_TELEPORT, pt),
            (f.unprompted_focus(), REASON_UNPROMPTED_FOCUS, None),
            (f.unprompted_submit(), REASON_UNPROMPTED_SUBMIT, None),
            (f.inserted_text(), REASON_INSERTED_TEXT, None),
        ];
        let ruled = |m: Modality| rules.iter().any(|&(hit, _, of)| hit && of == Some(m));
        let mut present = [f.has(Modality::Pointer), f.has(Modality::Keys)];
        let evidence = present[0] || present[1];
        // Typing beside clicks that nothing was read of the way to (no pointer timing or
        // kinematics: Selenium's `element.click()` on the submit button after `send_keys`) is
        // scored as typing alone: such clicks would otherwise count as a second, human-looking
        // modality, loosen the typing's thresholds (the pair shift) and lift its blocks
        // (measured, `probes.mjs --n 1000`: `keys-click` 42.4 % allowed, 31.2 % scored this way;
        // `keys-iid`, the same timing submitted with Enter, 27.9 %).
        let only = if present[0] && present[1] && !f.has_pointer_motion() {
            present[0] = false;
            Some(Modality::Keys)
        } else {
            None
        };
        let (logit, per, used, mut p) = if present[0] && present[1] {
            let (op, ok) = (Some(Modality::Pointer), Some(Modality::Keys));
            let (ep, ek) = (self.evaluate_masked(f, op), self.evaluate_masked(f, ok));
            let lower = |k: Option<Calibration>, by: f64| {
                k.map(|c| Calibration {
                    block_logit: c.block_logit - by,
                    allow_logit: c.allow_logit - by,
                })
            };
            // A modality that a plausibility rule judged scripted (typing held like a script's,
            // a Shift pressed with its character; a ruler-straight or off-grid pointer, ...) is
            // capped as the rule caps it before the two are compared, so it is never the
            // clearly human side that lifts the other's block below.
            let cap = |p: f64, m: Modality| {
                if ruled(m) {
                    p.min(self.mid_challenge())
                } else {
                    p
                }
            };
            let pp = cap(
                self.calibrate(
                    ep.logit,
                    lower(self.knots_masked(f, op), self.pair_shift[0]),
                ),
                Modality::Pointer,
            );
            let pk = cap(
                self.calibrate(
                    ek.logit,
                    lower(self.knots_masked(f, ok), self.pair_shift[1]),
                ),
                Modality::Keys,
            );
            let mut per = [0.0f64; F::COUNT];
            let mut used = [false; F::COUNT];
            for d in crate::features::DEFS {
                let i = d.id as usize;
                let from = if d.group.modality() == Some(Modality::Keys) {
                    &ek
                } else {
                    &ep
                };
                per[i] = from.per[i];
                used[i] = from.used[i];
            }
            let (logit, mut p) = if pk < pp {
                (ek.logit, pk)
            } else {
                (ep.logit, pp)
            };
            // One modality alone never blocks a session whose other modality is clearly human:
            // it is challenged (the union of two human tails would otherwise block people at
            // twice the single-modality rate; a challenge still stops an automation).
            if pp.max(pk) >= self.policy.allow && p < self.policy.block {
                p = self.policy.block;
            }
            (logit, per, used, p)
        } else {
            let e = self.evaluate_masked(f, only);
            let p = if evidence {
                self.calibrate(e.logit, self.knots_masked(f, only))
            } else {
                NEUTRAL_SCORE
            };
            (e.logit, e.per, e.used, p)
        };
        let mut contributions = Vec::new();
        let mut groups: Vec<(Group, f64)> = Vec::new();
        for d in crate::features::DEFS {
            let i = d.id as usize;
            if !used[i] {
                continue;
            }
            let value = f.get(d.id);
            if value.is_some() || per[i] != 0.0 {
                contributions.push(Contribution {
                    feature: d.id,
                    value,
                    logit: per[i],
                });
            }
            match groups.iter_mut().find(|(g, _)| *g == d.group) {
                Some(e) => e.1 += per[i],
                None => groups.push((d.group, per[i])),
            }
        }
        groups.sort_by_key(|(g, _)| *g);
        let p_raw = sigmoid(logit);
        let mut bad: Vec<(Group, f64)> = groups
            .iter()
            .copied()
            .filter(|(_, c)| *c <= self.reason_threshold)
            .collect();
        bad.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut reasons: Vec<&'static str> = Vec::new();
        let mid_challenge = self.mid_challenge();
        // Physical-plausibility rules: each caps the score at mid-challenge with its reason.
        for &(hit, reason, _) in &rules {
            if hit {
                reasons.push(reason);
                p = p.min(mid_challenge);
            }
        }
        if replay.is_replay() {
            reasons.push(REASON_REPLAY);
            p = if replay.is_multi_stroke_replay() {
                p.min(self.policy.block * 0.5)
            } else {
                // Mid-challenge: below allow, never into block on one stroke's evidence.
                p.min(mid_challenge)
            };
        }
        reasons.extend(bad.iter().map(|(g, _)| g.code()));
        let decision = self.policy.decide(p);
        Scored {
            evidence,
            p_human: p,
            p_raw,
            logit,
            contributions,
            groups,
            reasons,
            decision,
        }
    }

    /// Parse and validate a model file (see `model/src/file.rs` for the format and the checks).
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        crate::file::parse_model(text)
    }

    /// Serialise: one top-level field, regression term or tree per line.
    pub fn to_json(&self) -> String {
        crate::file::write_model(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{DEFS, Session, extract};
    use crate::file;

    fn toy() -> Model {
        Model {
            bias: 0.1,
            modality_bias: [0.0, 0.0],
            clip: 6.0,
            features: vec![
                ModelFeature {
                    lo: -2.0,
                    hi: 1.5,
                    wl: -0.5,
                    wh: -0.25,
                    ..ModelFeature::plain(F::PtDtSd, 1.5, 0.5, 1.2, -0.3, 0.0)
                },
                ModelFeature::plain(F::KeyRollover, 0.2, 0.1, 0.8, 0.0, 0.0),
            ],
            policy: Thresholds {
                allow: 0.3,
                block: 0.05,
            },
            calibration: None,
            long_keys: None,
            device_knots: Vec::new(),
            pair_shift: [0.0; 2],
            reason_threshold: -1.0,
            notes: vec![("trained".into(), "unit \"test\"".into())],
            forest: None,
        }
    }

    #[test]
    fn json_roundtrip() {
        let m = toy();
        let text = m.to_json();
        assert_eq!(Model::from_json(&text).unwrap(), m);
    }

    #[test]
    fn calibration_maps_knots_to_policy_thresholds() {
        let mut m = toy();
        m.policy = Thresholds::default();
        let k = Calibration {
            block_logit: -3.0,
            allow_logit: -1.0,
        };
        m.calibration = Some([
            k,
            Calibration {
                block_logit: -5.0,
                allow_logit: 0.5,
            },
        ]);
        let c = Some(k);
        assert!((m.calibrate(-3.0, c) - 0.2).abs() < 1e-12);
        assert!((m.calibrate(-1.0, c) - 0.6).abs() < 1e-12);
        let mut prev = -1.0;
        for i in -200..200 {
            let v = m.calibrate(i as f64 * 0.1, c);
            assert!(v >= prev && (0.0..=1.0).contains(&v));
            prev = v;
        }
        assert_eq!(m.policy.decide(m.calibrate(-3.5, c)), Decision::Block);
        assert_eq!(m.policy.decide(m.calibrate(-2.0, c)), Decision::Challenge);
        assert_eq!(m.policy.decide(m.calibrate(0.0, c)), Decision::Allow);
        assert_eq!(m.knots(true, false), Some(k));
        assert_eq!(m.knots(false, true).unwrap().allow_logit, 0.5);
        assert_eq!(
            m.knots(true, true),
            Some(Calibration {
                block_logit: -5.0,
                allow_logit: -1.0
            })
        );
        assert_eq!(Model::from_json(&m.to_json()).unwrap(), m);
        // Long typing gets its own (stricter) key knots; short typing keeps the key knots.
        let long = Calibration {
            block_logit: -1.0,
            allow_logit: 1.0,
        };
        m.long_keys = Some(LongKeys {
            min_keys: 25,
            knots: long,
        });
        assert_eq!(Model::from_json(&m.to_json()).unwrap(), m);
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.1);
        f.n_keys = 10;
        assert_eq!(m.knots_for(&f).unwrap().allow_logit, 0.5);
        f.n_keys = 30;
        assert_eq!(m.knots_for(&f), Some(long));
        f.values[F::PtDtSd as usize] = Some(1.0);
        assert_eq!(m.knots_for(&f).unwrap().allow_logit, -1.0);
        // Device classes: a class with its own knots uses them for its pointer evidence; the
        // others keep the generic pointer knots.
        let mouse = Calibration {
            block_logit: 0.5,
            allow_logit: 2.0,
        };
        m.device_knots = vec![(DeviceClass::Mouse, mouse)];
        assert_eq!(Model::from_json(&m.to_json()).unwrap(), m);
        f.n_keys = 0;
        f.values[F::KeyRollover as usize] = None;
        f.knots_class = DeviceClass::Mouse;
        assert_eq!(m.knots_for(&f), Some(mouse));
        f.knots_class = DeviceClass::Touch;
        assert_eq!(m.knots_for(&f), Some(k));
        // The knots follow the class the session is judged by, not the one it shows: a
        // `touchpad` claim judged as a mouse gets the mouse's knots.
        f.device = DeviceClass::Touchpad;
        f.knots_class = DeviceClass::Mouse;
        assert_eq!(m.knots_for(&f), Some(mouse));
        // Both modalities: the lower of the device's pointer knots and the key knots.
        f.values[F::KeyRollover as usize] = Some(0.1);
        f.n_keys = 10;
        assert_eq!(
            m.knots_for(&f),
            Some(Calibration {
                block_logit: -5.0,
                allow_logit: 0.5
            })
        );
        let text = m.to_json();
        assert!(text.contains("\"calibration_devices\": {\"mouse\""));
        for bad in ["\"keyboard\"", "\"trackball\""] {
            let t = text.replace("{\"mouse\"", &format!("{{{bad}"));
            assert!(
                matches!(Model::from_json(&t), Err(ModelError::Field(_))),
                "{bad}"
            );
        }
        let t = text.replace(
            "\"mouse\":{\"block_logit\":0.5",
            "\"mouse\":{\"block_logit\":5.5",
        );
        assert_eq!(Model::from_json(&t), Err(ModelError::Range("calibration")));
    }

    /// `m`'s file with an edit applied to its JSON tree.
    fn edited(m: &Model, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        edit(&mut v);
        v.to_string()
    }

    #[test]
    fn rejects_bad_files() {
        use serde_json::json;
        assert!(matches!(Model::from_json("{"), Err(ModelError::Json(_))));
        assert!(matches!(Model::from_json("{} x"), Err(ModelError::Json(_))));
        assert_eq!(
            Model::from_json("{\"format\":\"x\"}"),
            Err(ModelError::Format)
        );
        assert_eq!(Model::from_json("[1, 2]"), Err(ModelError::Format));
        assert_eq!(Model::from_json("7"), Err(ModelError::Format));
        let m = toy();
        let bad = |edit: fn(&mut serde_json::Value)| Model::from_json(&edited(&m, edit));
        assert_eq!(bad(|v| v["format"] = json!(3)), Err(ModelError::Format));
        assert!(matches!(
            bad(|v| v["features"][0]["name"] = json!("no_such_feature")),
            Err(ModelError::UnknownFeature(_))
        ));
        assert_eq!(
            bad(|v| v["version"] = json!(9)),
            Err(ModelError::Version(9))
        );
        assert_eq!(
            bad(|v| v["version"] = json!(0)),
            Err(ModelError::Version(0))
        );
        assert_eq!(
            bad(|v| v["version"] = json!(2.5)),
            Err(ModelError::Version(2))
        );
        assert_eq!(
            bad(|v| v["version"] = json!("3")),
            Err(ModelError::Field("version".into()))
        );
        assert_eq!(
            bad(|v| v["features"][0]["wh"] = json!(0.25)),
            Err(ModelError::Range("hinge"))
        );
        assert_eq!(
            bad(|v| v["features"][0]["lo"] = json!(2.0)),
            Err(ModelError::Range("hinge"))
        );
        assert_eq!(
            bad(|v| v["clip"] = json!(0)),
            Err(ModelError::Range("clip"))
        );
        assert_eq!(
            bad(|v| v["clip"] = json!(101)),
            Err(ModelError::Range("clip"))
        );
        assert_eq!(
            bad(|v| v["policy"]["block_below"] = json!(0.5)),
            Err(ModelError::Range("policy"))
        );
        assert_eq!(
            bad(|v| v["policy"]["allow_at_or_above"] = json!(1.5)),
            Err(ModelError::Range("policy"))
        );
        assert_eq!(
            bad(|v| v["features"][0]["sd"] = json!(0)),
            Err(ModelError::Range("sd"))
        );
        // key_rollover is monotone: no quadratic term.
        assert_eq!(
            bad(|v| v["features"][1]["w2"] = json!(0.1)),
            Err(ModelError::Range("w2 of a monotone feature"))
        );
        let cal = json!({"pointer": {"block_logit": -1, "allow_logit": 1},
                         "keys": {"block_logit": 2, "allow_logit": 1}});
        assert_eq!(
            Model::from_json(&edited(&m, |v| v["calibration"] = cal)),
            Err(ModelError::Range("calibration"))
        );
        assert_eq!(
            bad(|v| v["calibration_long_keys"] =
                json!({"min_keys": 0, "block_logit": -1, "allow_logit": 1})),
            Err(ModelError::Range("min_keys"))
        );
        // Missing or mistyped fields, and numbers that do not fit an f64.
        for edit in [
            (|v: &mut serde_json::Value| {
                v.as_object_mut().unwrap().remove("bias");
            }) as fn(&mut serde_json::Value),
            |v| v["features"][0]["mean"] = json!("1"),
            |v| v["modalities"] = json!({"pointer": 0}),
            |v| v["features"] = json!(null),
            |v| v["forest"] = json!({"features": []}),
        ] {
            assert!(
                matches!(bad(edit), Err(ModelError::Field(_))),
                "{:?}",
                bad(edit)
            );
        }
        let huge = m.to_json().replace("\"bias\": 0.1", "\"bias\": 1e999");
        assert!(huge.contains("1e999"));
        assert!(Model::from_json(&huge).is_err());
        let long = format!("{}{}", m.to_json(), " ".repeat(file::MAX_LEN));
        assert_eq!(
            Model::from_json(&long),
            Err(ModelError::TooLarge(file::MAX_LEN))
        );
    }

    #[test]
    fn notes_keep_their_order_and_unknown_fields_are_ignored() {
        let mut m = toy();
        m.notes = vec![
            ("z".into(), "last letter first".into()),
            ("a".into(), "\u{1F600} \"quoted\"\n".into()),
        ];
        let text = m.to_json();
        assert_eq!(Model::from_json(&text).unwrap(), m);
        // Non-string notes are dropped, a notes field that is not an object is no notes.
        let t = text.replace(
            "\"notes\": {",
            "\"extra\": [1, {}],\n  \"notes\": {\"n\": 5, ",
        );
        assert_eq!(Model::from_json(&t).unwrap(), m);
        let t = edited(&m, |v| v["notes"] = serde_json::json!("free text"));
        assert!(Model::from_json(&t).unwrap().notes.is_empty());
    }

    #[test]
    fn hinges_only_act_beyond_their_knots() {
        let m = toy();
        let t = &m.features[0];
        let plain = ModelFeature::plain(t.feature, t.mean, t.sd, t.w, t.w2, t.b);
        // Inside the knots (z in [-2, 1.5]) the hinge adds nothing.
        for x in [0.6, 1.5, 2.2] {
            assert!((m.term(t, Some(x)) - m.term(&plain, Some(x))).abs() < 1e-12);
        }
        // z = 3 (x = 3.0): 1.5 beyond the upper knot, -0.25 per unit.
        assert!((m.term(t, Some(3.0)) - m.term(&plain, Some(3.0)) + 0.375).abs() < 1e-12);
        // z = -3 (x = 0.0): 1 below the lower knot, -0.5 per unit.
        assert!((m.term(t, Some(0.0)) - m.term(&plain, Some(0.0)) + 0.5).abs() < 1e-12);
        // A version-1 file (no hinge fields) still loads, with hinges at 0.
        let v1 = ModelFeature::plain(t.feature, t.mean, t.sd, t.w, t.w2, t.b);
        let mut old = m.clone();
        old.features[0] = v1;
        let text = edited(&old, |v| {
            v["version"] = 1.into();
            for row in v["features"].as_array_mut().unwrap() {
                for k in ["lo", "hi", "wl", "wh"] {
                    row.as_object_mut().unwrap().remove(k);
                }
            }
        });
        assert!(!text.contains("\"wl\""));
        assert_eq!(Model::from_json(&text).unwrap(), old);
        let deep = "[".repeat(100);
        assert!(Model::from_json(&deep).is_err());
        for cut in 0..toy().to_json().len() {
            let _ = Model::from_json(&toy().to_json()[..cut]);
        }
    }

    #[test]
    fn missing_features_are_neutral() {
        let m = toy();
        let f = extract(&Session::default());
        let s = m.score(&f, ReplayEvidence::default());
        assert!((s.p_human - NEUTRAL_SCORE).abs() < 1e-12);
        assert!(s.contributions.is_empty() && s.reasons.is_empty());
        assert_eq!(s.decision, Decision::Allow);
    }

    /// A session with both modalities is as human as its less human modality: strong human
    /// typing does not buy back a bot-like cursor (and the reverse), where a summed logit did.
    #[test]
    fn both_modalities_score_as_the_lower_one() {
        let mut m = toy();
        m.policy = Thresholds::default();
        let k = Calibration {
            block_logit: -2.0,
            allow_logit: -0.5,
        };
        m.calibration = Some([k, k]);
        let mut f = extract(&Session::default());
        f.values[F::PtDtSd as usize] = Some(1.5 - 1.0 * 0.5); // z = -1: bot-like pointer timing
        f.values[F::KeyRollover as usize] = Some(0.2 + 6.0 * 0.1); // z = +6: very human typing
        let p = m.score(&f.only(Modality::Pointer), ReplayEvidence::default());
        let k_only = m.score(&f.only(Modality::Keys), ReplayEvidence::default());
        assert_eq!(k_only.decision, Decision::Allow);
        assert_ne!(p.decision, Decision::Allow);
        let both = m.score(&f, ReplayEvidence::default());
        // The summed logit would have allowed it.
        assert!(m.raw_logit(&f) > k.allow_logit);
        assert!((both.p_human - p.p_human.min(k_only.p_human)).abs() < 1e-12);
        assert_eq!(both.decision, p.decision);
        assert!((both.logit - p.logit).abs() < 1e-12);
        assert_eq!(both.reasons, vec!["pointer-timing"]);
        // Each modality's contributions come from its own evaluation.
        let c = |s: &Scored, id: F| {
            s.contributions
                .iter()
                .find(|c| c.feature == id)
                .map(|c| c.logit)
        };
        assert_eq!(c(&both, F::PtDtSd), c(&p, F::PtDtSd));
        assert_eq!(c(&both, F::KeyRollover), c(&k_only, F::KeyRollover));
        // Disagreement never blocks: a pointer below the block knot with human typing is
        // challenged; with bot-like typing too it is blocked.
        let mut g = f.clone();
        g.values[F::PtDtSd as usize] = Some(1.5 - 4.0 * 0.5); // z = -4
        assert_eq!(
            m.score(&g.only(Modality::Pointer), ReplayEvidence::default())
                .decision,
            Decision::Block
        );
        let s = m.score(&g, ReplayEvidence::default());
        assert_eq!(s.decision, Decision::Challenge);
        assert_eq!(s.p_human, m.policy.block);
        g.values[F::KeyRollover as usize] = Some(0.2 - 2.0 * 0.1); // z = -2: not clearly human
        assert_eq!(
            m.score(&g, ReplayEvidence::default()).decision,
            Decision::Block
        );
        // Nor is typing held like a script's: scored without its holds (here on a human
        // press-to-press term alone) it would read as clearly human, but it is capped as the
        // `short-key-holds` rule caps it, so the pointer's block stands.
        let mut m2 = m.clone();
        m2.features
            .push(ModelFeature::plain(F::KeyP2p, 5.0, 0.5, 0.8, 0.0, 0.0));
        let mut h = g.clone();
        h.values[F::KeyRollover as usize] = Some(0.2 + 6.0 * 0.1);
        h.values[F::KeyP2p as usize] = Some(5.0 + 6.0 * 0.5);
        h.values[F::KeyHold as usize] = Some(57f64.ln()); // a person's 56 ms
        assert_eq!(
            m2.score(&h, ReplayEvidence::default()).decision,
            Decision::Challenge
        );
        // 2.5 ms holds, as extraction leaves them: flagged, hold features missing.
        short_holds(&mut h);
        let s = m2.score(&h, ReplayEvidence::default());
        assert_eq!(s.decision, Decision::Block, "{s:?}");
        assert!(s.reasons.contains(&REASON_SHORT_HOLDS), "{s:?}");
        // The same for a pointer that a rule judged scripted: human-looking timing on
        // ruler-straight strokes does not lift the typing's block either.
        let mut r = f.clone();
        r.values[F::PtDtSd as usize] = Some(1.5); // z = 0: allowed alone
        r.values[F::KeyRollover as usize] = Some(0.2 - 4.0 * 0.1); // z = -4: blocked alone
        assert_eq!(
            m.score(&r.only(Modality::Pointer), ReplayEvidence::default())
                .decision,
            Decision::Allow
        );
        assert_eq!(
            m.score(&r, ReplayEvidence::default()).decision,
            Decision::Challenge
        );
        (r.n_chord_strokes, r.n_ruler_strokes) = (2, 2);
        let s = m.score(&r, ReplayEvidence::default());
        assert_eq!(s.decision, Decision::Block, "{s:?}");
        assert!(s.reasons.contains(&REASON_RULER), "{s:?}");
        // A pair shift lowers both modalities' knots for sessions with both, never for one.
        m.pair_shift = [10.0, 10.0];
        assert_eq!(
            m.score(&f, ReplayEvidence::default()).decision,
            Decision::Allow
        );
        assert_eq!(
            m.score(&f.only(Modality::Pointer), ReplayEvidence::default())
                .decision,
            p.decision
        );
        let text = m.to_json();
        assert!(text.contains("calibration_pair_shift"));
        assert_eq!(Model::from_json(&text).unwrap(), m);
        let bad = text.replace(
            "\"calibration_pair_shift\": {\"pointer\":10.0",
            "\"calibration_pair_shift\": {\"pointer\":-1.0",
        );
        assert_ne!(bad, text, "pattern must match the writer");
        assert_eq!(
            Model::from_json(&bad),
            Err(ModelError::Range("calibration_pair_shift"))
        );
    }

    #[test]
    fn clicks_without_motion_do_not_pair_with_typing() {
        let mut m = toy();
        m.policy = Thresholds::default();
        let k = Calibration {
            block_logit: -2.0,
            allow_logit: -0.5,
        };
        m.calibration = Some([k, k]);
        m.pair_shift = [10.0, 10.0];
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.2 - 2.0 * 0.1); // z = -2: bot-like typing
        f.values[F::ClickDwell as usize] = Some(1.0); // a 2 ms click, no way there read
        assert!(f.has(Modality::Pointer) && !f.has_pointer_motion());
        let keys = m.score(&f.only(Modality::Keys), ReplayEvidence::default());
        assert_ne!(keys.decision, Decision::Allow);
        let s = m.score(&f, ReplayEvidence::default());
        assert_eq!(s.p_human, keys.p_human);
        assert_eq!(s.decision, keys.decision);
        // With movement read as well, the pair rules apply: the pair shift lowers the knots.
        f.values[F::PtDtSd as usize] = Some(1.5);
        assert!(f.has_pointer_motion());
        let both = m.score(&f, ReplayEvidence::default());
        assert!(both.p_human > keys.p_human, "{both:?}");
    }

    /// A session with both modalities is scored on each through a mask, not a copy: the masked
    /// evaluation and knots are those of the copy with only that modality
    /// ([`Features::only`]), to the bit, with the shipped model (regression, forest, long-key
    /// and device knots) on every device class and either side of the long-typing threshold.
    #[test]
    fn masked_evaluation_matches_the_single_modality_copy() {
        use tollgate_testkit::TelemetrySpec;
        let mut m = Model::default_model().clone();
        assert!(m.forest.is_some() && m.long_keys.is_some() && !m.device_knots.is_empty());
        let specs = [
            TelemetrySpec::long_login(1),
            TelemetrySpec::human_login(),
            TelemetrySpec::short_human(3.0),
            TelemetrySpec::bow(0.0),
            TelemetrySpec::timer_login(8.0, true),
            TelemetrySpec::bot_linear(40, 5.0),
            TelemetrySpec::bot_keys(30, 50.0, true),
            TelemetrySpec::none(),
        ];
        for spec in &specs {
            let mut f = extract(&Session::from_telemetry(&spec.build()));
            for (device, min_keys) in DeviceClass::ALL.into_iter().zip([0, 5, 25, 1000].repeat(2)) {
                f.device = device;
                f.knots_class = device;
                if let Some(l) = &mut m.long_keys {
                    l.min_keys = min_keys;
                }
                for only in [None, Some(Modality::Pointer), Some(Modality::Keys)] {
                    let copy = only.map_or_else(|| f.clone(), |o| f.only(o));
                    let (a, b) = (m.evaluate_masked(&f, only), m.evaluate_masked(&copy, None));
                    let ctx = format!("{spec:?} {device:?} {min_keys} {only:?}");
                    assert_eq!(a.logit.to_bits(), b.logit.to_bits(), "{ctx}");
                    assert_eq!(a.per.map(f64::to_bits), b.per.map(f64::to_bits), "{ctx}");
                    assert_eq!(a.used, b.used, "{ctx}");
                    assert_eq!(m.knots_masked(&f, only), m.knots_for(&copy), "{ctx}");
                    for md in Modality::ALL {
                        assert_eq!(f.has_masked(md, only), copy.has(md), "{ctx}");
                    }
                }
            }
        }
    }

    #[test]
    fn contributions_and_reasons() {
        let m = toy();
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(-0.1); // z = -3 -> -2.4 logits
        let s = m.score(&f, ReplayEvidence::default());
        assert_eq!(s.contributions.len(), 1);
        assert!((s.contributions[0].logit + 2.4).abs() < 1e-9);
        assert!((s.logit - (0.1 - 2.4)).abs() < 1e-9);
        assert_eq!(s.reasons, vec!["keystroke-timing"]);
        assert_eq!(s.decision, Decision::Challenge);
        let ev = |hashed, seen_elsewhere| ReplayEvidence {
            hashed,
            seen_elsewhere,
        };
        let r = m.score(&f, ev(3, 2));
        assert_eq!(r.reasons[0], REASON_REPLAY);
        assert_eq!(r.decision, Decision::Block);
        let not = |hashed, seen_elsewhere| !ev(hashed, seen_elsewhere).is_replay();
        assert!(not(5, 2) && not(2, 1) && not(0, 0));
        assert!(
            !not(1, 1),
            "a single hashed gesture seen elsewhere is a replay"
        );
        // ... but one stroke's match only challenges (a chance collision must not block).
        let mut human = f.clone();
        human.values[F::KeyRollover as usize] = Some(0.4);
        assert_eq!(
            m.score(&human, ReplayEvidence::default()).decision,
            Decision::Allow
        );
        let one = m.score(&human, ev(1, 1));
        assert_eq!(one.reasons[0], REASON_REPLAY);
        assert_eq!(one.decision, Decision::Challenge);
    }

    /// What extraction leaves of typing held shorter than a finger holds keys: the flag set, the
    /// hold features missing.
    fn short_holds(f: &mut Features) {
        f.median_key_hold_ms = Some(2.5);
        for h in crate::features::HOLD_FEATURES {
            f.values[h as usize] = None;
        }
    }

    #[test]
    fn key_holds_shorter_than_a_finger_cap_at_mid_challenge() {
        let m = toy();
        let mid = m.mid_challenge();
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.4);
        let hold = |ms: f64| Some((1.0 + ms).ln());
        for ms in [25.0, 56.0, 120.0] {
            f.values[F::KeyHold as usize] = hold(ms);
            let s = m.score(&f, ReplayEvidence::default());
            assert_eq!(s.decision, Decision::Allow, "{ms}");
            assert!(!s.reasons.contains(&REASON_SHORT_HOLDS), "{ms}");
        }
        let mut g = f.clone();
        short_holds(&mut g);
        assert!(g.implausible_key_holds());
        let s = m.score(&g, ReplayEvidence::default());
        assert_eq!(s.reasons[0], REASON_SHORT_HOLDS);
        assert_eq!(s.p_human, mid, "capped at mid-challenge");
        assert_ne!(s.decision, Decision::Allow);
        // The cap is the rule's, not the trees': the learned part alone would allow.
        assert_eq!(s.logit, m.raw_logit(&g));
        let mut plain = g.clone();
        plain.median_key_hold_ms = None;
        assert_eq!(
            m.score(&plain, ReplayEvidence::default()).decision,
            Decision::Allow
        );
        // A replay on top still caps lower.
        let r = m.score(
            &g,
            ReplayEvidence {
                hashed: 3,
                seen_elsewhere: 2,
            },
        );
        assert_eq!(r.decision, Decision::Block);
    }

    /// A move clock of `intervals` intervals with the given median (and 10th percentile) and
    /// mode, for the clock rules' tests.
    fn clock(
        intervals: usize,
        (median_ms, p10_ms): (f64, f64),
        (mode_ms, mode_share): (f64, f64),
    ) -> crate::features::MoveClock {
        crate::features::MoveClock {
            intervals,
            median_ms,
            p10_ms,
            mode_ms,
            mode_share,
            grid: Some((1.0, 1000.0 / 60.0)),
            device_clock: false,
            long_steps: 0,
            gapped_steps: 0,
        }
    }

    /// Score a session with human-like typing and each case's move clock: the rule's `reason` is
    /// listed exactly where the case says, and then the score is capped at mid-challenge.
    fn clock_rule_cases(reason: &str, cases: &[(crate::features::MoveClock, bool)]) -> Vec<Scored> {
        let m = toy();
        let mut base = extract(&Session::default());
        base.values[F::KeyRollover as usize] = Some(0.4);
        cases
            .iter()
            .map(|&(c, capped)| {
                let mut f = base.clone();
                f.move_clock = Some(c);
                let s = m.score(&f, ReplayEvidence::default());
                assert_eq!(s.reasons.contains(&reason), capped, "{c:?}");
                if capped {
                    assert_eq!(s.p_human, m.mid_challenge());
                }
                s
            })
            .collect()
    }

    #[test]
    fn sparse_steps_cap_at_mid_challenge() {
        let cases: Vec<_> = [
            (3, 10, 41.0, true),
            (8, 8, 40.0, true),
            (2, 4, 50.0, false),
            (3, 11, 50.0, false),
            (8, 8, 39.9, false),
        ]
        .into_iter()
        .map(|(gapped_steps, long_steps, p10, capped)| {
            let c = crate::features::MoveClock {
                gapped_steps,
                long_steps,
                ..clock(20, (50.0, p10), (50.0, 0.2))
            };
            (c, capped)
        })
        .collect();
        clock_rule_cases(REASON_SPARSE_STEPS, &cases);
    }

    #[test]
    fn sparse_moves_cap_at_mid_challenge() {
        let cases: Vec<_> = [
            (30, 100.0, 95.0, true),
            (12, 80.0, 40.0, true),
            (11, 100.0, 95.0, false),
            (30, 79.0, 50.0, false),
            (30, 100.0, 39.0, false),
            (30, 100.0, 8.0, false),
        ]
        .into_iter()
        .map(|(n, median, p10, capped)| (clock(n, (median, p10), (median, 0.2)), capped))
        .collect();
        for (s, (_, capped)) in clock_rule_cases(REASON_SPARSE_MOVES, &cases)
            .iter()
            .zip(&cases)
        {
            assert_eq!(s.decision == Decision::Allow, !capped);
        }
        // No coalesced capture, no clock: never judged.
        assert!(!extract(&Session::default()).sparse_moves());
        // Without any behavioural evidence the neutral score is capped too.
        let m = toy();
        let mut f = extract(&Session::default());
        f.move_clock = Some(clock(30, (100.0, 95.0), (100.0, 0.2)));
        let s = m.score(&f, ReplayEvidence::default());
        assert!(!s.evidence && s.p_human == m.mid_challenge(), "{s:?}");
    }

    #[test]
    fn off_frame_clock_caps_at_mid_challenge() {
        let cases: Vec<_> = [
            (40, 21.6, 0.75, true),
            (12, 40.0, 0.55, true),
            (40, 50.0, 0.95, false),
            (11, 40.0, 0.9, false),
            (40, 21.6, 0.54, false),
            (40, 16.9, 0.95, false),
            (40, 9.0, 0.95, false),
            (40, 85.0, 0.95, false),
        ]
        .into_iter()
        .map(|(n, mode, share, capped)| (clock(n, (mode, mode), (mode, share)), capped))
        .collect();
        clock_rule_cases(REASON_OFF_FRAME_CLOCK, &cases);
    }

    #[test]
    fn off_grid_clock_caps_at_mid_challenge() {
        // (intervals, median, share on the best grid, capped); no sharp mode (off-frame-clock
        // stays out).
        let cases: Vec<_> = [
            (40, 32.0, 0.30, true),
            (12, 16.7, 0.39, true),
            (40, 32.0, 0.40, false),
            (11, 32.0, 0.10, false),
            (40, 9.0, 0.10, false),
            (40, 45.0, 0.10, false),
            (40, 16.7, 0.95, false),
        ]
        .into_iter()
        .map(|(n, median, grid, capped)| {
            let c = crate::features::MoveClock {
                grid: Some((grid, 1000.0 / 60.0)),
                ..clock(n, (median, median * 0.8), (median, 0.2))
            };
            (c, capped)
        })
        .collect();
        clock_rule_cases(REASON_OFF_GRID_CLOCK, &cases);
    }

    #[test]
    fn count_rules_cap_at_mid_challenge() {
        // Rules of the form "at least two hits, and at least half of those judged": dead-centre
        // clicks, teleport clicks, jump starts, full-speed arrivals.
        type Set = fn(&mut Features, usize, usize);
        let rules: [(&str, Set); 4] = [
            (REASON_CENTRE, |f, n, k| {
                (f.n_box_clicks, f.n_centre_clicks) = (n, k)
            }),
            (REASON_TELEPORT, |f, n, k| {
                (f.n_reached_clicks, f.n_teleport_clicks) = (n, k)
            }),
            (REASON_JUMP_START, |f, n, k| {
                (f.n_rest_strokes, f.n_jump_starts) = (n, k)
            }),
            (REASON_FULL_SPEED_ARRIVAL, |f, n, k| {
                (f.n_arrival_strokes, f.n_full_speed_arrivals) = (n, k)
            }),
        ];
        let m = toy();
        let mid = m.mid_challenge();
        let mut base = extract(&Session::default());
        base.values[F::KeyRollover as usize] = Some(0.4);
        for (reason, set) in rules {
            for (judged, hits, capped) in [
                (0, 0, false),
                (1, 1, false),
                (3, 1, false),
                (5, 2, false),
                (2, 2, true),
                (4, 2, true),
                (3, 3, true),
            ] {
                let mut f = base.clone();
                set(&mut f, judged, hits);
                let s = m.score(&f, ReplayEvidence::default());
                assert_eq!(
                    s.reasons.contains(&reason),
                    capped,
                    "{reason} {judged} {hits}"
                );
                assert_eq!(
                    s.decision == Decision::Allow,
                    !capped,
                    "{reason} {judged} {hits}"
                );
                if capped {
                    assert_eq!(s.p_human, mid, "{reason} {judged} {hits}");
                }
            }
        }
    }

    #[test]
    fn unprompted_focus_and_submit_cap_at_mid_challenge() {
        let m = toy();
        let mid = m.mid_challenge();
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.4);
        for (judged, unprompted) in [(0, 0), (2, 0), (1, 1), (2, 1)] {
            let mut g = f.clone();
            (g.n_judged_focuses, g.n_unprompted_focuses) = (judged, unprompted);
            let s = m.score(&g, ReplayEvidence::default());
            let hit = unprompted > 0;
            assert_eq!(s.reasons.contains(&REASON_UNPROMPTED_FOCUS), hit);
            assert_eq!(s.decision == Decision::Allow, !hit, "{judged} {unprompted}");
            if hit {
                assert_eq!(s.p_human, mid);
            }
            let mut g = f.clone();
            (g.n_judged_submits, g.n_unprompted_submits) = (judged, unprompted);
            let s = m.score(&g, ReplayEvidence::default());
            assert_eq!(s.reasons.contains(&REASON_UNPROMPTED_SUBMIT), hit);
            assert_eq!(s.decision == Decision::Allow, !hit, "{judged} {unprompted}");
        }
    }

    #[test]
    fn inserted_text_caps_at_mid_challenge() {
        let m = toy();
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.4);
        for inserted in [0, 1, 2] {
            let mut g = f.clone();
            g.n_inserted_fields = inserted;
            let s = m.score(&g, ReplayEvidence::default());
            let hit = inserted > 0;
            assert_eq!(s.reasons.contains(&REASON_INSERTED_TEXT), hit);
            assert_eq!(s.decision == Decision::Allow, !hit, "{inserted}");
            if hit {
                assert_eq!(s.p_human, m.mid_challenge());
            }
            g.forget_field_events();
            let s = m.score(&g, ReplayEvidence::default());
            assert!(!s.reasons.contains(&REASON_INSERTED_TEXT));
            assert_eq!(s.decision, Decision::Allow);
        }
    }

    #[test]
    fn ruler_straight_pointer_caps_at_mid_challenge() {
        let m = toy();
        let mid = m.mid_challenge();
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.4);
        let with = |f: &Features, judged, ruler, strong| {
            let mut g = f.clone();
            (g.n_chord_strokes, g.n_ruler_strokes, g.n_ruler_strong) = (judged, ruler, strong);
            m.score(&g, ReplayEvidence::default())
        };
        for (judged, ruler, strong) in [(0, 0, 0), (1, 1, 0), (3, 1, 1), (5, 2, 2)] {
            let s = with(&f, judged, ruler, strong);
            assert_eq!(s.decision, Decision::Allow, "{judged} {ruler} {strong}");
            assert!(!s.reasons.contains(&REASON_RULER));
        }
        for (judged, ruler, strong) in [(1, 1, 1), (2, 2, 0), (4, 2, 0), (3, 3, 3)] {
            let s = with(&f, judged, ruler, strong);
            assert_eq!(s.reasons[0], REASON_RULER, "{judged} {ruler} {strong}");
            assert_eq!(s.p_human, mid, "{judged} {ruler} {strong}");
        }
    }

    #[test]
    fn forest_adds_to_the_logit_and_its_credits_to_contributions() {
        let mut m = toy();
        m.forest = Some(crate::forest::tests::toy());
        let text = m.to_json();
        assert_eq!(Model::from_json(&text).unwrap(), m);
        // A version-2 file has no forest.
        let v2 = edited(&toy(), |v| {
            v["version"] = 2.into();
            v.as_object_mut().unwrap().remove("forest");
        });
        assert!(!v2.contains("forest"));
        assert_eq!(Model::from_json(&v2).unwrap().forest, None);
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.0);
        // A 32 ms hold: a person's, so the hold features are scored.
        f.values[F::KeyHold as usize] = Some(3.5);
        let s = m.score(&f, ReplayEvidence::default());
        assert!((s.logit - m.raw_logit(&f)).abs() < 1e-12);
        let base = m.bias + m.forest.as_ref().unwrap().base();
        let sum: f64 = s.contributions.iter().map(|c| c.logit).sum();
        assert!(
            (base + sum - s.logit).abs() < 1e-9,
            "{base} + {sum} vs {}",
            s.logit
        );
        let roll = s
            .contributions
            .iter()
            .find(|c| c.feature == F::KeyRollover)
            .unwrap();
        // Regression term (z = -2 -> -1.6) plus the root split's credit (0.1 -> -0.5).
        assert!((roll.logit - (-1.6 - 0.6)).abs() < 1e-9, "{}", roll.logit);
        assert_eq!(roll.value, Some(0.0));
        // A forest split on a feature the session lacks is still credited, with no value.
        f.values[F::KeyHold as usize] = None;
        let s = m.score(&f, ReplayEvidence::default());
        let hold = s.contributions.iter().find(|c| c.feature == F::KeyHold);
        assert_eq!(hold.map(|c| c.value), Some(None));
        // A forest on a feature that is not trainable is refused.
        let bad = edited(&m, |v| {
            v["forest"]["features"][1] = "pt_dt_median_log".into()
        });
        assert!(matches!(
            Model::from_json(&bad),
            Err(ModelError::UnknownFeature(_))
        ));
    }

    #[test]
    fn compiled_in_model_stays_within_its_size_budget() {
        // Issue 14 budget: the compiled-in model file ≤ 256 KB.
        assert!(
            DEFAULT_MODEL_JSON.len() <= 256 * 1024,
            "{} bytes",
            DEFAULT_MODEL_JSON.len()
        );
    }

    #[test]
    fn default_model_loads_and_uses_only_trainable_features() {
        let m = Model::from_json(DEFAULT_MODEL_JSON).expect("shipped model parses");
        for t in &m.features {
            assert!(t.feature.def().trainable, "{}", t.feature.def().name);
        }
        let s = m.score(&extract(&Session::default()), ReplayEvidence::default());
        assert!(!s.evidence && s.p_human == NEUTRAL_SCORE);
        assert_eq!(DEFS.len(), F::COUNT);
    }
}
