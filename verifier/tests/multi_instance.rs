//! Two real `verifier serve` processes on one real `redis-server`: single use, idempotent
//! answers and correlation counters hold across instances; Redis going away makes siteverify
//! fail closed quickly and readiness drop, and both recover by themselves when Redis returns.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_testkit::TelemetrySpec;
use verifier::challenge::ChallengeReply;

const SECRET: &str = "multi-instance-site-secret-0123";
const ORIGIN: &str = "http://localhost:8080";

struct Cluster {
    redis: common::RedisServer,
    a: common::VerifierProcess,
    b: common::VerifierProcess,
    dir: std::path::PathBuf,
    http: reqwest::Client,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(extra: &str) -> Option<Cluster> {
    let redis = common::RedisServer::start()?;
    let dir = common::temp_dir("multi");
    // Both instances read the same file: same signing key, MAC secret and site secret.
    let cfg = common::config_text(
        11,
        12,
        7,
        SECRET,
        3,
        &format!(
            r#"
[store]
backend = "redis"
url_env = "TG_TEST_REDIS_URL"
key_prefix = "mi:"
command_timeout_ms = 300
connect_timeout_ms = 300

[server]
trusted_proxies = ["127.0.0.1"]

[correlation]
fingerprint_accounts = 3
{extra}
"#
        ),
    );
    let path = dir.join("verifier.toml");
    std::fs::write(&path, cfg).unwrap();
    let url = redis.url();
    let env = [("TG_TEST_REDIS_URL", url.as_str())];
    let p = path.to_str().unwrap();
    let a = common::VerifierProcess::spawn(&["--config", p], &env, dir.join("a.log"));
    let b = common::VerifierProcess::spawn(&["--config", p], &env, dir.join("b.log"));
    Some(Cluster {
        redis,
        a,
        b,
        dir,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    })
}

async fn challenge(c: &Cluster, v: &common::VerifierProcess, xff: &str) -> ChallengeReply {
    let req = c
        .http
        .post(v.url("/v1/challenge"))
        .header("origin", ORIGIN)
        .header("x-forwarded-for", xff)
        .json(&json!({"sitekey": "site-a", "action": "login"}));
    let (status, reply) = common::json_answer(req).await;
    assert_eq!(status, 200);
    reply
}

async fn siteverify(c: &Cluster, v: &common::VerifierProcess, body: Value) -> (Value, String) {
    let r = c
        .http
        .post(v.url("/v1/siteverify"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

async fn token(c: &Cluster, v: &common::VerifierProcess, fp: &[u8], dx: f64) -> String {
    let reply = challenge(c, v, "198.51.100.20").await;
    common::login_token(
        &reply,
        ORIGIN,
        TelemetrySpec::short_human(dx).fingerprint(fp.to_vec()),
    )
}

/// The body of a GET (e.g. `/metrics`).
async fn text(c: &Cluster, url: String) -> String {
    c.http.get(url).send().await.unwrap().text().await.unwrap()
}

async fn status(c: &Cluster, url: String) -> u16 {
    c.http
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Poll `url` until it answers `want` (at most 5 s); returns the last status.
async fn wait_status(c: &Cluster, url: String, want: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = status(c, url.clone()).await;
        if s == want || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_single_use_idempotency_and_counters() {
    let Some(c) = start("") else { return };
    assert_eq!(wait_status(&c, c.a.url("/readyz"), 200).await, 200);
    assert_eq!(wait_status(&c, c.b.url("/readyz"), 200).await, 200);

    // Issued by A, redeemed at A, replayed at B.
    let t = token(&c, &c.a, b"", 0.0).await;
    let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["success"], true, "{v}");
    let (v, _) = siteverify(&c, &c.b, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]));
    assert_eq!(v["tollgate"]["reasons"], json!(["duplicate"]));

    // Issued by B, redeemed at A (shared keys), replayed at B.
    let t = token(&c, &c.b, b"", 1.0).await;
    let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["success"], true, "{v}");
    let (v, _) = siteverify(&c, &c.b, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]));

    // Concurrent redemption of one token at both instances: exactly one success.
    for round in 0..3 {
        let t = token(&c, &c.a, b"", 2.0 + f64::from(round)).await;
        let body = json!({"secret": SECRET, "response": t});
        let (x, y) = tokio::join!(
            siteverify(&c, &c.a, body.clone()),
            siteverify(&c, &c.b, body.clone())
        );
        let ok = [&x.0, &y.0].iter().filter(|v| v["success"] == true).count();
        assert_eq!(ok, 1, "round {round}: {} / {}", x.0, y.0);
    }

