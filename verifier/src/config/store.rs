//! `[store]`: the single-use and counter store (memory or Redis) and its failure policy.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, SecretString, pick};
use crate::secret::Secret;

/// `[store]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: String,
    pub url: Option<SecretString>,
    pub url_env: Option<String>,
    pub key_prefix: String,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
    pub used_margin_ms: u64,
    pub single_use_on_error: FailMode,
    pub counters_on_error: FailMode,
    pub memory_aux_capacity: usize,
    /// Redis: multiplexed connections used round-robin.
    pub connections: usize,
    /// Redis: refuse to start (and stay not ready) when used marks would not survive a Redis
    /// restart (no AOF).
    pub require_persistence: bool,
    /// How long the answer of a redemption is kept for a retry of the same token (same site,
    /// `remoteip` and `account`); 0 = off.
    pub retry_window_ms: u64,
    /// How many retries within the window get the stored answer.
    pub retry_max: u64,
    /// Requests that may touch the store at once (challenge, siteverify, outcome); 0 = no limit.
    /// Default: 64 per Redis connection; no limit for the memory store.
    pub max_inflight: Option<usize>,
    /// How long a request may wait for a slot before it is shed (503 + Retry-After).
    pub admission_wait_ms: u64,
    /// Redis: `[server.rate_limit]` counted in Redis, shared by every instance (else per process).
    pub shared_rate_limits: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: "memory".into(),
            url: None,
            url_env: None,
            key_prefix: "tollgate:".into(),
            connect_timeout_ms: 1000,
            command_timeout_ms: 500,
            used_margin_ms: 60_000,
            single_use_on_error: FailMode::FailClosed,
            counters_on_error: FailMode::FailOpen,
            memory_aux_capacity: crate::store::DEFAULT_AUX_CAPACITY,
            connections: 4,
            require_persistence: false,
            retry_window_ms: 10_000,
            retry_max: 2,
            max_inflight: None,
            admission_wait_ms: 1000,
            shared_rate_limits: false,
        }
    }
}

/// Retries of a token after an answer that may not have reached the caller (see
/// `[store] retry_window_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub window_ms: u64,
    pub max: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            window_ms: 10_000,
            max: 2,
        }
    }
}

/// Admission control of store-touching requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub max_inflight: usize,
    pub wait: Duration,
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
    pub retry: RetryPolicy,
    pub require_persistence: bool,
    /// Rate limits counted in the shared store (Redis) instead of per process.
    pub shared_rate_limits: bool,
    /// None: no admission limit.
    pub admission: Option<Admission>,
    /// `max_inflight` as configured (None = the backend's default), for `--store` overrides.
    max_inflight: Option<usize>,
    admission_wait: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Memory {
                aux_capacity: crate::store::DEFAULT_AUX_CAPACITY,
            },
            single_use_on_error: FailMode::FailClosed,
            counters_on_error: FailMode::FailOpen,
            retry: RetryPolicy::default(),
            require_persistence: false,
            shared_rate_limits: false,
            admission: None,
            max_inflight: None,
            admission_wait: Duration::from_millis(1000),
        }
    }
}

/// Requests in flight per Redis connection by default.
pub const DEFAULT_INFLIGHT_PER_CONNECTION: usize = 64;

fn admission(
    backend: &StoreBackend,
    max_inflight: Option<usize>,
    wait: Duration,
) -> Option<Admission> {
    let max = match (max_inflight, backend) {
        (Some(0), _) | (None, StoreBackend::Memory { .. }) => return None,
        (Some(n), _) => n,
        (None, StoreBackend::Redis(o)) => o.connections.max(1) * DEFAULT_INFLIGHT_PER_CONNECTION,
    };
    Some(Admission {
        max_inflight: max,
        wait,
    })
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
                aux_capacity: crate::store::DEFAULT_AUX_CAPACITY,
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
        self.admission = admission(&self.backend, self.max_inflight, self.admission_wait);
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
        connections: c.connections.max(1),
    }
}

pub(super) fn resolve_store(
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
    if !(1..=64).contains(&c.connections) {
        return Err(ConfigError::Invalid(
            "[store] connections must be 1..=64".into(),
        ));
    }
    if c.retry_window_ms > 600_000 {
        return Err(ConfigError::Invalid(
            "[store] retry_window_ms must be at most 600000".into(),
        ));
    }
    if !(1..=60_000).contains(&c.admission_wait_ms) {
        return Err(ConfigError::Invalid(
            "[store] admission_wait_ms must be 1..=60000".into(),
        ));
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
    let admission_wait = Duration::from_millis(c.admission_wait_ms);
    Ok(StoreSettings {
        admission: admission(&backend, c.max_inflight, admission_wait),
        backend,
        single_use_on_error: c.single_use_on_error,
        counters_on_error: c.counters_on_error,
        retry: RetryPolicy {
            window_ms: c.retry_window_ms,
            max: c.retry_max,
        },
        require_persistence: c.require_persistence,
        shared_rate_limits: c.shared_rate_limits,
        max_inflight: c.max_inflight,
        admission_wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(c: &StoreConfig) -> Result<StoreSettings, ConfigError> {
        resolve_store(c, &|_| Some("redis://127.0.0.1:6379/0".into()))
    }

    #[test]
    fn admission_defaults_follow_the_backend() {
        let memory = resolve(&StoreConfig::default()).unwrap();
        assert_eq!(memory.admission, None, "no limit for the memory store");
        let redis = StoreConfig {
            backend: "redis".into(),
            url_env: Some("X".into()),
            ..StoreConfig::default()
        };
        let s = resolve(&redis).unwrap();
        assert_eq!(
            s.admission,
            Some(Admission {
                max_inflight: 4 * DEFAULT_INFLIGHT_PER_CONNECTION,
                wait: Duration::from_millis(1000)
            })
        );
        assert_eq!(s.retry, RetryPolicy::default());
        let off = resolve(&StoreConfig {
            max_inflight: Some(0),
            ..redis
        })
        .unwrap();
        assert_eq!(off.admission, None, "0 = no limit");
        // `--store redis://…` over a memory config gets the Redis default.
        let s = StoreSettings::default()
            .with_url("redis://127.0.0.1:1/0")
            .unwrap();
        assert_eq!(
            s.admission.map(|a| a.max_inflight),
            Some(4 * DEFAULT_INFLIGHT_PER_CONNECTION)
        );
    }

    #[test]
    fn new_store_keys_are_bounded() {
        for bad in [
            StoreConfig {
                connections: 0,
                ..StoreConfig::default()
            },
            StoreConfig {
                connections: 65,
                ..StoreConfig::default()
            },
            StoreConfig {
                retry_window_ms: 600_001,
                ..StoreConfig::default()
            },
            StoreConfig {
                admission_wait_ms: 0,
                ..StoreConfig::default()
            },
        ] {
            assert!(resolve(&bad).is_err(), "{bad:?}");
        }
    }
}
