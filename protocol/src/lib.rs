//! Tollgate protocol v1.
//!
//! Shared by the browser collector (compiled to WebAssembly) and the verifier. This crate is pure:
//! it performs no I/O, reads no clock and draws no randomness — the caller passes time (`now_ms`)
//! and random bytes in. See `ARCHITECTURE.md` at the repository root for the whole picture.
//!
//! Wire objects:
//! - [`challenge`]: fixed-layout binary challenge signed with Ed25519 by the verifier.
//! - [`pow`]: k independent SHA-256 sub-puzzles, one 64-byte block each.
//! - [`token`]: postcard-encoded body (challenge verbatim, solutions, telemetry) + HMAC-SHA256, base64url.
//! - [`telemetry`]: compact behavioural and environment records.

#![forbid(unsafe_code)]
// `no_std` + `alloc` (the browser build links no std panic/formatting machinery); the behaviour
// features and model, which need std's float math, live in the `tollgate-model` crate.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod challenge;
pub mod compact;
pub mod error;
pub mod pow;
pub mod sha;
pub mod solver;
pub mod telemetry;
pub mod token;

use alloc::string::String;
use alloc::vec::Vec;

pub use challenge::{Challenge, ChallengeBody, PowParams};
pub use error::ProtocolError;
pub use telemetry::Telemetry;
pub use token::{ClientContext, SolveStats, TokenBody};

/// Protocol version carried by challenges and tokens.
pub const PROTOCOL_VERSION: u8 = 1;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// SHA-256 over several parts, each prefixed with its length (u32 big-endian) so that no two
/// different part lists hash the same way (no ambiguity from concatenation).
///
/// Uses the small rolled [`sha::Sha256`] (not `sha2`), so the browser build that computes the
/// proof-of-work seed carries no unrolled SHA-256 besides the solver kernel.
pub fn sha256_parts(domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sha::Sha256::new();
    h.update(&(domain.len() as u32).to_be_bytes());
    h.update(domain);
    for p in parts {
        h.update(&(p.len() as u32).to_be_bytes());
        h.update(p);
    }
    h.finalize()
}

/// 16-byte site identifier derived from the public site key.
pub fn site_id(site_key: &str) -> [u8; 16] {
    let h = sha256_parts(b"tollgate/site/v1", &[site_key.as_bytes()]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[..16]);
    out
}

/// Hash binding a client-supplied string (origin, action, cdata) into the challenge.
pub fn bind_hash(kind: &[u8], value: &str) -> [u8; 32] {
    sha256_parts(b"tollgate/bind/v1", &[kind, value.as_bytes()])
}

/// The **legacy** per-challenge token MAC key: HMAC-SHA256(secret, domain ‖ key_id ‖ challenge_id),
/// bound to the challenge id only. Verifiers now hand out [`token::challenge_token_key`] (bound to
/// the whole signed challenge, so a MAC that verifies also proves the challenge authentic); a
/// token sealed with this older key (from a verifier not yet upgraded during a rolling deploy) is
/// accepted only with a valid Ed25519 signature on its challenge (ARCHITECTURE.md, invariants).
pub fn derive_token_key(
    secret: &[u8],
    key_id: u32,
    challenge_id: &[u8; 16],
) -> [u8; token::TOKEN_KEY_LEN] {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(b"tollgate/token-key/v1\0");
    mac.update(&key_id.to_be_bytes());
    mac.update(challenge_id);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality for secrets and MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// base64url without padding (the token and challenge text encoding).
pub fn b64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decode base64url without padding.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, ProtocolError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| ProtocolError::Base64)
}
