//! Drop-in paths through the router: test site keys on the challenge side, and the no-collector
//! path (`tower::ServiceExt::oneshot`, no socket): a
//! challenge request with `nc` gets a minimal token; siteverify answers `challenge` with reason
//! `no-collector` (never `allow`, never `block` on its own), `success` per the site's
//! `success_when`; the token is single use like any other; a client that marks its own token
//! `SOLVER_NONE` to skip the proof of work gets the same capped verdict.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tollgate_protocol::token::DecodedToken;
use tollgate_protocol::{b64_decode, b64_encode};
use tollgate_testkit::{TelemetrySpec, TokenSpec};
use tower::ServiceExt;
use verifier::config::Settings;
use verifier::nocollector::{NO_WASM, NO_WORKERS, SOLVER_NONE};
use verifier::{AppState, ManualClock};

const T0: u64 = 1_800_000_000_000;
const ORIGIN: &str = "http://localhost:8080";
const SECRET_STRICT: &str = "nc-strict-secret-0123456789";
const SECRET_AOC: &str = "nc-aoc-secret-0123456789";
const SECRET_LENIENT: &str = "nc-lenient-secret-0123456789";

fn app() -> Router {
    app_with("")
}

fn app_with(top: &str) -> Router {
    let config = format!(
        r#"{top}
[[keys]]
id = 1
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "nc-strict"
secret = "{SECRET_STRICT}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 4, bits = 4 }}

[[sites]]
sitekey = "nc-aoc"
secret = "{SECRET_AOC}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 4, bits = 4 }}
success_when = "allow-or-challenge"

# A policy that would allow a score of 0.5: the no-collector verdict must still not be `allow`.
[[sites]]
sitekey = "nc-lenient"
secret = "{SECRET_LENIENT}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 4, bits = 4 }}
success_when = "valid"
policy = {{ allow = 0.3, block = 0.1 }}
"#,
        seed = b64_encode(&[7u8; 32]),
        mac = b64_encode(&[9u8; 32]),
    );
    let settings = Settings::from_toml(&config, Path::new("t.toml"), Path::new("."), &|_| None)
        .expect("test config is valid");
    verifier::app(AppState::new(settings, Arc::new(ManualClock::new(T0))))
}

