//! Redis backend (`redis` crate, tokio + connection manager). Several verifier processes share one
//! Redis: single use and counters then hold across all of them.
//!
//! - Single use is one Lua script: `SET key value NX PX ttl`, else `GET key` — the idempotent
//!   answer is written atomically with the used mark. The TTL is computed from the verifier's own
//!   clock (remaining lifetime + a margin), so a clock difference between the verifier and Redis
//!   can never shorten an entry.
//! - A counter batch is one Lua script (fixed-window buckets with `INCRBY` + `PEXPIRE`, distinct
//!   sets as sorted sets with a time score, trimmed to a cap).
//! - With a retry key, the first redemption also writes the answer to `…u:{id}:t:{retry fp}` (a
//!   hash: answer + retry count) with the retry window as TTL, in the same script; a later call
//!   naming the same key gets it back and counts (`HINCRBY`). The key is named by the retry
//!   fingerprint, so a different fingerprint simply finds nothing: no comparison in Lua.
//! - Every call runs under `command_timeout` (also set as the connection's response timeout) and
//!   a timeout is reported as [`StoreError::Timeout`]. `connections` multiplexed connection
//!   managers are used round-robin; each connects lazily and reconnects by itself, so the process
//!   starts and keeps serving (failing closed) while Redis is down, and recovers when it returns.
//! - Redis must run with `maxmemory-policy noeviction` (the default): an evicting policy could
//!   drop live used marks. The health check warns when it is not.
//! - Durability: the health check reads the persistence settings at start, after every
//!   reconnect and every [`PERSISTENCE_RECHECK`] (`CONFIG GET appendonly` / `save`, else
//!   `INFO persistence` when CONFIG is disabled or renamed) and logs an ERROR (and sets
//!   `tollgate_store_persistent{backend="redis"}` to 0) when used marks would not survive a
//!   Redis restart.
//! - "redis store is down/up" is logged at most once per [`STATE_LOG_INTERVAL`]; flips in
//!   between are counted and reported with the next line.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script, Value};

use super::{
    BoxFuture, ChallengeId, CounterOp, CounterValue, MAX_DISTINCT_CAP, MarkOutcome, MarkRequest,
    RetryFingerprint, Store, StoreError, encode_used, repeat_outcome,
};
use crate::clock::Clock;
use crate::secret::Secret;

/// Connection settings (from `[store]`).
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `redis://[user:password@]host:port[/db]` (may hold a password: never logged).
    pub url: Secret,
    /// Prefix of every key (several deployments can share one Redis).
    pub key_prefix: String,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// Added to a used mark's remaining lifetime.
    pub used_margin: Duration,
    /// Multiplexed connections, used round-robin (at least 1).
    pub connections: usize,
}

/// "redis store is down/up" is logged at most once per this interval.
pub const STATE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How often the health check re-reads the persistence settings (also after every reconnect).
pub const PERSISTENCE_RECHECK: Duration = Duration::from_secs(60);

/// What the Redis server does to keep its data across a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persistence {
    /// Append-only file on (`appendfsync` policy): used marks survive a restart (with
    /// `everysec`, up to about one second of marks can be lost on a crash).
    Aof { fsync: String },
    /// RDB snapshots only (`save` rules): marks since the last snapshot are lost on a restart.
    SnapshotsOnly { save: String },
    /// No persistence at all: every mark is lost on a restart.
    None,
    /// `INFO persistence` says AOF is off and CONFIG is unavailable (snapshot rules unknown).
    NoAof,
}

impl Persistence {
    /// Whether used marks survive a Redis restart.
    pub fn keeps_marks(&self) -> bool {
        matches!(self, Self::Aof { .. })
    }
}

/// The URL with any password replaced by `***` (for logs).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

/// KEYS[1] = used mark, KEYS[2] = retry record; ARGV[1] = mark value, ARGV[2] = mark TTL,
/// ARGV[3] = answer for retries ('' = no retry key), ARGV[4] = retry window (ms).
/// Returns 1 (marked), the stored value (used), `{value, answer, retries}` (used, and the retry
/// record exists), or 2 (cannot happen: expired inside the script).
static MARK_USED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[2], 'a', ARGV[3], 'n', 0)
    redis.call('PEXPIRE', KEYS[2], ARGV[4])
  end
  return 1
