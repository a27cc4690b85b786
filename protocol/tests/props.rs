//! Property tests: arbitrary and mutated inputs never panic and are never accepted.

use proptest::prelude::*;
use tollgate_protocol::challenge::Challenge;
use tollgate_protocol::token::{DecodedToken, SolveStats};
use tollgate_protocol::{b64_decode, b64_encode, pow};
use tollgate_testkit::{ChallengeSpec, TelemetrySpec};

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
    let c = ChallengeSpec::new("s")
        .key_id(3)
        .signing_seed([9; 32])
        .challenge_id([1; 16])
        .issued_at(10)
        .expires_at(20)
        .pow(3, 6)
        .origin("http://localhost")
        .sign();
    let key = c.legacy_token_key(b"secret");
    let text = c
        .token_spec()
        .telemetry(TelemetrySpec::short_human(0.0).build())
        .solve_stats(SolveStats::default())
        .seal(c.wire(), &key)
        .unwrap();
    Fixture {
        text,
        key,
        vk: c.verifying_key(),
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
