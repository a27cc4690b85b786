//! Deployment configuration: listener addresses and TLS files in `[server]`, and site secret
//! rotation (`previous_secret` accepted until removed, live through a reload).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_testkit::TelemetrySpec;
use verifier::challenge::ChallengeReply;
use verifier::config::{ConfigError, Settings};

const ORIGIN: &str = "https://a.example";
const NEW_SECRET: &str = "site-a-secret-new-0123456789";
const OLD_SECRET: &str = "site-a-secret-old-0123456789";

fn parse(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_toml(
        text,
        Path::new("/etc/tollgate/verifier.toml"),
        Path::new("/etc/tollgate"),
        &|name| (name == "OLD").then(|| OLD_SECRET.to_owned()),
    )
}

fn with_extra(extra: &str) -> String {
    common::config_text(1, 2, 1, NEW_SECRET, 4, extra)
}

#[test]
fn listeners_and_tls_files_resolve() {
    let s = parse(&with_extra("")).unwrap();
    let l = &s.server.listeners;
    assert_eq!((l.listen, l.internal_listen), (None, None));
    assert!(l.tls.is_none() && l.internal_tls.is_none());

    let s = parse(&with_extra(
        r#"
[server]
listen = "0.0.0.0:8787"
internal_listen = "127.0.0.1:8788"
[server.tls]
cert = "tls/public.crt"
key = "/secrets/public.key"
[server.internal_tls]
cert = "internal.crt"
key = "internal.key"
"#,
    ))
    .unwrap();
    let l = &s.server.listeners;
    assert_eq!(l.listen, Some("0.0.0.0:8787".parse().unwrap()));
    assert_eq!(l.internal_listen, Some("127.0.0.1:8788".parse().unwrap()));
    let tls = l.tls.as_ref().unwrap();
    // Relative paths are relative to the config file's directory; absolute ones stay.
    assert_eq!(tls.cert, Path::new("/etc/tollgate/tls/public.crt"));
    assert_eq!(tls.key, Path::new("/secrets/public.key"));
    assert_eq!(
        l.internal_tls.as_ref().unwrap().cert,
        Path::new("/etc/tollgate/internal.crt")
    );
}

#[test]
fn bad_listener_settings_are_refused_with_a_reason() {
    for (extra, want) in [
        (
            "[server]\nlisten = \"localhost\"\n",
            "[server] listen: \"localhost\" is not an IP:port",
        ),
        (
            "[server]\ninternal_listen = \"127.0.0.1\"\n",
            "[server] internal_listen",
        ),
        (
            "[server.internal_tls]\ncert = \"a\"\nkey = \"b\"\n",
            "needs [server] internal_listen",
        ),
        (
            "[server]\nlisten = \"127.0.0.1:8787\"\ninternal_listen = \"127.0.0.1:8787\"\n",
            "the same address",
        ),
        ("[server.tls]\ncert = \"a\"\n", "missing field `key`"),
    ] {
        let err = match parse(&with_extra(extra)) {
            Ok(_) => panic!("accepted: {extra}"),
            Err(e) => e.to_string(),
        };
        let detail = match parse(&with_extra(extra)) {
            Err(ConfigError::Toml(loc)) => format!("{err} {loc:?}"),
            _ => err.clone(),
        };
        assert!(detail.contains(want), "{extra:?}: {detail}");
    }
}

#[test]
fn previous_secret_is_validated() {
    let site = |extra: &str| {
        common::config_text(1, 2, 1, NEW_SECRET, 4, "").replace(
            &format!("secret = \"{NEW_SECRET}\""),
            &format!("secret = \"{NEW_SECRET}\"\n{extra}"),
        )
    };
    let s = parse(&site(&format!("previous_secret = \"{OLD_SECRET}\""))).unwrap();
    assert!(s.sites[0].previous_secret_digest.is_some());
    let s = parse(&site("previous_secret_env = \"OLD\"")).unwrap();
    assert_eq!(
        s.sites[0].previous_secret_digest,
        Some(verifier::config::secret_digest(
            b"site",
            OLD_SECRET.as_bytes()
        ))
    );
    assert!(
        parse(&site("")).unwrap().sites[0]
            .previous_secret_digest
            .is_none()
    );
    for (extra, want) in [
        ("previous_secret = \"short\"", "at least 16 bytes"),
        (
            &format!("previous_secret = \"{NEW_SECRET}\"") as &str,
            "previous_secret equals secret",
        ),
        (
            "previous_secret = \"tgtest-secret-always-allow\"",
            "public test secret",
        ),
        ("previous_secret_env = \"UNSET\"", "UNSET"),
        (
            &format!("previous_secret = \"{OLD_SECRET}\"\nprevious_secret_env = \"OLD\""),
            "not both",
        ),
    ] {
        let err = parse(&site(extra)).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(want)),
            "{extra}: {err:?}"
        );
    }
    // Another site may not use this site's previous secret (a secret names one site).
    let two = format!(
        "{}\n[[sites]]\nsitekey = \"site-b\"\nsecret = \"{OLD_SECRET}\"\nallowed_origins = [\"https://b.example\"]\n",
        site(&format!("previous_secret = \"{OLD_SECRET}\""))
    );
    let err = parse(&two).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("reuses another site's secret"), "{err}");
}

