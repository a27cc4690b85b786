//! The model file format (JSON, read and written with serde): the types here mirror the file
//! exactly, and the conversions to [`Model`] / [`Forest`] do every check a loaded model relies
//! on (finite numbers, known feature names, parameter ranges, tree structure).
//!
//! Versions 1 to 3 load: version 1 has no hinge fields (`lo`, `hi`, `wl`, `wh` default to 0),
//! versions 1 and 2 have no `forest`; `calibration_devices` (pointer knots per inferred device
//! class, a stable class name → knots) is optional in every version (absent: every device uses
//! the pointer knots). Unknown fields are ignored; `notes` keeps its order and drops values that
//! are not strings.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::features::{DeviceClass, F};
use crate::forest::{Forest, MAX_NODES, MAX_TREES, Node, Split, Tree};
use crate::model::{
    Calibration, FORMAT, LongKeys, Model, ModelError, ModelFeature, Thresholds, VERSION,
};

/// Largest model file accepted (bytes).
pub const MAX_LEN: usize = 4 << 20;

/// What is checked before the body: the format name and version.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    /// Checked from the [`Header`] when reading.
    #[serde(skip_deserializing)]
    format: &'static str,
    #[serde(skip_deserializing)]
    version: u32,
    bias: f64,
    modalities: Modalities,
    clip: f64,
    reason_threshold: f64,
    policy: Thresholds,
    #[serde(default)]
    calibration: Option<CalibrationFile>,
    #[serde(default)]
    calibration_long_keys: Option<LongKeysFile>,
    /// Pointer knots per device class (`features::device`); absent in older files.
    #[serde(default)]
    calibration_devices: Option<std::collections::BTreeMap<String, Knots>>,
    /// Knot shifts for sessions with both modalities (`Model::pair_shift`); absent in older
    /// files (no shift).
    #[serde(default)]
    calibration_pair_shift: Option<Modalities>,
    #[serde(default)]
    notes: Notes,
    features: Vec<FeatureRow>,
    #[serde(default)]
    forest: Option<ForestFile>,
}

#[derive(Serialize, Deserialize)]
struct Modalities {
    pointer: f64,
    keys: f64,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
struct Knots {
    block_logit: f64,
    allow_logit: f64,
}

#[derive(Serialize, Deserialize)]
struct CalibrationFile {
    pointer: Knots,
    keys: Knots,
}

#[derive(Serialize, Deserialize)]
struct LongKeysFile {
    /// Any JSON number when reading (truncated to an integer after the range check).
    min_keys: serde_json::Number,
    block_logit: f64,
    allow_logit: f64,
}

#[derive(Serialize, Deserialize)]
struct FeatureRow {
    name: String,
    mean: f64,
    sd: f64,
    w: f64,
    w2: f64,
    b: f64,
    #[serde(default)]
    lo: f64,
    #[serde(default)]
    hi: f64,
    #[serde(default)]
    wl: f64,
    #[serde(default)]
    wh: f64,
}

/// `{"features": [names…], "trees": [[node…]…]}`: a leaf is `[value]`, an internal node
/// `[value, feature slot, threshold, left, right, missing_left 0|1]`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ForestFile {
    features: Vec<String>,
    trees: Vec<Vec<NodeRow>>,
}

/// A node: numbers when read (checked on conversion); the writer prints slots and child
/// indices as integers.
struct NodeRow(Vec<f64>);

impl Serialize for NodeRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0[..] {
            [value, slot, threshold, left, right, missing_left] => (
                value,
                slot as u64,
                threshold,
                left as u64,
                right as u64,
                missing_left as u64,
            )
                .serialize(s),
            ref other => other.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<f64>::deserialize(d).map(NodeRow)
    }
}

/// `notes`: an object of strings, in file order.
#[derive(Default)]
struct Notes(Vec<(String, String)>);

impl Serialize for Notes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for Notes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Notes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Notes, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    if let serde_json::Value::String(s) = v {
                        out.push((k, s));
                    }
                }
                Ok(Notes(out))
            }
        }
        // Anything but an object (null, a string, …) is no notes, as before serde.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum AnyNotes {
            Map(#[serde(deserialize_with = "map_only")] Notes),
            Other(serde::de::IgnoredAny),
        }
        fn map_only<'de, D: Deserializer<'de>>(d: D) -> Result<Notes, D::Error> {
            d.deserialize_map(V)
        }
        Ok(match AnyNotes::deserialize(d)? {
            AnyNotes::Map(n) => n,
            AnyNotes::Other(_) => Notes::default(),
        })
    }
}

fn json_error(e: serde_json::Error) -> ModelError {
    if e.is_data() {
        ModelError::Field(e.to_string())
    } else {
        ModelError::Json(e.to_string())
    }
}

