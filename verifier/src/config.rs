//! TOML configuration (see `verifier/README.md` for the documented format) and the built-in
//! development configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tollgate_protocol::PowParams;

use crate::keys::{self, KeyEntry, KeyError, KeyFile, KeyRing};
use crate::netinfo::IpSet;
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
}

/// `[store]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    #[serde(default = "default_backend")]
    pub backend: String,
    pub url: Option<SecretString>,
    pub url_env: Option<String>,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_command_timeout_ms")]
    pub command_timeout_ms: u64,
    #[serde(default = "default_used_margin_ms")]
    pub used_margin_ms: u64,
    #[serde(default = "default_fail_closed")]
    pub single_use_on_error: FailMode,
    #[serde(default = "default_fail_open")]
    pub counters_on_error: FailMode,
    #[serde(default = "default_aux_capacity")]
    pub memory_aux_capacity: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: default_backend(),
            url: None,
            url_env: None,
            key_prefix: default_key_prefix(),
            connect_timeout_ms: default_connect_timeout_ms(),
            command_timeout_ms: default_command_timeout_ms(),
            used_margin_ms: default_used_margin_ms(),
            single_use_on_error: FailMode::FailClosed,
            counters_on_error: FailMode::FailOpen,
            memory_aux_capacity: default_aux_capacity(),
        }
    }
}

fn default_backend() -> String {
    "memory".into()
}
fn default_key_prefix() -> String {
    "tollgate:".into()
}
fn default_connect_timeout_ms() -> u64 {
    1000
}
fn default_command_timeout_ms() -> u64 {
    500
}
fn default_used_margin_ms() -> u64 {
    60_000
}
fn default_fail_closed() -> FailMode {
    FailMode::FailClosed
}
fn default_fail_open() -> FailMode {
    FailMode::FailOpen
}
fn default_aux_capacity() -> usize {
    crate::store::DEFAULT_AUX_CAPACITY
}

/// What to do when the store fails (down, slow, full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailMode {
    /// Refuse: siteverify answers `internal-error`, `/v1/challenge` 500.
    FailClosed,
    /// Go on without the store: single use → the token is accepted with reason `store-degraded`
    /// and the decision capped at `challenge`; counters → scored without campaign signals, with
    /// reason `store-degraded`.
    FailOpen,
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Peers whose `X-Forwarded-For` is believed (CIDRs or addresses).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Time a client has to send the request head (slowloris protection).
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Open connections at once (more wait in the accept queue).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Poll the config file (and key files) for changes every N seconds (0 = SIGHUP only).
    #[serde(default = "default_config_poll_secs")]
    pub config_poll_secs: u64,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            request_timeout_ms: default_request_timeout_ms(),
            header_read_timeout_ms: default_header_read_timeout_ms(),
            max_connections: default_max_connections(),
            config_poll_secs: default_config_poll_secs(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

fn default_request_timeout_ms() -> u64 {
    15_000
}
fn default_header_read_timeout_ms() -> u64 {
    10_000
}
fn default_max_connections() -> usize {
    10_000
}
fn default_config_poll_secs() -> u64 {
    2
}

/// `[server.rate_limit]`: per client address (IPv4 /32, IPv6 /64), per process.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_challenge_rate")]
    pub challenge: RateConfig,
    #[serde(default = "default_siteverify_rate")]
    pub siteverify: RateConfig,
    #[serde(default = "default_max_tracked")]
    pub max_tracked: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            challenge: default_challenge_rate(),
            siteverify: default_siteverify_rate(),
            max_tracked: default_max_tracked(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub per_second: f64,
    pub burst: u32,
}

fn default_true() -> bool {
    true
}
fn default_challenge_rate() -> RateConfig {
    RateConfig {
        per_second: 5.0,
        burst: 50,
    }
}
fn default_siteverify_rate() -> RateConfig {
    RateConfig {
        per_second: 500.0,
        burst: 1000,
    }
}
fn default_max_tracked() -> usize {
    100_000
}

/// `[correlation]`: campaign detection across the user base (see README "Attack correlation").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Base secret of the rotating counter-key HMAC (default: derived from the signing key's
    /// MAC secret). Give one explicitly to keep counters across signing-key rotations.
    pub secret: Option<SecretString>,
    pub secret_env: Option<String>,
    #[serde(default = "default_window_secs")]
    pub window_secs: u64,
    #[serde(default = "default_surge_window_secs")]
    pub surge_window_secs: u64,
    #[serde(default = "default_fingerprint_accounts")]
    pub fingerprint_accounts: u32,
    #[serde(default = "default_trace_sources")]
    pub trace_sources: u32,
    #[serde(default = "default_account_failure_ips")]
    pub account_failure_ips: u32,
    #[serde(default = "default_ip_challenges")]
    pub ip_challenges: u32,
    #[serde(default = "default_prefix_challenges")]
    pub prefix_challenges: u32,
    #[serde(default = "default_asn_challenges")]
    pub asn_challenges: u32,
    #[serde(default = "default_prefix_failures")]
    pub prefix_failures: u32,
    /// Extra PoW bits for risk tiers 1, 2, 3.
    #[serde(default = "default_tier_extra_bits")]
    pub tier_extra_bits: [u8; 3],
    pub proxy_list: Option<PathBuf>,
    pub hosting_list: Option<PathBuf>,
    pub tor_list: Option<PathBuf>,
    pub asn_table: Option<PathBuf>,
    #[serde(default = "default_lists_poll_secs")]
    pub lists_poll_secs: u64,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            secret: None,
            secret_env: None,
            window_secs: default_window_secs(),
            surge_window_secs: default_surge_window_secs(),
            fingerprint_accounts: default_fingerprint_accounts(),
            trace_sources: default_trace_sources(),
            account_failure_ips: default_account_failure_ips(),
            ip_challenges: default_ip_challenges(),
            prefix_challenges: default_prefix_challenges(),
            asn_challenges: default_asn_challenges(),
            prefix_failures: default_prefix_failures(),
            tier_extra_bits: default_tier_extra_bits(),
            proxy_list: None,
            hosting_list: None,
            tor_list: None,
            asn_table: None,
            lists_poll_secs: default_lists_poll_secs(),
        }
    }
}

