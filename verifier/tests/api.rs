//! HTTP API tests: real tokens built with the protocol crate, driven through the router with
//! `tower::ServiceExt::oneshot`, on a controllable clock. Covers every siteverify error code.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use tollgate_protocol::challenge::{Challenge, ChallengeBody, PowParams};
use tollgate_protocol::telemetry::{Probe, ProbeValue, probe};
use tollgate_protocol::{b64_decode, b64_encode, pow};
use tollgate_testkit::{ChallengeSpec, TelemetrySpec, TokenSpec, tamper};
use tower::ServiceExt;
use verifier::challenge::ChallengeReply;
use verifier::config::Settings;
use verifier::{AppState, ManualClock};

const T0: u64 = 1_800_000_000_000;
const SECRET_A: &str = "site-a-secret-0123456789";
const SECRET_B: &str = "site-b-secret-0123456789";
const SECRET_FULL: &str = "site-full-secret-0123456789";
const SECRET_STRICT: &str = "site-strict-secret-0123456789";
const SECRET_AOC: &str = "site-aoc-secret-0123456789";
const SECRET_NOFIELD: &str = "site-nofield-secret-0123456789";
const ORIGIN_A: &str = "http://localhost:8080";

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}
fn mac_secret(n: u8) -> [u8; 32] {
    [0x40 + n; 32]
}

fn config() -> String {
    format!(
        r#"
[[keys]]
id = 1
seed = "{s1}"
mac_secret = "{m1}"

[[keys]]
id = 2
seed = "{s2}"
mac_secret = "{m2}"

[[keys]]
id = 3
seed = "{s3}"
mac_secret = "{m3}"
verify_only = true

[[sites]]
sitekey = "site-a"
secret = "{SECRET_A}"
allowed_origins = ["http://localhost:*", "https://a.example"]
success_when = "valid"
pow = {{ k = 4, bits = 4 }}

[[sites]]
sitekey = "site-b"
secret = "{SECRET_B}"
allowed_origins = ["https://b.example"]
success_when = "valid"
pow = {{ k = 4, bits = 4 }}

[[sites]]
sitekey = "site-full"
secret = "{SECRET_FULL}"
allowed_origins = ["https://full.example"]
success_when = "valid"
pow = {{ k = 2, bits = 2 }}
token_lifetime_secs = 60
store_capacity = 1

# success_when left at its default (allow)
[[sites]]
sitekey = "site-strict"
secret = "{SECRET_STRICT}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 4, bits = 4 }}

[[sites]]
sitekey = "site-aoc"
secret = "{SECRET_AOC}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 4, bits = 4 }}
success_when = "allow-or-challenge"

[[sites]]
sitekey = "site-nofield"
secret = "{SECRET_NOFIELD}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 4, bits = 4 }}
success_when = "valid"
field_event_rules = false
"#,
        s1 = b64_encode(&seed(1)),
        s2 = b64_encode(&seed(2)),
        s3 = b64_encode(&seed(3)),
        m1 = b64_encode(&mac_secret(1)),
        m2 = b64_encode(&mac_secret(2)),
        m3 = b64_encode(&mac_secret(3)),
    )
}

/// The global metrics recorder, installed once per test binary.
fn prometheus() -> PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("first and only recorder")
    })
    .clone()
}

struct Harness {
    app: Router,
    clock: Arc<ManualClock>,
}

fn harness() -> Harness {
    harness_from(
        Settings::from_toml(&config(), Path::new("test.toml"), Path::new("."), &|_| None)
            .expect("test config is valid"),
    )
}

