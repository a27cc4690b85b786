//! The proof-of-work kernel where it really runs: inside a dedicated Worker in headless
//! Chromium, checked against `sha2` (`pow::first_word` is one `sha2::compress256` of the padded
//! block; the protocol's native tests check that against a full `Sha256::digest`).
//!
//! Runs for whichever build is tested: the scalar build in `make test`, and the simd128 build
//! (two interleaved `v128`, 8 lanes) with
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"`
//! (see bench/README.md; the test asserts which kernel it ran).
#![cfg(target_arch = "wasm32")]

use tollgate_protocol::pow::{self, first_word, prefix};
use tollgate_protocol::solver::{self, Lanes, Midstate, NativeLanes};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[wasm_bindgen_test]
fn build_kind_is_what_was_asked_for() {
    assert_eq!(solver::SIMD, cfg!(target_feature = "simd128"));
    let width = <NativeLanes as Lanes>::WIDTH;
    assert_eq!(width, if solver::SIMD { 8 } else { 1 });
}

#[wasm_bindgen_test]
fn kernel_matches_sha2_on_random_inputs() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let width = <NativeLanes as Lanes>::WIDTH;
    for _ in 0..300 {
        let mut seed = [0u8; 32];
        for b in seed.iter_mut() {
            *b = xorshift(&mut rng) as u8;
        }
        let bits = (xorshift(&mut rng) % 32) as u8 + 1;
        let p = prefix(&seed, xorshift(&mut rng) as u16, bits);
        let base = xorshift(&mut rng);
        let hi = (base >> 32) as u32;
        let mid = Midstate::new(&p, hi);
        let lo = base as u32;
        let words = mid.first_words(NativeLanes::counting(lo));
        for j in 0..width {
            let nonce = (u64::from(hi) << 32) | u64::from(lo.wrapping_add(j as u32));
            assert_eq!(words.lane(j), first_word(&p, nonce), "lane {j}");
        }
    }
}

#[wasm_bindgen_test]
fn search_finds_the_reference_solution() {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for bits in [1u8, 3, 8, 12] {
        let mut seed = [0u8; 32];
        for b in seed.iter_mut() {
            *b = xorshift(&mut rng) as u8;
        }
        let p = prefix(&seed, 7, bits);
        let start = xorshift(&mut rng) >> 20;
        let want = pow::solve_range(&p, bits, start, 1 << 16);
        let (got, hashed) = solver::search(&p, bits, start, 1 << 16);
        assert_eq!(got, want, "bits {bits}");
        if let Some(n) = want {
            assert_eq!(hashed, n - start + 1);
        }
    }
    // Crossing a high-word boundary mid-step (8 lanes) keeps exact counts.
    let p = prefix(&[5; 32], 0, 32);
    assert_eq!(solver::search(&p, 32, (1u64 << 32) - 3, 10), (None, 10));
}
