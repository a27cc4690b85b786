//! Request extractors of the API handlers: [`FormOrJson`] (the body fields of siteverify and
//! outcome, as JSON, URL-encoded form or multipart), [`LenientJson`] (the challenge request: JSON
//! whatever the content type) and [`ClientIp`].
//!
//! Body size: each route sets its limit with [`axum::extract::DefaultBodyLimit`] (see
//! [`crate::app`]); a larger body is [`BodyRejection::TooLarge`]. Reading the whole body may take
//! at most [`BODY_TIMEOUT`] ([`BodyRejection::Unreadable`] after that). Each handler turns a
//! [`BodyRejection`] into its own error answer (it takes `Result<FormOrJson<T>, BodyRejection>`).

use std::net::IpAddr;
use std::time::Duration;

use axum::RequestExt;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::state::AppState;

/// How long a client may take to send a request body (in total).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BodyRejection {
    #[error("request body larger than the endpoint's limit")]
    TooLarge,
    #[error("request body could not be read")]
    Unreadable,
    #[error("request body could not be parsed: {0}")]
    Malformed(String),
}

/// Plain 400 `{"error": "bad-request"}` (handlers normally map the rejection to their own error).
impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "error": "bad-request" })),
        )
            .into_response()
    }
}

/// The whole body, within the route's [`axum::extract::DefaultBodyLimit`] and [`BODY_TIMEOUT`].
async fn read_body(req: Request) -> Result<(Parts, Bytes), BodyRejection> {
    let req = req.with_limited_body();
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Ok(Ok(collected)) => Ok((parts, collected.to_bytes())),
        Ok(Err(e)) => {
            let inner = e.into_inner();
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
            while let Some(err) = cur {
                if err.is::<http_body_util::LengthLimitError>() {
                    return Err(BodyRejection::TooLarge);
                }
                cur = err.source();
            }
            Err(BodyRejection::Unreadable)
        }
        Err(_) => Err(BodyRejection::Unreadable),
    }
}

/// Which body formats an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// URL-encoded form when the content type starts with `application/x-www-form-urlencoded`,
    /// else JSON.
    JsonOrForm,
    /// Turnstile's siteverify: JSON (`application/json`, `*+json`), multipart, URL-encoded form
    /// by content type; without a known one, JSON if the body looks like an object, else form.
    Any,
}

/// A request's field set: optional strings, readable from JSON (serde), URL-encoded form (serde,
/// or the fast path below) and multipart.
pub trait Fields: DeserializeOwned + Default + Send {
    /// The formats the endpoint accepts.
    const FORMATS: Formats;

    /// The field called `name`, `None` for names that are ignored.
    fn slot(&mut self, name: &[u8]) -> Option<&mut Option<String>>;
}

/// The request fields `T`, from a JSON, URL-encoded form or multipart body ([`Fields::FORMATS`]).
/// Unknown fields are ignored; a known field given twice is [`BodyRejection::Malformed`].
#[derive(Debug, Clone, Default)]
pub struct FormOrJson<T>(pub T);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Multipart,
    Form,
}

fn kind(formats: Formats, headers: &HeaderMap, bytes: &[u8]) -> Kind {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match formats {
        Formats::JsonOrForm => {
            if ct.is_some_and(|v| v.starts_with("application/x-www-form-urlencoded")) {
                Kind::Form
            } else {
                Kind::Json
            }
        }
        Formats::Any => {
            let mt = ct.map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
            match mt.as_deref() {
                Some("application/json") => Kind::Json,
                Some(m) if m.ends_with("+json") => Kind::Json,
                Some("multipart/form-data") => Kind::Multipart,
                Some("application/x-www-form-urlencoded") => Kind::Form,
                _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => Kind::Json,
                _ => Kind::Form,
            }
        }
    }
}

impl<T: Fields, S: Send + Sync> FromRequest<S> for FormOrJson<T> {
    type Rejection = BodyRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, bytes) = read_body(req).await?;
        let fields = match kind(T::FORMATS, &parts.headers, &bytes) {
            Kind::Json => serde_json::from_slice::<T>(&bytes)
                .map_err(|e| BodyRejection::Malformed(format!("json: {e}")))?,
            Kind::Multipart => {
                let req = Request::from_parts(parts, Body::from(bytes));
                parse_multipart(req).await?
            }
            Kind::Form if memchr::memchr2(b'%', b'+', &bytes).is_none() => {
                parse_plain_form(&bytes)?
            }
            Kind::Form => {
                parts.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                let req = Request::from_parts(parts, Body::from(bytes));
                axum::Form::<T>::from_request(req, &())
                    .await
                    .map(|axum::Form(f)| f)
                    .map_err(|e| BodyRejection::Malformed(format!("form: {e}")))?
            }
        };
        Ok(Self(fields))
    }
}

