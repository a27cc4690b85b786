//! Tollgate verifier: issues signed challenges and checks tokens (Turnstile-compatible
//! `siteverify`). The router is built by [`app`] without any socket, so tests drive it with
//! `tower::ServiceExt::oneshot`; `main.rs` only parses the CLI and serves it.

#![forbid(unsafe_code)]

pub mod audit;
pub mod challenge;
pub mod clientip;
pub mod clock;
pub mod config;
pub mod console;
pub mod correlate;
pub mod decode;
pub mod envrules;
pub mod error;
pub mod extract;
pub mod feedback;
pub mod iplists;
pub mod keys;
pub mod learning;
pub mod netinfo;
pub mod nocollector;
pub mod observability;
pub mod openapi;
pub mod origin;
pub mod outcome;
pub mod ratelimit;
pub mod reload;
pub mod scoring;
pub mod secret;
pub mod server;
pub mod siteverify;
pub mod state;
pub mod store;
pub mod tls;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Settings;
pub use error::{ErrorCode, VerifyError};
pub use extract::BODY_TIMEOUT;
pub use state::AppState;

use ratelimit::{Endpoint, RateLimit};

/// Hard cap on any request body (each endpoint has its own, smaller limit).
pub const MAX_BODY: usize = 128 * 1024;

/// CORS for browser-facing routes: an origin is answered (preflight or not) only if some
/// configured site allows it — read from the current configuration, so reloads apply — and the
/// handler then checks it against the request's own site. Nothing else is ever reflected.
fn cors_for(state: &AppState, methods: [Method; 1]) -> CorsLayer {
    let state = state.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|o| {
                state
                    .runtime()
                    .sites
                    .iter()
                    .any(|s| s.settings.allowed_origins.iter().any(|p| p.matches_str(o)))
            })
        }))
        .allow_methods(methods)
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static(challenge::AUTOMATION_HEADER),
        ])
        .max_age(Duration::from_secs(600))
}

/// The whole API on one router (the single-port default): [`public_routes`] and
/// [`internal_routes`] merged. Every request is bounded by `[server] request_timeout_ms` (408) and
/// [`MAX_BODY`] (413); the POST endpoints have their own body limit (answered by each endpoint's
/// bad-request error, see [`extract`]) and rate limit ([`ratelimit::limit`]), both applied only
/// to the routed method (a wrong method stays a plain 405).
pub fn app(state: AppState) -> Router {
    finish(public_routes(&state).merge(internal_routes(&state)), state)
}

/// The public listener's router: what browsers (and anyone on the Internet) may reach —
/// [`public_routes`] (health checks included). Without the internal routes, so that a reverse
/// proxy or firewall mistake cannot expose siteverify, outcome or metrics.
pub fn public_router(state: AppState) -> Router {
    finish(public_routes(&state), state)
}

/// The internal listener's router: what site backends and operators reach — [`internal_routes`]
/// plus the health checks (for a load balancer in front of the internal port).
pub fn internal_router(state: AppState) -> Router {
    finish(internal_routes(&state).merge(health_routes()), state)
}

/// **Public routes** — browser-facing, safe to expose: `/v1/challenge` (CORS: the sites'
/// origins), `/v1/keys`, `/healthz`, `/readyz` (and the assets, [`app_with_assets`]). A new
/// route belongs here only if a browser must call it and it carries no secret.
pub fn public_routes(state: &AppState) -> Router<AppState> {
    let challenge_cors = cors_for(state, [Method::POST]);
    let rate_limit = |endpoint| {
        axum::middleware::from_fn_with_state(RateLimit::new(state, endpoint), ratelimit::limit)
    };
    Router::new()
        .route(
            "/v1/challenge",
            post(challenge::issue)
                .route_layer(DefaultBodyLimit::max(challenge::CHALLENGE_BODY_LIMIT))
                .route_layer(rate_limit(Endpoint::Challenge))
                .layer(challenge_cors),
        )
        .route("/v1/keys", get(keys_handler))
        .merge(health_routes())
}

