//! The site backend's side of Tollgate: post the token to `siteverify` and read the verdict.

use serde_json::{Value, json};

/// Why no verdict could be obtained (the verifier did not answer with a usable verdict).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("verifier unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("verifier answered HTTP {0}")]
    Status(u16),
    #[error("verifier answered something that is not a siteverify verdict")]
    Body,
}

/// Post `{secret, response, remoteip, account}` (form-encoded, like any Turnstile backend
/// library) to `{base}/v1/siteverify` and return the verdict JSON. `account` is the username tried;
/// the verifier only keeps a keyed hash of it (for campaign correlation).
pub(crate) async fn call(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    response: &str,
    remote_ip: Option<&str>,
    account: Option<&str>,
) -> Result<Value, VerifyError> {
    let mut form: Vec<(&str, &str)> = vec![("secret", secret), ("response", response)];
    if let Some(ip) = remote_ip {
        form.push(("remoteip", ip));
    }
    if let Some(account) = account.filter(|a| !a.is_empty()) {
        form.push(("account", account));
    }
    let resp = http
        .post(format!("{base}/v1/siteverify"))
        .form(&form)
        .send()
        .await
        .map_err(VerifyError::Transport)?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        return Err(VerifyError::Status(status.as_u16()));
    }
    let body: Value = resp.json().await.map_err(|_| VerifyError::Body)?;
    if body.get("success").and_then(Value::as_bool).is_none() {
        return Err(VerifyError::Body);
    }
    Ok(body)
}

/// What the site learnt about a login after the verdict, reported to the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The password check on an allowed attempt (or after a passed step-up).
    Password { ok: bool },
    /// The second factor after a `challenge`: passed (with the right password) or failed.
    StepUp { passed: bool },
    /// The account is locked (too many failures).
    Locked,
}

impl Report {
    /// The `outcome` of `POST /v1/feedback` (issue 13's vocabulary).
    pub fn feedback_outcome(self) -> &'static str {
        match self {
            Self::Password { ok: true } => "success",
            Self::Password { ok: false } => "bad-password",
            Self::StepUp { passed: true } => "stepup-passed",
            Self::StepUp { passed: false } => "stepup-failed",
            Self::Locked => "locked",
        }
    }

    /// The `outcome` of the older `POST /v1/outcome` (`success` | `failure`).
    pub fn legacy_outcome(self) -> &'static str {
        match self {
            Self::Password { ok: true } | Self::StepUp { passed: true } => "success",
            Self::Password { ok: false } | Self::StepUp { passed: false } | Self::Locked => {
                "failure"
            }
        }
    }
}

/// Where and what to post for a report: `(path, form fields)`. The one place that maps a
/// [`Report`] onto the verifier's API. `feedback`: `POST /v1/feedback` (labels and outcomes,
/// `source=backend`); else the older `POST /v1/outcome`.
pub(crate) fn report_request<'a>(
    report: Report,
    feedback: bool,
    secret: &'a str,
    id: &'a str,
    account: &'a str,
) -> (&'static str, Vec<(&'static str, &'a str)>) {
    let mut form: Vec<(&'static str, &'a str)> = vec![("secret", secret), ("id", id)];
    let path = if feedback {
        form.push(("outcome", report.feedback_outcome()));
        form.push(("source", "backend"));
        "/v1/feedback"
    } else {
        form.push(("outcome", report.legacy_outcome()));
        "/v1/outcome"
    };
    if !account.is_empty() {
        form.push(("account", account));
    }
    (path, form)
}

