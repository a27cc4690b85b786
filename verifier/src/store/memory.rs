//! Embedded in-memory backend: maps plus expiry indexes (mini-redis `db.rs` style), purged on
//! every write and by a background task. Hard capacities; full ⇒ [`StoreError::Full`], no
//! eviction of live entries.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::{
    BoxFuture, ChallengeId, CounterOp, CounterValue, MAX_DISTINCT_CAP, MarkOutcome, MarkRequest,
    RetryFingerprint, Store, StoreError, encode_used, repeat_outcome,
};
use crate::clock::Clock;
use crate::observability::record_store_op;

/// Default capacity of the auxiliary table (counters and records).
pub const DEFAULT_AUX_CAPACITY: usize = 1_000_000;

#[derive(Debug)]
enum Aux {
    Num(u64),
    /// member → last seen (ms)
    Set(HashMap<[u8; 16], u64>),
    Bytes(Vec<u8>),
}

#[derive(Debug)]
struct AuxEntry {
    value: Aux,
    expires_at: u64,
    /// The time this entry is filed under in `aux_exp` (≤ `expires_at`): extending an entry's
    /// life only moves `expires_at`, and the purge re-files an entry it finds still alive.
    indexed_at: u64,
}

#[derive(Debug, Default)]
struct State {
    used: HashMap<ChallengeId, Vec<u8>>,
    /// (expiry, id) for every used entry, ordered by expiry: purging pops from the front.
    used_exp: BTreeSet<(u64, ChallengeId)>,
    aux: HashMap<String, AuxEntry>,
    /// (indexed_at, key): exactly one per aux entry, at or before its expiry.
    aux_exp: BTreeSet<(u64, String)>,
    /// Retry answers: (id, retry fingerprint) → (answer, retries so far). At most one per used
    /// entry, so bounded by the used capacity.
    retry: HashMap<(ChallengeId, RetryFingerprint), (String, u64)>,
    retry_exp: BTreeSet<(u64, ChallengeId, RetryFingerprint)>,
}

impl State {
    /// Remove entries whose expiry is ≤ `now_ms`. Returns the number removed.
    fn purge(&mut self, now_ms: u64) -> usize {
        let mut removed = 0;
        while let Some(&(exp, id)) = self.used_exp.first() {
            if exp > now_ms {
                break;
            }
            self.used_exp.pop_first();
            self.used.remove(&id);
            removed += 1;
        }
        while let Some(&(exp, id, fp)) = self.retry_exp.first() {
            if exp > now_ms {
                break;
            }
            self.retry_exp.pop_first();
            self.retry.remove(&(id, fp));
        }
        while let Some((exp, _)) = self.aux_exp.first() {
            if *exp > now_ms {
                break;
            }
            let Some((_, key)) = self.aux_exp.pop_first() else {
                break;
            };
            match self.aux.get_mut(&key) {
                // Extended since it was filed: file it again under its real expiry.
                Some(e) if e.expires_at > now_ms => {
                    e.indexed_at = e.expires_at;
                    self.aux_exp.insert((e.expires_at, key));
                }
                Some(_) => {
                    self.aux.remove(&key);
                    removed += 1;
                }
                None => {}
            }
        }
        removed
    }

    /// Set an entry's expiry. A later expiry leaves the index alone (the purge re-files the entry
    /// when it reaches the old time), so refreshing a set on every hit costs no index update.
    fn set_aux_expiry(&mut self, key: &str, expires_at: u64) {
        if let Some(e) = self.aux.get_mut(key)
            && e.expires_at != expires_at
        {
            e.expires_at = expires_at;
            if expires_at < e.indexed_at {
                let old = e.indexed_at;
                e.indexed_at = expires_at;
                self.aux_exp.remove(&(old, key.to_string()));
                self.aux_exp.insert((expires_at, key.to_string()));
            }
        }
    }

