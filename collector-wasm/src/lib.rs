//! Tollgate browser collector: wasm-bindgen glue around `tollgate-protocol` (built without its
//! `std` and `sign` features, so no Ed25519, serde or float-formatting code reaches the browser).
//!
//! Exports (kept few: each one costs glue JS):
//! - worker side: [`solve_chunk`] searches a bounded nonce range for sub-puzzles (the proof of
//!   work never runs on the main thread), [`solver_kind`];
//! - main thread: [`seal`] turns the loader's typed-array logs ([`ingest`]) into telemetry and
//!   the sealed token bytes (the loader reads the challenge's fixed layout itself).
//!
//! Listeners and environment probes are JavaScript (`js/src/`, bundled into `js/dist/tollgate.js`;
//! the probe worker `js/src/workers/probe-worker.js`):
//! they only append numbers to typed arrays; everything is encoded and hashed here at submit.
//!
//! Without the default `std` feature (the shipped build, `scripts/build-assets.sh`) the crate is
//! `no_std`: a trapping panic handler and `lol_alloc` replace std's panic machinery, so no
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
use tollgate_protocol::token::TOKEN_KEY_LEN;
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
static ALLOC: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

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

fn clamp_u32(v: f64) -> u32 {
    if v.is_finite() && v > 0.0 {
        v as u32
    } else {
        0
    }
}

/// Build the sealed token (raw bytes: postcard body ‖ HMAC; the loader base64url-encodes them).
/// `key_challenge` = the token key (`TOKEN_KEY_LEN` bytes) ‖ the challenge wire bytes; `solutions` = one nonce
/// per sub-puzzle; `logs` = the loader's logs packed into one array ([`ingest::Logs::unpack`]);
/// `strs` = origin, action, cdata, fingerprint sources and probe strings, NUL-separated.
/// (Few, packed parameters: every parameter costs glue JS.)
#[wasm_bindgen]
pub fn seal(
    key_challenge: &[u8],
    solutions: &[u64],
    logs: &[f64],
    strs: &str,
) -> Result<Vec<u8>, JsError> {
    let (token_key, challenge) = key_challenge.split_at(key_challenge.len().min(TOKEN_KEY_LEN));
    let logs = ingest::Logs::unpack(logs, strs);
    let (mut state, ctx, fingerprint) = logs.state();
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
    token::seal_state_fitting(&input, &mut state, logs.meta(1), &fingerprint).map_err(JsError::new)
}