    // Idempotent retry lands on the other instance: the same answer, byte for byte.
    let t = token(&c, &c.a, b"", 9.0).await;
    let body = json!({"secret": SECRET, "response": t, "idempotency_key": "6d1b2c4e-retry"});
    let (v1, raw1) = siteverify(&c, &c.a, body.clone()).await;
    assert_eq!(v1["success"], true);
    let (_, raw2) = siteverify(&c, &c.b, body).await;
    assert_eq!(raw1, raw2);

    // Counters agree: one device fingerprint across accounts, alternating instances; the
    // third distinct account trips `campaign-fingerprint` wherever it lands.
    let fp = [0xAB; 16];
    for (n, inst) in [(1, &c.a), (2, &c.b), (3, &c.a), (4, &c.b)] {
        let t = token(&c, inst, &fp, 20.0 + f64::from(n)).await;
        let (v, _) = siteverify(
            &c,
            inst,
            json!({"secret": SECRET, "response": t, "account": format!("user{n}@example.com"),
                   "remoteip": format!("203.0.113.{n}")}),
        )
        .await;
        assert_eq!(v["success"], true, "{v}");
        let flagged = v["tollgate"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("campaign-fingerprint"));
        assert_eq!(flagged, n >= 3, "account {n}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_closed_quickly_and_recovers_without_restart() {
    let Some(mut c) = start("") else { return };
    let t = token(&c, &c.a, b"", 0.0).await;
    let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["success"], true, "{v}");

    // Challenges issued before the outage, redeemed during it.
    let pending = token(&c, &c.a, b"", 1.0).await;
    c.redis.kill();

    let start = Instant::now();
    let (v, _) = siteverify(&c, &c.b, json!({"secret": SECRET, "response": pending})).await;
    let took = start.elapsed();
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["error-codes"], json!(["internal-error"]), "{v}");
    assert!(
        took < Duration::from_millis(1500),
        "fails fast, took {took:?}"
    );

    // /v1/challenge keeps working (counters fail open) with the degraded flag signed in.
    let during = challenge(&c, &c.a, "198.51.100.20").await;
    assert_ne!(
        common::risk_byte(&during) & verifier::correlate::risk::DEGRADED,
        0
    );

    // Readiness drops within the health-check period; liveness stays.
    assert_eq!(wait_status(&c, c.a.url("/readyz"), 503).await, 503);
    assert_eq!(status(&c, c.a.url("/healthz")).await, 200);
    let metrics = text(&c, c.b.url("/metrics")).await;
    assert!(
        metrics.contains("tollgate_store_errors_total"),
        "store errors are counted"
    );
    assert!(
        metrics.contains("tollgate_store_up{backend=\"redis\"} 0"),
        "{metrics}"
    );

    // Redis comes back on the same port: both instances recover by themselves, and the token
    // refused with internal-error (retryable) now succeeds — it was never marked used.
    c.redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut recovered = None;
    while Instant::now() < deadline {
        let (v, _) = siteverify(&c, &c.b, json!({"secret": SECRET, "response": pending})).await;
        if v["success"] == true {
            recovered = Some(v);
            break;
        }
        assert_eq!(v["error-codes"], json!(["internal-error"]), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered.is_some(),
        "recovered without restarting the verifier"
    );
    // Instance A reconnects on its own schedule: until it has, it answers the retryable
    // internal-error (fail closed); once it has, the token redeemed at B is a duplicate.
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": pending})).await;
        if v["error-codes"] != json!(["internal-error"]) || Instant::now() >= deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]), "{v}");
    let t = token(&c, &c.a, b"", 3.0).await;
    let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(wait_status(&c, c.a.url("/readyz"), 200).await, 200);
    assert_eq!(wait_status(&c, c.b.url("/readyz"), 200).await, 200);
    // Neither process died.
    let (a, b) = (c.a.child.try_wait(), c.b.child.try_wait());
    assert!(
        matches!(a, Ok(None)) && matches!(b, Ok(None)),
        "{a:?} {b:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_single_use_is_explicit_and_capped_at_challenge() {
    let Some(mut c) = start("") else { return };
    // Rewrite B's policy: it would need a restart for [store] changes, so start a third one.
    let cfg = std::fs::read_to_string(c.dir.join("verifier.toml"))
        .unwrap()
        .replace(
            "command_timeout_ms = 300",
            "command_timeout_ms = 300\nsingle_use_on_error = \"fail-open\"",
        );
    let path = c.dir.join("open.toml");
    std::fs::write(&path, cfg).unwrap();
    let url = c.redis.url();
    let open = common::VerifierProcess::spawn(
        &["--config", path.to_str().unwrap()],
        &[("TG_TEST_REDIS_URL", url.as_str())],
        c.dir.join("open.log"),
    );
    let t = token(&c, &open, b"", 0.0).await;
    c.redis.kill();
    let (v, _) = siteverify(&c, &open, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["success"], true, "{v}");
    let reasons = v["tollgate"]["reasons"].as_array().unwrap();
    assert!(reasons.contains(&json!("store-degraded")), "{v}");
    assert_ne!(v["tollgate"]["decision"], "allow", "{v}");
    // The default (fail-closed) instance refuses the same situation.
    let t = token(&c, &open, b"", 1.0).await;
    let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": t})).await;
    assert_eq!(v["error-codes"], json!(["internal-error"]), "{v}");
}

