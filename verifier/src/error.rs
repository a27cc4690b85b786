//! Typed errors of the HTTP API, one enum per endpoint, each mapped to its wire answer here:
//! [`VerifyError`] (siteverify: Turnstile `error-codes` plus a detail reason), [`ChallengeError`]
//! and [`OutcomeError`] (a status and `{"error": code}`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tollgate_protocol::ProtocolError;

use crate::extract::BodyRejection;
use crate::store::StoreError;

/// The Turnstile `error-codes` vocabulary (exactly these seven strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    MissingInputSecret,
    InvalidInputSecret,
    MissingInputResponse,
    InvalidInputResponse,
    BadRequest,
    TimeoutOrDuplicate,
    InternalError,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 7] = [
        Self::MissingInputSecret,
        Self::InvalidInputSecret,
        Self::MissingInputResponse,
        Self::InvalidInputResponse,
        Self::BadRequest,
        Self::TimeoutOrDuplicate,
        Self::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingInputSecret => "missing-input-secret",
            Self::InvalidInputSecret => "invalid-input-secret",
            Self::MissingInputResponse => "missing-input-response",
            Self::InvalidInputResponse => "invalid-input-response",
            Self::BadRequest => "bad-request",
            Self::TimeoutOrDuplicate => "timeout-or-duplicate",
            Self::InternalError => "internal-error",
        }
    }

    /// What the code means for a backend (in the OpenAPI document, `GET /openapi.json`).
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingInputSecret => "No `secret` was sent.",
            Self::InvalidInputSecret => "The `secret` is not a configured site's secret.",
            Self::MissingInputResponse => {
                "No `response` (token) was sent: the widget could not make one, or the form lost it. Refuse, or ask again."
            }
            Self::InvalidInputResponse => {
                "The token is malformed, forged, or not valid for this site, origin, action or cdata (`tollgate.reasons` says which). Refuse."
            }
            Self::BadRequest => {
                "The request body could not be read or parsed, or is larger than the endpoint's limit."
            }
            Self::TimeoutOrDuplicate => {
                "The token has expired or was already redeemed. Refuse; the widget makes a new one."
            }
            Self::InternalError => {
                "The verifier could not decide (store unavailable, rate limited, overloaded). Fail closed; retrying the same token with the same `idempotency_key` or `remoteip` and `account` is safe."
            }
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a siteverify request failed. Each maps to one [`ErrorCode`] and to a stable detail
/// [`VerifyError::reason`] reported in `tollgate.reasons` and in metrics. Never carries secrets.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Body(#[from] BodyRejection),
    #[error("no secret")]
    MissingSecret,
    #[error("no response")]
    MissingResponse,
    #[error("no secret and no response")]
    MissingBoth,
    #[error("unknown secret")]
    UnknownSecret,
    #[error("token does not decode: {0}")]
    Decode(ProtocolError),
    #[error("challenge signed with unknown key id {0}")]
    UnknownKey(u32),
    #[error("bad challenge signature")]
    BadSignature,
    #[error("challenge expired")]
    Expired,
    #[error("token issued for another site")]
    WrongSite,
    #[error("token origin does not match the challenge")]
    OriginMismatch,
    #[error("token origin not allowed for this site")]
    OriginNotAllowed,
    #[error("action does not match the challenge")]
    ActionMismatch,
    #[error("cdata does not match the challenge")]
    CdataMismatch,
    #[error("bad token MAC")]
    BadMac,
    #[error("proof of work rejected: {0}")]
    Pow(ProtocolError),
    #[error("telemetry rejected: {0}")]
    Telemetry(ProtocolError),
    #[error("token already used")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("too many requests from this client")]
    RateLimited { retry_after_secs: u64 },
    #[error("overloaded: request shed before it was processed")]
    Overloaded { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl VerifyError {
    /// Turnstile error codes for this failure.
    pub fn codes(&self) -> Vec<ErrorCode> {
        use ErrorCode::*;
        match self {
            Self::Body(_) => vec![BadRequest],
            Self::MissingSecret => vec![MissingInputSecret],
            Self::MissingResponse => vec![MissingInputResponse],
            Self::MissingBoth => vec![MissingInputSecret, MissingInputResponse],
            Self::UnknownSecret => vec![InvalidInputSecret],
            Self::Decode(_)
            | Self::UnknownKey(_)
            | Self::BadSignature
            | Self::WrongSite
            | Self::OriginMismatch
            | Self::OriginNotAllowed
            | Self::ActionMismatch
            | Self::CdataMismatch
            | Self::BadMac
            | Self::Pow(_)
            | Self::Telemetry(_) => vec![InvalidInputResponse],
            Self::Expired | Self::Duplicate => vec![TimeoutOrDuplicate],
            Self::Store(_)
            | Self::Internal(_)
            | Self::RateLimited { .. }
            | Self::Overloaded { .. } => vec![InternalError],
        }
    }

    /// Stable detail code (reported in `tollgate.reasons` and as a metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Body(BodyRejection::TooLarge) => "body-too-large",
            Self::Body(BodyRejection::Unreadable) => "body-unreadable",
            Self::Body(BodyRejection::Malformed(_)) => "malformed-body",
            Self::MissingSecret | Self::MissingBoth => "missing-secret",
            Self::MissingResponse => "missing-response",
            Self::UnknownSecret => "unknown-secret",
            Self::Decode(_) => "malformed-token",
            Self::UnknownKey(_) => "unknown-key",
            Self::BadSignature => "bad-signature",
            Self::Expired => "expired",
            Self::WrongSite => "wrong-site",
            Self::OriginMismatch => "origin-mismatch",
            Self::OriginNotAllowed => "origin-not-allowed",
            Self::ActionMismatch => "action-mismatch",
            Self::CdataMismatch => "cdata-mismatch",
            Self::BadMac => "bad-mac",
            Self::Pow(_) => "bad-pow",
            Self::Telemetry(_) => "telemetry-limit",
            Self::Duplicate => "duplicate",
            Self::Store(e) => e.reason(),
            Self::RateLimited { .. } => "rate-limited",
            Self::Overloaded { .. } => "overloaded",
            Self::Internal(_) => "internal",
        }
    }
}

