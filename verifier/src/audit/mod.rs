//! The audit trail: one [`AuditRecord`] per applied siteverify verdict, labels attached later
//! by `POST /v1/feedback` ([`LabelRecord`]), read back by id or time range, exported for
//! training (`verifier export`, [`export`]) and compared across models ([`analysis`]).
//!
//! **Privacy.** A record keeps keyed hashes (HMAC-SHA256 under a key derived from the
//! correlation secret, truncated to 16 bytes) of the client address, the account and the device
//! fingerprint — never the raw values, never key contents (the collector sends none). The
//! decoded behaviour telemetry (pointer and key timings, in the trace format of
//! `docs/trace-format.md`) is kept only for sites with `store_telemetry = true`, and is erased
//! after the site's `telemetry_retention_days`; whole records are deleted after `[audit]
//! retention_days`.
//!
//! **Backends** ([`AuditSink`]): embedded SQLite ([`sqlite`], one file, no server: the default
//! for one box) and PostgreSQL ([`postgres`], several verifier instances sharing one trail).
//!
//! **Writer policy** ([`AuditWriter`]): siteverify never waits for the trail. Records go through
//! a bounded queue to one background task that writes them in batches. When the queue is full
//! (the database is slower than the traffic) the record is **dropped, counted** in
//! `tollgate_audit_dropped_total{reason="queue-full"}` and logged (at most one warning per
//! second); a batch the database refuses three times is dropped the same way with
//! `reason="write-failed"`. Answering logins is worth more than a complete trail; the counter
//! makes every gap visible (alert on it).

pub mod analysis;
pub mod export;
pub mod postgres;
pub mod sqlite;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::store::BoxFuture;

/// Why an audit call failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database: {0}")]
    Db(String),
    #[error("audit record is not valid JSON: {0}")]
    Corrupt(String),
    #[error("audit database unavailable: {0}")]
    Unavailable(String),
}

/// The shadow model's view of a verdict (never applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowScore {
    pub model_id: String,
    pub score: f64,
    pub decision: String,
}

/// Keyed hashes (hex of 16 bytes) of what identifies a login attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyedHashes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub fingerprint: String,
}

/// Decoded behaviour telemetry in the trace format (`docs/trace-format.md`): pointer rows
/// `[t_ms, kind, x, y, buttons]` and key rows `[down_ms, up_ms, class]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceTelemetry {
    /// `mouse` or `touch`.
    pub device: String,
    pub pointer: Vec<(f64, String, f64, f64, u32)>,
    pub keys: Vec<(f64, f64, String)>,
    /// The form's target boxes `[x, y, w, h]` (CSS px), when the collector recorded them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<(f64, f64, f64, f64)>,
}

/// One applied siteverify verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The verdict id (`tollgate.id`, 32 hex digits).
    pub id: String,
    pub time_ms: u64,
    /// Site key.
    pub site: String,
    pub action: String,
    pub decision: String,
    pub score: f64,
    pub reasons: Vec<String>,
    /// The model that scored the answer.
    pub model_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowScore>,
    /// The site's thresholds when the verdict was given.
    pub allow_threshold: f64,
    pub block_threshold: f64,
    pub features: BTreeMap<String, f64>,
    /// The answering model's logit contribution per feature (negative = bot-like).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contributions: BTreeMap<String, f64>,
    pub hashes: KeyedHashes,
    /// Browser family from the engine and user-agent probes (`chromium`, `firefox`, `safari`,
    /// `other`; `-mobile` suffix on phones and tablets).
    pub browser: String,
    /// Stored only for sites with `store_telemetry = true`, erased at `telemetry_until_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<TraceTelemetry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_until_ms: Option<u64>,
}

/// What a label or outcome says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feedback {
    // labels
    Human,
    Bot,
    AccountTakeover,
    FalsePositive,
    // outcomes
    Success,
    BadPassword,
    Locked,
    StepupPassed,
    StepupFailed,
}

