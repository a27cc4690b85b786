//! The store contract, one test suite for both backends: [`suite`] runs against the embedded
//! memory store and against a real `redis-server` (started here on a free loopback port). Plus
//! Redis failure behaviour: killed, stopped (slow) and restarted servers.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use verifier::SystemClock;
use verifier::clock::Clock;
use verifier::store::{
    CounterOp, CounterValue, MarkOutcome, MarkRequest, MemoryStore, Persistence, RedisOptions,
    RedisStore, RetryKey, Store, StoreError, idempotency_fingerprint, parse_info_persistence,
};

fn now() -> u64 {
    SystemClock.now_ms()
}

fn redis_opts(url: &str, prefix: &str) -> RedisOptions {
    RedisOptions {
        url: verifier::secret::Secret::new(url.as_bytes().to_vec()),
        key_prefix: prefix.into(),
        connect_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(300),
        used_margin: Duration::ZERO,
        connections: 2,
    }
}

fn retry(tag: u8, window_ms: u64) -> Option<RetryKey> {
    Some(RetryKey {
        fingerprint: [tag; 32],
        window_ms,
    })
}

fn req(retry: Option<RetryKey>, response: &str) -> MarkRequest<'_> {
    MarkRequest {
        idempotency: None,
        retry,
        response,
    }
}