/// Issue 12 item 2: Redis stalled (SIGSTOP) longer than the command timeout during a
/// siteverify: the caller gets `internal-error` with reason `store-timeout`; after SIGCONT the
/// backend's retry (same token, same `remoteip` and `account`) gets the verdict of the attempt
/// that was applied while Redis was stopped — the token is not burned — while a replay from
/// another address, or without `remoteip`, is still `timeout-or-duplicate`, and so is the same
/// retry once its answer was delivered. Bounds are generous (the 2-core machine may be loaded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_redis_then_retry_gets_the_same_verdict_not_a_burned_token() {
    let Some(c) = start("") else { return };
    assert_eq!(wait_status(&c, c.a.url("/readyz"), 200).await, 200);
    // Warm up every Redis connection of A (they connect lazily and are used round-robin; a
    // connection set up during the stall never sends its command, and the retry would then be
    // the first redemption — also no burned token, but not the path under test).
    for n in 0..3 {
        let t = token(&c, &c.a, b"", 50.0 + f64::from(n)).await;
        let (v, _) = siteverify(&c, &c.a, json!({"secret": SECRET, "response": t})).await;
        assert_eq!(v["success"], true, "{v}");
    }
    let t = token(&c, &c.a, b"", 0.0).await;
    let body = json!({"secret": SECRET, "response": t, "remoteip": "203.0.113.7",
                      "account": "alice@example.com"});

    c.redis.signal("-STOP");
    let (v, _) = siteverify(&c, &c.a, body.clone()).await;
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["error-codes"], json!(["internal-error"]), "{v}");
    assert_eq!(v["tollgate"]["reasons"], json!(["store-timeout"]), "{v}");
    c.redis.signal("-CONT");

    // The retry, at the other instance even: the stored verdict (whatever the first attempt
    // computed; here with `store-degraded` because the counters timed out too).
    let deadline = Instant::now() + Duration::from_secs(10);
    let (v, _) = loop {
        let (v, raw) = siteverify(&c, &c.b, body.clone()).await;
        if v["error-codes"] != json!(["internal-error"]) || Instant::now() >= deadline {
            break (v, raw);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(v["success"], true, "the retry is not a burned token: {v}");
    let reasons = v["tollgate"]["reasons"].as_array().unwrap();
    assert!(
        reasons.contains(&json!("store-degraded")),
        "the verdict computed while Redis was stopped, not a new one: {v}"
    );
    // That answer was delivered: the retry window is closed, the same request again is a replay.
    let (v, _) = siteverify(&c, &c.a, body.clone()).await;
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]), "{v}");

    // Someone else replaying the same token text: refused.
    for other in [
        json!({"secret": SECRET, "response": t, "remoteip": "198.51.100.9", "account": "alice@example.com"}),
        json!({"secret": SECRET, "response": t, "remoteip": "203.0.113.7", "account": "bob@example.com"}),
        json!({"secret": SECRET, "response": t, "remoteip": "203.0.113.7"}),
        json!({"secret": SECRET, "response": t}),
    ] {
        let (v, _) = siteverify(&c, &c.b, other.clone()).await;
        assert_eq!(
            v["error-codes"],
            json!(["timeout-or-duplicate"]),
            "{other}: {v}"
        );
    }

    let metrics = text(&c, c.a.url("/metrics")).await;
    assert!(
        metrics.contains(r#"kind="store-timeout""#),
        "timeouts are counted as timeouts: {metrics}"
    );
}