fn harness_from(settings: Settings) -> Harness {
    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::new(settings, clock.clone());
    state.set_prometheus(prometheus());
    Harness {
        app: verifier::app(state),
        clock,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

async fn request_challenge(app: &Router, origin: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = Request::post("/v1/challenge").header(header::CONTENT_TYPE, "application/json");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let (status, _, bytes) = send(app, req.body(Body::from(body.to_string())).unwrap()).await;
    (
        status,
        serde_json::from_slice(&bytes).expect("challenge endpoint answers JSON"),
    )
}

async fn challenge(
    h: &Harness,
    sitekey: &str,
    origin: &str,
    action: &str,
    cdata: &str,
) -> ChallengeReply {
    let (status, v) = request_challenge(
        &h.app,
        Some(origin),
        json!({"sitekey": sitekey, "action": action, "cdata": cdata}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).expect("challenge reply shape")
}

/// A token from `origin` for `action`/`cdata` carrying the human-like login telemetry.
fn token_spec(origin: &str, action: &str, cdata: &str) -> TokenSpec {
    TokenSpec::new(origin, action, cdata).telemetry(TelemetrySpec::human_login().build())
}

/// Solve the reply's challenge and seal a token the way the collector does.
fn seal(reply: &ChallengeReply, spec: &TokenSpec) -> String {
    spec.seal_reply(&reply.challenge, &reply.token_key).unwrap()
}

fn challenge_id(reply: &ChallengeReply) -> [u8; 16] {
    Challenge::parse(&b64_decode(&reply.challenge).unwrap())
        .unwrap()
        .body
        .challenge_id
}

/// A challenge forged with the test's own copy of a configured key (or any key), for cases the
/// public endpoint refuses to issue.
fn forged_token(
    kid: u32,
    signing_seed: [u8; 32],
    mac: [u8; 32],
    sitekey: &str,
    challenge_origin: &str,
    spec: &TokenSpec,
) -> String {
    let c = ChallengeSpec::new(sitekey)
        .key_id(kid)
        .signing_seed(signing_seed)
        .challenge_id([0xA5 ^ kid as u8; 16])
        .issued_at(T0)
        .pow(4, 4)
        .origin(challenge_origin)
        .action(&spec.action)
        .cdata(&spec.cdata)
        .sign();
    spec.seal(c.wire(), &c.token_key(&mac)).unwrap()
}

async fn siteverify_raw(
    app: &Router,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::post(path);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let (status, headers, bytes) = send(app, req.body(body.into()).unwrap()).await;
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    (status, bytes)
}

async fn siteverify(app: &Router, fields: Value) -> Value {
    let (status, bytes) = siteverify_raw(
        app,
        "/v1/siteverify",
        Some("application/json"),
        fields.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "siteverify always answers 200");
    serde_json::from_slice(&bytes).unwrap()
}

async fn verify_token(app: &Router, secret: &str, token: &str) -> Value {
    siteverify(app, json!({"secret": secret, "response": token})).await
}

fn codes(v: &Value) -> Vec<String> {
    v["error-codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn assert_fails(v: &Value, code: &str, reason: &str) {
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(codes(v), vec![code.to_string()], "{v}");
    assert_eq!(v["tollgate"]["decision"], "block", "{v}");
    assert_eq!(v["tollgate"]["reasons"], json!([reason]), "{v}");
    assert!(
        v.get("hostname").is_none() && v.get("action").is_none(),
        "{v}"
    );
}

#[track_caller]
fn assert_success(v: &Value) {
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(codes(v), Vec::<String>::new(), "{v}");
}

// ---------------------------------------------------------------------------------------------
// Happy paths and body formats

#[tokio::test]
async fn happy_path_json() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "login", "order-42").await;
    assert_eq!(reply.pow.k, 4);
    assert_eq!(reply.issued_at, T0);
    assert_eq!(reply.expires_at, T0 + 300_000);
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", "order-42"));
    let v = verify_token(&h.app, SECRET_A, &token).await;
    assert_success(&v);
    assert_eq!(v["hostname"], "localhost");
    assert_eq!(v["action"], "login");
    assert_eq!(v["cdata"], "order-42");
    assert_eq!(v["challenge_ts"], "2027-01-15T08:00:00.000Z");
    let t = &v["tollgate"];
    assert_eq!(t["id"], hex::encode(challenge_id(&reply)));
    assert_eq!(t["decision"], "allow", "{v}");
    let score = t["score"].as_f64().unwrap();
    assert!((0.6..=1.0).contains(&score), "{v}");
    let reasons = t["reasons"].as_array().unwrap();
    for hard in ["automation", "behaviour", "tampered", "inconsistent"] {
        assert!(!reasons.iter().any(|r| r == hard), "{v}");
    }
    assert!(
        t["contributions"]
            .as_object()
            .is_some_and(|c| !c.is_empty()),
        "{v}"
    );
    for f in ["pointer_events", "key_events", "solve_ms", "token_bytes"] {
        assert!(t["features"][f].is_number(), "feature {f} missing: {v}");
    }
    assert_eq!(t["features"]["pointer_events"], 62.0);
    assert_eq!(t["features"]["key_events"], 14.0);
    assert_eq!(t["features"]["solve_ms"], 420.0);
    assert_eq!(
        t["features"]["token_bytes"],
        b64_decode(&token).unwrap().len() as f64
    );
}

/// An `account` of any length (bounded only by the body limit) is hashed like any other, in
/// siteverify and in `/v1/outcome`: never a failed siteverify (issue 12, item 8). A blank one
/// counts as absent.
#[tokio::test]
async fn over_long_account_is_hashed_not_refused() {
    let h = harness();
    let long = "Ü".repeat(150); // 300 bytes
    let huge = format!("{}@example.com", "a".repeat(20_000)); // over the 4 KiB hash limit
    for (i, account) in [long.as_str(), huge.as_str(), "   "]
        .into_iter()
        .enumerate()
    {
        let reply = challenge(&h, "site-a", ORIGIN_A, "login", "").await;
        let token = seal(&reply, &token_spec(ORIGIN_A, "login", ""));
        let v = siteverify(
            &h.app,
            json!({"secret": SECRET_A, "response": token, "account": account}),
        )
        .await;
        assert_success(&v);
        // The outcome of the same login, with the same account, is accepted too (when it fits
        // the outcome body limit).
        if account.len() < 4096 {
            let (status, _, bytes) = send(
                &h.app,
                Request::post("/v1/outcome")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        json!({"secret": SECRET_A, "id": v["tollgate"]["id"], "outcome": "failure", "account": account})
                            .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "case {i}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    // The same over-long account as a form field.
    let reply = challenge(&h, "site-a", ORIGIN_A, "login", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", ""));
    let body = format!(
        "secret={SECRET_A}&response={token}&account={}",
        "x".repeat(5000)
    );
    let (status, bytes) = siteverify_raw(
        &h.app,
        "/v1/siteverify",
        Some("application/x-www-form-urlencoded"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_success(&serde_json::from_slice(&bytes).unwrap());
}

#[tokio::test]
async fn turnstile_alias_and_url_encoded_form() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "", ""));
    // Tokens are base64url: no escaping needed in a form body. `remoteip` and unknown keys are ignored.
    let body = format!("secret={SECRET_A}&response={token}&remoteip=203.0.113.9&sitekey=site-a");
    let (status, bytes) = siteverify_raw(
        &h.app,
        "/turnstile/v0/siteverify",
        Some("application/x-www-form-urlencoded"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_success(&v);
    assert_eq!(v["action"], "");
}

#[tokio::test]
async fn multipart_body() {
    let h = harness();
    let reply = challenge(&h, "site-a", "https://a.example", "signup", "").await;
    let token = seal(&reply, &token_spec("https://a.example", "signup", ""));
    let boundary = "----tollgate-test-boundary";
    let mut body = String::new();
    for (name, value) in [
        ("secret", SECRET_A),
        ("response", token.as_str()),
        ("extra", "ignored"),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let ct = format!("multipart/form-data; boundary={boundary}");
    let (_, bytes) = siteverify_raw(&h.app, "/v1/siteverify", Some(&ct), body).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_success(&v);
    assert_eq!(v["hostname"], "a.example");
    assert_eq!(v["action"], "signup");
}

#[tokio::test]
async fn body_without_content_type_is_sniffed() {
    let h = harness();
    let r1 = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let r2 = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let t1 = seal(&r1, &token_spec(ORIGIN_A, "", ""));
    let t2 = seal(&r2, &token_spec(ORIGIN_A, "", ""));
    let (_, b) = siteverify_raw(
        &h.app,
        "/v1/siteverify",
        None,
        json!({"secret": SECRET_A, "response": t1}).to_string(),
    )
    .await;
    assert_success(&serde_json::from_slice(&b).unwrap());
    let (_, b) = siteverify_raw(
        &h.app,
        "/v1/siteverify",
        None,
        format!("secret={SECRET_A}&response={t2}"),
    )
    .await;
    assert_success(&serde_json::from_slice(&b).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Single use, idempotency, expiry

#[tokio::test]
async fn replay_is_timeout_or_duplicate() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "login", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", ""));
    assert_success(&verify_token(&h.app, SECRET_A, &token).await);
    let again = verify_token(&h.app, SECRET_A, &token).await;
    assert_fails(&again, "timeout-or-duplicate", "duplicate");
    assert_eq!(again["tollgate"]["id"], hex::encode(challenge_id(&reply)));
}

#[tokio::test]
async fn idempotency_key_returns_the_same_answer() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "login", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", ""));
    let key = "6f1c2d3e-0000-4000-8000-123456789abc";
    let fields = json!({"secret": SECRET_A, "response": token, "idempotency_key": key});
    let (_, first) = siteverify_raw(
        &h.app,
        "/v1/siteverify",
        Some("application/json"),
        fields.to_string(),
    )
    .await;
    assert_success(&serde_json::from_slice(&first).unwrap());
    h.clock.advance_ms(5_000);
    let (_, second) = siteverify_raw(
        &h.app,
        "/v1/siteverify",
        Some("application/json"),
        fields.to_string(),
    )
    .await;
    assert_eq!(
        first, second,
        "same key + same token ⇒ byte-identical stored answer"
    );
    let other_key = siteverify(
        &h.app,
        json!({"secret": SECRET_A, "response": token, "idempotency_key": "other"}),
    )
    .await;
    assert_fails(&other_key, "timeout-or-duplicate", "duplicate");
    let no_key = verify_token(&h.app, SECRET_A, &token).await;
    assert_fails(&no_key, "timeout-or-duplicate", "duplicate");
}

#[tokio::test]
async fn idempotency_key_added_after_a_keyless_use_does_not_help() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "", ""));
    assert_success(&verify_token(&h.app, SECRET_A, &token).await);
    let v = siteverify(
        &h.app,
        json!({"secret": SECRET_A, "response": token, "idempotency_key": "k"}),
    )
    .await;
    assert_fails(&v, "timeout-or-duplicate", "duplicate");
}

#[tokio::test]
async fn expired_challenge_is_timeout_or_duplicate() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "", ""));
    h.clock.set(reply.expires_at);
    let v = verify_token(&h.app, SECRET_A, &token).await;
    assert_fails(&v, "timeout-or-duplicate", "expired");
    // One millisecond earlier it would have been fine (and the failed attempt did not burn it).
    h.clock.set(reply.expires_at - 1);
    assert_success(&verify_token(&h.app, SECRET_A, &token).await);
}

// ---------------------------------------------------------------------------------------------
// Missing inputs, secrets, sites

#[tokio::test]
async fn missing_inputs() {
    let h = harness();
    let v = siteverify(&h.app, json!({"response": "abc"})).await;
    assert_eq!(codes(&v), ["missing-input-secret"]);
    assert_eq!(v["success"], false);
    let v = siteverify(&h.app, json!({"secret": SECRET_A})).await;
    assert_eq!(codes(&v), ["missing-input-response"]);
    let v = siteverify(&h.app, json!({"secret": SECRET_A, "response": ""})).await;
    assert_eq!(codes(&v), ["missing-input-response"]);
    let v = siteverify(&h.app, json!({})).await;
    assert_eq!(
        codes(&v),
        ["missing-input-secret", "missing-input-response"]
    );
    // Missing inputs are reported before the secret is even looked up.
    let v = siteverify(&h.app, json!({"secret": "wrong"})).await;
    assert_eq!(codes(&v), ["missing-input-response"]);
}

#[tokio::test]
async fn wrong_secret_is_invalid_input_secret() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "", ""));
    for secret in [
        "nope",
        &SECRET_A[..SECRET_A.len() - 1],
        &format!("{SECRET_A}x"),
    ] {
        let v = verify_token(&h.app, secret, &token).await;
        assert_fails(&v, "invalid-input-secret", "unknown-secret");
        assert!(
            v["tollgate"]["id"].is_null(),
            "nothing about the token leaks before the secret is known"
        );
    }
    // Garbage does not burn the token.
    assert_success(&verify_token(&h.app, SECRET_A, &token).await);
}

