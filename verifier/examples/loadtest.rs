//! Load test against real `verifier serve` processes on loopback (see `scripts/loadtest.sh`).
//!
//! Starts the given verifier binary — one instance on the embedded store, or two instances on one
//! `redis-server` — with a low-difficulty test site, pre-generates valid tokens through
//! `/v1/challenge` (proof of work solved natively with the protocol crate), then sends siteverify
//! requests from `--concurrency` workers: fresh tokens, replays of tokens already sent (often
//! concurrently, to the other instance) and garbage (random text, truncated and bit-flipped
//! tokens, wrong secret). Stops when the mix is exhausted or `--duration` is over.
//!
//! Reports sustained requests/s and latency percentiles, and fails (exit 1) on any 5xx, any
//! `internal-error`, any token accepted twice, any garbage accepted, or any valid token that was
//! sent but never accepted.
//!
//! ```text
//! cargo run --release -p verifier --example loadtest -- --verifier target/release/verifier \
//!     --store memory --tokens 20000 --duration 20 --concurrency 32
//! ```
//!
//! `--telemetry long` (either mode) seals the testkit's 20 s login (seeded per token) instead of
//! the short session: its strokes are hashed, 0–3 of them (1.6 on average), so a fresh token
//! costs the replay store ≈ 25 counter operations on average (68 is the most any token can).
//! `--correlation off` turns `[correlation]` off (no campaign counters, no replay store) for a
//! baseline.
//!
//! `--mode burst` (issue 12): ONE Redis-backed instance and `--concurrency` clients (e.g. 2000)
//! that each loop challenge → seal → siteverify (with `remoteip`) until `--duration` is over, all
//! starting at once. Fails on any `internal-error` other than the documented shed answer (HTTP
//! 503, reason `overloaded`, `Retry-After`), any 5xx other than a shed challenge (`503
//! overloaded`), any transport error, or any token accepted twice; reports how many requests
//! were shed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tollgate_protocol::b64_encode;
use tollgate_protocol::token::SolveStats;
use tollgate_testkit::redis::RedisServer;
use tollgate_testkit::{TelemetrySpec, TokenSpec, tamper};
use verifier::challenge::ChallengeReply;

const SECRET: &str = "loadtest-site-secret-0123456789";
const ORIGIN: &str = "http://localhost:8080";

#[derive(Debug)]
struct Args {
    verifier: PathBuf,
    store: String,
    tokens: usize,
    duration: Duration,
    concurrency: usize,
    burst: bool,
    /// `long`: 20 s logins whose strokes are hashed for the replay store (see the module docs);
    /// `short` (default): the short session, which hashes none.
    long: bool,
    /// `off`: `[correlation] enabled = false`, to isolate what the campaign counters and the
    /// replay store cost (default `on`).
    correlation: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        verifier: PathBuf::from("target/release/verifier"),
        store: "memory".into(),
        tokens: 20_000,
        duration: Duration::from_secs(20),
        concurrency: 32,
        burst: false,
        long: false,
        correlation: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--verifier" => a.verifier = v.into(),
            "--store" => a.store = v,
            "--tokens" => a.tokens = v.parse()?,
            "--duration" => a.duration = Duration::from_secs(v.parse()?),
            "--concurrency" => a.concurrency = v.parse()?,
            "--mode" => match v.as_str() {
                "mix" => a.burst = false,
                "burst" => a.burst = true,
                other => bail!("--mode mix|burst, not {other}"),
            },
            "--telemetry" => match v.as_str() {
                "short" => a.long = false,
                "long" => a.long = true,
                other => bail!("--telemetry short|long, not {other}"),
            },
            "--correlation" => match v.as_str() {
                "on" => a.correlation = true,
                "off" => a.correlation = false,
                other => bail!("--correlation on|off, not {other}"),
            },
            other => bail!("unknown flag {other}"),
        }
    }
    if a.store != "memory" && a.store != "redis" {
        bail!("--store memory|redis");
    }
    if a.burst && a.store != "redis" {
        bail!("--mode burst runs against Redis (--store redis)");
    }
    Ok(a)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_verifier(bin: &Path, config: &Path, log: &Path) -> anyhow::Result<(Proc, String)> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let out = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected first line {line:?}"))?
        .to_string();
    Ok((Proc(child), addr))
}

