//! Behaviour-model pipeline tests on the real developer traces (read in place from
//! `../shared/data/traces` beside the repository, or `$TOLLGATE_TRACES`; never copied). Skipped
//! loudly when the data is not there, so a checkout without `shared/` still passes, but they
//! fail under `CI=true` when it is missing.
//!
//! The smoke CV trains on a subset (every 4th record, a fifth of the synthetic bots, 3 folds) and
//! checks floors that a broken feature pipeline or trainer would fail (chance is AUC 0.5).

use std::path::PathBuf;

use tollgate_intel::cli::{DataOptions, load_dataset};
use tollgate_intel::eval::{auc, modality};
use tollgate_intel::train::{FitOptions, cross_validate};
use tollgate_intel::{Label, score_telemetry, traces};
use tollgate_model::features::{F, Session};
use tollgate_model::model::{Decision, Model, NEUTRAL_SCORE, ReplayEvidence};
use tollgate_protocol::telemetry::{
    TelemetryBuilder, key_class, key_flags, pointer_flags, pointer_kind, pointer_type,
};

/// The trace folder: `$TOLLGATE_TRACES`, else `../shared/data/traces` relative to the
/// repository root. `None` (skip, said loudly) when the data is missing, except under `CI=true`,
/// where a missing data folder fails the test instead of passing silently.
fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TOLLGATE_TRACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/traces")
        });
    let found = dir
        .join("aalto-dev.jsonl.gz")
        .is_file()
        .then(|| dir.clone());
    tollgate_testkit::require(
        found,
        &format!("trace data in {}", dir.display()),
        "set TOLLGATE_TRACES to the folder with aalto-dev.jsonl.gz",
    )
}