#[tokio::test]
async fn token_from_another_site_is_invalid_input_response() {
    let h = harness();
    let reply = challenge(&h, "site-b", "https://b.example", "", "").await;
    let token = seal(&reply, &token_spec("https://b.example", "", ""));
    let v = verify_token(&h.app, SECRET_A, &token).await;
    assert_fails(&v, "invalid-input-response", "wrong-site");
    assert_success(&verify_token(&h.app, SECRET_B, &token).await);
}

// ---------------------------------------------------------------------------------------------
// Token integrity

#[tokio::test]
async fn malformed_tokens_are_invalid_input_response() {
    let h = harness();
    for garbage in ["XXXX.DUMMY.TOKEN.XXXX", "AAAA", "!!!", &"A".repeat(40_000)] {
        let v = verify_token(&h.app, SECRET_A, garbage).await;
        assert_fails(&v, "invalid-input-response", "malformed-token");
    }
}

#[tokio::test]
async fn wrong_origin_is_invalid_input_response() {
    let h = harness();
    // Token claims a different origin than the challenge was issued for.
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let token = seal(&reply, &token_spec("http://localhost:9999", "", ""));
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "origin-mismatch",
    );
    // Consistent challenge + token for an origin the site does not allow (forged with a known key:
    // the endpoint itself refuses to issue it).
    let spec = token_spec("https://evil.example", "", "");
    let token = forged_token(
        2,
        seed(2),
        mac_secret(2),
        "site-a",
        "https://evil.example",
        &spec,
    );
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "origin-not-allowed",
    );
    // The same forge with an allowed origin passes: the previous failure was the origin alone.
    let spec = token_spec("https://a.example", "", "");
    let token = forged_token(
        2,
        seed(2),
        mac_secret(2),
        "site-a",
        "https://a.example",
        &spec,
    );
    assert_success(&verify_token(&h.app, SECRET_A, &token).await);
}

#[tokio::test]
async fn action_and_cdata_must_match_the_challenge() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "login", "c1").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "signup", "c1"));
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "action-mismatch",
    );
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", "c2"));
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "cdata-mismatch",
    );
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", "c1"));
    assert_success(&verify_token(&h.app, SECRET_A, &token).await);
}

#[tokio::test]
async fn tampered_mac_is_invalid_input_response() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let good = seal(&reply, &token_spec(ORIGIN_A, "", ""));
    assert_fails(
        &verify_token(&h.app, SECRET_A, &tamper::flip_last_bit(&good).unwrap()).await,
        "invalid-input-response",
        "bad-mac",
    );
    // Sealed with a key that is not the challenge's token key.
    let wire = b64_decode(&reply.challenge).unwrap();
    let forged = token_spec(ORIGIN_A, "", "").seal(&wire, &[9; 32]).unwrap();
    assert_fails(
        &verify_token(&h.app, SECRET_A, &forged).await,
        "invalid-input-response",
        "bad-mac",
    );
    // Telemetry changed after sealing (re-encoded body, old MAC).
    assert_success(&verify_token(&h.app, SECRET_A, &good).await);
}

#[tokio::test]
async fn bad_pow_is_invalid_input_response() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let wire = b64_decode(&reply.challenge).unwrap();
    let params = PowParams { k: 4, bits: 4 };
    let key: [u8; 32] = b64_decode(&reply.token_key).unwrap().try_into().unwrap();
    let mut solutions = pow::solve_all(&wire, params).unwrap();
    // Replace solution 2 with a nonce that fails it.
    let s = pow::seed(&wire);
    let p2 = pow::prefix(&s, 2, params.bits);
    solutions[2] = (0u64..)
        .find(|&n| !pow::meets(pow::first_word(&p2, n), params.bits))
        .unwrap();
    let spec = token_spec(ORIGIN_A, "", "");
    let bad = spec.seal_solved(&wire, solutions.clone(), &key).unwrap();
    assert_fails(
        &verify_token(&h.app, SECRET_A, &bad).await,
        "invalid-input-response",
        "bad-pow",
    );
    // Too few solutions.
    let short = spec
        .seal_solved(&wire, solutions[..3].to_vec(), &key)
        .unwrap();
    assert_fails(
        &verify_token(&h.app, SECRET_A, &short).await,
        "invalid-input-response",
        "bad-pow",
    );
    // Failed attempts did not burn the challenge.
    assert_success(&verify_token(&h.app, SECRET_A, &seal(&reply, &spec)).await);
}

#[tokio::test]
async fn tampered_or_foreign_challenge_signature_is_rejected() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let key: [u8; 32] = b64_decode(&reply.token_key).unwrap().try_into().unwrap();
    let mut c = Challenge::parse(&b64_decode(&reply.challenge).unwrap()).unwrap();
    c.body.expires_at_ms += 3_600_000; // try to extend the lifetime
    let spec = token_spec(ORIGIN_A, "", "");
    let token = spec.seal(&c.to_bytes(), &key).unwrap();
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "bad-signature",
    );
    // Signed by a key the verifier does not have, under a configured key id (a foreign issuer:
    // its MAC secret is not ours either — the MAC secret is signing-grade, ARCHITECTURE.md).
    let token = forged_token(2, [0x77; 32], [0x78; 32], "site-a", ORIGIN_A, &spec);
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "bad-signature",
    );
    // Unknown key id.
    let token = forged_token(99, seed(2), mac_secret(2), "site-a", ORIGIN_A, &spec);
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "unknown-key",
    );
}

#[tokio::test]
async fn modified_and_resigned_challenge_with_a_reused_token_key_is_rejected() {
    // The token key is bound to the whole signed challenge, not only its id: even a challenge
    // re-signed with the verifier's own signing key (a leaked Ed25519 seed, or a second issuer
    // sharing it) does not accept the token key handed out for the original challenge.
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let key: [u8; 32] = b64_decode(&reply.token_key).unwrap().try_into().unwrap();
    let issued = Challenge::parse(&b64_decode(&reply.challenge).unwrap()).unwrap();
    assert_eq!(issued.body.key_id, 2);
    let spec = token_spec(ORIGIN_A, "", "");
    let tamper: [fn(&mut ChallengeBody); 4] = [
        |b| b.expires_at_ms += 3_600_000,
        |b| b.pow.bits = 1,
        |b| b.risk_tier |= 0x80,
        |b| b.issued_at_ms += 1,
    ];
    for t in tamper {
        let mut body = issued.body.clone();
        t(&mut body);
        let resigned = Challenge::sign(body.clone(), &SigningKey::from_bytes(&seed(2)));
        assert!(
            resigned
                .verify(|_| Some(SigningKey::from_bytes(&seed(2)).verifying_key()))
                .is_ok()
        );
        let token = spec.seal(&resigned.to_bytes(), &key).unwrap();
        assert_fails(
            &verify_token(&h.app, SECRET_A, &token).await,
            "invalid-input-response",
            "bad-mac",
        );
    }
    // Same body, signature bytes changed: the key is bound to them too (and the signature fails).
    let mut other = issued.clone();
    other.signature[0] ^= 1;
    let token = spec.seal(&other.to_bytes(), &key).unwrap();
    assert_fails(
        &verify_token(&h.app, SECRET_A, &token).await,
        "invalid-input-response",
        "bad-signature",
    );
    // The untouched challenge with the same key still verifies (nothing above burned it).
    assert_success(&verify_token(&h.app, SECRET_A, &seal(&reply, &spec)).await);
}

