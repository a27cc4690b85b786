//! `POST /v1/siteverify` (and `/turnstile/v0/siteverify`): Turnstile-compatible token check.
//!
//! Check order (each step only runs if the previous ones passed):
//! body size → missing secret/response → secret lookup → token decode → key id → challenge
//! authenticity → expiry → site → origin, action, cdata → token MAC → proof of work → telemetry
//! limits → scoring → **then** atomically mark the challenge id used. Nothing before the last step
//! writes state, so garbage cannot burn a real user's token.
//!
//! Challenge authenticity: the token key is HMAC(MAC secret, whole signed challenge)
//! ([`tollgate_protocol::token::challenge_token_key`]), so a token MAC that verifies under it proves
//! the challenge is byte-for-byte one this verifier issued — the signature and the MAC are then
//! both settled by one HMAC (≈ 2 µs) instead of an Ed25519 verification (≈ 50 µs). Only when that
//! MAC fails is the Ed25519 signature checked: a bad signature is reported as `bad-signature`, and
//! with a good one the token must carry a MAC under the older id-bound key
//! ([`crate::keys::KeyEntry::legacy_token_key`], challenges issued before the change), else
//! `bad-mac` — the same answers, in the same order, as when the signature was always checked.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_protocol::token::DecodedToken;
use tollgate_protocol::{bind_hash, ct_eq, pow};

use crate::clock::iso8601_ms;
use crate::config::{
    DECISION_BLOCK_CODE, DECISION_CHALLENGE_CODE, FailMode, SuccessWhen, TestAnswer, TestKey,
    test_key_by_secret,
};
use crate::correlate::{self, Footprint, normalize_account, risk};
use crate::error::VerifyError;
use crate::extract::{BodyRejection, Fields, FormOrJson, Formats};
use crate::origin::Origin;
use crate::scoring::{self, Decision, Verdict};
use crate::state::{AppState, Runtime, Site};
use crate::store::{
    MarkOutcome, MarkRequest, RetryKey, StoreError, idempotency_fingerprint, retry_fingerprint,
};

/// Request body limit of siteverify.
pub const SITEVERIFY_BODY_LIMIT: usize = 64 * 1024;

/// The request fields (unknown fields are ignored): JSON, multipart or URL-encoded form
/// ([`Formats::Any`]).
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[schema(
    as = SiteverifyRequest,
    description = "The request fields (unknown fields are ignored): form-encoded, multipart or JSON."
)]
pub struct VerifyFields {
    /// The site's secret (from your backend's configuration; never sent to a browser). Missing:
    /// `missing-input-secret`.
    #[serde(default)]
    #[schema(example = "tgdev-localhost-secret-not-for-production")]
    pub secret: Option<String>,
    /// The token from the form field `tollgate-response` (3–8 KB of base64url, at most 32 KiB).
    /// Missing: `missing-input-response`.
    #[serde(default)]
    pub response: Option<String>,
    /// The visitor's address as the site saw it: used for correlation (never stored raw);
    /// ignored when it does not parse.
    #[serde(default)]
    #[schema(example = "203.0.113.7")]
    pub remoteip: Option<String>,
    /// Retries with the same key (and token) get the same answer instead of
    /// `timeout-or-duplicate`.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The username the visitor tried (optional): only a keyed hash of it is used.
    #[serde(default)]
    pub account: Option<String>,
}

impl Fields for VerifyFields {
    const FORMATS: Formats = Formats::Any;

    fn slot(&mut self, name: &[u8]) -> Option<&mut Option<String>> {
        match name {
            b"secret" => Some(&mut self.secret),
            b"response" => Some(&mut self.response),
            b"remoteip" => Some(&mut self.remoteip),
            b"idempotency_key" => Some(&mut self.idempotency_key),
            b"account" => Some(&mut self.account),
            _ => None,
        }
    }
}