fn files(dir: &std::path::Path) -> Vec<PathBuf> {
    [
        "sapimouse-dev.jsonl.gz",
        "aalto-dev.jsonl.gz",
        "delbot.jsonl.gz",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect()
}

#[test]
fn adapter_reads_every_real_file_without_skips() {
    let Some(dir) = data_dir() else {
        return;
    };
    for path in files(&dir) {
        let (recs, rep) = traces::read_file(&path).expect("readable");
        assert_eq!(rep.skipped, 0, "{}: {:?}", path.display(), rep.problems);
        assert!(recs.len() > 900, "{}", path.display());
        // DELBOT logs some files' pointer as fractions (166 NaturalMouseMotion, 52 people's):
        // read back in pixels. The other sources log pixels.
        let delbot = path.ends_with("delbot.jsonl.gz");
        assert_eq!(
            rep.unit_coords,
            if delbot { 218 } else { 0 },
            "{}",
            path.display()
        );
        if delbot {
            let extent = |r: &&tollgate_intel::Record| {
                let xs = r.session.pointer.iter().map(|p| p.x);
                xs.clone().fold(f64::MIN, f64::max) - xs.fold(f64::MAX, f64::min)
            };
            let nmm = recs
                .iter()
                .filter(|r| r.generator.as_deref() == Some("naturalmousemotion"));
            assert!(
                nmm.clone().all(|r| extent(&r) > 20.0),
                "every drawing in pixels"
            );
            assert_eq!(nmm.count(), 234);
        }
        for r in recs.iter().take(50) {
            assert!(!r.subject.is_empty());
            assert!(!r.session.pointer.is_empty() || !r.session.keys.is_empty());
        }
    }
}

#[test]
fn smoke_cross_validation_beats_floors() {
    let Some(dir) = data_dir() else {
        return;
    };
    let ds = load_dataset(&DataOptions {
        traces: files(&dir),
        seed: 7,
        synth_scale: 0.2,
        stride: 4,
        as_captures: false,
        keep_unit_coords: false,
        login_windows: Default::default(),
    })
    .expect("load");
    let (scored, folds) = cross_validate(
        &ds.records,
        &ds.feats,
        &ds.replay,
        3,
        7,
        &FitOptions::default(),
    )
    .expect("cv");
    // Subject-wise: no subject in two folds.
    let mut fold_of = std::collections::HashMap::new();
    for (r, f) in ds.records.iter().zip(&folds) {
        assert_eq!(
            *fold_of.entry(r.subject.clone()).or_insert(*f),
            *f,
            "subject {} split",
            r.subject
        );
    }
    // The floors are for the scripted generators; the stronger ones (issue 14: WindMouse,
    // minimum-jerk, OS-level ghost-cursor, spliced human strokes, digraph-sampled typing; session
    // 13's right-skewed i.i.d. typing, `type-skewed`) are
    // what the model does not yet separate — their figures are reported by `eval --lofo` and
    // `adversarial`, not floored here. They must be in the data, though.
    let strong = |r: &tollgate_intel::Record| {
        r.generator.as_deref().is_some_and(|g| {
            [
                "windmouse",
                "min-jerk",
                "ghost-cursor-os",
                "human-splice",
                "type-digraph",
                "type-skewed",
            ]
            .iter()
            .any(|s| g.split('+').any(|p| p.starts_with(s)))
        })
    };
    assert!(ds.records.iter().filter(|r| strong(r)).count() >= 200);
    let split = |m: &str| {
        let (mut h, mut b) = (Vec::new(), Vec::new());
        for (r, s) in ds.records.iter().zip(&scored) {
            if strong(r) {
                continue;
            }
            if modality(r) == m || m == "all" {
                match r.label {
                    Label::Human => h.push(s.p_human),
                    Label::Bot => b.push(s.p_human),
                }
            }
        }
        (h, b)
    };
    let (h, b) = split("all");
    let a = auc(&h, &b).unwrap();
    let (hk, bk) = split("keys");
    let ak = auc(&hk, &bk).unwrap();
    let (hp, bp) = split("pointer");
    let ap = auc(&hp, &bp).unwrap();
    eprintln!("smoke CV AUC all {a:.4} keys {ak:.4} pointer {ap:.4}");
    assert!(a > 0.90, "overall AUC {a}");
    assert!(ak > 0.97, "keystroke AUC {ak}");
    assert!(ap > 0.85, "pointer AUC {ap}");
    let human_blocked = ds
        .records
        .iter()
        .zip(&scored)
        .filter(|(r, s)| r.label == Label::Human && s.decision == Decision::Block)
        .count() as f64
        / h.len() as f64;
    assert!(human_blocked < 0.03, "humans blocked {human_blocked}");
}

#[test]
fn live_path_scores_telemetry_and_stays_neutral_without_behaviour() {
    let model = Model::default_model();
    let (f, s) = score_telemetry(&Default::default(), model, ReplayEvidence::default());
    assert!(f.get(F::PtDtMedian).is_none() && f.get(F::KeyHold).is_none());
    assert!(!s.evidence);
    assert_eq!(s.p_human, NEUTRAL_SCORE);

    // Scripted login: instant moves, zero-hold constant typing.
    let mut b = TelemetryBuilder::new();
    let tr = pointer_flags::TRUSTED;
    for i in 0..40 {
        let u = i as f64 / 39.0;
        b.pointer(
            100.0 + i as f64 * 0.3,
            pointer_kind::MOVE,
            10.0 + 600.0 * u,
            20.0 + 300.0 * u,
            0,
            pointer_type::MOUSE,
            0.0,
            tr,
        );
    }
    b.pointer(
        113.0,
        pointer_kind::DOWN,
        610.0,
        320.0,
        1,
        pointer_type::MOUSE,
        0.0,
        tr,
    );
    b.pointer(
        113.1,
        pointer_kind::UP,
        610.0,
        320.0,
        0,
        pointer_type::MOUSE,
        0.0,
        tr,
    );
    for i in 0..20 {
        let t = 200.0 + i as f64 * 10.0;
        b.key(t, t, key_class::CHAR, 0, key_flags::TRUSTED);
    }
    let (_, bot) = score_telemetry(&b.finish(), model, ReplayEvidence::default());
    assert!(bot.evidence);
    if !model.features.is_empty() {
        assert_ne!(bot.decision, Decision::Allow, "{bot:?}");
        assert!(!bot.reasons.is_empty());
    }
    let _ = Session::default();

    // Thin evidence (three moves and one ordinary click) must stay near neutral, never blocked.
    let mut b = TelemetryBuilder::new();
    for (i, (x, y)) in [(400.0, 300.0), (402.0, 301.0), (403.0, 303.0)]
        .iter()
        .enumerate()
    {
        b.pointer(
            1000.0 + 16.7 * i as f64,
            pointer_kind::MOVE,
            *x,
            *y,
            0,
            pointer_type::MOUSE,
            0.0,
            tr,
        );
    }
    b.pointer(
        1180.0,
        pointer_kind::DOWN,
        403.0,
        303.0,
        1,
        pointer_type::MOUSE,
        0.5,
        tr,
    );
    b.pointer(
        1275.0,
        pointer_kind::UP,
        403.0,
        303.0,
        0,
        pointer_type::MOUSE,
        0.0,
        tr,
    );
    let (_, thin) = score_telemetry(&b.finish(), model, ReplayEvidence::default());
    assert_ne!(thin.decision, Decision::Block, "{thin:?}");
}

/// A device class claimed for free buys no leniency (issue 14, "calibration by device"): the
/// synthetic pointer bots, scored as collector telemetry with the compiled-in model, get the same
/// decision with four small pixel wheel deltas added (`touchpad`) as without. Before, `touchpad`
/// fell back to the generic pointer knots (the most lenient human source's) and the claim let
/// several times more of them through; the test prints both rates. The same bots holding the
/// button on every move (`mouse-drag`) are judged as a hovering mouse, not by DELBOT's drag
/// knots (printed likewise).
#[test]
fn a_claimed_device_class_buys_a_bot_no_leniency() {
    use tollgate_intel::synth::{SynthOptions, generate, generate_strong};
    use tollgate_model::features::{DeviceClass, Wheel, extract};
    use tollgate_protocol::telemetry::scroll_kind;
    let model = Model::default_model();
    if model.device_knots.is_empty() {
        return;
    }
    let opts = SynthOptions::scaled(7, 0.2);
    let mut bots = generate(&opts, &[]);
    bots.extend(generate_strong(&opts, &[]));
    // Pointer-only sessions that hover (some move with no button held), as collector telemetry.
    let hovering: Vec<_> = bots
        .iter()
        .filter(|r| r.session.pointer.iter().any(|p| p.buttons == 0) && r.session.keys.is_empty())
        .map(|r| {
            let mut s = r.session.clone();
            s.collector = true;
            (r, s)
        })
        .collect();
    // A claimed session's features: judged as a hovering mouse (asserted); scored as they are
    // and with the knots of `old`, the class the claim used to be judged by.
    let now_and_before = |f: &tollgate_model::features::Features, id: &str, old: DeviceClass| {
        assert!(
            matches!(f.knots_class, DeviceClass::Mouse | DeviceClass::MouseThin),
            "{id}: {:?}",
            f.knots_class
        );
        let mut before = f.clone();
        before.knots_class = old;
        (
            model.score(f, ReplayEvidence::default()),
            model.score(&before, ReplayEvidence::default()),
        )
    };
    let (mut judged, mut allowed, mut allowed_claimed, mut allowed_generic) = (0, 0, 0, 0);
    for (r, s) in &hovering {
        let mut s = s.clone();
        let plain = model.score(&extract(&s), ReplayEvidence::default());
        s.wheel = (0..4)
            .map(|i| Wheel {
                t_ms: 10.0 + 16.0 * i as f64,
                mode: scroll_kind::WHEEL_PIXEL,
                dx: 0.0,
                dy: 2.0 + i as f64,
            })
            .collect();
        let f = extract(&s);
        assert_eq!(f.device, DeviceClass::Touchpad, "{}", r.id);
        // Before: the generic pointer knots (`touchpad` has none of its own).
        let (claimed, old) = now_and_before(&f, &r.id, DeviceClass::Touchpad);
        assert_eq!(claimed.decision, plain.decision, "{}", r.id);
        assert_eq!(
            claimed.p_human.to_bits(),
            plain.p_human.to_bits(),
            "{}",
            r.id
        );
        judged += 1;
        allowed += usize::from(plain.decision == Decision::Allow);
        allowed_claimed += usize::from(claimed.decision == Decision::Allow);
        allowed_generic += usize::from(old.decision == Decision::Allow);
    }
    eprintln!(
        "touchpad claim: {judged} synthetic pointer bots (collector, hovering); allowed {allowed} \
         unclaimed, {allowed_claimed} claimed, {allowed_generic} with the generic knots a claim \
         used to get"
    );
    assert!(judged >= 200, "{judged}");
    assert!(allowed_generic >= allowed, "{allowed_generic} < {allowed}");

    // The same bots holding the button down on every move (a drag-only session): judged as a
    // hovering mouse, not by DELBOT's drag knots.
    let (mut dragged, mut allowed_hover, mut allowed_drag) = (0, 0, 0);
    for (r, s) in &hovering {
        let mut s = s.clone();
        for p in s
            .pointer
            .iter_mut()
            .filter(|p| p.kind == pointer_kind::MOVE)
        {
            p.buttons |= 1;
        }
        let f = extract(&s);
        if f.device != DeviceClass::MouseDrag {
            continue;
        }
        let (hover, old) = now_and_before(&f, &r.id, DeviceClass::MouseDrag);
        dragged += 1;
        allowed_hover += usize::from(hover.decision == Decision::Allow);
        allowed_drag += usize::from(old.decision == Decision::Allow);
    }
    eprintln!(
        "drag claim: {dragged} of them with every move's button held; allowed {allowed_hover} \
         judged as a hovering mouse, {allowed_drag} with the drag knots a claim used to get"
    );
    assert!(dragged >= 200, "{dragged}");
}