async fn parse_multipart<T: Fields>(req: Request) -> Result<T, BodyRejection> {
    let malformed = |e: &dyn std::fmt::Display| BodyRejection::Malformed(format!("multipart: {e}"));
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| malformed(&e))?;
    let mut fields = T::default();
    while let Some(field) = mp.next_field().await.map_err(|e| malformed(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(slot) = fields.slot(name.as_bytes()) else {
            continue;
        };
        let text = field.text().await.map_err(|e| malformed(&e))?;
        if slot.replace(text).is_some() {
            return Err(BodyRejection::Malformed(format!(
                "multipart: duplicate field {name}"
            )));
        }
    }
    Ok(fields)
}

/// URL-encoded form without any `%` or `+` (what a backend posting a base64url token sends): the
/// same fields and rules as `axum::Form` (pairs split on `&`, empty pairs skipped, the value after
/// the first `=`, unknown names ignored, a repeated known name is an error), without the
/// byte-by-byte percent-decoding pass — that pass over a ~8 KB token was ~5 % of siteverify CPU.
/// Invalid UTF-8 is replaced, as form decoding does.
fn parse_plain_form<T: Fields>(bytes: &[u8]) -> Result<T, BodyRejection> {
    let mut fields = T::default();
    let mut start = 0;
    let pairs = memchr::memchr_iter(b'&', bytes)
        .chain([bytes.len()])
        .map(|end| {
            let pair = &bytes[start..end];
            start = end + 1;
            pair
        });
    for pair in pairs.filter(|p| !p.is_empty()) {
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let Some(slot) = fields.slot(name) else {
            continue;
        };
        // `from_utf8_lossy` validates first and copies valid UTF-8 as is (a base64url token
        // always is); only invalid input is replaced.
        if slot
            .replace(String::from_utf8_lossy(value).into_owned())
            .is_some()
        {
            return Err(BodyRejection::Malformed(format!(
                "form: duplicate field `{}`",
                String::from_utf8_lossy(name)
            )));
        }
    }
    Ok(fields)
}

/// A JSON body whatever its content type (the loader may send `text/plain` to avoid a CORS
/// preflight).
#[derive(Debug, Clone, Default)]
pub struct LenientJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for LenientJson<T> {
    type Rejection = BodyRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (_, bytes) = read_body(req).await?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| BodyRejection::Malformed(format!("json: {e}")))
    }
}

/// The client address ([`crate::clientip::client_ip`] with the current trusted proxies); `None`
/// without a peer address (in-process tests without `ConnectInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let rt = state.runtime();
        Ok(Self(crate::clientip::peer_ip(&parts.extensions).map(
            |peer| crate::clientip::resolve(peer, &parts.headers, &rt.server.trusted_proxies),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::siteverify::VerifyFields;

    async fn via_axum_form(body: &'static str) -> Result<VerifyFields, String> {
        let req = Request::post("/")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        axum::Form::<VerifyFields>::from_request(req, &())
            .await
            .map(|axum::Form(f)| f)
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn plain_form_parses_like_axum_form() {
        let cases = [
            "secret=s3cr3t&response=AbC-_09xyz&remoteip=2001:db8::1",
            "response=tok&secret=s&idempotency_key=k1&account=alice@example.com&other=1",
            "&&secret=s&&response=&",
            "secret&response=x=y",
            "unknown=1&unknown=2",
            "",
            "secret=a&secret=b&response=c",
            "response=r\u{e9}sum\u{e9}",
            "&",
            "secret=x&",
            "=v&secret=&response=t&",
            "response",
        ];
        for body in cases {
            assert!(!body.contains(['%', '+']));
            let ours = parse_plain_form::<VerifyFields>(body.as_bytes());
            let theirs = via_axum_form(body).await;
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(
                    (
                        a.secret,
                        a.response,
                        a.remoteip,
                        a.idempotency_key,
                        a.account
                    ),
                    (
                        b.secret,
                        b.response,
                        b.remoteip,
                        b.idempotency_key,
                        b.account
                    ),
                    "{body}"
                ),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{body}: {a:?} vs {b:?}"),
            }
        }
        // Invalid UTF-8 is replaced, as form decoding does.
        let f = parse_plain_form::<VerifyFields>(b"response=a\xffb").unwrap();
        assert_eq!(f.response.as_deref(), Some("a\u{fffd}b"));
    }
}
