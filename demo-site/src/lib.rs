//! Northwind Bank: a demo login site protected by Tollgate.
//!
//! The site serves a login page with the Tollgate embed, forwards the token to the verifier's
//! `siteverify` endpoint from its backend and applies the decision (allow → signed in,
//! challenge → mock step-up, block → refusal). It talks to the verifier over HTTP only, exactly
//! like a third-party site would. There are no accounts: any non-empty username with the password
//! [`DEMO_PASSWORD`] ("correct horse") signs in once Tollgate allows the attempt. After the password
//! check the site reports the login's result to the verifier's `/v1/outcome` (failed logins feed
//! its campaign counters).

mod pages;
mod siteverify;
mod stepup;
mod verdicts;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Form, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub use siteverify::{Outcome, VerifyError, decide};
pub use verdicts::{VerdictRecord, VerdictRing};

/// Development site key (see ARCHITECTURE.md).
pub const DEV_SITEKEY: &str = "tgdev-localhost-sitekey";
/// Development secret (see ARCHITECTURE.md). Never use it in production.
pub const DEV_SECRET: &str = "tgdev-localhost-secret-not-for-production";
/// Default verifier base URL.
pub const DEFAULT_VERIFIER_URL: &str = "http://127.0.0.1:8787";
/// The demo's one password: any username signs in with it (once Tollgate allows the attempt).
pub const DEMO_PASSWORD: &str = "correct horse";
/// The action the login widget declares and the backend expects back.
pub const LOGIN_ACTION: &str = "login";
/// How many verdicts `/api/verdicts` keeps.
pub const VERDICT_CAPACITY: usize = 100;
/// Largest form body the site accepts.
const BODY_LIMIT: usize = 64 * 1024;

/// Header telling API clients which branch the demo took (`allow`, `challenge`, `block`,
/// `rejected`, `unavailable`, `bad-credentials`).
pub const OUTCOME_HEADER: &str = "x-demo-outcome";

/// Invalid start-up configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("verifier URL {url:?} is not a valid http(s) URL")]
    VerifierUrl { url: String },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("content security policy is not a valid header value")]
    Csp,
}

/// Demo-site settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Verifier base URL, e.g. `http://127.0.0.1:8787`.
    pub verifier_url: String,
    pub sitekey: String,
    pub secret: String,
    /// Directory with the built browser assets (`js/dist`), served under `/tollgate/`.
    pub assets_dir: PathBuf,
    /// Let logins through when the verifier cannot be reached (default: fail closed).
    pub fail_open: bool,
    /// Timeout of the siteverify call.
    pub verify_timeout: Duration,
    /// Bearer token for `GET /api/verdicts` (usernames and addresses). Without one, the route
    /// answers only loopback peers whose request carries no proxy headers.
    pub admin_token: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            verifier_url: DEFAULT_VERIFIER_URL.to_owned(),
            sitekey: DEV_SITEKEY.to_owned(),
            secret: DEV_SECRET.to_owned(),
            assets_dir: PathBuf::from("js/dist"),
            fail_open: false,
            verify_timeout: Duration::from_secs(5),
            admin_token: None,
        }
    }
}

/// Shared state of the running site.
#[derive(Debug)]
pub struct AppState {
    config: Config,
    /// `verifier_url` without a trailing slash.
    verifier_base: String,
    csp: HeaderValue,
    http: reqwest::Client,
    verdicts: VerdictRing,
    step_ups: stepup::PendingStepUps,
}

impl AppState {
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        if config.sitekey.is_empty() {
            return Err(ConfigError::Empty { what: "site key" });
        }
        if config.secret.is_empty() {
            return Err(ConfigError::Empty { what: "secret" });
        }
        if config.admin_token.as_deref() == Some("") {
            return Err(ConfigError::Empty {
                what: "admin token",
            });
        }
        let url =
            reqwest::Url::parse(&config.verifier_url).map_err(|_| ConfigError::VerifierUrl {
                url: config.verifier_url.clone(),
            })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ConfigError::VerifierUrl {
                url: config.verifier_url.clone(),
            });
        }
        let origin = url.origin().ascii_serialization();
        let csp = HeaderValue::from_str(&content_security_policy(&origin))
            .map_err(|_| ConfigError::Csp)?;
        let http = reqwest::Client::builder()
            .timeout(config.verify_timeout)
            .connect_timeout(config.verify_timeout)
            .build()?;
        Ok(Self {
            verifier_base: config.verifier_url.trim_end_matches('/').to_owned(),
            csp,
            http,
            verdicts: VerdictRing::new(VERDICT_CAPACITY),
            step_ups: stepup::PendingStepUps::default(),
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Recent verdicts, newest first.
    pub fn verdicts(&self) -> Vec<VerdictRecord> {
        self.verdicts.newest_first()
    }
}

/// The CSP the demo sends on every response (the one a Tollgate site needs, plus framing and
/// form-target restrictions).
pub fn content_security_policy(verifier_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' {verifier_origin}; \
         worker-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Build the site's router.
pub fn router(state: Arc<AppState>) -> Router {
    let assets = ServeDir::new(&state.config.assets_dir);
    Router::new()
        .route("/", get(login_page))
        .route("/login", post(login).get(|| async { Redirect::to("/") }))
        .route(
            "/step-up",
            post(step_up).get(|| async { Redirect::to("/") }),
        )
        .route("/api/verdicts", get(list_verdicts))
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/style.css", get(stylesheet))
        .route("/static/favicon.svg", get(favicon))
        .nest_service("/tollgate", assets)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            state.csp.clone(),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// Serve the site on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn login_page(State(state): State<Arc<AppState>>) -> Response {
    let html = pages::login(&state.config.sitekey, &state.verifier_base);
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        pages::STYLESHEET,
    )
        .into_response()
}

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::FAVICON,
    )
        .into_response()
}