#[tokio::test]
async fn legacy_id_bound_token_key_needs_a_valid_signature() {
    // Tokens of challenges issued before the token key was bound to the whole challenge (key =
    // HMAC(secret, key id ‖ challenge id)) still verify, but only with the signature checked.
    let h = harness();
    let spec = token_spec(ORIGIN_A, "", "");
    let legacy = |signing: [u8; 32], expires_extra: u64| {
        let c = ChallengeSpec::new("site-a")
            .key_id(2)
            .signing_seed(signing)
            .challenge_id([0x3C; 16])
            .issued_at(T0)
            .expires_at(T0 + 300_000 + expires_extra)
            .pow(4, 4)
            .origin(ORIGIN_A)
            .sign();
        spec.seal(c.wire(), &c.legacy_token_key(&mac_secret(2)))
            .unwrap()
    };
    // Signed by a key the verifier does not have: rejected whatever the MAC.
    assert_fails(
        &verify_token(&h.app, SECRET_A, &legacy([0x55; 32], 0)).await,
        "invalid-input-response",
        "bad-signature",
    );
    assert_success(&verify_token(&h.app, SECRET_A, &legacy(seed(2), 0)).await);
}

#[tokio::test]
async fn key_rotation_newest_signs_all_verify() {
    let h = harness();
    // Key 3 is verify_only (pre-published), so key 2 signs.
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let c = Challenge::parse(&b64_decode(&reply.challenge).unwrap()).unwrap();
    assert_eq!(c.body.key_id, 2);
    let spec = token_spec(ORIGIN_A, "", "");
    // Tokens under the older key 1 and the pre-published key 3 still verify.
    for (kid, n) in [(1u32, 1u8), (3, 3)] {
        let token = forged_token(kid, seed(n), mac_secret(n), "site-a", ORIGIN_A, &spec);
        assert_success(&verify_token(&h.app, SECRET_A, &token).await);
        // The MAC secret is per key id: another key's MAC secret does not verify.
        let token = forged_token(
            kid,
            seed(n),
            mac_secret(1 + n % 3),
            "site-a",
            ORIGIN_A,
            &spec,
        );
        assert_fails(
            &verify_token(&h.app, SECRET_A, &token).await,
            "invalid-input-response",
            "bad-mac",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies

#[tokio::test]
async fn oversized_body_is_bad_request() {
    let h = harness();
    let big = json!({"secret": SECRET_A, "response": "A".repeat(70 * 1024)}).to_string();
    let (status, bytes) =
        siteverify_raw(&h.app, "/v1/siteverify", Some("application/json"), big).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_fails(&v, "bad-request", "body-too-large");
}

#[tokio::test]
async fn malformed_bodies_are_bad_request() {
    let h = harness();
    let cases: [(&str, &str); 5] = [
        ("application/json", "{\"secret\": "),
        ("application/json", "[1,2,3]"),
        ("application/json", "{\"secret\": 5, \"response\": \"x\"}"),
        ("multipart/form-data; boundary=zzz", "this is not multipart"),
        (
            "application/x-www-form-urlencoded",
            "secret=a&secret=b&response=c",
        ),
    ];
    for (ct, body) in cases {
        let (status, bytes) =
            siteverify_raw(&h.app, "/v1/siteverify", Some(ct), body.to_string()).await;
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_fails(&v, "bad-request", "malformed-body");
    }
}

#[tokio::test]
async fn every_endpoint_answers_its_own_body_limit() {
    let h = harness();
    // Challenge (4 KiB) and outcome (8 KiB): 400 bad-request.
    let big = json!({"sitekey": "site-a", "cdata": "x".repeat(5 * 1024)});
    assert_eq!(
        request_challenge(&h.app, Some(ORIGIN_A), big).await,
        (StatusCode::BAD_REQUEST, json!({"error": "bad-request"}))
    );
    let big = json!({"secret": SECRET_A, "id": "00", "outcome": "x".repeat(9 * 1024)}).to_string();
    let (status, _, body) = send(
        &h.app,
        Request::post("/v1/outcome")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"error": "bad-request"})
    );
    // Siteverify (64 KiB) with a declared length: still the Turnstile answer, not a bare 413.
    let big = json!({"secret": SECRET_A, "response": "A".repeat(70 * 1024)}).to_string();
    let (status, headers, body) = send(
        &h.app,
        Request::post("/turnstile/v0/siteverify")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_fails(
        &serde_json::from_slice(&body).unwrap(),
        "bad-request",
        "body-too-large",
    );
    // Above the global cap (128 KiB) with a declared length: 413 before any handler.
    let huge = "A".repeat(200 * 1024);
    let (status, _, _) = send(
        &h.app,
        Request::post("/v1/siteverify")
            .header(header::CONTENT_LENGTH, huge.len())
            .body(Body::from(huge))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn outcome_accepts_json_and_form_with_typed_errors() {
    let h = harness();
    for (ct, body) in [
        ("application/json", "{\"secret\": ".to_string()),
        (
            "text/plain",
            format!("secret={SECRET_A}&id=00&outcome=success"),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("secret={SECRET_A}&secret={SECRET_A}"),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("secret={SECRET_A}&id=zz&outcome=success"),
        ),
    ] {
        let (status, _, bytes) = send(
            &h.app,
            Request::post("/v1/outcome")
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct} {body}");
        assert_eq!(
            serde_json::from_slice::<Value>(&bytes).unwrap(),
            json!({"error": "bad-request"})
        );
    }
    let id = "00112233445566778899aabbccddeeff";
    for (ct, body, want) in [
        (
            "application/x-www-form-urlencoded",
            "secret=wrong&id=00&outcome=success".to_string(),
            (StatusCode::UNAUTHORIZED, "invalid-secret"),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("secret={SECRET_A}&id={id}&outcome=success"),
            (StatusCode::NOT_FOUND, "unknown-id"),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("secret={}&id={id}&outcome=fail%75re", SECRET_A),
            (StatusCode::NOT_FOUND, "unknown-id"),
        ),
    ] {
        let (status, _, bytes) = send(
            &h.app,
            Request::post("/v1/outcome")
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
        assert_eq!(
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap()["error"].clone()
            ),
            (want.0, json!(want.1)),
            "{body}"
        );
    }
}

/// A request body that never ends (one chunk, then nothing).
struct Stalled(bool);

impl hyper::body::Body for Stalled {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(
                axum::body::Bytes::from_static(b"{\"secret\": "),
            ))))
        }
    }
}

/// Reading a body takes at most `BODY_TIMEOUT` in total (before the request timeout): then the
/// endpoint's bad-request answer.
#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_cut_off_after_the_body_timeout() {
    let h = harness();
    let started = tokio::time::Instant::now();
    let (status, _, body) = send(
        &h.app,
        Request::post("/v1/siteverify")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::new(Stalled(false)))
            .unwrap(),
    )
    .await;
    assert_eq!(started.elapsed(), verifier::BODY_TIMEOUT);
    assert_eq!(status, StatusCode::OK);
    assert_fails(
        &serde_json::from_slice(&body).unwrap(),
        "bad-request",
        "body-unreadable",
    );
    for path in ["/v1/challenge", "/v1/outcome"] {
        let (status, _, body) = send(
            &h.app,
            Request::post(path)
                .header(header::ORIGIN, ORIGIN_A)
                .body(Body::new(Stalled(false)))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"error": "bad-request"})
        );
    }
}