fn finite(x: f64, what: &'static str) -> Result<f64, ModelError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(ModelError::Field(what.into()))
    }
}

fn feature(name: &str) -> Result<F, ModelError> {
    F::by_name(name).ok_or_else(|| ModelError::UnknownFeature(name.to_string()))
}

/// Parse and validate a model file.
pub(crate) fn parse_model(text: &str) -> Result<Model, ModelError> {
    if text.len() > MAX_LEN {
        return Err(ModelError::TooLarge(MAX_LEN));
    }
    // The header first, so that a file of another format or version says so rather than
    // reporting the first field it lacks.
    let header = match serde_json::from_str::<Header>(text) {
        Ok(h) => h,
        Err(e) if e.is_data() => return Err(ModelError::Format),
        Err(e) => return Err(ModelError::Json(e.to_string())),
    };
    if header.format.as_ref().and_then(serde_json::Value::as_str) != Some(FORMAT) {
        return Err(ModelError::Format);
    }
    let version = header
        .version
        .as_ref()
        .and_then(serde_json::Value::as_f64)
        .ok_or(ModelError::Field("version".into()))?;
    if !(1.0..=f64::from(VERSION)).contains(&version) || version.fract() != 0.0 {
        return Err(ModelError::Version(version.max(0.0) as u64));
    }
    let file: ModelFile = serde_json::from_str(text).map_err(json_error)?;
    file.into_model()
}

impl ModelFile {
    fn into_model(self) -> Result<Model, ModelError> {
        let bias = finite(self.bias, "bias")?;
        let modality_bias = [
            finite(self.modalities.pointer, "pointer")?,
            finite(self.modalities.keys, "keys")?,
        ];
        let clip = finite(self.clip, "clip")?;
        if !(clip > 0.0 && clip <= 100.0) {
            return Err(ModelError::Range("clip"));
        }
        let reason_threshold = finite(self.reason_threshold, "reason_threshold")?;
        let policy = self
            .policy
            .validate()
            .map_err(|_| ModelError::Range("policy"))?;
        let features = self
            .features
            .into_iter()
            .map(FeatureRow::into_feature)
            .collect::<Result<Vec<_>, _>>()?;
        let calibration = match self.calibration {
            None => None,
            Some(c) => Some([c.pointer.into_knots()?, c.keys.into_knots()?]),
        };
        let long_keys = match self.calibration_long_keys {
            None => None,
            Some(l) => {
                let min_keys = l
                    .min_keys
                    .as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or(ModelError::Field("min_keys".into()))?;
                if !(1.0..=1e6).contains(&min_keys) {
                    return Err(ModelError::Range("min_keys"));
                }
                Some(LongKeys {
                    min_keys: min_keys as usize,
                    knots: Knots {
                        block_logit: l.block_logit,
                        allow_logit: l.allow_logit,
                    }
                    .into_knots()?,
                })
            }
        };
        let mut device_knots = Vec::new();
        for (name, k) in self.calibration_devices.unwrap_or_default() {
            let d = DeviceClass::by_name(&name)
                .filter(|d| d.is_pointer())
                .ok_or_else(|| ModelError::Field(format!("calibration_devices.{name}")))?;
            device_knots.push((d, k.into_knots()?));
        }
        device_knots.sort_by_key(|(d, _)| *d);
        let pair_shift = match self.calibration_pair_shift {
            None => [0.0; 2],
            Some(m) => {
                let ok = |x: f64| x.is_finite() && (0.0..=50.0).contains(&x);
                if !(ok(m.pointer) && ok(m.keys)) {
                    return Err(ModelError::Range("calibration_pair_shift"));
                }
                [m.pointer, m.keys]
            }
        };
        let forest = match self.forest {
            None => None,
            Some(fv) => {
                let fo = Forest::try_from(fv)?;
                // The forest may only split on features the trainer may use.
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
            device_knots,
            pair_shift,
            reason_threshold,
            notes: self.notes.0,
            forest,
        })
    }

