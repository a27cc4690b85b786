//! The demo's step-up results label the session in the verifier's audit trail: a passed
//! one-time code posts `stepup-passed`, three wrong codes `stepup-failed`, both to
//! `/v1/feedback` from the site's backend. The verifier runs in-process on a loopback socket with
//! an SQLite trail in a temporary directory; the demo talks to it over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tollgate_testkit::{TelemetrySpec, TokenSpec, temp_dir};
use tollgate_tests::between;
use tower::ServiceExt;
use verifier::config::Settings;
use verifier::{AppState as VerifierState, ManualClock};

const ORIGIN: &str = "http://127.0.0.1:8080";
const SITE: (&str, &str) = ("site-learning", "secret-learning-0123456789");

fn config(db: &std::path::Path) -> String {
    format!(
        r#"
[[keys]]
id = 5
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "{k}"
secret = "{s}"
allowed_origins = ["http://127.0.0.1:*"]
success_when = "valid"
pow = {{ k = 4, bits = 6 }}
store_telemetry = true

[audit]
backend = "sqlite"
path = "{db}"
"#,
        seed = tollgate_protocol::b64_encode(&[5u8; 32]),
        mac = tollgate_protocol::b64_encode(&[6u8; 32]),
        k = SITE.0,
        s = SITE.1,
        db = db.display(),
    )
}

async fn body_text(resp: axum::response::Response) -> String {
    String::from_utf8_lossy(&resp.into_body().collect().await.expect("body").to_bytes())
        .into_owned()
}

#[tokio::test]
async fn step_up_results_reach_the_audit_trail() {
    let dir = temp_dir("demo-learning");
    let settings = Settings::from_toml(
        &config(&dir.join("audit.db")),
        std::path::Path::new("t.toml"),
        std::path::Path::new("."),
        &|_| None,
    )
    .expect("config");
    let state = VerifierState::try_new(settings, Arc::new(ManualClock::new(1_800_000_000_000)))
        .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = verifier::app(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let base = format!("http://{addr}");
    let demo = demo_site::router(Arc::new(
        demo_site::AppState::new(demo_site::Config {
            verifier_url: base.clone(),
            sitekey: SITE.0.into(),
            secret: SITE.1.into(),
            ..demo_site::Config::default()
        })
        .expect("demo"),
    ));
    let http = reqwest::Client::new();

    // Two logins without behaviour (default policy: challenge) → step-up pages.
    let mut steps = Vec::new();
    for _ in 0..2 {
        let c: Value = http
            .post(format!("{base}/v1/challenge"))
            .header(header::ORIGIN, ORIGIN)
            .json(&json!({"sitekey": SITE.0, "action": "login"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = TokenSpec::new(ORIGIN, "login", "")
            .telemetry(TelemetrySpec::none().build())
            .seal_reply(
                c["challenge"].as_str().unwrap(),
                c["token_key"].as_str().unwrap(),
            )
            .unwrap();
        let req = Request::post("/login")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "username=bob&password=correct+horse&tollgate-response={token}"
            )))
            .unwrap();
        let page = body_text(demo.clone().oneshot(req).await.unwrap()).await;
        let verdict_id = between(&page, "&quot;id&quot;: &quot;", "&quot;").to_string();
        let code = between(&page, r#"<code id="demo-code">"#, "</code>").to_string();
        let step = between(&page, r#"name="id" value=""#, "\"").to_string();
        steps.push((verdict_id, step, code));
    }
    let step_up = |id: &str, code: &str| {
        Request::post("/step-up")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("id={id}&code={code}")))
            .unwrap()
    };
    // The first passes; the second gets three wrong codes.
    let resp = demo
        .clone()
        .oneshot(step_up(&steps[0].1, &steps[0].2))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for _ in 0..3 {
        let wrong = if steps[1].2 == "000000" {
            "111111"
        } else {
            "000000"
        };
        let _ = demo
            .clone()
            .oneshot(step_up(&steps[1].1, wrong))
            .await
            .unwrap();
    }
    let sink = state.audit().unwrap().sink().clone();
    let labels = |id: String| {
        let sink = sink.clone();
        async move {
            sink.labels_for(&[id])
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.feedback.as_str(), l.source))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        labels(steps[0].0.clone()).await,
        [("stepup-passed", "backend".to_string())]
    );
    assert_eq!(
        labels(steps[1].0.clone()).await,
        [("stepup-failed", "backend".to_string())]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
