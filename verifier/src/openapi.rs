//! The OpenAPI 3.1 document of the HTTP API, generated from the code with `utoipa`: the route
//! annotations (`#[utoipa::path]`) on the handlers and the `ToSchema` derives on the wire structs.
//! Served at `GET /openapi.json`, printed by `verifier openapi`, and committed as
//! `docs/openapi.json` (kept fresh by `verifier/tests/openapi.rs`, which also checks that the
//! documented routes are exactly the router's and that real answers match their schemas).
//!
//! Tags: `public` routes face browsers (challenge, keys, collector assets, health, this
//! document); `internal` routes take a site secret or expose operations data (siteverify,
//! outcome, metrics) and belong on a private network or behind an access rule.
//!
//! Reply types that handlers build with `serde_json::json!` are described here
//! ([`KeysReply`], [`HealthReply`], [`ReadyReply`], [`OutcomeReply`], the error replies); the
//! tests compare them with real answers field by field.

use std::borrow::Cow;
use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, Required, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::config::{DECISION_BLOCK_CODE, DECISION_CHALLENGE_CODE};
use crate::error::{ChallengeError, ErrorCode, OutcomeError};
use crate::scoring::Decision;

/// The document's root: every annotated route and the schemas they use.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Tollgate verifier API",
        description = "Challenges for the collector widget, Turnstile-compatible token \
            verification (`siteverify`) with Tollgate's score, decision and reasons, login \
            outcome reports, keys, health and metrics. `public` routes are called by browsers; \
            `internal` ones by your backend or monitoring (keep them off the public network). \
            Backend examples: `examples/` in the repository.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::challenge::issue,
        crate::siteverify::siteverify,
        crate::outcome::report,
        crate::feedback::feedback,
        crate::console::page,
        crate::console::verdicts,
        crate::console::verdict,
        crate::console::label,
        crate::keys_handler,
        crate::health,
        crate::ready,
        crate::metrics_handler,
        serve,
    ),
    components(schemas(SiteverifyErrorCode, DecisionSchema, LoginOutcome)),
    tags(
        (name = "public", description = "Browser-facing: challenge, keys, collector assets, health, this document."),
        (name = "internal", description = "Backend-facing (site secret) and operations: siteverify, outcome, feedback, metrics, the analyst console (`/admin/`, admin token)."),
    ),
    modifiers(&TurnstileAlias, &CollectorAssets),
)]
pub struct ApiDoc;

/// The Turnstile-compatible alias path of siteverify.
pub const TURNSTILE_SITEVERIFY: &str = "/turnstile/v0/siteverify";

/// The collector assets' path template (served only with an assets directory).
pub const ASSETS_PATH: &str = "/tollgate/{file}";

/// `/turnstile/v0/siteverify`: the same operation as `/v1/siteverify` (one handler, two routes).
#[derive(Debug)]
struct TurnstileAlias;

impl Modify for TurnstileAlias {
    fn modify(&self, doc: &mut Document) {
        let Some(mut op) = doc
            .paths
            .get_path_operation("/v1/siteverify", HttpMethod::Post)
            .cloned()
        else {
            return;
        };
        op.operation_id = Some("siteverify_turnstile".into());
        op.summary = Some("Alias of `/v1/siteverify` at Turnstile's path".into());
        op.description = Some(
            "The same handler and answers as `POST /v1/siteverify`, at the path Turnstile \
             backend libraries call: pointing one at the verifier is a change of base URL."
                .into(),
        );
        doc.paths
            .add_path_operation(TURNSTILE_SITEVERIFY, vec![HttpMethod::Post], op);
    }
}

/// `GET /tollgate/{file}`: the collector's static files (a directory service, no handler).
#[derive(Debug)]
struct CollectorAssets;

impl Modify for CollectorAssets {
    fn modify(&self, doc: &mut Document) {
        let file = ParameterBuilder::new()
            .name("file")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(
                "`tollgate.js`, `tollgate-worker.js`, `tollgate-probe-worker.js`, \
                 `tollgate_collector.js`, `tollgate_collector_simd_bg.wasm`, \
                 `tollgate_collector_bg.wasm`.",
            ))
            .schema(Some(String::schema()));
        let binary = || {
            ContentBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type("application/octet-stream"),
                ))
                .build()
        };
        let ok = ResponseBuilder::new()
            .description("The file (`.wasm` as `application/wasm`); CORS for the sites' origins.")
            .content("text/javascript", binary())
            .content("application/wasm", binary())
            .build();
        let op = OperationBuilder::new()
            .tag("public")
            .operation_id(Some("collector_asset"))
            .summary(Some(
                "Collector assets (only with `verifier serve --assets DIR` or `js/dist`)",
            ))
            .parameter(file)
            .response("200", ok)
            .response(
                "404",
                ResponseBuilder::new().description("No such file.").build(),
            );
        doc.paths
            .add_path_operation(ASSETS_PATH, vec![HttpMethod::Get], op);
    }
}