    fn from_model(m: &Model) -> ModelFile {
        let knots = |c: Calibration| Knots {
            block_logit: c.block_logit,
            allow_logit: c.allow_logit,
        };
        ModelFile {
            format: FORMAT,
            version: VERSION,
            bias: m.bias,
            modalities: Modalities {
                pointer: m.modality_bias[0],
                keys: m.modality_bias[1],
            },
            clip: m.clip,
            reason_threshold: m.reason_threshold,
            policy: m.policy,
            calibration: m.calibration.map(|[p, k]| CalibrationFile {
                pointer: knots(p),
                keys: knots(k),
            }),
            calibration_long_keys: m.long_keys.map(|l| LongKeysFile {
                min_keys: l.min_keys.into(),
                block_logit: l.knots.block_logit,
                allow_logit: l.knots.allow_logit,
            }),
            calibration_devices: (!m.device_knots.is_empty()).then(|| {
                m.device_knots
                    .iter()
                    .map(|(d, c)| (d.name().to_string(), knots(*c)))
                    .collect()
            }),
            calibration_pair_shift: (m.pair_shift != [0.0; 2]).then_some(Modalities {
                pointer: m.pair_shift[0],
                keys: m.pair_shift[1],
            }),
            notes: Notes(m.notes.clone()),
            features: m
                .features
                .iter()
                .map(|t| FeatureRow {
                    name: t.feature.def().name.to_string(),
                    mean: t.mean,
                    sd: t.sd,
                    w: t.w,
                    w2: t.w2,
                    b: t.b,
                    lo: t.lo,
                    hi: t.hi,
                    wl: t.wl,
                    wh: t.wh,
                })
                .collect(),
            forest: m.forest.as_ref().map(ForestFile::from),
        }
    }
}

impl Knots {
    fn into_knots(self) -> Result<Calibration, ModelError> {
        let c = Calibration {
            block_logit: finite(self.block_logit, "block_logit")?,
            allow_logit: finite(self.allow_logit, "allow_logit")?,
        };
        if c.block_logit > c.allow_logit {
            return Err(ModelError::Range("calibration"));
        }
        Ok(c)
    }
}

impl FeatureRow {
    fn into_feature(self) -> Result<ModelFeature, ModelError> {
        let feature = feature(&self.name)?;
        let sd = finite(self.sd, "sd")?;
        if sd <= 0.0 {
            return Err(ModelError::Range("sd"));
        }
        let w2 = finite(self.w2, "w2")?;
        if !feature.band() && w2 != 0.0 {
            // One-sided features must stay monotone (see `features::MONOTONE`).
            return Err(ModelError::Range("w2 of a monotone feature"));
        }
        let (lo, hi) = (finite(self.lo, "lo")?, finite(self.hi, "hi")?);
        let (wl, wh) = (finite(self.wl, "wl")?, finite(self.wh, "wh")?);
        if wl > 0.0 || wh > 0.0 || lo > hi {
            return Err(ModelError::Range("hinge"));
        }
        Ok(ModelFeature {
            feature,
            mean: finite(self.mean, "mean")?,
            sd,
            w: finite(self.w, "w")?,
            w2,
            b: finite(self.b, "b")?,
            lo,
            hi,
            wl,
            wh,
        })
    }
}

impl TryFrom<ForestFile> for Forest {
    type Error = ModelError;

    /// Convert and [`validate`](Forest::validate).
    fn try_from(file: ForestFile) -> Result<Forest, ModelError> {
        let feats = file
            .features
            .iter()
            .map(|n| feature(n))
            .collect::<Result<Vec<_>, _>>()?;
        if file.trees.len() > MAX_TREES {
            return Err(ModelError::Range("too many trees"));
        }
        let mut out = Forest {
            trees: Vec::with_capacity(file.trees.len()),
        };
        for nodes in file.trees {
            if nodes.len() > MAX_NODES {
                return Err(ModelError::Range("tree size"));
            }
            let nodes = nodes
                .into_iter()
                .map(|n| node(n, &feats))
                .collect::<Result<Vec<_>, _>>()?;
            out.trees.push(Tree { nodes });
        }
        out.validate()?;
        Ok(out)
    }
}

fn node(NodeRow(a): NodeRow, feats: &[F]) -> Result<Node, ModelError> {
    let num = |i: usize| {
        a.get(i)
            .copied()
            .filter(|x| x.is_finite())
            .ok_or(ModelError::Field("forest node".into()))
    };
    let index = |i: usize, max: usize| -> Result<usize, ModelError> {
        let x = num(i)?;
        if x.fract() != 0.0 || !(0.0..max as f64).contains(&x) {
            return Err(ModelError::Range("forest node index"));
        }
        Ok(x as usize)
    };
    Ok(match a.len() {
        1 => Node::leaf(num(0)?),
        6 => Node {
            value: num(0)?,
            split: Some(Split {
                feature: feats[index(1, feats.len())?],
                threshold: num(2)?,
                left: index(3, MAX_NODES)? as u32,
                right: index(4, MAX_NODES)? as u32,
                missing_left: match num(5)? {
                    0.0 => false,
                    1.0 => true,
                    _ => return Err(ModelError::Range("forest node missing_left")),
                },
            }),
        },
        _ => return Err(ModelError::Field("forest node".into())),
    })
}

