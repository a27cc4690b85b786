//! Token assembly: fill `protocol::token::TokenBody` and seal it with the per-challenge key
//! (hand-written postcard encoding, `protocol::compact`; the loader base64url-encodes the bytes).

use alloc::string::String;
use alloc::vec::Vec;

use tollgate_protocol::challenge::Challenge;
use tollgate_protocol::telemetry::Telemetry;
use tollgate_protocol::token::{MAX_ACTION, MAX_CDATA, MAX_ORIGIN, MAX_TOKEN_BYTES};
use tollgate_protocol::{ClientContext, PROTOCOL_VERSION, SolveStats, TokenBody, compact, pow};

use crate::solver::NONCE_LIMIT;

/// Everything a token needs besides telemetry.
#[derive(Debug, Clone)]
pub struct TokenInput<'a> {
    /// The challenge wire bytes as received.
    pub challenge: &'a [u8],
    /// The per-challenge MAC key as received (32 bytes).
    pub token_key: &'a [u8],
    /// One nonce per sub-puzzle, in sub-puzzle order.
    pub solutions: &'a [u64],
    pub solve: SolveStats,
    pub origin: &'a str,
    pub action: &'a str,
    pub cdata: &'a str,
}

/// Build and seal a token (raw bytes: body ‖ MAC). Refuses inputs the verifier would reject
/// anyway (bad challenge, wrong key length, solutions that do not meet the difficulty — checked
/// with the solver kernel already in the build — over-long context strings, telemetry over the
/// caps), so a bug shows up in the page instead of as a silent failed login. Errors are static
/// strings: the browser build carries no `core::fmt`.
pub fn seal_token(input: &TokenInput<'_>, telemetry: Telemetry) -> Result<Vec<u8>, &'static str> {
    let challenge = Challenge::parse(input.challenge).map_err(|_| "bad challenge")?;
    let params = challenge
        .body
        .pow
        .validate()
        .map_err(|_| "bad proof-of-work parameters")?;
    let key: [u8; 32] = input
        .token_key
        .try_into()
        .map_err(|_| "token key: expected 32 bytes")?;
    if input.solutions.len() != usize::from(params.k) {
        return Err("wrong number of solutions");
    }
    let seed = pow::seed(input.challenge);
    for (i, &nonce) in input.solutions.iter().enumerate() {
        let p = pow::prefix(&seed, i as u16, params.bits);
        if nonce >= NONCE_LIMIT
            || tollgate_protocol::solver::search(&p, params.bits, nonce, 1).0 != Some(nonce)
        {
            return Err("a solution does not meet the difficulty");
        }
    }
    if input.origin.len() > MAX_ORIGIN
        || input.action.len() > MAX_ACTION
        || input.cdata.len() > MAX_CDATA
    {
        return Err("origin, action or cdata too long");
    }
    telemetry
        .check_limits()
        .map_err(|_| "telemetry over a limit")?;
    let body = TokenBody {
        version: PROTOCOL_VERSION,
        challenge: input.challenge.to_vec(),
        solutions: input.solutions.to_vec(),
        solve: input.solve,
        context: ClientContext {
            origin: String::from(input.origin),
            action: String::from(input.action),
            cdata: String::from(input.cdata),
        },
        telemetry,
    };
    let bytes = compact::seal_bytes(&body, &key);
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err("token too large");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::tests::challenge;
    use tollgate_protocol::b64_encode;
    use tollgate_protocol::challenge::PowParams;
    use tollgate_protocol::telemetry::TelemetryBuilder;
    use tollgate_protocol::token::DecodedToken;

    #[test]
    fn sealed_token_decodes_and_verifies() {
        let wire = challenge(3, 6);
        let sols = pow::solve_all(&wire, PowParams { k: 3, bits: 6 }).unwrap();
        let key = [9u8; 32];
        let input = TokenInput {
            challenge: &wire,
            token_key: &key,
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
        let bytes = seal_token(&input, TelemetryBuilder::new().finish()).unwrap();
        let d = DecodedToken::decode(&b64_encode(&bytes)).unwrap();
        d.verify_mac(&key).unwrap();
        assert_eq!(d.body.solutions, sols);
        assert_eq!(d.body.context.action, "login");

        let bad = [0u64, 0, 0];
        assert!(pow::verify(&wire, PowParams { k: 3, bits: 6 }, &bad).is_err());
        let long_action = "a".repeat(MAX_ACTION + 1);
        let short_key = [1u8; 16];
        let variants = [
            TokenInput {
                solutions: &bad,
                ..input.clone()
            },
            TokenInput {
                solutions: &sols[..2],
                ..input.clone()
            },
            TokenInput {
                token_key: &short_key,
                ..input.clone()
            },
            TokenInput {
                challenge: &wire[..100],
                ..input.clone()
            },
            TokenInput {
                action: &long_action,
                ..input.clone()
            },
        ];
        for v in &variants {
            assert!(seal_token(v, Telemetry::default()).is_err());
        }
    }
}