fn id(tag: u8, n: u64) -> [u8; 16] {
    let mut b = [tag; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b
}

/// The contract. `a` and `b` are two handles on the same backend (for Redis: two separate
/// connections, as two verifier processes would have).
async fn suite(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let run = now(); // makes ids unique per run
    // --- Single use and idempotency.
    let fp = idempotency_fingerprint("k1", "tok");
    let i1 = id(1, run);
    let exp = now() + 60_000;
    assert_eq!(
        a.mark_used(i1, exp, Some(fp), "{\"a\":1}").await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        b.mark_used(i1, exp, Some(fp), "{\"b\":2}").await,
        Ok(MarkOutcome::Repeat("{\"a\":1}".into())),
        "the other handle sees the stored answer"
    );
    assert_eq!(
        b.mark_used(i1, exp, Some(idempotency_fingerprint("k2", "tok")), "x")
            .await,
        Ok(MarkOutcome::Duplicate)
    );
    assert_eq!(
        a.mark_used(i1, exp, None, "x").await,
        Ok(MarkOutcome::Duplicate)
    );
    let i2 = id(2, run);
    assert_eq!(
        a.mark_used(i2, exp, None, "r").await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        b.mark_used(i2, exp, Some(fp), "r").await,
        Ok(MarkOutcome::Duplicate),
        "a key added after a keyless use never matches"
    );

    // --- Retry keys: the answer comes back for the same fingerprint only, counted, and only
    //     within the window; an explicit idempotency key still wins.
    let i5 = id(5, run);
    assert_eq!(
        a.mark(i5, exp, req(retry(1, 60_000), "{\"v\":5}")).await,
        Ok(MarkOutcome::Marked)
    );
    for n in 1..=3 {
        assert_eq!(
            b.mark(i5, exp, req(retry(1, 60_000), "{\"other\":1}"))
                .await,
            Ok(MarkOutcome::Retry {
                answer: "{\"v\":5}".into(),
                retries: n
            }),
            "retry {n} through the other handle"
        );
    }
    // Once an answer was delivered the verifier settles the record: the same fingerprint is
    // then a replay.
    assert_eq!(b.settle_retry(i5, [1; 32]).await, Ok(()));
    assert_eq!(
        a.mark(i5, exp, req(retry(1, 60_000), "x")).await,
        Ok(MarkOutcome::Duplicate),
        "a settled retry record answers no more"
    );
    assert_eq!(
        b.settle_retry(i5, [1; 32]).await,
        Ok(()),
        "settling twice (or a record that never existed) is fine"
    );
    assert_eq!(
        b.mark(i5, exp, req(retry(2, 60_000), "x")).await,
        Ok(MarkOutcome::Duplicate),
        "another fingerprint (other visitor, account, token text or site) is a replay"
    );
    assert_eq!(
        a.mark(i5, exp, req(None, "x")).await,
        Ok(MarkOutcome::Duplicate)
    );
    let i6 = id(6, run);
    assert_eq!(
        a.mark(
            i6,
            exp,
            MarkRequest {
                idempotency: Some(fp),
                retry: retry(1, 60_000),
                response: "{\"v\":6}"
            }
        )
        .await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        b.mark(
            i6,
            exp,
            MarkRequest {
                idempotency: Some(fp),
                retry: retry(1, 60_000),
                response: "x"
            }
        )
        .await,
        Ok(MarkOutcome::Repeat("{\"v\":6}".into()))
    );
    let i7 = id(7, run);
    assert_eq!(
        a.mark(i7, exp, req(retry(1, 200), "{\"v\":7}")).await,
        Ok(MarkOutcome::Marked)
    );
    let i8 = id(8, run);
    assert_eq!(
        a.mark(i8, exp, req(retry(1, 0), "{\"v\":8}")).await,
        Ok(MarkOutcome::Marked)
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        b.mark(i7, exp, req(retry(1, 200), "x")).await,
        Ok(MarkOutcome::Duplicate),
        "the retry answer is gone after its window, the mark stays"
    );
    assert_eq!(
        b.mark(i8, exp, req(retry(1, 0), "x")).await,
        Ok(MarkOutcome::Duplicate),
        "window 0 keeps no answer"
    );

    // --- Concurrent redemption through both handles: exactly one winner.
    let i3 = id(3, run);
    let mut tasks = Vec::new();
    for n in 0..32 {
        let s = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(
            async move { s.mark_used(i3, exp, None, "").await },
        ));
    }
    let mut marked = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(MarkOutcome::Marked) => marked += 1,
            Ok(MarkOutcome::Duplicate) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(marked, 1);

    // --- Entries live until their expiry, then the id is free again.
    let i4 = id(4, run);
    assert_eq!(
        a.mark_used(i4, now() + 250, None, "").await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        b.mark_used(i4, now() + 250, None, "").await,
        Ok(MarkOutcome::Duplicate)
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        b.mark_used(i4, now() + 250, None, "").await,
        Ok(MarkOutcome::Marked),
        "expired entries are gone"
    );

    // --- Buckets: atomic increments from both handles, the previous bucket, read-only ops.
    let key = format!("c:test:{run}:1");
    let prev = format!("c:test:{run}:0");
    let bucket = |add| CounterOp::Bucket {
        key: key.clone(),
        prev_key: prev.clone(),
        add,
        ttl_ms: 60_000,
    };
    let mut tasks = Vec::new();
    for n in 0..40 {
        let s = if n % 2 == 0 { a.clone() } else { b.clone() };
        let op = bucket(1);
        tasks.push(tokio::spawn(async move { s.observe(now(), &[op]).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("observe");
    }
    let v = a.observe(now(), &[bucket(0)]).await.unwrap();
    assert_eq!(
        v,
        vec![CounterValue {
            current: 40,
            carried: 0
        }]
    );
    let prev_op = CounterOp::Bucket {
        key: prev.clone(),
        prev_key: format!("c:test:{run}:-1"),
        add: 5,
        ttl_ms: 60_000,
    };
    let v = b.observe(now(), &[prev_op, bucket(2)]).await.unwrap();
    assert_eq!(
        v,
        vec![
            CounterValue {
                current: 5,
                carried: 0
            },
            CounterValue {
                current: 42,
                carried: 5
            }
        ]
    );
    // Bucket TTL.
    let short = CounterOp::Bucket {
        key: format!("c:short:{run}"),
        prev_key: format!("c:short:{run}:p"),
        add: 1,
        ttl_ms: 200,
    };
    a.observe(now(), std::slice::from_ref(&short))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let v = a.observe(now(), &[short]).await.unwrap();
    assert_eq!(v[0].current, 1, "expired bucket restarted from zero");

    // --- Distinct sets: dedupe, window, cap, carry.
    let dkey = format!("d:test:{run}");
    let distinct = |member: Option<[u8; 16]>, window_ms: u64, cap: u32| CounterOp::Distinct {
        key: dkey.clone(),
        carry_key: None,
        member,
        window_ms,
        cap,
    };
    let t0 = now();
    for m in [1u8, 2, 2, 3, 1] {
        a.observe(t0, &[distinct(Some([m; 16]), 10_000, 100)])
            .await
            .unwrap();
    }
    let v = b.observe(t0, &[distinct(None, 10_000, 100)]).await.unwrap();
    assert_eq!(v[0].current, 3, "three different members");
    // Members older than the window drop out (member 3 refreshed later).
    b.observe(t0 + 5_000, &[distinct(Some([3; 16]), 10_000, 100)])
        .await
        .unwrap();
    let v = a
        .observe(t0 + 12_000, &[distinct(None, 10_000, 100)])
        .await
        .unwrap();
    assert_eq!(
        v[0].current, 1,
        "only the refreshed member is inside the window"
    );
    // Cap keeps the newest members.
    let ckey = format!("d:cap:{run}");
    let capped = |member: Option<[u8; 16]>, carry_key: Option<String>| CounterOp::Distinct {
        key: ckey.clone(),
        carry_key,
        member,
        window_ms: 60_000,
        cap: 4,
    };
    for m in 0..10u8 {
        a.observe(t0 + u64::from(m), &[capped(Some([m; 16]), None)])
            .await
            .unwrap();
    }
    let v = b
        .observe(t0 + 20, &[capped(None, Some(dkey.clone()))])
        .await
        .unwrap();
    assert_eq!(v[0].current, 4, "capped");
    assert_eq!(
        v[0].carried, 1,
        "carry key: only its members seen within the window (member 3 at t0+5s)"
    );
    // The newest four (members 6..=9, seen at t0+6..t0+9) are the ones kept: a window ending
    // just after t0+7 leaves members 8 and 9.
    let v = b.observe(t0 + 60_007, &[capped(None, None)]).await.unwrap();
    assert_eq!(v[0].current, 2, "the cap drops the oldest members");

    // --- Records and claims.
    let rk = format!("r:test:{run}");
    assert_eq!(a.get(&rk).await, Ok(None));
    a.put(&rk, b"hello\x00\xff", 60_000).await.unwrap();
    assert_eq!(b.get(&rk).await, Ok(Some(b"hello\x00\xff".to_vec())));
    a.put(&rk, b"x", 200).await.unwrap();
    assert_eq!(b.get(&rk).await, Ok(Some(b"x".to_vec())), "put overwrites");
    let ck = format!("o:test:{run}");
    assert_eq!(a.claim(&ck, 200).await, Ok(true));
    assert_eq!(b.claim(&ck, 200).await, Ok(false));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(b.get(&rk).await, Ok(None), "record expired");
    assert_eq!(b.claim(&ck, 200).await, Ok(true), "claim expired");

    assert_eq!(a.ping().await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backend_keeps_the_contract() {
    let m: Arc<dyn Store> = Arc::new(MemoryStore::new(1000, Arc::new(SystemClock)));
    assert_eq!(m.backend(), "memory");
    suite(m.clone(), m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend_keeps_the_contract() {
    let Some(server) = common::RedisServer::start() else {
        return;
    };
    let opts = redis_opts(&server.url(), "suite:");
    let a: Arc<dyn Store> = Arc::new(RedisStore::connect(&opts, Arc::new(SystemClock)).unwrap());
    let b: Arc<dyn Store> = Arc::new(RedisStore::connect(&opts, Arc::new(SystemClock)).unwrap());
    assert_eq!(a.backend(), "redis");
    suite(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_prefixes_and_scopes_separate_keys() {
    let Some(server) = common::RedisServer::start() else {
        return;
    };
    let clock = Arc::new(SystemClock);
    let x = RedisStore::connect(&redis_opts(&server.url(), "one:"), clock.clone()).unwrap();
    let y = RedisStore::connect(&redis_opts(&server.url(), "two:"), clock).unwrap();
    let exp = now() + 60_000;
    assert_eq!(
        x.mark_used([9; 16], exp, None, "").await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        y.mark_used([9; 16], exp, None, "").await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        x.scoped("s:a:").mark_used([9; 16], exp, None, "").await,
        Ok(MarkOutcome::Marked)
    );
    assert_eq!(
        x.scoped("s:a:").mark_used([9; 16], exp, None, "").await,
        Ok(MarkOutcome::Duplicate)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_used_marks_outlive_their_expiry_by_the_margin() {
    let Some(server) = common::RedisServer::start() else {
        return;
    };
    let mut opts = redis_opts(&server.url(), "margin:");
    opts.used_margin = Duration::from_millis(400);
    let s = RedisStore::connect(&opts, Arc::new(SystemClock)).unwrap();
    let exp = now() + 100;
    assert_eq!(
        s.mark_used([7; 16], exp, None, "").await,
        Ok(MarkOutcome::Marked)
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        s.mark_used([7; 16], exp, None, "").await,
        Ok(MarkOutcome::Duplicate),
        "still marked after the expiry: the margin covers clock differences"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_fast_then_recovers_by_itself() {
    let Some(mut server) = common::RedisServer::start() else {
        return;
    };
    let s =
        RedisStore::connect(&redis_opts(&server.url(), "down:"), Arc::new(SystemClock)).unwrap();
    let exp = now() + 60_000;
    assert_eq!(
        s.mark_used([1; 16], exp, None, "").await,
        Ok(MarkOutcome::Marked)
    );
    assert!(s.is_up());

    server.kill();
    for n in 0..5u8 {
        let t = Instant::now();
        let r = s.mark_used([10 + n; 16], exp, None, "").await;
        assert!(
            matches!(
                r,
                Err(StoreError::Unavailable(_) | StoreError::Timeout { .. })
            ),
            "{r:?}"
        );
        assert!(
            t.elapsed() < Duration::from_millis(900),
            "bounded: {:?}",
            t.elapsed()
        );
    }
    assert!(!s.is_up());
    assert!(s.ping().await.is_err());

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut recovered = false;
    while Instant::now() < deadline {
        if s.mark_used([2; 16], exp, None, "").await == Ok(MarkOutcome::Marked) {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the store reconnected without a restart");
    assert!(s.is_up());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stalled_server_times_out_then_recovers() {
    let Some(server) = common::RedisServer::start() else {
        return;
    };
    let s =
        RedisStore::connect(&redis_opts(&server.url(), "slow:"), Arc::new(SystemClock)).unwrap();
    // Both connections up (they connect lazily; a connection set up during the stall never
    // sends its command, and the retry would then simply be the first redemption).
    for _ in 0..2 {
        assert_eq!(s.ping().await, Ok(()));
    }
    server.signal("-STOP");
    let t = Instant::now();
    let r = s
        .mark(
            [3; 16],
            now() + 60_000,
            req(retry(3, 30_000), "{\"first\":true}"),
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::Timeout { ms: 300 })),
        "a stalled server is a timeout, not 'unavailable': {r:?}"
    );
    assert_eq!(
        StoreError::Timeout { ms: 300 }.reason(),
        "store-timeout",
        "its own reason / metric label"
    );
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    server.signal("-CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ok = false;
    while Instant::now() < deadline {
        if s.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "recovered after the stall");
    // The write issued during the stall landed when the server resumed (it was in the socket):
    // the retry with the same retry key gets the answer of the attempt that timed out, not a
    // burned token; anyone else gets a duplicate.
    let r = s
        .mark(
            [3; 16],
            now() + 60_000,
            req(retry(3, 30_000), "{\"second\":true}"),
        )
        .await;
    assert_eq!(
        r,
        Ok(MarkOutcome::Retry {
            answer: "{\"first\":true}".into(),
            retries: 1
        })
    );
    let r = s
        .mark([3; 16], now() + 60_000, req(retry(4, 30_000), "x"))
        .await;
    assert_eq!(r, Ok(MarkOutcome::Duplicate));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_persistence_settings_are_read_and_reported() {
    let Some(plain) = common::RedisServer::start() else {
        return;
    };
    let s = RedisStore::connect(&redis_opts(&plain.url(), "p:"), Arc::new(SystemClock)).unwrap();
    assert_eq!(
        s.persistence(),
        None,
        "not read before the first health check"
    );
    assert_eq!(s.ping().await, Ok(()));
    assert_eq!(
        s.persistence(),
        Some(Persistence::None),
        "testkit's redis runs with --save '' --appendonly no"
    );
    assert!(!s.persistence().unwrap().keeps_marks());

    let Some(aof) = common::RedisServer::start_with(&["--appendonly", "yes"]) else {
        return;
    };
    let s = RedisStore::connect(&redis_opts(&aof.url(), "p:"), Arc::new(SystemClock)).unwrap();
    assert_eq!(s.ping().await, Ok(()));
    assert_eq!(
        s.persistence(),
        Some(Persistence::Aof {
            fsync: "everysec".into()
        })
    );

    let Some(rdb) = common::RedisServer::start_with(&["--save", "60 1"]) else {
        return;
    };
    let s = RedisStore::connect(&redis_opts(&rdb.url(), "p:"), Arc::new(SystemClock)).unwrap();
    assert_eq!(s.ping().await, Ok(()));
    assert!(
        matches!(s.persistence(), Some(Persistence::SnapshotsOnly { .. })),
        "{:?}",
        s.persistence()
    );

    // CONFIG renamed away (managed Redis): INFO persistence is the fallback.
    let Some(hidden) = common::RedisServer::start_with(&["--rename-command", "CONFIG", ""]) else {
        return;
    };
    let s = RedisStore::connect(&redis_opts(&hidden.url(), "p:"), Arc::new(SystemClock)).unwrap();
    assert_eq!(s.ping().await, Ok(()));
    assert_eq!(s.persistence(), Some(Persistence::NoAof));
    assert!(s.is_up(), "a refused CONFIG does not mark the store down");
}

#[test]
fn info_persistence_parsing() {
    let info = "# Persistence\r\nloading:0\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\n";
    assert_eq!(
        parse_info_persistence(info),
        Some(Persistence::Aof {
            fsync: String::new()
        })
    );
    assert_eq!(
        parse_info_persistence("aof_enabled:0\r\n"),
        Some(Persistence::NoAof)
    );
    assert_eq!(parse_info_persistence("# Persistence\r\n"), None);
}

#[test]
fn invalid_redis_url_is_an_error_not_a_panic() {
    let r = RedisStore::connect(&redis_opts("redis://[::1", "x:"), Arc::new(SystemClock));
    assert!(r.is_err());
}
