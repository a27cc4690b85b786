//! The HTTP server loop (hyper-util), with the protections `axum::serve` does not offer:
//!
//! - **caps**: a global cap on open connections and a per-address cap (IPv4 address, IPv6 /64;
//!   trusted proxies are exempt from the per-address cap). A connection over either cap is
//!   closed at once and counted (`tollgate_connections_rejected_total{reason}`); the accept loop
//!   never stalls, so an attacker holding sockets cannot starve the accept queue;
//! - **first-byte timeout**: every accepted socket must send its first byte within
//!   `first_byte_timeout`, whatever protocol it turns out to speak (hyper's own header timeout
//!   starts only once HTTP/1 has been detected);
//! - **handshake and idle timeouts**: a connection that has not started a request within
//!   `header_read_timeout` of its first byte (e.g. a stalled HTTP/2 preface), or has had no
//!   request in flight for `idle_timeout` (idle keep-alive, HTTP/1 or HTTP/2), is shut down
//!   gracefully and closed hard `header_read_timeout` later if the peer does not end it;
//! - the **header read timeout** (slowloris) for HTTP/1 requests, the peer address for
//!   [`crate::clientip`], and a graceful shutdown that lets in-flight requests finish but gives
//!   up after a drain deadline;
//! - optional **TLS** ([`crate::tls`]): the handshake must finish within `header_read_timeout`
//!   of the first byte; a failed or timed-out handshake is counted
//!   (`tollgate_tls_handshake_failures_total{reason}`).
//!
//! The verifier has two listeners ([`Listener`]): the public one (browser-facing routes,
//! [`crate::public_router`]) and the internal one (site backends and operators,
//! [`crate::internal_router`]); with one address configured, one listener serves both
//! ([`crate::app`]). Each runs this loop with its own connection caps.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

use crate::netinfo::canonical;
use crate::tls::CertStore;

/// Which router half a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Browser-facing: challenge, keys, collector assets, health.
    Public,
    /// Site backends and operators: siteverify, outcome, metrics (and health).
    Internal,
    /// Both halves on one socket (the single-port default).
    Combined,
}

impl Listener {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Combined => "combined",
        }
    }
}

/// Which peers the per-address cap does not apply to (the trusted reverse proxies: every
/// client behind them shares their address). Consulted per connection, so a config reload
/// applies.
#[derive(Clone)]
pub struct PeerExemption(Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

impl PeerExemption {
    pub fn new(f: impl Fn(IpAddr) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// No peer is exempt.
    pub fn none() -> Self {
        Self::new(|_| false)
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        (self.0)(ip)
    }
}

impl std::fmt::Debug for PeerExemption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerExemption(..)")
    }
}

/// Server limits.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time a client has to send the request head (HTTP/1); also the time a connection has,
    /// after its first byte, to start its first request (any protocol).
    pub header_read_timeout: Duration,
    /// Time an accepted socket has to send its first byte.
    pub first_byte_timeout: Duration,
    /// A connection with no request in flight for this long is closed (idle keep-alive).
    pub idle_timeout: Duration,
    /// Open connections at once; further connections are closed at once.
    pub max_connections: usize,
    /// Open connections at once from one address (IPv4) or /64 (IPv6); further connections
    /// from it are closed at once. Peers in `exempt` only count against `max_connections`.
    pub max_connections_per_address: usize,
    pub exempt: PeerExemption,
    /// After the shutdown signal, how long in-flight requests may take before the server gives up.
    pub drain_timeout: Duration,
    /// Terminate TLS with this certificate (plain HTTP when `None`).
    pub tls: Option<Arc<CertStore>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_address: 256,
            exempt: PeerExemption::none(),
            drain_timeout: Duration::from_secs(20),
            tls: None,
        }
    }
}

/// The per-address key: the address (IPv4, or IPv4-mapped IPv6 as IPv4) or its /64.
fn address_key(ip: IpAddr) -> u128 {
    match canonical(ip) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6) & !((1u128 << 64) - 1),
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Global,
    PerAddress,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::PerAddress => "per-address",
        }
    }
}

/// Open connections: global permits and per-address counts.
#[derive(Debug)]
struct Caps {
    global: Arc<Semaphore>,
    per_address: usize,
    counts: Mutex<HashMap<u128, usize>>,
}

/// One admitted connection; releases its slots on drop.
#[derive(Debug)]
struct Slot {
    caps: Arc<Caps>,
    key: Option<u128>,
    _permit: OwnedSemaphorePermit,
}