impl std::fmt::Debug for VerifyFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyFields")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("response_len", &self.response.as_ref().map(String::len))
            .field("remoteip", &self.remoteip.as_ref().map(|_| "[redacted]"))
            .field(
                "idempotency_key",
                &self.idempotency_key.as_ref().map(|_| "[redacted]"),
            )
            .field("account", &self.account.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// `tollgate` extension object of the response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TollgateInfo {
    /// Challenge id, hex (null when the token could not be read). Report the login's outcome
    /// with it (`POST /v1/outcome`).
    #[schema(required = true)]
    pub id: Option<String>,
    /// 0.0 (bot) ..= 1.0 (human).
    pub score: f64,
    #[schema(value_type = crate::openapi::DecisionSchema)]
    pub decision: Decision,
    /// Stable reason codes: why the decision was taken, or the detail code of a failure (e.g.
    /// `duplicate`, `bad-mac`, `expired`, `rate-limited`).
    #[schema(value_type = Vec<String>)]
    pub reasons: Vec<&'static str>,
    /// The scored feature values by name.
    #[schema(value_type = BTreeMap<String, f64>)]
    pub features: BTreeMap<&'static str, f64>,
    /// Behaviour-model logit contribution per feature (negative = bot-like).
    #[schema(value_type = BTreeMap<String, f64>)]
    pub contributions: BTreeMap<&'static str, f64>,
    /// What each listed behaviour (and campaign) reason contributed: model group logit and the
    /// feature values behind it, a tell's or penalty's score change, a rule's score cap
    /// ([`scoring::ReasonDetail`]).
    pub reason_details: BTreeMap<&'static str, scoring::ReasonDetail>,
    /// Rules that matched but were not applied, with the documented reason.
    pub notes: Vec<&'static str>,
    /// The device class the telemetry shows and the one whose thresholds judged it (absent where
    /// no behaviour was read: failures, test keys, no-collector tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<scoring::DeviceInfo>,
    /// Id of the behaviour model that scored the answer (absent on failures and test keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The siteverify answer (Turnstile shape plus `tollgate`; `score` as reCAPTCHA v3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiteverifyResponse {
    /// Whether the token is valid **and** its decision meets the site's `success_when`.
    pub success: bool,
    /// reCAPTCHA-v3-shaped score (same as `tollgate.score`), on every answer about a valid token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// When the challenge was issued (ISO 8601, UTC, milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-11-23T12:10:03.512Z")]
    pub challenge_ts: Option<String>,
    /// Host name of the page the token was made on: check it is yours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Empty on success; Turnstile's codes, plus `tollgate-decision-*` when a valid token's
    /// decision is below the site's `success_when`.
    #[serde(rename = "error-codes")]
    #[schema(value_type = Vec<crate::openapi::SiteverifyErrorCode>)]
    pub error_codes: Vec<&'static str>,
    /// The action bound to the challenge: check it is the one you expect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The cdata bound to the challenge.
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
            score: None,
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
                contributions: BTreeMap::new(),
                reason_details: BTreeMap::new(),
                notes: Vec::new(),
                device: None,
                model: None,
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

/// The 429 answer of siteverify (Turnstile-shaped, `internal-error`, reason `rate-limited`) with
/// `Retry-After`; sent by the [`crate::ratelimit::limit`] middleware.
pub fn rate_limited(retry_after_secs: u64) -> Response {
    let err = VerifyError::RateLimited { retry_after_secs };
    let mut resp = json_response(failure_body(&err, None));
    *resp.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The 503 answer of siteverify when admission control sheds the request before it touched
/// anything (Turnstile-shaped, `internal-error`, reason `overloaded`) with `Retry-After`: the
/// token was not looked at, so retrying it is always safe.
pub fn overloaded(retry_after_secs: u64) -> Response {
    let err = VerifyError::Overloaded { retry_after_secs };
    metrics::counter!("tollgate_siteverify_errors_total", "code" => "internal-error", "reason" => err.reason())
        .increment(1);
    let mut resp = json_response(failure_body(&err, None));
    *resp.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

impl SiteverifyResponse {
    /// Apply the site's `success_when` to a valid token's answer: `success` is false with the
    /// `tollgate-decision-…` error code when the decision is below the policy.
    pub fn apply_success_policy(&mut self, when: SuccessWhen) {
        self.error_codes
            .retain(|c| *c != DECISION_CHALLENGE_CODE && *c != DECISION_BLOCK_CODE);
        match when.refusal(self.tollgate.decision) {
            None => self.success = true,
            Some(code) => {
                self.success = false;
                self.error_codes.push(code);
            }
        }
    }
}

/// Count a final verdict: its decision, and the device class behind it (bounded labels: eight
/// classes each), so an operator can watch the class mix of a login page.
fn count_verdict(tg: &TollgateInfo) {
    metrics::counter!("tollgate_verdicts_total", "decision" => tg.decision.as_str()).increment(1);
    if let Some(d) = tg.device {
        metrics::counter!(
            "tollgate_device_classes_total",
            "class" => d.class,
            "judged_as" => d.judged_as
        )
        .increment(1);
    }
}

fn failure_body(err: &VerifyError, id: Option<&[u8; 16]>) -> String {
    // Serializing this struct cannot fail (string keys, finite numbers); keep a fallback.
    serde_json::to_string(&SiteverifyResponse::failure(err, id))
        .unwrap_or_else(|_| r#"{"success":false,"error-codes":["internal-error"]}"#.to_string())
}

/// Handler: always HTTP 200 with the JSON verdict (rate limited by
/// [`crate::ratelimit::limit`]: 429).
#[utoipa::path(
    post,
    path = "/v1/siteverify",
    tag = "internal",
    operation_id = "siteverify",
    summary = "Check a token (Turnstile-compatible siteverify), once",
    description = "Called by your backend with the site's secret. Every verdict is HTTP 200: \
        `success` says whether the token is valid and its decision meets the site's \
        `success_when`; `tollgate` carries the score, decision and reasons. A token redeems once \
        (a second redemption answers `timeout-or-duplicate`, except a retry with the same \
        `idempotency_key`, or with the same `remoteip` and `account` within the retry window). \
        Any other status is a transport failure: fail closed. Also served at \
        `/turnstile/v0/siteverify`.",
    request_body(
        description = "Form-encoded, multipart or JSON (Turnstile accepts all three).",
        content(
            (VerifyFields = "application/x-www-form-urlencoded"),
            (VerifyFields = "application/json"),
            (VerifyFields = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "The verdict (also for every refused token).", body = SiteverifyResponse),
        (status = 429, description = "Rate limited: `internal-error`, reason `rate-limited`, with `Retry-After`. The token was not looked at.", body = SiteverifyResponse),
        (status = 503, description = "Overloaded: `internal-error`, reason `overloaded`, with `Retry-After`. The token was not looked at; retrying it is safe.", body = SiteverifyResponse),
    ),
)]
pub async fn siteverify(
    State(state): State<AppState>,
    body: Result<FormOrJson<VerifyFields>, BodyRejection>,
) -> Response {
    // Admission control: shed before anything is looked at (the token stays redeemable).
    let _slot = match state.admit("siteverify").await {
        Ok(slot) => slot,
        Err(shed) => return overloaded(shed.retry_after_secs),
    };
    let rt = state.runtime();
    let result = match body {
        Ok(FormOrJson(fields)) => verify(&state, &rt, fields).await,
        Err(e) => Err(Failure::from(VerifyError::from(e))),
    };
    match result {
        Ok(body) => json_response(body),
        Err(Failure { err, id }) => {
            let reason = err.reason();
            for code in err.codes() {
                metrics::counter!("tollgate_siteverify_errors_total", "code" => code.as_str(), "reason" => reason)
                    .increment(1);
            }
            if matches!(
                err,
                VerifyError::Store(StoreError::Full { .. } | StoreError::OutOfMemory)
            ) {
                metrics::counter!("tollgate_store_full_total").increment(1);
                tracing::error!(error = %err, "used-challenge store full: failing closed");
            } else if matches!(err, VerifyError::Store(_) | VerifyError::Internal(_)) {
                tracing::error!(error = %err, "siteverify internal error");
            } else {
                tracing::info!(reason, id = id.map(hex::encode), error = %err, "siteverify rejected");
            }
            json_response(failure_body(&err, id.as_ref()))
        }
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

async fn verify(state: &AppState, rt: &Runtime, fields: VerifyFields) -> Result<String, Failure> {
    // 1. Body size and format: checked by the `FormOrJson` extractor.

    // 2. Missing inputs.
    let secret = non_empty(fields.secret);
    let response = non_empty(fields.response);
    let (secret, response) = match (secret, response) {
        (Some(s), Some(r)) => (s, r),
        (None, None) => return Err(VerifyError::MissingBoth.into()),
        (None, Some(_)) => return Err(VerifyError::MissingSecret.into()),
        (Some(_), None) => return Err(VerifyError::MissingResponse.into()),
    };

    // 3. Secret (the test keys first, when enabled: a fixed answer, nothing stored).
    if rt.test_keys
        && let Some(k) = test_key_by_secret(&secret)
    {
        return test_key_answer(state, k);
    }
    let site = rt
        .site_by_secret(&secret)
        .ok_or(VerifyError::UnknownSecret)?;
    // Any length is hashed (bounded by the body limit); blank means no account.
    let account = fields.account.as_deref().and_then(normalize_account);
    let remote_ip: Option<IpAddr> = fields
        .remoteip
        .as_deref()
        .and_then(|r| r.trim().parse().ok());

    // 4. Token decode.
    let token = DecodedToken::decode(&response).map_err(VerifyError::Decode)?;
    let ch = &token.challenge.body;
    let id = ch.challenge_id;
    let fail = |err: VerifyError| Failure { err, id: Some(id) };

    // 5. Key id (every configured key verifies), then authenticity of the challenge: the token MAC
    //    under the key bound to the whole challenge, else the Ed25519 signature (module docs).
    let key = rt
        .keys
        .get(ch.key_id)
        .ok_or_else(|| fail(VerifyError::UnknownKey(ch.key_id)))?;
    let mac_bound = token
        .verify_mac(&key.token_key(&token.body.challenge))
        .is_ok();
    if !mac_bound {
        token
            .challenge
            .verify(|_| Some(key.verifying))
            .map_err(|_| fail(VerifyError::BadSignature))?;
    }

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

    // 9. MAC: already verified under the challenge-bound key, else (signature verified above) under
    //    the older id-bound key.
    if !mac_bound {
        token
            .verify_mac(&key.legacy_token_key(&id))
            .map_err(|_| fail(VerifyError::BadMac))?;
        metrics::counter!("tollgate_siteverify_legacy_token_key_total").increment(1);
    }

    // 10. Proof of work (none in a minimal no-collector token, whose verdict is then at most
    //     `challenge`: crate::nocollector).
    if crate::nocollector::missing(&token).is_none() {
        pow::verify(&token.body.challenge, ch.pow, &token.body.solutions)
            .map_err(|e| fail(VerifyError::Pow(e)))?;
    }

    // 11. Telemetry limits (decode already enforced them; re-checked here so the rule holds even
    //     if decoding changes).
    token
        .body
        .telemetry
        .check_limits()
        .map_err(|e| fail(VerifyError::Telemetry(e)))?;

    // 12. Correlate and score.
    let (verdict, footprint, seen) = assess(state, rt, site, &token, remote_ip, account.as_deref())
        .await
        .map_err(fail)?;
    let ctx = &token.body.context;
    let mut resp = SiteverifyResponse {
        success: true,
        score: Some(verdict.score),
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
            contributions: verdict.contributions,
            reason_details: verdict.details,
            notes: verdict.notes,
            device: verdict.device,
            model: Some(seen.model.id.clone()),
        },
    };
    resp.apply_success_policy(site.settings.success_when);
    let body = serde_json::to_string(&resp)
        .map_err(|e| fail(VerifyError::Internal(format!("serialize: {e}"))))?;

    // 13. Single use, atomically, only now. With `remoteip`, the answer is also kept for the
    //     retry window under a fingerprint of (site secret, token, remoteip, account): a retry
    //     after an answer that may not have arrived (store timeout) gets the same verdict.
    let fp = non_empty(fields.idempotency_key).map(|k| idempotency_fingerprint(&k, &response));
    let policy = state.store_settings().retry;
    let retry = remote_ip
        .filter(|_| policy.window_ms > 0)
        .map(|ip| RetryKey {
            fingerprint: retry_fingerprint(
                &site.settings.secret_digest,
                &response,
                ip,
                account.as_deref(),
            ),
            window_ms: policy.window_ms,
        });
    let req = MarkRequest {
        idempotency: fp,
        retry,
        response: &body,
    };
    let marked = site.store.mark(id, ch.expires_at_ms, req).await;
    // An answer that is being delivered closes the retry window: only a redemption whose answer
    // may not have arrived (the store call failed or timed out) keeps its stored verdict, so a
    // replay of a delivered token is a duplicate even from the same address and account. One
    // more store call (a `DEL` with Redis) before answering, so that the next request already
    // sees it; if it fails, the record expires with the window and the answer is unchanged.
    if let (Some(r), Ok(MarkOutcome::Marked | MarkOutcome::Retry { .. })) = (retry, &marked)
        && let Err(e) = site.store.settle_retry(id, r.fingerprint).await
    {
        tracing::debug!(error = %e, "settle_retry failed; the retry record expires with its window");
    }
    if matches!(marked, Ok(MarkOutcome::Marked | MarkOutcome::Retry { .. }))
        && let Some(foot) = &footprint
    {
        keep_footprint(state, rt, site, foot).await;
    }
    match marked {
        Ok(MarkOutcome::Marked) => {
            count_verdict(&resp.tollgate);
            crate::learning::applied(
                state,
                site,
                &token,
                &resp,
                &seen,
                remote_ip,
                account.as_deref(),
            );
            // Debug, not info: formatting and writing one line per accepted token was ~5 % of
            // siteverify CPU under load; `tollgate_verdicts_total` counts every verdict and
            // `RUST_LOG=verifier=debug` brings the lines back.
            tracing::debug!(
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
        Ok(MarkOutcome::Retry { answer, retries }) if retries <= policy.max => {
            metrics::counter!("tollgate_siteverify_retry_repeats_total").increment(1);
            tracing::info!(id = %hex::encode(id), retries, "siteverify retry: answering the stored verdict");
            Ok(answer)
        }
        Ok(MarkOutcome::Retry { .. } | MarkOutcome::Duplicate) => Err(fail(VerifyError::Duplicate)),
        Err(e) => match state.single_use_policy() {
            FailMode::FailClosed => Err(fail(VerifyError::Store(e))),
            FailMode::FailOpen => {
                // Explicitly configured: accept without a single-use guarantee, say so, and never
                // answer more than `challenge`.
                tracing::error!(error = %e, id = %hex::encode(id), "single-use store unavailable: accepting WITHOUT replay protection (single_use_on_error = fail-open)");
                metrics::counter!("tollgate_store_degraded_total", "endpoint" => "siteverify-single-use")
                    .increment(1);
                if !resp.tollgate.reasons.contains(&"store-degraded") {
                    resp.tollgate.reasons.push("store-degraded");
                }
                if resp.tollgate.decision == Decision::Allow {
                    resp.tollgate.decision = Decision::Challenge;
                }
                resp.apply_success_policy(site.settings.success_when);
                count_verdict(&resp.tollgate);
                crate::learning::applied(
                    state,
                    site,
                    &token,
                    &resp,
                    &seen,
                    remote_ip,
                    account.as_deref(),
                );
                serde_json::to_string(&resp)
                    .map_err(|e| fail(VerifyError::Internal(format!("serialize: {e}"))))
            }
        },
    }
}

/// The fixed answer of a test key ([`crate::config::TEST_KEYS`]): any non-empty `response`,
/// nothing decoded, nothing stored (so the answer never changes), `success` under the default
/// `success_when` (`allow`).
fn test_key_answer(state: &AppState, key: &TestKey) -> Result<String, Failure> {
    metrics::counter!("tollgate_siteverify_test_key_total", "sitekey" => key.sitekey).increment(1);
    let (score, decision) = match key.answer {
        TestAnswer::Allow => (0.9, Decision::Allow),
        TestAnswer::Challenge => (0.4, Decision::Challenge),
        TestAnswer::Block => (0.1, Decision::Block),
        TestAnswer::Duplicate => return Err(VerifyError::Duplicate.into()),
    };
    let mut resp = SiteverifyResponse {
        success: true,
        score: Some(score),
        challenge_ts: Some(iso8601_ms(state.now_ms())),
        hostname: Some("localhost".into()),
        error_codes: Vec::new(),
        action: Some(String::new()),
        cdata: Some(String::new()),
        tollgate: TollgateInfo {
            id: None,
            score,
            decision,
            reasons: vec!["test-key"],
            features: BTreeMap::new(),
            contributions: BTreeMap::new(),
            reason_details: BTreeMap::new(),
            notes: Vec::new(),
            device: None,
            model: None,
        },
    };
    resp.apply_success_policy(SuccessWhen::default());
    serde_json::to_string(&resp)
        .map_err(|e| VerifyError::Internal(format!("serialize: {e}")).into())
}

/// Keep the correlation footprint for `/v1/outcome` (best effort: a failure only loses the
/// outcome's contribution).
async fn keep_footprint(state: &AppState, rt: &Runtime, site: &Site, foot: &Footprint) {
    let Ok(value) = serde_json::to_vec(foot) else {
        return;
    };
    let key = correlate::footprint_key(&site.site_id, &foot.challenge);
    if let Err(e) = state
        .shared_store()
        .put(&key, &value, rt.correlation.window_ms)
        .await
    {
        tracing::warn!(error = %e, "cannot keep the outcome footprint");
        metrics::counter!("tollgate_store_degraded_total", "endpoint" => "footprint").increment(1);
    }
}

/// Correlation signals plus behaviour score (step 12). Allowlisted automation skips both.
async fn assess(
    state: &AppState,
    rt: &Runtime,
    site: &Site,
    token: &DecodedToken,
    ip: Option<IpAddr>,
    account: Option<&str>,
) -> Result<(Verdict, Option<Footprint>, crate::learning::Seen), VerifyError> {
    let ch = &token.challenge.body;
    let tier = ch.risk_tier & risk::TIER_MASK;
    let primary = site
        .settings
        .learning
        .model
        .clone()
        .unwrap_or_else(crate::config::SiteModel::builtin);
    let mut seen = crate::learning::Seen::new(&primary, &token.body.telemetry);
    if ch.risk_tier & risk::AUTOMATION != 0 {
        let mut features = BTreeMap::new();
        features.insert("risk_tier", f64::from(tier));
        return Ok((
            Verdict {
                score: 1.0,
                decision: Decision::Allow,
                reasons: vec!["automation-allowlisted"],
                features,
                contributions: BTreeMap::new(),
                details: BTreeMap::new(),
                notes: Vec::new(),
                device: None,
            },
            None,
            seen,
        ));
    }
    let mut extra: Vec<&'static str> = Vec::new();
    let mut footprint = None;
    let mut traces = (0usize, 0usize);
    // Behaviour features, extracted once: the model scores them, correlation counts their
    // stroke shape hashes.
    let session = tollgate_model::features::Session::from_telemetry(&token.body.telemetry);
    let mut behaviour = tollgate_model::features::extract(&session);
    if !site.settings.field_event_rules {
        behaviour.forget_field_events();
    }
    // Environment rules, evaluated once: scoring takes both their blocking tells and the
    // findings applied after the model from this verdict.
    let env = crate::envrules::evaluate(&token.body.telemetry);
    if rt.correlation.enabled {
        let hashes = &behaviour.stroke_hashes;
        let c = rt.correlator(site);
        match c
            .on_verify(
                state.shared_store().as_ref(),
                state.now_ms(),
                ch.challenge_id,
                ch.risk_tier,
                ip,
                account,
                &token.body.telemetry.fingerprint,
                hashes,
                &rt.lists,
            )
            .await
        {
            Ok((sig, foot)) => {
                extra = sig.reasons;
                traces = (sig.traces_hashed, sig.traces_seen_elsewhere);
                footprint = Some(foot);
            }
            Err(e) => match state.counters_policy() {
                FailMode::FailOpen => {
                    tracing::warn!(error = %e, "correlation counters unavailable: scoring without campaign signals");
                    metrics::counter!("tollgate_store_degraded_total", "endpoint" => "siteverify")
                        .increment(1);
                    extra.push("store-degraded");
                }
                FailMode::FailClosed => return Err(VerifyError::Store(e)),
            },
        }
    }
    let replay = tollgate_model::model::ReplayEvidence {
        hashed: traces.0,
        seen_elsewhere: traces.1,
    };
    let no_collector = crate::nocollector::missing(token);
    let mut v = match no_collector {
        Some(missing) => crate::nocollector::verdict(missing),
        None => scoring::score_with_model(
            token,
            &site.settings.policy,
            &primary.model,
            &behaviour,
            &env,
            replay,
        ),
    };
    // The shadow candidate: same features, rules and campaign penalties; recorded, never applied.
    // A no-collector token has no behaviour to score, so no shadow either.
    let mut shadow = match no_collector {
        Some(_) => None,
        None => site.settings.learning.shadow_model.as_ref().map(|m| {
            (
                m.clone(),
                scoring::score_with_model(
                    token,
                    &site.settings.policy,
                    &m.model,
                    &behaviour,
                    &env,
                    replay,
                ),
            )
        }),
    };
    v.features.insert("risk_tier", f64::from(tier));
    v.features.insert("trace_hashes", traces.0 as f64);
    v.features
        .insert("trace_hashes_seen_elsewhere", traces.1 as f64);
    v.features.insert(
        "campaign_signals",
        extra.iter().filter(|r| correlate::penalty(r) > 0.0).count() as f64,
    );
    if !extra.is_empty() {
        let penalty: f64 = extra.iter().map(|r| correlate::penalty(r)).sum();
        if penalty > 0.0 {
            let s = (v.score - penalty).clamp(0.0, 1.0);
            v.score = (s * 1000.0).round() / 1000.0;
            v.decision = site.settings.policy.decide(v.score);
            if no_collector.is_some() {
                v.decision = crate::nocollector::cap(v.decision);
            }
            if let Some((_, sv)) = &mut shadow {
                let s = (sv.score - penalty).clamp(0.0, 1.0);
                sv.score = (s * 1000.0).round() / 1000.0;
                sv.decision = site.settings.policy.decide(sv.score);
            }
        }
        for r in extra {
            if !v.reasons.contains(&r) {
                v.reasons.push(r);
            }
            let p = correlate::penalty(r);
            if p > 0.0 {
                v.details.entry(r).or_default().score_delta = Some(-p);
            }
        }
    }
    seen.shadow = shadow.map(|(m, sv)| (m, sv.score, sv.decision));
    if site.settings.learning.store_telemetry {
        seen.telemetry = Some(crate::audit::trace_telemetry(&session));
    }
    Ok((v, footprint, seen))
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
