//! Helpers shared by the browser test binaries.
#![allow(dead_code)]

use tollgate_protocol::challenge::{ChallengeBody, PowParams, WIRE_LEN};

/// An (unsigned) challenge with the given proof-of-work parameters. The browser never checks the
/// signature, so 64 filler bytes stand in for it.
pub fn challenge(k: u16, bits: u8, id: u8) -> Vec<u8> {
    let body = ChallengeBody {
        version: 1,
        key_id: 1,
        site_id: tollgate_protocol::site_id("tgdev-localhost-sitekey"),
        challenge_id: [id; 16],
        issued_at_ms: 1_700_000_000_000,
        expires_at_ms: 1_700_000_300_000,
        pow: PowParams { k, bits },
        risk_tier: 0,
        origin_hash: tollgate_protocol::bind_hash(b"origin", "http://127.0.0.1"),
        action_hash: tollgate_protocol::bind_hash(b"action", "login"),
        cdata_hash: tollgate_protocol::bind_hash(b"cdata", ""),
    };
    let mut w = body.encode().to_vec();
    w.resize(WIRE_LEN, 0xee);
    w
}

/// Solve every sub-puzzle through the exported chunked entry point, as the worker does.
pub fn solve_in_chunks(wire: &[u8], k: u16, chunk: u32) -> (Vec<u64>, u64) {
    let mut sols = Vec::with_capacity(usize::from(k));
    let mut hashes = 0u64;
    for i in 0..k {
        let mut start = 0u64;
        loop {
            let r =
                tollgate_collector::solve_chunk(wire, i, i + 1, start, chunk).expect("solve_chunk");
            assert_eq!(r.len(), 1);
            if r[0] != tollgate_collector::NOT_FOUND {
                hashes += r[0] - start + 1;
                sols.push(r[0]);
                break;
            }
            hashes += u64::from(chunk);
            start += u64::from(chunk);
        }
    }
    (sols, hashes)
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
