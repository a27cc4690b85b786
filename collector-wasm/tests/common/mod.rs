//! Helpers shared by the browser test binaries.
#![allow(dead_code)]

use tollgate_protocol::challenge::{ChallengeBody, PowParams, WIRE_LEN};
use tollgate_protocol::telemetry::{
    ProbeValue, field_kind, key_class, key_flags, pointer_kind, probe, role,
};
use tollgate_protocol::token::DecodedToken;

/// An (unsigned) challenge with the given proof-of-work parameters. The browser never checks the
/// signature, so 64 filler bytes stand in for it.
pub fn challenge(k: u16, bits: u8, id: u8) -> Vec<u8> {
    let body = ChallengeBody {
        version: 1,
        key_id: 1,
        site_id: tollgate_protocol::site_id("tgdev-localhost-sitekey"),
        challenge_id: [id; 16],
        issued_at_ms: 1_700_000_000_000,
        expires_at_ms: 1_700_000_300_000,
        pow: PowParams { k, bits },
        risk_tier: 0,
        origin_hash: tollgate_protocol::bind_hash(b"origin", "http://127.0.0.1"),
        action_hash: tollgate_protocol::bind_hash(b"action", "login"),
        cdata_hash: tollgate_protocol::bind_hash(b"cdata", ""),
    };
    let mut w = body.encode().to_vec();
    w.resize(WIRE_LEN, 0xee);
    w
}

/// Solve every sub-puzzle through the exported chunked entry point, as the worker does.
pub fn solve_in_chunks(wire: &[u8], k: u16, chunk: u32) -> (Vec<u64>, u64) {
    let mut sols = Vec::with_capacity(usize::from(k));
    let mut hashes = 0u64;
    for i in 0..k {
        let mut start = 0u64;
        loop {
            let r =
                tollgate_collector::solve_chunk(wire, i, i + 1, start, chunk).expect("solve_chunk");
            assert_eq!(r.len(), 1);
            if r[0] != tollgate_collector::NOT_FOUND {
                hashes += r[0] - start + 1;
                sols.push(r[0]);
                break;
            }
            hashes += u64::from(chunk);
            start += u64::from(chunk);
        }
    }
    (sols, hashes)
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A challenge with k sub-puzzles of `bits`, solved; with a token key.
pub fn solved(k: u16, bits: u8, id: u8) -> (Vec<u8>, Vec<u64>, u64, [u8; 32]) {
    let wire = challenge(k, bits, id);
    let (sols, hashes) = solve_in_chunks(&wire, k, 32768);
    (wire, sols, hashes, [0x5a; 32])
}

/// Pack logs as the loader does (lengths first; `ingest::Logs::unpack`).
pub fn pack(parts: &[&[f64]]) -> Vec<f64> {
    let mut v: Vec<f64> = parts.iter().map(|p| p.len() as f64).collect();
    for p in parts {
        v.extend_from_slice(p);
    }
    v
}

/// `seal` as the loader calls it: token key ‖ challenge, solutions, packed logs, strings.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    wire: &[u8],
    key: &[u8],
    sols: &[u64],
    meta: &[f64],
    ptr: &[f64],
    ev: &[f64],
    targets: &[f64],
    probes: &[f64],
    strs: &str,
) -> Result<Vec<u8>, wasm_bindgen::JsError> {
    let mut kc = key.to_vec();
    kc.extend_from_slice(wire);
    tollgate_collector::seal(&kc, sols, &pack(&[meta, ptr, ev, targets, probes]), strs)
}

/// `seal` with empty logs.
pub fn seal_with(wire: &[u8], sols: &[u64], key: &[u8]) -> Result<Vec<u8>, wasm_bindgen::JsError> {
    seal(
        wire,
        key,
        sols,
        &[0.0; 8],
        &[],
        &[],
        &[],
        &[],
        "http://127.0.0.1\0login\0\0",
    )
}

