//! Signing keys and MAC secrets, with rotation: every listed key verifies, the newest signs.

use std::collections::BTreeMap;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use tollgate_protocol::token::TOKEN_KEY_LEN;

use crate::secret::Secret;

/// Minimum MAC secret length in bytes.
pub const MIN_MAC_SECRET: usize = 32;

/// One key id's material.
#[derive(Clone)]
pub struct KeyEntry {
    pub kid: u32,
    /// Present when this verifier can sign with the key (absent for retired, verify-only keys
    /// configured with only their public key).
    signing: Option<SigningKey>,
    pub verifying: VerifyingKey,
    /// Secret the per-challenge token MAC keys are derived from.
    mac_secret: Secret,
    /// Listed for verification only (pre-published next key, or a retired one).
    pub verify_only: bool,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("kid", &self.kid)
            .field(
                "public_key",
                &tollgate_protocol::b64_encode(self.verifying.as_bytes()),
            )
            .field("can_sign", &self.signing.is_some())
            .field("verify_only", &self.verify_only)
            .finish_non_exhaustive()
    }
}

impl KeyEntry {
    /// A key that can sign.
    pub fn from_seed(
        kid: u32,
        seed: [u8; 32],
        mac_secret: Secret,
        verify_only: bool,
    ) -> Result<Self, KeyError> {
        check_mac_secret(kid, &mac_secret)?;
        let signing = SigningKey::from_bytes(&seed);
        Ok(Self {
            kid,
            verifying: signing.verifying_key(),
            signing: Some(signing),
            mac_secret,
            verify_only,
        })
    }

    /// A verify-only key known by its public key.
    pub fn from_public(
        kid: u32,
        public_key: [u8; 32],
        mac_secret: Secret,
    ) -> Result<Self, KeyError> {
        check_mac_secret(kid, &mac_secret)?;
        let verifying =
            VerifyingKey::from_bytes(&public_key).map_err(|_| KeyError::BadPublicKey(kid))?;
        Ok(Self {
            kid,
            signing: None,
            verifying,
            mac_secret,
            verify_only: true,
        })
    }

    /// Fresh random key (development mode, `keygen`).
    pub fn generate(kid: u32) -> Result<Self, KeyError> {
        let seed: [u8; 32] = random_bytes()?;
        let mac: [u8; 32] = random_bytes()?;
        Self::from_seed(kid, seed, Secret::new(mac.to_vec()), false)
    }

    /// Per-challenge token MAC key, bound to the whole signed challenge (`challenge_wire` = body ‖
    /// signature as issued): a token MAC under it authenticates the challenge too, so siteverify
    /// needs no signature check for such tokens.
    pub fn token_key(&self, challenge_wire: &[u8]) -> [u8; TOKEN_KEY_LEN] {
        tollgate_protocol::token::challenge_token_key(self.mac_secret.expose(), challenge_wire)
    }

    /// The previous token MAC key, bound to the challenge id only: accepted by siteverify only
    /// after the challenge signature verified (tokens of challenges issued before the change).
    pub fn legacy_token_key(&self, challenge_id: &[u8; 16]) -> [u8; TOKEN_KEY_LEN] {
        tollgate_protocol::derive_token_key(self.mac_secret.expose(), self.kid, challenge_id)
    }

    /// A 32-byte secret derived from this key's MAC secret for another purpose:
    /// HMAC-SHA256(mac_secret, label). The MAC secret itself never leaves this type.
    pub fn derive_secret(&self, label: &[u8]) -> [u8; 32] {
        hmac_sha256(self.mac_secret.expose(), &[label])
    }

    /// The same key material, verify-only (kept after a reload removed the key, until its last
    /// tokens expire).
    pub fn to_verify_only(&self) -> KeyEntry {
        KeyEntry {
            kid: self.kid,
            signing: None,
            verifying: self.verifying,
            mac_secret: self.mac_secret.clone(),
            verify_only: true,
        }
    }

    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signing.as_ref()
    }

    /// The key file text for this key (see `verifier/README.md`).
    pub fn to_key_file(&self) -> Option<String> {
        let signing = self.signing.as_ref()?;
        let file = KeyFile {
            kid: Some(self.kid),
            ed25519_seed: tollgate_protocol::b64_encode(signing.as_bytes()),
            mac_secret: tollgate_protocol::b64_encode(self.mac_secret.expose()),
            public_key: Some(tollgate_protocol::b64_encode(self.verifying.as_bytes())),
        };
        let body = toml::to_string(&file).ok()?;
        Some(format!(
            "# Tollgate verifier key file (format v1). Keep it secret: it signs challenges and derives\n\
             # token MAC keys. public_key is informational (derived from ed25519_seed).\n{body}"
        ))
    }
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length; the error branch cannot happen.
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn check_mac_secret(kid: u32, s: &Secret) -> Result<(), KeyError> {
    if s.len() < MIN_MAC_SECRET {
        return Err(KeyError::ShortMacSecret {
            kid,
            min: MIN_MAC_SECRET,
        });
    }
    Ok(())
}

/// On-disk key file (TOML).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<u32>,
    /// base64url (or standard base64) of the 32-byte Ed25519 seed.
    pub ed25519_seed: String,
    /// base64url (or standard base64) of the MAC secret, ≥ 32 bytes.
    pub mac_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("kid", &self.kid)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no keys configured")]
    NoKeys,
    #[error("no key can sign (every key is verify_only or has only a public key)")]
    NoSigningKey,
    #[error("duplicate key id {0}")]
    DuplicateKid(u32),
    #[error("key {kid}: MAC secret must be at least {min} bytes")]
    ShortMacSecret { kid: u32, min: usize },
    #[error("key {0}: invalid Ed25519 public key")]
    BadPublicKey(u32),
    #[error("key {0}: public_key does not match the seed")]
    PublicKeyMismatch(u32),
    #[error("{what}: not valid base64 or wrong length")]
    Encoding { what: String },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// Decode base64url (unpadded) or standard base64 (padded or not).
