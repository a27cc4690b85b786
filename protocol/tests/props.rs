//! Property tests: arbitrary and mutated inputs never panic and are never accepted.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use tollgate_protocol::challenge::{Challenge, ChallengeBody, PowParams};
use tollgate_protocol::telemetry::TelemetryBuilder;
use tollgate_protocol::token::{ClientContext, DecodedToken, SolveStats, TokenBody};
use tollgate_protocol::{b64_decode, b64_encode, bind_hash, derive_token_key, pow, site_id};

struct Fixture {
    text: String,
    key: [u8; 32],
    vk: ed25519_dalek::VerifyingKey,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let sk = SigningKey::from_bytes(&[9; 32]);
    let body = ChallengeBody {
        version: 1,
        key_id: 3,
        site_id: site_id("s"),
        challenge_id: [1; 16],
        issued_at_ms: 10,
        expires_at_ms: 20,
        pow: PowParams { k: 3, bits: 6 },
        risk_tier: 0,
        origin_hash: bind_hash(b"origin", "http://localhost"),
        action_hash: bind_hash(b"action", ""),
        cdata_hash: bind_hash(b"cdata", ""),
    };
    let wire = Challenge::sign(body.clone(), &sk).to_bytes();
    let solutions = pow::solve_all(&wire, body.pow).unwrap();
    let key = derive_token_key(b"secret", 3, &body.challenge_id);
    let mut tb = TelemetryBuilder::new();
    for i in 0..20 {
        tb.pointer(
            f64::from(i) * 16.7,
            0,
            f64::from(i) * 3.0,
            50.0,
            0,
            1,
            0.0,
            1,
        );
    }
    tb.key(500.0, 600.0, 0, 0, 1);
    let text = TokenBody {
        version: 1,
        challenge: wire,
        solutions,
        solve: SolveStats::default(),
        context: ClientContext {
            origin: "http://localhost".into(),
            ..Default::default()
        },
        telemetry: tb.finish(),
    }
    .seal(&key)
    .unwrap();
    Fixture {
        text,
        key,
        vk: sk.verifying_key(),
    }
}

/// Full protocol-level acceptance: decode, signature, MAC, PoW.
fn accepts(f: &Fixture, text: &str) -> bool {
    let Ok(t) = DecodedToken::decode(text) else {
        return false;
    };
    t.challenge.verify(|_| Some(f.vk)).is_ok()
        && t.verify_mac(&f.key).is_ok()
        && pow::verify(&t.body.challenge, t.challenge.body.pow, &t.body.solutions).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_byte_flip_is_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let f = fixture();
        let mut raw = b64_decode(&f.text).unwrap();
        let i = pos.index(raw.len());
        raw[i] ^= 1 << bit;
        prop_assert!(!accepts(f, &b64_encode(&raw)));
    }

    #[test]
    fn truncation_and_extension_rejected(cut in any::<prop::sample::Index>(), extra in prop::collection::vec(any::<u8>(), 1..16)) {
        let f = fixture();
        let raw = b64_decode(&f.text).unwrap();
        let n = cut.index(raw.len());
        prop_assert!(!accepts(f, &b64_encode(&raw[..n])));
        let mut longer = raw.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(!accepts(f, &b64_encode(&longer)));
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = DecodedToken::decode(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = DecodedToken::decode(&b64_encode(&bytes));
        let _ = Challenge::parse(&bytes);
    }
}

#[test]
fn fixture_is_accepted() {
    let f = fixture();
    assert!(accepts(f, &f.text));
}
