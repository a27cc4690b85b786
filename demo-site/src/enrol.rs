//! Enrolment tickets: after a sign-in, the result page carries a random ticket that lets that
//! user (and only for ten minutes, a few confirmation attempts) enrol an authenticator app.
//! Kept in memory, bounded, like the pending step-ups.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_TICKETS: usize = 1000;
const LIFETIME: Duration = Duration::from_secs(600);
/// Wrong confirmation codes a ticket allows.
const MAX_ATTEMPTS: u8 = 5;

#[derive(Debug)]
struct Ticket {
    username: String,
    created: Instant,
    attempts: u8,
}

#[derive(Debug, Default)]
pub(crate) struct EnrolTickets {
    items: Mutex<HashMap<String, Ticket>>,
}

impl EnrolTickets {
    /// A new ticket for `username`.
    pub(crate) fn issue(&self, username: &str) -> Result<String, getrandom::Error> {
        let mut raw = [0u8; 16];
        getrandom::getrandom(&mut raw)?;
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.retain(|_, t| t.created.elapsed() < LIFETIME);
        if items.len() >= MAX_TICKETS
            && let Some(oldest) = items
                .iter()
                .min_by_key(|(_, t)| t.created)
                .map(|(k, _)| k.clone())
        {
            items.remove(&oldest);
        }
        items.insert(
            id.clone(),
            Ticket {
                username: username.to_owned(),
                created: Instant::now(),
                attempts: 0,
            },
        );
        Ok(id)
    }

    /// The user of a live ticket.
    pub(crate) fn user(&self, id: &str) -> Option<String> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items
            .get(id)
            .filter(|t| t.created.elapsed() < LIFETIME && t.attempts < MAX_ATTEMPTS)
            .map(|t| t.username.clone())
    }

    /// A wrong confirmation code: returns whether the ticket is still usable.
    pub(crate) fn failed(&self, id: &str) -> bool {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let Some(t) = items.get_mut(id) else {
            return false;
        };
        t.attempts += 1;
        if t.attempts >= MAX_ATTEMPTS {
            items.remove(id);
            return false;
        }
        true
    }

    /// Enrolment done: the ticket is spent.
    pub(crate) fn spend(&self, id: &str) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_bound_limited_and_single_use() {
        let t = EnrolTickets::default();
        let id = t.issue("alice").expect("rng");
        assert_eq!(id.len(), 32);
        assert_eq!(t.user(&id).as_deref(), Some("alice"));
        assert_eq!(t.user("nope"), None);
        for _ in 1..MAX_ATTEMPTS {
            assert!(t.failed(&id));
        }
        assert!(!t.failed(&id));
        assert_eq!(t.user(&id), None);
        let id = t.issue("bob").expect("rng");
        t.spend(&id);
        assert_eq!(t.user(&id), None);
    }
}