/// A token for `reply`, fingerprinted by `n`: the testkit's short human-like session without a
/// click (shifted by `n`), or with `long` its 20 s login seeded by `n`, whose strokes are hashed
/// for the replay store. PoW solved natively.
fn seal(reply: &ChallengeReply, n: usize, long: bool) -> anyhow::Result<String> {
    let spec = if long {
        TelemetrySpec::long_login(n as u64)
    } else {
        TelemetrySpec::short_human((n % 97) as f64).without_click()
    };
    let telemetry = spec.fingerprint((n as u64).to_be_bytes().repeat(2)).build();
    let solve = SolveStats {
        duration_ms: 400,
        workers: 2,
        solver: 1,
        hashes: 100,
    };
    Ok(TokenSpec::new(ORIGIN, "login", "")
        .telemetry(telemetry)
        .solve_stats(solve)
        .seal_reply(&reply.challenge, &reply.token_key)?)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Fresh,
    Replay,
    Garbage,
}

struct Req {
    kind: Kind,
    /// Token index (fresh and replay).
    token: Option<usize>,
    body: Value,
    instance: usize,
}

/// xorshift64*: deterministic mix without an RNG dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn build_mix(tokens: &[String], instances: usize) -> Vec<Req> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(tokens.len() * 2);
    let mut sent = 0usize;
    while sent < tokens.len() {
        let r = rng.below(100);
        let inst = rng.below(instances);
        if r < 50 || sent == 0 {
            out.push(Req {
                kind: Kind::Fresh,
                token: Some(sent),
                body: json!({"secret": SECRET, "response": tokens[sent], "remoteip": format!("198.51.{}.{}", sent % 250, sent % 200)}),
                instance: inst,
            });
            sent += 1;
        } else if r < 75 {
            // A recently sent token: often still in flight at the other instance.
            let back = 1 + rng.below(64.min(sent));
            let t = sent - back;
            out.push(Req {
                kind: Kind::Replay,
                token: Some(t),
                body: json!({"secret": SECRET, "response": tokens[t]}),
                instance: inst,
            });
        } else {
            let t = &tokens[rng.below(sent)];
            let body = match rng.below(5) {
                0 => {
                    let junk: String = (0..rng.below(600))
                        .map(|_| (b'A' + (rng.below(58) as u8)) as char)
                        .collect();
                    json!({"secret": SECRET, "response": junk})
                }
                1 => json!({"secret": SECRET, "response": tamper::truncate_half(t)}),
                2 => {
                    let i = rng.below(t.len());
                    json!({"secret": SECRET, "response": tamper::swap_char(t, i)})
                }
                3 => json!({"secret": "wrong-secret-0123456789", "response": t}),
                _ => json!({"secret": SECRET, "response": b64_encode(&[0u8; 300])}),
            };
            out.push(Req {
                kind: Kind::Garbage,
                token: None,
                body,
                instance: inst,
            });
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = std::env::temp_dir().join(format!("tollgate-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut procs = Vec::new();
    let redis = if args.store == "redis" {
        Some(RedisServer::start().context("redis-server is missing")?)
    } else {
        None
    };
    let store = redis.as_ref().map_or(String::new(), |r| {
        format!("[store]\nbackend = \"redis\"\nurl = \"{}\"\n", r.url())
    });
    let config = format!(
        r#"[[keys]]
id = 1
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "load"
secret = "{SECRET}"
allowed_origins = ["http://localhost:*"]
success_when = "valid"
pow = {{ k = 1, bits = 1 }}
token_lifetime_secs = 900
store_capacity = 2000000

{store}
[server]
# Every load client is on 127.0.0.1: the per-address cap would refuse most of them.
max_connections_per_address = 100000

[server.rate_limit]
enabled = false

[correlation]
enabled = {correlation}
"#,
        correlation = args.correlation,
        seed = b64_encode(&[0x42; 32]),
        mac = b64_encode(&[0x43; 32]),
    );
    let cfg_path = dir.join("loadtest.toml");
    std::fs::write(&cfg_path, config)?;
    let n_inst = if args.store == "redis" && !args.burst {
        2
    } else {
        1
    };
    let mut addrs = Vec::new();
    for i in 0..n_inst {
        let (p, addr) = start_verifier(&args.verifier, &cfg_path, &dir.join(format!("v{i}.log")))?;
        procs.push(p);
        addrs.push(addr);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    if args.burst {
        let r = burst(&args, &client, &addrs[0]).await;
        for (i, p) in procs.iter_mut().enumerate() {
            if let Ok(Some(st)) = p.0.try_wait() {
                bail!("verifier {i} exited during the run: {st}");
            }
        }
        drop(procs);
        drop(redis);
        let _ = std::fs::remove_dir_all(&dir);
        return r;
    }

    // Pre-generate tokens (challenges from the instances, PoW solved natively).
    let t0 = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..args.concurrency.min(16) {
        let (client, addrs, next) = (client.clone(), addrs.clone(), next.clone());
        let (total, long) = (args.tokens, args.long);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let addr = &addrs[(n + w) % addrs.len()];
                let reply: ChallengeReply = client
                    .post(format!("{addr}/v1/challenge"))
                    .header("origin", ORIGIN)
                    .json(&json!({"sitekey": "load", "action": "login"}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                out.push((n, seal(&reply, n, long)?));
            }
            anyhow::Ok(out)
        }));
    }
    let mut tokens = vec![String::new(); args.tokens];
    for t in tasks {
        for (n, tok) in t.await?? {
            tokens[n] = tok;
        }
    }
    let gen_secs = t0.elapsed().as_secs_f64();
    let avg_len = tokens.iter().map(String::len).sum::<usize>() / tokens.len().max(1);
    println!(
        "store={} instances={} pre-generated {} tokens in {:.1}s ({:.0} challenges/s incl. native solve), avg token {} chars",
        args.store,
        n_inst,
        tokens.len(),
        gen_secs,
        tokens.len() as f64 / gen_secs,
        avg_len
    );

    // The mix.
    let mix = Arc::new(build_mix(&tokens, n_inst));
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + args.duration;
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, addrs, mix, next) = (client.clone(), addrs.clone(), mix.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut res = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= mix.len() || Instant::now() >= deadline {
                    break;
                }
                let req = &mix[i];
                let t = Instant::now();
                let r = client
                    .post(format!("{}/v1/siteverify", addrs[req.instance]))
                    .json(&req.body)
                    .send()
                    .await;
                let (status, v) = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        (s, r.json::<Value>().await.unwrap_or(Value::Null))
                    }
                    Err(_) => (0, Value::Null),
                };
                res.push((i, status, v, t.elapsed()));
            }
            res
        }));
    }
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await?);
    }
    let elapsed = start.elapsed();

    // Analysis.
    let mut successes = vec![0u32; tokens.len()];
    let mut touched = vec![false; tokens.len()];
    let (mut s5xx, mut transport, mut internal, mut garbage_ok) = (0, 0, 0, 0);
    let mut by_kind = [0usize; 3];
    let mut lat: Vec<Duration> = Vec::with_capacity(results.len());
    for (i, status, v, d) in &results {
        let req = &mix[*i];
        by_kind[req.kind as usize] += 1;
        lat.push(*d);
        match status {
            0 => transport += 1,
            s if *s >= 500 => s5xx += 1,
            _ => {}
        }
        if v["error-codes"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("internal-error")))
        {
            internal += 1;
        }
        let ok = v["success"] == true;
        if let Some(t) = req.token {
            if ok {
                successes[t] += 1;
            }
            touched[t] = true;
        } else if ok {
            garbage_ok += 1;
        }
    }
    lat.sort_unstable();
    let accepted_replays: u32 = successes.iter().map(|s| s.saturating_sub(1)).sum();
    // Every valid token that was sent (fresh or as a replay that overtook it) must have been
    // accepted exactly once.
    let tokens_sent = touched.iter().filter(|s| **s).count();
    let valid_refused = touched
        .iter()
        .zip(&successes)
        .filter(|(sent, n)| **sent && **n == 0)
        .count();
    let rps = results.len() as f64 / elapsed.as_secs_f64();
    println!(
        "requests {} in {:.2}s = {:.0} req/s (fresh {}, replay {}, garbage {}; concurrency {})",
        results.len(),
        elapsed.as_secs_f64(),
        rps,
        by_kind[0],
        by_kind[1],
        by_kind[2],
        args.concurrency
    );
    println!(
        "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.90).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "accepted replays {accepted_replays}, accepted garbage {garbage_ok}, valid tokens sent {tokens_sent} (refused {valid_refused}), 5xx {s5xx}, transport errors {transport}, internal-error {internal}"
    );
    for (i, p) in procs.iter_mut().enumerate() {
        if let Ok(Some(st)) = p.0.try_wait() {
            bail!("verifier {i} exited during the run: {st}");
        }
    }
    if redis.as_ref().is_some_and(|r| !r.ping()) {
        bail!("redis-server stopped answering during the run");
    }
    drop(procs);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
    if accepted_replays > 0 || garbage_ok > 0 || s5xx > 0 || transport > 0 || internal > 0 {
        bail!("FAILED: replays, garbage, 5xx, transport or internal errors");
    }
    if valid_refused > 0 {
        bail!("FAILED: {valid_refused} valid tokens refused");
    }
    println!("OK");
    Ok(())
}

