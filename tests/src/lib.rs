//! Cross-crate tests for Tollgate. The tests live in `tests/tests/`:
//!
//! - `demo_flow.rs`: the demo site's backend against a real verifier (in-process, on a loopback
//!   socket, with a manual clock), fed by a native client that fetches a challenge, solves the
//!   proof of work and seals a token exactly like the browser collector does.
//!
//! The browser end-to-end tests (headless Chromium through Playwright) are in `tests/e2e/`.

/// The text between the first `start` marker in `s` and the next `end` after it (pages and
/// forms scraped by the tests). Panics, with the page, when a marker is missing.
pub fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in page: {s}"))
        + start.len();
    let len = s[from..].find(end).expect("end marker");
    &s[from..from + len]
}
