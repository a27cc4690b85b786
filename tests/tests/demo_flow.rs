//! The demo site's backend against a real verifier.
//!
//! The verifier runs in-process on a loopback socket with a manual clock; the demo site talks to
//! it over HTTP exactly as in production (reqwest → `/v1/siteverify`). A native client plays the
//! browser: it asks for a challenge with an `Origin` header, solves the proof of work with the
//! protocol crate and seals a token with the per-challenge key, like the WASM collector does
//! (`tollgate-testkit`'s token builder).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tollgate_protocol::telemetry::{ProbeValue, probe};
use tollgate_protocol::token::SolveStats;
use tollgate_protocol::{Challenge, Telemetry, b64_decode};
use tollgate_testkit::{TelemetrySpec, TokenSpec, tamper};
use tollgate_tests::between;
use tower::ServiceExt;
use verifier::config::Settings;
use verifier::{AppState as VerifierState, ManualClock};

const ORIGIN: &str = "http://127.0.0.1:8080";
const HOST: &str = "127.0.0.1:8080";
const START_MS: u64 = 1_800_000_000_000;

const DEFAULT_SITE: (&str, &str) = ("site-default", "secret-default-0123456789");
const LENIENT_SITE: (&str, &str) = ("site-lenient", "secret-lenient-0123456789");

/// Two sites: default policy, and one that allows every score (to reach the `allow` branch
/// without faking human behaviour). Small proof of work so debug builds stay fast; 60 s tokens.
fn config() -> String {
    let seed = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"; // 32 bytes, test only
    let mac = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"; // 32 bytes, test only
    format!(
        r#"
[[keys]]
id = 3
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "{dk}"
secret = "{ds}"
allowed_origins = ["http://127.0.0.1:*"]
success_when = "valid"
pow = {{ k = 4, bits = 6 }}
token_lifetime_secs = 60

[[sites]]
sitekey = "{lk}"
secret = "{ls}"
allowed_origins = ["http://127.0.0.1:*"]
success_when = "valid"
pow = {{ k = 4, bits = 6 }}
policy = {{ allow = 0.0, block = 0.0 }}
"#,
        dk = DEFAULT_SITE.0,
        ds = DEFAULT_SITE.1,
        lk = LENIENT_SITE.0,
        ls = LENIENT_SITE.1,
    )
}

struct Harness {
    verifier_url: String,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
}

async fn start_verifier() -> Harness {
    let settings = Settings::from_toml(
        &config(),
        std::path::Path::new("demo_flow.toml"),
        std::path::Path::new("."),
        &|_| None,
    )
    .expect("valid test config");
    let clock = Arc::new(ManualClock::new(START_MS));
    let state = VerifierState::new(settings, clock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, verifier::app(state)).await;
    });
    Harness {
        verifier_url: format!("http://{addr}"),
        clock,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client"),
    }
}

impl Harness {
    fn demo(&self, site: (&str, &str)) -> axum::Router {
        serve_demo(self.demo_config(site))
    }

    fn demo_config(&self, (sitekey, secret): (&str, &str)) -> demo_site::Config {
        demo_site::Config {
            verifier_url: self.verifier_url.clone(),
            sitekey: sitekey.into(),
            secret: secret.into(),
            admin_token: Some(DEMO_ADMIN_TOKEN.into()),
            ..demo_site::Config::default()
        }
    }

    /// What the browser collector does: challenge → PoW → sealed token.
    async fn token(&self, sitekey: &str, telemetry: Telemetry) -> String {
        let resp = self
            .http
            .post(format!("{}/v1/challenge", self.verifier_url))
            .header(header::ORIGIN, ORIGIN)
            .json(&json!({"sitekey": sitekey, "action": "login"}))
            .send()
            .await
            .expect("challenge request");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        assert_eq!(
            resp.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .and_then(|v| v.to_str().ok()),
            Some(ORIGIN)
        );
        let c: Value = resp.json().await.expect("challenge json");
        let challenge = c["challenge"].as_str().expect("challenge");
        let wire = b64_decode(challenge).expect("b64");
        let pow = Challenge::parse(&wire).expect("challenge").body.pow;
        assert_eq!(c["pow"], json!({"k": pow.k, "bits": pow.bits}));
        assert!(c["expires_at"].as_u64() > c["issued_at"].as_u64());
        TokenSpec::new(ORIGIN, "login", "")
            .telemetry(telemetry)
            .solve_stats(SolveStats {
                duration_ms: 5,
                workers: 1,
                solver: 0,
                hashes: 0,
            })
            .seal_reply(challenge, c["token_key"].as_str().expect("token_key"))
            .expect("token")
    }
}

