//! Mock step-up: after a `challenge` decision the site "sends" a one-time code. Since this is a
//! demo there is no SMS: the code is shown on the page. Pending step-ups are kept in memory,
//! bounded, expire after five minutes and allow three attempts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

const MAX_PENDING: usize = 1000;
const LIFETIME: Duration = Duration::from_secs(300);
const MAX_ATTEMPTS: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StepUpError {
    #[error("no randomness available: {0}")]
    Random(#[from] getrandom::Error),
}

#[derive(Debug)]
struct Pending {
    username: String,
    code: String,
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
    },
    Wrong {
        username: String,
        verdict: Value,
        code: String,
    },
    /// Too many wrong codes: the step-up is over (a failed login).
    Exhausted {
        username: String,
        verdict: Value,
    },
    Unknown,
}

impl PendingStepUps {
    /// Start a step-up; returns `(id, code)`.
    pub(crate) fn start(
        &self,
        username: &str,
        verdict: Value,
    ) -> Result<(String, String), StepUpError> {
        let mut raw = [0u8; 20];
        getrandom::getrandom(&mut raw)?;
        let id: String = raw[..16].iter().map(|b| format!("{b:02x}")).collect();
        let n = u32::from_le_bytes([raw[16], raw[17], raw[18], raw[19]]) % 1_000_000;
        let code = format!("{n:06}");
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
                code: code.clone(),
                verdict,
                created: Instant::now(),
                attempts: 0,
            },
        );
        Ok((id, code))
    }

    pub(crate) fn check(&self, id: &str, code: &str) -> Check {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = items.get_mut(id) else {
            return Check::Unknown;
        };
        if p.created.elapsed() >= LIFETIME {
            items.remove(id);
            return Check::Unknown;
        }
        if p.code == code {
            let p = items.remove(id);
            return match p {
                Some(p) => Check::Passed {
                    username: p.username,
                    verdict: p.verdict,
                },
                None => Check::Unknown,
            };
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
            code: p.code.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_single_use_and_attempts_are_limited() {
        let s = PendingStepUps::default();
        let (id, code) = s.start("alice", Value::Null).expect("rng");
        assert_eq!(code.len(), 6);
        assert!(matches!(s.check(&id, &code), Check::Passed { .. }));
        assert!(matches!(s.check(&id, &code), Check::Unknown));

        let (id, code) = s.start("bob", Value::Null).expect("rng");
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert!(matches!(s.check(&id, wrong), Check::Wrong { .. }));
        assert!(matches!(s.check(&id, wrong), Check::Wrong { .. }));
        assert!(matches!(s.check(&id, wrong), Check::Exhausted { .. }));
        assert!(matches!(s.check(&id, &code), Check::Unknown));
        assert!(matches!(s.check("nope", "123456"), Check::Unknown));
    }
}
