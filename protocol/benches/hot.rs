//! Hot-path costs of token verification (the per-token cost breakdown of siteverify's wire
//! protocol work) and the PoW kernel. Feature extraction and model scoring: `model/benches/`.
//! Run: `cargo bench -p tollgate-protocol --bench hot` (bench/README.md lists the figures).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use std::hint::black_box;
use tollgate_protocol::challenge::{Challenge, ChallengeBody, PowParams};
use tollgate_protocol::telemetry::TelemetryBuilder;
use tollgate_protocol::token::{
    ClientContext, DecodedToken, SolveStats, TokenBody, challenge_token_key,
};
use tollgate_protocol::{bind_hash, pow, sha256_parts, site_id, solver};

/// A 20-second login: 9 mouse strokes between three targets at 60 Hz (≈ 580 samples), clicks,
/// 26 keys in two fields with their field events (the same shape as bench/src/tokens.rs).
fn login_telemetry() -> tollgate_protocol::Telemetry {
    let mut tb = TelemetryBuilder::new();
    let mut t = 400.0;
    let (mut x, mut y) = (150.0, 90.0);
    let mut key_t: f64 = 0.0;
    let targets = [(420.0, 260.0), (420.0, 330.0), (430.0, 400.0)];
    for (stroke, &(tx, ty)) in targets.iter().cycle().take(9).enumerate() {
        let n = 55 + (stroke * 7) % 25;
        let (sx, sy) = (x, y);
        let (cx, cy) = ((sx + tx) / 2.0 + 60.0, (sy + ty) / 2.0 - 45.0);
        for i in 1..=n {
            let s = i as f64 / n as f64;
            let e = s * s * (3.0 - 2.0 * s);
            let u = 1.0 - e;
            x = u * u * sx + 2.0 * u * e * cx + e * e * tx + ((i * 7) % 5) as f64 * 0.3;
            y = u * u * sy + 2.0 * u * e * cy + e * e * ty + ((i * 3) % 4) as f64 * 0.3;
            t += 16.0 + (i % 3) as f64 * 0.6;
            tb.pointer(t, 0, x, y, 0, 1, 0.0, 3);
        }
        t += 130.0;
        tb.pointer(t, 1, x, y, 1, 1, 0.5, 1);
        t += 95.0;
        tb.pointer(t, 2, x, y, 0, 1, 0.0, 1);
        if stroke < 2 {
            let field = stroke as u8;
            tb.field(t, 0, field);
            key_t = key_t.max(t + 300.0);
            for k in 0..13 {
                let down = key_t + 110.0 + f64::from(k % 4) * 40.0;
                tb.key(down, down + 85.0, if k % 5 == 4 { 2 } else { 1 }, field, 1);
                tb.field(down + 1.0, 4, field);
                key_t = down;
            }
            t = t.max(key_t + 400.0);
            tb.field(t, 1, field);
        }
        t += 600.0;
    }
    tb.field(t + 5.0, 7, 2);
    let mut tel = tb.finish();
    tel.fingerprint = vec![0x42; 16];
    tel
}

/// A realistic token: default difficulty, a 20-second login's telemetry.
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
    let key = challenge_token_key(b"secret", &wire);
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
        telemetry: login_telemetry(),
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