/// How much a piece of feedback says about the session (see `../shared` notes: a correct
/// password is weak human evidence, a passed second factor strong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    Weak,
    Strong,
}

/// The class a piece of feedback points to, for training and evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Human,
    Bot,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Human => "human",
            Class::Bot => "bot",
        }
    }
}

impl Feedback {
    pub const LABELS: [Feedback; 4] = [
        Self::Human,
        Self::Bot,
        Self::AccountTakeover,
        Self::FalsePositive,
    ];
    pub const OUTCOMES: [Feedback; 5] = [
        Self::Success,
        Self::BadPassword,
        Self::Locked,
        Self::StepupPassed,
        Self::StepupFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Bot => "bot",
            Self::AccountTakeover => "account-takeover",
            Self::FalsePositive => "false-positive",
            Self::Success => "success",
            Self::BadPassword => "bad-password",
            Self::Locked => "locked",
            Self::StepupPassed => "stepup-passed",
            Self::StepupFailed => "stepup-failed",
        }
    }

    pub fn parse(s: &str) -> Option<Feedback> {
        Self::LABELS
            .iter()
            .chain(Self::OUTCOMES.iter())
            .copied()
            .find(|f| f.as_str() == s)
    }

    /// `label` or `outcome`.
    pub fn kind(self) -> &'static str {
        if Self::LABELS.contains(&self) {
            "label"
        } else {
            "outcome"
        }
    }

    /// The class and strength this feedback gives the session, if any. An account takeover
    /// is a bot (credential stuffing that succeeded); a false positive is a human the verdict
    /// wronged; `locked` says nothing about who typed.
    pub fn evidence(self) -> Option<(Class, Strength)> {
        Some(match self {
            Self::Human | Self::FalsePositive => (Class::Human, Strength::Strong),
            Self::Bot | Self::AccountTakeover => (Class::Bot, Strength::Strong),
            Self::StepupPassed => (Class::Human, Strength::Strong),
            Self::StepupFailed => (Class::Bot, Strength::Weak),
            Self::Success => (Class::Human, Strength::Weak),
            Self::BadPassword => (Class::Bot, Strength::Weak),
            Self::Locked => return None,
        })
    }
}

/// A label or outcome attached to a verdict (append-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub id: String,
    pub site: String,
    pub time_ms: u64,
    pub feedback: Feedback,
    /// Who said it (`backend`, `analyst`, …).
    pub source: String,
}

/// The class a record's labels give it: strong labels win over weak ones; conflicting labels
/// of the best strength give no class (nothing to learn from a disputed session).
pub fn resolve_class(labels: &[LabelRecord]) -> Option<(Class, Strength)> {
    let ev: Vec<(Class, Strength)> = labels
        .iter()
        .filter_map(|l| l.feedback.evidence())
        .collect();
    let best = ev.iter().map(|(_, s)| *s).max()?;
    let mut classes = ev.iter().filter(|(_, s)| *s == best).map(|(c, _)| *c);
    let first = classes.next()?;
    if classes.all(|c| c == first) {
        Some((first, best))
    } else {
        None
    }
}

/// A time-range query (`from_ms` inclusive, `to_ms` exclusive), optionally one site.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub site: Option<String>,
    pub from_ms: u64,
    pub to_ms: u64,
    /// At most this many records (0: no limit).
    pub limit: usize,
    /// Newest first (the console's recent verdicts) instead of oldest first.
    pub newest_first: bool,
}

impl Query {
    pub fn all() -> Self {
        Self {
            site: None,
            from_ms: 0,
            to_ms: i64::MAX as u64,
            limit: 0,
            newest_first: false,
        }
    }
}

/// What a retention sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub records: u64,
    pub labels: u64,
    pub telemetry: u64,
}

