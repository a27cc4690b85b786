//! Per-client token buckets (in process, per endpoint group) and the [`limit`] middleware that
//! applies them per route (`from_fn_with_state(RateLimit::new(..), limit)`, see [`crate::app`]). Keys are [`subscriber_key`]s
//! (IPv4 /32, IPv6 /64). Memory is bounded: at most `max_tracked` buckets; buckets that have
//! refilled completely carry no information and are dropped first; if the table is still full,
//! new clients share one overflow bucket (so a flood of fresh addresses cannot grow memory or
//! escape limiting).
//!
//! Limits are per verifier process by default: with N instances behind a load balancer the
//! effective limit is up to N times the configured one. With `[store] shared_rate_limits = true`
//! (Redis) they are counted in Redis instead ([`shared_check`]): a sliding-window counter per
//! endpoint and client (keyed hash, never the raw address) shared by every instance; when Redis
//! does not answer, the process falls back to its own buckets.
//!
//! [`subscriber_key`]: crate::clientip::subscriber_key

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clientip::{client_ip, subscriber_key};
use crate::config::RateConfig;
use crate::correlate::{KeyHasher, day_of};
use crate::error::{ChallengeError, OutcomeError};
use crate::siteverify;
use crate::state::{AppState, Runtime};
use crate::store::{CounterOp, Store, StoreError};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
}

#[derive(Debug)]
struct Table {
    buckets: HashMap<u128, Bucket>,
    overflow: Bucket,
}

/// A set of token buckets with one rate.
#[derive(Debug)]
pub struct RateLimiter {
    rate: RateConfig,
    max_tracked: usize,
    table: Mutex<Table>,
}

/// Refused: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: Duration,
}

impl RateLimiter {
    pub fn new(rate: RateConfig, max_tracked: usize) -> Self {
        Self {
            rate,
            max_tracked: max_tracked.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                overflow: Bucket {
                    tokens: f64::from(rate.burst),
                    last_ms: 0,
                },
            }),
        }
    }

    pub fn rate(&self) -> RateConfig {
        self.rate
    }

    fn refill(&self, b: &mut Bucket, now_ms: u64) {
        let dt = now_ms.saturating_sub(b.last_ms) as f64 / 1000.0;
        b.tokens = (b.tokens + dt * self.rate.per_second).min(f64::from(self.rate.burst));
        b.last_ms = b.last_ms.max(now_ms);
    }

    /// Take one token for `key` at `now_ms`.
    pub fn check(&self, key: u128, now_ms: u64) -> Result<(), Limited> {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let burst = f64::from(self.rate.burst);
        if !t.buckets.contains_key(&key) && t.buckets.len() >= self.max_tracked {
            // Drop buckets that are full again (they would be recreated identical).
            let per_second = self.rate.per_second;
            t.buckets.retain(|_, b| {
                let dt = now_ms.saturating_sub(b.last_ms) as f64 / 1000.0;
                b.tokens + dt * per_second < burst
            });
        }
        let bucket = if t.buckets.contains_key(&key) || t.buckets.len() < self.max_tracked {
            t.buckets.entry(key).or_insert(Bucket {
                tokens: burst,
                last_ms: now_ms,
            })
        } else {
            metrics::counter!("tollgate_rate_limit_overflow_total").increment(1);
            &mut t.overflow
        };
        let mut b = *bucket;
        self.refill(&mut b, now_ms);
        let r = if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let secs = (1.0 - b.tokens) / self.rate.per_second;
            Err(Limited {
                retry_after: Duration::from_secs_f64(secs.clamp(0.001, 3600.0)),
            })
        };
        *bucket = b;
        r
    }

    /// Tracked buckets (tests, metrics).
    pub fn tracked(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .buckets
            .len()
    }
}

/// The shared (cross-instance) check: at most `burst` requests per client within a sliding
/// window of `burst / per_second` seconds (at least 1 s) — the same average rate and burst as
/// the token bucket — counted with one Redis counter script (current and previous fixed-window
/// buckets, the previous weighted by how much of it is still inside the window). Refused
/// requests count too, so a client that keeps hammering stays limited. Keys are
/// `l:{endpoint}:{keyed hash of the client key}:{window}`.
pub async fn shared_check(
    store: &dyn Store,
    hasher: &KeyHasher,
    endpoint: &str,
    rate: RateConfig,
    key: u128,
    now_ms: u64,
) -> Result<Result<(), Limited>, StoreError> {
    let window_ms = ((f64::from(rate.burst) / rate.per_second.max(1e-6)) * 1000.0)
        .clamp(1000.0, 3_600_000.0) as u64;
    let idx = now_ms / window_ms;
    let h = hex::encode(hasher.hash(
        day_of(now_ms),
        "rate-limit",
        &[0; 16],
        &[endpoint.as_bytes(), b"\0", &key.to_be_bytes()].concat(),
    ));
    let op = CounterOp::Bucket {
        key: format!("l:{endpoint}:{h}:{idx}"),
        prev_key: format!("l:{endpoint}:{h}:{}", idx.saturating_sub(1)),
        add: 1,
        ttl_ms: window_ms.saturating_mul(2),
    };
    let v = store.observe(now_ms, std::slice::from_ref(&op)).await?;
    let v = v.first().copied().unwrap_or_default();
    let into = now_ms % window_ms;
    let weight = 1.0 - into as f64 / window_ms as f64;
    let estimate = v.current as f64 + v.carried as f64 * weight;
    if estimate <= f64::from(rate.burst) {
        Ok(Ok(()))
    } else {
        Ok(Err(Limited {
            retry_after: Duration::from_millis((window_ms - into).max(1)),
        }))
    }
}

