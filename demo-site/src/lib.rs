//! Northwind Bank: a demo login site protected by Tollgate.
//!
//! The site serves a login page with the Tollgate embed, forwards the token to the verifier's
//! `siteverify` endpoint from its backend and applies the decision (allow → signed in,
//! challenge → step-up, block → refusal). It talks to the verifier over HTTP only, exactly
//! like a third-party site would. Accounts live in an embedded SQLite database ([`users`]): the
//! demo users ([`users::DEMO_USERS`]) sign in with the password [`DEMO_PASSWORD`]
//! ("correct horse") once Tollgate allows the attempt, may enrol an authenticator app (RFC 6238
//! TOTP, [`totp`]) after signing in, and then pass a `challenge` with its code. After the
//! password check or the step-up the site reports the result to the verifier
//! (`/v1/feedback`, or `/v1/outcome` on verifiers without it: failed logins feed its campaign
//! counters).

mod enrol;
mod pages;
mod siteverify;
mod stepup;
pub mod totp;
pub mod users;
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

pub use siteverify::{Outcome, Report, VerifyError, decide};
pub use verdicts::{VerdictRecord, VerdictRing};

/// Development site key (see ARCHITECTURE.md).
pub const DEV_SITEKEY: &str = "tgdev-localhost-sitekey";
/// Development secret (see ARCHITECTURE.md). Never use it in production.
pub const DEV_SECRET: &str = "tgdev-localhost-secret-not-for-production";
/// Default verifier base URL.
pub const DEFAULT_VERIFIER_URL: &str = "http://127.0.0.1:8787";
/// The password of the demo users created in a new database.
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
    #[error("verifier CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("content security policy is not a valid header value")]
    Csp,
    #[error(transparent)]
    Users(#[from] users::DbError),
}

/// Demo-site settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Verifier base URL as the browser reaches it (the page's `data-api`, the CSP), e.g.
    /// `http://127.0.0.1:8787` or `https://verifier.example.com`.
    pub verifier_url: String,
    /// Verifier base URL for the backend's siteverify and outcome calls (the verifier's
    /// internal listener); `None`: `verifier_url`. `http://` or `https://`.
    pub verifier_backend_url: Option<String>,
    /// Extra PEM CA certificate(s) trusted for an `https://` verifier, on top of the built-in
    /// web roots (a private CA or a self-signed certificate).
    pub verifier_ca: Option<PathBuf>,
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
    /// The user database (SQLite file, created with the demo users on first start); `None`: an
    /// in-memory database (tests).
    pub db_path: Option<PathBuf>,
    /// Encrypts TOTP secrets at rest (`None`: stored as they are).
    pub totp_key: Option<users::TotpKey>,
    /// Step up users who enrolled an authenticator app even when Tollgate allows the attempt
    /// (default: only on `challenge`).
    pub step_up_enrolled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            verifier_url: DEFAULT_VERIFIER_URL.to_owned(),
            verifier_backend_url: None,
            verifier_ca: None,
            sitekey: DEV_SITEKEY.to_owned(),
            secret: DEV_SECRET.to_owned(),
            assets_dir: PathBuf::from("js/dist"),
            fail_open: false,
            verify_timeout: Duration::from_secs(5),
            admin_token: None,
            db_path: None,
            totp_key: None,
            step_up_enrolled: false,
        }
    }
}

