//! Step-up after a `challenge` decision. Users enrolled in TOTP ([`crate::users`]) enter the
//! code of their authenticator app (RFC 6238, checked by the user database: replays refused,
//! failures count towards the account lockout). Users without a second factor get the demo's
//! stand-in: a one-time code "sent by text message", which the demo shows on the page.
//!
//! The password is checked before the step-up but its result is not revealed until the second
//! factor passed (a challenged client learns nothing about the credentials from the step-up).
//! Pending step-ups are kept in memory, bounded, expire after five minutes and allow three
//! attempts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::users::{FactorCheck, UserDb};

const MAX_PENDING: usize = 1000;
const LIFETIME: Duration = Duration::from_secs(300);
const MAX_ATTEMPTS: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StepUpError {
    #[error("no randomness available: {0}")]
    Random(#[from] getrandom::Error),
}

/// The second factor a pending step-up asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Factor {
    /// The user's authenticator app (RFC 6238).
    Totp,
    /// Demo stand-in for a text message: the code is shown on the page.
    ShownCode(String),
}

#[derive(Debug)]
struct Pending {
    username: String,
    factor: Factor,
    credentials_ok: bool,
    verdict: Value,
    created: Instant,
    attempts: u8,
}

#[derive(Debug, Default)]
pub(crate) struct PendingStepUps {
    items: Mutex<HashMap<String, Pending>>,
}

pub(crate) enum Check {
    Passed {
        username: String,
        verdict: Value,
        credentials_ok: bool,
    },
    Wrong {
        username: String,
        verdict: Value,
        factor: Factor,
    },
    /// Too many wrong codes: the step-up is over (a failed login).
    Exhausted {
        username: String,
        verdict: Value,
    },
    /// The account got (or was) locked: the step-up is over.
    Locked {
        username: String,
        verdict: Value,
    },
    Unknown,
}

impl PendingStepUps {
    /// Start a step-up; returns `(id, factor)`. `totp`: the user has a confirmed TOTP secret
    /// (else a code shown on the page stands in for a text message).
    pub(crate) fn start(
        &self,
        username: &str,
        verdict: Value,
        credentials_ok: bool,
        totp: bool,
    ) -> Result<(String, Factor), StepUpError> {
        let mut raw = [0u8; 20];
        getrandom::getrandom(&mut raw)?;
        let id: String = raw[..16].iter().map(|b| format!("{b:02x}")).collect();
        let n = u32::from_le_bytes([raw[16], raw[17], raw[18], raw[19]]) % 1_000_000;
        let factor = if totp {
            Factor::Totp
        } else {
            Factor::ShownCode(format!("{n:06}"))
        };
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.retain(|_, p| p.created.elapsed() < LIFETIME);
        if items.len() >= MAX_PENDING {
            // Drop the oldest to stay bounded.
            if let Some(oldest) = items
                .iter()
                .min_by_key(|(_, p)| p.created)
                .map(|(k, _)| k.clone())
            {
                items.remove(&oldest);
            }
        }
        items.insert(
            id.clone(),
            Pending {
                username: username.to_owned(),
                factor: factor.clone(),
                credentials_ok,
                verdict,
                created: Instant::now(),
                attempts: 0,
            },
        );
        Ok((id, factor))
    }