fn serve_demo(config: demo_site::Config) -> axum::Router {
    let state = demo_site::AppState::new(config).expect("demo config");
    demo_site::router(Arc::new(state))
}

fn no_behaviour() -> Telemetry {
    TelemetrySpec::none().build()
}

fn webdriver() -> Telemetry {
    TelemetrySpec::none()
        .probe(probe::WEBDRIVER, ProbeValue::Bool(true))
        .build()
}

/// POST /login to the demo; returns status, the demo's outcome header and the body.
async fn login(demo: &axum::Router, token: &str, json_mode: bool) -> (StatusCode, String, String) {
    login_as(demo, "alice", "correct+horse", token, json_mode).await
}

async fn login_as(
    demo: &axum::Router,
    user: &str,
    password: &str,
    token: &str,
    json_mode: bool,
) -> (StatusCode, String, String) {
    let body = format!("username={user}&password={password}&tollgate-response={token}");
    let mut req = Request::post("/login")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if json_mode {
        req = req.header(header::ACCEPT, "application/json");
    }
    let (status, outcome, bytes) = send(demo, req.body(Body::from(body)).expect("request")).await;
    (status, outcome, String::from_utf8(bytes).expect("utf8"))
}

/// Send `req` to the demo; returns status, the demo's outcome header and the raw body.
async fn send(demo: &axum::Router, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let resp = demo.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let outcome = resp
        .headers()
        .get(demo_site::OUTCOME_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, outcome, bytes.to_vec())
}

/// The stand-in one-time code shown on a step-up page, and the step-up's id.
fn shown_code(body: &str) -> (&str, &str) {
    (
        between(body, r#"<code id="demo-code">"#, "</code>"),
        between(body, r#"name="id" value=""#, "\""),
    )
}

/// Enter the stand-in code shown on the step-up page `body`.
async fn enter_shown_code(demo: &axum::Router, body: &str) -> (StatusCode, String, String) {
    let (code, id) = shown_code(body);
    post_form(demo, "/step-up", format!("id={id}&code={code}")).await
}

/// A six-digit code that is not `code`.
fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "000001" } else { "000000" }
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn each_decision_gets_its_page() {
    let h = start_verifier().await;

    // allow → signed in.
    let demo = h.demo(LENIENT_SITE);
    let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (status, outcome, body) = login(&demo, &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "allow"),
        "{body}"
    );
    assert!(body.contains("Welcome back, alice"));
    assert!(body.contains(r#"<pre id="verdict">"#));
    assert!(body.contains("&quot;decision&quot;: &quot;allow&quot;"));

    // challenge (no behaviour, default policy) → step-up with a code, which then signs in.
    let demo = h.demo(DEFAULT_SITE);
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (status, outcome, body) = login(&demo, &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "challenge"),
        "{body}"
    );
    let (status, _, page) = enter_shown_code(&demo, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Welcome back, alice"), "{page}");
    assert!(page.contains("one-time code checked out"));

    // block (automation) → refusal, in JSON mode: the verifier's JSON verbatim.
    let token = h.token(DEFAULT_SITE.0, webdriver()).await;
    let (status, outcome, body) = login(&demo, &token, true).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::FORBIDDEN, "block"),
        "{body}"
    );
    let v = parse(&body);
    assert_eq!(v["success"], true);
    assert_eq!(v["hostname"], "127.0.0.1");
    assert_eq!(v["action"], "login");
    assert_eq!(v["tollgate"]["decision"], "block");
    let reasons = v["tollgate"]["reasons"].as_array().expect("reasons");
    assert!(reasons.iter().any(|r| r == "automation"), "{v}");
    assert!(reasons.iter().any(|r| r == "webdriver"), "{v}");

    // The demo's log saw all of it, newest first; the passed step-up was reported as a success.
    let list = verdict_log(&demo).await;
    let outcomes: Vec<&str> = list.iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["block", "step-up-passed", "challenge"]);
    assert_eq!(
        list[0]["outcome_report"],
        Value::Null,
        "blocked: no password check"
    );
    assert_report(&list[1], "success");
    assert_eq!(list[2]["outcome_report"], Value::Null);
}

/// The demo's admin token (`/api/verdicts` needs it: these requests have no TCP peer).
const DEMO_ADMIN_TOKEN: &str = "demo-flow-admin-token";