/// Counts of one burst client.
#[derive(Default, Debug)]
struct BurstStats {
    challenges_ok: u64,
    challenges_shed: u64,
    verified_ok: u64,
    verify_shed: u64,
    /// `internal-error` that is not the shed answer.
    internal: u64,
    /// Their detail reasons (`tollgate.reasons`, or the challenge's error code).
    internal_reasons: std::collections::BTreeMap<String, u64>,
    /// Any other unexpected answer (5xx other than a shed, non-success verdict, bad JSON).
    unexpected: u64,
    transport: u64,
    /// Tokens accepted twice (a retry after a shed answer must not be counted twice).
    double: u64,
    lat_challenge: Vec<Duration>,
    lat_verify: Vec<Duration>,
}

impl BurstStats {
    fn add(&mut self, o: BurstStats) {
        self.challenges_ok += o.challenges_ok;
        self.challenges_shed += o.challenges_shed;
        self.verified_ok += o.verified_ok;
        self.verify_shed += o.verify_shed;
        self.internal += o.internal;
        for (k, v) in o.internal_reasons {
            *self.internal_reasons.entry(k).or_default() += v;
        }
        self.unexpected += o.unexpected;
        self.transport += o.transport;
        self.double += o.double;
        self.lat_challenge.extend(o.lat_challenge);
        self.lat_verify.extend(o.lat_verify);
    }
}

