//! `POST /v1/feedback`: attach a label or an outcome to a verdict id in the audit trail.
//!
//! Request (JSON or form): `{"secret", "id": hex, "label": "human" | "bot" | "account-takeover"
//! | "false-positive"}` or `{…, "outcome": "success" | "bad-password" | "locked" |
//! "stepup-passed" | "stepup-failed"}`, plus `"source"` (default `backend`) and, for any source
//! but `backend`, `"source_key"`. Answers `200 {"ok": true, "id", "kind", "value", "source"}`
//! or `{"error": code}` ([`FeedbackError`]).
//!
//! Poisoning guards: the site secret authenticates the site and the built-in `backend`
//! source; any other source (`analyst`, …) must be configured for the site
//! (`feedback_sources`) and send its own key (compared as fixed-size digests in constant
//! time). Each source has a per-minute budget (token bucket). Labels are appended, never
//! overwritten, and counted per site, source and value in `tollgate_feedback_total`. A label
//! never changes live scoring: it is only read by `verifier export`, `compare-models` and
//! `calibrate`, whose results an operator applies through the configuration.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{Feedback, LabelRecord};
use crate::config::{RateConfig, secret_digest};
use crate::error::FeedbackError;
use crate::extract::{BodyRejection, Fields, FormOrJson, Formats};
use crate::ratelimit::RateLimiter;
use crate::state::AppState;

/// Request body limit.
pub const FEEDBACK_BODY_LIMIT: usize = 8 * 1024;

/// The request fields (unknown fields are ignored).
#[derive(Default, Deserialize, utoipa::ToSchema)]
pub struct FeedbackFields {
    /// The site's secret.
    #[serde(default)]
    secret: Option<String>,
    /// The verdict id (`tollgate.id` of the siteverify answer, 32 hex digits).
    #[serde(default)]
    id: Option<String>,
    /// A label: `human`, `bot`, `account-takeover`, `false-positive` (exactly one of `label`
    /// and `outcome`).
    #[serde(default)]
    label: Option<String>,
    /// An outcome: `success`, `bad-password`, `locked`, `stepup-passed`, `stepup-failed`.
    #[serde(default)]
    outcome: Option<String>,
    /// Who says so (default `backend`, authenticated by the site secret); other sources are
    /// configured per site with their own key.
    #[serde(default)]
    source: Option<String>,
    /// The key of a configured source other than `backend`.
    #[serde(default)]
    source_key: Option<String>,
}

