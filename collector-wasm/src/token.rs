//! Token assembly: fill `protocol::token::TokenBody` and `seal` it with the per-challenge key.

use tollgate_protocol::challenge::Challenge;
use tollgate_protocol::telemetry::Telemetry;
use tollgate_protocol::token::{MAX_ACTION, MAX_CDATA, MAX_ORIGIN};
use tollgate_protocol::{ClientContext, PROTOCOL_VERSION, SolveStats, TokenBody, b64_decode, pow};

/// Everything a token needs besides telemetry.
#[derive(Debug, Clone)]
pub struct TokenInput<'a> {
    /// The challenge as received (base64url of the wire bytes).
    pub challenge_b64: &'a str,
    /// The per-challenge MAC key as received (base64url, 32 bytes).
    pub token_key_b64: &'a str,
    /// One nonce per sub-puzzle, in sub-puzzle order.
    pub solutions: &'a [u64],
    pub solve: SolveStats,
    pub origin: &'a str,
    pub action: &'a str,
    pub cdata: &'a str,
}

/// Build and seal a token. Refuses inputs the verifier would reject anyway (wrong challenge
/// length, wrong key length, solutions that do not meet the difficulty, over-long context strings,
/// telemetry over the caps), so a bug shows up in the page instead of as a silent failed login.
pub fn seal_token(input: &TokenInput<'_>, telemetry: Telemetry) -> Result<String, String> {
    let wire = b64_decode(input.challenge_b64).map_err(|e| format!("challenge: {e}"))?;
    let challenge = Challenge::parse(&wire).map_err(|e| format!("challenge: {e}"))?;
    let key: [u8; 32] = b64_decode(input.token_key_b64)
        .map_err(|e| format!("token key: {e}"))?
        .try_into()
        .map_err(|_| "token key: expected 32 bytes".to_string())?;
    pow::verify(&wire, challenge.body.pow, input.solutions)
        .map_err(|e| format!("solutions: {e}"))?;
    for (name, value, max) in [
        ("origin", input.origin, MAX_ORIGIN),
        ("action", input.action, MAX_ACTION),
        ("cdata", input.cdata, MAX_CDATA),
    ] {
        if value.len() > max {
            return Err(format!("{name} is longer than {max} bytes"));
        }
    }
    telemetry.check_limits().map_err(|e| e.to_string())?;
    let body = TokenBody {
        version: PROTOCOL_VERSION,
        challenge: wire,
        solutions: input.solutions.to_vec(),
        solve: input.solve,
        context: ClientContext {
            origin: input.origin.to_string(),
            action: input.action.to_string(),
            cdata: input.cdata.to_string(),
        },
        telemetry,
    };
    body.seal(&key).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::tests::challenge;
    use tollgate_protocol::challenge::PowParams;
    use tollgate_protocol::token::DecodedToken;
    use tollgate_protocol::{b64_encode, telemetry::TelemetryBuilder};

    #[test]
    fn sealed_token_decodes_and_verifies() {
        let wire = challenge(3, 6);
        let sols = pow::solve_all(&wire, PowParams { k: 3, bits: 6 }).unwrap();
        let key = [9u8; 32];
        let (cb, kb) = (b64_encode(&wire), b64_encode(&key));
        let input = TokenInput {
            challenge_b64: &cb,
            token_key_b64: &kb,
            solutions: &sols,
            solve: SolveStats {
                duration_ms: 5,
                workers: 1,
                solver: 0,
                hashes: 100,
            },
            origin: "http://127.0.0.1:8080",
            action: "login",
            cdata: "",
        };
        let text = seal_token(&input, TelemetryBuilder::new().finish()).unwrap();
        let d = DecodedToken::decode(&text).unwrap();
        d.verify_mac(&key).unwrap();
        assert_eq!(d.body.solutions, sols);
        assert_eq!(d.body.context.action, "login");

        let bad = [0u64, 0, 0];
        let input_bad = TokenInput {
            solutions: &bad,
            ..input.clone()
        };
        // Solutions of 0 are astronomically unlikely to all pass 6 bits; verify says so.
        assert!(pow::verify(&wire, PowParams { k: 3, bits: 6 }, &bad).is_err());
        assert!(seal_token(&input_bad, Telemetry::default()).is_err());
        let short_key = b64_encode(&[1u8; 16]);
        assert!(
            seal_token(
                &TokenInput {
                    token_key_b64: &short_key,
                    ..input.clone()
                },
                Telemetry::default()
            )
            .is_err()
        );
        let long_action = "a".repeat(MAX_ACTION + 1);
        assert!(
            seal_token(
                &TokenInput {
                    action: &long_action,
                    ..input
                },
                Telemetry::default()
            )
            .is_err()
        );
    }
}
