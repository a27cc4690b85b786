//! Token assembly: fill `protocol::token::TokenBody` and seal it with the per-challenge key
//! (hand-written postcard encoding, `protocol::compact`; the loader base64url-encodes the bytes).

use alloc::string::String;
use alloc::vec::Vec;

use tollgate_protocol::challenge::Challenge;
use tollgate_protocol::compact::Writer;
use tollgate_protocol::telemetry::Telemetry;
use tollgate_protocol::token::{MAC_DOMAIN, MAC_LEN, TOKEN_KEY_LEN};
use tollgate_protocol::token::{MAX_ACTION, MAX_CDATA, MAX_ORIGIN, MAX_TOKEN_BYTES};
use tollgate_protocol::{ClientContext, PROTOCOL_VERSION, SolveStats, TokenBody, compact, pow};

use crate::solver::NONCE_LIMIT;
use crate::state::State;

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

/// Check what the verifier would reject anyway (bad challenge, wrong key length, solutions that
/// do not meet the difficulty — checked with the solver kernel already in the build — over-long
/// context strings), so a bug shows up in the page instead of as a silent failed login. Errors
/// are static strings: the browser build carries no `core::fmt`. Returns the MAC key.
fn check(input: &TokenInput<'_>) -> Result<[u8; TOKEN_KEY_LEN], &'static str> {
    let challenge = Challenge::parse(input.challenge).map_err(|_| "bad challenge")?;
    let params = challenge
        .body
        .pow
        .validate()
        .map_err(|_| "bad proof-of-work parameters")?;
    let key: [u8; TOKEN_KEY_LEN] = input
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
    Ok(key)
}

/// Build and seal a token (raw bytes: postcard body ‖ MAC) from the collector state, encoding
/// straight into the output (the browser path). Same bytes as [`seal_token`] with the state's
/// snapshot (`ingest` tests check it).
pub fn seal_state(
    input: &TokenInput<'_>,
    state: &State,
    now: f64,
    fingerprint: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let key = check(input)?;
    let mut w = Writer::default();
    w.u8(PROTOCOL_VERSION);
    w.bytes(input.challenge);
    w.varint(input.solutions.len() as u64);
    for &n in input.solutions {
        w.u64(n);
    }
    w.solve(&input.solve);
    w.str(input.origin);
    w.str(input.action);
    w.str(input.cdata);
    state.encode(now, fingerprint, &mut w);
    let tag = tollgate_protocol::sha::hmac_sha256(&key, &[MAC_DOMAIN, &w.out]);
    w.out.extend_from_slice(&tag[..MAC_LEN]);
    if w.out.len() > MAX_TOKEN_BYTES {
        return Err(TOO_LARGE);
    }
    Ok(w.out)
}

/// [`seal_state`]'s error when the token would exceed `MAX_TOKEN_BYTES`.
pub const TOO_LARGE: &str = "token too large";

/// [`seal_state`], dropping the oldest half of the pointer samples while the token would be too
/// large (a long session can outgrow the cap; the newest motion matters most).
pub fn seal_state_fitting(
    input: &TokenInput<'_>,
    state: &mut State,
    now: f64,
    fingerprint: &[u8],
) -> Result<Vec<u8>, &'static str> {
    loop {
        match seal_state(input, state, now, fingerprint) {
            Err(e) if e == TOO_LARGE && state.pointer_len() > 0 => {
                state.drop_oldest_pointer(state.pointer_len() / 2 + 1);
            }
            r => return r,
        }
    }
}

/// Build and seal a token from a finished `Telemetry` (reference path: `TokenBody` +
/// `protocol::compact`; also checks the telemetry caps).
pub fn seal_token(input: &TokenInput<'_>, telemetry: Telemetry) -> Result<Vec<u8>, &'static str> {
    let key = check(input)?;
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
        return Err(TOO_LARGE);
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

        // A state whose pointer samples would overflow the cap is trimmed, oldest first.
        let mut st = State::new(0.0);
        for i in 0..tollgate_protocol::telemetry::MAX_POINTER {
            st.pointer(crate::state::PtrSample {
                t: i as f64 * 7.3,
                x: (i * 7919 % 4000) as f64,
                y: (i * 104_729 % 3000) as f64,
                sx: (i % 97) as f64,
                w: (i % 50) as f64 + 0.5,
                h: (i % 43) as f64 + 0.25,
                ..Default::default()
            });
        }
        assert_eq!(seal_state(&input, &st, 1e5, &[]), Err(TOO_LARGE));
        let bytes = seal_state_fitting(&input, &mut st, 1e5, &[]).unwrap();
        assert!(bytes.len() <= MAX_TOKEN_BYTES);
        let d = DecodedToken::decode(&b64_encode(&bytes)).unwrap();
        let t = &d.body.telemetry;
        assert!(
            !t.pointer.is_empty() && t.pointer.len() < tollgate_protocol::telemetry::MAX_POINTER
        );
        assert_eq!(
            t.pointer.len() as u32 + t.dropped[0],
            tollgate_protocol::telemetry::MAX_POINTER as u32
        );
    }
}
