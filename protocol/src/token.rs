//! The token the collector writes into the form: a postcard-encoded [`TokenBody`] followed by an
//! HMAC-SHA256 tag, base64url (no padding).
//!
//! - MAC key: per challenge, [`challenge_token_key`] = HMAC-SHA256(secret, [`TOKEN_KEY_DOMAIN`] ‖
//!   the signed challenge's wire form), handed to the page with the challenge. Because the key is
//!   bound to every byte of the challenge (not only its id), a token whose MAC verifies proves that
//!   the verifier issued exactly this challenge: the verifier checks this cheap MAC instead of the
//!   Ed25519 signature on the accept path (see `ARCHITECTURE.md`, invariants). The older key,
//!   [`crate::derive_token_key`] (bound to the challenge id only), is accepted by the verifier only
//!   together with a valid signature, for tokens of challenges issued before the change.
//! - MAC input: `"tollgate/token/v1\0" ‖ postcard(body)`.
//! - Size cap: [`MAX_TOKEN_CHARS`] base64 characters (= [`MAX_TOKEN_BYTES`] bytes), checked before
//!   any decoding. Typical login tokens are 1–6 KB.

use alloc::string::String;
use alloc::vec::Vec;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};

use crate::challenge::{Challenge, WIRE_LEN};
use crate::error::ProtocolError;
use crate::telemetry::Telemetry;

/// Maximum token length in base64url characters.
pub const MAX_TOKEN_CHARS: usize = 32 * 1024;
/// Maximum decoded token length in bytes.
pub const MAX_TOKEN_BYTES: usize = MAX_TOKEN_CHARS / 4 * 3;
/// MAC tag length.
pub const MAC_LEN: usize = 32;
/// Length of the per-challenge token MAC key ([`challenge_token_key`], HMAC-SHA256 output). The
/// loader hands it to the collector's `seal()` ahead of the challenge (generated into its contract
/// by `cargo xtask gen-js`).
pub const TOKEN_KEY_LEN: usize = 32;
/// Domain separation for the token MAC.
pub const MAC_DOMAIN: &[u8] = b"tollgate/token/v1\0";
/// Domain separation for [`challenge_token_key`].
pub const TOKEN_KEY_DOMAIN: &[u8] = b"tollgate/token-key/v2\0";

/// Per-challenge token MAC key bound to the whole signed challenge:
/// HMAC-SHA256(secret, [`TOKEN_KEY_DOMAIN`] ‖ `challenge_wire`), where `challenge_wire` is the
/// challenge exactly as issued (body ‖ signature, [`WIRE_LEN`] bytes; the body carries the key id).
///
/// Only the holder of `secret` can compute it, and the verifier computes it only for challenges it
/// has just signed, so a token MAC made with this key authenticates the challenge bytes as well:
/// any change to the challenge (expiry, site, proof-of-work parameters, bindings, risk tier, id,
/// key id, signature) yields an unrelated key under which the old MAC fails.
pub fn challenge_token_key(secret: &[u8], challenge_wire: &[u8]) -> [u8; TOKEN_KEY_LEN] {
    let mut m =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(TOKEN_KEY_DOMAIN);
    m.update(challenge_wire);
    m.finalize().into_bytes().into()
}
/// Maximum lengths of the client-bound strings (Turnstile's limits).
pub const MAX_ACTION: usize = 32;
pub const MAX_CDATA: usize = 255;
pub const MAX_ORIGIN: usize = 256;

/// How the proof of work was solved (diagnostics; also used to tune difficulty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SolveStats {
    /// Wall time from challenge received to last solution, ms.
    pub duration_ms: u32,
    /// Number of workers used.
    pub workers: u8,
    /// 0 = scalar wasm, 1 = simd128 wasm, 2 = JS fallback.
    pub solver: u8,
    /// Total candidate hashes tried.
    pub hashes: u64,
}

/// Values the page asked to bind; the challenge carries their hashes, the token their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClientContext {
    /// `location.origin` of the page.
    pub origin: String,
    pub action: String,
    pub cdata: String,
}

/// Decoded token contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenBody {
    pub version: u8,
    /// The signed challenge, verbatim ([`WIRE_LEN`] bytes).
    pub challenge: Vec<u8>,
    /// One nonce per sub-puzzle.
    pub solutions: Vec<u64>,
    pub solve: SolveStats,
    pub context: ClientContext,
    pub telemetry: Telemetry,
}

/// A token decoded from text, MAC not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedToken {
    pub body: TokenBody,
    /// The parsed (unverified) challenge.
    pub challenge: Challenge,
    body_bytes: Vec<u8>,
    mac: [u8; MAC_LEN],
}

fn mac_of(key: &[u8; TOKEN_KEY_LEN], body_bytes: &[u8]) -> [u8; MAC_LEN] {
    let mut m =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(MAC_DOMAIN);
    m.update(body_bytes);
    m.finalize().into_bytes().into()
}

