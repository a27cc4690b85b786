//! Worker-side proof-of-work entry points (the PoW never runs on the main thread).
//!
//! The search itself is `tollgate_protocol` (`pow::seed` → `pow::prefix` → the midstate kernel
//! `solver::search`, checked against `pow::first_word`/`meets`); this module only bounds it into
//! chunks. V8 runs a wasm function in its baseline tier until a *later* call
//! picks up the optimised code (no on-stack replacement), so the worker calls
//! [`solve_chunk`](crate::solve_chunk) repeatedly with 16–64 k nonces per call instead of one
//! long solve-until-found call.

use alloc::vec;
use alloc::vec::Vec;

use tollgate_protocol::challenge::{Challenge, PowParams};
use tollgate_protocol::pow;

/// Marker for "no nonce found in this chunk" in [`solve_chunk`](crate::solve_chunk)'s result.
pub const NOT_FOUND: u64 = u64::MAX;

/// Nonces at or above this are never searched (2^64 − 2^32; a sub-puzzle needs ~2^bits ≤ 2^32).
pub const NONCE_LIMIT: u64 = 0xffff_ffff_0000_0000;

/// Largest chunk accepted per call (keeps one call well under a second even on slow devices).
pub const MAX_CHUNK: u32 = 1 << 20;

/// `SolveStats::solver` code of this build: 1 when compiled with wasm simd128, else 0 (scalar).
pub fn solver_kind() -> u8 {
    u8::from(tollgate_protocol::solver::SIMD)
}

/// Parse and validate a challenge's wire bytes and return its proof-of-work parameters.
/// (Static error strings: no `core::fmt` in the browser build.)
pub fn pow_params(challenge_wire: &[u8]) -> Result<PowParams, &'static str> {
    let c = Challenge::parse(challenge_wire).map_err(|_| "bad challenge")?;
    c.body
        .pow
        .validate()
        .map_err(|_| "proof-of-work parameters out of range")
}

/// For every sub-puzzle `index_start..index_end` of the challenge, search nonces
/// `nonce_start..nonce_start + nonce_count` and return the first passing nonce of each
/// ([`NOT_FOUND`] where the chunk holds none). The difficulty is read from the challenge itself.
pub fn solve_chunk_impl(
    challenge_wire: &[u8],
    index_start: u16,
    index_end: u16,
    nonce_start: u64,
    nonce_count: u32,
) -> Result<Vec<u64>, &'static str> {
    let params = pow_params(challenge_wire)?;
    if index_start >= index_end || index_end > params.k {
        return Err("sub-puzzle range outside the challenge");
    }
    // The search stays below NONCE_LIMIT, so it never reaches u64::MAX (NOT_FOUND) nor the last
    // high word, where the midstate kernel's block arithmetic would overflow.
    let count = u64::from(nonce_count.min(MAX_CHUNK)).min(NONCE_LIMIT.saturating_sub(nonce_start));
    if count == 0 {
        return Ok(vec![NOT_FOUND; usize::from(index_end - index_start)]);
    }
    let seed = pow::seed(challenge_wire);
    Ok((index_start..index_end)
        .map(|i| {
            let p = pow::prefix(&seed, i, params.bits);
            tollgate_protocol::solver::search(&p, params.bits, nonce_start, count)
                .0
                .unwrap_or(NOT_FOUND)
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tollgate_protocol::challenge::{BODY_LEN, ChallengeBody, WIRE_LEN};

    pub(crate) fn challenge(k: u16, bits: u8) -> Vec<u8> {
        let body = ChallengeBody {
            version: 1,
            key_id: 1,
            site_id: tollgate_protocol::site_id("s"),
            challenge_id: [4; 16],
            issued_at_ms: 1,
            expires_at_ms: 2,
            pow: PowParams { k, bits },
            risk_tier: 0,
            origin_hash: [0; 32],
            action_hash: [0; 32],
            cdata_hash: [0; 32],
        };
        let mut w = body.encode().to_vec();
        w.resize(WIRE_LEN, 0);
        assert_eq!(w.len(), BODY_LEN + 64);
        w
    }

    #[test]
    fn chunks_find_verifiable_nonces() {
        let wire = challenge(4, 8);
        let mut sols = Vec::new();
        for i in 0..4u16 {
            let mut start = 0u64;
            loop {
                let r = solve_chunk_impl(&wire, i, i + 1, start, 64).unwrap();
                if r[0] != NOT_FOUND {
                    sols.push(r[0]);
                    break;
                }
                start += 64;
            }
        }
        pow::verify(&wire, PowParams { k: 4, bits: 8 }, &sols).unwrap();
        // A range call agrees with per-index calls and with the reference solver.
        let all = solve_chunk_impl(&wire, 0, 4, 0, 1 << 16).unwrap();
        assert_eq!(all, sols);
        assert_eq!(
            pow::solve_all(&wire, PowParams { k: 4, bits: 8 }).unwrap(),
            sols
        );
    }

    #[test]
    fn rejects_bad_input() {
        let wire = challenge(4, 8);
        assert!(solve_chunk_impl(&wire[..10], 0, 1, 0, 10).is_err());
        assert!(solve_chunk_impl(&wire, 3, 5, 0, 10).is_err());
        assert!(solve_chunk_impl(&wire, 2, 2, 0, 10).is_err());
        assert!(solve_chunk_impl(&challenge(0, 8), 0, 1, 0, 10).is_err());
        // Near the top of the nonce space the range is clamped, never wrapping or hitting NOT_FOUND.
        for start in [u64::MAX - 3, NONCE_LIMIT, NONCE_LIMIT - 10] {
            let r = solve_chunk_impl(&wire, 0, 2, start, 1000).unwrap();
            assert_eq!(r.len(), 2);
            assert!(r.iter().all(|&n| n == NOT_FOUND || n < NONCE_LIMIT));
        }
    }
}
