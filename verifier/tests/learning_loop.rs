//! The learning loop on real processes: a `verifier serve` with an SQLite audit trail gets
//! logins (testkit-built tokens over HTTP) and labels (`/v1/feedback`); `verifier export`
//! writes them as trace JSON Lines; `tollgate-intel train` (its library entry point, the code
//! the CLI runs) fits a small model on them; the model is named as the site's shadow and
//! reloaded with SIGHUP; `verifier compare-models` and `verifier calibrate` read the trail;
//! promotion is another config change plus SIGHUP, after which answers carry the new model id.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{VerifierProcess, temp_dir};
use serde_json::{Value, json};
use tollgate_testkit::{TelemetrySpec, TokenSpec};

const SECRET: &str = "loop-site-secret-0123456789";
const ANALYST: &str = "loop-analyst-key-0123456789";
const ORIGIN: &str = "http://localhost:8080";

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[[keys]]
id = 1
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "site-a"
secret = "{SECRET}"
allowed_origins = ["http://localhost:*"]
success_when = "valid"
pow = {{ k = 2, bits = 2 }}
store_telemetry = true
feedback_sources = [{{ name = "analyst", key = "{ANALYST}" }}]
{extra}

[server.rate_limit]
enabled = false

[audit]
backend = "sqlite"
path = "audit.db"
"#,
        seed = tollgate_protocol::b64_encode(&[3u8; 32]),
        mac = tollgate_protocol::b64_encode(&[4u8; 32]),
    );
    let p = dir.join("verifier.toml");
    std::fs::write(&p, text).unwrap();
    p
}

async fn login(c: &reqwest::Client, v: &VerifierProcess, t: TelemetrySpec) -> Value {
    let reply = common::login_challenge(c, v.url("/v1/challenge"), ORIGIN, "site-a").await;
    let token = TokenSpec::new(ORIGIN, "login", "")
        .telemetry(t.build())
        .seal_reply(&reply.challenge, &reply.token_key)
        .unwrap();
    let body = json!({"secret": SECRET, "response": token});
    common::post_json(c, v.url("/v1/siteverify"), &body).await.1
}

