//! Redis backend (`redis` crate, tokio + connection manager). Several verifier processes share one
//! Redis: single use and counters then hold across all of them.
//!
//! - Single use is one Lua script: `SET key value NX PX ttl`, else `GET key` — the idempotent
//!   answer is written atomically with the used mark. The TTL is computed from the verifier's own
//!   clock (remaining lifetime + a margin), so a clock difference between the verifier and Redis
//!   can never shorten an entry.
//! - A counter batch is one Lua script (fixed-window buckets with `INCRBY` + `PEXPIRE`, distinct
//!   sets as sorted sets with a time score, trimmed to a cap).
//! - Every call runs under `command_timeout` (also set as the connection's response timeout);
//!   the connection manager connects lazily and reconnects by itself, so the process starts and
//!   keeps serving (failing closed) while Redis is down, and recovers when it returns.
//! - Redis must run with `maxmemory-policy noeviction` (the default): an evicting policy could
//!   drop live used marks. The health check warns when it is not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script, Value};

use super::{
    BoxFuture, ChallengeId, CounterOp, CounterValue, IdempotencyFingerprint, MAX_DISTINCT_CAP,
    MarkOutcome, Store, StoreError, encode_used, repeat_outcome,
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
}

/// The URL with any password replaced by `***` (for logs).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

static MARK_USED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local v = redis.call('GET', KEYS[1])
if v then return v end
return 2
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
    manager: ConnectionManager,
    command_timeout: Duration,
    used_margin: Duration,
    clock: Arc<dyn Clock>,
    up: AtomicBool,
    policy_checked: AtomicBool,
    display_url: String,
}

/// A Redis-backed store. Cheap to clone; [`RedisStore::scoped`] gives views with a longer key
/// prefix that share the connection.
#[derive(Debug, Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
    prefix: String,
}

fn map_err(e: &RedisError) -> StoreError {
    if e.code() == Some("OOM") {
        StoreError::OutOfMemory
    } else if e.is_timeout() {
        StoreError::Unavailable("timed out".into())
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
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::Unavailable(format!("redis client: {:?}", e.kind())))?;
        metrics::gauge!("tollgate_store_up", "backend" => "redis").set(0.0);
        Ok(Self {
            inner: Arc::new(Inner {
                manager,
                command_timeout: opts.command_timeout,
                used_margin: opts.used_margin,
                clock,
                up: AtomicBool::new(false),
                policy_checked: AtomicBool::new(false),
                display_url,
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
            match r {
                Ok(()) => tracing::info!(url = %self.inner.display_url, "redis store is up"),
                Err(e) => {
                    tracing::error!(url = %self.inner.display_url, op, error = %e, "redis store is down")
                }
            }
        }
    }

    /// Run `f` on a connection under the command timeout, recording health.
    async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let conn = self.inner.manager.clone();
        let timeout = self.inner.command_timeout;
        let r = match tokio::time::timeout(timeout, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_err(&e)),
            Err(_) => Err(StoreError::Timeout {
                ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        };
        self.record(op, &r.as_ref().map(|_| ()).map_err(Clone::clone));
        r
    }

    /// Warn (once per process) if Redis may evict keys: evicted used marks would allow replays.
    async fn check_policy(&self) {
        if self.inner.policy_checked.swap(true, Ordering::Relaxed) {
            return;
        }
        let r = self
            .run("config", |mut c| async move {
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

    fn mark_used<'a>(
        &'a self,
        id: ChallengeId,
        expires_at_ms: u64,
        idempotency: Option<IdempotencyFingerprint>,
        response: &'a str,
    ) -> BoxFuture<'a, Result<MarkOutcome, StoreError>> {
        Box::pin(async move {
            let key = self.key(&format!("u:{}", hex::encode(id)));
            let remaining = expires_at_ms.saturating_sub(self.inner.clock.now_ms());
            let margin = u64::try_from(self.inner.used_margin.as_millis()).unwrap_or(0);
            let ttl = remaining.saturating_add(margin).max(1);
            let value = encode_used(idempotency, response);
            let reply = self
                .run("mark_used", |mut c| async move {
                    MARK_USED
                        .key(key)
                        .arg(value)
                        .arg(ttl)
                        .invoke_async::<Value>(&mut c)
                        .await
                })
                .await?;
            match reply {
                Value::Int(1) => Ok(MarkOutcome::Marked),
                Value::BulkString(stored) => repeat_outcome(&stored, idempotency),
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
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