/// An audit trail backend.
pub trait AuditSink: Send + Sync + Debug + 'static {
    fn backend(&self) -> &'static str;
    /// Store records (an id already present is left as it is).
    fn write_batch<'a>(
        &'a self,
        records: &'a [AuditRecord],
    ) -> BoxFuture<'a, Result<(), AuditError>>;
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<AuditRecord>, AuditError>>;
    /// Records in the range, oldest first (newest first with `q.newest_first`).
    fn range<'a>(&'a self, q: &'a Query) -> BoxFuture<'a, Result<Vec<AuditRecord>, AuditError>>;
    fn add_label<'a>(&'a self, label: &'a LabelRecord) -> BoxFuture<'a, Result<(), AuditError>>;
    /// Labels of these verdict ids, oldest first.
    fn labels_for<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LabelRecord>, AuditError>>;
    /// Delete records older than `records_before_ms` (with their labels) and erase telemetry
    /// whose `telemetry_until_ms` is at or before `now_ms`.
    fn sweep(
        &self,
        records_before_ms: u64,
        now_ms: u64,
    ) -> BoxFuture<'_, Result<Swept, AuditError>>;
}

/// Records with their labels (one `labels_for` call per 500 records).
pub async fn labelled(
    sink: &dyn AuditSink,
    q: &Query,
) -> Result<Vec<(AuditRecord, Vec<LabelRecord>)>, AuditError> {
    let records = sink.range(q).await?;
    let mut by_id: BTreeMap<String, Vec<LabelRecord>> = BTreeMap::new();
    for chunk in records.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
        for l in sink.labels_for(&ids).await? {
            by_id.entry(l.id.clone()).or_default().push(l);
        }
    }
    Ok(records
        .into_iter()
        .map(|r| {
            let labels = by_id.remove(&r.id).unwrap_or_default();
            (r, labels)
        })
        .collect())
}

enum Msg {
    Record(Box<AuditRecord>),
    Flush(oneshot::Sender<()>),
}

/// Counters of a writer (also exported as metrics).
#[derive(Debug, Default)]
pub struct WriterStats {
    pub written: AtomicU64,
    pub dropped_queue_full: AtomicU64,
    pub dropped_write_failed: AtomicU64,
}

/// The bounded, never-silently-dropping writer (module docs: the policy when full).
#[derive(Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    rx: Mutex<Option<mpsc::Receiver<Msg>>>,
    started: AtomicBool,
    sink: Arc<dyn AuditSink>,
    stats: Arc<WriterStats>,
    last_warn_ms: AtomicU64,
}

impl Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Record(r) => write!(f, "Record({})", r.id),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// Records written per database call at most.
const BATCH: usize = 256;

