//! The OpenAPI document (`GET /openapi.json`, `verifier openapi`, `docs/openapi.json`) against
//! the code:
//!
//! - `docs/openapi.json` is the document the code generates (regenerate it with
//!   `cargo run -p verifier -- openapi > docs/openapi.json`);
//! - the documented routes are the router's: every documented path and method is routed (not 404
//!   or 405) on the real router, every other method on those paths is 405, and every route the
//!   verifier's source registers (`.route("…")`, `.nest_service("…")`) is documented;
//! - real answers of every endpoint (a real token from `testkit`, the test keys, error cases)
//!   match the schema documented for their status, field by field (no undocumented field, no
//!   missing required one, types and enums respected).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use tollgate_protocol::b64_encode;
use tollgate_testkit::{TelemetrySpec, TokenSpec};
use tower::ServiceExt;
use verifier::challenge::ChallengeReply;
use verifier::config::Settings;
use verifier::{AppState, ManualClock};

const T0: u64 = 1_800_000_000_000;
const SECRET: &str = "openapi-site-secret-0123456789";
const ORIGIN: &str = "http://localhost:8080";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("verifier/ has a parent")
        .to_path_buf()
}

fn document() -> Value {
    serde_json::from_str(&verifier::openapi::to_json().expect("document serializes"))
        .expect("document is JSON")
}

#[test]
fn docs_openapi_json_is_fresh() {
    let path = repo_root().join("docs/openapi.json");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let generated = verifier::openapi::to_json().expect("document serializes");
    assert!(
        committed == generated,
        "docs/openapi.json is stale: regenerate it with `cargo run -p verifier -- openapi > docs/openapi.json`"
    );
}

#[test]
fn document_is_openapi_3_1_with_every_schema_resolvable() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    // Every `$ref` points at a schema that exists.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "$ref {r} does not resolve"
        );
    }
    // The error-code vocabulary is the code's, each with a description.
    let codes = &doc["components"]["schemas"]["SiteverifyErrorCode"];
    let listed: Vec<&str> = codes["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = verifier::openapi::siteverify_error_codes()
        .iter()
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(listed, expected);
    assert!(listed.contains(&"timeout-or-duplicate"));
    assert!(listed.contains(&"tollgate-decision-block"));
    let text = codes["description"].as_str().unwrap();
    for code in listed {
        assert!(text.contains(&format!("`{code}`: ")), "{code} undescribed");
    }
}

/// (path template, method) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, Method)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (m, _) in item.as_object().expect("path item") {
            if let Ok(method) = m.to_uppercase().parse::<Method>() {
                out.insert((path.clone(), method));
            }
        }
    }
    out
}

/// Route paths the verifier's source registers: string literals passed to `.route(`,
/// `.route_service(`, `.nest(` or `.nest_service(` in `verifier/src/**/*.rs` (nests end in
/// `/*`). Whatever file the router moves to, its routes are found.
fn source_routes() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("readable source dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_root().join("verifier/src"), &mut files);
    let mut routes = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable source");
        for (call, nested) in [
            (".route(", false),
            (".route_service(", false),
            (".nest(", true),
            (".nest_service(", true),
        ] {
            for (at, _) in text.match_indices(call) {
                let rest = text[at + call.len()..].trim_start();
                let Some(lit) = rest.strip_prefix('"') else {
                    continue;
                };
                let Some(end) = lit.find('"') else { continue };
                let path = &lit[..end];
                routes.insert(if nested {
                    format!("{path}/*")
                } else {
                    path.to_string()
                });
            }
        }
    }
    routes
}

fn config() -> String {
    format!(
        r#"
test_keys = true

[[keys]]
id = 1
seed = "{seed}"
mac_secret = "{mac}"

[[sites]]
sitekey = "openapi-site"
secret = "{SECRET}"
allowed_origins = ["http://localhost:*"]
success_when = "valid"
pow = {{ k = 2, bits = 2 }}
"#,
        seed = b64_encode(&[7u8; 32]),
        mac = b64_encode(&[0x47u8; 32]),
    )
}

/// The global metrics recorder, installed once per test binary.
fn prometheus() -> PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("first and only recorder")
    })
    .clone()
}

