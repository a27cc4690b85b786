//! The collector in a real browser page (headless Chromium via wasm-bindgen-test-runner):
//! solver, sealing the loader's logs into a token, golden vectors. (Listeners and probes are
//! the loader's JavaScript: tests/e2e exercise them in real pages.)
#![cfg(target_arch = "wasm32")]

mod common;

use tollgate_protocol::challenge::PowParams;
use tollgate_protocol::token::DecodedToken;
use tollgate_protocol::{b64_encode, pow};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn solver_finds_valid_nonces() {
    let wire = common::challenge(16, 10, 1);
    let (sols, hashes) = common::solve_in_chunks(&wire, 16, 4096);
    pow::verify(&wire, PowParams { k: 16, bits: 10 }, &sols).expect("valid solutions");
    assert!(hashes >= 16);
    // The chunked search finds the same (first) nonces as the reference solver.
    assert_eq!(
        sols,
        pow::solve_all(&wire, PowParams { k: 16, bits: 10 }).unwrap()
    );
    // The build reports which kernel it runs (the loader ships a simd128 and a scalar build).
    assert_eq!(
        tollgate_collector::solver_kind(),
        u8::from(cfg!(target_feature = "simd128"))
    );
}

#[wasm_bindgen_test]
fn token_sealed_in_the_page_decodes_and_verifies() {
    let (wire, sols, hashes, key) = common::solved(8, 8, 2);
    let text = b64_encode(&common::seal_sample(&wire, &sols, hashes, &key).expect("seal"));
    let d = DecodedToken::decode(&text).expect("decodes");
    d.verify_mac(&key).expect("MAC verifies");
    assert!(d.verify_mac(&[0u8; 32]).is_err());
    common::check_sample(&d, &wire, &sols, hashes);

    // Garbage in gives an error, not a panic (the collector must never break the page).
    assert!(common::seal_with(&wire[..10], &sols, &key).is_err());
    assert!(common::seal_with(&wire, &[0; 3], &key).is_err());
    assert!(common::seal_with(&wire, &sols, &key[..16]).is_err());
}

/// `protocol/testdata/vectors.json`: the browser build reproduces the golden PoW solutions and
/// accepts the golden token (decode + MAC with the golden per-challenge key).
#[wasm_bindgen_test]
fn golden_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../protocol/testdata/vectors.json")).unwrap();
    let wire = common::hex(v["challenge_wire_hex"].as_str().unwrap());
    let k = v["pow_k"].as_u64().unwrap() as u16;
    let bits = v["pow_bits"].as_u64().unwrap() as u8;
    let want: Vec<u64> = v["solutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(
        pow::seed(&wire).to_vec(),
        common::hex(v["pow_seed_hex"].as_str().unwrap())
    );
    let (sols, _) = common::solve_in_chunks(&wire, k, 100);
    assert_eq!(sols, want);
    // The loader reads k and bits from the fixed layout (offsets 53, 55).
    assert_eq!(
        (u16::from_be_bytes([wire[53], wire[54]]), wire[55]),
        (k, bits)
    );

    let key: [u8; 32] = common::hex(v["token_key_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let d = DecodedToken::decode(v["token_text"].as_str().unwrap()).unwrap();
    d.verify_mac(&key).unwrap();
    assert_eq!(d.body.solutions, want);
    assert_eq!(d.body.context.action, v["action"].as_str().unwrap());
}
