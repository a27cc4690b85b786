//! Signed challenges, built the way the verifier issues them (`verifier/src/challenge.rs`).

use ed25519_dalek::{SigningKey, VerifyingKey};
use tollgate_protocol::challenge::{Challenge, ChallengeBody, PowParams};
use tollgate_protocol::token::{TOKEN_KEY_LEN, challenge_token_key};
use tollgate_protocol::{PROTOCOL_VERSION, bind_hash, derive_token_key, site_id};

use crate::TokenSpec;

/// Default challenge lifetime: the verifier's default token lifetime (5 minutes).
pub const DEFAULT_LIFETIME_MS: u64 = 300_000;

/// A challenge to sign: every field of a [`ChallengeBody`] plus the Ed25519 seed that signs it.
///
/// Defaults: protocol version, key id 1, signing seed `[1; 32]`, challenge id `[1; 16]`, issued
/// at 0 and valid for [`DEFAULT_LIFETIME_MS`], PoW k = 4, bits = 4 (fast in debug builds), risk
/// tier 0, origin/action/cdata all empty.
#[derive(Debug, Clone)]
pub struct ChallengeSpec {
    body: ChallengeBody,
    seed: [u8; 32],
    origin: String,
    action: String,
    cdata: String,
    lifetime_ms: Option<u64>,
}

impl ChallengeSpec {
    /// A challenge for `site_key` (its site id is `tollgate_protocol::site_id(site_key)`).
    pub fn new(site_key: &str) -> Self {
        Self {
            body: ChallengeBody {
                version: PROTOCOL_VERSION,
                key_id: 1,
                site_id: site_id(site_key),
                challenge_id: [1; 16],
                issued_at_ms: 0,
                expires_at_ms: DEFAULT_LIFETIME_MS,
                pow: PowParams { k: 4, bits: 4 },
                risk_tier: 0,
                origin_hash: bind_hash(b"origin", ""),
                action_hash: bind_hash(b"action", ""),
                cdata_hash: bind_hash(b"cdata", ""),
            },
            seed: [1; 32],
            origin: String::new(),
            action: String::new(),
            cdata: String::new(),
            lifetime_ms: Some(DEFAULT_LIFETIME_MS),
        }
    }

    /// The origin the challenge is bound to.
    pub fn origin(mut self, origin: &str) -> Self {
        self.body.origin_hash = bind_hash(b"origin", origin);
        self.origin = origin.into();
        self
    }

    /// The action the challenge is bound to.
    pub fn action(mut self, action: &str) -> Self {
        self.body.action_hash = bind_hash(b"action", action);
        self.action = action.into();
        self
    }

    /// The customer data the challenge is bound to.
    pub fn cdata(mut self, cdata: &str) -> Self {
        self.body.cdata_hash = bind_hash(b"cdata", cdata);
        self.cdata = cdata.into();
        self
    }

    /// Proof-of-work parameters: `k` sub-puzzles of `bits` leading zero bits.
    pub fn pow(mut self, k: u16, bits: u8) -> Self {
        self.body.pow = PowParams { k, bits };
        self
    }

    /// Issue time (Unix ms). The expiry follows (issue time + lifetime) unless
    /// [`ChallengeSpec::expires_at`] fixed it.
    pub fn issued_at(mut self, ms: u64) -> Self {
        self.body.issued_at_ms = ms;
        self
    }

    /// Lifetime: expiry = issue time + `ms`.
    pub fn lifetime_ms(mut self, ms: u64) -> Self {
        self.lifetime_ms = Some(ms);
        self
    }

    /// A fixed expiry (Unix ms), whatever the issue time.
    pub fn expires_at(mut self, ms: u64) -> Self {
        self.body.expires_at_ms = ms;
        self.lifetime_ms = None;
        self
    }

    /// The signing key's id (what the verifier looks the public key and MAC secret up by).
    pub fn key_id(mut self, key_id: u32) -> Self {
        self.body.key_id = key_id;
        self
    }

    /// The Ed25519 seed that signs the challenge.
    pub fn signing_seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = seed;
        self
    }

    /// The challenge id (the verifier draws it at random).
    pub fn challenge_id(mut self, id: [u8; 16]) -> Self {
        self.body.challenge_id = id;
        self
    }

    /// The signed risk byte (`verifier::correlate::risk` flags and tier).
    pub fn risk_tier(mut self, risk: u8) -> Self {
        self.body.risk_tier = risk;
        self
    }

    /// The body as it will be signed.
    pub fn body(&self) -> ChallengeBody {
        let mut body = self.body.clone();
        if let Some(life) = self.lifetime_ms {
            body.expires_at_ms = body.issued_at_ms.saturating_add(life);
        }
        body
    }

    /// Sign it.
    pub fn sign(&self) -> SignedChallenge {
        let key = SigningKey::from_bytes(&self.seed);
        let challenge = Challenge::sign(self.body(), &key);
        SignedChallenge {
            wire: challenge.to_bytes(),
            challenge,
            verifying_key: key.verifying_key(),
            origin: self.origin.clone(),
            action: self.action.clone(),
            cdata: self.cdata.clone(),
        }
    }
}