/// The full router (API + collector assets from a temporary directory) with a metrics handle.
fn router() -> Router {
    let settings =
        Settings::from_toml(&config(), Path::new("test.toml"), Path::new("."), &|_| None)
            .expect("test config is valid");
    let state = AppState::new(settings, Arc::new(ManualClock::new(T0)));
    state.set_prometheus(prometheus());
    let assets = tollgate_testkit::temp_dir("openapi-assets");
    std::fs::write(assets.join("tollgate.js"), "/* loader */\n").expect("writable temp dir");
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    verifier::server::with_peer(verifier::app_with_assets(state, &assets), peer)
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ct, body.to_vec())
}

/// A concrete path for a template (`{file}` → an existing asset).
fn concrete(path: &str) -> String {
    path.replace("{file}", "tollgate.js")
}

fn probe(path: &str, method: &Method) -> Request<Body> {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(concrete(path))
        .header(header::ORIGIN, ORIGIN);
    if *method == Method::POST {
        req = req.header(header::CONTENT_TYPE, "application/json");
        return req.body(Body::from("{}")).unwrap();
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn documented_routes_are_exactly_the_routers() {
    let doc = document();
    let ops = documented(&doc);
    let app = router();
    for (path, method) in &ops {
        let (status, _, body) = send(&app, probe(path, method)).await;
        // A handler may answer 404 itself (`console-disabled`, `unknown-id`) with a JSON error
        // body; the router's own 404 for an unrouted path has an empty body.
        let handler_404 = status == StatusCode::NOT_FOUND
            && serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|v| v.get("error").is_some());
        assert!(
            (status != StatusCode::NOT_FOUND || handler_404)
                && status != StatusCode::METHOD_NOT_ALLOWED,
            "documented {method} {path} is not routed: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    // No undocumented method on a documented path (HEAD follows GET; OPTIONS is CORS).
    let paths: BTreeSet<&String> = ops.iter().map(|(p, _)| p).collect();
    for path in &paths {
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ] {
            if ops.contains(&((*path).clone(), method.clone())) {
                continue;
            }
            let (status, _, _) = send(&app, probe(path, &method)).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is routed but not documented"
            );
        }
    }
    // An unknown path is a 404 (the probes above can tell routed from not routed).
    let (status, _, _) = send(&app, probe("/v1/not-a-route", &Method::GET)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every route registered in the source is documented, and the other way round.
    let registered = source_routes();
    assert!(
        registered.contains("/v1/siteverify") && registered.contains("/tollgate/*"),
        "the source scan must find the router: {registered:?}"
    );
    for route in &registered {
        let covered = match route.strip_suffix("/*") {
            Some(prefix) => paths.iter().any(|p| p.starts_with(&format!("{prefix}/"))),
            None => paths.contains(route),
        };
        assert!(
            covered,
            "route {route} is registered but not in the OpenAPI document: add #[utoipa::path] to its handler and list it in openapi::ApiDoc"
        );
    }
    for path in &paths {
        let covered = registered.contains(*path)
            || registered.iter().any(|r| {
                r.strip_suffix("/*")
                    .is_some_and(|prefix| path.starts_with(&format!("{prefix}/")))
            });
        assert!(covered, "documented path {path} is not registered");
    }
}

// ---- answers against their schemas ----

struct Schemas<'a> {
    doc: &'a Value,
}

impl Schemas<'_> {
    fn resolve<'b>(&'b self, s: &'b Value) -> &'b Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                self.resolve(&self.doc["components"]["schemas"][name])
            }
            None => s,
        }
    }

    /// Errors of `v` against `schema` (empty: conforms).
    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let s = self.resolve(schema);
        if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
            let fits = alts.iter().filter(|a| {
                let mut e = Vec::new();
                self.check(a, v, at, &mut e);
                e.is_empty()
            });
            if fits.count() != 1 {
                errors.push(format!("{at}: {v} matches not exactly one of {alts:?}"));
            }
            return;
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let ok = types.iter().any(|t| match *t {
                "null" => v.is_null(),
                "boolean" => v.is_boolean(),
                "string" => v.is_string(),
                "number" => v.is_number(),
                "integer" => v.is_u64() || v.is_i64(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => false,
            });
            if !ok {
                errors.push(format!("{at}: {v} is not of type {t}"));
                return;
            }
        }
        if let Some(vals) = s.get("enum").and_then(Value::as_array)
            && !vals.contains(v)
        {
            errors.push(format!("{at}: {v} not in {vals:?}"));
        }
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && v.as_f64().is_some_and(|x| x < min)
        {
            errors.push(format!("{at}: {v} below {min}"));
        }
        match v {
            Value::Object(m) => {
                let props = s.get("properties").and_then(Value::as_object);
                for req in s
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = req.as_str().unwrap_or_default();
                    if !m.contains_key(name) {
                        errors.push(format!("{at}: required field {name} missing"));
                    }
                }
                for (k, x) in m {
                    let sub = props.and_then(|p| p.get(k));
                    match (sub, s.get("additionalProperties")) {
                        (Some(sub), _) => self.check(sub, x, &format!("{at}.{k}"), errors),
                        (None, Some(extra)) if extra.is_object() => {
                            self.check(extra, x, &format!("{at}.{k}"), errors)
                        }
                        (None, Some(Value::Bool(true))) => {}
                        (None, _) if props.is_none() && s.get("type").is_none() => {}
                        (None, _) => errors.push(format!("{at}: undocumented field {k}")),
                    }
                }
            }
            Value::Array(xs) => {
                if let Some(items) = s.get("items") {
                    for (i, x) in xs.iter().enumerate() {
                        self.check(items, x, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Send `req` and check the answer against the schema documented for (`path`, `method`, its
/// status, `application/json`). Returns the answer.
async fn conforms(
    app: &Router,
    doc: &Value,
    path: &str,
    req: Request<Body>,
) -> (StatusCode, Value) {
    let method = req.method().as_str().to_lowercase();
    let (status, ct, body) = send(app, req).await;
    let op = &doc["paths"][path][&method];
    assert!(op.is_object(), "{method} {path} is not documented");
    let resp = &op["responses"][status.as_str()];
    assert!(
        resp.is_object(),
        "{method} {path} answered {status}, which is not documented: {}",
        String::from_utf8_lossy(&body)
    );
    assert!(ct.starts_with("application/json"), "{method} {path}: {ct}");
    let schema = &resp["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status}: no JSON schema"
    );
    let v: Value = serde_json::from_slice(&body).expect("JSON answer");
    let mut errors = Vec::new();
    Schemas { doc }.check(schema, &v, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its schema: {errors:#?}\n{v}"
    );
    (status, v)
}

fn json_post(path: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn form_post(path: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace('=', "%3D")))
        .collect();
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn real_answers_match_their_documented_schemas() {
    let doc = document();
    let app = router();
    let mut seen: BTreeMap<(String, u16), usize> = BTreeMap::new();
    let mut note = |path: &str, s: StatusCode| {
        *seen.entry((path.to_string(), s.as_u16())).or_default() += 1;
    };

    // Challenge: a real one, then the error shapes.
    let (s, v) = conforms(
        &app,
        &doc,
        "/v1/challenge",
        json_post(
            "/v1/challenge",
            json!({"sitekey": "openapi-site", "action": "login"}),
        ),
    )
    .await;
    note("/v1/challenge", s);
    assert_eq!(s, StatusCode::OK);
    let reply: ChallengeReply = serde_json::from_value(v).unwrap();
    for (body, want) in [
        (json!({"sitekey": "nope"}), StatusCode::BAD_REQUEST),
        (
            json!({"sitekey": "openapi-site", "action": "a b"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"wrong": 1}), StatusCode::BAD_REQUEST),
    ] {
        let (s, _) = conforms(
            &app,
            &doc,
            "/v1/challenge",
            json_post("/v1/challenge", body),
        )
        .await;
        assert_eq!(s, want);
        note("/v1/challenge", s);
    }
    let no_origin = Request::post("/v1/challenge")
        .body(Body::from(json!({"sitekey": "openapi-site"}).to_string()))
        .unwrap();
    let (s, _) = conforms(&app, &doc, "/v1/challenge", no_origin).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    note("/v1/challenge", s);

    // Siteverify: a real token (valid, then a duplicate), on both paths and in both formats.
    let token = TokenSpec::new(ORIGIN, "login", "")
        .telemetry(TelemetrySpec::human_login().build())
        .seal_reply(&reply.challenge, &reply.token_key)
        .expect("token seals");
    let (s, v) = conforms(
        &app,
        &doc,
        "/v1/siteverify",
        form_post(
            "/v1/siteverify",
            &[("secret", SECRET), ("response", &token)],
        ),
    )
    .await;
    note("/v1/siteverify", s);
    assert_eq!(v["success"], true, "{v}");
    assert!(!v["tollgate"]["features"].as_object().unwrap().is_empty());
    assert_eq!(
        v["tollgate"]["device"],
        json!({"class": "mouse", "judged_as": "mouse"}),
        "{v}"
    );
    let id = v["tollgate"]["id"].as_str().unwrap().to_string();
    let (_, v) = conforms(
        &app,
        &doc,
        "/turnstile/v0/siteverify",
        json_post(
            "/turnstile/v0/siteverify",
            json!({"secret": SECRET, "response": token}),
        ),
    )
    .await;
    assert_eq!(v["error-codes"], json!(["timeout-or-duplicate"]), "{v}");
    for (secret, response, code) in [
        ("tgtest-secret-always-allow", "XXXX.DUMMY.TOKEN.XXXX", None),
        (
            "tgtest-secret-always-challenge",
            "x",
            Some("tollgate-decision-challenge"),
        ),
        (
            "tgtest-secret-always-block",
            "x",
            Some("tollgate-decision-block"),
        ),
        (
            "tgtest-secret-always-duplicate",
            "x",
            Some("timeout-or-duplicate"),
        ),
        ("", "x", Some("missing-input-secret")),
        (SECRET, "", Some("missing-input-response")),
        ("wrong", "x", Some("invalid-input-secret")),
        (SECRET, "not-a-token", Some("invalid-input-response")),
    ] {
        let (s, v) = conforms(
            &app,
            &doc,
            "/v1/siteverify",
            json_post(
                "/v1/siteverify",
                json!({"secret": secret, "response": response}),
            ),
        )
        .await;
        note("/v1/siteverify", s);
        let codes = v["error-codes"].as_array().unwrap();
        match code {
            None => assert!(codes.is_empty() && v["success"] == true, "{v}"),
            Some(c) => assert!(codes.contains(&json!(c)) && v["success"] == false, "{v}"),
        }
    }

    // Outcome: recorded, repeated, and the error shapes.
    for dup in [false, true] {
        let (s, v) = conforms(
            &app,
            &doc,
            "/v1/outcome",
            form_post(
                "/v1/outcome",
                &[
                    ("secret", SECRET),
                    ("id", &id),
                    ("outcome", "failure"),
                    ("account", "alice"),
                ],
            ),
        )
        .await;
        note("/v1/outcome", s);
        assert_eq!(v["duplicate"], dup, "{v}");
    }
    for (fields, want) in [
        (
            json!({"secret": SECRET, "id": "zz", "outcome": "failure"}),
            400,
        ),
        (
            json!({"secret": "wrong", "id": id, "outcome": "failure"}),
            401,
        ),
        (
            json!({"secret": SECRET, "id": "00".repeat(16), "outcome": "success"}),
            404,
        ),
    ] {
        let (s, _) = conforms(&app, &doc, "/v1/outcome", json_post("/v1/outcome", fields)).await;
        assert_eq!(s.as_u16(), want);
        note("/v1/outcome", s);
    }

    // Keys, health, readiness.
    for path in ["/v1/keys", "/healthz", "/readyz"] {
        let (s, _) = conforms(&app, &doc, path, get(path)).await;
        assert_eq!(s, StatusCode::OK);
        note(path, s);
    }

    // Non-JSON answers: metrics (text) and this document.
    let (s, ct, body) = send(&app, get("/metrics")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"][&ct].is_object(),
        "{ct}"
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("tollgate_"));
    // The final verdict above counted its device class.
    assert!(
        text.lines()
            .any(|l| l.starts_with("tollgate_device_classes_total{")
                && l.contains("class=\"mouse\"")
                && l.contains("judged_as=\"mouse\"")),
        "{text}"
    );
    let (s, ct, body) = send(&app, get("/openapi.json")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), doc);

    assert!(seen.len() >= 10, "{seen:?}");
}
