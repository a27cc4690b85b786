//! Tollgate behaviour model (server side only).
//!
//! Everything the verifier (and the offline `tollgate-intel` workbench) does with a token's
//! behavioural telemetry after the wire layer ([`tollgate_protocol`]) has decoded it:
//! - [`features`]: one session representation ([`features::Session`]) built from token telemetry
//!   or offline traces, the behaviour features, stroke replay hashes.
//! - [`model`]: the logistic-regression model with its calibration, evaluated in pure Rust and
//!   stored as a small versioned JSON file (`model/models/behaviour-v3.json` is compiled in).
//! - [`forest`]: the boosted trees stored inside the model file.
//! - [`meta`]: a model file's provenance (`id`, training `manifest`, `evaluation`).
//! - [`Thresholds`] / [`Decision`]: the allow / challenge / block policy shared by the model's
//!   calibration and the verifier's per-site policy.
//!
//! Pure like the protocol crate: no I/O, no clock, no randomness.

#![forbid(unsafe_code)]

pub mod features;
mod file;
pub mod forest;
pub mod meta;
pub mod model;
mod policy;

pub use model::{Model, ModelError, ReplayEvidence, Scored};
pub use policy::{Decision, PolicyError, Thresholds};
