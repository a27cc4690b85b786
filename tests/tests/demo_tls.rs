//! The demo backend against an `https://` verifier: the verifier's two listeners run in-process
//! with TLS (a certificate authority made at test time), the demo site trusts that CA through
//! `verifier_ca`, takes the public URL for the page and the internal URL for siteverify and
//! outcome. Without the CA file the same backend refuses the certificate (fails closed).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tollgate_testkit::tls::TestCa;
use tollgate_testkit::{TelemetrySpec, TokenSpec};
use tower::ServiceExt;
use verifier::config::{Settings, TlsFiles};
use verifier::server::{ServeOptions, serve};
use verifier::tls::CertStore;
use verifier::{AppState, SystemClock};

const ORIGIN: &str = "http://127.0.0.1:8080";
const SITE: (&str, &str) = ("site-tls", "secret-tls-0123456789");

fn config() -> String {
    let seed = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"; // 32 bytes, test only
    let mac = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"; // 32 bytes, test only
    format!(
        r#"
[[keys]]
id = 7
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "{}"
secret = "{}"
allowed_origins = ["http://127.0.0.1:*"]
success_when = "valid"
pow = {{ k = 4, bits = 6 }}
policy = {{ allow = 0.0, block = 0.0 }}
"#,
        SITE.0, SITE.1
    )
}

/// Serve `router` with TLS from `store` on a free loopback port; returns `https://127.0.0.1:PORT`.
async fn serve_tls(router: axum::Router, store: Arc<CertStore>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let opts = ServeOptions {
        tls: Some(store),
        ..ServeOptions::default()
    };
    tokio::spawn(async move {
        serve(listener, router, std::future::pending(), opts)
            .await
            .expect("tls config")
    });
    format!("https://{addr}")
}

struct Verifier {
    public: String,
    internal: String,
    ca: TestCa,
    ca_file: std::path::PathBuf,
    dir: std::path::PathBuf,
}

async fn start() -> Verifier {
    let dir = tollgate_testkit::temp_dir("demo-tls");
    let ca = TestCa::new("Tollgate demo test CA").expect("CA");
    let (cert, key) = ca
        .issue(&["127.0.0.1", "localhost"])
        .expect("leaf")
        .write(&dir)
        .expect("write pem");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).expect("write ca");
    let store = CertStore::load(TlsFiles { cert, key }).expect("certificate loads");
    let settings = Settings::from_toml(&config(), Path::new("t.toml"), Path::new("."), &|_| None)
        .expect("config");
    let state = AppState::new(settings, Arc::new(SystemClock));
    let public = serve_tls(verifier::public_router(state.clone()), store.clone()).await;
    let internal = serve_tls(verifier::internal_router(state), store).await;
    Verifier {
        public,
        internal,
        ca,
        ca_file,
        dir,
    }
}

fn demo(v: &Verifier, ca: Option<&Path>) -> axum::Router {
    let state = demo_site::AppState::new(demo_site::Config {
        verifier_url: v.public.clone(),
        verifier_backend_url: Some(v.internal.clone()),
        verifier_ca: ca.map(Path::to_path_buf),
        sitekey: SITE.0.into(),
        secret: SITE.1.into(),
        ..demo_site::Config::default()
    })
    .expect("demo config");
    demo_site::router(Arc::new(state))
}

/// What the browser does, over https to the public listener: challenge → PoW → sealed token.
async fn token(v: &Verifier) -> String {
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(
            reqwest::Certificate::from_pem(v.ca.cert_pem().as_bytes()).expect("ca pem"),
        )
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let c: Value = http
        .post(format!("{}/v1/challenge", v.public))
        .header(header::ORIGIN, ORIGIN)
        .json(&json!({"sitekey": SITE.0, "action": "login"}))
        .send()
        .await
        .expect("challenge over https")
        .json()
        .await
        .expect("challenge json");
    TokenSpec::new(ORIGIN, "login", "")
        .telemetry(TelemetrySpec::none().build())
        .seal_reply(
            c["challenge"].as_str().expect("challenge"),
            c["token_key"].as_str().expect("token_key"),
        )
        .expect("token")
}

async fn login(demo: &axum::Router, token: &str) -> (StatusCode, String, Value) {
    let req = Request::post("/login")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!(
            "username=alice&password=correct+horse&tollgate-response={token}"
        )))
        .expect("request");
    let resp = demo.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let outcome = resp
        .headers()
        .get(demo_site::OUTCOME_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&body).expect("json");
    (status, outcome, json)
}

#[tokio::test]
async fn demo_backend_verifies_over_tls_with_an_extra_ca() {
    let v = start().await;
    let site = demo(&v, Some(&v.ca_file));
    // The page points the browser at the public https listener.
    let page = site
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let page = page.into_body().collect().await.expect("body").to_bytes();
    assert!(
        String::from_utf8_lossy(&page).contains(&format!("data-api=\"{}\"", v.public)),
        "page does not name the public verifier URL"
    );

    let (status, outcome, verdict) = login(&site, &token(&v).await).await;
    assert_eq!(
        (status, outcome.as_str()),
        (StatusCode::OK, "allow"),
        "{verdict}"
    );
    assert_eq!(verdict["success"], true, "{verdict}");
    assert_eq!(verdict["tollgate"]["decision"], "allow");
    assert!(
        verdict.get("demo-site").is_none(),
        "not the verifier's answer: {verdict}"
    );

    // The same backend without the CA file does not trust the certificate: no verdict, and the
    // demo fails closed.
    let untrusting = demo(&v, None);
    let (status, outcome, verdict) = login(&untrusting, &token(&v).await).await;
    assert_eq!(outcome, "unavailable", "{verdict}");
    assert_ne!(status, StatusCode::OK);
    assert_eq!(verdict["demo-site"]["generated"], true, "{verdict}");
    let _ = std::fs::remove_dir_all(&v.dir);
}

#[test]
fn a_bad_ca_file_is_a_configuration_error() {
    let dir = tollgate_testkit::temp_dir("demo-tls-ca");
    let bad = dir.join("not-a-ca.pem");
    std::fs::write(&bad, "hello").expect("write");
    for path in [bad, dir.join("missing.pem")] {
        let err = demo_site::AppState::new(demo_site::Config {
            verifier_url: "https://verifier.example".into(),
            verifier_ca: Some(path.clone()),
            ..demo_site::Config::default()
        })
        .expect_err("bad CA file accepted");
        assert!(
            matches!(err, demo_site::ConfigError::CaFile { .. }),
            "{path:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
