//! `POST /v1/challenge`: issue a signed challenge and its per-challenge token key.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_protocol::challenge::{Challenge, ChallengeBody};
use tollgate_protocol::token::{MAX_ACTION, MAX_CDATA};
use tollgate_protocol::{PROTOCOL_VERSION, b64_encode, bind_hash};

use crate::error::ChallengeError;
use crate::keys::random_bytes;
use crate::state::AppState;

/// Request body limit of `POST /v1/challenge`.
pub const CHALLENGE_BODY_LIMIT: usize = 4 * 1024;

#[derive(Debug, Deserialize)]
struct ChallengeRequest {
    sitekey: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    cdata: Option<String>,
}

/// Reply of `POST /v1/challenge` (see ARCHITECTURE.md).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChallengeReply {
    /// base64url of the signed challenge wire bytes.
    pub challenge: String,
    /// base64url of the 32-byte per-challenge token MAC key.
    pub token_key: String,
    pub issued_at: u64,
    pub expires_at: u64,
    pub pow: PowReply,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PowReply {
    pub k: u16,
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

/// Handler of `POST /v1/challenge`. The body is read as JSON whatever its content type (the
/// loader may send `text/plain` to avoid a CORS preflight).
pub async fn issue(
    State(state): State<AppState>,
    req: Request<Body>,
) -> Result<Response, ChallengeError> {
    let (parts, body) = req.into_parts();
    let bytes = crate::read_body(body, CHALLENGE_BODY_LIMIT)
        .await
        .map_err(|_| ChallengeError::BadRequest)?;
    let request: ChallengeRequest =
        serde_json::from_slice(&bytes).map_err(|_| ChallengeError::BadRequest)?;
    let site = state
        .site_by_key(&request.sitekey)
        .ok_or(ChallengeError::InvalidSitekey)?;
    let origin = origin_header(&parts.headers).ok_or(ChallengeError::MissingOrigin)?;
    if !site.allows_origin(origin) {
        tracing::info!(sitekey = %site.settings.sitekey, origin, "challenge refused: origin not allowed");
        return Err(ChallengeError::OriginNotAllowed);
    }
    let action = request.action.unwrap_or_default();
    let cdata = request.cdata.unwrap_or_default();
    if !valid_binding(&action, MAX_ACTION) {
        return Err(ChallengeError::InvalidAction);
    }
    if !valid_binding(&cdata, MAX_CDATA) {
        return Err(ChallengeError::InvalidCdata);
    }

    let challenge_id: [u8; 16] = random_bytes().map_err(|e| {
        tracing::error!(error = %e, "cannot draw a challenge id");
        ChallengeError::Internal
    })?;
    let key = state.keys().signer();
    let signing = key.signing_key().ok_or(ChallengeError::Internal)?;
    let issued_at = state.now_ms();
    let expires_at = issued_at.saturating_add(site.settings.token_lifetime_ms);
    let body = ChallengeBody {
        version: PROTOCOL_VERSION,
        key_id: key.kid,
        site_id: site.site_id,
        challenge_id,
        issued_at_ms: issued_at,
        expires_at_ms: expires_at,
        pow: site.settings.pow,
        risk_tier: 0,
        origin_hash: bind_hash(b"origin", origin),
        action_hash: bind_hash(b"action", &action),
        cdata_hash: bind_hash(b"cdata", &cdata),
    };
    let challenge = Challenge::sign(body, signing);
    let token_key = key.token_key(&challenge_id);
    metrics::counter!("tollgate_challenges_issued_total").increment(1);
    let reply = ChallengeReply {
        challenge: b64_encode(&challenge.to_bytes()),
        token_key: b64_encode(&token_key),
        issued_at,
        expires_at,
        pow: PowReply {
            k: site.settings.pow.k,
            bits: site.settings.pow.bits,
        },
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(reply)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

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
