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
//! intercepts exist in the format for other trainers; `verifier train` leaves them at 0.) The
//! forest routes a missing feature along the direction it learned for absence, so it can
//! credit a missing feature; such credits are reported with no value.
//! A session with no behavioural evidence at all gets [`NEUTRAL_SCORE`] (no bot evidence, no
//! human evidence); what to do with it is site policy.
//!
//! Contributions are summed per [`Group`] into stable reason codes. A replayed trace (stroke
//! shape hashes already seen in other sessions, counted by the caller's store) caps the score
//! below the block threshold with reason [`REASON_REPLAY`] when two or more strokes show it, and
//! at mid-challenge when a session's only hashed stroke does (a lone collision must not block).

use crate::features::{F, Features, Group, Modality, REASON_REPLAY};
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
    #[error("model JSON is malformed at byte {0}")]
    Json(usize),
    #[error("model field `{0}` is missing or has the wrong type")]
    Field(&'static str),
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
            reason_threshold: -1.0,
            notes: Vec::new(),
            forest: None,
        }
    }

    /// Score of a session with no behavioural evidence.
    pub fn neutral_score(&self) -> f64 {
        NEUTRAL_SCORE
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

    /// Knots for a session's features: [`Model::knots`], with the long-typing key knots when
    /// the session has at least `min_keys` key presses.
    pub fn knots_for(&self, f: &Features) -> Option<Calibration> {
        let (pointer, keys) = (f.has(Modality::Pointer), f.has(Modality::Keys));
        let base = self.knots(pointer, keys)?;
        match self.long_keys {
            Some(l) if keys && f.n_keys >= l.min_keys => Some(if pointer {
                let p = self.knots(true, false).unwrap_or(base);
                Calibration {
                    block_logit: p.block_logit.min(l.knots.block_logit),
                    allow_logit: p.allow_logit.min(l.knots.allow_logit),
                }
            } else {
                l.knots
            }),
            _ => Some(base),
        }
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

    /// Score a session's features.
    pub fn score(&self, f: &Features, replay: ReplayEvidence) -> Scored {
        let mut logit = self.bias;
        let present = [f.has(Modality::Pointer), f.has(Modality::Keys)];
        let evidence = present[0] || present[1];
        for (on, b) in present.iter().zip(self.modality_bias) {
            if *on {
                logit += b;
            }
        }
        // Per-feature logits: the regression term plus the forest's split credits.
        let mut per = [0.0f64; F::COUNT];
        let mut used = [false; F::COUNT];
        for m in &self.features {
            let c = self.term(m, f.get(m.feature));
            logit += c;
            per[m.feature as usize] += c;
            used[m.feature as usize] = true;
        }
        if let Some(fo) = &self.forest {
            logit += fo.eval(f, |feat, d| {
                per[feat as usize] += d;
                used[feat as usize] = true;
            });
        }
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
        let mut p = if evidence {
            self.calibrate(logit, self.knots_for(f))
        } else {
            NEUTRAL_SCORE
        };
        let mut bad: Vec<(Group, f64)> = groups
            .iter()
            .copied()
            .filter(|(_, c)| *c <= self.reason_threshold)
            .collect();
        bad.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut reasons: Vec<&'static str> = Vec::new();
        if replay.is_replay() {
            reasons.push(REASON_REPLAY);
            p = if replay.is_multi_stroke_replay() {
                p.min(self.policy.block * 0.5)
            } else {
                // Mid-challenge: below allow, never into block on one stroke's evidence.
                p.min(0.5 * (self.policy.block + self.policy.allow))
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

    /// Parse and validate a model file.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let v = json::parse(text)?;
        if v.get("format").and_then(json::Value::as_str) != Some(FORMAT) {
            return Err(ModelError::Format);
        }
        let version = v
            .get("version")
            .and_then(json::Value::as_f64)
            .ok_or(ModelError::Field("version"))?;
        if !(1.0..=f64::from(VERSION)).contains(&version) || version.fract() != 0.0 {
            return Err(ModelError::Version(version.max(0.0) as u64));
        }
        let num = |obj: &json::Value, k: &'static str| -> Result<f64, ModelError> {
            obj.get(k)
                .and_then(json::Value::as_f64)
                .filter(|x| x.is_finite())
                .ok_or(ModelError::Field(k))
        };
        let bias = num(&v, "bias")?;
        let mods = v.get("modalities").ok_or(ModelError::Field("modalities"))?;
        let modality_bias = [num(mods, "pointer")?, num(mods, "keys")?];
        let clip = num(&v, "clip")?;
        if !(clip > 0.0 && clip <= 100.0) {
            return Err(ModelError::Range("clip"));
        }
        let reason_threshold = num(&v, "reason_threshold")?;
        let pol = v.get("policy").ok_or(ModelError::Field("policy"))?;
        let policy = Thresholds {
            block: num(pol, "block_below")?,
            allow: num(pol, "allow_at_or_above")?,
        }
        .validate()
        .map_err(|_| ModelError::Range("policy"))?;
        let arr = v.array_field("features", "features")?;
        let mut features = Vec::with_capacity(arr.len());
        for item in arr {
            let name = item
                .get("name")
                .and_then(json::Value::as_str)
                .ok_or(ModelError::Field("name"))?;
            let feature =
                F::by_name(name).ok_or_else(|| ModelError::UnknownFeature(name.to_string()))?;
            let sd = num(item, "sd")?;
            if sd <= 0.0 {
                return Err(ModelError::Range("sd"));
            }
            let w2 = num(item, "w2")?;
            if !feature.band() && w2 != 0.0 {
                // One-sided features must stay monotone (see `features::MONOTONE`).
                return Err(ModelError::Range("w2 of a monotone feature"));
            }
            // Hinges (format version 2; absent in version 1 files, where they are 0).
            let opt = |k: &'static str| -> Result<f64, ModelError> {
                match item.get(k) {
                    None => Ok(0.0),
                    Some(_) => num(item, k),
                }
            };
            let (lo, hi, wl, wh) = (opt("lo")?, opt("hi")?, opt("wl")?, opt("wh")?);
            if wl > 0.0 || wh > 0.0 || lo > hi {
                return Err(ModelError::Range("hinge"));
            }
            features.push(ModelFeature {
                feature,
                mean: num(item, "mean")?,
                sd,
                w: num(item, "w")?,
                w2,
                b: num(item, "b")?,
                lo,
                hi,
                wl,
                wh,
            });
        }
        let knots = |c: &json::Value| -> Result<Calibration, ModelError> {
            let cal = Calibration {
                block_logit: num(c, "block_logit")?,
                allow_logit: num(c, "allow_logit")?,
            };
            if cal.block_logit > cal.allow_logit {
                return Err(ModelError::Range("calibration"));
            }
            Ok(cal)
        };
        let calibration = match v.get("calibration") {
            None | Some(json::Value::Null) => None,
            Some(c) => {
                let get = |k: &'static str| c.get(k).ok_or(ModelError::Field(k)).and_then(knots);
                Some([get("pointer")?, get("keys")?])
            }
        };
        let long_keys = match v.get("calibration_long_keys") {
            None | Some(json::Value::Null) => None,
            Some(c) => {
                let min_keys = num(c, "min_keys")?;
                if !(1.0..=1e6).contains(&min_keys) {
                    return Err(ModelError::Range("min_keys"));
                }
                Some(LongKeys {
                    min_keys: min_keys as usize,
                    knots: knots(c)?,
                })
            }
        };
        let notes = match v.get("notes") {
            Some(json::Value::Obj(kv)) => kv
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        let forest = match v.get("forest") {
            None | Some(json::Value::Null) => None,
            Some(fv) => {
                let fo = Forest::from_value(fv)?;
                if let Some(f) = fo.features().into_iter().find(|f| !f.def().trainable) {
                    return Err(ModelError::UnknownFeature(f.def().name.to_string()));
                }
                Some(fo)
            }
        };
        Ok(Model {
            bias,
            modality_bias,
            clip,
            features,
            policy,
            calibration,
            long_keys,
            reason_threshold,
            notes,
            forest,
        })
    }

    /// Serialise (stable field order, one feature per line).
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        s.push_str("{\n");
        s.push_str(&format!("  \"format\": {},\n", json::string(FORMAT)));
        s.push_str(&format!("  \"version\": {VERSION},\n"));
        s.push_str(&format!("  \"bias\": {},\n", json::num(self.bias)));
        s.push_str(&format!(
            "  \"modalities\": {{\"pointer\": {}, \"keys\": {}}},\n",
            json::num(self.modality_bias[0]),
            json::num(self.modality_bias[1])
        ));
        s.push_str(&format!("  \"clip\": {},\n", json::num(self.clip)));
        s.push_str(&format!(
            "  \"reason_threshold\": {},\n",
            json::num(self.reason_threshold)
        ));
        s.push_str(&format!(
            "  \"policy\": {{\"block_below\": {}, \"allow_at_or_above\": {}}},\n",
            json::num(self.policy.block),
            json::num(self.policy.allow)
        ));
        match self.calibration {
            Some([p, k]) => s.push_str(&format!(
                "  \"calibration\": {{\"pointer\": {{\"block_logit\": {}, \"allow_logit\": {}}}, \"keys\": {{\"block_logit\": {}, \"allow_logit\": {}}}}},\n",
                json::num(p.block_logit),
                json::num(p.allow_logit),
                json::num(k.block_logit),
                json::num(k.allow_logit)
            )),
            None => s.push_str("  \"calibration\": null,\n"),
        }
        match self.long_keys {
            Some(l) => s.push_str(&format!(
                "  \"calibration_long_keys\": {{\"min_keys\": {}, \"block_logit\": {}, \"allow_logit\": {}}},\n",
                l.min_keys,
                json::num(l.knots.block_logit),
                json::num(l.knots.allow_logit)
            )),
            None => s.push_str("  \"calibration_long_keys\": null,\n"),
        }
        s.push_str("  \"notes\": {");
        for (i, (k, v)) in self.notes.iter().enumerate() {
            s.push_str(if i == 0 { "\n    " } else { ",\n    " });
            s.push_str(&format!("{}: {}", json::string(k), json::string(v)));
        }
        s.push_str(if self.notes.is_empty() {
            "},\n"
        } else {
            "\n  },\n"
        });
        s.push_str("  \"features\": [");
        for (i, m) in self.features.iter().enumerate() {
            s.push_str(if i == 0 { "\n    " } else { ",\n    " });
            s.push_str(&format!(
                "{{\"name\": {}, \"mean\": {}, \"sd\": {}, \"w\": {}, \"w2\": {}, \"b\": {}, \"lo\": {}, \"hi\": {}, \"wl\": {}, \"wh\": {}}}",
                json::string(m.feature.def().name),
                json::num(m.mean),
                json::num(m.sd),
                json::num(m.w),
                json::num(m.w2),
                json::num(m.b),
                json::num(m.lo),
                json::num(m.hi),
                json::num(m.wl),
                json::num(m.wh)
            ));
        }
        s.push_str(if self.features.is_empty() {
            "]"
        } else {
            "\n  ]"
        });
        match &self.forest {
            Some(fo) => {
                s.push_str(",\n  \"forest\": ");
                s.push_str(&fo.to_json());
                s.push_str("\n}\n");
            }
            None => s.push_str(",\n  \"forest\": null\n}\n"),
        }
        s
    }
}

/// Minimal JSON reader/writer for the model file (the protocol crate carries no JSON library).
/// Depth- and size-bounded; never panics.
pub mod json {
    use super::ModelError;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn as_f64(&self) -> Option<f64> {
            if let Value::Num(n) = self {
                Some(*n)
            } else {
                None
            }
        }
        pub fn as_str(&self) -> Option<&str> {
            if let Value::Str(s) = self {
                Some(s)
            } else {
                None
            }
        }
        pub fn as_array(&self) -> Option<&[Value]> {
            if let Value::Arr(a) = self {
                Some(a)
            } else {
                None
            }
        }
        /// The array under `key`, or [`ModelError::Field`]`(field)`.
        pub fn array_field(&self, key: &str, field: &'static str) -> Result<&[Value], ModelError> {
            self.get(key)
                .and_then(Value::as_array)
                .ok_or(ModelError::Field(field))
        }
    }

    const MAX_DEPTH: usize = 32;
    const MAX_LEN: usize = 4 << 20;

    pub fn parse(text: &str) -> Result<Value, ModelError> {
        if text.len() > MAX_LEN {
            return Err(ModelError::Json(MAX_LEN));
        }
        let mut p = Parser {
            b: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(ModelError::Json(p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn err<T>(&self) -> Result<T, ModelError> {
            Err(ModelError::Json(self.i))
        }
        fn ws(&mut self) {
            while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.b.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }
        fn lit(&mut self, s: &[u8], v: Value) -> Result<Value, ModelError> {
            if self.b.get(self.i..self.i + s.len()) == Some(s) {
                self.i += s.len();
                Ok(v)
            } else {
                self.err()
            }
        }
        fn value(&mut self, depth: usize) -> Result<Value, ModelError> {
            if depth > MAX_DEPTH {
                return self.err();
            }
            self.ws();
            match self.b.get(self.i) {
                Some(b'{') => {
                    self.i += 1;
                    let mut kv = Vec::new();
                    if self.eat(b'}') {
                        return Ok(Value::Obj(kv));
                    }
                    loop {
                        self.ws();
                        let k = self.string()?;
                        if !self.eat(b':') {
                            return self.err();
                        }
                        kv.push((k, self.value(depth + 1)?));
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b'}') {
                            return Ok(Value::Obj(kv));
                        }
                        return self.err();
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut a = Vec::new();
                    if self.eat(b']') {
                        return Ok(Value::Arr(a));
                    }
                    loop {
                        a.push(self.value(depth + 1)?);
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b']') {
                            return Ok(Value::Arr(a));
                        }
                        return self.err();
                    }
                }
                Some(b'"') => Ok(Value::Str(self.string()?)),
                Some(b't') => self.lit(b"true", Value::Bool(true)),
                Some(b'f') => self.lit(b"false", Value::Bool(false)),
                Some(b'n') => self.lit(b"null", Value::Null),
                Some(c) if *c == b'-' || c.is_ascii_digit() => {
                    let start = self.i;
                    while self.i < self.b.len()
                        && matches!(
                            self.b[self.i],
                            b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                        )
                    {
                        self.i += 1;
                    }
                    let s = std::str::from_utf8(&self.b[start..self.i])
                        .map_err(|_| ModelError::Json(start))?;
                    s.parse::<f64>()
                        .map(Value::Num)
                        .map_err(|_| ModelError::Json(start))
                }
                _ => self.err(),
            }
        }
        fn string(&mut self) -> Result<String, ModelError> {
            if self.b.get(self.i) != Some(&b'"') {
                return self.err();
            }
            self.i += 1;
            let mut out = Vec::new();
            loop {
                let Some(&c) = self.b.get(self.i) else {
                    return self.err();
                };
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let Some(&e) = self.b.get(self.i) else {
                            return self.err();
                        };
                        self.i += 1;
                        match e {
                            b'"' | b'\\' | b'/' => out.push(e),
                            b'b' => out.push(8),
                            b'f' => out.push(12),
                            b'n' => out.push(b'\n'),
                            b'r' => out.push(b'\r'),
                            b't' => out.push(b'\t'),
                            b'u' => {
                                let hex = self
                                    .b
                                    .get(self.i..self.i + 4)
                                    .ok_or(ModelError::Json(self.i))?;
                                let hex = std::str::from_utf8(hex)
                                    .map_err(|_| ModelError::Json(self.i))?;
                                let code = u32::from_str_radix(hex, 16)
                                    .map_err(|_| ModelError::Json(self.i))?;
                                self.i += 4;
                                let ch = char::from_u32(code).unwrap_or('\u{FFFD}');
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            _ => return self.err(),
                        }
                    }
                    c if c < 0x20 => return self.err(),
                    c => out.push(c),
                }
            }
            String::from_utf8(out).map_err(|_| ModelError::Json(self.i))
        }
    }

    /// JSON number (non-finite values are written as 0).
    pub fn num(x: f64) -> String {
        if x.is_finite() {
            format!("{x}")
        } else {
            "0".to_string()
        }
    }

    /// JSON string literal.
    pub fn string(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{DEFS, Session, extract};

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
    }

    #[test]
    fn rejects_bad_files() {
        assert!(matches!(Model::from_json("{"), Err(ModelError::Json(_))));
        assert_eq!(
            Model::from_json("{\"format\":\"x\"}"),
            Err(ModelError::Format)
        );
        let t = toy().to_json().replace("pt_dt_sd_log", "no_such_feature");
        assert!(matches!(
            Model::from_json(&t),
            Err(ModelError::UnknownFeature(_))
        ));
        let t = toy()
            .to_json()
            .replace(&format!("\"version\": {VERSION}"), "\"version\": 9");
        assert_eq!(Model::from_json(&t), Err(ModelError::Version(9)));
        let t = toy().to_json().replace("\"wh\": -0.25", "\"wh\": 0.25");
        assert_eq!(Model::from_json(&t), Err(ModelError::Range("hinge")));
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
        let text = old
            .to_json()
            .replace(&format!("\"version\": {VERSION}"), "\"version\": 1")
            .replace(", \"lo\": 0, \"hi\": 0, \"wl\": 0, \"wh\": 0", "");
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
        assert!((s.p_human - m.neutral_score()).abs() < 1e-12);
        assert!(s.contributions.is_empty() && s.reasons.is_empty());
        assert_eq!(s.decision, Decision::Allow);
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

    #[test]
    fn forest_adds_to_the_logit_and_its_credits_to_contributions() {
        let mut m = toy();
        m.forest = Some(crate::forest::tests::toy());
        let text = m.to_json();
        assert_eq!(Model::from_json(&text).unwrap(), m);
        // A version-2 file has no forest.
        let v2 = toy()
            .to_json()
            .replace(&format!("\"version\": {VERSION}"), "\"version\": 2")
            .replace(",\n  \"forest\": null", "");
        assert!(!v2.contains("forest"));
        assert_eq!(Model::from_json(&v2).unwrap().forest, None);
        let mut f = extract(&Session::default());
        f.values[F::KeyRollover as usize] = Some(0.0);
        f.values[F::KeyHold as usize] = Some(3.0);
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
        let bad = text.replace("\"key_hold_log\"]", "\"pt_dt_median_log\"]");
        assert!(matches!(
            Model::from_json(&bad),
            Err(ModelError::UnknownFeature(_))
        ));
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
