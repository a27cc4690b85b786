//! Used-challenge store: single use of challenge ids, with the answer kept for idempotent retries.
//!
//! The contract every backend must keep (an in-memory one here; Redis later):
//! - [`Store::mark_used`] is **atomic**: of any number of concurrent calls for one id exactly one
//!   gets [`MarkOutcome::Marked`].
//! - An entry lives until the challenge's own `expires_at_ms` (after that the token is rejected by
//!   the expiry check anyway), never shorter.
//! - Live entries are **never evicted**. A backend that cannot take a new entry fails closed with
//!   [`StoreError::Full`] (or [`StoreError::Unavailable`]); the caller answers `internal-error`.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use crate::clock::Clock;

/// Challenge id (16 random bytes).
pub type ChallengeId = [u8; 16];

/// Fingerprint of an idempotency key together with the token it was sent with (see
/// [`idempotency_fingerprint`]); stores never see the raw key.
pub type IdempotencyFingerprint = [u8; 32];

/// Boxed future so that `dyn Store` works.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Result of trying to mark a challenge id used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkOutcome {
    /// First redemption: the id is now marked used (with the response if a key was given).
    Marked,
    /// Already used, and the same idempotency fingerprint was stored with it: here is the answer
    /// stored then (serialized JSON).
    Repeat(String),
    /// Already used, and no matching idempotency fingerprint.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("used-challenge store is full ({capacity} live entries)")]
    Full { capacity: usize },
    #[error("used-challenge store unavailable: {0}")]
    Unavailable(String),
}

/// Used-challenge store backend.
pub trait Store: Send + Sync + Debug + 'static {
    /// Atomically mark `id` used until `expires_at_ms`. `idempotency` and `response` are kept
    /// together so that a retry with the same fingerprint gets `Repeat(response)`; a backend may
    /// drop `response` when `idempotency` is `None` (it can never be returned then).
    fn mark_used<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        idempotency: Option<IdempotencyFingerprint>,
        response: &'a str,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>>;
}

/// Fingerprint of `(idempotency_key, token)`: the same key with a different token does not match.
pub fn idempotency_fingerprint(key: &str, token: &str) -> IdempotencyFingerprint {
    tollgate_protocol::sha256_parts(
        b"tollgate/idempotency/v1",
        &[key.as_bytes(), token.as_bytes()],
    )
}

#[derive(Debug)]
struct Entry {
    idempotency: Option<(IdempotencyFingerprint, String)>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<ChallengeId, Entry>,
    /// (expiry, id) for every entry, ordered by expiry: purging pops from the front.
    expirations: BTreeSet<(u64, ChallengeId)>,
}

impl State {
    /// Remove entries whose expiry is ≤ `now_ms`. Returns the number removed.
    fn purge(&mut self, now_ms: u64) -> usize {
        let mut removed = 0;
        while let Some(&(exp, id)) = self.expirations.first() {
            if exp > now_ms {
                break;
            }
            self.expirations.pop_first();
            self.entries.remove(&id);
            removed += 1;
        }
        removed
    }
}

/// Embedded in-memory store: a map plus an expiry index (mini-redis `db.rs` style), purged on every
/// insert and by a background task. Hard capacity; full ⇒ [`StoreError::Full`], no eviction.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that matters
        // more than refusing service, so recover from poisoning instead of panicking.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Live entry count (after purging expired ones).
    pub fn len(&self) -> usize {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        st.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Remove expired entries now. Returns how many were removed.
    pub fn purge_expired(&self) -> usize {
        let now = self.clock.now_ms();
        self.lock().purge(now)
    }

    /// Background purge every `interval` until the store is dropped. Needs a Tokio runtime.
    pub fn spawn_purger(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(store) = weak.upgrade() else { break };
                let removed = store.purge_expired();
                if removed > 0 {
                    tracing::debug!(removed, "purged expired challenge ids");
                }
            }
        })
    }

    fn mark_used_sync(
        &self,
        id: ChallengeId,
        expires_at_ms: u64,
        idempotency: Option<IdempotencyFingerprint>,
        response: &str,
    ) -> Result<MarkOutcome, StoreError> {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        if let Some(entry) = st.entries.get(&id) {
            return Ok(match (&entry.idempotency, idempotency) {
                (Some((stored, resp)), Some(given)) if tollgate_protocol::ct_eq(stored, &given) => {
                    MarkOutcome::Repeat(resp.clone())
                }
                _ => MarkOutcome::Duplicate,
            });
        }
        if st.entries.len() >= self.capacity {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        let idempotency = idempotency.map(|fp| (fp, response.to_string()));
        st.entries.insert(id, Entry { idempotency });
        st.expirations.insert((expires_at_ms, id));
        Ok(MarkOutcome::Marked)
    }
}