/// Shared state of the running site.
#[derive(Debug)]
pub struct AppState {
    config: Config,
    /// `verifier_url` without a trailing slash.
    verifier_base: String,
    /// `verifier_backend_url` (else `verifier_url`) without a trailing slash.
    backend_base: String,
    csp: HeaderValue,
    http: reqwest::Client,
    verdicts: VerdictRing,
    step_ups: stepup::PendingStepUps,
    users: Arc<users::UserDb>,
    enrol: enrol::EnrolTickets,
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
        let url = http_url(&config.verifier_url)?;
        if let Some(backend) = &config.verifier_backend_url {
            http_url(backend)?;
        }
        let origin = url.origin().ascii_serialization();
        let csp = HeaderValue::from_str(&content_security_policy(&origin))
            .map_err(|_| ConfigError::Csp)?;
        let http = http_client(config.verify_timeout, config.verifier_ca.as_deref())?;
        let users = Arc::new(users::UserDb::open(
            config.db_path.as_deref(),
            config.totp_key.clone(),
        )?);
        Ok(Self {
            users,
            enrol: enrol::EnrolTickets::default(),
            verifier_base: config.verifier_url.trim_end_matches('/').to_owned(),
            backend_base: config
                .verifier_backend_url
                .as_deref()
                .unwrap_or(&config.verifier_url)
                .trim_end_matches('/')
                .to_owned(),
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

    /// The user database.
    pub fn users(&self) -> &users::UserDb {
        &self.users
    }

    /// Whether `password` is `username`'s (argon2, on a blocking thread).
    async fn password_ok(&self, username: &str, password: &str) -> bool {
        let users = self.users.clone();
        let (u, p) = (username.to_owned(), password.to_owned());
        match tokio::task::spawn_blocking(move || users.password_ok(&u, &p)).await {
            Ok(Ok(ok)) => ok,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "password check failed");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "password check task failed");
                false
            }
        }
    }
}

/// Unix time in milliseconds.
fn now_ms() -> u64 {
    verdicts::now_ms()
}

/// An absolute `http(s)://` URL with a host.
fn http_url(text: &str) -> Result<reqwest::Url, ConfigError> {
    let bad = || ConfigError::VerifierUrl { url: text.into() };
    let url = reqwest::Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad());
    }
    Ok(url)
}

