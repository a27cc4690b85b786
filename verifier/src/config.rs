//! TOML configuration (see `verifier/README.md` for the documented format) and the built-in
//! development configuration.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tollgate_protocol::PowParams;

use crate::keys::{self, KeyEntry, KeyError, KeyFile, KeyRing};
use crate::origin::OriginPattern;
use crate::scoring::SitePolicy;
use crate::secret::Secret;

/// Development site (used when `serve` gets no `--config`).
pub const DEV_SITE_KEY: &str = "tgdev-localhost-sitekey";
pub const DEV_SECRET: &str = "tgdev-localhost-secret-not-for-production";
pub const DEV_ORIGINS: [&str; 2] = ["http://localhost:*", "http://127.0.0.1:*"];

pub const DEFAULT_POW: PowParams = PowParams { k: 32, bits: 15 };
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 300;
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 3600;
pub const DEFAULT_STORE_CAPACITY: usize = 500_000;
pub const MIN_SITE_SECRET: usize = 16;

/// A string from the config file that must not be logged.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
}

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

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowConfig {
    pub k: u16,
    pub bits: u8,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default = "default_allow")]
    pub allow: f64,
    #[serde(default = "default_block")]
    pub block: f64,
}

fn default_allow() -> f64 {
    SitePolicy::default().allow
}
fn default_block() -> f64 {
    SitePolicy::default().block
}

/// `[[sites]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub sitekey: String,
    pub secret: Option<SecretString>,
    pub secret_env: Option<String>,
    pub allowed_origins: Vec<String>,
    pub pow: Option<PowConfig>,
    pub policy: Option<PolicyConfig>,
    pub token_lifetime_secs: Option<u64>,
    pub store_capacity: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid TOML in {path}: {source}")]
    Toml {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {0} is not set or not valid UTF-8")]
    MissingEnv(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Invalid(String),
}

/// A site ready to use.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub sitekey: String,
    pub secret: Secret,
    pub allowed_origins: Vec<OriginPattern>,
    pub pow: PowParams,
    pub policy: SitePolicy,
    pub token_lifetime_ms: u64,
    pub store_capacity: usize,
}

/// Resolved configuration: keys loaded, secrets read, everything validated.
#[derive(Debug)]
pub struct Settings {
    pub keys: KeyRing,
    pub sites: Vec<SiteSettings>,
}

impl SiteSettings {
    /// The development site with default policy and difficulty.
    pub fn dev() -> Self {
        Self {
            sitekey: DEV_SITE_KEY.into(),
            secret: Secret::new(DEV_SECRET.as_bytes().to_vec()),
            allowed_origins: DEV_ORIGINS
                .iter()
                .filter_map(|o| OriginPattern::parse(o).ok())
                .collect(),
            pow: DEFAULT_POW,
            policy: SitePolicy::default(),
            token_lifetime_ms: DEFAULT_TOKEN_LIFETIME_SECS * 1000,
            store_capacity: DEFAULT_STORE_CAPACITY,
        }
    }
}

impl Settings {
    /// Development mode: the dev site, one random key (id 1) — tokens do not survive a restart.
    pub fn dev() -> Result<Self, ConfigError> {
        Ok(Self {
            keys: KeyRing::new(vec![KeyEntry::generate(1)?])?,
            sites: vec![SiteSettings::dev()],
        })
    }

    /// Read and resolve a config file; relative key file paths are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.into(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, path, base, &|name| std::env::var(name).ok())
    }

    /// Parse and resolve config text. `env` looks up environment variables (injectable for tests).
    pub fn from_toml(
        text: &str,
        path: &Path,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: path.into(),
            source: Box::new(e),
        })?;
        file.resolve(base_dir, env)
    }
}

fn pick(
    what: &str,
    inline: Option<&SecretString>,
    env_name: Option<&String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (inline, env_name) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "{what}: give either the value or the _env variable, not both"
        ))),
        (Some(s), None) => Ok(Some(s.0.clone())),
        (None, Some(name)) => env(name)
            .map(Some)
            .ok_or_else(|| ConfigError::MissingEnv(name.clone())),
        (None, None) => Ok(None),
    }
}