fn default_window_secs() -> u64 {
    3600
}
fn default_surge_window_secs() -> u64 {
    60
}
fn default_fingerprint_accounts() -> u32 {
    5
}
fn default_trace_sources() -> u32 {
    3
}
fn default_account_failure_ips() -> u32 {
    5
}
fn default_ip_challenges() -> u32 {
    30
}
fn default_prefix_challenges() -> u32 {
    120
}
fn default_asn_challenges() -> u32 {
    1200
}
fn default_prefix_failures() -> u32 {
    20
}
fn default_tier_extra_bits() -> [u8; 3] {
    [1, 2, 4]
}
fn default_lists_poll_secs() -> u64 {
    5
}

/// `automation_keys = [{ name, key | key_env }]` of a site.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationKeyConfig {
    pub name: String,
    pub key: Option<SecretString>,
    pub key_env: Option<String>,
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
    /// Known-good automation (monitoring, CI): a `/v1/challenge` request carrying one of these
    /// keys in the `Tollgate-Automation-Key` header skips behaviour scoring (token still checked).
    #[serde(default)]
    pub automation_keys: Vec<AutomationKeyConfig>,
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

/// A known-good automation key of a site (only its hash is kept).
#[derive(Debug, Clone)]
pub struct AutomationKey {
    pub name: String,
    /// [`secret_digest`] of the key.
    pub digest: [u8; 32],
}

/// Digest under which secrets are compared: comparing fixed-size digests in constant time hides
/// the secret's length as well as its content.
pub fn secret_digest(kind: &[u8], secret: &[u8]) -> [u8; 32] {
    tollgate_protocol::sha256_parts(b"tollgate/secret-digest/v1", &[kind, secret])
}

/// A site ready to use.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub sitekey: String,
    pub secret: Secret,
    /// [`secret_digest`]`(b"site", secret)`.
    pub secret_digest: [u8; 32],
    pub automation_keys: Vec<AutomationKey>,
    pub allowed_origins: Vec<OriginPattern>,
    pub pow: PowParams,
    pub policy: SitePolicy,
    pub token_lifetime_ms: u64,
    pub store_capacity: usize,
}

