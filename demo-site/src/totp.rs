//! RFC 6238 time-based one-time passwords (the demo's second factor), on top of `totp-rs`:
//! HMAC-SHA1, 6 digits, 30-second steps, one step of clock skew either way. A code is accepted
//! only for a time step later than the last one accepted for that user, so the same code (or an
//! older one) cannot be replayed within its window.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Length of a new shared secret in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds per time step.
pub const STEP_SECS: u64 = 30;
/// Steps of clock skew accepted either way.
pub const SKEW_STEPS: u8 = 1;
/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "Northwind Bank";

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP parameters refused: {0}")]
    Params(String),
    #[error("no randomness available: {0}")]
    Random(#[from] getrandom::Error),
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not six digits.
    Malformed,
    /// No step within the skew window has this code.
    Wrong,
    /// Right code, but for a time step at or before the last accepted one (replay).
    Replayed,
}

/// A user's TOTP generator. The account name is what authenticator apps show.
pub fn generator(secret: &[u8], account: &str) -> Result<TOTP, TotpError> {
    // `:` separates issuer and account in the otpauth label.
    let account = account.replace(':', "_");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS,
        STEP_SECS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account,
    )
    .map_err(|e| TotpError::Params(e.to_string()))
}

/// A fresh random shared secret.
pub fn new_secret() -> Result<Vec<u8>, TotpError> {
    let mut s = vec![0u8; SECRET_LEN];
    getrandom::getrandom(&mut s)?;
    Ok(s)
}

/// The raw secret of a base32 key (as shown at enrolment, RFC 4648 without padding).
pub fn secret_from_base32(key: &str) -> Result<Vec<u8>, TotpError> {
    totp_rs::Secret::Encoded(key.to_owned())
        .to_bytes()
        .map_err(|e| TotpError::Params(e.to_string()))
}

/// The time step of a Unix time.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// Check `code` at `unix_secs`: accepted for a step within ±[`SKEW_STEPS`] that is later than
/// `last_step` (the last step accepted for this user, if any). Returns the accepted step, which
/// the caller must store as the new `last_step`. Every candidate step is compared (in constant
/// time), whichever matches.
pub fn verify(
    totp: &TOTP,
    code: &str,
    unix_secs: u64,
    last_step: Option<u64>,
) -> Result<u64, Refusal> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::Malformed);
    }
    let now = step_of(unix_secs);
    let mut matched: Option<u64> = None;
    for step in now.saturating_sub(u64::from(SKEW_STEPS))..=now + u64::from(SKEW_STEPS) {
        let expected = totp.generate(step * STEP_SECS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            // The latest matching step (codes of different steps collide with p = 1e-6).
            matched = Some(step);
        }
    }
    match matched {
        None => Err(Refusal::Wrong),
        Some(step) if last_step.is_some_and(|last| step <= last) => Err(Refusal::Replayed),
        Some(step) => Ok(step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1 (seed "12345678901234567890", 8 digits).
    #[test]
    fn rfc6238_sha1_vectors() {
        let totp = TOTP::new(
            Algorithm::SHA1,
            8,
            1,
            30,
            b"12345678901234567890".to_vec(),
            None,
            "test".into(),
        )
        .expect("valid");
        for (t, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.generate(t), code, "T = {t}");
        }
        // The same vectors truncated to the demo's 6 digits (mod 10^6).
        let six = generator(b"12345678901234567890", "test").expect("valid");
        assert_eq!(six.generate(59), "287082");
        assert_eq!(six.generate(1_111_111_109), "081804");
    }

    #[test]
    fn skew_is_one_step_either_way() {
        let secret = b"12345678901234567890";
        let totp = generator(secret, "alice").expect("valid");
        let t = 1_234_567_890u64;
        let step = step_of(t);
        assert_eq!(verify(&totp, &totp.generate(t), t, None), Ok(step));
        assert_eq!(verify(&totp, &totp.generate(t - 30), t, None), Ok(step - 1));
        assert_eq!(verify(&totp, &totp.generate(t + 30), t, None), Ok(step + 1));
        // Two steps away: refused (unless it happens to equal a code in the window).
        for off in [-60i64, 60] {
            let code = totp.generate(t.saturating_add_signed(off));
            let in_window =
                (-1..=1).any(|d| totp.generate(t.saturating_add_signed(d * 30)) == code);
            if !in_window {
                assert_eq!(verify(&totp, &code, t, None), Err(Refusal::Wrong));
            }
        }
    }

    #[test]
    fn a_code_is_not_accepted_twice() {
        let totp = generator(b"abcdefghijklmnopqrst", "bob").expect("valid");
        let t = 1_700_000_000u64;
        let code = totp.generate(t);
        let step = verify(&totp, &code, t, None).expect("first use");
        assert_eq!(verify(&totp, &code, t, Some(step)), Err(Refusal::Replayed));
        assert_eq!(
            verify(&totp, &code, t + 29, Some(step)),
            Err(Refusal::Replayed)
        );
        // An older code inside the window is a replay too once a newer step was used.
        let older = totp.generate(t - 30);
        if older != code {
            assert_eq!(verify(&totp, &older, t, Some(step)), Err(Refusal::Replayed));
        }
        // The next step's code is fine.
        let next = totp.generate(t + 30);
        assert_eq!(verify(&totp, &next, t + 30, Some(step)), Ok(step + 1));
    }

    #[test]
    fn malformed_codes_are_refused() {
        let totp = generator(&[7u8; SECRET_LEN], "carol").expect("valid");
        for code in ["", "12345", "1234567", "12a456", " 12345", "١٢٣٤٥٦"] {
            assert_eq!(
                verify(&totp, code, 1_000, None),
                Err(Refusal::Malformed),
                "{code:?}"
            );
        }
        assert!(
            generator(&[1u8; 8], "short").is_err(),
            "secrets under 128 bits are refused"
        );
    }

    #[test]
    fn otpauth_uri_names_issuer_account_and_secret() {
        let totp = generator(b"12345678901234567890", "al:ice").expect("valid");
        let url = totp.get_url();
        assert_eq!(
            url,
            "otpauth://totp/Northwind%20Bank:al_ice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Northwind%20Bank"
        );
        assert_eq!(new_secret().expect("rng").len(), SECRET_LEN);
        assert_eq!(
            secret_from_base32(&totp.get_secret_base32()).expect("base32"),
            b"12345678901234567890"
        );
        assert!(secret_from_base32("not base32!").is_err());
    }
}