impl Store for MemoryStore {
    fn mark_used<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        idempotency: Option<IdempotencyFingerprint>,
        response: &'a str,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>> {
        let r = self.mark_used_sync(id, expires_at_ms, idempotency, response);
        Box::pin(std::future::ready(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn store(cap: usize) -> (Arc<ManualClock>, MemoryStore) {
        let clock = Arc::new(ManualClock::new(1_000));
        (clock.clone(), MemoryStore::new(cap, clock))
    }

    #[tokio::test]
    async fn single_use_and_idempotent_repeat() {
        let (_c, s) = store(10);
        let fp = idempotency_fingerprint("k1", "tok");
        assert_eq!(
            s.mark_used([1; 16], 5_000, Some(fp), "{\"a\":1}").await,
            Ok(MarkOutcome::Marked)
        );
        assert_eq!(
            s.mark_used([1; 16], 5_000, Some(fp), "{\"b\":2}").await,
            Ok(MarkOutcome::Repeat("{\"a\":1}".into()))
        );
        let other = idempotency_fingerprint("k2", "tok");
        assert_eq!(
            s.mark_used([1; 16], 5_000, Some(other), "x").await,
            Ok(MarkOutcome::Duplicate)
        );
        assert_eq!(
            s.mark_used([1; 16], 5_000, None, "x").await,
            Ok(MarkOutcome::Duplicate)
        );
        // Same key, different token text: no match.
        let fp_other_token = idempotency_fingerprint("k1", "tok2");
        assert_eq!(
            s.mark_used([1; 16], 5_000, Some(fp_other_token), "x").await,
            Ok(MarkOutcome::Duplicate)
        );
        // Marked without a key: a later key never matches.
        assert_eq!(
            s.mark_used([2; 16], 5_000, None, "r").await,
            Ok(MarkOutcome::Marked)
        );
        assert_eq!(
            s.mark_used([2; 16], 5_000, Some(fp), "r").await,
            Ok(MarkOutcome::Duplicate)
        );
    }

    #[tokio::test]
    async fn full_store_fails_closed_and_never_evicts_live_entries() {
        let (clock, s) = store(2);
        assert_eq!(
            s.mark_used([1; 16], 2_000, None, "").await,
            Ok(MarkOutcome::Marked)
        );
        assert_eq!(
            s.mark_used([2; 16], 3_000, None, "").await,
            Ok(MarkOutcome::Marked)
        );
        assert_eq!(
            s.mark_used([3; 16], 3_000, None, "").await,
            Err(StoreError::Full { capacity: 2 })
        );
        // The live entries are still there: replays are still caught.
        assert_eq!(
            s.mark_used([1; 16], 2_000, None, "").await,
            Ok(MarkOutcome::Duplicate)
        );
        assert_eq!(
            s.mark_used([2; 16], 3_000, None, "").await,
            Ok(MarkOutcome::Duplicate)
        );
        // Once the first entry's challenge has expired its slot frees up (purged on insert).
        clock.set(2_000);
        assert_eq!(
            s.mark_used([3; 16], 3_000, None, "").await,
            Ok(MarkOutcome::Marked)
        );
        assert_eq!(s.len(), 2);
    }

    #[tokio::test]
    async fn entries_expire_exactly_at_their_expiry() {
        let (clock, s) = store(10);
        s.mark_used([1; 16], 5_000, None, "").await.unwrap();
        s.mark_used([2; 16], 7_000, None, "").await.unwrap();
        clock.set(4_999);
        assert_eq!(s.purge_expired(), 0);
        assert_eq!(s.len(), 2);
        clock.set(5_000);
        assert_eq!(s.purge_expired(), 1);
        assert_eq!(s.len(), 1);
        clock.set(10_000);
        assert!(s.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn background_purger_runs_and_stops_with_the_store() {
        let clock = Arc::new(ManualClock::new(0));
        let s = Arc::new(MemoryStore::new(10, clock.clone()));
        s.mark_used([1; 16], 100, None, "").await.unwrap();
        let handle = s.spawn_purger(Duration::from_secs(1));
        clock.set(200);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            s.state.lock().unwrap().entries.len(),
            0,
            "purger removed the expired entry"
        );
        drop(s);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(handle.is_finished());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_marks_have_one_winner() {
        let clock = Arc::new(ManualClock::new(0));
        let s = Arc::new(MemoryStore::new(100, clock));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.mark_used([7; 16], 1_000, None, "").await
            }));
        }
        let mut marked = 0;
        for t in tasks {
            if t.await.unwrap() == Ok(MarkOutcome::Marked) {
                marked += 1;
            }
        }
        assert_eq!(marked, 1);
    }
}
