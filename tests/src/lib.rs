//! Cross-crate tests for Tollgate. The tests live in `tests/tests/`:
//!
//! - `demo_flow.rs`: the demo site's backend against a real verifier (in-process, on a loopback
//!   socket, with a manual clock), fed by a native client that fetches a challenge, solves the
//!   proof of work and seals a token exactly like the browser collector does.
//!
//! The browser end-to-end tests (headless Chromium through Playwright) are in `tests/e2e/`.