    /// Insert a new aux entry (the key must be absent).
    fn insert_aux(
        &mut self,
        key: &str,
        value: Aux,
        expires_at: u64,
        capacity: usize,
    ) -> Result<(), StoreError> {
        if self.aux.len() >= capacity {
            return Err(StoreError::Full { capacity });
        }
        self.aux.insert(
            key.to_string(),
            AuxEntry {
                value,
                expires_at,
                indexed_at: expires_at,
            },
        );
        self.aux_exp.insert((expires_at, key.to_string()));
        Ok(())
    }

    fn remove_aux(&mut self, key: &str) {
        if let Some(e) = self.aux.remove(key) {
            self.aux_exp.remove(&(e.indexed_at, key.to_string()));
        }
    }
}

/// Embedded store. One per site for used challenge ids (the site's `store_capacity`), plus one
/// shared instance for correlation counters and outcome records.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    capacity: usize,
    aux_capacity: usize,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    /// `capacity` used-challenge entries; the default auxiliary capacity.
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self::with_limits(capacity, DEFAULT_AUX_CAPACITY, clock)
    }

    pub fn with_limits(capacity: usize, aux_capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity,
            aux_capacity,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that matters
        // more than refusing service, so recover from poisoning instead of panicking.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Live used-challenge entry count (after purging expired ones).
    pub fn len(&self) -> usize {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        st.used.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live auxiliary entries (counters, records).
    pub fn aux_len(&self) -> usize {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        st.aux.len()
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
                    tracing::debug!(removed, "purged expired store entries");
                }
            }
        })
    }

    fn mark_sync(
        &self,
        id: ChallengeId,
        expires_at_ms: u64,
        req: MarkRequest<'_>,
    ) -> Result<MarkOutcome, StoreError> {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        if let Some(stored) = st.used.get(&id) {
            let explicit = repeat_outcome(stored, req.idempotency)?;
            if explicit != MarkOutcome::Duplicate {
                return Ok(explicit);
            }
            if let Some(r) = req.retry
                && let Some((answer, n)) = st.retry.get_mut(&(id, r.fingerprint))
            {
                *n += 1;
                return Ok(MarkOutcome::Retry {
                    answer: answer.clone(),
                    retries: *n,
                });
            }
            return Ok(MarkOutcome::Duplicate);
        }
        if st.used.len() >= self.capacity {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        st.used
            .insert(id, encode_used(req.idempotency, req.response));
        st.used_exp.insert((expires_at_ms, id));
        if let Some(r) = req.retry
            && r.window_ms > 0
        {
            let exp = now.saturating_add(r.window_ms);
            st.retry
                .insert((id, r.fingerprint), (req.response.to_string(), 0));
            st.retry_exp.insert((exp, id, r.fingerprint));
        }
        Ok(MarkOutcome::Marked)
    }

    fn observe_sync(&self, now: u64, ops: &[CounterOp]) -> Result<Vec<CounterValue>, StoreError> {
        let mut st = self.lock();
        st.purge(now);
        // Capacity is checked up front so a batch is applied whole or not at all.
        let new_keys = ops
            .iter()
            .filter(|op| match op {
                CounterOp::Bucket { key, add, .. } => *add > 0 && !st.aux.contains_key(key),
                CounterOp::Distinct { key, member, .. } => {
                    member.is_some() && !st.aux.contains_key(key)
                }
            })
            .count();
        if st.aux.len() + new_keys > self.aux_capacity {
            return Err(StoreError::Full {
                capacity: self.aux_capacity,
            });
        }
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(match op {
                CounterOp::Bucket {
                    key,
                    prev_key,
                    add,
                    ttl_ms,
                } => {
                    let current = if *add > 0 {
                        let exp = now.saturating_add(*ttl_ms);
                        let v = match st.aux.get_mut(key) {
                            Some(AuxEntry {
                                value: Aux::Num(n), ..
                            }) => {
                                *n = n.saturating_add(*add);
                                *n
                            }
                            Some(_) => {
                                return Err(StoreError::Protocol(format!(
                                    "{key} is not a counter"
                                )));
                            }
                            None => {
                                st.insert_aux(key, Aux::Num(*add), exp, usize::MAX)?;
                                *add
                            }
                        };
                        st.set_aux_expiry(key, exp);
                        v
                    } else {
                        num(&st, key)
                    };
                    CounterValue {
                        current,
                        carried: num(&st, prev_key),
                    }
                }
                CounterOp::Distinct {
                    key,
                    carry_key,
                    member,
                    window_ms,
                    cap,
                } => {
                    let cutoff = now.saturating_sub(*window_ms);
                    let cap = (*cap).clamp(1, MAX_DISTINCT_CAP) as usize;
                    let mut now_empty = false;
                    if let Some(e) = st.aux.get_mut(key) {
                        match &mut e.value {
                            Aux::Set(m) => {
                                m.retain(|_, seen| *seen > cutoff);
                                now_empty = m.is_empty();
                            }
                            _ => {
                                return Err(StoreError::Protocol(format!("{key} is not a set")));
                            }
                        }
                    }
                    if now_empty && member.is_none() {
                        st.remove_aux(key);
                    }
                    if let Some(m) = member {
                        let exp = now.saturating_add(*window_ms);
                        if !st.aux.contains_key(key) {
                            st.insert_aux(key, Aux::Set(HashMap::new()), exp, usize::MAX)?;
                        }
                        if let Some(AuxEntry {
                            value: Aux::Set(set),
                            ..
                        }) = st.aux.get_mut(key)
                        {
                            set.insert(*m, now);
                            while set.len() > cap {
                                // Drop the oldest (smallest last-seen; ties by member bytes).
                                let oldest =
                                    set.iter().min_by_key(|(k, t)| (**t, **k)).map(|(k, _)| *k);
                                match oldest {
                                    Some(k) => {
                                        set.remove(&k);
                                    }
                                    None => break,
                                }
                            }
                        }
                        st.set_aux_expiry(key, exp);
                    }
                    let current = match st.aux.get(key) {
                        Some(AuxEntry {
                            value: Aux::Set(m), ..
                        }) => m.len() as u64,
                        _ => 0,
                    };
                    let carried = match carry_key.as_deref().and_then(|k| st.aux.get(k)) {
                        Some(AuxEntry {
                            value: Aux::Set(m), ..
                        }) => m.values().filter(|seen| **seen > cutoff).count() as u64,
                        _ => 0,
                    };
                    CounterValue { current, carried }
                }
            });
        }
        Ok(out)
    }
}

