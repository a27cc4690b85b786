//! The real binary: secrets never reach its logs (debug level), key rotation without restart
//! (SIGHUP and file polling; removed keys keep verifying until their tokens expire), graceful
//! shutdown lets in-flight requests finish, slow request heads are cut off, and credentials are
//! refused on the command line.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_protocol::b64_encode;
use tollgate_testkit::TelemetrySpec;
use verifier::challenge::ChallengeReply;

const ORIGIN: &str = "http://localhost:8080";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn challenge(
    c: &reqwest::Client,
    v: &common::VerifierProcess,
    headers: &[(&str, &str)],
) -> ChallengeReply {
    let mut req = c
        .post(v.url("/v1/challenge"))
        .header("origin", ORIGIN)
        .json(&json!({"sitekey": "site-a", "action": "login"}));
    for (k, val) in headers {
        req = req.header(*k, *val);
    }
    let (status, reply) = common::json_answer(req).await;
    assert_eq!(status, 200);
    reply
}

/// `POST url` with the JSON `body`: the JSON answer, whatever its status.
async fn post(c: &reqwest::Client, url: String, body: Value) -> Value {
    common::post_json(c, url, &body).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs_at_debug_level() {
    let redis_pw = "redis-pass-Q7w9e2r4t6";
    let Some(redis) = common::RedisServer::start_with(&["--requirepass", redis_pw]) else {
        return;
    };
    let dir = common::temp_dir("secrets");
    let site_secret = "site-secret-Zx81Lm0Qp3Vb";
    let seed = [0x3C; 32];
    let mac = [0x5D; 32];
    let corr = "correlation-secret-Hh2Kk4Nn6Pp8Rr0Tt2Vv4Xx6Zz8";
    let auto_key = "automation-key-Ab9Cd8Ef7Gh6";
    let account = "Secret.Username.4471@example.net";
    let remote = "203.0.113.231";
    let cfg = format!(
        r#"
[[keys]]
id = 3
seed = "{seed}"
mac_secret_env = "TG_MAC"

[[sites]]
sitekey = "site-a"
secret_env = "TG_SITE_SECRET"
allowed_origins = ["http://localhost:*"]
success_when = "valid"
pow = {{ k = 2, bits = 3 }}
automation_keys = [{{ name = "ci", key_env = "TG_AUTO" }}]

[store]
backend = "redis"
url_env = "TG_REDIS_URL"

[correlation]
secret = "{corr}"
"#,
        seed = b64_encode(&seed),
    );
    let path = dir.join("c.toml");
    std::fs::write(&path, &cfg).unwrap();
    let url = format!("redis://:{redis_pw}@127.0.0.1:{}/0", redis.port);
    let mac_b64 = b64_encode(&mac);
    let env = [
        ("TG_MAC", mac_b64.as_str()),
        ("TG_SITE_SECRET", site_secret),
        ("TG_AUTO", auto_key),
        ("TG_REDIS_URL", url.as_str()),
        ("RUST_LOG", "debug"),
    ];
    let v = common::VerifierProcess::spawn(
        &["--config", path.to_str().unwrap()],
        &env,
        dir.join("stderr.log"),
    );
    let c = http();
    let ready = c.get(v.url("/readyz")).send().await.unwrap().status();
    assert_eq!(ready, 200, "authenticated to redis: {}", v.log_text());

    // Exercise every path that touches a secret.
    let r = challenge(&c, &v, &[]).await;
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let ok = post(
        &c,
        v.url("/v1/siteverify"),
        json!({"secret": site_secret, "response": t, "account": account, "remoteip": remote, "idempotency_key": "idem-key-Rt5"}),
    )
    .await;
    assert_eq!(ok["success"], true, "{ok}");
    let id = ok["tollgate"]["id"].as_str().unwrap().to_string();
    let _ = post(
        &c,
        v.url("/v1/siteverify"),
        json!({"secret": site_secret, "response": t}),
    )
    .await;
    let bad = post(
        &c,
        v.url("/v1/siteverify"),
        json!({"secret": format!("{site_secret}-wrong"), "response": t}),
    )
    .await;
    assert_eq!(bad["error-codes"], json!(["invalid-input-secret"]));
    let form = c
        .post(v.url("/v1/siteverify"))
        .form(&[("secret", site_secret), ("response", "garbage")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let o = post(
        &c,
        v.url("/v1/outcome"),
        json!({"secret": site_secret, "id": id, "outcome": "failure", "account": account}),
    )
    .await;
    assert_eq!(o["ok"], true, "{o}");
    let _ = challenge(&c, &v, &[("tollgate-automation-key", auto_key)]).await;
    let _ = c.get(v.url("/metrics")).send().await.unwrap();
    v.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(8);
    while !v.log_text().contains("configuration reloaded") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    v.signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut v = v;
    while Instant::now() < deadline && matches!(v.child.try_wait(), Ok(None)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = v.log_text();
    assert!(log.contains("DEBUG"), "debug logging was on");
    assert!(log.contains("configuration reloaded"), "{log}");

    // `check-config` prints a summary: no secrets either.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(["check-config", "--config", path.to_str().unwrap()])
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{log}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("redis://***@127.0.0.1"),
        "redacted URL shown: {all}"
    );
    for (what, needle) in [
        ("site secret", site_secret.to_string()),
        ("MAC secret (b64)", mac_b64.clone()),
        ("MAC secret (hex)", hex::encode(mac)),
        ("seed (b64)", b64_encode(&seed)),
        ("seed (hex)", hex::encode(seed)),
        ("redis password", redis_pw.to_string()),
        ("correlation secret", corr.to_string()),
        ("automation key", auto_key.to_string()),
        ("idempotency key", "idem-key-Rt5".to_string()),
        ("account", account.to_string()),
        ("account (lower)", account.to_lowercase()),
        ("remote ip", remote.to_string()),
    ] {
        assert!(!all.contains(&needle), "{what} leaked into the logs");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_without_restart() {
    let dir = common::temp_dir("rotate");
    let secret = "rotation-site-secret-0123";
    let key = |id: u32, seed: u8, mac: u8, extra: &str| {
        format!(
            "[[keys]]\nid = {id}\nseed = \"{}\"\nmac_secret = \"{}\"\n{extra}\n",
            b64_encode(&[seed; 32]),
            b64_encode(&[mac; 32])
        )
    };
    let site = |bits: u8| {
        format!(
            "[server]\nconfig_poll_secs = 1\n\n[[sites]]\nsitekey = \"site-a\"\nsecret = \"{secret}\"\nallowed_origins = [\"http://localhost:*\"]\nsuccess_when = \"valid\"\npow = {{ k = 2, bits = {bits} }}\ntoken_lifetime_secs = 3\n"
        )
    };
    let path = dir.join("c.toml");
    std::fs::write(&path, format!("{}{}", key(1, 1, 2, ""), site(3))).unwrap();
    let v =
        common::VerifierProcess::spawn(&["--config", path.to_str().unwrap()], &[], dir.join("log"));
    let c = http();
    let kid_of = |r: &ChallengeReply| {
        tollgate_protocol::challenge::Challenge::parse(
            &tollgate_protocol::b64_decode(&r.challenge).unwrap(),
        )
        .unwrap()
        .body
        .key_id
    };
    let kids = |c: reqwest::Client, url: String| async move {
        let v: Value = c.get(url).send().await.unwrap().json().await.unwrap();
        let mut k: Vec<u64> = v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_u64().unwrap())
            .collect();
        k.sort_unstable();
        k
    };
    let old = challenge(&c, &v, &[]).await;
    assert_eq!(kid_of(&old), 1);
    let old_token = common::login_token(&old, ORIGIN, TelemetrySpec::short_human(0.0));

    // Step 1 (SIGHUP): key 2 pre-published verify-only; key 1 still signs.
    std::fs::write(
        &path,
        format!(
            "{}{}{}",
            key(1, 1, 2, ""),
            key(2, 3, 4, "verify_only = true"),
            site(3)
        ),
    )
    .unwrap();
    v.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while kids(c.clone(), v.url("/v1/keys")).await != vec![1, 2] && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(kids(c.clone(), v.url("/v1/keys")).await, vec![1, 2]);
    assert_eq!(kid_of(&challenge(&c, &v, &[]).await), 1);

    // Step 2 (file change only, no signal): key 1 removed, key 2 signs. New challenges use
    // key 2 at once; the token from key 1 still verifies (kept until its lifetime is over).
    std::fs::write(&path, format!("{}{}", key(2, 3, 4, ""), site(4))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut newer = challenge(&c, &v, &[]).await;
    while kid_of(&newer) != 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        newer = challenge(&c, &v, &[]).await;
    }
    assert_eq!(kid_of(&newer), 2, "mtime polling picked the new file up");
    assert_eq!(newer.pow.bits, 4, "site settings reloaded too");
    assert_eq!(
        kids(c.clone(), v.url("/v1/keys")).await,
        vec![1, 2],
        "key 1 kept verify-only"
    );
    let ok = post(
        &c,
        v.url("/v1/siteverify"),
        json!({"secret": secret, "response": old_token}),
    )
    .await;
    assert!(
        ok["success"] == true || ok["error-codes"] == json!(["timeout-or-duplicate"]),
        "{ok}"
    );
    assert_ne!(
        ok["error-codes"],
        json!(["invalid-input-response"]),
        "old key still verifies: {ok}"
    );
    let t = common::login_token(&newer, ORIGIN, TelemetrySpec::short_human(0.0));
    let ok = post(
        &c,
        v.url("/v1/siteverify"),
        json!({"secret": secret, "response": t}),
    )
    .await;
    assert_eq!(ok["success"], true, "{ok}");

    // Once the longest token lifetime (3 s) has passed, key 1 is dropped.
    let deadline = Instant::now() + Duration::from_secs(8);
    while kids(c.clone(), v.url("/v1/keys")).await != vec![2] && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(kids(c.clone(), v.url("/v1/keys")).await, vec![2]);

    // A broken config changes nothing.
    std::fs::write(&path, "this is [not valid").unwrap();
    v.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(8);
    while !v.log_text().contains("config reload failed") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(v.log_text().contains("config reload failed"));
    assert_eq!(kid_of(&challenge(&c, &v, &[]).await), 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let dir = common::temp_dir("drain");
    let v = common::VerifierProcess::spawn(&[], &[], dir.join("log"));
    let addr = v.addr.clone();
    let result = tokio::task::spawn_blocking(move || {
        let body = r#"{"secret":"tgdev-localhost-secret-not-for-production","response":"xxxxxxxxxxxxxxxx"}"#;
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /v1/siteverify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body.as_bytes()[..10]).unwrap();
        (s, body)
    })
    .await
    .unwrap();
    let (mut s, body) = result;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The request is in flight (half its body sent). Ask the server to stop.
    v.signal("-TERM");
    // No new connections are accepted once the signal is handled...
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&v.addr).is_ok() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        TcpStream::connect(&v.addr).is_err(),
        "listener closed after the signal"
    );
    // ...but the in-flight request completes normally.
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("invalid-input-response"), "{resp}");
    let mut v = v;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(st)) = v.child.try_wait() {
            break Some(st);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "clean exit: {status:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut_off() {
    let dir = common::temp_dir("slow");
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        common::config_text(
            1,
            2,
            1,
            "slow-site-secret-012345",
            3,
            "[server]\nheader_read_timeout_ms = 400\n",
        ),
    )
    .unwrap();
    let v =
        common::VerifierProcess::spawn(&["--config", path.to_str().unwrap()], &[], dir.join("log"));
    let addr = v.addr.clone();
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"POST /v1/siteverify HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let t = Instant::now();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        (t.elapsed(), buf)
    })
    .await
    .unwrap();
    assert!(
        closed_after.0 < Duration::from_secs(3),
        "connection closed by the server after {:?}",
        closed_after.0
    );
    // The server is still fine.
    let st = http().get(v.url("/healthz")).send().await.unwrap().status();
    assert_eq!(st, 200);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn credentials_on_the_command_line_are_refused() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            "redis://:pw@127.0.0.1:1/0",
        ])
        .env_remove("TOLLGATE_STORE")
        .env_remove("TOLLGATE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TOLLGATE_STORE"), "{err}");
    assert!(!err.contains(":pw@"), "{err}");
}

