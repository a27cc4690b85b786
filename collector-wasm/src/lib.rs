//! Tollgate browser collector: wasm-bindgen glue around `tollgate-protocol` (built without its
//! `std` and `sign` features, so no Ed25519, serde or float-formatting code reaches the browser).
//!
//! Exports (kept few: each one costs glue JS):
//! - worker side: [`solve_chunk`] searches a bounded nonce range for sub-puzzles (the proof of
//!   work never runs on the main thread), [`solver_kind`];
//! - main thread: [`challenge_info`] reads a challenge's parameters, [`seal`] turns the loader's
//!   typed-array logs ([`ingest`]) into telemetry and the sealed token bytes.
//!
//! Listeners and environment probes are JavaScript (`js/tollgate.js`, `js/tollgate-probe-worker.js`):
//! they only append numbers to typed arrays; everything is encoded and hashed here at submit.
//!
//! Without the default `std` feature (the shipped build, `scripts/build-assets.sh`) the crate is
//! `no_std`: a trapping panic handler and `dlmalloc` replace std's panic machinery, so no
//! `core::fmt` code is linked.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod ingest;
pub mod keys;
pub mod solver;
pub mod state;
pub mod token;

use alloc::vec::Vec;

use tollgate_protocol::SolveStats;
use tollgate_protocol::challenge::Challenge;
use wasm_bindgen::prelude::*;

pub use keys::key_class_of;
pub use solver::NOT_FOUND;

#[cfg(all(not(feature = "std"), target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(all(not(feature = "std"), target_arch = "wasm32"))]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Search nonces `nonce_start .. nonce_start + nonce_count` (at most 2^20) of every sub-puzzle
/// `index_start .. index_end` of `challenge` (wire bytes). Returns one entry per sub-puzzle: the
/// first passing nonce, or 2^64−1 when this chunk holds none. Call it repeatedly with 16–64 k
/// nonces so V8 swaps in its optimised tier between calls.
#[wasm_bindgen]
pub fn solve_chunk(
    challenge: &[u8],
    index_start: u16,
    index_end: u16,
    nonce_start: u64,
    nonce_count: u32,
) -> Result<Vec<u64>, JsError> {
    solver::solve_chunk_impl(challenge, index_start, index_end, nonce_start, nonce_count)
        .map_err(JsError::new)
}

/// `SolveStats::solver` code of this build (0 scalar wasm, 1 simd128 wasm).
#[wasm_bindgen(js_name = solverKind)]
pub fn solver_kind() -> u8 {
    solver::solver_kind()
}

/// `[k, bits, issued_at_ms, expires_at_ms]` of a challenge (wire bytes; not verified: only the
/// verifier can), or an empty array when it does not parse or its parameters are out of range.
#[wasm_bindgen(js_name = challengeInfo)]
pub fn challenge_info(challenge: &[u8]) -> Vec<f64> {
    match Challenge::parse(challenge).map(|c| (c.body.pow.validate(), c.body)) {
        Ok((Ok(p), b)) => alloc::vec![
            f64::from(p.k),
            f64::from(p.bits),
            b.issued_at_ms as f64,
            b.expires_at_ms as f64,
        ],
        _ => Vec::new(),
    }
}

fn clamp_u32(v: f64) -> u32 {
    if v.is_finite() && v > 0.0 {
        v as u32
    } else {
        0
    }
}

/// Build the sealed token (raw bytes: postcard body ‖ HMAC; the loader base64url-encodes them)
/// from the challenge, its token key, one nonce per sub-puzzle and the loader's logs (layouts in
/// [`ingest`]; `meta[2..6]` = solve ms, workers, solver kind, hashes).
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen]
pub fn seal(
    challenge: &[u8],
    token_key: &[u8],
    solutions: &[u64],
    meta: &[f64],
    ptr: &[f64],
    ev: &[f64],
    targets: &[f64],
    probes: &[f64],
    strs: &str,
) -> Result<Vec<u8>, JsError> {
    let logs = ingest::Logs {
        meta,
        ptr,
        ev,
        targets,
        probes,
        strs,
    };
    let (telemetry, ctx) = logs.telemetry();
    let hashes = logs.meta(5);
    let input = token::TokenInput {
        challenge,
        token_key,
        solutions,
        solve: SolveStats {
            duration_ms: clamp_u32(logs.meta(2)),
            workers: logs.meta(3) as u8,
            solver: logs.meta(4) as u8,
            hashes: if hashes.is_finite() && hashes > 0.0 {
                hashes as u64
            } else {
                0
            },
        },
        origin: ctx.origin,
        action: ctx.action,
        cdata: ctx.cdata,
    };
    token::seal_token(&input, telemetry).map_err(JsError::new)
}
