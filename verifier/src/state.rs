//! Shared application state. What a config reload may change (keys, sites, server and
//! correlation settings) lives in an immutable [`Runtime`] snapshot that is swapped atomically;
//! handlers take one snapshot per request. The store, the clock and the metrics recorder are
//! fixed for the life of the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::clock::{Clock, SystemClock};
use crate::config::{
    AutomationKey, ConfigError, CorrelationSettings, FailMode, ServerSettings, Settings,
    SiteSettings, StoreBackend, StoreSettings, secret_digest,
};
use crate::correlate::{Correlator, KeyHasher};
use crate::iplists::IpLists;
use crate::keys::{KeyEntry, KeyRing};
use crate::origin::Origin;
use crate::ratelimit::RateLimiter;
use crate::store::{
    BoxFuture, ChallengeId, CounterOp, CounterValue, MarkOutcome, MarkRequest, MemoryStore,
    Persistence, RedisStore, Store, StoreError,
};

/// A configured site at run time.
#[derive(Debug)]
pub struct Site {
    pub settings: SiteSettings,
    /// [`tollgate_protocol::site_id`] of the site key.
    pub site_id: [u8; 16],
    /// Used-challenge store of this site.
    pub store: Arc<dyn Store>,
}

impl Site {
    /// Whether `origin` (the `Origin` header / `location.origin` text) is allowed for this site.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match Origin::parse(origin) {
            Ok(o) => self.settings.allowed_origins.iter().any(|p| p.matches(&o)),
            Err(_) => false,
        }
    }

    /// The automation key equal to `given` (digests compared in constant time, every key checked).
    pub fn automation_key(&self, given: &[u8]) -> Option<&AutomationKey> {
        let d = secret_digest(b"automation", given);
        let mut found = None;
        for k in &self.settings.automation_keys {
            if tollgate_protocol::ct_eq(&k.digest, &d) && found.is_none() {
                found = Some(k);
            }
        }
        found
    }
}

/// Everything a reload may replace.
#[derive(Debug)]
pub struct Runtime {
    pub keys: KeyRing,
    pub sites: Vec<Site>,
    pub server: ServerSettings,
    pub correlation: CorrelationSettings,
    pub hasher: KeyHasher,
    pub lists: Arc<IpLists>,
    pub challenge_limiter: Option<Arc<RateLimiter>>,
    pub siteverify_limiter: Option<Arc<RateLimiter>>,
    /// Keys dropped from the config by a reload, kept verify-only until this time (ms).
    pub retired_until: Vec<(u32, u64)>,
    /// Whether the public test keys answer ([`crate::config::TEST_KEYS`]).
    pub test_keys: bool,
}

impl Runtime {
    pub fn site_by_key(&self, sitekey: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.settings.sitekey == sitekey)
    }

    /// Find the site whose secret — or, during a rotation, whose `previous_secret` — equals
    /// `secret`. Fixed-size digests are compared in constant time against every site (both
    /// digests, a missing previous one against a dummy) and the loop does not stop early, so
    /// timing reveals neither the matching prefix, nor the secret's length, nor which of the two
    /// matched. A match on the previous secret is counted
    /// (`tollgate_site_secret_previous_used_total{sitekey}`): at zero, remove it.
    pub fn site_by_secret(&self, secret: &str) -> Option<&Site> {
        let d = secret_digest(b"site", secret.as_bytes());
        let mut found = None;
        let mut by_previous = false;
        for s in &self.sites {
            let current = tollgate_protocol::ct_eq(&s.settings.secret_digest, &d);
            let previous = tollgate_protocol::ct_eq(
                s.settings
                    .previous_secret_digest
                    .as_ref()
                    .unwrap_or(&[0u8; 32]),
                &d,
            ) && s.settings.previous_secret_digest.is_some();
            if (current | previous) && found.is_none() {
                found = Some(s);
                by_previous = previous;
            }
        }
        if let Some(site) = found.filter(|_| by_previous) {
            metrics::counter!(
                "tollgate_site_secret_previous_used_total",
                "sitekey" => site.settings.sitekey.clone()
            )
            .increment(1);
        }
        found
    }

    pub fn correlator(&self, site: &Site) -> Correlator<'_> {
        Correlator {
            settings: &self.correlation,
            hasher: &self.hasher,
            site: site.site_id,
        }
    }
}

/// What building a runtime needs besides the settings.
#[derive(Debug)]
struct StoreCtx {
    clock: Arc<dyn Clock>,
    redis: Option<RedisStore>,
    memory_stores: Mutex<Vec<(String, Arc<MemoryStore>)>>,
}

