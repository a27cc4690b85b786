//! `POST /v1/challenge`: issue a signed challenge and its per-challenge token key.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_protocol::PowParams;
use tollgate_protocol::challenge::{Challenge, ChallengeBody};
use tollgate_protocol::token::{MAX_ACTION, MAX_CDATA};
use tollgate_protocol::{PROTOCOL_VERSION, b64_encode, bind_hash};

use crate::config::FailMode;
use crate::correlate::{ChallengeRisk, risk};
use crate::error::ChallengeError;
use crate::extract::{BodyRejection, ClientIp, LenientJson};
use crate::keys::random_bytes;
use crate::state::AppState;

/// Header carrying a site's automation key (known-good monitoring / CI).
pub const AUTOMATION_HEADER: &str = "tollgate-automation-key";

/// How long the loader keeps a test key's dummy token before asking again.
pub const TEST_TOKEN_LIFETIME_MS: u64 = 300_000;

/// Request body limit of `POST /v1/challenge`.
pub const CHALLENGE_BODY_LIMIT: usize = 4 * 1024;

/// Request of `POST /v1/challenge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChallengeRequest {
    /// The site's public sitekey (`data-sitekey`).
    #[schema(example = "tgdev-localhost-sitekey")]
    sitekey: String,
    /// What the visitor is doing (signed into the challenge; siteverify echoes it):
    /// `[A-Za-z0-9_-]`, at most 32 characters.
    #[serde(default)]
    #[schema(example = "login", pattern = "^[A-Za-z0-9_-]{0,32}$")]
    action: Option<String>,
    /// Customer data bound to the challenge (echoed by siteverify): `[A-Za-z0-9_-]`, at most
    /// 255 characters.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{0,255}$")]
    cdata: Option<String>,
    /// A browser without a collector (bits: 1 no WebAssembly, 2 no workers): the reply carries a
    /// minimal token ([`crate::nocollector`]).
    #[serde(default)]
    nc: Option<u8>,
}

/// Reply of `POST /v1/challenge` (see ARCHITECTURE.md).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ChallengeReply {
    /// base64url of the signed challenge wire bytes.
    pub challenge: String,
    /// base64url of the 32-byte per-challenge token MAC key.
    pub token_key: String,
    /// Unix time in milliseconds.
    pub issued_at: u64,
    /// Unix time in milliseconds; a token made from this challenge is refused from then on.
    pub expires_at: u64,
    pub pow: PowReply,
    /// Risk tier 0..=3 the difficulty was chosen for (also signed into the challenge).
    #[serde(default)]
    pub risk_tier: u8,
    /// The minimal no-collector token, when the request said `nc` ([`crate::nocollector`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Proof-of-work parameters of a challenge.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PowReply {
    /// Number of solutions to find.
    pub k: u16,
    /// Leading zero bits each solution's hash needs.
    pub bits: u8,
}