end
local v = redis.call('GET', KEYS[1])
if not v then return 2 end
if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
  local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
  local a = redis.call('HGET', KEYS[2], 'a')
  if a then return {v, a, n} end
end
return v
",
    )
});

/// ARGV[1] = now; then per op: `b add ttl` (2 keys: bucket, previous bucket) or
/// `d member window cap carry` (1 key, or 2 with carry = "1"). Returns a flat array of pairs.
static OBSERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local out = {}
local k = 1
local a = 2
while a <= #ARGV do
  local t = ARGV[a]
  if t == 'b' then
    local add = tonumber(ARGV[a + 1])
    local cur
    if add > 0 then
      cur = redis.call('INCRBY', KEYS[k], add)
      redis.call('PEXPIRE', KEYS[k], ARGV[a + 2])
    else
      cur = tonumber(redis.call('GET', KEYS[k]) or '0') or 0
    end
    local prev = tonumber(redis.call('GET', KEYS[k + 1]) or '0') or 0
    out[#out + 1] = cur
    out[#out + 1] = prev
    k = k + 2
    a = a + 3
  elseif t == 'd' then
    local member = ARGV[a + 1]
    local window = tonumber(ARGV[a + 2])
    local cap = tonumber(ARGV[a + 3])
    local cutoff = now - window
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', cutoff)
    if member ~= '' then
      redis.call('ZADD', KEYS[k], now, member)
      redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -(cap + 1))
      redis.call('PEXPIRE', KEYS[k], window)
    end
    out[#out + 1] = redis.call('ZCARD', KEYS[k])
    if ARGV[a + 4] == '1' then
      out[#out + 1] = redis.call('ZCOUNT', KEYS[k + 1], '(' .. cutoff, '+inf')
      k = k + 2
    else
      out[#out + 1] = 0
      k = k + 1
    end
    a = a + 5
  else
    return redis.error_reply('bad op')
  end
end
return out
",
    )
});

#[derive(Debug)]
struct Inner {
    managers: Vec<ConnectionManager>,
    next: AtomicUsize,
    command_timeout: Duration,
    used_margin: Duration,
    clock: Arc<dyn Clock>,
    up: AtomicBool,
    policy_checked: AtomicBool,
    display_url: String,
    /// When the last state line was logged.
    state_log: Mutex<Option<Instant>>,
    /// State flips not logged since then.
    suppressed_flips: AtomicU64,
    /// When the persistence settings were last read (None: read at the next health check).
    persistence_checked: Mutex<Option<Instant>>,
    persistence: Mutex<Option<Persistence>>,
}

/// A Redis-backed store. Cheap to clone; [`RedisStore::scoped`] gives views with a longer key
/// prefix that share the connection.
#[derive(Debug, Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
    prefix: String,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn map_err(e: &RedisError, timeout: Duration) -> StoreError {
    if e.code() == Some("OOM") {
        StoreError::OutOfMemory
    } else if e.is_timeout() {
        StoreError::Timeout {
            ms: millis(timeout),
        }
    } else {
        StoreError::Unavailable(e.to_string())
    }
}

impl RedisStore {
    /// Set up the connection manager. Does not connect: the first call (or the health check)
    /// does, so the verifier starts even while Redis is down. Fails only on an invalid URL.
    pub fn connect(opts: &RedisOptions, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let url = std::str::from_utf8(opts.url.expose())
            .map_err(|_| StoreError::Unavailable("store url is not UTF-8".into()))?;
        let display_url = redact_url(url);
        let client = redis::Client::open(url).map_err(|e| {
            StoreError::Unavailable(format!("invalid redis url {display_url}: {:?}", e.kind()))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout))
            .set_response_timeout(Some(opts.command_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let managers = (0..opts.connections.max(1))
            .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Unavailable(format!("redis client: {:?}", e.kind())))?;
        metrics::gauge!("tollgate_store_up", "backend" => "redis").set(0.0);
        Ok(Self {
            inner: Arc::new(Inner {
                managers,
                next: AtomicUsize::new(0),
                command_timeout: opts.command_timeout,
                used_margin: opts.used_margin,
                clock,
                up: AtomicBool::new(false),
                policy_checked: AtomicBool::new(false),
                display_url,
                state_log: Mutex::new(None),
                suppressed_flips: AtomicU64::new(0),
                persistence_checked: Mutex::new(None),
                persistence: Mutex::new(None),
            }),
            prefix: opts.key_prefix.clone(),
        })
    }

    /// A view whose keys are additionally prefixed with `sub`.
    pub fn scoped(&self, sub: &str) -> Self {
        Self {
            inner: self.inner.clone(),
            prefix: format!("{}{sub}", self.prefix),
        }
    }

    /// The URL without its password.
    pub fn display_url(&self) -> &str {
        &self.inner.display_url
    }

    /// Whether the last call succeeded.
    pub fn is_up(&self) -> bool {
        self.inner.up.load(Ordering::Relaxed)
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    fn record(&self, op: &'static str, r: &Result<(), StoreError>) {
        let now_up = r.is_ok();
        let was_up = self.inner.up.swap(now_up, Ordering::Relaxed);
        if let Err(e) = r {
            metrics::counter!("tollgate_store_errors_total", "backend" => "redis", "op" => op, "kind" => e.reason())
                .increment(1);
        }
        if now_up != was_up {
            metrics::gauge!("tollgate_store_up", "backend" => "redis").set(if now_up {
                1.0
            } else {
                0.0
            });
            metrics::counter!("tollgate_store_state_changes_total", "backend" => "redis", "up" => if now_up { "1" } else { "0" })
                .increment(1);
            if now_up {
                // Reconnected: Redis may have restarted with other settings.
                *self
                    .inner
                    .persistence_checked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = None;
            }
            self.log_state(op, r, true);
        } else if self.inner.suppressed_flips.load(Ordering::Relaxed) > 0 {
            // Flips were suppressed: report the settled state once the interval is over.
            self.log_state(op, r, false);
        }
    }

    /// Log the store state at most once per [`STATE_LOG_INTERVAL`], with the number of flips
    /// not logged since the last line.
    fn log_state(&self, op: &'static str, r: &Result<(), StoreError>, flip: bool) {
        let mut last = self
            .inner
            .state_log
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < STATE_LOG_INTERVAL) {
            if flip {
                self.inner.suppressed_flips.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        *last = Some(Instant::now());
        drop(last);
        let suppressed = self.inner.suppressed_flips.swap(0, Ordering::Relaxed);
        let url = &self.inner.display_url;
        match r {
            Ok(()) => {
                tracing::info!(url = %url, suppressed_flips = suppressed, "redis store is up")
            }
            Err(e) => {
                tracing::error!(url = %url, op, error = %e, suppressed_flips = suppressed, "redis store is down")
            }
        }
    }

    /// Run `f` on a connection (round-robin) under the command timeout, recording health.
    async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let start = std::time::Instant::now();
        let r = self.exec(f).await;
        crate::observability::record_store_op("redis", op, start, &r);
        self.record(op, &r.as_ref().map(|_| ()).map_err(Clone::clone));
        r
    }

    /// [`Self::run`] without recording health (diagnostics such as CONFIG, which managed Redis
    /// may refuse while serving everything else).
    async fn exec<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed) % self.inner.managers.len();
        let conn = self.inner.managers[n].clone();
        let timeout = self.inner.command_timeout;
        match tokio::time::timeout(timeout, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_err(&e, timeout)),
            Err(_) => Err(StoreError::Timeout {
                ms: millis(timeout),
            }),
        }
    }

    /// The persistence settings read by the last health check (None: not read yet, or neither
    /// CONFIG nor INFO answered).
    pub fn persistence(&self) -> Option<Persistence> {
        self.inner
            .persistence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Read the persistence settings now if they are due (start, reconnect, every
    /// [`PERSISTENCE_RECHECK`]); log an ERROR and set `tollgate_store_persistent` to 0 when
    /// used marks would not survive a restart.
    async fn check_persistence(&self) {
        {
            let mut last = self
                .inner
                .persistence_checked
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < PERSISTENCE_RECHECK) {
                return;
            }
            *last = Some(Instant::now());
        }
        // Load the scripts now (start, reconnect, periodically): EVALSHA of a script the server
        // does not have yet fails with NOSCRIPT and is sent again as EVAL, a second round trip
        // that a stalled call never gets to make — a mark sent during a stall must be the
        // whole script.
        for script in [&*MARK_USED, &*OBSERVE] {
            if let Err(e) = self
                .exec(|mut c| async move { script.load_async(&mut c).await })
                .await
            {
                tracing::debug!(error = %e, "cannot preload a redis script");
            }
        }
        let Some(p) = self.read_persistence().await else {
            tracing::warn!(
                "cannot read redis persistence settings (CONFIG and INFO refused): make sure Redis runs with appendonly yes"
            );
            return;
        };
        metrics::gauge!("tollgate_store_persistent", "backend" => "redis")
            .set(if p.keeps_marks() { 1.0 } else { 0.0 });
        let changed = {
            let mut cur = self
                .inner
                .persistence
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let changed = cur.as_ref() != Some(&p);
            *cur = Some(p.clone());
            changed
        };
        if !changed {
            return;
        }
        match &p {
            Persistence::Aof { fsync } => {
                tracing::info!(appendfsync = %fsync, "redis persistence: AOF on, used marks survive a restart");
            }
            Persistence::SnapshotsOnly { save } => tracing::error!(
                save = %save,
                "redis persists with RDB snapshots only: used marks since the last snapshot are lost when Redis restarts, and those tokens can be redeemed again until they expire; set appendonly yes (appendfsync everysec)"
            ),
            Persistence::None => tracing::error!(
                "redis does not persist (appendonly no, no save rules): every used mark is lost when Redis restarts, and those tokens can be redeemed again until they expire; set appendonly yes (appendfsync everysec)"
            ),
            Persistence::NoAof => tracing::error!(
                "redis runs without AOF (INFO persistence: aof_enabled:0): used marks are lost when Redis restarts, and those tokens can be redeemed again until they expire; set appendonly yes (appendfsync everysec)"
            ),
        }
    }

    /// `CONFIG GET appendonly|appendfsync|save`, else `INFO persistence` (CONFIG disabled or
    /// renamed on managed Redis).
    async fn read_persistence(&self) -> Option<Persistence> {
        let config = |name: &'static str| {
            self.exec(move |mut c| async move {
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query_async::<Vec<String>>(&mut c)
                    .await
            })
        };
        match config("appendonly").await {
            Ok(v) if v.len() == 2 => {
                if v[1] == "yes" {
                    let fsync = config("appendfsync")
                        .await
                        .ok()
                        .and_then(|v| v.into_iter().nth(1))
                        .unwrap_or_default();
                    return Some(Persistence::Aof { fsync });
                }
                let save = config("save")
                    .await
                    .ok()
                    .and_then(|v| v.into_iter().nth(1))
                    .unwrap_or_default();
                return Some(if save.trim().is_empty() {
                    Persistence::None
                } else {
                    Persistence::SnapshotsOnly { save }
                });
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "CONFIG GET appendonly refused; trying INFO"),
        }
        let info = self
            .exec(|mut c| async move {
                redis::cmd("INFO")
                    .arg("persistence")
                    .query_async::<String>(&mut c)
                    .await
            })
            .await
            .ok()?;
        parse_info_persistence(&info)
    }

    /// Warn (once per process) if Redis may evict keys: evicted used marks would allow replays.
    async fn check_policy(&self) {
        if self.inner.policy_checked.swap(true, Ordering::Relaxed) {
            return;
        }
        let r = self
            .exec(|mut c| async move {
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("maxmemory-policy")
                    .query_async::<Vec<String>>(&mut c)
                    .await
            })
            .await;
        match r {
            Ok(v) => match v.get(1).map(String::as_str) {
                Some("noeviction") => {}
                Some(p) => {
                    metrics::gauge!("tollgate_store_eviction_unsafe").set(1.0);
                    tracing::error!(
                        policy = p,
                        "redis maxmemory-policy is not noeviction: used marks may be evicted under memory pressure, allowing replays; set maxmemory-policy noeviction"
                    );
                }
                None => {}
            },
            // CONFIG may be disabled on managed Redis: nothing to check then.
            Err(e) => tracing::debug!(error = %e, "cannot read redis maxmemory-policy"),
        }
    }
}

