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
use axum::body::Body;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::clientip::{client_ip, subscriber_key};
use crate::correlate::{Footprint, normalize_account};
use crate::siteverify::footprint_key;
use crate::state::AppState;

/// Request body limit.
pub const OUTCOME_BODY_LIMIT: usize = 8 * 1024;

#[derive(Default, Deserialize)]
struct OutcomeFields {
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    account: Option<String>,
}

fn err(status: StatusCode, code: &'static str) -> Response {
    metrics::counter!("tollgate_outcome_errors_total", "code" => code).increment(1);
    (status, Json(json!({ "error": code }))).into_response()
}

/// Handler of `POST /v1/outcome`.
pub async fn report(State(state): State<AppState>, req: Request<Body>) -> Response {
    let rt = state.runtime();
    if let (Some(limiter), Some(ip)) = (
        &rt.siteverify_limiter,
        client_ip(&req, &rt.server.trusted_proxies),
    ) && let Err(l) = limiter.check(subscriber_key(ip), state.now_ms())
    {
        metrics::counter!("tollgate_rate_limited_total", "endpoint" => "outcome").increment(1);
        let mut r = err(StatusCode::TOO_MANY_REQUESTS, "rate-limited");
        if let Ok(v) = HeaderValue::from_str(&l.retry_after.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = crate::read_body(body, OUTCOME_BODY_LIMIT).await else {
        return err(StatusCode::BAD_REQUEST, "bad-request");
    };
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let fields: OutcomeFields = if is_form {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        match axum::Form::<OutcomeFields>::from_request(
            Request::from_parts(parts, Body::from(bytes)),
            &(),
        )
        .await
        {
            Ok(axum::Form(f)) => f,
            Err(_) => return err(StatusCode::BAD_REQUEST, "bad-request"),
        }
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(f) => f,
            Err(_) => return err(StatusCode::BAD_REQUEST, "bad-request"),
        }
    };
    let Some(site) = fields
        .secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| rt.site_by_secret(s))
    else {
        return err(StatusCode::UNAUTHORIZED, "invalid-secret");
    };
    let id: [u8; 16] = match fields
        .id
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|v| <[u8; 16]>::try_from(v).ok())
    {
        Some(id) => id,
        None => return err(StatusCode::BAD_REQUEST, "bad-request"),
    };
    let success = match fields.outcome.as_deref() {
        Some("success") => true,
        Some("failure") => false,
        _ => return err(StatusCode::BAD_REQUEST, "bad-request"),
    };
    let account = match fields.account.as_deref() {
        None | Some("") => None,
        Some(a) => match normalize_account(a) {
            Some(a) => Some(a),
            None => return err(StatusCode::BAD_REQUEST, "bad-request"),
        },
    };

    let store = state.shared_store();
    let key = footprint_key(site, &id);
    let foot: Footprint = match store.get(&key).await {
        Ok(Some(v)) => match serde_json::from_slice(&v) {
            Ok(f) => f,
            Err(_) => return err(StatusCode::NOT_FOUND, "unknown-id"),
        },
        Ok(None) => return err(StatusCode::NOT_FOUND, "unknown-id"),
        Err(e) => {
            tracing::warn!(error = %e, "outcome: store unavailable");
            return err(StatusCode::SERVICE_UNAVAILABLE, "store-unavailable");
        }
    };
    let label = if success { "success" } else { "failure" };
    match store
        .claim(&format!("o:{key}"), rt.correlation.window_ms)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return (
                StatusCode::OK,
                Json(json!({"ok": true, "duplicate": true, "signals": []})),
            )
                .into_response();
        }
        Err(e) => {
            tracing::warn!(error = %e, "outcome: store unavailable");
            return err(StatusCode::SERVICE_UNAVAILABLE, "store-unavailable");
        }
    }
    metrics::counter!("tollgate_outcomes_total", "outcome" => label).increment(1);
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
                return err(StatusCode::SERVICE_UNAVAILABLE, "store-unavailable");
            }
        }
    } else {
        Vec::new()
    };
    tracing::info!(id = %hex::encode(id), sitekey = %site.settings.sitekey, outcome = label, ?signals, "outcome reported");
    (
        StatusCode::OK,
        Json(json!({"ok": true, "duplicate": false, "signals": signals})),
    )
        .into_response()
}
