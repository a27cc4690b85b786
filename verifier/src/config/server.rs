//! `[server]` and `[server.rate_limit]`: trusted proxies, timeouts, connection caps, reload
//! polling and per-client rate limits.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::netinfo::IpSet;

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
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

pub(super) fn resolve_server(c: &ServerConfig) -> Result<ServerSettings, ConfigError> {
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
