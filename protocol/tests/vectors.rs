//! Golden test vectors shared by the verifier and the wasm build (`protocol/testdata/vectors.json`).
//!
//! Regenerate (only when the protocol version changes) with
//! `TOLLGATE_REGEN_VECTORS=1 cargo test -p tollgate-protocol --test vectors`.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tollgate_protocol::challenge::{Challenge, ChallengeBody, PowParams};
use tollgate_protocol::telemetry::{
    TelemetryBuilder, key_class, pointer_kind, pointer_type, probe,
};
use tollgate_protocol::token::{ClientContext, DecodedToken, SolveStats, TokenBody};
use tollgate_protocol::{bind_hash, derive_token_key, pow, site_id};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/vectors.json");

fn compute() -> Value {
    let seed = [0x42u8; 32];
    let key = SigningKey::from_bytes(&seed);
    let origin = "http://127.0.0.1:8080";
    let body = ChallengeBody {
        version: 1,
        key_id: 1,
        site_id: site_id("tgdev-localhost-sitekey"),
        challenge_id: *b"0123456789abcdef",
        issued_at_ms: 1_795_000_000_000,
        expires_at_ms: 1_795_000_300_000,
        pow: PowParams { k: 4, bits: 8 },
        risk_tier: 0,
        origin_hash: bind_hash(b"origin", origin),
        action_hash: bind_hash(b"action", "login"),
        cdata_hash: bind_hash(b"cdata", "order-42"),
    };
    let challenge = Challenge::sign(body.clone(), &key);
    let wire = challenge.to_bytes();
    let pow_seed = pow::seed(&wire);
    let solutions = pow::solve_all(&wire, body.pow).unwrap();
    let secret = b"golden-mac-secret";
    let token_key = derive_token_key(secret, 1, &body.challenge_id);

    let mut tb = TelemetryBuilder::new();
    tb.pointer(
        12.5,
        pointer_kind::MOVE,
        100.0,
        100.0,
        0,
        pointer_type::MOUSE,
        0.0,
        1,
    );
    tb.pointer(
        29.2,
        pointer_kind::MOVE,
        110.5,
        104.25,
        0,
        pointer_type::MOUSE,
        0.0,
        1,
    );
    tb.pointer(
        400.0,
        pointer_kind::DOWN,
        110.5,
        104.25,
        1,
        pointer_type::MOUSE,
        0.5,
        1,
    );
    tb.pointer(
        480.0,
        pointer_kind::UP,
        110.5,
        104.25,
        0,
        pointer_type::MOUSE,
        0.0,
        1,
    );
    tb.key(900.0, 995.0, key_class::CHAR, 0, 1);
    tb.key(1100.0, 1180.0, key_class::SHIFT, 0, 1);
    tb.field(850.0, 0, 0);
    let mut telemetry = tb.finish();
    telemetry.probes.push(tollgate_protocol::telemetry::Probe {
        id: probe::WEBDRIVER,
        value: tollgate_protocol::telemetry::ProbeValue::Bool(false),
    });
    let token = TokenBody {
        version: 1,
        challenge: wire.clone(),
        solutions: solutions.clone(),
        solve: SolveStats {
            duration_ms: 150,
            workers: 2,
            solver: 0,
            hashes: 1000,
        },
        context: ClientContext {
            origin: origin.into(),
            action: "login".into(),
            cdata: "order-42".into(),
        },
        telemetry,
    };
    let sealed = token.seal(&token_key).unwrap();
    json!({
        "comment": "Tollgate protocol v1 golden vectors. Inputs are fixed; every hex/text value must be reproduced exactly.",
        "signing_key_seed_hex": hex::encode(seed),
        "public_key_hex": hex::encode(key.verifying_key().to_bytes()),
        "site_key": "tgdev-localhost-sitekey",
        "origin": origin,
        "action": "login",
        "cdata": "order-42",
        "challenge_body_hex": hex::encode(body.encode()),
        "challenge_wire_hex": hex::encode(&wire),
        "pow_seed_hex": hex::encode(pow_seed),
        "pow_prefix0_hex": hex::encode(pow::prefix(&pow_seed, 0, 8)),
        "pow_k": 4,
        "pow_bits": 8,
        "solutions": solutions,
        "mac_secret_utf8": "golden-mac-secret",
        "token_key_hex": hex::encode(token_key),
        "token_text": sealed,
    })
}

#[test]
fn golden_vectors_match() {
    let computed = compute();
    if std::env::var_os("TOLLGATE_REGEN_VECTORS").is_some() {
        std::fs::write(
            PATH,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(PATH).expect("vectors.json present"))
            .unwrap();
    assert_eq!(
        stored, computed,
        "protocol output changed: wire compatibility broken"
    );
}

#[test]
fn golden_token_decodes_and_verifies() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let token = DecodedToken::decode(v["token_text"].as_str().unwrap()).unwrap();
    let key: [u8; 32] = hex::decode(v["token_key_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    token.verify_mac(&key).unwrap();
    let pk: [u8; 32] = hex::decode(v["public_key_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap();
    token
        .challenge
        .verify(|id| (id == 1).then_some(vk))
        .unwrap();
    pow::verify(
        &token.body.challenge,
        token.challenge.body.pow,
        &token.body.solutions,
    )
    .unwrap();
    assert_eq!(token.body.telemetry.pointer.len(), 4);
}
