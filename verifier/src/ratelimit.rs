//! Per-client token buckets (in process, per endpoint group) and the [`limit`] middleware that
//! applies them per route (`from_fn_with_state(RateLimit::new(..), limit)`, see [`crate::app`]). Keys are [`subscriber_key`]s
//! (IPv4 /32, IPv6 /64). Memory is bounded: at most `max_tracked` buckets; buckets that have
//! refilled completely carry no information and are dropped first; if the table is still full,
//! new clients share one overflow bucket (so a flood of fresh addresses cannot grow memory or
//! escape limiting).
//!
//! Limits are per verifier process: with N instances behind a load balancer the effective limit
//! is up to N times the configured one (documented; the correlation counters in the store are
//! the cross-instance view).
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
use crate::error::{ChallengeError, OutcomeError};
use crate::siteverify;
use crate::state::{AppState, Runtime};

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
            (Some(limiter), Some(ip)) => limiter.check(subscriber_key(ip), state.now_ms()).err(),
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