impl Caps {
    fn admit(self: &Arc<Self>, ip: IpAddr, exempt: &PeerExemption) -> Result<Slot, Refusal> {
        let permit = self
            .global
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Global)?;
        let key = if exempt.exempt(ip) {
            None
        } else {
            let key = address_key(ip);
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(key).or_insert(0);
            if *n >= self.per_address {
                return Err(Refusal::PerAddress);
            }
            *n += 1;
            Some(key)
        };
        Ok(Slot {
            caps: self.clone(),
            key,
            _permit: permit,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut counts = self.caps.counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(&key);
                }
            }
        }
        metrics::gauge!("tollgate_connections_open").decrement(1.0);
    }
}

/// Request activity of one connection: requests in flight and when the last one started or
/// ended (ms since the connection's start).
#[derive(Debug)]
struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    last_ms: AtomicU64,
}

impl Activity {
    fn stamp(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }
}

/// Held while a request is in flight (dropped on completion or cancellation).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(a: &Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        a.requests.fetch_add(1, Ordering::Relaxed);
        a.stamp();
        Self(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.stamp();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serve `router` on `listener` until `shutdown` resolves, then stop accepting, let open
/// requests finish (idle keep-alive connections are closed) and return — at the latest after
/// `drain_timeout`. Returns `false` if the deadline cut connections off. Fails only when the
/// TLS configuration cannot be built.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
    opts: ServeOptions,
) -> Result<bool, crate::tls::TlsError> {
    let tls = match &opts.tls {
        Some(store) => Some(store.acceptor()?),
        None => None,
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    let caps = Arc::new(Caps {
        global: Arc::new(Semaphore::new(opts.max_connections.max(1))),
        per_address: opts.max_connections_per_address.max(1),
        counts: Mutex::new(HashMap::new()),
    });
    let opts = Arc::new(opts);
    // `true` once shutdown starts; every connection task holds a receiver, so the sender's
    // `closed()` resolves when the last connection has ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match caps.admit(peer.ip(), &opts.exempt) {
            Ok(s) => s,
            Err(why) => {
                metrics::counter!("tollgate_connections_rejected_total", "reason" => why.as_str())
                    .increment(1);
                tracing::debug!(reason = why.as_str(), "connection over the cap: closed");
                drop(stream);
                continue;
            }
        };
        metrics::gauge!("tollgate_connections_open").increment(1.0);
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            slot,
            builder.clone(),
            router.clone(),
            opts.clone(),
            tls.clone(),
            stop_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_rx);
    tracing::info!("no longer accepting connections; draining");
    let _ = stop_tx.send(true);
    Ok(tokio::select! {
        () = stop_tx.closed() => true,
        () = tokio::time::sleep(opts.drain_timeout) => {
            tracing::warn!(timeout = ?opts.drain_timeout, "drain deadline reached: closing remaining connections");
            false
        }
    })
}

/// Wait for the first byte (`Ok(true)`), or give up: EOF, error, timeout or shutdown.
async fn first_byte(
    stream: &TcpStream,
    timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let mut buf = [0u8; 1];
    tokio::select! {
        r = tokio::time::timeout(timeout, stream.peek(&mut buf)) => match r {
            Ok(Ok(n)) => n > 0,
            Ok(Err(_)) => false,
            Err(_) => {
                metrics::counter!("tollgate_connections_timed_out_total", "phase" => "first-byte")
                    .increment(1);
                false
            }
        },
        _ = stop.wait_for(|s| *s) => false,
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    opts: Arc<ServeOptions>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    if !first_byte(&stream, opts.first_byte_timeout, &mut stop).await {
        drop(slot);
        return;
    }
    match tls {
        None => drive(stream, peer, builder, router, &opts, stop).await,
        Some(acceptor) => {
            let handshake = tokio::select! {
                r = tokio::time::timeout(opts.header_read_timeout, acceptor.accept(stream)) => r,
                _ = stop.wait_for(|s| *s) => {
                    drop(slot);
                    return;
                }
            };
            match handshake {
                Ok(Ok(tls_stream)) => drive(tls_stream, peer, builder, router, &opts, stop).await,
                Ok(Err(e)) => {
                    metrics::counter!("tollgate_tls_handshake_failures_total", "reason" => "error")
                        .increment(1);
                    tracing::debug!(error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    metrics::counter!("tollgate_tls_handshake_failures_total", "reason" => "timeout")
                        .increment(1);
                    metrics::counter!("tollgate_connections_timed_out_total", "phase" => "tls-handshake")
                        .increment(1);
                }
            }
        }
    }
    drop(slot);
}

/// Serve HTTP on an accepted (and, with TLS, handshaken) connection until it ends.
async fn drive<I>(
    io: I,
    peer: SocketAddr,
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    opts: &ServeOptions,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        start: Instant::now(),
        in_flight: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        last_ms: AtomicU64::new(0),
    });
    let svc = {
        let activity = activity.clone();
        tower::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let guard = InFlight::begin(&activity);
            let fut = tower::ServiceExt::oneshot(router.clone(), req);
            async move {
                let r = fut.await;
                drop(guard);
                r
            }
        })
    };
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc));
    tokio::pin!(conn);
    // Set once the connection has been asked to shut down: it then has `drain_timeout` to end.
    let mut hard_deadline: Option<Instant> = None;
    loop {
        let idle_deadline = {
            let last =
                activity.start + Duration::from_millis(activity.last_ms.load(Ordering::Relaxed));
            let before_first = activity.requests.load(Ordering::Relaxed) == 0;
            last + if before_first {
                opts.header_read_timeout
            } else {
                opts.idle_timeout
            }
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.wait_for(|s| *s), if hard_deadline.is_none() => {
                conn.as_mut().graceful_shutdown();
                hard_deadline = Some(Instant::now() + opts.drain_timeout);
            }
            () = tokio::time::sleep_until(idle_deadline), if hard_deadline.is_none() => {
                let now = Instant::now();
                let last = activity.start + Duration::from_millis(activity.last_ms.load(Ordering::Relaxed));
                let limit = if activity.requests.load(Ordering::Relaxed) == 0 {
                    opts.header_read_timeout
                } else {
                    opts.idle_timeout
                };
                if activity.in_flight.load(Ordering::Relaxed) == 0 && now >= last + limit {
                    let phase = if activity.requests.load(Ordering::Relaxed) == 0 { "handshake" } else { "idle" };
                    metrics::counter!("tollgate_connections_timed_out_total", "phase" => phase)
                        .increment(1);
                    conn.as_mut().graceful_shutdown();
                    // Nothing is in flight: the peer only gets the time to take the GOAWAY
                    // (HTTP/2 waits for a PING answer a silent peer never sends).
                    hard_deadline = Some(now + opts.header_read_timeout);
                } else if activity.in_flight.load(Ordering::Relaxed) > 0 {
                    // Busy: look again one idle period from now.
                    activity.stamp();
                }
            }
            () = async {
                match hard_deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                tracing::debug!("connection did not end after shutdown: closed");
                break;
            }
        }
    }
}