impl From<&Forest> for ForestFile {
    fn from(fo: &Forest) -> ForestFile {
        let feats = fo.features();
        let slot = |f: F| feats.iter().position(|g| *g == f).unwrap_or(0);
        ForestFile {
            features: feats.iter().map(|f| f.def().name.to_string()).collect(),
            trees: fo
                .trees
                .iter()
                .map(|t| {
                    t.nodes
                        .iter()
                        .map(|n| {
                            NodeRow(match n.split {
                                None => vec![n.value],
                                Some(s) => vec![
                                    n.value,
                                    slot(s.feature) as f64,
                                    s.threshold,
                                    f64::from(s.left),
                                    f64::from(s.right),
                                    f64::from(u8::from(s.missing_left)),
                                ],
                            })
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

/// `serde_json` text of one value (never fails for these types: string keys, no maps of
/// non-string keys; non-finite floats are written as `null`, which the reader refuses).
fn to_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The model file: one top-level field per line, one regression term per line, one tree per
/// line (readable diffs between trainings), every value written by `serde_json`.
pub(crate) fn write_model(m: &Model) -> String {
    let file = ModelFile::from_model(m);
    let mut s = String::from("{\n");
    let mut field = |k: &str, v: String, last: bool| {
        s.push_str(&format!(
            "  {}: {v}{}\n",
            to_text(&k),
            if last { "" } else { "," }
        ));
    };
    field("format", to_text(&file.format), false);
    field("version", to_text(&file.version), false);
    field("bias", to_text(&file.bias), false);
    field("modalities", to_text(&file.modalities), false);
    field("clip", to_text(&file.clip), false);
    field("reason_threshold", to_text(&file.reason_threshold), false);
    field("policy", to_text(&file.policy), false);
    field("calibration", to_text(&file.calibration), false);
    field(
        "calibration_long_keys",
        to_text(&file.calibration_long_keys),
        false,
    );
    if file.calibration_devices.is_some() {
        field(
            "calibration_devices",
            to_text(&file.calibration_devices),
            false,
        );
    }
    if file.calibration_pair_shift.is_some() {
        field(
            "calibration_pair_shift",
            to_text(&file.calibration_pair_shift),
            false,
        );
    }
    field(
        "notes",
        lines(
            file.notes
                .0
                .iter()
                .map(|(k, v)| format!("{}: {}", to_text(k), to_text(v))),
            "{",
            "}",
        ),
        false,
    );
    field(
        "features",
        lines(file.features.iter().map(to_text), "[", "]"),
        false,
    );
    let forest = match &file.forest {
        None => "null".to_string(),
        Some(f) => format!(
            "{{\"features\": {}, \"trees\": {}}}",
            to_text(&f.features),
            lines(f.trees.iter().map(to_text), "[", "]")
        ),
    };
    field("forest", forest, true);
    s.push_str("}\n");
    s
}

/// `open`, the items one per line (indented), `close`.
fn lines(items: impl Iterator<Item = String>, open: &str, close: &str) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return format!("{open}{close}");
    }
    format!("{open}\n    {}\n  {close}", items.join(",\n    "))
}

/// A standalone forest in the model file's form (tests and tooling).
pub(crate) fn parse_forest(text: &str) -> Result<Forest, ModelError> {
    let file: ForestFile = serde_json::from_str(text).map_err(json_error)?;
    Forest::try_from(file)
}

pub(crate) fn write_forest(fo: &Forest) -> String {
    to_text(&ForestFile::from(fo))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every number in the shipped model parses to the same f64 as the correctly rounded
    /// `str::parse` (what the hand-written reader used): serde_json needs `float_roundtrip`.
    #[test]
    fn shipped_model_numbers_parse_exactly() {
        let text = crate::model::DEFAULT_MODEL_JSON;
        let (mut in_str, mut esc, mut tok, mut n) = (false, false, String::new(), 0);
        for c in text.chars().chain([' ']) {
            if in_str {
                (esc, in_str) = (!esc && c == '\\', esc || c != '"');
                continue;
            }
            if c.is_ascii_digit() || "-+.eE".contains(c) {
                tok.push(c);
                continue;
            }
            if !tok.is_empty() {
                let std: f64 = tok.parse().unwrap();
                let serde: f64 = serde_json::from_str(&tok).unwrap();
                assert_eq!(std.to_bits(), serde.to_bits(), "{tok}");
                n += 1;
                tok.clear();
            }
            in_str = c == '"';
        }
        assert!(n > 10_000, "{n} numbers");
    }

    /// Writing and reading back gives the same bits for awkward values.
    #[test]
    fn floats_round_trip_exactly() {
        let mut m = Model::default_model().clone();
        m.bias = 0.1 + 0.2;
        m.features[0].mean = 5e-324;
        m.features[0].w = -1.7976931348623157e308;
        m.features[0].b = 2.2250738585072014e-308;
        let back = Model::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_json(), m.to_json());
        assert_eq!(
            &Model::from_json(&Model::default_model().to_json()).unwrap(),
            Model::default_model()
        );
    }
}
