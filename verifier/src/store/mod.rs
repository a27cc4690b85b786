//! The store: single use of challenge ids (with the answer kept for idempotent retries), sliding
//! window counters for attack correlation, and small expiring records. One interface, two
//! backends: the embedded [`MemoryStore`] (default) and [`RedisStore`] (several verifier
//! processes sharing one Redis).
//!
//! The contract every backend keeps (checked by the shared suite in `verifier/tests/store.rs`,
//! which runs the same test function against both backends):
//! - [`Store::mark_used`] is **atomic**: of any number of concurrent calls for one id, across
//!   processes, exactly one gets [`MarkOutcome::Marked`]. The idempotent answer is written in the
//!   same atomic step.
//! - A used entry lives at least until the challenge's own `expires_at_ms` (after that the token
//!   is rejected by the expiry check anyway). Redis entries get an extra safety margin so a clock
//!   difference between the verifier and Redis can never shorten them.
//! - Live used entries are **never evicted**. A backend that cannot take a new entry fails closed
//!   ([`StoreError::Full`], [`StoreError::OutOfMemory`]); the caller answers `internal-error`.
//! - Counter batches ([`Store::observe`]) are applied atomically per batch.
//! - Every call is bounded in time (Redis: `command_timeout`); nothing waits forever.
//! - A [`RetryKey`] given with a first redemption keeps that answer for `window_ms` under the
//!   key's fingerprint, in the same atomic step as the mark. A later call for the same id with
//!   the **same** fingerprint inside the window gets [`MarkOutcome::Retry`] (with how many such
//!   retries there were, counted atomically); any other fingerprint, or none, gets `Duplicate`.
//!   The store only keeps and counts: siteverify decides how many retries it answers.
//!
//! Keys handed to the store are opaque ASCII (hex HMACs built by `correlate`); no raw IP address,
//! username or secret is ever a key or a value.

mod memory;
mod redis;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

pub use self::memory::{DEFAULT_AUX_CAPACITY, MemoryStore};
pub use self::redis::{
    PERSISTENCE_RECHECK, Persistence, RedisOptions, RedisStore, STATE_LOG_INTERVAL,
    parse_info_persistence, redact_url,
};

/// Challenge id (16 random bytes).
pub type ChallengeId = [u8; 16];

/// Fingerprint of an idempotency key together with the token it was sent with (see
/// [`idempotency_fingerprint`]); stores never see the raw key.
pub type IdempotencyFingerprint = [u8; 32];

/// Fingerprint binding a siteverify retry to its first attempt (see [`retry_fingerprint`]).
pub type RetryFingerprint = [u8; 32];

/// The implicit retry key of a redemption: its fingerprint and how long the answer is kept for
/// retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryKey {
    pub fingerprint: RetryFingerprint,
    pub window_ms: u64,
}

/// What [`Store::mark`] writes with a used mark.
#[derive(Debug, Clone, Copy)]
pub struct MarkRequest<'a> {
    /// Explicit `idempotency_key` fingerprint: the answer is kept for the mark's whole life.
    pub idempotency: Option<IdempotencyFingerprint>,
    /// Implicit retry key: the answer is kept for `window_ms` only.
    pub retry: Option<RetryKey>,
    /// The answer (serialized JSON).
    pub response: &'a str,
}

/// Boxed future so that `dyn Store` works.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Largest member cap of a distinct-count set.
pub const MAX_DISTINCT_CAP: u32 = 1024;

/// Result of trying to mark a challenge id used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkOutcome {
    /// First redemption: the id is now marked used (with the response if a key was given).
    Marked,
    /// Already used, and the same idempotency fingerprint was stored with it: here is the answer
    /// stored then (serialized JSON).
    Repeat(String),
    /// Already used, no matching idempotency fingerprint, but the same retry fingerprint within
    /// its window: the answer stored then, and how many retries (this one included) there were.
    Retry { answer: String, retries: u64 },
    /// Already used, and no matching idempotency or retry fingerprint.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store is full ({capacity} live entries)")]
    Full { capacity: usize },
    #[error("store backend is out of memory")]
    OutOfMemory,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store did not answer within {ms} ms")]
    Timeout { ms: u64 },
    #[error("unexpected store reply: {0}")]
    Protocol(String),
}

impl StoreError {
    /// Stable detail code (siteverify `tollgate.reasons`, metric labels).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Full { .. } | Self::OutOfMemory => "store-full",
            Self::Unavailable(_) | Self::Protocol(_) => "store-unavailable",
            Self::Timeout { .. } => "store-timeout",
        }
    }
}

/// One operation of a counter batch ([`Store::observe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterOp {
    /// A fixed-window bucket: add `add` to `key` (0 = only read) and keep it `ttl_ms` from now;
    /// also read `prev_key` (the previous bucket). Returns `current` = the bucket after the add,
    /// `carried` = the previous bucket. The caller turns the two into a sliding-window estimate.
    Bucket {
        key: String,
        prev_key: String,
        add: u64,
        ttl_ms: u64,
    },
    /// Distinct members seen within the last `window_ms`: drop members last seen at or before
    /// `now - window_ms`, record `member` (None = only read) as seen now, keep at most `cap`
    /// newest members, keep the set `window_ms`. Returns `current` = members in `key`, `carried`
    /// = members of `carry_key` seen within the window (read only; used across a key rotation).
    Distinct {
        key: String,
        carry_key: Option<String>,
        member: Option<[u8; 16]>,
        window_ms: u64,
        cap: u32,
    },
}

/// Result of one [`CounterOp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterValue {
    pub current: u64,
    pub carried: u64,
}

