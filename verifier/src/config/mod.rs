//! TOML configuration (see `verifier/README.md` for the documented format) and the built-in
//! development configuration, one file per concern: `sites` (`[[sites]]`), `keys`
//! (`[[keys]]`), `store` (`[store]`), `server` (`[server]`, `[server.rate_limit]`) and
//! `correlation` (`[correlation]`). Each holds the table as written (`…Config`, defaults in its
//! `impl Default` through `#[serde(default)]`), the resolved form (`…Settings`) and the
//! validation between them; this module loads the file and resolves the whole.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tollgate_protocol::PowParams;

use crate::keys::{KeyEntry, KeyError, KeyRing};

mod audit;
mod correlation;
mod keys;
mod server;
mod sites;
mod store;
mod testkeys;
mod toml_error;

pub use audit::{
    AuditBackend, AuditConfig, AuditSettings, FeedbackSource, SiteLearning, SiteModel,
};
pub use correlation::{CorrelationConfig, CorrelationSettings};
pub use keys::KeyConfig;
pub use server::{
    ListenSettings, RateConfig, RateLimitConfig, RateLimits, ServerConfig, ServerSettings,
    TlsConfig, TlsFiles,
};
pub use sites::{
    AutomationKey, AutomationKeyConfig, DECISION_BLOCK_CODE, DECISION_CHALLENGE_CODE, PolicyConfig,
    PowConfig, SiteConfig, SiteSettings, SuccessWhen, secret_digest,
};
pub use store::{Admission, FailMode, RetryPolicy, StoreBackend, StoreConfig, StoreSettings};
pub use testkeys::{
    TEST_DUMMY_TOKEN, TEST_KEY_PREFIX, TEST_KEYS, TestAnswer, TestKey, test_key_by_secret,
    test_key_by_sitekey,
};
pub use toml_error::TomlLocation;

/// Development site (used when `serve` gets no `--config`).
pub const DEV_SITE_KEY: &str = "tgdev-localhost-sitekey";
pub const DEV_SECRET: &str = "tgdev-localhost-secret-not-for-production";
pub const DEV_ORIGINS: [&str; 2] = ["http://localhost:*", "http://127.0.0.1:*"];

pub const DEFAULT_POW: PowParams = PowParams { k: 32, bits: 15 };
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 300;
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 3600;
pub const DEFAULT_STORE_CAPACITY: usize = 500_000;
pub const MIN_SITE_SECRET: usize = 16;
pub const MIN_AUTOMATION_KEY: usize = 16;

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
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub correlation: CorrelationConfig,
    /// Enable the public test keys (`tgtest-…`, always allow/challenge/block/duplicate) with a
    /// real config: for CI configs only (a WARN is logged at start).
    #[serde(default)]
    pub test_keys: bool,
    /// The audit trail (learning loop); off by default.
    #[serde(default)]
    pub audit: AuditConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that is not valid TOML or does not fit the schema: file, line, column and key
    /// name only — never the source line or a value (see [`TomlLocation`]).
    #[error("invalid configuration at {0}")]
    Toml(Box<TomlLocation>),
    #[error("environment variable {0} is not set or not valid UTF-8")]
    MissingEnv(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    /// A TOML error located in `text` (the file at `path`), without any of its values.
    pub fn toml(path: PathBuf, text: &str, err: &toml::de::Error) -> Self {
        Self::Toml(Box::new(TomlLocation::new(path, text, err)))
    }
}

/// Resolved configuration: keys loaded, secrets read, everything validated.
#[derive(Debug)]
pub struct Settings {
    pub keys: KeyRing,
    pub sites: Vec<SiteSettings>,
    pub store: StoreSettings,
    pub server: ServerSettings,
    pub correlation: CorrelationSettings,
    /// Whether the test keys answer (always in development mode; `test_keys = true` otherwise).
    pub test_keys: bool,
    /// Files this configuration was read from (the config and its key files), for reloading.
    pub files: Vec<PathBuf>,
    /// `[audit]` (`None`: no audit trail). Fixed at start, like `[store]`.
    pub audit: Option<AuditSettings>,
}

impl Settings {
    /// Development mode: the dev site, one random key (id 1) — tokens do not survive a restart.
    pub fn dev() -> Result<Self, ConfigError> {
        Ok(Self {
            keys: KeyRing::new(vec![KeyEntry::generate(1)?])?,
            sites: vec![SiteSettings::dev()],
            store: StoreSettings::default(),
            server: ServerSettings::default(),
            correlation: CorrelationSettings::default(),
            test_keys: true,
            files: Vec::new(),
            audit: None,
        })
    }

    /// Read and resolve a config file; relative key file paths are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.into(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut s = Self::from_toml(&text, path, base, &|name| std::env::var(name).ok())?;
        s.files.insert(0, path.to_path_buf());
        Ok(s)
    }

    /// Parse and resolve config text. `env` looks up environment variables (injectable for tests).
    pub fn from_toml(
        text: &str,
        path: &Path,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::toml(path.into(), text, &e))?;
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
        let mut files = Vec::new();
        for (i, k) in self.keys.into_iter().enumerate() {
            if let Some(f) = &k.file {
                files.push(base_dir.join(f));
            }
            keys.push(keys::resolve_key(i, k, base_dir, env)?);
        }
        // Validates ids and that some key can sign.
        let keys = KeyRing::new(keys)?;

        if self.sites.is_empty() {
            return Err(ConfigError::Invalid("no [[sites]] configured".into()));
        }
        let mut sites: Vec<SiteSettings> = Vec::new();
        for s in self.sites {
            for p in [&s.model, &s.shadow_model].into_iter().flatten() {
                files.push(base_dir.join(p));
            }
            let site = sites::resolve_site(s, base_dir, env)?;
            if sites.iter().any(|o| o.sitekey == site.sitekey) {
                return Err(ConfigError::Invalid(format!(
                    "duplicate sitekey {:?}",
                    site.sitekey
                )));
            }
            if testkeys::is_test_secret(site.secret.expose()) {
                return Err(ConfigError::Invalid(format!(
                    "site {:?} uses a public test secret",
                    site.sitekey
                )));
            }
            // Current and previous secrets of all sites are pairwise distinct: a secret names
            // exactly one site.
            let digests =
                |s: &SiteSettings| std::iter::once(s.secret_digest).chain(s.previous_secret_digest);
            if sites.iter().any(|o| {
                digests(o).any(|a| digests(&site).any(|b| tollgate_protocol::ct_eq(&a, &b)))
            }) {
                return Err(ConfigError::Invalid(format!(
                    "site {:?} reuses another site's secret (current or previous)",
                    site.sitekey
                )));
            }
            sites.push(site);
        }
        let store = store::resolve_store(&self.store, env)?;
        let server = server::resolve_server(&self.server, base_dir)?;
        let correlation = correlation::resolve_correlation(self.correlation, base_dir, env)?;
        let audit = audit::resolve_audit(&self.audit, base_dir, env)?;
        Ok(Settings {
            keys,
            sites,
            store,
            server,
            correlation,
            test_keys: self.test_keys,
            files,
            audit,
        })
    }
}

#[cfg(test)]
mod tests;
