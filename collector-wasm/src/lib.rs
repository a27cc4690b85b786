//! Tollgate browser collector: wasm-bindgen glue around `tollgate-protocol` (built without the
//! `sign` feature, so no Ed25519 code reaches the browser).
//!
//! - Worker side: [`solve_chunk`] searches a bounded nonce range for sub-puzzles (the proof of work
//!   never runs on the main thread).
//! - Main thread: [`Collector`], fed by the loader's passive listeners (pointer, key classes, field
//!   events), runs the environment probes and builds the sealed token ([`Collector::build_token`]).
//!
//! The JS side is `js/tollgate.js` (loader) and `js/tollgate-worker.js` (solver worker).

#![forbid(unsafe_code)]

pub mod keys;
pub mod probes;
pub mod solver;
pub mod state;
pub mod token;

use tollgate_protocol::challenge::Challenge;
use tollgate_protocol::telemetry::ProbeValue;
use tollgate_protocol::{SolveStats, b64_decode};
use wasm_bindgen::prelude::*;

pub use keys::key_class_of;
pub use solver::NOT_FOUND;

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
        .map_err(|e| JsError::new(&e))
}

/// `SolveStats::solver` code of this build (0 scalar wasm, 1 simd128 wasm).
#[wasm_bindgen(js_name = solverKind)]
pub fn solver_kind() -> u8 {
    solver::solver_kind()
}

/// A challenge parsed (not verified: only the verifier can) from its base64url form.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ChallengeInfo {
    bytes: Vec<u8>,
    k: u16,
    bits: u8,
    issued_at_ms: f64,
    expires_at_ms: f64,
}

#[wasm_bindgen]
impl ChallengeInfo {
    /// The wire bytes, for the workers.
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
    /// Number of sub-puzzles (from the signed body, not the JSON reply).
    #[wasm_bindgen(getter)]
    pub fn k(&self) -> u16 {
        self.k
    }
    /// Leading zero bits per sub-puzzle.
    #[wasm_bindgen(getter)]
    pub fn bits(&self) -> u8 {
        self.bits
    }
    #[wasm_bindgen(getter, js_name = issuedAtMs)]
    pub fn issued_at_ms(&self) -> f64 {
        self.issued_at_ms
    }
    #[wasm_bindgen(getter, js_name = expiresAtMs)]
    pub fn expires_at_ms(&self) -> f64 {
        self.expires_at_ms
    }
}

/// Parse a challenge (base64url wire form) and check its proof-of-work parameters.
#[wasm_bindgen(js_name = parseChallenge)]
pub fn parse_challenge(challenge_b64: &str) -> Result<ChallengeInfo, JsError> {
    let bytes = b64_decode(challenge_b64).map_err(|e| JsError::new(&format!("challenge: {e}")))?;
    let c = Challenge::parse(&bytes).map_err(|e| JsError::new(&format!("challenge: {e}")))?;
    let pow = c
        .body
        .pow
        .validate()
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(ChallengeInfo {
        bytes,
        k: pow.k,
        bits: pow.bits,
        issued_at_ms: c.body.issued_at_ms as f64,
        expires_at_ms: c.body.expires_at_ms as f64,
    })
}

/// Key class (`protocol::telemetry::key_class`) of a `KeyboardEvent.key` value. The loader calls
/// this in the event listener and keeps only the class.
#[wasm_bindgen(js_name = keyClass)]
pub fn key_class(key: &str) -> u8 {
    key_class_of(key)
}

impl Collector {
    /// The telemetry a token built at `now_ms` would carry (Rust-side, for tests and tools).
    pub fn telemetry_snapshot(&self, now_ms: f64) -> tollgate_protocol::Telemetry {
        self.state.snapshot(now_ms)
    }
}

/// Behaviour and environment collector of one widget (main thread).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Collector {
    state: state::State,
}

#[wasm_bindgen]
impl Collector {
    /// `start_ms`: `performance.now()` when the loader started; event times are made relative to it.
    #[wasm_bindgen(constructor)]
    pub fn new(start_ms: f64) -> Collector {
        Collector {
            state: state::State::new(start_ms),
        }
    }

    /// Register a field or button with a `role` (`protocol::telemetry::role`); returns its index
    /// (used in key and field records), or 255 when the target list is full.
    #[wasm_bindgen(js_name = registerTarget)]
    pub fn register_target(&mut self, role: u8) -> u8 {
        self.state.register_target(role)
    }

