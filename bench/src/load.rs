//! HTTP/1.1 load generator (hyper + tokio, keep-alive connections).
//!
//! Closed loop: `c` connections, each sends its next request when the previous answer is in.
//! Fixed rate: the same connections send on a schedule; a request delayed because its connection
//! was still waiting for the server is timed from its scheduled start (no coordinated omission).
//! Every request body is used once (distinct tokens) unless the endpoint repeats one body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::{arg, arg_or, tokens};

struct Source {
    bodies: Vec<Bytes>,
    repeat: bool,
    next: AtomicUsize,
}

impl Source {
    fn take(&self) -> Option<Bytes> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if self.repeat {
            self.bodies.get(i % self.bodies.len()).cloned()
        } else {
            self.bodies.get(i).cloned()
        }
    }
    fn left(&self) -> usize {
        if self.repeat {
            usize::MAX
        } else {
            self.bodies
                .len()
                .saturating_sub(self.next.load(Ordering::Relaxed))
        }
    }
}

struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
    content_type: &'static str,
    origin: Option<String>,
    /// A successful answer contains this.
    expect: String,
}

#[derive(Default)]
struct Tally {
    lat_us: Vec<u32>,
    ok: u64,
    bad: u64,
    first_bad: Option<String>,
}

async fn connect(t: &Target) -> http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(t.addr)
        .await
        .expect("connect to the server");
    stream.set_nodelay(true).ok();
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("http1 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

async fn send(
    t: &Target,
    s: &mut http1::SendRequest<Full<Bytes>>,
    body: Bytes,
    tally: &mut Tally,
) -> bool {
    let mut req = Request::post(t.path.as_str())
        .header(hyper::header::HOST, t.host.as_str())
        .header(hyper::header::CONTENT_TYPE, t.content_type);
    if let Some(o) = &t.origin {
        req = req.header(hyper::header::ORIGIN, o.as_str());
    }
    let Ok(req) = req.body(Full::new(body)) else {
        return false;
    };
    if s.ready().await.is_err() {
        return false;
    }
    match s.send_request(req).await {
        Ok(resp) => {
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let good = status.is_success() && memchr_contains(&body, t.expect.as_bytes());
            if good {
                tally.ok += 1;
            } else {
                tally.bad += 1;
                if tally.first_bad.is_none() {
                    tally.first_bad = Some(format!(
                        "{status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
            true
        }
        Err(_) => false,
    }
}

fn memchr_contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

struct StepResult {
    mode: &'static str,
    conc: usize,
    target_rps: Option<f64>,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok: u64,
    bad: u64,
    first_bad: Option<String>,
    exhausted: bool,
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

async fn step(
    t: Arc<Target>,
    src: Arc<Source>,
    conc: usize,
    secs: f64,
    rate: Option<f64>,
) -> StepResult {
    let mut conns = Vec::with_capacity(conc);
    for _ in 0..conc {
        conns.push(connect(&t).await);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::with_capacity(conc);
    for (ci, mut s) in conns.into_iter().enumerate() {
        let t = t.clone();
        let src = src.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            match rate {
                None => {
                    while Instant::now() < deadline {
                        let Some(body) = src.take() else { break };
                        let t0 = Instant::now();
                        if !send(&t, &mut s, body, &mut tally).await {
                            break;
                        }
                        tally.lat_us.push(t0.elapsed().as_micros() as u32);
                    }
                }
                Some(r) => {
                    let interval = Duration::from_secs_f64(conc as f64 / r);
                    let mut due = start + interval.mul_f64(ci as f64 / conc as f64);
                    let mut prev_done = start;
                    while due < deadline {
                        tokio::time::sleep_until(due).await;
                        let Some(body) = src.take() else { break };
                        let sent = Instant::now();
                        // Late because the server had not answered the previous request yet:
                        // that wait counts. Late because the timer fired late: it does not.
                        let from = if prev_done > due { due } else { sent };
                        if !send(&t, &mut s, body, &mut tally).await {
                            break;
                        }
                        prev_done = Instant::now();
                        tally.lat_us.push((prev_done - from).as_micros() as u32);
                        due += interval;
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        if let Ok(mut tl) = task.await {
            all.lat_us.append(&mut tl.lat_us);
            all.ok += tl.ok;
            all.bad += tl.bad;
            if all.first_bad.is_none() {
                all.first_bad = tl.first_bad;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.lat_us.sort_unstable();
    StepResult {
        mode: if rate.is_some() {
            "fixed-rate"
        } else {
            "closed-loop"
        },
        conc,
        target_rps: rate,
        rps: (all.ok + all.bad) as f64 / elapsed,
        p50_ms: pct(&all.lat_us, 0.5),
        p99_ms: pct(&all.lat_us, 0.99),
        ok: all.ok,
        bad: all.bad,
        first_bad: all.first_bad,
        exhausted: src.left() == 0,
    }
}

fn print(label: &str, r: &StepResult) {
    let target = r
        .target_rps
        .map_or(String::from("-"), |t| format!("{t:.0}"));
    println!(
        "  {label:<22} {:<11} conc {:>4}  target {:>7}  {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  ok {:>7}  failed {}{}",
        r.mode,
        r.conc,
        target,
        r.rps,
        r.p50_ms,
        r.p99_ms,
        r.ok,
        r.bad,
        if r.exhausted {
            "  (ran out of distinct tokens: rate is a lower bound)"
        } else {
            ""
        }
    );
    if let Some(b) = &r.first_bad {
        println!("    first failure: {b}");
    }
    eprintln!(
        "{{\"bench\":\"load\",\"label\":\"{label}\",\"mode\":\"{}\",\"conc\":{},\"target_rps\":{},\"rps\":{:.1},\"p50_ms\":{:.4},\"p99_ms\":{:.4},\"ok\":{},\"failed\":{}}}",
        r.mode,
        r.conc,
        r.target_rps.map_or("null".into(), |t| format!("{t:.0}")),
        r.rps,
        r.p50_ms,
        r.p99_ms,
        r.ok,
        r.bad
    );
}

pub fn run(args: &[String]) {
    let url = arg(args, "--url").unwrap_or("http://127.0.0.1:8787");
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let addr: SocketAddr = hostport.parse().expect("--url http://IP:PORT");
    let endpoint = arg(args, "--endpoint").unwrap_or("siteverify");
    let secs: f64 = arg_or(args, "--secs", 3.0);
    let fraction: f64 = arg_or(args, "--rate-fraction", 0.5);
    let threads: usize = arg_or(args, "--threads", 1);
    let label = arg(args, "--label").unwrap_or(endpoint).to_string();
    let conc: Vec<usize> = arg(args, "--conc")
        .unwrap_or("1,8,32,128")
        .split(',')
        .filter_map(|c| c.parse().ok())
        .collect();
    let (target, src) = match endpoint {
        "siteverify" => {
            let n: usize = arg_or(args, "--tokens", 200_000);
            let t0 = std::time::Instant::now();
            let bodies = tokens::siteverify_bodies(n);
            println!(
                "  {label}: {n} distinct tokens generated in {:.1} s (token ≈ {} chars, body ≈ {} B, PoW k={} bits={})",
                t0.elapsed().as_secs_f64(),
                tokens::sample_token_len(),
                bodies.first().map_or(0, Bytes::len),
                tokens::POW.k,
                tokens::POW.bits
            );
            (
                Target {
                    addr,
                    host: hostport.into(),
                    path: "/v1/siteverify".into(),
                    content_type: "application/x-www-form-urlencoded",
                    origin: None,
                    expect: "\"success\":true".into(),
                },
                Source {
                    bodies,
                    repeat: false,
                    next: AtomicUsize::new(0),
                },
            )
        }
        "challenge" => (
            Target {
                addr,
                host: hostport.into(),
                path: "/v1/challenge".into(),
                content_type: "application/json",
                origin: Some(tokens::ORIGIN.into()),
                expect: "\"challenge\"".into(),
            },
            Source {
                bodies: vec![Bytes::from(format!(
                    "{{\"sitekey\":\"{}\",\"action\":\"login\"}}",
                    tokens::SITEKEY
                ))],
                repeat: true,
                next: AtomicUsize::new(0),
            },
        ),
        "bodies" => {
            let file = arg(args, "--bodies").expect("--bodies FILE");
            let text = std::fs::read_to_string(file).expect("read --bodies");
            let bodies: Vec<Bytes> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| Bytes::from(l.to_string()))
                .collect();
            (
                Target {
                    addr,
                    host: hostport.into(),
                    path: arg(args, "--path").unwrap_or("/").into(),
                    content_type: "application/json",
                    origin: None,
                    expect: arg(args, "--expect").unwrap_or("").into(),
                },
                Source {
                    bodies,
                    repeat: false,
                    next: AtomicUsize::new(0),
                },
            )
        }
        _ => crate::usage(),
    };
    let target = Arc::new(target);
    let src = Arc::new(src);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        // Warm-up (connections, allocator, caches): not printed; its JSON line (mode "warm-up")
        // lets the driver divide the server's CPU time by every request it answered.
        let w = step(target.clone(), src.clone(), 4, 0.5, None).await;
        eprintln!(
            "{{\"bench\":\"load\",\"label\":\"{label}\",\"mode\":\"warm-up\",\"conc\":4,\"rps\":{:.1},\"ok\":{},\"failed\":{}}}",
            w.rps, w.ok, w.bad
        );
        let mut best = 0.0f64;
        for &c in &conc {
            if src.left() == 0 {
                break;
            }
            let r = step(target.clone(), src.clone(), c, secs, None).await;
            best = best.max(r.rps);
            print(&label, &r);
        }
        if fraction > 0.0 && best > 0.0 && src.left() > 0 {
            let rate = best * fraction;
            let c = conc.iter().copied().max().unwrap_or(32).max(16);
            let r = step(target.clone(), src.clone(), c, secs, Some(rate)).await;
            print(&label, &r);
        }
    });
}