/// Store backend. Object safe; every method is bounded in time.
pub trait Store: Send + Sync + Debug + 'static {
    /// `"memory"` or `"redis"` (metrics, readiness).
    fn backend(&self) -> &'static str;

    /// Atomically mark `id` used until (at least) `expires_at_ms`. `req.idempotency` and
    /// `req.response` are kept together so that a call with the same fingerprint gets
    /// `Repeat(response)`; with `req.retry` the response is also kept for the retry window under
    /// the retry fingerprint (`Retry`). The response is not kept without a fingerprint (it
    /// could never be returned).
    fn mark<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        req: MarkRequest<'a>,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>>;

    /// [`Store::mark`] without a retry key.
    fn mark_used<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        idempotency: Option<IdempotencyFingerprint>,
        response: &'a str,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>> {
        self.mark(
            id,
            expires_at_ms,
            MarkRequest {
                idempotency,
                retry: None,
                response,
            },
        )
    }

    /// Drop the retry answer kept for `(id, fingerprint)`: called once an answer for that
    /// redemption was delivered (`Marked`, or a served `Retry`), so the same token can no longer
    /// be answered again inside the retry window. Only a redemption whose answer may not have
    /// arrived (a store timeout) keeps it. Absent records are not an error.
    fn settle_retry<'a>(
        &'a self,
        id: ChallengeId,
        fingerprint: RetryFingerprint,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Apply a batch of counter operations atomically at time `now_ms`; one value per op.
    fn observe<'a>(
        &'a self,
        now_ms: u64,
        ops: &'a [CounterOp],
    ) -> BoxFuture<'a, Result<Vec<CounterValue>, StoreError>>;

    /// Set `key` to `value` for `ttl_ms` (overwrites).
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Read `key` (None when absent or expired).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;

    /// Create `key` for `ttl_ms` if it does not exist: `true` for the one caller that created it.
    fn claim<'a>(&'a self, key: &'a str, ttl_ms: u64) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Cheap liveness check of the backend.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Fingerprint of `(idempotency_key, token)`: the same key with a different token does not match.
pub fn idempotency_fingerprint(key: &str, token: &str) -> IdempotencyFingerprint {
    tollgate_protocol::sha256_parts(
        b"tollgate/idempotency/v1",
        &[key.as_bytes(), token.as_bytes()],
    )
}

/// Fingerprint binding a retry to its first attempt: the site's secret digest, the exact token
/// text, the visitor's address (`remoteip`) and the normalized account (empty when absent). Only
/// the holder of the site secret who resends the same token for the same visitor and account
/// matches; the raw address and account are never stored (this is a hash under the secret's
/// digest).
pub fn retry_fingerprint(
    site_secret_digest: &[u8; 32],
    token: &str,
    remote_ip: std::net::IpAddr,
    account: Option<&str>,
) -> RetryFingerprint {
    let ip = match remote_ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    };
    tollgate_protocol::sha256_parts(
        b"tollgate/siteverify-retry/v1",
        &[
            site_secret_digest,
            token.as_bytes(),
            &ip,
            account.unwrap_or("").as_bytes(),
        ],
    )
}

/// Encoding of a used entry's value (shared by the backends): `b"1"` without idempotency,
/// `b"2" ‖ fingerprint (32) ‖ response` with it.
pub(crate) fn encode_used(idempotency: Option<IdempotencyFingerprint>, response: &str) -> Vec<u8> {
    match idempotency {
        None => b"1".to_vec(),
        Some(fp) => {
            let mut v = Vec::with_capacity(33 + response.len());
            v.push(b'2');
            v.extend_from_slice(&fp);
            v.extend_from_slice(response.as_bytes());
            v
        }
    }
}

/// What a second `mark_used` sees given the stored value.
pub(crate) fn repeat_outcome(
    stored: &[u8],
    given: Option<IdempotencyFingerprint>,
) -> Result<MarkOutcome, StoreError> {
    match (stored.first(), given) {
        (Some(b'1'), _) | (Some(b'2'), None) => Ok(MarkOutcome::Duplicate),
        (Some(b'2'), Some(given)) if stored.len() >= 33 => {
            if tollgate_protocol::ct_eq(&stored[1..33], &given) {
                let resp = std::str::from_utf8(&stored[33..])
                    .map_err(|_| StoreError::Protocol("stored answer is not UTF-8".into()))?;
                Ok(MarkOutcome::Repeat(resp.to_string()))
            } else {
                Ok(MarkOutcome::Duplicate)
            }
        }
        // Anything else was not written by us: still a used id (fail closed).
        _ => Ok(MarkOutcome::Duplicate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_value_encoding_round_trips() {
        let fp = idempotency_fingerprint("k", "t");
        let v = encode_used(Some(fp), "{\"a\":1}");
        assert_eq!(
            repeat_outcome(&v, Some(fp)),
            Ok(MarkOutcome::Repeat("{\"a\":1}".into()))
        );
        assert_eq!(repeat_outcome(&v, None), Ok(MarkOutcome::Duplicate));
        let other = idempotency_fingerprint("k2", "t");
        assert_eq!(repeat_outcome(&v, Some(other)), Ok(MarkOutcome::Duplicate));
        assert_eq!(
            repeat_outcome(&encode_used(None, "x"), Some(fp)),
            Ok(MarkOutcome::Duplicate)
        );
        // Foreign or truncated values are still "used".
        for junk in [&b""[..], b"2", b"x", b"2short"] {
            assert_eq!(repeat_outcome(junk, Some(fp)), Ok(MarkOutcome::Duplicate));
        }
    }
}