    /// Box of a registered target in CSS px (client coordinates) and whether it holds a value.
    #[wasm_bindgen(js_name = setTargetBox)]
    pub fn set_target_box(&mut self, index: u8, x: f64, y: f64, w: f64, h: f64, has_value: bool) {
        self.state.set_box(index, x, y, w, h, has_value);
    }

    /// Pointer sample (`kind`, `ptype`, `flags` from `protocol::telemetry`); `ts` = `event.timeStamp`.
    #[allow(clippy::too_many_arguments)]
    pub fn pointer(
        &mut self,
        ts: f64,
        kind: u8,
        x: f64,
        y: f64,
        buttons: u8,
        ptype: u8,
        pressure: f32,
        flags: u8,
        last_of_event: bool,
    ) {
        self.state.pointer(
            ts,
            kind,
            x,
            y,
            buttons,
            ptype,
            pressure,
            flags,
            last_of_event,
        );
    }

    /// `keydown`, reduced to its key class by the caller with [`key_class`]: the key value itself
    /// never reaches the collector's state.
    #[wasm_bindgen(js_name = keyDown)]
    pub fn key_down(&mut self, ts: f64, class: u8, field: u8, trusted: bool, repeat: bool) {
        self.state.key_down(ts, class, field, trusted, repeat);
    }

    /// `keyup`, reduced to its key class.
    #[wasm_bindgen(js_name = keyUp)]
    pub fn key_up(&mut self, ts: f64, class: u8) {
        self.state.key_up(ts, class);
    }

    /// Window blur / page hidden: close held key presses.
    #[wasm_bindgen(js_name = releaseKeys)]
    pub fn release_keys(&mut self, ts: f64) {
        self.state.release_all(ts);
    }

    /// focus, blur, paste, submit, visibility (`protocol::telemetry::field_kind`).
    #[wasm_bindgen(js_name = fieldEvent)]
    pub fn field_event(&mut self, ts: f64, kind: u8, field: u8) {
        self.state.field_event(ts, kind, field);
    }

    /// `input` event with its `inputType` (only the type, never the data).
    pub fn input(&mut self, ts: f64, field: u8, input_type: &str) {
        self.state.input(ts, field, input_type);
    }

    /// Run the main-thread environment probes (call after first paint, in idle time).
    #[wasm_bindgen(js_name = runProbes)]
    pub fn run_probes(&mut self) {
        probes::run_all(&mut self.state);
    }

    /// Whether the main-thread probes have run.
    #[wasm_bindgen(getter, js_name = probesDone)]
    pub fn probes_done(&self) -> bool {
        self.state
            .has_probe(tollgate_protocol::telemetry::probe::WEBDRIVER)
    }

    /// The `navigator.userAgent` a solver worker reported (`None`: no worker could start).
    #[wasm_bindgen(js_name = setWorkerUserAgent)]
    pub fn set_worker_user_agent(&mut self, ua: Option<String>) {
        let v = ua.map_or(ProbeValue::Absent, |s| ProbeValue::Str(probes::clip(s)));
        self.state
            .set_probe(tollgate_protocol::telemetry::probe::WORKER_USER_AGENT, v);
    }

    /// Record a probe that failed on the JS side (e.g. a worker that could not start).
    #[wasm_bindgen(js_name = setProbeError)]
    pub fn set_probe_error(&mut self, id: u16, message: String) {
        self.state
            .set_probe(id, ProbeValue::Error(probes::clip(message)));
    }

    /// Build the sealed token with a telemetry snapshot taken at `now_ms` (`performance.now()`).
    /// `solutions` holds one nonce per sub-puzzle; `solver`: 0 scalar wasm, 1 simd128, 2 JS.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = buildToken)]
    pub fn build_token(
        &self,
        challenge_b64: &str,
        token_key_b64: &str,
        solutions: Vec<u64>,
        duration_ms: f64,
        workers: u8,
        solver: u8,
        hashes: f64,
        origin: &str,
        action: &str,
        cdata: &str,
        now_ms: f64,
    ) -> Result<String, JsError> {
        let solve = SolveStats {
            duration_ms: if duration_ms.is_finite() && duration_ms > 0.0 {
                duration_ms.min(f64::from(u32::MAX)) as u32
            } else {
                0
            },
            workers,
            solver,
            hashes: if hashes.is_finite() && hashes > 0.0 {
                hashes as u64
            } else {
                0
            },
        };
        let input = token::TokenInput {
            challenge_b64,
            token_key_b64,
            solutions: &solutions,
            solve,
            origin,
            action,
            cdata,
        };
        token::seal_token(&input, self.state.snapshot(now_ms)).map_err(|e| JsError::new(&e))
    }
}
