//! Audit trail: the shared contract suite against both backends (SQLite in a temporary
//! directory, a real PostgreSQL started on loopback by the test), the writer's full-queue
//! policy, retention on a manual clock, and `/v1/feedback` + `/v1/outcome` through the real
//! router with testkit-built tokens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tollgate_testkit::postgres::PostgresServer;
use tollgate_testkit::{TelemetrySpec, TokenSpec, temp_dir};
use tower::ServiceExt;
use verifier::audit::postgres::PostgresSink;
use verifier::audit::sqlite::SqliteSink;
use verifier::audit::{
    AuditRecord, AuditSink, AuditWriter, Feedback, KeyedHashes, LabelRecord, Query, Swept,
    TraceTelemetry,
};
use verifier::challenge::ChallengeReply;
use verifier::config::Settings;
use verifier::{AppState, ManualClock};

const T0: u64 = 1_800_000_000_000;
const DAY: u64 = 86_400_000;

fn record(id: u8, site: &str, time_ms: u64, telemetry_until: Option<u64>) -> AuditRecord {
    let mut features = BTreeMap::new();
    features.insert("pointer_moves".to_string(), 12.0);
    AuditRecord {
        id: format!("{id:032x}"),
        time_ms,
        site: site.into(),
        action: "login".into(),
        decision: "allow".into(),
        score: 0.8,
        reasons: vec!["pointer".into()],
        model_id: "sha256-0011223344556677".into(),
        shadow: None,
        allow_threshold: 0.6,
        block_threshold: 0.2,
        features,
        contributions: BTreeMap::new(),
        hashes: KeyedHashes {
            ip: Some("aa".repeat(16)),
            account: None,
            fingerprint: "bb".repeat(16),
        },
        browser: "chromium".into(),
        telemetry: telemetry_until.map(|_| TraceTelemetry {
            device: "mouse".into(),
            pointer: vec![(0.0, "move".into(), 1.0, 2.0, 0)],
            keys: vec![(5.0, 80.0, "char".into())],
            targets: vec![(10.0, 20.0, 200.0, 30.0)],
        }),
        telemetry_until_ms: telemetry_until,
    }
}