/// Resolved `[store]`.
#[derive(Debug, Clone)]
pub enum StoreBackend {
    Memory { aux_capacity: usize },
    Redis(crate::store::RedisOptions),
}

#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    pub single_use_on_error: FailMode,
    pub counters_on_error: FailMode,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Memory {
                aux_capacity: default_aux_capacity(),
            },
            single_use_on_error: FailMode::FailClosed,
            counters_on_error: FailMode::FailOpen,
        }
    }
}

impl StoreSettings {
    /// Settings for `--store URL` (`memory` or `redis://…`), keeping the file's other choices.
    pub fn with_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let base = match &self.backend {
            StoreBackend::Redis(o) => o.clone(),
            StoreBackend::Memory { .. } => redis_options(&StoreConfig::default(), String::new()),
        };
        if url == "memory" {
            self.backend = StoreBackend::Memory {
                aux_capacity: default_aux_capacity(),
            };
        } else if url.starts_with("redis://") || url.starts_with("rediss://") {
            self.backend = StoreBackend::Redis(crate::store::RedisOptions {
                url: Secret::new(url.as_bytes().to_vec()),
                ..base
            });
        } else {
            return Err(ConfigError::Invalid(
                "--store must be `memory` or a redis:// URL".into(),
            ));
        }
        Ok(self)
    }
}

fn redis_options(c: &StoreConfig, url: String) -> crate::store::RedisOptions {
    crate::store::RedisOptions {
        url: Secret::new(url.into_bytes()),
        key_prefix: c.key_prefix.clone(),
        connect_timeout: Duration::from_millis(c.connect_timeout_ms),
        command_timeout: Duration::from_millis(c.command_timeout_ms),
        used_margin: Duration::from_millis(c.used_margin_ms),
    }
}

