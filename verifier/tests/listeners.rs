//! Deployment listeners: which routes each router half holds (no socket), two real listeners
//! where siteverify is not reachable on the public port, and TLS termination with a
//! certificate made at test time (handshake, reload on file change and on SIGHUP, a bad pair
//! kept out).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tollgate_testkit::tls::{Leaf, TestCa};
use tower::ServiceExt;
use verifier::config::{DEV_SITE_KEY, Settings};
use verifier::{AppState, SystemClock};

use common::{VerifierProcess, temp_dir};

/// Where each route lives: `(path, public, internal)`.
const ROUTES: &[(&str, bool, bool)] = &[
    ("/v1/challenge", true, false),
    ("/v1/keys", true, false),
    ("/healthz", true, true),
    ("/readyz", true, true),
    ("/v1/siteverify", false, true),
    ("/turnstile/v0/siteverify", false, true),
    ("/v1/outcome", false, true),
    ("/metrics", false, true),
    ("/openapi.json", true, true),
    ("/v1/feedback", false, true),
    ("/admin/", false, true),
    ("/admin/api/verdicts", false, true),
    ("/admin/api/feedback", false, true),
];

/// Whether `router` routes `path`: no route answers 404 to any method, a route answers a method
/// it does not take with 405 (every route here takes GET or POST, none DELETE), so the probe
/// never runs a handler.
async fn routed(router: &axum::Router, path: &str) -> bool {
    let resp = router
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::DELETE)
                .uri(path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    match resp.status() {
        StatusCode::METHOD_NOT_ALLOWED => true,
        StatusCode::NOT_FOUND => false,
        other => panic!("{path}: unexpected {other}"),
    }
}

fn dev_state() -> AppState {
    AppState::new(
        Settings::dev().expect("dev settings"),
        Arc::new(SystemClock),
    )
}

#[tokio::test]
async fn each_route_is_on_its_half_and_all_are_on_the_combined_router() {
    let state = dev_state();
    let public = verifier::public_router(state.clone());
    let internal = verifier::internal_router(state.clone());
    let combined = verifier::app(state);
    for &(path, on_public, on_internal) in ROUTES {
        assert_eq!(routed(&public, path).await, on_public, "public {path}");
        assert_eq!(
            routed(&internal, path).await,
            on_internal,
            "internal {path}"
        );
        assert!(routed(&combined, path).await, "combined {path}");
    }
    // Unknown paths are on neither.
    assert!(!routed(&public, "/v1/nothing").await);
    assert!(!routed(&internal, "/v1/nothing").await);
}

