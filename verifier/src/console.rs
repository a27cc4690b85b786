//! The analyst console: a page served by the verifier (`GET /admin/`, no third-party assets)
//! and its JSON API behind the console token (`[audit] admin_token`, sent as
//! `Authorization: Bearer <token>`; compared as fixed-size digests in constant time).
//!
//! - `GET /admin/api/verdicts?site=&decision=&reason=&model=&hours=&limit=` → recent audit records,
//!   newest first, without telemetry (`limit` ≤ 500, default 100; `hours` default 24);
//! - `GET /admin/api/verdicts/{id}` → `{record, labels}` with the stored telemetry (the session
//!   view draws the pointer trajectory and key timings from it);
//! - `POST /admin/api/feedback` `{id, label | outcome}` → appends a label from source `console`.
//!
//! Without `[audit]` or without a token every `/admin` route answers 404.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{Audit, LabelRecord};
use crate::config::secret_digest;
use crate::state::AppState;

/// The console page (HTML, CSS and script in one file, nothing fetched from elsewhere).
pub const PAGE: &str = include_str!("../console/index.html");

/// Largest page of verdicts.
pub const MAX_LIMIT: usize = 500;

fn err(status: StatusCode, code: &'static str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

/// The audit trail if the request carries the console token.
fn authorized<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
) -> Result<&'a Audit, (StatusCode, &'static str)> {
    let Some(audit) = state.audit().filter(|a| a.admin_digest.is_some()) else {
        return Err((StatusCode::NOT_FOUND, "console-disabled"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok = audit.admin_digest.as_ref().is_some_and(|want| {
        tollgate_protocol::ct_eq(want, &secret_digest(b"admin", given.as_bytes()))
    });
    if given.is_empty() || !ok {
        return Err((StatusCode::UNAUTHORIZED, "invalid-token"));
    }
    Ok(audit)
}

/// `GET /admin/`: the page (only when the console is enabled).
#[utoipa::path(
    get,
    path = "/admin/",
    tag = "internal",
    operation_id = "console_page",
    summary = "The analyst console (HTML page; it asks for the admin token)",
    responses(
        (status = 200, description = "The page (self-contained, strict CSP).", content_type = "text/html", body = String),
        (status = 404, description = "`console-disabled`: no `[audit] admin_token`.", body = crate::openapi::FeedbackErrorReply),
    ),
)]
pub async fn page(State(state): State<AppState>) -> Response {
    if state.audit().is_none_or(|a| a.admin_digest.is_none()) {
        return err(StatusCode::NOT_FOUND, "console-disabled");
    }
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
            ),
        ],
        Html(PAGE),
    )
        .into_response()
}

/// `GET /admin/api/verdicts`.
#[utoipa::path(
    get,
    path = "/admin/api/verdicts",
    tag = "internal",
    operation_id = "console_verdicts",
    summary = "Recent verdicts from the audit trail, newest first (admin token)",
    params(
        ("site" = Option<String>, Query, description = "Only this site key."),
        ("decision" = Option<String>, Query, description = "`allow`, `challenge` or `block`."),
        ("reason" = Option<String>, Query, description = "Only verdicts listing this reason code."),
        ("model" = Option<String>, Query, description = "Answering or shadow model id."),
        ("hours" = Option<u64>, Query, description = "Look back this many hours (default 24)."),
        ("limit" = Option<usize>, Query, description = "At most this many (default 100)."),
    ),
    responses(
        (status = 200, description = "`{\"verdicts\": [audit record without telemetry]}`.", body = Object),
        (status = 401, description = "`invalid-token` (`Authorization: Bearer <admin token>`).", body = crate::openapi::FeedbackErrorReply),
        (status = 404, description = "`console-disabled`.", body = crate::openapi::FeedbackErrorReply),
        (status = 503, description = "`audit-unavailable`.", body = crate::openapi::FeedbackErrorReply),
    ),
)]
pub async fn verdicts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let audit = match authorized(&state, &headers) {
        Ok(a) => a,
        Err((status, code)) => return err(status, code),
    };
    let limit = q
        .get("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, MAX_LIMIT);
    let hours = q
        .get("hours")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(24)
        .clamp(1, 24 * 366);
    let now = state.now_ms();
    let filter = |k: &str| q.get(k).filter(|v| !v.is_empty());
    let (decision, reason, model) = (filter("decision"), filter("reason"), filter("model"));
    let query = crate::audit::Query {
        site: filter("site").cloned(),
        from_ms: now.saturating_sub(hours * 3_600_000),
        to_ms: now.saturating_add(1),
        // Filters other than the site apply after the read: read a few pages' worth.
        limit: if decision.is_some() || reason.is_some() || model.is_some() {
            limit * 20
        } else {
            limit
        },
        newest_first: true,
    };
    let records = match audit.sink().range(&query).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "console: audit trail unavailable");
            return err(StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable");
        }
    };
    let rows: Vec<_> = records
        .into_iter()
        .filter(|r| decision.is_none_or(|d| &r.decision == d))
        .filter(|r| reason.is_none_or(|x| r.reasons.iter().any(|y| y == x)))
        .filter(|r| {
            model.is_none_or(|m| {
                &r.model_id == m || r.shadow.as_ref().is_some_and(|s| &s.model_id == m)
            })
        })
        .take(limit)
        .map(|mut r| {
            r.telemetry = None;
            r.features.clear();
            r.contributions.clear();
            r
        })
        .collect();
    Json(json!({ "verdicts": rows })).into_response()
}