#[derive(Debug)]
struct Inner {
    runtime: RwLock<Arc<Runtime>>,
    ctx: StoreCtx,
    store_settings: StoreSettings,
    /// Counters and outcome records (all sites; keys carry the site).
    shared: Arc<dyn Store>,
    shared_memory: Option<Arc<MemoryStore>>,
    prometheus: OnceLock<PrometheusHandle>,
    store_up: AtomicBool,
    /// Admission control of store-touching requests (`[store] max_inflight`).
    admission: Option<(Arc<tokio::sync::Semaphore>, Duration)>,
    /// Serialises reloads.
    reload_lock: Mutex<()>,
    /// The audit trail (`[audit]`; fixed at start).
    audit: Option<Arc<crate::audit::Audit>>,
}

/// A request refused by admission control: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shed {
    pub retry_after_secs: u64,
}

impl StoreCtx {
    fn site_store(&self, s: &SiteSettings) -> Arc<dyn Store> {
        let site_id = tollgate_protocol::site_id(&s.sitekey);
        if let Some(r) = &self.redis {
            return Arc::new(r.scoped(&format!("s:{}:", hex::encode(&site_id[..8]))));
        }
        let mut stores = self.memory_stores.lock().unwrap_or_else(|e| e.into_inner());
        // A site keeps its used-challenge store across reloads (a fresh one would forget used
        // ids and allow replays); a changed capacity needs a restart.
        if let Some((_, st)) = stores.iter().find(|(k, _)| *k == s.sitekey) {
            if st.capacity() != s.store_capacity {
                tracing::warn!(sitekey = %s.sitekey, "store_capacity changed: restart the verifier to apply it");
            }
            return st.clone();
        }
        let st = Arc::new(MemoryStore::new(s.store_capacity, self.clock.clone()));
        stores.push((s.sitekey.clone(), st.clone()));
        st
    }

    /// Build a runtime from settings, reusing what `old` already has (stores by sitekey, rate
    /// limiters with the same rates, IP lists with the same files) and keeping keys that
    /// disappeared from the config verify-only until their last tokens expire.
    fn make_runtime(&self, settings: Settings, old: Option<&Runtime>) -> Runtime {
        let now = self.clock.now_ms();
        let Settings {
            keys,
            sites,
            server,
            correlation,
            test_keys,
            ..
        } = settings;
        let mut retired_until = Vec::new();
        let keys = match old {
            None => keys,
            Some(old) => {
                let max_life = old
                    .sites
                    .iter()
                    .map(|s| s.settings.token_lifetime_ms)
                    .max()
                    .unwrap_or(0);
                let mut entries: Vec<KeyEntry> = keys.iter().cloned().collect();
                for k in old.keys.iter() {
                    if entries.iter().any(|e| e.kid == k.kid) {
                        continue;
                    }
                    let until = old
                        .retired_until
                        .iter()
                        .find(|(kid, _)| *kid == k.kid)
                        .map_or(
                            now.saturating_add(max_life).saturating_add(1000),
                            |(_, u)| *u,
                        );
                    if until > now {
                        tracing::info!(
                            kid = k.kid,
                            until,
                            "key removed from config: kept verify-only until its tokens expire"
                        );
                        entries.push(k.to_verify_only());
                        retired_until.push((k.kid, until));
                    }
                }
                match KeyRing::new(entries) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "key ring merge failed; using the new keys only");
                        keys
                    }
                }
            }
        };
        let sites = sites
            .into_iter()
            .map(|s| Site {
                site_id: tollgate_protocol::site_id(&s.sitekey),
                store: self.site_store(&s),
                settings: s,
            })
            .collect();
        let limiter = |old: Option<&Arc<RateLimiter>>, rate, max| match old {
            Some(l) if l.rate() == rate => l.clone(),
            _ => Arc::new(RateLimiter::new(rate, max)),
        };
        let (challenge_limiter, siteverify_limiter) = match server.rate_limit {
            Some(rl) => (
                Some(limiter(
                    old.and_then(|o| o.challenge_limiter.as_ref()),
                    rl.challenge,
                    rl.max_tracked,
                )),
                Some(limiter(
                    old.and_then(|o| o.siteverify_limiter.as_ref()),
                    rl.siteverify,
                    rl.max_tracked,
                )),
            ),
            None => (None, None),
        };
        let same_lists = old.is_some_and(|o| {
            o.correlation.proxy_list == correlation.proxy_list
                && o.correlation.hosting_list == correlation.hosting_list
                && o.correlation.tor_list == correlation.tor_list
                && o.correlation.asn_table == correlation.asn_table
        });
        let lists = match old {
            Some(o) if same_lists => o.lists.clone(),
            _ => Arc::new(IpLists::new(&correlation)),
        };
        Runtime {
            hasher: hasher_for(&keys, &correlation),
            keys,
            sites,
            server,
            correlation,
            lists,
            challenge_limiter,
            siteverify_limiter,
            retired_until,
            test_keys,
        }
    }
}