/// A signed challenge: its wire bytes, parsed form, public key and the bindings it was built
/// with.
#[derive(Debug, Clone)]
pub struct SignedChallenge {
    wire: Vec<u8>,
    challenge: Challenge,
    verifying_key: VerifyingKey,
    origin: String,
    action: String,
    cdata: String,
}

impl SignedChallenge {
    /// The wire bytes (what `/v1/challenge` returns, base64url-encoded).
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The signed body.
    pub fn body(&self) -> &ChallengeBody {
        &self.challenge.body
    }

    /// The parsed challenge (body and signature).
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The public key that verifies the signature.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key
    }

    /// The token key the verifier hands out with this challenge under `mac_secret`: bound to the
    /// whole signed challenge (`challenge_token_key`).
    pub fn token_key(&self, mac_secret: &[u8]) -> [u8; TOKEN_KEY_LEN] {
        challenge_token_key(mac_secret, &self.wire)
    }

    /// The legacy token key, bound to the key id and challenge id only (`derive_token_key`):
    /// what tokens of challenges issued before the whole-challenge binding carry.
    pub fn legacy_token_key(&self, mac_secret: &[u8]) -> [u8; TOKEN_KEY_LEN] {
        derive_token_key(
            mac_secret,
            self.challenge.body.key_id,
            &self.challenge.body.challenge_id,
        )
    }

    /// A [`TokenSpec`] whose client context matches the challenge's bindings (no telemetry).
    pub fn token_spec(&self) -> TokenSpec {
        TokenSpec::new(&self.origin, &self.action, &self.cdata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters_reach_the_signed_body() {
        let c = ChallengeSpec::new("site-a")
            .origin("https://a.example")
            .action("login")
            .cdata("order-42")
            .pow(3, 5)
            .issued_at(1_000)
            .key_id(9)
            .challenge_id([7; 16])
            .risk_tier(0x0A)
            .signing_seed([5; 32])
            .sign();
        let b = c.body();
        assert_eq!(b.version, PROTOCOL_VERSION);
        assert_eq!(b.site_id, site_id("site-a"));
        assert_eq!((b.issued_at_ms, b.expires_at_ms), (1_000, 301_000));
        assert_eq!(b.pow, PowParams { k: 3, bits: 5 });
        assert_eq!((b.key_id, b.challenge_id, b.risk_tier), (9, [7; 16], 0x0A));
        assert_eq!(b.origin_hash, bind_hash(b"origin", "https://a.example"));
        assert_eq!(b.action_hash, bind_hash(b"action", "login"));
        assert_eq!(b.cdata_hash, bind_hash(b"cdata", "order-42"));
        let parsed = Challenge::parse(c.wire()).unwrap();
        assert_eq!(&parsed.body, b);
        let vk = SigningKey::from_bytes(&[5; 32]).verifying_key();
        assert_eq!(c.verifying_key(), vk);
        parsed.verify(|kid| (kid == 9).then_some(vk)).unwrap();
        let spec = c.token_spec();
        assert_eq!(
            (
                spec.origin.as_str(),
                spec.action.as_str(),
                spec.cdata.as_str()
            ),
            ("https://a.example", "login", "order-42")
        );
    }

    #[test]
    fn lifetime_and_fixed_expiry() {
        let b = ChallengeSpec::new("s")
            .lifetime_ms(60_000)
            .issued_at(5)
            .body();
        assert_eq!(b.expires_at_ms, 60_005);
        let b = ChallengeSpec::new("s").issued_at(10).expires_at(20).body();
        assert_eq!((b.issued_at_ms, b.expires_at_ms), (10, 20));
    }

    #[test]
    fn token_keys() {
        let c = ChallengeSpec::new("s").key_id(3).sign();
        assert_eq!(c.token_key(b"m"), challenge_token_key(b"m", c.wire()));
        assert_eq!(
            c.legacy_token_key(b"m"),
            derive_token_key(b"m", 3, &[1; 16])
        );
        assert_ne!(c.token_key(b"m"), c.legacy_token_key(b"m"));
    }
}
