//! Shared application state: keys, sites (each with its used-challenge store), clock, metrics.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, Settings, SiteSettings};
use crate::keys::KeyRing;
use crate::origin::{Origin, OriginPattern};
use crate::store::{MemoryStore, Store};

/// A configured site at run time.
#[derive(Debug)]
pub struct Site {
    pub settings: SiteSettings,
    /// [`tollgate_protocol::site_id`] of the site key.
    pub site_id: [u8; 16],
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
}

#[derive(Debug)]
struct Inner {
    keys: KeyRing,
    sites: Vec<Site>,
    clock: Arc<dyn Clock>,
    memory_stores: Vec<Arc<MemoryStore>>,
    prometheus: OnceLock<PrometheusHandle>,
}

/// Cheap to clone; what every handler gets.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// Build the state with the embedded in-memory store (one per site, with the site's capacity).
    pub fn new(settings: Settings, clock: Arc<dyn Clock>) -> Self {
        let mut memory_stores = Vec::new();
        let sites = settings
            .sites
            .into_iter()
            .map(|s| {
                let store = Arc::new(MemoryStore::new(s.store_capacity, clock.clone()));
                memory_stores.push(store.clone());
                Site {
                    site_id: tollgate_protocol::site_id(&s.sitekey),
                    settings: s,
                    store,
                }
            })
            .collect();
        Self(Arc::new(Inner {
            keys: settings.keys,
            sites,
            clock,
            memory_stores,
            prometheus: OnceLock::new(),
        }))
    }

    /// Development mode on the system clock (random key, the dev site).
    pub fn dev() -> Result<Self, ConfigError> {
        Ok(Self::new(Settings::dev()?, Arc::new(SystemClock)))
    }

    /// Serve `/metrics` from this Prometheus recorder handle (first call wins).
    pub fn set_prometheus(&self, handle: PrometheusHandle) {
        let _ = self.0.prometheus.set(handle);
    }

    pub fn prometheus(&self) -> Option<&PrometheusHandle> {
        self.0.prometheus.get()
    }

    /// Start the background purge of expired used-challenge entries. Needs a Tokio runtime.
    pub fn spawn_background_tasks(&self) {
        for s in &self.0.memory_stores {
            s.spawn_purger(Duration::from_secs(1));
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.0.keys
    }

    pub fn sites(&self) -> &[Site] {
        &self.0.sites
    }

    pub fn now_ms(&self) -> u64 {
        self.0.clock.now_ms()
    }

    pub fn site_by_key(&self, sitekey: &str) -> Option<&Site> {
        self.0.sites.iter().find(|s| s.settings.sitekey == sitekey)
    }

    /// Find the site whose secret equals `secret`. Every site's secret is compared in constant
    /// time, and the loop does not stop early, so timing does not reveal which prefix matched.
    pub fn site_by_secret(&self, secret: &str) -> Option<&Site> {
        let mut found = None;
        for s in &self.0.sites {
            if s.settings.secret.ct_eq(secret.as_bytes()) && found.is_none() {
                found = Some(s);
            }
        }
        found
    }

    /// Union of every site's allowed origins (for CORS answers; each request is then checked
    /// against its own site's list).
    pub fn all_origin_patterns(&self) -> Vec<OriginPattern> {
        self.0
            .sites
            .iter()
            .flat_map(|s| s.settings.allowed_origins.iter().cloned())
            .collect()
    }
}
