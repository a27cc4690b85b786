//! Sealed tokens, built the way the browser collector builds them (`collector-wasm/src/token.rs`):
//! proof of work solved, body encoded, MAC under the challenge's token key.

use tollgate_protocol::challenge::{Challenge, PowParams};
use tollgate_protocol::telemetry::Telemetry;
use tollgate_protocol::token::{ClientContext, SolveStats, TOKEN_KEY_LEN, TokenBody};
use tollgate_protocol::{PROTOCOL_VERSION, b64_decode, pow};

use crate::Error;

/// The solve statistics a [`TokenSpec`] reports unless told otherwise: a plausible 420 ms solve
/// on two workers.
pub const DEFAULT_SOLVE: SolveStats = SolveStats {
    duration_ms: 420,
    workers: 2,
    solver: 1,
    hashes: 1234,
};

/// What a token carries besides its challenge: the client context the page reports, telemetry
/// and solve statistics. Independent of any challenge, so one spec seals many tokens.
///
/// Fields are public for tests that want to poke at one (`spec.telemetry.probes.push(..)`).
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Token format version.
    pub version: u8,
    /// The page's origin.
    pub origin: String,
    /// The widget's action.
    pub action: String,
    /// The widget's customer data.
    pub cdata: String,
    /// Behaviour and environment (default: none).
    pub telemetry: Telemetry,
    /// Solve statistics (default: [`DEFAULT_SOLVE`]).
    pub solve: SolveStats,
}

impl TokenSpec {
    /// A token from `origin` for `action` with `cdata`, no telemetry, [`DEFAULT_SOLVE`].
    pub fn new(origin: &str, action: &str, cdata: &str) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            origin: origin.into(),
            action: action.into(),
            cdata: cdata.into(),
            telemetry: Telemetry::default(),
            solve: DEFAULT_SOLVE,
        }
    }

    /// With this telemetry.
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// With these solve statistics.
    pub fn solve_stats(mut self, solve: SolveStats) -> Self {
        self.solve = solve;
        self
    }

    /// The token body for `challenge_wire` with the given PoW `solutions` (unsealed).
    pub fn body(&self, challenge_wire: &[u8], solutions: Vec<u64>) -> TokenBody {
        TokenBody {
            version: self.version,
            challenge: challenge_wire.to_vec(),
            solutions,
            solve: self.solve,
            context: ClientContext {
                origin: self.origin.clone(),
                action: self.action.clone(),
                cdata: self.cdata.clone(),
            },
            telemetry: self.telemetry.clone(),
        }
    }

    /// Seal a token for `challenge_wire` under `token_key`, solving the proof of work the
    /// challenge asks for.
    ///
    /// # Errors
    /// The wire does not parse as a challenge, its PoW parameters are invalid, or the body
    /// exceeds an encoding limit.
    pub fn seal(
        &self,
        challenge_wire: &[u8],
        token_key: &[u8; TOKEN_KEY_LEN],
    ) -> Result<String, Error> {
        let params = Challenge::parse(challenge_wire)?.body.pow;
        let solutions = solve(challenge_wire, params)?;
        self.seal_solved(challenge_wire, solutions, token_key)
    }

    /// Seal with the given `solutions` (right, wrong or too few: nothing is checked).
    ///
    /// # Errors
    /// The body exceeds an encoding limit.
    pub fn seal_solved(
        &self,
        challenge_wire: &[u8],
        solutions: Vec<u64>,
        token_key: &[u8; TOKEN_KEY_LEN],
    ) -> Result<String, Error> {
        Ok(self.body(challenge_wire, solutions).seal(token_key)?)
    }

    /// Seal a token for a `/v1/challenge` reply: its `challenge` and `token_key` fields
    /// (base64url), as a browser would.
    ///
    /// # Errors
    /// Bad base64, a token key that is not 32 bytes, or [`TokenSpec::seal`]'s errors.
    pub fn seal_reply(&self, challenge_b64: &str, token_key_b64: &str) -> Result<String, Error> {
        let wire = b64_decode(challenge_b64)?;
        self.seal(&wire, &token_key_from_b64(token_key_b64)?)
    }
}

/// Solve every sub-puzzle of `challenge_wire` at `params` (the reference solver: the first
/// nonce of each).
///
/// # Errors
/// Invalid PoW parameters.
pub fn solve(challenge_wire: &[u8], params: PowParams) -> Result<Vec<u64>, Error> {
    Ok(pow::solve_all(challenge_wire, params)?)
}

/// A token key from its base64url text (the `token_key` of a challenge reply).
///
/// # Errors
/// Bad base64, or not [`TOKEN_KEY_LEN`] bytes.
pub fn token_key_from_b64(text: &str) -> Result<[u8; TOKEN_KEY_LEN], Error> {
    let raw = b64_decode(text)?;
    let len = raw.len();
    raw.try_into().map_err(|_| Error::TokenKeyLength(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChallengeSpec, TelemetrySpec};
    use tollgate_protocol::b64_encode;
    use tollgate_protocol::token::DecodedToken;

    #[test]
    fn sealed_token_decodes_and_verifies() {
        let c = ChallengeSpec::new("s")
            .origin("https://o")
            .action("a")
            .sign();
        let key = c.token_key(b"mac");
        let tel = TelemetrySpec::short_human(0.0).build();
        let text = c
            .token_spec()
            .telemetry(tel.clone())
            .seal(c.wire(), &key)
            .unwrap();
        let d = DecodedToken::decode(&text).unwrap();
        d.verify_mac(&key).unwrap();
        assert!(d.verify_mac(&[0; 32]).is_err());
        d.challenge.verify(|_| Some(c.verifying_key())).unwrap();
        pow::verify(&d.body.challenge, c.body().pow, &d.body.solutions).unwrap();
        assert_eq!(d.body.context.origin, "https://o");
        assert_eq!(d.body.solve, DEFAULT_SOLVE);
        assert_eq!(d.body.telemetry, tel);
        // Deterministic: same inputs, same text.
        assert_eq!(
            text,
            c.token_spec().telemetry(tel).seal(c.wire(), &key).unwrap()
        );
    }

    #[test]
    fn reply_form_and_errors() {
        let c = ChallengeSpec::new("s").sign();
        let key = c.token_key(b"mac");
        let spec = TokenSpec::new("o", "", "");
        let a = spec
            .seal_reply(&b64_encode(c.wire()), &b64_encode(&key))
            .unwrap();
        assert_eq!(a, spec.seal(c.wire(), &key).unwrap());
        assert!(matches!(
            spec.seal_reply(&b64_encode(c.wire()), &b64_encode(&[1; 31])),
            Err(Error::TokenKeyLength(31))
        ));
        assert!(spec.seal_reply("!!", &b64_encode(&key)).is_err());
        assert!(spec.seal(&[1, 2, 3], &key).is_err());
        // Wrong solutions are sealed as given.
        let bad = spec.seal_solved(c.wire(), vec![0], &key).unwrap();
        assert_eq!(DecodedToken::decode(&bad).unwrap().body.solutions, [0]);
    }
}