/// Turnstile's charset for `action` and `cdata`: `[A-Za-z0-9_-]`, bounded length (may be empty).
pub fn valid_binding(value: &str, max: usize) -> bool {
    value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn origin_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Proof-of-work parameters for a risk tier: tier t adds `tier_extra_bits[t-1]` bits (each bit
/// doubles the expected work; default curve ×2, ×4, ×16), capped at 32 bits.
pub fn pow_for_tier(base: PowParams, tier: u8, extra_bits: [u8; 3]) -> PowParams {
    let extra = match tier {
        0 => 0,
        t => extra_bits[usize::from(t.min(3)) - 1],
    };
    PowParams {
        k: base.k,
        bits: base.bits.saturating_add(extra).min(32),
    }
}

/// Handler of `POST /v1/challenge` (rate limited by [`crate::ratelimit::limit`]). The body is
/// read as JSON whatever its content type (the loader may send `text/plain` to avoid a CORS
/// preflight).
#[utoipa::path(
    post,
    path = "/v1/challenge",
    tag = "public",
    operation_id = "challenge",
    summary = "Issue a signed challenge (called by the widget in the browser)",
    description = "Browser-facing (CORS: the sites' allowed origins). The body is read as JSON \
        whatever its content type: the loader sends `text/plain` to avoid a CORS preflight. The \
        `Origin` header is required and must be allowed for the sitekey. Rate limited per client \
        address.",
    params(
        ("Origin" = String, Header, description = "The page's origin; must match one of the site's allowed origins."),
        ("tollgate-automation-key" = Option<String>, Header, description = "A site's automation key (known-good monitoring): skips behaviour scoring; a wrong key is refused."),
    ),
    request_body(
        description = "The sitekey and the action/cdata to bind.",
        content(
            (ChallengeRequest = "application/json"),
            (ChallengeRequest = "text/plain"),
        ),
    ),
    responses(
        (status = 200, description = "A signed challenge (`Cache-Control: no-store`).", body = ChallengeReply),
        (status = 400, description = "`bad-request`, `invalid-sitekey`, `invalid-action` or `invalid-cdata`.", body = crate::openapi::ChallengeErrorReply),
        (status = 403, description = "`missing-origin`, `origin-not-allowed` or `invalid-automation-key`.", body = crate::openapi::ChallengeErrorReply),
        (status = 429, description = "`rate-limited` (with `Retry-After`).", body = crate::openapi::ChallengeErrorReply),
        (status = 500, description = "`internal-error`.", body = crate::openapi::ChallengeErrorReply),
        (status = 503, description = "`overloaded`: shed before any work (with `Retry-After`).", body = crate::openapi::ChallengeErrorReply),
    ),
)]
pub async fn issue(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<LenientJson<ChallengeRequest>, BodyRejection>,
) -> Result<Response, ChallengeError> {
    let LenientJson(request) = body?;
    let _slot = state
        .admit("challenge")
        .await
        .map_err(|s| ChallengeError::Overloaded {
            retry_after_secs: s.retry_after_secs,
        })?;
    let rt = state.runtime();
    // Test site keys (when enabled, like siteverify's test secrets): Turnstile's dummy token at
    // once, no challenge, no work; the matching test secret gives the fixed answer.
    if rt.test_keys && crate::config::test_key_by_sitekey(&request.sitekey).is_some() {
        let now = state.now_ms();
        let reply = serde_json::json!({
            "token": crate::config::TEST_DUMMY_TOKEN,
            "issued_at": now,
            "expires_at": now.saturating_add(TEST_TOKEN_LIFETIME_MS),
        });
        return Ok(([(header::CACHE_CONTROL, "no-store")], Json(reply)).into_response());
    }
    let site = rt
        .site_by_key(&request.sitekey)
        .ok_or(ChallengeError::InvalidSitekey)?;
    let origin = origin_header(&headers).ok_or(ChallengeError::MissingOrigin)?;
    if !site.allows_origin(origin) {
        tracing::info!(sitekey = %site.settings.sitekey, origin, "challenge refused: origin not allowed");
        return Err(ChallengeError::OriginNotAllowed);
    }
    let no_collector = crate::nocollector::requested(request.nc);
    let action = request.action.unwrap_or_default();
    let cdata = request.cdata.unwrap_or_default();
    if !valid_binding(&action, MAX_ACTION) {
        return Err(ChallengeError::InvalidAction);
    }
    if !valid_binding(&cdata, MAX_CDATA) {
        return Err(ChallengeError::InvalidCdata);
    }

    // Known-good automation: a valid key skips behaviour scoring at siteverify; a wrong one is
    // refused outright so a misconfigured monitor notices.
    let automation = match headers.get(AUTOMATION_HEADER) {
        None => None,
        Some(v) => match site.automation_key(v.as_bytes()) {
            Some(k) => Some(k.name.as_str()),
            None => return Err(ChallengeError::InvalidAutomationKey),
        },
    };

    let issued_at = state.now_ms();
    let risk = if automation.is_some() {
        ChallengeRisk {
            byte: risk::AUTOMATION,
        }
    } else if rt.correlation.enabled {
        let c = rt.correlator(site);
        match c
            .on_challenge(state.shared_store().as_ref(), issued_at, ip, &rt.lists)
            .await
        {
            Ok(r) => r,
            Err(e) => match state.counters_policy() {
                FailMode::FailOpen => {
                    tracing::warn!(error = %e, "correlation counters unavailable: base difficulty");
                    metrics::counter!("tollgate_store_degraded_total", "endpoint" => "challenge")
                        .increment(1);
                    let listed = ip.is_some_and(|ip| !rt.lists.lookup(ip).is_empty());
                    ChallengeRisk {
                        byte: risk::DEGRADED | if listed { risk::LISTED | 1 } else { 0 },
                    }
                }
                FailMode::FailClosed => {
                    tracing::error!(error = %e, "correlation counters unavailable: refusing (counters_on_error = fail-closed)");
                    return Err(ChallengeError::Internal);
                }
            },
        }
    } else {
        ChallengeRisk::default()
    };
    let pow = pow_for_tier(
        site.settings.pow,
        risk.tier(),
        rt.correlation.tier_extra_bits,
    );
    metrics::counter!("tollgate_challenge_risk_tier_total", "tier" => tier_label(risk.tier()))
        .increment(1);

    let challenge_id: [u8; 16] = random_bytes().map_err(|e| {
        tracing::error!(error = %e, "cannot draw a challenge id");
        ChallengeError::Internal
    })?;
    let key = rt.keys.signer();
    let signing = key.signing_key().ok_or(ChallengeError::Internal)?;
    let expires_at = issued_at.saturating_add(site.settings.token_lifetime_ms);
    let body = ChallengeBody {
        version: PROTOCOL_VERSION,
        key_id: key.kid,
        site_id: site.site_id,
        challenge_id,
        issued_at_ms: issued_at,
        expires_at_ms: expires_at,
        pow,
        risk_tier: risk.byte,
        origin_hash: bind_hash(b"origin", origin),
        action_hash: bind_hash(b"action", &action),
        cdata_hash: bind_hash(b"cdata", &cdata),
    };
    let wire = Challenge::sign(body, signing).to_bytes();
    let token_key = key.token_key(&wire);
    metrics::counter!("tollgate_challenges_issued_total").increment(1);
    let token = match no_collector {
        None => None,
        Some(missing) => {
            metrics::counter!("tollgate_no_collector_tokens_total").increment(1);
            let context = tollgate_protocol::token::ClientContext {
                origin: origin.to_string(),
                action: action.clone(),
                cdata: cdata.clone(),
            };
            let t = crate::nocollector::mint(&wire, &token_key, missing, context).map_err(|e| {
                tracing::error!(error = %e, "cannot seal a no-collector token");
                ChallengeError::Internal
            })?;
            Some(t)
        }
    };
    let reply = ChallengeReply {
        challenge: b64_encode(&wire),
        token_key: b64_encode(&token_key),
        issued_at,
        expires_at,
        pow: PowReply {
            k: pow.k,
            bits: pow.bits,
        },
        risk_tier: risk.tier(),
        token,
    };
    if let Some(name) = automation {
        tracing::info!(sitekey = %site.settings.sitekey, automation = name, "challenge for allowlisted automation");
    }
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(reply)).into_response())
}

fn tier_label(t: u8) -> &'static str {
    match t {
        0 => "0",
        1 => "1",
        2 => "2",
        _ => "3",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_curve() {
        let base = PowParams { k: 32, bits: 15 };
        let bits = |t| pow_for_tier(base, t, [1, 2, 4]).bits;
        assert_eq!([bits(0), bits(1), bits(2), bits(3)], [15, 16, 17, 19]);
        assert_eq!(pow_for_tier(base, 3, [1, 2, 4]).k, 32);
        assert_eq!(
            pow_for_tier(PowParams { k: 1, bits: 30 }, 3, [1, 2, 4]).bits,
            32,
            "capped"
        );
    }

    #[test]
    fn binding_charset_and_length() {
        assert!(valid_binding("", 32));
        assert!(valid_binding("login_v2-A", 32));
        assert!(valid_binding(&"a".repeat(32), 32));
        assert!(!valid_binding(&"a".repeat(33), 32));
        assert!(!valid_binding("log in", 32));
        assert!(!valid_binding("login/x", 32));
        assert!(!valid_binding("é", 32));
        assert!(valid_binding(&"Z".repeat(255), 255));
        assert!(!valid_binding(&"Z".repeat(256), 255));
    }
}
