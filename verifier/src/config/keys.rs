//! `[[keys]]`: signing / verifying keys (inline, from the environment or from key files).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, SecretString, pick};
use crate::keys::{self, KeyEntry, KeyFile};
use crate::secret::Secret;

/// `[[keys]]`: key id plus exactly one of `file`, `seed`/`seed_env` or `public_key`, and (unless
/// `file` is used) `mac_secret`/`mac_secret_env`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub id: Option<u32>,
    pub file: Option<PathBuf>,
    pub seed: Option<SecretString>,
    pub seed_env: Option<String>,
    pub public_key: Option<String>,
    pub mac_secret: Option<SecretString>,
    pub mac_secret_env: Option<String>,
    #[serde(default)]
    pub verify_only: bool,
}

pub(super) fn resolve_key(
    index: usize,
    k: KeyConfig,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<KeyEntry, ConfigError> {
    let label = match k.id {
        Some(id) => format!("key {id}"),
        None => format!("[[keys]] #{}", index + 1),
    };
    let seed = pick(
        &format!("{label} seed"),
        k.seed.as_ref(),
        k.seed_env.as_ref(),
        env,
    )?;
    let mac = pick(
        &format!("{label} mac_secret"),
        k.mac_secret.as_ref(),
        k.mac_secret_env.as_ref(),
        env,
    )?;
    let sources = usize::from(k.file.is_some())
        + usize::from(seed.is_some())
        + usize::from(k.public_key.is_some());
    if sources != 1 {
        return Err(ConfigError::Invalid(format!(
            "{label}: give exactly one of file, seed/seed_env or public_key"
        )));
    }
    if let Some(file) = k.file {
        if mac.is_some() {
            return Err(ConfigError::Invalid(format!(
                "{label}: the key file holds the MAC secret; remove mac_secret"
            )));
        }
        let path = if file.is_absolute() {
            file
        } else {
            base_dir.join(file)
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let kf: KeyFile =
            toml::from_str(&text).map_err(|e| ConfigError::toml(path.clone(), &text, &e))?;
        let kid = match (k.id, kf.kid) {
            (Some(a), Some(b)) if a != b => {
                return Err(ConfigError::Invalid(format!(
                    "{label}: id {a} differs from kid {b} in {}",
                    path.display()
                )));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => {
                return Err(ConfigError::Invalid(format!(
                    "{label}: no id (neither in config nor key file)"
                )));
            }
        };
        return Ok(kf.into_entry(kid, k.verify_only)?);
    }
    let kid =
        k.id.ok_or_else(|| ConfigError::Invalid(format!("{label}: id is required")))?;
    let mac = mac.ok_or_else(|| {
        ConfigError::Invalid(format!("{label}: mac_secret or mac_secret_env is required"))
    })?;
    let mac = keys::decode_b64_any(&mac)
        .ok_or_else(|| ConfigError::Invalid(format!("{label}: mac_secret is not base64")))?;
    let mac = Secret::new(mac);
    if let Some(seed) = seed {
        let seed = keys::decode_32(&seed, format!("{label} seed"))?;
        Ok(KeyEntry::from_seed(kid, seed, mac, k.verify_only)?)
    } else {
        let pk = keys::decode_32(
            k.public_key.as_deref().unwrap_or_default(),
            format!("{label} public_key"),
        )?;
        Ok(KeyEntry::from_public(kid, pk, mac)?)
    }
}