/// File descriptors kept free for everything but client sockets (listener, Redis, config and
/// asset files, logs).
pub const FD_RESERVE: u64 = 128;

/// The global connection cap for an open-file limit: `configured`, or the limit less
/// [`FD_RESERVE`] (at least 16) when that is smaller. No limit known: `configured`.
pub fn cap_to_fd_limit(configured: usize, open_file_limit: Option<u64>) -> usize {
    let Some(limit) = open_file_limit else {
        return configured;
    };
    let usable = usize::try_from(limit.saturating_sub(FD_RESERVE).max(16)).unwrap_or(usize::MAX);
    usable.min(configured)
}

/// The soft open-file limit of this process (Linux: `/proc/self/limits`; `None` elsewhere or
/// when unlimited).
pub fn open_file_limit() -> Option<u64> {
    parse_open_file_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

fn parse_open_file_limit(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The router with the peer address attached (for `oneshot` tests that want [`ConnectInfo`]).
pub fn with_peer(router: Router, peer: SocketAddr) -> Router {
    router.layer(axum::extract::connect_info::MockConnectInfo(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_key_is_the_address_or_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(v4), address_key(mapped));
        assert_ne!(address_key(v4), address_key("192.0.2.2".parse().unwrap()));
    }

    #[test]
    fn global_cap_follows_the_open_file_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_file_limit(text), Some(1024));
        assert_eq!(
            parse_open_file_limit(
                "Max open files            unlimited            unlimited            files\n"
            ),
            None
        );
        assert_eq!(cap_to_fd_limit(10_000, Some(1024)), 1024 - 128);
        assert_eq!(cap_to_fd_limit(10_000, Some(1_048_576)), 10_000);
        assert_eq!(cap_to_fd_limit(10_000, Some(20)), 16);
        assert_eq!(cap_to_fd_limit(10_000, None), 10_000);
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0));
        }
    }

    #[test]
    fn caps_admit_release_and_exempt() {
        let caps = Arc::new(Caps {
            global: Arc::new(Semaphore::new(3)),
            per_address: 2,
            counts: Mutex::new(HashMap::new()),
        });
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let exempt = PeerExemption::new(move |ip| ip == proxy);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let s1 = caps.admit(a, &exempt).unwrap();
        let _s2 = caps.admit(a, &exempt).unwrap();
        assert_eq!(caps.admit(a, &exempt).unwrap_err(), Refusal::PerAddress);
        drop(s1);
        let _s3 = caps.admit(a, &exempt).unwrap();
        // Two held by `a`; the proxy is not limited per address but counts globally.
        let _p1 = caps.admit(proxy, &exempt).unwrap();
        assert_eq!(caps.admit(proxy, &exempt).unwrap_err(), Refusal::Global);
        drop(_p1);
        drop(_s3);
        drop(_s2);
        assert!(caps.counts.lock().unwrap().is_empty());
    }
}