async fn verdict_log(demo: &axum::Router) -> Vec<Value> {
    let resp = demo
        .clone()
        .oneshot(
            Request::get("/api/verdicts")
                .header("authorization", format!("Bearer {DEMO_ADMIN_TOKEN}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let list = parse(&String::from_utf8_lossy(
        &resp.into_body().collect().await.expect("body").to_bytes(),
    ));
    list.as_array().expect("array").clone()
}

/// The demo reported `outcome` (`success`/`failure` on `/v1/outcome`) and the verifier accepted
/// it. A verifier with `/v1/feedback` gets the finer outcome (`stepup-passed`, …) there instead.
fn assert_report(record: &Value, outcome: &str) {
    let report = &record["outcome_report"];
    assert_eq!(report["status"], 200, "{record}");
    if report["endpoint"] == "/v1/outcome" {
        assert_eq!(report["outcome"], outcome, "{record}");
        assert_eq!(report["answer"]["ok"], true, "{record}");
    } else {
        assert_eq!(report["endpoint"], "/v1/feedback", "{record}");
    }
}

/// The demo's report of a step-up or password result (`stepup-passed`, `bad-password`, …).
fn assert_reported(record: &Value, report: &str, legacy: &str) {
    assert_eq!(record["outcome_report"]["report"], report, "{record}");
    assert_report(record, legacy);
}

async fn post_form(demo: &axum::Router, path: &str, body: String) -> (StatusCode, String, String) {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let (status, outcome, bytes) = send(demo, req).await;
    (
        status,
        outcome,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Sign in (challenge → shown code), enrol an authenticator (TOTP), then a challenged sign-in
/// asks for its code: a wrong one is refused, the right one passes and is reported as
/// `stepup-passed`; the same code is refused again (replay) and three wrong codes fail the
/// step-up (`stepup-failed`). A wrong password is revealed only after the second factor.
#[tokio::test]
async fn totp_enrolment_and_step_up() {
    let h = start_verifier().await;
    let demo = h.demo(DEFAULT_SITE);

    // Not enrolled yet: the stand-in code on the page; the signed-in page offers enrolment.
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (_, outcome, body) = login(&demo, &token, false).await;
    assert_eq!(outcome, "challenge", "{body}");
    assert!(body.contains(r#"data-factor="sms""#));
    let (status, outcome, page) = enter_shown_code(&demo, &body).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "step-up-passed"),
        "{page}"
    );
    let ticket = between(&page, r#"name="ticket" value=""#, "\"").to_owned();

    // Enrolment: QR code, key and otpauth URI; a wrong first code is refused, the right one
    // turns TOTP on.
    let (status, outcome, page) = post_form(&demo, "/enroll", format!("ticket={ticket}")).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "enrol"),
        "{page}"
    );
    assert!(page.contains(r#"<svg id="totp-qr""#));
    let key = between(&page, r#"<code id="totp-secret">"#, "</code>").to_owned();
    assert!(page.contains(&format!(
        "otpauth://totp/Northwind%20Bank:alice?secret={key}"
    )));
    let secret = demo_site::totp::secret_from_base32(&key).expect("base32 key");
    let totp = demo_site::totp::generator(&secret, "alice").expect("totp");
    let now = unix_now();
    let right = totp.generate(now);
    let wrong = wrong_code;
    let (_, outcome, page) = post_form(
        &demo,
        "/enroll/confirm",
        format!("ticket={ticket}&code={}", wrong(&right)),
    )
    .await;
    assert_eq!(outcome, "enrol", "{page}");
    assert!(page.contains("not right"));
    let (status, outcome, page) = post_form(
        &demo,
        "/enroll/confirm",
        format!("ticket={ticket}&code={right}"),
    )
    .await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "enrolled"),
        "{page}"
    );
    let (_, outcome, _) = post_form(
        &demo,
        "/enroll/confirm",
        format!("ticket={ticket}&code={right}"),
    )
    .await;
    assert_eq!(
        outcome, "enrol-expired",
        "a ticket is spent by the enrolment"
    );

    // A challenged sign-in now asks for the app's code (no code on the page).
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (_, outcome, body) = login(&demo, &token, false).await;
    assert_eq!(outcome, "challenge", "{body}");
    assert!(body.contains(r#"data-factor="totp""#));
    assert!(!body.contains("demo-code"));
    let id = between(&body, r#"name="id" value=""#, "\"").to_owned();
    // The next step's code (one step of skew): later than the step used at enrolment.
    let next = totp.generate(unix_now() + 30);
    let (_, outcome, _) =
        post_form(&demo, "/step-up", format!("id={id}&code={}", wrong(&next))).await;
    assert_eq!(outcome, "challenge", "a wrong code asks again");
    let (status, outcome, page) =
        post_form(&demo, "/step-up", format!("id={id}&code={next}")).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "step-up-passed"),
        "{page}"
    );
    assert!(
        !page.contains(r#"name="ticket""#),
        "enrolled: no second enrolment offer"
    );
    let list = verdict_log(&demo).await;
    assert_eq!(list[0]["outcome"], "step-up-passed");
    assert_reported(&list[0], "stepup-passed", "success");

    // Replay of the same code, then wrong codes: the step-up fails and is reported.
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (_, _, body) = login(&demo, &token, false).await;
    let id = between(&body, r#"name="id" value=""#, "\"").to_owned();
    let (_, outcome, _) = post_form(&demo, "/step-up", format!("id={id}&code={next}")).await;
    assert_eq!(outcome, "challenge", "a replayed code is refused");
    for _ in 0..2 {
        let (_, o, _) =
            post_form(&demo, "/step-up", format!("id={id}&code={}", wrong(&next))).await;
        assert!(o == "challenge" || o == "step-up-failed", "{o}");
    }
    let list = verdict_log(&demo).await;
    assert_eq!(list[0]["outcome"], "step-up-failed");
    assert_reported(&list[0], "stepup-failed", "failure");

    // A wrong password on a challenged attempt: the step-up page first, the refusal after it.
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (_, outcome, body) = login_as(&demo, "bob", "hunter2", &token, false).await;
    assert_eq!(outcome, "challenge", "{body}");
    let (status, outcome, _) = enter_shown_code(&demo, &body).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::UNAUTHORIZED, "bad-credentials")
    );
    let list = verdict_log(&demo).await;
    assert_reported(&list[0], "bad-password", "failure");
}

#[tokio::test]
async fn password_results_are_reported_to_the_verifier() {
    let h = start_verifier().await;

    // allow + right password → success; allow + wrong password → failure (401).
    let demo = h.demo(LENIENT_SITE);
    let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (status, outcome, _) = login(&demo, &token, true).await;
    assert_eq!((status, outcome.as_str()), (StatusCode::OK, "allow"));
    let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (status, outcome, body) = login_as(&demo, "alice", "hunter2", &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::UNAUTHORIZED, "bad-credentials")
    );
    assert!(body.contains("Wrong username or password"));
    let list = verdict_log(&demo).await;
    assert_report(&list[0], "failure");
    assert_report(&list[1], "success");
    assert_ne!(
        list[0]["siteverify"]["tollgate"]["id"],
        list[1]["siteverify"]["tollgate"]["id"]
    );

    // A step-up with three wrong codes ends as a failed login, reported as such.
    let demo = h.demo(DEFAULT_SITE);
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (_, outcome, body) = login(&demo, &token, false).await;
    assert_eq!(outcome, "challenge");
    let (code, id) = shown_code(&body);
    let wrong = wrong_code(code);
    let mut last = (StatusCode::OK, String::new());
    for _ in 0..3 {
        let (status, outcome, _) =
            post_form(&demo, "/step-up", format!("id={id}&code={wrong}")).await;
        last = (status, outcome);
    }
    assert_eq!(last, (StatusCode::FORBIDDEN, "step-up-failed".to_owned()));
    let list = verdict_log(&demo).await;
    assert_eq!(list[0]["outcome"], "step-up-failed");
    assert_report(&list[0], "failure");
}

#[tokio::test]
async fn replay_garbage_wrong_secret_and_expiry_are_refused() {
    let h = start_verifier().await;
    let demo = h.demo(DEFAULT_SITE);

    // Garbage and a tampered copy do not burn the real token.
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (status, outcome, body) = login(&demo, "not-a-token", true).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::FORBIDDEN, "rejected")
    );
    assert_eq!(
        parse(&body)["error-codes"],
        json!(["invalid-input-response"])
    );
    let tampered = tamper::swap_middle(&token);
    let (_, outcome, body) = login(&demo, &tampered, true).await;
    assert_eq!(outcome, "rejected");
    assert_eq!(
        parse(&body)["error-codes"],
        json!(["invalid-input-response"])
    );

    // A demo configured with the wrong secret is told so, and that does not burn it either.
    let wrong = h.demo((DEFAULT_SITE.0, "this-is-not-the-secret"));
    let (status, outcome, body) = login(&wrong, &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::FORBIDDEN, "rejected")
    );
    assert!(body.contains("invalid-input-secret"), "{body}");

    // First use succeeds, the replay does not.
    let (_, outcome, body) = login(&demo, &token, true).await;
    assert_eq!(outcome, "challenge", "{body}");
    assert_eq!(parse(&body)["success"], true);
    let (status, outcome, body) = login(&demo, &token, true).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::FORBIDDEN, "rejected")
    );
    assert_eq!(parse(&body)["error-codes"], json!(["timeout-or-duplicate"]));

    // A token from another site is not accepted with this site's secret.
    let other = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (_, outcome, body) = login(&demo, &other, true).await;
    assert_eq!(outcome, "rejected", "{body}");
    assert_eq!(parse(&body)["success"], false);

    // Expiry: 60 s lifetime on the manual clock.
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    h.clock.advance_ms(61_000);
    let (_, outcome, body) = login(&demo, &token, true).await;
    assert_eq!(outcome, "rejected", "{body}");
    assert_eq!(parse(&body)["error-codes"], json!(["timeout-or-duplicate"]));
}