fn rate_limited_harness(peer: &str) -> Router {
    let toml = format!(
        "[server.rate_limit]\nchallenge = {{ per_second = 0.001, burst = 2 }}\n\
         siteverify = {{ per_second = 0.001, burst = 2 }}\n{}",
        config()
    );
    let settings = Settings::from_toml(&toml, Path::new("test.toml"), Path::new("."), &|_| None)
        .expect("test config is valid");
    let state = AppState::new(settings, Arc::new(ManualClock::new(T0)));
    state.set_prometheus(prometheus());
    verifier::server::with_peer(verifier::app(state), peer.parse().unwrap())
}

#[tokio::test]
async fn rate_limits_answer_per_endpoint_and_share_the_siteverify_group() {
    let app = rate_limited_harness("192.0.2.7:4000");
    let ok = json!({"sitekey": "site-a"});
    for _ in 0..2 {
        assert_eq!(
            request_challenge(&app, Some(ORIGIN_A), ok.clone()).await.0,
            StatusCode::OK
        );
    }
    // A wrong method is a plain 405 and takes no token.
    let get = || Request::get("/v1/challenge").body(Body::empty()).unwrap();
    assert_eq!(send(&app, get()).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let (status, headers, body) = send(
        &app,
        Request::post("/v1/challenge")
            .header(header::ORIGIN, ORIGIN_A)
            .body(Body::from("not even json"))
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "before the body is read"
    );
    assert!(
        headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"error": "rate-limited"})
    );
    assert_eq!(send(&app, get()).await.0, StatusCode::METHOD_NOT_ALLOWED);

    // Siteverify and its Turnstile alias draw from one bucket, separate from the challenge one.
    for path in ["/v1/siteverify", "/turnstile/v0/siteverify"] {
        let (status, _) =
            siteverify_raw(&app, path, Some("application/json"), "{}".to_string()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = send(
        &app,
        Request::post("/v1/siteverify")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(headers.contains_key(header::RETRY_AFTER));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(codes(&v), vec!["internal-error".to_string()]);
    assert_eq!(v["tollgate"]["reasons"], json!(["rate-limited"]));
    assert_eq!(v["tollgate"]["id"], Value::Null);

    // Outcome shares the siteverify group.
    let (status, headers, body) = send(
        &app,
        Request::post("/v1/outcome")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"error": "rate-limited"})
    );

    // Another client has its own buckets.
    let mut req = Request::post("/v1/challenge")
        .header(header::ORIGIN, ORIGIN_A)
        .body(Body::from(ok.to_string()))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            "198.51.100.9:4000".parse().unwrap(),
        ));
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Store, scoring

