//! HTML of the demo. No inline scripts or styles anywhere: the pages work under a strict CSP.

use axum::http::StatusCode;
use serde_json::Value;

pub(crate) const STYLESHEET: &str = include_str!("../static/style.css");
pub(crate) const FAVICON: &str = include_str!("../static/favicon.svg");

const LOGO: &str = r##"<svg class="logo-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="15" fill="#0b3d6e"/><path d="M16 4 L19 16 L16 28 L13 16 Z" fill="#f2b33d"/><path d="M4 16 L16 13 L28 16 L16 19 Z" fill="#ffffff" opacity="0.85"/><circle cx="16" cy="16" r="2.2" fill="#0b3d6e"/></svg>"##;

/// Minimal HTML escaping for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, head_extra: &str, main: &str) -> String {
    let title = escape(title);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Northwind Bank</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
{head_extra}</head>
<body>
<header class="topbar">
  <div class="topbar-inner">
    <a class="brand" href="/">{LOGO}<span>Northwind<strong>Bank</strong></span></a>
    <nav class="topnav" aria-label="Main">
      <a href="/">Personal</a><a href="/">Business</a><a href="/">Mortgages</a><a href="/">Help</a>
    </nav>
  </div>
</header>
{main}
<footer class="footer">
  <div class="footer-inner">
    <p>Northwind Bank is a fictional bank. This page demonstrates <strong>Tollgate</strong>,
    a self-hosted defence against credential stuffing. The demo accounts <code>alice</code>,
    <code>bob</code>, <code>carol</code>, <code>dave</code> and <code>erin</code> sign in with the
    password <code>correct horse</code> once Tollgate allows the attempt.</p>
    <p><a href="/api/verdicts">Recent verdicts (JSON)</a></p>
  </div>
</footer>
</body>
</html>
"#
    )
}

