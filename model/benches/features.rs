//! Per-token costs of the behaviour model in siteverify: session building, feature extraction
//! and scoring with the compiled-in model (the wire work is in `protocol/benches/hot.rs`).
//! Run: `cargo bench -p tollgate-model --bench features` (bench/README.md lists the figures).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tollgate_model::features::{self, Session};
use tollgate_model::model::{Model, ReplayEvidence};
use tollgate_protocol::telemetry::TelemetryBuilder;

/// A 20-second login: 9 mouse strokes between three targets at 60 Hz (≈ 580 samples), clicks,
/// 26 keys in two fields with their field events (the same shape as bench/src/tokens.rs and
/// protocol/benches/hot.rs).
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

fn features_and_model(c: &mut Criterion) {
    let telemetry = login_telemetry();
    let mut g = c.benchmark_group("token");
    let session = Session::from_telemetry(&telemetry);
    g.bench_function("features_session", |b| {
        b.iter(|| Session::from_telemetry(black_box(&telemetry)))
    });
    g.bench_function("features_extract", |b| {
        b.iter(|| features::extract(black_box(&session)))
    });
    let f = features::extract(&session);
    let model = Model::default_model();
    g.bench_function("model_score", |b| {
        b.iter(|| model.score(black_box(&f), ReplayEvidence::default()))
    });
    g.finish();
}

criterion_group!(benches, features_and_model);
criterion_main!(benches);