/// Errors of `POST /v1/challenge` (answered with a 4xx/5xx status and `{"error": code}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("bad-request")]
    BadRequest,
    #[error("invalid-sitekey")]
    InvalidSitekey,
    #[error("missing-origin")]
    MissingOrigin,
    #[error("origin-not-allowed")]
    OriginNotAllowed,
    #[error("invalid-action")]
    InvalidAction,
    #[error("invalid-cdata")]
    InvalidCdata,
    #[error("invalid-automation-key")]
    InvalidAutomationKey,
    #[error("rate-limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("overloaded")]
    Overloaded { retry_after_secs: u64 },
    #[error("internal-error")]
    Internal,
}

impl ChallengeError {
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::InvalidSitekey => "invalid-sitekey",
            Self::MissingOrigin => "missing-origin",
            Self::OriginNotAllowed => "origin-not-allowed",
            Self::InvalidAction => "invalid-action",
            Self::InvalidCdata => "invalid-cdata",
            Self::InvalidAutomationKey => "invalid-automation-key",
            Self::RateLimited { .. } => "rate-limited",
            Self::Overloaded { .. } => "overloaded",
            Self::Internal => "internal-error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::InvalidSitekey | Self::InvalidAction | Self::InvalidCdata => {
                StatusCode::BAD_REQUEST
            }
            Self::MissingOrigin | Self::OriginNotAllowed | Self::InvalidAutomationKey => {
                StatusCode::FORBIDDEN
            }
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<BodyRejection> for ChallengeError {
    fn from(_: BodyRejection) -> Self {
        Self::BadRequest
    }
}

impl IntoResponse for ChallengeError {
    fn into_response(self) -> Response {
        metrics::counter!("tollgate_challenge_errors_total", "code" => self.code()).increment(1);
        let retry_after = match self {
            Self::RateLimited { retry_after_secs } | Self::Overloaded { retry_after_secs } => {
                Some(retry_after_secs)
            }
            _ => None,
        };
        error_response(self.status(), self.code(), retry_after)
    }
}