impl TokenBody {
    /// Encode and MAC into the token text.
    pub fn seal(&self, token_key: &[u8; TOKEN_KEY_LEN]) -> Result<String, ProtocolError> {
        let mut bytes = postcard::to_allocvec(self).map_err(|_| ProtocolError::Malformed)?;
        let tag = mac_of(token_key, &bytes);
        bytes.extend_from_slice(&tag);
        if bytes.len() > MAX_TOKEN_BYTES {
            return Err(ProtocolError::TooLarge {
                limit: MAX_TOKEN_BYTES,
            });
        }
        Ok(crate::b64_encode(&bytes))
    }
}

impl DecodedToken {
    /// Size check → base64 → postcard (no trailing bytes) → structural checks. Does not check the
    /// MAC (the key depends on the challenge: [`challenge_token_key`] of `body.challenge`).
    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        if text.is_empty() {
            return Err(ProtocolError::Empty);
        }
        if text.len() > MAX_TOKEN_CHARS {
            return Err(ProtocolError::TooLarge {
                limit: MAX_TOKEN_CHARS,
            });
        }
        let raw = crate::b64_decode(text)?;
        if raw.len() <= MAC_LEN {
            return Err(ProtocolError::Malformed);
        }
        let (body_bytes, tag) = raw.split_at(raw.len() - MAC_LEN);
        let (body, rest): (TokenBody, &[u8]) =
            postcard::take_from_bytes(body_bytes).map_err(|_| ProtocolError::Malformed)?;
        if !rest.is_empty() {
            return Err(ProtocolError::TrailingBytes);
        }
        if body.version != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version(body.version));
        }
        if body.challenge.len() != WIRE_LEN {
            return Err(ProtocolError::ChallengeLength(body.challenge.len()));
        }
        if body.context.action.len() > MAX_ACTION
            || body.context.cdata.len() > MAX_CDATA
            || body.context.origin.len() > MAX_ORIGIN
        {
            return Err(ProtocolError::TelemetryLimit("context string"));
        }
        body.telemetry.check_limits()?;
        let challenge = Challenge::parse(&body.challenge)?;
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(tag);
        Ok(Self {
            body,
            challenge,
            body_bytes: body_bytes.to_vec(),
            mac,
        })
    }

    /// Constant-time MAC check with the per-challenge key.
    pub fn verify_mac(&self, token_key: &[u8; TOKEN_KEY_LEN]) -> Result<(), ProtocolError> {
        let expected = mac_of(token_key, &self.body_bytes);
        if crate::ct_eq(&expected, &self.mac) {
            Ok(())
        } else {
            Err(ProtocolError::BadMac)
        }
    }

    /// Encoded size of the body in bytes (for metrics).
    pub fn body_len(&self) -> usize {
        self.body_bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::TelemetryBuilder;

    fn body() -> TokenBody {
        let mut tb = TelemetryBuilder::new();
        tb.pointer(1.0, 0, 10.0, 10.0, 0, 1, 0.0, 1);
        TokenBody {
            version: 1,
            challenge: vec![1; WIRE_LEN],
            solutions: vec![1, 2, 3],
            solve: SolveStats {
                duration_ms: 120,
                workers: 2,
                solver: 0,
                hashes: 12345,
            },
            context: ClientContext {
                origin: "http://localhost:8080".into(),
                action: "login".into(),
                cdata: String::new(),
            },
            telemetry: tb.finish(),
        }
    }

    #[test]
    fn seal_decode_roundtrip_and_mac() {
        let key = [5u8; 32];
        let text = body().seal(&key).unwrap();
        let d = DecodedToken::decode(&text).unwrap();
        assert_eq!(d.body, body());
        d.verify_mac(&key).unwrap();
        assert_eq!(d.verify_mac(&[6u8; 32]), Err(ProtocolError::BadMac));
    }

    #[test]
    fn challenge_token_key_binds_every_challenge_byte() {
        let wire = [7u8; WIRE_LEN];
        let k = challenge_token_key(b"secret", &wire);
        assert_eq!(k, challenge_token_key(b"secret", &wire));
        assert_ne!(k, challenge_token_key(b"other secret", &wire));
        for i in 0..WIRE_LEN {
            let mut w = wire;
            w[i] ^= 1;
            assert_ne!(k, challenge_token_key(b"secret", &w), "byte {i} not bound");
        }
        // Not the id-bound key of the same secret (distinct domains).
        let mut id = [0u8; 16];
        id.copy_from_slice(&wire[21..37]);
        assert_ne!(k, crate::derive_token_key(b"secret", 0x0707_0707, &id));
    }

    #[test]
    fn bad_inputs_give_errors() {
        assert_eq!(DecodedToken::decode(""), Err(ProtocolError::Empty));
        assert_eq!(DecodedToken::decode("!!!"), Err(ProtocolError::Base64));
        assert!(matches!(
            DecodedToken::decode(&"A".repeat(MAX_TOKEN_CHARS + 1)),
            Err(ProtocolError::TooLarge { .. })
        ));
        assert_eq!(DecodedToken::decode("AAAA"), Err(ProtocolError::Malformed));
        let text = body().seal(&[5; 32]).unwrap();
        assert!(DecodedToken::decode(&text[..text.len() / 2]).is_err());
    }
}