#[tokio::test]
async fn full_store_fails_closed_with_internal_error() {
    let h = harness();
    let origin = "https://full.example";
    let r1 = challenge(&h, "site-full", origin, "", "").await;
    let r2 = challenge(&h, "site-full", origin, "", "").await;
    let t1 = seal(&r1, &token_spec(origin, "", ""));
    let t2 = seal(&r2, &token_spec(origin, "", ""));
    assert_success(&verify_token(&h.app, SECRET_FULL, &t1).await);
    let v = verify_token(&h.app, SECRET_FULL, &t2).await;
    assert_fails(&v, "internal-error", "store-full");
    // No eviction: the first token is still spent.
    assert_fails(
        &verify_token(&h.app, SECRET_FULL, &t1).await,
        "timeout-or-duplicate",
        "duplicate",
    );
    // Other sites have their own store.
    let ra = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    assert_success(
        &verify_token(&h.app, SECRET_A, &seal(&ra, &token_spec(ORIGIN_A, "", ""))).await,
    );
    // The failure is counted.
    let (status, _, metrics) = send(
        &h.app,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(metrics).unwrap();
    assert!(text.contains("tollgate_store_full_total"), "{text}");
    assert!(text.contains("tollgate_siteverify_errors_total"), "{text}");
    // After t1's challenge expires its slot frees up; t2 (same lifetime, issued at the same time)
    // has expired too by then, so a fresh token goes through.
    h.clock.advance_ms(60_000);
    let r3 = challenge(&h, "site-full", origin, "", "").await;
    assert_success(
        &verify_token(&h.app, SECRET_FULL, &seal(&r3, &token_spec(origin, "", ""))).await,
    );
}

#[tokio::test]
async fn automation_probe_blocks_but_token_is_valid() {
    let h = harness();
    for (id, value, detail) in [
        (probe::WEBDRIVER, ProbeValue::Bool(true), "webdriver"),
        (
            probe::USER_AGENT,
            ProbeValue::Str("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0".into()),
            "headless-ua",
        ),
        (
            probe::AUTOMATION_GLOBALS,
            ProbeValue::Str("cdc_adoQpoasnfa76pfcZLmcfl_Array".into()),
            "automation-globals",
        ),
    ] {
        let reply = challenge(&h, "site-a", ORIGIN_A, "login", "").await;
        let mut spec = token_spec(ORIGIN_A, "login", "");
        spec.telemetry.probes.push(Probe { id, value });
        let v = verify_token(&h.app, SECRET_A, &seal(&reply, &spec)).await;
        assert_success(&v);
        assert_eq!(v["tollgate"]["decision"], "block", "{v}");
        assert_eq!(v["tollgate"]["score"], 0.0);
        let reasons = v["tollgate"]["reasons"].as_array().unwrap();
        assert!(
            reasons.contains(&json!("automation")) && reasons.contains(&json!(detail)),
            "{v}"
        );
    }
}

#[tokio::test]
async fn no_behaviour_is_challenge() {
    let h = harness();
    let reply = challenge(&h, "site-a", ORIGIN_A, "", "").await;
    let mut spec = token_spec(ORIGIN_A, "", "");
    spec.telemetry = TelemetrySpec::none().build();
    let v = verify_token(&h.app, SECRET_A, &seal(&reply, &spec)).await;
    assert_success(&v);
    assert_eq!(v["tollgate"]["decision"], "challenge");
    assert_eq!(v["tollgate"]["reasons"], json!(["no-behaviour"]));
}

/// Reasons and decision agree: every behaviour reason listed says what it contributed, and a
/// session whose mouse moves arrive on a timer's clock (OS-level injection at 60 Hz, the same
/// aimed movements and typing as the allowed human login) is penalised and, if it still ends in
/// `allow`, says why in `notes`.
#[tokio::test]
async fn timer_regular_pointer_timing_is_penalised_and_explained_and_reasons_say_what_they_did() {
    let h = harness();
    let verdict = |telemetry: TelemetrySpec| {
        let h = &h;
        async move {
            let reply = challenge(h, "site-a", ORIGIN_A, "", "").await;
            let mut spec = token_spec(ORIGIN_A, "", "");
            spec.telemetry = telemetry.build();
            let v = verify_token(&h.app, SECRET_A, &seal(&reply, &spec)).await;
            assert_success(&v);
            v["tollgate"].clone()
        }
    };
    let has = |t: &Value, r: &str| t["reasons"].as_array().unwrap().contains(&json!(r));

    // The human login: allowed, nothing timer-like, no notes.
    let human = verdict(TelemetrySpec::human_login()).await;
    assert_eq!(human["decision"], "allow", "{human}");
    assert_eq!(human["features"]["timer_regular"], 0.0, "{human}");
    assert_eq!(human["notes"], json!([]), "{human}");

    // Same movements, 60 Hz timer, coalesced samples (Chromium): penalised, and the answer says
    // why (the penalty, the intervals behind it); if it still ends in `allow`, a note explains.
    for period in [16.67, 10.0] {
        let t = verdict(TelemetrySpec::timer_login(period, true)).await;
        assert!(has(&t, "timer-regular") && has(&t, "behaviour"), "{t}");
        let d = &t["reason_details"]["timer-regular"];
        let delta = d["score_delta"].as_f64().unwrap();
        assert!((-0.2 - 1e-9..=0.0).contains(&delta), "{t}");
        assert!(d["score_cap"].is_null(), "{t}");
        assert_eq!(d["features"]["move_intervals"], 58.0, "{t}");
        let median = d["features"]["move_interval_median_ms"].as_f64().unwrap();
        assert!((median - period).abs() < 0.2, "{t}");
        assert!(d["features"]["move_interval_spread_ms"].as_f64().unwrap() <= 0.3);
        assert!(d["note"].as_str().unwrap().contains("timer"), "{t}");
        let explained = t["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("timer-regular-allowed"));
        assert_eq!(t["decision"] == "allow", explained, "{period}: {t}");
    }

    // 125 Hz (8 ms): a USB mouse's report rate, so constant intervals are not a timer's tell.
    let usb = verdict(TelemetrySpec::timer_login(8.0, true)).await;
    assert!(!has(&usb, "timer-regular"), "{usb}");
    assert_eq!(usb["features"]["timer_regular"], 0.0);

    // Without coalesced samples the regularity may be the display's frame clock: documented
    // exception, not raised, explained in `notes`.
    let dispatched = verdict(TelemetrySpec::timer_login(16.67, false)).await;
    assert!(!has(&dispatched, "timer-regular"), "{dispatched}");
    assert_eq!(dispatched["features"]["timer_regular"], 1.0);
    let notes = dispatched["notes"].as_array().unwrap();
    assert!(
        notes.len() == 1
            && notes[0]
                .as_str()
                .unwrap()
                .starts_with("timer-regular-frame-locked"),
        "{dispatched}"
    );

    // A scripted bot: every behaviour reason it lists has a detail entry saying what it did.
    let bot = verdict(TelemetrySpec::bot_linear(30, 0.0)).await;
    assert_eq!(bot["decision"], "block", "{bot}");
    let details = bot["reason_details"].as_object().unwrap();
    let behaviour_codes = [
        "behaviour",
        "pointer-timing",
        "pointer-kinematics",
        "click-physics",
        "keystroke-timing",
        "session-timing",
        "zero-pressure-click",
        "instant-click",
        "untrusted-events",
        "instant-keys",
        "timer-regular",
        "replayed-trace",
    ];
    let listed: Vec<&str> = bot["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .filter(|r| behaviour_codes.contains(r))
        .collect();
    assert!(listed.len() >= 3, "{bot}");
    for r in listed {
        let d = &details[r];
        assert!(
            d["model_logit"].is_number()
                || d["score_delta"].is_number()
                || d["score_cap"].is_number(),
            "{r} says nothing: {bot}"
        );
    }
    // A tell's detail: its penalty and the counts behind it.
    assert_eq!(details["instant-click"]["score_delta"], -0.3, "{bot}");
    assert_eq!(details["instant-click"]["features"]["instant_clicks"], 1.0);
    // A model group's detail: its logit (bot-like: negative) and the feature values behind it.
    let group = ["pointer-kinematics", "pointer-timing", "click-physics"]
        .into_iter()
        .find(|g| {
            details
                .get(*g)
                .is_some_and(|d| d["model_logit"].is_number())
        })
        .expect("a model group reason");
    assert!(
        details[group]["model_logit"].as_f64().unwrap() < 0.0,
        "{bot}"
    );
    assert!(
        !details[group]["features"].as_object().unwrap().is_empty(),
        "{bot}"
    );
}

// ---------------------------------------------------------------------------------------------
// Challenge endpoint, CORS, keys, health, assets

#[tokio::test]
async fn challenge_endpoint_errors() {
    let h = harness();
    let ok = json!({"sitekey": "site-a"});
    assert_eq!(
        request_challenge(&h.app, None, ok.clone()).await,
        (StatusCode::FORBIDDEN, json!({"error": "missing-origin"}))
    );
    assert_eq!(
        request_challenge(&h.app, Some("https://evil.example"), ok.clone()).await,
        (
            StatusCode::FORBIDDEN,
            json!({"error": "origin-not-allowed"})
        )
    );
    // Site B's origin is not allowed for site A.
    assert_eq!(
        request_challenge(&h.app, Some("https://b.example"), ok.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        request_challenge(&h.app, Some(ORIGIN_A), json!({"sitekey": "nope"})).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid-sitekey"}))
    );
    assert_eq!(
        request_challenge(
            &h.app,
            Some(ORIGIN_A),
            json!({"sitekey": "site-a", "action": "log in"})
        )
        .await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid-action"}))
    );
    assert_eq!(
        request_challenge(
            &h.app,
            Some(ORIGIN_A),
            json!({"sitekey": "site-a", "action": "a".repeat(33)})
        )
        .await
        .1,
        json!({"error": "invalid-action"})
    );
    assert_eq!(
        request_challenge(
            &h.app,
            Some(ORIGIN_A),
            json!({"sitekey": "site-a", "cdata": "x".repeat(256)})
        )
        .await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid-cdata"}))
    );
    assert_eq!(
        request_challenge(&h.app, Some(ORIGIN_A), json!("not an object")).await,
        (StatusCode::BAD_REQUEST, json!({"error": "bad-request"}))
    );
    // Any port on localhost (the dev-style wildcard) is fine.
    assert_eq!(
        request_challenge(&h.app, Some("http://localhost:1"), ok)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn challenge_cors_answers_only_allowed_origins() {
    let h = harness();
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/challenge")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = send(&h.app, preflight("http://localhost:5173")).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "http://localhost:5173"
    );
    let (_, headers, _) = send(&h.app, preflight("https://evil.example")).await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // The actual POST carries the header too.
    let req = Request::post("/v1/challenge")
        .header(header::ORIGIN, "http://127.0.0.1:5173")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(json!({"sitekey": "site-a"}).to_string()))
        .unwrap();
    let (status, headers, _) = send(&h.app, req).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "127.0.0.1 is not in site-a's list"
    );
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let req = Request::post("/v1/challenge")
        .header(header::ORIGIN, ORIGIN_A)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(json!({"sitekey": "site-a"}).to_string()))
        .unwrap();
    let (status, headers, _) = send(&h.app, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        ORIGIN_A
    );
}

#[tokio::test]
async fn keys_and_health() {
    let h = harness();
    let (status, _, body) = send(
        &h.app,
        Request::get("/v1/keys").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for (k, n) in keys.iter().zip([1u8, 2, 3]) {
        assert_eq!(k["kid"], u32::from(n));
        assert_eq!(k["alg"], "Ed25519");
        let pk = SigningKey::from_bytes(&seed(n)).verifying_key();
        assert_eq!(k["public_key"], b64_encode(pk.as_bytes()));
    }
    let text = String::from_utf8(body).unwrap();
    assert!(!text.contains(&b64_encode(&mac_secret(1))) && !text.contains(&b64_encode(&seed(1))));
    let (status, _, body) = send(
        &h.app,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn assets_are_served_with_wasm_mime_type() {
    let dir = std::env::temp_dir().join(format!("tollgate-assets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tollgate_collector_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("tollgate.js"), b"/* loader */").unwrap();
    let settings =
        Settings::from_toml(&config(), Path::new("t.toml"), Path::new("."), &|_| None).unwrap();
    let app = verifier::app_with_assets(
        AppState::new(settings, Arc::new(ManualClock::new(T0))),
        &dir,
    );
    let get = |p: &str| {
        Request::get(p)
            .header(header::ORIGIN, ORIGIN_A)
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, body) = send(&app, get("/tollgate/tollgate_collector_bg.wasm")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/wasm"
    );
    assert_eq!(
        headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        ORIGIN_A
    );
    assert_eq!(body, b"\0asm\x01\0\0\0");
    let (status, headers, _) = send(&app, get("/tollgate/tollgate.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(
        send(&app, get("/tollgate/missing.js")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, get("/tollgate/../Cargo.toml")).await.0,
        StatusCode::NOT_FOUND
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------------
// The binary: one stdout line, graceful shutdown

#[tokio::test]
async fn binary_prints_listening_line_and_shuts_down_on_sigterm() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(["serve", "--listen", "127.0.0.1:0", "--assets", "."])
        .env_remove("TOLLGATE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn verifier");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("listening line in time")
        .unwrap()
        .expect("a line");
    let addr = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let port: u16 = addr.rsplit_once(':').unwrap().1.parse().unwrap();
    assert_ne!(port, 0);

    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    // Dev mode: the dev site issues challenges to localhost origins.
    let body = r#"{"sitekey":"tgdev-localhost-sitekey"}"#;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /v1/challenge HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:4321\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"pow\":{\"k\":32,\"bits\":15}"), "{resp}");

    let pid = child.id().expect("running").to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(st.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "graceful exit, got {status:?}");
    assert_eq!(
        lines.next_line().await.unwrap(),
        None,
        "exactly one stdout line"
    );
}

// ---------------------------------------------------------------------------------------------
// Property: mutated tokens never panic and are never accepted (at most once if equivalent)

struct PropFixture {
    rt: tokio::runtime::Runtime,
    h: Harness,
    token: String,
}

fn prop_fixture() -> &'static PropFixture {
    static F: OnceLock<PropFixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let h = harness();
        let token = rt.block_on(async {
            let reply = challenge(&h, "site-a", ORIGIN_A, "login", "x").await;
            seal(&reply, &token_spec(ORIGIN_A, "login", "x"))
        });
        PropFixture { rt, h, token }
    })
}

static PROP_SUCCESSES: AtomicUsize = AtomicUsize::new(0);

/// Submit a mutant; returns whether it was accepted.
fn check_mutant(text: &str) -> Result<bool, proptest::test_runner::TestCaseError> {
    use proptest::prelude::*;
    let f = prop_fixture();
    let v = f.rt.block_on(verify_token(&f.h.app, SECRET_A, text));
    let ok = v["success"] == true;
    if ok {
        // Only a byte-identical token can be valid; it may succeed at most once overall.
        prop_assert_eq!(b64_decode(text).ok(), b64_decode(&f.token).ok());
        prop_assert!(
            PROP_SUCCESSES.fetch_add(1, Ordering::SeqCst) == 0,
            "accepted twice"
        );
    } else {
        let c = codes(&v);
        prop_assert!(
            c == ["invalid-input-response"]
                || c == ["timeout-or-duplicate"]
                || (text.is_empty() && c == ["missing-input-response"]),
            "unexpected codes {:?}",
            c
        );
    }
    Ok(ok)
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 256, ..Default::default() })]

    #[test]
    fn mutated_raw_bytes_are_rejected(pos in proptest::prelude::any::<proptest::sample::Index>(), bits in 1u8..=255) {
        let f = prop_fixture();
        let mut raw = b64_decode(&f.token).unwrap();
        let i = pos.index(raw.len());
        raw[i] ^= bits;
        proptest::prop_assert!(!check_mutant(&b64_encode(&raw))?, "a changed byte was accepted");
    }

    #[test]
    fn mutated_text_is_rejected(pos in proptest::prelude::any::<proptest::sample::Index>(), c in proptest::prelude::any::<char>()) {
        let f = prop_fixture();
        let mut chars: Vec<char> = f.token.chars().collect();
        let i = pos.index(chars.len());
        chars[i] = c;
        check_mutant(&chars.into_iter().collect::<String>())?;
    }

    #[test]
    fn truncated_or_extended_tokens_are_rejected(cut in proptest::prelude::any::<proptest::sample::Index>(), extra in "[A-Za-z0-9_-]{0,8}") {
        let f = prop_fixture();
        let n = cut.index(f.token.len());
        let text = format!("{}{}", &f.token[..n], extra);
        if text != f.token {
            check_mutant(&text)?;
        }
    }
}

/// Issue 12: admission control sheds store-touching requests early with a documented retryable
/// answer (challenge `503 overloaded`, siteverify 503 Turnstile-shaped `internal-error` with
/// reason `overloaded`, both with `Retry-After`), and a shed siteverify does not burn the token.
/// Also: once a redemption's answer was delivered, the same token is a replay even with the same
/// `remoteip` and `account`; another address or no address gets `timeout-or-duplicate` too.
#[tokio::test]
async fn admission_control_sheds_without_burning_and_a_delivered_answer_is_not_repeated() {
    let text = format!(
        "{}\n[store]\nmax_inflight = 1\nadmission_wait_ms = 5\n",
        config()
    );
    let settings = Settings::from_toml(&text, Path::new("test.toml"), Path::new("."), &|_| None)
        .expect("valid");
    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::new(settings, clock.clone());
    state.set_prometheus(prometheus());
    let h = Harness {
        app: verifier::app(state.clone()),
        clock,
    };
    let reply = challenge(&h, "site-a", ORIGIN_A, "login", "").await;
    let token = seal(&reply, &token_spec(ORIGIN_A, "login", ""));
    let body = json!({"secret": SECRET_A, "response": token, "remoteip": "203.0.113.5",
                      "account": "alice"});
    let post = |body: &Value| {
        Request::post("/v1/siteverify")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };

    // The only slot is taken: everything store-touching is shed at once.
    let slot = state.admit("test").await.expect("free slot");
    assert!(slot.is_some());
    let req = Request::post("/v1/challenge")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, ORIGIN_A)
        .body(Body::from(json!({"sitekey": "site-a"}).to_string()))
        .unwrap();
    let (status, headers, bytes) = send(&h.app, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v, json!({"error": "overloaded"}));

    let (status, headers, bytes) = send(&h.app, post(&body)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["success"], false);
    assert_eq!(v["error-codes"], json!(["internal-error"]));
    assert_eq!(v["tollgate"]["reasons"], json!(["overloaded"]));
    drop(slot);

    // Not burned: the retry succeeds.
    let (status, _, first) = send(&h.app, post(&body)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(v["success"], true, "{v}");

    // That answer was delivered, so the retry window is closed: the same token, remoteip and
    // account again is a replay (only an answer lost to a store failure is kept for retries:
    // tests/multi_instance.rs pauses Redis for that).
    let (_, _, again) = send(&h.app, post(&body)).await;
    let v: Value = serde_json::from_slice(&again).unwrap();
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]), "{v}");
    for other in [
        json!({"secret": SECRET_A, "response": token, "remoteip": "198.51.100.1", "account": "alice"}),
        json!({"secret": SECRET_A, "response": token}),
    ] {
        let (_, _, bytes) = send(&h.app, post(&other)).await;
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]), "{v}");
    }
}

