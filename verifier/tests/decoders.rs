//! Property tests on stable for the decoders the fuzz targets cover (`fuzz/`): challenge wire
//! bytes, telemetry (postcard) plus feature extraction. Token text decoding is covered in
//! `protocol/tests/props.rs` and `tests/api.rs` (mutated tokens), the intel trace adapter in
//! `intel/tests/trace_adapter.rs`.

use proptest::prelude::*;
use tollgate_model::features::{self, Session};
use tollgate_protocol::challenge::{BODY_LEN, Challenge, WIRE_LEN};
use tollgate_protocol::telemetry::{KeyRec, PointerRec, ProbeValue, Telemetry, probe};
use tollgate_testkit::{ChallengeSpec, TelemetrySpec};

fn sample_challenge() -> Vec<u8> {
    ChallengeSpec::new("site")
        .key_id(7)
        .challenge_id([9; 16])
        .issued_at(1_800_000_000_000)
        .pow(4, 4)
        .risk_tier(0x0A)
        .origin("https://a.example")
        .action("login")
        .cdata("order-42")
        .signing_seed([5; 32])
        .sign()
        .wire()
        .to_vec()
}

fn key() -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key()
}

fn sample_telemetry() -> Telemetry {
    TelemetrySpec::short_human(0.0)
        .fingerprint(vec![1; 16])
        .probe(probe::USER_AGENT, ProbeValue::Str("Mozilla/5.0".into()))
        .build()
}

fn arb_pointer() -> impl Strategy<Value = PointerRec> {
    (
        any::<u32>(),
        0u8..8,
        any::<i32>(),
        any::<i32>(),
        any::<u8>(),
        0u8..5,
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(
            |(dt, kind, dx, dy, buttons, ptype, pressure, flags)| PointerRec {
                dt,
                kind,
                dx,
                dy,
                buttons,
                ptype,
                pressure,
                flags,
            },
        )
}

fn arb_key() -> impl Strategy<Value = KeyRec> {
    (any::<u32>(), any::<u32>(), 0u8..9, any::<u8>(), any::<u8>()).prop_map(
        |(dt, hold, class, field, flags)| KeyRec {
            dt,
            hold,
            class,
            field,
            flags,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn challenge_bytes_never_panic_and_parse_canonically(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(ch) = Challenge::parse(&bytes) {
            prop_assert_eq!(ch.to_bytes(), bytes);
            let _ = ch.verify(|_| Some(key()));
        }
    }

    #[test]
    fn any_challenge_bit_flip_breaks_the_signature(pos in 0..WIRE_LEN, bit in 0u8..8) {
        let mut b = sample_challenge();
        b[pos] ^= 1 << bit;
        match Challenge::parse(&b) {
            Ok(ch) => prop_assert!(ch.verify(|_| Some(key())).is_err(), "flip at {} accepted", pos),
            Err(_) => prop_assert!(pos < BODY_LEN, "only body bytes can fail to parse"),
        }
    }

    #[test]
    fn telemetry_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(t) = postcard::from_bytes::<Telemetry>(&bytes)
            && t.check_limits().is_ok()
        {
            let f = features::extract(&Session::from_telemetry(&t));
            prop_assert!(f.values.iter().flatten().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn telemetry_mutations_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut b = postcard::to_allocvec(&sample_telemetry()).unwrap();
        let p = pos.index(b.len());
        b[p] = byte;
        let c = cut.index(b.len() + 1);
        for slice in [&b[..], &b[..c]] {
            if let Ok(t) = postcard::from_bytes::<Telemetry>(slice) {
                let _ = t.check_limits();
                let _ = features::extract(&Session::from_telemetry(&t));
            }
        }
    }

    #[test]
    fn arbitrary_records_give_finite_features(
        pointer in prop::collection::vec(arb_pointer(), 0..200),
        keys in prop::collection::vec(arb_key(), 0..60),
    ) {
        let t = Telemetry { pointer, keys, ..Telemetry::default() };
        let f = features::extract(&Session::from_telemetry(&t));
        prop_assert!(f.values.iter().flatten().all(|v| v.is_finite()));
    }
}

#[test]
fn sample_challenge_verifies() {
    let ch = Challenge::parse(&sample_challenge()).unwrap();
    assert!(ch.verify(|_| Some(key())).is_ok());
}
