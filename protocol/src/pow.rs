//! Proof of work: k independent SHA-256 sub-puzzles derived from the signed challenge.
//!
//! - `seed = SHA-256(len-prefixed "tollgate/pow/v1" ‖ challenge wire bytes)` (computed once per token);
//! - sub-puzzle `i` hashes the 55-byte message `seed(32) ‖ i (u16 BE) ‖ bits (u8) ‖ 9 zero bytes ‖
//!   nonce (u64 BE) ‖ 3 zero bytes`. 55 bytes + SHA-256 padding is exactly **one 64-byte block**, so
//!   a candidate costs one compression and the verifier checks a token with k compressions;
//! - the nonce fills message words 11 and 12 exactly, so solvers can precompute the first 11
//!   rounds (they only read words 0–10) once per sub-puzzle;
//! - sub-puzzle `i` passes when `SHA-256(message)` has at least `bits` leading zero bits.
//!
//! The nonce is fixed-width binary; solvers only need to vary the last 8 message bytes.

use crate::challenge::PowParams;
use crate::error::ProtocolError;
use alloc::vec::Vec;

/// Bytes before the nonce in a sub-puzzle message (message words 0–10).
pub const PREFIX_LEN: usize = 44;
/// Offset of the 8-byte nonce (message words 11 and 12).
pub const NONCE_OFFSET: usize = PREFIX_LEN;
/// Full sub-puzzle message length (fits one SHA-256 block with padding).
pub const MESSAGE_LEN: usize = 55;

/// Seed of all sub-puzzles of a challenge.
pub fn seed(challenge_wire: &[u8]) -> [u8; 32] {
    crate::sha256_parts(b"tollgate/pow/v1", &[challenge_wire])
}

/// The fixed 44-byte prefix of sub-puzzle `index`.
pub fn prefix(seed: &[u8; 32], index: u16, bits: u8) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p[..32].copy_from_slice(seed);
    p[32..34].copy_from_slice(&index.to_be_bytes());
    p[34] = bits;
    p
}

/// The 64-byte padded block hashed for `nonce` (message ‖ 0x80 ‖ zeros ‖ bit length 440).
/// Exposed so SIMD kernels can be checked against it; one compression of this block from the
/// SHA-256 initial state equals `SHA-256(prefix ‖ nonce)`.
pub fn block(prefix: &[u8; PREFIX_LEN], nonce: u64) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[..PREFIX_LEN].copy_from_slice(prefix);
    b[NONCE_OFFSET..NONCE_OFFSET + 8].copy_from_slice(&nonce.to_be_bytes());
    b[MESSAGE_LEN] = 0x80;
    b[56..64].copy_from_slice(&((MESSAGE_LEN as u64) * 8).to_be_bytes());
    b
}

/// SHA-256 initial hash value.
pub const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// First state word of `SHA-256(prefix ‖ nonce)` — all a difficulty of ≤ 32 bits needs.
#[inline]
pub fn first_word(prefix: &[u8; PREFIX_LEN], nonce: u64) -> u32 {
    let mut state = H0;
    let blk = block(prefix, nonce);
    sha2::compress256(
        &mut state,
        core::slice::from_ref(sha2::digest::generic_array::GenericArray::from_slice(&blk)),
    );
    state[0]
}

/// Whether the hash's first word has at least `bits` leading zero bits (`bits` ≤ 32).
#[inline]
pub fn meets(first_word: u32, bits: u8) -> bool {
    first_word.leading_zeros() >= u32::from(bits)
}

/// Scalar reference solver: search nonces `start..start+count` for sub-puzzle `prefix`.
/// Returns the first nonce that passes, or `None`. Used by tests and as the non-SIMD fallback.
pub fn solve_range(prefix: &[u8; PREFIX_LEN], bits: u8, start: u64, count: u64) -> Option<u64> {
    (start..start.saturating_add(count)).find(|&n| meets(first_word(prefix, n), bits))
}

/// Solve every sub-puzzle of a challenge sequentially (reference; browsers use workers in chunks).
pub fn solve_all(challenge_wire: &[u8], params: PowParams) -> Result<Vec<u64>, ProtocolError> {
    let params = params.validate()?;
    let s = seed(challenge_wire);
    Ok((0..params.k)
        .map(|i| {
            let p = prefix(&s, i, params.bits);
            solve_range(&p, params.bits, 0, u64::MAX).unwrap_or(u64::MAX)
        })
        .collect())
}

/// Verify all solutions: exactly k of them, each meeting the difficulty. Costs k compressions
/// plus the seed hash.
pub fn verify(
    challenge_wire: &[u8],
    params: PowParams,
    solutions: &[u64],
) -> Result<(), ProtocolError> {
    let params = params.validate()?;
    if solutions.len() != usize::from(params.k) {
        return Err(ProtocolError::SolutionCount {
            expected: usize::from(params.k),
            got: solutions.len(),
        });
    }
    let s = seed(challenge_wire);
    for (i, &nonce) in solutions.iter().enumerate() {
        let p = prefix(&s, i as u16, params.bits);
        if !meets(first_word(&p, nonce), params.bits) {
            return Err(ProtocolError::BadSolution { index: i });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn one_block_equals_full_sha256() {
        let p = prefix(&[0xab; 32], 5, 12);
        for nonce in [0u64, 1, 0xdead_beef, u64::MAX] {
            let mut msg = p.to_vec();
            msg.extend_from_slice(&nonce.to_be_bytes());
            msg.extend_from_slice(&[0, 0, 0]);
            assert_eq!(msg.len(), MESSAGE_LEN);
            let full = sha2::Sha256::digest(&msg);
            assert_eq!(first_word(&p, nonce).to_be_bytes(), full[..4]);
        }
    }

    #[test]
    fn solve_then_verify_and_reject_wrong() {
        let wire = [7u8; 217];
        let params = PowParams { k: 8, bits: 8 };
        let sol = solve_all(&wire, params).unwrap();
        verify(&wire, params, &sol).unwrap();
        assert_eq!(
            verify(&wire, params, &sol[..7]),
            Err(ProtocolError::SolutionCount {
                expected: 8,
                got: 7
            })
        );
        // Find a nonce that fails for sub-puzzle 3 and splice it in.
        let s = seed(&wire);
        let p3 = prefix(&s, 3, 8);
        let bad = (0u64..).find(|&n| !meets(first_word(&p3, n), 8)).unwrap();
        let mut tampered = sol.clone();
        tampered[3] = bad;
        assert_eq!(
            verify(&wire, params, &tampered),
            Err(ProtocolError::BadSolution { index: 3 })
        );
        // Solutions are bound to the challenge bytes.
        let mut other = wire;
        other[0] ^= 1;
        assert!(verify(&other, params, &sol).is_err());
    }

    #[test]
    fn params_bounds() {
        assert!(PowParams { k: 0, bits: 8 }.validate().is_err());
        assert!(PowParams { k: 1, bits: 33 }.validate().is_err());
        assert!(PowParams { k: 257, bits: 1 }.validate().is_err());
        assert!(PowParams { k: 256, bits: 32 }.validate().is_ok());
    }
}
