//! `POST /v1/outcome`: the site's backend reports how a login ended, keyed by the `tollgate.id`
//! siteverify returned. Authenticated with the site secret (like siteverify). Failed logins feed
//! the per-account and per-prefix failure counters (`campaign-account`, `campaign-prefix`).
//!
//! Request (JSON or form): `{"secret", "id": hex, "outcome": "success" | "failure", "account"?}`.
//! Answers: `200 {"ok": true, "duplicate": bool, "signals": [...]}`; `400 {"error":
//! "bad-request"}`; `401 {"error": "invalid-secret"}`; `404 {"error": "unknown-id"}` (never
//! verified on this site, or older than the correlation window); `429 {"error": "rate-limited"}`;
//! `503 {"error": "store-unavailable"}`. Each id counts once; repeats answer `duplicate: true`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::correlate::{Footprint, footprint_key, normalize_account};
use crate::error::OutcomeError;
use crate::extract::{BodyRejection, Fields, FormOrJson, Formats};
use crate::state::AppState;

/// Request body limit.
pub const OUTCOME_BODY_LIMIT: usize = 8 * 1024;

/// The request fields (unknown fields are ignored): JSON, or URL-encoded form by content type.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[schema(as = OutcomeRequest)]
pub struct OutcomeFields {
    /// The site's secret (as for siteverify).
    #[serde(default)]
    #[schema(required = true)]
    secret: Option<String>,
    /// `tollgate.id` from the siteverify answer (32 hex digits).
    #[serde(default)]
    #[schema(required = true, pattern = "^[0-9a-fA-F]{32}$")]
    id: Option<String>,
    /// How the login ended.
    #[serde(default)]
    #[schema(required = true, value_type = Option<crate::openapi::LoginOutcome>)]
    outcome: Option<String>,
    /// The username tried (optional; only a keyed hash is used).
    #[serde(default)]
    account: Option<String>,
}

impl std::fmt::Debug for OutcomeFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeFields")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("id", &self.id)
            .field("outcome", &self.outcome)
            .field("account", &self.account.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Fields for OutcomeFields {
    const FORMATS: Formats = Formats::JsonOrForm;

    fn slot(&mut self, name: &[u8]) -> Option<&mut Option<String>> {
        match name {
            b"secret" => Some(&mut self.secret),
            b"id" => Some(&mut self.id),
            b"outcome" => Some(&mut self.outcome),
            b"account" => Some(&mut self.account),
            _ => None,
        }
    }
}

/// Handler of `POST /v1/outcome` (rate limited by [`crate::ratelimit::limit`]).
#[utoipa::path(
    post,
    path = "/v1/outcome",
    tag = "internal",
    operation_id = "outcome",
    summary = "Report how a verified login ended",
    description = "Called by your backend after checking the password, with the site's secret \
        and `tollgate.id` from siteverify. Failed logins feed the campaign signals \
        (`campaign-account`, `campaign-prefix`). Each id counts once; repeats answer \
        `duplicate: true`.",
    request_body(
        description = "JSON, or URL-encoded form by content type.",
        content(
            (OutcomeFields = "application/x-www-form-urlencoded"),
            (OutcomeFields = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Recorded (or a repeat).", body = crate::openapi::OutcomeReply),
        (status = 400, description = "`bad-request`: unreadable body, bad `id` or `outcome`.", body = crate::openapi::OutcomeErrorReply),
        (status = 401, description = "`invalid-secret`.", body = crate::openapi::OutcomeErrorReply),
        (status = 404, description = "`unknown-id`: never verified on this site, or older than the correlation window.", body = crate::openapi::OutcomeErrorReply),
        (status = 429, description = "`rate-limited` (with `Retry-After`).", body = crate::openapi::OutcomeErrorReply),
        (status = 503, description = "`store-unavailable` or `overloaded`.", body = crate::openapi::OutcomeErrorReply),
    ),
)]
pub async fn report(
    State(state): State<AppState>,
    body: Result<FormOrJson<OutcomeFields>, BodyRejection>,
) -> Result<Response, OutcomeError> {
    let FormOrJson(fields) = body?;
    let _slot = state
        .admit("outcome")
        .await
        .map_err(|s| OutcomeError::Overloaded {
            retry_after_secs: s.retry_after_secs,
        })?;
    let rt = state.runtime();
    let site = fields
        .secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| rt.site_by_secret(s))
        .ok_or(OutcomeError::InvalidSecret)?;
    let id: [u8; 16] = fields
        .id
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|v| <[u8; 16]>::try_from(v).ok())
        .ok_or(OutcomeError::BadRequest)?;
    let success = match fields.outcome.as_deref() {
        Some("success") => true,
        Some("failure") => false,
        _ => return Err(OutcomeError::BadRequest),
    };
    // Any length is hashed (bounded by the body limit); blank means no account.
    let account = fields.account.as_deref().and_then(normalize_account);

    let store = state.shared_store();
    let key = footprint_key(&site.site_id, &id);
    let foot: Footprint = match store.get(&key).await {
        Ok(Some(v)) => serde_json::from_slice(&v).map_err(|_| OutcomeError::UnknownId)?,
        Ok(None) => return Err(OutcomeError::UnknownId),
        Err(e) => {
            tracing::warn!(error = %e, "outcome: store unavailable");
            return Err(OutcomeError::StoreUnavailable);
        }
    };
    let label = if success { "success" } else { "failure" };
    match store
        .claim(&format!("o:{key}"), rt.correlation.window_ms)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return Ok((
                StatusCode::OK,
                Json(json!({"ok": true, "duplicate": true, "signals": []})),
            )
                .into_response());
        }
        Err(e) => {
            tracing::warn!(error = %e, "outcome: store unavailable");
            return Err(OutcomeError::StoreUnavailable);
        }
    }
    metrics::counter!("tollgate_outcomes_total", "outcome" => label).increment(1);
    crate::feedback::record_outcome(&state, &site.settings.sitekey, &id, success).await;
    let signals = if rt.correlation.enabled {
        match rt
            .correlator(site)
            .on_outcome(
                store.as_ref(),
                state.now_ms(),
                &foot,
                success,
                account.as_deref(),
            )
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "outcome: counters unavailable");
                return Err(OutcomeError::StoreUnavailable);
            }
        }
    } else {
        Vec::new()
    };
    tracing::info!(id = %hex::encode(id), sitekey = %site.settings.sitekey, outcome = label, ?signals, "outcome reported");
    Ok((
        StatusCode::OK,
        Json(json!({"ok": true, "duplicate": false, "signals": signals})),
    )
        .into_response())
}
