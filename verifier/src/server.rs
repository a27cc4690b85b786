//! The HTTP server loop (hyper-util), with the protections `axum::serve` does not offer:
//! a header read timeout (slowloris), a cap on open connections, the peer address for
//! [`crate::clientip`], and a graceful shutdown that lets in-flight requests finish but gives up
//! after a drain deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Server limits.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Time a client has to send the request head (HTTP/1).
    pub header_read_timeout: Duration,
    /// Open connections at once; further connections wait in the kernel's accept queue.
    pub max_connections: usize,
    /// After the shutdown signal, how long in-flight requests may take before the server gives up.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(20),
        }
    }
}

/// Serve `router` on `listener` until `shutdown` resolves, then stop accepting, let open
/// requests finish (idle keep-alive connections are closed) and return — at the latest after
/// `drain_timeout`. Returns `false` if the deadline cut connections off.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
    opts: ServeOptions,
) -> bool {
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
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
        let _ = stream.set_nodelay(true);
        let svc =
            tower::ServiceExt::map_request(router.clone(), move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(svc))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("no longer accepting connections; draining");
    tokio::select! {
        () = graceful.shutdown() => true,
        () = tokio::time::sleep(opts.drain_timeout) => {
            tracing::warn!(timeout = ?opts.drain_timeout, "drain deadline reached: closing remaining connections");
            false
        }
    }
}

/// The router with the peer address attached (for `oneshot` tests that want [`ConnectInfo`]).
pub fn with_peer(router: Router, peer: SocketAddr) -> Router {
    router.layer(axum::extract::connect_info::MockConnectInfo(peer))
}