// ---------------------------------------------------------------------------------------------
// Drop-in modes: per-site `success_when`, reCAPTCHA-shaped `score`, test keys

/// A token for `sitekey` whose decision is `allow`, `challenge` or `block`.
async fn token_with_decision(h: &Harness, sitekey: &str, decision: &str) -> String {
    let reply = challenge(h, sitekey, ORIGIN_A, "login", "c").await;
    let mut spec = token_spec(ORIGIN_A, "login", "c");
    match decision {
        "allow" => {}
        "challenge" => spec.telemetry = TelemetrySpec::none().build(),
        "block" => spec.telemetry.probes.push(Probe {
            id: probe::WEBDRIVER,
            value: ProbeValue::Bool(true),
        }),
        other => panic!("unknown decision {other}"),
    }
    seal(&reply, &spec)
}

#[tokio::test]
async fn success_when_policy_for_each_mode_and_decision() {
    let h = harness();
    // (sitekey, secret, decision, expected error code when refused)
    let cases: [(&str, &str, &str, Option<&str>); 9] = [
        ("site-a", SECRET_A, "allow", None),
        ("site-a", SECRET_A, "challenge", None),
        ("site-a", SECRET_A, "block", None),
        ("site-strict", SECRET_STRICT, "allow", None),
        (
            "site-strict",
            SECRET_STRICT,
            "challenge",
            Some("tollgate-decision-challenge"),
        ),
        (
            "site-strict",
            SECRET_STRICT,
            "block",
            Some("tollgate-decision-block"),
        ),
        ("site-aoc", SECRET_AOC, "allow", None),
        ("site-aoc", SECRET_AOC, "challenge", None),
        (
            "site-aoc",
            SECRET_AOC,
            "block",
            Some("tollgate-decision-block"),
        ),
    ];
    for (sitekey, secret, decision, refused) in cases {
        let token = token_with_decision(&h, sitekey, decision).await;
        let v = verify_token(&h.app, secret, &token).await;
        let ctx = format!("{sitekey} {decision}: {v}");
        assert_eq!(v["tollgate"]["decision"], decision, "{ctx}");
        match refused {
            None => assert_success(&v),
            Some(code) => {
                assert_eq!(v["success"], false, "{ctx}");
                assert_eq!(codes(&v), vec![code.to_string()], "{ctx}");
            }
        }
        // Tollgate-aware backends still read the whole verdict, refused or not.
        assert!(v["tollgate"]["id"].is_string(), "{ctx}");
        assert!(v["tollgate"]["reasons"].is_array(), "{ctx}");
        assert_eq!(v["hostname"], "localhost", "{ctx}");
        assert_eq!(v["action"], "login", "{ctx}");
        // reCAPTCHA-v3-shaped top-level score, equal to tollgate.score.
        assert_eq!(v["score"], v["tollgate"]["score"], "{ctx}");
        assert!(v["score"].is_number(), "{ctx}");
        // A refused token is still consumed: single use holds.
        let again = verify_token(&h.app, secret, &token).await;
        assert_eq!(
            codes(&again),
            vec!["timeout-or-duplicate"],
            "{ctx}: {again}"
        );
        assert!(again.get("score").is_none(), "{again}");
    }
}