impl AuditWriter {
    /// A writer with a queue of `capacity` records. The background task starts on the first
    /// [`AuditWriter::submit`] or [`AuditWriter::start`] (inside a Tokio runtime).
    pub fn new(sink: Arc<dyn AuditSink>, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            started: AtomicBool::new(false),
            sink,
            stats: Arc::new(WriterStats::default()),
            last_warn_ms: AtomicU64::new(0),
        }
    }

    pub fn sink(&self) -> &Arc<dyn AuditSink> {
        &self.sink
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Start the background task (idempotent; needs a Tokio runtime).
    pub fn start(&self) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(rx) = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        tokio::spawn(run_writer(rx, self.sink.clone(), self.stats.clone()));
    }

    /// Queue a record; never waits. A full queue drops it, counted and logged. (The task is
    /// started by the verifier's state; a writer never started only fills its queue.)
    pub fn submit(&self, record: AuditRecord, now_ms: u64) {
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(Msg::Record(r))) => {
                self.stats
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
                metrics::counter!("tollgate_audit_dropped_total", "reason" => "queue-full")
                    .increment(1);
                let last = self.last_warn_ms.load(Ordering::Relaxed);
                if now_ms.saturating_sub(last) >= 1000
                    && self
                        .last_warn_ms
                        .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(
                        id = %r.id,
                        dropped_total = self.stats.dropped_queue_full.load(Ordering::Relaxed),
                        "audit queue full: record dropped (counted in tollgate_audit_dropped_total)"
                    );
                }
            }
            Err(_) => {
                self.stats
                    .dropped_write_failed
                    .fetch_add(1, Ordering::Relaxed);
                metrics::counter!("tollgate_audit_dropped_total", "reason" => "closed")
                    .increment(1);
                tracing::error!("audit writer stopped: record dropped");
            }
        }
    }

    /// Wait until every record queued before this call is written (or dropped after retries).
    pub async fn flush(&self) {
        self.start();
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run_writer(
    mut rx: mpsc::Receiver<Msg>,
    sink: Arc<dyn AuditSink>,
    stats: Arc<WriterStats>,
) {
    let mut batch: Vec<AuditRecord> = Vec::with_capacity(BATCH);
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Record(r) => batch.push(*r),
                Msg::Flush(f) => flushes.push(f),
            }
            if batch.len() >= BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !batch.is_empty() {
            write_with_retries(sink.as_ref(), &batch, &stats).await;
            batch.clear();
        }
        for f in flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

async fn write_with_retries(sink: &dyn AuditSink, batch: &[AuditRecord], stats: &WriterStats) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=3 {
        match sink.write_batch(batch).await {
            Ok(()) => {
                stats
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                metrics::counter!("tollgate_audit_written_total").increment(batch.len() as u64);
                return;
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "audit write failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(e) => {
                stats
                    .dropped_write_failed
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                metrics::counter!("tollgate_audit_dropped_total", "reason" => "write-failed")
                    .increment(batch.len() as u64);
                tracing::error!(error = %e, records = batch.len(), "audit write failed 3 times: records dropped");
            }
        }
    }
}

/// The audit trail of a running verifier: writer, sink and retention.
#[derive(Debug)]
pub struct Audit {
    pub writer: AuditWriter,
    pub retention_ms: u64,
    pub sweep_every: Duration,
    pub key: [u8; 32],
    /// `/v1/feedback` rate limiters by `site/source/rate`.
    pub limiters: Mutex<std::collections::HashMap<String, Arc<crate::ratelimit::RateLimiter>>>,
    /// Digest of the analyst console's token (`None`: console off).
    pub admin_digest: Option<[u8; 32]>,
}

impl Audit {
    /// A trail writing to `sink` through a queue of `queue` records.
    pub fn new(sink: Arc<dyn AuditSink>, queue: usize, retention_ms: u64, key: [u8; 32]) -> Self {
        Self {
            writer: AuditWriter::new(sink, queue),
            retention_ms,
            sweep_every: Duration::from_secs(600),
            key,
            limiters: Mutex::new(std::collections::HashMap::new()),
            admin_digest: None,
        }
    }

    pub fn sink(&self) -> &Arc<dyn AuditSink> {
        self.writer.sink()
    }

    /// One retention pass at `now_ms` (the background task calls this every `sweep_every`).
    pub async fn sweep(&self, now_ms: u64) -> Result<Swept, AuditError> {
        let before = now_ms.saturating_sub(self.retention_ms);
        let s = self.sink().sweep(before, now_ms).await?;
        if s != Swept::default() {
            metrics::counter!("tollgate_audit_swept_total", "what" => "records")
                .increment(s.records);
            metrics::counter!("tollgate_audit_swept_total", "what" => "telemetry")
                .increment(s.telemetry);
            tracing::info!(
                records = s.records,
                labels = s.labels,
                telemetry = s.telemetry,
                "audit retention sweep"
            );
        }
        Ok(s)
    }

    /// Keyed hash (hex, 16 bytes) of `value` of `kind` for `site`.
    pub fn hash(&self, kind: &str, site: &str, value: &[u8]) -> String {
        let h = crate::keys::hmac_sha256(
            &self.key,
            &[kind.as_bytes(), b"\0", site.as_bytes(), b"\0", value],
        );
        hex::encode(&h[..16])
    }

