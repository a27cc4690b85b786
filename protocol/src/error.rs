//! Protocol errors. Every malformed input maps to one of these; nothing in this crate panics on input.

/// Why a challenge or token was rejected at the protocol level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("input is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("input is empty")]
    Empty,
    #[error("not valid base64url")]
    Base64,
    #[error("truncated or malformed encoding")]
    Malformed,
    #[error("trailing bytes after the encoded value")]
    TrailingBytes,
    #[error("unsupported protocol version {0}")]
    Version(u8),
    #[error("challenge has the wrong length {0}")]
    ChallengeLength(usize),
    #[error("unknown signing key id {0}")]
    UnknownKey(u32),
    #[error("bad challenge signature")]
    BadSignature,
    #[error("bad token MAC")]
    BadMac,
    #[error("proof-of-work parameters out of range (k={k}, bits={bits})")]
    PowParams { k: u16, bits: u8 },
    #[error("wrong number of proof-of-work solutions: expected {expected}, got {got}")]
    SolutionCount { expected: usize, got: usize },
    #[error("proof-of-work solution {index} does not meet the difficulty")]
    BadSolution { index: usize },
    #[error("telemetry exceeds a limit: {0}")]
    TelemetryLimit(&'static str),
}