/// Issue 12 item 4: a Redis without persistence is reported (ERROR log, gauge 0), and with
/// `require_persistence = true` the verifier refuses to start; with AOF it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_without_persistence_is_reported_or_refused() {
    let Some(c) = start("") else { return };
    assert_eq!(wait_status(&c, c.a.url("/readyz"), 200).await, 200);
    let metrics = text(&c, c.a.url("/metrics")).await;
    assert!(
        metrics.contains(r#"tollgate_store_persistent{backend="redis"} 0"#),
        "{metrics}"
    );
    let log = c.a.log_text();
    assert!(
        log.contains("ERROR") && log.contains("redis does not persist"),
        "{log}"
    );

    // require_persistence: refused at start, with the reason.
    let cfg = std::fs::read_to_string(c.dir.join("verifier.toml"))
        .unwrap()
        .replace(
            "command_timeout_ms = 300",
            "command_timeout_ms = 300\nrequire_persistence = true",
        );
    let path = c.dir.join("strict.toml");
    std::fs::write(&path, &cfg).unwrap();
    let log = c.dir.join("strict.log");
    let url = c.redis.url();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env("TG_TEST_REDIS_URL", &url)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(!out.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("require_persistence"), "{text}");

    // The same config against a Redis with AOF starts and is ready.
    let Some(aof) = common::RedisServer::start_with(&["--appendonly", "yes"]) else {
        return;
    };
    let url = aof.url();
    let strict = common::VerifierProcess::spawn(
        &["--config", path.to_str().unwrap()],
        &[("TG_TEST_REDIS_URL", url.as_str())],
        c.dir.join("strict-ok.log"),
    );
    assert_eq!(wait_status(&c, strict.url("/readyz"), 200).await, 200);
}

/// Issue 12 item 8: with `[store] shared_rate_limits = true` two instances on one Redis share
/// one limit per client; without it each instance has its own (N instances, N× the rate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_rate_limits_hold_across_instances() {
    let Some(c) = start("") else { return };
    let base = std::fs::read_to_string(c.dir.join("verifier.toml")).unwrap()
        + "\n[server.rate_limit]\nchallenge = { per_second = 0.1, burst = 3 }\n";
    let url = c.redis.url();
    let env = [("TG_TEST_REDIS_URL", url.as_str())];
    let mut accepted = Vec::new();
    for (name, shared) in [("local", false), ("shared", true)] {
        let cfg = if shared {
            base.replace(
                "command_timeout_ms = 300",
                "command_timeout_ms = 300\nshared_rate_limits = true",
            )
        } else {
            base.clone()
        };
        let path = c.dir.join(format!("{name}.toml"));
        std::fs::write(&path, cfg).unwrap();
        let p = path.to_str().unwrap();
        let x = common::VerifierProcess::spawn(
            &["--config", p],
            &env,
            c.dir.join(format!("{name}-x.log")),
        );
        let y = common::VerifierProcess::spawn(
            &["--config", p],
            &env,
            c.dir.join(format!("{name}-y.log")),
        );
        assert_eq!(wait_status(&c, x.url("/readyz"), 200).await, 200);
        // One client (its own address per run), alternating between the instances.
        let xff = if shared {
            "198.51.100.77"
        } else {
            "198.51.100.66"
        };
        let mut ok = 0;
        for n in 0..10 {
            let v = if n % 2 == 0 { &x } else { &y };
            let r = c
                .http
                .post(v.url("/v1/challenge"))
                .header("origin", ORIGIN)
                .header("x-forwarded-for", xff)
                .json(&json!({"sitekey": "site-a", "action": "login"}))
                .send()
                .await
                .unwrap();
            match r.status().as_u16() {
                200 => ok += 1,
                429 => assert!(r.headers().contains_key("retry-after")),
                s => panic!("{name}: status {s}"),
            }
        }
        accepted.push(ok);
    }
    // Per process: burst 3 at each instance = 6. Shared: 3 in all (one more at most if the run
    // straddles a window edge: the sliding estimate is approximate).
    assert_eq!(accepted[0], 6, "per-process limits: {accepted:?}");
    assert!(
        (3..=4).contains(&accepted[1]),
        "shared limit across both instances: {accepted:?}"
    );
}
