//! Shared helpers of the store, Redis, correlation and hardening tests: a throwaway
//! `redis-server`, a real `verifier serve` process, and native token building (PoW solved with
//! the protocol crate, token sealed the way the collector does).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tollgate_protocol::challenge::{Challenge, PowParams};
use tollgate_protocol::telemetry::{
    Telemetry, TelemetryBuilder, key_class, key_flags, pointer_flags, pointer_kind, pointer_type,
};
use tollgate_protocol::token::{ClientContext, SolveStats, TokenBody};
use tollgate_protocol::{b64_decode, b64_encode, pow};
use verifier::challenge::ChallengeReply;

pub const REDIS_BIN: &str = "/usr/bin/redis-server";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique temporary directory (removed by the owner).
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tollgate-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A free loopback port (bound and released; a tiny race is tolerated by retrying callers).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A `redis-server` on a loopback port with a temporary directory, no persistence. Stopped
/// (and its directory removed) on drop.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Start one, or `None` (with a loud message) when redis-server is not installed.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// [`RedisServer::start`] with extra server arguments (e.g. `--requirepass`).
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        if !Path::new(REDIS_BIN).exists() {
            eprintln!(
                "\n\n!!!!! SKIPPING REDIS TESTS: {REDIS_BIN} is missing (scripts/setup.sh installs the \
                 redis-server package) !!!!!\n"
            );
            return None;
        }
        for _ in 0..5 {
            let mut s = Self {
                port: free_port(),
                dir: temp_dir("redis"),
                child: None,
                extra: extra.iter().map(|s| s.to_string()).collect(),
            };
            if s.spawn() {
                return Some(s);
            }
        }
        panic!("could not start redis-server");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new(REDIS_BIN)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.to_str().expect("utf-8 temp dir"),
                "--protected-mode",
                "yes",
            ])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                self.child = None;
                return false; // exited: port taken?
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// PING over a raw socket.
    pub fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        // +PONG, or -NOAUTH when a password is required: either way the server answers.
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).is_ok() && (buf[0] == b'+' || buf[0] == b'-')
    }

    /// SIGKILL the server (its data is gone: `--save ''`).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP / SIGCONT: a server that accepts connections but never answers.
    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
        }
    }

    /// Start again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not restart on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
        let err = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verifier"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("TOLLGATE_CONFIG")
            .env_remove("TOLLGATE_STORE")
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
            if let Some(Ok(l)) = lines.next() {
                let _ = tx.send(l);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "verifier did not start; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let addr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .to_string();
        Self { addr, child, log }
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

/// Human-looking telemetry (trusted mouse moves with jittered 16 ms gaps, a click, typing).
pub fn human_telemetry() -> Telemetry {
    telemetry_with(0.0, &[])
}

/// Human-looking telemetry whose pointer path is shifted by `dx` (so different sessions do not
/// share trace shapes unless the caller wants them to), with `fingerprint`.
pub fn telemetry_with(dx: f64, fingerprint: &[u8]) -> Telemetry {
    let mut b = TelemetryBuilder::new();
    let trusted = pointer_flags::TRUSTED;
    for i in 0..25 {
        let t = 100.0 + f64::from(i) * 16.0 + f64::from(i % 4);
        b.pointer(
            t,
            pointer_kind::MOVE,
            20.0 + dx + f64::from(i) * 5.0,
            40.0 + f64::from(i) * 2.0,
            0,
            pointer_type::MOUSE,
            0.0,
            trusted,
        );
    }
    b.pointer(
        600.0,
        pointer_kind::DOWN,
        145.0,
        90.0,
        1,
        pointer_type::MOUSE,
        0.5,
        trusted,
    );
    b.pointer(
        690.0,
        pointer_kind::UP,
        145.0,
        90.0,
        0,
        pointer_type::MOUSE,
        0.0,
        trusted,
    );
    for i in 0..6 {
        let down = 900.0 + f64::from(i) * 150.0;
        b.key(
            down,
            down + 80.0 + f64::from(i * 9 % 25),
            key_class::CHAR,
            0,
            key_flags::TRUSTED,
        );
    }
    let mut t = b.finish();
    t.fingerprint = fingerprint.to_vec();
    t
}

/// A long curved stroke (a bow), the same shape whatever `seed` shifts — replayed traces.
pub fn replayed_trace_telemetry(offset: f64) -> Telemetry {
    let mut b = TelemetryBuilder::new();
    let trusted = pointer_flags::TRUSTED;
    for i in 0..40 {
        let u = f64::from(i) / 39.0;
        let x = 100.0 + offset + 500.0 * u;
        let y = 100.0 + offset + 250.0 * u + 90.0 * (std::f64::consts::PI * u).sin();
        b.pointer(
            50.0 + f64::from(i) * 16.0 + f64::from(i % 3),
            pointer_kind::MOVE,
            x,
            y,
            0,
            pointer_type::MOUSE,
            0.0,
            trusted,
        );
    }
    for i in 0..6 {
        let down = 900.0 + f64::from(i) * 150.0;
        b.key(
            down,
            down + 80.0 + f64::from(i * 9 % 25),
            key_class::CHAR,
            0,
            key_flags::TRUSTED,
        );
    }
    b.finish()
}

/// Solve a challenge reply and seal a token for `origin`/`action`/`cdata` with `telemetry`.
pub fn make_token(
    reply: &ChallengeReply,
    origin: &str,
    action: &str,
    cdata: &str,
    telemetry: Telemetry,
) -> String {
    let wire = b64_decode(&reply.challenge).expect("challenge b64");
    let params = PowParams {
        k: reply.pow.k,
        bits: reply.pow.bits,
    };
    let solutions = pow::solve_all(&wire, params).expect("solvable");
    let key: [u8; 32] = b64_decode(&reply.token_key)
        .expect("key b64")
        .try_into()
        .expect("32-byte key");
    TokenBody {
        version: 1,
        challenge: wire,
        solutions,
        solve: SolveStats {
            duration_ms: 420,
            workers: 2,
            solver: 1,
            hashes: 1234,
        },
        context: ClientContext {
            origin: origin.into(),
            action: action.into(),
            cdata: cdata.into(),
        },
        telemetry,
    }
    .seal(&key)
    .expect("seal")
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
pow = {{ k = 4, bits = {pow_bits} }}
{extra}
"#,
        seed = b64_encode(&[seed; 32]),
        mac = b64_encode(&[mac; 32]),
    )
}