async fn challenge(c: &reqwest::Client, v: &common::VerifierProcess) -> ChallengeReply {
    let req = c
        .post(v.url("/v1/challenge"))
        .header("origin", ORIGIN)
        .json(&json!({"sitekey": "site-a", "action": "login"}));
    let (status, reply) = common::json_answer(req).await;
    assert_eq!(status, 200);
    reply
}

async fn verify(c: &reqwest::Client, v: &common::VerifierProcess, secret: &str) -> Value {
    let reply = challenge(c, v).await;
    let token = common::login_token(&reply, ORIGIN, TelemetrySpec::human_login());
    common::siteverify_form(c, v.url("/v1/siteverify"), secret, &token).await
}

fn codes(v: &Value) -> Vec<String> {
    v["error-codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_rotation_accepts_both_secrets_until_the_previous_one_is_removed() {
    let dir = common::temp_dir("rotation");
    let config = dir.join("verifier.toml");
    let rotating = with_extra("[server]\nconfig_poll_secs = 1\n").replace(
        &format!("secret = \"{NEW_SECRET}\""),
        &format!("secret = \"{NEW_SECRET}\"\nprevious_secret = \"{OLD_SECRET}\""),
    );
    std::fs::write(&config, &rotating).unwrap();
    let v = common::VerifierProcess::spawn(
        &["--config", config.to_str().unwrap()],
        &[],
        dir.join("verifier.log"),
    );
    let c = reqwest::Client::new();

    // During the rotation both secrets verify tokens of the site; a wrong one does not.
    for secret in [NEW_SECRET, OLD_SECRET] {
        let r = verify(&c, &v, secret).await;
        assert!(codes(&r).is_empty(), "{secret}: {r}");
        assert_eq!(r["success"], true, "{r}");
    }
    let r = verify(&c, &v, "site-a-secret-wrong-0123456789").await;
    assert_eq!(codes(&r), ["invalid-input-secret"], "{r}");
    // Uses of the previous secret are counted, per site.
    let metrics = c
        .get(v.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("tollgate_site_secret_previous_used_total{sitekey=\"site-a\"} 1")
        ),
        "{metrics}"
    );
    // The outcome endpoint takes the previous secret too.
    let r = verify(&c, &v, NEW_SECRET).await;
    let id = r["tollgate"]["id"].as_str().unwrap().to_owned();
    let status = c
        .post(v.url("/v1/outcome"))
        .form(&[
            ("secret", OLD_SECRET),
            ("id", id.as_str()),
            ("outcome", "success"),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    // End of the rotation: the previous secret is removed and the file reloaded.
    std::fs::write(&config, with_extra("[server]\nconfig_poll_secs = 1\n")).unwrap();
    let start = Instant::now();
    loop {
        let r = verify(&c, &v, OLD_SECRET).await;
        if codes(&r) == ["invalid-input-secret"] {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "old secret still accepted: {r}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = verify(&c, &v, NEW_SECRET).await;
    assert_eq!(r["success"], true, "{r}");
    assert!(!v.log_text().contains(OLD_SECRET), "secret logged");
    assert!(!v.log_text().contains(NEW_SECRET), "secret logged");
    drop(v);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn redis_over_tls_with_a_rediss_url() {
    let dir = common::temp_dir("rediss");
    let ca = tollgate_testkit::tls::TestCa::new("Tollgate Redis test CA").unwrap();
    let (cert, key) = ca.issue(&["127.0.0.1"]).unwrap().write(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let tls_port = tollgate_testkit::free_port();
    let Some(redis) = common::RedisServer::start_with(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        cert.to_str().unwrap(),
        "--tls-key-file",
        key.to_str().unwrap(),
        "--tls-ca-cert-file",
        ca_file.to_str().unwrap(),
        "--tls-auth-clients",
        "no",
    ]) else {
        return; // skipped loudly by testkit::require (fails under CI=true)
    };
    let config = dir.join("verifier.toml");
    std::fs::write(&config, with_extra("")).unwrap();
    // The verifier trusts the system roots for rediss://; SSL_CERT_FILE points them at the CA.
    let v = common::VerifierProcess::spawn(
        &["--config", config.to_str().unwrap()],
        &[
            (
                "TOLLGATE_STORE",
                &format!("rediss://127.0.0.1:{tls_port}/0"),
            ),
            ("SSL_CERT_FILE", ca_file.to_str().unwrap()),
        ],
        dir.join("verifier.log"),
    );
    let c = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let ready: Value = c
            .get(v.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["store"]["backend"] == "redis" && ready["store"]["up"] == true {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "redis over TLS never ready: {ready}\n{}",
            v.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A token is redeemed once, through the TLS connection's atomic mark.
    let reply = challenge(&c, &v).await;
    let token = common::login_token(&reply, ORIGIN, TelemetrySpec::human_login());
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = common::siteverify_form(&c, v.url("/v1/siteverify"), NEW_SECRET, &token).await;
        answers.push(r);
    }
    assert_eq!(answers[0]["success"], true, "{}", answers[0]);
    assert_eq!(
        codes(&answers[1]),
        ["timeout-or-duplicate"],
        "{}",
        answers[1]
    );
    drop(v);
    drop(redis);
    let _ = std::fs::remove_dir_all(dir);
}

/// The Redis arguments of `compose.yaml` (after `exec redis-server`), with the password filled in.
fn compose_redis_args(password: &str) -> Vec<String> {
    let compose =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose.yaml"))
            .expect("compose.yaml");
    let line = compose
        .lines()
        .find_map(|l| l.split_once("exec redis-server ").map(|(_, rest)| rest))
        .expect("compose.yaml: no `exec redis-server` line");
    line.split_whitespace()
        .map(|a| match a {
            "''" => String::new(),
            "\"$$REDIS_PASSWORD\"" => password.to_owned(),
            other => {
                assert!(
                    !other.contains('$') && !other.contains('"'),
                    "unexpected {other}"
                );
                other.to_owned()
            }
        })
        .collect()
}

#[tokio::test]
async fn the_compose_setup_runs_against_redis_started_as_compose_starts_it() {
    let password = "compose-test-password-0123";
    let args = compose_redis_args(password);
    assert!(
        args.windows(2).any(|w| w == ["--appendonly", "yes"]),
        "{args:?}"
    );
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(redis) = common::RedisServer::start_with(&arg_refs) else {
        return; // skipped loudly by testkit::require (fails under CI=true)
    };
    let port = redis
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/0")
        .to_owned();
    let dir = common::temp_dir("compose");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/compose/verifier.toml");
    let seed = tollgate_protocol::b64_encode(&[5u8; 32]);
    let mac = tollgate_protocol::b64_encode(&[6u8; 32]);
    let redis_url = format!("redis://:{password}@127.0.0.1:{port}/0");
    // The variables compose.yaml gives the verifier (listeners on loopback here).
    let (v, lines) = common::VerifierProcess::spawn_lines(
        &["--config", config.to_str().unwrap()],
        &[
            ("TOLLGATE_INTERNAL_LISTEN", "127.0.0.1:0"),
            ("TOLLGATE_KEY_SEED", &seed),
            ("TOLLGATE_KEY_MAC", &mac),
            ("TOLLGATE_SITE_SECRET", NEW_SECRET),
            ("TOLLGATE_REDIS_URL", &redis_url),
        ],
        dir.join("verifier.log"),
        2,
    );
    let internal = lines[1]
        .strip_prefix("internal listening on ")
        .expect("internal listener line")
        .to_owned();
    let c = reqwest::Client::new();
    // require_persistence = true: ready only because Redis runs with the AOF as in compose.yaml.
    let start = Instant::now();
    loop {
        let r = c.get(format!("{internal}/readyz")).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "not ready: {}\n{}",
            r.text().await.unwrap_or_default(),
            v.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let origin = "http://127.0.0.1:8080"; // the demo's published origin
    let reply = common::login_challenge(&c, v.url("/v1/challenge"), origin, "demo").await;
    let token = common::login_token(&reply, origin, TelemetrySpec::human_login());
    let verdict =
        common::siteverify_form(&c, format!("{internal}/v1/siteverify"), NEW_SECRET, &token).await;
    assert_eq!(verdict["success"], true, "{verdict}");
    assert!(!v.log_text().contains(password), "Redis password logged");
    drop(v);
    drop(redis);
    let _ = std::fs::remove_dir_all(dir);
}
