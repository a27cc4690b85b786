//! Token text → `DecodedToken::decode` → MAC check, signature check, PoW check, telemetry limits
//! and (with the default `verifier` feature) scoring: every step a siteverify runs on attacker
//! input, none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_protocol::pow;
use tollgate_protocol::token::DecodedToken;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = DecodedToken::decode(text) else {
        return;
    };
    let _ = token.verify_mac(&[7; 32]);
    let _ = token.challenge.verify(|_| None);
    let _ = pow::verify(
        &token.body.challenge,
        token.challenge.body.pow,
        &token.body.solutions,
    );
    let _ = token.body.telemetry.check_limits();
    #[cfg(feature = "verifier")]
    let _ = verifier::scoring::score(&token, &verifier::scoring::SitePolicy::default());
});