/// Report what happened after the verdict `id` (`tollgate.id`): first to `{base}/v1/feedback`;
/// when the verifier has no such endpoint (404/405) or does not understand the request
/// (400/422), to `{base}/v1/outcome` (failed logins feed the verifier's campaign counters either
/// way). Returns a summary for the demo's verdict log (never fails the login).
pub(crate) async fn report_outcome(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    id: &str,
    report: Report,
    account: &str,
) -> Value {
    let mut tried = Vec::new();
    for feedback in [true, false] {
        let (path, form) = report_request(report, feedback, secret, id, account);
        let sent = form
            .iter()
            .find(|(k, _)| *k == "outcome")
            .map_or("", |(_, v)| *v);
        match http.post(format!("{base}{path}")).form(&form).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let answer: Value = resp.json().await.unwrap_or(Value::Null);
                if feedback && matches!(status, 400 | 404 | 405 | 422) {
                    tried.push(json!({ "endpoint": path, "status": status }));
                    continue;
                }
                if status != 200 {
                    tracing::warn!(status, endpoint = path, %answer, "outcome report refused");
                }
                return json!({
                    "report": report.feedback_outcome(),
                    "endpoint": path,
                    "outcome": sent,
                    "status": status,
                    "answer": answer,
                    "tried": tried,
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, endpoint = path, "outcome report failed");
                return json!({
                    "report": report.feedback_outcome(),
                    "endpoint": path,
                    "outcome": sent,
                    "error": err.to_string(),
                    "tried": tried,
                });
            }
        }
    }
    json!({ "report": report.feedback_outcome(), "tried": tried })
}

