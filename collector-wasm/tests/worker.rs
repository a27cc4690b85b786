//! The solver where it really runs: inside a dedicated Worker (headless Chromium).
#![cfg(target_arch = "wasm32")]

mod common;

use tollgate_protocol::challenge::PowParams;
use tollgate_protocol::pow;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn solver_in_a_worker() {
    // No `window` here: the solver needs nothing from the DOM.
    assert!(
        js_sys::Reflect::get(&js_sys::global(), &"window".into())
            .unwrap()
            .is_undefined()
    );
    let wire = common::challenge(32, 12, 3);
    let (sols, _) = common::solve_in_chunks(&wire, 32, 32768);
    pow::verify(&wire, PowParams { k: 32, bits: 12 }, &sols).expect("valid solutions");
}

#[wasm_bindgen_test]
fn multi_index_chunk_matches_single() {
    let wire = common::challenge(8, 6, 4);
    let all = tollgate_collector::solve_chunk(&wire, 0, 8, 0, 1 << 16)
        .map_err(|_| "solve")
        .unwrap();
    let (single, _) = common::solve_in_chunks(&wire, 8, 1 << 16);
    assert_eq!(all, single);
    assert!(tollgate_collector::solve_chunk(&wire, 7, 9, 0, 10).is_err());
}

/// Sealing works in a worker too (no DOM, no `window`): the same logs give the same token body.
#[wasm_bindgen_test]
fn seal_in_a_worker() {
    let (wire, sols, hashes, key) = common::solved(4, 6, 5);
    let bytes = common::seal_sample(&wire, &sols, hashes, &key).expect("seal");
    let d = tollgate_protocol::token::DecodedToken::decode(&tollgate_protocol::b64_encode(&bytes))
        .expect("decodes");
    d.verify_mac(&key).expect("MAC verifies");
    common::check_sample(&d, &wire, &sols, hashes);
}
