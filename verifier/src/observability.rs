//! Latency histograms: per HTTP route ([`track_http`], labelled by the route template, never
//! the raw path) and per store operation (`record_store_op`), and the Prometheus exporter
//! configured with their buckets ([`prometheus_builder`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};

use crate::store::StoreError;

/// Request latency by `route` (template such as `/v1/siteverify`), `method` and `status`
/// (class: `2xx` … `5xx`).
pub const HTTP_DURATION: &str = "tollgate_http_request_duration_seconds";
/// Store call latency by `backend` (`memory`, `redis`), `op` and `result` (`ok`, `error`).
pub const STORE_DURATION: &str = "tollgate_store_operation_duration_seconds";

/// HTTP buckets: 1 ms … 10 s (siteverify is ~1 ms without a store round trip; the request
/// timeout bounds the top).
pub const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Store buckets: 50 µs … 2.5 s (memory calls are microseconds, Redis round trips around a
/// millisecond, `command_timeout` bounds the top).
pub const STORE_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5,
];

/// A Prometheus exporter builder whose histograms for [`HTTP_DURATION`] and
/// [`STORE_DURATION`] have buckets (without them the exporter renders summaries).
pub fn prometheus_builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_string()), HTTP_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(STORE_DURATION.to_string()), STORE_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(crate::learning::MODEL_SCORE.to_string()),
            SCORE_BUCKETS,
        )
}

/// Score buckets of `tollgate_model_score` (per model: drift shows as a shift between buckets).
pub const SCORE_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
    0.9, 0.95, 1.0,
];

/// Route middleware (`Router::route_layer`, so the matched route is known): records
/// [`HTTP_DURATION`] for every answered request.
pub async fn track_http(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let resp = next.run(req).await;
    let status = status_class(resp.status().as_u16());
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method, "status" => status)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// The request method as a static label (no allocation per request); methods the router does
/// not route share one label.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Record one store call of `backend`/`op` that started at `start`.
pub(crate) fn record_store_op<T>(
    backend: &'static str,
    op: &'static str,
    start: Instant,
    r: &Result<T, StoreError>,
) {
    let result = if r.is_ok() { "ok" } else { "error" };
    metrics::histogram!(STORE_DURATION, "backend" => backend, "op" => op, "result" => result)
        .record(start.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_accepted_and_sorted() {
        assert!(prometheus_builder().is_ok());
        for b in [HTTP_BUCKETS, STORE_BUCKETS] {
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(method_label(&axum::http::Method::POST), "POST");
        assert_eq!(method_label(&axum::http::Method::TRACE), "other");
    }
}