async fn post(app: &Router, path: &str, origin: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

async fn nc_token(app: &Router, sitekey: &str, nc: u8) -> (Value, String) {
    let (status, reply) = post(
        app,
        "/v1/challenge",
        Some(ORIGIN),
        json!({"sitekey": sitekey, "action": "login", "nc": nc}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let token = reply["token"]
        .as_str()
        .expect("a minimal token")
        .to_string();
    (reply, token)
}

async fn verify(app: &Router, secret: &str, token: &str) -> Value {
    let (status, v) = post(
        app,
        "/v1/siteverify",
        None,
        json!({"secret": secret, "response": token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn a_challenge_without_nc_has_no_token() {
    let app = app();
    let (status, reply) = post(
        &app,
        "/v1/challenge",
        Some(ORIGIN),
        json!({"sitekey": "nc-strict", "nc": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(reply.get("token").is_none(), "{reply}");
}

#[tokio::test]
async fn minimal_token_answers_challenge_with_the_reason_and_is_single_use() {
    let app = app();
    let (_, token) = nc_token(&app, "nc-strict", NO_WASM | NO_WORKERS).await;
    let decoded = DecodedToken::decode(&token).unwrap();
    assert_eq!(decoded.body.solve.solver, SOLVER_NONE);
    assert!(decoded.body.solutions.is_empty());
    assert_eq!(decoded.body.context.origin, ORIGIN);

    // Default success_when = "allow": refused with the decision code, verdict kept.
    let v = verify(&app, SECRET_STRICT, &token).await;
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(
        v["error-codes"],
        json!(["tollgate-decision-challenge"]),
        "{v}"
    );
    assert_eq!(v["tollgate"]["decision"], "challenge", "{v}");
    assert_eq!(
        v["tollgate"]["reasons"],
        json!(["no-collector", "no-wasm", "no-workers"]),
        "{v}"
    );
    assert_eq!(v["hostname"], "localhost", "{v}");
    assert_eq!(v["action"], "login", "{v}");

    // Single use like any token.
    let again = verify(&app, SECRET_STRICT, &token).await;
    assert_eq!(
        again["error-codes"],
        json!(["timeout-or-duplicate"]),
        "{again}"
    );
}

#[tokio::test]
async fn allow_or_challenge_site_accepts_it_and_a_lenient_policy_still_gets_challenge() {
    let app = app();
    let (_, token) = nc_token(&app, "nc-aoc", NO_WORKERS).await;
    let v = verify(&app, SECRET_AOC, &token).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["tollgate"]["decision"], "challenge", "{v}");
    assert_eq!(
        v["tollgate"]["reasons"],
        json!(["no-collector", "no-workers"])
    );

    let (_, token) = nc_token(&app, "nc-lenient", NO_WASM).await;
    let v = verify(&app, SECRET_LENIENT, &token).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["tollgate"]["decision"], "challenge", "{v}");
}

#[tokio::test]
async fn the_minimal_token_is_bound_to_its_site() {
    let app = app();
    let (_, token) = nc_token(&app, "nc-strict", NO_WASM).await;
    let v = verify(&app, SECRET_AOC, &token).await;
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["error-codes"], json!(["invalid-input-response"]), "{v}");
}

/// A client holding the token key can seal its own token with `SOLVER_NONE` and no solutions to
/// skip the proof of work, with human-like telemetry: it still gets no more than `challenge`.
#[tokio::test]
async fn a_forged_solver_none_token_with_human_telemetry_is_capped() {
    let app = app();
    let (status, reply) = post(
        &app,
        "/v1/challenge",
        Some(ORIGIN),
        json!({"sitekey": "nc-lenient", "action": "login"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let wire = b64_decode(reply["challenge"].as_str().unwrap()).unwrap();
    let key: [u8; 32] = b64_decode(reply["token_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let mut body = TokenSpec::new(ORIGIN, "login", "")
        .telemetry(TelemetrySpec::human_login().build())
        .body(&wire, Vec::new());
    body.solve.solver = SOLVER_NONE;
    let token = body.seal(&key).unwrap();
    let v = verify(&app, SECRET_LENIENT, &token).await;
    assert_eq!(v["tollgate"]["decision"], "challenge", "{v}");
    assert_eq!(v["tollgate"]["reasons"][0], "no-collector", "{v}");

    // The same telemetry with the marker cleared and no solutions fails the proof of work.
    let (_, reply) = post(
        &app,
        "/v1/challenge",
        Some(ORIGIN),
        json!({"sitekey": "nc-lenient", "action": "login"}),
    )
    .await;
    let wire = b64_decode(reply["challenge"].as_str().unwrap()).unwrap();
    let key: [u8; 32] = b64_decode(reply["token_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let token = TokenSpec::new(ORIGIN, "login", "")
        .telemetry(TelemetrySpec::human_login().build())
        .body(&wire, Vec::new())
        .seal(&key)
        .unwrap();
    let v = verify(&app, SECRET_LENIENT, &token).await;
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["tollgate"]["reasons"], json!(["bad-pow"]), "{v}");
}

#[tokio::test]
async fn test_sitekeys_get_the_dummy_token_only_when_enabled() {
    // Off in a real config unless `test_keys = true`: the sitekey is unknown.
    let app = app();
    let (status, v) = post(
        &app,
        "/v1/challenge",
        Some(ORIGIN),
        json!({"sitekey": "tgtest-always-block"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid-sitekey", "{v}");

    let app = app_with("test_keys = true\n");
    for (sitekey, secret, success, code) in [
        (
            "tgtest-always-allow",
            "tgtest-secret-always-allow",
            true,
            None,
        ),
        (
            "tgtest-always-challenge",
            "tgtest-secret-always-challenge",
            false,
            Some("tollgate-decision-challenge"),
        ),
        (
            "tgtest-always-block",
            "tgtest-secret-always-block",
            false,
            Some("tollgate-decision-block"),
        ),
        (
            "tgtest-always-duplicate",
            "tgtest-secret-always-duplicate",
            false,
            Some("timeout-or-duplicate"),
        ),
    ] {
        let (status, reply) = post(
            &app,
            "/v1/challenge",
            Some(ORIGIN),
            json!({"sitekey": sitekey}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["token"], "XXXX.DUMMY.TOKEN.XXXX", "{reply}");
        assert!(reply.get("challenge").is_none(), "no work: {reply}");
        let token = reply["token"].as_str().unwrap();
        let v = verify(&app, secret, token).await;
        assert_eq!(v["success"], success, "{sitekey}: {v}");
        if let Some(code) = code {
            assert_eq!(v["error-codes"], json!([code]), "{sitekey}: {v}");
        }
        // Never consumed: the same answer again.
        assert_eq!(verify(&app, secret, token).await["success"], success);
    }
}

/// What stock Turnstile/reCAPTCHA libraries send — `secret`, `response`, `remoteip`,
/// `idempotency_key`, form-encoded or JSON, and django-turnstile's literal `remoteip=None` — is
/// accepted, and the answer has the Turnstile fields plus reCAPTCHA v3's `score` and `action`.
#[tokio::test]
async fn stock_library_requests_get_the_turnstile_and_recaptcha_shapes() {
    let app = app();
    let (_, token) = nc_token(&app, "nc-aoc", NO_WASM).await;
    let body = json!({"secret": SECRET_AOC, "response": token, "remoteip": "203.0.113.9",
        "idempotency_key": "5c9d2b4e-8a61-4f3e-9d0c-7b1f2a3c4d5e"});
    let (status, first) = post(&app, "/turnstile/v0/siteverify", None, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    for key in [
        "success",
        "error-codes",
        "challenge_ts",
        "hostname",
        "action",
        "cdata",
        "score",
    ] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert_eq!(first["success"], true, "{first}");
    assert_eq!(first["score"], first["tollgate"]["score"], "{first}");
    // A retry with the same idempotency_key gets the same answer.
    let (_, again) = post(&app, "/turnstile/v0/siteverify", None, body).await;
    assert_eq!(again, first);

    // Form-encoded, as django-turnstile sends it (remoteip may be the string "None").
    let (_, token) = nc_token(&app, "nc-aoc", NO_WASM).await;
    let form = format!("secret={SECRET_AOC}&response={token}&remoteip=None");
    let resp = app
        .clone()
        .oneshot(
            Request::post("/turnstile/v0/siteverify")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["action"], "login", "{v}");
}