/// The contract every backend meets.
async fn contract(sink: &dyn AuditSink) {
    let a = record(1, "site-a", T0, Some(T0 + DAY));
    let b = record(2, "site-b", T0 + 10, None);
    let c = record(3, "site-a", T0 + 20, Some(T0 + 3 * DAY));
    sink.write_batch(&[a.clone(), b.clone()]).await.unwrap();
    sink.write_batch(std::slice::from_ref(&c)).await.unwrap();
    // A repeated id is left as it was.
    let mut a2 = a.clone();
    a2.score = 0.1;
    sink.write_batch(&[a2]).await.unwrap();
    assert_eq!(sink.get(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(sink.get(&b.id).await.unwrap().as_ref(), Some(&b));
    assert_eq!(sink.get(&format!("{:032x}", 99)).await.unwrap(), None);

    // By time and site.
    let all = sink.range(&Query::all()).await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone(), c.clone()]);
    let q = Query {
        site: Some("site-a".into()),
        from_ms: T0 + 1,
        to_ms: T0 + 100,
        ..Query::all()
    };
    assert_eq!(sink.range(&q).await.unwrap(), vec![c.clone()]);
    let q = Query {
        limit: 2,
        ..Query::all()
    };
    assert_eq!(sink.range(&q).await.unwrap().len(), 2);
    let q = Query {
        limit: 2,
        newest_first: true,
        ..Query::all()
    };
    assert_eq!(sink.range(&q).await.unwrap(), vec![c.clone(), b.clone()]);

    // Labels: append-only, per id, in order.
    for (i, f) in [Feedback::Success, Feedback::Bot].into_iter().enumerate() {
        sink.add_label(&LabelRecord {
            id: a.id.clone(),
            site: "site-a".into(),
            time_ms: T0 + i as u64,
            feedback: f,
            source: "backend".into(),
        })
        .await
        .unwrap();
    }
    let labels = sink
        .labels_for(&[a.id.clone(), b.id.clone()])
        .await
        .unwrap();
    assert_eq!(
        labels.iter().map(|l| l.feedback).collect::<Vec<_>>(),
        [Feedback::Success, Feedback::Bot]
    );
    let lab = verifier::audit::labelled(sink, &Query::all())
        .await
        .unwrap();
    assert_eq!(lab[0].1.len(), 2);
    assert!(lab[1].1.is_empty());

    // Retention: telemetry erased at its own limit, records (and their labels) at theirs.
    let s = sink.sweep(0, T0 + DAY).await.unwrap();
    assert_eq!(
        s,
        Swept {
            records: 0,
            labels: 0,
            telemetry: 1
        }
    );
    let got = sink.get(&a.id).await.unwrap().unwrap();
    assert_eq!(got.telemetry, None);
    assert_eq!(got.telemetry_until_ms, None);
    assert!(sink.get(&c.id).await.unwrap().unwrap().telemetry.is_some());
    let s = sink.sweep(T0 + 15, T0 + DAY).await.unwrap();
    assert_eq!(
        s,
        Swept {
            records: 2,
            labels: 2,
            telemetry: 0
        }
    );
    assert_eq!(sink.range(&Query::all()).await.unwrap(), vec![c.clone()]);
    assert!(
        sink.labels_for(std::slice::from_ref(&a.id))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A throwaway Postgres, started off the runtime; `None` when skipped (testkit `require`).
async fn postgres() -> Option<PostgresServer> {
    tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap()
}

#[tokio::test]
async fn sqlite_backend_meets_the_contract() {
    let dir = temp_dir("audit-sqlite");
    let sink = SqliteSink::open(&dir.join("audit.db")).unwrap();
    contract(&sink).await;
    // Survives a reopen (a file, not memory).
    drop(sink);
    let sink = SqliteSink::open(&dir.join("audit.db")).unwrap();
    assert_eq!(sink.range(&Query::all()).await.unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backend_meets_the_contract_and_is_shared() {
    let Some(pg) = postgres().await else {
        return;
    };
    let sink = PostgresSink::new(pg.url());
    contract(&sink).await;
    // A second instance sees the first one's records.
    let other = PostgresSink::new(pg.url());
    assert_eq!(other.range(&Query::all()).await.unwrap().len(), 1);
    // Server gone: a typed error, not a panic.
    drop(pg);
    assert!(sink.get("00").await.is_err());
}

#[tokio::test]
async fn a_full_queue_drops_counts_and_never_blocks() {
    let dir = temp_dir("audit-queue");
    let sink = Arc::new(SqliteSink::open(&dir.join("a.db")).unwrap());
    let w = AuditWriter::new(sink.clone(), 2);
    // Not started: the queue fills.
    for i in 0..5 {
        w.submit(record(i, "s", T0 + u64::from(i), None), T0);
    }
    assert_eq!(w.stats().dropped_queue_full.load(Ordering::Relaxed), 3);
    w.start();
    w.flush().await;
    assert_eq!(w.stats().written.load(Ordering::Relaxed), 2);
    assert_eq!(sink.range(&Query::all()).await.unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

// ---- through the router ----

const SECRET_A: &str = "site-a-secret-0123456789";
const SECRET_B: &str = "site-b-secret-0123456789";
const ANALYST_KEY: &str = "analyst-key-0123456789";
const ORIGIN: &str = "http://localhost:8080";
const ADMIN_TOKEN: &str = "console-token-0123456789abcdef";

fn config(db: &Path) -> String {
    let seed = tollgate_protocol::b64_encode(&[7u8; 32]);
    let mac = tollgate_protocol::b64_encode(&[8u8; 32]);
    format!(
        r#"
[[keys]]
id = 1
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "site-a"
secret = "{SECRET_A}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 1, bits = 1 }}
store_telemetry = true
telemetry_retention_days = 7
feedback_per_minute = 5
feedback_sources = [{{ name = "analyst", key = "{ANALYST_KEY}", per_minute = 100 }}]

[[sites]]
sitekey = "site-b"
secret = "{SECRET_B}"
allowed_origins = ["http://localhost:*"]
pow = {{ k = 1, bits = 1 }}

[audit]
backend = "sqlite"
path = "{}"
retention_days = 30
admin_token = "{ADMIN_TOKEN}"
"#,
        db.display()
    )
}

struct H {
    app: Router,
    state: AppState,
    clock: Arc<ManualClock>,
    dir: PathBuf,
}

fn harness() -> H {
    let dir = temp_dir("audit-router");
    let text = config(&dir.join("audit.db"));
    let settings =
        Settings::from_toml(&text, Path::new("t.toml"), Path::new("."), &|_| None).unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::try_new(settings, clock.clone()).unwrap();
    H {
        app: verifier::app(state.clone()),
        state,
        clock,
        dir,
    }
}

async fn post(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn verdict(h: &H, sitekey: &str, secret: &str, t: TelemetrySpec) -> Value {
    let (s, v) = post(
        &h.app,
        "/v1/challenge",
        json!({"sitekey": sitekey, "action": "login"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reply: ChallengeReply = serde_json::from_value(v).unwrap();
    let token = TokenSpec::new(ORIGIN, "login", "")
        .telemetry(t.build())
        .seal_reply(&reply.challenge, &reply.token_key)
        .unwrap();
    let (s, v) = post(
        &h.app,
        "/v1/siteverify",
        json!({"secret": secret, "response": token, "remoteip": "203.0.113.9", "account": "alice@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["tollgate"]["id"].is_string(), "{v}");
    v
}

#[tokio::test]
async fn siteverify_writes_one_record_with_hashes_only() {
    let h = harness();
    let v = verdict(&h, "site-a", SECRET_A, TelemetrySpec::human_login()).await;
    let id = v["tollgate"]["id"].as_str().unwrap().to_string();
    let audit = h.state.audit().unwrap();
    audit.writer.flush().await;
    let r = audit.sink().get(&id).await.unwrap().expect("recorded");
    assert_eq!(r.site, "site-a");
    assert_eq!(r.decision, v["tollgate"]["decision"].as_str().unwrap());
    assert_eq!(r.score, v["tollgate"]["score"].as_f64().unwrap());
    assert_eq!(r.model_id, verifier::config::SiteModel::builtin().id);
    assert!(r.model_id.starts_with("sha256-"));
    assert!(
        !r.contributions.is_empty(),
        "per-feature contributions kept"
    );
    assert_eq!(
        r.contributions.len(),
        v["tollgate"]["contributions"].as_object().unwrap().len()
    );
    assert_eq!(r.time_ms, T0);
    // Keyed hashes, never the raw values.
    let body = serde_json::to_string(&r).unwrap();
    assert!(!body.contains("203.0.113.9") && !body.contains("alice"));
    assert_eq!(r.hashes.ip.as_ref().unwrap().len(), 32);
    assert_eq!(r.hashes.account.as_ref().unwrap().len(), 32);
    // Telemetry kept (opt-in site) with its limit; not for site-b.
    let t = r.telemetry.as_ref().expect("site-a stores telemetry");
    assert!(!t.pointer.is_empty() && !t.keys.is_empty());
    assert_eq!(r.telemetry_until_ms, Some(T0 + 7 * DAY));
    let vb = verdict(&h, "site-b", SECRET_B, TelemetrySpec::human_login()).await;
    audit.writer.flush().await;
    let rb = audit
        .sink()
        .get(vb["tollgate"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rb.telemetry, None);
    // Same account on another site: a different hash (keyed per site).
    assert_ne!(rb.hashes.account, r.hashes.account);
    // Retention on the manual clock: telemetry after 7 days, the record after 30.
    h.clock.advance_ms(8 * DAY);
    audit.sweep(h.state.now_ms()).await.unwrap();
    assert_eq!(
        audit.sink().get(&id).await.unwrap().unwrap().telemetry,
        None
    );
    h.clock.advance_ms(23 * DAY);
    let s = audit.sweep(h.state.now_ms()).await.unwrap();
    assert_eq!(s.records, 2);
    assert_eq!(audit.sink().get(&id).await.unwrap(), None);
    let _ = std::fs::remove_dir_all(&h.dir);
}

#[tokio::test]
async fn feedback_attaches_labels_with_typed_errors_and_guards() {
    let h = harness();
    let v = verdict(&h, "site-a", SECRET_A, TelemetrySpec::human_login()).await;
    let id = v["tollgate"]["id"].as_str().unwrap().to_string();
    // Right after siteverify (the record may still be queued): found.
    let (s, r) = post(
        &h.app,
        "/v1/feedback",
        json!({"secret": SECRET_A, "id": id, "label": "human"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["source"], "backend");
    // Form body, outcome.
    let req = Request::post("/v1/feedback")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "secret={SECRET_A}&id={id}&outcome=stepup-passed"
        )))
        .unwrap();
    assert_eq!(
        h.app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    // An authenticated analyst.
    let (s, _) = post(
        &h.app,
        "/v1/feedback",
        json!({"secret": SECRET_A, "id": id, "label": "false-positive", "source": "analyst", "source_key": ANALYST_KEY}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Typed errors.
    let cases = [
        (
            json!({"secret": "nope-nope-nope-nope", "id": id, "label": "bot"}),
            StatusCode::UNAUTHORIZED,
            "invalid-secret",
        ),
        (
            json!({"secret": SECRET_A, "id": format!("{:032x}", 5), "label": "bot"}),
            StatusCode::NOT_FOUND,
            "unknown-id",
        ),
        (
            json!({"secret": SECRET_B, "id": id, "label": "bot"}),
            StatusCode::FORBIDDEN,
            "wrong-site",
        ),
        (
            json!({"secret": SECRET_A, "id": id, "label": "robot"}),
            StatusCode::BAD_REQUEST,
            "bad-label",
        ),
        (
            json!({"secret": SECRET_A, "id": id, "label": "success"}),
            StatusCode::BAD_REQUEST,
            "bad-label",
        ),
        (
            json!({"secret": SECRET_A, "id": id, "label": "bot", "outcome": "success"}),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            json!({"secret": SECRET_A, "id": "xyz", "label": "bot"}),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            json!({"secret": SECRET_A, "id": id, "label": "bot", "source": "analyst", "source_key": "wrong-key-0123456789"}),
            StatusCode::FORBIDDEN,
            "unauthenticated-source",
        ),
        (
            json!({"secret": SECRET_A, "id": id, "label": "bot", "source": "crowd"}),
            StatusCode::FORBIDDEN,
            "unauthenticated-source",
        ),
    ];
    for (body, status, code) in cases {
        let (s, r) = post(&h.app, "/v1/feedback", body.clone()).await;
        assert_eq!((s, r["error"].as_str()), (status, Some(code)), "{body}");
    }
    // Per-source budget: backend has 5 per minute; 3 used (the unknown id counts too: the
    // budget is taken before the lookup); the analyst's is separate.
    let mut codes = Vec::new();
    for _ in 0..4 {
        let (s, _) = post(
            &h.app,
            "/v1/feedback",
            json!({"secret": SECRET_A, "id": id, "outcome": "success"}),
        )
        .await;
        codes.push(s);
    }
    assert_eq!(
        codes,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let (s, _) = post(
        &h.app,
        "/v1/feedback",
        json!({"secret": SECRET_A, "id": id, "label": "human", "source": "analyst", "source_key": ANALYST_KEY}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // A minute later the backend may report again.
    h.clock.advance_ms(60_000);
    let (s, _) = post(
        &h.app,
        "/v1/feedback",
        json!({"secret": SECRET_A, "id": id, "outcome": "locked"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let audit = h.state.audit().unwrap();
    let labels = audit
        .sink()
        .labels_for(std::slice::from_ref(&id))
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = labels
        .iter()
        .map(|l| (l.feedback.as_str(), l.source.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("human", "backend"),
            ("stepup-passed", "backend"),
            ("false-positive", "analyst"),
            ("success", "backend"),
            ("success", "backend"),
            ("human", "analyst"),
            ("locked", "backend"),
        ]
    );
    // A label never changes the stored verdict.
    let r = audit.sink().get(&id).await.unwrap().unwrap();
    assert_eq!(r.score, v["tollgate"]["score"].as_f64().unwrap());
    let _ = std::fs::remove_dir_all(&h.dir);
}

#[tokio::test]
async fn outcome_is_folded_into_the_trail() {
    let h = harness();
    let v = verdict(&h, "site-a", SECRET_A, TelemetrySpec::human_login()).await;
    let id = v["tollgate"]["id"].as_str().unwrap().to_string();
    h.state.audit().unwrap().writer.flush().await;
    let (s, r) = post(
        &h.app,
        "/v1/outcome",
        json!({"secret": SECRET_A, "id": id, "outcome": "failure"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let labels = h
        .state
        .audit()
        .unwrap()
        .sink()
        .labels_for(&[id])
        .await
        .unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].feedback, Feedback::BadPassword);
    let _ = std::fs::remove_dir_all(&h.dir);
}

#[tokio::test]
async fn feedback_without_a_trail_is_audit_disabled() {
    let settings = Settings::dev().unwrap();
    let app = verifier::app(AppState::new(settings, Arc::new(ManualClock::new(T0))));
    let (s, r) = post(
        &app,
        "/v1/feedback",
        json!({"secret": verifier::config::DEV_SECRET, "id": format!("{:032x}", 1), "label": "bot"}),
    )
    .await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("audit-disabled"))
    );
}

// ---- the loop: shadow → compare → calibrate → export → promote by reload ----

fn loop_config(db: &Path, model: Option<&Path>, shadow: Option<&Path>) -> String {
    let mut text = config(db);
    let mut extra = String::new();
    if let Some(m) = model {
        extra.push_str(&format!("model = \"{}\"\n", m.display()));
    }
    if let Some(s) = shadow {
        extra.push_str(&format!("shadow_model = \"{}\"\n", s.display()));
    }
    text = text.replacen(
        "store_telemetry = true\n",
        &format!("store_telemetry = true\n{extra}"),
        1,
    );
    text
}

fn settings(text: &str) -> Settings {
    Settings::from_toml(text, Path::new("t.toml"), Path::new("."), &|_| None).unwrap()
}

#[tokio::test]
async fn shadow_compare_calibrate_export_and_promote() {
    let dir = temp_dir("audit-loop");
    let db = dir.join("audit.db");
    // A candidate: the compiled-in model with a different bias and an id of its own.
    let mut m = tollgate_model::Model::default_model().clone();
    m.bias -= 1.5;
    let meta = tollgate_model::meta::ModelMeta {
        id: Some("candidate-1".into()),
        manifest: Some(json!({"inputs": []})),
        evaluation: None,
    };
    let cand = dir.join("candidate.json");
    std::fs::write(&cand, meta.append_to(&m.to_json())).unwrap();
    // A broken model file is refused at load, with the file named.
    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        "{\"format\": \"tollgate-behaviour-model\", \"version\": 3}",
    )
    .unwrap();
    let err = Settings::from_toml(
        &loop_config(&db, None, Some(&broken)),
        Path::new("t.toml"),
        Path::new("."),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("broken.json"), "{err}");

    let clock = Arc::new(ManualClock::new(T0));
    let state = AppState::try_new(
        settings(&loop_config(&db, None, Some(&cand))),
        clock.clone(),
    )
    .unwrap();
    let h = H {
        app: verifier::app(state.clone()),
        state,
        clock,
        dir: dir.clone(),
    };
    let builtin = verifier::config::SiteModel::builtin().id.clone();
    // Labelled traffic: humans and linear bots, labelled by the backend.
    let mut ids = Vec::new();
    for i in 0..12u64 {
        let (t, label) = if i % 3 == 2 {
            (TelemetrySpec::bot_linear(40 + i as u16, 8.0), "bot")
        } else {
            (TelemetrySpec::human(100 + i), "human")
        };
        let v = verdict(&h, "site-a", SECRET_A, t).await;
        let id = v["tollgate"]["id"].as_str().unwrap().to_string();
        let (s, r) = post(
            &h.app,
            "/v1/feedback",
            json!({"secret": SECRET_A, "id": id, "label": label, "source": "analyst", "source_key": ANALYST_KEY}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        ids.push((id, label, v));
    }
    let audit = h.state.audit().unwrap().clone();
    audit.writer.flush().await;
    let recs = verifier::audit::labelled(audit.sink().as_ref(), &Query::all())
        .await
        .unwrap();
    assert_eq!(recs.len(), 12);
    for (r, _) in &recs {
        assert_eq!(r.model_id, builtin);
        let s = r.shadow.as_ref().expect("shadow scored");
        assert_eq!(s.model_id, "candidate-1");
    }
    // The shadow never changed an answer: the answers are the compiled-in model's.
    for (id, _, v) in &ids {
        let r = recs.iter().find(|(r, _)| &r.id == id).unwrap();
        assert_eq!(r.0.score, v["tollgate"]["score"].as_f64().unwrap());
    }

    // compare-models: one pair, every record, rates on the 8 humans and 4 bots.
    let t = tollgate_model::Thresholds::default();
    let cs = verifier::audit::analysis::compare(&recs, &t);
    assert_eq!(cs.len(), 1);
    let c = &cs[0];
    assert_eq!(
        (c.model.as_str(), c.shadow.as_str()),
        (builtin.as_str(), "candidate-1")
    );
    assert_eq!(c.records, 12);
    assert_eq!(c.confusion.values().sum::<usize>(), 12);
    assert_eq!((c.answer_rates.humans, c.answer_rates.bots), (8, 4));
    assert_eq!((c.shadow_rates.humans, c.shadow_rates.bots), (8, 4));
    // The lower-bias candidate scores no session higher than the answering model.
    for (r, _) in &recs {
        assert!(r.shadow.as_ref().unwrap().score <= r.score + 1e-9);
    }
    let report = verifier::audit::analysis::comparison_report(&cs, &t);
    assert!(report.contains("candidate-1"), "{report}");

    // calibrate: refuses on too few humans, else proposes thresholds meeting the targets.
    let targets = verifier::audit::analysis::Targets {
        humans_challenged: 0.25,
        humans_blocked: 0.0,
        min_humans: 20,
    };
    let which = verifier::audit::analysis::Which::Answer;
    assert!(matches!(
        verifier::audit::analysis::calibrate(&recs, &t, which, targets),
        Err(verifier::audit::analysis::CalibrateError::TooFew { have: 8, need: 20 })
    ));
    let targets = verifier::audit::analysis::Targets {
        min_humans: 8,
        ..targets
    };
    let cal = verifier::audit::analysis::calibrate(&recs, &t, which, targets).unwrap();
    assert!(cal.thresholds.block <= cal.thresholds.allow);
    assert!(cal.after.humans_challenged <= 2, "{cal:?}");
    assert_eq!(cal.after.humans_blocked, 0, "{cal:?}");
    let snippet = verifier::audit::analysis::calibration_report("site-a", &t, &cal);
    assert!(snippet.contains("policy = { allow = "), "{snippet}");

    // export → the trace reader of tollgate-intel.
    let mut out = Vec::new();
    let rep = verifier::audit::export::export(
        audit.sink().as_ref(),
        &verifier::audit::export::ExportOptions {
            query: Query::all(),
            min_strength: verifier::audit::Strength::Strong,
        },
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(rep.exported, 12);
    let (read, load) = tollgate_intel::traces::read_records(&out[..]);
    assert_eq!((load.records, load.skipped), (12, 0), "{:?}", load.problems);
    for r in &read {
        let (_, label, _) = ids.iter().find(|(id, _, _)| id == &r.id).unwrap();
        assert_eq!(r.label.as_str(), *label);
        assert_eq!(r.source, "site:site-a");
        assert!(!r.session.pointer.is_empty());
    }

    // Promote by reload: the candidate answers, the next verdict and record carry its id.
    h.state
        .reload(settings(&loop_config(&db, Some(&cand), None)));
    let v = verdict(&h, "site-a", SECRET_A, TelemetrySpec::human(7)).await;
    audit.writer.flush().await;
    let r = audit
        .sink()
        .get(v["tollgate"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.model_id, "candidate-1");
    assert_eq!(r.shadow, None);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn admin(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn console_api_needs_the_token_and_filters() {
    let h = harness();
    let human = verdict(&h, "site-a", SECRET_A, TelemetrySpec::human_login()).await;
    h.clock.advance_ms(1000);
    let bot = verdict(&h, "site-a", SECRET_A, TelemetrySpec::bot_linear(40, 8.0)).await;
    let _other = verdict(&h, "site-b", SECRET_B, TelemetrySpec::human_login()).await;
    h.state.audit().unwrap().writer.flush().await;
    // The page is served (no data in it); the API needs the token.
    let req = Request::get("/admin/").body(Body::empty()).unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for token in [None, Some("wrong-token-0123456789abcdef")] {
        let (s, r) = admin(&h.app, "GET", "/admin/api/verdicts", token, None).await;
        assert_eq!(
            (s, r["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid-token"))
        );
    }
    let (s, r) = admin(
        &h.app,
        "GET",
        "/admin/api/verdicts?site=site-a",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rows = r["verdicts"].as_array().unwrap();
    // Newest first, site filter, no telemetry in the list.
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], bot["tollgate"]["id"]);
    assert_eq!(rows[1]["id"], human["tollgate"]["id"]);
    assert!(rows.iter().all(|v| v.get("telemetry").is_none()));
    let d = bot["tollgate"]["decision"].as_str().unwrap();
    let (_, r) = admin(
        &h.app,
        "GET",
        &format!("/admin/api/verdicts?decision={d}&site=site-a"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert!(
        r["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["decision"] == d)
    );
    // One session with its telemetry; a label from the console.
    let id = bot["tollgate"]["id"].as_str().unwrap();
    let (s, r) = admin(
        &h.app,
        "GET",
        &format!("/admin/api/verdicts/{id}"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !r["record"]["telemetry"]["pointer"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (s, r) = admin(
        &h.app,
        "POST",
        "/admin/api/feedback",
        Some(ADMIN_TOKEN),
        Some(json!({"id": id, "label": "bot"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, r) = admin(
        &h.app,
        "GET",
        &format!("/admin/api/verdicts/{id}"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(r["labels"][0]["source"], "console");
    assert_eq!(r["labels"][0]["feedback"], "bot");
    let (s, _) = admin(
        &h.app,
        "POST",
        "/admin/api/feedback",
        Some(ADMIN_TOKEN),
        Some(json!({"id": id, "label": "robot"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = admin(
        &h.app,
        "GET",
        &format!("/admin/api/verdicts/{:032x}", 3),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&h.dir);
}

#[tokio::test]
async fn console_is_off_without_a_token() {
    let dir = temp_dir("audit-noconsole");
    let text = config(&dir.join("a.db")).replace(&format!("admin_token = \"{ADMIN_TOKEN}\"\n"), "");
    let settings =
        Settings::from_toml(&text, Path::new("t.toml"), Path::new("."), &|_| None).unwrap();
    let app = verifier::app(AppState::try_new(settings, Arc::new(ManualClock::new(T0))).unwrap());
    let (s, _) = admin(&app, "GET", "/admin/", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = admin(&app, "GET", "/admin/api/verdicts", Some(ADMIN_TOKEN), None).await;
    assert_eq!(
        (s, r["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("console-disabled"))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_postgres_trail() {
    let Some(pg) = postgres().await else {
        return;
    };
    let dir = temp_dir("audit-pg-router");
    let text = config(&dir.join("unused.db")).replace(
        &format!(
            "backend = \"sqlite\"\npath = \"{}\"",
            dir.join("unused.db").display()
        ),
        "backend = \"postgres\"\nurl_env = \"AUDIT_URL\"",
    );
    let url = pg.url();
    let env = move |k: &str| (k == "AUDIT_URL").then(|| url.clone());
    let mk = || {
        let s = Settings::from_toml(&text, Path::new("t.toml"), Path::new("."), &env).unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let state = AppState::try_new(s, clock.clone()).unwrap();
        H {
            app: verifier::app(state.clone()),
            state,
            clock,
            dir: dir.clone(),
        }
    };
    let (one, two) = (mk(), mk());
    assert_eq!(one.state.audit().unwrap().sink().backend(), "postgres");
    // A verdict on instance one, labelled through instance two (the backend's request may land
    // on any instance), read back from both.
    let v = verdict(&one, "site-a", SECRET_A, TelemetrySpec::human_login()).await;
    let id = v["tollgate"]["id"].as_str().unwrap().to_string();
    one.state.audit().unwrap().writer.flush().await;
    let (s, r) = post(
        &two.app,
        "/v1/feedback",
        json!({"secret": SECRET_A, "id": id, "label": "human"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    for h in [&one, &two] {
        let sink = h.state.audit().unwrap().sink().clone();
        let rec = sink.get(&id).await.unwrap().expect("shared record");
        assert!(rec.telemetry.is_some());
        assert_eq!(
            sink.labels_for(std::slice::from_ref(&id))
                .await
                .unwrap()
                .len(),
            1
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