/// Cheap to clone; what every handler gets.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// A store that always fails (a Redis URL the client library refused: fail closed, loudly).
#[derive(Debug)]
struct BrokenStore(String);

impl Store for BrokenStore {
    fn backend(&self) -> &'static str {
        "redis"
    }
    fn mark<'a>(
        &'a self,
        _: ChallengeId,
        _: u64,
        _: MarkRequest<'a>,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
    fn observe<'a>(
        &'a self,
        _: u64,
        _: &'a [CounterOp],
    ) -> BoxFuture<'a, Result<Vec<CounterValue>, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
    fn settle_retry<'a>(
        &'a self,
        _: ChallengeId,
        _: crate::store::RetryFingerprint,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
    fn put<'a>(&'a self, _: &'a str, _: &'a [u8], _: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
    fn claim<'a>(&'a self, _: &'a str, _: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable(
            self.0.clone(),
        ))))
    }
}

type OpenedStore = (Arc<dyn Store>, Option<RedisStore>, Option<Arc<MemoryStore>>);

/// The shared store for `[store]`: (shared handle, Redis base store, memory store to purge).
fn open_store(st: &StoreSettings, clock: &Arc<dyn Clock>) -> Result<OpenedStore, StoreError> {
    match &st.backend {
        StoreBackend::Memory { aux_capacity } => {
            let m = Arc::new(MemoryStore::with_limits(1, *aux_capacity, clock.clone()));
            Ok((m.clone(), None, Some(m)))
        }
        StoreBackend::Redis(opts) => {
            let r = RedisStore::connect(opts, clock.clone())?;
            tracing::info!(url = %r.display_url(), "store: redis");
            Ok((Arc::new(r.scoped("x:")), Some(r), None))
        }
    }
}

/// The audit trail of `[audit]`, its hash key derived like the correlation base (the configured
/// correlation secret, else the signing key).
fn open_audit(
    settings: &Settings,
) -> Result<Option<Arc<crate::audit::Audit>>, crate::audit::AuditError> {
    let Some(a) = &settings.audit else {
        return Ok(None);
    };
    let sink = crate::audit::open(a)?;
    let label: &[u8] = b"tollgate/audit-key/v1";
    let key = match &settings.correlation.secret {
        Some(s) => crate::keys::hmac_sha256(s.expose(), &[label]),
        None => settings.keys.signer().derive_secret(label),
    };
    tracing::info!(backend = sink.backend(), "audit trail enabled");
    Ok(Some(Arc::new(crate::audit::Audit {
        writer: crate::audit::AuditWriter::new(sink, a.queue),
        retention_ms: a.retention_ms,
        sweep_every: a.sweep_every,
        key,
        limiters: Mutex::new(std::collections::HashMap::new()),
        admin_digest: a.admin_digest,
    })))
}

/// The correlation HMAC base: the configured secret, else derived from the signing key.
fn hasher_for(keys: &KeyRing, c: &CorrelationSettings) -> KeyHasher {
    match &c.secret {
        Some(s) => KeyHasher::new(crate::keys::hmac_sha256(
            s.expose(),
            &[b"tollgate/correlation-base/v1"],
        )),
        None => KeyHasher::new(keys.signer().derive_secret(b"tollgate/correlation-base/v1")),
    }
}