/// The login page with the Tollgate embed.
pub(crate) fn login(sitekey: &str, verifier_url: &str, integrity: Option<&str>) -> String {
    let sitekey = escape(sitekey);
    let api = escape(verifier_url);
    // Subresource Integrity of the loader (js/dist/sri.json): a changed file does not run.
    let sri = integrity
        .map(|h| format!(r#" integrity="{}" crossorigin="anonymous""#, escape(h)))
        .unwrap_or_default();
    let main = format!(
        r#"<main class="page page-login">
  <section class="hero" aria-labelledby="hero-title">
    <p class="eyebrow">Online Banking</p>
    <h2 id="hero-title">Your money, guarded at the door.</h2>
    <p>Sign in to check balances, move money and pay bills. Every sign-in attempt is screened for
    automated credential stuffing before your password is even checked.</p>
    <ul class="perks">
      <li>No puzzles to solve, no images to click</li>
      <li>Nothing stored in cookies by the check</li>
      <li>Suspicious attempts get a second factor, bots get nothing</li>
    </ul>
  </section>
  <section class="card" aria-labelledby="signin-title">
    <h1 id="signin-title">Sign in</h1>
    <form class="login-form" method="post" action="/login" autocomplete="on">
      <label for="username">Username</label>
      <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <div class="form-row">
        <label class="check"><input type="checkbox" name="remember" value="1"> Remember me</label>
        <a href="/">Forgot password?</a>
      </div>
      <div class="tollgate" data-sitekey="{sitekey}" data-action="login"></div>
      <button id="login" class="btn btn-primary" type="submit">Sign in</button>
    </form>
    <p class="fine">Protected by Tollgate. No typed text leaves your browser for the check — only timings.</p>
  </section>
</main>
<script src="/tollgate/tollgate.js" data-api="{api}"{sri} async></script>"#
    );
    layout("Sign in", "", &main)
}

/// The result pages of `POST /login` and `POST /step-up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Result {
    SignedIn {
        via_step_up: bool,
        /// Enrolment ticket: offer to set up an authenticator app (users without one).
        enrol: Option<String>,
    },
    SignedInFailOpen,
    BadCredentials,
    StepUp {
        id: String,
        /// The stand-in text-message code shown on the page; `None`: the user's authenticator
        /// app (TOTP).
        code: Option<String>,
        retry: bool,
    },
    StepUpExpired,
    StepUpFailed,
    /// Too many failures: the account is locked for a while.
    Locked,
    Blocked {
        reasons: Vec<String>,
    },
    Rejected {
        codes: Vec<String>,
    },
    Unavailable {
        error: String,
    },
}

impl Result {
    /// Short label used in the outcome header and the verdict log.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::SignedIn {
                via_step_up: false, ..
            } => "allow",
            Self::SignedIn {
                via_step_up: true, ..
            } => "step-up-passed",
            Self::SignedInFailOpen => "allow-fail-open",
            Self::BadCredentials => "bad-credentials",
            Self::StepUp { .. } => "challenge",
            Self::StepUpExpired => "step-up-expired",
            Self::StepUpFailed => "step-up-failed",
            Self::Locked => "locked",
            Self::Blocked { .. } => "block",
            Self::Rejected { .. } => "rejected",
            Self::Unavailable { .. } => "unavailable",
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::SignedIn { .. } | Self::SignedInFailOpen | Self::StepUp { .. } => StatusCode::OK,
            Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::StepUpExpired
            | Self::StepUpFailed
            | Self::Locked
            | Self::Blocked { .. }
            | Self::Rejected { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

fn chips(items: &[String]) -> String {
    if items.is_empty() {
        return "<span class=\"chip\">none given</span>".to_owned();
    }
    items
        .iter()
        .map(|s| format!("<code class=\"chip\">{}</code>", escape(s)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn verdict_block(json: &Value) -> String {
    if json.is_null() {
        return String::new();
    }
    let pretty = serde_json::to_string_pretty(json).unwrap_or_default();
    let generated = json
        .pointer("/demo-site/generated")
        .and_then(Value::as_bool)
        == Some(true);
    let caption = if generated {
        "No answer from the verifier — this placeholder was generated by the demo site"
    } else {
        "What the verifier answered (siteverify)"
    };
    format!(
        r#"<section class="verdict" aria-labelledby="verdict-title">
    <h2 id="verdict-title">{caption}</h2>
    <pre id="verdict">{}</pre>
  </section>"#,
        escape(&pretty)
    )
}

pub(crate) fn result(page: &Result, username: &str, json: &Value) -> String {
    let who = if username.trim().is_empty() {
        "there".to_owned()
    } else {
        escape(username.trim())
    };
    let score = json
        .pointer("/tollgate/score")
        .and_then(Value::as_f64)
        .map(|s| format!("<p class=\"muted\">Tollgate score: <strong>{s:.2}</strong></p>"))
        .unwrap_or_default();
    let back =
        r#"<p class="actions"><a class="btn btn-secondary" href="/">Back to sign in</a></p>"#;
    let (title, tone, body) = match page {
        Result::SignedIn { via_step_up, enrol } => {
            let mut extra = if *via_step_up {
                "<p>Your one-time code checked out.</p>".to_owned()
            } else {
                "<p>Tollgate saw nothing suspicious, so no second factor was needed.</p>".to_owned()
            };
            if let Some(ticket) = enrol {
                extra.push_str(&format!(
                    r#"<form class="enrol-offer" method="post" action="/enroll">
      <input type="hidden" name="ticket" value="{}">
      <p>Protect your account with an authenticator app: suspicious sign-ins will ask for its code.</p>
      <button id="enrol" class="btn btn-secondary" type="submit">Set up two-factor authentication</button>
    </form>"#,
                    escape(ticket)
                ));
            }
            (
                "Signed in",
                "ok",
                format!(
                    r#"<h1>Welcome back, {who}</h1>{extra}{score}
    <div class="accounts">
      <div class="account"><span>Everyday Checking ••4821</span><strong>$4,210.55</strong></div>
      <div class="account"><span>Rainy Day Savings ••0937</span><strong>$12,880.02</strong></div>
    </div>
    <p class="actions"><a class="btn btn-secondary" href="/">Sign out</a></p>"#
                ),
            )
        }
        Result::SignedInFailOpen => (
            "Signed in (unchecked)",
            "warn",
            format!(
                r#"<h1>Welcome back, {who}</h1>
    <p>The bot check could not be reached and this site is configured to <strong>fail open</strong>,
    so the attempt went through unchecked.</p>{back}"#
            ),
        ),
        Result::BadCredentials => (
            "Sign-in failed",
            "warn",
            format!(
                r#"<h1>That didn't work</h1>
    <p>Wrong username or password.</p>
    <p class="demo-note">Demo: the accounts alice, bob, carol, dave and erin use the password <code>correct horse</code>.</p>{back}"#
            ),
        ),
        Result::StepUp { id, code, retry } => {
            let retry = if *retry {
                "<p class=\"alert\">That code was not right. Try again.</p>"
            } else {
                ""
            };
            let how = match code {
                Some(code) => format!(
                    r#"<p>This sign-in looks a little unusual, so we sent a 6-digit code to the phone number ending in ••42.</p>
    {retry}{score}
    <p class="demo-note">Demo: no text message is sent. Your code is <code id="demo-code">{}</code>.
    Set up an authenticator app after signing in to use a real second factor.</p>"#,
                    escape(code)
                ),
                None => format!(
                    r#"<p>This sign-in looks a little unusual. Enter the 6-digit code your authenticator app shows for Northwind Bank.</p>
    {retry}{score}"#
                ),
            };
            let factor = if code.is_some() { "sms" } else { "totp" };
            (
                "Confirm it's you",
                "info",
                format!(
                    r#"<h1>Confirm it's you</h1>
    {how}
    <form class="login-form" method="post" action="/step-up" autocomplete="off" data-factor="{factor}">
      <input type="hidden" name="id" value="{id}">
      <label for="code">Verification code</label>
      <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" autocomplete="one-time-code" required>
      <button id="verify" class="btn btn-primary" type="submit">Verify</button>
    </form>
    <p class="fine"><a href="/">Cancel and go back</a></p>"#,
                    id = escape(id),
                ),
            )
        }
        Result::StepUpExpired => (
            "Code expired",
            "warn",
            format!(
                r#"<h1>That code has expired</h1>
    <p>Codes are valid for five minutes and three attempts. Please sign in again.</p>{back}"#
            ),
        ),
        Result::StepUpFailed => (
            "Sign-in failed",
            "bad",
            format!(
                r#"<h1>Too many wrong codes</h1>
    <p>For your security this sign-in was stopped. Please start again.</p>{back}"#
            ),
        ),
        Result::Locked => (
            "Account locked",
            "bad",
            format!(
                r#"<h1>This account is locked</h1>
    <p>Too many failed attempts. For your security, sign-ins are paused for 15 minutes.</p>{back}"#
            ),
        ),
        Result::Blocked { reasons } => (
            "Sign-in refused",
            "bad",
            format!(
                r#"<h1>We couldn't sign you in</h1>
    <p>This attempt looks automated, so it was stopped before any password was checked.</p>
    <p>Reasons: {}</p>{score}{back}"#,
                chips(reasons)
            ),
        ),
        Result::Rejected { codes } => (
            "Sign-in refused",
            "bad",
            format!(
                r#"<h1>We couldn't verify this attempt</h1>
    <p>The security check did not pass. Reload the page and try again.</p>
    <p>Error codes: {}</p>{back}"#,
                chips(codes)
            ),
        ),
        Result::Unavailable { error } => (
            "Temporarily unavailable",
            "bad",
            format!(
                r#"<h1>Sign-in is temporarily unavailable</h1>
    <p>Our security check could not be reached, and this site fails <strong>closed</strong>: no sign-ins
    go through unchecked. Please try again in a minute.</p>
    <p class="muted">{}</p>{back}"#,
                escape(error)
            ),
        ),
    };
    let main = format!(
        r#"<main class="page page-result">
  <section class="card result result-{tone}" data-outcome="{label}">
    {body}
  </section>
  {verdict}
</main>"#,
        label = page.label(),
        verdict = verdict_block(json),
    );
    layout(title, "", &main)
}

/// An otpauth:// URI as an SVG QR code (drawn with `qrcodegen`, no image files, no inline
/// style). `None` if the text does not fit a QR code.
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let border = 4;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let dim = size + 2 * border;
    Some(format!(
        r##"<svg id="totp-qr" class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {dim} {dim}" width="{px}" height="{px}" role="img" aria-label="QR code for your authenticator app" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#ffffff"/><path d="{path}" fill="#000000"/></svg>"##,
        px = dim * 5,
    ))
}

/// What the enrolment page shows.
#[derive(Debug)]
pub(crate) struct Enrolment<'a> {
    pub username: &'a str,
    pub ticket: &'a str,
    /// otpauth://totp/… URI.
    pub uri: &'a str,
    /// The secret in base32 (for typing it in).
    pub secret_b32: &'a str,
    pub retry: bool,
}

/// `POST /enroll`: scan the code, confirm with a first code.
pub(crate) fn enrol(e: &Enrolment<'_>) -> String {
    let qr = qr_svg(e.uri).unwrap_or_default();
    let retry = if e.retry {
        "<p class=\"alert\">That code was not right. Check the time on your phone and try again.</p>"
    } else {
        ""
    };
    let main = format!(
        r#"<main class="page page-result">
  <section class="card result result-info" data-outcome="enrol">
    <h1>Set up your authenticator app, {who}</h1>
    <p>Scan this code with an authenticator app (any app for RFC 6238 time-based codes), or type
    in the key below. Then enter the 6-digit code it shows to finish.</p>
    {retry}
    <div class="qr-box">{qr}</div>
    <p>Key: <code id="totp-secret">{secret}</code></p>
    <p class="fine">Link: <code id="totp-uri">{uri}</code></p>
    <form class="login-form" method="post" action="/enroll/confirm" autocomplete="off">
      <input type="hidden" name="ticket" value="{ticket}">
      <label for="code">Code from the app</label>
      <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" autocomplete="one-time-code" required>
      <button id="confirm" class="btn btn-primary" type="submit">Turn on two-factor</button>
    </form>
    <p class="fine"><a href="/">Not now</a></p>
  </section>
</main>"#,
        who = escape(e.username),
        secret = escape(e.secret_b32),
        uri = escape(e.uri),
        ticket = escape(e.ticket),
    );
    layout("Two-factor set-up", "", &main)
}

/// Enrolment finished (`done`) or its ticket is no longer valid.
pub(crate) fn enrol_result(done: bool, username: &str) -> String {
    let (outcome, body) = if done {
        (
            "enrolled",
            format!(
                "<h1>Two-factor authentication is on</h1>\n    <p>{}, from now on a suspicious sign-in asks for the code of your authenticator app.</p>",
                escape(username)
            ),
        )
    } else {
        (
            "enrol-expired",
            "<h1>That set-up link has expired</h1>\n    <p>Sign in again to set up two-factor authentication.</p>".to_owned(),
        )
    };
    let main = format!(
        r#"<main class="page page-result">
  <section class="card result result-{tone}" data-outcome="{outcome}">
    {body}
    <p class="actions"><a class="btn btn-secondary" href="/">Back to sign in</a></p>
  </section>
</main>"#,
        tone = if done { "ok" } else { "warn" },
    );
    layout("Two-factor set-up", "", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<… onsomething=…>` anywhere in a tag.
    fn has_inline_handler(html: &str) -> bool {
        html.split('<').skip(1).any(|tag| {
            let tag = tag.split('>').next().unwrap_or("");
            tag.split_whitespace().any(|attr| {
                attr.len() > 3
                    && attr.starts_with("on")
                    && attr.contains('=')
                    && attr[2..]
                        .split('=')
                        .next()
                        .is_some_and(|n| n.chars().all(|c| c.is_ascii_lowercase()))
            })
        })
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn login_page_has_the_embed_and_no_inline_code() {
        let html = login("site\"key", "http://127.0.0.1:8787", None);
        assert!(html.contains(r#"<input id="username""#));
        assert!(html.contains(r#"<input id="password""#));
        assert!(html.contains(r#"<button id="login""#));
        assert!(html.contains(
            r#"<script src="/tollgate/tollgate.js" data-api="http://127.0.0.1:8787" async></script>"#
        ));
        assert!(html.contains(
            r#"<div class="tollgate" data-sitekey="site&quot;key" data-action="login"></div>"#
        ));
        assert!(!html.contains("style="), "inline style would break the CSP");
        assert!(!html.contains("<style"), "inline style would break the CSP");
        assert_eq!(html.matches("<script").count(), 1);
        assert!(!has_inline_handler(&html), "no inline event handlers");
    }

    #[test]
    fn login_page_carries_the_loader_integrity() {
        let html = login("k", "http://127.0.0.1:8787", Some("sha384-abc+/="));
        assert!(html.contains(
            r#"<script src="/tollgate/tollgate.js" data-api="http://127.0.0.1:8787" integrity="sha384-abc+/=" crossorigin="anonymous" async></script>"#
        ), "{html}");
    }

    #[test]
    fn result_pages_escape_user_input_and_show_the_verdict() {
        let json = serde_json::json!({"success": false, "error-codes": ["<x>"]});
        let page = Result::Rejected {
            codes: vec!["<x>".into()],
        };
        let html = result(&page, "<script>alert(1)</script>", &json);
        assert!(!has_inline_handler(&html));
        assert!(has_inline_handler("<img src=x onerror=alert(1)>"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<x>"));
        assert!(html.contains(r#"<pre id="verdict">"#));
        assert!(html.contains("&quot;error-codes&quot;"));
        assert!(!html.contains("style="));
    }

    #[test]
    fn enrolment_page_has_a_qr_code_and_no_inline_code() {
        let html = enrol(&Enrolment {
            username: "<b>",
            ticket: "t1",
            uri: "otpauth://totp/Northwind%20Bank:alice?secret=GEZDGNBV&issuer=Northwind%20Bank",
            secret_b32: "GEZDGNBV",
            retry: true,
        });
        assert!(html.contains(r#"<svg id="totp-qr""#));
        assert!(html.contains(r#"<code id="totp-secret">GEZDGNBV</code>"#));
        assert!(html.contains("not right"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("style="));
        assert!(!html.contains("<script"));
        assert!(!has_inline_handler(&html));
        // A QR code of version 1..=40: (17 + 4v) modules plus the border.
        let svg = qr_svg("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").expect("fits");
        assert!(svg.contains("h1v1h-1z"));
        assert!(qr_svg(&"x".repeat(8000)).is_none());
    }
}