/// The endpoint a request is limited as: which limiter it draws from (`challenge`, or the
/// `siteverify` group shared by siteverify and outcome) and how the refusal is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Challenge,
    Siteverify,
    Outcome,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Self::Challenge => "challenge",
            Self::Siteverify => "siteverify",
            Self::Outcome => "outcome",
        }
    }

    fn limiter(self, rt: &Runtime) -> Option<&Arc<RateLimiter>> {
        match self {
            Self::Challenge => rt.challenge_limiter.as_ref(),
            Self::Siteverify | Self::Outcome => rt.siteverify_limiter.as_ref(),
        }
    }

    /// The endpoint's own 429 answer (with `Retry-After`).
    fn refusal(self, retry_after_secs: u64) -> Response {
        match self {
            Self::Challenge => ChallengeError::RateLimited { retry_after_secs }.into_response(),
            Self::Siteverify => siteverify::rate_limited(retry_after_secs),
            Self::Outcome => OutcomeError::RateLimited { retry_after_secs }.into_response(),
        }
    }
}

/// State of the [`limit`] middleware.
#[derive(Debug, Clone)]
pub struct RateLimit {
    pub state: AppState,
    pub endpoint: Endpoint,
}

impl RateLimit {
    pub fn new(state: &AppState, endpoint: Endpoint) -> Self {
        Self {
            state: state.clone(),
            endpoint,
        }
    }
}

/// Middleware: take one token of the endpoint's limiter for the client's address
/// ([`subscriber_key`]); refused requests get the endpoint's 429 answer and never reach the
/// handler (their body is not read). Requests without a peer address are not limited.
pub async fn limit(
    State(RateLimit { state, endpoint }): State<RateLimit>,
    req: Request,
    next: Next,
) -> Response {
    let refused = {
        let rt = state.runtime();
        match (
            endpoint.limiter(&rt),
            client_ip(&req, &rt.server.trusted_proxies),
        ) {
            (Some(limiter), Some(ip)) => {
                let (key, now) = (subscriber_key(ip), state.now_ms());
                let shared = if state.shared_rate_limits() {
                    shared_check(
                        state.shared_store().as_ref(),
                        &rt.hasher,
                        endpoint.label(),
                        limiter.rate(),
                        key,
                        now,
                    )
                    .await
                    .inspect_err(|e| {
                        tracing::debug!(error = %e, "shared rate limit unavailable: per-process limit");
                        metrics::counter!("tollgate_store_degraded_total", "endpoint" => "rate-limit")
                            .increment(1);
                    })
                    .ok()
                } else {
                    None
                };
                match shared {
                    Some(r) => r.err(),
                    None => limiter.check(key, now).err(),
                }
            }
            _ => None,
        }
    };
    if let Some(l) = refused {
        metrics::counter!("tollgate_rate_limited_total", "endpoint" => endpoint.label())
            .increment(1);
        return endpoint.refusal(l.retry_after.as_secs().max(1));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rl(per_second: f64, burst: u32, max: usize) -> RateLimiter {
        RateLimiter::new(RateConfig { per_second, burst }, max)
    }

    #[test]
    fn burst_then_refill() {
        let r = rl(2.0, 3, 10);
        for _ in 0..3 {
            assert!(r.check(1, 1_000).is_ok());
        }
        let e = r.check(1, 1_000).unwrap_err();
        assert!(e.retry_after <= Duration::from_millis(500), "{e:?}");
        // Another client is independent.
        assert!(r.check(2, 1_000).is_ok());
        // 500 ms later one token is back.
        assert!(r.check(1, 1_500).is_ok());
        assert!(r.check(1, 1_500).is_err());
        // Never more than the burst after a long idle time.
        for _ in 0..3 {
            assert!(r.check(1, 100_000).is_ok());
        }
        assert!(r.check(1, 100_000).is_err());
    }

    #[test]
    fn table_is_bounded_and_overflow_is_shared() {
        let r = rl(1.0, 2, 2);
        assert!(r.check(1, 0).is_ok());
        assert!(r.check(2, 0).is_ok());
        // Table full of non-full buckets: new clients share the overflow bucket (burst 2).
        assert!(r.check(3, 0).is_ok());
        assert!(r.check(4, 0).is_ok());
        assert!(r.check(5, 0).is_err());
        assert_eq!(r.tracked(), 2);
        // Once the tracked buckets have refilled they are dropped to make room.
        assert!(r.check(6, 10_000).is_ok());
        assert!(r.tracked() <= 2);
    }
}