impl AppState {
    /// Build the state. A Redis backend connects lazily (the process starts while Redis is
    /// down and fails closed until it is up). If the client library refuses the Redis URL the
    /// store fails every call (fail closed) and the error is logged; use [`AppState::try_new`]
    /// to get that error instead.
    pub fn new(settings: Settings, clock: Arc<dyn Clock>) -> Self {
        let audit = match open_audit(&settings) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "audit trail cannot be opened: running without it");
                None
            }
        };
        match open_store(&settings.store, &clock) {
            Ok((shared, redis, mem)) => Self::build(settings, clock, shared, redis, mem, audit),
            Err(e) => {
                tracing::error!(error = %e, "store cannot be set up: every store call fails");
                Self::build(
                    settings,
                    clock,
                    Arc::new(BrokenStore(e.to_string())),
                    None,
                    None,
                    audit,
                )
            }
        }
    }

    /// Like [`AppState::new`] but returns store and audit set-up errors (invalid Redis URL,
    /// an audit database that cannot be opened).
    pub fn try_new(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let audit = open_audit(&settings)
            .map_err(|e| StoreError::Unavailable(format!("audit trail: {e}")))?;
        let (shared, redis, mem) = open_store(&settings.store, &clock)?;
        Ok(Self::build(settings, clock, shared, redis, mem, audit))
    }

    fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
        shared: Arc<dyn Store>,
        redis: Option<RedisStore>,
        shared_memory: Option<Arc<MemoryStore>>,
        audit: Option<Arc<crate::audit::Audit>>,
    ) -> Self {
        let memory = redis.is_none();
        let ctx = StoreCtx {
            clock,
            redis,
            memory_stores: Mutex::new(Vec::new()),
        };
        let store_settings = settings.store.clone();
        let admission = store_settings.admission.map(|a| {
            (
                Arc::new(tokio::sync::Semaphore::new(a.max_inflight)),
                a.wait,
            )
        });
        let rt = ctx.make_runtime(settings, None);
        if let Some(a) = &audit
            && tokio::runtime::Handle::try_current().is_ok()
        {
            a.writer.start();
        }
        Self(Arc::new(Inner {
            runtime: RwLock::new(Arc::new(rt)),
            ctx,
            store_settings,
            shared,
            shared_memory,
            prometheus: OnceLock::new(),
            store_up: AtomicBool::new(memory),
            admission,
            reload_lock: Mutex::new(()),
            audit,
        }))
    }

    /// The audit trail, when `[audit]` enables one.
    pub fn audit(&self) -> Option<&Arc<crate::audit::Audit>> {
        self.0.audit.as_ref()
    }

    /// Development mode on the system clock (random key, the dev site).
    pub fn dev() -> Result<Self, ConfigError> {
        Ok(Self::new(Settings::dev()?, Arc::new(SystemClock)))
    }

    /// Swap in a new configuration (keys, sites, server and correlation settings). The store
    /// backend is fixed at start: a changed `[store]` is reported and ignored.
    pub fn reload(&self, settings: Settings) {
        let _g = self.0.reload_lock.lock().unwrap_or_else(|e| e.into_inner());
        if !same_store(&settings.store, &self.0.store_settings) {
            tracing::warn!("[store] changed: restart the verifier to apply it (ignored)");
        }
        let old = self.runtime();
        let rt = self.0.ctx.make_runtime(settings, Some(&old));
        let signer = rt.keys.signer().kid;
        *self.0.runtime.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rt);
        metrics::counter!("tollgate_config_reloads_total", "result" => "ok").increment(1);
        tracing::info!(signing_kid = signer, "configuration reloaded");
    }

    /// Drop retired keys whose tokens have all expired (rebuilds the key ring when needed).
    pub fn prune_retired_keys(&self) {
        let now = self.now_ms();
        let old = self.runtime();
        if !old.retired_until.iter().any(|(_, u)| *u <= now) {
            return;
        }
        let _g = self.0.reload_lock.lock().unwrap_or_else(|e| e.into_inner());
        let keep: Vec<KeyEntry> = old
            .keys
            .iter()
            .filter(|k| {
                old.retired_until
                    .iter()
                    .find(|(kid, _)| *kid == k.kid)
                    .is_none_or(|(_, u)| *u > now)
            })
            .cloned()
            .collect();
        let Ok(keys) = KeyRing::new(keep) else {
            return;
        };
        let rt = Runtime {
            hasher: old.hasher.clone(),
            keys,
            sites: old
                .sites
                .iter()
                .map(|s| Site {
                    settings: s.settings.clone(),
                    site_id: s.site_id,
                    store: s.store.clone(),
                })
                .collect(),
            server: old.server.clone(),
            correlation: old.correlation.clone(),
            lists: old.lists.clone(),
            challenge_limiter: old.challenge_limiter.clone(),
            siteverify_limiter: old.siteverify_limiter.clone(),
            test_keys: old.test_keys,
            retired_until: old
                .retired_until
                .iter()
                .copied()
                .filter(|(_, u)| *u > now)
                .collect(),
        };
        tracing::info!("retired keys expired: removed");
        *self.0.runtime.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rt);
    }

    /// The current configuration snapshot.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.0
            .runtime
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serve `/metrics` from this Prometheus recorder handle (first call wins).
    pub fn set_prometheus(&self, handle: PrometheusHandle) {
        let _ = self.0.prometheus.set(handle);
    }

    pub fn prometheus(&self) -> Option<&PrometheusHandle> {
        self.0.prometheus.get()
    }

    /// Start the background tasks: memory purgers, the store health check (every second), the
    /// IP list poller. Needs a Tokio runtime.
    pub fn spawn_background_tasks(&self) {
        for (_, s) in self
            .0
            .ctx
            .memory_stores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            s.spawn_purger(Duration::from_secs(1));
        }
        if let Some(m) = &self.0.shared_memory {
            m.spawn_purger(Duration::from_secs(1));
        }
        if let Some(a) = &self.0.audit {
            a.writer.start();
            a.spawn_retention(self.0.ctx.clock.clone());
        }
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut last_lists = std::time::Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let Some(inner) = weak.upgrade() else { break };
                let state = AppState(inner);
                state.check_store().await;
                let rt = state.runtime();
                if last_lists.elapsed() >= rt.correlation.lists_poll && !rt.lists.is_empty() {
                    last_lists = std::time::Instant::now();
                    let lists = rt.lists.clone();
                    // File reads off the async workers.
                    let _ = tokio::task::spawn_blocking(move || lists.poll()).await;
                }
                state.prune_retired_keys();
            }
        });
    }

    /// Ping the store and update readiness.
    pub async fn check_store(&self) -> bool {
        let ok = self.0.shared.ping().await.is_ok();
        self.0.store_up.store(ok, Ordering::Relaxed);
        ok
    }

    /// Whether the store answered its last health check (memory: always). With
    /// `require_persistence`, a Redis whose marks would not survive a restart is not ready.
    pub fn store_ready(&self) -> bool {
        match &self.0.ctx.redis {
            None => true,
            Some(r) => {
                self.0.store_up.load(Ordering::Relaxed)
                    && r.is_up()
                    && (!self.0.store_settings.require_persistence
                        || r.persistence().is_some_and(|p| p.keeps_marks()))
            }
        }
    }

    /// The Redis persistence settings read by the last health check (None: memory store, or not
    /// read yet).
    pub fn store_persistence(&self) -> Option<Persistence> {
        self.0.ctx.redis.as_ref().and_then(RedisStore::persistence)
    }

    /// Admission control: a slot for a store-touching request, waiting at most
    /// `admission_wait_ms`; `Err` when none freed up in time (answer 503 + `Retry-After`). The
    /// slot is released when the returned permit is dropped. No limit: `Ok(None)`.
    pub async fn admit(
        &self,
        endpoint: &'static str,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Shed> {
        let Some((sem, wait)) = &self.0.admission else {
            return Ok(None);
        };
        if let Ok(p) = sem.clone().try_acquire_owned() {
            return Ok(Some(p));
        }
        match tokio::time::timeout(*wait, sem.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(Some(p)),
            _ => {
                metrics::counter!("tollgate_admission_shed_total", "endpoint" => endpoint)
                    .increment(1);
                Err(Shed {
                    retry_after_secs: 1,
                })
            }
        }
    }

    /// The shared store (counters, outcome records).
    pub fn shared_store(&self) -> &Arc<dyn Store> {
        &self.0.shared
    }

    pub fn store_backend(&self) -> &'static str {
        self.0.shared.backend()
    }

    pub fn store_settings(&self) -> &StoreSettings {
        &self.0.store_settings
    }

    /// Whether rate limits are counted in the shared store (`[store] shared_rate_limits` with
    /// Redis).
    pub fn shared_rate_limits(&self) -> bool {
        self.0.store_settings.shared_rate_limits && self.0.ctx.redis.is_some()
    }

    pub fn single_use_policy(&self) -> FailMode {
        self.0.store_settings.single_use_on_error
    }

    pub fn counters_policy(&self) -> FailMode {
        self.0.store_settings.counters_on_error
    }

    pub fn now_ms(&self) -> u64 {
        self.0.ctx.clock.now_ms()
    }
}

fn same_store(a: &StoreSettings, b: &StoreSettings) -> bool {
    let backend = match (&a.backend, &b.backend) {
        (StoreBackend::Memory { aux_capacity: x }, StoreBackend::Memory { aux_capacity: y }) => {
            x == y
        }
        (StoreBackend::Redis(x), StoreBackend::Redis(y)) => {
            x.url.ct_eq(y.url.expose())
                && x.key_prefix == y.key_prefix
                && x.connections == y.connections
        }
        _ => false,
    };
    backend
        && a.single_use_on_error == b.single_use_on_error
        && a.counters_on_error == b.counters_on_error
        && a.retry == b.retry
        && a.require_persistence == b.require_persistence
        && a.shared_rate_limits == b.shared_rate_limits
        && a.admission == b.admission
}