/// A string schema restricted to `values`.
fn string_enum(values: Vec<&'static str>, description: String) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

/// Every siteverify `error-codes` value: Turnstile's seven ([`ErrorCode::ALL`]) and the two
/// `tollgate-decision-*` codes of the `success_when` policy.
pub fn siteverify_error_codes() -> Vec<(&'static str, &'static str)> {
    let mut codes: Vec<_> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str(), c.description()))
        .collect();
    codes.push((
        DECISION_CHALLENGE_CODE,
        "The token is valid but its decision is `challenge` and the site's `success_when` is \
         `allow`: ask for a second factor or refuse (`tollgate` holds the verdict; the token is spent).",
    ));
    codes.push((
        DECISION_BLOCK_CODE,
        "The token is valid but its decision is `block`: refuse (`tollgate` holds the verdict; \
         the token is spent).",
    ));
    codes
}

/// A siteverify `error-codes` value (schema only; the values are the code's).
#[derive(Debug)]
pub struct SiteverifyErrorCode;

impl PartialSchema for SiteverifyErrorCode {
    fn schema() -> RefOr<Schema> {
        let codes = siteverify_error_codes();
        let mut text = String::from("A siteverify error code:\n");
        for (code, what) in &codes {
            text.push_str(&format!("\n- `{code}`: {what}"));
        }
        string_enum(codes.into_iter().map(|(c, _)| c).collect(), text)
    }
}

impl ToSchema for SiteverifyErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SiteverifyErrorCode")
    }
}

/// Every decision, with what a backend should do.
pub fn decisions() -> [(Decision, &'static str); 3] {
    // Exhaustive: a new decision must be added to the list below.
    let _ = |d: Decision| match d {
        Decision::Allow | Decision::Challenge | Decision::Block => (),
    };
    [
        (Decision::Allow, "Check the password."),
        (
            Decision::Challenge,
            "Ask for a second factor (or refuse) before checking the password.",
        ),
        (Decision::Block, "Refuse."),
    ]
}

/// `tollgate.decision` (schema only; the values are [`Decision::as_str`]).
#[derive(Debug)]
pub struct DecisionSchema;

impl PartialSchema for DecisionSchema {
    fn schema() -> RefOr<Schema> {
        let mut text = String::from("What the site should do:\n");
        for (d, what) in decisions() {
            text.push_str(&format!("\n- `{}`: {what}", d.as_str()));
        }
        string_enum(decisions().map(|(d, _)| d.as_str()).to_vec(), text)
    }
}

impl ToSchema for DecisionSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Decision")
    }
}

/// `outcome` of `POST /v1/outcome`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LoginOutcome {
    /// The password was right.
    Success,
    /// The password was wrong (counts towards the campaign signals).
    Failure,
}

/// Every `POST /v1/challenge` error code.
pub fn challenge_error_codes() -> Vec<&'static str> {
    use ChallengeError as E;
    let _ = |e: E| match e {
        E::BadRequest
        | E::InvalidSitekey
        | E::MissingOrigin
        | E::OriginNotAllowed
        | E::InvalidAction
        | E::InvalidCdata
        | E::InvalidAutomationKey
        | E::RateLimited { .. }
        | E::Overloaded { .. }
        | E::Internal => (),
    };
    [
        E::BadRequest,
        E::InvalidSitekey,
        E::MissingOrigin,
        E::OriginNotAllowed,
        E::InvalidAction,
        E::InvalidCdata,
        E::InvalidAutomationKey,
        E::RateLimited {
            retry_after_secs: 0,
        },
        E::Overloaded {
            retry_after_secs: 0,
        },
        E::Internal,
    ]
    .map(E::code)
    .to_vec()
}

/// Every `POST /v1/outcome` error code.
pub fn outcome_error_codes() -> Vec<&'static str> {
    use OutcomeError as E;
    let _ = |e: E| match e {
        E::BadRequest
        | E::InvalidSecret
        | E::UnknownId
        | E::RateLimited { .. }
        | E::StoreUnavailable
        | E::Overloaded { .. } => (),
    };
    [
        E::BadRequest,
        E::InvalidSecret,
        E::UnknownId,
        E::RateLimited {
            retry_after_secs: 0,
        },
        E::StoreUnavailable,
        E::Overloaded {
            retry_after_secs: 0,
        },
    ]
    .map(E::code)
    .to_vec()
}

