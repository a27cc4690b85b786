//! Attack correlation and hardening through the router (in process, controllable clock): adaptive
//! proof of work, campaign signals (prefix, fingerprint, trace, account via `/v1/outcome`), IP
//! lists, the automation allowlist, per-client rate limits with `X-Forwarded-For`, and — on a
//! real Redis — that no raw address or username is ever stored.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tollgate_protocol::telemetry::{ProbeValue, probe};
use tollgate_testkit::{TelemetrySpec, tamper};
use tower::ServiceExt;
use verifier::challenge::ChallengeReply;
use verifier::config::Settings;
use verifier::correlate::risk;
use verifier::{AppState, ManualClock};

const T0: u64 = 1_800_000_000_000;
const SECRET: &str = "correlation-site-secret-0123";
const ORIGIN: &str = "http://localhost:8080";
const BITS: u8 = 3;

struct H {
    app: Router,
    state: AppState,
    clock: Arc<ManualClock>,
}

fn harness_with(extra: &str, base_dir: &Path) -> H {
    let text = common::config_text(21, 22, 1, SECRET, BITS, extra);
    let settings =
        Settings::from_toml(&text, Path::new("t.toml"), base_dir, &|_| None).expect("valid config");
    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::new(settings, clock.clone());
    H {
        app: verifier::app(state.clone()),
        state,
        clock,
    }
}

fn harness(extra: &str) -> H {
    harness_with(extra, Path::new("."))
}

async fn send(
    app: &Router,
    path: &str,
    body: Value,
    peer: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    if let Some(p) = peer {
        let addr: SocketAddr = format!("{p}:40000")
            .parse()
            .or_else(|_| format!("[{p}]:40000").parse())
            .unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, v)
}