/// The backend's client to the verifier: rustls (ring) with the built-in web roots (Mozilla's,
/// from `webpki-roots`) plus the certificates of `extra_ca` (PEM, one or more), e.g. a private CA
/// or a self-signed verifier certificate.
pub fn http_client(
    timeout: Duration,
    extra_ca: Option<&std::path::Path>,
) -> Result<reqwest::Client, ConfigError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout);
    if let Some(path) = extra_ca {
        let ca_err = |reason: String| ConfigError::CaFile {
            path: path.to_path_buf(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_err(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_err("no CERTIFICATE block".into()));
        }
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    Ok(builder.build()?)
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
        .route(
            "/enroll",
            post(enrol_start).get(|| async { Redirect::to("/") }),
        )
        .route(
            "/enroll/confirm",
            post(enrol_confirm).get(|| async { Redirect::to("/") }),
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
    let integrity = loader_integrity(&state.config.assets_dir);
    let html = pages::login(
        &state.config.sitekey,
        &state.verifier_base,
        integrity.as_deref(),
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// The Subresource Integrity hash of `tollgate.js` from the asset build's `sri.json` (read per
/// request, so a rebuild is picked up), or `None` (with a warning) when it is missing or invalid:
/// the page then loads the loader without an `integrity` attribute.
fn loader_integrity(assets: &std::path::Path) -> Option<String> {
    let file = assets.join("sri.json");
    let parsed = std::fs::read(&file).ok().and_then(|b| {
        serde_json::from_slice::<std::collections::BTreeMap<String, String>>(&b).ok()
    });
    let hash = parsed.and_then(|m| m.get("tollgate.js").cloned());
    match hash {
        Some(h) if h.starts_with("sha384-") => Some(h),
        _ => {
            tracing::warn!(file = %file.display(), "no sha384 hash for tollgate.js: loading it without integrity (run scripts/build-assets.sh)");
            None
        }
    }
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
        &state.backend_base,
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

    // Tollgate first, then the credential check (only for attempts that may go on).
    let username = form.username.trim().to_owned();
    let goes_on = matches!(outcome, Outcome::Allow | Outcome::StepUp)
        || (matches!(outcome, Outcome::Unavailable { .. }) && state.config.fail_open);
    let credentials_ok =
        goes_on && !username.is_empty() && state.password_ok(&username, &form.password).await;
    let account = if goes_on && !username.is_empty() {
        state.users.account(&username).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "user database");
            None
        })
    } else {
        None
    };
    let now = now_ms();
    let locked = account.as_ref().is_some_and(|a| a.locked(now));
    let enrolled = account.as_ref().is_some_and(|a| a.totp_enrolled);
    // What is reported to the verifier after this request (if the verdict has an id).
    let mut report = None;
    let step_up = |credentials_ok: bool| match state.step_ups.start(
        &username,
        json.clone(),
        credentials_ok,
        enrolled,
    ) {
        Ok((id, factor)) => pages::Result::StepUp {
            id,
            code: match factor {
                stepup::Factor::ShownCode(c) => Some(c),
                stepup::Factor::Totp => None,
            },
            retry: false,
        },
        Err(err) => pages::Result::Unavailable {
            error: err.to_string(),
        },
    };
    let page = match (&outcome, state.config.fail_open) {
        (Outcome::Allow, _) | (Outcome::Unavailable { .. }, true) if locked => {
            if matches!(outcome, Outcome::Allow) {
                report = Some(Report::Locked);
            }
            pages::Result::Locked
        }
        (Outcome::Allow, _) | (Outcome::Unavailable { .. }, true) if !credentials_ok => {
            if matches!(outcome, Outcome::Allow) {
                report = Some(Report::Password { ok: false });
            }
            if let Err(e) = state.users.record_failure(&username, now) {
                tracing::warn!(error = %e, "user database");
            }
            pages::Result::BadCredentials
        }
        (Outcome::Allow, _) if enrolled && state.config.step_up_enrolled => step_up(true),
        (Outcome::Allow, _) => {
            report = Some(Report::Password { ok: true });
            signed_in(&state, &username, false, enrolled)
        }
        (Outcome::Unavailable { .. }, true) => pages::Result::SignedInFailOpen,
        (Outcome::Unavailable { error }, false) => pages::Result::Unavailable {
            error: error.clone(),
        },
        // The password result is not revealed to a challenged client before the second factor.
        (Outcome::StepUp, _) => step_up(credentials_ok),
        (Outcome::Block, _) => pages::Result::Blocked {
            reasons: siteverify::reasons(&json),
        },
        (Outcome::Rejected { codes }, _) => pages::Result::Rejected {
            codes: codes.clone(),
        },
    };
    let label = page.label();
    tracing::info!(outcome = label, verify_ms, "login attempt");
    let outcome_report = match (report, siteverify::verdict_id(&json)) {
        (Some(report), Some(id)) => Some(
            siteverify::report_outcome(
                &state.http,
                &state.backend_base,
                &state.config.secret,
                id,
                report,
                &username,
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

/// The signed-in page; users without a second factor are offered to enrol one.
fn signed_in(state: &AppState, username: &str, via_step_up: bool, enrolled: bool) -> pages::Result {
    if let Err(e) = state.users.record_success(username) {
        tracing::warn!(error = %e, "user database");
    }
    let enrol = if enrolled {
        None
    } else {
        state.enrol.issue(username).ok()
    };
    pages::Result::SignedIn { via_step_up, enrol }
}

async fn step_up(State(state): State<Arc<AppState>>, Form(form): Form<StepUpForm>) -> Response {
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    // `Some(report)` when the step-up ended (and its result is reported to the verifier).
    let (page, username, json, ended) =
        match state
            .step_ups
            .check(&form.id, &code, &state.users, now_ms())
        {
            stepup::Check::Passed {
                username,
                verdict,
                credentials_ok: true,
            } => {
                let account = state.users.account(&username).ok().flatten();
                if account.as_ref().is_some_and(|a| a.locked(now_ms())) {
                    (
                        pages::Result::Locked,
                        username,
                        verdict,
                        Some(Report::Locked),
                    )
                } else {
                    let enrolled = account.is_some_and(|a| a.totp_enrolled);
                    (
                        signed_in(&state, &username, true, enrolled),
                        username,
                        verdict,
                        Some(Report::StepUp { passed: true }),
                    )
                }
            }
            stepup::Check::Passed {
                username, verdict, ..
            } => {
                if let Err(e) = state.users.record_failure(&username, now_ms()) {
                    tracing::warn!(error = %e, "user database");
                }
                (
                    pages::Result::BadCredentials,
                    username,
                    verdict,
                    Some(Report::Password { ok: false }),
                )
            }
            stepup::Check::Wrong {
                username,
                verdict,
                factor,
            } => (
                pages::Result::StepUp {
                    id: form.id.clone(),
                    code: match factor {
                        stepup::Factor::ShownCode(c) => Some(c),
                        stepup::Factor::Totp => None,
                    },
                    retry: true,
                },
                username,
                verdict,
                None,
            ),
            stepup::Check::Exhausted { username, verdict } => (
                pages::Result::StepUpFailed,
                username,
                verdict,
                Some(Report::StepUp { passed: false }),
            ),
            stepup::Check::Locked { username, verdict } => (
                pages::Result::Locked,
                username,
                verdict,
                Some(Report::StepUp { passed: false }),
            ),
            stepup::Check::Unknown => (
                pages::Result::StepUpExpired,
                String::new(),
                Value::Null,
                None,
            ),
        };
    if let Some(report) = ended {
        let outcome_report = match siteverify::verdict_id(&json) {
            Some(id) => {
                // The second factor's result labels the session in the verifier's audit trail
                // (`/v1/feedback` outcome `stepup-passed` / `stepup-failed`).
                let report = siteverify::report_outcome(
                    &state.http,
                    &state.backend_base,
                    &state.config.secret,
                    id,
                    report,
                    username.trim(),
                )
                .await;
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

/// The enrolment forms.
#[derive(Debug, Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    pub ticket: String,
    #[serde(default)]
    pub code: String,
}

fn enrol_page(status: axum::http::StatusCode, outcome: &'static str, html: String) -> Response {
    (
        status,
        [
            (
                HeaderName::from_static(OUTCOME_HEADER),
                HeaderValue::from_static(outcome),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(html),
    )
        .into_response()
}

/// Show the enrolment page for the secret being enrolled (a new one when `fresh`).
fn show_enrolment(
    state: &AppState,
    ticket: &str,
    username: &str,
    fresh: bool,
    retry: bool,
) -> Response {
    let secret = if fresh {
        state.users.begin_enrolment(username).map(Some)
    } else {
        state.users.pending_secret(username)
    };
    let generator = match secret {
        Ok(Some(secret)) => totp::generator(&secret, username).map_err(users::DbError::from),
        Ok(None) => {
            return enrol_page(
                axum::http::StatusCode::FORBIDDEN,
                "enrol-expired",
                pages::enrol_result(false, username),
            );
        }
        Err(e) => Err(e),
    };
    match generator {
        Ok(g) => enrol_page(
            axum::http::StatusCode::OK,
            "enrol",
            pages::enrol(&pages::Enrolment {
                username,
                ticket,
                uri: &g.get_url(),
                secret_b32: &g.get_secret_base32(),
                retry,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "enrolment failed");
            enrol_page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                pages::result(
                    &pages::Result::Unavailable {
                        error: "enrolment is not available right now".into(),
                    },
                    username,
                    &Value::Null,
                ),
            )
        }
    }
}

/// `POST /enroll` (ticket from the signed-in page): a new TOTP secret, QR code and URI.
async fn enrol_start(State(state): State<Arc<AppState>>, Form(form): Form<EnrolForm>) -> Response {
    match state.enrol.user(&form.ticket) {
        Some(username) => show_enrolment(&state, &form.ticket, &username, true, false),
        None => enrol_page(
            axum::http::StatusCode::FORBIDDEN,
            "enrol-expired",
            pages::enrol_result(false, ""),
        ),
    }
}

/// `POST /enroll/confirm`: the first code from the app turns the second factor on.
async fn enrol_confirm(
    State(state): State<Arc<AppState>>,
    Form(form): Form<EnrolForm>,
) -> Response {
    let Some(username) = state.enrol.user(&form.ticket) else {
        return enrol_page(
            axum::http::StatusCode::FORBIDDEN,
            "enrol-expired",
            pages::enrol_result(false, ""),
        );
    };
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    match state.users.confirm_enrolment(&username, &code, now_ms()) {
        Ok(true) => {
            state.enrol.spend(&form.ticket);
            tracing::info!("TOTP enrolment confirmed");
            enrol_page(
                axum::http::StatusCode::OK,
                "enrolled",
                pages::enrol_result(true, &username),
            )
        }
        Ok(false) if state.enrol.failed(&form.ticket) => {
            show_enrolment(&state, &form.ticket, &username, false, true)
        }
        Ok(false) => enrol_page(
            axum::http::StatusCode::FORBIDDEN,
            "enrol-expired",
            pages::enrol_result(false, &username),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "enrolment failed");
            enrol_page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                pages::enrol_result(false, &username),
            )
        }
    }
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
