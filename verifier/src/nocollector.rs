//! The no-collector path: a browser without WebAssembly or Web Workers cannot record telemetry,
//! solve the proof of work (never on the main thread) or seal a token. Its loader says so in the
//! challenge request (`"nc": bits`, [`NO_WASM`] | [`NO_WORKERS`]) and `POST /v1/challenge` answers
//! a ready-made **minimal token** next to the challenge: an ordinary token body (same encoding,
//! same MAC under the per-challenge key, same single use, expiry, site, origin, action and cdata
//! bindings) with no telemetry, no proof-of-work solutions and `solve.solver` =
//! [`SOLVER_NONE`]; `solve.workers` holds the bits of what was missing.
//!
//! siteverify skips the proof-of-work check for such a token and never scores it: the verdict is
//! score 0.5, decision `challenge`, reasons `no-collector` plus `no-wasm` / `no-workers`. Campaign
//! signals (correlation) still apply, so a no-collector token can end in `block` only together
//! with other evidence, and never in `allow`. The site's `success_when` then decides `success`
//! (`allow-or-challenge` or `valid` let it through; the default `allow` refuses it with
//! `tollgate-decision-challenge`).
//!
//! Skipping the proof of work is safe because the marker and the verdict go together: any token
//! that says `SOLVER_NONE` — minted here or forged by a client holding the token key — gets at
//! most `challenge`.

use std::collections::BTreeMap;

use tollgate_protocol::PROTOCOL_VERSION;
use tollgate_protocol::ProtocolError;
use tollgate_protocol::telemetry::Telemetry;
use tollgate_protocol::token::{ClientContext, DecodedToken, SolveStats, TOKEN_KEY_LEN, TokenBody};

use crate::scoring::{Decision, Verdict};

/// `solve.solver` of a minimal token (0 = scalar wasm, 1 = simd128, 2 = JS fallback).
pub const SOLVER_NONE: u8 = 0xff;
/// `nc` bit: the browser has no `WebAssembly`.
pub const NO_WASM: u8 = 1;
/// `nc` bit: the browser has no `Worker`.
pub const NO_WORKERS: u8 = 2;

/// The score of a no-collector verdict (neutral: nothing was measured).
pub const NO_COLLECTOR_SCORE: f64 = 0.5;

/// The valid `nc` bits of a challenge request (unknown bits dropped; `None` when none is left).
pub fn requested(nc: Option<u8>) -> Option<u8> {
    nc.map(|b| b & (NO_WASM | NO_WORKERS)).filter(|b| *b != 0)
}

/// Seal the minimal token for a challenge just signed (`wire`) under its token key.
pub fn mint(
    wire: &[u8],
    token_key: &[u8; TOKEN_KEY_LEN],
    missing: u8,
    context: ClientContext,
) -> Result<String, ProtocolError> {
    TokenBody {
        version: PROTOCOL_VERSION,
        challenge: wire.to_vec(),
        solutions: Vec::new(),
        solve: SolveStats {
            duration_ms: 0,
            workers: missing,
            solver: SOLVER_NONE,
            hashes: 0,
        },
        context,
        telemetry: Telemetry::default(),
    }
    .seal(token_key)
}

/// The missing-capability bits when `token` is a minimal (no-collector) token.
pub fn missing(token: &DecodedToken) -> Option<u8> {
    (token.body.solve.solver == SOLVER_NONE).then_some(token.body.solve.workers)
}

/// The verdict of a minimal token before campaign signals.
pub fn verdict(missing: u8) -> Verdict {
    let mut reasons = vec!["no-collector"];
    if missing & NO_WASM != 0 {
        reasons.push("no-wasm");
    }
    if missing & NO_WORKERS != 0 {
        reasons.push("no-workers");
    }
    Verdict {
        score: NO_COLLECTOR_SCORE,
        decision: Decision::Challenge,
        reasons,
        features: BTreeMap::new(),
        contributions: BTreeMap::new(),
        details: BTreeMap::new(),
        notes: Vec::new(),
        device: None,
    }
}

/// A no-collector verdict is never `allow`.
pub fn cap(decision: Decision) -> Decision {
    match decision {
        Decision::Allow => Decision::Challenge,
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_bits() {
        assert_eq!(requested(None), None);
        assert_eq!(requested(Some(0)), None);
        assert_eq!(requested(Some(4)), None);
        assert_eq!(requested(Some(1)), Some(NO_WASM));
        assert_eq!(requested(Some(7)), Some(NO_WASM | NO_WORKERS));
    }

    #[test]
    fn verdict_is_challenge_with_reasons() {
        let v = verdict(NO_WASM | NO_WORKERS);
        assert_eq!(v.decision, Decision::Challenge);
        assert_eq!(v.reasons, ["no-collector", "no-wasm", "no-workers"]);
        assert_eq!(verdict(NO_WORKERS).reasons, ["no-collector", "no-workers"]);
        assert_eq!(cap(Decision::Allow), Decision::Challenge);
        assert_eq!(cap(Decision::Block), Decision::Block);
    }
}