async fn challenge_from(h: &H, ip: &str) -> ChallengeReply {
    let (s, _, v) = send(
        &h.app,
        "/v1/challenge",
        json!({"sitekey": "site-a", "action": "login"}),
        Some(ip),
        &[("origin", ORIGIN)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn verify(h: &H, token: &str, extra: Value) -> Value {
    let mut body = json!({"secret": SECRET, "response": token});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (s, _, v) = send(&h.app, "/v1/siteverify", body, Some("10.9.9.9"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    v
}

fn reasons(v: &Value) -> Vec<String> {
    v["tollgate"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn has(v: &Value, r: &str) -> bool {
    reasons(v).iter().any(|x| x == r)
}

// ---------------------------------------------------------------------------------------------
// Adaptive proof of work

#[tokio::test]
async fn prefix_surge_raises_the_signed_difficulty_and_decays() {
    let h = harness("[correlation]\nprefix_challenges = 5\nip_challenges = 1000\n");
    let mut tiers = Vec::new();
    for n in 1..=25 {
        let r = challenge_from(&h, &format!("198.51.100.{n}")).await;
        // The difficulty the reply announces is the one signed into the challenge.
        let ch = tollgate_protocol::challenge::Challenge::parse(
            &tollgate_protocol::b64_decode(&r.challenge).unwrap(),
        )
        .unwrap();
        assert_eq!((ch.body.pow.k, ch.body.pow.bits), (r.pow.k, r.pow.bits));
        assert_eq!(ch.body.risk_tier & risk::TIER_MASK, r.risk_tier);
        tiers.push((r.risk_tier, r.pow.bits, ch.body.risk_tier));
    }
    assert_eq!(tiers[3], (0, BITS, 0), "below the threshold");
    assert_eq!(tiers[4].0, 1, "5th challenge from the /24: tier 1");
    assert_eq!(tiers[4].1, BITS + 1);
    assert_ne!(tiers[4].2 & risk::SURGE, 0);
    assert_eq!(tiers[19].0, 2, "4x the threshold: tier 2");
    assert_eq!(tiers[19].1, BITS + 2);
    // Another prefix is unaffected.
    let other = challenge_from(&h, "192.0.2.1").await;
    assert_eq!((other.risk_tier, other.pow.bits), (0, BITS));
    // IPv6: the /48 is the prefix.
    for n in 1..=5 {
        let r = challenge_from(&h, &format!("2001:db8:1:{n}::9")).await;
        assert_eq!(r.risk_tier, u8::from(n == 5), "ipv6 #{n}");
    }
    // Two windows later the surge has decayed.
    h.clock.advance_ms(121_000);
    let r = challenge_from(&h, "198.51.100.77").await;
    assert_eq!((r.risk_tier, r.pow.bits), (0, BITS));
    // A token solved at the raised difficulty verifies (PoW is checked against the signed
    // parameters) and carries `campaign-prefix`.
    let mut last = None;
    for n in 1..=6 {
        last = Some(challenge_from(&h, &format!("198.51.100.{n}")).await);
    }
    let reply = last.unwrap();
    assert!(reply.risk_tier >= 1);
    let t = common::login_token(&reply, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({})).await;
    assert_eq!(v["success"], true, "{v}");
    assert!(has(&v, "campaign-prefix"), "{v}");
    assert_eq!(
        v["tollgate"]["features"]["risk_tier"],
        json!(f64::from(reply.risk_tier))
    );
}

#[tokio::test]
async fn one_address_hammering_gets_ip_rate() {
    let h = harness("[correlation]\nip_challenges = 3\nprefix_challenges = 1000\n");
    for n in 1..=4 {
        let r = challenge_from(&h, "198.51.100.9").await;
        let rb = common::risk_byte(&r);
        assert_eq!(rb & risk::IP_RATE != 0, n >= 3, "request {n}: {rb:#x}");
    }
}

#[tokio::test]
async fn no_peer_address_means_no_counters() {
    // In-process use without ConnectInfo (e.g. the demo tests): base difficulty, nothing stored.
    let h = harness("[correlation]\nprefix_challenges = 1\nip_challenges = 1\n");
    let (s, _, v) = send(
        &h.app,
        "/v1/challenge",
        json!({"sitekey": "site-a"}),
        None,
        &[("origin", ORIGIN)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["risk_tier"], 0);
    assert_eq!(v["pow"]["bits"], BITS);
}

// ---------------------------------------------------------------------------------------------
// Campaign signals at siteverify

#[tokio::test]
async fn one_fingerprint_across_many_accounts() {
    let h = harness("[correlation]\nfingerprint_accounts = 3\n");
    let fp = [0x5A; 16];
    for n in 1..=4 {
        let r = challenge_from(&h, &format!("203.0.113.{n}")).await;
        let t = common::login_token(
            &r,
            ORIGIN,
            TelemetrySpec::short_human(f64::from(n)).fingerprint(fp.to_vec()),
        );
        let v = verify(
            &h,
            &t,
            json!({"account": format!("User{n}@Example.com"), "remoteip": format!("203.0.113.{n}")}),
        )
        .await;
        assert_eq!(v["success"], true, "{v}");
        assert_eq!(has(&v, "campaign-fingerprint"), n >= 3, "account {n}: {v}");
        if n >= 3 {
            assert!(v["tollgate"]["score"].as_f64().unwrap() <= 0.6, "{v}");
        }
    }
    // The same account again does not count twice (case and spaces normalised).
    let h = harness("[correlation]\nfingerprint_accounts = 2\n");
    for n in 0..3 {
        let r = challenge_from(&h, "203.0.113.50").await;
        let t = common::login_token(
            &r,
            ORIGIN,
            TelemetrySpec::short_human(f64::from(n)).fingerprint(fp.to_vec()),
        );
        let acct = [
            " alice@example.com",
            "ALICE@example.com",
            "alice@example.com ",
        ][n as usize];
        let v = verify(&h, &t, json!({"account": acct})).await;
        assert!(!has(&v, "campaign-fingerprint"), "{v}");
    }
    // Fingerprint campaigns also mark the address prefix: its next challenges cost more.
    let r = challenge_from(&h, "203.0.113.3").await;
    assert_eq!(r.risk_tier, 0, "other harness, nothing marked");
}

#[tokio::test]
async fn replayed_trace_from_many_sessions() {
    let h = harness("[correlation]\ntrace_sources = 3\n");
    for n in 0..4 {
        let r = challenge_from(&h, "198.51.100.30").await;
        let t = common::login_token(&r, ORIGIN, TelemetrySpec::bow(f64::from(n) * 37.0));
        let v = verify(&h, &t, json!({})).await;
        assert_eq!(v["success"], true, "{v}");
        assert!(
            v["tollgate"]["features"]["trace_hashes"].as_f64().unwrap() >= 1.0,
            "the bow is hashed: {v}"
        );
        assert_eq!(has(&v, "campaign-trace"), n >= 2, "session {n}: {v}");
        let seen = v["tollgate"]["features"]["trace_hashes_seen_elsewhere"]
            .as_f64()
            .unwrap();
        assert_eq!(seen >= 1.0, n >= 1, "replay evidence for the model: {v}");
    }
    // Ordinary different sessions do not trip it.
    let h = harness("[correlation]\ntrace_sources = 2\n");
    for n in 0..3 {
        let r = challenge_from(&h, "198.51.100.31").await;
        let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(f64::from(n)));
        let v = verify(&h, &t, json!({})).await;
        assert!(!has(&v, "campaign-trace"), "{v}");
    }
}

async fn outcome(h: &H, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = send(&h.app, "/v1/outcome", body, Some("10.9.9.9"), &[]).await;
    (s, v)
}

#[tokio::test]
async fn failed_logins_for_one_account_from_many_addresses() {
    let h = harness("[correlation]\naccount_failure_ips = 3\nprefix_failures = 1000\n");
    let victim = "victim@example.com";
    for n in 1..=3 {
        let ip = format!("192.0.2.{}", n * 10);
        let r = challenge_from(&h, &ip).await;
        let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(f64::from(n)));
        let v = verify(&h, &t, json!({"account": victim, "remoteip": ip})).await;
        assert_eq!(v["success"], true);
        assert!(!has(&v, "campaign-account"), "{v}");
        let id = v["tollgate"]["id"].as_str().unwrap().to_string();
        let (s, o) = outcome(
            &h,
            json!({"secret": SECRET, "id": id, "outcome": "failure"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{o}");
        assert_eq!(o["duplicate"], false);
        assert_eq!(
            o["signals"]
                .as_array()
                .unwrap()
                .contains(&json!("campaign-account")),
            n >= 3,
            "{o}"
        );
        // Each id counts once.
        let (_, o) = outcome(
            &h,
            json!({"secret": SECRET, "id": id, "outcome": "failure"}),
        )
        .await;
        assert_eq!(o["duplicate"], true);
    }
    // The next login attempt on that account is flagged wherever it comes from.
    let r = challenge_from(&h, "198.51.100.200").await;
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({"account": "VICTIM@example.com"})).await;
    assert!(has(&v, "campaign-account"), "{v}");
    // Other accounts are not.
    let r = challenge_from(&h, "198.51.100.201").await;
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({"account": "someone@example.com"})).await;
    assert!(!has(&v, "campaign-account"), "{v}");
    // The attacking prefix (last failure's /24) is risk-marked: its challenges get harder.
    let r = challenge_from(&h, "192.0.2.99").await;
    assert!(r.risk_tier >= 1, "{r:?}");
    assert_ne!(common::risk_byte(&r) & risk::MARKED, 0);
}

#[tokio::test]
async fn failed_logins_from_one_prefix_mark_it() {
    let h = harness("[correlation]\nprefix_failures = 3\naccount_failure_ips = 100\n");
    for n in 1..=3 {
        let ip = format!("198.18.7.{n}");
        let r = challenge_from(&h, &ip).await;
        let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(f64::from(n)));
        let v = verify(&h, &t, json!({"remoteip": ip})).await;
        let id = v["tollgate"]["id"].as_str().unwrap();
        let (s, o) = outcome(
            &h,
            json!({"secret": SECRET, "id": id, "outcome": "failure", "account": format!("u{n}")}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            o["signals"]
                .as_array()
                .unwrap()
                .contains(&json!("campaign-prefix")),
            n >= 3,
            "{o}"
        );
    }
    let r = challenge_from(&h, "198.18.7.200").await;
    assert_ne!(common::risk_byte(&r) & risk::MARKED, 0);
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({"remoteip": "198.18.7.200"})).await;
    assert!(has(&v, "campaign-prefix"), "{v}");
}

#[tokio::test]
async fn outcome_endpoint_is_authenticated_and_validated() {
    let h = harness("");
    let r = challenge_from(&h, "192.0.2.1").await;
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({"remoteip": "192.0.2.1"})).await;
    let id = v["tollgate"]["id"].as_str().unwrap().to_string();
    for (body, status, code) in [
        (
            json!({"secret": "wrong-secret-0123456789", "id": id, "outcome": "failure"}),
            401,
            "invalid-secret",
        ),
        (
            json!({"id": id, "outcome": "failure"}),
            401,
            "invalid-secret",
        ),
        (
            json!({"secret": SECRET, "id": "zz", "outcome": "failure"}),
            400,
            "bad-request",
        ),
        (
            json!({"secret": SECRET, "id": id, "outcome": "maybe"}),
            400,
            "bad-request",
        ),
        (
            json!({"secret": SECRET, "id": "00112233445566778899aabbccddeeff", "outcome": "success"}),
            404,
            "unknown-id",
        ),
        // (An over-long `account` is hashed, not refused: tests/api.rs.)
    ] {
        let (s, o) = outcome(&h, body).await;
        assert_eq!(
            (s.as_u16(), o["error"].as_str().unwrap()),
            (status, code),
            "{o}"
        );
    }
    let (s, o) = outcome(
        &h,
        json!({"secret": SECRET, "id": id, "outcome": "success"}),
    )
    .await;
    assert_eq!((s, o["ok"].clone()), (StatusCode::OK, json!(true)));
    // Form bodies work too.
    let req = Request::post("/v1/outcome")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "secret={SECRET}&id={id}&outcome=failure"
        )))
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Records expire with the correlation window.
    h.clock.advance_ms(3_600_001);
    let r2 = challenge_from(&h, "192.0.2.1").await;
    let t2 = common::login_token(&r2, ORIGIN, TelemetrySpec::short_human(0.0));
    let v2 = verify(&h, &t2, json!({})).await;
    let id2 = v2["tollgate"]["id"].as_str().unwrap().to_string();
    h.clock.advance_ms(3_600_001);
    let (s, _) = outcome(
        &h,
        json!({"secret": SECRET, "id": id2, "outcome": "failure"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// IP lists

#[tokio::test]
async fn listed_addresses_are_flagged_and_lists_reload() {
    let dir = common::temp_dir("lists");
    std::fs::write(dir.join("tor.txt"), "# exits\n203.0.113.0/24\n").unwrap();
    std::fs::write(dir.join("hosting.txt"), "198.51.100.0/24\n").unwrap();
    std::fs::write(
        dir.join("asn.tsv"),
        "192.0.2.0\t192.0.2.255\t64500\tZZ\tEXAMPLE-AS\n",
    )
    .unwrap();
    let h = harness_with(
        "[correlation]\ntor_list = \"tor.txt\"\nhosting_list = \"hosting.txt\"\nasn_table = \"asn.tsv\"\nasn_challenges = 3\nprefix_challenges = 1000\nip_challenges = 1000\n",
        &dir,
    );
    let r = challenge_from(&h, "203.0.113.5").await;
    assert_eq!(r.risk_tier, 1);
    assert_ne!(common::risk_byte(&r) & risk::LISTED, 0);
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({"remoteip": "203.0.113.5"})).await;
    assert!(has(&v, "tor-exit"), "{v}");
    // Without remoteip only the signed flag is known.
    let r = challenge_from(&h, "198.51.100.5").await;
    let t = common::login_token(&r, ORIGIN, TelemetrySpec::short_human(0.0));
    let v = verify(&h, &t, json!({})).await;
    assert!(has(&v, "listed-ip"), "{v}");
    // ASN surge: three different /24s... all in one ASN (here one /24 covers the ASN).
    let mut last = 0;
    for n in 1..=3 {
        last = common::risk_byte(&challenge_from(&h, &format!("192.0.2.{n}")).await);
    }
    assert_ne!(last & risk::SURGE, 0, "ASN surge");
    // Edit a list on disk: picked up on the next poll, no restart.
    std::fs::write(
        dir.join("tor.txt"),
        "# exits\n203.0.113.0/24\n100.64.0.0/10\n",
    )
    .unwrap();
    assert!(h.state.runtime().lists.poll() >= 1);
    let r = challenge_from(&h, "100.64.1.1").await;
    assert_ne!(common::risk_byte(&r) & risk::LISTED, 0);
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Allowlisted automation

#[tokio::test]
async fn automation_key_skips_behaviour_scoring_but_not_token_checks() {
    let key = "uptime-monitor-key-0123456789";
    let h = harness(&format!(
        "automation_keys = [{{ name = \"uptime\", key = \"{key}\" }}]\n"
    ));
    let (s, _, v) = send(
        &h.app,
        "/v1/challenge",
        json!({"sitekey": "site-a", "action": "login"}),
        Some("192.0.2.1"),
        &[("origin", ORIGIN), ("tollgate-automation-key", key)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r: ChallengeReply = serde_json::from_value(v).unwrap();
    assert_ne!(common::risk_byte(&r) & risk::AUTOMATION, 0);
    // A headless browser with webdriver set: normally blocked, here allowed.
    let tel = TelemetrySpec::short_human(0.0).probe(probe::WEBDRIVER, ProbeValue::Bool(true));
    let t = common::login_token(&r, ORIGIN, tel.clone());
    let v = verify(&h, &t, json!({})).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["tollgate"]["decision"], "allow");
    assert_eq!(v["tollgate"]["reasons"], json!(["automation-allowlisted"]));
    // Still single use.
    let v = verify(&h, &t, json!({})).await;
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]));
    // Still MAC-checked: a tampered token fails.
    let (s, _, v) = send(
        &h.app,
        "/v1/challenge",
        json!({"sitekey": "site-a", "action": "login"}),
        Some("192.0.2.1"),
        &[("origin", ORIGIN), ("tollgate-automation-key", key)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r: ChallengeReply = serde_json::from_value(v).unwrap();
    // The MAC's last character changed.
    let t = tamper::swap_char(&common::login_token(&r, ORIGIN, tel.clone()), usize::MAX);
    let v = verify(&h, &t, json!({})).await;
    assert_eq!(v["success"], false, "{v}");
    // The same telemetry without the key is blocked as automation.
    let r = challenge_from(&h, "192.0.2.1").await;
    let t = common::login_token(&r, ORIGIN, tel);
    let v = verify(&h, &t, json!({})).await;
    assert_eq!(v["tollgate"]["decision"], "block", "{v}");
    // A wrong key is refused, not silently ignored.
    let (s, _, v) = send(
        &h.app,
        "/v1/challenge",
        json!({"sitekey": "site-a"}),
        Some("192.0.2.1"),
        &[
            ("origin", ORIGIN),
            ("tollgate-automation-key", "uptime-monitor-key-0123456780"),
        ],
    )
    .await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::FORBIDDEN, json!("invalid-automation-key"))
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limits and X-Forwarded-For

#[tokio::test]
async fn challenge_rate_limit_per_client_with_trusted_proxies() {
    let h = harness(
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n[server.rate_limit]\nchallenge = { per_second = 1.0, burst = 3 }\n",
    );
    let ask = |peer: &'static str, xff: Option<&'static str>| {
        let app = h.app.clone();
        async move {
            let mut headers = vec![("origin", ORIGIN)];
            if let Some(x) = xff {
                headers.push(("x-forwarded-for", x));
            }
            send(
                &app,
                "/v1/challenge",
                json!({"sitekey": "site-a"}),
                Some(peer),
                &headers,
            )
            .await
        }
    };
    // Behind the trusted proxy, two clients (right-most untrusted hop) have separate buckets;
    // a forged left-most entry does not matter.
    for _ in 0..3 {
        assert_eq!(
            ask("10.0.0.1", Some("6.6.6.6, 198.51.100.1")).await.0,
            StatusCode::OK
        );
    }
    let (s, headers, v) = ask("10.0.0.1", Some("7.7.7.7, 198.51.100.1")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"], "rate-limited");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        ask("10.0.0.1", Some("198.51.100.2")).await.0,
        StatusCode::OK
    );
    // An untrusted peer cannot pick its identity with the header.
    for _ in 0..3 {
        assert_eq!(
            ask("192.0.2.7", Some("198.51.100.50")).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(
        ask("192.0.2.7", Some("198.51.100.51")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // IPv6 clients are grouped by /64.
    for _ in 0..3 {
        assert_eq!(ask("2001:db8:0:1::1", None).await.0, StatusCode::OK);
    }
    assert_eq!(
        ask("2001:db8:0:1::2", None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Tokens refill with time.
    h.clock.advance_ms(1_000);
    assert_eq!(ask("192.0.2.7", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn siteverify_rate_limit_answers_429_in_siteverify_shape() {
    let h = harness("[server.rate_limit]\nsiteverify = { per_second = 1.0, burst = 2 }\n");
    for _ in 0..2 {
        let (s, _, _) = send(
            &h.app,
            "/v1/siteverify",
            json!({"secret": SECRET, "response": "x"}),
            Some("192.0.2.9"),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, headers, v) = send(
        &h.app,
        "/v1/siteverify",
        json!({"secret": SECRET, "response": "x"}),
        Some("192.0.2.9"),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(v["success"], false);
    assert_eq!(v["error-codes"], json!(["internal-error"]));
    assert_eq!(v["tollgate"]["reasons"], json!(["rate-limited"]));
    // The outcome endpoint shares the siteverify budget.
    let (s, _, v) = send(&h.app, "/v1/outcome", json!({}), Some("192.0.2.9"), &[]).await;
    assert_eq!(
        (s, v["error"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("rate-limited"))
    );
}

#[tokio::test]
async fn cors_preflight_only_for_configured_origins() {
    let h = harness("");
    let pre = |origin: &'static str| {
        let app = h.app.clone();
        async move {
            let req = Request::builder()
                .method("OPTIONS")
                .uri("/v1/challenge")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type, tollgate-automation-key",
                )
                .body(Body::empty())
                .unwrap();
            app.oneshot(req).await.unwrap().headers().clone()
        }
    };
    let ok = pre("https://a.example").await;
    assert_eq!(
        ok.get("access-control-allow-origin").unwrap(),
        "https://a.example"
    );
    let allowed = ok
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("tollgate-automation-key"), "{allowed}");
    let bad = pre("https://evil.example").await;
    assert!(bad.get("access-control-allow-origin").is_none());
    assert!(
        pre("https://a.example.evil.example")
            .await
            .get("access-control-allow-origin")
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Privacy: nothing raw in the store (checked on a real Redis, where everything is visible)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_no_raw_addresses_usernames_or_fingerprints() {
    let Some(server) = common::RedisServer::start() else {
        return;
    };
    let text = common::config_text(
        21,
        22,
        1,
        SECRET,
        BITS,
        &format!(
            "[store]\nbackend = \"redis\"\nurl = \"{}\"\nkey_prefix = \"priv:\"\n",
            server.url()
        ),
    );
    let settings =
        Settings::from_toml(&text, Path::new("t.toml"), Path::new("."), &|_| None).unwrap();
    let clock = Arc::new(ManualClock::new(verifier::clock::Clock::now_ms(
        &verifier::SystemClock,
    )));
    let state = AppState::try_new(settings, clock.clone()).unwrap();
    let h = H {
        app: verifier::app(state.clone()),
        state,
        clock,
    };
    let fp = *b"FINGERPRINT-0123";
    let account = "Carol.Username@Example.org";
    for n in 0..3 {
        let r = challenge_from(&h, "198.51.100.123").await;
        let t = common::login_token(
            &r,
            ORIGIN,
            TelemetrySpec::bow(f64::from(n)).fingerprint(fp.to_vec()),
        );
        let v = verify(
            &h,
            &t,
            json!({"account": account, "remoteip": "203.0.113.77"}),
        )
        .await;
        assert_eq!(v["success"], true, "{v}");
        let id = v["tollgate"]["id"].as_str().unwrap();
        let (s, _) = outcome(
            &h,
            json!({"secret": SECRET, "id": id, "outcome": "failure", "account": account}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let client = redis::Client::open(server.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(keys.len() > 10, "counters were written: {}", keys.len());
    let mut blob: Vec<u8> = Vec::new();
    for k in &keys {
        assert!(k.starts_with(b"priv:"), "{}", String::from_utf8_lossy(k));
        blob.extend_from_slice(k);
        blob.push(b'\n');
        let kind: String = redis::cmd("TYPE")
            .arg(k)
            .query_async(&mut con)
            .await
            .unwrap();
        let vals: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![
                redis::cmd("GET")
                    .arg(k)
                    .query_async(&mut con)
                    .await
                    .unwrap(),
            ],
            "zset" => redis::cmd("ZRANGE")
                .arg(k)
                .arg(0)
                .arg(-1)
                .query_async(&mut con)
                .await
                .unwrap(),
            // Retry records (answer + count) of redemptions that carried `remoteip`.
            "hash" => redis::cmd("HGETALL")
                .arg(k)
                .query_async(&mut con)
                .await
                .unwrap(),
            other => panic!("unexpected type {other}"),
        };
        for v in vals {
            blob.extend_from_slice(&v);
            blob.push(b'\n');
        }
    }
    let text = String::from_utf8_lossy(&blob).to_ascii_lowercase();
    for needle in [
        "198.51.100.123",
        "203.0.113.77",
        "198.51.100.0",
        "203.0.113.0",
        "carol",
        "example.org",
        "fingerprint-0123",
        &hex::encode(fp),
    ] {
        assert!(!text.contains(needle), "{needle} found in the store");
    }
    for needle in [&[198u8, 51, 100, 123][..], &[203, 0, 113, 77], &fp] {
        assert!(
            !blob.windows(needle.len()).any(|w| w == needle),
            "raw bytes {needle:?} found in the store"
        );
    }
}