impl ConfigFile {
    pub fn resolve(
        self,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let mut keys = Vec::new();
        for (i, k) in self.keys.into_iter().enumerate() {
            keys.push(resolve_key(i, k, base_dir, env)?);
        }
        // Validates ids and that some key can sign.
        let keys = KeyRing::new(keys)?;

        if self.sites.is_empty() {
            return Err(ConfigError::Invalid("no [[sites]] configured".into()));
        }
        let mut sites: Vec<SiteSettings> = Vec::new();
        for s in self.sites {
            let site = resolve_site(s, env)?;
            if sites.iter().any(|o| o.sitekey == site.sitekey) {
                return Err(ConfigError::Invalid(format!(
                    "duplicate sitekey {:?}",
                    site.sitekey
                )));
            }
            if sites.iter().any(|o| o.secret.ct_eq(site.secret.expose())) {
                return Err(ConfigError::Invalid(format!(
                    "site {:?} reuses another site's secret",
                    site.sitekey
                )));
            }
            sites.push(site);
        }
        Ok(Settings { keys, sites })
    }
}

fn resolve_key(
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
        let kf: KeyFile = toml::from_str(&text).map_err(|e| ConfigError::Toml {
            path: path.clone(),
            source: Box::new(e),
        })?;
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

fn resolve_site(
    s: SiteConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SiteSettings, ConfigError> {
    let label = format!("site {:?}", s.sitekey);
    if s.sitekey.is_empty()
        || s.sitekey.len() > 128
        || !s.sitekey.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ConfigError::Invalid(format!(
            "{label}: sitekey must be 1-128 printable ASCII characters"
        )));
    }
    let secret = pick(
        &format!("{label} secret"),
        s.secret.as_ref(),
        s.secret_env.as_ref(),
        env,
    )?
    .ok_or_else(|| ConfigError::Invalid(format!("{label}: secret or secret_env is required")))?;
    if secret.len() < MIN_SITE_SECRET {
        return Err(ConfigError::Invalid(format!(
            "{label}: secret must be at least {MIN_SITE_SECRET} bytes"
        )));
    }
    if s.allowed_origins.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{label}: allowed_origins is empty"
        )));
    }
    let allowed_origins = s
        .allowed_origins
        .iter()
        .map(|o| OriginPattern::parse(o).map_err(|e| ConfigError::Invalid(format!("{label}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let pow = s
        .pow
        .map(|p| PowParams {
            k: p.k,
            bits: p.bits,
        })
        .unwrap_or(DEFAULT_POW);
    let pow = pow
        .validate()
        .map_err(|e| ConfigError::Invalid(format!("{label}: {e}")))?;
    let policy = s
        .policy
        .map(|p| SitePolicy {
            allow: p.allow,
            block: p.block,
        })
        .unwrap_or_default();
    policy
        .validate()
        .map_err(|e| ConfigError::Invalid(format!("{label}: {e}")))?;
    let lifetime = s.token_lifetime_secs.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
    if lifetime == 0 || lifetime > MAX_TOKEN_LIFETIME_SECS {
        return Err(ConfigError::Invalid(format!(
            "{label}: token_lifetime_secs must be 1..={MAX_TOKEN_LIFETIME_SECS}"
        )));
    }
    let store_capacity = s.store_capacity.unwrap_or(DEFAULT_STORE_CAPACITY);
    if store_capacity == 0 {
        return Err(ConfigError::Invalid(format!(
            "{label}: store_capacity must be positive"
        )));
    }
    Ok(SiteSettings {
        sitekey: s.sitekey,
        secret: Secret::new(secret.into_bytes()),
        allowed_origins,
        pow,
        policy,
        token_lifetime_ms: lifetime * 1000,
        store_capacity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const MAC: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; // 32 zero bytes

    fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::from_toml(text, Path::new("test.toml"), Path::new("."), env)
    }

    #[test]
    fn full_config_parses_with_defaults_and_env() {
        let text = format!(
            r#"
            [[keys]]
            id = 1
            seed = "{MAC}"
            mac_secret = "{MAC}"

            [[keys]]
            id = 2
            seed_env = "SEED2"
            mac_secret_env = "MAC2"

            [[sites]]
            sitekey = "site-a"
            secret_env = "SECRET_A"
            allowed_origins = ["https://a.example", "http://localhost:*"]
            pow = {{ k = 4, bits = 4 }}
            policy = {{ allow = 0.7, block = 0.1 }}
            token_lifetime_secs = 60
            store_capacity = 10

            [[sites]]
            sitekey = "site-b"
            secret = "0123456789abcdef-b"
            allowed_origins = ["https://b.example"]
            "#
        );
        let env = |n: &str| match n {
            "SEED2" | "MAC2" => Some(MAC.to_string()),
            "SECRET_A" => Some("0123456789abcdef-a".to_string()),
            _ => None,
        };
        let s = parse(&text, &env).unwrap();
        assert_eq!(s.keys.iter().count(), 2);
        assert_eq!(s.keys.signer().kid, 2);
        let a = &s.sites[0];
        assert_eq!(a.pow, PowParams { k: 4, bits: 4 });
        assert_eq!(a.token_lifetime_ms, 60_000);
        assert_eq!(a.store_capacity, 10);
        assert!((a.policy.allow - 0.7).abs() < 1e-9);
        assert!(a.secret.ct_eq(b"0123456789abcdef-a"));
        let b = &s.sites[1];
        assert_eq!(b.pow, DEFAULT_POW);
        assert_eq!(b.token_lifetime_ms, 300_000);
        assert_eq!(b.policy, SitePolicy::default());
        // Debug output never shows secrets.
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let key = format!("[[keys]]\nid = 1\nseed = \"{MAC}\"\nmac_secret = \"{MAC}\"\n");
        let site = "[[sites]]\nsitekey = \"s\"\nsecret = \"0123456789abcdef\"\nallowed_origins = [\"https://a.example\"]\n";
        assert!(parse(&format!("{key}{site}"), &no_env).is_ok());
        for (bad, why) in [
            (site.to_string(), "no keys"),
            (key.clone(), "no sites"),
            (format!("{key}{site}{site}"), "duplicate sitekey"),
            (
                format!("{key}{}", site.replace("0123456789abcdef", "short")),
                "short secret",
            ),
            (
                format!("{key}{}", site.replace("https://a.example", "a.example")),
                "bad origin",
            ),
            (
                format!("{key}{site}pow = {{ k = 0, bits = 4 }}\n"),
                "bad pow",
            ),
            (
                format!("{key}{site}policy = {{ allow = 0.1, block = 0.5 }}\n"),
                "bad policy",
            ),
            (
                format!("{key}{site}token_lifetime_secs = 0\n"),
                "zero lifetime",
            ),
            (format!("{key}{site}store_capacity = 0\n"), "zero capacity"),
            (format!("{key}{site}unknown = 1\n"), "unknown key"),
            (
                format!(
                    "{}{site}",
                    key.replace("seed =", "seed_env = \"NOPE\"\nxseed =")
                ),
                "typo",
            ),
            (
                format!("[[keys]]\nid = 1\nseed_env = \"NOPE\"\nmac_secret = \"{MAC}\"\n{site}"),
                "missing env",
            ),
            (
                format!("[[keys]]\nid = 1\nseed = \"{MAC}\"\nmac_secret = \"AAAA\"\n{site}"),
                "short mac",
            ),
            (
                format!("[[keys]]\nid = 1\nmac_secret = \"{MAC}\"\n{site}"),
                "no key source",
            ),
        ] {
            assert!(parse(&bad, &no_env).is_err(), "{why} accepted");
        }
    }

    #[test]
    fn key_file_is_loaded_relative_to_config() {
        let dir = std::env::temp_dir().join(format!("tollgate-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let k = KeyEntry::generate(5).unwrap();
        std::fs::write(dir.join("k5.toml"), k.to_key_file().unwrap()).unwrap();
        let text = "[[keys]]\nfile = \"k5.toml\"\n[[sites]]\nsitekey = \"s\"\nsecret = \"0123456789abcdef\"\nallowed_origins = [\"https://a.example\"]\n";
        let s = Settings::from_toml(text, &dir.join("c.toml"), &dir, &no_env).unwrap();
        assert_eq!(s.keys.signer().kid, 5);
        assert_eq!(s.keys.signer().verifying, k.verifying);
        let mismatched = text.replace("[[keys]]\n", "[[keys]]\nid = 6\n");
        assert!(Settings::from_toml(&mismatched, &dir.join("c.toml"), &dir, &no_env).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn dev_settings() {
        let s = Settings::dev().unwrap();
        assert_eq!(s.sites[0].sitekey, DEV_SITE_KEY);
        assert!(
            s.sites[0]
                .allowed_origins
                .iter()
                .any(|p| p.matches_str("http://localhost:5173"))
        );
        assert!(
            s.sites[0]
                .allowed_origins
                .iter()
                .any(|p| p.matches_str("http://127.0.0.1:8080"))
        );
        assert!(
            !s.sites[0]
                .allowed_origins
                .iter()
                .any(|p| p.matches_str("https://evil.example"))
        );
    }
}
