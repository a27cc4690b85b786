//! `POST /v1/siteverify` (and `/turnstile/v0/siteverify`): Turnstile-compatible token check.
//!
//! Check order (each step only runs if the previous ones passed):
//! body size → missing secret/response → secret lookup → token decode → challenge signature →
//! expiry → site → origin, action, cdata → token MAC → proof of work → telemetry limits →
//! scoring → **then** atomically mark the challenge id used. Nothing before the last step writes
//! state, so garbage cannot burn a real user's token.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, State};
use axum::http::{HeaderValue, Request, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_protocol::token::DecodedToken;
use tollgate_protocol::{bind_hash, ct_eq, pow};

use crate::clock::iso8601_ms;
use crate::error::VerifyError;
use crate::origin::Origin;
use crate::scoring::{self, Decision};
use crate::state::{AppState, Site};
use crate::store::{MarkOutcome, StoreError, idempotency_fingerprint};

/// Request body limit of siteverify.
pub const SITEVERIFY_BODY_LIMIT: usize = 64 * 1024;

/// The request fields (unknown fields are ignored).
#[derive(Default, Deserialize)]
pub struct VerifyFields {
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub response: Option<String>,
    /// Accepted for compatibility; not used (Turnstile documents it as not strictly validated).
    #[serde(default)]
    pub remoteip: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl std::fmt::Debug for VerifyFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyFields")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("response_len", &self.response.as_ref().map(String::len))
            .field("remoteip", &self.remoteip)
            .field(
                "idempotency_key",
                &self.idempotency_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `tollgate` extension object of the response.
#[derive(Debug, Serialize)]
pub struct TollgateInfo {
    /// Challenge id, hex (null when the token could not be read).
    pub id: Option<String>,
    pub score: f64,
    pub decision: Decision,
    pub reasons: Vec<&'static str>,
    pub features: BTreeMap<&'static str, f64>,
}

/// The siteverify answer (Turnstile shape plus `tollgate`).
#[derive(Debug, Serialize)]
pub struct SiteverifyResponse {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(rename = "error-codes")]
    pub error_codes: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdata: Option<String>,
    pub tollgate: TollgateInfo,
}

impl SiteverifyResponse {
    /// Failure answer: no context fields; `tollgate.decision` is `block` and `tollgate.reasons`
    /// holds the detail code of the failure.
    pub fn failure(err: &VerifyError, id: Option<&[u8; 16]>) -> Self {
        Self {
            success: false,
            challenge_ts: None,
            hostname: None,
            error_codes: err.codes().iter().map(|c| c.as_str()).collect(),
            action: None,
            cdata: None,
            tollgate: TollgateInfo {
                id: id.map(hex::encode),
                score: 0.0,
                decision: Decision::Block,
                reasons: vec![err.reason()],
                features: BTreeMap::new(),
            },
        }
    }
}

/// A failure plus the challenge id when it was known.
#[derive(Debug)]
struct Failure {
    err: VerifyError,
    id: Option<[u8; 16]>,
}

impl From<VerifyError> for Failure {
    fn from(err: VerifyError) -> Self {
        Self { err, id: None }
    }
}

fn json_response(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// Handler: always HTTP 200 with the JSON verdict.
pub async fn siteverify(State(state): State<AppState>, req: Request<Body>) -> Response {
    match verify(&state, req).await {
        Ok(body) => json_response(body),
        Err(Failure { err, id }) => {
            let reason = err.reason();
            for code in err.codes() {
                metrics::counter!("tollgate_siteverify_errors_total", "code" => code.as_str(), "reason" => reason)
                    .increment(1);
            }
            if matches!(err, VerifyError::Store(StoreError::Full { .. })) {
                metrics::counter!("tollgate_store_full_total").increment(1);
                tracing::error!(error = %err, "used-challenge store full: failing closed");
            } else if matches!(err, VerifyError::Store(_) | VerifyError::Internal(_)) {
                tracing::error!(error = %err, "siteverify internal error");
            } else {
                tracing::info!(reason, id = id.map(hex::encode), error = %err, "siteverify rejected");
            }
            let resp = SiteverifyResponse::failure(&err, id.as_ref());
            // Serializing this struct cannot fail (string keys, finite numbers); keep a fallback.
            let body = serde_json::to_string(&resp).unwrap_or_else(|_| {
                r#"{"success":false,"error-codes":["internal-error"]}"#.to_string()
            });
            json_response(body)
        }
    }
}

fn media_type(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Parse the body as JSON, multipart or URL-encoded form (by content type; without one, JSON if
/// it looks like an object, else form).
async fn parse_fields(
    mut parts: Parts,
    bytes: axum::body::Bytes,
) -> Result<VerifyFields, VerifyError> {
    let mt = media_type(&parts);
    let kind = match mt.as_deref() {
        Some("application/json") => "json",
        Some(m) if m.ends_with("+json") => "json",
        Some("multipart/form-data") => "multipart",
        Some("application/x-www-form-urlencoded") => "form",
        _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => "json",
        _ => "form",
    };
    match kind {
        "json" => serde_json::from_slice::<VerifyFields>(&bytes)
            .map_err(|e| VerifyError::Malformed(format!("json: {e}"))),
        "multipart" => {
            let req = Request::from_parts(parts, Body::from(bytes));
            let mut mp = Multipart::from_request(req, &())
                .await
                .map_err(|e| VerifyError::Malformed(format!("multipart: {e}")))?;
            let mut fields = VerifyFields::default();
            while let Some(field) = mp
                .next_field()
                .await
                .map_err(|e| VerifyError::Malformed(format!("multipart: {e}")))?
            {
                let name = field.name().unwrap_or_default().to_string();
                let slot = match name.as_str() {
                    "secret" => &mut fields.secret,
                    "response" => &mut fields.response,
                    "remoteip" => &mut fields.remoteip,
                    "idempotency_key" => &mut fields.idempotency_key,
                    _ => continue,
                };
                let text = field
                    .text()
                    .await
                    .map_err(|e| VerifyError::Malformed(format!("multipart: {e}")))?;
                if slot.replace(text).is_some() {
                    return Err(VerifyError::Malformed(format!(
                        "multipart: duplicate field {name}"
                    )));
                }
            }
            Ok(fields)
        }
        _ => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            let req = Request::from_parts(parts, Body::from(bytes));
            axum::Form::<VerifyFields>::from_request(req, &())
                .await
                .map(|axum::Form(f)| f)
                .map_err(|e| VerifyError::Malformed(format!("form: {e}")))
        }
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

async fn verify(state: &AppState, req: Request<Body>) -> Result<String, Failure> {
    // 1. Body size.
    let (parts, body) = req.into_parts();
    let bytes = crate::read_body(body, SITEVERIFY_BODY_LIMIT).await?;
    let fields = parse_fields(parts, bytes).await?;

    // 2. Missing inputs.
    let secret = non_empty(fields.secret);
    let response = non_empty(fields.response);
    let (secret, response) = match (secret, response) {
        (Some(s), Some(r)) => (s, r),
        (None, None) => return Err(VerifyError::MissingBoth.into()),
        (None, Some(_)) => return Err(VerifyError::MissingSecret.into()),
        (Some(_), None) => return Err(VerifyError::MissingResponse.into()),
    };

    // 3. Secret.
    let site = state
        .site_by_secret(&secret)
        .ok_or(VerifyError::UnknownSecret)?;

    // 4. Token decode.
    let token = DecodedToken::decode(&response).map_err(VerifyError::Decode)?;
    let ch = &token.challenge.body;
    let id = ch.challenge_id;
    let fail = |err: VerifyError| Failure { err, id: Some(id) };

    // 5. Signature (key chosen by the challenge's key id; every configured key verifies).
    let key = state
        .keys()
        .get(ch.key_id)
        .ok_or_else(|| fail(VerifyError::UnknownKey(ch.key_id)))?;
    token
        .challenge
        .verify(|_| Some(key.verifying))
        .map_err(|_| fail(VerifyError::BadSignature))?;

    // 6. Expiry.
    let now = state.now_ms();
    if now >= ch.expires_at_ms {
        return Err(fail(VerifyError::Expired));
    }

    // 7. Site.
    if !ct_eq(&ch.site_id, &site.site_id) {
        return Err(fail(VerifyError::WrongSite));
    }

    // 8. Origin, action, cdata.
    check_bindings(site, &token).map_err(fail)?;

    // 9. MAC with the derived per-challenge key.
    token
        .verify_mac(&key.token_key(&id))
        .map_err(|_| fail(VerifyError::BadMac))?;

    // 10. Proof of work.
    pow::verify(&token.body.challenge, ch.pow, &token.body.solutions)
        .map_err(|e| fail(VerifyError::Pow(e)))?;

    // 11. Telemetry limits (decode already enforced them; re-checked here so the rule holds even
    //     if decoding changes).
    token
        .body
        .telemetry
        .check_limits()
        .map_err(|e| fail(VerifyError::Telemetry(e)))?;

    // 12. Score.
    let verdict = scoring::score(&token, &site.settings.policy);
    let ctx = &token.body.context;
    let resp = SiteverifyResponse {
        success: true,
        challenge_ts: Some(iso8601_ms(ch.issued_at_ms)),
        hostname: Origin::parse(&ctx.origin)
            .ok()
            .map(|o| o.hostname().to_string()),
        error_codes: Vec::new(),
        action: Some(ctx.action.clone()),
        cdata: Some(ctx.cdata.clone()),
        tollgate: TollgateInfo {
            id: Some(hex::encode(id)),
            score: verdict.score,
            decision: verdict.decision,
            reasons: verdict.reasons,
            features: verdict.features,
        },
    };
    let body = serde_json::to_string(&resp)
        .map_err(|e| fail(VerifyError::Internal(format!("serialize: {e}"))))?;

    // 13. Single use, atomically, only now.
    let fp = non_empty(fields.idempotency_key).map(|k| idempotency_fingerprint(&k, &response));
    match site.store.mark_used(id, ch.expires_at_ms, fp, &body).await {
        Ok(MarkOutcome::Marked) => {
            metrics::counter!("tollgate_verdicts_total", "decision" => verdict.decision.as_str())
                .increment(1);
            tracing::info!(
                id = %hex::encode(id),
                sitekey = %site.settings.sitekey,
                score = verdict.score,
                decision = verdict.decision.as_str(),
                "siteverify ok"
            );
            Ok(body)
        }
        Ok(MarkOutcome::Repeat(stored)) => {
            metrics::counter!("tollgate_siteverify_idempotent_repeats_total").increment(1);
            Ok(stored)
        }
        Ok(MarkOutcome::Duplicate) => Err(fail(VerifyError::Duplicate)),
        Err(e) => Err(fail(VerifyError::Store(e))),
    }
}

fn check_bindings(site: &Site, token: &DecodedToken) -> Result<(), VerifyError> {
    let ch = &token.challenge.body;
    let ctx = &token.body.context;
    if !ct_eq(&bind_hash(b"origin", &ctx.origin), &ch.origin_hash) {
        return Err(VerifyError::OriginMismatch);
    }
    if !site.allows_origin(&ctx.origin) {
        return Err(VerifyError::OriginNotAllowed);
    }
    if !ct_eq(&bind_hash(b"action", &ctx.action), &ch.action_hash) {
        return Err(VerifyError::ActionMismatch);
    }
    if !ct_eq(&bind_hash(b"cdata", &ctx.cdata), &ch.cdata_hash) {
        return Err(VerifyError::CdataMismatch);
    }
    Ok(())
}