#[tokio::test]
async fn assets_go_on_the_public_half() {
    let dir = temp_dir("listeners-assets");
    std::fs::write(dir.join("tollgate.js"), "// loader").unwrap();
    let state = dev_state();
    let public = verifier::with_assets(verifier::public_router(state.clone()), &state, &dir);
    let internal = verifier::internal_router(state);
    let get = |r: axum::Router| async move {
        r.oneshot(
            Request::get("/tollgate/tollgate.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
        .status()
    };
    assert_eq!(get(public).await, StatusCode::OK);
    assert_eq!(get(internal).await, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(dir);
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Address from `internal listening on http(s)://ADDR`.
fn internal_addr(line: &str) -> String {
    line.strip_prefix("internal listening on http://")
        .or_else(|| line.strip_prefix("internal listening on https://"))
        .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
        .to_owned()
}

#[tokio::test]
async fn siteverify_is_not_reachable_on_the_public_port() {
    let dir = temp_dir("listeners-split");
    let (v, lines) = VerifierProcess::spawn_lines(
        &["--internal-listen", "127.0.0.1:0"],
        &[],
        dir.join("verifier.log"),
        2,
    );
    let public = format!("http://{}", v.addr);
    let internal = format!("http://{}", internal_addr(&lines[1]));
    assert_ne!(public, internal);
    let http = client();
    // A test key answers a fixed verdict without a browser: success on the internal port.
    let verify = |base: String| {
        let http = http.clone();
        async move {
            http.post(format!("{base}/v1/siteverify"))
                .form(&[
                    ("secret", "tgtest-secret-always-allow"),
                    ("response", "XXXX.DUMMY.TOKEN.XXXX"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let resp = verify(internal.clone()).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(verify(public.clone()).await.status(), 404);
    for path in ["/turnstile/v0/siteverify", "/v1/outcome"] {
        let r = http
            .post(format!("{public}{path}"))
            .form(&[("secret", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} on the public port");
    }
    assert_eq!(
        http.get(format!("{public}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{internal}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The challenge is public only.
    let challenge = |base: String| {
        let http = http.clone();
        async move {
            http.post(format!("{base}/v1/challenge"))
                .header("origin", "http://127.0.0.1:8080")
                .json(&serde_json::json!({ "sitekey": DEV_SITE_KEY }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(challenge(public.clone()).await, 200);
    assert_eq!(challenge(internal.clone()).await, 404);
    for base in [&public, &internal] {
        let r = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}");
    }
    drop(v);
    let _ = std::fs::remove_dir_all(dir);
}

/// A client trusting `ca` only (the built-in roots do not know it). Make one per request that
/// checks the certificate: a client resumes its TLS sessions, and a resumed session reports the
/// certificate of the session it resumed.
fn tls_client(ca: &TestCa) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap())
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn der(leaf: &Leaf) -> Vec<u8> {
    CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes())
        .unwrap()
        .to_vec()
}

/// GET `url` on a fresh connection and TLS session: status and the DER of the certificate the
/// server presented.
async fn get_with_cert(ca: &TestCa, url: &str) -> (u16, Vec<u8>) {
    let resp = tls_client(ca)
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    let cert = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .expect("peer certificate")
        .to_vec();
    (resp.status().as_u16(), cert)
}

/// Wait (polling, at most 15 s) until `url` presents `want`.
async fn await_cert(ca: &TestCa, url: &str, want: &[u8]) -> Duration {
    let start = Instant::now();
    loop {
        if get_with_cert(ca, url).await.1 == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{url} never served the new certificate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A config with TLS on both listeners, both using `cert.pem` / `key.pem` beside it.
fn tls_config(dir: &Path, poll_secs: u32) -> std::path::PathBuf {
    let text = common::config_text(
        3,
        4,
        1,
        "site-secret-0123456789",
        4,
        &format!(
            r#"
[server]
internal_listen = "127.0.0.1:0"
config_poll_secs = {poll_secs}
[server.tls]
cert = "cert.pem"
key = "key.pem"
[server.internal_tls]
cert = "cert.pem"
key = "key.pem"
"#
        ),
    );
    let path = dir.join("verifier.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn tls_listeners_handshake_and_reload_a_changed_certificate() {
    let dir = temp_dir("listeners-tls");
    let ca = TestCa::new("Tollgate test CA").unwrap();
    let first = ca.issue(&["localhost", "127.0.0.1"]).unwrap();
    first.write(&dir).unwrap();
    let config = tls_config(&dir, 1);
    let (v, lines) = VerifierProcess::spawn_lines(
        &["--config", config.to_str().unwrap()],
        &[],
        dir.join("verifier.log"),
        2,
    );
    assert!(lines[0].starts_with("listening on https://"), "{lines:?}");
    assert!(
        lines[1].starts_with("internal listening on https://"),
        "{lines:?}"
    );
    let public = format!("https://{}", v.addr);
    let internal = format!("https://{}", internal_addr(&lines[1]));

    // Handshake on both listeners, the test certificate presented, routes split as without TLS.
    let (status, cert) = get_with_cert(&ca, &format!("{public}/v1/keys")).await;
    assert_eq!((status, cert), (200, der(&first)));
    let (status, cert) = get_with_cert(&ca, &format!("{internal}/healthz")).await;
    assert_eq!((status, cert), (200, der(&first)));
    assert_eq!(
        get_with_cert(&ca, &format!("{public}/metrics")).await.0,
        404
    );
    // A client that does not trust the CA is refused; plain HTTP gets no HTTP answer.
    let untrusting = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{public}/healthz"))
            .send()
            .await
            .is_err()
    );
    assert!(
        client()
            .get(format!("http://{}/healthz", v.addr))
            .send()
            .await
            .is_err()
    );

    // Renewal: a new certificate and key written over the old files are served without a restart.
    let second = ca.issue(&["localhost", "127.0.0.1"]).unwrap();
    assert_ne!(der(&first), der(&second));
    second.write(&dir).unwrap();
    await_cert(&ca, &format!("{public}/healthz"), &der(&second)).await;
    await_cert(&ca, &format!("{internal}/healthz"), &der(&second)).await;

    // A pair that does not belong together is refused: the running certificate stays.
    let third = ca.issue(&["localhost"]).unwrap();
    let fourth = ca.issue(&["localhost"]).unwrap();
    std::fs::write(dir.join("cert.pem"), &third.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &fourth.key_pem).unwrap();
    let start = Instant::now();
    while !v.log_text().contains("TLS certificate reload failed") {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no reload error logged:\n{}",
            v.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        get_with_cert(&ca, &format!("{public}/healthz")).await.1,
        der(&second)
    );
    assert!(!v.log_text().contains("PRIVATE KEY"), "key material logged");
    drop(v);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_polling() {
    let dir = temp_dir("listeners-tls-hup");
    let ca = TestCa::new("Tollgate test CA").unwrap();
    let first = ca.issue(&["127.0.0.1"]).unwrap();
    first.write(&dir).unwrap();
    // config_poll_secs = 0: files are not polled, only SIGHUP reloads.
    let config = tls_config(&dir, 0);
    let (v, lines) = VerifierProcess::spawn_lines(
        &["--config", config.to_str().unwrap()],
        &[],
        dir.join("verifier.log"),
        2,
    );
    let internal = format!("https://{}", internal_addr(&lines[1]));
    assert_eq!(
        get_with_cert(&ca, &format!("{internal}/healthz")).await.1,
        der(&first)
    );
    let second = ca.issue(&["127.0.0.1"]).unwrap();
    second.write(&dir).unwrap();
    // Not polled: still the first certificate a while later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        get_with_cert(&ca, &format!("{internal}/healthz")).await.1,
        der(&first)
    );
    v.signal("-HUP");
    await_cert(&ca, &format!("{internal}/healthz"), &der(&second)).await;
    drop(v);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_listener_never_starts_without_a_valid_certificate() {
    let dir = temp_dir("listeners-tls-bad");
    let ca = TestCa::new("Tollgate test CA").unwrap();
    let config = tls_config(&dir, 1);
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    // No files at all.
    let out = run();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cert.pem"), "{err}");
    // A key that is not the certificate's.
    let a = ca.issue(&["localhost"]).unwrap();
    let b = ca.issue(&["localhost"]).unwrap();
    std::fs::write(dir.join("cert.pem"), &a.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &b.key_pem).unwrap();
    let out = run();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("do not belong together"), "{err}");
    assert!(!err.contains("PRIVATE KEY"));
    // check-config reports the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(dir);
}