    /// Check `code` for the step-up `id`; TOTP codes are checked by `users` at `now_ms`.
    pub(crate) fn check(&self, id: &str, code: &str, users: &UserDb, now_ms: u64) -> Check {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = items.get_mut(id) else {
            return Check::Unknown;
        };
        if p.created.elapsed() >= LIFETIME {
            items.remove(id);
            return Check::Unknown;
        }
        let verdict = match &p.factor {
            Factor::ShownCode(expected) => {
                if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                    FactorCheck::Passed
                } else {
                    FactorCheck::Wrong { locked: false }
                }
            }
            Factor::Totp => users
                .check_totp(&p.username, code, now_ms)
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "TOTP check failed");
                    FactorCheck::Wrong { locked: false }
                }),
        };
        let ended = |items: &mut HashMap<String, Pending>| items.remove(id);
        match verdict {
            FactorCheck::Passed => {
                return match ended(&mut items) {
                    Some(p) => Check::Passed {
                        username: p.username,
                        verdict: p.verdict,
                        credentials_ok: p.credentials_ok,
                    },
                    None => Check::Unknown,
                };
            }
            FactorCheck::Locked | FactorCheck::Wrong { locked: true } => {
                return match ended(&mut items) {
                    Some(p) => Check::Locked {
                        username: p.username,
                        verdict: p.verdict,
                    },
                    None => Check::Unknown,
                };
            }
            FactorCheck::Wrong { locked: false }
            | FactorCheck::Replayed
            | FactorCheck::NotEnrolled => {}
        }
        p.attempts += 1;
        if p.attempts >= MAX_ATTEMPTS {
            return match items.remove(id) {
                Some(p) => Check::Exhausted {
                    username: p.username,
                    verdict: p.verdict,
                },
                None => Check::Unknown,
            };
        }
        Check::Wrong {
            username: p.username.clone(),
            verdict: p.verdict.clone(),
            factor: p.factor.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(f: &Factor) -> String {
        match f {
            Factor::ShownCode(c) => c.clone(),
            Factor::Totp => panic!("not a shown code"),
        }
    }

    #[test]
    fn code_is_single_use_and_attempts_are_limited() {
        let users = UserDb::open(None, None).expect("db");
        let s = PendingStepUps::default();
        let (id, factor) = s.start("alice", Value::Null, true, false).expect("rng");
        let code = shown(&factor);
        assert_eq!(code.len(), 6);
        assert!(matches!(
            s.check(&id, &code, &users, 0),
            Check::Passed {
                credentials_ok: true,
                ..
            }
        ));
        assert!(matches!(s.check(&id, &code, &users, 0), Check::Unknown));

        let (id, factor) = s.start("bob", Value::Null, false, false).expect("rng");
        let code = shown(&factor);
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert!(matches!(
            s.check(&id, wrong, &users, 0),
            Check::Wrong { .. }
        ));
        assert!(matches!(
            s.check(&id, wrong, &users, 0),
            Check::Wrong { .. }
        ));
        assert!(matches!(
            s.check(&id, wrong, &users, 0),
            Check::Exhausted { .. }
        ));
        assert!(matches!(s.check(&id, &code, &users, 0), Check::Unknown));
        assert!(matches!(
            s.check("nope", "123456", &users, 0),
            Check::Unknown
        ));
    }

    #[test]
    fn totp_step_up_checks_the_users_authenticator() {
        let users = UserDb::open(None, None).expect("db");
        let now_ms = 1_800_000_000_000u64;
        let secret = users.begin_enrolment("carol").expect("enrol");
        let g = crate::totp::generator(&secret, "carol").expect("totp");
        assert!(
            users
                .confirm_enrolment("carol", &g.generate(now_ms / 1000 - 30), now_ms)
                .expect("confirm")
        );
        let s = PendingStepUps::default();
        // Wrong password: the code still decides the step-up; the password result comes after.
        let (id, factor) = s.start("carol", Value::Null, false, true).expect("rng");
        assert_eq!(factor, Factor::Totp);
        let code = g.generate(now_ms / 1000);
        let wrong = if code == "999999" { "999998" } else { "999999" };
        assert!(matches!(
            s.check(&id, wrong, &users, now_ms),
            Check::Wrong {
                factor: Factor::Totp,
                ..
            }
        ));
        assert!(matches!(
            s.check(&id, &code, &users, now_ms),
            Check::Passed {
                credentials_ok: false,
                ..
            }
        ));
        // The same code again (a new step-up): replay, refused.
        let (id, _) = s.start("carol", Value::Null, true, true).expect("rng");
        assert!(matches!(
            s.check(&id, &code, &users, now_ms),
            Check::Wrong { .. }
        ));
    }
}
