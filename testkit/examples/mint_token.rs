//! Seal a real token for a `/v1/challenge` reply, as the collector would, for tests outside Rust
//! (the backend examples' runner, `tests/e2e/examples.test.mjs`).
//!
//! `mint_token CHALLENGE_B64 TOKEN_KEY_B64 ORIGIN ACTION [human|bot]` prints the token on stdout:
//! `human` is the testkit's human-like login session, `bot` a straight-line scripted one.

use tollgate_testkit::{TelemetrySpec, TokenSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [challenge, token_key, origin, action, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: mint_token CHALLENGE_B64 TOKEN_KEY_B64 ORIGIN ACTION [human|bot]".into(),
        );
    };
    let telemetry = match rest.first().map(String::as_str) {
        None | Some("human") => TelemetrySpec::human_login(),
        Some("bot") => TelemetrySpec::bot_linear(40, 16.0),
        Some(other) => return Err(format!("unknown session shape {other:?} (human|bot)").into()),
    };
    let token = TokenSpec::new(origin, action, "")
        .telemetry(telemetry.build())
        .seal_reply(challenge, token_key)?;
    println!("{token}");
    Ok(())
}
