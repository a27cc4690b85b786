//! `verifier export`: labelled audit records with stored telemetry as trace-format JSON Lines
//! (`docs/trace-format.md`), the input of `tollgate-intel train` / `eval`.
//!
//! A record is exported when it has stored telemetry and its labels resolve to one class
//! ([`super::resolve_class`]) of at least the requested strength. Each line carries the
//! trace fields (`id`, `source` = `site:<sitekey>`, `subject` = the keyed account hash, else
//! the verdict id, `label`, `generator` = `site` for bots, `device`, `screen`, `pointer`,
//! `keys`) plus `strength`, `feedback` (the values) and `model_id`, which trace readers ignore.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

use super::{AuditError, AuditSink, Query, Strength, labelled, resolve_class};

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub query: Query,
    /// Weakest label strength exported.
    pub min_strength: Strength,
}

/// What an export saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportReport {
    pub records: usize,
    pub labelled: usize,
    pub without_telemetry: usize,
    pub conflicting_or_weak: usize,
    pub exported: usize,
    /// Exported lines per class.
    pub by_class: BTreeMap<&'static str, usize>,
}

/// Write the export to `out`.
pub async fn export(
    sink: &dyn AuditSink,
    opts: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport, AuditError> {
    let mut rep = ExportReport::default();
    for (r, labels) in labelled(sink, &opts.query).await? {
        rep.records += 1;
        if labels.is_empty() {
            continue;
        }
        rep.labelled += 1;
        let Some(t) = &r.telemetry else {
            rep.without_telemetry += 1;
            continue;
        };
        let Some((class, strength)) =
            resolve_class(&labels).filter(|(_, s)| *s >= opts.min_strength)
        else {
            rep.conflicting_or_weak += 1;
            continue;
        };
        let line = json!({
            "id": r.id,
            "source": format!("site:{}", r.site),
            "subject": r.hashes.account.clone().unwrap_or_else(|| format!("v:{}", r.id)),
            "label": class.as_str(),
            "generator": (class == super::Class::Bot).then_some("site"),
            "device": t.device,
            "screen": null,
            "pointer": t.pointer,
            "keys": t.keys,
            "strength": if strength == Strength::Strong { "strong" } else { "weak" },
            "feedback": labels.iter().map(|l| l.feedback.as_str()).collect::<Vec<_>>(),
            "model_id": r.model_id,
        });
        writeln!(out, "{line}").map_err(|e| AuditError::Db(format!("write: {e}")))?;
        rep.exported += 1;
        *rep.by_class.entry(class.as_str()).or_insert(0) += 1;
    }
    Ok(rep)
}