/// Five wrong passwords in a row lock the account: the right password is then refused and the
/// attempt is reported as `locked` (each wrong one as `bad-password`).
#[tokio::test]
async fn lockout_is_reported() {
    let h = start_verifier().await;
    let demo = h.demo(LENIENT_SITE);
    for n in 0..demo_site::users::MAX_FAILURES {
        let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
        let (status, outcome, _) = login_as(&demo, "dave", "wrong", &token, false).await;
        assert_eq!(
            (status, outcome.as_str()),
            (StatusCode::UNAUTHORIZED, "bad-credentials"),
            "{n}"
        );
    }
    let list = verdict_log(&demo).await;
    assert_reported(&list[0], "bad-password", "failure");
    let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (status, outcome, body) = login_as(&demo, "dave", "correct+horse", &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::FORBIDDEN, "locked")
    );
    assert!(body.contains("locked"));
    let list = verdict_log(&demo).await;
    assert_reported(&list[0], "locked", "failure");

    // A challenged attempt on the locked account: passing the stand-in code does not sign in.
    let demo = h.demo(DEFAULT_SITE);
    for _ in 0..demo_site::users::MAX_FAILURES {
        let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
        let (_, _, body) = login_as(&demo, "erin", "wrong", &token, false).await;
        let (_, outcome, _) = enter_shown_code(&demo, &body).await;
        assert_eq!(outcome, "bad-credentials");
    }
    let token = h.token(DEFAULT_SITE.0, no_behaviour()).await;
    let (_, _, body) = login_as(&demo, "erin", "correct+horse", &token, false).await;
    let (status, outcome, _) = enter_shown_code(&demo, &body).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::FORBIDDEN, "locked")
    );
    let list = verdict_log(&demo).await;
    assert_reported(&list[0], "locked", "failure");
}