/// `GET /admin/api/verdicts/{id}`.
#[utoipa::path(
    get,
    path = "/admin/api/verdicts/{id}",
    tag = "internal",
    operation_id = "console_verdict",
    summary = "One verdict with its telemetry (when stored) and labels (admin token)",
    params(("id" = String, Path, description = "Verdict id (hex).")),
    responses(
        (status = 200, description = "`{\"record\": audit record, \"labels\": [...]}`.", body = Object),
        (status = 401, description = "`invalid-token`.", body = crate::openapi::FeedbackErrorReply),
        (status = 404, description = "`unknown-id` or `console-disabled`.", body = crate::openapi::FeedbackErrorReply),
        (status = 503, description = "`audit-unavailable`.", body = crate::openapi::FeedbackErrorReply),
    ),
)]
pub async fn verdict(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let audit = match authorized(&state, &headers) {
        Ok(a) => a,
        Err((status, code)) => return err(status, code),
    };
    let sink = audit.sink();
    match sink.get(&id).await {
        Ok(Some(r)) => match sink.labels_for(std::slice::from_ref(&id)).await {
            Ok(labels) => Json(json!({ "record": r, "labels": labels })).into_response(),
            Err(_) => err(StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable"),
        },
        Ok(None) => err(StatusCode::NOT_FOUND, "unknown-id"),
        Err(_) => err(StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable"),
    }
}

/// A label from the console.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ConsoleLabel {
    id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
}

/// `POST /admin/api/feedback`: a label from source `console`.
#[utoipa::path(
    post,
    path = "/admin/api/feedback",
    tag = "internal",
    operation_id = "console_label",
    summary = "Label a verdict from the console (source `console`; admin token)",
    request_body(content = ConsoleLabel, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded.", body = Object),
        (status = 400, description = "`bad-request` or `bad-label`.", body = crate::openapi::FeedbackErrorReply),
        (status = 401, description = "`invalid-token`.", body = crate::openapi::FeedbackErrorReply),
        (status = 404, description = "`unknown-id` or `console-disabled`.", body = crate::openapi::FeedbackErrorReply),
        (status = 503, description = "`audit-unavailable`.", body = crate::openapi::FeedbackErrorReply),
    ),
)]
pub async fn label(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ConsoleLabel>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let audit = match authorized(&state, &headers) {
        Ok(a) => a,
        Err((status, code)) => return err(status, code),
    };
    let Ok(Json(b)) = body else {
        return err(StatusCode::BAD_REQUEST, "bad-request");
    };
    let value = match (b.label.as_deref(), b.outcome.as_deref()) {
        (Some(v), None) | (None, Some(v)) => v,
        _ => return err(StatusCode::BAD_REQUEST, "bad-request"),
    };
    let Some(fb) = crate::audit::Feedback::parse(value) else {
        return err(StatusCode::BAD_REQUEST, "bad-label");
    };
    let sink = audit.sink();
    let record = match sink.get(&b.id).await {
        Ok(Some(r)) => r,
        Ok(None) => return err(StatusCode::NOT_FOUND, "unknown-id"),
        Err(_) => return err(StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable"),
    };
    let l = LabelRecord {
        id: record.id.clone(),
        site: record.site.clone(),
        time_ms: state.now_ms(),
        feedback: fb,
        source: "console".into(),
    };
    if sink.add_label(&l).await.is_err() {
        return err(StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable");
    }
    metrics::counter!("tollgate_feedback_total", "site" => record.site, "source" => "console", "kind" => fb.kind(), "value" => fb.as_str())
        .increment(1);
    Json(json!({ "ok": true, "id": l.id, "value": fb.as_str(), "source": "console" }))
        .into_response()
}
