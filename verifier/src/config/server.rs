//! `[server]` and `[server.rate_limit]`: listeners (public and internal bind addresses, TLS
//! certificate files), trusted proxies, timeouts, connection caps, reload polling and
//! per-client rate limits.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::netinfo::IpSet;

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Bind address of the public listener (challenge, keys, assets, health). `--listen` /
    /// `TOLLGATE_LISTEN` override it; default `127.0.0.1:8787`.
    pub listen: Option<String>,
    /// Bind address of the internal listener (siteverify, outcome, metrics, …). Unset: the
    /// internal routes are served on the public listener too (single port, the development
    /// default). `--internal-listen` / `TOLLGATE_INTERNAL_LISTEN` override it.
    pub internal_listen: Option<String>,
    /// TLS termination on the public listener (PEM certificate chain and private key).
    pub tls: Option<TlsConfig>,
    /// TLS termination on the internal listener (needs `internal_listen`).
    pub internal_tls: Option<TlsConfig>,
    /// Peers whose `X-Forwarded-For` is believed (CIDRs or addresses).
    pub trusted_proxies: Vec<String>,
    pub request_timeout_ms: u64,
    /// Time a client has to send the request head (slowloris protection).
    pub header_read_timeout_ms: u64,
    /// Time an accepted socket has to send its first byte (any protocol).
    pub first_byte_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed (idle keep-alive).
    pub idle_timeout_ms: u64,
    /// Open connections at once (more are closed at once; lowered to the open-file limit).
    pub max_connections: usize,
    /// Open connections at once from one address (IPv4) or /64 (IPv6); `trusted_proxies` are
    /// exempt (only `max_connections` applies to them).
    pub max_connections_per_address: usize,
    /// Poll the config file (and key files) for changes every N seconds (0 = SIGHUP only).
    pub config_poll_secs: u64,
    pub rate_limit: RateLimitConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: None,
            internal_listen: None,
            tls: None,
            internal_tls: None,
            trusted_proxies: Vec::new(),
            request_timeout_ms: 15_000,
            header_read_timeout_ms: 10_000,
            first_byte_timeout_ms: 5_000,
            idle_timeout_ms: 30_000,
            max_connections: 10_000,
            max_connections_per_address: 256,
            config_poll_secs: 2,
            rate_limit: RateLimitConfig::default(),
        }
    }
}

/// `[server.tls]` / `[server.internal_tls]`: PEM files, relative to the config file's directory.
/// Their contents are re-read when they change (polled every `config_poll_secs`, and on SIGHUP);
/// the paths themselves, like the bind addresses, are fixed at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key.
    pub key: PathBuf,
}

/// Resolved TLS files of one listener (absolute or relative to the working directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Resolved listener addresses and TLS files (fixed at start: a reload does not rebind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenSettings {
    pub listen: Option<SocketAddr>,
    pub internal_listen: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    pub internal_tls: Option<TlsFiles>,
}

/// `[server.rate_limit]`: per client address (IPv4 /32, IPv6 /64), per process.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub challenge: RateConfig,
    pub siteverify: RateConfig,
    pub max_tracked: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            challenge: RateConfig {
                per_second: 5.0,
                burst: 50,
            },
            siteverify: RateConfig {
                per_second: 500.0,
                burst: 1000,
            },
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub per_second: f64,
    pub burst: u32,
}

/// Resolved `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listeners: ListenSettings,
    pub trusted_proxies: IpSet,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub config_poll: Option<Duration>,
    pub rate_limit: Option<RateLimits>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        let c = ServerConfig::default();
        Self {
            listeners: ListenSettings::default(),
            trusted_proxies: IpSet::default(),
            request_timeout: Duration::from_millis(c.request_timeout_ms),
            header_read_timeout: Duration::from_millis(c.header_read_timeout_ms),
            first_byte_timeout: Duration::from_millis(c.first_byte_timeout_ms),
            idle_timeout: Duration::from_millis(c.idle_timeout_ms),
            max_connections: c.max_connections,
            max_connections_per_address: c.max_connections_per_address,
            config_poll: None,
            rate_limit: Some(RateLimits {
                challenge: c.rate_limit.challenge,
                siteverify: c.rate_limit.siteverify,
                max_tracked: c.rate_limit.max_tracked,
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

fn parse_listen(what: &str, v: Option<&String>) -> Result<Option<SocketAddr>, ConfigError> {
    v.map(|a| {
        a.parse::<SocketAddr>().map_err(|_| {
            ConfigError::Invalid(format!(
                "[server] {what}: {a:?} is not an IP:port address (e.g. \"127.0.0.1:8788\")"
            ))
        })
    })
    .transpose()
}

fn resolve_tls(t: Option<&TlsConfig>, base_dir: &Path) -> Option<TlsFiles> {
    t.map(|t| TlsFiles {
        cert: base_dir.join(&t.cert),
        key: base_dir.join(&t.key),
    })
}

fn resolve_listeners(c: &ServerConfig, base_dir: &Path) -> Result<ListenSettings, ConfigError> {
    let listen = parse_listen("listen", c.listen.as_ref())?;
    let internal_listen = parse_listen("internal_listen", c.internal_listen.as_ref())?;
    if c.internal_tls.is_some() && internal_listen.is_none() {
        return Err(ConfigError::Invalid(
            "[server.internal_tls] needs [server] internal_listen (without it the internal routes share the public listener and its [server.tls])".into(),
        ));
    }
    if let (Some(a), Some(b)) = (listen, internal_listen)
        && a == b
        && a.port() != 0
    {
        return Err(ConfigError::Invalid(format!(
            "[server] listen and internal_listen are the same address {a}: leave internal_listen out for one listener"
        )));
    }
    Ok(ListenSettings {
        listen,
        internal_listen,
        tls: resolve_tls(c.tls.as_ref(), base_dir),
        internal_tls: resolve_tls(c.internal_tls.as_ref(), base_dir),
    })
}

pub(super) fn resolve_server(
    c: &ServerConfig,
    base_dir: &Path,
) -> Result<ServerSettings, ConfigError> {
    let listeners = resolve_listeners(c, base_dir)?;
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
    if !(100..=120_000).contains(&c.first_byte_timeout_ms)
        || !(100..=600_000).contains(&c.idle_timeout_ms)
        || c.max_connections_per_address == 0
    {
        return Err(ConfigError::Invalid(
            "[server] first_byte_timeout_ms must be 100..=120000, idle_timeout_ms 100..=600000 and max_connections_per_address positive"
                .into(),
        ));
    }
    Ok(ServerSettings {
        listeners,
        trusted_proxies,
        request_timeout: Duration::from_millis(c.request_timeout_ms),
        header_read_timeout: Duration::from_millis(c.header_read_timeout_ms),
        first_byte_timeout: Duration::from_millis(c.first_byte_timeout_ms),
        idle_timeout: Duration::from_millis(c.idle_timeout_ms),
        max_connections: c.max_connections,
        max_connections_per_address: c.max_connections_per_address,
        config_poll: (c.config_poll_secs > 0).then(|| Duration::from_secs(c.config_poll_secs)),
        rate_limit: rl.enabled.then_some(RateLimits {
            challenge: rl.challenge,
            siteverify: rl.siteverify,
            max_tracked: rl.max_tracked.max(1),
        }),
    })
}