/// `tollgate.id` of a verdict, if any.
pub(crate) fn verdict_id(verdict: &Value) -> Option<&str> {
    verdict
        .pointer("/tollgate/id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// What the demo shows in place of a verdict when the verifier could not be asked. Marked as
/// generated by the demo so nobody mistakes it for the verifier's answer.
pub(crate) fn unavailable_json(err: &VerifyError) -> Value {
    json!({
        "success": false,
        "error-codes": ["internal-error"],
        "demo-site": { "generated": true, "error": err.to_string() },
    })
}

/// The branch the site takes for a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Valid token, Tollgate says allow: go on with the password check.
    Allow,
    /// Valid token, Tollgate wants more proof: step-up (second factor).
    StepUp,
    /// Valid token, Tollgate says this is automated: refuse.
    Block,
    /// The token was not accepted (`success: false`) or does not match this page.
    Rejected { codes: Vec<String> },
    /// No verdict at all.
    Unavailable { error: String },
}

/// Apply a siteverify verdict. Besides `success`, a site must check that the token was minted
/// for the expected `action` and, when known, `hostname` (siteverify conventions).
/// An unknown or missing `tollgate.decision` is treated as a challenge (never as allow).
///
/// A verifier site with `success_when = "allow"` (the default for configured sites) or
/// `"allow-or-challenge"` answers a valid token whose decision is below that with `success: false`
/// and the single code `tollgate-decision-challenge` / `tollgate-decision-block`: that is still a
/// valid token, so it steps up or blocks (never allows).
pub fn decide(verdict: &Value, expected_action: &str, expected_hostname: Option<&str>) -> Outcome {
    let success = verdict.get("success").and_then(Value::as_bool) == Some(true);
    let refused = if success {
        None
    } else {
        match error_codes(verdict).as_slice() {
            [c] if c == "tollgate-decision-challenge" => Some(Outcome::StepUp),
            [c] if c == "tollgate-decision-block" => Some(Outcome::Block),
            _ => None,
        }
    };
    if !success && refused.is_none() {
        let mut codes = error_codes(verdict);
        if codes.is_empty() {
            codes.push("unknown-error".to_owned());
        }
        return Outcome::Rejected { codes };
    }
    if verdict.get("action").and_then(Value::as_str) != Some(expected_action) {
        return Outcome::Rejected {
            codes: vec!["action-mismatch".to_owned()],
        };
    }
    if let Some(expected) = expected_hostname {
        let got = verdict
            .get("hostname")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !got.eq_ignore_ascii_case(expected) {
            return Outcome::Rejected {
                codes: vec!["hostname-mismatch".to_owned()],
            };
        }
    }
    if let Some(outcome) = refused {
        return outcome;
    }
    match verdict
        .pointer("/tollgate/decision")
        .and_then(Value::as_str)
    {
        Some("allow") => Outcome::Allow,
        Some("block") => Outcome::Block,
        _ => Outcome::StepUp,
    }
}

/// `error-codes` as strings (absent → empty).
pub(crate) fn error_codes(verdict: &Value) -> Vec<String> {
    strings_at(verdict, "/error-codes")
}

/// `tollgate.reasons` as strings (absent → empty).
pub(crate) fn reasons(verdict: &Value) -> Vec<String> {
    strings_at(verdict, "/tollgate/reasons")
}

fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(decision: &str) -> Value {
        json!({"success": true, "hostname": "127.0.0.1", "action": "login", "error-codes": [],
               "tollgate": {"decision": decision, "reasons": ["automation"], "score": 0.1}})
    }

    #[test]
    fn decisions_map_to_outcomes() {
        assert_eq!(
            decide(&ok("allow"), "login", Some("127.0.0.1")),
            Outcome::Allow
        );
        assert_eq!(
            decide(&ok("challenge"), "login", Some("127.0.0.1")),
            Outcome::StepUp
        );
        assert_eq!(decide(&ok("block"), "login", None), Outcome::Block);
        assert_eq!(decide(&ok("weird"), "login", None), Outcome::StepUp);
        let mut no_tollgate = ok("allow");
        no_tollgate.as_object_mut().map(|o| o.remove("tollgate"));
        assert_eq!(decide(&no_tollgate, "login", None), Outcome::StepUp);
    }

    #[test]
    fn decisions_refused_by_success_when_still_step_up_or_block() {
        let refused = |code: &str, decision: &str| {
            let mut v = ok(decision);
            v["success"] = json!(false);
            v["error-codes"] = json!([code]);
            v
        };
        let c = refused("tollgate-decision-challenge", "challenge");
        assert_eq!(decide(&c, "login", Some("127.0.0.1")), Outcome::StepUp);
        assert_eq!(
            decide(&c, "signup", None),
            Outcome::Rejected {
                codes: vec!["action-mismatch".into()]
            }
        );
        let b = refused("tollgate-decision-block", "block");
        assert_eq!(decide(&b, "login", None), Outcome::Block);
        // Never allow on `success: false`, whatever `tollgate.decision` says.
        let odd = refused("tollgate-decision-challenge", "allow");
        assert_eq!(decide(&odd, "login", None), Outcome::StepUp);
    }

    #[test]
    fn failures_carry_error_codes() {
        let v = json!({"success": false, "error-codes": ["timeout-or-duplicate"]});
        assert_eq!(
            decide(&v, "login", None),
            Outcome::Rejected {
                codes: vec!["timeout-or-duplicate".into()]
            }
        );
        let v = json!({"success": "yes"});
        assert_eq!(
            decide(&v, "login", None),
            Outcome::Rejected {
                codes: vec!["unknown-error".into()]
            }
        );
    }

    #[test]
    fn action_and_hostname_must_match() {
        assert_eq!(
            decide(&ok("allow"), "signup", None),
            Outcome::Rejected {
                codes: vec!["action-mismatch".into()]
            }
        );
        assert_eq!(
            decide(&ok("allow"), "login", Some("evil.example")),
            Outcome::Rejected {
                codes: vec!["hostname-mismatch".into()]
            }
        );
    }

    #[test]
    fn reports_map_onto_feedback_and_outcome() {
        let (path, form) =
            report_request(Report::StepUp { passed: true }, true, "s", "ab", "alice");
        assert_eq!(path, "/v1/feedback");
        assert_eq!(
            form,
            vec![
                ("secret", "s"),
                ("id", "ab"),
                ("outcome", "stepup-passed"),
                ("source", "backend"),
                ("account", "alice")
            ]
        );
        let (path, form) = report_request(Report::StepUp { passed: false }, false, "s", "ab", "");
        assert_eq!(path, "/v1/outcome");
        assert_eq!(
            form,
            vec![("secret", "s"), ("id", "ab"), ("outcome", "failure")]
        );
        for (r, fb, legacy) in [
            (Report::Password { ok: true }, "success", "success"),
            (Report::Password { ok: false }, "bad-password", "failure"),
            (Report::StepUp { passed: true }, "stepup-passed", "success"),
            (Report::StepUp { passed: false }, "stepup-failed", "failure"),
            (Report::Locked, "locked", "failure"),
        ] {
            assert_eq!((r.feedback_outcome(), r.legacy_outcome()), (fb, legacy));
        }
    }

    #[test]
    fn reasons_and_codes_tolerate_garbage() {
        assert!(reasons(&json!({"tollgate": {"reasons": "x"}})).is_empty());
        assert_eq!(reasons(&ok("block")), vec!["automation".to_owned()]);
        assert!(error_codes(&Value::Null).is_empty());
    }
}