/// A `POST /v1/challenge` error code (schema only).
#[derive(Debug)]
pub struct ChallengeErrorCode;

impl PartialSchema for ChallengeErrorCode {
    fn schema() -> RefOr<Schema> {
        string_enum(
            challenge_error_codes(),
            "A challenge error code (the HTTP status tells the class).".into(),
        )
    }
}

impl ToSchema for ChallengeErrorCode {}

/// A `POST /v1/outcome` error code (schema only).
#[derive(Debug)]
pub struct OutcomeErrorCode;

impl PartialSchema for OutcomeErrorCode {
    fn schema() -> RefOr<Schema> {
        string_enum(
            outcome_error_codes(),
            "An outcome error code (the HTTP status tells the class).".into(),
        )
    }
}

impl ToSchema for OutcomeErrorCode {}

/// Error answer of `POST /v1/challenge`.
#[derive(Debug, ToSchema)]
pub struct ChallengeErrorReply {
    pub error: ChallengeErrorCode,
}

/// Error answer of `POST /v1/outcome`.
#[derive(Debug, ToSchema)]
pub struct OutcomeErrorReply {
    pub error: OutcomeErrorCode,
}

/// Answer of `POST /v1/outcome`.
#[derive(Debug, ToSchema)]
pub struct OutcomeReply {
    /// Always true.
    pub ok: bool,
    /// This id's outcome had already been reported (nothing counted again).
    pub duplicate: bool,
    /// Campaign signals this report raised (e.g. `campaign-account`, `campaign-prefix`).
    pub signals: Vec<String>,
}

/// Answer of `POST /v1/feedback`.
#[derive(Debug, ToSchema)]
pub struct FeedbackReply {
    /// Always true.
    pub ok: bool,
    /// The verdict id the label was attached to (hex).
    pub id: String,
    /// `label` or `outcome`.
    pub kind: String,
    /// The label (`human`, `bot`, `account-takeover`, `false-positive`) or outcome (`success`,
    /// `bad-password`, `locked`, `stepup-passed`, `stepup-failed`).
    pub value: String,
    /// The source it was recorded under (`backend`, `analyst`, …).
    pub source: String,
}

/// Error answer of `POST /v1/feedback` and the console API: `{"error": code}`.
#[derive(Debug, ToSchema)]
pub struct FeedbackErrorReply {
    /// `bad-request`, `bad-label`, `invalid-secret`, `unauthenticated-source`, `unknown-id`,
    /// `wrong-site`, `rate-limited`, `audit-disabled`, `audit-unavailable`; for the console also
    /// `invalid-token`, `console-disabled`.
    pub error: String,
}

/// Answer of `GET /v1/keys`.
#[derive(Debug, ToSchema)]
pub struct KeysReply {
    pub keys: Vec<PublicKey>,
}

/// One challenge-signing public key.
#[derive(Debug, ToSchema)]
pub struct PublicKey {
    /// Key id (carried by every challenge).
    pub kid: u32,
    /// Always `Ed25519`.
    #[schema(value_type = KeyAlgorithm)]
    pub alg: String,
    /// base64url of the 32-byte public key.
    pub public_key: String,
}

/// Signature algorithm of a key.
#[derive(Debug, ToSchema)]
pub enum KeyAlgorithm {
    Ed25519,
}

/// Answer of `GET /healthz`.
#[derive(Debug, ToSchema)]
pub struct HealthReply {
    #[schema(value_type = HealthStatus)]
    pub status: String,
}

/// Liveness status.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
}

/// Answer of `GET /readyz`.
#[derive(Debug, ToSchema)]
pub struct ReadyReply {
    #[schema(value_type = ReadyStatus)]
    pub status: String,
    pub store: StoreStatus,
}

/// Readiness status.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum ReadyStatus {
    Ready,
    NotReady,
}

/// The store's state in `GET /readyz`.
#[derive(Debug, ToSchema)]
pub struct StoreStatus {
    /// `memory` or `redis`.
    pub backend: String,
    /// The store answered its last health check.
    pub up: bool,
}

/// The document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as pretty-printed JSON with a final newline (the form of `docs/openapi.json`).
pub fn to_json() -> Result<String, serde_json::Error> {
    document().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}

/// Handler of `GET /openapi.json` (built once per process).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "public",
    operation_id = "openapi",
    summary = "This document (OpenAPI 3.1)",
    responses((status = 200, description = "The OpenAPI document of this verifier's HTTP API.", body = Object, content_type = "application/json")),
)]
pub async fn serve() -> Response {
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    match JSON.get_or_init(|| to_json().map_err(|e| e.to_string())) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text.clone()).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize the OpenAPI document");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal-error\n").into_response()
        }
    }
}