/// `test_keys = true` with a real config: a WARN at start, the test secrets answer over HTTP;
/// without it, no WARN and the test secrets are unknown. The site secret never reaches the log.
#[tokio::test]
async fn test_keys_with_a_config_warn_at_start() {
    let dir = common::temp_dir("testkeys");
    let secret = "site-secret-Tk4Wq8Zr2Lm6";
    let c = http();
    for enabled in [true, false] {
        let path = dir.join(format!("c-{enabled}.toml"));
        let top = if enabled { "test_keys = true\n" } else { "" };
        std::fs::write(
            &path,
            format!("{top}{}", common::config_text(1, 2, 1, secret, 3, "")),
        )
        .unwrap();
        let v = common::VerifierProcess::spawn(
            &["--config", path.to_str().unwrap()],
            &[],
            dir.join(format!("log-{enabled}")),
        );
        let sv = post(
            &c,
            v.url("/v1/siteverify"),
            json!({"secret": "tgtest-secret-always-block", "response": "XXXX.DUMMY.TOKEN.XXXX"}),
        )
        .await;
        let log = v.log_text();
        let warned = log.contains("WARN") && log.contains("test_keys = true");
        assert_eq!(warned, enabled, "{log}");
        assert!(!log.contains(secret), "{log}");
        let want = if enabled {
            "tollgate-decision-block"
        } else {
            "invalid-input-secret"
        };
        assert_eq!(sv["success"], false, "{sv}");
        assert_eq!(sv["error-codes"], json!([want]), "{sv}");

        // `check-config` says so too, and shows each site's success_when.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
            .args(["check-config", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("success_when valid"), "{text}");
        assert_eq!(
            text.contains("WARNING: test_keys = true"),
            enabled,
            "{text}"
        );
    }
}

/// `check-config` names a site whose field-event rules are off (and says nothing when they are on).
#[test]
fn check_config_shows_field_event_rules_off() {
    let dir = common::temp_dir("fieldrules");
    for (extra, off) in [("", false), ("field_event_rules = false", true)] {
        let path = dir.join(format!("c-{off}.toml"));
        std::fs::write(
            &path,
            common::config_text(1, 2, 1, "site-secret-Fe7Qp3Xv9Ln2", 3, extra),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
            .args(["check-config", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.contains("field_event_rules off"), off, "{text}");
    }
}
