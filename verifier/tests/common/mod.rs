//! Shared helpers of the store, Redis, correlation and hardening tests: a real `verifier serve`
//! process, verifier configs, and glue from the verifier's challenge replies to the testkit's
//! token builder. Challenges, telemetry, tokens, temporary directories and the throwaway
//! `redis-server` come from `tollgate-testkit`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tollgate_protocol::challenge::Challenge;
use tollgate_protocol::{b64_decode, b64_encode};
// Re-exported for the test files (not every test binary uses both).
use tollgate_testkit::{TelemetrySpec, TokenSpec};
#[allow(unused_imports)]
pub use tollgate_testkit::{redis::RedisServer, temp_dir};
use verifier::challenge::ChallengeReply;

/// A running `verifier serve` process. Killed on drop.
pub struct VerifierProcess {
    pub addr: String,
    pub child: Child,
    pub log: PathBuf,
}

impl VerifierProcess {
    /// Spawn `verifier serve --listen 127.0.0.1:0 <args>` with `env`, wait for the listening line.
    /// stderr goes to `log`.
    pub fn spawn(args: &[&str], env: &[(&str, &str)], log: PathBuf) -> Self {
        Self::spawn_lines(args, env, log, 1).0
    }

    /// Like [`Self::spawn`], waiting for `n` stdout lines (`listening on …`, then `internal
    /// listening on …` with an internal listener); returns them. `addr` is the first line's
    /// address (`http://` or `https://` stripped).
    pub fn spawn_lines(
        args: &[&str],
        env: &[(&str, &str)],
        log: PathBuf,
        n: usize,
    ) -> (Self, Vec<String>) {
        let err = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verifier"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("TOLLGATE_CONFIG")
            .env_remove("TOLLGATE_STORE")
            .env_remove("TOLLGATE_LISTEN")
            .env_remove("TOLLGATE_INTERNAL_LISTEN")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn verifier");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for _ in 0..n {
                if let Some(Ok(l)) = lines.next() {
                    let _ = tx.send(l);
                }
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let mut got = Vec::new();
        for _ in 0..n {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| {
                    panic!(
                        "verifier did not start; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )
                });
            got.push(line);
        }
        let line = &got[0];
        let addr = line
            .strip_prefix("listening on http://")
            .or_else(|| line.strip_prefix("listening on https://"))
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .to_string();
        (Self { addr, child, log }, got)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for VerifierProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seal a login token (action `login`, no cdata) from `origin` with `telemetry` for a
/// `/v1/challenge` reply: PoW solved natively, sealed with the reply's token key.
pub fn login_token(reply: &ChallengeReply, origin: &str, telemetry: TelemetrySpec) -> String {
    TokenSpec::new(origin, "login", "")
        .telemetry(telemetry.build())
        .seal_reply(&reply.challenge, &reply.token_key)
        .expect("token for the reply")
}

/// Send `req`: the answer's status and its JSON body as a `T` (a body that is not a `T` is a
/// panic that shows the status and the body).
pub async fn json_answer<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> (StatusCode, T) {
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("answer ({status}) is not the JSON expected ({e}): {text}"));
    (status, body)
}

/// `POST url` with the JSON `body`: the answer's status and JSON body ([`json_answer`]).
pub async fn post_json<T: DeserializeOwned>(
    c: &reqwest::Client,
    url: String,
    body: &serde_json::Value,
) -> (StatusCode, T) {
    json_answer(c.post(url).json(body)).await
}

/// `POST url` with an `Origin` header and `{"sitekey", "action": "login"}`; the parsed reply.
pub async fn login_challenge(
    c: &reqwest::Client,
    url: String,
    origin: &str,
    sitekey: &str,
) -> ChallengeReply {
    let body = serde_json::json!({"sitekey": sitekey, "action": "login"});
    json_answer(c.post(url).header("origin", origin).json(&body))
        .await
        .1
}

/// `POST url` form-encoded `secret` and `response`; the parsed JSON answer.
pub async fn siteverify_form(
    c: &reqwest::Client,
    url: String,
    secret: &str,
    token: &str,
) -> serde_json::Value {
    json_answer(c.post(url).form(&[("secret", secret), ("response", token)]))
        .await
        .1
}

/// The challenge id of a reply.
pub fn challenge_id(reply: &ChallengeReply) -> [u8; 16] {
    Challenge::parse(&b64_decode(&reply.challenge).expect("b64"))
        .expect("challenge")
        .body
        .challenge_id
}

/// The signed risk byte of a reply's challenge.
pub fn risk_byte(reply: &ChallengeReply) -> u8 {
    Challenge::parse(&b64_decode(&reply.challenge).expect("b64"))
        .expect("challenge")
        .body
        .risk_tier
}

/// Config text: one key (seed/MAC from bytes), one site with low PoW, plus `extra` TOML.
pub fn config_text(
    seed: u8,
    mac: u8,
    kid: u32,
    site_secret: &str,
    pow_bits: u8,
    extra: &str,
) -> String {
    format!(
        r#"
[[keys]]
id = {kid}
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "site-a"
secret = "{site_secret}"
allowed_origins = ["http://localhost:*", "https://a.example"]
success_when = "valid"
pow = {{ k = 4, bits = {pow_bits} }}
{extra}
"#,
        seed = b64_encode(&[seed; 32]),
        mac = b64_encode(&[mac; 32]),
    )
}