    /// Spawn the retention task (every `sweep_every`, on `clock`).
    pub fn spawn_retention(self: &Arc<Self>, clock: Arc<dyn Clock>) {
        let weak = Arc::downgrade(self);
        let every = self.sweep_every;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(a) = weak.upgrade() else { break };
                if let Err(e) = a.sweep(clock.now_ms()).await {
                    tracing::warn!(error = %e, "audit retention sweep failed");
                }
            }
        });
    }
}

/// Convert a token's behaviour session to trace rows (what `store_telemetry` keeps).
pub fn trace_telemetry(s: &tollgate_model::features::Session) -> TraceTelemetry {
    use tollgate_protocol::telemetry::{key_class, pointer_kind, pointer_type};
    let touch = s
        .pointer
        .iter()
        .filter(|p| p.ptype == pointer_type::TOUCH)
        .count();
    let device = if touch * 2 > s.pointer.len() && touch > 0 {
        "touch"
    } else {
        "mouse"
    };
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    let pointer = s
        .pointer
        .iter()
        .filter_map(|p| {
            let kind = match p.kind {
                pointer_kind::MOVE => "move",
                pointer_kind::DOWN => "down",
                pointer_kind::UP => "up",
                pointer_kind::WHEEL => "wheel",
                _ => return None,
            };
            Some((
                r3(p.t_ms),
                kind.to_string(),
                r3(p.x),
                r3(p.y),
                u32::from(p.buttons),
            ))
        })
        .collect();
    let keys = s
        .keys
        .iter()
        .filter(|k| !k.unreleased)
        .map(|k| {
            let class = match k.class {
                key_class::CHAR => "char",
                key_class::SPACE => "space",
                key_class::BACKSPACE => "backspace",
                key_class::ENTER => "enter",
                key_class::TAB => "tab",
                key_class::SHIFT => "shift",
                key_class::MODIFIER => "modifier",
                _ => "other",
            };
            (r3(k.down_ms), r3(k.up_ms), class.to_string())
        })
        .collect();
    TraceTelemetry {
        device: device.into(),
        pointer,
        keys,
        targets: s
            .targets
            .iter()
            .map(|t| (r3(t.x), r3(t.y), r3(t.w), r3(t.h)))
            .collect(),
    }
}

/// Open the configured sink.
pub fn open(settings: &crate::config::AuditSettings) -> Result<Arc<dyn AuditSink>, AuditError> {
    Ok(match &settings.backend {
        crate::config::AuditBackend::Sqlite(path) => Arc::new(sqlite::SqliteSink::open(path)?),
        crate::config::AuditBackend::Postgres(url) => Arc::new(postgres::PostgresSink::new(
            String::from_utf8_lossy(url.expose()).into_owned(),
        )),
    })
}

/// Encode a record for a database row: (body without telemetry, telemetry JSON).
/// A millisecond time or count as the databases' signed 64-bit integer (saturating).
pub(crate) fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn encode(r: &AuditRecord) -> Result<(String, Option<String>), AuditError> {
    let mut body = r.clone();
    let telemetry = body.telemetry.take();
    let b = serde_json::to_string(&body).map_err(|e| AuditError::Corrupt(e.to_string()))?;
    let t = match telemetry {
        Some(t) => Some(serde_json::to_string(&t).map_err(|e| AuditError::Corrupt(e.to_string()))?),
        None => None,
    };
    Ok((b, t))
}

pub(crate) fn decode(body: &str, telemetry: Option<&str>) -> Result<AuditRecord, AuditError> {
    let mut r: AuditRecord =
        serde_json::from_str(body).map_err(|e| AuditError::Corrupt(e.to_string()))?;
    r.telemetry = match telemetry {
        Some(t) => Some(serde_json::from_str(t).map_err(|e| AuditError::Corrupt(e.to_string()))?),
        None => None,
    };
    if r.telemetry.is_none() {
        r.telemetry_until_ms = None;
    }
    Ok(r)
}
