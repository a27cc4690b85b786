//! `[correlation]`: campaign detection across the user base (thresholds, windows, IP lists).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, SecretString, pick};
use crate::secret::Secret;

/// `[correlation]`: campaign detection across the user base (see README "Attack correlation").
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorrelationConfig {
    pub enabled: bool,
    /// Base secret of the rotating counter-key HMAC (default: derived from the signing key's
    /// MAC secret). Give one explicitly to keep counters across signing-key rotations.
    pub secret: Option<SecretString>,
    pub secret_env: Option<String>,
    pub window_secs: u64,
    pub surge_window_secs: u64,
    pub fingerprint_accounts: u32,
    pub trace_sources: u32,
    pub account_failure_ips: u32,
    pub ip_challenges: u32,
    pub prefix_challenges: u32,
    pub asn_challenges: u32,
    pub prefix_failures: u32,
    /// Extra PoW bits for risk tiers 1, 2, 3.
    pub tier_extra_bits: [u8; 3],
    pub proxy_list: Option<PathBuf>,
    pub hosting_list: Option<PathBuf>,
    pub tor_list: Option<PathBuf>,
    pub asn_table: Option<PathBuf>,
    pub lists_poll_secs: u64,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            secret: None,
            secret_env: None,
            window_secs: 3600,
            surge_window_secs: 60,
            fingerprint_accounts: 5,
            trace_sources: 3,
            account_failure_ips: 5,
            ip_challenges: 30,
            prefix_challenges: 120,
            asn_challenges: 1200,
            prefix_failures: 20,
            tier_extra_bits: [1, 2, 4],
            proxy_list: None,
            hosting_list: None,
            tor_list: None,
            asn_table: None,
            lists_poll_secs: 5,
        }
    }
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

pub(super) fn resolve_correlation(
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