fn num(st: &State, key: &str) -> u64 {
    match st.aux.get(key) {
        Some(AuxEntry {
            value: Aux::Num(n), ..
        }) => *n,
        _ => 0,
    }
}

impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn mark<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        req: MarkRequest<'a>,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>> {
        let start = Instant::now();
        let r = self.mark_sync(id, expires_at_ms, req);
        record_store_op("memory", "mark_used", start, &r);
        Box::pin(std::future::ready(r))
    }

    fn observe<'a>(
        &'a self,
        now_ms: u64,
        ops: &'a [CounterOp],
    ) -> BoxFuture<'a, Result<Vec<CounterValue>, StoreError>> {
        let start = Instant::now();
        let r = self.observe_sync(now_ms, ops);
        record_store_op("memory", "observe", start, &r);
        Box::pin(std::future::ready(r))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let start = Instant::now();
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        st.remove_aux(key);
        let r = st.insert_aux(
            key,
            Aux::Bytes(value.to_vec()),
            now.saturating_add(ttl_ms.max(1)),
            self.aux_capacity,
        );
        drop(st);
        record_store_op("memory", "put", start, &r);
        Box::pin(std::future::ready(r))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let start = Instant::now();
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        let r = match st.aux.get(key) {
            Some(AuxEntry {
                value: Aux::Bytes(b),
                ..
            }) => Some(b.clone()),
            _ => None,
        };
        drop(st);
        let r = Ok(r);
        record_store_op("memory", "get", start, &r);
        Box::pin(std::future::ready(r))
    }

    fn settle_retry<'a>(
        &'a self,
        id: ChallengeId,
        fingerprint: RetryFingerprint,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // The expiry index entry is left to `purge` (it removes nothing that is gone).
        let start = Instant::now();
        self.lock().retry.remove(&(id, fingerprint));
        let r = Ok(());
        record_store_op("memory", "settle_retry", start, &r);
        Box::pin(std::future::ready(r))
    }

    fn claim<'a>(&'a self, key: &'a str, ttl_ms: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        let start = Instant::now();
        let now = self.clock.now_ms();
        let mut st = self.lock();
        st.purge(now);
        let r = if st.aux.contains_key(key) {
            Ok(false)
        } else {
            st.insert_aux(
                key,
                Aux::Bytes(b"1".to_vec()),
                now.saturating_add(ttl_ms.max(1)),
                self.aux_capacity,
            )
            .map(|()| true)
        };
        drop(st);
        record_store_op("memory", "claim", start, &r);
        Box::pin(std::future::ready(r))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        let start = Instant::now();
        let r = Ok(());
        record_store_op("memory", "ping", start, &r);
        Box::pin(std::future::ready(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::idempotency_fingerprint;

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

    #[tokio::test]
    async fn refreshed_sets_live_until_their_latest_expiry() {
        let clock = Arc::new(ManualClock::new(1_000));
        let s = MemoryStore::new(10, clock.clone());
        let touch = |window_ms: u64, m: u8| {
            [CounterOp::Distinct {
                key: "d:x".into(),
                carry_key: None,
                member: Some([m; 16]),
                window_ms,
                cap: 8,
            }]
        };
        s.observe(1_000, &touch(100, 1)).await.unwrap(); // expires at 1 100
        s.observe(1_050, &touch(100, 2)).await.unwrap(); // 1 150
        s.observe(1_090, &touch(100, 3)).await.unwrap(); // 1 190
        clock.set(1_100);
        assert_eq!(s.purge_expired(), 0, "extended: re-filed, not removed");
        assert_eq!(s.aux_len(), 1);
        clock.set(1_189);
        assert_eq!(s.aux_len(), 1);
        clock.set(1_190);
        assert_eq!(s.purge_expired(), 1);
        assert_eq!(s.aux_len(), 0);
        // A shorter window (config reload) shortens the set's life too.
        s.observe(2_000, &touch(500, 1)).await.unwrap(); // 2 500
        s.observe(2_010, &touch(50, 2)).await.unwrap(); // 2 060
        clock.set(2_059);
        assert_eq!(s.aux_len(), 1);
        clock.set(2_060);
        assert_eq!(s.aux_len(), 0);
        // Removed entries leave nothing behind in the index.
        s.observe(3_000, &touch(100, 1)).await.unwrap();
        s.put("d:x", b"v", 10).await.unwrap();
        clock.set(3_010);
        assert_eq!(s.aux_len(), 0);
        assert_eq!(s.lock().aux_exp.len(), 0);
    }

    #[tokio::test]
    async fn aux_capacity_fails_closed_and_batches_are_all_or_nothing() {
        let clock = Arc::new(ManualClock::new(1_000));
        let s = MemoryStore::with_limits(10, 2, clock.clone());
        let bucket = |k: &str| CounterOp::Bucket {
            key: k.into(),
            prev_key: format!("{k}-prev"),
            add: 1,
            ttl_ms: 100,
        };
        assert!(s.observe(1_000, &[bucket("a"), bucket("b")]).await.is_ok());
        assert_eq!(
            s.observe(1_000, &[bucket("a"), bucket("c")]).await,
            Err(StoreError::Full { capacity: 2 })
        );
        // "a" was not incremented by the refused batch.
        let v = s.observe(1_000, &[bucket("a")]).await.unwrap();
        assert_eq!(v[0].current, 2);
        assert_eq!(
            s.claim("d", 100).await,
            Err(StoreError::Full { capacity: 2 })
        );
        clock.set(1_100);
        assert!(s.claim("d", 100).await.unwrap());
        assert_eq!(s.aux_len(), 1);
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
            s.state.lock().unwrap().used.len(),
            0,
            "purger removed the expired entry"
        );
        drop(s);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(handle.is_finished());
    }
}
