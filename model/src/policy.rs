//! The allow / challenge / block policy: one thresholds type for the model file's calibration
//! targets (`policy` in the model JSON) and the verifier's per-site policy (`[sites.policy]`,
//! re-exported there as `verifier::scoring::SitePolicy`).

use serde::{Deserialize, Serialize};

/// Decision thresholds on a human-likeness score (0..=1, 1 = human).
///
/// In a model file the fields are named `block_below` / `allow_at_or_above` (the format is
/// unchanged since version 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Score below which the decision is `block`; in between, `challenge`.
    #[serde(rename = "block_below")]
    pub block: f64,
    /// Score at or above which the decision is `allow`.
    #[serde(rename = "allow_at_or_above")]
    pub allow: f64,
}

/// Default site policy: allow at 0.6 and above, block below 0.2 (the calibrated model maps its
/// knots onto these).
impl Default for Thresholds {
    fn default() -> Self {
        Self {
            allow: 0.6,
            block: 0.2,
        }
    }
}

/// Thresholds that are not `0 <= block <= allow <= 1` (or not finite).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy thresholds must satisfy 0 <= block <= allow <= 1")]
pub struct PolicyError;

impl Thresholds {
    /// `self` when `0 <= block <= allow <= 1` (all finite).
    pub fn validate(self) -> Result<Self, PolicyError> {
        let ok = self.allow.is_finite()
            && self.block.is_finite()
            && 0.0 <= self.block
            && self.block <= self.allow
            && self.allow <= 1.0;
        if ok { Ok(self) } else { Err(PolicyError) }
    }

    /// `allow` at or above `allow`, `block` below `block`, `challenge` in between (and for a
    /// NaN score).
    pub fn decide(&self, score: f64) -> Decision {
        if score >= self.allow {
            Decision::Allow
        } else if score < self.block {
            Decision::Block
        } else {
            Decision::Challenge
        }
    }
}

/// What the site should do (serialised lowercase: `allow`, `challenge`, `block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Challenge,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Challenge => "challenge",
            Self::Block => "block",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_ties() {
        let p = Thresholds::default();
        assert_eq!(p.decide(0.6), Decision::Allow);
        assert_eq!(p.decide(0.59), Decision::Challenge);
        assert_eq!(p.decide(0.2), Decision::Challenge);
        assert_eq!(p.decide(0.19), Decision::Block);
        assert_eq!(p.decide(f64::NAN), Decision::Challenge);
        // block == allow: nothing is challenged.
        let eq = Thresholds {
            allow: 0.5,
            block: 0.5,
        };
        assert_eq!(eq.decide(0.5), Decision::Allow);
        assert_eq!(eq.decide(0.4999), Decision::Block);
        let bad = |allow, block| Thresholds { allow, block }.validate().is_err();
        assert!(bad(0.5, 0.6) && bad(f64::NAN, 0.1) && bad(1.1, 0.0) && bad(0.5, -0.1));
        assert!(!bad(1.0, 0.0) && !bad(0.0, 0.0));
    }

    #[test]
    fn serde_names() {
        let t: Thresholds =
            serde_json::from_str(r#"{"block_below": 0.2, "allow_at_or_above": 0.6}"#).unwrap();
        assert_eq!(t, Thresholds::default());
        for d in [Decision::Allow, Decision::Challenge, Decision::Block] {
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.as_str())
            );
        }
    }
}