/// Resolved `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub trusted_proxies: IpSet,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub config_poll: Option<Duration>,
    pub rate_limit: Option<RateLimits>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: IpSet::default(),
            request_timeout: Duration::from_millis(default_request_timeout_ms()),
            header_read_timeout: Duration::from_millis(default_header_read_timeout_ms()),
            max_connections: default_max_connections(),
            config_poll: None,
            rate_limit: Some(RateLimits {
                challenge: default_challenge_rate(),
                siteverify: default_siteverify_rate(),
                max_tracked: default_max_tracked(),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub challenge: RateConfig,
    pub siteverify: RateConfig,
    pub max_tracked: usize,
}

/// Resolved `[correlation]`.
#[derive(Debug, Clone)]
pub struct CorrelationSettings {
    pub enabled: bool,
    /// Explicit base secret (else derived from the signing key's MAC secret).
    pub secret: Option<Secret>,
    pub window_ms: u64,
    pub surge_window_ms: u64,
    pub fingerprint_accounts: u32,
    pub trace_sources: u32,
    pub account_failure_ips: u32,
    pub ip_challenges: u32,
    pub prefix_challenges: u32,
    pub asn_challenges: u32,
    pub prefix_failures: u32,
    pub tier_extra_bits: [u8; 3],
    pub proxy_list: Option<PathBuf>,
    pub hosting_list: Option<PathBuf>,
    pub tor_list: Option<PathBuf>,
    pub asn_table: Option<PathBuf>,
    pub lists_poll: Duration,
}

impl Default for CorrelationSettings {
    fn default() -> Self {
        let c = CorrelationConfig::default();
        Self {
            enabled: c.enabled,
            secret: None,
            window_ms: c.window_secs * 1000,
            surge_window_ms: c.surge_window_secs * 1000,
            fingerprint_accounts: c.fingerprint_accounts,
            trace_sources: c.trace_sources,
            account_failure_ips: c.account_failure_ips,
            ip_challenges: c.ip_challenges,
            prefix_challenges: c.prefix_challenges,
            asn_challenges: c.asn_challenges,
            prefix_failures: c.prefix_failures,
            tier_extra_bits: c.tier_extra_bits,
            proxy_list: None,
            hosting_list: None,
            tor_list: None,
            asn_table: None,
            lists_poll: Duration::from_secs(c.lists_poll_secs),
        }
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
    /// Files this configuration was read from (the config and its key files), for reloading.
    pub files: Vec<PathBuf>,
}

impl SiteSettings {
    /// The development site with default policy and difficulty.
    pub fn dev() -> Self {
        Self {
            sitekey: DEV_SITE_KEY.into(),
            secret: Secret::new(DEV_SECRET.as_bytes().to_vec()),
            secret_digest: secret_digest(b"site", DEV_SECRET.as_bytes()),
            automation_keys: Vec::new(),
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
            store: StoreSettings::default(),
            server: ServerSettings::default(),
            correlation: CorrelationSettings::default(),
            files: Vec::new(),
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
        let mut files = Vec::new();
        for (i, k) in self.keys.into_iter().enumerate() {
            if let Some(f) = &k.file {
                files.push(base_dir.join(f));
            }
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
        let store = resolve_store(&self.store, env)?;
        let server = resolve_server(&self.server)?;
        let correlation = resolve_correlation(self.correlation, base_dir, env)?;
        Ok(Settings {
            keys,
            sites,
            store,
            server,
            correlation,
            files,
        })
    }
}

fn resolve_store(
    c: &StoreConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StoreSettings, ConfigError> {
    let url = pick("[store] url", c.url.as_ref(), c.url_env.as_ref(), env)?;
    for (what, v) in [
        ("connect_timeout_ms", c.connect_timeout_ms),
        ("command_timeout_ms", c.command_timeout_ms),
    ] {
        if !(1..=60_000).contains(&v) {
            return Err(ConfigError::Invalid(format!(
                "[store] {what} must be 1..=60000"
            )));
        }
    }
    if c.key_prefix.len() > 64 || !c.key_prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::Invalid(
            "[store] key_prefix must be at most 64 printable ASCII characters".into(),
        ));
    }
    let backend = match (c.backend.as_str(), url) {
        ("memory", None) => StoreBackend::Memory {
            aux_capacity: c.memory_aux_capacity.max(1),
        },
        ("memory", Some(_)) => {
            return Err(ConfigError::Invalid(
                "[store] url is only for backend = \"redis\"".into(),
            ));
        }
        ("redis", Some(url)) => {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(ConfigError::Invalid(
                    "[store] url must start with redis:// or rediss://".into(),
                ));
            }
            StoreBackend::Redis(redis_options(c, url))
        }
        ("redis", None) => {
            return Err(ConfigError::Invalid(
                "[store] backend = \"redis\" needs url or url_env".into(),
            ));
        }
        (other, _) => {
            return Err(ConfigError::Invalid(format!(
                "[store] backend must be \"memory\" or \"redis\", not {other:?}"
            )));
        }
    };
    Ok(StoreSettings {
        backend,
        single_use_on_error: c.single_use_on_error,
        counters_on_error: c.counters_on_error,
    })
}

fn resolve_server(c: &ServerConfig) -> Result<ServerSettings, ConfigError> {
    let trusted_proxies = IpSet::parse(&c.trusted_proxies.join("\n"))
        .map_err(|e| ConfigError::Invalid(format!("[server] trusted_proxies: {e}")))?;
    if !(100..=300_000).contains(&c.request_timeout_ms) {
        return Err(ConfigError::Invalid(
            "[server] request_timeout_ms must be 100..=300000".into(),
        ));
    }
    let rl = &c.rate_limit;
    for (what, r) in [("challenge", rl.challenge), ("siteverify", rl.siteverify)] {
        if !(r.per_second.is_finite() && r.per_second > 0.0 && r.burst >= 1) {
            return Err(ConfigError::Invalid(format!(
                "[server.rate_limit] {what}: per_second > 0 and burst >= 1 required"
            )));
        }
    }
    if !(100..=120_000).contains(&c.header_read_timeout_ms) || c.max_connections == 0 {
        return Err(ConfigError::Invalid(
            "[server] header_read_timeout_ms must be 100..=120000 and max_connections positive"
                .into(),
        ));
    }
    Ok(ServerSettings {
        trusted_proxies,
        request_timeout: Duration::from_millis(c.request_timeout_ms),
        header_read_timeout: Duration::from_millis(c.header_read_timeout_ms),
        max_connections: c.max_connections,
        config_poll: (c.config_poll_secs > 0).then(|| Duration::from_secs(c.config_poll_secs)),
        rate_limit: rl.enabled.then_some(RateLimits {
            challenge: rl.challenge,
            siteverify: rl.siteverify,
            max_tracked: rl.max_tracked.max(1),
        }),
    })
}

fn resolve_correlation(
    c: CorrelationConfig,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<CorrelationSettings, ConfigError> {
    let secret = pick(
        "[correlation] secret",
        c.secret.as_ref(),
        c.secret_env.as_ref(),
        env,
    )?;
    if let Some(s) = &secret
        && s.len() < 32
    {
        return Err(ConfigError::Invalid(
            "[correlation] secret must be at least 32 bytes".into(),
        ));
    }
    if !(60..=7 * 86_400).contains(&c.window_secs) {
        return Err(ConfigError::Invalid(
            "[correlation] window_secs must be 60..=604800".into(),
        ));
    }
    if !(1..=3600).contains(&c.surge_window_secs) {
        return Err(ConfigError::Invalid(
            "[correlation] surge_window_secs must be 1..=3600".into(),
        ));
    }
    for (what, v) in [
        ("fingerprint_accounts", c.fingerprint_accounts),
        ("trace_sources", c.trace_sources),
        ("account_failure_ips", c.account_failure_ips),
    ] {
        if !(2..=crate::store::MAX_DISTINCT_CAP).contains(&v) {
            return Err(ConfigError::Invalid(format!(
                "[correlation] {what} must be 2..={}",
                crate::store::MAX_DISTINCT_CAP
            )));
        }
    }
    for (what, v) in [
        ("ip_challenges", c.ip_challenges),
        ("prefix_challenges", c.prefix_challenges),
        ("asn_challenges", c.asn_challenges),
        ("prefix_failures", c.prefix_failures),
    ] {
        if v == 0 {
            return Err(ConfigError::Invalid(format!(
                "[correlation] {what} must be positive"
            )));
        }
    }
    if c.tier_extra_bits.windows(2).any(|w| w[0] > w[1]) || c.tier_extra_bits[2] > 16 {
        return Err(ConfigError::Invalid(
            "[correlation] tier_extra_bits must be non-decreasing and at most 16".into(),
        ));
    }
    let rel = |p: Option<PathBuf>| p.map(|p| if p.is_absolute() { p } else { base_dir.join(p) });
    Ok(CorrelationSettings {
        enabled: c.enabled,
        secret: secret.map(|s| Secret::new(s.into_bytes())),
        window_ms: c.window_secs * 1000,
        surge_window_ms: c.surge_window_secs * 1000,
        fingerprint_accounts: c.fingerprint_accounts,
        trace_sources: c.trace_sources,
        account_failure_ips: c.account_failure_ips,
        ip_challenges: c.ip_challenges,
        prefix_challenges: c.prefix_challenges,
        asn_challenges: c.asn_challenges,
        prefix_failures: c.prefix_failures,
        tier_extra_bits: c.tier_extra_bits,
        proxy_list: rel(c.proxy_list),
        hosting_list: rel(c.hosting_list),
        tor_list: rel(c.tor_list),
        asn_table: rel(c.asn_table),
        lists_poll: Duration::from_secs(c.lists_poll_secs.max(1)),
    })
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
    let mut automation_keys: Vec<AutomationKey> = Vec::new();
    for a in &s.automation_keys {
        let key = pick(
            &format!("{label} automation key {:?}", a.name),
            a.key.as_ref(),
            a.key_env.as_ref(),
            env,
        )?
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{label}: automation key {:?} needs key or key_env",
                a.name
            ))
        })?;
        if key.len() < MIN_AUTOMATION_KEY || a.name.is_empty() || a.name.len() > 64 {
            return Err(ConfigError::Invalid(format!(
                "{label}: automation keys need a name (1-64 chars) and >= {MIN_AUTOMATION_KEY} bytes"
            )));
        }
        let digest = secret_digest(b"automation", key.as_bytes());
        if automation_keys.iter().any(|k| k.digest == digest) {
            return Err(ConfigError::Invalid(format!(
                "{label}: duplicate automation key"
            )));
        }
        automation_keys.push(AutomationKey {
            name: a.name.clone(),
            digest,
        });
    }
    Ok(SiteSettings {
        sitekey: s.sitekey,
        secret_digest: secret_digest(b"site", secret.as_bytes()),
        automation_keys,
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