/// Errors of `POST /v1/outcome` (answered with a 4xx/5xx status and `{"error": code}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    #[error("bad-request")]
    BadRequest,
    #[error("invalid-secret")]
    InvalidSecret,
    #[error("unknown-id")]
    UnknownId,
    #[error("rate-limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("store-unavailable")]
    StoreUnavailable,
    #[error("overloaded")]
    Overloaded { retry_after_secs: u64 },
}

impl OutcomeError {
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::InvalidSecret => "invalid-secret",
            Self::UnknownId => "unknown-id",
            Self::RateLimited { .. } => "rate-limited",
            Self::StoreUnavailable => "store-unavailable",
            Self::Overloaded { .. } => "overloaded",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::InvalidSecret => StatusCode::UNAUTHORIZED,
            Self::UnknownId => StatusCode::NOT_FOUND,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::StoreUnavailable | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<BodyRejection> for OutcomeError {
    fn from(_: BodyRejection) -> Self {
        Self::BadRequest
    }
}

impl IntoResponse for OutcomeError {
    fn into_response(self) -> Response {
        metrics::counter!("tollgate_outcome_errors_total", "code" => self.code()).increment(1);
        let retry_after = match self {
            Self::RateLimited { retry_after_secs } | Self::Overloaded { retry_after_secs } => {
                Some(retry_after_secs)
            }
            _ => None,
        };
        error_response(self.status(), self.code(), retry_after)
    }
}

/// Errors of `POST /v1/feedback` (`{"error": code}` with the status below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    /// Body unreadable, or a field missing or malformed (400).
    #[error("bad-request")]
    BadRequest,
    /// Neither a known label nor outcome (400).
    #[error("bad-label")]
    BadLabel,
    /// No site has this secret (401).
    #[error("invalid-secret")]
    InvalidSecret,
    /// The source is not configured for the site, or its key is wrong (403).
    #[error("unauthenticated-source")]
    UnauthenticatedSource,
    /// No audit record with this id (never verified, not yet written, or past retention) (404).
    #[error("unknown-id")]
    UnknownId,
    /// The verdict belongs to another site (403).
    #[error("wrong-site")]
    WrongSite,
    /// The source's per-minute budget is spent (429).
    #[error("rate-limited")]
    RateLimited { retry_after_secs: u64 },
    /// No `[audit]` trail is configured (404).
    #[error("audit-disabled")]
    AuditDisabled,
    /// The audit database did not answer (503).
    #[error("audit-unavailable")]
    AuditUnavailable,
}

impl FeedbackError {
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::BadLabel => "bad-label",
            Self::InvalidSecret => "invalid-secret",
            Self::UnauthenticatedSource => "unauthenticated-source",
            Self::UnknownId => "unknown-id",
            Self::WrongSite => "wrong-site",
            Self::RateLimited { .. } => "rate-limited",
            Self::AuditDisabled => "audit-disabled",
            Self::AuditUnavailable => "audit-unavailable",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::BadLabel => StatusCode::BAD_REQUEST,
            Self::InvalidSecret => StatusCode::UNAUTHORIZED,
            Self::UnauthenticatedSource | Self::WrongSite => StatusCode::FORBIDDEN,
            Self::UnknownId | Self::AuditDisabled => StatusCode::NOT_FOUND,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<BodyRejection> for FeedbackError {
    fn from(_: BodyRejection) -> Self {
        Self::BadRequest
    }
}

impl IntoResponse for FeedbackError {
    fn into_response(self) -> Response {
        metrics::counter!("tollgate_feedback_errors_total", "code" => self.code()).increment(1);
        let retry_after = match self {
            Self::RateLimited { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        error_response(self.status(), self.code(), retry_after)
    }
}

/// `status` with `{"error": code}` (and `Retry-After` when given).
fn error_response(status: StatusCode, code: &'static str, retry_after: Option<u64>) -> Response {
    let mut resp = (status, axum::Json(serde_json::json!({ "error": code }))).into_response();
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_exact() {
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            all,
            [
                "missing-input-secret",
                "invalid-input-secret",
                "missing-input-response",
                "invalid-input-response",
                "bad-request",
                "timeout-or-duplicate",
                "internal-error"
            ]
        );
    }
}