impl std::fmt::Debug for FeedbackFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedbackFields")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("id", &self.id)
            .field("label", &self.label)
            .field("outcome", &self.outcome)
            .field("source", &self.source)
            .field(
                "source_key",
                &self.source_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl Fields for FeedbackFields {
    const FORMATS: Formats = Formats::JsonOrForm;

    fn slot(&mut self, name: &[u8]) -> Option<&mut Option<String>> {
        match name {
            b"secret" => Some(&mut self.secret),
            b"id" => Some(&mut self.id),
            b"label" => Some(&mut self.label),
            b"outcome" => Some(&mut self.outcome),
            b"source" => Some(&mut self.source),
            b"source_key" => Some(&mut self.source_key),
            _ => None,
        }
    }
}

/// Parse `label` / `outcome`: exactly one, of the right kind.
fn parse_feedback(label: Option<&str>, outcome: Option<&str>) -> Result<Feedback, FeedbackError> {
    match (label, outcome) {
        (Some(l), None) => Feedback::parse(l)
            .filter(|f| f.kind() == "label")
            .ok_or(FeedbackError::BadLabel),
        (None, Some(o)) => Feedback::parse(o)
            .filter(|f| f.kind() == "outcome")
            .ok_or(FeedbackError::BadLabel),
        _ => Err(FeedbackError::BadRequest),
    }
}

/// Handler of `POST /v1/feedback`.
#[utoipa::path(
    post,
    path = "/v1/feedback",
    tag = "internal",
    operation_id = "feedback",
    summary = "Attach a label or an outcome to a verdict (the learning loop)",
    description = "Called by your backend (site secret) or another configured source with a verdict \
        id from siteverify. Labels are append-only, rate-limited per source, counted per source \
        and class in metrics, and never change live scoring by themselves; they feed \
        `verifier export`, `compare-models` and `calibrate`. Needs an `[audit]` trail.",
    request_body(
        description = "JSON, or URL-encoded form by content type.",
        content(
            (FeedbackFields = "application/x-www-form-urlencoded"),
            (FeedbackFields = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Recorded.", body = crate::openapi::FeedbackReply),
        (status = 400, description = "`bad-request` (unreadable body, bad id, not exactly one of label/outcome) or `bad-label`.", body = crate::openapi::FeedbackErrorReply),
        (status = 401, description = "`invalid-secret`.", body = crate::openapi::FeedbackErrorReply),
        (status = 403, description = "`unauthenticated-source` or `wrong-site`.", body = crate::openapi::FeedbackErrorReply),
        (status = 404, description = "`unknown-id` or `audit-disabled`.", body = crate::openapi::FeedbackErrorReply),
        (status = 429, description = "`rate-limited` (per source, with `Retry-After`).", body = crate::openapi::FeedbackErrorReply),
        (status = 503, description = "`audit-unavailable`.", body = crate::openapi::FeedbackErrorReply),
    ),
)]
pub async fn feedback(
    State(state): State<AppState>,
    body: Result<FormOrJson<FeedbackFields>, BodyRejection>,
) -> Result<Response, FeedbackError> {
    let FormOrJson(f) = body?;
    let rt = state.runtime();
    let site = f
        .secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| rt.site_by_secret(s))
        .ok_or(FeedbackError::InvalidSecret)?;
    let id =
        f.id.as_deref()
            .map(str::to_ascii_lowercase)
            .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(FeedbackError::BadRequest)?;
    let fb = parse_feedback(f.label.as_deref(), f.outcome.as_deref())?;
    let source_name = f.source.as_deref().unwrap_or("backend");
    let source = site
        .settings
        .learning
        .feedback_sources
        .iter()
        .find(|s| s.name == source_name)
        .ok_or(FeedbackError::UnauthenticatedSource)?;
    if let Some(want) = &source.digest {
        let given = f.source_key.as_deref().unwrap_or("");
        let d = secret_digest(b"feedback", given.as_bytes());
        if given.is_empty() || !tollgate_protocol::ct_eq(want, &d) {
            return Err(FeedbackError::UnauthenticatedSource);
        }
    }
    let audit = state.audit().ok_or(FeedbackError::AuditDisabled)?;
    let now = state.now_ms();
    let limiter = {
        let key = format!(
            "{}/{}/{}",
            site.settings.sitekey, source.name, source.per_minute
        );
        let mut m = audit.limiters.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(key)
            .or_insert_with(|| {
                let per_minute = f64::from(source.per_minute);
                Arc::new(RateLimiter::new(
                    RateConfig {
                        per_second: per_minute / 60.0,
                        burst: source.per_minute,
                    },
                    1,
                ))
            })
            .clone()
    };
    if let Err(l) = limiter.check(0, now) {
        metrics::counter!("tollgate_feedback_rate_limited_total", "source" => source.name.clone())
            .increment(1);
        return Err(FeedbackError::RateLimited {
            retry_after_secs: l.retry_after.as_secs().max(1),
        });
    }
    // The record may still be in the writer's queue (a backend reporting right after
    // siteverify): look once, and once more after the queue is written.
    let sink = audit.sink();
    let mut record = sink.get(&id).await.map_err(unavailable)?;
    if record.is_none() {
        audit.writer.flush().await;
        record = sink.get(&id).await.map_err(unavailable)?;
    }
    let record = record.ok_or(FeedbackError::UnknownId)?;
    if record.site != site.settings.sitekey {
        return Err(FeedbackError::WrongSite);
    }
    let label = LabelRecord {
        id: id.clone(),
        site: site.settings.sitekey.clone(),
        time_ms: now,
        feedback: fb,
        source: source.name.clone(),
    };
    sink.add_label(&label).await.map_err(unavailable)?;
    metrics::counter!(
        "tollgate_feedback_total",
        "site" => site.settings.sitekey.clone(),
        "source" => source.name.clone(),
        "kind" => fb.kind(),
        "value" => fb.as_str()
    )
    .increment(1);
    tracing::info!(id = %id, sitekey = %site.settings.sitekey, source = %source.name, feedback = fb.as_str(), "feedback recorded");
    Ok(Json(json!({
        "ok": true,
        "id": id,
        "kind": fb.kind(),
        "value": fb.as_str(),
        "source": source.name,
    }))
    .into_response())
}

fn unavailable(e: crate::audit::AuditError) -> FeedbackError {
    tracing::warn!(error = %e, "feedback: audit trail unavailable");
    FeedbackError::AuditUnavailable
}

/// `/v1/outcome` folded into the trail: its `success` / `failure` become the outcomes
/// `success` / `bad-password` from source `backend` (best effort: the outcome's own answer does
/// not depend on it).
pub async fn record_outcome(state: &AppState, sitekey: &str, id: &[u8; 16], success: bool) {
    let Some(audit) = state.audit() else {
        return;
    };
    let label = LabelRecord {
        id: hex::encode(id),
        site: sitekey.to_string(),
        time_ms: state.now_ms(),
        feedback: if success {
            Feedback::Success
        } else {
            Feedback::BadPassword
        },
        source: "backend".into(),
    };
    match audit.sink().get(&label.id).await {
        Ok(Some(r)) if r.site == sitekey => {
            if let Err(e) = audit.sink().add_label(&label).await {
                tracing::warn!(error = %e, "outcome: cannot add the label to the audit trail");
            } else {
                metrics::counter!("tollgate_feedback_total", "site" => sitekey.to_string(), "source" => "backend", "kind" => "outcome", "value" => label.feedback.as_str())
                    .increment(1);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "outcome: audit trail unavailable"),
    }
}