/// `GET /api/verdicts`: lists usernames and client addresses, so it is admin-only. With an
/// admin token configured, `Authorization: Bearer <token>` is required (compared in constant
/// time, as SHA-256 digests); without one, only a loopback peer whose request carries no
/// `Forwarded` / `X-Forwarded-For` header (i.e. not relayed by a local reverse proxy) is answered.
async fn list_verdicts(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
) -> Response {
    let refusal = match &state.config.admin_token {
        Some(token) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            (!tokens_match(given, token))
                .then_some((axum::http::StatusCode::UNAUTHORIZED, "admin token required"))
        }
        None => {
            let loopback = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|ConnectInfo(a)| a.ip().is_loopback());
            let proxied = req.headers().contains_key(header::FORWARDED)
                || req.headers().contains_key("x-forwarded-for");
            (!loopback || proxied).then_some((
                axum::http::StatusCode::FORBIDDEN,
                "loopback only (set --admin-token to allow remote access)",
            ))
        }
    };
    if let Some((status, why)) = refusal {
        let mut resp = (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({ "error": why })),
        )
            .into_response();
        if status == axum::http::StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return resp;
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(state.verdicts()),
    )
        .into_response()
}

/// Constant-time token comparison: the SHA-256 digests are compared, so neither the content nor
/// the length of the token leaks through timing.
fn tokens_match(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// The login form as posted by the page.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(rename = "tollgate-response", default)]
    pub tollgate_response: String,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Host name (no port) the browser used to reach us, for comparison with `hostname`.
fn request_hostname(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        rest.split(']').next()?
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    Some(host.to_ascii_lowercase())
}

async fn login(
    State(state): State<Arc<AppState>>,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let remote_ip = connect_info.map(|Extension(ConnectInfo(addr))| addr.ip().to_string());
    let started = Instant::now();
    let verdict = siteverify::call(
        &state.http,
        &state.verifier_base,
        &state.config.secret,
        &form.tollgate_response,
        remote_ip.as_deref(),
        Some(form.username.trim()),
    )
    .await;
    let verify_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    let expected_host = request_hostname(&headers);
    let (outcome, json) = match verdict {
        Ok(json) => (decide(&json, LOGIN_ACTION, expected_host.as_deref()), json),
        Err(err) => {
            tracing::warn!(error = %err, "siteverify failed");
            let json = siteverify::unavailable_json(&err);
            (
                Outcome::Unavailable {
                    error: err.to_string(),
                },
                json,
            )
        }
    };

    // Tollgate first, then the (demo) credential check.
    let credentials_ok = !form.username.trim().is_empty() && form.password == DEMO_PASSWORD;
    let page = match (&outcome, state.config.fail_open) {
        (Outcome::Allow, _) | (Outcome::Unavailable { .. }, true) if !credentials_ok => {
            pages::Result::BadCredentials
        }
        (Outcome::Allow, _) => pages::Result::SignedIn { via_step_up: false },
        (Outcome::Unavailable { .. }, true) => pages::Result::SignedInFailOpen,
        (Outcome::Unavailable { error }, false) => pages::Result::Unavailable {
            error: error.clone(),
        },
        (Outcome::StepUp, _) => match state.step_ups.start(&form.username, json.clone()) {
            Ok((id, code)) => pages::Result::StepUp {
                id,
                code,
                retry: false,
            },
            Err(err) => pages::Result::Unavailable {
                error: err.to_string(),
            },
        },
        (Outcome::Block, _) => pages::Result::Blocked {
            reasons: siteverify::reasons(&json),
        },
        (Outcome::Rejected { codes }, _) => pages::Result::Rejected {
            codes: codes.clone(),
        },
    };
    let label = page.label();
    tracing::info!(outcome = label, verify_ms, "login attempt");
    // The password was checked on a verified token: tell the verifier how it went.
    let outcome_report = match (&outcome, siteverify::verdict_id(&json)) {
        (Outcome::Allow, Some(id)) => Some(
            siteverify::report_outcome(
                &state.http,
                &state.verifier_base,
                &state.config.secret,
                id,
                credentials_ok,
                form.username.trim(),
            )
            .await,
        ),
        _ => None,
    };
    state.verdicts.push(VerdictRecord {
        at_ms: verdicts::now_ms(),
        username: form.username.clone(),
        remote_ip,
        outcome: label.to_owned(),
        verify_ms,
        siteverify: json.clone(),
        outcome_report,
    });

    let status = page.status();
    let outcome_header = (
        HeaderName::from_static(OUTCOME_HEADER),
        HeaderValue::from_static(label),
    );
    if wants_json(&headers) {
        return (
            status,
            [
                outcome_header,
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            Json(json),
        )
            .into_response();
    }
    let html = pages::result(&page, &form.username, &json);
    (
        status,
        [
            outcome_header,
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(html),
    )
        .into_response()
}

/// The mock step-up form.
#[derive(Debug, Deserialize)]
pub struct StepUpForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub code: String,
}

async fn step_up(State(state): State<Arc<AppState>>, Form(form): Form<StepUpForm>) -> Response {
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    // `Some(success)` when the step-up ended (and its result is reported to the verifier).
    let (page, username, json, ended) = match state.step_ups.check(&form.id, &code) {
        stepup::Check::Passed { username, verdict } => (
            pages::Result::SignedIn { via_step_up: true },
            username,
            verdict,
            Some(true),
        ),
        stepup::Check::Wrong {
            username,
            verdict,
            code,
        } => (
            pages::Result::StepUp {
                id: form.id.clone(),
                code,
                retry: true,
            },
            username,
            verdict,
            None,
        ),
        stepup::Check::Exhausted { username, verdict } => {
            (pages::Result::StepUpFailed, username, verdict, Some(false))
        }
        stepup::Check::Unknown => (
            pages::Result::StepUpExpired,
            String::new(),
            Value::Null,
            None,
        ),
    };
    if let Some(success) = ended {
        let outcome_report = match siteverify::verdict_id(&json) {
            Some(id) => {
                let mut report = siteverify::report_outcome(
                    &state.http,
                    &state.verifier_base,
                    &state.config.secret,
                    id,
                    success,
                    username.trim(),
                )
                .await;
                // The second factor's result labels the session in the verifier's audit trail.
                let feedback = siteverify::report_step_up(
                    &state.http,
                    &state.verifier_base,
                    &state.config.secret,
                    id,
                    success,
                )
                .await;
                if let Some(o) = report.as_object_mut() {
                    o.insert("feedback".into(), feedback);
                }
                Some(report)
            }
            None => None,
        };
        state.verdicts.push(VerdictRecord {
            at_ms: verdicts::now_ms(),
            username: username.clone(),
            remote_ip: None,
            outcome: page.label().to_owned(),
            verify_ms: 0,
            siteverify: json.clone(),
            outcome_report,
        });
    }
    let status = page.status();
    let html = pages::result(&page, &username, &json);
    (
        status,
        [
            (
                HeaderName::from_static(OUTCOME_HEADER),
                HeaderValue::from_static(page.label()),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(html),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_from_host_header() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(request_hostname(&h).as_deref(), Some("127.0.0.1"));
        h.insert(header::HOST, HeaderValue::from_static("[::1]:8080"));
        assert_eq!(request_hostname(&h).as_deref(), Some("::1"));
        h.insert(header::HOST, HeaderValue::from_static("Example.COM"));
        assert_eq!(request_hostname(&h).as_deref(), Some("example.com"));
    }

    #[test]
    fn config_rejects_bad_urls() {
        for url in ["not a url", "ftp://x", "file:///etc"] {
            let cfg = Config {
                verifier_url: url.into(),
                ..Config::default()
            };
            assert!(matches!(
                AppState::new(cfg),
                Err(ConfigError::VerifierUrl { .. })
            ));
        }
        let cfg = Config {
            secret: String::new(),
            ..Config::default()
        };
        assert!(matches!(AppState::new(cfg), Err(ConfigError::Empty { .. })));
    }

    #[test]
    fn csp_names_the_verifier_origin() {
        let cfg = Config {
            verifier_url: "http://127.0.0.1:9999/some/path/".into(),
            ..Config::default()
        };
        let state = AppState::new(cfg).expect("valid config");
        let csp = state.csp.to_str().expect("ascii");
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:9999;"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert_eq!(state.verifier_base, "http://127.0.0.1:9999/some/path");
    }
}