/// **Internal routes** — called by site backends with their secret, or by operators:
/// `/v1/siteverify`, `/turnstile/v0/siteverify`, `/v1/outcome`, `/metrics`. Every new
/// backend-to-verifier or admin route goes here.
pub fn internal_routes(state: &AppState) -> Router<AppState> {
    let rate_limit = |endpoint| {
        axum::middleware::from_fn_with_state(RateLimit::new(state, endpoint), ratelimit::limit)
    };
    Router::new()
        .route(
            "/v1/siteverify",
            post(siteverify::siteverify)
                .route_layer(DefaultBodyLimit::max(siteverify::SITEVERIFY_BODY_LIMIT))
                .route_layer(rate_limit(Endpoint::Siteverify)),
        )
        .route(
            "/turnstile/v0/siteverify",
            post(siteverify::siteverify)
                .route_layer(DefaultBodyLimit::max(siteverify::SITEVERIFY_BODY_LIMIT))
                .route_layer(rate_limit(Endpoint::Siteverify)),
        )
        .route(
            "/v1/outcome",
            post(outcome::report)
                .route_layer(DefaultBodyLimit::max(outcome::OUTCOME_BODY_LIMIT))
                .route_layer(rate_limit(Endpoint::Outcome)),
        )
        .route(
            "/v1/feedback",
            post(feedback::feedback)
                .route_layer(DefaultBodyLimit::max(feedback::FEEDBACK_BODY_LIMIT)),
        )
        .route("/admin/", get(console::page))
        .route("/admin/api/verdicts", get(console::verdicts))
        .route("/admin/api/verdicts/{id}", get(console::verdict))
        .route(
            "/admin/api/feedback",
            post(console::label).route_layer(DefaultBodyLimit::max(feedback::FEEDBACK_BODY_LIMIT)),
        )
        .route("/metrics", get(metrics_handler))
}

/// `/healthz`, `/readyz` and `/openapi.json`: on both listeners.
fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/openapi.json", get(openapi::serve))
}

/// The layers every router half gets: latency histogram, body cap, request timeout, trace span.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    let timeout = state.runtime().server.request_timeout;
    routes
        // Inside the routes, so the latency histogram is labelled by the matched template.
        .route_layer(axum::middleware::from_fn(observability::track_http))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The request span: method and path only. Never the query string (a secret sent as
/// `?secret=` must not reach the logs at any level) nor headers.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        version = ?req.version(),
    )
}

/// [`app`] plus the collector assets from `dir` under `/tollgate/` (CORS: the sites' origins).
pub fn app_with_assets(state: AppState, dir: &Path) -> Router {
    with_assets(app(state.clone()), &state, dir)
}

/// `router` (the combined [`app`] or the [`public_router`]) plus the collector assets from `dir`
/// under `/tollgate/` (CORS: the sites' origins). Assets are public.
pub fn with_assets(router: Router, state: &AppState, dir: &Path) -> Router {
    let cors = cors_for(state, [Method::GET]);
    let assets = tower::ServiceBuilder::new()
        .layer(cors)
        .service(ServeDir::new(dir));
    router.nest_service("/tollgate", assets)
}

#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "public",
    operation_id = "keys",
    summary = "The challenge-signing public keys (Ed25519)",
    responses((status = 200, description = "Every configured key (the signing one and those still accepted).", body = openapi::KeysReply)),
)]
async fn keys_handler(State(state): State<AppState>) -> Response {
    let rt = state.runtime();
    let keys: Vec<_> = rt
        .keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid,
                "alg": "Ed25519",
                "public_key": tollgate_protocol::b64_encode(k.verifying.as_bytes()),
            })
        })
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

/// Liveness: the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "public",
    operation_id = "healthz",
    summary = "Liveness",
    responses((status = 200, description = "The process serves requests.", body = openapi::HealthReply)),
)]
async fn health() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// Readiness: the store answered its last health check (memory: always). 503 otherwise, so a
/// load balancer can route around an instance whose Redis is unreachable.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "public",
    operation_id = "readyz",
    summary = "Readiness: the store answered its last health check",
    responses(
        (status = 200, description = "Ready.", body = openapi::ReadyReply),
        (status = 503, description = "Not ready: the store (Redis) is unreachable; route around this instance.", body = openapi::ReadyReply),
    ),
)]
async fn ready(State(state): State<AppState>) -> Response {
    let up = state.store_ready();
    let body = json!({
        "status": if up { "ready" } else { "not-ready" },
        "store": { "backend": state.store_backend(), "up": up },
    });
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "internal",
    operation_id = "metrics",
    summary = "Prometheus metrics (text exposition format 0.0.4)",
    responses(
        (status = 200, description = "Counters, gauges and latency histograms (`tollgate_*`).", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "The metrics recorder is not installed (embedded use without one).", body = String, content_type = "text/plain"),
    ),
)]
async fn metrics_handler(State(state): State<AppState>) -> Response {
    match state.prometheus() {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics recorder not installed\n").into_response(),
    }
}