/// `n` labelled logins: every third a linear bot, the rest humans; returns the answers.
async fn labelled_logins(
    c: &reqwest::Client,
    v: &VerifierProcess,
    n: u64,
    seed: u64,
) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..n {
        let (t, label) = if i % 3 == 2 {
            (
                TelemetrySpec::bot_linear(30 + (i % 20) as u16, 8.0 + (i % 5) as f64),
                "bot",
            )
        } else {
            (TelemetrySpec::human(seed + i), "human")
        };
        let a = login(c, v, t).await;
        let id = a["tollgate"]["id"]
            .as_str()
            .expect("verdict id")
            .to_string();
        let r = c
            .post(v.url("/v1/feedback"))
            .json(&json!({"secret": SECRET, "id": id, "label": label, "source": "analyst", "source_key": ANALYST}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        out.push(a);
    }
    out
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run verifier");
    assert!(
        out.status.success(),
        "verifier {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// SIGHUP and wait until the log shows one more reload.
fn reload(v: &VerifierProcess) {
    let before = v.log_text().matches("configuration reloaded").count();
    v.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while v.log_text().matches("configuration reloaded").count() == before {
        assert!(Instant::now() < deadline, "no reload: {}", v.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_train_shadow_compare_calibrate_promote() {
    let dir = temp_dir("learning-loop");
    let cfg = write_config(&dir, "");
    let cfg_s = cfg.to_str().unwrap().to_string();
    let v = VerifierProcess::spawn(&["--config", &cfg_s], &[], dir.join("verifier.log"));
    let c = reqwest::Client::new();

    // 1. Logins and labels reach the trail; answers carry the compiled-in model's id.
    let first = labelled_logins(&c, &v, 45, 1000).await;
    let builtin = first[0]["tollgate"]["model"].as_str().unwrap().to_string();
    assert!(builtin.starts_with("sha256-"), "{builtin}");

    // 2. export (a real process reading the serving process's SQLite file).
    let traces = dir.join("site.jsonl");
    cli(&[
        "export",
        "--config",
        &cfg_s,
        "--site",
        "site-a",
        "--out",
        traces.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&traces).unwrap();
    assert_eq!(text.lines().count(), 45);
    assert_eq!(text.matches("\"label\":\"bot\"").count(), 15);

    // 3. train a small model on them (the tollgate-intel CLI's code path).
    let cand = dir.join("candidate.json");
    let opts = tollgate_intel::cli::TrainOptions {
        data: tollgate_intel::cli::DataOptions {
            traces: vec![traces.clone()],
            seed: 1,
            synth_scale: 0.0,
            stride: 1,
            as_captures: false,
            keep_unit_coords: false,
            login_windows: Default::default(),
        },
        out: cand.clone(),
        folds: 3,
        fit: tollgate_intel::train::FitOptions {
            min_present: 5,
            calib_folds: 0,
            ..Default::default()
        },
        lofo: None,
    };
    tollgate_intel::cli::run_train(&opts).expect("training on the exported traces");
    let cand_text = std::fs::read_to_string(&cand).unwrap();
    let meta = tollgate_model::meta::ModelMeta::from_json(&cand_text).unwrap();
    let cand_id = meta.id.clone().expect("train writes an id");
    let manifest = meta.manifest.expect("train writes a manifest");
    let sha: String = tollgate_protocol::sha256(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(manifest["inputs"][0]["sha256"], sha.as_str());
    assert!(meta.evaluation.is_some());

    // 4. shadow by reload: answers unchanged (compiled-in id), the trail gets both scores.
    write_config(&dir, "shadow_model = \"candidate.json\"");
    reload(&v);
    let shadowed = labelled_logins(&c, &v, 15, 5000).await;
    assert!(
        shadowed
            .iter()
            .all(|a| a["tollgate"]["model"] == builtin.as_str())
    );

    let summary = cli(&["check-config", "--config", &cfg_s]);
    assert!(summary.contains("audit: sqlite"), "{summary}");
    assert!(
        summary.contains(&format!("model {builtin}, shadow {cand_id}")),
        "{summary}"
    );

    // 5. compare-models and calibrate over the trail.
    let cmp = cli(&["compare-models", "--config", &cfg_s, "--site", "site-a"]);
    assert!(
        cmp.contains(&format!("model {builtin} vs shadow {cand_id}: 15 records")),
        "{cmp}"
    );
    assert!(cmp.contains("labelled, shadow"), "{cmp}");
    assert!(
        cmp.contains("labelled records per answered decision"),
        "{cmp}"
    );
    assert!(
        cmp.contains("drift (older 30 vs newer 30 records): score PSI"),
        "{cmp}"
    );
    let cal = cli(&[
        "calibrate",
        "--config",
        &cfg_s,
        "--site",
        "site-a",
        "--min-humans",
        "20",
        "--humans-challenged",
        "0.1",
        "--humans-blocked",
        "0.0",
    ]);
    assert!(cal.contains("policy = { allow = "), "{cal}");

    // 6. promote by reload: the next answers carry the candidate's id.
    write_config(&dir, "model = \"candidate.json\"");
    reload(&v);
    let a = login(&c, &v, TelemetrySpec::human(9)).await;
    assert_eq!(a["tollgate"]["model"], cand_id.as_str(), "{a}");
    // 7. and the metrics carry both ids.
    let m = c
        .get(v.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains(&format!("model=\"{cand_id}\"")), "{m}");
    assert!(m.contains("tollgate_model_score_bucket"), "{m}");
    assert!(m.contains("tollgate_shadow_agreement_total"), "{m}");
    assert!(m.contains("tollgate_verdicts_by_browser_total"), "{m}");
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);
}
