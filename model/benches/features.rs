//! Per-token costs of the behaviour model in siteverify: session building, feature extraction
//! and scoring with the compiled-in model (the wire work is in `protocol/benches/hot.rs`).
//! Run: `cargo bench -p tollgate-model --bench features` (bench/README.md lists the figures).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tollgate_model::features::{self, Session};
use tollgate_model::model::{Model, ReplayEvidence};
use tollgate_testkit::TelemetrySpec;

fn features_and_model(c: &mut Criterion) {
    // A 20-second login: 9 mouse strokes between three targets at 60 Hz (560 pointer records with
    // seed 1), clicks, 26 keys in two fields with their field events (the token of
    // protocol/benches/hot.rs and of the load benchmark).
    let telemetry = TelemetrySpec::long_login(1)
        .fingerprint(vec![0x42; 16])
        .build();
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
    // The same login with a 125 Hz mouse (1,146 pointer records with seed 1): every long stroke is
    // also read at frame spacing (`pointer::frame_view`).
    let fast = Session::from_telemetry(
        &TelemetrySpec::long_login(1)
            .with_fast_mouse()
            .fingerprint(vec![0x42; 16])
            .build(),
    );
    g.bench_function("features_extract_125hz", |b| {
        b.iter(|| features::extract(black_box(&fast)))
    });
    g.finish();
}

criterion_group!(benches, features_and_model);
criterion_main!(benches);
