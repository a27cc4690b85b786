//! Bounded in-memory log of recent verdicts (`GET /api/verdicts`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

/// One login attempt as the demo saw it. The password is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictRecord {
    /// Unix time in milliseconds.
    pub at_ms: u64,
    pub username: String,
    pub remote_ip: Option<String>,
    /// Branch taken (see [`crate::OUTCOME_HEADER`]).
    pub outcome: String,
    /// Duration of the siteverify call.
    pub verify_ms: u64,
    /// The verifier's answer, verbatim.
    pub siteverify: Value,
    /// What the demo reported to `/v1/outcome` after the password check, and the answer
    /// (`null` when nothing was reported: refused before the password check).
    pub outcome_report: Option<Value>,
}

/// A ring of the last `capacity` verdicts.
#[derive(Debug)]
pub struct VerdictRing {
    capacity: usize,
    items: Mutex<VecDeque<VerdictRecord>>,
}

impl VerdictRing {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            items: Mutex::new(VecDeque::with_capacity(capacity.max(1))),
        }
    }

    pub fn push(&self, record: VerdictRecord) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        while items.len() >= self.capacity {
            items.pop_back();
        }
        items.push_front(record);
    }

    /// Snapshot, newest first.
    pub fn newest_first(&self) -> Vec<VerdictRecord> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.iter().cloned().collect()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u64) -> VerdictRecord {
        VerdictRecord {
            at_ms: n,
            username: format!("u{n}"),
            remote_ip: None,
            outcome: "allow".into(),
            verify_ms: 0,
            siteverify: Value::Null,
            outcome_report: None,
        }
    }

    #[test]
    fn ring_is_bounded_and_newest_first() {
        let ring = VerdictRing::new(3);
        for n in 0..5 {
            ring.push(rec(n));
        }
        let got: Vec<u64> = ring.newest_first().iter().map(|r| r.at_ms).collect();
        assert_eq!(got, vec![4, 3, 2]);
    }
}