pub fn decode_b64_any(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let t = text.trim();
    [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|e| e.decode(t).ok())
}

pub(crate) fn decode_32(text: &str, what: impl Into<String>) -> Result<[u8; 32], KeyError> {
    decode_b64_any(text)
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| KeyError::Encoding { what: what.into() })
}

impl KeyFile {
    pub fn into_entry(self, kid: u32, verify_only: bool) -> Result<KeyEntry, KeyError> {
        let seed = decode_32(&self.ed25519_seed, format!("key {kid} ed25519_seed"))?;
        let mac = decode_b64_any(&self.mac_secret).ok_or_else(|| KeyError::Encoding {
            what: format!("key {kid} mac_secret"),
        })?;
        let entry = KeyEntry::from_seed(kid, seed, Secret::new(mac), verify_only)?;
        if let Some(pk) = &self.public_key
            && decode_32(pk, format!("key {kid} public_key"))? != entry.verifying.to_bytes()
        {
            return Err(KeyError::PublicKeyMismatch(kid));
        }
        Ok(entry)
    }
}

/// Fill an array from the OS RNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(b)
}

/// All configured keys. The signing key is the one with the highest key id that can sign and is
/// not `verify_only` ("newest signs"); every key verifies.
#[derive(Debug)]
pub struct KeyRing {
    keys: BTreeMap<u32, KeyEntry>,
    signer: u32,
}

impl KeyRing {
    pub fn new(entries: Vec<KeyEntry>) -> Result<Self, KeyError> {
        if entries.is_empty() {
            return Err(KeyError::NoKeys);
        }
        let mut keys = BTreeMap::new();
        for e in entries {
            let kid = e.kid;
            if keys.insert(kid, e).is_some() {
                return Err(KeyError::DuplicateKid(kid));
            }
        }
        let signer = keys
            .values()
            .rev()
            .find(|k| !k.verify_only && k.signing.is_some())
            .map(|k| k.kid)
            .ok_or(KeyError::NoSigningKey)?;
        Ok(Self { keys, signer })
    }

    /// The key new challenges are signed with.
    pub fn signer(&self) -> &KeyEntry {
        // `signer` always names an entry (checked in `new`); fall back to any entry defensively.
        self.keys
            .get(&self.signer)
            .or_else(|| self.keys.values().next_back())
            .expect("key ring is never empty")
    }

    pub fn get(&self, kid: u32) -> Option<&KeyEntry> {
        self.keys.get(&kid)
    }

    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac() -> Secret {
        Secret::new(vec![7u8; 32])
    }

    #[test]
    fn newest_signing_key_signs_and_all_verify() {
        let ring = KeyRing::new(vec![
            KeyEntry::from_seed(1, [1; 32], mac(), false).unwrap(),
            KeyEntry::from_seed(3, [3; 32], mac(), false).unwrap(),
            KeyEntry::from_seed(9, [9; 32], mac(), true).unwrap(),
            KeyEntry::from_public(
                2,
                SigningKey::from_bytes(&[2; 32]).verifying_key().to_bytes(),
                mac(),
            )
            .unwrap(),
        ])
        .unwrap();
        assert_eq!(ring.signer().kid, 3);
        assert_eq!(ring.iter().count(), 4);
        assert!(ring.get(2).is_some() && ring.get(2).unwrap().signing_key().is_none());
    }

    #[test]
    fn ring_errors() {
        assert!(matches!(KeyRing::new(vec![]), Err(KeyError::NoKeys)));
        assert!(matches!(
            KeyRing::new(vec![KeyEntry::from_seed(1, [1; 32], mac(), true).unwrap()]),
            Err(KeyError::NoSigningKey)
        ));
        assert!(matches!(
            KeyRing::new(vec![
                KeyEntry::from_seed(1, [1; 32], mac(), false).unwrap(),
                KeyEntry::from_seed(1, [2; 32], mac(), false).unwrap()
            ]),
            Err(KeyError::DuplicateKid(1))
        ));
        assert!(matches!(
            KeyEntry::from_seed(1, [1; 32], Secret::new(vec![1; 8]), false),
            Err(KeyError::ShortMacSecret { .. })
        ));
    }

    #[test]
    fn key_file_roundtrip_and_redaction() {
        let k = KeyEntry::generate(42).unwrap();
        let text = k.to_key_file().unwrap();
        let file: KeyFile = toml::from_str(&text).unwrap();
        assert_eq!(file.kid, Some(42));
        assert!(!format!("{file:?}").contains(&file.mac_secret));
        assert!(!format!("{k:?}").contains(&file.ed25519_seed));
        let back = file.into_entry(42, false).unwrap();
        assert_eq!(back.verifying, k.verifying);
        assert_eq!(back.token_key(&[1; 217]), k.token_key(&[1; 217]));
        assert_eq!(
            back.legacy_token_key(&[1; 16]),
            k.legacy_token_key(&[1; 16])
        );
    }

    #[test]
    fn key_file_public_key_must_match() {
        let k = KeyEntry::generate(1).unwrap();
        let mut file: KeyFile = toml::from_str(&k.to_key_file().unwrap()).unwrap();
        file.public_key = Some(tollgate_protocol::b64_encode(&[0x11; 32]));
        assert!(matches!(
            file.into_entry(1, false),
            Err(KeyError::PublicKeyMismatch(1))
        ));
    }

    #[test]
    fn base64_variants_accepted() {
        assert_eq!(decode_b64_any("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_b64_any("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_b64_any("*").is_none());
    }
}
