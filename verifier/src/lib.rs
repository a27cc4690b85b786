//! Tollgate verifier: issues signed challenges and checks tokens (Turnstile-compatible
//! `siteverify`). The router is built by [`app`] without any socket, so tests drive it with
//! `tower::ServiceExt::oneshot`; `main.rs` only parses the CLI and serves it.

#![forbid(unsafe_code)]

pub mod challenge;
pub mod clock;
pub mod config;
pub mod error;
pub mod intel;
pub mod keys;
pub mod origin;
pub mod scoring;
pub mod secret;
pub mod siteverify;
pub mod state;
pub mod store;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Settings;
pub use error::{ErrorCode, VerifyError};
pub use state::AppState;

/// How long a client may take to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Read a body up to `limit` bytes (larger ⇒ [`VerifyError::BodyTooLarge`]).
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, VerifyError> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            let inner = e.into_inner();
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
            while let Some(err) = cur {
                if err.is::<http_body_util::LengthLimitError>() {
                    return Err(VerifyError::BodyTooLarge { limit });
                }
                cur = err.source();
            }
            Err(VerifyError::BodyRead)
        }
        Err(_) => Err(VerifyError::BodyRead),
    }
}

fn cors_for(state: &AppState, methods: [Method; 1]) -> CorsLayer {
    let patterns = state.all_origin_patterns();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| patterns.iter().any(|p| p.matches_str(o)))
        }))
        .allow_methods(methods)
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// The API router: `/v1/challenge`, `/v1/siteverify`, `/turnstile/v0/siteverify`, `/v1/keys`,
/// `/healthz`, `/metrics`.
pub fn app(state: AppState) -> Router {
    let challenge_cors = cors_for(&state, [Method::POST]);
    Router::new()
        .route(
            "/v1/challenge",
            post(challenge::issue).layer(challenge_cors),
        )
        .route("/v1/siteverify", post(siteverify::siteverify))
        .route("/turnstile/v0/siteverify", post(siteverify::siteverify))
        .route("/v1/keys", get(keys_handler))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics_handler))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// [`app`] plus the collector assets from `dir` under `/tollgate/` (CORS: the sites' origins).
pub fn app_with_assets(state: AppState, dir: &Path) -> Router {
    let cors = cors_for(&state, [Method::GET]);
    let assets = tower::ServiceBuilder::new()
        .layer(cors)
        .service(ServeDir::new(dir));
    app(state).nest_service("/tollgate", assets)
}

async fn keys_handler(State(state): State<AppState>) -> Response {
    let keys: Vec<_> = state
        .keys()
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

async fn health() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

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
