//! Tollgate's test kit (dev-only, never published): the one place that builds challenges,
//! telemetry and tokens for tests, benches and examples, plus the rule for tests whose
//! prerequisites (a `redis-server`, trace data) may be missing.
//!
//! - [`ChallengeSpec`] → [`SignedChallenge`]: a challenge signed the way the verifier signs it
//!   (site key, origin/action/cdata bindings, PoW parameters, issue time, key id and seed).
//! - [`TelemetrySpec`]: deterministic sessions (human-like logins, a replayable stroke, scripted
//!   bots, no behaviour) with a fingerprint and environment probes.
//! - [`TokenSpec`]: what a token carries besides its challenge; seals a token for a challenge
//!   (solving its proof of work) the way the browser collector does.
//! - [`tamper`]: corrupted copies of tokens.
//! - [`require`] and [`redis::RedisServer`]: a missing prerequisite skips a test loudly, but
//!   fails it under CI (`CI=true`).
//!
//! Like the protocol crate, nothing here reads a clock or a global RNG: times are parameters and
//! randomness comes from seeded [`Rng`]s, so every fixture is reproducible.
//!
//! ```
//! use tollgate_testkit::{ChallengeSpec, TelemetrySpec, TokenSpec};
//!
//! let challenge = ChallengeSpec::new("site-a")
//!     .origin("https://a.example")
//!     .action("login")
//!     .pow(2, 4)
//!     .issued_at(1_800_000_000_000)
//!     .sign();
//! let key = challenge.token_key(&[7; 32]);
//! let token = challenge
//!     .token_spec()
//!     .telemetry(TelemetrySpec::human_login().build())
//!     .seal(challenge.wire(), &key)
//!     .unwrap();
//! let decoded = tollgate_protocol::token::DecodedToken::decode(&token).unwrap();
//! decoded.verify_mac(&key).unwrap();
//! assert_eq!(decoded.body.context.action, "login");
//! ```

mod challenge;
pub mod postgres;
pub mod redis;
mod rng;
pub mod tamper;
mod telemetry;
#[cfg(feature = "tls")]
pub mod tls;
mod token;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use challenge::{ChallengeSpec, DEFAULT_LIFETIME_MS, SignedChallenge};
pub use rng::Rng;
pub use telemetry::{HUMAN_LOGIN_SEED, TelemetrySpec};
pub use token::{DEFAULT_SOLVE, TokenSpec, solve, token_key_from_b64};

/// Why a fixture could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The protocol crate refused (bad base64, invalid PoW parameters, an unparsable challenge,
    /// an encoding limit).
    #[error(transparent)]
    Protocol(#[from] tollgate_protocol::ProtocolError),
    /// A token key that is not 32 bytes long.
    #[error("token key is {0} bytes, expected 32")]
    TokenKeyLength(usize),
}

/// Whether the environment says this is a CI run: `CI` is `true` or `1` (any case).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The rule for a test prerequisite that may be missing (a `redis-server`, trace data).
///
/// `found` is the prerequisite if it is there. When it is missing (`None`), the test cannot
/// run: under CI ([`in_ci`]) that is a failure, so this panics with `what` and `how` (how to
/// provide it); elsewhere it prints a loud banner to stderr (past the test harness's output
/// capture) and returns `None` so the test can return early:
///
/// ```
/// # fn find_traces() -> Option<std::path::PathBuf> { Some(".".into()) }
/// let Some(dir) = tollgate_testkit::require(find_traces(), "trace data", "set TOLLGATE_TRACES")
/// else {
///     return;
/// };
/// # let _ = dir;
/// ```
#[track_caller]
pub fn require<T>(found: Option<T>, what: &str, how: &str) -> Option<T> {
    if found.is_some() {
        return found;
    }
    if in_ci() {
        panic!("{what} is missing and CI=true: this test must run in CI ({how})");
    }
    // Straight to the stderr handle, not `eprintln!`: the test harness captures the macros'
    // output of passing tests, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPING: {what} is missing ({how}); under CI=true this fails !!!!!\n"
    );
    None
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A new, unique temporary directory (the caller removes it).
///
/// # Panics
/// When the directory cannot be created.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tollgate-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A free loopback port (bound and released: a tiny race is possible, callers retry).
///
/// # Panics
/// When no loopback port can be bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_prerequisites_pass_through() {
        assert_eq!(require(Some(3), "three", "count"), Some(3));
    }

    #[test]
    fn missing_prerequisite_skips_outside_ci_and_fails_in_ci() {
        let r = std::panic::catch_unwind(|| require(None::<u8>, "a unicorn", "none exist"));
        if in_ci() {
            let msg = r.expect_err("fails under CI");
            let msg = msg.downcast_ref::<String>().expect("formatted message");
            assert!(
                msg.contains("a unicorn") && msg.contains("CI=true"),
                "{msg}"
            );
        } else {
            assert_eq!(r.expect("skips outside CI"), None);
        }
    }

    #[test]
    fn temp_dirs_are_unique() {
        let (a, b) = (temp_dir("t"), temp_dir("t"));
        assert_ne!(a, b);
        assert!(a.is_dir() && b.is_dir());
        let _ = std::fs::remove_dir_all(a);
        let _ = std::fs::remove_dir_all(b);
    }
}
