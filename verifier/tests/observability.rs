//! Observability: latency histograms per route and store operation on `/metrics`, JSON logs
//! from the real binary, `--version` with the git revision, and the alert rule file naming only
//! metrics the verifier exports.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use verifier::config::Settings;
use verifier::{AppState, SystemClock};

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let resp = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The lines of `text` for `metric` carrying every label of `labels`.
fn lines_with<'a>(text: &'a str, metric: &str, labels: &[&str]) -> Vec<&'a str> {
    let prefix = format!("{metric}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .collect()
}

#[tokio::test]
async fn histograms_per_route_and_store_operation() {
    // This test binary's only recorder, with the verifier's buckets.
    let handle = verifier::observability::prometheus_builder()
        .expect("buckets")
        .install_recorder()
        .expect("first and only recorder");
    let state = AppState::new(
        Settings::dev().expect("dev settings"),
        Arc::new(SystemClock),
    );
    state.set_prometheus(handle);
    assert!(state.check_store().await, "memory store answers ping");
    let app = verifier::app(state);

    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/v1/keys").await.0, StatusCode::OK);
    assert_eq!(
        get(&app, "/no-such-route-7f3a").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, text) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);

    let bucket = "tollgate_http_request_duration_seconds_bucket";
    for route in ["/healthz", "/v1/keys"] {
        let label = format!("route=\"{route}\"");
        let lines = lines_with(&text, bucket, &[&label, "method=\"GET\"", "status=\"2xx\""]);
        assert!(!lines.is_empty(), "no {bucket} for {route}:\n{text}");
        assert!(
            lines.iter().any(|l| l.contains("le=\"0.005\"")),
            "configured buckets, not a summary:\n{text}"
        );
    }
    // Raw paths never become label values (unbounded cardinality).
    assert!(!text.contains("no-such-route-7f3a"), "{text}");
    let store = lines_with(
        &text,
        "tollgate_store_operation_duration_seconds_bucket",
        &["backend=\"memory\"", "op=\"ping\"", "result=\"ok\""],
    );
    assert!(!store.is_empty(), "store op not recorded:\n{text}");
}

/// Spawn the binary with `args`/`env`, stop it with SIGTERM, return its stderr.
fn run_and_stop(args: &[&str], env: &[(&str, &str)], log: std::path::PathBuf) -> String {
    let mut v = common::VerifierProcess::spawn(args, env, log);
    v.signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while v.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    v.log_text()
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = common::temp_dir("json-logs");
    let flag: &[&str] = &["--log-format", "json"];
    let via_env: &[(&str, &str)] = &[("TOLLGATE_LOG_FORMAT", "json")];
    for (i, (args, env)) in [(flag, &[][..]), (&[][..], via_env)]
        .into_iter()
        .enumerate()
    {
        let text = run_and_stop(args, env, dir.join(format!("stderr-{i}.log")));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            lines.len() >= 2,
            "expected the start and shutdown lines:\n{text}"
        );
        for l in &lines {
            let obj: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\nfull log:\n{text}"));
            assert!(obj.is_object(), "{l}");
            assert!(
                obj["level"].is_string() && obj["timestamp"].is_string(),
                "{l}"
            );
        }
        assert!(
            lines.iter().any(|l| l.contains("development mode")),
            "{text}"
        );
    }
}

#[test]
fn text_logs_stay_the_default() {
    let dir = common::temp_dir("text-logs");
    let text = run_and_stop(&[], &[], dir.join("stderr.log"));
    assert!(text.contains("development mode"), "{text}");
    assert!(
        text.lines().all(|l| !l.trim_start().starts_with('{')),
        "{text}"
    );
}

#[test]
fn version_names_the_git_revision() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let want = format!("verifier {} (", env!("CARGO_PKG_VERSION"));
    let rev = text
        .trim()
        .strip_prefix(&want)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        rev == "unknown" || (!rev.is_empty() && rev.chars().all(|c| c.is_ascii_alphanumeric())),
        "{text}"
    );
}

/// Every metric an alert rule names (less a `_bucket`/`_sum`/`_count` suffix) is one the
/// verifier exports: a typo in the rule file would otherwise alert on nothing, forever.
#[test]
fn alert_rules_name_only_exported_metrics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/tollgate-alerts.yml"))
        .expect("deploy/prometheus/tollgate-alerts.yml");
    let mut exported = BTreeSet::new();
    collect_exported(&root.join("verifier/src"), &mut exported);
    for known in [
        "tollgate_verdicts_total",
        "tollgate_http_request_duration_seconds",
        "tollgate_store_operation_duration_seconds",
    ] {
        assert!(exported.contains(known), "{known} not found: {exported:?}");
    }
    let used = metric_names(&rules);
    assert!(used.len() >= 10, "{used:?}");
    for name in &used {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|b| exported.contains(*b)))
            .unwrap_or(name);
        assert!(
            exported.contains(base),
            "alert rule uses unknown metric {name}"
        );
    }
    // Shape: every rule has an expression and a severity; no tabs (YAML).
    let alerts = rules.matches("- alert: ").count();
    assert!(alerts >= 10);
    assert_eq!(
        rules.matches(" expr: ").count(),
        alerts,
        "one expr per alert"
    );
    assert_eq!(
        rules.matches(" severity: ").count(),
        alerts,
        "one severity per alert"
    );
    assert!(!rules.contains('\t'));
}

/// `tollgate_…` identifiers in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while let Some(off) = text[i..].find("tollgate_") {
        let start = i + off;
        let mut end = start;
        while end < bytes.len() && is_ident(bytes[end]) {
            end += 1;
        }
        if start == 0 || !is_ident(bytes[start - 1]) {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Quoted `"tollgate_…"` names in the sources under `dir` (the `metrics::…!` calls and the
/// histogram name constants).
fn collect_exported(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_exported(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let src = std::fs::read_to_string(&path).unwrap();
            for name in metric_names(&src) {
                if src.contains(&format!("\"{name}\"")) {
                    out.insert(name);
                }
            }
        }
    }
}
