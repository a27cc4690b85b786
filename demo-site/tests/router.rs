//! Router tests without sockets for the site itself (tower `oneshot`). The verifier, when one is
//! involved, is a closed loopback port: these tests cover rendering, headers, static assets and
//! the fail-closed / fail-open paths. Real verdicts are covered by `tests/` and `tests/e2e/`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use demo_site::{AppState, Config, OUTCOME_HEADER};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

fn assets_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "demo-site-assets-{}-{}",
        std::process::id(),
        closed_port()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("tollgate.js"), "/* loader */").expect("write");
    std::fs::write(dir.join("tollgate_collector_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    dir
}

fn app(fail_open: bool) -> (Router, Arc<AppState>) {
    let state = Arc::new(
        AppState::new(Config {
            verifier_url: format!("http://127.0.0.1:{}", closed_port()),
            assets_dir: assets_dir(),
            fail_open,
            verify_timeout: Duration::from_secs(3),
            ..Config::default()
        })
        .expect("config"),
    );
    (demo_site::router(state.clone()), state)
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// `req` as if it came from the TCP peer `peer` (what `into_make_service_with_connect_info` adds).
fn from_peer(mut req: Request<Body>, peer: &str) -> Request<Body> {
    let addr: std::net::SocketAddr = peer.parse().expect("addr");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

fn login(body: &str, json: bool) -> Request<Body> {
    let mut b = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "127.0.0.1:8080");
    if json {
        b = b.header(header::ACCEPT, "application/json");
    }
    b.body(Body::from(body.to_owned())).expect("request")
}

#[tokio::test]
async fn login_page_is_served_with_a_strict_csp() {
    let (app, state) = app(false);
    let (status, headers, body) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).expect("utf8");
    assert!(html.contains(r#"<button id="login""#));
    assert!(html.contains(&format!(
        r#"<script src="/tollgate/tollgate.js" data-api="{}" async></script>"#,
        state.config().verifier_url
    )));
    assert!(html.contains(r#"data-sitekey="tgdev-localhost-sitekey" data-action="login""#));
    let csp = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(csp.starts_with("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:"));
    assert!(csp.contains("worker-src 'self'; style-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn static_files_and_assets_have_the_right_types() {
    let (app, _) = app(false);
    let (status, headers, body) = send(&app, get("/static/style.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );
    assert!(String::from_utf8_lossy(&body).contains(".login-form"));

    let (status, headers, body) = send(&app, get("/tollgate/tollgate_collector_bg.wasm")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(&body[..4], b"\0asm");
    assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));

    let (status, headers, _) = send(&app, get("/tollgate/tollgate.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .contains("javascript")
    );

    let (status, _, _) = send(&app, get("/tollgate/../Cargo.toml")).await;
    assert_ne!(status, StatusCode::OK);
    let (status, _, _) = send(&app, get("/tollgate/missing.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unreachable_verifier_fails_closed_by_default() {
    let (app, state) = app(false);
    let (status, headers, body) = send(
        &app,
        login("username=alice&password=pw&tollgate-response=abc", false),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[OUTCOME_HEADER], "unavailable");
    let html = String::from_utf8(body).expect("utf8");
    assert!(html.contains("temporarily unavailable"));
    assert!(html.contains(r#"<pre id="verdict">"#));
    assert!(!html.contains("Welcome back"));

    // JSON mode returns the (demo-generated) verdict JSON.
    let (status, headers, body) = send(
        &app,
        login("username=alice&password=pw&tollgate-response=abc", true),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["success"], false);
    assert_eq!(v["error-codes"][0], "internal-error");
    assert_eq!(v["demo-site"]["generated"], true);

    let (status, _, body) = send(&app, from_peer(get("/api/verdicts"), "127.0.0.1:50000")).await;
    assert_eq!(status, StatusCode::OK);
    let list: Vec<Value> = serde_json::from_slice(&body).expect("json");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["outcome"], "unavailable");
    assert_eq!(list[0]["username"], "alice");
    assert!(list[0].get("password").is_none());
    assert_eq!(state.verdicts().len(), 2);
}

#[tokio::test]
async fn fail_open_lets_valid_credentials_through_unchecked() {
    let (app, _) = app(true);
    let (status, headers, body) =
        send(&app, login("username=bob&password=correct+horse", false)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[OUTCOME_HEADER], "allow-fail-open");
    assert!(String::from_utf8_lossy(&body).contains("fail open"));

    for body in [
        "username=bob&password=",
        "username=bob&password=wrong",
        "username=+&password=correct+horse",
        "username=mallory&password=correct+horse",
    ] {
        let (status, headers, _) = send(&app, login(body, false)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(headers[OUTCOME_HEADER], "bad-credentials", "{body}");
    }
    // Three more wrong passwords lock bob (five in a row); then even the right one is refused.
    for _ in 0..3 {
        send(&app, login("username=bob&password=wrong", false)).await;
    }
    let (status, headers, body) =
        send(&app, login("username=bob&password=correct+horse", false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[OUTCOME_HEADER], "locked");
    assert!(String::from_utf8_lossy(&body).contains("locked"));
}

#[tokio::test]
async fn bad_requests_are_refused_without_panicking() {
    let (app, _) = app(false);
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("hello"))
        .expect("request");
    let (status, _, _) = send(&app, req).await;
    assert!(status.is_client_error(), "{status}");

    let big = format!("username=a&password={}", "x".repeat(200 * 1024));
    let (status, _, _) = send(&app, login(&big, false)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let req = Request::post("/step-up")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("id=nope&code=123456"))
        .expect("request");
    let (status, _, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("expired"));

    for (path, body) in [
        ("/enroll", "ticket=nope"),
        ("/enroll/confirm", "ticket=nope&code=123456"),
        ("/enroll", ""),
    ] {
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let (status, headers, body) = send(&app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(headers[OUTCOME_HEADER], "enrol-expired", "{path}");
        assert!(String::from_utf8_lossy(&body).contains("expired"));
    }

    let (status, headers, _) = send(&app, get("/login")).await;
    assert!(status.is_redirection());
    assert_eq!(headers[header::LOCATION], "/");
}

/// `/api/verdicts` lists usernames and addresses: without an admin token only a direct loopback
/// peer gets it (not a remote one, not one relayed by a local proxy, not one of unknown origin);
/// with a token, exactly that bearer token is required, from anywhere.
#[tokio::test]
async fn verdict_list_is_admin_only() {
    let (app, _) = app(false);
    let (status, _, _) = send(&app, from_peer(get("/api/verdicts"), "127.0.0.1:50000")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&app, from_peer(get("/api/verdicts"), "[::1]:50000")).await;
    assert_eq!(status, StatusCode::OK);
    for req in [
        from_peer(get("/api/verdicts"), "192.0.2.7:50000"),
        get("/api/verdicts"),
        from_peer(
            Request::get("/api/verdicts")
                .header("x-forwarded-for", "192.0.2.7")
                .body(Body::empty())
                .expect("request"),
            "127.0.0.1:50000",
        ),
        from_peer(
            Request::get("/api/verdicts")
                .header(header::FORWARDED, "for=192.0.2.7")
                .body(Body::empty())
                .expect("request"),
            "127.0.0.1:50000",
        ),
    ] {
        let (status, _, body) = send(&app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!String::from_utf8_lossy(&body).contains('['), "no list");
    }

    let token = "demo-admin-token-Kq7Wm2";
    let state = Arc::new(
        AppState::new(Config {
            verifier_url: format!("http://127.0.0.1:{}", closed_port()),
            assets_dir: assets_dir(),
            admin_token: Some(token.into()),
            ..Config::default()
        })
        .expect("config"),
    );
    let app = demo_site::router(state);
    let with = |auth: Option<&str>, peer: &str| {
        let mut b = Request::get("/api/verdicts");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        from_peer(b.body(Body::empty()).expect("request"), peer)
    };
    for (auth, peer, want) in [
        (
            Some(format!("Bearer {token}")),
            "192.0.2.7:1",
            StatusCode::OK,
        ),
        (
            Some(format!("Bearer {token}")),
            "127.0.0.1:1",
            StatusCode::OK,
        ),
        // With a token configured, loopback alone is not enough.
        (None, "127.0.0.1:1", StatusCode::UNAUTHORIZED),
        (
            Some(format!("Bearer {token}x")),
            "192.0.2.7:1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some("Bearer ".to_string()),
            "192.0.2.7:1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(token.to_string()),
            "192.0.2.7:1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(format!("Basic {token}")),
            "192.0.2.7:1",
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (status, headers, _) = send(&app, with(auth.as_deref(), peer)).await;
        assert_eq!(status, want, "{auth:?} from {peer}");
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        }
    }

    // An empty token is a configuration error, not "no token".
    let empty = AppState::new(Config {
        admin_token: Some(String::new()),
        ..Config::default()
    });
    assert!(empty.is_err());
}
