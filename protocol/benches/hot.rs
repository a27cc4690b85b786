//! Hot-path costs of token verification (the per-token cost breakdown of siteverify's wire
//! protocol work) and the PoW kernel. Feature extraction and model scoring: `model/benches/`.
//! Run: `cargo bench -p tollgate-protocol --bench hot` (bench/README.md lists the figures).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tollgate_protocol::token::{DecodedToken, SolveStats, challenge_token_key};
use tollgate_protocol::{bind_hash, pow, sha256_parts, solver};
use tollgate_testkit::{ChallengeSpec, TelemetrySpec};

/// A realistic token: default difficulty, a 20-second login's telemetry (9 mouse strokes between
/// three targets at 60 Hz, clicks, 26 keys in two fields with their field events: the load
/// benchmark's session, `TelemetrySpec::long_login`).
fn realistic() -> (String, [u8; 32], ed25519_dalek::VerifyingKey) {
    let c = ChallengeSpec::new("bench")
        .signing_seed([1; 32])
        .key_id(1)
        .challenge_id([2; 16])
        .issued_at(0)
        .pow(32, 15)
        .origin("https://example.com")
        .action("login")
        .sign();
    let key = c.token_key(b"secret");
    let telemetry = TelemetrySpec::long_login(1)
        .fingerprint(vec![0x42; 16])
        .build();
    let text = c
        .token_spec()
        .telemetry(telemetry)
        .solve_stats(SolveStats::default())
        .seal(c.wire(), &key)
        .unwrap();
    (text, key, c.verifying_key())
}

fn verify_path(c: &mut Criterion) {
    let (text, key, vk) = realistic();
    println!("realistic token: {} chars", text.len());
    let decoded = DecodedToken::decode(&text).unwrap();
    let mut g = c.benchmark_group("token");
    g.bench_function("decode", |b| {
        b.iter(|| DecodedToken::decode(black_box(&text)).unwrap())
    });
    g.bench_function("signature_verify", |b| {
        b.iter(|| decoded.challenge.verify(|_| Some(vk)).unwrap())
    });
    g.bench_function("mac_verify", |b| {
        b.iter(|| decoded.verify_mac(black_box(&key)).unwrap())
    });
    g.bench_function("pow_verify_k32", |b| {
        b.iter(|| {
            pow::verify(
                &decoded.body.challenge,
                decoded.challenge.body.pow,
                &decoded.body.solutions,
            )
            .unwrap()
        })
    });
    // The token key bound to the whole signed challenge (what siteverify derives per token).
    g.bench_function("token_key_derive", |b| {
        b.iter(|| challenge_token_key(black_box(b"secret"), &decoded.body.challenge))
    });
    g.bench_function("bind_hashes_x3", |b| {
        b.iter(|| {
            let c = &decoded.body.context;
            (
                bind_hash(b"origin", black_box(&c.origin)),
                bind_hash(b"action", &c.action),
                bind_hash(b"cdata", &c.cdata),
            )
        })
    });
    g.bench_function("pow_seed", |b| {
        b.iter(|| sha256_parts(b"tollgate/pow/v1", &[black_box(&decoded.body.challenge)]))
    });
    g.bench_function("pointer_samples", |b| {
        b.iter(|| decoded.body.telemetry.pointer_samples())
    });
    // Everything the protocol crate does for one accepted siteverify, in order. The MAC under
    // the challenge-bound key authenticates the challenge, so no signature verification (that
    // runs only when the MAC fails: `signature_verify` above).
    g.bench_function("all_protocol_work", |b| {
        b.iter(|| {
            let d = DecodedToken::decode(black_box(&text)).unwrap();
            let k = challenge_token_key(b"secret", &d.body.challenge);
            d.verify_mac(&k).unwrap();
            let c = &d.body.context;
            black_box((
                bind_hash(b"origin", &c.origin),
                bind_hash(b"action", &c.action),
                bind_hash(b"cdata", &c.cdata),
            ));
            pow::verify(&d.body.challenge, d.challenge.body.pow, &d.body.solutions).unwrap()
        })
    });
    g.finish();
}

fn pow_kernel(c: &mut Criterion) {
    let p = pow::prefix(&[7; 32], 0, 32);
    const N: u64 = 1 << 14;
    let mut g = c.benchmark_group("pow_hash_rate");
    g.throughput(Throughput::Elements(N));
    // bits = 32 practically never matches, so every candidate is hashed.
    g.bench_function(BenchmarkId::new("reference_sha2_compress", N), |b| {
        b.iter(|| pow::solve_range(black_box(&p), 32, 0, N))
    });
    g.bench_function(BenchmarkId::new("kernel_1_lane", N), |b| {
        b.iter(|| solver::search_with::<u32>(black_box(&p), 32, 0, N))
    });
    g.bench_function(BenchmarkId::new("kernel_4_lanes_array", N), |b| {
        b.iter(|| solver::search_with::<[u32; 4]>(black_box(&p), 32, 0, N))
    });
    g.bench_function(BenchmarkId::new("kernel_8_lanes_x2_array", N), |b| {
        b.iter(|| solver::search_with::<solver::X2<[u32; 4]>>(black_box(&p), 32, 0, N))
    });
    g.finish();
}

criterion_group!(benches, verify_path, pow_kernel);
criterion_main!(benches);
