//! Hot-path costs of token verification and the PoW kernel.
//! Run: `cargo bench -p tollgate-protocol --bench hot`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use std::hint::black_box;
use tollgate_protocol::challenge::{Challenge, ChallengeBody, PowParams};
use tollgate_protocol::telemetry::TelemetryBuilder;
use tollgate_protocol::token::{ClientContext, DecodedToken, SolveStats, TokenBody};
use tollgate_protocol::{bind_hash, derive_token_key, pow, site_id, solver};

/// A realistic token: default difficulty, ~600 pointer samples, 30 keys.
fn realistic() -> (String, [u8; 32], ed25519_dalek::VerifyingKey) {
    let sk = SigningKey::from_bytes(&[1; 32]);
    let body = ChallengeBody {
        version: 1,
        key_id: 1,
        site_id: site_id("bench"),
        challenge_id: [2; 16],
        issued_at_ms: 0,
        expires_at_ms: 300_000,
        pow: PowParams { k: 32, bits: 15 },
        risk_tier: 0,
        origin_hash: bind_hash(b"origin", "https://example.com"),
        action_hash: bind_hash(b"action", "login"),
        cdata_hash: bind_hash(b"cdata", ""),
    };
    let wire = Challenge::sign(body.clone(), &sk).to_bytes();
    let solutions = pow::solve_all(&wire, body.pow).unwrap();
    let key = derive_token_key(b"secret", 1, &body.challenge_id);
    let mut tb = TelemetryBuilder::new();
    let mut t = 0.0;
    for i in 0..600 {
        t += 16.7 + f64::from(i % 3);
        let x = 200.0 + f64::from(i) * 0.7;
        tb.pointer(
            t,
            0,
            x,
            300.0 + (f64::from(i) / 9.0).sin() * 40.0,
            0,
            1,
            0.0,
            1,
        );
    }
    for i in 0..30 {
        let d = 12_000.0 + f64::from(i) * 170.0;
        tb.key(d, d + 95.0, 0, 1, 1);
    }
    let text = TokenBody {
        version: 1,
        challenge: wire,
        solutions,
        solve: SolveStats::default(),
        context: ClientContext {
            origin: "https://example.com".into(),
            action: "login".into(),
            cdata: String::new(),
        },
        telemetry: tb.finish(),
    }
    .seal(&key)
    .unwrap();
    (text, key, sk.verifying_key())
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
    g.bench_function("pointer_samples", |b| {
        b.iter(|| decoded.body.telemetry.pointer_samples())
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
    g.finish();
}

criterion_group!(benches, verify_path, pow_kernel);
criterion_main!(benches);