/// One client: challenge → seal → siteverify until the deadline. A shed answer (503 +
/// Retry-After) is retried after a short pause (capped at 1 s, so the run stays bounded); the
/// retry of a shed siteverify must succeed like the first attempt would have.
async fn burst_client(
    client: reqwest::Client,
    addr: String,
    n: usize,
    start: Instant,
    deadline: Instant,
    long: bool,
) -> BurstStats {
    let mut st = BurstStats::default();
    let mut round = 0usize;
    // All clients start at once.
    tokio::time::sleep_until(start.into()).await;
    while Instant::now() < deadline {
        round += 1;
        let t = Instant::now();
        let r = client
            .post(format!("{addr}/v1/challenge"))
            .header("origin", ORIGIN)
            .json(&json!({"sitekey": "load", "action": "login"}))
            .send()
            .await;
        let reply: ChallengeReply = match r {
            Err(_) => {
                st.transport += 1;
                continue;
            }
            Ok(r) if r.status() == 503 => {
                st.lat_challenge.push(t.elapsed());
                let body: Value = r.json().await.unwrap_or(Value::Null);
                if body["error"] == "overloaded" {
                    st.challenges_shed += 1;
                } else {
                    st.unexpected += 1;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Ok(r) if r.status() == 200 => match r.json().await {
                Ok(c) => {
                    st.lat_challenge.push(t.elapsed());
                    st.challenges_ok += 1;
                    c
                }
                Err(_) => {
                    st.unexpected += 1;
                    continue;
                }
            },
            Ok(r) => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                if body["error"] == "internal-error" {
                    st.internal += 1;
                    *st.internal_reasons
                        .entry("challenge internal-error".into())
                        .or_default() += 1;
                } else {
                    st.unexpected += 1;
                }
                continue;
            }
        };
        let Ok(token) = seal(&reply, n * 1_000_003 + round, long) else {
            st.unexpected += 1;
            continue;
        };
        let body = json!({"secret": SECRET, "response": token,
                          "remoteip": format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256)});
        let mut successes = 0;
        // The first attempt plus retries of shed answers (bounded).
        for _ in 0..20 {
            let t = Instant::now();
            let r = client
                .post(format!("{addr}/v1/siteverify"))
                .json(&body)
                .send()
                .await;
            let (status, v) = match r {
                Ok(r) => (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                ),
                Err(_) => {
                    st.transport += 1;
                    break;
                }
            };
            st.lat_verify.push(t.elapsed());
            let internal = v["error-codes"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("internal-error")));
            if status == 503 && internal && v["tollgate"]["reasons"] == json!(["overloaded"]) {
                st.verify_shed += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if internal {
                st.internal += 1;
                *st.internal_reasons
                    .entry(format!("siteverify {}", v["tollgate"]["reasons"]))
                    .or_default() += 1;
            } else if v["success"] == true {
                successes += 1;
                st.verified_ok += 1;
            } else {
                st.unexpected += 1;
            }
            break;
        }
        if successes > 1 {
            st.double += 1;
        }
    }
    st
}