/// Seal a small, known set of logs (layouts: collector-wasm/src/ingest.rs).
pub fn seal_sample(
    wire: &[u8],
    sols: &[u64],
    hashes: u64,
    key: &[u8],
) -> Result<Vec<u8>, wasm_bindgen::JsError> {
    let meta = [1000.0, 1700.0, 123.0, 2.0, 0.0, hashes as f64, 0.0, 0.0];
    let m = |kind: u32, buttons: u32| f64::from(kind | 1 << 3 | 1 << 5 | buttons << 8);
    #[rustfmt::skip]
    let ptr = [
        1100.0, m(0, 0), 10.0, 20.0, 8.0, 80.0, 0.0, 1.0, 1.0, 0.0,
        1116.0, m(0, 0), 40.5, 30.25, 8.0, 80.0, 0.0, 1.0, 1.0, 0.0,
        1600.0, m(1, 1), 50.0, 60.0, 8.0, 80.0, 0.5, 1.0, 1.0, 0.0,
        1690.0, m(2, 0), 50.0, 60.0, 8.0, 80.0, 0.0, 1.0, 1.0, 0.0,
    ];
    #[rustfmt::skip]
    let ev = [
        1200.0, 4.0, f64::from(field_kind::FOCUS), 0.0,
        1300.0, 1.0, 256.0, f64::from(3 << 8), // key down (trusted), field 0, slot 3
        1301.0, 5.0, 3.0, 0.0,                  // input (INPUT_OTHER), typed
        1380.0, 2.0, 0.0, f64::from(3 << 8),    // key up, slot 3
        1500.0, 5.0, 3.0, 1.0,                  // input into field 1 with no key: autofill
        1691.0, 4.0, f64::from(field_kind::SUBMIT), 2.0,
    ];
    #[rustfmt::skip]
    let targets = [
        f64::from(role::USERNAME), 10.0, 10.0, 200.0, 30.0, 1.0,
        f64::from(role::PASSWORD), 10.0, 50.0, 200.0, 30.0, 1.0,
        f64::from(role::SUBMIT), 10.0, 90.0, 80.0, 30.0, 0.0,
    ];
    let probes = [
        f64::from(probe::WORKER_USER_AGENT),
        3.0,
        0.0,
        f64::from(probe::WEBDRIVER),
        0.0,
        0.0,
    ];
    seal(
        wire,
        key,
        sols,
        &meta,
        &ptr,
        &ev,
        &targets,
        &probes,
        "http://127.0.0.1\0login\0\0fp-source\0worker UA",
    )
}

/// What [`seal_sample`] must decode to.
pub fn check_sample(d: &DecodedToken, wire: &[u8], sols: &[u64], hashes: u64) {
    let b = &d.body;
    assert_eq!(b.challenge, wire);
    assert_eq!(b.solutions, sols);
    assert_eq!(
        (b.solve.duration_ms, b.solve.workers, b.solve.hashes),
        (123, 2, hashes)
    );
    assert_eq!(b.context.origin, "http://127.0.0.1");
    assert_eq!(b.context.action, "login");
    tollgate_protocol::pow::verify(&b.challenge, d.challenge.body.pow, &b.solutions).unwrap();
    let t = &b.telemetry;
    let ps = t.pointer_samples();
    assert_eq!(ps.len(), 4);
    assert!((ps[1].x - 40.5).abs() < 1e-9 && (ps[1].t_ms - 116.0).abs() < 1e-9);
    assert_eq!(ps[2].kind, pointer_kind::DOWN);
    assert_eq!(t.pointer_aux.len(), 1);
    let ks = t.key_samples();
    assert_eq!(ks.len(), 1);
    assert_eq!(ks[0].class, key_class::CHAR);
    assert!((ks[0].t_up_ms - ks[0].t_down_ms - 80.0).abs() < 1e-9);
    assert_eq!(ks[0].flags & key_flags::UNRELEASED, 0);
    let kinds: Vec<u8> = t.fields.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            field_kind::FOCUS,
            field_kind::INPUT,
            field_kind::AUTOFILL,
            field_kind::INPUT,
            field_kind::SUBMIT
        ]
    );
    assert_eq!(t.targets.len(), 3);
    assert_eq!(t.targets[1].role, role::PASSWORD);
    assert_eq!(t.targets[1].y, 400); // 50 px in 1/8 px units
    assert_eq!(
        t.probe(probe::WORKER_USER_AGENT),
        Some(&ProbeValue::Str("worker UA".into()))
    );
    assert_eq!(t.probe(probe::WEBDRIVER), Some(&ProbeValue::Bool(false)));
    assert_eq!(t.fingerprint.len(), 16);
}