/// `aof_enabled:1|0` from `INFO persistence`.
pub fn parse_info_persistence(info: &str) -> Option<Persistence> {
    info.lines()
        .find_map(|l| l.trim().strip_prefix("aof_enabled:"))
        .map(|v| {
            if v.trim() == "1" {
                Persistence::Aof {
                    fsync: String::new(),
                }
            } else {
                Persistence::NoAof
            }
        })
}

fn as_u64(v: &Value) -> Result<u64, StoreError> {
    match v {
        Value::Int(n) => Ok(u64::try_from(*n).unwrap_or(0)),
        other => Err(StoreError::Protocol(format!(
            "expected integer, got {other:?}"
        ))),
    }
}

impl Store for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn mark<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        req: MarkRequest<'a>,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>> {
        Box::pin(async move {
            let id_hex = hex::encode(id);
            let key = self.key(&format!("u:{id_hex}"));
            let retry_key = match req.retry {
                Some(r) => self.key(&format!("u:{id_hex}:t:{}", hex::encode(r.fingerprint))),
                None => self.key(&format!("u:{id_hex}:t")),
            };
            let remaining = expires_at_ms.saturating_sub(self.inner.clock.now_ms());
            let margin = millis(self.inner.used_margin);
            let ttl = remaining.saturating_add(margin).max(1);
            let value = encode_used(req.idempotency, req.response);
            let (answer, window) = match req.retry {
                Some(r) if r.window_ms > 0 => (req.response, r.window_ms),
                _ => ("", 1),
            };
            let reply = self
                .run("mark_used", |mut c| async move {
                    MARK_USED
                        .key(key)
                        .key(retry_key)
                        .arg(value)
                        .arg(ttl)
                        .arg(answer)
                        .arg(window)
                        .invoke_async::<Value>(&mut c)
                        .await
                })
                .await?;
            match reply {
                Value::Int(1) => Ok(MarkOutcome::Marked),
                Value::BulkString(stored) => repeat_outcome(&stored, req.idempotency),
                Value::Array(parts) => match parts.as_slice() {
                    [
                        Value::BulkString(stored),
                        Value::BulkString(answer),
                        Value::Int(n),
                    ] => match repeat_outcome(stored, req.idempotency)? {
                        MarkOutcome::Duplicate => Ok(MarkOutcome::Retry {
                            answer: String::from_utf8(answer.clone()).map_err(|_| {
                                StoreError::Protocol("stored answer is not UTF-8".into())
                            })?,
                            retries: u64::try_from(*n).unwrap_or(u64::MAX),
                        }),
                        explicit => Ok(explicit),
                    },
                    other => Err(StoreError::Protocol(format!("mark_used: {other:?}"))),
                },
                // Expired between SET and GET inside one script cannot happen; fail closed.
                Value::Int(_) => Ok(MarkOutcome::Duplicate),
                other => Err(StoreError::Protocol(format!("mark_used: {other:?}"))),
            }
        })
    }

    fn observe<'a>(
        &'a self,
        now_ms: u64,
        ops: &'a [CounterOp],
    ) -> BoxFuture<'a, Result<Vec<CounterValue>, StoreError>> {
        Box::pin(async move {
            if ops.is_empty() {
                return Ok(Vec::new());
            }
            let mut keys: Vec<String> = Vec::with_capacity(ops.len() * 2);
            let mut args: Vec<Vec<u8>> = vec![now_ms.to_string().into_bytes()];
            for op in ops {
                match op {
                    CounterOp::Bucket {
                        key,
                        prev_key,
                        add,
                        ttl_ms,
                    } => {
                        keys.push(self.key(key));
                        keys.push(self.key(prev_key));
                        args.push(b"b".to_vec());
                        args.push(add.to_string().into_bytes());
                        args.push((*ttl_ms).max(1).to_string().into_bytes());
                    }
                    CounterOp::Distinct {
                        key,
                        carry_key,
                        member,
                        window_ms,
                        cap,
                    } => {
                        keys.push(self.key(key));
                        args.push(b"d".to_vec());
                        args.push(member.map(|m| m.to_vec()).unwrap_or_default());
                        args.push((*window_ms).max(1).to_string().into_bytes());
                        args.push((*cap).clamp(1, MAX_DISTINCT_CAP).to_string().into_bytes());
                        match carry_key {
                            Some(c) => {
                                keys.push(self.key(c));
                                args.push(b"1".to_vec());
                            }
                            None => args.push(b"0".to_vec()),
                        }
                    }
                }
            }
            let reply = self
                .run("observe", |mut c| async move {
                    let mut inv = OBSERVE.prepare_invoke();
                    for k in &keys {
                        inv.key(k);
                    }
                    for a in &args {
                        inv.arg(a.as_slice());
                    }
                    inv.invoke_async::<Vec<Value>>(&mut c).await
                })
                .await?;
            if reply.len() != ops.len() * 2 {
                return Err(StoreError::Protocol(format!(
                    "observe: {} values for {} ops",
                    reply.len(),
                    ops.len()
                )));
            }
            reply
                .chunks(2)
                .map(|p| {
                    Ok(CounterValue {
                        current: as_u64(&p[0])?,
                        carried: as_u64(&p[1])?,
                    })
                })
                .collect()
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = self.key(key);
            self.run("put", |mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms.max(1))
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let key = self.key(key);
            self.run("get", |mut c| async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<Vec<u8>>>(&mut c)
                    .await
            })
            .await
        })
    }

    fn settle_retry<'a>(
        &'a self,
        id: ChallengeId,
        fingerprint: RetryFingerprint,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = self.key(&format!(
                "u:{}:t:{}",
                hex::encode(id),
                hex::encode(fingerprint)
            ));
            self.run("settle_retry", |mut c| async move {
                redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await
            })
            .await
        })
    }

    fn claim<'a>(&'a self, key: &'a str, ttl_ms: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = self.key(key);
            let reply = self
                .run("claim", |mut c| async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg("1")
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_ms.max(1))
                        .query_async::<Value>(&mut c)
                        .await
                })
                .await?;
            Ok(matches!(reply, Value::Okay))
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.run("ping", |mut c| async move {
                redis::cmd("PING").query_async::<()>(&mut c).await
            })
            .await?;
            self.check_policy().await;
            self.check_persistence().await;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_flips_are_logged_at_most_once_per_interval() {
        let opts = RedisOptions {
            url: Secret::new(b"redis://127.0.0.1:1/0".to_vec()),
            key_prefix: "t:".into(),
            connect_timeout: Duration::from_millis(50),
            command_timeout: Duration::from_millis(50),
            used_margin: Duration::ZERO,
            connections: 3,
        };
        let s = RedisStore::connect(&opts, Arc::new(crate::clock::SystemClock)).unwrap();
        assert_eq!(s.inner.managers.len(), 3);
        for i in 0..10 {
            let r = if i % 2 == 0 {
                Ok(())
            } else {
                Err(StoreError::Timeout { ms: 50 })
            };
            s.record("test", &r);
        }
        // The first flip (down → up) was logged; the nine after it within the interval were
        // only counted, to be reported with the next line.
        assert_eq!(s.inner.suppressed_flips.load(Ordering::Relaxed), 9);
        assert!(!s.is_up());
    }

    #[test]
    fn timeouts_map_to_timeout() {
        let e = RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "t"));
        assert_eq!(
            map_err(&e, Duration::from_millis(500)),
            StoreError::Timeout { ms: 500 }
        );
    }

    #[test]
    fn url_redaction() {
        assert_eq!(
            redact_url("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://user:p@ss@h:1"),
            "redis://***@h:1",
            "last @ ends the user info"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
