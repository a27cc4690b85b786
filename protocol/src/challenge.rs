//! The signed challenge: a fixed-layout binary record (explicit field widths, never string
//! concatenation), followed by an Ed25519 signature over a domain-separated copy of it.
//!
//! Layout of the body (all integers big-endian), [`BODY_LEN`] bytes:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 1 | version (= 1) |
//! | 1 | 4 | key id (selects the verifier's signing key; rotation) |
//! | 5 | 16 | site id ([`crate::site_id`] of the site key) |
//! | 21 | 16 | challenge id (random, from the verifier) |
//! | 37 | 8 | issued at, ms since the Unix epoch |
//! | 45 | 8 | expires at, ms since the Unix epoch |
//! | 53 | 2 | proof of work: k sub-puzzles |
//! | 55 | 1 | proof of work: leading zero bits per sub-puzzle |
//! | 56 | 1 | risk tier chosen by the verifier when issuing (0 = baseline) |
//! | 57 | 32 | hash of the expected origin ([`crate::bind_hash`] `origin`) |
//! | 89 | 32 | hash of `action` |
//! | 121 | 32 | hash of `cdata` |
//!
//! Wire form: body ‖ signature (64 bytes) = [`WIRE_LEN`] bytes. The signed message is
//! [`SIGN_DOMAIN`] ‖ body.

use crate::error::ProtocolError;
use alloc::vec::Vec;

pub const BODY_LEN: usize = 153;
pub const SIG_LEN: usize = 64;
pub const WIRE_LEN: usize = BODY_LEN + SIG_LEN;
pub const SIGN_DOMAIN: &[u8] = b"tollgate/challenge/v1\0";

/// Bounds on proof-of-work parameters accepted anywhere (issuing, solving, verifying).
pub const MAX_POW_K: u16 = 256;
pub const MAX_POW_BITS: u8 = 32;

crate::const_table! {
    /// Byte offsets of the body fields the loader reads itself (see the layout table above; the
    /// loader takes them from the generated contract, `cargo xtask gen-js`).
    pub mod offset: usize {
        ISSUED_AT = 37;
        EXPIRES_AT = 45;
        POW_K = 53;
        POW_BITS = 55;
    }
}

/// Proof-of-work parameters carried in the signed challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowParams {
    /// Number of independent sub-puzzles.
    pub k: u16,
    /// Leading zero bits each sub-puzzle hash must have.
    pub bits: u8,
}

impl PowParams {
    pub fn validate(self) -> Result<Self, ProtocolError> {
        if self.k == 0 || self.k > MAX_POW_K || self.bits == 0 || self.bits > MAX_POW_BITS {
            return Err(ProtocolError::PowParams {
                k: self.k,
                bits: self.bits,
            });
        }
        Ok(self)
    }
}

/// The challenge fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeBody {
    pub version: u8,
    pub key_id: u32,
    pub site_id: [u8; 16],
    pub challenge_id: [u8; 16],
    pub issued_at_ms: u64,
    pub expires_at_ms: u64,
    pub pow: PowParams,
    pub risk_tier: u8,
    pub origin_hash: [u8; 32],
    pub action_hash: [u8; 32],
    pub cdata_hash: [u8; 32],
}

impl ChallengeBody {
    /// Fixed-layout encoding (see the module docs).
    pub fn encode(&self) -> [u8; BODY_LEN] {
        let mut out = [0u8; BODY_LEN];
        out[0] = self.version;
        out[1..5].copy_from_slice(&self.key_id.to_be_bytes());
        out[5..21].copy_from_slice(&self.site_id);
        out[21..37].copy_from_slice(&self.challenge_id);
        out[37..45].copy_from_slice(&self.issued_at_ms.to_be_bytes());
        out[45..53].copy_from_slice(&self.expires_at_ms.to_be_bytes());
        out[53..55].copy_from_slice(&self.pow.k.to_be_bytes());
        out[55] = self.pow.bits;
        out[56] = self.risk_tier;
        out[57..89].copy_from_slice(&self.origin_hash);
        out[89..121].copy_from_slice(&self.action_hash);
        out[121..153].copy_from_slice(&self.cdata_hash);
        out
    }

    /// Parse a body. Checks length and version only; signature and semantics are checked elsewhere.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if bytes.len() != BODY_LEN {
            return Err(ProtocolError::ChallengeLength(bytes.len()));
        }
        if bytes[0] != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version(bytes[0]));
        }
        let arr16 =
            |r: core::ops::Range<usize>| -> [u8; 16] { bytes[r].try_into().unwrap_or([0; 16]) };
        let arr32 =
            |r: core::ops::Range<usize>| -> [u8; 32] { bytes[r].try_into().unwrap_or([0; 32]) };
        let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        Ok(Self {
            version: bytes[0],
            key_id: u32::from_be_bytes(bytes[1..5].try_into().unwrap_or([0; 4])),
            site_id: arr16(5..21),
            challenge_id: arr16(21..37),
            issued_at_ms: u64_at(37),
            expires_at_ms: u64_at(45),
            pow: PowParams {
                k: u16::from_be_bytes([bytes[53], bytes[54]]),
                bits: bytes[55],
            },
            risk_tier: bytes[56],
            origin_hash: arr32(57..89),
            action_hash: arr32(89..121),
            cdata_hash: arr32(121..153),
        })
    }

    /// The message the signature covers.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(SIGN_DOMAIN.len() + BODY_LEN);
        m.extend_from_slice(SIGN_DOMAIN);
        m.extend_from_slice(&self.encode());
        m
    }
}