/// A per-site switch: `field_event_rules = false` leaves focus and submission unjudged.
#[tokio::test]
async fn field_event_rules_can_be_switched_off_per_site() {
    let h = harness();
    // A long human-like login whose password field gains the focus with no press on it (the
    // last press before is the username's last key), as `send_keys` without a click does; and
    // the same login with its text inserted with no keystroke (`fill()`).
    let logins = [
        (
            TelemetrySpec::long_login(1)
                .password_focused_by_script()
                .build(),
            "unprompted-focus",
        ),
        (
            TelemetrySpec::long_login(1).filled_without_keys().build(),
            "inserted-text",
        ),
    ];
    for (sitekey, secret, judged) in [
        ("site-a", SECRET_A, true),
        ("site-nofield", SECRET_NOFIELD, false),
    ] {
        for (t, reason) in &logins {
            let reply = challenge(&h, sitekey, ORIGIN_A, "login", "c").await;
            let spec = token_spec(ORIGIN_A, "login", "c").telemetry(t.clone());
            let v = verify_token(&h.app, secret, &seal(&reply, &spec)).await;
            assert_success(&v);
            let reasons = v["tollgate"]["reasons"].as_array().expect("reasons");
            assert_eq!(
                reasons.contains(&json!(reason)),
                judged,
                "{sitekey} {reason}: {v}"
            );
        }
    }
    // The option is a boolean; anything else is a configuration error.
    let text = config().replace("field_event_rules = false", "field_event_rules = \"off\"");
    assert!(Settings::from_toml(&text, Path::new("t.toml"), Path::new("."), &|_| None).is_err());
}

#[tokio::test]
async fn success_when_config_is_validated() {
    let base = |site: &str| {
        format!(
            "[[keys]]\nid = 1\nseed = \"{}\"\nmac_secret = \"{}\"\n\n[[sites]]\n{site}\nallowed_origins = [\"http://localhost:*\"]\n",
            b64_encode(&seed(1)),
            b64_encode(&mac_secret(1))
        )
    };
    let load =
        |text: String| Settings::from_toml(&text, Path::new("t.toml"), Path::new("."), &|_| None);
    let ok = load(base("sitekey = \"s\"\nsecret = \"0123456789abcdef0\"")).unwrap();
    assert_eq!(
        ok.sites[0].success_when,
        verifier::config::SuccessWhen::Allow
    );
    assert!(!ok.test_keys);
    for (v, want) in [
        ("valid", verifier::config::SuccessWhen::Valid),
        ("allow", verifier::config::SuccessWhen::Allow),
        (
            "allow-or-challenge",
            verifier::config::SuccessWhen::AllowOrChallenge,
        ),
    ] {
        let s = load(base(&format!(
            "sitekey = \"s\"\nsecret = \"0123456789abcdef0\"\nsuccess_when = \"{v}\""
        )))
        .unwrap();
        assert_eq!(s.sites[0].success_when, want);
    }
    assert!(
        load(base(
            "sitekey = \"s\"\nsecret = \"0123456789abcdef0\"\nsuccess_when = \"always\""
        ))
        .is_err()
    );
    // The test keys' names and secrets are reserved.
    let e = load(base(
        "sitekey = \"tgtest-mine\"\nsecret = \"0123456789abcdef0\"",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
    let e = load(base(
        "sitekey = \"s\"\nsecret = \"tgtest-secret-always-allow\"",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("test secret"), "{e}");
    let on = load(format!(
        "test_keys = true\n{}",
        base("sitekey = \"s\"\nsecret = \"0123456789abcdef0\"")
    ))
    .unwrap();
    assert!(on.test_keys);
}

fn test_keys_harness() -> Harness {
    harness_from(
        Settings::from_toml(
            &format!("test_keys = true\n{}", config()),
            Path::new("test.toml"),
            Path::new("."),
            &|_| None,
        )
        .expect("test config is valid"),
    )
}

#[tokio::test]
async fn test_keys_always_give_their_answer_without_a_browser() {
    let dev = harness_from(Settings::dev().unwrap());
    for h in [test_keys_harness(), dev] {
        for response in ["XXXX.DUMMY.TOKEN.XXXX", "x", "anything at all"] {
            for _ in 0..2 {
                let v = verify_token(&h.app, "tgtest-secret-always-allow", response).await;
                assert_success(&v);
                assert_eq!(v["tollgate"]["decision"], "allow", "{v}");
                assert_eq!(v["tollgate"]["reasons"], json!(["test-key"]), "{v}");
                assert_eq!(v["hostname"], "localhost", "{v}");
                assert!(v["score"].as_f64().is_some_and(|s| s >= 0.6), "{v}");

                let v = verify_token(&h.app, "tgtest-secret-always-challenge", response).await;
                assert_eq!(v["success"], false, "{v}");
                assert_eq!(codes(&v), vec!["tollgate-decision-challenge"], "{v}");
                assert_eq!(v["tollgate"]["decision"], "challenge", "{v}");

                let v = verify_token(&h.app, "tgtest-secret-always-block", response).await;
                assert_eq!(v["success"], false, "{v}");
                assert_eq!(codes(&v), vec!["tollgate-decision-block"], "{v}");
                assert_eq!(v["tollgate"]["decision"], "block", "{v}");

                let v = verify_token(&h.app, "tgtest-secret-always-duplicate", response).await;
                assert_eq!(v["success"], false, "{v}");
                assert_eq!(codes(&v), vec!["timeout-or-duplicate"], "{v}");
            }
        }
        // An empty response is still missing, as for any secret.
        let v = verify_token(&h.app, "tgtest-secret-always-allow", "").await;
        assert_eq!(codes(&v), vec!["missing-input-response"], "{v}");
    }
}

#[tokio::test]
async fn test_keys_are_off_with_a_config_unless_enabled() {
    let h = harness();
    for secret in [
        "tgtest-secret-always-allow",
        "tgtest-secret-always-challenge",
        "tgtest-secret-always-block",
        "tgtest-secret-always-duplicate",
    ] {
        let v = verify_token(&h.app, secret, "XXXX.DUMMY.TOKEN.XXXX").await;
        assert_fails(&v, "invalid-input-secret", "unknown-secret");
    }
}