/// `step_up_enrolled`: a user with an authenticator app is asked for its code even when Tollgate
/// allows the attempt; users without one sign in directly.
#[tokio::test]
async fn enrolled_users_step_up_on_allow_when_configured() {
    let h = start_verifier().await;
    let demo = serve_demo(demo_site::Config {
        step_up_enrolled: true,
        ..h.demo_config(LENIENT_SITE)
    });

    // Not enrolled: allow signs in, with the enrolment offer.
    let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (status, outcome, page) = login_as(&demo, "erin", "correct+horse", &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "allow"),
        "{page}"
    );
    let ticket = between(&page, r#"name="ticket" value=""#, "\"").to_owned();
    let (_, _, page) = post_form(&demo, "/enroll", format!("ticket={ticket}")).await;
    let key = between(&page, r#"<code id="totp-secret">"#, "</code>");
    let secret = demo_site::totp::secret_from_base32(key).expect("base32 key");
    let totp = demo_site::totp::generator(&secret, "erin").expect("totp");
    let code = totp.generate(unix_now());
    let (_, outcome, _) = post_form(
        &demo,
        "/enroll/confirm",
        format!("ticket={ticket}&code={code}"),
    )
    .await;
    assert_eq!(outcome, "enrolled");

    // Enrolled: the allowed attempt asks for the app's code first.
    let token = h.token(LENIENT_SITE.0, no_behaviour()).await;
    let (status, outcome, body) = login_as(&demo, "erin", "correct+horse", &token, false).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "challenge"),
        "{body}"
    );
    assert!(body.contains(r#"data-factor="totp""#));
    let id = between(&body, r#"name="id" value=""#, "\"").to_owned();
    let next = totp.generate(unix_now() + 30);
    let (status, outcome, _) = post_form(&demo, "/step-up", format!("id={id}&code={next}")).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "step-up-passed")
    );
    let list = verdict_log(&demo).await;
    assert_reported(&list[0], "stepup-passed", "success");
}