async fn burst(args: &Args, client: &reqwest::Client, addr: &str) -> anyhow::Result<()> {
    let start = Instant::now() + Duration::from_millis(500);
    let deadline = start + args.duration;
    let mut tasks = Vec::with_capacity(args.concurrency);
    for n in 0..args.concurrency {
        tasks.push(tokio::spawn(burst_client(
            client.clone(),
            addr.to_string(),
            n,
            start,
            deadline,
            args.long,
        )));
    }
    let mut st = BurstStats::default();
    for t in tasks {
        st.add(t.await?);
    }
    let elapsed = start.elapsed();
    st.lat_challenge.sort_unstable();
    st.lat_verify.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "burst: {} clients on 1 redis-backed instance for {:.1}s",
        args.concurrency,
        elapsed.as_secs_f64()
    );
    println!(
        "challenge: {} ok, {} shed (503 overloaded); p50 {:.1} ms, p99 {:.1} ms",
        st.challenges_ok,
        st.challenges_shed,
        ms(percentile(&st.lat_challenge, 0.5)),
        ms(percentile(&st.lat_challenge, 0.99))
    );
    println!(
        "siteverify: {} success, {} shed (503 internal-error/overloaded, retried); p50 {:.1} ms, p99 {:.1} ms; {:.0} verified/s",
        st.verified_ok,
        st.verify_shed,
        ms(percentile(&st.lat_verify, 0.5)),
        ms(percentile(&st.lat_verify, 0.99)),
        st.verified_ok as f64 / elapsed.as_secs_f64()
    );
    println!(
        "internal-error (not shed) {} {:?}, unexpected {}, transport errors {}, tokens accepted twice {}",
        st.internal, st.internal_reasons, st.unexpected, st.transport, st.double
    );
    if st.internal > 0 || st.unexpected > 0 || st.transport > 0 || st.double > 0 {
        bail!("FAILED: internal-error, unexpected answers, transport errors or double acceptance");
    }
    println!("OK");
    Ok(())
}
