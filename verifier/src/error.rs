//! Typed errors of the HTTP API.

use tollgate_protocol::ProtocolError;

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
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("request body could not be read")]
    BodyRead,
    #[error("request body could not be parsed: {0}")]
    Malformed(String),
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
    #[error("internal error: {0}")]
    Internal(String),
}

impl VerifyError {
    /// Turnstile error codes for this failure.
    pub fn codes(&self) -> Vec<ErrorCode> {
        use ErrorCode::*;
        match self {
            Self::BodyTooLarge { .. } | Self::BodyRead | Self::Malformed(_) => vec![BadRequest],
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
            Self::Store(_) | Self::Internal(_) | Self::RateLimited { .. } => vec![InternalError],
        }
    }

    /// Stable detail code (reported in `tollgate.reasons` and as a metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body-too-large",
            Self::BodyRead => "body-unreadable",
            Self::Malformed(_) => "malformed-body",
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
            Self::Internal => "internal-error",
        }
    }

    pub fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::BadRequest | Self::InvalidSitekey | Self::InvalidAction | Self::InvalidCdata => {
                StatusCode::BAD_REQUEST
            }
            Self::MissingOrigin | Self::OriginNotAllowed | Self::InvalidAutomationKey => {
                StatusCode::FORBIDDEN
            }
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl axum::response::IntoResponse for ChallengeError {
    fn into_response(self) -> axum::response::Response {
        metrics::counter!("tollgate_challenge_errors_total", "code" => self.code()).increment(1);
        let mut resp = (
            self.status(),
            axum::Json(serde_json::json!({ "error": self.code() })),
        )
            .into_response();
        if let Self::RateLimited { retry_after_secs } = self
            && let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
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