/// A challenge as carried on the wire: the body plus its signature, unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub body: ChallengeBody,
    pub signature: [u8; SIG_LEN],
}

impl Challenge {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(WIRE_LEN);
        v.extend_from_slice(&self.body.encode());
        v.extend_from_slice(&self.signature);
        v
    }

    /// Parse the wire form without verifying the signature (the browser does this to read the
    /// proof-of-work parameters; the verifier always calls [`Challenge::verify`] afterwards).
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if bytes.len() != WIRE_LEN {
            return Err(ProtocolError::ChallengeLength(bytes.len()));
        }
        let body = ChallengeBody::decode(&bytes[..BODY_LEN])?;
        let mut signature = [0u8; SIG_LEN];
        signature.copy_from_slice(&bytes[BODY_LEN..]);
        Ok(Self { body, signature })
    }
}

#[cfg(feature = "sign")]
mod sign {
    use super::*;
    use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

    impl Challenge {
        /// Sign a body with the key whose id is `body.key_id`.
        pub fn sign(body: ChallengeBody, key: &SigningKey) -> Self {
            let sig = key.sign(&body.signing_message());
            Self {
                body,
                signature: sig.to_bytes(),
            }
        }

        /// Verify the signature with the key `lookup(key_id)` returns.
        pub fn verify(
            &self,
            lookup: impl Fn(u32) -> Option<VerifyingKey>,
        ) -> Result<(), ProtocolError> {
            let key =
                lookup(self.body.key_id).ok_or(ProtocolError::UnknownKey(self.body.key_id))?;
            let sig = Signature::from_bytes(&self.signature);
            key.verify(&self.body.signing_message(), &sig)
                .map_err(|_| ProtocolError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> ChallengeBody {
        ChallengeBody {
            version: 1,
            key_id: 7,
            site_id: crate::site_id("site"),
            challenge_id: [9; 16],
            issued_at_ms: 1_700_000_000_000,
            expires_at_ms: 1_700_000_300_000,
            pow: PowParams { k: 32, bits: 15 },
            risk_tier: 0,
            origin_hash: crate::bind_hash(b"origin", "http://localhost:8080"),
            action_hash: crate::bind_hash(b"action", "login"),
            cdata_hash: crate::bind_hash(b"cdata", ""),
        }
    }

    #[test]
    fn offsets_match_the_encoding() {
        let b = sample();
        let e = b.encode();
        let at = |o: usize, n: usize| &e[o..o + n];
        assert_eq!(at(offset::ISSUED_AT, 8), b.issued_at_ms.to_be_bytes());
        assert_eq!(at(offset::EXPIRES_AT, 8), b.expires_at_ms.to_be_bytes());
        assert_eq!(at(offset::POW_K, 2), b.pow.k.to_be_bytes());
        assert_eq!(at(offset::POW_BITS, 1), [b.pow.bits]);
    }

    #[test]
    fn body_roundtrip() {
        let b = sample();
        assert_eq!(ChallengeBody::decode(&b.encode()).unwrap(), b);
    }

    #[test]
    fn wrong_length_and_version_rejected() {
        let b = sample().encode();
        assert_eq!(
            ChallengeBody::decode(&b[..10]),
            Err(ProtocolError::ChallengeLength(10))
        );
        let mut v = b;
        v[0] = 2;
        assert_eq!(ChallengeBody::decode(&v), Err(ProtocolError::Version(2)));
        assert!(Challenge::parse(&[0u8; WIRE_LEN + 1]).is_err());
    }

    #[cfg(feature = "sign")]
    #[test]
    fn sign_verify_and_tamper() {
        use ed25519_dalek::SigningKey;
        let key = SigningKey::from_bytes(&[3; 32]);
        let vk = key.verifying_key();
        let c = Challenge::sign(sample(), &key);
        assert!(c.verify(|id| (id == 7).then_some(vk)).is_ok());
        assert_eq!(c.verify(|_| None), Err(ProtocolError::UnknownKey(7)));
        let mut bytes = c.to_bytes();
        for i in [0usize, 5, 40, 56, 100, 200] {
            bytes[i] ^= 1;
            let r = Challenge::parse(&bytes).and_then(|c| c.verify(|_| Some(vk)));
            assert!(r.is_err(), "tamper at {i} accepted");
            bytes[i] ^= 1;
        }
    }
}
