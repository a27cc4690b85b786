//! Model provenance: the optional top-level fields `id`, `manifest` and `evaluation` of a model
//! file. They sit beside the model's own fields (which [`crate::Model::from_json`] reads and
//! checks; it ignores these), so files written before them still load and older readers load
//! newer files.
//!
//! - `id`: a short stable name (1–64 characters of `A-Z a-z 0-9 . _ : -`). A file without one is
//!   identified by [`content_id`] (`sha256-` and the first 16 hex digits of the SHA-256 of the
//!   file's bytes), so every model — the compiled-in one too — has an id that changes whenever
//!   the file does.
//! - `manifest`: how the model was made (input file names, their SHA-256, record counts per
//!   label and source, the training options): any JSON object, written by `tollgate-intel train`.
//! - `evaluation`: what the training run measured (validation and in-sample figures): any JSON
//!   object.

use serde::Deserialize;
use serde_json::Value;

use crate::model::ModelError;

/// Longest accepted model id.
pub const MAX_ID_LEN: usize = 64;

/// The provenance fields of a model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelMeta {
    pub id: Option<String>,
    pub manifest: Option<Value>,
    pub evaluation: Option<Value>,
}

#[derive(Deserialize)]
struct MetaFile {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    manifest: Option<Value>,
    #[serde(default)]
    evaluation: Option<Value>,
}

/// Whether `id` is a valid model id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The id of a file without one: `sha256-` + 16 hex digits of the SHA-256 of `text`.
pub fn content_id(text: &str) -> String {
    let h = tollgate_protocol::sha256(text.as_bytes());
    let mut s = String::from("sha256-");
    for b in &h[..8] {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl ModelMeta {
    /// Read the provenance fields of a model file (the model itself is read by
    /// [`crate::Model::from_json`]). A present `id` must be valid; `manifest` and `evaluation`
    /// must be objects when present (`null` counts as absent).
    pub fn from_json(text: &str) -> Result<ModelMeta, ModelError> {
        if text.len() > crate::file::MAX_LEN {
            return Err(ModelError::TooLarge(crate::file::MAX_LEN));
        }
        let f: MetaFile =
            serde_json::from_str(text).map_err(|e| ModelError::Json(e.to_string()))?;
        let id = match f.id {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if valid_id(&s) => Some(s),
            Some(_) => return Err(ModelError::Field("id".into())),
        };
        let object = |v: Option<Value>, what: &str| match v {
            None | Some(Value::Null) => Ok(None),
            Some(o @ Value::Object(_)) => Ok(Some(o)),
            Some(_) => Err(ModelError::Field(what.into())),
        };
        Ok(ModelMeta {
            id,
            manifest: object(f.manifest, "manifest")?,
            evaluation: object(f.evaluation, "evaluation")?,
        })
    }

    /// The model's id: its `id` field, else [`content_id`] of the file text.
    pub fn id_or_content(&self, text: &str) -> String {
        self.id.clone().unwrap_or_else(|| content_id(text))
    }

    /// `model_json` (as written by [`crate::Model::to_json`]) with these fields added at the
    /// end (absent ones are not written).
    pub fn append_to(&self, model_json: &str) -> String {
        let mut fields: Vec<String> = Vec::new();
        let text = |v: &Value| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
        if let Some(id) = &self.id {
            fields.push(format!("  \"id\": {}", text(&Value::String(id.clone()))));
        }
        if let Some(m) = &self.manifest {
            fields.push(format!("  \"manifest\": {}", text(m)));
        }
        if let Some(e) = &self.evaluation {
            fields.push(format!("  \"evaluation\": {}", text(e)));
        }
        if fields.is_empty() {
            return model_json.to_string();
        }
        let body = model_json.trim_end();
        let body = body.strip_suffix('}').unwrap_or(body).trim_end();
        format!("{body},\n{}\n}}\n", fields.join(",\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;
    use crate::model::DEFAULT_MODEL_JSON;

    /// The compiled-in model without its provenance fields: a model file written before
    /// `id` / `manifest` / `evaluation` existed.
    fn old_file() -> String {
        // `append_to` writes the provenance fields last, from `"id"` on.
        let at = DEFAULT_MODEL_JSON
            .rfind(",\n  \"id\":")
            .expect("the shipped model has an id");
        format!("{}\n}}\n", &DEFAULT_MODEL_JSON[..at])
    }

    #[test]
    fn the_shipped_model_carries_its_provenance() {
        let m = ModelMeta::from_json(DEFAULT_MODEL_JSON).unwrap();
        let id = m.id.as_deref().expect("shipped model id");
        assert!(valid_id(id), "{id}");
        assert!(m.manifest.is_some() && m.evaluation.is_some());
    }

    #[test]
    fn old_files_have_no_meta_and_a_content_id() {
        let old = old_file();
        let m = ModelMeta::from_json(&old).unwrap();
        assert_eq!(m.id, None);
        let id = m.id_or_content(&old);
        assert!(id.starts_with("sha256-") && id.len() == 23, "{id}");
        assert!(valid_id(&id));
        assert_ne!(content_id(DEFAULT_MODEL_JSON), content_id("{}"));
    }

    #[test]
    fn meta_round_trips_and_the_model_still_loads() {
        let meta = ModelMeta {
            id: Some("site-a.v2".into()),
            manifest: Some(serde_json::json!({"inputs": [{"file": "a.jsonl", "sha256": "00"}]})),
            evaluation: Some(serde_json::json!({"validation": {"auc": 0.9}})),
        };
        let old = old_file();
        let text = meta.append_to(&old);
        assert_eq!(ModelMeta::from_json(&text).unwrap(), meta);
        assert_eq!(meta.id_or_content(&text), "site-a.v2");
        let a = Model::from_json(DEFAULT_MODEL_JSON).unwrap();
        let b = Model::from_json(&text).unwrap();
        assert_eq!(a, b);
        // Nothing to add: unchanged.
        assert_eq!(ModelMeta::default().append_to("{}"), "{}");
    }

    #[test]
    fn bad_meta_is_a_typed_error() {
        for bad in [
            r#"{"id": ""}"#,
            r#"{"id": "has space"}"#,
            r#"{"id": 7}"#,
            r#"{"manifest": []}"#,
            r#"{"evaluation": "x"}"#,
        ] {
            assert!(
                matches!(ModelMeta::from_json(bad), Err(ModelError::Field(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            ModelMeta::from_json("not json"),
            Err(ModelError::Json(_))
        ));
        let long = format!(r#"{{"id": "{}"}}"#, "a".repeat(MAX_ID_LEN + 1));
        assert!(ModelMeta::from_json(&long).is_err());
    }
}
